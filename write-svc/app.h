/*
 * app.h - write-svc's process-wide context, handed to every handler as req->app.
 */
#ifndef APP_H
#define APP_H

#include <pthread.h>
#include <stdatomic.h>

#include "netaddr.h"

struct auth_cache;
struct db_pool;
struct dest;
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
    const char *pg_pooler; /* "none", "session" or "transaction" (db_pooler_parse) */
    long redis_timeout_ms;
    long stream_shards;
    long readmodel_check_ms;
    long events_wait_ms;
    long bulk_max_rows;
    int bulk_strict;             /* BULK_STRICT: bulk rows checked with POST /users's rules */
    const char *api_auth;        /* API_AUTH: "open" or "keys" */
    long api_key_cache_ms;       /* API_KEY_CACHE_MS: how long a key lookup is reused */
    const char *public_base_url; /* PUBLIC_BASE_URL as given (borrowed from the environment) */
    size_t public_base_len;      /* its length without trailing slashes (main_check_base_url) */
    const char *trusted_proxies; /* TRUSTED_PROXIES as given (parsed into app.trusted) */
    const char *rl_exempt;       /* RATE_LIMIT_EXEMPT as given (parsed into app.rl_exempt) */
    long rl_write_per_min;       /* 0: writes unlimited */
    long rl_write_burst;
    long rl_read_per_min; /* 0: reads unlimited */
    long rl_read_burst;
    const char *self_hosts;     /* SELF_HOSTS as given */
    const char *blocklist_file; /* BLOCKLIST_FILE, or NULL */
    long live_max_clients;
    const char *dashboard_targets; /* DASHBOARD_TARGETS (borrowed from the environment) */
};

/* Counters for /metrics (h_metrics.c), bumped with relaxed atomics. */
struct app_stats {
    atomic_ulong db_errors;          /* requests answered 503 because of PostgreSQL */
    atomic_ulong kv_errors;          /* requests answered 503 because of Redis */
    atomic_ulong clicksync_timeouts; /* event reads that stopped waiting for the worker */
    atomic_ulong clicksync_errors;   /* event reads that could not check the streams */
    atomic_ulong rebuilds;           /* read-model rebuilds done by this instance */
    atomic_ulong rl_rejected_write;  /* writes answered 429 */
    atomic_ulong rl_rejected_read;   /* reads answered 429 */
    atomic_ulong rl_errors;          /* rate checks skipped because Redis failed (let through) */
};

struct app {
    struct app_cfg cfg;
    struct db_pool *pool;    /* owned */
    struct kvthread *kvt;    /* owned: one Redis handle per thread (readmodel_kv) */
    struct auth_cache *auth; /* owned: API keys seen lately (auth.c); NULL in open mode */
    pthread_t watcher;       /* the read-model watcher thread (readmodel.c) */
    int watcher_started;
    atomic_int stopping;      /* set at shutdown; the watcher exits */
    struct http_server *http; /* borrowed by /metrics; owned by main */
    struct live *live;        /* owned: the live click feed (GET /events/live) */
    struct app_stats stats;
    struct netaddr_list trusted;   /* TRUSTED_PROXIES */
    struct netaddr_list rl_exempt; /* RATE_LIMIT_EXEMPT */
    struct dest *dest;             /* owned: the destination rules (dest.h) */
};

#endif
