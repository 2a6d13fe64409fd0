/*
 * http.h - the libmicrohttpd glue: a thin adapter between MHD and handlers
 * that take a plain struct http_req and fill a struct http_resp.
 *
 * The glue owns: the per-request state (one struct hanging off MHD's
 * req_cls, freed in the completion callback), body accumulation with a cap
 * (413 JSON above it, decided from Content-Length up front or while reading),
 * routing with 404/405 JSON answers, the request id (taken from a well-formed
 * X-Request-Id or generated, and echoed), one access log line per request,
 * and queueing the response on the second call of the access handler so MHD
 * keeps connections alive (PERFORMANCE.md).
 */
#ifndef HTTP_H
#define HTTP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "netaddr.h"
#include "router.h"

#define HTTP_MAX_QUERY  16
#define HTTP_REQ_ID_MAX 64

struct http_query_arg {
    const char *key;   /* borrowed from MHD, valid during the request */
    const char *value; /* may be NULL for "?flag" */
};

struct http_req {
    enum http_method method;
    const char *method_str; /* borrowed */
    const char *path;       /* borrowed, without the query string */
    const char *body;       /* borrowed, NUL-terminated; "" when none */
    size_t body_len;
    const char *content_type;     /* header value or NULL (borrowed) */
    const char *user_agent;       /* header value or NULL (borrowed) */
    const char *referer;          /* header value or NULL (borrowed) */
    const char *idempotency_key;  /* Idempotency-Key header value or NULL (borrowed) */
    const char *authorization;    /* Authorization header value or NULL (borrowed) */
    const char *x_api_key;        /* X-Api-Key header value or NULL (borrowed) */
    char req_id[HTTP_REQ_ID_MAX]; /* the request id, NUL-terminated */
    char auth_id[48]; /* the API key's id when a key authenticated the request, "" otherwise (set by
                         the auth guard) */
    /* The client's address, canonical: the peer's, or from X-Forwarded-For / X-Real-IP when
       the peer is in http_server_cfg.trusted_proxies (netaddr_client); "" when unknown. */
    char client_ip[NETADDR_TEXT_MAX];
    int nquery;
    struct http_query_arg query[HTTP_MAX_QUERY];
    int query_overflow;       /* 1 when more than HTTP_MAX_QUERY args were sent */
    unsigned query_nul;       /* bit i: query[i]'s key or value held a NUL byte (%00) */
    struct route_match match; /* route and path parameters */
    void *app;                /* the service's context, from http_server_cfg.app */
};

#define HTTP_RESP_HEADERS   6  /* headers a guard or handler may add (http_resp_header) */
#define HTTP_RESP_VALUE_MAX 48 /* bytes of one such value, NUL included */

struct http_resp_header {
    const char *name; /* static string */
    char value[HTTP_RESP_VALUE_MAX];
};

/*
 * A streamed body of unknown length (Server-Sent Events; http_stream_* below). read copies at
 * most max bytes into out and returns how many, HTTP_STREAM_WAIT when nothing is ready (the
 * glue parks the connection until http_stream_wake(st)) or HTTP_STREAM_END. st is the handle
 * to wake this stream with; it stays valid until release(cls) is called, once, when the
 * response is done (or never sent). Both run on an MHD thread.
 */
struct http_stream;
#define HTTP_STREAM_WAIT 0
#define HTTP_STREAM_END  (-1)
typedef long (*http_stream_read_fn)(void *cls, struct http_stream *st, char *out, size_t max);
typedef void (*http_stream_release_fn)(void *cls);

