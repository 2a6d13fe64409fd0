/*
 * sink_pg.c - a batch of clicks into PostgreSQL with COPY (see sink_pg.h).
 *
 * First the rows' texts become dictionary ids (clickdict.c, autocommitted) and the worker
 * sums the part's rollup rows (rollup.c). Then one transaction, the fast path: COPY the
 * rows (text format) into the session's temporary table click_stage; one INSERT ... SELECT
 * FROM click_stage ... ON CONFLICT DO NOTHING; when it inserted every row (the usual case),
 * COPY the sums into click_agg and upsert them into the rollups in one statement; COMMIT
 * (ON COMMIT DELETE ROWS empties both stages). When some rows were already stored (a replay
 * after a crash between COMMIT and XACK, a claimed entry), the sums would count them again:
 * the transaction is rolled back and the part goes through the exact path instead, one
 * INSERT ... RETURNING whose result alone feeds the rollups, grouped by PostgreSQL, as
 * before the sums existed (docs/BENCHMARKS.md has both measured). Statements are sent
 * unnamed, so they are planned with the stages' real sizes each time. The stages are
 * created once per connection (db_serial tells a new one); a transaction that failed may
 * have taken their creation with it, so the serial is only recorded after a COMMIT.
 */
#include "sink_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "buf.h"
#include "clickdict.h"
#include "db.h"
#include "rollup.h"

#include "banned.h"

#define SINK_PG_COPY_FLUSH (1u << 20)  /* COPY data is handed to libpq in pieces of this size */
#define SINK_PG_COPY_MAX   (16u << 20) /* one row beyond the flush size must fit: else poison */
#define SINK_PG_WORK_MEM   "64MB"      /* for the merge's sorts of one part (batch.c) */
#define SINK_PG_CHUNK      32768       /* rows per statement: each stays well within its timeout */

/* The stage: the columns of a row (sink_pg_row) in COPY order. */
static const char sink_pg_stage_sql[] =
    "CREATE TEMP TABLE IF NOT EXISTS click_stage (n integer, url_id bigint, uid bigint, "
    "ts_ms bigint, "
    "ms bigint, seq integer, shard smallint, idx smallint, link integer, agent integer, "
    "ref integer, country text, visitor bytea, rhost text, browser text, os text, device text, "
    "bot boolean) ON COMMIT DELETE ROWS";

/* The sums: the columns of a rollup_row in COPY order. */
static const char sink_pg_agg_sql[] =
    "CREATE TEMP TABLE IF NOT EXISTS click_agg (n integer, grain \"char\", url_id bigint, "
    "dim \"char\", "
    "bucket bigint, name text, clicks bigint, human bigint, bot bigint) ON COMMIT DELETE ROWS";

/* The fast path's insert of the stage's rows n in [$1, $2): its command tag tells whether
 * every row was new. */
static const char sink_pg_insert_sql[] =
    "INSERT INTO events (url_id, user_id, event_type, \"timestamp\", stream_ms, stream_seq, "
    "stream_shard, stream_idx, link_id, agent_id, referrer_id, country, visitor) "
    "SELECT v.url_id, (SELECT u.id FROM users u WHERE u.id = v.uid), 'click', "
    "to_timestamp(v.ts_ms / 1000.0) AT TIME ZONE 'UTC', v.ms, v.seq, v.shard, v.idx, v.link, "
    "v.agent, v.ref, v.country, v.visitor FROM click_stage v "
    "WHERE v.n >= $1::integer AND v.n < $2::integer "
    "ON CONFLICT (stream_ms, stream_seq, stream_shard, stream_idx) DO NOTHING";

/*
 * The fast path's rollups: the sums of click_agg numbered n in [$1, $2), each row once (a part
 * with many links has up to 11 sums per click: they go in several statements). No ORDER BY: a scan
 * of the temporary table returns the rows in the order they were copied, rollup.c's key order. A
 * bucket is a whole number of hours in ms, so bucket / 1000 is exact; the latest click's time is
 * computed as the events' own.
 */
