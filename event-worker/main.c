/*
 * main.c - event-worker: cfg_load -> health HTTP server -> consumer loop on
 * the main thread (connects with back-off, drains the click streams) ->
 * SIGTERM/SIGINT between two batches -> stop HTTP -> free all -> exit 0.
 *
 * The shutdown signals are blocked before any thread starts, and the loop
 * polls for them with signals_wait(0) between steps (and waits for them
 * during a back-off), so a step is never interrupted halfway: the current
 * batch is committed and acknowledged, or left pending for a replay. A step
 * blocks at most EVENT_BLOCK_MS in XREADGROUP, which bounds the shutdown
 * latency.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "clickstream.h"
#include "config.h"
#include "consumer.h"
#include "db.h"
#include "derive.h"
#include "exporter.h"
#include "http.h"
#include "kv.h"
#include "log.h"
#include "metrics.h"
#include "router.h"
#include "signals.h"
#include "svc.h"
#include "timefmt.h"

#include "banned.h"

#define MAIN_SVC          "event-worker"
#define MAIN_CONSUMER_MAX 200 /* bytes of a consumer name */
#define MAIN_METRICS_MAX  (256u * 1024)
/*
 * /livez fails when no consumer step ended for this long. A step is bounded by
 * EVENT_BLOCK_MS, the Redis timeout, PG_STATEMENT_TIMEOUT_MS and a 5 s back-off
 * (well under a minute with every setting at its default); two minutes leave room.
 */
#define MAIN_STALL_MS     120000
#define MAIN_JSON_OK      "{\"status\":\"ok\"}"
#define MAIN_JSON_STALLED "{\"status\":\"stalled\"}"

struct main_cfg {
    const char *database_url;
    const char *redis_url;
    const char *bind_addr;
    const char *log_level;
    const char *consumer;
    long port;
    long stream_shards;
    long batch;
    long block_ms;
    long claim_idle_ms;
    long pg_statement_timeout_ms;
    long redis_timeout_ms;
    long maxlen_dead;
    const char *ua_regexes;
    const char *geoip_db;
    long ua_cache;
    long retention_months;
};

struct main_app {
    struct main_cfg cfg;
    struct consumer *consumer; /* owned; the health handler reads its stats */
    struct http_server *http;  /* owned by main(); /metrics reads its figures */
};

static struct main_app main_app;
static char main_consumer_name[MAIN_CONSUMER_MAX + 32];

/* The configuration table (CONVENTIONS.md 10.7); deploy/env.example is generated from it. */
static const struct cfg_entry main_cfg[] = {
    CFG_DATABASE_URL(&main_app.cfg.database_url),
    CFG_REDIS_URL(&main_app.cfg.redis_url),
    {"BIND_ADDR", CFG_STRING, "127.0.0.1", 0, 0, 0, 0, NULL, "address of the health server",
     &main_app.cfg.bind_addr},
    CFG_PORT("8099", "health HTTP", &main_app.cfg.port),
    CFG_LOG_LEVEL(&main_app.cfg.log_level),
    CFG_STREAM_SHARDS(&main_app.cfg.stream_shards),
    {"EVENT_BATCH", CFG_INT, "1000", 1, 10000, 0, 0, NULL,
     "COUNT of each XREADGROUP per shard and of each XAUTOCLAIM", &main_app.cfg.batch},
    {"EVENT_BLOCK_MS", CFG_INT, "1000", 1, 60000, 0, 0, NULL,
     "BLOCK of the XREADGROUP for new clicks (also bounds the shutdown latency)",
     &main_app.cfg.block_ms},
    {"EVENT_CLAIM_IDLE_MS", CFG_INT, "5000", 100, 3600000, 0, 0, NULL,
     "entries pending this long in a dead consumer are claimed (checked every half of it)",
     &main_app.cfg.claim_idle_ms},
    {"EVENT_CONSUMER", CFG_STRING, NULL, 1, MAIN_CONSUMER_MAX, 0, 0, NULL,
     "this worker's consumer name in the group (default <hostname>-<pid>)", &main_app.cfg.consumer},
    {"EVENT_MAXLEN_DEAD", CFG_INT, "100000", 0, 1000000000, 0, 0, NULL,
     "approximate cap of the dead-letter stream clicks:dead (0 = none)", &main_app.cfg.maxlen_dead},
    CFG_EVENT_RETENTION_MONTHS(&main_app.cfg.retention_months),
    {"UA_REGEXES", CFG_STRING, "/usr/share/uap-core/regexes.yaml", 1, 4096, 0, 0, NULL,
     "uap-core user-agent rules (Debian package uap-core), read at start-up",
     &main_app.cfg.ua_regexes},
    {"UA_CACHE_SIZE", CFG_INT, "8192", 2, 1000000, 0, 0, NULL,
     "entries of the parsed user-agent cache (about 700 bytes each)", &main_app.cfg.ua_cache},
    {"GEOIP_DB", CFG_STRING, NULL, 1, 4096, 0, 0, NULL,
     "MaxMind DB file (.mmdb) for the country of each click; unset = no country",
     &main_app.cfg.geoip_db},
    {"PG_STATEMENT_TIMEOUT_MS", CFG_INT, "10000", 10, 600000, 0, 0, NULL,
     "statement_timeout of the worker's connection (one INSERT of up to 8191 rows)",
     &main_app.cfg.pg_statement_timeout_ms},
    {"REDIS_TIMEOUT_MS", CFG_INT, "1000", 10, 60000, 0, 0, NULL,
     "Redis connect and command timeout (the blocking read gets EVENT_BLOCK_MS on top)",
     &main_app.cfg.redis_timeout_ms},
};

