/*
 * rollup.c - a part's clicks summed into rollup rows (see rollup.h).
 *
 * One open-addressing table (linear probing, at most half full) over the output rows; the
 * hash mixes the numeric parts of the key with FNV-1a of the name under a per-process seed,
 * so that referrer hosts chosen by clients cannot be made to collide on purpose.
 */
#include "rollup.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "sink_pg.h"

#include "banned.h"

#define ROLLUP_PER_CLICK 13 /* at most: six dimensions by hour and by day, and the total */

struct rollup_map {
    uint32_t *slot; /* 1 + index into out->rows; 0 = empty */
    size_t mask;
    size_t cap; /* rows allocated */
    uint64_t seed;
};

static uint64_t rollup_seed(void)
{
    static uint64_t seed;
    if (!seed) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = ((uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)getpid() << 32) ^
               ((uint64_t)ts.tv_sec | 1);
    }
    return seed;
}

static uint64_t rollup_hash(const struct rollup_map *m, const struct rollup_row *k)
{
    uint64_t h = 1469598103934665603ULL ^ m->seed;
    for (const char *s = k->name ? k->name : ""; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    h ^= (uint64_t)k->url_id * 0x9e3779b97f4a7c15ULL;
    uint64_t bucket = k->grain == 't' ? 0 : (uint64_t)k->bucket; /* a total's is its latest */
    h ^= (bucket + ((uint64_t)(unsigned char)k->grain << 8) + (unsigned char)k->dim) *
         0xc2b2ae3d27d4eb4fULL;
    return h ^ (h >> 29);
}

/* 1 when a and b are the same output row (a link's total whatever its latest click). */
static int rollup_same(const struct rollup_row *a, const struct rollup_row *b)
{
    if (a->grain == 't' || b->grain == 't')
        return a->grain == b->grain && a->url_id == b->url_id;
    return a->grain == b->grain && a->dim == b->dim && a->url_id == b->url_id &&
           a->bucket == b->bucket &&
           (a->name == b->name || (a->name && b->name && strcmp(a->name, b->name) == 0));
}

/* Adds k (clicks, human, bot, and the latest bucket for a total) to its row. */
static int rollup_add(struct rollup_map *m, struct rollup *out, const struct rollup_row *k)
{
    size_t i = (size_t)rollup_hash(m, k) & m->mask;
    for (; m->slot[i]; i = (i + 1) & m->mask) {
        struct rollup_row *r = &out->rows[m->slot[i] - 1];
        if (!rollup_same(r, k))
            continue;
        r->clicks += k->clicks;
        r->human += k->human;
        r->bot += k->bot;
        if (k->grain == 't' && k->bucket > r->bucket)
            r->bucket = k->bucket;
        return 0;
    }
    if (out->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        struct rollup_row *rows = realloc(out->rows, cap * sizeof(*rows));
        if (!rows)
            return ERR_NOMEM;
        out->rows = rows;
        m->cap = cap;
    }
    out->rows[out->n] = *k;
    m->slot[i] = (uint32_t)++out->n;
    return 0;
}

/* The rows one click adds. */
static int rollup_click(struct rollup_map *m, struct rollup *out, const struct sink_pg_row *c)
{
    char *end;
    long long id = strtoll(c->url_id, &end, 10);
    long long ts = end != c->url_id && !*end ? strtoll(c->ts_ms, &end, 10) : -1;
    if (ts < 0 || *end || end == c->ts_ms)
        return ERR_INVALID;
    int derived = c->device != NULL;
    struct rollup_row t = {.grain = 't',
                           .url_id = id,
                           .bucket = ts,
                           .clicks = 1,
                           .human = derived && !c->bot,
                           .bot = derived && c->bot};
    int rc = rollup_add(m, out, &t);
    const char *val[] = {derived && c->bot ? "bot" : "human", c->refhost, c->browser, c->os,
                         c->device ? c->device : "",          c->country};
    static const char dims[] = {'k', 'r', 'b', 'o', 'd', 'c'};
    for (size_t d = 0; d < ARRAY_SIZE(dims) && rc == 0; d++) {
        if (!val[d][0])
            continue;
        struct rollup_row h = {.grain = 'h',
                               .dim = dims[d],
                               .url_id = id,
                               .bucket = ts - ts % ROLLUP_HOUR_MS,
                               .name = val[d],
                               .clicks = 1};
        struct rollup_row y = h;
        y.grain = 'd';
        y.bucket = ts - ts % ROLLUP_DAY_MS;
        rc = rollup_add(m, out, &h);
        rc = rc ? rc : rollup_add(m, out, &y);
    }
    return rc;
}

static int rollup_cmp(const void *pa, const void *pb)
{
    const struct rollup_row *a = pa, *b = pb;
    if (a->grain != b->grain)
        return a->grain < b->grain ? -1 : 1;
    if (a->url_id != b->url_id)
        return a->url_id < b->url_id ? -1 : 1;
    if (a->dim != b->dim)
        return (unsigned char)a->dim < (unsigned char)b->dim ? -1 : 1;
    if (a->bucket != b->bucket && a->grain != 't')
        return a->bucket < b->bucket ? -1 : 1;
    return a->name && b->name ? strcmp(a->name, b->name) : 0;
}

int rollup_build(const struct sink_pg_row *rows, size_t n, struct rollup *out)
{
    struct rollup_map m = {.seed = rollup_seed()};
    size_t want = 2 * (ROLLUP_PER_CLICK * n + 1), slots = 64;
    while (slots < want)
        slots *= 2;
    *out = (struct rollup){0};
    m.mask = slots - 1;
    m.slot = calloc(slots, sizeof(*m.slot));
    int rc = m.slot ? 0 : ERR_NOMEM;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = rollup_click(&m, out, &rows[i]);
    free(m.slot);
    if (rc) {
        rollup_release(out);
        return rc;
    }
    if (out->n)
        qsort(out->rows, out->n, sizeof(*out->rows), rollup_cmp);
    return 0;
}

void rollup_release(struct rollup *r)
{
    free(r->rows);
    *r = (struct rollup){0};
}
