/*
 * store_urls.c - SQL for the urls table.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"
#include "store.h"

#include "banned.h"

#define URL_JSON                                                                                   \
    "json_build_object('id', id, 'user_id', user_id, 'short_code', short_code,"                    \
    " 'original_url', original_url, 'title', title, 'is_active', is_active,"                       \
    " 'created_at', to_char(created_at, 'YYYY-MM-DD\"T\"HH24:MI:SS'),"                             \
    " 'updated_at', to_char(updated_at, 'YYYY-MM-DD\"T\"HH24:MI:SS'),"                             \
    " 'redirect_type', redirect_type,"                                                             \
    " 'expires_at', to_char(expires_at, 'YYYY-MM-DD\"T\"HH24:MI:SS'), 'max_clicks', max_clicks,"   \
    " 'clicks', coalesce((SELECT t.clicks FROM url_totals t WHERE t.url_id = id), 0))"

/* The columns store_url_from_row() reads, in order. */
#define URL_COLS                                                                                   \
    "id, coalesce(user_id, 0), short_code, original_url, title, is_active, redirect_type,"         \
    " coalesce(extract(epoch FROM expires_at)::bigint, -1), coalesce(max_clicks, 0),"              \
    " coalesce((SELECT t.clicks FROM url_totals t WHERE t.url_id = urls.id), 0)"

void store_url_release(struct store_url *u)
{
    free(u->short_code);
    free(u->original_url);
    free(u->title);
    memset(u, 0, sizeof(*u));
}

/* Fills *u from row `row` of a result selected with URL_COLS. */
static int store_url_from_row(PGresult *res, int row, struct store_url *u)
{
    memset(u, 0, sizeof(*u));
    u->id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
    u->user_id = strtoll(PQgetvalue(res, row, 1), NULL, 10);
    u->short_code = strdup(PQgetvalue(res, row, 2));
    u->original_url = strdup(PQgetvalue(res, row, 3));
    u->title = PQgetisnull(res, row, 4) ? NULL : strdup(PQgetvalue(res, row, 4));
    u->is_active = PQgetvalue(res, row, 5)[0] == 't';
    u->redirect_type = (int)strtol(PQgetvalue(res, row, 6), NULL, 10);
    u->expires_at = strtoll(PQgetvalue(res, row, 7), NULL, 10);
    u->max_clicks = strtol(PQgetvalue(res, row, 8), NULL, 10);
    u->clicks = strtoll(PQgetvalue(res, row, 9), NULL, 10);
    if (!u->short_code || !u->original_url || (!u->title && !PQgetisnull(res, row, 4))) {
        store_url_release(u);
        return ERR_NOMEM;
    }
    return 0;
}

int store_urls_get(struct db *db, long long id, char **json)
{
    char idb[24];
    const char *params[] = {store_fmt_id(idb, id)};
    return store_query_json(db, "urls_get",
                            "SELECT " URL_JSON "::text FROM urls WHERE id = $1::bigint", 1, params,
                            json);
}

int store_urls_list(struct db *db, const struct store_page *pg, long long user_id, int is_active,
                    char **json)
{
    char uid[24], lim[24], off[24];
    const char *params[] = {
        user_id ? store_fmt_id(uid, user_id) : NULL,
        is_active < 0 ? NULL : (is_active ? "true" : "false"),
        NULL,
        NULL,
    };
    store_page_params(pg, lim, off, &params[2], &params[3]);
    return store_query_json(db, "urls_list",
                            "SELECT coalesce(json_agg(j ORDER BY id), '[]')::text FROM ("
                            " SELECT id, " URL_JSON " AS j FROM urls"
                            " WHERE ($1::bigint IS NULL OR user_id = $1::bigint)"
                            " AND ($2::boolean IS NULL OR is_active = $2::boolean)"
                            " ORDER BY id LIMIT $3::bigint OFFSET $4::bigint) s",
                            4, params, json);
}

