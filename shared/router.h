/*
 * router.h - method + path pattern -> handler. Decides 404 versus 405.
 *
 * A pattern is a '/'-separated list of segments. A literal segment matches
 * itself exactly (case-sensitive). ":id" matches a decimal id of 1 to 18
 * digits (no sign, no leading '+'; a non-numeric segment does not match, so
 * /users/abc is a 404). ":code" matches any one non-empty segment.
 * One trailing slash on the request path is ignored ("/users/" == "/users").
 * Routes are tried in table order; the first route whose pattern matches and
 * whose method set contains the method wins. If patterns matched but no
 * method did, the result is ROUTER_METHOD_NOT_ALLOWED. HEAD is accepted
 * wherever GET is.
 */
#ifndef ROUTER_H
#define ROUTER_H

#include <stddef.h>

#include "common.h"

enum http_method {
    HTTP_GET = 1 << 0,
    HTTP_HEAD = 1 << 1,
    HTTP_POST = 1 << 2,
    HTTP_PUT = 1 << 3,
    HTTP_PATCH = 1 << 4,
    HTTP_DELETE = 1 << 5,
    HTTP_OPTIONS = 1 << 6,
    HTTP_OTHER = 1 << 7,
};

struct http_req;
struct http_resp;

/* A handler fills resp and returns the HTTP status it set. */
typedef int (*router_handler_fn)(struct http_req *req, struct http_resp *resp);

struct route {
    const char *pattern; /* "/users/:id" */
    unsigned methods;    /* a mask of enum http_method */
    router_handler_fn fn;
};

#define ROUTER_MAX_PARAMS 4

struct route_param {
    const char *p; /* borrowed from the path given to router_match */
    size_t len;
};

struct route_match {
    const struct route *route; /* borrowed from the table */
    int nparams;
    struct route_param params[ROUTER_MAX_PARAMS]; /* in pattern order */
    long long ids[ROUTER_MAX_PARAMS];             /* parsed value of each ":id" param, else 0 */
};

enum router_result { ROUTER_FOUND = 0, ROUTER_NOT_FOUND = 1, ROUTER_METHOD_NOT_ALLOWED = 2 };

/*
 * Matches method and path (no query string) against tab[0..n).
 * On ROUTER_FOUND fills *out. On ROUTER_METHOD_NOT_ALLOWED stores in *allowed
 * the union of the methods of the matching patterns (for the Allow header).
 */
enum router_result router_match(const struct route *tab, size_t n, enum http_method method,
                                const char *path, struct route_match *out, unsigned *allowed);

/* "GET" -> HTTP_GET ...; anything unknown -> HTTP_OTHER. */
enum http_method router_method_parse(const char *s);

/* Writes "GET, HEAD, POST" for a mask into out (NUL-terminated, truncated). */
void router_methods_str(unsigned mask, char *out, size_t outlen);

#endif
