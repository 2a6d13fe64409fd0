/*
 * h_live.c - GET /events/live: the live click feed as Server-Sent Events (live.h). Each
 * click redirect-svc appends to a click stream arrives as
 *   id: <shard>:<stream id>
 *   event: click
 *   data: {"stream_id", "url_id", "ts" (ms since the epoch), "short_code", "original_url",
 *          "referrer", "user_agent"}
 * after an "event: hello" that opens the stream; "event: gap" ({"skipped": n}) tells a
 * client that it fell behind; ": ping" comments come every 15 s. 503 JSON when the
 * instance already serves LIVE_MAX_CLIENTS streams. X-Accel-Buffering: no keeps nginx from
 * buffering the stream.
 */
#include "app.h"
#include "handlers.h"
#include "http.h"
#include "live.h"

#include "banned.h"

int h_live_get(struct http_req *req, struct http_resp *resp)
{
    struct app *app = req->app;
    struct live_client *c = app->live ? live_client_new(app->live) : NULL;
    if (!c)
        return http_reply_error(resp, 503, "Service unavailable: too many live feed clients");
    http_reply_stream(resp, "text/event-stream", live_client_read, live_client_release, c);
    resp->cache_control = "no-cache";
    resp->extra_name = "X-Accel-Buffering";
    resp->extra_value = "no";
    return 200;
}
