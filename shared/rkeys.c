/*
 * rkeys.c - the Redis key layout (see rkeys.h).
 */
#include "rkeys.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shortcode.h"

#include "banned.h"

/* printf into out; the length, or ERR_TOO_BIG with out emptied. */
static int rkeys_fmt(char out[RKEYS_MAX], const char *fmt, ...) ATTR_FORMAT(2, 3);
static int rkeys_fmt(char out[RKEYS_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, RKEYS_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= RKEYS_MAX) {
        out[0] = '\0';
        return ERR_TOO_BIG;
    }
    return n;
}

int rkeys_link(const char *code, size_t len, unsigned nshards, char out[RKEYS_MAX])
{
    /* Check the size before hashing, so an absurd len never makes us read past the code. */
    if (len >= RKEYS_MAX) {
        out[0] = '\0';
        return ERR_TOO_BIG;
    }
    /* "url:{%u}:%.*s" by hand: vsnprintf cost 3 % of a redirect's instructions (callgrind). */
    unsigned shard = shortcode_shard(code, len, nshards);
    char digits[12];
    size_t nd = 0;
    do
        digits[nd++] = (char)('0' + shard % 10);
    while ((shard /= 10) && nd < sizeof(digits));
    len = strnlen(code, len); /* %.*s stopped at a NUL */
    size_t n = 5 + nd + 2 + len;
    if (n >= RKEYS_MAX) {
        out[0] = '\0';
        return ERR_TOO_BIG;
    }
    char *p = out;
    memcpy(p, "url:{", 5);
    p += 5;
    while (nd)
        *p++ = digits[--nd];
    *p++ = '}';
    *p++ = ':';
    memcpy(p, code, len);
    p[len] = '\0';
    return (int)n;
}

int rkeys_marker(unsigned shard, char out[RKEYS_MAX])
{
    return rkeys_fmt(out, "readmodel:{%u}:complete", shard);
}

int rkeys_stream(unsigned shard, char out[RKEYS_MAX])
{
    return rkeys_fmt(out, "clicks:{%u}", shard);
}

int rkeys_changes(unsigned shard, char out[RKEYS_MAX])
{
    return rkeys_fmt(out, "chg:{%u}", shard);
}

int rkeys_stream_shard(const char *key, unsigned nshards)
{
    if (strncmp(key, "clicks:{", 8) != 0 || key[8] < '0' || key[8] > '9')
        return -1;
    char *end = NULL;
    unsigned long v = strtoul(key + 8, &end, 10);
    if (!end || strcmp(end, "}") != 0 || v >= nshards)
        return -1;
    return (int)v;
}

int rkeys_hll(const char *url_id, const char *day, char out[RKEYS_MAX])
{
    return rkeys_fmt(out, "hll:{%s}:%s", url_id, day);
}

int rkeys_idem(const char *scope, const char *hex, char out[RKEYS_MAX])
{
    return rkeys_fmt(out, "idem:{%s}:%s", scope, hex);
}

int rkeys_ratelimit(char kind, const char *id, char cls, char out[RKEYS_MAX])
{
    return rkeys_fmt(out, "rl:{%c:%s}:%c", kind, id, cls);
}
