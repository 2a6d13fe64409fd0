/*
 * db.c - libpq handles and a small pool (see db.h).
 *
 * Retry rule: a lost connection is retried once, transparently, only when no
 * transaction is open. The services run every write inside db_begin() /
 * db_commit(), so the statements that can be retried are reads and BEGIN
 * itself; a write whose outcome is unknown is never replayed.
 */
#include "db.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "log.h"

#include "banned.h"

#define DB_MAX_PREPARED 64

struct db {
    char *conninfo; /* owned copy */
    int statement_timeout_ms;
    enum db_pooler pooler; /* what conninfo reaches (db_set_pooler) */
    PGconn *conn;          /* owned; NULL until connected */
    int broken;            /* 1 after a connection-level failure */
    int in_tx;
    char errmsg[DB_ERR_MAX];
    char sqlstate[6];
    int nprepared;
    const char *prepared[DB_MAX_PREPARED]; /* borrowed statement names (string literals) */
    unsigned long serial;                  /* successful connections so far */
};

struct db_pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int size;
    int nfree;
    int acquire_timeout_ms;
    struct db **all;  /* owned: every handle */
    struct db **free; /* borrowed from all: the stack of idle handles */
};

/* ------------------------------------------------------------------------ */
/* One handle                                                                */
/* ------------------------------------------------------------------------ */

struct db *db_new(const char *conninfo, int statement_timeout_ms)
{
    struct db *db = calloc(1, sizeof(*db));
    if (!db)
        return NULL;
    db->conninfo = strdup(conninfo);
    if (!db->conninfo) {
        free(db);
        return NULL;
    }
    db->statement_timeout_ms = statement_timeout_ms;
    return db;
}

int db_pooler_parse(const char *name)
{
    static const char *const names[] = {
        [DB_POOLER_NONE] = "none",
        [DB_POOLER_SESSION] = "session",
        [DB_POOLER_TRANSACTION] = "transaction",
    };
    if (!name || !*name)
        return DB_POOLER_NONE;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(name, names[i]) == 0)
            return (int)i;
    return ERR_INVALID;
}

void db_set_pooler(struct db *db, enum db_pooler pooler)
{
    db->pooler = pooler;
}

static void db_disconnect(struct db *db)
{
    if (db->conn)
        PQfinish(db->conn);
    db->conn = NULL;
    db->nprepared = 0;
    db->in_tx = 0;
    db->broken = 0;
}

void db_free(struct db *db)
{
    if (!db)
        return;
    db_disconnect(db);
    free(db->conninfo);
    free(db);
}

static void db_set_error(struct db *db, const char *msg, const char *sqlstate)
{
    snprintf(db->errmsg, sizeof(db->errmsg), "%s", msg ? msg : "unknown error");
    size_t n = strlen(db->errmsg);
    while (n && (db->errmsg[n - 1] == '\n' || db->errmsg[n - 1] == ' '))
        db->errmsg[--n] = '\0';
    snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", sqlstate ? sqlstate : "");
}

/* DB_POOLER_SESSION: statement_timeout for the session just opened; ERR_DB (closed) if not. */
static int db_set_session_timeout(struct db *db)
{
    char sql[64];
    snprintf(sql, sizeof(sql), "SET statement_timeout = %d", db->statement_timeout_ms);
    PGresult *res = PQexec(db->conn, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        db_set_error(db, PQresultErrorMessage(res), PQresultErrorField(res, PG_DIAG_SQLSTATE));
    PQclear(res);
    if (!ok) {
        PQfinish(db->conn);
        db->conn = NULL;
        return ERR_DB;
    }
    return 0;
}

int db_connect(struct db *db)
{
    if (db->conn && !db->broken && PQstatus(db->conn) == CONNECTION_OK)
        return 0;
    db_disconnect(db);
    char options[64];
    snprintf(options, sizeof(options), "-c statement_timeout=%d", db->statement_timeout_ms);
    /* A pooler refuses `options` (db.h): the last pair is then left out. */
    int direct = db->pooler == DB_POOLER_NONE;
    const char *keys[] = {"dbname", "connect_timeout", direct ? "options" : NULL, NULL};
    const char *vals[] = {db->conninfo, "3", options, NULL};
    db->conn = PQconnectdbParams(keys, vals, 1);
    if (!db->conn || PQstatus(db->conn) != CONNECTION_OK) {
        db_set_error(db, db->conn ? PQerrorMessage(db->conn) : "out of memory", "08000");
        if (db->conn)
            PQfinish(db->conn);
        db->conn = NULL;
        return ERR_DB;
    }
    if (db->pooler == DB_POOLER_SESSION && db_set_session_timeout(db) != 0)
        return ERR_DB;
    db->serial++;
    return 0;
}

/* Classifies a failed result; marks the handle broken on a connection loss. */
static int db_classify(struct db *db, PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : NULL;
    if (!msg || !*msg)
        msg = PQerrorMessage(db->conn);
    db_set_error(db, msg, state);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        db->broken = 1;
        return ERR_DB;
    }
    if (!state)
        return ERR_DB;
    if (strcmp(state, "23505") == 0)
        return ERR_CONFLICT;
    if (strcmp(state, "23503") == 0)
        return ERR_NOT_FOUND;
    if (strcmp(state, "57014") == 0 || strcmp(state, "55P03") == 0)
        return ERR_TIMEOUT;
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
        db->broken = 1;
    return ERR_DB;
}

