/*
 * consumer.c - the click stream consumer (see consumer.h).
 *
 * Order of the work on one batch, and why nothing is lost or doubled:
 *   1. parse every entry; an entry that cannot become a row is "poison";
 *   2. derive the analytics fields (derive.c; may read the day's salt), INSERT
 *      the rows and their rollups in one transaction and COMMIT (sink_pg),
 *      PFADD the visitors (hll.c; idempotent);
 *   3. XADD each poison entry to the dead-letter stream;
 *   4. XACK and XDEL every entry of the batch, one pipeline for all shards.
 * A crash or error before 4 leaves the entries pending: this consumer replays
 * them (XREADGROUP ... 0) after the error, or another consumer claims them
 * (XAUTOCLAIM) once they are idle. A replayed row hits ON CONFLICT (stream_id)
 * and is not inserted twice. A replayed poison entry may reach the dead-letter
 * stream twice; that stream is for people to read, so a duplicate there is
 * harmless and not worth a second round trip to avoid.
 */
#include "consumer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "backoff.h"
#include "clickstream.h"
#include "db.h"
#include "derive.h"
#include "entry.h"
#include "hll.h"
#include "kv.h"
#include "log.h"
#include "rkeys.h"
#include "shortcode.h"
#include "sink_pg.h"
#include "timefmt.h"

#include "banned.h"

#define CONSUMER_BACKOFF_MIN_MS 100
#define CONSUMER_BACKOFF_MAX_MS 5000
#define CONSUMER_CLAIM_ROUNDS   16 /* XAUTOCLAIM calls per shard and claim pass, at most */
static const double consumer_batch_bounds[] = {1,    5,    10,   50,   100,   250,   500,
                                               1000, 2000, 4000, 8000, 16000, 32000, 80000};

#define CONSUMER_SNAPSHOT_MS 1000 /* how often pending and lag are refreshed */
#define CONSUMER_REPORT_MS   1000 /* at most one summary line per this interval */
#define CONSUMER_DB_PING_MS  5000 /* an idle worker checks PostgreSQL this often */
#define CONSUMER_ERR_MAX     512
#define CONSUMER_DEAD_EXTRA  12 /* XADD key MAXLEN ~ n * + 3 extra field pairs, rounded up */

struct consumer_entry {
    unsigned shard;
    const char *id;     /* the entry id; borrowed from the reply */
    redisReply *fields; /* borrowed from the reply; NULL when the entry's data was deleted */
    enum entry_kind kind;
    const char *why; /* static text: why a poison entry cannot be stored */
};

/* The entries of one read; the array is owned, the strings borrowed from the reply. */
struct consumer_batch {
    struct consumer_entry *e;
    size_t n, cap;
};

/* What happened since the last summary line. */
struct consumer_window {
    unsigned long batches, read, claimed, inserted, acked, dead, gone;
    int64_t ms;
};

struct consumer {
    struct consumer_cfg cfg;
    struct kv *kv;           /* borrowed */
    struct db *db;           /* borrowed */
    char (*keys)[RKEYS_MAX]; /* owned: "clicks:{s}" for every shard */
    char count[24], block[24], idle[24], maxlen[24];
    int ready;    /* 1 once the groups exist (redone after any Redis failure) */
    int replay;   /* 1 while our own pending entries must be drained first */
    int failures; /* consecutive failed steps */
    int64_t next_claim_ms, next_snapshot_ms, next_report_ms, last_db_ms;
    struct backoff backoff;
    struct consumer_window win;
    struct consumer_stats stats;
    char errmsg[CONSUMER_ERR_MAX]; /* what the failing step logs */
};

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

static int consumer_kv_fail(struct consumer *c, const char *what)
{
    snprintf(c->errmsg, sizeof(c->errmsg), "redis %s failed: %s", what, kv_errmsg(c->kv));
    atomic_store(&c->stats.kv_ok, 0);
    c->ready = 0; /* redo XGROUP CREATE: Redis may have come back empty */
    return ERR_KV;
}

static int consumer_db_fail(struct consumer *c, const char *what, int rc)
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

static int consumer_nomem(struct consumer *c)
{
    snprintf(c->errmsg, sizeof(c->errmsg), "out of memory");
    return ERR_NOMEM;
}

/*
 * Reads the n replies of a pipeline, all of them even after an error reply
 * (or the next command would read a stale one). An error reply that `ok`
 * accepts (it gets the error text) does not count. Replies go to each(),
 * which may be NULL. 0 or the consumer_kv_fail() of the first failure.
 */
static int consumer_replies(struct consumer *c, size_t n, const char *what,
                            int (*ok)(const char *err), void (*each)(void *, size_t, redisReply *),
                            void *arg)
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

/* Sets e->kind (and e->why), and fills row when the entry is a storable click. */
static void consumer_parse(struct consumer_entry *e, struct sink_pg_row *row)
{
    e->kind = entry_parse(e->shard, e->id, e->fields, row, &e->why);
}

