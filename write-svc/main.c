/*
 * main.c - write-svc: cfg_load -> db pool -> schema check -> read model -> HTTP
 * -> wait for SIGTERM/SIGINT -> stop HTTP (drains in-flight requests) -> free all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "config.h"
#include "db.h"
#include "dest.h"
#include "http.h"
#include "keys.h"
#include "kvthread.h"
#include "live.h"
#include "log.h"
#include "ratelimit.h"
#include "readmodel.h"
#include "routes.h"
#include "signals.h"
#include "svc.h"
#include "validate.h"

#include "banned.h"

#define MAIN_SVC "write-svc"
/* PUBLIC_BASE_URL's length cap: base + "/" + a 16-byte code must fit QR_TEXT_MAX. */
#define MAIN_BASE_URL_MAX 256

static struct app main_app;

/* The configuration table (CONVENTIONS.md 10.7); deploy/env.example is generated from it. */
static const struct cfg_entry main_cfg[] = {
    CFG_DATABASE_URL(&main_app.cfg.database_url),
    CFG_REDIS_URL(&main_app.cfg.redis_url),
    {"BIND_ADDR", CFG_STRING, "127.0.0.1", 0, 0, 0, 0, NULL, "address to listen on",
     &main_app.cfg.bind_addr},
    CFG_PORT("8081", "HTTP", &main_app.cfg.port),
    CFG_LOG_LEVEL(&main_app.cfg.log_level),
    {"HTTP_THREADS", CFG_INT, "8", 1, 256, 0, 0, NULL, "HTTP worker threads",
     &main_app.cfg.http_threads},
    {"HTTP_CONN_LIMIT", CFG_INT, "4096", 16, 1000000, 0, 0, NULL, "open connections at most",
     &main_app.cfg.http_conn_limit},
    {"HTTP_TIMEOUT_S", CFG_INT, "30", 1, 3600, 0, 0, NULL, "idle connection timeout (seconds)",
     &main_app.cfg.http_timeout_s},
    {"BODY_MAX_BYTES", CFG_INT, "1048576", 1024, 67108864, 0, 0, NULL,
     "request body cap; 413 above it", &main_app.cfg.body_max_bytes},
    {"PG_POOL_SIZE", CFG_INT, "8", 1, 256, 0, 0, NULL, "PostgreSQL connections per instance",
     &main_app.cfg.pg_pool_size},
    {"PG_STATEMENT_TIMEOUT_MS", CFG_INT, "5000", 10, 600000, 0, 0, NULL,
     "statement_timeout of every connection", &main_app.cfg.pg_statement_timeout_ms},
    {"PG_ACQUIRE_TIMEOUT_MS", CFG_INT, "2000", 1, 60000, 0, 0, NULL,
     "wait for a free connection before answering 503", &main_app.cfg.pg_acquire_timeout_ms},
    {"PG_POOLER", CFG_ENUM, "none", 0, 0, 0, 0, "none|session|transaction",
     "what DATABASE_URL reaches: PostgreSQL (none), a session-mode pooler (statement_timeout "
     "SET after connecting) or a transaction-mode pooler such as PgBouncer (unnamed statements; "
     "statement_timeout is the pooler's, PG_STATEMENT_TIMEOUT_MS unused)",
     &main_app.cfg.pg_pooler},
    {"REDIS_TIMEOUT_MS", CFG_INT, "1000", 10, 60000, 0, 0, NULL,
     "Redis connect and command timeout", &main_app.cfg.redis_timeout_ms},
    CFG_STREAM_SHARDS(&main_app.cfg.stream_shards),
    {"READMODEL_CHECK_MS", CFG_INT, "1000", 50, 600000, 0, 0, NULL,
     "how often the read-model marker is checked (rebuild when missing)",
     &main_app.cfg.readmodel_check_ms},
    {"EVENTS_WAIT_MS", CFG_INT, "2000", 0, 60000, 0, 0, NULL,
     "event reads wait at most this long for earlier clicks to be persisted",
     &main_app.cfg.events_wait_ms},
    {"BULK_MAX_ROWS", CFG_INT, "100000", 1, 10000000, 0, 0, NULL,
     "rows accepted by one POST /users/bulk", &main_app.cfg.bulk_max_rows},
    {"BULK_STRICT", CFG_BOOL, "false", 0, 0, 0, 0, NULL,
     "bulk rows must pass POST /users's username and email rules (a bad row refuses the file); "
     "false imports any non-empty username and email, as API.md asks",
     &main_app.cfg.bulk_strict},
    {"API_AUTH", CFG_ENUM, "open", 0, 0, 0, 0, "open|keys",
     "open: no credentials (API.md); keys: every API route needs an API key (docs/SECURITY.md)",
     &main_app.cfg.api_auth},
    {"API_KEY_CACHE_MS", CFG_INT, "500", 0, 1000, 0, 0, NULL,
     "a key lookup is reused this long (a revoked key is refused within it; 0: no cache)",
     &main_app.cfg.api_key_cache_ms},
    {"LIVE_MAX_CLIENTS", CFG_INT, "32", 0, 10000, 0, 0, NULL,
     "GET /events/live streams served at once by this instance (503 above)",
     &main_app.cfg.live_max_clients},
    {"DASHBOARD_TARGETS", CFG_STRING, NULL, 0, 0, 0, 0, NULL,
     "instances the dashboard's System page shows: name=http://host:port,...",
     &main_app.cfg.dashboard_targets},
    {"PUBLIC_BASE_URL", CFG_URL, "http://127.0.0.1:8080", 0, 0, 0, 0, NULL,
     "address short links are served at, for QR codes (http/https, no query; trailing / dropped)",
     &main_app.cfg.public_base_url},
    CFG_TRUSTED_PROXIES(&main_app.cfg.trusted_proxies),
    {"RATE_LIMIT_EXEMPT", CFG_LIST, "127.0.0.0/8,::1", 0, 4096, 0, 0, NULL,
     "CIDR list of client addresses never rate limited (set but empty: none)",
     &main_app.cfg.rl_exempt},
    {"RATE_LIMIT_WRITE_PER_MIN", CFG_INT, "120", 0, 6000000, 0, 0, NULL,
     "writes (POST/PUT/PATCH/DELETE) per minute per API key or client address; 0: unlimited",
     &main_app.cfg.rl_write_per_min},
    {"RATE_LIMIT_WRITE_BURST", CFG_INT, "20", 1, 1000000, 0, 0, NULL,
     "writes allowed at once before the per-minute pace applies", &main_app.cfg.rl_write_burst},
    {"RATE_LIMIT_READ_PER_MIN", CFG_INT, "1200", 0, 6000000, 0, 0, NULL,
     "reads per minute per API key or client address; 0: unlimited", &main_app.cfg.rl_read_per_min},
    {"RATE_LIMIT_READ_BURST", CFG_INT, "100", 1, 1000000, 0, 0, NULL,
     "reads allowed at once before the per-minute pace applies", &main_app.cfg.rl_read_burst},
    CFG_SELF_HOSTS(&main_app.cfg.self_hosts),
    {"BLOCKLIST_FILE", CFG_STRING, NULL, 0, 0, 0, 0, NULL,
     "file of blocked link domains, one per line, # comments (subdomains blocked too)",
     &main_app.cfg.blocklist_file},
};

