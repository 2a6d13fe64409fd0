/*
 * consumer.c - the click stream consumer (see consumer.h): set-up, reading
 * (XREADGROUP) and claiming (XAUTOCLAIM), and the step. What happens to one batch
 * is in batch.c, the snapshots and summary lines in monitor.c (consumer_int.h).
 */
#include "consumer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "clickdict.h"
#include "consumer_int.h"
#include "db.h"
#include "kv.h"
#include "log.h"
#include "retention.h"
#include "timefmt.h"

#include "banned.h"

#define CONSUMER_BACKOFF_MIN_MS 100
#define CONSUMER_BACKOFF_MAX_MS 5000
#define CONSUMER_CLAIM_ROUNDS   16 /* XAUTOCLAIM calls per shard and claim pass, at most */
static const double consumer_batch_bounds[] = {1,    5,    10,   50,   100,   250,   500,
                                               1000, 2000, 4000, 8000, 16000, 32000, 80000};

#define CONSUMER_SNAPSHOT_MS 1000 /* how often pending and lag are refreshed */

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

int consumer_kv_fail(struct consumer *c, const char *what)
{
    snprintf(c->errmsg, sizeof(c->errmsg), "redis %s failed: %s", what, kv_errmsg(c->kv));
    atomic_store(&c->stats.kv_ok, 0);
    c->ready = 0; /* redo XGROUP CREATE: Redis may have come back empty */
    return ERR_KV;
}

int consumer_db_fail(struct consumer *c, const char *what, int rc)
{
    snprintf(c->errmsg, sizeof(c->errmsg), "postgresql %s failed: %s", what,
             rc == ERR_NOMEM ? "out of memory" : db_errmsg(c->db));
    if (rc != ERR_NOMEM)
        atomic_store(&c->stats.db_ok, 0);
    return rc == ERR_NOMEM ? rc : ERR_DB;
}

static int consumer_bad_reply(struct consumer *c, const char *what)
{
    snprintf(c->errmsg, sizeof(c->errmsg), "unexpected redis reply to %s", what);
    return ERR_KV;
}

int consumer_nomem(struct consumer *c)
{
    snprintf(c->errmsg, sizeof(c->errmsg), "out of memory");
    return ERR_NOMEM;
}

/* See consumer_int.h. */
int consumer_replies(struct consumer *c, size_t n, const char *what, int (*ok)(const char *err),
                     void (*each)(void *, size_t, redisReply *), void *arg)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        redisReply *r = NULL;
        int rrc = kv_read_reply(c->kv, &r);
        if (rrc == 0) {
            if (each)
                each(arg, i, r);
            freeReplyObject(r);
        } else if (kv_is_broken(c->kv)) {
            return consumer_kv_fail(c, what); /* the rest went down with the connection */
        } else if (!(ok && ok(kv_errmsg(c->kv))) && rc == 0) {
            rc = consumer_kv_fail(c, what);
        }
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

/* Adds the [id, fields] pairs of `entries` (shard `shard`) to b. */
static int consumer_collect(struct consumer *c, unsigned shard, const redisReply *entries,
                            struct consumer_batch *b, const char *what)
{
    if (entries->type != REDIS_REPLY_ARRAY)
        return consumer_bad_reply(c, what);
    if (b->n + entries->elements > b->cap) {
        size_t cap = b->n + entries->elements;
        struct consumer_entry *e = realloc(b->e, cap * sizeof(*e));
        if (!e)
            return consumer_nomem(c);
        b->e = e;
        b->cap = cap;
    }
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *el = entries->element[i];
        if (el->type != REDIS_REPLY_ARRAY || el->elements != 2 ||
            el->element[0]->type != REDIS_REPLY_STRING ||
            (el->element[1]->type != REDIS_REPLY_ARRAY && el->element[1]->type != REDIS_REPLY_NIL))
            return consumer_bad_reply(c, what);
        struct consumer_entry *e = &b->e[b->n++];
        memset(e, 0, sizeof(*e));
        e->shard = shard;
        e->id = el->element[0]->str;
        e->fields = el->element[1]->type == REDIS_REPLY_ARRAY ? el->element[1] : NULL;
    }
    return 0;
}

