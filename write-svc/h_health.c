/*
 * h_health.c - GET /health, /livez and /readyz.
 *
 * /health: 200 {"status":"ok", "database":"ok", "redis":"ok", "readmodel":"complete"}
 * when PostgreSQL and Redis answer; 503 with "status":"degraded" and the failing
 * part marked "down" otherwise. A read model still being rebuilt is reported
 * ("rebuilding") but does not make /health fail (API.md: it stays as it is).
 *
 * /livez: 200 {"status":"ok"} from the HTTP thread alone, touching neither
 * PostgreSQL nor Redis: a dependency that is down never makes the process look
 * dead (restarting it would not bring the dependency back).
 *
 * /readyz: 200 {"status":"ok"} when this instance can serve the whole API: a
 * pooled PostgreSQL connection answers, Redis answers, and the read model is
 * complete. Otherwise 503 {"status":"unavailable","missing":[...]} naming
 * "database", "redis" and/or "readmodel" (Redis down: the read model cannot be
 * known, so both are named).
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "readmodel.h"

#include "banned.h"

#define H_HEALTH_OK "{\"status\":\"ok\"}"

/* What a probe of the three dependencies found: 1 = fine. */
struct h_health_probe {
    int db_ok, kv_ok, complete;
};

static void h_health_probe(struct app *app, struct h_health_probe *p)
{
    struct db *db = db_pool_acquire(app->pool);
    p->db_ok = db && db_exec(db, "health_ping", "SELECT 1", 0, NULL, NULL) == 0;
    db_pool_release(app->pool, db);
    p->kv_ok = readmodel_ping(app) == 0;
    p->complete = p->kv_ok ? readmodel_complete(app) == 1 : 0;
}

int h_health_get(struct http_req *req, struct http_resp *resp)
{
    struct h_health_probe p;
    h_health_probe(req->app, &p);
    int ok = p.db_ok && p.kv_ok;
    char body[160];
    int n = snprintf(body, sizeof(body),
                     "{\"status\":\"%s\",\"database\":\"%s\",\"redis\":\"%s\","
                     "\"readmodel\":\"%s\"}",
                     ok ? "ok" : "degraded", p.db_ok ? "ok" : "down", p.kv_ok ? "ok" : "down",
                     p.complete ? "complete" : (p.kv_ok ? "rebuilding" : "unknown"));
    return http_reply_json(resp, ok ? 200 : 503, strndup(body, (size_t)n), (size_t)n);
}

int h_health_livez(struct http_req *req, struct http_resp *resp)
{
    (void)req;
    return http_reply_json(resp, 200, strdup(H_HEALTH_OK), sizeof(H_HEALTH_OK) - 1);
}

int h_health_readyz(struct http_req *req, struct http_resp *resp)
{
    struct h_health_probe p;
    h_health_probe(req->app, &p);
    if (p.db_ok && p.kv_ok && p.complete)
        return http_reply_json(resp, 200, strdup(H_HEALTH_OK), sizeof(H_HEALTH_OK) - 1);
    char body[128];
    int n = snprintf(body, sizeof(body), "{\"status\":\"unavailable\",\"missing\":[%s%s%s%s%s]}",
                     p.db_ok ? "" : "\"database\"", !p.db_ok && !p.kv_ok ? "," : "",
                     p.kv_ok ? "" : "\"redis\"", (!p.db_ok || !p.kv_ok) && !p.complete ? "," : "",
                     p.complete ? "" : "\"readmodel\"");
    return http_reply_json(resp, 503, strndup(body, (size_t)n), (size_t)n);
}