/*
 * PUBLIC_BASE_URL must be an http(s) URL (validate_url) without query or fragment, short
 * enough for a QR code; trailing slashes are dropped (a QR code holds base + "/" + code).
 */
static void main_check_base_url(struct app *app)
{
    const char *s = app->cfg.public_base_url;
    size_t len = strlen(s);
    const char *why = NULL;
    if (validate_url(s, len, &why) != 0)
        log_die("PUBLIC_BASE_URL: %s (expected http://host[:port][/path])", why);
    if (strpbrk(s, "?#"))
        log_die("PUBLIC_BASE_URL: must not hold a query or fragment");
    if (len > MAIN_BASE_URL_MAX)
        log_die("PUBLIC_BASE_URL: longer than %d bytes", MAIN_BASE_URL_MAX);
    while (len > 0 && s[len - 1] == '/')
        len--;
    app->cfg.public_base_len = len;
}

/* TRUSTED_PROXIES, RATE_LIMIT_EXEMPT, SELF_HOSTS and BLOCKLIST_FILE: a bad one stops start-up. */
static void main_load_lists(struct app *app)
{
    const char *why = NULL;
    size_t at = 0;
    char err[512];
    if (netaddr_list_parse(app->cfg.trusted_proxies, &app->trusted, &why, &at) != 0)
        log_die("TRUSTED_PROXIES: %s (at offset %zu)", why, at);
    if (netaddr_list_parse(app->cfg.rl_exempt, &app->rl_exempt, &why, &at) != 0)
        log_die("RATE_LIMIT_EXEMPT: %s (at offset %zu)", why, at);
    app->dest = dest_new(app->cfg.public_base_url, app->cfg.self_hosts, app->cfg.blocklist_file,
                         err, sizeof(err));
    if (!app->dest)
        log_die("%s", err);
    if (app->cfg.blocklist_file)
        log_info("blocklist: %zu domains from '%s'", dest_blocked_count(app->dest),
                 app->cfg.blocklist_file);
}

