/*
 * rollup.h - a part's clicks summed in the worker into the rows of the rollups of
 * schema/004_analytics.sql (url_totals, url_stats_hour, url_stats_day), so that PostgreSQL
 * upserts each (link, dimension, bucket, value) once per part instead of grouping a row per
 * click and dimension itself. Pure: no I/O (tests/unit/test_rollup.c).
 *
 * The sums are exactly what the per-click SQL of sink_pg.c (the path taken when some clicks
 * of a part were already stored) adds for the same clicks:
 *   url_totals: clicks; human_clicks counts bot == 0 and bot_clicks bot == 1 among the clicks
 *     with a device (a click without derived fields counts in neither); the latest ts_ms;
 *   the buckets: the click's hour and day (UTC; floor division, so before 1970 too); the
 *     dimensions k ("bot" when derived as a bot, else "human"), r referrer host, b browser,
 *     o OS, d device, c country; an absent value ("" or NULL device) has no row.
 * Rows come out sorted by (url_id, dim, bucket, name in byte order) within each grain, the
 * key order of the rollups' primary keys, so two workers upsert the same rows in the same
 * order (no deadlock between them).
 */
#ifndef ROLLUP_H
#define ROLLUP_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct sink_pg_row;

#define ROLLUP_HOUR_MS 3600000LL
#define ROLLUP_DAY_MS  86400000LL

/* One summed row. grain 'h' (url_stats_hour), 'd' (url_stats_day) or 't' (url_totals). */
struct rollup_row {
    char grain;
    char dim; /* 'h'/'d': the dimension; 't': 0 */
    int64_t url_id;
    int64_t bucket;   /* 'h'/'d': the bucket's first ms; 't': the latest click's ts_ms */
    const char *name; /* 'h'/'d': the value (borrowed from the input rows); 't': NULL */
    int64_t clicks;
    int64_t human, bot; /* 't' only */
};

/* The output: rows[0..n), owned (rollup_release). */
struct rollup {
    struct rollup_row *rows;
    size_t n;
};

/*
 * Sums rows[0..n) (borrowed: the names point into them, so they must outlive the output).
 * The url_id and ts_ms of every row must be decimal integers (entry.c checked them).
 * Returns 0, ERR_INVALID (a url_id or ts_ms that does not parse), or ERR_NOMEM; on failure
 * *out is empty.
 */
int rollup_build(const struct sink_pg_row *rows, size_t n, struct rollup *out) ATTR_WARN_UNUSED;

/* Frees the output. Accepts an empty one. */
void rollup_release(struct rollup *r);

#endif
