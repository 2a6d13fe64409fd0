/*
 * main.c - redirect-svc: cfg_load -> load the follow script (or later, lazily,
 * when Redis is not up yet) -> one event loop per thread (server.c) -> wait for
 * SIGTERM/SIGINT -> stop (drains in-flight requests) -> free all. Never links libpq.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "client.h"
#include "config.h"
#include "follow.h"
#include "kv.h"
#include "log.h"
#include "server.h"
#include "signals.h"
#include "svc.h"

#include "banned.h"

#define MAIN_SVC "redirect-svc"

static struct app main_app;

/* The configuration table (CONVENTIONS.md 10.7); deploy/env.example is generated from it. */
static const struct cfg_entry main_cfg[] = {
    CFG_REDIS_URL(&main_app.cfg.redis_url),
    {"BIND_ADDR", CFG_STRING, "127.0.0.1", 0, 0, 0, 0, NULL, "address to listen on",
     &main_app.cfg.bind_addr},
    CFG_PORT("8091", "HTTP", &main_app.cfg.port),
    CFG_LOG_LEVEL(&main_app.cfg.log_level),
    {"HTTP_THREADS", CFG_INT, "2", 1, 256, 0, 0, NULL,
     "HTTP worker threads (one Redis connection each)", &main_app.cfg.http_threads},
    {"HTTP_CONN_LIMIT", CFG_INT, "8192", 16, 1000000, 0, 0, NULL, "open connections at most",
     &main_app.cfg.http_conn_limit},
    {"HTTP_TIMEOUT_S", CFG_INT, "30", 1, 3600, 0, 0, NULL, "idle connection timeout (seconds)",
     &main_app.cfg.http_timeout_s},
    {"REDIS_TIMEOUT_MS", CFG_INT, "1000", 10, 60000, 0, 0, NULL,
     "Redis connect and command timeout", &main_app.cfg.redis_timeout_ms},
    CFG_STREAM_SHARDS(&main_app.cfg.stream_shards),
    {"STREAM_MAXLEN", CFG_INT, "10000000", 0, 1000000000, 0, 0, NULL,
     "approximate cap per click stream shard, 0 = none (entries beyond it are lost if the "
     "event-worker is down that long)",
     &main_app.cfg.stream_maxlen},
    {"CLICK_FIELD_MAX", CFG_INT, "512", 0, 8192, 0, 0, NULL,
     "bytes of Referer and User-Agent kept with a click", &main_app.cfg.click_field_max},
    {"CLICK_BATCH", CFG_BOOL, "true", 0, 0, 0, 0, NULL,
     "append each loop turn's clicks of a shard as one batched stream entry (false: one entry "
     "per click, for an event-worker older than the batched format)",
     &main_app.cfg.click_batch},
    {"ACCESS_LOG", CFG_BOOL, "true", 0, 0, 0, 0, NULL, "one JSON access line per request",
     &main_app.cfg.access_log},
    {"REDIRECT_CACHE_MAX_AGE", CFG_INT, "300", 0, 31536000, 0, 0, NULL,
     "max-age (seconds) of the public Cache-Control on 301 and 308 redirects",
     &main_app.cfg.cache_max_age},
    {"NEAR_CACHE_MB", CFG_INT, "16", 0, 65536, 0, 0, NULL,
     "MB of links cached in process, split between the HTTP threads (0 = off); changes "
     "are read from Redis in every batch, so no answer is stale",
     &main_app.cfg.near_cache_mb},
    CFG_TRUSTED_PROXIES(&main_app.cfg.trusted_proxies),
    CFG_SELF_HOSTS(&main_app.cfg.self_hosts),
};

/* TRUSTED_PROXIES and SELF_HOSTS: a bad list stops start-up. */
static void main_load_lists(struct app *app)
{
    const char *why = NULL;
    size_t at = 0;
    if (netaddr_list_parse(app->cfg.trusted_proxies, &app->trusted, &why, &at) != 0)
        log_die("TRUSTED_PROXIES: %s (at offset %zu)", why, at);
    client_self_hosts(app->cfg.self_hosts, app->self, sizeof(app->self));
}

/* Loads the script early so the first redirects need not; Redis may come later. */
static void main_load_script(struct app *app)
{
    struct kv *kv = kv_new(app->cfg.redis_url, (int)app->cfg.redis_timeout_ms);
    if (!kv)
        log_die("cannot use REDIS_URL (expected redis://[:password@]host[:port][/db])");
    if (follow_load_script(app, kv) != 0)
        log_warn("redis not reachable at start-up (%s): redirects answer 503 until it is",
                 kv_errmsg(kv));
    kv_free(kv);
}

int main(int argc, char **argv)
{
    struct app *app = &main_app;
    if (svc_flags(argc, argv, main_cfg, ARRAY_SIZE(main_cfg)))
        return 0;
    svc_load_config(MAIN_SVC, main_cfg, ARRAY_SIZE(main_cfg), &app->cfg.log_level);
    main_load_lists(app);
    signals_block();
    pthread_mutex_init(&app->sha_lock, NULL);
    main_load_script(app);
    char err[256];
    struct server *srv = server_start(app, err, sizeof(err));
    if (!srv)
        log_die("%s", err);
    log_info("listening on %s:%d with %ld threads", app->cfg.bind_addr, server_port(srv),
             app->cfg.http_threads);

    int sig = signals_wait(-1);
    log_info("signal %d: draining in-flight requests and stopping", sig);
    server_stop(srv);
    pthread_mutex_destroy(&app->sha_lock);
    log_info("stopped");
    return 0;
}
