/*
 * handlers.h - redirect-svc's handlers: the redirect itself and /health.
 */
#ifndef HANDLERS_H
#define HANDLERS_H

struct http_req;
struct http_resp;

/* GET|HEAD /<code>: 302 to the link, 404 JSON, or 503 JSON (redirect.c). */
int h_redirect(struct http_req *req, struct http_resp *resp);

/* GET /health: 200 when Redis answers and the read model is complete, else 503 (h_health.c). */
int h_health_get(struct http_req *req, struct http_resp *resp);

#endif