/* GET /health: the state the consumer thread last saw; no query of its own. */
static int main_health(struct http_req *req, struct http_resp *resp)
{
    struct main_app *app = req->app;
    struct consumer_stats *st = consumer_stats(app->consumer);
    int db_ok = atomic_load(&st->db_ok), kv_ok = atomic_load(&st->kv_ok);
    int ok = db_ok && kv_ok;
    char body[192];
    int n = snprintf(body, sizeof(body),
                     "{\"status\":\"%s\",\"database\":\"%s\",\"redis\":\"%s\",\"pending\":%ld,"
                     "\"lag\":%ld}",
                     ok ? "ok" : "degraded", db_ok ? "ok" : "down", kv_ok ? "ok" : "down",
                     atomic_load(&st->pending), atomic_load(&st->lag));
    return http_reply_json(resp, ok ? 200 : 503, strndup(body, (size_t)n), (size_t)n);
}

/* GET /livez: 200 while the consumer loop keeps finishing steps; never asks Redis or PostgreSQL. */
static int main_livez(struct http_req *req, struct http_resp *resp)
{
    struct main_app *app = req->app;
    long long idle =
        (long long)timefmt_mono_ms() - atomic_load(&consumer_stats(app->consumer)->step_ms);
    if (idle < MAIN_STALL_MS)
        return http_reply_json(resp, 200, strdup(MAIN_JSON_OK), sizeof(MAIN_JSON_OK) - 1);
    log_error("consumer loop stalled: no step finished for %lld ms", idle);
    return http_reply_json(resp, 503, strdup(MAIN_JSON_STALLED), sizeof(MAIN_JSON_STALLED) - 1);
}

/* GET /readyz: 200 when Redis, PostgreSQL and the consumer group were fine at the last step. */
static int main_readyz(struct http_req *req, struct http_resp *resp)
{
    struct main_app *app = req->app;
    struct consumer_stats *st = consumer_stats(app->consumer);
    int db = atomic_load(&st->db_ok), kv = atomic_load(&st->kv_ok);
    int group = kv && atomic_load(&st->group_ok);
    if (db && kv && group)
        return http_reply_json(resp, 200, strdup(MAIN_JSON_OK), sizeof(MAIN_JSON_OK) - 1);
    char body[128];
    int n = snprintf(body, sizeof(body), "{\"status\":\"unavailable\",\"missing\":[%s%s%s%s%s]}",
                     db ? "" : "\"database\"", !db && !kv ? "," : "", kv ? "" : "\"redis\"",
                     (!db || !kv) && !group ? "," : "", group ? "" : "\"group\"");
    return http_reply_json(resp, 503, strndup(body, (size_t)n), (size_t)n);
}

/* GET /metrics: Prometheus text (exporter.c), the health server's own figures, the process. */
static int main_metrics(struct http_req *req, struct http_resp *resp)
{
    struct main_app *app = req->app;
    struct buf b;
    buf_init(&b, MAIN_METRICS_MAX);
    int rc = app->http ? http_server_metrics_write(app->http, &b, "shortener_http") : 0;
    if (rc == 0)
        rc = exporter_write(&b, consumer_stats(app->consumer), (int)app->cfg.stream_shards);
    if (rc == 0)
        rc = metrics_process_write(&b);
    http_reply_metrics(resp, rc ? NULL : &b);
    buf_release(&b);
    return resp->status;
}

