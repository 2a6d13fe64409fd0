/*
 * server.c - the libmicrohttpd side of redirect-svc: daemons, callbacks, answers (see
 * server.h); the loop and its Redis batches are in loop.c.
 *
 * Life of a request (MHD calls server_access() several times):
 *   1. headers read: allocate the struct rctx, return MHD_YES without an
 *      answer (answering now would cost keep-alive: PERFORMANCE.md);
 *   2. body chunks, if any: discarded (redirects carry no body);
 *   3. final call: route. A redirect, /health or /readyz joins the loop's next batch
 *      (loop_enqueue) and its connection is suspended; anything else answers now;
 *   4. once the batch's replies have set rctx.result and resumed the connection,
 *      MHD calls once more and the answer is queued.
 * server_completed() writes the access line and gives the rctx back to the loop's pool.
 */
#include "server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <microhttpd.h>

#include "app.h"
#include "buf.h"
#include "client.h"
#include "follow.h"
#include "http.h"
#include "kv.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "rstats.h"
#include "timefmt.h"
#include "validate.h"

#include "banned.h"

#define SERVER_MAX_THREADS 256
/*
 * Per-connection memory pool: request line, headers and our response headers.
 * libmicrohttpd zeroes the pool between requests, so its 32 KiB default cost a
 * tenth of the CPU (perf); 8 KiB is the usual header limit (nginx, Apache).
 */
#define SERVER_CONN_MEMORY (8 * 1024)
/* Redirects carry no body: a declared body above this is refused with 413 at once. */
#define SERVER_BODY_MAX (64 * 1024)

static const char server_json_404[] = "{\"error\":\"URL not found\"}";
static const char server_json_410[] = "{\"error\":\"Link expired\"}";
static const char server_json_405[] = "{\"error\":\"Method not allowed\"}";
static const char server_json_400_te[] = "{\"error\":\"Unsupported Transfer-Encoding\"}";
static const char server_json_413[] = "{\"error\":\"Request body too large\"}";
static const char server_json_503_kv[] = "{\"error\":\"Service unavailable: cache unreachable\"}";
static const char server_json_503_rm[] =
    "{\"error\":\"Service unavailable: read model is loading\"}";
static const char server_json_health_ok[] =
    "{\"status\":\"ok\",\"redis\":\"ok\",\"readmodel\":\"complete\"}";
static const char server_json_health_loading[] =
    "{\"status\":\"degraded\",\"redis\":\"ok\",\"readmodel\":\"loading\"}";
static const char server_json_health_down[] =
    "{\"status\":\"degraded\",\"redis\":\"down\",\"readmodel\":\"unknown\"}";
static const char server_json_ok[] = "{\"status\":\"ok\"}";
static const char server_json_ready_loading[] =
    "{\"status\":\"unavailable\",\"missing\":[\"readmodel\"]}";
static const char server_json_ready_down[] =
    "{\"status\":\"unavailable\",\"missing\":[\"redis\",\"readmodel\"]}";

/* ------------------------------------------------------------------------ */
/* Answers                                                                   */
/* ------------------------------------------------------------------------ */

/* The headers every answer carries: request id and security headers (http.h). */
static void server_common_headers(struct MHD_Response *r, const struct rctx *x)
{
    MHD_add_response_header(r, "X-Request-Id", x->req_id);
    for (size_t i = 0; i < HTTP_SECURITY_NHEADERS; i++)
        MHD_add_response_header(r, http_security_headers[i][0], http_security_headers[i][1]);
}

/*
 * A redirect's answer, kept for reuse: MHD copies each header into three allocations, so a
 * fresh answer cost 22 malloc/free pairs; a pooled one keeps its status's constant headers
 * and swaps only X-Request-Id and Location. In use from server_queue_redirect() until the
 * request completes (MHD has then built the answer's header into the connection's buffer,
 * and a connection closed early only drops its reference later), then idle in the loop's
 * resp_free list of its status. Its MHD reference is ours until loop_close().
 */
