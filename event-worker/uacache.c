/*
 * uacache.c - user agents to analytics fields, with a bounded cache (see uacache.h).
 */
#include "uacache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

struct uacache_slot {
    uint64_t hash;
    uint64_t used; /* the tick of the last hit or fill; 0 when empty */
    size_t len;
    char key[UAPARSE_UA_MAX];
    struct uacache_info info;
};

struct uacache {
    struct uaparse *up; /* borrowed */
    struct uacache_slot *slot;
    size_t nsets; /* slots / 2 */
    uint64_t tick;
    unsigned long hits, misses;
};

static const char *const uacache_device_names[] = {"desktop", "mobile", "tablet", "bot"};

const char *uacache_device_name(enum uacache_device d)
{
    return uacache_device_names[d];
}

/* 1 when one of the words appears in s (case-sensitive, as uap-core writes them). */
static int uacache_has(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strstr(s, *words))
            return 1;
    return 0;
}

enum uacache_device uacache_classify(const struct uaparse_result *r)
{
    static const char *const tablet[] = {"iPad", "Tablet", "Kindle", "Nexus 7", "Nexus 9", NULL};
    if (strcmp(r->device, "Spider") == 0 || strcmp(r->brand, "Spider") == 0)
        return UACACHE_BOT;
    if (uacache_has(r->device, tablet) || uacache_has(r->brand, tablet) ||
        uacache_has(r->model, tablet))
        return UACACHE_TABLET;
    if (strcmp(r->device, "Other") == 0 || strcmp(r->device, "Mac") == 0)
        return UACACHE_DESKTOP;
    return UACACHE_MOBILE;
}

struct uacache *uacache_new(struct uaparse *up, size_t slots)
{
    struct uacache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->up = up;
    c->nsets = slots < 2 ? 1 : (slots + 1) / 2;
    c->slot = calloc(c->nsets * 2, sizeof(*c->slot));
    if (!c->slot) {
        free(c);
        return NULL;
    }
    return c;
}

void uacache_free(struct uacache *c)
{
    if (!c)
        return;
    free(c->slot);
    free(c);
}

/* FNV-1a, 64 bits. */
static uint64_t uacache_hash(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void uacache_fill(struct uacache *c, const char *ua, size_t len, struct uacache_info *out)
{
    struct uaparse_result r;
    uaparse_parse(c->up, ua, len, &r);
    memcpy(out->browser, r.browser, sizeof(out->browser));
    memcpy(out->os, r.os, sizeof(out->os));
    out->device = uacache_classify(&r);
    out->bot = out->device == UACACHE_BOT;
}

void uacache_get(struct uacache *c, const char *ua, struct uacache_info *out)
{
    ua = ua ? ua : "";
    size_t len = strnlen(ua, UAPARSE_UA_MAX);
    uint64_t h = uacache_hash(ua, len);
    struct uacache_slot *set = &c->slot[(h % c->nsets) * 2];
    c->tick++;
    for (int i = 0; i < 2; i++) {
        struct uacache_slot *s = &set[i];
        if (s->used && s->hash == h && s->len == len && memcmp(s->key, ua, len) == 0) {
            s->used = c->tick;
            *out = s->info;
            c->hits++;
            return;
        }
    }
    struct uacache_slot *victim = set[0].used <= set[1].used ? &set[0] : &set[1];
    uacache_fill(c, ua, len, out);
    c->misses++;
    victim->hash = h;
    victim->used = c->tick;
    victim->len = len;
    if (len)
        memcpy(victim->key, ua, len);
    victim->info = *out;
}

unsigned long uacache_hits(const struct uacache *c)
{
    return c->hits;
}

unsigned long uacache_misses(const struct uacache *c)
{
    return c->misses;
}
