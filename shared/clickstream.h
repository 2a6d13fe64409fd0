/*
 * clickstream.h - the click stream protocol shared by redirect-svc (producer),
 * event-worker (consumer) and write-svc (read-your-writes wait).
 *
 * Each shard s has a stream "clicks:{s}" (shortcode_stream_key). An entry holds
 * the fields below, all strings; uid is "" when the link has no owner. The
 * event-worker reads them through one consumer group and stores the entry id,
 * prefixed with the shard ("<s>:<ms>-<seq>"), in events.stream_id.
 */
#ifndef CLICKSTREAM_H
#define CLICKSTREAM_H

#include <stdint.h>

#include "common.h"

#define CLICKSTREAM_GROUP "event-worker"

#define CLICKSTREAM_F_URL_ID   "id"   /* the URL id */
#define CLICKSTREAM_F_USER_ID  "uid"  /* the owner's id, or "" */
#define CLICKSTREAM_F_CODE     "code" /* the short code */
#define CLICKSTREAM_F_URL      "url"  /* original_url at the time of the click */
#define CLICKSTREAM_F_TS       "ts"   /* redirect time, milliseconds since the epoch */
#define CLICKSTREAM_F_REFERRER "ref"
#define CLICKSTREAM_F_AGENT    "ua"
#define CLICKSTREAM_F_IP                                                                           \
    "ip" /* the client address as text; may be missing; never stored in PostgreSQL */

/*
 * A batched entry (issue 13: redirect-svc appends one per shard per loop turn, carrying that
 * turn's clicks of the shard) has the fields
 *   "b"            -> n, the number of clicks (decimal, 1..CLICKSTREAM_BATCH_MAX)
 *   "0" .. "<n-1>" -> one click each: its values joined by CLICKSTREAM_SEP, in the order
 *                     url id, owner id ("" for none), code, original URL, ts (ms),
 *                     referrer, user agent, client address
 * A value never contains CLICKSTREAM_SEP (the producer replaces it with '?'). A click's
 * unique, replay-safe id is its entry id plus its index in the entry. Entries of one click
 * with the named fields above stay valid (older producers, tests).
 */
#define CLICKSTREAM_F_BATCH   "b"
#define CLICKSTREAM_SEP       '\x1f'
#define CLICKSTREAM_BATCH_MAX 1024
#define CLICKSTREAM_NVALUES   8 /* values of one packed click */

/* A stream entry id "<ms>-<seq>". */
struct clickstream_id {
    uint64_t ms, seq;
};

/* Parses "<ms>-<seq>" (or "<ms>", seq 0). 0 or ERR_INVALID. */
int clickstream_id_parse(const char *s, struct clickstream_id *out) ATTR_WARN_UNUSED;

/* <0, 0, >0 as a is before, equal to, after b. */
int clickstream_id_cmp(const struct clickstream_id *a, const struct clickstream_id *b);

#endif
