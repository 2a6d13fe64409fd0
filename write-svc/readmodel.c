/*
 * readmodel.c - keeps the Redis read model in step with PostgreSQL (see readmodel.h).
 */
#include "readmodel.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "app.h"
#include "clicksync.h"
#include "db.h"
#include "err.h"
#include "kv.h"
#include "kvthread.h"
#include "log.h"
#include "rkeys.h"
#include "shortcode.h"
#include "store.h"
#include "timefmt.h"

#include "banned.h"

#define READMODEL_BATCH 1000

struct kv *readmodel_kv(struct app *app)
{
    return kvthread_get(app->kvt);
}

/* Runs one idempotent command, retrying once on a stale connection. */
static int readmodel_cmd(struct app *app, int argc, const char **argv, const size_t *lens,
                         struct redisReply **out)
{
    struct kv *kv = readmodel_kv(app);
    if (!kv)
        return ERR_KV;
    int rc = kv_command(kv, argc, argv, lens, out);
    if (rc && kv_is_broken(kv))
        rc = kv_command(kv, argc, argv, lens, out);
    if (rc)
        log_error("redis %s failed: %s", argv[0], kv_errmsg(kv));
    return rc;
}

static int readmodel_key(struct app *app, const char *code, char key[RKEYS_MAX])
{
    int n = rkeys_link(code, strlen(code), (unsigned)app->cfg.stream_shards, key);
    return n < 0 ? ERR_INVALID : 0;
}

/* The change stream of code's shard (rkeys.h). */
static int readmodel_changes_key(struct app *app, const char *code, char key[RKEYS_MAX])
{
    unsigned nshards = (unsigned)app->cfg.stream_shards;
    int n = rkeys_changes(shortcode_shard(code, strlen(code), nshards), key);
    return n < 0 ? ERR_INVALID : 0;
}

/* The link's fields as HSET arguments; returns argc. Buffers are the caller's. */
struct readmodel_args {
    char key[RKEYS_MAX], chg[RKEYS_MAX], id[24], uid[24], rt[8], exp[24], max[24], n[24];
};

/* Fills a's buffers for u, but a->chg (only readmodel_put writes a change). 0 or ERR_INVALID. */
static int readmodel_fill_args(struct app *app, const struct store_url *u, long long clicks,
                               struct readmodel_args *a)
{
    if (readmodel_key(app, u->short_code, a->key))
        return ERR_INVALID;
    store_fmt_id(a->id, u->id);
    a->uid[0] = '\0';
    if (u->user_id)
        store_fmt_id(a->uid, u->user_id);
    snprintf(a->rt, sizeof(a->rt), "%d", u->redirect_type ? u->redirect_type : 302);
    a->exp[0] = '\0';
    if (u->expires_at >= 0)
        snprintf(a->exp, sizeof(a->exp), "%lld", u->expires_at * 1000);
    a->max[0] = '\0';
    if (u->max_clicks > 0)
        snprintf(a->max, sizeof(a->max), "%ld", u->max_clicks);
    store_fmt_id(a->n, clicks > 0 ? clicks : 0);
    return 0;
}

/*
 * Appends the two commands that load one link in a rebuild: HSETNX of the click counter
 * (kept when the hash exists), then one HSET of every other field. No change entry: the
 * rebuild removes the change streams instead (readmodel_rebuild).
 */
static int readmodel_append_link(struct app *app, const struct store_url *u, long long clicks)
{
    struct readmodel_args a;
    struct kv *kv = readmodel_kv(app);
    if (!kv || readmodel_fill_args(app, u, clicks, &a))
        return kv ? ERR_INVALID : ERR_KV;
    const char *nx[] = {"HSETNX", a.key, RKEYS_F_CLICKS, a.n};
    const char *set[] = {"HSET",      a.key,       RKEYS_F_ID,      a.id,       RKEYS_F_UID,
                         a.uid,       RKEYS_F_URL, u->original_url, RKEYS_F_RT, a.rt,
                         RKEYS_F_EXP, a.exp,       RKEYS_F_MAX,     a.max};
    int rc = kv_append(kv, (int)ARRAY_SIZE(nx), nx, NULL);
    return rc ? rc : kv_append(kv, (int)ARRAY_SIZE(set), set, NULL);
}

/* Reads the replies of n appended commands; the first failure is returned (and logged). */
static int readmodel_read_replies(struct app *app, int n)
{
    int rc = 0;
    for (int i = 0; i < n; i++) {
        int rrc = kv_read_reply(readmodel_kv(app), NULL);
        if (rc == 0 && rrc)
            log_error("redis pipelined command failed: %s", kv_errmsg(readmodel_kv(app)));
        if (rc == 0)
            rc = rrc;
    }
    return rc;
}