struct http_resp {
    int status;
    char *body; /* owned by the response; freed by the glue (free()) */
    size_t body_len;
    const char *content_type;  /* static string; "application/json" by default */
    char *location;            /* owned; Location header, or NULL */
    const char *cache_control; /* static string, or NULL */
    unsigned allow;            /* for 405: the methods the path accepts (Allow header) */
    const char *extra_name;    /* static string: one more header's name, or NULL */
    const char *extra_value;   /* static string: its value */
    int nheaders;              /* headers[0..nheaders) are sent too (rate limits) */
    struct http_resp_header headers[HTTP_RESP_HEADERS];
    /* A streamed body instead of body (status 200): see http_reply_stream. */
    http_stream_read_fn stream_read;
    http_stream_release_fn stream_release;
    void *stream_cls; /* owned by the response until stream_release takes it */
};

/*
 * Adds a header to the answer (name static, value copied, truncated to HTTP_RESP_VALUE_MAX-1);
 * kept whatever body and status are set later. 0, or ERR_TOO_BIG when HTTP_RESP_HEADERS are
 * already there (nothing added).
 */
int http_resp_header(struct http_resp *resp, const char *name, const char *value);

/*
 * Answers 200 with a streamed body of the given Content-Type (a static string): the glue
 * calls read whenever the client can take more, and release(cls) once at the end (also when
 * the response is dropped before being sent). Takes cls. Returns 200.
 */
int http_reply_stream(struct http_resp *resp, const char *content_type, http_stream_read_fn read,
                      http_stream_release_fn release, void *cls);

/*
 * Wakes a stream whose read returned HTTP_STREAM_WAIT: read is called again soon. A wake that
 * comes before the stream is parked is remembered. Safe from any thread while st is valid.
 */
void http_stream_wake(struct http_stream *st);

/* Value of query argument `key` (first occurrence), or NULL. Borrowed. */
const char *http_req_query(const struct http_req *req, const char *key);

/*
 * Sets a JSON body (takes ownership of body, a malloc'd string; NULL for none) and the status.
 * The text is compacted in place first (whitespace outside strings removed, jcompact.h), so
 * every JSON answer is compact whoever rendered it. Returns status.
 */
int http_reply_json(struct http_resp *resp, int status, char *body, size_t len);

/*
 * Sets any body as is (takes ownership of body, malloc'd; NULL for none) with the given
 * Content-Type (a static string) and status: images, text. Returns status.
 */
int http_reply_bytes(struct http_resp *resp, int status, char *body, size_t len,
                     const char *content_type);

struct buf;

/*
 * Sets a Prometheus text body (Content-Type "text/plain; version=0.0.4") from b,
 * taking its bytes (b is reset), with status 200; 500 JSON when b is NULL
 * (building it failed). Returns the status.
 */
int http_reply_metrics(struct http_resp *resp, struct buf *b);

/* Sets {"error": msg} with the status. Returns status. */
int http_reply_error(struct http_resp *resp, int status, const char *msg);

/* Sets {"error": msg, "details": {field: why}}. Returns status. */
int http_reply_error_field(struct http_resp *resp, int status, const char *msg, const char *field,
                           const char *why);

/* Sets an empty body (e.g. 204). Returns status. */
int http_reply_empty(struct http_resp *resp, int status);

/* Sets {"error": ...} for an ERR_* code via err_to_http_status(). Returns the status. */
int http_reply_err(struct http_resp *resp, int err_code);

/* Frees what the response owns and resets it. */
void http_resp_release(struct http_resp *resp);

/*
 * Generates a fresh request id (32 hex chars from getrandom) into out.
 * Or validates a client-sent one: 1..HTTP_REQ_ID_MAX-1 chars of
 * [A-Za-z0-9._:-]; returns 1 if acceptable.
 */
void http_req_id_generate(char out[HTTP_REQ_ID_MAX]);
int http_req_id_valid(const char *s);

/* A request-id generator of one thread (xorshift128+, seeded from getrandom): ids unique
 * enough for logs without a system call per request. Owned by its thread, not shared. */
struct http_req_ids {
    uint64_t s[2];
};
void http_req_ids_seed(struct http_req_ids *g);
/* The next id, 32 hex digits, into out. */
void http_req_id_next(struct http_req_ids *g, char out[HTTP_REQ_ID_MAX]);

