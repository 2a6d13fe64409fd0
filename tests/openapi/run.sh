#!/usr/bin/env bash
# tests/openapi/run.sh - checks docs/openapi.json (make check-openapi, part of make check).
#
#   B=build tests/openapi/run.sh
#
# 1. The document is valid OpenAPI 3.1: @seriousme/openapi-schema-validator (pinned in
#    tests/openapi/package-lock.json, installed by `npm ci` into tests/openapi/node_modules,
#    which git ignores; re-run when the lock file changes). Every $ref must resolve.
# 2. Under tests/harness.sh (a throw-away PostgreSQL and Redis) it starts write-svc,
#    redirect-svc, event-worker and an nginx rendered from deploy/nginx.conf.in (the front door,
#    one instance of each) on free ports, and tests/openapi/replay.py replays requests through
#    the front door: every answer's status must be documented for its operation, with the
#    documented Content-Type, headers and body schema (python3-jsonschema, Draft 2020-12), and
#    every operation must be answered with a success at least once. A second write-svc with
#    API_AUTH=keys (admin key from `write-svc keys create`) gets a pass of its own for the 401 and
#    403 answers, which the open-mode stack never gives. /openapi.json must be the
#    file's bytes, from write-svc and through the front door.
# Without node/npm (or nginx, or PostgreSQL) it prints SKIP; under CI=true it fails instead.
# Prints "openapi: N passed, N failed, N skipped".
set -euo pipefail

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/${BASH_SOURCE[0]##*/}
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib.sh
. "$(dirname "$self")/../../scripts/lib.sh"

B=${B:-build}
case $B in /*) ;; *) B=$REPO_ROOT/$B ;; esac
here=$REPO_ROOT/tests/openapi
doc=$REPO_ROOT/docs/openapi.json

if [ -z "${HARNESS_DIR:-}" ]; then
    for svc in write-svc redirect-svc event-worker; do
        [ -x "$B/bin/$svc" ] || die "$B/bin/$svc not built (make all)"
    done
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        skip_or_fail "node or npm not found (apt-get install nodejs npm)"
    fi
    python3 -c 'import jsonschema; jsonschema.Draft202012Validator' 2>/dev/null ||
        skip_or_fail "python3-jsonschema (Draft 2020-12) not found (apt-get install python3-jsonschema)"
    # npm ci when node_modules is missing or older than the lock file.
    stamp=$here/node_modules/.package-lock.json
    if [ ! -f "$stamp" ] || [ "$here/package-lock.json" -nt "$stamp" ]; then
        (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2 ||
            die "npm ci failed in tests/openapi"
    fi
    if ! out=$("$here/node_modules/.bin/validate-api" "$doc" 2>&1) ||
        ! grep -q '"valid": true' <<<"$out"; then
        printf '%s\n' "$out" >&2
        say "FAIL docs/openapi.json is not a valid OpenAPI 3.1 document"
        exit 1
    fi
    say "docs/openapi.json: valid OpenAPI $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["openapi"])' "$doc")"
    exec "$REPO_ROOT/tests/harness.sh" "$self" "$@"
fi

command -v nginx >/dev/null || skip_or_fail "nginx not found (apt-get install nginx)"

svc_pids=()
ngx_dir=$HARNESS_DIR/nginx
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    ngx_stop "$ngx_dir"
    svc_stop_all
}
trap cleanup EXIT

write_port=$(pick_free_port)
redirect_port=$(pick_free_port)
worker_port=$(pick_free_port)
front_port=$(pick_free_port)
status_port=$(pick_free_port)
svc_start write-svc "$write_port" READMODEL_CHECK_MS=200
svc_start event-worker "$worker_port"
svc_start redirect-svc "$redirect_port"
# A second write-svc with API_AUTH=keys for the 401/403 pass, with an admin key from the CLI.
keys_port=$(pick_free_port)
admin_key=$(DATABASE_URL=$DATABASE_URL "$B/bin/write-svc" keys create --name "openapi admin" \
    --scopes admin | sed -n 's/.*"key":"\(sk_[A-Za-z0-9_-]*\)".*/\1/p')
[ -n "$admin_key" ] || die "write-svc keys create printed no key"
svc_start write-svc "$keys_port" READMODEL_CHECK_MS=200 API_AUTH=keys

# The front door, rendered from deploy/nginx.conf.in as scripts/run.sh renders it.
ngx_start "$ngx_dir" "$front_port" "$status_port" "$write_port" "$redirect_port"

python3 "$here/replay.py" "$doc" "http://127.0.0.1:$front_port" \
    "http://127.0.0.1:$write_port" "http://127.0.0.1:$redirect_port" \
    "http://127.0.0.1:$keys_port" "$admin_key"