/* The option columns of *u as text parameters (buffers of 24 bytes each). */
static void store_urls_option_params(const struct store_url *u, char rt[24], char exp[24],
                                     char max[24], const char **params)
{
    params[0] = store_fmt_id(rt, u->redirect_type);
    params[1] = u->expires_at >= 0 ? store_fmt_id(exp, u->expires_at) : NULL;
    params[2] = u->max_clicks > 0 ? store_fmt_id(max, u->max_clicks) : NULL;
}

int store_urls_insert(struct db *db, const struct store_url *u, long long *id, char **json)
{
    char uid[24], lock[24], rt[24], exp[24], max[24];
    const char *params[9] = {u->user_id ? store_fmt_id(uid, u->user_id) : NULL,
                             u->short_code,
                             u->original_url,
                             u->title,
                             u->is_active ? "true" : "false",
                             store_fmt_id(lock, STORE_READMODEL_LOCK)};
    store_urls_option_params(u, rt, exp, max, params + 6);
    PGresult *res = NULL;
    /*
     * One round trip: the shared read-model lock (everything reads from "l", so it
     * is taken first), the owner check, the row and its 'created' event. Always
     * one row: ok = false when the owner does not exist (nothing inserted, no id
     * drawn), a NULL id when the code is taken. The foreign key still guards a
     * concurrent delete of the owner (23503, ERR_NOT_FOUND).
     */
    int rc = db_exec(db, "urls_insert",
                     "WITH l AS (SELECT pg_advisory_xact_lock_shared($6::bigint)),"
                     " o AS (SELECT ($1::bigint IS NULL OR EXISTS (SELECT 1 FROM users"
                     " WHERE id = $1::bigint)) AS ok FROM l),"
                     " u AS (INSERT INTO urls (user_id, short_code, original_url, title,"
                     " is_active, redirect_type, expires_at, max_clicks) SELECT $1::bigint, $2,"
                     " $3, $4, $5::boolean, $7::smallint,"
                     " to_timestamp($8::bigint) AT TIME ZONE 'UTC', $9::integer FROM o WHERE ok"
                     " ON CONFLICT (short_code) DO NOTHING RETURNING *),"
                     " e AS (INSERT INTO events (url_id, user_id, event_type, \"timestamp\","
                     " api_details) SELECT id, user_id, 'created', created_at,"
                     " jsonb_build_object('short_code', short_code, 'original_url',"
                     " original_url) FROM u)"
                     " SELECT o.ok, u.id, CASE WHEN u.id IS NULL THEN NULL ELSE " URL_JSON
                     "::text END FROM o LEFT JOIN u ON true",
                     9, params, (struct pg_result **)&res);
    if (rc)
        return rc;
    if (PQntuples(res) != 1 || PQgetvalue(res, 0, 0)[0] != 't') {
        rc = ERR_NOT_FOUND; /* no such owner */
        goto out;
    }
    if (PQgetisnull(res, 0, 1)) {
        rc = ERR_CONFLICT; /* the code is taken */
        goto out;
    }
    *id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    *json = strdup(PQgetvalue(res, 0, 2));
    if (!*json)
        rc = ERR_NOMEM;
out:
    PQclear(res);
    return rc;
}

int store_urls_lock(struct db *db, long long id, struct store_url *out)
{
    char idb[24];
    const char *params[] = {store_fmt_id(idb, id)};
    PGresult *res = NULL;
    int rc =
        db_exec(db, "urls_lock", "SELECT " URL_COLS " FROM urls WHERE id = $1::bigint FOR UPDATE",
                1, params, (struct pg_result **)&res);
    if (rc)
        return rc;
    rc = PQntuples(res) < 1 ? ERR_NOT_FOUND : store_url_from_row(res, 0, out);
    PQclear(res);
    return rc;
}

