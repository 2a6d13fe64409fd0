/*
 * batch.c - one batch of click stream entries, from the reply to PostgreSQL and back to
 * an acknowledgement (see consumer_int.h).
 *
 * Order of the work on one batch, and why nothing is lost or doubled:
 *   1. parse every entry into its clicks (one, or a batch's n); a click that cannot
 *      become a row, or an entry that cannot be read at all, is "poison" (entry.h);
 *   2. derive the analytics fields (derive.c; may read the day's salt), write the rows
 *      and their rollups in one transaction and COMMIT (sink_pg), PFADD the visitors
 *      (hll.c; idempotent);
 *   3. XADD each poison click or entry to the dead-letter stream;
 *   4. XACK every entry of the batch and trim each stream below its safe point (XTRIM
 *      MINID, batch_ack), one pipeline for all shards.
 * A crash or error before 4 leaves the entries pending: this consumer replays them
 * (XREADGROUP ... 0) after the error, or another consumer claims them (XAUTOCLAIM) once
 * they are idle. A replayed click has the same key (shard, entry id, index), hits
 * ON CONFLICT and is not inserted twice. A replayed poison click may reach the
 * dead-letter stream twice; that stream is for people to read, so a duplicate there is
 * harmless and not worth a second round trip to avoid.
 *
 * A read returns at most COUNT entries per shard, but a batched entry carries up to
 * CLICKSTREAM_BATCH_MAX clicks: the entries are processed in parts of at most
 * BATCH_ROWS_MAX clicks, each committed and acknowledged on its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "clickstream.h"
#include "consumer_int.h"
#include "db.h"
#include "derive.h"
#include "entry.h"
#include "hll.h"
#include "kv.h"
#include "log.h"
#include "sink_pg.h"
#include "timefmt.h"

#include "banned.h"

#define BATCH_ROWS_MAX   65536 /* clicks per part (>= CLICKSTREAM_BATCH_MAX; DECISIONS P7) */
#define BATCH_DEAD_EXTRA 14    /* XADD key MAXLEN ~ n * + 4 extra field pairs */
#define BATCH_ROW_FIELDS 16    /* a refused row as a one-click entry: 8 name/value pairs */

/* One part of a batch: its entries are borrowed, its rows and poison list owned. */
struct batch_part {
    struct consumer_entry *e;
    size_t n;
    struct entry_out out;
    size_t gone;
    long inserted;
    unsigned long acked;
};

/*
 * Writes the rows. When PostgreSQL refuses the batch for its data (one bad
 * row fails the whole statement), writes the rows one by one and turns the
 * refused ones into poison, so that one bad click never blocks the stream.
 */
static int batch_insert(struct consumer *c, struct batch_part *p)
{
    struct sink_pg_row *rows = p->out.rows;
    int rc = sink_pg_write(c->db, c->dict, rows, p->out.nrows, &p->inserted);
    if (rc == 0 || rc == ERR_INVALID)
        c->last_db_ms = timefmt_mono_ms();
    if (rc != ERR_INVALID)
        return rc ? consumer_db_fail(c, "insert", rc) : 0;
    log_warn("postgresql refused a batch of %zu clicks (%s): inserting them one by one",
             p->out.nrows, db_errmsg(c->db));
    for (size_t i = 0; i < p->out.nrows; i++) {
        long one = 0;
        rc = sink_pg_write(c->db, c->dict, &rows[i], 1, &one);
        if (rc == ERR_INVALID) {
            log_error("click '%s' refused by postgresql: %s", rows[i].stream_id, db_errmsg(c->db));
            struct entry_bad *b = &p->out.bad[p->out.nbad++];
            *b = (struct entry_bad){.idx = rows[i].idx,
                                    .why = "refused by postgresql",
                                    .row = &rows[i],
                                    .ent = rows[i].ent};
            rows[i].visitor[0] = '\0'; /* not stored: not counted */
        } else if (rc) {
            return consumer_db_fail(c, "insert", rc);
        }
        p->inserted += one;
    }
    return 0;
}

/* An XADD argument under construction. */
struct batch_args {
    const char **argv;
    size_t *lens, argc;
};

static void batch_push(struct batch_args *a, const char *s, size_t len)
{
    a->argv[a->argc] = s;
    a->lens[a->argc++] = len;
}