/* Turns an XREADGROUP reply ([[key, [[id, fields]...]]...] or nil) into a batch. */
static int consumer_read_reply(struct consumer *c, const redisReply *r, struct consumer_batch *b)
{
    if (r->type == REDIS_REPLY_NIL)
        return 0; /* BLOCK ran out */
    if (r->type != REDIS_REPLY_ARRAY)
        return consumer_bad_reply(c, "XREADGROUP");
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *st = r->element[i];
        int shard = -1;
        if (st->type == REDIS_REPLY_ARRAY && st->elements == 2 &&
            st->element[0]->type == REDIS_REPLY_STRING)
            shard = rkeys_stream_shard(st->element[0]->str, (unsigned)c->cfg.nshards);
        if (shard < 0)
            return consumer_bad_reply(c, "XREADGROUP");
        int rc = consumer_collect(c, (unsigned)shard, st->element[1], b, "XREADGROUP");
        if (rc)
            return rc;
    }
    return 0;
}

/*
 * One XREADGROUP over all shards: our own pending entries ("0", no BLOCK) in
 * replay mode, else new ones (">", BLOCK). A replay read that returns nothing
 * ends replay mode.
 */
static int consumer_read(struct consumer *c)
{
    const char *argv[9 + 2 * CONSUMER_MAX_SHARDS];
    int argc = 0, n = c->cfg.nshards;
    struct consumer_batch b = {0};
    redisReply *r = NULL;
    argv[argc++] = "XREADGROUP";
    argv[argc++] = "GROUP";
    argv[argc++] = c->cfg.group;
    argv[argc++] = c->cfg.name;
    argv[argc++] = "COUNT";
    argv[argc++] = c->count;
    if (!c->replay) {
        argv[argc++] = "BLOCK";
        argv[argc++] = c->block;
    }
    argv[argc++] = "STREAMS";
    for (int s = 0; s < n; s++)
        argv[argc++] = c->keys[s];
    for (int s = 0; s < n; s++)
        argv[argc++] = c->replay ? "0" : ">";
    int rc = kv_command(c->kv, argc, argv, NULL, &r);
    if (rc) {
        rc = consumer_kv_fail(c, "XREADGROUP");
        goto out;
    }
    atomic_store(&c->stats.kv_ok, 1);
    if ((rc = consumer_read_reply(c, r, &b)) != 0)
        goto out;
    if (b.n)
        rc = consumer_process(c, &b, 0);
    else if (c->replay) {
        c->replay = 0;
        log_debug("own pending entries drained: reading new ones");
    }
out:
    free(b.e);
    if (r)
        freeReplyObject(r);
    return rc;
}

/*
 * One XAUTOCLAIM of shard s from *cursor; processes what it took over and
 * advances *cursor ("0-0" when the scan is complete).
 */
