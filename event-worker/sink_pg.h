/*
 * sink_pg.h - writes a batch of clicks to PostgreSQL: one transaction, a COPY of the rows
 * into a temporary stage, then one INSERT ... SELECT ... ON CONFLICT (the click's key) DO
 * NOTHING from it.
 *
 * A stored click is narrow (schema/007_compact_clicks.sql): its link at click time, agent and
 * referrer are ids into dictionaries (clickdict.h), country and visitor hash small columns,
 * no details jsonb (the function details(events) rebuilds it for the API).
 *
 * A click's key (stream_ms, stream_seq, stream_shard, stream_idx: its stream entry and its
 * index in it, schema/006_click_keys.sql) is unique, so writing the same click twice inserts
 * it once: a batch replayed after a crash between COMMIT and XACK adds nothing.
 * The same statement adds the rows it actually inserted (never the conflicting
 * ones) to the rollups of schema/004_analytics.sql: url_totals, and the
 * per-hour and per-day counts by dimension in url_stats_hour / url_stats_day.
 */
#ifndef SINK_PG_H
#define SINK_PG_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct db;
struct clickdict;

#define SINK_PG_SID_MAX  64  /* "<shard>:<ms>-<seq>" fits easily: 3 + 1 + 20 + 1 + 20 */
#define SINK_PG_HOST_MAX 256 /* a referrer host with its NUL (refhost.h) */
#define SINK_PG_NAME_MAX 48  /* a browser or OS family with its NUL (uaparse.h) */

/*
 * One click. Every pointer is borrowed (from the Redis reply it was parsed
 * from) and must stay valid during sink_pg_write. The numeric fields must
 * already be checked: url_id and ts_ms decimal integers in bigint range,
 * user_id one too or NULL (no owner). The texts may be NULL (left out of
 * details); ref and ua may also be "" (left out too).
 */
struct sink_pg_row {
    const char *url_id;
    const char *user_id;
    const char *ts_ms;
    const char *code;
    const char *url;
    const char *ref;
    const char *ua;
    const char *ip; /* the client address or NULL: used by derive.c, never stored */
    /* The idempotency key: the stream entry (shard, id) and the click's index in it. */
    unsigned shard, idx;
    uint64_t ms, seq;
    char stream_id[SINK_PG_SID_MAX]; /* "<shard>:<entry id>" (one click) or ".../<idx>" */
    size_t ent;                      /* the caller's tag: the entry the row came from */
    /* Derived by derive.c; "" means unknown (stored as NULL, not counted). */
    char refhost[SINK_PG_HOST_MAX];
    char browser[SINK_PG_NAME_MAX];
    char os[SINK_PG_NAME_MAX];
    const char *device; /* static text: desktop, mobile, tablet or bot; NULL = not derived */
    int bot;
    char country[3];
    char visitor[33]; /* the salted visitor hash in hex (visitor.h) */
    /* Set by sink_pg_write (clickdict.h): the dictionary rows of the texts; 0 = none. */
    int32_t link_id, agent_id, ref_id;
};

/*
 * Inserts rows[0..n) with their rollups on db (borrowed; no transaction may be open on it),
 * after their texts have been turned into dictionary ids through cd (borrowed;
 * clickdict_resolve, whose rows commit on their own). Usually one transaction, whose INSERT
 * runs in statements of SINK_PG_CHUNK rows (sink_pg.c); when some rows were already stored,
 * one transaction per chunk instead. On success returns 0 after the COMMIT(s) and stores in
 * *inserted how many rows were new (the others were already there). On failure the failing
 * transaction is rolled back (earlier chunks of the exact path stay committed and counted in
 * *inserted; a retry finds them stored), and the result is: ERR_INVALID when PostgreSQL
 * refused the data itself (SQLSTATE classes 22, 23 and 54, or a row over the COPY buffer's
 * cap: a retry cannot succeed, the caller should isolate the bad row), ERR_NOMEM, or the
 * ERR_DB/ERR_TIMEOUT of db_exec (detail on the handle). n == 0 is a no-op.
 */
int sink_pg_write(struct db *db, struct clickdict *cd, struct sink_pg_row *rows, size_t n,
                  long *inserted) ATTR_WARN_UNUSED;

#endif