static const char sink_pg_sums_sql[] =
    "WITH tot AS (INSERT INTO url_totals AS t (url_id, clicks, human_clicks, bot_clicks, "
    "last_click) SELECT url_id, clicks, human, bot, "
    "to_timestamp(bucket / 1000.0) AT TIME ZONE 'UTC' FROM click_agg WHERE grain = 't' "
    "AND n >= $1::integer AND n < $2::integer "
    "ON CONFLICT (url_id) DO UPDATE SET clicks = t.clicks + excluded.clicks, "
    "human_clicks = t.human_clicks + excluded.human_clicks, "
    "bot_clicks = t.bot_clicks + excluded.bot_clicks, "
    "last_click = greatest(t.last_click, excluded.last_click)), "
    "hr AS (INSERT INTO url_stats_hour AS s (url_id, dim, hour, name, clicks) "
    "SELECT url_id, dim, to_timestamp(bucket / 1000) AT TIME ZONE 'UTC', name, clicks "
    "FROM click_agg WHERE grain = 'h' AND n >= $1::integer AND n < $2::integer "
    "ON CONFLICT (url_id, dim, hour, name) DO UPDATE SET clicks = s.clicks + excluded.clicks) "
    "INSERT INTO url_stats_day AS s (url_id, dim, day, name, clicks) "
    "SELECT url_id, dim, (to_timestamp(bucket / 1000) AT TIME ZONE 'UTC')::date, name, clicks "
    "FROM click_agg WHERE grain = 'd' AND n >= $1::integer AND n < $2::integer "
    "ON CONFLICT (url_id, dim, day, name) DO UPDATE SET clicks = s.clicks + excluded.clicks";

/* The connection (handle and serial) on which the stage is known to exist. Used by the one
 * consumer thread of a worker; thread-local all the same. */
static _Thread_local const struct db *sink_pg_stage_db;
static _Thread_local unsigned long sink_pg_stage_serial;

/*
 * The exact path's merge. v is the stage; ins the rows actually inserted (a replayed click hits
 * ON CONFLICT and is not returned); d joins them back to their derived fields; the rollups
 * add d alone, grouped, in key order with names in byte order, rollup.c's order (two workers
 * lock the same rollup rows in the same order: no deadlock). Every data-modifying CTE runs once, to
 * completion, whether or not it is read. Dimensions (url_stats_hour.dim): k = kind (human/bot), r =
 * referrer host, b = browser, o = OS, d = device class, c = country.
 */
