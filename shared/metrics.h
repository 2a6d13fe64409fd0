/*
 * metrics.h - Prometheus text exposition (version 0.0.4): histograms and
 * per-route HTTP figures kept with relaxed atomics (cheap on the hot path,
 * exact enough for scraping), the writers of the text format, and the process
 * figures read from /proc (CPU seconds, resident memory, open descriptors).
 *
 * Every writer appends to a struct buf and returns 0 or ERR_TOO_BIG/ERR_NOMEM.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct buf;

#define METRICS_MAX_BUCKETS 20

/*
 * A histogram over fixed upper bounds (ascending, +Inf implied). The sum is
 * kept as an integer in units of 1/scale (scale 1e6 with bounds in seconds
 * keeps microseconds), so observing is a few atomic adds.
 */
struct metrics_hist {
    const double *bounds; /* borrowed, static */
    size_t nbounds;       /* <= METRICS_MAX_BUCKETS */
    double scale;
    _Atomic uint64_t bucket[METRICS_MAX_BUCKETS + 1]; /* per bucket, not cumulative; last: +Inf */
    _Atomic uint64_t count;
    _Atomic uint64_t sum; /* in units of 1/scale */
};

/* Latency bounds in seconds, fine enough for sub-millisecond redirects. */
extern const double metrics_latency_bounds[];
extern const size_t metrics_latency_nbounds;

/* Sets up h over bounds[0..n) (borrowed) with the given sum scale. */
void metrics_hist_init(struct metrics_hist *h, const double *bounds, size_t n, double scale);

void metrics_hist_observe(struct metrics_hist *h, double v);

/* Writes "# HELP" and "# TYPE" lines. type: "counter", "gauge" or "histogram". */
int metrics_header(struct buf *b, const char *name, const char *type,
                   const char *help) ATTR_WARN_UNUSED;

/* Writes one sample line: name{labels} value. labels may be NULL or "" for none. */
int metrics_sample(struct buf *b, const char *name, const char *labels,
                   double value) ATTR_WARN_UNUSED;

/* Writes the _bucket (cumulative), _sum and _count lines of h, each with labels. */
int metrics_hist_write(struct buf *b, const char *name, const char *labels,
                       const struct metrics_hist *h) ATTR_WARN_UNUSED;

/* A histogram family in one go: header, then h's lines. */
int metrics_hist_family(struct buf *b, const char *name, const char *help,
                        const struct metrics_hist *h) ATTR_WARN_UNUSED;

/* A counter or gauge family with one unlabelled sample. */
int metrics_single(struct buf *b, const char *name, const char *type, const char *help,
                   double value) ATTR_WARN_UNUSED;

/*
 * process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_open_fds, process_max_fds and
 * process_start_time_seconds of the calling process, from /proc/self.
 */
int metrics_process_write(struct buf *b) ATTR_WARN_UNUSED;

/* ------------------------------------------------------------------------ */
/* HTTP figures by route and status                                         */
/* ------------------------------------------------------------------------ */

/* The statuses counted one by one; any other falls in "other". */
#define METRICS_HTTP_NSTATUS 14

struct metrics_http_route {
    const char *route;  /* borrowed: the pattern ("/users/:id"), or "unmatched" */
    const char *method; /* borrowed: "GET", "PUT|PATCH", ... */
    _Atomic uint64_t by_status[METRICS_HTTP_NSTATUS + 1];
    struct metrics_hist latency; /* seconds */
};

struct metrics_http {
    size_t nroutes;
    struct metrics_http_route *routes; /* owned, nroutes entries */
    _Atomic long in_flight;
};

/*
 * Sets up m for n routes; names and methods are filled by the caller
 * (borrowed strings). 0 or ERR_NOMEM. Release with metrics_http_release.
 */
int metrics_http_init(struct metrics_http *m, size_t n) ATTR_WARN_UNUSED;
void metrics_http_release(struct metrics_http *m);

/* Counts one answered request of route i (i < nroutes) with its status and duration. */
void metrics_http_observe(struct metrics_http *m, size_t i, int status, double seconds);

/*
 * Writes <prefix>_requests_total{route,method,status}, <prefix>_request_duration_seconds
 * {route,method} and <prefix>_requests_in_flight for every route with traffic.
 */
int metrics_http_write(struct buf *b, const char *prefix,
                       const struct metrics_http *m) ATTR_WARN_UNUSED;

#endif
