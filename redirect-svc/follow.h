/*
 * follow.h - the one Redis round trip of a redirect.
 *
 * A Lua script (loaded once with SCRIPT LOAD, run with EVALSHA; reloaded after
 * NOSCRIPT, e.g. when Redis restarted) reads the link hash "url:{s}:<code>" and,
 * when `record` is set (a GET) and the link exists, XADDs the click to
 * "clicks:{s}" in the same call: both keys carry the same hash tag, so the
 * script is valid on a Redis Cluster too. A miss costs a second round trip
 * (EXISTS on the read-model marker) to tell "unknown code" from "model not
 * loaded yet".
 */
#ifndef FOLLOW_H
#define FOLLOW_H

#include <stddef.h>

#include "common.h"

struct app;

struct follow_click {
    int record;          /* 1: append the click (GET); 0: look only (HEAD) */
    const char *referrer; /* header value or NULL (borrowed) */
    const char *agent;    /* header value or NULL (borrowed) */
};

enum follow_result {
    FOLLOW_FOUND = 0,     /* *url is set */
    FOLLOW_NOT_FOUND = 1, /* no such active link, and the model is complete */
    FOLLOW_NOT_READY = 2, /* no such link, but the model is not loaded: answer 503 */
};

/*
 * Looks code[0..len) up (and records the click). On FOLLOW_FOUND *url is a new
 * allocation (caller frees). Returns an enum follow_result, or ERR_KV when
 * Redis cannot be reached (detail logged with req_id).
 */
int follow_link(struct app *app, const char *code, size_t len, const struct follow_click *click,
                const char *req_id, char **url) ATTR_WARN_UNUSED;

/* Loads the script now (at start-up). 0 or ERR_KV. */
int follow_load_script(struct app *app) ATTR_WARN_UNUSED;

#endif
