/*
 * sink_pg.c - the batched INSERT of clicks (see sink_pg.h).
 *
 * The statement text depends on the number of rows, so it is sent unnamed
 * (parsed on every call) rather than prepared: preparing one statement per
 * batch size would fill the handle's table of prepared statements, and the
 * parse is small next to the insert of thousands of rows. Only the first
 * VALUES row carries casts; PostgreSQL gives the parameters of the other rows
 * the column types it resolved from the first one.
 */
#include "sink_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "buf.h"
#include "db.h"

#include "banned.h"

#define SINK_PG_SQL_MAX (4u << 20) /* a full chunk of 4369 rows needs about 500 KiB */

/*
 * One statement per chunk. v is the batch; ins the rows actually inserted (a
 * replayed entry hits ON CONFLICT and is not returned); d joins them back to
 * their derived fields; the rollups add d alone, grouped, in key order (two
 * workers lock the same rollup rows in the same order: no deadlock). Every
 * data-modifying CTE runs once, to completion, whether or not it is read.
 * Dimensions (url_stats_hour.dim): k = kind (human/bot), r = referrer host,
 * b = browser, o = OS, d = device class, c = country.
 */
static const char sink_pg_head[] =
    "WITH v (url_id, uid, ts_ms, code, url, ref, ua, ms, seq, shard, idx, rhost, browser, os, "
    "device, bot, "
    "country, visitor) AS (VALUES ($1::bigint, $2::bigint, $3::bigint, $4::text, $5::text, "
    "$6::text, $7::text, $8::bigint, $9::integer, $10::smallint, $11::smallint, $12::text, "
    "$13::text, $14::text, $15::text, $16::boolean, $17::text, $18::text)";

static const char sink_pg_tail[] =
    "), ins AS (INSERT INTO events (url_id, user_id, event_type, \"timestamp\", details, "
    "stream_ms, stream_seq, stream_shard, stream_idx) "
    "SELECT v.url_id, (SELECT u.id FROM users u WHERE u.id = v.uid), 'click', "
    "to_timestamp(v.ts_ms / 1000.0) AT TIME ZONE 'UTC', "
    "jsonb_strip_nulls(jsonb_build_object('short_code', v.code, 'original_url', v.url, "
    "'referrer', nullif(v.ref, ''), 'user_agent', nullif(v.ua, ''), 'referrer_host', v.rhost, "
    "'browser', v.browser, 'os', v.os, 'device', v.device, 'bot', v.bot, 'country', v.country, "
    "'visitor', v.visitor)), v.ms, v.seq, v.shard, v.idx FROM v "
    "ON CONFLICT (stream_ms, stream_seq, stream_shard, stream_idx) DO NOTHING "
    "RETURNING stream_ms, stream_seq, stream_shard, stream_idx, url_id, \"timestamp\"), "
    "d AS (SELECT i.url_id, i.\"timestamp\" AS ts, v.bot, v.rhost, v.browser, v.os, v.device, "
    "v.country FROM ins i JOIN v ON v.ms = i.stream_ms AND v.seq = i.stream_seq "
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
    "SELECT url_id, dim, h, name, count(*) FROM x GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4 "
    "ON CONFLICT (url_id, dim, hour, name) DO UPDATE SET clicks = s.clicks + excluded.clicks), "
    "dy AS (INSERT INTO url_stats_day AS s (url_id, dim, day, name, clicks) "
    "SELECT url_id, dim, h::date, name, count(*) FROM x GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4 "
    "ON CONFLICT (url_id, dim, day, name) DO UPDATE SET clicks = s.clicks + excluded.clicks) "
    "SELECT count(*) FROM d";

/* Builds the statement for n rows (n >= 1) into sql. 0 or ERR_NOMEM/ERR_TOO_BIG. */
static int sink_pg_sql(struct buf *sql, size_t n)
{
    int rc = buf_puts(sql, sink_pg_head);
    for (size_t i = 1; i < n && rc == 0; i++) {
        rc = buf_puts(sql, ", (");
        for (size_t j = 1; j <= SINK_PG_NPARAMS && rc == 0; j++)
            rc = buf_printf(sql, j == 1 ? "$%zu" : ", $%zu", i * SINK_PG_NPARAMS + j);
        if (rc == 0)
            rc = buf_puts(sql, ")");
    }
    if (rc == 0)
        rc = buf_puts(sql, sink_pg_tail);
    return rc;
}

