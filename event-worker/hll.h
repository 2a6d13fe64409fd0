/*
 * hll.h - unique visitors: the visitor hash of every human click is PFADDed to
 * the HyperLogLog of its link and day (CLICKSTREAM_HLL_KEY_FMT), which expires
 * CLICKSTREAM_HLL_TTL_S after its last update. The consumer calls it after
 * COMMIT and before XACK, so a stats read that waited for the acknowledgement
 * sees the visitor; PFADD is idempotent, so a replayed batch adds nothing.
 */
#ifndef HLL_H
#define HLL_H

#include <stddef.h>

#include "common.h"

struct kv;
struct sink_pg_row;

/* "yyyymmdd" (UTC) of a millisecond epoch time, into out (9 bytes). */
void hll_day(long long ts_ms, char out[9]);

/*
 * Pipelines PFADD + EXPIRE for each row of rows[0..n) that is human and has a
 * visitor hash, then reads every reply. kv is borrowed. 0, ERR_NOMEM or
 * ERR_KV (detail on the handle).
 */
int hll_add(struct kv *kv, const struct sink_pg_row *rows, size_t n) ATTR_WARN_UNUSED;

#endif
