/*
 * store.c - the helpers every store file shares (see store.h): id formatting,
 * pagination parameters, one-JSON-value queries, existence checks and the
 * read-model lock.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"

#include "banned.h"

/* ------------------------------------------------------------------------ */
/* Helpers every store file shares                                           */
/* ------------------------------------------------------------------------ */

const char *store_fmt_id(char out[24], long long v)
{
    snprintf(out, 24, "%lld", v);
    return out;
}

int store_query_json(struct db *db, const char *name, const char *sql, int nparams,
                     const char *const *params, char **json)
{
    PGresult *res = NULL;
    int rc = db_exec(db, name, sql, nparams, params, (struct pg_result **)&res);
    if (rc)
        return rc;
    if (PQntuples(res) < 1 || PQgetisnull(res, 0, 0)) {
        rc = ERR_NOT_FOUND;
        goto out;
    }
    *json = strdup(PQgetvalue(res, 0, 0));
    if (!*json)
        rc = ERR_NOMEM;
out:
    PQclear(res);
    return rc;
}

int store_lock_readmodel_shared(struct db *db)
{
    char key[24];
    const char *params[] = {store_fmt_id(key, STORE_READMODEL_LOCK)};
    return db_exec(db, "lock_rm_shared", "SELECT pg_advisory_xact_lock_shared($1::bigint)", 1,
                   params, NULL);
}

int store_exists(struct db *db, const char *table, long long id)
{
    static const struct {
        const char *table, *stmt, *sql;
    } q[] = {
        {"users", "users_exists", "SELECT 1 FROM users WHERE id = $1::bigint"},
        {"urls", "urls_exists", "SELECT 1 FROM urls WHERE id = $1::bigint"},
        {"events", "events_exists", "SELECT 1 FROM events WHERE id = $1::bigint"},
    };
    size_t i = 0;
    while (i < ARRAY_SIZE(q) && strcmp(q[i].table, table) != 0)
        i++;
    if (i == ARRAY_SIZE(q))
        BUG("store_exists: unknown table");
    char idb[24];
    const char *params[] = {store_fmt_id(idb, id)};
    PGresult *res = NULL;
    int rc = db_exec(db, q[i].stmt, q[i].sql, 1, params, (struct pg_result **)&res);
    if (rc)
        return rc;
    rc = PQntuples(res) > 0;
    PQclear(res);
    return rc;
}

void store_page_params(const struct store_page *pg, char lim[24], char off[24], const char **plim,
                       const char **poff)
{
    *plim = pg->paginate ? store_fmt_id(lim, pg->limit) : NULL;
    *poff = store_fmt_id(off, pg->paginate ? pg->offset : 0);
}
