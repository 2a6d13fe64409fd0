/*
 * routes.c - write-svc's route table. Order matters only where patterns
 * overlap: "/users/bulk" comes before "/users/:id" (":id" only matches digits,
 * so they do not actually collide). Patterns match whole paths segment by segment, so
 * "/urls/:id" never swallows "/urls/:id/qr" or "/urls/:id/stats".
 */
#include "routes.h"

#include "handlers.h"
#include "idempotency.h"
#include "router.h"

#include "banned.h"

#define RW (HTTP_PUT | HTTP_PATCH)

/* Defines idem_<fn>, the handler fn run under the request's Idempotency-Key. */
#define IDEMPOTENT(fn)                                                                             \
    static int idem_##fn(struct http_req *req, struct http_resp *resp)                             \
    {                                                                                              \
        return idempotency_run(req, resp, fn);                                                     \
    }

IDEMPOTENT(h_users_create)
IDEMPOTENT(h_bulk_users)
IDEMPOTENT(h_urls_create)
IDEMPOTENT(h_events_create)

static const struct route routes[] = {
    {"/", HTTP_GET, h_ui_index},
    {"/ui/:code", HTTP_GET, h_ui_asset},
    {"/dashboard/system", HTTP_GET, h_system_get},
    {"/health", HTTP_GET, h_health_get},
    {"/livez", HTTP_GET, h_health_livez},
    {"/readyz", HTTP_GET, h_health_readyz},
    {"/metrics", HTTP_GET, h_metrics_get},
    {"/openapi.json", HTTP_GET, h_openapi_get},
    {"/users", HTTP_GET, h_users_list},
    {"/users", HTTP_POST, idem_h_users_create},
    {"/users/bulk", HTTP_POST, idem_h_bulk_users},
    {"/users/:id", HTTP_GET, h_users_get},
    {"/users/:id", RW, h_users_update},
    {"/users/:id", HTTP_DELETE, h_users_delete},
    {"/urls", HTTP_GET, h_urls_list},
    {"/urls", HTTP_POST, idem_h_urls_create},
    {"/urls/:id", HTTP_GET, h_urls_get},
    {"/urls/:id", RW, h_urls_update},
    {"/urls/:id", HTTP_DELETE, h_urls_delete},
    {"/urls/:id/events", HTTP_GET, h_urls_events},
    {"/urls/:id/stats", HTTP_GET, h_urls_stats},
    {"/urls/:id/qr", HTTP_GET, h_urls_qr},
    {"/events", HTTP_GET, h_events_list},
    {"/events", HTTP_POST, idem_h_events_create},
    {"/events/live", HTTP_GET, h_live_get},
    {"/events/:id", HTTP_GET, h_events_get},
    {"/events/:id", RW, h_events_update},
    {"/events/:id", HTTP_DELETE, h_events_delete},
    {"/api-keys", HTTP_GET, h_apikeys_list},
    {"/api-keys", HTTP_POST, h_apikeys_create},
    {"/api-keys/:id", HTTP_DELETE, h_apikeys_delete},
};

const struct route *routes_table(size_t *n)
{
    *n = ARRAY_SIZE(routes);
    return routes;
}
