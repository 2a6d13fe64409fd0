/*
 * idempotency.h - the Idempotency-Key header of POST /users, /urls, /events and
 * /users/bulk (PRODUCT.md section 2), kept in Redis so that every write-svc
 * instance sees the same keys.
 *
 * routes.c wraps those four handlers with idempotency_run(); nothing else knows
 * about the header. Without the header the handler runs as before. With it:
 *
 *   1. the key is checked (1 to 255 bytes of 0x21-0x7E, else 422);
 *   2. SET idem:{<scope>}:<sha256(key) hex> "<in flight, fingerprint, token>"
 *      NX PX IDEMPOTENCY_LOCK_MS claims the key (Redis down: 503, nothing written);
 *   3. when the key exists its record decides: another fingerprint -> 422, still
 *      in flight -> 409, completed -> the stored answer again with
 *      "Idempotent-Replayed: true" and the handler is not run;
 *   4. after the handler, a final answer (idempotency_status_stored) replaces the
 *      lock with the completed record for IDEMPOTENCY_TTL_MS, and any other answer
 *      deletes the lock so that the client may retry; both only while the lock is
 *      still this request's (compare-and-set on its token, one Lua script).
 *
 * The fingerprint is SHA-256 over the method, the route, the Content-Type and the
 * body, each prefixed with its length. The scope is "open" in API_AUTH=open and the
 * API key's id in API_AUTH=keys (idempotency_scope), so two keys never share a record.
 *
 * The encode/decode/validate functions are pure (unit-tested in
 * tests/unit/test_idempotency.c); idempotency_run talks to Redis.
 */
#ifndef IDEMPOTENCY_H
#define IDEMPOTENCY_H

#include <stddef.h>

#include "common.h"
#include "rkeys.h"
#include "router.h"

#define IDEMPOTENCY_HEADER    "Idempotency-Key"
#define IDEMPOTENCY_REPLAYED  "Idempotent-Replayed"
#define IDEMPOTENCY_KEY_MAX   255
#define IDEMPOTENCY_HEX_LEN   64 /* a SHA-256 in lowercase hex */
#define IDEMPOTENCY_TOKEN_LEN 32 /* the lock owner's random token, hex */
#define IDEMPOTENCY_SCOPE_MAX 64
#define IDEMPOTENCY_CTYPE_MAX 255
#define IDEMPOTENCY_LOCK_MS   60000              /* a crashed instance blocks a key this long */
#define IDEMPOTENCY_TTL_MS    (24 * 3600 * 1000) /* completed answers are kept 24 h */
#define IDEMPOTENCY_BODY_MAX  (1024 * 1024)      /* larger answers are not stored */
/* "idem:{" scope "}:" hex NUL */
#define IDEMPOTENCY_REDIS_KEY_MAX RKEYS_MAX /* "idem:{<scope>}:<hex>" (rkeys.h) */
_Static_assert(6 + IDEMPOTENCY_SCOPE_MAX + 2 + IDEMPOTENCY_HEX_LEN + 1 <= RKEYS_MAX,
               "an idempotency key fits RKEYS_MAX");

struct buf;
struct http_req;
struct http_resp;

/* A decoded Redis record. The pointers are borrowed from the decoded bytes. */
struct idempotency_record {
    int done;                              /* 0: in flight; 1: completed */
    char fp[IDEMPOTENCY_HEX_LEN + 1];      /* the request's fingerprint */
    char token[IDEMPOTENCY_TOKEN_LEN + 1]; /* in flight: the owner's token; else "" */
    int status;                            /* completed: the answer's status */
    const char *ctype;                     /* completed: Content-Type ("" for none) */
    size_t ctype_len;
    const char *body; /* completed: the answer's body */
    size_t body_len;
};

/*
 * Checks a header value: 0, or ERR_INVALID with a static reason in *why (empty,
 * too long, or a byte outside 0x21-0x7E).
 */
int idempotency_key_check(const char *key, const char **why) ATTR_WARN_UNUSED;

/*
 * Writes "idem:{<scope>}:<sha256(key) hex>" into out (the plain SHA-256 of the
 * key's bytes, as `printf %s KEY | sha256sum` prints it). 0, ERR_INVALID (scope empty,
 * longer than IDEMPOTENCY_SCOPE_MAX or holding '{', '}' or a non-visible byte) or
 * ERR_NOMEM (the digest failed).
 */
int idempotency_redis_key(const char *scope, const char *key, size_t key_len,
                          char out[IDEMPOTENCY_REDIS_KEY_MAX]) ATTR_WARN_UNUSED;

/*
 * The request's fingerprint in hex: SHA-256 over method, route, content type (NULL
 * counts as "") and body, each preceded by its length (8 bytes, big-endian) so no
 * two different requests share an input. 0 or ERR_NOMEM.
 */
int idempotency_fingerprint(const char *method, const char *route, const char *ctype,
                            const char *body, size_t body_len,
                            char out[IDEMPOTENCY_HEX_LEN + 1]) ATTR_WARN_UNUSED;

/* 1 when an answer with this status is stored and replayed (2xx, 400, 413, 422), else 0. */
int idempotency_status_stored(int status);

/*
 * Appends the in-flight record "idem1 I <fp> <token>" to out (fp and token as
 * above). 0 or the buf error.
 */
int idempotency_encode_inflight(struct buf *out, const char *fp,
                                const char *token) ATTR_WARN_UNUSED;

/*
 * Appends the completed record "idem1 D <fp> <status> <ctype len> <body len>\n"
 * followed by the content type and body bytes (ctype NULL counts as ""). 0,
 * ERR_INVALID (status outside 100-599, ctype over IDEMPOTENCY_CTYPE_MAX) or the
 * buf error (ERR_TOO_BIG past the buffer's cap).
 */
int idempotency_encode_done(struct buf *out, const char *fp, int status, const char *ctype,
                            const char *body, size_t body_len) ATTR_WARN_UNUSED;

/* Decodes len bytes at s into *rec (pointers borrowed from s). 0 or ERR_INVALID. */
int idempotency_decode(const char *s, size_t len, struct idempotency_record *rec) ATTR_WARN_UNUSED;

/*
 * The scope of req's keys: the API key's id (req->auth_id, set by the auth guard) when a key
 * authenticated the request, else "open" (static). Borrowed.
 */
const char *idempotency_scope(const struct http_req *req);

/*
 * Runs fn(req, resp) under req's Idempotency-Key as described above, or directly
 * when the request has none. req->app is the write-svc struct app. Fills resp and
 * returns its status, like any handler.
 */
int idempotency_run(struct http_req *req, struct http_resp *resp, router_handler_fn fn);

#endif
