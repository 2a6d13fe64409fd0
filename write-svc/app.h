/*
 * app.h - write-svc's process-wide context, handed to every handler as req->app.
 */
#ifndef APP_H
#define APP_H

#include <pthread.h>
#include <stdatomic.h>

struct db_pool;
struct kvthread;

struct app_cfg {
    const char *database_url;
    const char *redis_url;
    const char *bind_addr;
    const char *log_level;
    long port;
    long http_threads;
    long http_conn_limit;
    long http_timeout_s;
    long body_max_bytes;
    long pg_pool_size;
    long pg_statement_timeout_ms;
    long pg_acquire_timeout_ms;
    long redis_timeout_ms;
    long stream_shards;
    long readmodel_check_ms;
    long events_wait_ms;
    long bulk_max_rows;
};

struct app {
    struct app_cfg cfg;
    struct db_pool *pool;       /* owned */
    struct kvthread *kvt;       /* owned: one Redis handle per thread (readmodel_kv) */
    pthread_t watcher;          /* the read-model watcher thread (readmodel.c) */
    int watcher_started;
    atomic_int stopping;        /* set at shutdown; the watcher exits */
};

#endif
