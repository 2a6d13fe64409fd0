/*
 * linkopts.h - the link options of PRODUCT.md section 1 (short_code as a custom
 * alias, redirect_type, expires_at, max_clicks) read from a POST /urls or
 * PUT/PATCH /urls/<id> body, and applied to a URL row.
 *
 * Every rule failure is a 422 {"error": "Invalid <field>", "details": {field: why}};
 * a taken alias is the caller's 409 (it needs the database).
 */
#ifndef LINKOPTS_H
#define LINKOPTS_H

#include "common.h"

struct http_resp;
struct json_t;
struct store_url;

#define LINKOPTS_MAX_CLICKS 2147483647L /* 2^31 - 1 */

/* What a body asks for. "has_*" says the key was present (JSON null included). */
struct link_opts {
    const char *short_code; /* borrowed from the body; NULL: absent */
    int redirect_type;      /* 301, 302, 307 or 308; 0: absent */
    int has_expires;
    long long expires_at; /* seconds since the epoch; -1: null (no expiry) */
    int has_max;
    long max_clicks; /* 1..LINKOPTS_MAX_CLICKS; 0: null (no cap) */
};

/*
 * Reads the options of body (borrowed; o borrows strings from it). Returns 0,
 * or -1 after replying 422: an alias of the wrong shape or a reserved name
 * (case-insensitive), a redirect type outside 301/302/307/308, an expiry that
 * is not "YYYY-MM-DDTHH:MM:SS", a cap outside 1..2^31-1 (null clears either).
 */
int linkopts_parse_or_reply(struct json_t *body, struct link_opts *o, struct http_resp *resp);

/* A new link's options: those of o, else the defaults (302, no expiry, no cap). */
void linkopts_init(struct store_url *u, const struct link_opts *o);

/*
 * Field by field, the options o sets that differ from *u: calls fn(arg, field,
 * new_value) for each (field "short_code", "redirect_type", "expires_at" or
 * "max_clicks"; new_value as text, "" for null), then writes it into *u
 * (short_code is copied). Stops at the first non-zero return of fn; returns
 * that, or ERR_NOMEM.
 */
int linkopts_apply(const struct link_opts *o, struct store_url *u,
                   int (*fn)(void *arg, const char *field, const char *value),
                   void *arg) ATTR_WARN_UNUSED;

#endif
