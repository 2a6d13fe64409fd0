/*
 * kvslot.c - key slots, command routing, redirect errors, CLUSTER SLOTS (see kvslot.h).
 */
#include "kvslot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <hiredis/hiredis.h>

#include "banned.h"

/* CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, no reflection, as Redis. */
static uint16_t kvslot_crc16(const char *buf, size_t len)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((uint16_t)(unsigned char)buf[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

unsigned kvslot_of(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);
    if (open) {
        size_t from = (size_t)(open - key) + 1;
        const char *close = memchr(open + 1, '}', len - from);
        if (close && close > open + 1)
            return kvslot_crc16(open + 1, (size_t)(close - open - 1)) & (KVSLOT_COUNT - 1);
    }
    return kvslot_crc16(key, len) & (KVSLOT_COUNT - 1);
}

/* 1 when argument i (lens may be NULL) equals word, case-insensitive. */
static int kvslot_is(const char *const *argv, const size_t *lens, int i, const char *word)
{
    size_t n = lens ? lens[i] : strlen(argv[i]);
    return n == strlen(word) && strncasecmp(argv[i], word, n) == 0;
}

/* Commands without a key, or with their key elsewhere than argv[1]. */
static const struct {
    const char *name;
    enum kvslot_route route;
    int key; /* KVSLOT_KEY: the key's index */
} kvslot_table[] = {
    {.name = "PING", .route = KVSLOT_ANY},
    {.name = "INFO", .route = KVSLOT_ANY},
    {.name = "CLUSTER", .route = KVSLOT_ANY},
    {.name = "WAIT", .route = KVSLOT_ANY},
    {.name = "TIME", .route = KVSLOT_ANY},
    {.name = "DBSIZE", .route = KVSLOT_ANY},
    {.name = "SCAN", .route = KVSLOT_ANY},
    {.name = "KEYS", .route = KVSLOT_ANY},
    {.name = "CLIENT", .route = KVSLOT_ANY},
    {.name = "CONFIG", .route = KVSLOT_ANY},
    {.name = "ECHO", .route = KVSLOT_ANY},
    {.name = "ROLE", .route = KVSLOT_ANY},
    {.name = "COMMAND", .route = KVSLOT_ANY},
    {.name = "SCRIPT", .route = KVSLOT_ALL},
    {.name = "FLUSHALL", .route = KVSLOT_ALL},
    {.name = "FLUSHDB", .route = KVSLOT_ALL},
    {.name = "XINFO", .route = KVSLOT_KEY, .key = 2},
    {.name = "XGROUP", .route = KVSLOT_KEY, .key = 2},
    {.name = "OBJECT", .route = KVSLOT_KEY, .key = 2},
    {.name = "MEMORY", .route = KVSLOT_KEY, .key = 2},
};

enum kvslot_route kvslot_route(int argc, const char *const *argv, const size_t *lens, int *key)
{
    *key = 1;
    if (argc < 1)
        return KVSLOT_ANY;
    if (kvslot_is(argv, lens, 0, "EVAL") || kvslot_is(argv, lens, 0, "EVALSHA") ||
        kvslot_is(argv, lens, 0, "EVAL_RO") || kvslot_is(argv, lens, 0, "EVALSHA_RO") ||
        kvslot_is(argv, lens, 0, "FCALL")) {
        *key = 3;
        return argc > 3 && !kvslot_is(argv, lens, 2, "0") ? KVSLOT_KEY : KVSLOT_ANY;
    }
    if (kvslot_is(argv, lens, 0, "XREAD") || kvslot_is(argv, lens, 0, "XREADGROUP")) {
        for (int i = 1; i < argc; i++)
            if (kvslot_is(argv, lens, i, "STREAMS")) {
                *key = i + 1;
                return (argc - i - 1) >= 2 && (argc - i - 1) % 2 == 0 ? KVSLOT_STREAMS : KVSLOT_ANY;
            }
        return KVSLOT_ANY;
    }
    for (size_t i = 0; i < ARRAY_SIZE(kvslot_table); i++)
        if (kvslot_is(argv, lens, 0, kvslot_table[i].name)) {
            *key = kvslot_table[i].key;
            if (kvslot_table[i].route == KVSLOT_KEY && argc <= kvslot_table[i].key)
                return KVSLOT_ANY;
            return kvslot_table[i].route;
        }
    return argc > 1 ? KVSLOT_KEY : KVSLOT_ANY;
}

/* Parses "<slot> <host>:<port>" (the host may be empty, or an IPv6 address: the last ':'
 * splits). 0 or ERR_INVALID. */
static int kvslot_parse_target(const char *s, size_t len, struct kvslot_target *t)
{
    char buf[KVSLOT_HOST_MAX + 32];
    if (len >= sizeof(buf))
        return ERR_INVALID;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    unsigned long slot = strtoul(buf, &end, 10);
    if (errno || end == buf || *end != ' ' || slot >= KVSLOT_COUNT || buf[0] == '-')
        return ERR_INVALID;
    char *host = end + 1;
    char *colon = strrchr(host, ':');
    if (!colon || (size_t)(colon - host) >= KVSLOT_HOST_MAX || colon[1] < '0' || colon[1] > '9')
        return ERR_INVALID;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || port < 1 || port > 65535)
        return ERR_INVALID;
    t->slot = (unsigned)slot;
    memcpy(t->host, host, (size_t)(colon - host));
    t->host[colon - host] = '\0';
    t->port = (int)port;
    return 0;
}

