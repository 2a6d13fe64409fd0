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

#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "buf.h"
#include "db.h"

#include "banned.h"

#define SINK_PG_SQL_MAX (4u << 20) /* a full chunk of 8191 rows needs about 450 KiB */

static const char sink_pg_head[] =
    "INSERT INTO events (url_id, user_id, event_type, \"timestamp\", details, stream_id) "
    "SELECT v.url_id, (SELECT u.id FROM users u WHERE u.id = v.uid), 'click', "
    "to_timestamp(v.ts_ms / 1000.0) AT TIME ZONE 'UTC', "
    "jsonb_strip_nulls(jsonb_build_object('short_code', v.code, 'original_url', v.url, "
    "'referrer', nullif(v.ref, ''), 'user_agent', nullif(v.ua, ''))), v.sid "
    "FROM (VALUES ($1::bigint, $2::bigint, $3::bigint, $4::text, $5::text, $6::text, $7::text, "
    "$8::text)";

static const char sink_pg_tail[] =
    ") AS v (url_id, uid, ts_ms, code, url, ref, ua, sid) ON CONFLICT (stream_id) DO NOTHING";

/* Builds the statement for n rows (n >= 1) into sql. 0 or ERR_NOMEM/ERR_TOO_BIG. */
static int sink_pg_sql(struct buf *sql, size_t n)
{
    int rc = buf_puts(sql, sink_pg_head);
    for (size_t i = 1; i < n && rc == 0; i++) {
        size_t p = i * SINK_PG_NPARAMS;
        rc = buf_printf(sql, ", ($%zu, $%zu, $%zu, $%zu, $%zu, $%zu, $%zu, $%zu)", p + 1, p + 2,
                        p + 3, p + 4, p + 5, p + 6, p + 7, p + 8);
    }
    if (rc == 0)
        rc = buf_puts(sql, sink_pg_tail);
    return rc;
}

static void sink_pg_params(const struct sink_pg_row *rows, size_t n, const char **params)
{
    for (size_t i = 0; i < n; i++) {
        const char **p = params + i * SINK_PG_NPARAMS;
        p[0] = rows[i].url_id;
        p[1] = rows[i].user_id;
        p[2] = rows[i].ts_ms;
        p[3] = rows[i].code;
        p[4] = rows[i].url;
        p[5] = rows[i].ref;
        p[6] = rows[i].ua;
        p[7] = rows[i].stream_id;
    }
}

/* Runs one INSERT of rows[0..n) and adds the rows it inserted to *inserted. */
static int sink_pg_chunk(struct db *db, const struct sink_pg_row *rows, size_t n,
                         const char **params, long *inserted)
{
    struct buf sql;
    struct pg_result *res = NULL;
    buf_init(&sql, SINK_PG_SQL_MAX);
    int rc = sink_pg_sql(&sql, n);
    if (rc)
        goto out;
    sink_pg_params(rows, n, params);
    rc = db_exec(db, NULL, buf_cstr(&sql), (int)(n * SINK_PG_NPARAMS), params, &res);
    if (rc == 0)
        *inserted += strtol(PQcmdTuples(res), NULL, 10);
out:
    if (res)
        PQclear(res);
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