static const char sink_pg_merge_sql[] =
    "WITH ins AS (INSERT INTO events (url_id, user_id, event_type, \"timestamp\", "
    "stream_ms, stream_seq, stream_shard, stream_idx, link_id, agent_id, referrer_id, country, "
    "visitor) SELECT v.url_id, (SELECT u.id FROM users u WHERE u.id = v.uid), 'click', "
    "to_timestamp(v.ts_ms / 1000.0) AT TIME ZONE 'UTC', v.ms, v.seq, v.shard, v.idx, v.link, "
    "v.agent, v.ref, v.country, v.visitor FROM click_stage v "
    "ON CONFLICT (stream_ms, stream_seq, stream_shard, stream_idx) DO NOTHING "
    "RETURNING stream_ms, stream_seq, stream_shard, stream_idx, url_id, \"timestamp\"), "
    "d AS (SELECT i.url_id, i.\"timestamp\" AS ts, v.bot, v.rhost, v.browser, v.os, v.device, "
    "v.country FROM ins i JOIN click_stage v ON v.ms = i.stream_ms AND v.seq = i.stream_seq "
    "AND v.shard = i.stream_shard AND v.idx = i.stream_idx), "
    "tot AS (INSERT INTO url_totals AS t (url_id, clicks, human_clicks, bot_clicks, last_click) "
    "SELECT url_id, count(*), count(*) FILTER (WHERE NOT bot), count(*) FILTER (WHERE bot), "
    "max(ts) FROM d GROUP BY url_id ORDER BY url_id "
    "ON CONFLICT (url_id) DO UPDATE SET clicks = t.clicks + excluded.clicks, "
    "human_clicks = t.human_clicks + excluded.human_clicks, "
    "bot_clicks = t.bot_clicks + excluded.bot_clicks, "
    "last_click = greatest(t.last_click, excluded.last_click)), "
    "x AS (SELECT d.url_id, date_trunc('hour', d.ts) AS h, x.dim, x.name FROM d "
    "CROSS JOIN LATERAL (VALUES ('k', CASE WHEN d.bot THEN 'bot' ELSE 'human' END), "
    "('r', d.rhost), ('b', d.browser), ('o', d.os), ('d', d.device), ('c', d.country)) "
    "AS x (dim, name) WHERE x.name IS NOT NULL), "
    "hr AS (INSERT INTO url_stats_hour AS s (url_id, dim, hour, name, clicks) "
    "SELECT url_id, dim, h, name, count(*) FROM x GROUP BY 1, 2, 3, 4 "
    "ORDER BY 1, 2, 3, name COLLATE \"C\" "
    "ON CONFLICT (url_id, dim, hour, name) DO UPDATE SET clicks = s.clicks + excluded.clicks), "
    "dy AS (INSERT INTO url_stats_day AS s (url_id, dim, day, name, clicks) "
    "SELECT url_id, dim, h::date, name, count(*) FROM x GROUP BY 1, 2, 3, 4 "
    "ORDER BY 1, 2, 3, name COLLATE \"C\" "
    "ON CONFLICT (url_id, dim, day, name) DO UPDATE SET clicks = s.clicks + excluded.clicks) "
    "SELECT count(*) FROM d";

/* "" is NULL for the optional derived texts. */
static const char *sink_pg_opt(const char *s)
{
    return s && s[0] ? s : NULL;
}

/* Appends s as a COPY text field: NULL as \N, backslash, tab, newline and CR escaped. */
static int sink_pg_field(struct buf *b, const char *s, int last)
{
    int rc = 0;
    if (!s)
        rc = buf_append(b, "\\N", 2);
    while (s && *s && rc == 0) {
        size_t run = strcspn(s, "\\\t\n\r");
        if (run)
            rc = buf_append(b, s, run);
        s += run;
        if (*s && rc == 0) {
            char esc[2] = {'\\', *s == '\t' ? 't' : *s == '\n' ? 'n' : *s == '\r' ? 'r' : '\\'};
            rc = buf_append(b, esc, 2);
            s++;
        }
    }
    return rc ? rc : buf_putc(b, last ? '\n' : '\t');
}

/* Appends row number i as a COPY line, in the stage's column order. */
static int sink_pg_line(struct buf *b, size_t i, const struct sink_pg_row *r)
{
    char key[8][24], visitor[40];
    snprintf(key[0], sizeof(key[0]), "%llu", (unsigned long long)r->ms);
    snprintf(key[1], sizeof(key[1]), "%llu", (unsigned long long)r->seq);
    snprintf(key[2], sizeof(key[2]), "%u", r->shard);
    snprintf(key[3], sizeof(key[3]), "%u", r->idx);
    snprintf(key[4], sizeof(key[4]), "%d", (int)r->link_id);
    snprintf(key[5], sizeof(key[5]), "%d", (int)r->agent_id);
    snprintf(key[6], sizeof(key[6]), "%d", (int)r->ref_id);
    snprintf(key[7], sizeof(key[7]), "%zu", i);
    snprintf(visitor, sizeof(visitor), "\\x%s", r->visitor); /* bytea's hex input */
    const char *f[] = {key[7],
                       r->url_id,
                       r->user_id,
                       r->ts_ms,
                       key[0],
                       key[1],
                       key[2],
                       key[3],
                       r->link_id ? key[4] : NULL,
                       r->agent_id ? key[5] : NULL,
                       r->ref_id ? key[6] : NULL,
                       sink_pg_opt(r->country),
                       r->visitor[0] ? visitor : NULL,
                       sink_pg_opt(r->refhost),
                       sink_pg_opt(r->browser),
                       sink_pg_opt(r->os),
                       r->device,
                       r->device ? (r->bot ? "t" : "f") : NULL};
    int rc = 0;
    for (size_t j = 0; j < ARRAY_SIZE(f) && rc == 0; j++)
        rc = sink_pg_field(b, f[j], j + 1 == ARRAY_SIZE(f));
    return rc;
}

