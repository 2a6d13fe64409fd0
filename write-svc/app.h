/*
 * app.h - write-svc's process-wide context, handed to every handler as req->app.
 */
#ifndef APP_H
#define APP_H

#include <pthread.h>
#include <stdatomic.h>

struct db_pool;
struct http_server;
struct kvthread;
struct live;

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
    long live_max_clients;
    const char *dashboard_targets; /* DASHBOARD_TARGETS (borrowed from the environment) */
    const char *public_base_url;   /* PUBLIC_BASE_URL as given (borrowed from the environment) */
    size_t public_base_len;        /* its length without trailing slashes (main_check_base_url) */
};

/* Counters for /metrics (h_metrics.c), bumped with relaxed atomics. */
struct app_stats {
    atomic_ulong db_errors;          /* requests answered 503 because of PostgreSQL */
    atomic_ulong kv_errors;          /* requests answered 503 because of Redis */
    atomic_ulong clicksync_timeouts; /* event reads that stopped waiting for the worker */
    atomic_ulong clicksync_errors;   /* event reads that could not check the streams */
    atomic_ulong rebuilds;           /* read-model rebuilds done by this instance */
};

struct app {
    struct app_cfg cfg;
    struct db_pool *pool; /* owned */
    struct kvthread *kvt; /* owned: one Redis handle per thread (readmodel_kv) */
    pthread_t watcher;    /* the read-model watcher thread (readmodel.c) */
    int watcher_started;
    atomic_int stopping;      /* set at shutdown; the watcher exits */
    struct http_server *http; /* borrowed by /metrics; owned by main */
    struct live *live;        /* owned: the live click feed (GET /events/live) */
    struct app_stats stats;
};

#endif
