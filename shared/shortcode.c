/*
 * shortcode.c - short-code generation and read-model key layout (see shortcode.h).
 */
#include "shortcode.h"

#include <stdio.h>
#include <string.h>

#include "entropy.h"

#include "banned.h"

static const char shortcode_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "abcdefghijklmnopqrstuvwxyz"
                                         "0123456789";

#define SHORTCODE_ALPHABET_LEN (sizeof(shortcode_alphabet) - 1)

/* Bytes at or above this (the largest multiple of 62 that fits in a byte) are redrawn. */
#define SHORTCODE_ACCEPT_BELOW (256 / SHORTCODE_ALPHABET_LEN * SHORTCODE_ALPHABET_LEN)

/*
 * A fresh code is redrawn when it is reserved. The chance of that is about
 * 5 in 62^6, so running out of attempts means the random source is broken.
 */
#define SHORTCODE_MAX_ATTEMPTS 16

/*
 * First path segments the services route themselves, plus names an operator
 * may want later. Lowercase; matched case-insensitively.
 */
static const char *const shortcode_reserved[] = {
    "health", "healthz",      "livez",      "readyz",      "ready",  "metrics",    "users",
    "urls",   "events",       "dashboard",  "api",         "admin",  "static",     "assets",
    "public", "favicon.ico",  "robots.txt", "sitemap.xml", "r",      "s",          "docs",
    "doc",    "openapi.json", "swagger",    "login",       "logout", "signup",     "register",
    "auth",   "status",       "stats",      "version",     "debug",  "index.html", ".well-known",
    "www",    "app",          "ui",         "api-keys",
};

/* Random bytes fetched in bulk and handed out one at a time. */
struct shortcode_pool {
    unsigned char bytes[32];
    size_t used;
};

/*
 * Draws SHORTCODE_LEN characters into out without modulo bias: a byte is
 * used only when it is below the largest multiple of 62, so each character
 * has the same chance. 0 or ERR_SYS.
 */
static int shortcode_draw(struct shortcode_pool *pool, char out[SHORTCODE_LEN + 1])
{
    size_t n = 0;
    while (n < SHORTCODE_LEN) {
        if (pool->used == sizeof(pool->bytes)) {
            if (entropy_fill(pool->bytes, sizeof(pool->bytes)))
                return ERR_SYS;
            pool->used = 0;
        }
        unsigned char b = pool->bytes[pool->used++];
        if (b >= SHORTCODE_ACCEPT_BELOW)
            continue;
        out[n++] = shortcode_alphabet[b % SHORTCODE_ALPHABET_LEN];
    }
    out[SHORTCODE_LEN] = '\0';
    return 0;
}

int shortcode_generate(char out[SHORTCODE_LEN + 1])
{
    struct shortcode_pool pool;
    pool.used = sizeof(pool.bytes);
    for (int attempt = 0; attempt < SHORTCODE_MAX_ATTEMPTS; attempt++) {
        if (shortcode_draw(&pool, out))
            break;
        if (!shortcode_is_reserved(out, SHORTCODE_LEN))
            return 0;
    }
    out[0] = '\0';
    return ERR_SYS;
}

/* 1 when s[0..len) equals the lowercase name r, ignoring ASCII case (never the locale's). */
static int shortcode_equals_nocase(const char *s, size_t len, const char *r)
{
    if (strlen(r) != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != r[i])
            return 0;
    }
    return 1;
}

int shortcode_is_reserved(const char *s, size_t len)
{
    if (!s)
        return 0;
    for (size_t i = 0; i < ARRAY_SIZE(shortcode_reserved); i++)
        if (shortcode_equals_nocase(s, len, shortcode_reserved[i]))
            return 1;
    return 0;
}

unsigned shortcode_shard(const char *s, size_t len, unsigned nshards)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    /* nshards >= 1 is the contract; 0 is treated as 1 rather than dividing by zero. */
    return nshards > 1 ? (unsigned)(h % nshards) : 0;
}
