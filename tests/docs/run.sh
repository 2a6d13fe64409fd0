#!/usr/bin/env bash
# tests/docs/run.sh - replays the examples of docs/API.md (tests/docs/replay.py) against the
# real services on an empty store, so the document cannot drift from the product.
#
#   B=build tests/docs/run.sh [--record]
#
# Under tests/harness.sh (a throw-away PostgreSQL and Redis) it starts write-svc,
# redirect-svc and event-worker on free ports, waits for their /health, replays, and stops
# them (on every exit path). --record prints the answers instead of checking them.
# The last line is "docs: N passed, N failed".
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

pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

health() { curl -fsS -o /dev/null "http://127.0.0.1:$1/health"; }

start() { # name port [VAR=value...]
    local name=$1 port=$2
    shift 2
    env PORT="$port" "$@" "$B/bin/$name" 2>>"$HARNESS_DIR/$name.log" &
    pids+=($!)
    wait_until 15 health "$port" || die "$name did not become healthy (see $HARNESS_DIR/$name.log)"
}

write_port=$(pick_free_port)
redirect_port=$(pick_free_port)
worker_port=$(pick_free_port)
start write-svc "$write_port" READMODEL_CHECK_MS=200
start event-worker "$worker_port"
start redirect-svc "$redirect_port"

python3 "$REPO_ROOT/tests/docs/replay.py" "$@" "$REPO_ROOT/docs/API.md" \
    "http://127.0.0.1:$write_port" "http://127.0.0.1:$redirect_port"