static const struct route main_routes[] = {
    {"/health", HTTP_GET, main_health},
    {"/livez", HTTP_GET, main_livez},
    {"/readyz", HTTP_GET, main_readyz},
    {"/metrics", HTTP_GET, main_metrics},
};

static struct http_server *main_http_start(struct main_app *app)
{
    struct http_server_cfg hc = {
        .svc = MAIN_SVC,
        .bind_addr = app->cfg.bind_addr,
        .port = (int)app->cfg.port,
        .threads = 2, /* probes only; MHD warns about a pool of 1 */
        .conn_limit = 64,
        .timeout_s = 10,
        .body_max = 4096,
        .routes = main_routes,
        .nroutes = ARRAY_SIZE(main_routes),
        .app = app,
        .access_log = 1,
    };
    char err[256];
    struct http_server *srv = http_server_start(&hc, err, sizeof(err));
    if (!srv)
        log_die("%s", err);
    return srv;
}

/* EVENT_CONSUMER, or "<hostname>-<pid>": unique per process, so a restart is a new consumer. */
static const char *main_consumer(const struct main_cfg *cfg)
{
    char host[MAIN_CONSUMER_MAX + 1];
    if (cfg->consumer)
        return cfg->consumer;
    if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
        snprintf(host, sizeof(host), "localhost");
    host[MAIN_CONSUMER_MAX] = '\0';
    snprintf(main_consumer_name, sizeof(main_consumer_name), "%s-%ld", host, (long)getpid());
    return main_consumer_name;
}

/* The analytics (user-agent rules, GeoIP): a file that cannot be read stops the start-up. */
static struct derive *main_derive(const struct main_cfg *cfg)
{
    char err[512];
    struct derive_cfg dc = {
        .ua_regexes = cfg->ua_regexes,
        .geoip_db = cfg->geoip_db,
        .ua_cache = (size_t)cfg->ua_cache,
    };
    struct derive *d = derive_new(&dc, err, sizeof(err));
    if (!d)
        log_die("cannot load the click analytics: %s", err);
    return d;
}

/* Steps the consumer until SIGTERM/SIGINT; returns the signal. */
static int main_loop(struct consumer *c)
{
    for (;;) {
        int sig = signals_wait(0);
        if (sig)
            return sig;
        int delay = consumer_step(c);
        if (delay > 0 && (sig = signals_wait(delay)) != 0)
            return sig;
    }
}

int main(int argc, char **argv)
{
    struct main_app *app = &main_app;
    if (svc_flags(argc, argv, main_cfg, ARRAY_SIZE(main_cfg)))
        return 0;
    svc_load_config(MAIN_SVC, main_cfg, ARRAY_SIZE(main_cfg), &app->cfg.log_level);
    signals_block();
    struct consumer_cfg cc = {
        .group = CLICKSTREAM_GROUP,
        .name = main_consumer(&app->cfg),
        .nshards = (int)app->cfg.stream_shards,
        .batch = (int)app->cfg.batch,
        .block_ms = (int)app->cfg.block_ms,
        .claim_idle_ms = (int)app->cfg.claim_idle_ms,
        .maxlen_dead = app->cfg.maxlen_dead,
        .retention_months = app->cfg.retention_months,
    };
    /* The socket timeout must outlast BLOCK, or every idle read would fail as a timeout. */
    struct kv *kv = kv_new(app->cfg.redis_url, (int)(app->cfg.redis_timeout_ms + cc.block_ms));
    if (!kv)
        log_die("cannot use REDIS_URL (expected redis://[:password@]host[:port][/db])");
    struct db *db = db_new(app->cfg.database_url, (int)app->cfg.pg_statement_timeout_ms);
    cc.derive = main_derive(&app->cfg);
    app->consumer = db ? consumer_new(&cc, kv, db) : NULL;
    if (!app->consumer)
        log_die("out of memory creating the consumer");
    struct http_server *srv = main_http_start(app);
    app->http = srv;
    log_info("health on %s:%d", app->cfg.bind_addr, http_server_port(srv));

    int sig = main_loop(app->consumer);
    log_info("signal %d: stopping", sig);
    app->http = NULL;
    http_server_stop(srv);
    consumer_log_totals(app->consumer);
    consumer_free(app->consumer);
    derive_log_totals(cc.derive);
    derive_free(cc.derive);
    db_free(db);
    kv_free(kv);
    log_info("stopped");
    return 0;
}
