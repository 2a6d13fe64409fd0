/*
 * fuzz_dispatch.c - write-svc's request handling without a socket: http_dispatch() over the
 * real route table with every handler, for JSON bodies, query values, paths and CSV or
 * multipart uploads (DECISIONS.md H7).
 *
 * No database and no Redis: the pool has no connection (acquiring one fails at once) and the
 * Redis URL points at a closed loopback port, so every request that passes parsing and
 * validation ends in a deterministic 503; what is fuzzed is everything before the store.
 *
 * Input: byte 0 picks the route (one of ROUTES, or "path from the input" past them), byte 1 the
 * Content-Type; then "<path>\n<query>\n<body>" (the path line is used only in the second case).
 * Properties: never 500 or another status outside the API's; a JSON answer parses as JSON.
 */
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "db.h"
#include "fuzz.h"
#include "http.h"
#include "kvthread.h"
#include "log.h"
#include "routes.h"

#include "banned.h"

static struct app fuzz_app;

static const struct {
    const char *method, *path;
} fuzz_routes[] = {
    {"POST", "/users"},        {"PUT", "/users/1"},      {"PATCH", "/users/1"},
    {"POST", "/users/bulk"},   {"POST", "/urls"},        {"PUT", "/urls/1"},
    {"PATCH", "/urls/1"},      {"POST", "/events"},      {"PUT", "/events/1"},
    {"PATCH", "/events/1"},    {"GET", "/users"},        {"GET", "/urls"},
    {"GET", "/events"},        {"GET", "/urls/1/stats"}, {"GET", "/urls/1/qr"},
    {"GET", "/urls/1/events"}, {"DELETE", "/urls/1"},    {"GET", "/openapi.json"},
};
#define FUZZ_NROUTES (sizeof(fuzz_routes) / sizeof(fuzz_routes[0]))

static const char *const fuzz_ctypes[] = {
    "application/json",
    "text/csv",
    "multipart/form-data; boundary=b",
    NULL,
    "text/plain",
    "multipart/form-data; boundary=\"x y\"",
};

static void fuzz_dispatch_init(void)
{
    static int done;
    if (done++)
        return;
    log_init("fuzz", LOG_FATAL);
    struct app_cfg *c = &fuzz_app.cfg;
    c->bulk_max_rows = 1000;
    c->body_max_bytes = 1 << 20;
    c->stream_shards = 8;
    c->events_wait_ms = 0;
    c->pg_acquire_timeout_ms = 0;
    c->redis_timeout_ms = 20;
    c->public_base_url = "http://127.0.0.1:8080";
    c->public_base_len = strlen(c->public_base_url);
    fuzz_app.pool = db_pool_new("postgresql://127.0.0.1:1/none", 0, 100, 0);
    fuzz_app.kvt = kvthread_new("redis://127.0.0.1:1", 20);
    if (!fuzz_app.pool || !fuzz_app.kvt)
        abort();
}

/* Splits "k=v&k2&..." (in place) into req->query. */
static void fuzz_query(char *q, struct http_req *req)
{
    while (q && *q && req->nquery < HTTP_MAX_QUERY) {
        char *amp = strchr(q, '&');
        if (amp)
            *amp = '\0';
        char *eq = strchr(q, '=');
        if (eq)
            *eq = '\0';
        req->query[req->nquery].key = q;
        req->query[req->nquery].value = eq ? eq + 1 : NULL;
        req->nquery++;
        q = amp ? amp + 1 : NULL;
    }
}

static void fuzz_dispatch_check(const struct http_resp *resp)
{
    static const int ok[] = {200, 201, 204, 400, 404, 405, 409, 410, 413, 422, 503};
    int known = 0;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        known |= resp->status == ok[i];
    FUZZ_CHECK(known);
    if (resp->body && resp->content_type && strcmp(resp->content_type, "application/json") == 0) {
        json_t *j = json_loadb(resp->body, resp->body_len, JSON_DECODE_ANY, NULL);
        FUZZ_CHECK(j != NULL);
        json_decref(j);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p[3];
    size_t lens[3], n;
    if (size < 2)
        return 0;
    fuzz_dispatch_init();
    char *own = fuzz_split(data + 2, size - 2, '\n', 3, p, lens);
    struct http_req req;
    struct http_resp resp = {0};
    memset(&req, 0, sizeof(req));
    size_t r = data[0] % (FUZZ_NROUTES + 1);
    req.method_str = r < FUZZ_NROUTES ? fuzz_routes[r].method : (data[0] & 1 ? "POST" : "GET");
    req.method = router_method_parse(req.method_str);
    req.path = r < FUZZ_NROUTES ? fuzz_routes[r].path : p[0];
    req.body = p[2];
    req.body_len = lens[2];
    req.content_type = fuzz_ctypes[data[1] % (sizeof(fuzz_ctypes) / sizeof(fuzz_ctypes[0]))];
    snprintf(req.req_id, sizeof(req.req_id), "fuzz");
    req.app = &fuzz_app;
    fuzz_query(p[1], &req);
    const struct route *routes = routes_table(&n);
    http_dispatch(routes, n, NULL, &req, &resp);
    fuzz_dispatch_check(&resp);
    http_resp_release(&resp);
    free(own);
    return 0;
}