/*
 * A link write and its change entry, one atomic step (redirect-svc/ncache.h's ordering
 * proof rests on it). KEYS[1] the link hash, KEYS[2] its shard's change stream; ARGV[1] the
 * code, ARGV[2] the seed of the click counter, then HSET field/value pairs.
 */
#define READMODEL_XADD                                                                             \
    "redis.call('XADD', KEYS[2], 'MAXLEN', '~', '" RKEYS_CHANGES_MAXLEN "', '*', '" RKEYS_F_CHANGE \
    "', ARGV[1])\n"
static const char readmodel_put_script[] =
    "redis.call('HSETNX', KEYS[1], '" RKEYS_F_CLICKS "', ARGV[2])\n"
    "redis.call('HSET', KEYS[1], unpack(ARGV, 3))\n" READMODEL_XADD;

int readmodel_put(struct app *app, const struct store_url *u, long long clicks)
{
    struct readmodel_args a;
    if (readmodel_fill_args(app, u, clicks, &a) || readmodel_changes_key(app, u->short_code, a.chg))
        return ERR_INVALID;
    const char *argv[] = {"EVAL",
                          readmodel_put_script,
                          "2",
                          a.key,
                          a.chg,
                          u->short_code,
                          a.n,
                          RKEYS_F_ID,
                          a.id,
                          RKEYS_F_UID,
                          a.uid,
                          RKEYS_F_URL,
                          u->original_url,
                          RKEYS_F_RT,
                          a.rt,
                          RKEYS_F_EXP,
                          a.exp,
                          RKEYS_F_MAX,
                          a.max};
    /* Idempotent (the counter is only seeded, the entry only invalidates): retried once. */
    int rc = readmodel_cmd(app, (int)ARRAY_SIZE(argv), argv, NULL, NULL);
    if (rc)
        log_error("redis write of link '%s' failed", u->short_code);
    return rc;
}

static const char readmodel_del_script[] = "redis.call('UNLINK', KEYS[1])\n" READMODEL_XADD;

int readmodel_del(struct app *app, const char *code)
{
    char key[RKEYS_MAX], chg[RKEYS_MAX];
    if (readmodel_key(app, code, key) || readmodel_changes_key(app, code, chg))
        return ERR_INVALID;
    const char *argv[] = {"EVAL", readmodel_del_script, "2", key, chg, code};
    return readmodel_cmd(app, (int)ARRAY_SIZE(argv), argv, NULL, NULL);
}

/* Removes one link hash and returns its click counter, in one atomic step. */
static const char readmodel_take_script[] =
    "local n = redis.call('HGET', KEYS[1], '" RKEYS_F_CLICKS "')\n"
    "redis.call('UNLINK', KEYS[1])\n" READMODEL_XADD "return n\n";

int readmodel_take(struct app *app, const char *code, long long *clicks)
{
    char key[RKEYS_MAX], chg[RKEYS_MAX];
    struct redisReply *r = NULL;
    *clicks = -1;
    if (readmodel_key(app, code, key) || readmodel_changes_key(app, code, chg))
        return ERR_INVALID;
    const char *argv[] = {"EVAL", readmodel_take_script, "2", key, chg, code};
    int rc = readmodel_cmd(app, (int)ARRAY_SIZE(argv), argv, NULL, &r);
    if (rc)
        return rc;
    if (r->type == REDIS_REPLY_STRING)
        *clicks = strtoll(r->str, NULL, 10);
    freeReplyObject(r);
    return 0;
}

/* Appends SET (set=1) or EXISTS of every shard's marker. 0 or ERR_*. */
static int readmodel_append_markers(struct kv *kv, unsigned nshards, int set)
{
    int rc = 0;
    for (unsigned s = 0; s < nshards && rc == 0; s++) {
        char key[RKEYS_MAX];
        if (rkeys_marker(s, key) < 0)
            return ERR_INVALID;
        const char *argv[] = {set ? "SET" : "EXISTS", key, "1"};
        rc = kv_append(kv, set ? 3 : 2, argv, NULL);
    }
    return rc;
}

