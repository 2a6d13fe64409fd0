-- 006_click_keys.sql - a compact idempotency key for stream clicks (issue 13).
--
-- The text stream_id ("<shard>:<ms>-<seq>", about 20 bytes plus a text index entry of about
-- 40) becomes four integers: the stream entry id (ms, seq), its shard, and the click's index
-- in the entry (a batched entry of shared/clickstream.h carries up to 1024 clicks; a one-click
-- entry is index 0). One unique index over them, ms first so that new keys land on the
-- right-most leaf, in an order that packs the key into 16 bytes. A replayed click has the same
-- four values and hits ON CONFLICT (event-worker/sink_pg.c).
--
-- stream_ms IS NULL now means what stream_id IS NULL meant: an event written through the API
-- (not rolled up; counted at read time through events_api_url_idx). Every stored stream_id
-- is converted; one that does not have the worker's format stops the migration rather than
-- turning a rolled-up click into an API event (which the stats would count twice).

DO $$
DECLARE bad text;
BEGIN
    SELECT stream_id INTO bad FROM events
    WHERE stream_id IS NOT NULL AND stream_id !~ '^[0-9]{1,5}:[0-9]{1,19}-[0-9]{1,10}$'
    LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'events.stream_id % is not "<shard>:<ms>-<seq>": convert it by hand', bad;
    END IF;
END $$;

ALTER TABLE events
    ADD COLUMN stream_ms bigint,
    ADD COLUMN stream_seq integer,
    ADD COLUMN stream_shard smallint,
    ADD COLUMN stream_idx smallint;

UPDATE events SET
    stream_shard = split_part(stream_id, ':', 1)::smallint,
    stream_ms = split_part(split_part(stream_id, ':', 2), '-', 1)::bigint,
    stream_seq = split_part(split_part(stream_id, ':', 2), '-', 2)::integer,
    stream_idx = 0
WHERE stream_id IS NOT NULL;

DROP INDEX events_api_url_idx;
ALTER TABLE events DROP CONSTRAINT events_stream_id_key;
ALTER TABLE events DROP COLUMN stream_id;

-- All four set, or none (an API event).
ALTER TABLE events ADD CONSTRAINT events_stream_key_check CHECK (
    (stream_ms IS NULL AND stream_seq IS NULL AND stream_shard IS NULL AND stream_idx IS NULL)
    OR (stream_ms >= 0 AND stream_seq >= 0 AND stream_shard >= 0 AND stream_idx >= 0));

CREATE UNIQUE INDEX events_stream_key ON events (stream_ms, stream_seq, stream_shard, stream_idx);

CREATE INDEX events_api_url_idx ON events (url_id, event_type, "timestamp")
    WHERE stream_ms IS NULL;
