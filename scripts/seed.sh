#!/usr/bin/env bash
# scripts/seed.sh - load the seed CSVs (users, urls, events) into $DATABASE_URL.
#
#   scripts/seed.sh [DIR]        DIR holds users.csv urls.csv events.csv (default: schema/seed)
#
# Each file goes through psql \copy into a temporary staging table of text columns, then
# INSERT ... SELECT with casts: booleans True/False (any case, also t/f/1/0), timestamps
# "YYYY-MM-DD HH:MM:SS", details as JSON text -> jsonb ({} when it is empty, not valid JSON or
# not an object). Ids are kept, and a row whose id exists is updated (ON CONFLICT (id) DO
# UPDATE), so seeding twice is harmless. Duplicate usernames/emails are accepted: the schema
# has no unique index on them. A seed URL takes its short code from an existing URL with
# another id (that URL is deleted, with a notice); a URL whose owner is not in users gets a
# NULL owner. Each sequence is then set to max(id), so new rows continue after the seed.
# Everything happens in ONE transaction with the three tables locked against concurrent writes:
# on any error nothing changes.
#
# Then, when REDIS_URL is set, it deletes the read-model marker "readmodel:complete" so that
# write-svc rebuilds the Redis read model from PostgreSQL.
#
# Env: DATABASE_URL (required), REDIS_URL (optional).
# Output: "seeded <table>: <n> rows from <file>, <total> in the table" lines on stdout.
# Exit: 0 on success; non-zero when a file is missing or malformed, or when the database (or
# Redis, after the database was committed) fails.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -n "${DATABASE_URL:-}" ] || die "DATABASE_URL is not set"
command -v psql >/dev/null || die "psql not found (apt-get install postgresql-client)"
dir=${1:-$REPO_ROOT/schema/seed}
[ -d "$dir" ] || die "no seed directory: $dir"

# The header line of each file must name exactly these columns, in this order.
declare -A header=(
    [users]='id,username,email,created_at'
    [urls]='id,user_id,short_code,original_url,title,is_active,created_at,updated_at'
    [events]='id,url_id,user_id,event_type,timestamp,details'
)
for table in users urls events; do
    file=$dir/$table.csv
    [ -r "$file" ] || die "missing $file"
    first=$(head -n 1 "$file" | tr -d '\r\357\273\277')
    [ "$first" = "${header[$table]}" ] ||
        die "$file: header is '$first', expected '${header[$table]}'"
done

# psql's \copy does not interpolate variables, so it runs in DIR with plain file names.
cd "$dir"
PGOPTIONS='-c client_min_messages=notice' psql -X -q -v ON_ERROR_STOP=1 --no-psqlrc \
    -d "$DATABASE_URL" <<'SQL' || die "seeding failed; the database is unchanged"
BEGIN;
LOCK TABLE users, urls, events IN SHARE ROW EXCLUSIVE MODE;

