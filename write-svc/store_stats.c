/*
 * store_stats.c - SQL of GET /urls/<id>/stats, answered from the rollups of
 * schema/004_analytics.sql (see store.h).
 *
 * One statement reads: the link; its url_totals row (every stream click,
 * human/bot, the last one); its API-written events through the partial index
 * events_api_url_idx (created/updated/... and clicks posted to /events: few
 * per link, however many redirects it gets); and, over the range, the kind
 * rows ('k') for the series and the other dimensions for the top-10 lists,
 * from url_stats_day or url_stats_hour. The number of rows read depends on the
 * range and the number of distinct values, not on the number of events.
 */
#include <stdio.h>

#include "db.h"
#include "store.h"
#include "timefmt.h"

#include "banned.h"

#define STATS_TS "'YYYY-MM-DD\"T\"HH24:MI:SS'"

/* The top-10 list of dimension `dim` as the JSON member `key` (no trailing comma). */
#define STATS_TOP(key, dim)                                                                        \
    " '" key "', (SELECT coalesce(json_agg(json_build_object('name', name, 'clicks', n)"           \
    " ORDER BY n DESC, name), '[]') FROM r WHERE dim = '" dim "' AND rk <= 10)"

/* The five top-10 lists. */
#define STATS_TOPS                                                                                 \
    STATS_TOP("referrers", "r")                                                                    \
    "," STATS_TOP("browsers", "b") "," STATS_TOP("os", "o") "," STATS_TOP(                         \
        "devices", "d") "," STATS_TOP("countries", "c")

/* The statement over TABLE (url_stats_day/hour) whose bucket column is COL, of UNIT. */
#define STATS_SQL(TABLE, COL, UNIT)                                                                \
    "WITH u AS (SELECT id, short_code, original_url FROM urls WHERE id = $1::bigint),"             \
    " t AS (SELECT clicks, human_clicks, bot_clicks, last_click FROM url_totals"                   \
    " WHERE url_id = $1::bigint),"                                                                 \
    " a AS (SELECT count(*) AS events, count(*) FILTER (WHERE event_type = 'click') AS clicks,"    \
    " max(\"timestamp\") FILTER (WHERE event_type = 'click') AS last FROM events"                  \
    " WHERE url_id = $1::bigint AND stream_ms IS NULL),"                                           \
    " rg AS (SELECT date_trunc('" UNIT "', $2::timestamp) AS lo, $3::timestamp AS hi),"            \
    " b AS (SELECT g AS t FROM rg, generate_series(rg.lo, rg.hi, interval '1 " UNIT "') g),"       \
    " s AS (SELECT " COL "::timestamp AS t, sum(clicks) AS n FROM " TABLE ", rg"                   \
    " WHERE url_id = $1::bigint AND dim = 'k' AND " COL " >= rg.lo AND " COL " <= rg.hi"           \
    " GROUP BY 1),"                                                                                \
    " x AS (SELECT dim, name, sum(clicks) AS n FROM " TABLE ", rg WHERE url_id = $1::bigint"       \
    " AND dim IN ('r', 'b', 'o', 'd', 'c') AND " COL " >= rg.lo AND " COL " <= rg.hi"              \
    " GROUP BY dim, name),"                                                                        \
    " r AS (SELECT dim, name, n, row_number() OVER (PARTITION BY dim ORDER BY n DESC, name)"       \
    " AS rk FROM x)"                                                                               \
    " SELECT json_build_object('id', u.id, 'short_code', u.short_code,"                            \
    " 'original_url', u.original_url,"                                                             \
    " 'total_events', coalesce(t.clicks, 0) + a.events,"                                           \
    " 'total_clicks', coalesce(t.clicks, 0) + a.clicks,"                                           \
    " 'last_visited', to_char(greatest(t.last_click, a.last), " STATS_TS "),"                      \
    " 'unique_visitors', $4::bigint,"                                                              \
    " 'human_clicks', coalesce(t.human_clicks, 0), 'bot_clicks', coalesce(t.bot_clicks, 0),"       \
    " 'interval', '" UNIT "', 'from', to_char(rg.lo, " STATS_TS "),"                               \
    " 'to', to_char(rg.hi, " STATS_TS "),"                                                         \
    " 'series', (SELECT coalesce(json_agg(json_build_object('t', to_char(b.t, " STATS_TS "),"      \
    " 'clicks', coalesce(s.n, 0)) ORDER BY b.t), '[]') FROM b LEFT JOIN s USING (t))," STATS_TOPS  \
    ")::text FROM u CROSS JOIN rg CROSS JOIN a LEFT JOIN t ON true"

int store_stats_get(struct db *db, const struct store_stats_query *q, char **json)
{
    char idb[24], from[TIMEFMT_ISO_LEN], to[TIMEFMT_ISO_LEN], uv[24];
    if (timefmt_iso(q->from, from) != 0 || timefmt_iso(q->to, to) != 0)
        return ERR_INVALID;
    const char *params[] = {store_fmt_id(idb, q->id), from, to, NULL};
    if (q->unique_visitors >= 0) {
        snprintf(uv, sizeof(uv), "%lld", q->unique_visitors);
        params[3] = uv;
    }
    if (q->hourly)
        return store_query_json(db, "stats_hour", STATS_SQL("url_stats_hour", "hour", "hour"), 4,
                                params, json);
    return store_query_json(db, "stats_day", STATS_SQL("url_stats_day", "day", "day"), 4, params,
                            json);
}
