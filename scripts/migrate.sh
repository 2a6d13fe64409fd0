#!/usr/bin/env bash
# scripts/migrate.sh - apply schema/NNN_*.sql in order to $DATABASE_URL.
#
# Each migration runs in its own transaction with ON_ERROR_STOP and is recorded in
# schema_migrations(version, applied_at) in that same transaction, so a failed file leaves
# nothing behind and a re-run applies only what is new. An advisory lock serialises concurrent
# runs (two services or test harnesses migrating the same database at once).
#
# Env: DATABASE_URL (required), SCHEMA_DIR (default: <repo>/schema).
# Exit: 0 when the schema is up to date, non-zero with a message naming the failed file.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -n "${DATABASE_URL:-}" ] || die "DATABASE_URL is not set"
command -v psql >/dev/null || die "psql not found (apt-get install postgresql-client)"
schema_dir=${SCHEMA_DIR:-$REPO_ROOT/schema}
[ -d "$schema_dir" ] || die "no schema directory: $schema_dir"

psql_run() {
    PGOPTIONS='-c client_min_messages=warning' \
        psql -X -q -v ON_ERROR_STOP=1 --no-psqlrc -d "$DATABASE_URL" "$@"
}

psql_run -c 'CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    applied_at timestamp NOT NULL DEFAULT (now() AT TIME ZONE '"'UTC'"'))' ||
    die "cannot reach the database or create schema_migrations"

# The files, in order; two files with one number would make the order ambiguous.
mapfile -t files < <(find "$schema_dir" -maxdepth 1 -type f -name '[0-9][0-9][0-9]_*.sql' |
    LC_ALL=C sort)
dups=$(printf '%s\n' "${files[@]##*/}" | cut -c1-3 | uniq -d)
[ -z "$dups" ] || die "two migrations share the number(s): $dups"

applied=0
for file in "${files[@]}"; do
    version=$(basename "$file" .sql)
    # One transaction: lock, skip when already recorded, apply, record.
    out=$(psql_run -v version="$version" -v file="$file" 2>&1 <<'SQL'
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('schema_migrations'));
SELECT NOT EXISTS (SELECT 1 FROM schema_migrations WHERE version = :'version') AS todo \gset
\if :todo
\i :file
INSERT INTO schema_migrations (version) VALUES (:'version');
\echo applied
\endif
COMMIT;
SQL
    ) || {
        printf '%s\n' "$out" >&2
        die "migration $version failed; it was rolled back and later ones were not run"
    }
    if printf '%s\n' "$out" | grep -qx applied; then
        say "applied $version"
        applied=$((applied + 1))
    fi
done
say "schema up to date (${#files[@]} migrations, $applied applied now)"
