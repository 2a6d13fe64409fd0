/*
 * http.c - the libmicrohttpd glue (see http.h for what it owns).
 *
 * Life of a request, in MHD's three kinds of calls to http_access():
 *   1. first call (headers read): allocate the per-request struct http_ctx,
 *      decide 413 from Content-Length, return MHD_YES without queueing
 *      (queueing now would make MHD close the connection: PERFORMANCE.md);
 *   2. calls with upload data: append to the capped body buffer, or discard
 *      once the cap is passed (so the client can read our 413 instead of a
 *      reset connection);
 *   3. final call: build a struct http_req, dispatch, queue the response.
 * http_completed() frees the struct and writes the access line.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "buf.h"
#include "err.h"
#include "http_stream.h"
#include "log.h"
#include "metrics.h"
#include "timefmt.h"

#include "banned.h"

/* Bodies larger than this are refused without reading them at all. */
#define HTTP_DRAIN_MAX (16u * 1024 * 1024)

struct http_server {
    struct MHD_Daemon *daemon;
    struct http_server_cfg cfg;
    int port;
    struct metrics_http metrics; /* one entry per route, then "unmatched" */
    char (*methods)[48];         /* owned: the method label of each route */
};

struct http_ctx {
    struct buf body;  /* owned: the request body, capped at cfg.body_max */
    int too_big;      /* 1 once the body passed the cap */
    int status;       /* the status answered, for the access log */
    size_t route;     /* index in the route table; nroutes when none matched */
    int64_t start_us; /* monotonic start in microseconds, for dur_ms */
    char req_id[HTTP_REQ_ID_MAX];
    char method[16]; /* copies for the access line (MHD's strings die first) */
    char path[256];
};

/* ------------------------------------------------------------------------ */
/* MHD callbacks                                                             */
/* ------------------------------------------------------------------------ */

static enum MHD_Result http_collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                          size_t key_size, const char *value, size_t value_size)
{
    struct http_req *req = cls;
    (void)kind;
    if (strlen(key) != key_size || (value && strlen(value) != value_size))
        req->query_nul |= 1u << req->nquery; /* "%00" decoded: the C string would end there */
    if (req->nquery >= HTTP_MAX_QUERY) {
        req->query_overflow = 1;
        return MHD_NO;
    }
    req->query[req->nquery].key = key;
    req->query[req->nquery].value = value;
    req->nquery++;
    return MHD_YES;
}

static const char *http_header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* Builds the MHD response for resp; NULL when out of memory. Takes resp's body. */
/*
 * 1 when the handler set a header called name itself (the dashboard's HTML sets its own
 * Content-Security-Policy): the default security header of that name is then left out, so
 * the answer never carries two policies (a browser would enforce both).
 */
static int http_resp_names(const struct http_resp *resp, const char *name)
{
    if (resp->extra_name && strcasecmp(resp->extra_name, name) == 0)
        return 1;
    for (int i = 0; i < resp->nheaders && i < HTTP_RESP_HEADERS; i++)
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return 1;
    return 0;
}

static struct MHD_Response *http_build_response(struct http_resp *resp, const char *req_id,
                                                struct MHD_Connection *c)
{
    struct MHD_Response *r;
    if (resp->stream_read) {
        r = http_stream__response(resp, c);
    } else if (resp->body && resp->body_len) {
        r = MHD_create_response_from_buffer(resp->body_len, resp->body, MHD_RESPMEM_MUST_FREE);
        if (r)
            resp->body = NULL; /* now MHD's */
    } else {
        r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    }
    if (!r)
        return NULL;
    if (resp->content_type && resp->status != 204)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    if (resp->location)
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, resp->location);
    if (resp->cache_control)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, resp->cache_control);
    if (resp->extra_name && resp->extra_value)
        MHD_add_response_header(r, resp->extra_name, resp->extra_value);
    for (int i = 0; i < resp->nheaders && i < HTTP_RESP_HEADERS; i++)
        MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
    if (resp->status == 405 && resp->allow) {
        char allow[96];
        router_methods_str(resp->allow, allow, sizeof(allow));
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    }
    MHD_add_response_header(r, "X-Request-Id", req_id);
    for (size_t i = 0; i < HTTP_SECURITY_NHEADERS; i++)
        if (!http_resp_names(resp, http_security_headers[i][0]))
            MHD_add_response_header(r, http_security_headers[i][0], http_security_headers[i][1]);
    return r;
}

static enum MHD_Result http_queue(struct MHD_Connection *c, struct http_ctx *ctx,
                                  struct http_resp *resp)
{
    struct MHD_Response *r = http_build_response(resp, ctx->req_id, c);
    if (!r) {
        http_resp_release(resp);
        return MHD_NO;
    }
    ctx->status = resp->status;
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    http_resp_release(resp);
    return ok;
}

