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
    return rkeys_fmt(out, "url:{%u}:%.*s", shortcode_shard(code, len, nshards), (int)len, code);
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
