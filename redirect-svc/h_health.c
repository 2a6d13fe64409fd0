/*
 * h_health.c - GET /health for redirect-svc.
 *
 * 200 {"status":"ok","redis":"ok","readmodel":"complete"} when this instance can
 * answer redirects; 503 with "status":"degraded" when Redis is down or the read
 * model is not loaded (a load balancer should then send redirects elsewhere).
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "handlers.h"
#include "http.h"
#include "kv.h"
#include "kvthread.h"
#include "shortcode.h"
#include "banned.h"

int h_health_get(struct http_req *req, struct http_resp *resp)
{
    struct app *app = req->app;
    struct kv *kv = kvthread_get(app->kvt);
    const char *argv[] = {"EXISTS", SHORTCODE_MARKER_KEY};
    struct redisReply *r = NULL;
    int kv_ok = kv && kv_command(kv, 2, argv, NULL, &r) == 0;
    int complete = kv_ok && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r)
        freeReplyObject(r);
    char body[128];
    int n = snprintf(body, sizeof(body), "{\"status\":\"%s\",\"redis\":\"%s\",\"readmodel\":\"%s\"}",
                     complete ? "ok" : "degraded", kv_ok ? "ok" : "down",
                     complete ? "complete" : (kv_ok ? "loading" : "unknown"));
    return http_reply_json(resp, complete ? 200 : 503, strndup(body, (size_t)n), (size_t)n);
}
