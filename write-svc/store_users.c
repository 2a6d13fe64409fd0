/*
 * store_users.c - SQL for the users table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"
#include "store.h"

#include "banned.h"

#define USER_JSON                                                                                  \
    "json_build_object('id', id, 'username', username, 'email', email, 'created_at', "             \
    "to_char(created_at, 'YYYY-MM-DD\"T\"HH24:MI:SS'))"

/* ------------------------------------------------------------------------ */
/* Reads                                                                     */
/* ------------------------------------------------------------------------ */

int store_users_get(struct db *db, long long id, char **json)
{
    char idb[24];
    const char *params[] = {store_fmt_id(idb, id)};
    return store_query_json(db, "users_get",
                            "SELECT " USER_JSON "::text FROM users WHERE id = $1::bigint", 1,
                            params, json);
}

int store_users_list(struct db *db, const struct store_page *pg, const char *username,
                     const char *email, long long only_id, char **json)
{
    char lim[24], off[24], idb[24];
    const char *params[5] = {username, email, NULL, NULL,
                             only_id ? store_fmt_id(idb, only_id) : NULL};
    store_page_params(pg, lim, off, &params[2], &params[3]);
    return store_query_json(
        db, "users_list",
        "SELECT coalesce(json_agg(j ORDER BY id), '[]')::text FROM ("
        " SELECT id, " USER_JSON " AS j FROM users"
        " WHERE ($1::text IS NULL OR username = $1) AND ($2::text IS NULL OR email = $2)"
        " AND ($5::bigint IS NULL OR id = $5::bigint)"
        " ORDER BY id LIMIT $3::bigint OFFSET $4::bigint) s",
        5, params, json);
}

/* ------------------------------------------------------------------------ */
/* Writes                                                                    */
/* ------------------------------------------------------------------------ */

int store_users_lock(struct db *db)
{
    char key[24];
    const char *params[] = {store_fmt_id(key, STORE_USERS_LOCK)};
    return db_exec(db, "lock_users", "SELECT pg_advisory_xact_lock($1::bigint)", 1, params, NULL);
}

/* Which of username/email another user (not `self`, 0 = none) already has; NULL if neither. */
static int store_users_conflict(struct db *db, long long self, const char *username,
                                const char *email, const char **conflict)
{
    char idb[24];
    const char *params[] = {store_fmt_id(idb, self), username, email};
    PGresult *res = NULL;
    int rc = db_exec(db, "users_conflict",
                     "SELECT coalesce(bool_or(username = $2), false)::text,"
                     " coalesce(bool_or(email = $3), false)::text FROM users"
                     " WHERE id <> $1::bigint AND (username = $2 OR email = $3)",
                     3, params, (struct pg_result **)&res);
    if (rc)
        return rc;
    *conflict = NULL;
    if (strcmp(PQgetvalue(res, 0, 0), "true") == 0)
        *conflict = "username";
    else if (strcmp(PQgetvalue(res, 0, 1), "true") == 0)
        *conflict = "email";
    PQclear(res);
    return *conflict ? ERR_CONFLICT : 0;
}

int store_users_create(struct db *db, const char *username, const char *email, char **json,
                       const char **conflict)
{
    const char *params[] = {username, email};
    int rc = db_begin(db);
    if (rc)
        return rc;
    if ((rc = store_users_lock(db)) ||
        (rc = store_users_conflict(db, 0, username, email, conflict)))
        goto out;
    rc = store_query_json(db, "users_insert",
                          "INSERT INTO users (username, email) VALUES ($1, $2)"
                          " RETURNING " USER_JSON "::text",
                          2, params, json);
    if (rc == 0)
        rc = db_commit(db);
    if (rc) {
        free(*json);
        *json = NULL;
    }
out:
    db_rollback(db);
    return rc;
}

int store_users_update(struct db *db, long long id, const char *username, const char *email,
                       char **json, const char **conflict)
{
    char idb[24];
    const char *params[] = {store_fmt_id(idb, id), username, email};
    int rc = db_begin(db);
    if (rc)
        return rc;
    if ((rc = store_users_lock(db)) ||
        (rc = store_users_conflict(db, id, username, email, conflict)))
        goto out;
    rc = store_query_json(db, "users_update",
                          "UPDATE users SET username = coalesce($2, username),"
                          " email = coalesce($3, email) WHERE id = $1::bigint"
                          " RETURNING " USER_JSON "::text",
                          3, params, json);
    if (rc == 0)
        rc = db_commit(db);
    if (rc) {
        free(*json);
        *json = NULL;
    }
out:
    db_rollback(db);
    return rc;
}

int store_users_delete(struct db *db, long long id)
{
    char idb[24];
    const char *params[] = {store_fmt_id(idb, id)};
    PGresult *res = NULL;
    int rc = db_exec(db, "users_delete", "DELETE FROM users WHERE id = $1::bigint RETURNING id", 1,
                     params, (struct pg_result **)&res);
    if (rc)
        return rc;
    int found = PQntuples(res) > 0;
    PQclear(res);
    if (!found)
        return ERR_NOT_FOUND;
    return db_exec(db, "users_delete_events",
                   "UPDATE events SET user_id = NULL WHERE user_id = $1::bigint", 1, params, NULL);
}

int store_users_bulk_row(struct db *db, const char *id, const char *username, const char *email,
                         const char *created_at)
{
    const char *params[] = {id, username, email, created_at};
    if (id)
        return db_exec(db, "users_bulk_id",
                       "INSERT INTO users (id, username, email, created_at)"
                       " VALUES ($1::bigint, $2, $3,"
                       " coalesce($4::timestamp, now() AT TIME ZONE 'UTC'))"
                       " ON CONFLICT (id) DO UPDATE SET username = EXCLUDED.username,"
                       " email = EXCLUDED.email, created_at = EXCLUDED.created_at",
                       4, params, NULL);
    /* Without an id the row is added unless the username exists (still counted by the caller). */
    return db_exec(db, "users_bulk_noid",
                   "INSERT INTO users (username, email, created_at)"
                   " SELECT $1, $2, coalesce($3::timestamp, now() AT TIME ZONE 'UTC')"
                   " WHERE NOT EXISTS (SELECT 1 FROM users WHERE username = $1)",
                   3, params + 1, NULL);
}

int store_users_fix_sequence(struct db *db)
{
    return db_exec(db, NULL,
                   "SELECT setval('users_id_seq', greatest((SELECT max(id) FROM users), 1),"
                   " (SELECT max(id) FROM users) IS NOT NULL)",
                   0, NULL, NULL);
}