/* 1 when every shard's marker exists, 0 when one is missing, or ERR_KV. */
static int readmodel_shards_complete(struct app *app)
{
    struct kv *kv = readmodel_kv(app);
    unsigned nshards = (unsigned)app->cfg.stream_shards;
    if (!kv)
        return ERR_KV;
    int rc = readmodel_append_markers(kv, nshards, 0), all = 1;
    /* Every reply is read, also after a failed one: one left unread would answer the
     * handle's next command (on a cluster, one node failing leaves the others' replies). */
    for (unsigned s = 0; s < nshards && rc == 0; s++) {
        struct redisReply *r = NULL;
        int rrc = kv_read_reply(kv, &r);
        if (rrc == 0)
            all &= r->type == REDIS_REPLY_INTEGER && r->integer == 1;
        if (r)
            freeReplyObject(r);
        if (rrc && (kv_is_cluster(kv) || !kv_is_broken(kv))) {
            if (rc == 0 && s + 1 < nshards)
                (void)readmodel_read_replies(app, (int)(nshards - s - 1));
            rc = rrc;
        } else if (rrc) {
            rc = rrc; /* a single connection that broke owes nothing more */
        }
    }
    if (rc)
        log_error("redis EXISTS of the shard markers failed: %s", kv_errmsg(kv));
    return rc ? rc : all;
}

int readmodel_complete(struct app *app)
{
    const char *argv[] = {"EXISTS", RKEYS_MARKER};
    struct redisReply *r = NULL;
    int rc = readmodel_cmd(app, 2, argv, NULL, &r);
    if (rc)
        return rc;
    rc = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return rc == 1 ? readmodel_shards_complete(app) : rc;
}

int readmodel_ping(struct app *app)
{
    const char *argv[] = {"PING"};
    return readmodel_cmd(app, 1, argv, NULL, NULL);
}

/* ------------------------------------------------------------------------ */
/* Rebuild                                                                   */
/* ------------------------------------------------------------------------ */

