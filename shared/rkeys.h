/*
 * rkeys.h - the Redis key layout of the whole product, in one place.
 *
 * Keys that must live in one Redis Cluster slot share a hash tag {...}:
 *   url:{s}:<code>      a link of the read model (hash; fields RKEYS_F_* below),
 *                       s = shortcode_shard(code) mod STREAM_SHARDS
 *   clicks:{s}          the click stream of shard s (the redirect script XADDs
 *                       to the stream of its link's shard in the same call)
 *   chg:{s}             the link changes of shard s (stream; field RKEYS_F_CHANGE = the
 *                       code): write-svc appends one in the same script as each write of a
 *                       link of that shard, the redirect script reads them (near cache,
 *                       redirect-svc/ncache.h); trimmed to about RKEYS_CHANGES_MAXLEN
 *   clicks:dead         poison click entries (event-worker)
 *   readmodel:complete  the read model holds every active link
 *   hll:{<url id>}:<yyyymmdd>  the visitors of a link on a UTC day (HyperLogLog);
 *                       all days of a link in one slot, so one PFCOUNT merges them
 *   idem:{<scope>}:<sha256 hex>  an Idempotency-Key record (write-svc)
 *   rl:{<who>}:<class>  a rate-limit state (GCRA theoretical arrival time, write-svc);
 *                       who = "k:<API key id>" or "a:<client address>", class "w" or "r"
 *
 * Every builder writes a NUL-terminated key into a caller buffer of RKEYS_MAX
 * bytes and returns its length, or ERR_TOO_BIG (out is then "").
 */
#ifndef RKEYS_H
#define RKEYS_H

#include <stddef.h>

#include "common.h"

#define RKEYS_MAX 160 /* a link key of a 64-byte code, an idempotency key (137), ... */

#define RKEYS_MARKER         "readmodel:complete"
#define RKEYS_DEAD_STREAM    "clicks:dead"
#define RKEYS_LINK_PATTERN   "url:*"    /* SCAN MATCH of every link (the rebuild clears them) */
#define RKEYS_HLL_TTL_S      "34560000" /* a day's visitors are kept 400 days */
#define RKEYS_F_CHANGE       "c"        /* a change entry's field: the code ("" for an origin) */
#define RKEYS_CHANGES_MAXLEN "10000"    /* XADD MAXLEN ~ of a change stream */

/*
 * The fields of a link hash (write-svc writes them, the redirect script reads them; an
 * absent key is a 404):
 *   id  - the URL id (decimal)           uid - the owner's id, or "" for none
 *   url - original_url, byte-exact       rt  - the redirect status (301/302/307/308)
 *   exp - expiry, ms since the epoch, or "" for none
 *   max - the click cap, or "" for none  n   - clicks recorded so far (the script
 *         increments it with each click it appends, so a cap holds exactly)
 */
#define RKEYS_F_ID     "id"
#define RKEYS_F_UID    "uid"
#define RKEYS_F_URL    "url"
#define RKEYS_F_RT     "rt"
#define RKEYS_F_EXP    "exp"
#define RKEYS_F_MAX    "max"
#define RKEYS_F_CLICKS "n"

/* "url:{<shard>}:<code>" for code[0..len). */
int rkeys_link(const char *code, size_t len, unsigned nshards,
               char out[RKEYS_MAX]) ATTR_WARN_UNUSED;

/* "clicks:{<shard>}". */
int rkeys_stream(unsigned shard, char out[RKEYS_MAX]) ATTR_WARN_UNUSED;

/* "chg:{<shard>}": the change stream of shard's links. */
int rkeys_changes(unsigned shard, char out[RKEYS_MAX]) ATTR_WARN_UNUSED;

/* The shard of a stream key ("clicks:{7}" -> 7) below nshards, or -1 when it is none. */
int rkeys_stream_shard(const char *key, unsigned nshards);

/* "hll:{<url_id>}:<day>" with day as "yyyymmdd". */
int rkeys_hll(const char *url_id, const char *day, char out[RKEYS_MAX]) ATTR_WARN_UNUSED;

/* "idem:{<scope>}:<hex>". */
int rkeys_idem(const char *scope, const char *hex, char out[RKEYS_MAX]) ATTR_WARN_UNUSED;

/* "rl:{<kind>:<id>}:<cls>": kind 'k' (API key) or 'a' (address), cls 'w' or 'r'. */
int rkeys_ratelimit(char kind, const char *id, char cls, char out[RKEYS_MAX]) ATTR_WARN_UNUSED;

#endif
