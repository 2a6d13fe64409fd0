/*
 * rstats.h - redirect-svc's figures for /metrics: HTTP requests per route, the
 * outcome of every lookup, and the size of the pipelined Redis batches.
 * Every loop thread adds (relaxed atomics); a scrape renders them as text.
 */
#ifndef RSTATS_H
#define RSTATS_H

#include <stdatomic.h>
#include <stddef.h>

#include "common.h"
#include "metrics.h"

/* Rows of the per-route HTTP figures. */
enum rstats_route {
    RSTATS_CODE,
    RSTATS_HEALTH,
    RSTATS_LIVEZ,
    RSTATS_READYZ,
    RSTATS_METRICS,
    RSTATS_UNMATCHED,
    RSTATS_COUNT
};

struct rstats {
    struct metrics_http http;  /* RSTATS_COUNT rows */
    atomic_ulong hits;         /* redirects (301/302/307/308) */
    atomic_ulong expired;      /* 410s: expired by date or by clicks */
    atomic_ulong misses;       /* 404s after a Redis lookup */
    atomic_ulong not_ready;    /* 503s: read model not loaded */
    atomic_ulong redis_errors; /* 503s: Redis unreachable or failing */
    struct metrics_hist batch; /* Redis commands per pipelined round trip */
    /* The near cache (ncache.h), every loop's added up: */
    atomic_ulong nc_hits;          /* redirects answered as cached (no HMGET) */
    atomic_ulong nc_misses;        /* redirects resolved from the hash with the cache on */
    atomic_ulong nc_invalidations; /* entries removed by a change or a reset */
    atomic_ulong nc_resets;        /* calls that found their position gone: cache cleared */
    atomic_ulong nc_evictions;     /* entries evicted to stay within the budget */
    atomic_long nc_entries;        /* entries held now */
    atomic_long nc_bytes;          /* bytes counted against NEAR_CACHE_MB now */
};

/* Initialises st (zeroed by the caller). 0 or ERR_NOMEM. */
int rstats_init(struct rstats *st) ATTR_WARN_UNUSED;

/* Frees what rstats_init allocated. */
void rstats_release(struct rstats *st);

/* Counts the outcome of one lookup: an enum follow_result, or ERR_KV. */
void rstats_count(struct rstats *st, int follow_result);

/*
 * The whole /metrics text (HTTP figures, lookups, batches, the process): a new
 * allocation of *len bytes that the caller frees, or NULL when out of memory.
 */
char *rstats_render(struct rstats *st, size_t *len);

#endif
