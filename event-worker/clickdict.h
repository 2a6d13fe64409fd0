/*
 * clickdict.h - the click dictionaries of schema/007_compact_clicks.sql: a stored click
 * refers to its link at click time (click_links: short code, URL), its agent (click_agents:
 * user agent and what derive.c made of it) and its referrer (click_referrers: referrer and
 * its host) by integer ids instead of carrying the texts.
 *
 * A value's id comes from a bounded in-process cache (a known value costs no round trip);
 * the values a part misses are resolved together, per dictionary, in autocommitted
 * statements: INSERT ... ON CONFLICT (key) DO NOTHING RETURNING in key order (two workers
 * inserting overlapping sets lock them in the same order: no deadlock; a competitor's
 * uncommitted row is waited for) answers the values it inserted, matched back through their
 * cache keys; a SELECT then answers the others (inserted earlier, or by another worker: the
 * insert waited for it to commit, and the SELECT's new snapshot sees it). A dictionary row
 * inserted for a part that is then rolled back stays: unused rows are harmless, and the next
 * attempt finds them.
 */
#ifndef CLICKDICT_H
#define CLICKDICT_H

#include <stddef.h>

#include "common.h"

struct db;
struct clickdict;
struct sink_pg_row;

#define CLICKDICT_ENTRIES_MAX (1u << 17)  /* cached values, the three dictionaries together */
#define CLICKDICT_BYTES_MAX   (32u << 20) /* their key bytes; the cache empties at either bound */

/* A new, empty cache. NULL when out of memory. */
struct clickdict *clickdict_new(void);

/* Frees the cache. Accepts NULL. */
void clickdict_free(struct clickdict *cd);

/*
 * Sets link_id, agent_id and ref_id of rows[0..n) (0 = none: every field of that dictionary
 * is absent). The texts are read as sink_pg stores them: ref and ua "" are absent, so are
 * the derived "" texts, and bot is absent when device is NULL. db is borrowed and must have
 * no transaction open (each statement commits on its own). Returns 0, ERR_NOMEM,
 * ERR_TOO_BIG (a part's values over 256 MiB), or the ERR_DB/ERR_TIMEOUT of db_exec (detail
 * and SQLSTATE on the handle: sink_pg_write tells a refused value from a failure). Before a new
 * part the cache empties when it holds CLICKDICT_ENTRIES_MAX minus room for the part's values, or
 * CLICKDICT_BYTES_MAX bytes of keys.
 */
int clickdict_resolve(struct clickdict *cd, struct db *db, struct sink_pg_row *rows,
                      size_t n) ATTR_WARN_UNUSED;

/* Values found in the cache, and values resolved through PostgreSQL, since start. */
unsigned long clickdict_hits(const struct clickdict *cd);
unsigned long clickdict_misses(const struct clickdict *cd);

#endif