/* Fail fast: the database must answer and carry the schema before we accept traffic. */
static void main_check_schema(struct app *app)
{
    struct db *db = db_pool_acquire(app->pool);
    if (!db)
        log_die("no database handle");
    int rc = db_exec(db, NULL, "SELECT 1 FROM schema_migrations LIMIT 1", 0, NULL, NULL);
    if (rc)
        log_die("database not ready (is it migrated? run scripts/migrate.sh): %s", db_errmsg(db));
    if (strcmp(app->cfg.api_auth, "keys") == 0 &&
        db_exec(db, NULL, "SELECT 1 FROM api_keys LIMIT 0", 0, NULL, NULL) != 0)
        log_die("API_AUTH=keys needs the api_keys table (run scripts/migrate.sh): %s",
                db_errmsg(db));
    db_pool_release(app->pool, db);
}

static struct http_server *main_http_start(struct app *app)
{
    size_t nroutes;
    const struct route *routes = routes_table(&nroutes);
    struct http_server_cfg hc = {
        .svc = MAIN_SVC,
        .bind_addr = app->cfg.bind_addr,
        .port = (int)app->cfg.port,
        .threads = (int)app->cfg.http_threads,
        .conn_limit = (int)app->cfg.http_conn_limit,
        .timeout_s = (int)app->cfg.http_timeout_s,
        .body_max = (size_t)app->cfg.body_max_bytes,
        .routes = routes,
        .nroutes = nroutes,
        .app = app,
        .access_log = 1,
        .trusted_proxies = &app->trusted,
    };
    /* Authentication first (in keys mode), then the rate limit of the key or address. */
    size_t g = 0;
    if (app->auth)
        hc.guards[g++] = auth_guard;
    hc.guards[g] = ratelimit_guard;
    char err[256];
    struct http_server *srv = http_server_start(&hc, err, sizeof(err));
    if (!srv)
        log_die("%s", err);
    return srv;
}

int main(int argc, char **argv)
{
    struct app *app = &main_app;
    if (argc >= 2 && strcmp(argv[1], "keys") == 0)
        return keys_cli(argc - 1, argv + 1);
    if (svc_flags(argc, argv, main_cfg, ARRAY_SIZE(main_cfg)))
        return 0;
    svc_load_config(MAIN_SVC, main_cfg, ARRAY_SIZE(main_cfg), &app->cfg.log_level);
    main_check_base_url(app);
    main_load_lists(app);
    signals_block();
    app->kvt = kvthread_new(app->cfg.redis_url, (int)app->cfg.redis_timeout_ms);
    if (!app->kvt)
        log_die("cannot use REDIS_URL (expected redis://[:password@]host[:port][/db])");
    app->pool =
        db_pool_new(app->cfg.database_url, (int)app->cfg.pg_pool_size,
                    (int)app->cfg.pg_statement_timeout_ms, (int)app->cfg.pg_acquire_timeout_ms);
    if (!app->pool)
        log_die("out of memory creating the database pool");
    int pooler = db_pooler_parse(app->cfg.pg_pooler);
    if (pooler < 0)
        log_die("PG_POOLER '%s' is not a pooler mode", app->cfg.pg_pooler);
    db_pool_set_pooler(app->pool, (enum db_pooler)pooler);
    main_check_schema(app);
    if (strcmp(app->cfg.api_auth, "keys") == 0 &&
        !(app->auth = auth_cache_new(app->cfg.api_key_cache_ms)))
        log_die("out of memory creating the API key cache");
    int rc = readmodel_rebuild_if_needed(app);
    if (rc)
        log_warn("read model not rebuilt at start-up (retrying in the background): %d", rc);
    if (readmodel_watcher_start(app) != 0)
        log_die("cannot start the read-model watcher thread");
    app->live = live_new(app->cfg.redis_url, (unsigned)app->cfg.stream_shards,
                         (int)app->cfg.live_max_clients);
    if (!app->live)
        log_die("cannot start the live click feed");
    struct http_server *srv = main_http_start(app);
    app->http = srv;
    log_info("listening on %s:%d", app->cfg.bind_addr, http_server_port(srv));

    int sig = signals_wait(-1);
    log_info("signal %d: draining %ld in-flight requests and stopping", sig,
             http_server_in_flight(srv));
    app->http = NULL;
    live_stop(app->live);
    http_server_stop(srv);
    live_free(app->live);
    app->live = NULL;
    readmodel_watcher_stop(app);
    kvthread_free(app->kvt);
    db_pool_free(app->pool);
    dest_free(app->dest);
    auth_cache_free(app->auth);
    log_info("stopped");
    return 0;
}
