/*
 * idempotency.c - Idempotency-Key for write-svc's POST routes (see idempotency.h).
 */
#include "idempotency.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "app.h"
#include "buf.h"
#include "http.h"
#include "kv.h"
#include "kvthread.h"
#include "log.h"

#include "banned.h"

#define IDEMPOTENCY_MAGIC "idem1 "

/*
 * Replaces the lock with ARGV[2] (PX ARGV[3]), or deletes it when ARGV[2] is
 * empty, only while the key still holds this request's lock ARGV[1]. 1 when done.
 */
static const char idempotency_finish_lua[] =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end "
    "if ARGV[2] == '' then redis.call('DEL', KEYS[1]) "
    "else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end "
    "return 1";

/* The content types a replay may carry (resp->content_type must be a static string). */
static const char *const idempotency_ctypes[] = {
    "application/json",
    "text/plain; version=0.0.4; charset=utf-8",
};

/* ------------------------------------------------------------------------ */
/* Pure parts: key, digest, records                                          */
/* ------------------------------------------------------------------------ */

int idempotency_key_check(const char *key, const char **why)
{
    size_t n = 0;
    for (; key[n]; n++) {
        unsigned char c = (unsigned char)key[n];
        if (c < 0x21 || c > 0x7e) {
            *why = "must contain only visible ASCII characters (0x21-0x7E)";
            return ERR_INVALID;
        }
        if (n >= IDEMPOTENCY_KEY_MAX) {
            *why = "must be at most 255 characters";
            return ERR_INVALID;
        }
    }
    if (n == 0) {
        *why = "must not be empty";
        return ERR_INVALID;
    }
    return 0;
}

static void idempotency_hex(const unsigned char *raw, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[2 * n] = '\0';
}

/*
 * Feeds p into ctx, preceded by its length (8 bytes, big-endian) when `framed`.
 * 1 on success (OpenSSL style).
 */
static int idempotency_digest_part(EVP_MD_CTX *ctx, int framed, const void *p, size_t n)
{
    unsigned char len[8];
    uint64_t v = n;
    for (int i = 7; i >= 0; i--, v >>= 8)
        len[i] = (unsigned char)(v & 0xff);
    if (framed && !EVP_DigestUpdate(ctx, len, sizeof(len)))
        return 0;
    return n == 0 || EVP_DigestUpdate(ctx, p, n);
}

/*
 * SHA-256 in hex of the nparts parts, each length-prefixed when `framed`.
 * 0 or ERR_NOMEM.
 */
