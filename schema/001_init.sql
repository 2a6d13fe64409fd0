-- 001_init.sql - the three tables of API.md section 2.
-- users.username/email are NOT unique in the database: the seed files contain
-- duplicates (shared/data/variant-duplicate-users). The API enforces
-- uniqueness on create/update under an advisory lock (write-svc/store_users.c).

CREATE TABLE users (
    id          bigserial PRIMARY KEY,
    username    text NOT NULL,
    email       text NOT NULL,
    created_at  timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);

CREATE TABLE urls (
    id            bigserial PRIMARY KEY,
    user_id       bigint REFERENCES users(id) ON DELETE SET NULL,
    short_code    text NOT NULL,
    original_url  text NOT NULL,
    title         text,
    is_active     boolean NOT NULL DEFAULT true,
    created_at    timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    updated_at    timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    CONSTRAINT urls_short_code_key UNIQUE (short_code)
);

-- events is an append-only log: url_id keeps its value after the URL is
-- hard-deleted (the 'deleted' event must still name it), so neither id column
-- is a foreign key. Deleting a user sets user_id to NULL explicitly.
-- stream_id is the Redis Stream entry id of a click ("<shard>:<ms>-<seq>"),
-- unique so that a replayed batch never duplicates a click.
CREATE TABLE events (
    id           bigserial PRIMARY KEY,
    url_id       bigint,
    user_id      bigint,
    event_type   text NOT NULL,
    "timestamp"  timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    details      jsonb NOT NULL DEFAULT '{}'::jsonb,
    stream_id    text,
    CONSTRAINT events_stream_id_key UNIQUE (stream_id)
);