/* Removes every link key of one primary (stale links of a model that is being rebuilt). */
static int readmodel_clear_node(struct app *app, struct kv *node)
{
    char cursor[32] = "0";
    do {
        const char *argv[] = {"SCAN", cursor, "MATCH", RKEYS_LINK_PATTERN, "COUNT", "1000"};
        struct redisReply *r = NULL;
        int rc = kv_command(node, 6, argv, NULL, &r);
        if (rc && kv_is_broken(node))
            rc = kv_command(node, 6, argv, NULL, &r);
        if (rc) {
            log_error("redis SCAN failed: %s", kv_errmsg(node));
            return rc;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            log_error("redis SCAN: unexpected reply (type %d)", r->type);
            freeReplyObject(r);
            return ERR_KV;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        struct redisReply *keys = r->element[1];
        for (size_t i = 0; rc == 0 && i < keys->elements; i++) {
            const char *del[] = {"UNLINK", keys->element[i]->str};
            rc = readmodel_cmd(app, 2, del, NULL, NULL);
        }
        freeReplyObject(r);
        if (rc)
            return rc;
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

/* Removes every link key, node by node on a cluster (SCAN sees one node's keys). */
static int readmodel_clear_links(struct app *app)
{
    struct kv *kv = readmodel_kv(app);
    if (!kv)
        return ERR_KV;
    size_t n = kv_primaries(kv);
    if (n == 0)
        log_error("redis: no primary known (%s)", kv_errmsg(kv));
    if (n == 0)
        return ERR_KV;
    for (size_t i = 0; i < n; i++) {
        struct kv *node = kv_primary(kv, i);
        if (!node)
            log_error("redis: primary %zu of %zu has no connection", i, n);
        int rc = node ? readmodel_clear_node(app, node) : ERR_KV;
        if (rc)
            return rc;
    }
    return 0;
}

/*
 * Removes every change stream once the old links are gone: each redirect-svc loop finds its
 * position vanished at its next call and clears its near cache, so nothing it cached from
 * the old model survives the rebuild (redirect-svc/ncache.h).
 */
static int readmodel_clear_changes(struct app *app)
{
    int rc = 0;
    for (unsigned s = 0; rc == 0 && s < (unsigned)app->cfg.stream_shards; s++) {
        char key[RKEYS_MAX];
        const char *argv[] = {"UNLINK", key};
        rc = rkeys_changes(s, key) < 0 ? ERR_INVALID : readmodel_cmd(app, 2, argv, NULL, NULL);
    }
    return rc;
}

/* Sets every shard's marker, then the global one (redirect-svc's). 0 or ERR_KV. */
static int readmodel_set_markers(struct app *app)
{
    struct kv *kv = readmodel_kv(app);
    unsigned nshards = (unsigned)app->cfg.stream_shards;
    int rc = kv ? readmodel_append_markers(kv, nshards, 1) : ERR_KV;
    int rrc = rc == 0 ? readmodel_read_replies(app, (int)nshards) : 0;
    if (rc == 0)
        rc = rrc;
    const char *argv[] = {"SET", RKEYS_MARKER, "1"};
    return rc ? rc : readmodel_cmd(app, 3, argv, NULL, NULL);
}

static int readmodel_queue_link(void *arg, const struct store_url *u)
{
    return readmodel_append_link(arg, u, u->clicks);
}

/* Loads every active URL, one pipelined batch per page. *loaded counts the links. */
static int readmodel_load(struct app *app, struct db *db, long *loaded)
{
    long long after = 0;
    for (;;) {
        int count = 0;
        int rc = store_urls_each_active(db, after, READMODEL_BATCH, readmodel_queue_link, app,
                                        &after, &count);
        int rrc = readmodel_read_replies(app, 2 * count);
        if (rc == 0)
            rc = rrc;
        if (rc)
            return rc;
        *loaded += count;
        if (count < READMODEL_BATCH)
            return 0;
    }
}

/*
 * The exclusive read-model lock, held by an open transaction until db_rollback: a
 * transaction-scoped lock (not pg_advisory_lock/unlock) so that it also holds behind a
 * transaction-mode pooler, where a session lock could be taken on one server session and
 * "released" on another (db.h, DB_POOLER_TRANSACTION). The transaction only reads.
 */
static int readmodel_lock(struct db *db)
{
    char key[24];
    const char *params[] = {store_fmt_id(key, STORE_READMODEL_LOCK)};
    int rc = db_begin(db);
    if (rc == 0)
        rc = db_exec(db, NULL, "SELECT pg_advisory_xact_lock($1::bigint)", 1, params, NULL);
    return rc;
}

/* The rebuild proper, holding the exclusive lock. */
static int readmodel_rebuild(struct app *app, struct db *db)
{
    int64_t t0 = timefmt_mono_ms();
    long loaded = 0;
    int rc = readmodel_complete(app);
    if (rc == 1)
        return 0; /* another instance finished it while we waited */
    /* A shard marker may be missing with the global one there (a cluster node came back
     * empty): redirects say 503, not 404, until the links are back. */
    const char *del[] = {"DEL", RKEYS_MARKER};
    if (rc < 0 || (rc = readmodel_cmd(app, 2, del, NULL, NULL)) ||
        (rc = readmodel_clear_links(app)) || (rc = readmodel_clear_changes(app)))
        return rc;
    /*
     * With the links gone no click can be recorded, so once the clicks already
     * in the streams are persisted, url_totals holds each link's true count (the
     * counter a click cap is checked against). A worker that is down only makes
     * the counts low by what it has not persisted yet: logged, not fatal.
     */
    if (clicksync_wait(app, "rebuild") != 0)
        log_warn(
            "read model rebuilt before every click was persisted: caps may allow extra clicks");
    if ((rc = readmodel_load(app, db, &loaded)))
        return rc;
    rc = readmodel_set_markers(app);
    if (rc == 0)
        atomic_fetch_add_explicit(&app->stats.rebuilds, 1, memory_order_relaxed);
    if (rc == 0)
        log_info("read model rebuilt: %ld active links in %lld ms", loaded,
                 (long long)(timefmt_mono_ms() - t0));
    return rc;
}

int readmodel_rebuild_if_needed(struct app *app)
{
    int rc = readmodel_complete(app);
    if (rc == 1)
        return 0;
    if (rc < 0)
        return rc;
    struct db *db = db_pool_acquire(app->pool);
    if (!db)
        return ERR_UNAVAILABLE;
    rc = readmodel_lock(db);
    if (rc)
        log_error("cannot take the read-model lock: %s", db_errmsg(db));
    else
        rc = readmodel_rebuild(app, db);
    db_rollback(db); /* releases the lock */
    db_pool_release(app->pool, db);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The watcher thread                                                        */
/* ------------------------------------------------------------------------ */

static void *readmodel_watch(void *arg)
{
    struct app *app = arg;
    int was_ok = 1;
    while (!atomic_load(&app->stopping)) {
        int rc = readmodel_rebuild_if_needed(app);
        if (rc && was_ok)
            log_warn("read model not complete yet (%s); retrying every %ld ms", err_str(rc),
                     app->cfg.readmodel_check_ms);
        else if (!rc && !was_ok)
            log_info("read model complete again");
        was_ok = rc == 0;
        for (long slept = 0; slept < app->cfg.readmodel_check_ms && !atomic_load(&app->stopping);
             slept += 50) {
            struct timespec ts = {0, 50 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

int readmodel_watcher_start(struct app *app)
{
    if (pthread_create(&app->watcher, NULL, readmodel_watch, app) != 0)
        return ERR_SYS;
    app->watcher_started = 1;
    return 0;
}

void readmodel_watcher_stop(struct app *app)
{
    atomic_store(&app->stopping, 1);
    if (app->watcher_started)
        pthread_join(app->watcher, NULL);
    app->watcher_started = 0;
}
