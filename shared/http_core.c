/*
 * http_core.c - the parts of the HTTP glue that need no libmicrohttpd (see http.h): replies,
 * the checks of a request's path and query, request ids, and dispatch through the routes and
 * guards. Handler unit tests and the fuzzers drive them directly; http.c adds the MHD side.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "http.h"
#include "http_stream.h"
#include "jcompact.h"
#include "timefmt.h"
#include "utf8.h"

#include "banned.h"

/* ------------------------------------------------------------------------ */
/* Replies                                                                   */
/* ------------------------------------------------------------------------ */

void http_resp_release(struct http_resp *resp)
{
    http_stream__drop(resp);
    free(resp->body);
    free(resp->location);
    memset(resp, 0, sizeof(*resp));
}

int http_resp_header(struct http_resp *resp, const char *name, const char *value)
{
    if (resp->nheaders >= HTTP_RESP_HEADERS)
        return ERR_TOO_BIG;
    struct http_resp_header *h = &resp->headers[resp->nheaders++];
    h->name = name;
    snprintf(h->value, sizeof(h->value), "%s", value);
    return 0;
}

int http_reply_bytes(struct http_resp *resp, int status, char *body, size_t len,
                     const char *content_type)
{
    free(resp->body);
    resp->body = body;
    resp->body_len = body ? len : 0;
    resp->status = status;
    resp->content_type = content_type;
    return status;
}

int http_reply_json(struct http_resp *resp, int status, char *body, size_t len)
{
    /* PostgreSQL renders {"id" : 1, ...}: every JSON answer leaves compact (jcompact.h). */
    if (body) {
        size_t n = jcompact_inplace(body, len);
        if (n < len)
            body[n] = '\0'; /* A NUL-terminated body stays one (within the old length). */
        len = n;
    }
    return http_reply_bytes(resp, status, body, len, "application/json");
}

int http_reply_error_field(struct http_resp *resp, int status, const char *msg, const char *field,
                           const char *why)
{
    struct buf b;
    buf_init(&b, 4096);
    int rc = buf_puts(&b, "{\"error\":");
    if (!rc)
        rc = buf_append_json_str(&b, msg, strlen(msg));
    if (!rc && field) {
        rc = buf_puts(&b, ",\"details\":{");
        if (!rc)
            rc = buf_append_json_str(&b, field, strlen(field));
        if (!rc)
            rc = buf_putc(&b, ':');
        if (!rc)
            rc = buf_append_json_str(&b, why ? why : "invalid", strlen(why ? why : "invalid"));
        if (!rc)
            rc = buf_putc(&b, '}');
    }
    if (!rc)
        rc = buf_putc(&b, '}');
    if (rc) {
        buf_release(&b);
        return http_reply_json(resp, status, NULL, 0);
    }
    size_t len;
    char *body = buf_detach(&b, &len);
    return http_reply_json(resp, status, body, body ? len : 0);
}

int http_reply_error(struct http_resp *resp, int status, const char *msg)
{
    return http_reply_error_field(resp, status, msg, NULL, NULL);
}

int http_reply_metrics(struct http_resp *resp, struct buf *b)
{
    size_t len;
    if (!b)
        return http_reply_error(resp, 500, "Internal error");
    char *body = buf_detach(b, &len);
    return http_reply_bytes(resp, 200, body, len, "text/plain; version=0.0.4; charset=utf-8");
}

int http_reply_empty(struct http_resp *resp, int status)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    resp->content_type = NULL;
    resp->status = status;
    return status;
}

int http_reply_err(struct http_resp *resp, int err_code)
{
    return http_reply_error(resp, err_to_http_status(err_code), err_client_text(err_code));
}