/* Appends sum number i as a COPY line, in click_agg's column order. */
static int sink_pg_agg_line(struct buf *b, size_t i, const struct rollup_row *r)
{
    char g[2] = {r->grain, 0}, dim[2] = {r->dim, 0}, num[6][24];
    snprintf(num[0], sizeof(num[0]), "%lld", (long long)r->url_id);
    snprintf(num[1], sizeof(num[1]), "%lld", (long long)r->bucket);
    snprintf(num[2], sizeof(num[2]), "%lld", (long long)r->clicks);
    snprintf(num[3], sizeof(num[3]), "%lld", (long long)r->human);
    snprintf(num[4], sizeof(num[4]), "%lld", (long long)r->bot);
    snprintf(num[5], sizeof(num[5]), "%zu", i);
    const char *f[] = {num[5], g,      num[0], r->dim ? dim : NULL, num[1], r->name,
                       num[2], num[3], num[4]};
    int rc = 0;
    for (size_t j = 0; j < ARRAY_SIZE(f) && rc == 0; j++)
        rc = sink_pg_field(b, f[j], j + 1 == ARRAY_SIZE(f));
    return rc;
}

/* COPYs rows[0..n) (or the sums agg) into its stage, handing the data over every
 * SINK_PG_COPY_FLUSH bytes. */
static int sink_pg_copy(struct db *db, const struct sink_pg_row *rows, size_t n,
                        const struct rollup *agg)
{
    struct buf b;
    int rc = db_copy_begin(db, agg ? "COPY click_agg FROM STDIN" : "COPY click_stage FROM STDIN");
    if (rc)
        return rc;
    buf_init(&b, SINK_PG_COPY_MAX);
    n = agg ? agg->n : n;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = agg ? sink_pg_agg_line(&b, i, &agg->rows[i]) : sink_pg_line(&b, i, &rows[i]);
        if (rc == 0 && (b.len >= SINK_PG_COPY_FLUSH || i + 1 == n)) {
            rc = db_copy_put(db, buf_cstr(&b), b.len);
            buf_reset(&b);
        }
    }
    rc = db_copy_end(db, rc);
    buf_release(&b);
    return rc;
}

/* Creates the stages on a connection that does not have them yet. */
static int sink_pg_stage(struct db *db)
{
    if (sink_pg_stage_db == db && sink_pg_stage_serial == db_serial(db))
        return 0;
    int rc = db_exec(db, NULL, sink_pg_stage_sql, 0, NULL, NULL);
    return rc ? rc : db_exec(db, NULL, sink_pg_agg_sql, 0, NULL, NULL);
}

/* The exact path's merge of the stage; adds the rows it inserted to *inserted. */
static int sink_pg_merge(struct db *db, long *inserted)
{
    struct pg_result *res = NULL;
    int rc = db_exec(db, NULL, sink_pg_merge_sql, 0, NULL, &res);
    if (rc == 0 && PQntuples(res) == 1)
        *inserted += strtol(PQgetvalue(res, 0, 0), NULL, 10);
    if (res)
        PQclear(res);
    return rc;
}

/* Runs sql for the numbers [lo, lo + SINK_PG_CHUNK) in turn up to n; adds the rows each
 * command reports to *count (may be NULL). */
static int sink_pg_chunks(struct db *db, const char *sql, size_t n, long *count)
{
    int rc = 0;
    for (size_t lo = 0; lo < n && rc == 0; lo += SINK_PG_CHUNK) {
        struct pg_result *res = NULL;
        char a[24], b[24];
        snprintf(a, sizeof(a), "%zu", lo);
        snprintf(b, sizeof(b), "%zu", lo + SINK_PG_CHUNK);
        const char *params[] = {a, b};
        rc = db_exec(db, NULL, sql, 2, params, &res);
        if (rc == 0 && count)
            *count += strtol(PQcmdTuples(res), NULL, 10);
        if (res)
            PQclear(res);
    }
    return rc;
}

