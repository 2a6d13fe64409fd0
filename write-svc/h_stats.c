/*
 * h_stats.c - GET /urls/<id>/stats[?from=&to=&interval=hour|day] (PRODUCT.md 3).
 *
 * The answer comes from the rollups the event-worker keeps (store_stats.c) and
 * from the per-day HyperLogLogs in Redis (unique visitors), after the
 * read-your-writes wait for clicks (clicksync.c): a redirect answered before
 * the request is counted. Range: from/to as YYYY-MM-DDTHH:MM:SS (UTC), both
 * included; defaults: to = now, from = 29 days (interval=day, the default) or
 * 23 hours (interval=hour) before it. At most STATS_MAX_DAYS days by day and
 * STATS_MAX_HOURS hours by hour (bounded answers and PFCOUNTs); anything else
 * is a 422 naming the parameter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "app.h"
#include "clickstream.h"
#include "clicksync.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "kv.h"
#include "kvthread.h"
#include "log.h"
#include "reply.h"
#include "rkeys.h"
#include "store.h"
#include "timefmt.h"

#include "banned.h"

#define STATS_NOT_FOUND "URL not found"
#define STATS_DAY_S     86400
#define STATS_MAX_DAYS  366
#define STATS_MAX_HOURS (31 * 24)

/* Reads one time parameter: absent leaves *out alone; malformed is a 422. 0 or -1. */
static int h_stats_time_or_reply(const struct http_req *req, const char *key, time_t *out,
                                 struct http_resp *resp)
{
    const char *v = http_req_query(req, key);
    if (!v)
        return 0;
    if (strlen(v) != TIMEFMT_ISO_LEN - 1 || v[10] != 'T' || timefmt_parse(v, out) != 0) {
        reply_invalid_field(resp, key, "must be a time as YYYY-MM-DDTHH:MM:SS (UTC)");
        return -1;
    }
    return 0;
}

/* Fills q from the query string. 0, or -1 after a 422. */
static int h_stats_query_or_reply(const struct http_req *req, struct store_stats_query *q,
                                  struct http_resp *resp)
{
    const char *iv = http_req_query(req, "interval");
    if (iv && strcmp(iv, "day") != 0 && strcmp(iv, "hour") != 0) {
        reply_invalid_field(resp, "interval", "must be hour or day");
        return -1;
    }
    q->hourly = iv && strcmp(iv, "hour") == 0;
    q->to = (time_t)(timefmt_now_ms() / 1000);
    if (h_stats_time_or_reply(req, "to", &q->to, resp))
        return -1;
    q->from = q->to - (q->hourly ? 23 * 3600 : 29 * STATS_DAY_S);
    if (h_stats_time_or_reply(req, "from", &q->from, resp))
        return -1;
    if (q->from > q->to) {
        reply_invalid_field(resp, "from", "must not be after to");
        return -1;
    }
    if (q->to - q->from > (q->hourly ? STATS_MAX_HOURS * 3600 : STATS_MAX_DAYS * STATS_DAY_S)) {
        reply_invalid_field(resp, "to",
                            q->hourly ? "at most 744 hours after from with interval=hour"
                                      : "at most 366 days after from");
        return -1;
    }
    return 0;
}

/*
 * PFCOUNT over the days of [from, to]: the unique visitors of the range, or -1
 * (logged) when Redis cannot answer; the stats are still served without them.
 */
static long long h_stats_visitors(struct app *app, const struct http_req *req,
                                  const struct store_stats_query *q)
{
    enum { MAXK = STATS_MAX_DAYS + 2 };
    char(*keys)[RKEYS_MAX] = calloc(MAXK, RKEYS_MAX);
    const char **argv = calloc(MAXK + 1, sizeof(*argv));
    char id[24];
    long long n = -1;
    int argc = 1;
    struct redisReply *r = NULL;
    struct kv *kv = kvthread_get(app->kvt);
    if (!keys || !argv || !kv)
        goto out;
    snprintf(id, sizeof(id), "%lld", q->id);
    argv[0] = "PFCOUNT";
    for (time_t d = q->from - q->from % STATS_DAY_S; d <= q->to && argc <= MAXK; d += STATS_DAY_S) {
        struct tm tm;
        char day[16];
        gmtime_r(&d, &tm);
        strftime(day, sizeof(day), "%Y%m%d", &tm);
        if (rkeys_hll(id, day, keys[argc - 1]) < 0)
            break;
        argv[argc] = keys[argc - 1];
        argc++;
    }
    if (kv_command(kv, argc, argv, NULL, &r) == 0 && r->type == REDIS_REPLY_INTEGER)
        n = r->integer;
    else
        log_warn("req_id=%s cannot count the visitors of url %lld: %s", req->req_id, q->id,
                 kv_errmsg(kv));
out:
    if (r)
        freeReplyObject(r);
    free(argv);
    free(keys);
    return n;
}

int h_urls_stats(struct http_req *req, struct http_resp *resp)
{
    struct app *app = req->app;
    struct store_stats_query q = {.id = req->match.ids[0]};
    struct db *db = NULL;
    char *json = NULL;
    if (h_stats_query_or_reply(req, &q, resp))
        return resp->status;
    clicksync_wait(app, req->req_id);
    q.unique_visitors = h_stats_visitors(app, req, &q);
    if (!(db = reply_db_or_reply(app, req, resp)))
        return resp->status;
    int rc = store_stats_get(db, &q, &json);
    reply_store_result(req, resp, db, rc, STATS_NOT_FOUND, 200, &json);
    db_pool_release(app->pool, db);
    return resp->status;
}