/* 1 when err[0..len) starts with the word w followed by a space or its end. */
static int kvslot_word(const char *err, size_t len, const char *w)
{
    size_t n = strlen(w);
    return len >= n && memcmp(err, w, n) == 0 && (len == n || err[n] == ' ');
}

enum kvslot_redirect kvslot_parse_error(const char *err, size_t len, struct kvslot_target *t)
{
    if (kvslot_word(err, len, "MOVED"))
        return kvslot_parse_target(err + 6, len > 6 ? len - 6 : 0, t) ? KVSLOT_NONE : KVSLOT_MOVED;
    if (kvslot_word(err, len, "ASK"))
        return kvslot_parse_target(err + 4, len > 4 ? len - 4 : 0, t) ? KVSLOT_NONE : KVSLOT_ASK;
    if (kvslot_word(err, len, "TRYAGAIN"))
        return KVSLOT_TRYAGAIN;
    if (kvslot_word(err, len, "CLUSTERDOWN"))
        return KVSLOT_DOWN;
    return KVSLOT_NONE;
}

/* Fills one range from a CLUSTER SLOTS element [first, last, [host, port, ...], ...]. */
static int kvslot_parse_range(const redisReply *e, const char *asked, struct kvslot_range *out)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 3)
        return ERR_INVALID;
    const redisReply *a = e->element[0], *b = e->element[1], *p = e->element[2];
    if (a->type != REDIS_REPLY_INTEGER || b->type != REDIS_REPLY_INTEGER || a->integer < 0 ||
        b->integer < a->integer || b->integer >= KVSLOT_COUNT)
        return ERR_INVALID;
    if (p->type != REDIS_REPLY_ARRAY || p->elements < 2 ||
        p->element[0]->type != REDIS_REPLY_STRING || p->element[1]->type != REDIS_REPLY_INTEGER ||
        p->element[1]->integer < 1 || p->element[1]->integer > 65535)
        return ERR_INVALID;
    const char *host = p->element[0]->str;
    size_t hlen = p->element[0]->len;
    if (hlen == 0 || (hlen == 1 && host[0] == '?')) {
        host = asked;
        hlen = strlen(asked);
    }
    if (hlen >= KVSLOT_HOST_MAX || memchr(host, '\0', hlen))
        return ERR_INVALID;
    out->first = (unsigned)a->integer;
    out->last = (unsigned)b->integer;
    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    out->port = (int)p->element[1]->integer;
    return 0;
}

int kvslot_parse_slots(const struct redisReply *r, const char *asked, struct kvslot_range *out,
                       size_t max)
{
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return ERR_INVALID;
    if (r->elements > max)
        return ERR_TOO_BIG;
    for (size_t i = 0; i < r->elements; i++)
        if (kvslot_parse_range(r->element[i], asked, &out[i]) != 0)
            return ERR_INVALID;
    return (int)r->elements;
}