struct sockaddr_storage;

/*
 * Fills *ss with addr ("127.0.0.1", "::", ...) and port; *ipv6 says which family.
 * 0, or ERR_INVALID when addr is not a numeric address.
 */
int http_sockaddr(const char *addr, int port, struct sockaddr_storage *ss,
                  int *ipv6) ATTR_WARN_UNUSED;

/*
 * The security headers every answer of every service carries (docs/SECURITY.md, "Security
 * headers"): {name, value} pairs, static. HTTP_SECURITY_NHEADERS entries.
 */
#define HTTP_SECURITY_NHEADERS 4
extern const char *const http_security_headers[HTTP_SECURITY_NHEADERS][2];

/*
 * 0 when the request's path and every query key and value are well-formed UTF-8 without NUL
 * bytes (see query_nul), page and per_page excepted (API.md: never an error); else ERR_INVALID with
 * *what naming the part ("path" or "query"). Pure.
 */
int http_req_utf8_check(const struct http_req *req, const char **what) ATTR_WARN_UNUSED;

/* The MHD_OPTION_EXTERNAL_LOGGER callback: MHD's messages as warn lines of our log. */
void http_mhd_log(void *cls, const char *fmt, va_list ap) ATTR_FORMAT(2, 0);

/*
 * A check run on every routed request before its handler (authentication, rate limits):
 * returns 0 to let the request go on, or fills resp itself and returns its status.
 */
typedef int (*http_guard_fn)(struct http_req *req, struct http_resp *resp);

#define HTTP_MAX_GUARDS 4

struct http_server_cfg {
    const char *svc;            /* service name for errors; borrowed */
    const char *bind_addr;      /* "127.0.0.1", "0.0.0.0" or "::"; borrowed */
    int port;                   /* 0 picks a free port (see http_server_port) */
    int threads;                /* MHD internal thread pool size */
    int conn_limit;             /* MHD connection limit */
    int timeout_s;              /* idle connection timeout; also the most a request body may take */
    size_t body_max;            /* request body cap in bytes */
    const struct route *routes; /* borrowed; must outlive the server */
    size_t nroutes;
    void *app;      /* passed to handlers as req->app */
    int access_log; /* 1: one access line per request */
    /* Run in order before the handler; the first that replies ends the request. NULL ends. */
    http_guard_fn guards[HTTP_MAX_GUARDS];
    /* Peers whose X-Forwarded-For / X-Real-IP give the client address (TRUSTED_PROXIES);
       borrowed, must outlive the server; NULL trusts nobody. */
    const struct netaddr_list *trusted_proxies;
};

struct http_server;

/* Starts serving; returns a new server or NULL (reason written to err). */
struct http_server *http_server_start(const struct http_server_cfg *cfg, char *err, size_t errlen);

/* The port actually bound. */
int http_server_port(const struct http_server *srv);

/* Requests currently being handled (for /metrics and draining). */
long http_server_in_flight(const struct http_server *srv);

/*
 * Appends <prefix>_requests_total{route,method,status}, the latency histogram by
 * route and the in-flight gauge (Prometheus text). 0 or ERR_TOO_BIG/ERR_NOMEM.
 */
int http_server_metrics_write(const struct http_server *srv, struct buf *b,
                              const char *prefix) ATTR_WARN_UNUSED;

/* Stops accepting, finishes in-flight requests, frees the server. Accepts NULL. */
void http_server_stop(struct http_server *srv);

/*
 * Runs one request through routing, the guards (NULL or a NULL-terminated array of at most
 * HTTP_MAX_GUARDS) and the handler with no MHD involved: used by the glue itself, by
 * handler unit tests and by fuzzers. Fills resp (404/405 JSON when no route fits).
 */
int http_dispatch(const struct route *routes, size_t nroutes, const http_guard_fn *guards,
                  struct http_req *req, struct http_resp *resp);

#endif
