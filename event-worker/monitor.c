/*
 * monitor.c - the consumer's view of itself (see consumer_int.h): the group's
 * pending entries and lag per shard, an idle PostgreSQL pinged now and then, one
 * summary line per second while clicks flow, the totals at shutdown.
 */
#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "consumer_int.h"
#include "db.h"
#include "kv.h"
#include "log.h"

#include "banned.h"

#define CONSUMER_REPORT_MS  1000 /* at most one summary line per this interval */
#define CONSUMER_DB_PING_MS 5000 /* an idle worker checks PostgreSQL this often */

struct consumer_snap {
    const char *group;
    struct consumer_stats *stats;       /* per-shard figures are stored as they come */
    long long pending, lag;             /* the sums */
    long long group_pending, group_lag; /* of the current shard; -1 when not (yet) known */
    int shards;                         /* shards counted in the sums */
};

/*
 * Replies come in pairs per shard: XINFO GROUPS, then XLEN. The group's lag
 * is null in Redis 7.0 while deleted entries lie between its last-delivered
 * id and the end of the stream (XDEL by hand; the worker itself only trims the
 * head); then XLEN - pending is used, which is exact unless acknowledged entries
 * are kept behind an older pending one (the trim stops there): an upper bound.
 */
static void consumer_snap_each(void *arg, size_t i, redisReply *r)
{
    struct consumer_snap *sn = arg;
    if (i % 2 == 0) {
        sn->group_pending = sn->group_lag = -1;
        for (size_t g = 0; r->type == REDIS_REPLY_ARRAY && g < r->elements; g++) {
            const redisReply *name = kv_reply_field(r->element[g], "name");
            if (!name || name->type != REDIS_REPLY_STRING || strcmp(name->str, sn->group) != 0)
                continue;
            const redisReply *p = kv_reply_field(r->element[g], "pending");
            const redisReply *l = kv_reply_field(r->element[g], "lag");
            sn->group_pending = p && p->type == REDIS_REPLY_INTEGER ? p->integer : 0;
            sn->group_lag = l && l->type == REDIS_REPLY_INTEGER ? l->integer : -1;
        }
        return;
    }
    long long lag = sn->group_lag;
    if (sn->group_pending >= 0 && r->type == REDIS_REPLY_INTEGER) {
        if (lag < 0)
            lag = r->integer > sn->group_pending ? r->integer - sn->group_pending : 0;
        sn->pending += sn->group_pending;
        sn->lag += lag;
        sn->shards++;
        atomic_store(&sn->stats->shard_pending[i / 2], (long)sn->group_pending);
        atomic_store(&sn->stats->shard_lag[i / 2], (long)lag);
    }
    sn->group_pending = sn->group_lag = -1; /* an error reply for the next XINFO leaves them so */
}

/* Refreshes pending and lag (one pipeline), and pings an idle PostgreSQL now and then. */
void consumer_snapshot(struct consumer *c, int64_t now)
{
    struct consumer_snap sn = {
        .group = c->cfg.group, .stats = &c->stats, .group_pending = -1, .group_lag = -1};
    int rc = 0;
    for (int s = 0; s < c->cfg.nshards && rc == 0; s++) {
        const char *info[] = {"XINFO", "GROUPS", c->keys[s]};
        const char *len[] = {"XLEN", c->keys[s]};
        if ((rc = kv_append(c->kv, 3, info, NULL)) == 0)
            rc = kv_append(c->kv, 2, len, NULL);
    }
    if (rc == 0)
        rc = consumer_replies(c, 2 * (size_t)c->cfg.nshards, "XINFO GROUPS", NULL,
                              consumer_snap_each, &sn);
    if (rc == 0 && sn.shards == c->cfg.nshards) {
        atomic_store(&c->stats.pending, (long)sn.pending);
        atomic_store(&c->stats.lag, (long)sn.lag);
        atomic_store(&c->stats.kv_ok, 1);
    } else if (rc) {
        log_warn("%s", c->errmsg); /* the next read retries and backs off if needed */
    }
    if (now - c->last_db_ms >= CONSUMER_DB_PING_MS) {
        c->last_db_ms = now;
        rc = db_exec(c->db, "event_worker_ping", "SELECT 1", 0, NULL, NULL);
        atomic_store(&c->stats.db_ok, rc == 0);
        if (rc)
            log_warn("postgresql ping failed: %s", db_errmsg(c->db));
    }
}

/* At most one summary line per CONSUMER_REPORT_MS, and none while idle. */
void consumer_report(struct consumer *c, int64_t now)
{
    if (now < c->next_report_ms)
        return;
    c->next_report_ms = now + CONSUMER_REPORT_MS;
    if (c->win.batches == 0)
        return;
    log_info("clicks persisted: %lu batches, %lu read, %lu claimed, %lu inserted, %lu acked, "
             "%lu dead, %lu gone, %lld ms in batches, pending %ld, lag %ld",
             c->win.batches, c->win.read, c->win.claimed, c->win.inserted, c->win.acked,
             c->win.dead, c->win.gone, (long long)c->win.ms, atomic_load(&c->stats.pending),
             atomic_load(&c->stats.lag));
    memset(&c->win, 0, sizeof(c->win));
}

void consumer_log_totals(struct consumer *c)
{
    struct consumer_stats *st = &c->stats;
    log_info("totals since start: %lu batches, %lu read, %lu claimed, %lu inserted, %lu acked, "
             "%lu dead, %lu gone, %lu errors",
             atomic_load(&st->batches), atomic_load(&st->read), atomic_load(&st->claimed),
             atomic_load(&st->inserted), atomic_load(&st->acked), atomic_load(&st->dead),
             atomic_load(&st->gone), atomic_load(&st->errors));
}

struct consumer_stats *consumer_stats(struct consumer *c)
{
    return &c->stats;
}
