/*
 * rstats.c - redirect-svc's figures for /metrics (see rstats.h).
 */
#include "rstats.h"

#include <stdlib.h>

#include "buf.h"
#include "follow.h"

#include "banned.h"

#define RSTATS_TEXT_MAX (256u * 1024)

static const double rstats_batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

int rstats_init(struct rstats *st)
{
    static const char *const names[RSTATS_COUNT][2] = {
        [RSTATS_CODE] = {"/:code", "GET|HEAD"},      [RSTATS_HEALTH] = {"/health", "GET|HEAD"},
        [RSTATS_LIVEZ] = {"/livez", "GET|HEAD"},     [RSTATS_READYZ] = {"/readyz", "GET|HEAD"},
        [RSTATS_METRICS] = {"/metrics", "GET|HEAD"}, [RSTATS_UNMATCHED] = {"unmatched", "any"},
    };
    if (metrics_http_init(&st->http, RSTATS_COUNT) != 0)
        return ERR_NOMEM;
    for (size_t i = 0; i < RSTATS_COUNT; i++) {
        st->http.routes[i].route = names[i][0];
        st->http.routes[i].method = names[i][1];
    }
    metrics_hist_init(&st->batch, rstats_batch_bounds, ARRAY_SIZE(rstats_batch_bounds), 1);
    return 0;
}

void rstats_release(struct rstats *st)
{
    metrics_http_release(&st->http);
}

void rstats_count(struct rstats *st, int follow_result)
{
    atomic_ulong *which = follow_result == FOLLOW_FOUND       ? &st->hits
                          : follow_result == FOLLOW_EXPIRED   ? &st->expired
                          : follow_result == FOLLOW_NOT_FOUND ? &st->misses
                          : follow_result == FOLLOW_NOT_READY ? &st->not_ready
                                                              : &st->redis_errors;
    atomic_fetch_add_explicit(which, 1, memory_order_relaxed);
}

/* The near cache's counters and gauges (zero when NEAR_CACHE_MB=0). */
static int rstats_write_near_cache(struct buf *b, struct rstats *st)
{
    const struct {
        const char *name, *help;
        atomic_ulong *v;
    } counters[] = {
        {"shortener_near_cache_hits_total", "Redirects answered from the near cache (no HMGET).",
         &st->nc_hits},
        {"shortener_near_cache_misses_total",
         "Redirects resolved from the read model with the near cache on.", &st->nc_misses},
        {"shortener_near_cache_invalidations_total",
         "Near-cache entries removed because their link changed (or a reset).",
         &st->nc_invalidations},
        {"shortener_near_cache_resets_total",
         "Script calls that found their change-stream position gone (cache cleared).",
         &st->nc_resets},
        {"shortener_near_cache_evictions_total", "Near-cache entries evicted by the size limit.",
         &st->nc_evictions},
    };
    int rc = 0;
    for (size_t i = 0; i < ARRAY_SIZE(counters) && rc == 0; i++)
        rc = metrics_single(b, counters[i].name, "counter", counters[i].help,
                            (double)atomic_load_explicit(counters[i].v, memory_order_relaxed));
    if (rc == 0)
        rc = metrics_single(b, "shortener_near_cache_entries", "gauge",
                            "Links held in the near cache.",
                            (double)atomic_load_explicit(&st->nc_entries, memory_order_relaxed));
    if (rc == 0)
        rc = metrics_single(b, "shortener_near_cache_bytes", "gauge",
                            "Bytes the near cache counts against NEAR_CACHE_MB.",
                            (double)atomic_load_explicit(&st->nc_bytes, memory_order_relaxed));
    return rc;
}

/* The lookup counters and the batch histogram. */
static int rstats_write_lookups(struct buf *b, struct rstats *st)
{
    const struct {
        const char *name, *help;
        atomic_ulong *v;
    } counters[] = {
        {"shortener_redirect_hits_total", "Redirects answered 301/302/307/308 (read-model hits).",
         &st->hits},
        {"shortener_redirect_expired_total", "Links answered 410: expired by date or by clicks.",
         &st->expired},
        {"shortener_redirect_misses_total", "Codes looked up and not found (404).", &st->misses},
        {"shortener_redirect_not_ready_total", "Lookups answered 503: read model not loaded.",
         &st->not_ready},
        {"shortener_redis_errors_total", "Lookups answered 503: Redis unreachable or failing.",
         &st->redis_errors},
    };
    int rc = 0;
    for (size_t i = 0; i < ARRAY_SIZE(counters) && rc == 0; i++)
        rc = metrics_single(b, counters[i].name, "counter", counters[i].help,
                            (double)atomic_load_explicit(counters[i].v, memory_order_relaxed));
    if (rc == 0)
        rc = rstats_write_near_cache(b, st);
    if (rc == 0)
        rc = metrics_hist_family(b, "shortener_redis_batch_size",
                                 "Redis commands sent per pipelined round trip.", &st->batch);
    return rc;
}

char *rstats_render(struct rstats *st, size_t *len)
{
    struct buf b;
    buf_init(&b, RSTATS_TEXT_MAX);
    int rc = metrics_http_write(&b, "shortener_http", &st->http);
    if (rc == 0)
        rc = rstats_write_lookups(&b, st);
    if (rc == 0)
        rc = metrics_process_write(&b);
    char *text = rc == 0 ? buf_detach(&b, len) : NULL;
    buf_release(&b);
    return text;
}