int store_urls_update(struct db *db, const struct store_url *u, char **json)
{
    char idb[24], rt[24], exp[24], max[24];
    const char *params[8] = {store_fmt_id(idb, u->id), u->original_url, u->title,
                             u->is_active ? "true" : "false", u->short_code};
    store_urls_option_params(u, rt, exp, max, params + 5);
    return store_query_json(
        db, "urls_update",
        "UPDATE urls SET original_url = $2, title = $3,"
        " is_active = $4::boolean, short_code = $5, redirect_type = $6::smallint,"
        " expires_at = to_timestamp($7::bigint) AT TIME ZONE 'UTC',"
        " max_clicks = $8::integer, updated_at = now() AT TIME ZONE 'UTC'"
        " WHERE id = $1::bigint RETURNING " URL_JSON "::text",
        8, params, json);
}

int store_urls_delete(struct db *db, long long id)
{
    char idb[24];
    const char *params[] = {store_fmt_id(idb, id)};
    return db_exec(db, "urls_delete", "DELETE FROM urls WHERE id = $1::bigint", 1, params, NULL);
}

/* Calls fn on every row of res (URL_COLS); stops at the first non-zero return. */
static int store_urls_each_row(PGresult *res, int (*fn)(void *arg, const struct store_url *u),
                               void *arg)
{
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
        struct store_url u;
        rc = store_url_from_row(res, i, &u);
        if (rc == 0)
            rc = fn(arg, &u);
        store_url_release(&u);
    }
    return rc;
}

int store_urls_each_active_of_user(struct db *db, long long user_id,
                                   int (*fn)(void *arg, const struct store_url *u), void *arg)
{
    char idb[24];
    const char *params[] = {store_fmt_id(idb, user_id)};
    PGresult *res = NULL;
    int rc = db_exec(db, "urls_active_of_user",
                     "SELECT " URL_COLS " FROM urls WHERE user_id = $1::bigint AND is_active"
                     " ORDER BY id FOR UPDATE",
                     1, params, (struct pg_result **)&res);
    if (rc)
        return rc;
    rc = store_urls_each_row(res, fn, arg);
    PQclear(res);
    return rc;
}

int store_urls_each_active(struct db *db, long long after, int limit,
                           int (*fn)(void *arg, const struct store_url *u), void *arg,
                           long long *last_id, int *count)
{
    char a[24], l[24];
    const char *params[] = {store_fmt_id(a, after), store_fmt_id(l, limit)};
    PGresult *res = NULL;
    int rc = db_exec(db, "urls_active_page",
                     "SELECT " URL_COLS " FROM urls WHERE is_active AND id > $1::bigint"
                     " ORDER BY id LIMIT $2::bigint",
                     2, params, (struct pg_result **)&res);
    if (rc)
        return rc;
    *count = PQntuples(res);
    if (*count > 0)
        *last_id = strtoll(PQgetvalue(res, *count - 1, 0), NULL, 10);
    rc = store_urls_each_row(res, fn, arg);
    PQclear(res);
    return rc;
}

int store_urls_clicks(struct db *db, long long id, long long *clicks)
{
    char idb[24];
    const char *params[] = {store_fmt_id(idb, id)};
    PGresult *res = NULL;
    int rc =
        db_exec(db, "urls_clicks",
                "SELECT coalesce((SELECT clicks FROM url_totals WHERE url_id = $1::bigint), 0)", 1,
                params, (struct pg_result **)&res);
    if (rc)
        return rc;
    *clicks = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

/* The short code of URL `id` for its QR code (h_qr.c): a new string in *code, or ERR_*. */
int store_urls_code(struct db *db, long long id, char **code)
{
    char idb[24];
    const char *params[] = {store_fmt_id(idb, id)};
    PGresult *res = NULL;
    *code = NULL;
    int rc = db_exec(db, "urls_code", "SELECT short_code FROM urls WHERE id = $1::bigint", 1,
                     params, (struct pg_result **)&res);
    if (rc)
        return rc;
    if (PQntuples(res) != 1)
        rc = ERR_NOT_FOUND;
    else if (!(*code = strdup(PQgetvalue(res, 0, 0))))
        rc = ERR_NOMEM;
    PQclear(res);
    return rc;
}
