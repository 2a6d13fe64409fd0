/*
 * app.h - redirect-svc's process-wide context, handed to handlers as req->app.
 */
#ifndef APP_H
#define APP_H

#include <pthread.h>

#include "netaddr.h"

struct app_cfg {
    const char *redis_url;
    const char *bind_addr;
    const char *log_level;
    long port;
    long http_threads;
    long http_conn_limit;
    long http_timeout_s;
    long redis_timeout_ms;
    long stream_shards;
    long stream_maxlen;
    long click_field_max;
    long cache_max_age; /* of 301/308 answers */
    long near_cache_mb; /* the near cache's budget, all loops together; 0 = off (ncache.h) */
    int access_log;     /* CFG_BOOL */
    int click_batch;    /* CFG_BOOL: one batched stream entry per shard and turn (clickstream.h) */
    const char *trusted_proxies; /* TRUSTED_PROXIES as given (parsed into app.trusted) */
    const char *self_hosts;      /* SELF_HOSTS as given (normalised into app.self) */
};

struct app {
    struct app_cfg cfg;
    pthread_mutex_t sha_lock;    /* guards sha while it is being (re)loaded */
    char sha[41];                /* SHA1 of the follow script once loaded, else "" */
    struct netaddr_list trusted; /* TRUSTED_PROXIES */
    char self[1024];             /* SELF_HOSTS as "host:port host:port ..." (client.h) */
};

#endif
