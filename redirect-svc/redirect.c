/*
 * redirect.c - GET|HEAD /<code>: 302 to the link (one click recorded for a GET),
 * 404 JSON for an unknown, inactive or deleted code, 503 JSON when Redis is
 * unreachable or the read model is not loaded (never a false 404).
 *
 * Cache-Control: private, max-age=0 on the 302: a cached redirect would hide
 * clicks and keep serving a link after it was deactivated.
 */
#include <stdlib.h>

#include "app.h"
#include "follow.h"
#include "handlers.h"
#include "http.h"
#include "validate.h"
#include "banned.h"

int h_redirect(struct http_req *req, struct http_resp *resp)
{
    struct app *app = req->app;
    const char *code = req->match.params[0].p;
    size_t len = req->match.params[0].len;
    if (validate_short_code(code, len) != 0)
        return http_reply_error(resp, 404, "URL not found"); /* cannot exist: spare Redis */
    struct follow_click click = {
        .record = req->method == HTTP_GET,
        .referrer = req->referer,
        .agent = req->user_agent,
    };
    char *url = NULL;
    switch (follow_link(app, code, len, &click, req->req_id, &url)) {
    case FOLLOW_FOUND:
        http_reply_empty(resp, 302);
        resp->location = url;
        resp->cache_control = "private, max-age=0";
        return resp->status;
    case FOLLOW_NOT_FOUND:
        return http_reply_error(resp, 404, "URL not found");
    case FOLLOW_NOT_READY:
        return http_reply_error(resp, 503, "Service unavailable: read model is loading");
    default:
        return http_reply_error(resp, 503, "Service unavailable: cache unreachable");
    }
}