/* ------------------------------------------------------------------------ */
/* Processing a batch                                                        */
/* ------------------------------------------------------------------------ */

/*
 * Writes the rows. When PostgreSQL refuses the batch for its data (one bad
 * row fails the whole statement), writes the rows one by one and turns the
 * refused ones into poison, so that one bad entry never blocks the stream.
 */
static int consumer_insert(struct consumer *c, struct consumer_batch *b, struct sink_pg_row *rows,
                           const size_t *idx, size_t nrows, long *inserted)
{
    int rc = sink_pg_write(c->db, rows, nrows, inserted);
    if (rc == 0 || rc == ERR_INVALID)
        c->last_db_ms = timefmt_mono_ms();
    if (rc != ERR_INVALID)
        return rc ? consumer_db_fail(c, "insert", rc) : 0;
    log_warn("postgresql refused a batch of %zu clicks (%s): inserting them one by one", nrows,
             db_errmsg(c->db));
    for (size_t i = 0; i < nrows; i++) {
        long one = 0;
        rc = sink_pg_write(c->db, &rows[i], 1, &one);
        if (rc == ERR_INVALID) {
            log_error("click '%s' refused by postgresql: %s", rows[i].stream_id, db_errmsg(c->db));
            b->e[idx[i]].kind = ENTRY_POISON;
            b->e[idx[i]].why = "refused by postgresql";
            rows[i].visitor[0] = '\0'; /* not stored: not counted */
        } else if (rc) {
            return consumer_db_fail(c, "insert", rc);
        }
        *inserted += one;
    }
    return 0;
}

/*
 * Appends XADD clicks:dead [MAXLEN ~ n] * <fields...> shard <s> entry_id <id> reason <why>.
 * argv and lens have room for the entry's fields plus CONSUMER_DEAD_EXTRA.
 */
static int consumer_dead_append(struct consumer *c, const struct consumer_entry *e,
                                const char **argv, size_t *lens)
{
    char shard[16];
    size_t nf = e->fields->elements, argc = 0;
    snprintf(shard, sizeof(shard), "%u", e->shard);
    argv[argc++] = "XADD";
    argv[argc++] = RKEYS_DEAD_STREAM;
    if (c->cfg.maxlen_dead > 0) {
        argv[argc++] = "MAXLEN";
        argv[argc++] = "~";
        argv[argc++] = c->maxlen;
    }
    argv[argc++] = "*";
    for (size_t i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    for (size_t i = 0; i < nf; i++, argc++) {
        argv[argc] = e->fields->element[i]->str;
        lens[argc] = e->fields->element[i]->len;
    }
    /* "id" is already the click's URL id, hence "entry_id" for the stream entry id. */
    const char *extra[] = {"shard", shard, "entry_id", e->id, "reason", e->why};
    for (size_t i = 0; i < ARRAY_SIZE(extra); i++, argc++) {
        argv[argc] = extra[i];
        lens[argc] = strlen(extra[i]);
    }
    if (kv_append(c->kv, (int)argc, argv, lens) != 0)
        return consumer_kv_fail(c, "dead-letter XADD");
    return 0;
}

/*
 * Copies every poison entry to the dead-letter stream; *ndead gets their
 * number. The buffers are allocated before the first XADD is queued, so a
 * failure can only be a broken connection, which discards the queue.
 */
static int consumer_dead_letter(struct consumer *c, const struct consumer_batch *b,
                                unsigned long *ndead)
{
    size_t maxf = 0;
    *ndead = 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->e[i].kind == ENTRY_POISON && b->e[i].fields->elements > maxf)
            maxf = b->e[i].fields->elements;
    for (size_t i = 0; i < b->n; i++)
        *ndead += b->e[i].kind == ENTRY_POISON;
    if (*ndead == 0)
        return 0;
    const char **argv = malloc((maxf + CONSUMER_DEAD_EXTRA) * sizeof(*argv));
    size_t *lens = malloc((maxf + CONSUMER_DEAD_EXTRA) * sizeof(*lens));
    int rc = argv && lens ? 0 : consumer_nomem(c);
    for (size_t i = 0; i < b->n && rc == 0; i++) {
        const struct consumer_entry *e = &b->e[i];
        if (e->kind != ENTRY_POISON)
            continue;
        log_error("click entry '%u:%s' cannot be stored (%s): moving it to %s", e->shard, e->id,
                  e->why, RKEYS_DEAD_STREAM);
        rc = consumer_dead_append(c, e, argv, lens);
    }
    if (rc == 0)
        rc = consumer_replies(c, *ndead, "dead-letter XADD", NULL, NULL, NULL);
    free(argv);
    free(lens);
    return rc;
}

static void consumer_sum_acks(void *arg, size_t i, redisReply *r)
{
    if (i % 2 == 0 && r->type == REDIS_REPLY_INTEGER) /* XACK; the odd ones are XDEL */
        *(unsigned long *)arg += (unsigned long)r->integer;
}