static int db_is_prepared(const struct db *db, const char *name)
{
    for (int i = 0; i < db->nprepared; i++)
        if (db->prepared[i] == name || strcmp(db->prepared[i], name) == 0)
            return 1;
    return 0;
}

static int db_prepare(struct db *db, const char *name, const char *sql, int nparams)
{
    if (db_is_prepared(db, name))
        return 0;
    if (db->nprepared >= DB_MAX_PREPARED)
        BUG("too many prepared statements: raise DB_MAX_PREPARED");
    PGresult *res = PQprepare(db->conn, name, sql, nparams, NULL);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = db_classify(db, res);
    else
        db->prepared[db->nprepared++] = name;
    PQclear(res);
    return rc;
}

/* One attempt; returns 0 or an ERR_* code. */
static int db_exec_once(struct db *db, const char *name, const char *sql, int nparams,
                        const char *const *params, PGresult **out)
{
    int rc = db_connect(db);
    if (rc)
        return rc;
    if (db->pooler == DB_POOLER_TRANSACTION)
        name = NULL; /* the next transaction may run on another server session (db.h) */
    if (name && (rc = db_prepare(db, name, sql, nparams)) != 0)
        return rc;
    PGresult *res = name ? PQexecPrepared(db->conn, name, nparams, params, NULL, NULL, 0)
                         : PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        rc = db_classify(db, res);
        PQclear(res);
        return rc;
    }
    if (out)
        *out = res;
    else
        PQclear(res);
    return 0;
}

int db_exec(struct db *db, const char *name, const char *sql, int nparams,
            const char *const *params, struct pg_result **out)
{
    int was_in_tx = db->in_tx;
    int rc = db_exec_once(db, name, sql, nparams, params, (PGresult **)out);
    if (rc == ERR_DB && db->broken && !was_in_tx) {
        log_warn("postgresql connection lost, reconnecting: %s", db->errmsg);
        rc = db_exec_once(db, name, sql, nparams, params, (PGresult **)out);
    }
    if (rc && db->broken)
        db->in_tx = 0; /* the server rolled back with the connection */
    return rc;
}

int db_copy_begin(struct db *db, const char *sql)
{
    int rc = db_connect(db);
    if (rc)
        return rc;
    PGresult *res = PQexec(db->conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN)
        rc = db_classify(db, res);
    PQclear(res);
    if (rc && db->broken)
        db->in_tx = 0;
    return rc;
}