static enum MHD_Result http_queue_error(struct MHD_Connection *c, struct http_ctx *ctx, int status,
                                        const char *msg)
{
    struct http_resp resp = {0};
    http_reply_error(&resp, status, msg);
    return http_queue(c, ctx, &resp);
}

/* First call: set up the per-request state; maybe refuse a declared-too-big body. */
static enum MHD_Result http_begin(struct http_server *srv, struct MHD_Connection *c,
                                  const char *url, const char *method, void **req_cls)
{
    struct http_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return MHD_NO;
    snprintf(ctx->method, sizeof(ctx->method), "%s", method);
    snprintf(ctx->path, sizeof(ctx->path), "%s", url);
    buf_init(&ctx->body, srv->cfg.body_max);
    ctx->start_us = timefmt_mono_us();
    const char *rid = http_header(c, "X-Request-Id");
    if (rid && http_req_id_valid(rid))
        snprintf(ctx->req_id, sizeof(ctx->req_id), "%s", rid);
    else
        http_req_id_generate(ctx->req_id);
    *req_cls = ctx;
    ctx->route = srv->cfg.nroutes;
    atomic_fetch_add(&srv->metrics.in_flight, 1);

    /* A body framed by a coding we do not read: nothing tells where it ends (RFC 9112 6.3). */
    const char *te = http_header(c, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (te && strcasecmp(te, "chunked") != 0)
        return http_queue_error(c, ctx, 400, "Unsupported Transfer-Encoding");
    const char *cl = http_header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || end == cl || *end || n > srv->cfg.body_max) {
            ctx->too_big = 1;
            /* Answer at once when the client waits for 100-continue or the body is huge. */
            const char *expect = http_header(c, MHD_HTTP_HEADER_EXPECT);
            if (expect || errno || n > HTTP_DRAIN_MAX)
                return http_queue_error(c, ctx, 413, "Request body too large");
        }
    }
    return MHD_YES;
}

/* The client address of the request on c (netaddr_client with the server's trusted proxies). */
static void http_client_ip(struct http_server *srv, struct MHD_Connection *c,
                           char out[NETADDR_TEXT_MAX])
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    const void *addr = NULL;
    char peer[NETADDR_TEXT_MAX];
    out[0] = '\0';
    if (sa && sa->sa_family == AF_INET)
        addr = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa && sa->sa_family == AF_INET6)
        addr = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (!addr || !inet_ntop(sa->sa_family, addr, peer, sizeof(peer)))
        return;
    netaddr_client(srv->cfg.trusted_proxies, peer, http_header(c, "X-Forwarded-For"),
                   http_header(c, "X-Real-IP"), out);
}

static void http_fill_req(struct http_server *srv, struct MHD_Connection *c, struct http_ctx *ctx,
                          const char *url, const char *method, struct http_req *req)
{
    memset(req, 0, sizeof(*req));
    req->method = router_method_parse(method);
    req->method_str = method;
    req->path = url;
    req->body = buf_cstr(&ctx->body);
    req->body_len = ctx->body.len;
    req->content_type = http_header(c, MHD_HTTP_HEADER_CONTENT_TYPE);
    req->user_agent = http_header(c, MHD_HTTP_HEADER_USER_AGENT);
    req->referer = http_header(c, MHD_HTTP_HEADER_REFERER);
    req->idempotency_key = http_header(c, "Idempotency-Key");
    req->authorization = http_header(c, MHD_HTTP_HEADER_AUTHORIZATION);
    req->x_api_key = http_header(c, "X-Api-Key");
    memcpy(req->req_id, ctx->req_id, sizeof(req->req_id));
    http_client_ip(srv, c, req->client_ip);
    req->app = srv->cfg.app;
    MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, http_collect_query, req);
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *c, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **req_cls)
{
    struct http_server *srv = cls;
    struct http_ctx *ctx = *req_cls;
    (void)version;

    if (!ctx)
        return http_begin(srv, c, url, method, req_cls);
    if (ctx->status) /* already answered (413 on the first call) */
        return MHD_YES;
    if (*upload_data_size) {
        /* A trickled body: the whole body must arrive within timeout_s (slowloris). */
        if (timefmt_mono_us() - ctx->start_us > (int64_t)srv->cfg.timeout_s * 1000000) {
            log_warn("%s: request body not received within %d s: connection dropped", ctx->req_id,
                     srv->cfg.timeout_s);
            return MHD_NO;
        }
        if (!ctx->too_big && buf_append(&ctx->body, upload_data, *upload_data_size) != 0)
            ctx->too_big = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (ctx->too_big)
        return http_queue_error(c, ctx, 413, "Request body too large");

    struct http_req req;
    struct http_resp resp = {0};
    http_fill_req(srv, c, ctx, url, method, &req);
    http_dispatch(srv->cfg.routes, srv->cfg.nroutes, srv->cfg.guards, &req, &resp);
    if (req.match.route)
        ctx->route = (size_t)(req.match.route - srv->cfg.routes);
    return http_queue(c, ctx, &resp);
}

static void http_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                           enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct http_ctx *ctx = *req_cls;
    if (!ctx)
        return;
    (void)c;
    (void)toe;
    double dur = (double)(timefmt_mono_us() - ctx->start_us) / 1000.0;
    metrics_http_observe(&srv->metrics, ctx->route, ctx->status, dur / 1000.0);
    if (srv->cfg.access_log)
        log_access(ctx->req_id, ctx->method, ctx->path, ctx->status, dur);
    buf_release(&ctx->body);
    free(ctx);
    *req_cls = NULL;
    atomic_fetch_sub(&srv->metrics.in_flight, 1);
}