static int idempotency_sha256(int framed, const char *const *parts, const size_t *lens,
                              size_t nparts, char out[IDEMPOTENCY_HEX_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int ok;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (size_t i = 0; ok && i < nparts; i++)
        ok = idempotency_digest_part(ctx, framed, parts[i], lens[i]);
    ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen * 2 == IDEMPOTENCY_HEX_LEN;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return ERR_NOMEM;
    idempotency_hex(md, mdlen, out);
    return 0;
}

int idempotency_redis_key(const char *scope, const char *key, size_t key_len,
                          char out[IDEMPOTENCY_REDIS_KEY_MAX])
{
    char hex[IDEMPOTENCY_HEX_LEN + 1];
    size_t slen = strlen(scope);
    if (slen == 0 || slen > IDEMPOTENCY_SCOPE_MAX)
        return ERR_INVALID;
    for (size_t i = 0; i < slen; i++)
        if (scope[i] < 0x21 || scope[i] > 0x7e || scope[i] == '{' || scope[i] == '}')
            return ERR_INVALID;
    const char *parts[] = {key};
    int rc = idempotency_sha256(0, parts, &key_len, 1, hex);
    if (rc)
        return rc;
    return rkeys_idem(scope, hex, out) < 0 ? ERR_TOO_BIG : 0;
}

int idempotency_fingerprint(const char *method, const char *route, const char *ctype,
                            const char *body, size_t body_len, char out[IDEMPOTENCY_HEX_LEN + 1])
{
    if (!ctype)
        ctype = "";
    const char *parts[] = {method, route, ctype, body};
    const size_t lens[] = {strlen(method), strlen(route), strlen(ctype), body_len};
    return idempotency_sha256(1, parts, lens, ARRAY_SIZE(parts), out);
}

int idempotency_status_stored(int status)
{
    return (status >= 200 && status <= 299) || status == 400 || status == 413 || status == 422;
}

int idempotency_encode_inflight(struct buf *out, const char *fp, const char *token)
{
    return buf_printf(out, IDEMPOTENCY_MAGIC "I %s %s", fp, token);
}

int idempotency_encode_done(struct buf *out, const char *fp, int status, const char *ctype,
                            const char *body, size_t body_len)
{
    size_t clen = ctype ? strlen(ctype) : 0;
    if (status < 100 || status > 599 || clen > IDEMPOTENCY_CTYPE_MAX)
        return ERR_INVALID;
    int rc = buf_printf(out, IDEMPOTENCY_MAGIC "D %s %d %zu %zu\n", fp, status, clen, body_len);
    if (!rc && clen)
        rc = buf_append(out, ctype, clen);
    if (!rc && body_len)
        rc = buf_append(out, body, body_len);
    return rc;
}

/* A cursor over the bytes being decoded. */
struct idempotency_cur {
    const char *p, *end;
};

/* Copies exactly n lowercase hex digits into out (NUL-terminated). 0 or ERR_INVALID. */
static int idempotency_take_hex(struct idempotency_cur *c, size_t n, char *out)
{
    if ((size_t)(c->end - c->p) < n)
        return ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        char ch = c->p[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return ERR_INVALID;
        out[i] = ch;
    }
    out[n] = '\0';
    c->p += n;
    return 0;
}

/* Takes the byte `ch`. 0 or ERR_INVALID. */
static int idempotency_take_char(struct idempotency_cur *c, char ch)
{
    if (c->p >= c->end || *c->p != ch)
        return ERR_INVALID;
    c->p++;
    return 0;
}

/* Reads 1 to 9 decimal digits followed by `stop` (no sign, no leading zero but "0"). */
static int idempotency_take_num(struct idempotency_cur *c, char stop, size_t *out)
{
    size_t v = 0, n = 0;
    while (c->p + n < c->end && c->p[n] >= '0' && c->p[n] <= '9' && n < 9)
        v = v * 10 + (size_t)(c->p[n++] - '0');
    if (n == 0 || (n > 1 && c->p[0] == '0'))
        return ERR_INVALID;
    c->p += n;
    *out = v;
    return idempotency_take_char(c, stop);
}

/* The rest of a completed record after "idem1 D <fp> ". */
static int idempotency_decode_done(struct idempotency_cur *c, struct idempotency_record *rec)
{
    size_t status, clen, blen;
    if (idempotency_take_num(c, ' ', &status) || status < 100 || status > 599 ||
        idempotency_take_num(c, ' ', &clen) || clen > IDEMPOTENCY_CTYPE_MAX ||
        idempotency_take_num(c, '\n', &blen))
        return ERR_INVALID;
    if ((size_t)(c->end - c->p) != clen + blen)
        return ERR_INVALID;
    rec->done = 1;
    rec->status = (int)status;
    rec->ctype = c->p;
    rec->ctype_len = clen;
    rec->body = c->p + clen;
    rec->body_len = blen;
    return 0;
}

int idempotency_decode(const char *s, size_t len, struct idempotency_record *rec)
{
    struct idempotency_cur c = {s, s + len};
    size_t mlen = strlen(IDEMPOTENCY_MAGIC);
    memset(rec, 0, sizeof(*rec));
    if (len < mlen + 1 || memcmp(s, IDEMPOTENCY_MAGIC, mlen) != 0)
        return ERR_INVALID;
    char kind = s[mlen];
    c.p += mlen + 1;
    if ((kind != 'I' && kind != 'D') || idempotency_take_char(&c, ' ') ||
        idempotency_take_hex(&c, IDEMPOTENCY_HEX_LEN, rec->fp) || idempotency_take_char(&c, ' '))
        return ERR_INVALID;
    if (kind == 'D')
        return idempotency_decode_done(&c, rec);
    if (idempotency_take_hex(&c, IDEMPOTENCY_TOKEN_LEN, rec->token) || c.p != c.end)
        return ERR_INVALID;
    return 0;
}

const char *idempotency_scope(const struct http_req *req)
{
    return req->auth_id[0] ? req->auth_id : "open";
}

/* ------------------------------------------------------------------------ */
/* Redis                                                                     */
/* ------------------------------------------------------------------------ */

/* One request's idempotency state. */
struct idempotency_ctx {
    struct app *app;            /* borrowed */
    struct kv *kv;              /* borrowed: this thread's handle */
    const struct http_req *req; /* borrowed */
    char rkey[IDEMPOTENCY_REDIS_KEY_MAX];
    char fp[IDEMPOTENCY_HEX_LEN + 1];
    char token[HTTP_REQ_ID_MAX]; /* IDEMPOTENCY_TOKEN_LEN hex digits */
    struct buf lock;             /* owned: the in-flight record */
};

/* Runs one command, retrying once on a stale connection. *out is new (freeReplyObject). */
static int idempotency_cmd(struct idempotency_ctx *ic, int argc, const char **argv,
                           const size_t *lens, redisReply **out)
{
    int rc = kv_command(ic->kv, argc, argv, lens, out);
    if (rc && kv_is_broken(ic->kv))
        rc = kv_command(ic->kv, argc, argv, lens, out);
    if (rc)
        log_rerror(ic->req->req_id, "redis %s '%s' failed: %s", argv[0], ic->rkey,
                   kv_errmsg(ic->kv));
    return rc;
}

static int idempotency_unavailable(struct idempotency_ctx *ic, struct http_resp *resp)
{
    atomic_fetch_add_explicit(&ic->app->stats.kv_errors, 1, memory_order_relaxed);
    return http_reply_error(resp, 503, "Service unavailable: cache unreachable");
}

/* The stored answer again, with Idempotent-Replayed: true. Returns the status. */
static int idempotency_replay(struct idempotency_ctx *ic, const struct idempotency_record *rec,
                              struct http_resp *resp)
{
    const char *ctype = NULL;
    for (size_t i = 0; rec->ctype_len && i < ARRAY_SIZE(idempotency_ctypes); i++)
        if (strlen(idempotency_ctypes[i]) == rec->ctype_len &&
            memcmp(idempotency_ctypes[i], rec->ctype, rec->ctype_len) == 0)
            ctype = idempotency_ctypes[i];
    char *body = malloc(rec->body_len + 1);
    if (!body || (rec->ctype_len && !ctype)) {
        free(body);
        log_rerror(ic->req->req_id, "cannot replay '%s': %s", ic->rkey,
                   body ? "unknown content type" : "out of memory");
        return http_reply_error(resp, 500, "Internal error");
    }
    memcpy(body, rec->body, rec->body_len);
    body[rec->body_len] = '\0';
    http_reply_json(resp, rec->status, body, rec->body_len);
    resp->content_type = ctype;
    resp->extra_name = IDEMPOTENCY_REPLAYED;
    resp->extra_value = "true";
    return resp->status;
}

/*
 * Decides on an existing record: 0 when it is this request's own lock (a SET
 * retried after a lost reply), else the status replied (422, 409 or the replay).
 */
static int idempotency_existing(struct idempotency_ctx *ic, const struct idempotency_record *rec,
                                struct http_resp *resp)
{
    if (!rec->done && strcmp(rec->token, ic->token) == 0)
        return 0;
    if (strcmp(rec->fp, ic->fp) != 0)
        return http_reply_error_field(resp, 422, "Idempotency-Key already used for another request",
                                      IDEMPOTENCY_HEADER,
                                      "was used with another method, path or body");
    if (!rec->done)
        return http_reply_error(resp, 409, "A request with this Idempotency-Key is in progress");
    return idempotency_replay(ic, rec, resp);
}

/* GETs the existing record and decides on it; -1 when the key vanished meanwhile. */
static int idempotency_inspect(struct idempotency_ctx *ic, struct http_resp *resp)
{
    redisReply *r = NULL;
    struct idempotency_record rec;
    const char *argv[] = {"GET", ic->rkey};
    int status = -1;
    if (idempotency_cmd(ic, 2, argv, NULL, &r))
        return idempotency_unavailable(ic, resp);
    if (r->type == REDIS_REPLY_STRING && idempotency_decode(r->str, r->len, &rec) == 0) {
        status = idempotency_existing(ic, &rec, resp);
    } else if (r->type != REDIS_REPLY_NIL) {
        log_rerror(ic->req->req_id, "cannot decode idempotency record '%s'", ic->rkey);
        status = http_reply_error(resp, 500, "Internal error");
    }
    freeReplyObject(r);
    return status;
}

/*
 * Claims the key with SET NX PX. 0 when the handler may run, else the status
 * replied (503, 409, 422 or a replay). Tries again when the key expires between
 * the SET and the GET.
 */
static int idempotency_claim(struct idempotency_ctx *ic, struct http_resp *resp)
{
    char px[24];
    snprintf(px, sizeof(px), "%d", IDEMPOTENCY_LOCK_MS);
    const char *argv[] = {"SET", ic->rkey, buf_cstr(&ic->lock), "NX", "PX", px};
    for (int attempt = 0; attempt < 3; attempt++) {
        redisReply *r = NULL;
        if (idempotency_cmd(ic, (int)ARRAY_SIZE(argv), argv, NULL, &r))
            return idempotency_unavailable(ic, resp);
        int claimed = r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
        if (claimed)
            return 0;
        int status = idempotency_inspect(ic, resp);
        if (status >= 0)
            return status;
    }
    return http_reply_error(resp, 409, "A request with this Idempotency-Key is in progress");
}

/*
 * After the handler: the completed record for a final answer, else the lock deleted.
 * A final answer too big to store (not one of ours today) leaves the lock to expire,
 * so a retry within IDEMPOTENCY_LOCK_MS cannot write a second time.
 */
static void idempotency_finish(struct idempotency_ctx *ic, const struct http_resp *resp)
{
    struct buf rec;
    redisReply *r = NULL;
    char px[24];
    buf_init(&rec, IDEMPOTENCY_BODY_MAX + 512);
    snprintf(px, sizeof(px), "%d", IDEMPOTENCY_TTL_MS);
    if (idempotency_status_stored(resp->status) &&
        idempotency_encode_done(&rec, ic->fp, resp->status, resp->content_type, resp->body,
                                resp->body ? resp->body_len : 0) != 0) {
        log_rwarn(ic->req->req_id, "answer of '%s' not stored (too big): the lock expires",
                  ic->rkey);
        goto out;
    }
    const char *argv[] = {
        "EVAL", idempotency_finish_lua, "1", ic->rkey, buf_cstr(&ic->lock), buf_cstr(&rec), px};
    const size_t lens[] = {
        4, strlen(idempotency_finish_lua), 1, strlen(ic->rkey), ic->lock.len, rec.len, strlen(px)};
    if (idempotency_cmd(ic, (int)ARRAY_SIZE(argv), argv, lens, &r) == 0) {
        if (r->type != REDIS_REPLY_INTEGER || r->integer != 1)
            log_rwarn(ic->req->req_id, "idempotency lock '%s' lost before the answer was stored",
                      ic->rkey);
        freeReplyObject(r);
    }
out:
    buf_release(&rec);
}

/* Fills ic for req. 0, or the status replied (422 for a bad key, 500, 503). */
static int idempotency_init(struct idempotency_ctx *ic, struct http_req *req,
                            struct http_resp *resp)
{
    const char *why = NULL;
    const char *key = req->idempotency_key;
    memset(ic, 0, sizeof(*ic));
    ic->app = req->app;
    ic->req = req;
    buf_init(&ic->lock, 256);
    if (idempotency_key_check(key, &why))
        return http_reply_error_field(resp, 422, "Invalid Idempotency-Key", IDEMPOTENCY_HEADER,
                                      why);
    http_req_id_generate(ic->token);
    if (idempotency_redis_key(idempotency_scope(req), key, strlen(key), ic->rkey) ||
        idempotency_fingerprint(req->method_str, req->match.route->pattern, req->content_type,
                                req->body, req->body_len, ic->fp) ||
        idempotency_encode_inflight(&ic->lock, ic->fp, ic->token)) {
        log_rerror(req->req_id, "cannot prepare idempotency key: out of memory");
        return http_reply_error(resp, 500, "Internal error");
    }
    if (!(ic->kv = kvthread_get(ic->app->kvt)))
        return idempotency_unavailable(ic, resp);
    return 0;
}

int idempotency_run(struct http_req *req, struct http_resp *resp, router_handler_fn fn)
{
    struct idempotency_ctx ic;
    if (!req->idempotency_key)
        return fn(req, resp);
    int status = idempotency_init(&ic, req, resp);
    if (status == 0)
        status = idempotency_claim(&ic, resp);
    if (status == 0) {
        fn(req, resp);
        idempotency_finish(&ic, resp);
    }
    buf_release(&ic.lock);
    return resp->status;
}