int db_copy_put(struct db *db, const char *data, size_t len)
{
    while (len > 0) {
        int n = len > (1u << 30) ? 1 << 30 : (int)len;
        if (!db->conn || PQputCopyData(db->conn, data, n) != 1) {
            db_set_error(db, db->conn ? PQerrorMessage(db->conn) : "not connected", "08000");
            db->broken = 1;
            db->in_tx = 0;
            return ERR_DB;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int db_copy_end(struct db *db, int rc)
{
    if (!db->conn)
        return rc ? rc : ERR_DB;
    if (PQputCopyEnd(db->conn, rc ? "aborted by the client" : NULL) != 1 && rc == 0) {
        db_set_error(db, PQerrorMessage(db->conn), "08000");
        db->broken = 1;
        rc = ERR_DB;
    }
    PGresult *res;
    while ((res = PQgetResult(db->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (st != PGRES_COMMAND_OK && rc == 0)
            rc = db_classify(db, res);
        PQclear(res);
        if (st == PGRES_COPY_IN) /* cannot happen after PQputCopyEnd; do not loop on it */
            break;
    }
    if (rc && db->broken)
        db->in_tx = 0;
    return rc;
}

unsigned long db_serial(const struct db *db)
{
    return db->serial;
}

int db_begin(struct db *db)
{
    int rc = db_exec(db, NULL, "BEGIN", 0, NULL, NULL);
    if (rc == 0)
        db->in_tx = 1;
    return rc;
}

int db_commit(struct db *db)
{
    int rc = db_exec(db, NULL, "COMMIT", 0, NULL, NULL);
    db->in_tx = 0;
    return rc;
}

void db_rollback(struct db *db)
{
    if (!db->in_tx)
        return;
    db->in_tx = 0;
    if (!db->conn || db->broken)
        return;
    PGresult *res = PQexec(db->conn, "ROLLBACK");
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        db->broken = 1;
    PQclear(res);
}

const char *db_errmsg(const struct db *db)
{
    return db->errmsg;
}

const char *db_sqlstate(const struct db *db)
{
    return db->sqlstate;
}

int db_in_tx(const struct db *db)
{
    return db->in_tx;
}

/* ------------------------------------------------------------------------ */
/* The pool                                                                  */
/* ------------------------------------------------------------------------ */

struct db_pool *db_pool_new(const char *conninfo, int size, int statement_timeout_ms,
                            int acquire_timeout_ms)
{
    struct db_pool *pool = calloc(1, sizeof(*pool));
    if (!pool)
        return NULL;
    pool->all = calloc((size_t)size, sizeof(*pool->all));
    pool->free = calloc((size_t)size, sizeof(*pool->free));
    if (!pool->all || !pool->free)
        goto fail;
    pool->size = size;
    pool->acquire_timeout_ms = acquire_timeout_ms;
    for (int i = 0; i < size; i++) {
        pool->all[i] = db_new(conninfo, statement_timeout_ms);
        if (!pool->all[i])
            goto fail;
        pool->free[pool->nfree++] = pool->all[i];
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&pool->cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&pool->lock, NULL);
    return pool;
fail:
    for (int i = 0; pool->all && i < size; i++)
        db_free(pool->all[i]);
    free(pool->all);
    free(pool->free);
    free(pool);
    return NULL;
}

void db_pool_free(struct db_pool *pool)
{
    if (!pool)
        return;
    for (int i = 0; i < pool->size; i++)
        db_free(pool->all[i]);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->cond);
    free(pool->all);
    free(pool->free);
    free(pool);
}

struct db *db_pool_acquire(struct db_pool *pool)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += pool->acquire_timeout_ms / 1000;
    deadline.tv_nsec += (long)(pool->acquire_timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    struct db *db = NULL;
    pthread_mutex_lock(&pool->lock);
    while (pool->nfree == 0) {
        if (pthread_cond_timedwait(&pool->cond, &pool->lock, &deadline) == ETIMEDOUT)
            break;
    }
    if (pool->nfree > 0)
        db = pool->free[--pool->nfree];
    pthread_mutex_unlock(&pool->lock);
    return db;
}

void db_pool_release(struct db_pool *pool, struct db *db)
{
    if (!db)
        return;
    if (db->in_tx) {
        log_error("db handle returned to the pool inside a transaction; rolling back");
        db_rollback(db);
    }
    pthread_mutex_lock(&pool->lock);
    pool->free[pool->nfree++] = db;
    pthread_cond_signal(&pool->cond);
    pthread_mutex_unlock(&pool->lock);
}

int db_pool_in_use(struct db_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    int n = pool->size - pool->nfree;
    pthread_mutex_unlock(&pool->lock);
    return n;
}

void db_pool_set_pooler(struct db_pool *pool, enum db_pooler pooler)
{
    for (int i = 0; i < pool->size; i++)
        db_set_pooler(pool->all[i], pooler);
}

int db_pool_size(const struct db_pool *pool)
{
    return pool->size;
}
