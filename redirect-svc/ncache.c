/*
 * ncache.c - the near cache's table (see ncache.h): chained hashing, CLOCK eviction.
 */
#include "ncache.h"

#include <stdlib.h>
#include <string.h>

#include "validate.h"

#include "banned.h"

#define NCACHE_BUCKETS_MIN     1024u
#define NCACHE_MALLOC_OVERHEAD 16 /* what glibc adds to each allocation, about */
#define NCACHE_CODE_MAX        255

struct ncache_entry {
    struct ncache_entry *next; /* in its bucket */
    uint64_t hash;
    int64_t exp_ms;
    uint32_t url_len;
    uint16_t rt;
    uint16_t hp_len;
    uint8_t code_len, id_len, uid_len;
    uint8_t hp_known; /* 0: hp unknown (NULL) */
    uint8_t ref;      /* CLOCK: used since the hand last passed */
    char data[];      /* code \0 id \0 uid \0 url \0 hp \0 */
};

struct ncache {
    struct ncache_entry **buckets; /* owned: nbuckets chains */
    size_t nbuckets;               /* a power of two */
    size_t count, bytes, max_bytes;
    size_t hand; /* CLOCK: the next bucket to look at */
    uint64_t evictions;
};

/* FNV-1a, 64 bits. */
static uint64_t ncache_hash(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static size_t ncache_entry_bytes(const struct ncache_entry *e)
{
    return sizeof(*e) + e->code_len + e->id_len + e->uid_len + e->url_len + e->hp_len + 5 +
           NCACHE_MALLOC_OVERHEAD;
}

static size_t ncache_buckets_bytes(size_t n)
{
    return n * sizeof(struct ncache_entry *) + NCACHE_MALLOC_OVERHEAD;
}

struct ncache *ncache_new(size_t max_bytes)
{
    struct ncache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->nbuckets = NCACHE_BUCKETS_MIN;
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    c->max_bytes = max_bytes < NCACHE_MIN_BYTES ? NCACHE_MIN_BYTES : max_bytes;
    c->bytes = ncache_buckets_bytes(c->nbuckets);
    return c;
}

void ncache_clear(struct ncache *c)
{
    for (size_t i = 0; i < c->nbuckets; i++) {
        for (struct ncache_entry *e = c->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
        c->buckets[i] = NULL;
    }
    c->count = 0;
    c->bytes = ncache_buckets_bytes(c->nbuckets);
}

void ncache_free(struct ncache *c)
{
    if (!c)
        return;
    ncache_clear(c);
    free(c->buckets);
    free(c);
}

/* The link to code's entry (the bucket's head or a next field), *NULL when absent. */
static struct ncache_entry **ncache_find(struct ncache *c, const char *code, size_t len, uint64_t h)
{
    struct ncache_entry **p = &c->buckets[h & (c->nbuckets - 1)];
    for (; *p; p = &(*p)->next)
        if ((*p)->hash == h && (*p)->code_len == len && memcmp((*p)->data, code, len) == 0)
            return p;
    return p;
}

int ncache_get(struct ncache *c, const char *code, size_t len, struct ncache_link *out)
{
    if (len > NCACHE_CODE_MAX)
        return 0;
    struct ncache_entry *e = *ncache_find(c, code, len, ncache_hash(code, len));
    if (!e)
        return 0;
    e->ref = 1;
    out->id = e->data + e->code_len + 1;
    out->uid = out->id + e->id_len + 1;
    out->url = out->uid + e->uid_len + 1;
    out->url_len = e->url_len;
    out->hp = e->hp_known ? out->url + e->url_len + 1 : NULL;
    out->rt = e->rt;
    out->exp_ms = e->exp_ms;
    return 1;
}

/* Unlinks and frees *p. */
static void ncache_unlink(struct ncache *c, struct ncache_entry **p)
{
    struct ncache_entry *e = *p;
    *p = e->next;
    c->bytes -= ncache_entry_bytes(e);
    c->count--;
    free(e);
}

int ncache_del(struct ncache *c, const char *code, size_t len)
{
    if (len > NCACHE_CODE_MAX)
        return 0;
    struct ncache_entry **p = ncache_find(c, code, len, ncache_hash(code, len));
    if (!*p)
        return 0;
    ncache_unlink(c, p);
    return 1;
}

/* Evicts one entry by CLOCK. 0, or -1 when the cache is empty. */
static int ncache_evict_one(struct ncache *c)
{
    if (c->count == 0)
        return -1;
    /* Two sweeps at most: the first clears every bit it passes. */
    for (size_t seen = 0; seen <= 2 * c->nbuckets; seen++) {
        struct ncache_entry **p = &c->buckets[c->hand];
        for (; *p; p = &(*p)->next) {
            if (!(*p)->ref) {
                ncache_unlink(c, p);
                c->evictions++;
                return 0;
            }
            (*p)->ref = 0;
        }
        c->hand = (c->hand + 1) & (c->nbuckets - 1);
    }
    return -1;
}

/* Doubles the bucket array when the chains grow longer than one on average. */
static void ncache_grow(struct ncache *c)
{
    size_t n = c->nbuckets * 2;
    if (c->count <= c->nbuckets ||
        c->bytes + ncache_buckets_bytes(n) - ncache_buckets_bytes(c->nbuckets) > c->max_bytes / 2)
        return;
    struct ncache_entry **b = calloc(n, sizeof(*b));
    if (!b)
        return; /* longer chains: slower, still correct */
    for (size_t i = 0; i < c->nbuckets; i++) {
        for (struct ncache_entry *e = c->buckets[i], *next; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    free(c->buckets);
    c->bytes += ncache_buckets_bytes(n) - ncache_buckets_bytes(c->nbuckets);
    c->buckets = b;
    c->nbuckets = n;
    c->hand = 0;
}

int ncache_put(struct ncache *c, const char *code, size_t len, const struct ncache_link *in)
{
    size_t id_len = strlen(in->id), uid_len = strlen(in->uid);
    size_t hp_len = in->hp ? strlen(in->hp) : 0;
    if (len == 0 || len > NCACHE_CODE_MAX || id_len >= NCACHE_ID_MAX || uid_len >= NCACHE_ID_MAX ||
        in->url_len > VALIDATE_URL_MAX || hp_len > NCACHE_HP_MAX)
        return ERR_TOO_BIG;
    size_t size = len + id_len + uid_len + in->url_len + hp_len + 5;
    if (sizeof(struct ncache_entry) + size + NCACHE_MALLOC_OVERHEAD > c->max_bytes / 4)
        return ERR_TOO_BIG;
    uint64_t h = ncache_hash(code, len);
    struct ncache_entry **p = ncache_find(c, code, len, h);
    if (*p)
        ncache_unlink(c, p);
    struct ncache_entry *e = malloc(sizeof(*e) + size);
    if (!e)
        return ERR_NOMEM;
    *e = (struct ncache_entry){.hash = h,
                               .exp_ms = in->exp_ms,
                               .url_len = (uint32_t)in->url_len,
                               .rt = (uint16_t)in->rt,
                               .hp_len = (uint16_t)hp_len,
                               .hp_known = in->hp != NULL,
                               .code_len = (uint8_t)len,
                               .id_len = (uint8_t)id_len,
                               .uid_len = (uint8_t)uid_len};
    char *d = e->data;
    memcpy(d, code, len);
    d[len] = '\0';
    d += len + 1;
    memcpy(d, in->id, id_len + 1);
    d += id_len + 1;
    memcpy(d, in->uid, uid_len + 1);
    d += uid_len + 1;
    memcpy(d, in->url, in->url_len);
    d[in->url_len] = '\0';
    d += in->url_len + 1;
    if (hp_len)
        memcpy(d, in->hp, hp_len);
    d[hp_len] = '\0';
    while (c->bytes + ncache_entry_bytes(e) > c->max_bytes && ncache_evict_one(c) == 0)
        ;
    ncache_grow(c);
    p = &c->buckets[h & (c->nbuckets - 1)];
    e->next = *p;
    *p = e;
    c->count++;
    c->bytes += ncache_entry_bytes(e);
    return 0;
}

size_t ncache_count(const struct ncache *c)
{
    return c->count;
}

size_t ncache_bytes(const struct ncache *c)
{
    return c->bytes;
}

uint64_t ncache_evictions(const struct ncache *c)
{
    return c->evictions;
}