struct server_resp {
    struct MHD_Response *r;
    struct server_resp *next;
    int kind; /* index into resp_free */
};

/* resp_free index of a redirect status, or -1. */
static int server_resp_kind(int status)
{
    switch (status) {
    case 301:
        return 0;
    case 302:
        return 1;
    case 307:
        return 2;
    case 308:
        return 3;
    default:
        return -1;
    }
}

/* Replaces r's header key (there at most once) by value. MHD_NO when out of memory. */
static enum MHD_Result server_resp_set(struct MHD_Response *r, const char *key, const char *value)
{
    const char *old = MHD_get_response_header(r, key);
    if (old)
        MHD_del_response_header(r, key, old); /* compares, then frees old */
    return MHD_add_response_header(r, key, value);
}

/* An idle pooled answer for status (a redirect), or a new one; NULL when out of memory. */
static struct server_resp *server_resp_get(struct rctx *x, int kind, int status)
{
    struct loop *l = x->loop;
    struct server_resp *p = l->resp_free[kind];
    if (p) {
        l->resp_free[kind] = p->next;
        return p;
    }
    if (!(p = malloc(sizeof(*p))))
        return NULL;
    p->kind = kind;
    p->next = NULL;
    p->r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!p->r) {
        free(p);
        return NULL;
    }
    int permanent = status == 301 || status == 308;
    MHD_add_response_header(p->r, MHD_HTTP_HEADER_CACHE_CONTROL,
                            permanent ? l->srv->public_cache : "private, max-age=0");
    for (size_t i = 0; i < HTTP_SECURITY_NHEADERS; i++)
        MHD_add_response_header(p->r, http_security_headers[i][0], http_security_headers[i][1]);
    return p;
}

/* Gives x's pooled answer back (at completion). */
static void server_resp_put(struct loop *l, struct rctx *x)
{
    struct server_resp *p = x->resp;
    x->resp = NULL;
    if (!p)
        return;
    p->next = l->resp_free[p->kind];
    l->resp_free[p->kind] = p;
}

/* Frees l's idle answers (the daemon stopped: no connection refers to them). */
static void server_resp_release(struct loop *l)
{
    for (int k = 0; k < LOOP_RESP_KINDS; k++)
        while (l->resp_free[k]) {
            struct server_resp *p = l->resp_free[k];
            l->resp_free[k] = p->next;
            MHD_destroy_response(p->r);
            free(p);
        }
}

static enum MHD_Result server_queue(struct rctx *x, int status, const char *json,
                                    const char *location);

/* A redirect from the pool (a fresh answer when the pool cannot grow). */
static enum MHD_Result server_queue_redirect(struct rctx *x, int status, int kind)
{
    struct server_resp *p = server_resp_get(x, kind, status);
    if (!p)
        return server_queue(x, status, NULL, x->location);
    x->resp = p;
    if (server_resp_set(p->r, "X-Request-Id", x->req_id) != MHD_YES ||
        server_resp_set(p->r, MHD_HTTP_HEADER_LOCATION, x->location) != MHD_YES)
        return MHD_NO; /* the connection is closed; the answer goes back at completion */
    x->status = status;
    return MHD_queue_response(x->conn, (unsigned)status, p->r);
}

