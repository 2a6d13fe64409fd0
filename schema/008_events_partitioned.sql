-- 008_events_partitioned.sql - years of clicks (issue 14 item 4): `events` partitioned by
-- month, old click months dropped whole.
--
-- The partition key is stream_ms, the time a click entered its stream (the first part of its
-- idempotency key, schema/006): RANGE partitions of one calendar month (UTC) each, named
-- events_yYYYYmMM, hold the stream clicks; the DEFAULT partition events_api holds every row
-- whose stream_ms is NULL - the events written through the API (created, updated, deleted,
-- POST /events), which no retention ever drops - and any stream click of a month that has no
-- partition (a replay of an old entry). So dropping a month drops only stream clicks, which
-- the rollups (url_totals, url_stats_hour, url_stats_day) have already counted: the stats keep
-- their totals (GET /urls/<id>/stats reads the rollups and, for API events, events_api only).
--
-- Unique indexes on a partitioned table must contain the partition key: the click key
-- (stream_ms, stream_seq, stream_shard, stream_idx) does, so ON CONFLICT is unchanged. The
-- id can no longer be a primary key (stream_ms is nullable): ids come from events_id_seq, an
-- index on id serves the lookups, and events_api keeps a unique index on id for the API
-- events (scripts/seed.sh upserts into it).
--
-- events_add_partitions(ahead) creates the partitions of this month and the `ahead` next ones
-- (idempotent; a month with rows already in events_api gets them moved into its new
-- partition); events_drop_partitions(keep) drops the click partitions that ended more than
-- `keep` whole months before this one. The event-worker calls both at start and every hour
-- (EVENT_RETENTION_MONTHS; event-worker/retention.c).

DROP FUNCTION details(events);
DROP FUNCTION click_details(events);
ALTER TABLE events RENAME TO events_old;
ALTER INDEX events_api_url_idx RENAME TO events_old_api_url_idx;
ALTER INDEX events_api_type_idx RENAME TO events_old_api_type_idx;
ALTER INDEX events_url_id_idx RENAME TO events_old_url_id_idx;
ALTER INDEX events_user_id_idx RENAME TO events_old_user_id_idx;
ALTER INDEX events_stream_key RENAME TO events_old_stream_key;

CREATE TABLE events (
    id            bigint NOT NULL DEFAULT nextval('events_id_seq'),
    url_id        bigint,
    user_id       bigint,
    event_type    text NOT NULL,
    "timestamp"   timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    api_details   jsonb,
    stream_ms     bigint,
    stream_seq    integer,
    stream_shard  smallint,
    stream_idx    smallint,
    link_id       integer,
    agent_id      integer,
    referrer_id   integer,
    country       text,
    visitor       bytea,
    CONSTRAINT events_stream_key_check CHECK (
        (stream_ms IS NULL AND stream_seq IS NULL AND stream_shard IS NULL
         AND stream_idx IS NULL)
        OR (stream_ms >= 0 AND stream_seq >= 0 AND stream_shard >= 0 AND stream_idx >= 0)),
    CONSTRAINT events_details_check CHECK (api_details IS NOT NULL OR stream_ms IS NOT NULL)
) PARTITION BY RANGE (stream_ms);
ALTER SEQUENCE events_id_seq OWNED BY events.id;

CREATE TABLE events_api PARTITION OF events DEFAULT;
CREATE UNIQUE INDEX events_api_id_key ON events_api (id);

-- The partition of the month that starts at m (UTC), unless it exists; 1 when made. Rows of
-- that month already in events_api move into it.
CREATE FUNCTION events_add_partition(m timestamp) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    name text := format('events_y%sm%s', to_char(m, 'YYYY'), to_char(m, 'MM'));
    lo bigint := (extract(epoch FROM m) * 1000)::bigint;
    hi bigint := (extract(epoch FROM m + interval '1 month') * 1000)::bigint;
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN 0;
    END IF;
    LOCK TABLE events_api IN SHARE ROW EXCLUSIVE MODE; -- one creator at a time
    IF to_regclass(name) IS NOT NULL THEN
        RETURN 0;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   name);
    EXECUTE format('WITH moved AS (DELETE FROM events_api WHERE stream_ms >= %s '
                   'AND stream_ms < %s RETURNING *) INSERT INTO %I SELECT * FROM moved',
                   lo, hi, name);
    EXECUTE format('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)',
                   name, lo, hi);
    RETURN 1;
