/*
 * ratelimit.c - GCRA rate limits in Redis (see ratelimit.h).
 */
#include "ratelimit.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "app.h"
#include "http.h"
#include "kv.h"
#include "kvthread.h"
#include "log.h"
#include "netaddr.h"
#include "rkeys.h"

#include "banned.h"

/*
 * GCRA (the generic cell rate algorithm): KEYS[1] holds the theoretical arrival time (TAT,
 * microseconds of Redis's clock, so every instance shares one clock). ARGV[1] is the
 * emission interval T (microseconds per request), ARGV[2] the burst B. A request at `now`
 * passes when TAT + T - B*T <= now; then TAT becomes max(TAT, now) + T and the key expires
 * when it no longer matters. Returns {allowed, remaining, retry_us, reset_us}.
 */
static const char ratelimit_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local T = tonumber(ARGV[1])\n"
    "local B = tonumber(ARGV[2])\n"
    "local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0\n"
    "if tat < now then tat = now end\n"
    "local new = tat + T\n"
    "local allow_at = new - B * T\n"
    "if now < allow_at then\n"
    "  return {0, 0, allow_at - now, tat - now}\n"
    "end\n"
    "redis.call('SET', KEYS[1], string.format('%d', new), 'PX', math.ceil((new - now) / 1000) + "
    "1)\n"
    "return {1, math.floor((now - (new - B * T)) / T), 0, new - now}\n";

static atomic_int ratelimit_sha_ready;
static char ratelimit_sha[41];

int ratelimit_is_write(const char *method)
{
    return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
           strcmp(method, "PATCH") == 0 || strcmp(method, "DELETE") == 0;
}

/* Seconds for a header: ms rounded up, at least `min`. */
static long ratelimit_secs(int64_t ms, long min)
{
    long s = (long)((ms + 999) / 1000);
    return s < min ? min : s;
}

void ratelimit_headers(const struct ratelimit_result *r, struct http_resp *resp)
{
    char v[32];
    snprintf(v, sizeof(v), "%ld", r->limit);
    (void)http_resp_header(resp, "RateLimit-Limit", v);
    snprintf(v, sizeof(v), "%ld", r->remaining < 0 ? 0 : r->remaining);
    (void)http_resp_header(resp, "RateLimit-Remaining", v);
    snprintf(v, sizeof(v), "%ld", ratelimit_secs(r->reset_ms, 0));
    (void)http_resp_header(resp, "RateLimit-Reset", v);
    if (!r->allowed) {
        snprintf(v, sizeof(v), "%ld", ratelimit_secs(r->retry_ms, 1));
        (void)http_resp_header(resp, "Retry-After", v);
    }
}

/* The script's SHA1 (SCRIPT LOAD once per process; Redis keeps it until it restarts). */
static int ratelimit_load(struct kv *kv)
{
    const char *argv[] = {"SCRIPT", "LOAD", ratelimit_lua};
    redisReply *r = NULL;
    int rc = kv_command(kv, 3, argv, NULL, &r);
    if (rc)
        return rc;
    if (r->type == REDIS_REPLY_STRING && r->len == 40) {
        if (!atomic_load(&ratelimit_sha_ready)) {
            memcpy(ratelimit_sha, r->str, 40); /* the same 40 bytes whoever writes them */
            atomic_store(&ratelimit_sha_ready, 1);
        }
    } else {
        rc = ERR_KV;
    }
    freeReplyObject(r);
    return rc;
}

/* Reads {allowed, remaining, retry_us, reset_us}. 0 or ERR_KV. */
static int ratelimit_parse(const redisReply *r, struct ratelimit_result *out)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4)
        return ERR_KV;
    for (size_t i = 0; i < 4; i++)
        if (r->element[i]->type != REDIS_REPLY_INTEGER)
            return ERR_KV;
    out->allowed = r->element[0]->integer == 1;
    out->remaining = (long)r->element[1]->integer;
    out->retry_ms = r->element[2]->integer / 1000;
    out->reset_ms = r->element[3]->integer / 1000;
    return 0;
}

/* One EVALSHA (reloading the script once after NOSCRIPT, e.g. a restarted Redis). */
static int ratelimit_eval(struct kv *kv, const char *key, long per_min, long burst,
                          struct ratelimit_result *out)
{
    char t[24], b[24];
    snprintf(t, sizeof(t), "%lld", 60000000LL / per_min);
    snprintf(b, sizeof(b), "%ld", burst);
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (attempt || !atomic_load(&ratelimit_sha_ready))
            rc = ratelimit_load(kv);
        if (rc)
            return rc;
        const char *argv[] = {"EVALSHA", ratelimit_sha, "1", key, t, b};
        redisReply *r = NULL;
        rc = kv_command(kv, 6, argv, NULL, &r);
        if (rc == 0) {
            rc = ratelimit_parse(r, out);
            freeReplyObject(r);
            return rc;
        }
        if (!strstr(kv_errmsg(kv), "NOSCRIPT"))
            return rc;
    }
    return rc;
}

/* The operations endpoints are never limited (probes and scrapes). */
static int ratelimit_skip_route(const struct http_req *req)
{
    static const char *const ops[] = {"/health", "/livez", "/readyz", "/metrics"};
    const char *p = req->match.route ? req->match.route->pattern : "";
    for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
        if (strcmp(p, ops[i]) == 0)
            return 1;
    return 0;
}

int ratelimit_guard(struct http_req *req, struct http_resp *resp)
{
    struct app *app = req->app;
    int write = ratelimit_is_write(req->method_str);
    long per_min = write ? app->cfg.rl_write_per_min : app->cfg.rl_read_per_min;
    long burst = write ? app->cfg.rl_write_burst : app->cfg.rl_read_burst;
    if (per_min <= 0 || ratelimit_skip_route(req))
        return 0;
    if (netaddr_list_match(&app->rl_exempt, req->client_ip))
        return 0; /* an exempt address, with or without a key (DECISIONS R4) */
    char key[RKEYS_MAX];
    int keyed = req->auth_id[0] ? rkeys_ratelimit('k', req->auth_id, write ? 'w' : 'r', key)
                                : rkeys_ratelimit('a', req->client_ip, write ? 'w' : 'r', key);
    struct kv *kv = kvthread_get(app->kvt);
    struct ratelimit_result r = {.limit = burst};
    int rc = keyed < 0 || !kv ? ERR_KV : ratelimit_eval(kv, key, per_min, burst, &r);
    if (rc) {
        atomic_fetch_add_explicit(&app->stats.rl_errors, 1, memory_order_relaxed);
        log_rwarn(req->req_id, "rate limit not checked (request let through): %s",
                  kv ? kv_errmsg(kv) : "no Redis handle");
        return 0;
    }
    ratelimit_headers(&r, resp);
    if (r.allowed)
        return 0;
    atomic_fetch_add_explicit(write ? &app->stats.rl_rejected_write : &app->stats.rl_rejected_read,
                              1, memory_order_relaxed);
    return http_reply_error(resp, 429, "Too many requests");
}
