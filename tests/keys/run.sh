#!/usr/bin/env bash
# tests/keys/run.sh - the API_AUTH=keys suite (make check-keys, part of make check).
#
#   B=build tests/keys/run.sh
#
# Under tests/harness.sh (a throw-away PostgreSQL and Redis) it makes an admin key with the CLI
# (`write-svc keys create`), starts two write-svc instances with API_AUTH=keys and
# API_KEY_CACHE_MS=1000 (the longest allowed, so "refused within a second" is tested at its
# limit) on free ports, and runs tests/keys/test_keys.py against both. Then it checks that each
# instance exits 0 on SIGTERM and that no sanitizer report is in their logs.
# Prints "keys: N passed, N failed". Env: B, KEEP_HARNESS=1.
set -euo pipefail

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/${BASH_SOURCE[0]##*/}
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib.sh
. "$(dirname "$self")/../../scripts/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$self")/../lib.sh"

B=${B:-build}
case $B in /*) ;; *) B=$REPO_ROOT/$B ;; esac

inside() {
    : "${HARNESS_DIR:?}" "${DATABASE_URL:?}" "${REDIS_URL:?}" "${KEYS_RESULT:?}"
    local out=$HARNESS_DIR/test_keys.out rc=0 admin p1 p2 pid
    svc_pids=()
    trap 'svc_stop_all; printf "%s %s\n" "$passed" "$failed" >"$KEYS_RESULT"' EXIT
    admin=$(DATABASE_URL=$DATABASE_URL "$B/bin/write-svc" keys create --name "test admin" \
        --scopes admin | sed -n 's/.*"key":"\(sk_[A-Za-z0-9_-]*\)".*/\1/p')
    [ -n "$admin" ] || die "write-svc keys create printed no key"
    p1=$(pick_free_port) || die "no free port"
    p2=$(pick_free_port) || die "no free port"
    [ "$p1" != "$p2" ] || p2=$(pick_free_port)
    for p in "$p1" "$p2"; do
        svc_start write-svc "$p" DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" \
            API_AUTH=keys API_KEY_CACHE_MS=1000 READMODEL_CHECK_MS=200 EVENTS_WAIT_MS=0 \
            BULK_STRICT=true
    done
    (cd "$REPO_ROOT" && WRITE_URL=http://127.0.0.1:$p1 WRITE_URL2=http://127.0.0.1:$p2 \
        ADMIN_KEY=$admin DATABASE_URL=$DATABASE_URL WRITE_SVC=$B/bin/write-svc \
        timeout 300 python3 tests/keys/test_keys.py) >"$out" 2>&1 || rc=$?
    cat "$out"
    cmocka_tally "test_keys.py" "$out" "$rc"
    for pid in "${svc_pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        rc=0
        wait "$pid" || rc=$?
        if [ "$rc" -eq 0 ]; then ok "write-svc $pid exits 0 on SIGTERM"; else not_ok "write-svc $pid exit $rc"; fi
    done
    svc_pids=()
    if grep -nE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' \
        "$HARNESS_DIR/write-svc.log" >&2; then
        not_ok "sanitizer report in the write-svc log (above)"
    fi
    [ "$failed" -eq 0 ]
}

outside() {
    local result rc=0
    [ -x "$B/bin/write-svc" ] || die "$B/bin/write-svc is not built (make all)"
    result=$(mktemp "${TMPDIR:-/tmp}/keys-result.XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -f '$result'" EXIT
    KEYS_RESULT=$result B=$B "$REPO_ROOT/tests/harness.sh" bash "$self" --inside || rc=$?
    summary_from_file keys "$result" "$rc"
}

if [ "${1:-}" = --inside ]; then
    inside
else
    outside
fi
