/*
 * linkopts.c - link options read from a body and applied to a row (see linkopts.h).
 */
#include "linkopts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "jx.h"
#include "reply.h"
#include "shortcode.h"
#include "store.h"
#include "timefmt.h"
#include "validate.h"

#include "banned.h"

static int linkopts_alias_valid(const char *s, size_t len, const char **why)
{
    if (validate_alias(s, len, why) != 0)
        return ERR_INVALID;
    if (shortcode_is_reserved(s, len)) {
        *why = "is reserved";
        return ERR_INVALID;
    }
    return 0;
}

static int linkopts_redirect_type(struct json_t *body, struct link_opts *o, struct http_resp *resp)
{
    long long v = 0;
    enum jx_status st = jx_get_int(body, "redirect_type", 301, 308, &v);
    if (st == JX_MISSING)
        return 0;
    if (st == JX_OK && (v == 301 || v == 302 || v == 307 || v == 308)) {
        o->redirect_type = (int)v;
        return 0;
    }
    reply_invalid_field(resp, "redirect_type", "must be 301, 302, 307 or 308");
    return -1;
}

static int linkopts_expires(struct json_t *body, struct link_opts *o, struct http_resp *resp)
{
    const char *s = NULL;
    time_t t;
    o->has_expires = json_object_get(body, "expires_at") != NULL;
    if (reply_string_or_reply(body, "expires_at", 0, 1, validate_timestamp, &s, resp))
        return -1;
    o->expires_at = s && timefmt_parse(s, &t) == 0 ? (long long)t : -1;
    return 0;
}

static int linkopts_max_clicks(struct json_t *body, struct link_opts *o, struct http_resp *resp)
{
    long long v = 0;
    enum jx_status st = jx_get_int(body, "max_clicks", 1, LINKOPTS_MAX_CLICKS, &v);
    o->has_max = st != JX_MISSING;
    if (st == JX_OK || st == JX_MISSING || st == JX_NULL) {
        o->max_clicks = st == JX_OK ? (long)v : 0;
        return 0;
    }
    reply_invalid_field(resp, "max_clicks", "must be an integer from 1 to 2147483647, or null");
    return -1;
}

int linkopts_parse_or_reply(struct json_t *body, struct link_opts *o, struct http_resp *resp)
{
    memset(o, 0, sizeof(*o));
    o->expires_at = -1;
    if (reply_string_or_reply(body, "short_code", 0, 1, linkopts_alias_valid, &o->short_code,
                              resp) ||
        linkopts_redirect_type(body, o, resp) || linkopts_expires(body, o, resp) ||
        linkopts_max_clicks(body, o, resp))
        return -1;
    return 0;
}

void linkopts_init(struct store_url *u, const struct link_opts *o)
{
    u->redirect_type = o->redirect_type ? o->redirect_type : 302;
    u->expires_at = o->expires_at;
    u->max_clicks = o->max_clicks;
}

/* The text of an 'updated' event's new_value for an expiry ("" for none). */
static void linkopts_expiry_text(long long t, char out[TIMEFMT_ISO_LEN])
{
    if (t < 0 || timefmt_iso((time_t)t, out) != 0)
        out[0] = '\0';
}

int linkopts_apply(const struct link_opts *o, struct store_url *u,
                   int (*fn)(void *arg, const char *field, const char *value), void *arg)
{
    char text[24]; /* a timestamp (TIMEFMT_ISO_LEN) or a number */
    int rc = 0;
    if (o->short_code && strcmp(o->short_code, u->short_code) != 0) {
        char *copy = strdup(o->short_code);
        if (!copy || (rc = fn(arg, "short_code", o->short_code)) != 0) {
            free(copy);
            return copy ? rc : ERR_NOMEM;
        }
        free(u->short_code);
        u->short_code = copy;
    }
    if (o->redirect_type && o->redirect_type != u->redirect_type) {
        snprintf(text, sizeof(text), "%d", o->redirect_type);
        if ((rc = fn(arg, "redirect_type", text)) != 0)
            return rc;
        u->redirect_type = o->redirect_type;
    }
    if (o->has_expires && o->expires_at != u->expires_at) {
        linkopts_expiry_text(o->expires_at, text);
        if ((rc = fn(arg, "expires_at", text)) != 0)
            return rc;
        u->expires_at = o->expires_at;
    }
    if (o->has_max && o->max_clicks != u->max_clicks) {
        snprintf(text, sizeof(text), "%ld", o->max_clicks > 0 ? o->max_clicks : 0);
        if ((rc = fn(arg, "max_clicks", o->max_clicks > 0 ? text : "")) != 0)
            return rc;
        u->max_clicks = o->max_clicks;
    }
    return 0;
}
