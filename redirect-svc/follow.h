/*
 * follow.h - the redirect's Redis work, one script call per shard per loop turn.
 *
 * A Lua script (loaded with SCRIPT LOAD, run with EVALSHA; sent as EVAL once after a
 * NOSCRIPT, e.g. when Redis restarted) gets the codes of one shard that a loop turn
 * collected (their link hashes "url:{s}:<code>" and the stream "clicks:{s}" share the
 * shard's hash tag, so the call is valid on a Redis Cluster too). For each code in order
 * it reads the link hash, answers missing, expired (by date, or its counter reached its
 * cap) or found (URL and redirect status), and for a counted GET increments the counter.
 * The clicks that stand are appended in the same call: one batched entry carrying all of
 * them (clickstream.h), or with `batch` off one entry of named fields per click. So a
 * link capped at N gets exactly N clicks, however many requests and instances race.
 *
 * The loop appends one such call per shard (follow_append_batch), then one EXISTS of the
 * read-model marker that tells an unknown code (404) from a model not loaded (503) for
 * the misses of the batch and answers /health and /readyz.
 */
#ifndef FOLLOW_H
#define FOLLOW_H

#include <stddef.h>

#include "clickstream.h"
#include "common.h"
#include "rkeys.h"

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

/* One redirect of a batch. All pointers borrowed from the request, valid while it waits. */
struct follow_req {
    const char *code; /* the short code, code_len bytes (not NUL-terminated) */
    size_t code_len;
    char key[RKEYS_MAX]; /* its link hash key (rkeys_link) */
    size_t key_len;
    unsigned shard; /* shortcode_shard(code) mod STREAM_SHARDS */
    struct follow_click click;
};

enum follow_result {
    FOLLOW_FOUND = 0,     /* the URL and status are set */
    FOLLOW_NOT_FOUND = 1, /* no such active link, and the model is complete */
    FOLLOW_NOT_READY = 2, /* no such link, but the model is not loaded: answer 503 */
    FOLLOW_MISS = 3,      /* no such link; the marker's reply tells which of the two */
    FOLLOW_EXPIRED = 4,   /* the link expired by date or by clicks: 410, nothing recorded */
};

/* argv slots one call of CLICKSTREAM_BATCH_MAX requests needs (follow_append_batch). */
#define FOLLOW_ARGV_MAX (7 + 7 * CLICKSTREAM_BATCH_MAX)

/* Scratch space of one loop for building a call (owned by the loop, reused). */
struct follow_scratch {
    const char *argv[FOLLOW_ARGV_MAX];
    size_t lens[FOLLOW_ARGV_MAX];
    char stream[RKEYS_MAX];
    char maxlen[24], ts[24];
};

/* Loads the script (idempotent; the SHA is kept in app). 0 or ERR_KV. Blocking. */
int follow_load_script(struct app *app, struct kv *kv) ATTR_WARN_UNUSED;

/* 1 once the script's SHA is known (follow_load_script succeeded once). */
int follow_script_ready(void);

/* Fills r->key, r->key_len and r->shard from r->code. 0 or ERR_INVALID. */
int follow_prepare(const struct app *app, struct follow_req *r) ATTR_WARN_UNUSED;

/*
 * Appends one script call for reqs[0..n) (1 <= n <= CLICKSTREAM_BATCH_MAX, all of one
 * shard) to kv's output buffer; nothing is sent. use_eval sends the script's text (after a
 * NOSCRIPT) instead of its SHA. 0 or ERR_KV / ERR_INVALID.
 */
int follow_append_batch(struct app *app, struct kv *kv, const struct follow_req *const *reqs,
                        size_t n, int use_eval, struct follow_scratch *s) ATTR_WARN_UNUSED;

/*
 * The result of request i in a call's reply r: FOLLOW_FOUND with url[0..urlmax) (NUL-
 * terminated; a longer URL is ERR_TOO_BIG) and *status, FOLLOW_EXPIRED, FOLLOW_MISS, or
 * ERR_KV when the reply has not the expected shape.
 */
int follow_batch_result(const struct redisReply *r, size_t i, char *url, size_t urlmax,
                        int *status);

/* 1 when an error reply text says the script is unknown to Redis (NOSCRIPT). */
int follow_is_noscript(const char *errmsg);

/* Appends "EXISTS readmodel:complete" (the marker). 0 or ERR_KV. */
int follow_append_marker(struct kv *kv) ATTR_WARN_UNUSED;

/* Interprets the marker reply: FOLLOW_NOT_FOUND (model complete) or FOLLOW_NOT_READY. */
int follow_marker_reply(const struct redisReply *r);

#endif
