/*
 * store_apikeys.c - SQL for the api_keys table (schema/005_api_keys.sql). Only hashes are
 * stored and read: a key itself never reaches PostgreSQL, not even as a parameter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"
#include "store.h"

#include "banned.h"

#define APIKEY_TS(col) "to_char(" col ", 'YYYY-MM-DD\"T\"HH24:MI:SS')"
#define APIKEY_JSON                                                                                \
    "json_build_object('id', id, 'name', name, 'scopes', to_json(scopes), 'user_id', user_id,"     \
    " 'expires_at', " APIKEY_TS("expires_at") ", 'created_at', " APIKEY_TS(                        \
        "created_at") ","                                                                          \
                      " 'revoked_at', " APIKEY_TS("revoked_at") ")"

int store_apikeys_insert(struct db *db, const struct store_apikey_new *k, char **json)
{
    char uid[24], scopes[32];
    snprintf(scopes, sizeof(scopes), "{%s}", k->scopes);
    const char *params[] = {k->name, k->hash, scopes,
                            k->user_id ? store_fmt_id(uid, k->user_id) : NULL, k->expires_at};
    return store_query_json(db, "apikeys_insert",
                            "INSERT INTO api_keys (name, key_hash, scopes, user_id, expires_at)"
                            " VALUES ($1, $2, $3::text[], $4::bigint, $5::timestamp)"
                            " RETURNING " APIKEY_JSON "::text",
                            5, params, json);
}

int store_apikeys_list(struct db *db, const struct store_page *pg, char **json)
{
    char lim[24], off[24];
    const char *params[2];
    store_page_params(pg, lim, off, &params[0], &params[1]);
    return store_query_json(db, "apikeys_list",
                            "SELECT coalesce(json_agg(j ORDER BY id), '[]')::text FROM ("
                            " SELECT id, " APIKEY_JSON " AS j FROM api_keys"
                            " ORDER BY id LIMIT $1::bigint OFFSET $2::bigint) s",
                            2, params, json);
}

int store_apikeys_revoke(struct db *db, long long id)
{
    char idb[24];
    const char *params[] = {store_fmt_id(idb, id)};
    PGresult *res = NULL;
    int rc = db_exec(db, "apikeys_revoke",
                     "UPDATE api_keys SET revoked_at = now() AT TIME ZONE 'UTC'"
                     " WHERE id = $1::bigint AND revoked_at IS NULL RETURNING id",
                     1, params, (struct pg_result **)&res);
    if (rc == 0 && PQntuples(res) < 1)
        rc = ERR_NOT_FOUND;
    PQclear(res);
    return rc;
}

int store_apikeys_lookup(struct db *db, const char *hash, struct store_apikey *out)
{
    const char *params[] = {hash};
    PGresult *res = NULL;
    int rc = db_exec(db, "apikeys_lookup",
                     "SELECT id, array_to_string(scopes, ','), coalesce(user_id, 0),"
                     " coalesce(extract(epoch FROM expires_at)::bigint, -1)"
                     " FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
                     1, params, (struct pg_result **)&res);
    if (rc)
        return rc;
    if (PQntuples(res) < 1) {
        rc = ERR_NOT_FOUND;
        goto out;
    }
    memset(out, 0, sizeof(*out));
    out->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(out->scopes, sizeof(out->scopes), "%s", PQgetvalue(res, 0, 1));
    out->user_id = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    out->expires = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
out:
    PQclear(res);
    return rc;
}

int store_owns(struct db *db, const char *table, long long id, long long user_id)
{
    static const struct {
        const char *table, *stmt, *sql;
    } q[] = {
        {"urls", "owns_url", "SELECT 1 FROM urls WHERE id = $1::bigint AND user_id = $2::bigint"},
        {"events", "owns_event",
         "SELECT 1 FROM events WHERE id = $1::bigint AND user_id = $2::bigint"},
    };
    char a[24], b[24];
    const char *params[] = {store_fmt_id(a, id), store_fmt_id(b, user_id)};
    for (size_t i = 0; i < ARRAY_SIZE(q); i++) {
        if (strcmp(q[i].table, table) != 0)
            continue;
        PGresult *res = NULL;
        int rc = db_exec(db, q[i].stmt, q[i].sql, 2, params, (struct pg_result **)&res);
        if (rc == 0)
            rc = PQntuples(res) > 0;
        PQclear(res);
        return rc;
    }
    return ERR_INVALID;
}
