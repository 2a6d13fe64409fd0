/*
 * ratelimit.h - write-svc's rate limits (guard slot 1): GCRA in Redis, shared by every
 * instance, one EVALSHA per request (DECISIONS R1-R6).
 *
 * Each request is a write (POST, PUT, PATCH, DELETE) or a read (anything else) and is
 * charged to the budget of its API key (req->auth_id, when the auth guard set one) or else
 * of its client address (req->client_ip). Addresses in RATE_LIMIT_EXEMPT, a class whose
 * RATE_LIMIT_*_PER_MIN is 0, and the operations endpoints (/health, /livez, /readyz,
 * /metrics) skip the check: no Redis call at all. A refused request gets 429
 * {"error":"Too many requests"} with Retry-After and RateLimit-Limit/-Remaining/-Reset; an
 * allowed one carries the RateLimit-* headers too. Redis unreachable: the request goes on
 * (fail open) and shortener_ratelimit_errors_total counts it.
 */
#ifndef RATELIMIT_H
#define RATELIMIT_H

#include <stdint.h>

struct http_req;
struct http_resp;

/* The outcome of one check (the script's answer). */
struct ratelimit_result {
    int allowed;      /* 1: go on; 0: 429 */
    long limit;       /* the burst: RateLimit-Limit */
    long remaining;   /* requests that would pass right now: RateLimit-Remaining */
    int64_t retry_ms; /* refused: wait this long before the next one passes */
    int64_t reset_ms; /* until the budget is full again */
};

/* The http_guard_fn: 0 to go on, or 429 (resp filled). */
int ratelimit_guard(struct http_req *req, struct http_resp *resp);

/* 1 when method (as sent) is charged to the write budget. */
int ratelimit_is_write(const char *method);

/* Adds RateLimit-Limit/-Remaining/-Reset (seconds, rounded up) and, refused, Retry-After. */
void ratelimit_headers(const struct ratelimit_result *r, struct http_resp *resp);

#endif
