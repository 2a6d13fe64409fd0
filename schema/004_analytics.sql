-- 004_analytics.sql - click analytics rollups, kept by the event-worker in the same
-- transaction (the same statement) as the click rows (event-worker/sink_pg.c), so that
-- GET /urls/<id>/stats reads a number of rows that depends on its time range and on the
-- number of distinct values, never on the number of events.
--
-- Only clicks that came through the click stream (stream_id IS NOT NULL) are rolled up.
-- Events written through the API (created, updated, ..., and clicks posted to /events)
-- keep stream_id NULL and are counted at read time through events_api_url_idx below:
-- there are few of them per link, however many redirects it gets.

-- Per link: every stream click, split by the bot flag, and the last one.
CREATE TABLE url_totals (
    url_id        bigint PRIMARY KEY,
    clicks        bigint NOT NULL DEFAULT 0,
    human_clicks  bigint NOT NULL DEFAULT 0,
    bot_clicks    bigint NOT NULL DEFAULT 0,
    last_click    timestamp
);

-- Per link, dimension, hour (UTC) and value: the number of clicks.
-- dim: 'k' kind ('human' or 'bot'; the sum over both is the link's clicks in that hour),
--      'r' referrer host, 'b' browser family, 'o' OS family, 'd' device class
--      (desktop, mobile, tablet, bot), 'c' country (ISO 3166 alpha-2; only with GEOIP_DB).
-- A click without a value for a dimension (no referrer, no country) has no row there.
-- The key order serves both reads of the stats: one dimension of one link over a range.
CREATE TABLE url_stats_hour (
    url_id  bigint NOT NULL,
    dim     "char" NOT NULL,
    hour    timestamp NOT NULL,
    name    text NOT NULL,
    clicks  bigint NOT NULL,
    PRIMARY KEY (url_id, dim, hour, name)
);

-- The same by day: long ranges read 24 times fewer rows.
CREATE TABLE url_stats_day (
    url_id  bigint NOT NULL,
    dim     "char" NOT NULL,
    day     date NOT NULL,
    name    text NOT NULL,
    clicks  bigint NOT NULL,
    PRIMARY KEY (url_id, dim, day, name)
);

-- The salt of each day's visitor hashes (event-worker/salt.c): the first worker that needs
-- it inserts random bytes, ON CONFLICT DO NOTHING, and every worker reads the winner.
-- Days older than yesterday are deleted, so old hashes cannot be recomputed from addresses.
CREATE TABLE visitor_salts (
    day   date PRIMARY KEY,
    salt  bytea NOT NULL
);

-- The API-written events of a link (stream_id IS NULL): total_events and the clicks posted
-- to /events are counted from this small index, not from the link's stream clicks.
CREATE INDEX events_api_url_idx ON events (url_id, event_type, "timestamp")
    WHERE stream_id IS NULL;

-- Backfill from the stream clicks already stored. Their derived fields are read from details
-- when present; older rows have none, so they count as human, and their referrer host is
-- taken from details->>'referrer' by a regular expression (browser, OS, device unknown).
CREATE TEMP TABLE analytics_backfill ON COMMIT DROP AS
SELECT url_id, "timestamp" AS ts,
       coalesce(details->'bot' = 'true'::jsonb, false) AS bot,
       coalesce(details->>'referrer_host',
                lower(substring(details->>'referrer'
                      FROM '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#:@]+)'))) AS rhost,
       details->>'browser' AS browser, details->>'os' AS os, details->>'device' AS device,
       details->>'country' AS country
FROM events
WHERE event_type = 'click' AND stream_id IS NOT NULL AND url_id IS NOT NULL;

INSERT INTO url_totals (url_id, clicks, human_clicks, bot_clicks, last_click)
SELECT url_id, count(*), count(*) FILTER (WHERE NOT bot), count(*) FILTER (WHERE bot), max(ts)
FROM analytics_backfill GROUP BY url_id;

CREATE TEMP TABLE analytics_backfill_x ON COMMIT DROP AS
SELECT b.url_id, date_trunc('hour', b.ts) AS h, x.dim, x.name
FROM analytics_backfill b
CROSS JOIN LATERAL (VALUES ('k', CASE WHEN b.bot THEN 'bot' ELSE 'human' END), ('r', b.rhost),
    ('b', b.browser), ('o', b.os), ('d', b.device), ('c', b.country)) AS x (dim, name)
WHERE x.name IS NOT NULL;

INSERT INTO url_stats_hour (url_id, dim, hour, name, clicks)
SELECT url_id, dim::"char", h, name, count(*) FROM analytics_backfill_x GROUP BY 1, 2, 3, 4;

INSERT INTO url_stats_day (url_id, dim, day, name, clicks)
SELECT url_id, dim::"char", h::date, name, count(*) FROM analytics_backfill_x GROUP BY 1, 2, 3, 4;
