/*
 * handlers.h - write-svc's request handlers, one file per resource
 * (h_health.c, h_metrics.c, h_openapi.c, h_users.c, h_bulk.c, h_urls.c,
 * h_events.c). Each takes the plain request, fills the response and returns
 * the status it set; routes.c maps paths to them. Handlers parse -> validate -> store -> reply.
 */
#ifndef HANDLERS_H
#define HANDLERS_H

struct http_req;
struct http_resp;

int h_health_get(struct http_req *req, struct http_resp *resp);
int h_health_livez(struct http_req *req, struct http_resp *resp);
int h_health_readyz(struct http_req *req, struct http_resp *resp);
int h_metrics_get(struct http_req *req, struct http_resp *resp);
int h_openapi_get(struct http_req *req, struct http_resp *resp);

int h_users_list(struct http_req *req, struct http_resp *resp);
int h_users_get(struct http_req *req, struct http_resp *resp);
int h_users_create(struct http_req *req, struct http_resp *resp);
int h_users_update(struct http_req *req, struct http_resp *resp);
int h_users_delete(struct http_req *req, struct http_resp *resp);
int h_bulk_users(struct http_req *req, struct http_resp *resp);

int h_urls_list(struct http_req *req, struct http_resp *resp);
int h_urls_get(struct http_req *req, struct http_resp *resp);
int h_urls_create(struct http_req *req, struct http_resp *resp);
int h_urls_update(struct http_req *req, struct http_resp *resp);
int h_urls_delete(struct http_req *req, struct http_resp *resp);
int h_urls_events(struct http_req *req, struct http_resp *resp);
int h_urls_stats(struct http_req *req, struct http_resp *resp);
/* GET /urls/<id>/qr?format=png|svg&size=&margin= (h_qr.c) */
int h_urls_qr(struct http_req *req, struct http_resp *resp);

int h_events_list(struct http_req *req, struct http_resp *resp);
int h_events_get(struct http_req *req, struct http_resp *resp);
int h_events_create(struct http_req *req, struct http_resp *resp);
int h_events_update(struct http_req *req, struct http_resp *resp);
int h_events_delete(struct http_req *req, struct http_resp *resp);
/* GET /events/live: Server-Sent Events of every click (h_live.c) */
int h_live_get(struct http_req *req, struct http_resp *resp);

/* GET / and GET /ui/<asset>: the dashboard, compiled in (h_ui.c) */
int h_ui_index(struct http_req *req, struct http_resp *resp);
int h_ui_asset(struct http_req *req, struct http_resp *resp);
/* GET /dashboard/system: readiness and metrics of every configured instance (h_system.c) */
int h_system_get(struct http_req *req, struct http_resp *resp);

int h_apikeys_create(struct http_req *req, struct http_resp *resp);
int h_apikeys_list(struct http_req *req, struct http_resp *resp);
int h_apikeys_delete(struct http_req *req, struct http_resp *resp);

#endif