static enum MHD_Result server_queue(struct rctx *x, int status, const char *json,
                                    const char *location)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(json ? strlen(json) : 0, (void *)json,
                                                             MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    if (json)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (location) {
        /* A permanent redirect may be cached (its clicks then go unseen); the others not. */
        int permanent = status == 301 || status == 308;
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, location);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                                permanent ? x->loop->srv->public_cache : "private, max-age=0");
    }
    if (status == 405)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    server_common_headers(r, x);
    x->status = status;
    enum MHD_Result ok = MHD_queue_response(x->conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

/* Call 4: the flush has filled in x->result. */
static enum MHD_Result server_answer(struct rctx *x)
{
    if (x->kind == RCTX_READYZ) {
        if (x->result == FOLLOW_NOT_FOUND)
            return server_queue(x, 200, server_json_ok, NULL);
        return server_queue(x, 503,
                            x->result == FOLLOW_NOT_READY ? server_json_ready_loading
                                                          : server_json_ready_down,
                            NULL);
    }
    if (x->kind == RCTX_HEALTH) {
        if (x->result == FOLLOW_NOT_FOUND)
            return server_queue(x, 200, server_json_health_ok, NULL);
        return server_queue(x, 503,
                            x->result == FOLLOW_NOT_READY ? server_json_health_loading
                                                          : server_json_health_down,
                            NULL);
    }
    rstats_count(&x->loop->srv->stats, x->result);
    switch (x->result) {
    case FOLLOW_FOUND: {
        int kind = server_resp_kind(x->redirect);
        if (kind >= 0)
            return server_queue_redirect(x, x->redirect, kind);
        return server_queue(x, x->redirect, NULL, x->location);
    }
    case FOLLOW_EXPIRED:
        return server_queue(x, 410, server_json_410, NULL);
    case FOLLOW_NOT_FOUND:
        return server_queue(x, 404, server_json_404, NULL);
    case FOLLOW_NOT_READY:
        return server_queue(x, 503, server_json_503_rm, NULL);
    default:
        return server_queue(x, 503, server_json_503_kv, NULL);
    }
}

/* ------------------------------------------------------------------------ */
/* MHD callbacks                                                             */
/* ------------------------------------------------------------------------ */

static enum MHD_Result server_begin(struct loop *l, struct MHD_Connection *c, const char *url,
                                    const char *method, void **req_cls)
{
    struct rctx *x = loop_rctx_get(l);
    if (!x)
        return MHD_NO;
    x->loop = l;
    x->conn = c;
    x->route = RSTATS_UNMATCHED;
    x->start_us = timefmt_mono_us();
    atomic_fetch_add_explicit(&l->srv->stats.http.in_flight, 1, memory_order_relaxed);
    if (l->srv->app->cfg.access_log) { /* method and path serve the access line only */
        common_copy(x->method, sizeof(x->method), method);
        common_copy(x->path, sizeof(x->path), url);
    }
    const char *rid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
    if (rid && http_req_id_valid(rid))
        common_copy(x->req_id, sizeof(x->req_id), rid);
    else
        http_req_id_next(&l->ids, x->req_id);
    *req_cls = x;
    /* A declared body a redirect cannot need: answer now instead of reading it (MHD then
     * closes the connection after the answer). A malformed length is refused the same way. */
    const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding");
    if (te && strcasecmp(te, "chunked") != 0)
        return server_queue(x, 400, server_json_400_te, NULL);
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    if (cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (end == cl || *end || n > SERVER_BODY_MAX)
            return server_queue(x, 413, server_json_413, NULL);
    }
    return MHD_YES;
}

/* GET /metrics: answered at once (no Redis involved). */
static enum MHD_Result server_metrics(struct rctx *x)
{
    size_t len = 0;
    char *body = rstats_render(&x->loop->srv->stats, &len);
    struct MHD_Response *r =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE) : NULL;
    if (!r) {
        free(body);
        return server_queue(x, 503, server_json_503_kv, NULL);
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8");
    server_common_headers(r, x);
    x->status = 200;
    enum MHD_Result ok = MHD_queue_response(x->conn, 200, r);
    MHD_destroy_response(r);
    return ok;
}

static enum rctx_kind server_kind(const char *seg, size_t len)
{
    if (len == 6 && memcmp(seg, "health", 6) == 0)
        return RCTX_HEALTH;
    if (len == 6 && memcmp(seg, "readyz", 6) == 0)
        return RCTX_READYZ;
    return RCTX_FOLLOW;
}

/* Fills x->req for a redirect of code seg[0..len). 0 or ERR_INVALID (not a code). */
static int server_follow_req(struct loop *l, struct rctx *x, const char *seg, size_t len, int get)
{
    struct follow_req *r = &x->req;
    r->code = seg;
    r->code_len = len;
    r->click.record = get;
    r->click.referrer = MHD_lookup_connection_value(x->conn, MHD_HEADER_KIND, "Referer");
    r->click.agent = MHD_lookup_connection_value(x->conn, MHD_HEADER_KIND, "User-Agent");
    r->click.ip = client_ip(x->conn, &l->srv->app->trusted, x->ip);
    client_request_self(x->conn, &l->srv->app->trusted, l->srv->app->self, x->self);
    r->click.self = x->self;
    return follow_prepare(l->srv->app, r);
}

/* Call 3: decide what the request is; answer now or join the batch. */
static enum MHD_Result server_route(struct loop *l, struct rctx *x, const char *url,
                                    const char *method)
{
    int get = strcmp(method, "GET") == 0, head = strcmp(method, "HEAD") == 0;
    const char *seg = url[0] == '/' ? url + 1 : url;
    size_t len = strlen(seg);
    if (len && seg[len - 1] == '/')
        len--; /* one trailing slash is ignored, as everywhere in the API */
    if (len == 0 || memchr(seg, '/', len))
        return server_queue(x, 404, server_json_404, NULL);
    if (!get && !head)
        return server_queue(x, 405, server_json_405, NULL);
    if (len == 7 && memcmp(seg, "metrics", 7) == 0) {
        x->route = RSTATS_METRICS;
        return server_metrics(x);
    }
    if (len == 5 && memcmp(seg, "livez", 5) == 0) {
        x->route = RSTATS_LIVEZ; /* this loop answers: alive, whatever Redis does */
        return server_queue(x, 200, server_json_ok, NULL);
    }
    x->kind = server_kind(seg, len);
    x->route = x->kind == RCTX_HEALTH   ? RSTATS_HEALTH
               : x->kind == RCTX_READYZ ? RSTATS_READYZ
                                        : RSTATS_CODE;
    if (x->kind == RCTX_FOLLOW && validate_short_code(seg, len) != 0)
        return server_queue(x, 404, server_json_404, NULL); /* cannot exist: spare Redis */
    if (x->kind == RCTX_FOLLOW && server_follow_req(l, x, seg, len, get) != 0)
        return server_queue(x, 404, server_json_404, NULL);
    if (loop_enqueue(l, x) != 0) {
        log_rerror(x->req_id, "redis unavailable: %s", kv_errmsg(l->kv));
        x->result = ERR_KV;
        return server_answer(x);
    }
    return MHD_YES;
}

static enum MHD_Result server_access(void *cls, struct MHD_Connection *c, const char *url,
                                     const char *method, const char *version,
                                     const char *upload_data, size_t *upload_data_size,
                                     void **req_cls)
{
    struct loop *l = cls;
    struct rctx *x = *req_cls;
    (void)version;
    (void)upload_data;
    if (!x)
        return server_begin(l, c, url, method, req_cls);
    if (*upload_data_size) {
        /* A body on a redirect is read and dropped, within the idle timeout as a whole. */
        if (timefmt_mono_us() - x->start_us > l->srv->app->cfg.http_timeout_s * 1000000LL)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (x->state == RCTX_READY)
        return server_answer(x);
    if (x->state == RCTX_WAITING || x->status)
        return MHD_YES;
    return server_route(l, x, url, method);
}

static void server_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                             enum MHD_RequestTerminationCode toe)
{
    struct loop *l = cls;
    struct rctx *x = *req_cls;
    (void)c;
    (void)toe;
    if (!x)
        return;
    double ms = (double)(timefmt_mono_us() - x->start_us) / 1000.0;
    metrics_http_observe(&l->srv->stats.http, x->route, x->status, ms / 1000.0);
    atomic_fetch_sub_explicit(&l->srv->stats.http.in_flight, 1, memory_order_relaxed);
    if (l->srv->app->cfg.access_log)
        log_access(x->req_id, x->method, x->path, x->status, ms);
    server_resp_put(l, x);
    loop_rctx_put(l, x);
    *req_cls = NULL;
}

/* ------------------------------------------------------------------------ */
/* Loops                                                                     */
/* ------------------------------------------------------------------------ */

static int loop_open(struct server *srv, struct loop *l, const struct sockaddr_storage *ss,
                     int ipv6, char *err, size_t errlen)
{
    struct app *app = srv->app;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_TURBO |
                     (ipv6 ? MHD_USE_IPv6 : 0);
    l->srv = srv;
    l->epfd = -1;
    http_req_ids_seed(&l->ids);
    l->kv = kv_new(app->cfg.redis_url, (int)app->cfg.redis_timeout_ms);
    unsigned limit = (unsigned)(app->cfg.http_conn_limit / srv->nloops) + 1;
    l->daemon = MHD_start_daemon(
        flags, (uint16_t)srv->port, NULL, NULL, server_access, l, MHD_OPTION_EXTERNAL_LOGGER,
        http_mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)ss,
        MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)app->cfg.http_timeout_s, MHD_OPTION_NOTIFY_COMPLETED, server_completed, l,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SERVER_CONN_MEMORY,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    const union MHD_DaemonInfo *di =
        l->daemon ? MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN}; /* data 0: MHD's */
    if (loop_init(l, limit) != 0) {
        snprintf(err, errlen, "out of memory");
        return ERR_NOMEM;
    }
    if (!l->kv || !di || l->epfd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, di->epoll_fd, &ev)) {
        snprintf(err, errlen, "cannot listen on %s:%d", app->cfg.bind_addr, srv->port);
        return ERR_SYS;
    }
    if (srv->port == 0) { /* the first loop picked the port; the others share it */
        di = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_BIND_PORT);
        srv->port = di ? di->port : 0;
    }
    return 0;
}

