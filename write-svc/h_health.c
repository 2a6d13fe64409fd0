/*
 * h_health.c - GET /health: liveness plus readiness detail.
 *
 * 200 {"status":"ok", "database":"ok", "redis":"ok", "readmodel":"complete"} when
 * PostgreSQL and Redis answer; 503 with "status":"degraded" and the failing
 * part marked "down" otherwise. A read model still being rebuilt is reported
 * ("rebuilding") but does not make write-svc unhealthy: it can serve the API.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "readmodel.h"

#include "banned.h"

int h_health_get(struct http_req *req, struct http_resp *resp)
{
    struct app *app = req->app;
    struct db *db = db_pool_acquire(app->pool);
    int db_ok = db && db_exec(db, "health_ping", "SELECT 1", 0, NULL, NULL) == 0;
    db_pool_release(app->pool, db);
    int kv_ok = readmodel_ping(app) == 0;
    int complete = kv_ok ? readmodel_complete(app) : 0;
    int ok = db_ok && kv_ok;
    char body[160];
    int n = snprintf(body, sizeof(body),
                     "{\"status\":\"%s\",\"database\":\"%s\",\"redis\":\"%s\","
                     "\"readmodel\":\"%s\"}",
                     ok ? "ok" : "degraded", db_ok ? "ok" : "down", kv_ok ? "ok" : "down",
                     complete == 1 ? "complete" : (kv_ok ? "rebuilding" : "unknown"));
    return http_reply_json(resp, ok ? 200 : 503, strndup(body, (size_t)n), (size_t)n);
}
