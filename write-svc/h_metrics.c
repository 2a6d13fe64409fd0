/*
 * h_metrics.c - GET /metrics for write-svc, in Prometheus text format:
 * requests by route and status, latency histograms, in-flight requests, the
 * database pool, PostgreSQL/Redis errors, the click wait of event reads, the
 * read-model state, and the process figures from /proc.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "app.h"
#include "buf.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "live.h"
#include "metrics.h"
#include "readmodel.h"

#include "banned.h"

#define METRICS_BODY_MAX (1u << 20)

static double h_metrics_load(atomic_ulong *v)
{
    return (double)atomic_load_explicit(v, memory_order_relaxed);
}

/* The live click feed (GET /events/live). */
static int h_metrics_live(struct buf *b, struct app *app)
{
    struct live_stats ls = {0};
    if (app->live)
        live_stats_get(app->live, &ls);
    int rc = metrics_single(b, "shortener_live_clients", "gauge",
                            "Live feed streams open on this instance.", (double)ls.clients);
    if (rc == 0)
        rc = metrics_single(b, "shortener_live_relayed_total", "counter",
                            "Click messages sent to live feed clients.", (double)ls.relayed);
    if (rc == 0)
        rc = metrics_single(b, "shortener_live_skipped_total", "counter",
                            "Click messages live feed clients missed by lagging.",
                            (double)ls.skipped);
    if (rc == 0)
        rc = metrics_single(b, "shortener_live_refused_total", "counter",
                            "Live feed streams refused (503) at LIVE_MAX_CLIENTS.",
                            (double)ls.refused);
    return rc;
}

/* The figures that belong to write-svc itself. */
static int h_metrics_app(struct buf *b, struct app *app)
{
    struct app_stats *st = &app->stats;
    int complete = readmodel_complete(app);
    int rc = metrics_single(b, "shortener_db_pool_in_use", "gauge",
                            "PostgreSQL connections lent out.", (double)db_pool_in_use(app->pool));
    if (rc == 0)
        rc = metrics_single(b, "shortener_db_pool_size", "gauge", "PostgreSQL pool size.",
                            (double)db_pool_size(app->pool));
    if (rc == 0)
        rc = metrics_single(b, "shortener_db_errors_total", "counter",
                            "Requests answered 503 because PostgreSQL failed.",
                            h_metrics_load(&st->db_errors));
    if (rc == 0)
        rc = metrics_single(b, "shortener_redis_errors_total", "counter",
                            "Requests answered 503 because Redis failed.",
                            h_metrics_load(&st->kv_errors));
    if (rc == 0)
        rc = metrics_single(b, "shortener_events_wait_timeouts_total", "counter",
                            "Event reads that stopped waiting for earlier clicks to persist.",
                            h_metrics_load(&st->clicksync_timeouts));
    if (rc == 0)
        rc = metrics_single(b, "shortener_events_wait_errors_total", "counter",
                            "Event reads that could not check the click streams.",
                            h_metrics_load(&st->clicksync_errors));
    if (rc == 0)
        rc = metrics_single(b, "shortener_readmodel_rebuilds_total", "counter",
                            "Read-model rebuilds done by this instance.",
                            h_metrics_load(&st->rebuilds));
    if (rc == 0)
        rc = metrics_single(b, "shortener_ratelimit_rejected_writes_total", "counter",
                            "Writes answered 429 by the rate limit.",
                            h_metrics_load(&st->rl_rejected_write));
    if (rc == 0)
        rc = metrics_single(b, "shortener_ratelimit_rejected_reads_total", "counter",
                            "Reads answered 429 by the rate limit.",
                            h_metrics_load(&st->rl_rejected_read));
    if (rc == 0)
        rc = metrics_single(b, "shortener_ratelimit_errors_total", "counter",
                            "Requests let through unchecked because Redis failed (fail open).",
                            h_metrics_load(&st->rl_errors));
    if (rc == 0)
        rc = metrics_single(b, "shortener_readmodel_complete", "gauge",
                            "1 when the Redis read model is marked complete, 0 when not, -1 "
                            "when Redis is unreachable.",
                            complete < 0 ? -1.0 : (double)complete);
    if (rc == 0)
        rc = h_metrics_live(b, app);
    return rc;
}

int h_metrics_get(struct http_req *req, struct http_resp *resp)
{
    struct app *app = req->app;
    struct buf b;
    buf_init(&b, METRICS_BODY_MAX);
    int rc = app->http ? http_server_metrics_write(app->http, &b, "shortener_http") : 0;
    if (rc == 0)
        rc = h_metrics_app(&b, app);
    if (rc == 0)
        rc = metrics_process_write(&b);
    http_reply_metrics(resp, rc ? NULL : &b);
    buf_release(&b);
    return resp->status;
}