static int consumer_claim_once(struct consumer *c, unsigned s, char *cursor, size_t cursor_len)
{
    const char *argv[] = {"XAUTOCLAIM", c->keys[s], c->cfg.group, c->cfg.name,
                          c->idle,      cursor,     "COUNT",      c->count};
    struct consumer_batch b = {0};
    redisReply *r = NULL;
    int rc = kv_command(c->kv, (int)ARRAY_SIZE(argv), argv, NULL, &r);
    if (rc && !kv_is_broken(c->kv) && strstr(kv_errmsg(c->kv), "NOGROUP")) {
        /* The key vanished (Redis restarted empty): nothing to claim; the read recreates it. */
        snprintf(cursor, cursor_len, "0-0");
        rc = 0;
        goto out;
    }
    if (rc) {
        rc = consumer_kv_fail(c, "XAUTOCLAIM");
        goto out;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        rc = consumer_bad_reply(c, "XAUTOCLAIM");
        goto out;
    }
    if ((rc = consumer_collect(c, s, r->element[1], &b, "XAUTOCLAIM")) != 0)
        goto out;
    /* Redis 7 drops entries deleted meanwhile from the PEL and lists them here. */
    if (r->elements > 2 && r->element[2]->type == REDIS_REPLY_ARRAY && r->element[2]->elements) {
        log_warn("%zu pending click entries of '%s' were deleted before they were stored",
                 r->element[2]->elements, c->keys[s]);
        atomic_fetch_add(&c->stats.gone, r->element[2]->elements);
    }
    if (b.n) {
        log_info("claimed %zu idle click entries of '%s'", b.n, c->keys[s]);
        rc = consumer_process(c, &b, 1);
    }
    if (rc == 0)
        snprintf(cursor, cursor_len, "%s", r->element[0]->str);
out:
    free(b.e);
    if (r)
        freeReplyObject(r);
    return rc;
}

/*
 * Takes over entries that other (dead or stuck) consumers left pending for
 * longer than claim_idle_ms, shard by shard. One call per shard when nothing
 * is pending; a long pending list is walked at most CONSUMER_CLAIM_ROUNDS
 * pages per pass, and the next pass (claim_idle_ms / 2 later) goes on.
 */
