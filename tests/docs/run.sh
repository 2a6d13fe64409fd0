#!/usr/bin/env bash
# tests/docs/run.sh - replays the examples of docs/API.md (tests/docs/replay.py) against the
# real services on an empty store, so the document cannot drift from the product.
#
#   B=build tests/docs/run.sh [--record]
#
# Under tests/harness.sh (a throw-away PostgreSQL and Redis) it starts write-svc,
# redirect-svc and event-worker on free ports, waits for their /health, replays, and stops
# them (on every exit path). --record prints the answers instead of checking them.
# Then, with that traffic behind them, it checks each service's /metrics with
# `promtool check metrics` (Prometheus text format) and that the figures moved.
# Prints "docs: N passed, N failed" and "metrics: N passed, N failed".
set -euo pipefail

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/${BASH_SOURCE[0]##*/}
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib.sh
. "$(dirname "$self")/../../scripts/lib.sh"

B=${B:-build}
case $B in /*) ;; *) B=$REPO_ROOT/$B ;; esac

if [ -z "${HARNESS_DIR:-}" ]; then
    for svc in write-svc redirect-svc event-worker; do
        [ -x "$B/bin/$svc" ] || die "$B/bin/$svc not built (make all)"
    done
    exec "$REPO_ROOT/tests/harness.sh" "$self" "$@"
fi

svc_pids=()
trap svc_stop_all EXIT

write_port=$(pick_free_port)
redirect_port=$(pick_free_port)
worker_port=$(pick_free_port)
svc_start write-svc "$write_port" READMODEL_CHECK_MS=200
svc_start event-worker "$worker_port"
svc_start redirect-svc "$redirect_port"

rc=0
python3 "$REPO_ROOT/tests/docs/replay.py" "$@" "$REPO_ROOT/docs/API.md" \
    "http://127.0.0.1:$write_port" "http://127.0.0.1:$redirect_port" || rc=1
[ "${1:-}" != --record ] || exit $rc

# Every service answers compact JSON (no whitespace between tokens), errors included.
c_passed=0
c_failed=0
check_compact() { # NAME URL
    local body
    body=$(curl -sS "$2") || body=
    if [ -n "$body" ] && python3 -c 'import sys, json; sys.path.insert(0, sys.argv[1]); import replay
t = sys.argv[2]; json.loads(t); sys.exit(0 if replay.is_compact(t) else 1)' \
        "$REPO_ROOT/tests/docs" "$body"; then
        c_passed=$((c_passed + 1))
    else
        c_failed=$((c_failed + 1))
        say "FAIL $1 $2: not compact JSON: ${body:0:200}"
    fi
}
for p in "write-svc $write_port" "redirect-svc $redirect_port" "event-worker $worker_port"; do
    read -r name port <<<"$p"
    check_compact "$name" "http://127.0.0.1:$port/health"
done
check_compact write-svc "http://127.0.0.1:$write_port/users"
check_compact write-svc "http://127.0.0.1:$write_port/nope/nope"
check_compact redirect-svc "http://127.0.0.1:$redirect_port/NoSuchCode1"
check_compact event-worker "http://127.0.0.1:$worker_port/nope"
printf 'compact: %d passed, %d failed\n' "$c_passed" "$c_failed"
[ "$c_failed" = 0 ] || rc=1

# check_metrics NAME PORT PATTERN: the scrape parses and holds a sample matching PATTERN
# (a figure the replay above must have moved).
m_passed=0
m_failed=0
check_metrics() {
    local out=$HARNESS_DIR/$1.metrics
    if curl -fsS "http://127.0.0.1:$2/metrics" -o "$out" &&
        promtool check metrics <"$out" >"$out.lint" 2>&1 && grep -Eq "$3" "$out"; then
        m_passed=$((m_passed + 1))
    else
        m_failed=$((m_failed + 1))
        say "FAIL $1 /metrics (pattern '$3'):"
        cat "$out.lint" 2>/dev/null >&2 || true
    fi
}
if command -v promtool >/dev/null; then
    check_metrics write-svc "$write_port" '^shortener_http_requests_total\{route="/users",method="POST",status="201"\} [1-9]'
    check_metrics redirect-svc "$redirect_port" '^shortener_redirect_hits_total [1-9]'
    check_metrics event-worker "$worker_port" '^shortener_events_persisted_total [1-9]'
elif [ "${CI:-}" = true ]; then
    m_failed=1
    say "promtool not found (apt-get install prometheus)"
else
    say "SKIP: promtool not found (apt-get install prometheus)"
fi
printf 'metrics: %d passed, %d failed\n' "$m_passed" "$m_failed"
[ "$m_failed" = 0 ] || rc=1
exit $rc