-- jsonb from text; anything that is not a JSON object becomes {}.
CREATE FUNCTION pg_temp.seed_jsonb(t text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE j jsonb;
BEGIN
    j := t::jsonb;
    RETURN CASE WHEN jsonb_typeof(j) = 'object' THEN j ELSE '{}'::jsonb END;
EXCEPTION WHEN others THEN
    RETURN '{}'::jsonb;
END $$;

-- n keeps the file order, so that the last of several rows with one id wins.
CREATE TEMP TABLE stage_users (n bigserial, id text, username text, email text,
    created_at text) ON COMMIT DROP;
CREATE TEMP TABLE stage_urls (n bigserial, id text, user_id text, short_code text,
    original_url text, title text, is_active text, created_at text, updated_at text)
    ON COMMIT DROP;
CREATE TEMP TABLE stage_events (n bigserial, id text, url_id text, user_id text,
    event_type text, "timestamp" text, details text) ON COMMIT DROP;

\copy stage_users (id, username, email, created_at) FROM 'users.csv' WITH (FORMAT csv, HEADER true)
\copy stage_urls (id, user_id, short_code, original_url, title, is_active, created_at, updated_at) FROM 'urls.csv' WITH (FORMAT csv, HEADER true)
\copy stage_events (id, url_id, user_id, event_type, "timestamp", details) FROM 'events.csv' WITH (FORMAT csv, HEADER true)

INSERT INTO users (id, username, email, created_at)
SELECT DISTINCT ON (id::bigint) id::bigint, username, email,
       COALESCE(NULLIF(created_at, '')::timestamp, now() AT TIME ZONE 'UTC')
FROM stage_users
ORDER BY id::bigint, n DESC
ON CONFLICT (id) DO UPDATE
SET username = EXCLUDED.username, email = EXCLUDED.email, created_at = EXCLUDED.created_at;

-- A seed short code held by a URL with another id: the seed wins.
WITH gone AS (
    DELETE FROM urls u USING stage_urls s
    WHERE u.short_code = s.short_code AND u.id <> s.id::bigint
    RETURNING u.id)
SELECT count(*) AS gone, count(*) > 0 AS any_gone FROM gone \gset
\if :any_gone
\echo 'seed.sh: notice:' :gone 'existing URL(s) deleted: their short code belongs to a seed URL'
\endif

INSERT INTO urls (id, user_id, short_code, original_url, title, is_active, created_at, updated_at)
SELECT DISTINCT ON (s.id::bigint) s.id::bigint, u.id, s.short_code, s.original_url,
       NULLIF(s.title, ''), COALESCE(NULLIF(s.is_active, '')::boolean, true),
       COALESCE(NULLIF(s.created_at, '')::timestamp, now() AT TIME ZONE 'UTC'),
       COALESCE(NULLIF(s.updated_at, '')::timestamp, NULLIF(s.created_at, '')::timestamp,
                now() AT TIME ZONE 'UTC')
FROM stage_urls s
LEFT JOIN users u ON u.id = NULLIF(s.user_id, '')::bigint
ORDER BY s.id::bigint, s.n DESC
ON CONFLICT (id) DO UPDATE
SET user_id = EXCLUDED.user_id, short_code = EXCLUDED.short_code,
    original_url = EXCLUDED.original_url, title = EXCLUDED.title,
    is_active = EXCLUDED.is_active, created_at = EXCLUDED.created_at,
    updated_at = EXCLUDED.updated_at;

INSERT INTO events_api (id, url_id, user_id, event_type, "timestamp", api_details)
SELECT DISTINCT ON (id::bigint) id::bigint, NULLIF(url_id, '')::bigint,
       NULLIF(user_id, '')::bigint, event_type,
       COALESCE(NULLIF("timestamp", '')::timestamp, now() AT TIME ZONE 'UTC'),
       pg_temp.seed_jsonb(details)
FROM stage_events
ORDER BY id::bigint, n DESC
ON CONFLICT (id) DO UPDATE
SET url_id = EXCLUDED.url_id, user_id = EXCLUDED.user_id, event_type = EXCLUDED.event_type,
    "timestamp" = EXCLUDED."timestamp", api_details = EXCLUDED.api_details;

-- New ids continue after the largest one (1 when a table is empty).
SELECT setval(pg_get_serial_sequence('users', 'id'), COALESCE(max(id), 1), max(id) IS NOT NULL)
FROM users \g /dev/null
SELECT setval(pg_get_serial_sequence('urls', 'id'), COALESCE(max(id), 1), max(id) IS NOT NULL)
FROM urls \g /dev/null
SELECT setval(pg_get_serial_sequence('events', 'id'), COALESCE(max(id), 1), max(id) IS NOT NULL)
FROM events \g /dev/null

\pset format unaligned
\pset tuples_only on
SELECT format('seeded %s: %s rows from %s.csv, %s in the table', t, staged, t, total)
FROM (VALUES
    ('users', (SELECT count(*) FROM stage_users), (SELECT count(*) FROM users)),
    ('urls', (SELECT count(*) FROM stage_urls), (SELECT count(*) FROM urls)),
    ('events', (SELECT count(*) FROM stage_events), (SELECT count(*) FROM events))
) AS c (t, staged, total);
COMMIT;
SQL

if [ -n "${REDIS_URL:-}" ]; then
    command -v redis-cli >/dev/null || die "redis-cli not found; the database is seeded," \
        "but delete the key readmodel:complete so that write-svc rebuilds the read model"
    out=$(redis_cli_url "$REDIS_URL" DEL readmodel:complete 2>&1) || true
    [[ "$out" =~ ^[0-9]+$ ]] ||
        die "Redis at $REDIS_URL: $out; the database is seeded, but the read-model marker" \
            "readmodel:complete is not deleted, so write-svc will not rebuild the read model"
    say "deleted the read-model marker readmodel:complete: write-svc rebuilds the read model"
fi
