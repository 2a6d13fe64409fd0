/*
 * retention.c - the monthly partitions of events (see retention.h).
 */
#include "retention.h"

#include <stdio.h>
#include <stdlib.h>

#include <libpq-fe.h>

#include "db.h"

#include "banned.h"

/* Runs `SELECT fn($1)` and stores its integer answer in *out. */
static int retention_call(struct db *db, const char *name, const char *sql, long arg, int *out)
{
    char a[24];
    snprintf(a, sizeof(a), "%ld", arg);
    const char *params[] = {a};
    struct pg_result *res = NULL;
    int rc = db_exec(db, name, sql, 1, params, &res);
    *out = rc == 0 && PQntuples((PGresult *)res) == 1
               ? (int)strtol(PQgetvalue((PGresult *)res, 0, 0), NULL, 10)
               : 0;
    if (res)
        PQclear((PGresult *)res);
    return rc;
}

int retention_run(struct db *db, long keep_months, int *made, int *dropped)
{
    *made = *dropped = 0;
    int rc = retention_call(db, "retention_add", "SELECT events_add_partitions($1::integer)",
                            RETENTION_AHEAD_MONTHS, made);
    if (rc == 0 && keep_months > 0)
        rc = retention_call(db, "retention_drop", "SELECT events_drop_partitions($1::integer)",
                            keep_months, dropped);
    return rc;
}