/*
 * The fast path after the stage's COPY: the insert, then the sums when every row was new.
 * Returns 0, SINK_PG_REPLAYED (some rows were already stored: nothing may be summed), or an
 * error.
 */
#define SINK_PG_REPLAYED 1
static int sink_pg_fast(struct db *db, size_t n, const struct rollup *agg, long *inserted)
{
    long k = 0;
    int rc = sink_pg_chunks(db, sink_pg_insert_sql, n, &k);
    if (rc)
        return rc;
    if (k != (long)n)
        return SINK_PG_REPLAYED;
    *inserted = k;
    rc = sink_pg_copy(db, NULL, 0, agg);
    return rc ? rc : sink_pg_chunks(db, sink_pg_sums_sql, agg->n, NULL);
}

/* 1 when the failure is about the rows themselves, so that retrying them cannot help. */
static int sink_pg_data_error(const struct db *db, int rc)
{
    const char *state = db_sqlstate(db);
    if (rc == ERR_CONFLICT || rc == ERR_NOT_FOUND || rc == ERR_TOO_BIG || rc == ERR_INVALID)
        return 1;
    return rc == ERR_DB && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0 ||
                            strncmp(state, "54", 2) == 0);
}

/* One transaction: the fast path with agg, or the exact path without. */
static int sink_pg_tx(struct db *db, const struct sink_pg_row *rows, size_t n,
                      const struct rollup *agg, long *inserted)
{
    *inserted = 0;
    int rc = db_begin(db);
    /* SET LOCAL of both in one round trip: the merge sorts and groups the whole part (keep
     * it in memory), and compiling the statements costs more than it saves on one part */
    if (rc == 0)
        rc = db_exec(db, NULL,
                     "SELECT set_config('work_mem', '" SINK_PG_WORK_MEM "', true),"
                     " set_config('jit', 'off', true)",
                     0, NULL, NULL);
    if (rc == 0)
        rc = sink_pg_stage(db);
    if (rc == 0)
        rc = sink_pg_copy(db, rows, n, NULL);
    if (rc == 0)
        rc = agg ? sink_pg_fast(db, n, agg, inserted) : sink_pg_merge(db, inserted);
    if (rc == 0)
        rc = db_commit(db);
    if (rc == 0) {
        sink_pg_stage_db = db;
        sink_pg_stage_serial = db_serial(db);
        return 0;
    }
    if (rc != SINK_PG_REPLAYED && sink_pg_data_error(db, rc))
        rc = ERR_INVALID;
    db_rollback(db);
    *inserted = 0;
    return rc;
}

int sink_pg_write(struct db *db, struct clickdict *cd, struct sink_pg_row *rows, size_t n,
                  long *inserted)
{
    struct rollup agg;
    *inserted = 0;
    if (n == 0)
        return 0;
    int rc = clickdict_resolve(cd, db, rows, n);
    if (rc)
        return sink_pg_data_error(db, rc) ? ERR_INVALID : rc;
    rc = rollup_build(rows, n, &agg);
    if (rc)
        return rc;
    rc = sink_pg_tx(db, rows, n, &agg, inserted);
    rollup_release(&agg);
    if (rc != SINK_PG_REPLAYED)
        return rc;
    /* Some were stored already: the exact path counts only the others, a chunk per
     * transaction (a failure leaves the earlier chunks committed, counted in *inserted: a retry
     * finds them stored and counts them no more). */
    rc = 0;
    for (size_t lo = 0; lo < n && rc == 0; lo += SINK_PG_CHUNK) {
        long k = 0;
        rc = sink_pg_tx(db, rows + lo, n - lo < SINK_PG_CHUNK ? n - lo : SINK_PG_CHUNK, NULL, &k);
        *inserted += k;
    }
    return rc;
}
