#!/usr/bin/env bash
# tests/harness-ctl.sh - stop and start the throw-away PostgreSQL and Redis of tests/harness.sh.
#
#   tests/harness-ctl.sh pg-start | pg-stop [fast|immediate] | redis-start | redis-stop | status
#
# Reads the servers' settings from $HARNESS_DIR/state (written by harness.sh), so a restarted
# server comes back on the same port with the same data directory: failure-mode tests stop a
# server, check the behaviour, start it again and check the recovery. Redis runs without
# persistence, so it comes back empty (as after a crash of a cache-only Redis).
# harness.sh itself starts and stops the servers through this script.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

[ -n "${HARNESS_DIR:-}" ] && [ -f "$HARNESS_DIR/state" ] ||
    die "HARNESS_DIR is not set or has no state file (run under tests/harness.sh)"
# shellcheck source=/dev/null
. "$HARNESS_DIR/state"

pg_ctl_as() {
    (cd "$HARNESS_DIR" && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" "$@")
}

pg_start() {
    pg_ctl_as -l "$PG_LOG" -w -t 30 start >/dev/null || {
        tail -n 5 "$PG_LOG" >&2 || true
        die "PostgreSQL did not start on port $PG_PORT"
    }
}

# fast: roll back sessions and shut down cleanly; immediate: as if the server crashed.
pg_stop() {
    local mode=${1:-fast}
    pg_ctl_as status >/dev/null 2>&1 || return 0
    pg_ctl_as -m "$mode" -w -t 30 stop >/dev/null
}

redis_start() {
    local debug=()
    rm -f "$REDIS_PIDFILE"
    # DEBUG SLEEP from loopback: the system suite's slow-Redis check (check 11). Redis 7
    # disables DEBUG by default; Redis 6 allows it and does not know the option.
    redis-server --version | grep -q 'v=[0-6]\.' || debug=(--enable-debug-command local)
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        "${debug[@]}" --daemonize yes --pidfile "$REDIS_PIDFILE" --dir "$REDIS_DIR" \
        --logfile "$REDIS_LOG" >/dev/null
    # --daemonize returns before the bind: wait for PONG from our pid.
    wait_until 10 redis_ping "$REDIS_PORT" && pid_alive "$REDIS_PIDFILE" || {
        tail -n 5 "$REDIS_LOG" >&2 || true
        die "Redis did not start on port $REDIS_PORT"
    }
}

redis_stop() {
    pid_alive "$REDIS_PIDFILE" || return 0
    local pid
    pid=$(head -n 1 "$REDIS_PIDFILE")
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    wait_until 5 bash -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null || true
    rm -f "$REDIS_PIDFILE"
}

case "${1:-}" in
pg-start) pg_start ;;
pg-stop) pg_stop "${2:-fast}" ;;
redis-start) redis_start ;;
redis-stop) redis_stop ;;
status)
    printf 'postgres 127.0.0.1:%s %s\n' "$PG_PORT" \
        "$(pg_ctl_as status >/dev/null 2>&1 && echo running || echo stopped)"
    printf 'redis    127.0.0.1:%s %s\n' "$REDIS_PORT" \
        "$(pid_alive "$REDIS_PIDFILE" && echo running || echo stopped)"
    ;;
*) die "usage: ${0##*/} pg-start | pg-stop [fast|immediate] | redis-start | redis-stop | status" ;;
esac