static void batch_push_str(struct batch_args *a, const char *s)
{
    batch_push(a, s ? s : "", s ? strlen(s) : 0);
}

/* Pushes the fields of a refused row as a one-click entry (shared/clickstream.h). */
static void batch_row_fields(struct batch_args *a, const struct sink_pg_row *r)
{
    const char *f[] = {CLICKSTREAM_F_URL_ID, r->url_id, CLICKSTREAM_F_USER_ID,  r->user_id,
                       CLICKSTREAM_F_CODE,   r->code,   CLICKSTREAM_F_URL,      r->url,
                       CLICKSTREAM_F_TS,     r->ts_ms,  CLICKSTREAM_F_REFERRER, r->ref,
                       CLICKSTREAM_F_AGENT,  r->ua,     CLICKSTREAM_F_IP,       r->ip};
    for (size_t i = 0; i < ARRAY_SIZE(f); i++)
        batch_push_str(a, f[i]);
}

/*
 * Appends XADD clicks:dead [MAXLEN ~ n] * <what> shard <s> entry_id <id> [idx <i>] reason
 * <why>, where <what> is the entry's fields (a poison entry), "click" <packed value> (a poison
 * click of a batch) or the row's values (a click PostgreSQL refused). argv and lens have
 * room for max(the entry's fields, BATCH_ROW_FIELDS) plus BATCH_DEAD_EXTRA.
 */
static int batch_dead_append(struct consumer *c, const struct consumer_entry *e,
                             const struct entry_bad *b, const char **argv, size_t *lens)
{
    char shard[16], idx[24];
    struct batch_args a = {argv, lens, 0};
    snprintf(shard, sizeof(shard), "%u", e->shard);
    snprintf(idx, sizeof(idx), "%zu", b->idx);
    batch_push_str(&a, "XADD");
    batch_push_str(&a, RKEYS_DEAD_STREAM);
    if (c->cfg.maxlen_dead > 0) {
        batch_push_str(&a, "MAXLEN");
        batch_push_str(&a, "~");
        batch_push_str(&a, c->maxlen);
    }
    batch_push_str(&a, "*");
    if (b->row) {
        batch_row_fields(&a, b->row);
    } else if (b->raw) {
        batch_push_str(&a, "click");
        batch_push(&a, b->raw->str, b->raw->len);
    } else {
        for (size_t i = 0; i < e->fields->elements; i++)
            batch_push(&a, e->fields->element[i]->str, e->fields->element[i]->len);
    }
    /* "id" is already the click's URL id, hence "entry_id" for the stream entry id. */
    batch_push_str(&a, "shard");
    batch_push_str(&a, shard);
    batch_push_str(&a, "entry_id");
    batch_push_str(&a, e->id);
    if (b->idx != ENTRY_WHOLE) {
        batch_push_str(&a, "idx");
        batch_push_str(&a, idx);
    }
    batch_push_str(&a, "reason");
    batch_push_str(&a, b->why);
    if (kv_append(c->kv, (int)a.argc, a.argv, a.lens) != 0)
        return consumer_kv_fail(c, "dead-letter XADD");
    return 0;
}

/*
 * Copies every poison click or entry to the dead-letter stream. The buffers are
 * allocated before the first XADD is queued, so a failure can only be a broken
 * connection, which discards the queue.
 */
static int batch_dead_letter(struct consumer *c, const struct batch_part *p)
{
    size_t maxf = BATCH_ROW_FIELDS;
    if (p->out.nbad == 0)
        return 0;
    for (size_t i = 0; i < p->out.nbad; i++) {
        const struct consumer_entry *e = &p->e[p->out.bad[i].ent];
        if (e->fields && e->fields->elements > maxf)
            maxf = e->fields->elements;
    }
    const char **argv = malloc((maxf + BATCH_DEAD_EXTRA) * sizeof(*argv));
    size_t *lens = malloc((maxf + BATCH_DEAD_EXTRA) * sizeof(*lens));
    int rc = argv && lens ? 0 : consumer_nomem(c);
    for (size_t i = 0; i < p->out.nbad && rc == 0; i++) {
        const struct entry_bad *b = &p->out.bad[i];
        const struct consumer_entry *e = &p->e[b->ent];
        if (b->idx == ENTRY_WHOLE)
            log_error("click entry '%u:%s' cannot be stored (%s): moving it to %s", e->shard, e->id,
                      b->why, RKEYS_DEAD_STREAM);
        else
            log_error("click %zu of entry '%u:%s' cannot be stored (%s): moving it to %s", b->idx,
                      e->shard, e->id, b->why, RKEYS_DEAD_STREAM);
        rc = batch_dead_append(c, e, b, argv, lens);
    }
    if (rc == 0)
        rc = consumer_replies(c, p->out.nbad, "dead-letter XADD", NULL, NULL, NULL);
    free(argv);
    free(lens);
    return rc;
}