ATTR_FORMAT(2, 0) void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_warn("libmicrohttpd: %s", msg);
}

/* ------------------------------------------------------------------------ */
/* Server lifecycle                                                          */
/* ------------------------------------------------------------------------ */

int http_sockaddr(const char *addr, int port, struct sockaddr_storage *ss, int *ipv6)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    *ipv6 = 0;
    if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        return 0;
    }
    if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *ipv6 = 1;
        return 0;
    }
    return ERR_INVALID;
}

/* "GET|HEAD" for a method mask (router_methods_str writes "GET, HEAD"). */
static void http_methods_label(unsigned mask, char *out, size_t outlen)
{
    char list[64];
    size_t n = 0;
    router_methods_str(mask, list, sizeof(list));
    for (const char *p = list; *p && n + 1 < outlen; p++) {
        if (*p == ' ')
            continue;
        out[n++] = *p == ',' ? '|' : *p;
    }
    out[n] = '\0';
}

/* One metrics entry per route (labelled with its pattern and methods), then "unmatched". */
static int http_metrics_init(struct http_server *srv)
{
    size_t n = srv->cfg.nroutes;
    srv->methods = calloc(n + 1, sizeof(*srv->methods));
    if (!srv->methods || metrics_http_init(&srv->metrics, n + 1) != 0) {
        free(srv->methods);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        http_methods_label(srv->cfg.routes[i].methods, srv->methods[i], sizeof(srv->methods[i]));
        srv->metrics.routes[i].route = srv->cfg.routes[i].pattern;
        srv->metrics.routes[i].method = srv->methods[i];
    }
    srv->metrics.routes[n].route = "unmatched";
    srv->metrics.routes[n].method = "any";
    return 0;
}

static void http_metrics_release(struct http_server *srv)
{
    metrics_http_release(&srv->metrics);
    free(srv->methods);
}

struct http_server *http_server_start(const struct http_server_cfg *cfg, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    unsigned flags =
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC | /* ITC: quiesce */
        MHD_ALLOW_SUSPEND_RESUME; /* streamed bodies park idle connections (http_stream.c) */
    int ipv6;
    if (http_sockaddr(cfg->bind_addr, cfg->port, &ss, &ipv6)) {
        snprintf(err, errlen, "cannot parse bind address '%s'", cfg->bind_addr);
        return NULL;
    }
    if (ipv6)
        flags |= MHD_USE_IPv6;
    struct http_server *srv = calloc(1, sizeof(*srv));
    if (!srv) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    srv->cfg = *cfg;
    if (http_metrics_init(srv) != 0) {
        snprintf(err, errlen, "out of memory");
        free(srv);
        return NULL;
    }
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, http_access, srv, MHD_OPTION_EXTERNAL_LOGGER,
        http_mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)cfg->conn_limit, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->timeout_s,
        MHD_OPTION_NOTIFY_COMPLETED, http_completed, srv, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
        MHD_OPTION_END);
    if (!srv->daemon) {
        snprintf(err, errlen, "cannot listen on %s:%d", cfg->bind_addr, cfg->port);
        http_metrics_release(srv);
        free(srv);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : cfg->port;
    return srv;
}

int http_server_port(const struct http_server *srv)
{
    return srv->port;
}

long http_server_in_flight(const struct http_server *srv)
{
    return atomic_load(&((struct http_server *)srv)->metrics.in_flight);
}

int http_server_metrics_write(const struct http_server *srv, struct buf *b, const char *prefix)
{
    return metrics_http_write(b, prefix, &srv->metrics);
}

void http_server_stop(struct http_server *srv)
{
    if (!srv)
        return;
    MHD_quiesce_daemon(srv->daemon);
    MHD_stop_daemon(srv->daemon);
    http_metrics_release(srv);
    free(srv);
}