/*
 * XACK then XDEL of every entry, per shard, in one pipeline. Entries of one
 * shard are adjacent in a batch (a read returns them stream by stream).
 * The XDEL keeps the streams short: an acknowledged click lives in PostgreSQL.
 */
static int consumer_ack(struct consumer *c, const struct consumer_batch *b, unsigned long *acked)
{
    const char **argv = malloc((b->n + 3) * sizeof(*argv));
    size_t ncmds = 0;
    int rc = argv ? 0 : consumer_nomem(c);
    *acked = 0;
    for (size_t i = 0, j; i < b->n && rc == 0; i = j) {
        const char *key = c->keys[b->e[i].shard];
        size_t nids = 0;
        for (j = i; j < b->n && b->e[j].shard == b->e[i].shard; j++)
            argv[3 + nids++] = b->e[j].id;
        argv[0] = "XACK";
        argv[1] = key;
        argv[2] = c->cfg.group;
        rc = kv_append(c->kv, (int)(3 + nids), argv, NULL);
        /* XDEL key id...: shift the head by one, the ids stay where they are. */
        argv[1] = "XDEL";
        argv[2] = key;
        if (rc == 0)
            rc = kv_append(c->kv, (int)(2 + nids), argv + 1, NULL);
        if (rc)
            rc = consumer_kv_fail(c, "XACK");
        ncmds += 2;
    }
    if (rc == 0)
        rc = consumer_replies(c, ncmds, "XACK/XDEL", NULL, consumer_sum_acks, acked);
    free(argv);
    return rc;
}

/* Parses, inserts, dead-letters and acknowledges one batch; counts it when it all worked. */
static int consumer_process(struct consumer *c, struct consumer_batch *b, int claimed)
{
    int64_t t0 = timefmt_mono_ms();
    struct sink_pg_row *rows = calloc(b->n, sizeof(*rows));
    size_t *idx = calloc(b->n, sizeof(*idx));
    size_t nrows = 0, gone = 0;
    unsigned long dead = 0, acked = 0;
    long inserted = 0;
    int rc = rows && idx ? 0 : consumer_nomem(c);
    for (size_t i = 0; i < b->n && rc == 0; i++) {
        consumer_parse(&b->e[i], &rows[nrows]);
        if (b->e[i].kind == ENTRY_ROW)
            idx[nrows++] = i;
        gone += b->e[i].kind == ENTRY_GONE;
    }
    if (rc == 0 && nrows && c->cfg.derive && (rc = derive_rows(c->cfg.derive, c->db, rows, nrows)))
        rc = consumer_db_fail(c, "visitor salt", rc);
    if (rc == 0 && nrows)
        rc = consumer_insert(c, b, rows, idx, nrows, &inserted);
    if (rc == 0 && nrows && hll_add(c->kv, rows, nrows) != 0)
        rc = consumer_kv_fail(c, "PFADD");
    if (rc == 0)
        rc = consumer_dead_letter(c, b, &dead);
    if (rc == 0)
        rc = consumer_ack(c, b, &acked);
    if (rc)
        goto out;
    if (nrows)
        atomic_store(&c->stats.db_ok, 1);
    if (gone)
        log_warn("%zu pending click entries were deleted before they were stored (stream "
                 "trimmed?): acknowledged",
                 gone);
    atomic_fetch_add(&c->stats.batches, 1);
    atomic_fetch_add(claimed ? &c->stats.claimed : &c->stats.read, b->n);
    atomic_fetch_add(&c->stats.inserted, (unsigned long)inserted);
    atomic_fetch_add(&c->stats.acked, acked);
    atomic_fetch_add(&c->stats.dead, dead);
    atomic_fetch_add(&c->stats.gone, gone);
    c->win.batches++;
    *(claimed ? &c->win.claimed : &c->win.read) += b->n;
    c->win.inserted += (unsigned long)inserted;
    c->win.acked += acked;
    c->win.dead += dead;
    c->win.gone += gone;
    int64_t ms = timefmt_mono_ms() - t0;
    c->win.ms += ms;
    metrics_hist_observe(&c->stats.batch_size, (double)b->n);
    metrics_hist_observe(&c->stats.batch_seconds, (double)ms / 1000.0);
out:
    free(rows);
    free(idx);
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
 * id and the end of the stream; then XLEN - pending is used, which is exact
 * here because acknowledged entries are deleted.
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
static void consumer_snapshot(struct consumer *c, int64_t now)
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
static void consumer_report(struct consumer *c, int64_t now)
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

int consumer_step(struct consumer *c)
{
    int rc = c->ready ? 0 : consumer_setup(c);
    int64_t now = timefmt_mono_ms();
    if (rc == 0 && !c->replay && now >= c->next_claim_ms) {
        c->next_claim_ms = now + c->cfg.claim_idle_ms / 2;
        rc = consumer_claim(c);
    }
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
    if (!c->keys) {
        free(c);
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
    free(c->keys);
    free(c);
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