/*
 * Trims a stream below its safe point, atomically (KEYS[1] the stream): for every group of
 * the stream, the first id it may still need is its first pending entry (any consumer's), or,
 * with none pending, the entry after its last-delivered id; XTRIM MINID the smallest of them
 * removes only entries every group has delivered and acknowledged. Read and trim in one
 * script, so that no read by another consumer can fall between them. An id is "<ms>-<seq>";
 * a seq too long for Lua's numbers to add 1 exactly keeps the last delivered entry.
 */
static const char batch_trim_lua[] =
    "local function cmp(a, b)\n"
    "  local am, as = string.match(a, '^(%d+)-(%d+)$')\n"
    "  local bm, bs = string.match(b, '^(%d+)-(%d+)$')\n"
    "  if #am ~= #bm then return #am < #bm and -1 or 1 end\n"
    "  if am ~= bm then return am < bm and -1 or 1 end\n"
    "  if #as ~= #bs then return #as < #bs and -1 or 1 end\n"
    "  if as ~= bs then return as < bs and -1 or 1 end\n"
    "  return 0\n"
    "end\n"
    "local safe\n"
    "for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do\n"
    "  local f = {}\n"
    "  for i = 1, #g, 2 do f[g[i]] = g[i + 1] end\n"
    "  local p = redis.call('XPENDING', KEYS[1], f['name'])\n"
    "  local need = p[2]\n"
    "  if p[1] == 0 then\n"
    "    local m, s = string.match(f['last-delivered-id'], '^(%d+)-(%d+)$')\n"
    "    need = #s <= 14 and (m .. '-' .. string.format('%d', tonumber(s) + 1)) or (m .. '-' .. "
    "s)\n"
    "  end\n"
    "  if not safe or cmp(need, safe) < 0 then safe = need end\n"
    "end\n"
    "if not safe then return 0 end\n"
    "return redis.call('XTRIM', KEYS[1], 'MINID', safe)\n";

static void batch_sum_acks(void *arg, size_t i, redisReply *r)
{
    if (i % 2 == 0 && r->type == REDIS_REPLY_INTEGER) /* XACK; the odd ones are the trims */
        *(unsigned long *)arg += (unsigned long)r->integer;
}

/*
 * XACK every entry, then trim the stream below the safe point (batch_trim_lua), per shard,
 * in one pipeline. Entries of one shard are adjacent in a batch (a read returns them stream
 * by stream). The trim keeps the streams short: an acknowledged click lives in PostgreSQL.
 * It replaces an XDEL per entry: one call per shard, and whole stream nodes freed at once.
 */
static int batch_ack(struct consumer *c, struct batch_part *p)
{
    const char **argv = malloc((p->n + 3) * sizeof(*argv));
    size_t ncmds = 0;
    int rc = argv ? 0 : consumer_nomem(c);
    for (size_t i = 0, j; i < p->n && rc == 0; i = j) {
        const char *key = c->keys[p->e[i].shard];
        size_t nids = 0;
        for (j = i; j < p->n && p->e[j].shard == p->e[i].shard; j++)
            argv[3 + nids++] = p->e[j].id;
        argv[0] = "XACK";
        argv[1] = key;
        argv[2] = c->cfg.group;
        rc = kv_append(c->kv, (int)(3 + nids), argv, NULL);
        const char *trim[] = {"EVAL", batch_trim_lua, "1", key};
        if (rc == 0)
            rc = kv_append(c->kv, (int)ARRAY_SIZE(trim), trim, NULL);
        if (rc)
            rc = consumer_kv_fail(c, "XACK");
        ncmds += 2;
    }
    if (rc == 0)
        rc = consumer_replies(c, ncmds, "XACK/XTRIM", NULL, batch_sum_acks, &p->acked);
    free(argv);
    return rc;
}