/* "" is NULL for the optional derived texts. */
static const char *sink_pg_opt(const char *s)
{
    return s && s[0] ? s : NULL;
}

static void sink_pg_params(const struct sink_pg_row *rows, size_t n, const char **params,
                           char (*keys)[SINK_PG_NKEY][24])
{
    for (size_t i = 0; i < n; i++) {
        const char **p = params + i * SINK_PG_NPARAMS;
        const struct sink_pg_row *r = &rows[i];
        p[0] = r->url_id;
        p[1] = r->user_id;
        p[2] = r->ts_ms;
        p[3] = r->code;
        p[4] = r->url;
        p[5] = r->ref;
        p[6] = r->ua;
        snprintf(keys[i][0], sizeof(keys[i][0]), "%llu", (unsigned long long)r->ms);
        snprintf(keys[i][1], sizeof(keys[i][1]), "%llu", (unsigned long long)r->seq);
        snprintf(keys[i][2], sizeof(keys[i][2]), "%u", r->shard);
        snprintf(keys[i][3], sizeof(keys[i][3]), "%u", r->idx);
        for (size_t k = 0; k < SINK_PG_NKEY; k++)
            p[7 + k] = keys[i][k];
        p[11] = sink_pg_opt(r->refhost);
        p[12] = sink_pg_opt(r->browser);
        p[13] = sink_pg_opt(r->os);
        p[14] = r->device;
        p[15] = r->device ? (r->bot ? "true" : "false") : NULL;
        p[16] = sink_pg_opt(r->country);
        p[17] = sink_pg_opt(r->visitor);
    }
}

/* Runs one INSERT of rows[0..n) and adds the rows it inserted to *inserted. */
static int sink_pg_chunk(struct db *db, const struct sink_pg_row *rows, size_t n,
                         const char **params, long *inserted)
{
    struct buf sql;
    struct pg_result *res = NULL;
    char(*keys)[SINK_PG_NKEY][24] = calloc(n, sizeof(*keys));
    buf_init(&sql, SINK_PG_SQL_MAX);
    int rc = keys ? sink_pg_sql(&sql, n) : ERR_NOMEM;
    if (rc)
        goto out;
    sink_pg_params(rows, n, params, keys);
    rc = db_exec(db, NULL, buf_cstr(&sql), (int)(n * SINK_PG_NPARAMS), params, &res);
    if (rc == 0 && PQntuples(res) == 1)
        *inserted += strtol(PQgetvalue(res, 0, 0), NULL, 10);
out:
    if (res)
        PQclear(res);
    free(keys);
    buf_release(&sql);
    return rc;
}

/* 1 when the failure is about the rows themselves, so that retrying them cannot help. */
static int sink_pg_data_error(const struct db *db, int rc)
{
    const char *state = db_sqlstate(db);
    if (rc == ERR_CONFLICT || rc == ERR_NOT_FOUND)
        return 1;
    return rc == ERR_DB && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0 ||
                            strncmp(state, "54", 2) == 0);
}

int sink_pg_write(struct db *db, const struct sink_pg_row *rows, size_t n, long *inserted)
{
    *inserted = 0;
    if (n == 0)
        return 0;
    size_t chunk = n < SINK_PG_MAX_ROWS ? n : SINK_PG_MAX_ROWS;
    const char **params = calloc(chunk * SINK_PG_NPARAMS, sizeof(*params));
    if (!params)
        return ERR_NOMEM;
    int rc = db_begin(db);
    for (size_t off = 0; rc == 0 && off < n; off += chunk) {
        size_t m = n - off < chunk ? n - off : chunk;
        rc = sink_pg_chunk(db, rows + off, m, params, inserted);
    }
    if (rc == 0)
        rc = db_commit(db);
    if (rc) {
        if (sink_pg_data_error(db, rc))
            rc = ERR_INVALID;
        db_rollback(db);
        *inserted = 0;
    }
    free(params);
    return rc;
}
