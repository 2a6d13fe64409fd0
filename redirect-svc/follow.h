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
 * With the near cache on (ncache.h, which has the ordering proof) the same call also reads
 * the shard's change stream from the loop's position: a request marked cached is answered
 * "as cached" (no HMGET) unless its code changed or the position was lost, and the reply
 * ends with the changes the loop applies to its cache.
 *
 * The loop appends one such call per shard (follow_append_batch), then one EXISTS of the
 * read-model marker that tells an unknown code (404) from a model not loaded (503) for
 * the misses of the batch and answers /health and /readyz.
 */
#ifndef FOLLOW_H
#define FOLLOW_H

#include <stddef.h>
#include <stdint.h>

#include "clickstream.h"
#include "common.h"
#include "ncache.h"
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
    /* Set by the loop for a near-cache hit, for the call and its click: */
    int cached;              /* 1: the cache answers unless the call says otherwise */
    char id[NCACHE_ID_MAX];  /* the cached URL id */
    char uid[NCACHE_ID_MAX]; /* the cached owner id, or "" */
    const char *url;         /* the cached URL (borrowed: the request's own copy) */
    size_t url_len;
    int loop; /* cached, and the redirect-loop rule (R9) decided here: FOLLOW_LOOP_NO or
                 FOLLOW_LOOP_YES; 0: left to the script */
};

#define FOLLOW_LOOP_NO  2 /* the cached URL does not point back at us */
#define FOLLOW_LOOP_YES 3 /* it does: the click is not recorded */

enum follow_result {
    FOLLOW_FOUND = 0,     /* the URL and status are set */
    FOLLOW_NOT_FOUND = 1, /* no such active link, and the model is complete */
    FOLLOW_NOT_READY = 2, /* no such link, but the model is not loaded: answer 503 */
    FOLLOW_MISS = 3,      /* no such link; the marker's reply tells which of the two */
    FOLLOW_EXPIRED = 4,   /* the link expired by date or by clicks: 410, nothing recorded */
    FOLLOW_CACHED = 5,    /* a cached request's answer stands (its click is recorded) */
};

/* A change stream position: an entry id "<ms>-<seq>" (two 64-bit decimals). */
#define FOLLOW_POS_MAX 48

/* argv slots one call of CLICKSTREAM_BATCH_MAX requests needs (follow_append_batch). */
#define FOLLOW_ARGV_MAX (9 + 11 * CLICKSTREAM_BATCH_MAX)

/* Scratch space of one loop for building a call (owned by the loop, reused). */
struct follow_scratch {
    const char *argv[FOLLOW_ARGV_MAX];
    size_t lens[FOLLOW_ARGV_MAX];
    char stream[RKEYS_MAX];
    char changes[RKEYS_MAX];
    char maxlen[24], ts[24];
    char *pack;      /* owned (NULL at first, free it): the cached clicks packed for a call */
    size_t pack_cap; /* its size; grown as a call needs, kept */
};

/*
 * The " host:port " of url[0..len) exactly as the script's redirect-loop rule computes it
 * (lowercase, scheme http or https, userinfo and one trailing dot dropped, default port
 * added, the port as a decimal without leading zeros), into out; "" when the URL has no
 * such host (never a loop). 1, or 0 when the script's result could differ (a port of more
 * than 9 digits, a result over NCACHE_HP_MAX): then the script decides.
 */
int follow_hostport(const char *url, size_t len, char out[NCACHE_HP_MAX + 1]);

/* Bytes of a request's self names that follow_loop_check handles (client.h's maximum). */
#define FOLLOW_SELF_MAX 1024

/*
 * The script's test of the redirect-loop rule: FOLLOW_LOOP_YES when hp (follow_hostport's,
 * not "") is found in " " self " ", else FOLLOW_LOOP_NO; 0 when self is longer than
 * FOLLOW_SELF_MAX (left to the script).
 */
int follow_loop_check(const char *hp, const char *self);

/* Loads the script (idempotent; the SHA is kept in app). 0 or ERR_KV. Blocking. */
int follow_load_script(struct app *app, struct kv *kv) ATTR_WARN_UNUSED;

/* 1 once the script's SHA is known (follow_load_script succeeded once). */
int follow_script_ready(void);

/* Fills r->key, r->key_len and r->shard from r->code. 0 or ERR_INVALID. */
int follow_prepare(const struct app *app, struct follow_req *r) ATTR_WARN_UNUSED;

/*
 * Appends one script call for reqs[0..n) (1 <= n <= CLICKSTREAM_BATCH_MAX, all of one
 * shard) to kv's output buffer; nothing is sent. use_eval sends the script's text (after a
 * NOSCRIPT) instead of its SHA. pos is the loop's position in the shard's change stream
 * (near cache on) or NULL (off: no change stream, no cached request); now_ms is the clock
 * every expiry of the call is checked against. 0 or ERR_KV / ERR_INVALID.
 */
int follow_append_batch(struct app *app, struct kv *kv, const struct follow_req *const *reqs,
                        size_t n, int use_eval, const char *pos, int64_t now_ms,
                        struct follow_scratch *s) ATTR_WARN_UNUSED;

/*
 * Near cache on: applies the changes at the end of a call's reply r for n requests to c
 * (each changed code deleted, or all cleared on a reset) and stores the new position in
 * pos. *invalidated counts the entries removed. 1 for a reset, 0, or ERR_KV when the reply
 * has not the expected shape (then the caller must not trust the call's cached answers).
 */
int follow_batch_changes(const struct redisReply *r, size_t n, struct ncache *c,
                         char pos[FOLLOW_POS_MAX], size_t *invalidated) ATTR_WARN_UNUSED;

/*
 * Near cache on: 1 and *out (pointers into r) when request i's answer was read from its
 * hash and may be cached (found, no click cap), else 0.
 */
int follow_batch_fill(const struct redisReply *r, size_t i, struct ncache_link *out);

/*
 * The result of request i in a call's reply r: FOLLOW_FOUND with url[0..urlmax) (NUL-
 * terminated; a longer URL is ERR_TOO_BIG) and *status, FOLLOW_CACHED (url and status
 * untouched), FOLLOW_EXPIRED, FOLLOW_MISS, or ERR_KV when the reply has not the expected
 * shape.
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