const char *http_req_query(const struct http_req *req, const char *key)
{
    for (int i = 0; i < req->nquery; i++)
        if (strcmp(req->query[i].key, key) == 0)
            return req->query[i].value;
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Hostile input                                                             */
/* ------------------------------------------------------------------------ */

/* JSON answers: nothing to load, never framed, no MIME sniffing, no Referer sent on. */
const char *const http_security_headers[HTTP_SECURITY_NHEADERS][2] = {
    {"X-Content-Type-Options", "nosniff"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
    {"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
};

static int http_utf8_ok(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0, k; i < n; i += k)
        if ((k = utf8_seq_len((const unsigned char *)s + i, n - i, 1)) == 0)
            return 0;
    return 1;
}

int http_req_utf8_check(const struct http_req *req, const char **what)
{
    *what = "path";
    if (req->path && !http_utf8_ok(req->path))
        return ERR_INVALID;
    *what = "query";
    for (int i = 0; i < req->nquery; i++) {
        const char *k = req->query[i].key, *v = req->query[i].value;
        /* page and per_page never error (API.md 5: garbage is ignored); numbers only. */
        if (k && (strcmp(k, "page") == 0 || strcmp(k, "per_page") == 0))
            continue;
        if ((k && !http_utf8_ok(k)) || (v && !http_utf8_ok(v)) || (req->query_nul & (1u << i)))
            return ERR_INVALID;
    }
    *what = NULL;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Request ids                                                               */
/* ------------------------------------------------------------------------ */

void http_req_id_generate(char out[HTTP_REQ_ID_MAX])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[16];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        /* Not secret, only unique enough: fall back to time and address. */
        int64_t t = timefmt_mono_ms();
        memcpy(raw, &t, sizeof(t));
        memcpy(raw + 8, &out, sizeof(void *) < 8 ? sizeof(void *) : 8);
    }
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[2 * sizeof(raw)] = '\0';
}

void http_req_ids_seed(struct http_req_ids *g)
{
    if (getrandom(g->s, sizeof(g->s), 0) != (ssize_t)sizeof(g->s)) {
        g->s[0] = (uint64_t)timefmt_mono_us() | 1;
        g->s[1] = (uint64_t)(uintptr_t)g;
    }
}

/* xorshift128+: unique enough for request ids, and no system call per request. */
static uint64_t http_req_ids_rand(struct http_req_ids *g)
{
    uint64_t s1 = g->s[0];
    const uint64_t s0 = g->s[1];
    g->s[0] = s0;
    s1 ^= s1 << 23;
    g->s[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return g->s[1] + s0;
}

void http_req_id_next(struct http_req_ids *g, char out[HTTP_REQ_ID_MAX])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t v[2] = {http_req_ids_rand(g), http_req_ids_rand(g)};
    for (int i = 0; i < 32; i++)
        out[i] = hex[(v[i / 16] >> (4 * (i % 16))) & 15];
    out[32] = '\0';
}

int http_req_id_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok || n >= HTTP_REQ_ID_MAX - 1)
            return 0;
    }
    return n > 0;
}

/* ------------------------------------------------------------------------ */
/* Dispatch (no MHD here: unit tests and fuzzers call it directly)           */
/* ------------------------------------------------------------------------ */

int http_dispatch(const struct route *routes, size_t nroutes, const http_guard_fn *guards,
                  struct http_req *req, struct http_resp *resp)
{
    unsigned allowed = 0;
    const char *what;
    if (http_req_utf8_check(req, &what) != 0)
        return http_reply_error_field(resp, 400, "Invalid request", what,
                                      "must be valid UTF-8 without NUL bytes");
    enum router_result r =
        router_match(routes, nroutes, req->method, req->path, &req->match, &allowed);
    if (r == ROUTER_NOT_FOUND)
        return http_reply_error(resp, 404, "Not found");
    if (r == ROUTER_METHOD_NOT_ALLOWED) {
        resp->allow = allowed;
        return http_reply_error(resp, 405, "Method not allowed");
    }
    for (size_t i = 0; guards && i < HTTP_MAX_GUARDS && guards[i]; i++) {
        int refused = guards[i](req, resp);
        if (refused) {
            if (refused != resp->status)
                BUG("guard returned a status it did not set");
            return refused;
        }
    }
    int status = req->match.route->fn(req, resp);
    if (status != resp->status)
        BUG("handler returned a status it did not set");
    return status;
}
