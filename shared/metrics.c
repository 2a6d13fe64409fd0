/*
 * metrics.c - Prometheus text exposition (see metrics.h).
 *
 * Label values written here are static strings of our own (route patterns,
 * method names, status numbers), so they need no escaping.
 */
#include "metrics.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "buf.h"

#include "banned.h"

const double metrics_latency_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
const size_t metrics_latency_nbounds = ARRAY_SIZE(metrics_latency_bounds);

static const int metrics_statuses[METRICS_HTTP_NSTATUS] = {200, 201, 204, 302, 400, 404, 405,
                                                           409, 413, 414, 422, 431, 500, 503};

/* ------------------------------------------------------------------------ */
/* Histograms and samples                                                    */
/* ------------------------------------------------------------------------ */

void metrics_hist_init(struct metrics_hist *h, const double *bounds, size_t n, double scale)
{
    memset(h, 0, sizeof(*h));
    h->bounds = bounds;
    h->nbounds = n > METRICS_MAX_BUCKETS ? METRICS_MAX_BUCKETS : n;
    h->scale = scale;
}

void metrics_hist_observe(struct metrics_hist *h, double v)
{
    size_t i = 0;
    while (i < h->nbounds && v > h->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    if (v > 0)
        atomic_fetch_add_explicit(&h->sum, (uint64_t)(v * h->scale + 0.5), memory_order_relaxed);
}

int metrics_header(struct buf *b, const char *name, const char *type, const char *help)
{
    return buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int metrics_sample(struct buf *b, const char *name, const char *labels, double value)
{
    if (labels && *labels)
        return buf_printf(b, "%s{%s} %.17g\n", name, labels, value);
    return buf_printf(b, "%s %.17g\n", name, value);
}

/* name_suffix{labels,le="bound"} for one bucket line. */
static int metrics_bucket_line(struct buf *b, const char *name, const char *labels, const char *le,
                               uint64_t cumulative)
{
    return buf_printf(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, labels ? labels : "",
                      labels && *labels ? "," : "", le, (unsigned long long)cumulative);
}

int metrics_hist_write(struct buf *b, const char *name, const char *labels,
                       const struct metrics_hist *h)
{
    uint64_t cum = 0;
    char le[32], sfx[128];
    int rc = 0;
    for (size_t i = 0; i <= h->nbounds && rc == 0; i++) {
        cum += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
        if (i < h->nbounds)
            snprintf(le, sizeof(le), "%.17g", h->bounds[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        rc = metrics_bucket_line(b, name, labels, le, cum);
    }
    double sum = (double)atomic_load_explicit(&h->sum, memory_order_relaxed) / h->scale;
    snprintf(sfx, sizeof(sfx), "%s_sum", name);
    if (rc == 0)
        rc = metrics_sample(b, sfx, labels, sum);
    snprintf(sfx, sizeof(sfx), "%s_count", name);
    if (rc == 0)
        rc = metrics_sample(b, sfx, labels,
                            (double)atomic_load_explicit(&h->count, memory_order_relaxed));
    return rc;
}

int metrics_hist_family(struct buf *b, const char *name, const char *help,
                        const struct metrics_hist *h)
{
    int rc = metrics_header(b, name, "histogram", help);
    return rc ? rc : metrics_hist_write(b, name, NULL, h);
}

int metrics_single(struct buf *b, const char *name, const char *type, const char *help,
                   double value)
{
    int rc = metrics_header(b, name, type, help);
    return rc ? rc : metrics_sample(b, name, NULL, value);
}

/* ------------------------------------------------------------------------ */
/* Process figures                                                           */
/* ------------------------------------------------------------------------ */

/* Fields 14 (utime), 15 (stime), 22 (starttime), 23 (vsize), 24 (rss) of /proc/self/stat. */
struct metrics_stat {
    unsigned long long utime, stime, starttime, vsize;
    long long rss;
};

static int metrics_read_stat(struct metrics_stat *st)
{
    char line[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return ERR_SYS;
    char *ok = fgets(line, sizeof(line), f);
    fclose(f);
    char *p = ok ? strrchr(line, ')') : NULL; /* the command name may hold spaces */
    if (!p)
        return ERR_SYS;
    /* After ')': state(3) ppid(4) ... utime(14) stime(15) ... starttime(22) vsize(23) rss(24). */
    int n = sscanf(p + 2,
                   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d "
                   "%*d %llu %llu %lld",
                   &st->utime, &st->stime, &st->starttime, &st->vsize, &st->rss);
    return n == 5 ? 0 : ERR_SYS;
}

static long long metrics_boot_time(void)
{
    char line[256];
    long long btime = 0;
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "btime %lld", &btime) == 1)
            break;
    fclose(f);
    return btime;
}

static long metrics_open_fds(void)
{
    long n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory stream's own descriptor */
}

int metrics_process_write(struct buf *b)
{
    struct metrics_stat st;
    struct rlimit rl;
    double ticks = (double)sysconf(_SC_CLK_TCK);
    double page = (double)sysconf(_SC_PAGESIZE);
    if (metrics_read_stat(&st) != 0)
        return 0; /* no /proc: no process figures, not an error */
    int rc = metrics_single(b, "process_cpu_seconds_total", "counter",
                            "Total user and system CPU time spent in seconds.",
                            (double)(st.utime + st.stime) / ticks);
    if (rc == 0)
        rc = metrics_single(b, "process_resident_memory_bytes", "gauge",
                            "Resident memory size in bytes.", (double)st.rss * page);
    if (rc == 0)
        rc = metrics_single(b, "process_virtual_memory_bytes", "gauge",
                            "Virtual memory size in bytes.", (double)st.vsize);
    if (rc == 0)
        rc = metrics_single(b, "process_open_fds", "gauge", "Number of open file descriptors.",
                            (double)metrics_open_fds());
    if (rc == 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0)
        rc = metrics_single(b, "process_max_fds", "gauge",
                            "Maximum number of open file descriptors.", (double)rl.rlim_cur);
    if (rc == 0)
        rc = metrics_single(b, "process_start_time_seconds", "gauge",
                            "Start time of the process since unix epoch in seconds.",
                            (double)metrics_boot_time() + (double)st.starttime / ticks);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* HTTP figures                                                              */
/* ------------------------------------------------------------------------ */

int metrics_http_init(struct metrics_http *m, size_t n)
{
    memset(m, 0, sizeof(*m));
    m->routes = calloc(n ? n : 1, sizeof(*m->routes));
    if (!m->routes)
        return ERR_NOMEM;
    m->nroutes = n;
    for (size_t i = 0; i < n; i++)
        metrics_hist_init(&m->routes[i].latency, metrics_latency_bounds, metrics_latency_nbounds,
                          1e6);
    return 0;
}

void metrics_http_release(struct metrics_http *m)
{
    free(m->routes);
    memset(m, 0, sizeof(*m));
}

void metrics_http_observe(struct metrics_http *m, size_t i, int status, double seconds)
{
    if (i >= m->nroutes)
        return;
    size_t s = 0;
    while (s < METRICS_HTTP_NSTATUS && metrics_statuses[s] != status)
        s++;
    atomic_fetch_add_explicit(&m->routes[i].by_status[s], 1, memory_order_relaxed);
    metrics_hist_observe(&m->routes[i].latency, seconds);
}

static int metrics_http_counts(struct buf *b, const char *name, const struct metrics_http *m)
{
    int rc = metrics_header(b, name, "counter", "HTTP requests answered, by route and status.");
    for (size_t i = 0; i < m->nroutes && rc == 0; i++) {
        const struct metrics_http_route *r = &m->routes[i];
        for (size_t s = 0; s <= METRICS_HTTP_NSTATUS && rc == 0; s++) {
            uint64_t v = atomic_load_explicit(&r->by_status[s], memory_order_relaxed);
            char labels[192], status[16];
            if (!v)
                continue;
            if (s < METRICS_HTTP_NSTATUS)
                snprintf(status, sizeof(status), "%d", metrics_statuses[s]);
            else
                snprintf(status, sizeof(status), "other");
            snprintf(labels, sizeof(labels), "route=\"%s\",method=\"%s\",status=\"%s\"", r->route,
                     r->method, status);
            rc = metrics_sample(b, name, labels, (double)v);
        }
    }
    return rc;
}

int metrics_http_write(struct buf *b, const char *prefix, const struct metrics_http *m)
{
    char name[96];
    snprintf(name, sizeof(name), "%s_requests_total", prefix);
    int rc = metrics_http_counts(b, name, m);
    snprintf(name, sizeof(name), "%s_request_duration_seconds", prefix);
    if (rc == 0)
        rc = metrics_header(b, name, "histogram", "HTTP request latency, by route.");
    for (size_t i = 0; i < m->nroutes && rc == 0; i++) {
        char labels[160];
        if (!atomic_load_explicit(&m->routes[i].latency.count, memory_order_relaxed))
            continue;
        snprintf(labels, sizeof(labels), "route=\"%s\",method=\"%s\"", m->routes[i].route,
                 m->routes[i].method);
        rc = metrics_hist_write(b, name, labels, &m->routes[i].latency);
    }
    snprintf(name, sizeof(name), "%s_requests_in_flight", prefix);
    if (rc == 0)
        rc = metrics_single(b, name, "gauge", "HTTP requests being handled.",
                            (double)atomic_load_explicit(&m->in_flight, memory_order_relaxed));
    return rc;
}
