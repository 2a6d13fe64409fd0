/*
 * ncache.h - redirect-svc's near cache: a bounded in-process table of links, one per loop
 * (issue 13), so that a hot link costs no Redis lookup.
 *
 * What is cached: a link's URL, redirect status, URL id, owner id and expiry, filled from
 * the reply of the redirect script that looked it up (follow.h), and the URL's host:port
 * for the redirect-loop rule (follow_hostport), so that a hit needs no string work in
 * Redis. A link with a click cap is never cached (its counter must be checked in Redis); a
 * link with an expiry is cached and checked against the same clock the script would use
 * (the batch's ts).
 *
 * The protocol (follow.c's script, loop.c):
 *   - write-svc changes a link hash and appends its code to the shard's change stream
 *     chg:{s} in ONE script (write-svc/readmodel.c), before it answers the write; a rebuild
 *     deletes the change streams (and Redis restarted empty has none).
 *   - each loop keeps, per shard, a position: the id of the last change entry it has seen.
 *   - a redirect whose code is in the cache still joins its shard's script call, marked
 *     "cached" and carrying the cached id, owner and URL (for its click). The call first
 *     reads chg:{s} from the position (XRANGE pos + COUNT NCACHE_CHANGES_MAX + 1). When the
 *     entry at the position is gone (trimmed, stream deleted or recreated) or there are
 *     more changes than that, the call is a RESET: every cached request of the call is
 *     resolved from its hash as a miss would be. Otherwise a cached request whose code is
 *     among the changes is resolved from its hash; the others are answered "as cached"
 *     (no HMGET), and every click that stands, cached or not, is counted (HINCRBY) and
 *     appended in the same call, as before (follow.h).
 *   - the reply carries the changes (or the reset) and the new position; the loop applies
 *     them to its cache (delete each changed code, or clear all) BEFORE it fills the cache
 *     with the links the call resolved from their hashes, then stores the position.
 *
 * Why no answer is stale (consistency rule 1). Let W be a write of link L answered to its
 * client at time t, and R a redirect of L that redirect-svc receives after t. W's script
 * ran in Redis before t, and appended change entry e_W. R is queued for a batch that is
 * sent after R arrived (the batch in flight when R arrives never contains R), so R's call
 * C runs in Redis after W's script: Redis runs scripts one at a time. C reads the change
 * stream from the loop's position p. Either p's entry is gone, or there are too many
 * changes: C resolves every cached request from the hashes, which already hold W. Or p is
 * still there: entries are removed only from the head (MAXLEN trims oldest first, whole),
 * so every entry after p is there too, e_W among them unless e_W <= p. If e_W is read by
 * C, L is resolved from its hash in C. If e_W <= p, the loop saw e_W in an earlier call
 * C0 and deleted L from its cache before storing p; any later entry for L in the cache
 * was filled from a call C1 (C0 <= C1 < C) that ran after W, so it holds W's state, unless
 * a later write W' changed L again, whose entry e_W' > p is then read by C (same argument).
 * Fills are applied after the invalidations of the same reply, and a reply's fills and
 * position come from one atomic call, so a fill never outlives a change it has not seen.
 * A failed or timed-out call changes neither the position nor the cache.
 * Expiry by date is checked against the batch's clock as the script does; caps bypass the
 * cache, so "capped" and "expired by clicks" are decided in Redis as before.
 * Not covered: Redis restarted from a snapshot older than the position while keeping that
 * position's entry (the read model itself then lags what writes answered), and a recreated
 * stream whose new entry has the very id of an old position (ids are "<ms>-<seq>" taken from
 * Redis's clock: that needs the clock to go back).
 *
 * Memory: at most the budget given to ncache_new (NEAR_CACHE_MB / HTTP_THREADS per loop),
 * counting each entry, its strings, allocator overhead and the bucket array; when a fill
 * would exceed it, entries are evicted by CLOCK (second chance: a hit sets the entry's bit,
 * the hand clears it or evicts an entry whose bit is clear). Not thread-safe: one per loop.
 */
#ifndef NCACHE_H
#define NCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* Changes one call reads at most (text: the script's); more since the position is a reset. */
#define NCACHE_CHANGES_MAX "256"

/* Bytes of an id or owner id as text (a bigint in decimal). */
#define NCACHE_ID_MAX 24

/* What a cached answer and its click need. Strings NUL-terminated. */
struct ncache_link {
    const char *url; /* original_url, url_len bytes */
    size_t url_len;
    const char *id;  /* the URL id, decimal */
    const char *uid; /* the owner's id, or "" */
    int rt;          /* redirect status */
    int64_t exp_ms;  /* expiry, ms since the epoch, or -1 for none */
    const char *hp;  /* the URL's " host:port " for the redirect-loop rule (follow_hostport),
                        "" when it has none (never a loop), NULL when unknown */
};

/* Bytes of a link's " host:port " at most (a longer one is kept as unknown). */
#define NCACHE_HP_MAX 256

struct ncache;

#define NCACHE_MIN_BYTES (64u * 1024) /* a smaller budget is raised to this */

/* A cache of at most max_bytes; NULL when out of memory. Owned. */
struct ncache *ncache_new(size_t max_bytes);

/* Frees c and every entry. NULL is fine. */
void ncache_free(struct ncache *c);

/*
 * Looks code[0..len) up. 1 and *out (pointers borrowed until the next put, del or clear)
 * when found, the entry marked as used; 0 when not.
 */
int ncache_get(struct ncache *c, const char *code, size_t len, struct ncache_link *out);

/*
 * Inserts or replaces code's link (copies every string), evicting others until the budget
 * holds. 0, ERR_TOO_BIG (the entry alone is over a quarter of the budget, or a string over
 * its limit: not cached) or ERR_NOMEM (not cached; the cache is still valid).
 */
int ncache_put(struct ncache *c, const char *code, size_t len,
               const struct ncache_link *in) ATTR_WARN_UNUSED;

/* Removes code's entry. 1 when there was one, 0 when not. */
int ncache_del(struct ncache *c, const char *code, size_t len);

/* Removes every entry. */
void ncache_clear(struct ncache *c);

/* Entries held, bytes counted against the budget, entries evicted so far. */
size_t ncache_count(const struct ncache *c);
size_t ncache_bytes(const struct ncache *c);
uint64_t ncache_evictions(const struct ncache *c);

#endif
