/*
 * follow.h - the one Redis round trip of a redirect, in pipelined form.
 *
 * A Lua script (loaded with SCRIPT LOAD, run with EVALSHA; reloaded after
 * NOSCRIPT, e.g. when Redis restarted) reads the link hash "url:{s}:<code>",
 * answers 410 when it expired (by date, or its click counter reached its cap),
 * and otherwise, when `record` is set (a GET), counts the click and XADDs it to
 * "clicks:{s}" in the same call. Both keys carry the same hash tag, so the
 * script is valid on a Redis Cluster too.
 *
 * The server appends one command per request (follow_append), sends a whole
 * batch at once, and interprets each reply (follow_reply). A miss costs one
 * more command for the batch (EXISTS on the read-model marker) to tell an
 * unknown code (404) from a model that is not loaded (503).
 */
#ifndef FOLLOW_H
#define FOLLOW_H

#include <stddef.h>

#include "common.h"

struct app;
struct kv;
struct redisReply;

struct follow_click {
    int record;           /* 1: append the click (GET); 0: look only (HEAD) */
    const char *referrer; /* header value or NULL (borrowed) */
    const char *agent;    /* header value or NULL (borrowed) */
    const char *ip;       /* the client's address as text, or NULL (borrowed) */
    const char *self;     /* "host:port ..." of this shortener (client_request_self), or NULL:
                             a link pointing there is followed but its click not recorded */
};

enum follow_result {
    FOLLOW_FOUND = 0,     /* *url is set */
    FOLLOW_NOT_FOUND = 1, /* no such active link, and the model is complete */
    FOLLOW_NOT_READY = 2, /* no such link, but the model is not loaded: answer 503 */
    FOLLOW_MISS = 3,      /* no such link; ask follow_marker() which of the two */
    FOLLOW_EXPIRED = 4,   /* the link expired by date or by clicks: 410, nothing recorded */
};

/* Loads the script (idempotent; the SHA is kept in app). 0 or ERR_KV. */
int follow_load_script(struct app *app, struct kv *kv) ATTR_WARN_UNUSED;

/* Appends the EVALSHA of code[0..len) to kv's output buffer (nothing is sent). 0 or ERR_KV. */
int follow_append(struct app *app, struct kv *kv, const char *code, size_t len,
                  const struct follow_click *click) ATTR_WARN_UNUSED;

/*
 * Interprets a reply: FOLLOW_FOUND with *url (a new allocation) and *status (the
 * link's redirect status), FOLLOW_EXPIRED, FOLLOW_MISS, or ERR_NOMEM.
 */
int follow_reply(const struct redisReply *r, char **url, int *status);

/* Runs the same EVALSHA synchronously (after reloading the script): the NOSCRIPT path. */
int follow_retry(struct app *app, struct kv *kv, const char *code, size_t len,
                 const struct follow_click *click, char **url, int *status) ATTR_WARN_UNUSED;

/* Appends "EXISTS readmodel:complete" (the marker). 0 or ERR_KV. */
int follow_append_marker(struct kv *kv) ATTR_WARN_UNUSED;

/* Interprets the marker reply: FOLLOW_NOT_FOUND (model complete) or FOLLOW_NOT_READY. */
int follow_marker_reply(const struct redisReply *r);

#endif