static int consumer_claim(struct consumer *c)
{
    int rc = 0;
    for (int s = 0; s < c->cfg.nshards && rc == 0; s++) {
        char cursor[64] = "0-0";
        for (int round = 0; round < CONSUMER_CLAIM_ROUNDS && rc == 0; round++) {
            rc = consumer_claim_once(c, (unsigned)s, cursor, sizeof(cursor));
            if (strcmp(cursor, "0-0") == 0)
                break;
        }
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Set-up, stats and the step                                                */
/* ------------------------------------------------------------------------ */

static int consumer_busygroup(const char *err)
{
    return strstr(err, "BUSYGROUP") != NULL;
}

/*
 * XGROUP CREATE <key> <group> 0 MKSTREAM on every shard (start id 0: clicks
 * added before the first worker ran are consumed too), then connects
 * PostgreSQL. Redis comes first so that /health tells which one is down.
 */
static int consumer_setup(struct consumer *c)
{
    int rc;
    for (int s = 0; s < c->cfg.nshards; s++) {
        const char *argv[] = {"XGROUP", "CREATE", c->keys[s], c->cfg.group, "0", "MKSTREAM"};
        if (kv_append(c->kv, (int)ARRAY_SIZE(argv), argv, NULL) != 0)
            return consumer_kv_fail(c, "XGROUP CREATE");
    }
    rc = consumer_replies(c, (size_t)c->cfg.nshards, "XGROUP CREATE", consumer_busygroup, NULL,
                          NULL);
    if (rc)
        return rc;
    atomic_store(&c->stats.kv_ok, 1);
    if ((rc = db_connect(c->db)) != 0)
        return consumer_db_fail(c, "connect", rc);
    atomic_store(&c->stats.db_ok, 1);
    c->last_db_ms = timefmt_mono_ms();
    c->ready = 1;
    c->replay = 1;
    log_info("consuming %d click streams in group '%s' as '%s'", c->cfg.nshards, c->cfg.group,
             c->cfg.name);
    return 0;
}

/* The monthly partitions of events, now and then; a failure is retried later, not fatal (a
 * click of a month without a partition is stored in events_api and moved when it comes). */
static void consumer_partitions(struct consumer *c, int64_t now)
{
    int made = 0, dropped = 0;
    int rc = retention_run(c->db, c->cfg.retention_months, &made, &dropped);
    c->next_partition_ms = now + (rc ? RETENTION_RETRY_MS : RETENTION_EVERY_MS);
    if (rc)
        log_warn("events partitions: %s", db_errmsg(c->db));
    else if (made || dropped)
        log_info("events partitions: %d created, %d dropped (retention %ld months)", made, dropped,
                 c->cfg.retention_months);
}

int consumer_step(struct consumer *c)
{
    int rc = c->ready ? 0 : consumer_setup(c);
    int64_t now = timefmt_mono_ms();
    if (rc == 0 && !c->replay && now >= c->next_claim_ms) {
        c->next_claim_ms = now + c->cfg.claim_idle_ms / 2;
        rc = consumer_claim(c);
    }
    if (rc == 0 && now >= c->next_partition_ms)
        consumer_partitions(c, now);
    if (rc == 0)
        rc = consumer_read(c);
    now = timefmt_mono_ms();
    if (rc == 0 && now >= c->next_snapshot_ms) {
        c->next_snapshot_ms = now + CONSUMER_SNAPSHOT_MS;
        consumer_snapshot(c, now);
    }
    consumer_report(c, now);
    atomic_store(&c->stats.group_ok, c->ready);
    atomic_store(&c->stats.step_ms, (long long)timefmt_mono_ms());
    if (rc) {
        int delay = backoff_next(&c->backoff);
        atomic_fetch_add(&c->stats.errors, 1);
        c->failures++;
        c->replay = 1;
        log_error("%s; retrying in %d ms", c->errmsg, delay);
        return delay;
    }
    if (c->failures)
        log_info("recovered after %d failed attempts", c->failures);
    c->failures = 0;
    backoff_reset(&c->backoff);
    return 0;
}

struct consumer *consumer_new(const struct consumer_cfg *cfg, struct kv *kv, struct db *db)
{
    if (cfg->nshards < 1 || cfg->nshards > CONSUMER_MAX_SHARDS || cfg->batch < 1 ||
        cfg->block_ms < 0 || cfg->claim_idle_ms < 2 || cfg->maxlen_dead < 0)
        return NULL;
    struct consumer *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->keys = calloc((size_t)cfg->nshards, sizeof(*c->keys));
    c->dict = clickdict_new();
    if (!c->keys || !c->dict) {
        consumer_free(c);
        return NULL;
    }
    for (int s = 0; s < cfg->nshards; s++)
        if (rkeys_stream((unsigned)s, c->keys[s]) < 0)
            BUG("stream key does not fit RKEYS_MAX");
    c->cfg = *cfg;
    c->kv = kv;
    c->db = db;
    c->replay = 1;
    snprintf(c->count, sizeof(c->count), "%d", cfg->batch);
    snprintf(c->block, sizeof(c->block), "%d", cfg->block_ms);
    snprintf(c->idle, sizeof(c->idle), "%d", cfg->claim_idle_ms);
    snprintf(c->maxlen, sizeof(c->maxlen), "%ld", cfg->maxlen_dead);
    backoff_init(&c->backoff, CONSUMER_BACKOFF_MIN_MS, CONSUMER_BACKOFF_MAX_MS);
    atomic_init(&c->stats.pending, -1);
    atomic_init(&c->stats.lag, -1);
    atomic_init(&c->stats.step_ms, (long long)timefmt_mono_ms());
    for (int s = 0; s < CONSUMER_MAX_SHARDS; s++) {
        atomic_init(&c->stats.shard_pending[s], -1);
        atomic_init(&c->stats.shard_lag[s], -1);
    }
    metrics_hist_init(&c->stats.batch_size, consumer_batch_bounds,
                      ARRAY_SIZE(consumer_batch_bounds), 1);
    metrics_hist_init(&c->stats.batch_seconds, metrics_latency_bounds, metrics_latency_nbounds,
                      1e6);
    return c;
}

void consumer_free(struct consumer *c)
{
    if (!c)
        return;
    clickdict_free(c->dict);
    free(c->keys);
    free(c);
}
