/*
 * db.h - libpq handles and a small connection pool.
 *
 * A struct db is one PostgreSQL connection that connects lazily, prepares
 * each named statement once per connection (unless it goes through a
 * transaction-mode pooler: db_set_pooler), applies statement_timeout, and
 * keeps the last error (code and text) on the handle. After a connection
 * error the handle is marked broken and the next use reconnects. A pool hands
 * handles to threads with a bounded wait.
 */
#ifndef DB_H
#define DB_H

#include <stddef.h>

#include "common.h"

struct pg_result; /* libpq's PGresult */
struct db;
struct db_pool;

#define DB_ERR_MAX 256

/*
 * A new handle for conninfo (a postgres:// URL or key=value string, copied).
 * Nothing is connected until the first use. NULL only when out of memory.
 */
struct db *db_new(const char *conninfo, int statement_timeout_ms);

/*
 * What conninfo reaches (issue 14; write-svc's PG_POOLER, DECISIONS B1-B3). PgBouncer refuses
 * the `options` startup parameter that carries statement_timeout in both of its modes.
 *   DB_POOLER_NONE         PostgreSQL itself (the default): statement_timeout in the startup
 *                          packet, each named statement prepared once per connection.
 *   DB_POOLER_SESSION      a session-mode pooler: a client connection keeps one server session,
 *                          so named statements stay; statement_timeout is SET right after each
 *                          connect (one more round trip per connection).
 *   DB_POOLER_TRANSACTION  a transaction-mode pooler (PgBouncer pool_mode=transaction):
 *                          consecutive transactions, and statements outside one, may run on
 *                          different server sessions, so nothing of a session may be relied
 *                          on. db_exec's `name` is ignored: every statement goes unnamed
 *                          (PQexecParams: parse, bind, execute in one round trip, planned at
 *                          each call), since a statement prepared on one server session is
 *                          unknown on the next (Debian bookworm's PgBouncer 1.18 does not carry
 *                          protocol-level prepared statements; 1.21's max_prepared_statements
 *                          does). statement_timeout_ms is unused: the pooler sets it on its
 *                          server connections (connect_query, deploy/pgbouncer/entrypoint.sh).
 * Transaction-scoped state (BEGIN ... COMMIT, SET LOCAL, pg_advisory_xact_lock) is safe in
 * every mode; session state (SET, session advisory locks, temporary tables, LISTEN) is not
 * behind a transaction-mode pooler, and the callers that need it (event-worker's staging
 * table) connect to PostgreSQL directly.
 */
enum db_pooler {
    DB_POOLER_NONE,
    DB_POOLER_SESSION,
    DB_POOLER_TRANSACTION,
};

/* "none", "session" or "transaction" (NULL or "" is "none"): the mode, or ERR_INVALID. */
int db_pooler_parse(const char *name);

/* Sets the handle's mode; call before its first use (a connected handle keeps its session). */
void db_set_pooler(struct db *db, enum db_pooler pooler);

/* Closes and frees. Accepts NULL. */
void db_free(struct db *db);

/* Connects if not connected (or broken). 0 or ERR_DB. */
int db_connect(struct db *db) ATTR_WARN_UNUSED;

/*
 * Runs a statement with text parameters (params[i] NULL means SQL NULL).
 * With a non-NULL `name`, the statement is prepared once per connection under
 * that name and executed as prepared; with NULL it is sent as is.
 * On success returns 0 and, when out is not NULL, a new PGresult (caller
 * PQclear()s it). Errors: ERR_CONFLICT (unique violation, SQLSTATE 23505),
 * ERR_NOT_FOUND (foreign-key violation, 23503), ERR_TIMEOUT (57014),
 * ERR_DB (anything else; a lost connection marks the handle broken).
 * A lost connection outside a transaction is retried once transparently.
 */
int db_exec(struct db *db, const char *name, const char *sql, int nparams,
            const char *const *params, struct pg_result **out) ATTR_WARN_UNUSED;

/* BEGIN / COMMIT / ROLLBACK. rollback never fails visibly (a broken handle is reset). */
int db_begin(struct db *db) ATTR_WARN_UNUSED;
int db_commit(struct db *db) ATTR_WARN_UNUSED;
void db_rollback(struct db *db);

/* The last error text (borrowed, valid until the next call on db) and SQLSTATE ("" if none). */
const char *db_errmsg(const struct db *db);
const char *db_sqlstate(const struct db *db);

/*
 * COPY ... FROM STDIN inside an open transaction: db_copy_begin runs `sql` (a COPY statement),
 * db_copy_put sends the next bytes of its input (data borrowed for the call), db_copy_end ends
 * it and reads the result. Each returns 0 or an ERR_* code as db_exec does (never reconnects:
 * the transaction went with the connection). After a failure of begin or put, end must still
 * be called: it aborts the COPY and returns the first error. Bytes are passed to libpq at once,
 * so the caller's buffer bounds the memory.
 */
int db_copy_begin(struct db *db, const char *sql) ATTR_WARN_UNUSED;
int db_copy_put(struct db *db, const char *data, size_t len) ATTR_WARN_UNUSED;
int db_copy_end(struct db *db, int rc) ATTR_WARN_UNUSED;

/* A number that changes at every (re)connection of the handle: session state (temporary
 * tables) made under one serial is gone under another. 0 before the first connection. */
unsigned long db_serial(const struct db *db);

/* 1 while a transaction is open on the handle. */
int db_in_tx(const struct db *db);

/* A pool of `size` handles on conninfo; waits at most acquire_timeout_ms in acquire. */
struct db_pool *db_pool_new(const char *conninfo, int size, int statement_timeout_ms,
                            int acquire_timeout_ms);
void db_pool_free(struct db_pool *pool);

/* A borrowed handle, or NULL when none freed up in time. Give it back with db_pool_release. */
struct db *db_pool_acquire(struct db_pool *pool);
void db_pool_release(struct db_pool *pool, struct db *db);

/* db_set_pooler on every handle of the pool; call before the first acquire. */
void db_pool_set_pooler(struct db_pool *pool, enum db_pooler pooler);

/* Handles currently lent out, and the pool size. */
int db_pool_in_use(struct db_pool *pool);
int db_pool_size(const struct db_pool *pool);

#endif