END $$;

-- The partitions of this month and the `ahead` next ones; returns how many were made.
CREATE FUNCTION events_add_partitions(ahead integer) RETURNS integer
LANGUAGE sql AS $$
    SELECT coalesce(sum(events_add_partition(date_trunc('month', now() AT TIME ZONE 'UTC')
                                             + make_interval(months => k))), 0)::integer
    FROM generate_series(0, greatest(ahead, 0)) AS k
$$;

-- Drops the click partitions that ended before the month `keep` months before this one
-- (keep = 1 keeps last month and this one); returns how many. keep <= 0 drops nothing.
CREATE FUNCTION events_drop_partitions(keep integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    cut bigint := (extract(epoch FROM date_trunc('month', now() AT TIME ZONE 'UTC')
                   - make_interval(months => keep)) * 1000)::bigint;
    p record;
    dropped integer := 0;
BEGIN
    IF keep <= 0 THEN
        RETURN 0;
    END IF;
    FOR p IN SELECT c.relname,
                    (regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                  'TO \(''?(-?[0-9]+)''?\)'))[1]::bigint AS hi
             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'events'::regclass AND c.relname ~ '^events_y[0-9]{4}m[0-9]{2}$'
    LOOP
        IF p.hi IS NOT NULL AND p.hi <= cut THEN
            EXECUTE format('DROP TABLE %I', p.relname);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    RETURN dropped;
END $$;

-- Partitions for the months of the stored clicks (of the last ten years; older ones stay in
-- events_api), and this one and the next two.
SELECT events_add_partition(m) FROM (
    SELECT DISTINCT date_trunc('month', to_timestamp(stream_ms / 1000.0) AT TIME ZONE 'UTC') AS m
    FROM events_old
    WHERE stream_ms >= extract(epoch FROM now() - interval '10 years') * 1000) s;
SELECT events_add_partitions(2);

INSERT INTO events (id, url_id, user_id, event_type, "timestamp", api_details, stream_ms,
                    stream_seq, stream_shard, stream_idx, link_id, agent_id, referrer_id,
                    country, visitor)
SELECT id, url_id, user_id, event_type, "timestamp", api_details, stream_ms, stream_seq,
       stream_shard, stream_idx, link_id, agent_id, referrer_id, country, visitor
FROM events_old;
DROP TABLE events_old;

CREATE INDEX events_id_idx ON events (id);
CREATE UNIQUE INDEX events_stream_key ON events (stream_ms, stream_seq, stream_shard, stream_idx);
CREATE INDEX events_url_id_idx ON events (url_id);
CREATE INDEX events_user_id_idx ON events (user_id);
CREATE INDEX events_api_url_idx ON events (url_id, event_type, "timestamp")
    WHERE stream_ms IS NULL;
CREATE INDEX events_api_type_idx ON events (event_type, id) WHERE event_type <> 'click';

-- The two functions of schema/007, on the new row type (unchanged).
CREATE FUNCTION click_details(e events) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object('short_code', l.short_code,
        'original_url', l.original_url, 'referrer', r.referrer, 'user_agent', a.user_agent,
        'referrer_host', r.referrer_host, 'browser', a.browser, 'os', a.os,
        'device', a.device, 'bot', a.bot, 'country', e.country,
        'visitor', encode(e.visitor, 'hex')))
    FROM (SELECT 1) AS one
    LEFT JOIN click_links l ON l.id = e.link_id
    LEFT JOIN click_agents a ON a.id = e.agent_id
    LEFT JOIN click_referrers r ON r.id = e.referrer_id
$$;

CREATE FUNCTION details(e events) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(e.api_details, click_details(e))
$$;