static void loop_close(struct loop *l)
{
    if (l->started)
        pthread_join(l->thread, NULL);
    if (l->daemon)
        MHD_stop_daemon(l->daemon);
    server_resp_release(l);
    if (l->epfd >= 0)
        close(l->epfd);
    kv_free(l->kv);
    loop_release(l);
}

struct server *server_start(struct app *app, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    int ipv6, n = (int)app->cfg.http_threads;
    if (n < 1 || n > SERVER_MAX_THREADS)
        n = n < 1 ? 1 : SERVER_MAX_THREADS;
    if (http_sockaddr(app->cfg.bind_addr, (int)app->cfg.port, &ss, &ipv6) != 0) {
        snprintf(err, errlen, "cannot parse bind address '%s'", app->cfg.bind_addr);
        return NULL;
    }
    struct server *srv = calloc(1, sizeof(*srv) + (size_t)n * sizeof(struct loop));
    if (!srv) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    srv->app = app;
    srv->port = (int)app->cfg.port;
    srv->nloops = n;
    snprintf(srv->public_cache, sizeof(srv->public_cache), "public, max-age=%ld",
             app->cfg.cache_max_age);
    if (rstats_init(&srv->stats) != 0) {
        snprintf(err, errlen, "out of memory");
        free(srv);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        srv->loops[i].epfd = -1;
        if (loop_open(srv, &srv->loops[i], &ss, ipv6, err, errlen) != 0)
            goto fail;
        if (srv->port && ss.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)srv->port);
        else if (srv->port)
            ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)srv->port);
    }
    for (int i = 0; i < n; i++) {
        if (pthread_create(&srv->loops[i].thread, NULL, loop_main, &srv->loops[i]) != 0) {
            snprintf(err, errlen, "cannot start thread %d", i);
            goto fail;
        }
        srv->loops[i].started = 1;
    }
    return srv;
fail:
    atomic_store(&srv->stopping, 1);
    for (int i = 0; i < n; i++)
        loop_close(&srv->loops[i]);
    rstats_release(&srv->stats);
    free(srv);
    return NULL;
}

int server_port(const struct server *srv)
{
    return srv->port;
}

void server_stop(struct server *srv)
{
    if (!srv)
        return;
    atomic_store(&srv->stopping, 1);
    for (int i = 0; i < srv->nloops; i++)
        loop_close(&srv->loops[i]);
    rstats_release(&srv->stats);
    free(srv);
}
