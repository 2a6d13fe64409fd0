/*
 * httpc.h - a tiny blocking HTTP/1.1 client for the end-to-end tests.
 *
 * One request per TCP connection ("Connection: close") to an IPv4 address given as
 * "http://HOST:PORT" (HOST numeric or "localhost"). The request is written while the
 * response is read, so a server that answers early (413) and closes is still heard.
 * The response body may be framed by Content-Length, chunked encoding or the close of
 * the connection; the whole exchange is bounded by a timeout.
 *
 * Ownership: httpc_request() fills a caller-provided struct httpc_resp whose strings are
 * new allocations; httpc_resp_release() frees them. httpc_header() returns a borrowed
 * pointer valid until the response is released.
 */
#ifndef HTTPC_H
#define HTTPC_H

#include <stddef.h>

#include "common.h"

#define HTTPC_DEFAULT_TIMEOUT_MS 10000
#define HTTPC_MAX_HEADERS        64
#define HTTPC_MAX_RESPONSE       (64u * 1024u * 1024u)

struct httpc_req {
    const char *method;         /* "GET", "POST", ... */
    const char *path;           /* origin-form target, e.g. "/users?page=1" */
    const char *const *headers; /* NULL-terminated "Name: value" strings, or NULL */
    const char *body;           /* NULL: no body and no Content-Length */
    size_t body_len;
    int raw_body;   /* 1: send body as is without a Content-Length (the caller frames it) */
    int timeout_ms; /* whole exchange; 0 means HTTPC_DEFAULT_TIMEOUT_MS */
};

struct httpc_header {
    char *name;  /* points into httpc_resp.head */
    char *value; /* points into httpc_resp.head, trimmed */
};

struct httpc_resp {
    int status;
    char *head; /* the header block, split in place into hdr[] */
    size_t nheaders;
    struct httpc_header hdr[HTTPC_MAX_HEADERS];
    char *body; /* NUL-terminated (the NUL is not counted in body_len) */
    size_t body_len;
};

/*
 * Sends one request to base_url and reads the whole response into *resp (which it
 * initialises). Returns 0, ERR_INVALID (bad URL or malformed response), ERR_SYS (socket
 * error, connection refused or closed early), ERR_TIMEOUT, ERR_TOO_BIG or ERR_NOMEM.
 * On failure *resp holds nothing that needs releasing, but releasing it is harmless.
 */
int httpc_request(const char *base_url, const struct httpc_req *req,
                  struct httpc_resp *resp) ATTR_WARN_UNUSED;

/* The first header named `name` (case-insensitive), borrowed; NULL when absent. */
const char *httpc_header(const struct httpc_resp *resp, const char *name);

/* Frees the strings of a response and zeroes it. Accepts a zeroed response. */
void httpc_resp_release(struct httpc_resp *resp);

#endif