/* Parses every entry of the part, tagging rows and poison with their entry's index. */
static void batch_parse(struct batch_part *p)
{
    for (size_t i = 0; i < p->n; i++) {
        size_t r0 = p->out.nrows, b0 = p->out.nbad;
        struct consumer_entry *e = &p->e[i];
        p->gone += entry_parse(e->shard, e->id, e->fields, &p->out) == ENTRY_GONE;
        for (size_t k = r0; k < p->out.nrows; k++)
            p->out.rows[k].ent = i;
        for (size_t k = b0; k < p->out.nbad; k++)
            p->out.bad[k].ent = i;
    }
}

/* Adds a part that worked to the totals and to the window of the summary line. */
static void batch_count(struct consumer *c, const struct batch_part *p, int claimed, int64_t ms)
{
    struct consumer_stats *st = &c->stats;
    if (p->out.nrows)
        atomic_store(&st->db_ok, 1);
    if (p->gone)
        log_warn("%zu pending click entries were deleted before they were stored (stream "
                 "trimmed?): acknowledged",
                 p->gone);
    atomic_fetch_add(&st->batches, 1);
    atomic_fetch_add(claimed ? &st->claimed : &st->read, p->n);
    atomic_fetch_add(&st->inserted, (unsigned long)p->inserted);
    atomic_fetch_add(&st->acked, p->acked);
    atomic_fetch_add(&st->dead, p->out.nbad);
    atomic_fetch_add(&st->gone, p->gone);
    c->win.batches++;
    *(claimed ? &c->win.claimed : &c->win.read) += p->n;
    c->win.inserted += (unsigned long)p->inserted;
    c->win.acked += p->acked;
    c->win.dead += p->out.nbad;
    c->win.gone += p->gone;
    c->win.ms += ms;
    metrics_hist_observe(&st->batch_size, (double)p->n);
    metrics_hist_observe(&st->batch_seconds, (double)ms / 1000.0);
}

/* One part: entries e[0..n) with `slots` clicks at most. */
static int batch_part_run(struct consumer *c, struct consumer_entry *e, size_t n, size_t slots,
                          int claimed)
{
    int64_t t0 = timefmt_mono_ms();
    struct batch_part p = {.e = e, .n = n};
    p.out.rows = calloc(slots, sizeof(*p.out.rows));
    p.out.bad = calloc(slots, sizeof(*p.out.bad));
    int rc = p.out.rows && p.out.bad ? 0 : consumer_nomem(c);
    if (rc == 0)
        batch_parse(&p);
    size_t nrows = p.out.nrows;
    if (rc == 0 && nrows && c->cfg.derive &&
        (rc = derive_rows(c->cfg.derive, c->db, p.out.rows, nrows)))
        rc = consumer_db_fail(c, "visitor salt", rc);
    if (rc == 0 && nrows)
        rc = batch_insert(c, &p);
    if (rc == 0 && nrows && hll_add(c->kv, p.out.rows, nrows) != 0)
        rc = consumer_kv_fail(c, "PFADD");
    if (rc == 0)
        rc = batch_dead_letter(c, &p);
    if (rc == 0)
        rc = batch_ack(c, &p);
    if (rc == 0)
        batch_count(c, &p, claimed, timefmt_mono_ms() - t0);
    free(p.out.rows);
    free(p.out.bad);
    return rc;
}

int consumer_process(struct consumer *c, struct consumer_batch *b, int claimed)
{
    int rc = 0;
    for (size_t i = 0, j; i < b->n && rc == 0; i = j) {
        size_t slots = 0;
        for (j = i; j < b->n; j++) {
            size_t k = entry_clicks(b->e[j].fields);
            if (j > i && slots + k > BATCH_ROWS_MAX)
                break;
            slots += k;
        }
        rc = batch_part_run(c, b->e + i, j - i, slots ? slots : 1, claimed);
    }
    return rc;
}
