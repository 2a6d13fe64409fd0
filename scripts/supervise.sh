#!/usr/bin/env bash
# scripts/supervise.sh - keep one command running, restarting it when it exits.
#
#   scripts/supervise.sh NAME -- CMD [ARGS...]
#
# Starts CMD with stdin from /dev/null and stdout and stderr appended to $RUN_DIR/logs/NAME.log,
# and starts it again whenever it exits, for whatever reason, unless we are stopping. The
# first restart comes after 0.5 s; while CMD keeps dying within 10 s of its start the delay
# doubles up to 10 s, and a run that lasted 10 s or more resets it.
#
# Files: $RUN_DIR/pids/NAME.pid (this supervisor) and $RUN_DIR/pids/NAME.child.pid (the current
# CMD), removed on exit; RUN_DIR defaults to <repo>/.run. Our own events ("started", "exited",
# "restarting", "stopping") go to the same log as JSON lines, like the services' own lines.
#
# SIGTERM, SIGINT or SIGHUP: forward STOP_SIGNAL (default TERM; scripts/run.sh gives PostgreSQL
# INT, its "fast" shutdown) to CMD, wait up to STOP_TIMEOUT seconds (default 10) for it to exit,
# then SIGKILL it, and exit 0.
#
# The supervisor does not detach itself: scripts/run.sh starts it with setsid in the background
# (new session, no terminal, stdin /dev/null). A second supervisor for a NAME whose supervisor
# is alive refuses to start (exit 1).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ "$#" -lt 3 ] || [ "$2" != -- ]; then
    die "usage: ${0##*/} NAME -- CMD [ARGS...]"
fi
name=$1
shift 2
[[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || die "bad NAME '$name' (letters, digits, . _ -)"

run_dir=${RUN_DIR:-$REPO_ROOT/.run}
stop_timeout=${STOP_TIMEOUT:-10}
stop_signal=${STOP_SIGNAL:-TERM}
[[ "$stop_signal" =~ ^(TERM|INT|QUIT|HUP)$ ]] || die "STOP_SIGNAL must be TERM, INT, QUIT or HUP"
pidfile=$run_dir/pids/$name.pid
childfile=$run_dir/pids/$name.child.pid
log=$run_dir/logs/$name.log
mkdir -p "$run_dir/pids" "$run_dir/logs"

if pid_alive "$pidfile" && [ "$(head -n 1 "$pidfile")" != "$$" ]; then
    die "$name is already supervised by pid $(head -n 1 "$pidfile")"
fi
printf '%s\n' "$$" >"$pidfile"

stopping=0
child=
sleeper=

# One JSON line in the log; the values we write never need escaping beyond this.
note() {
    local level=$1 msg=$2
    shift 2
    local extra=
    while [ "$#" -ge 2 ]; do
        extra+=$(printf ',"%s":%s' "$1" "$2")
        shift 2
    done
    printf '{"ts":"%s","level":"%s","msg":"supervise: %s","name":"%s"%s}\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$level" "$msg" "$name" "$extra" >>"$log"
}

# shellcheck disable=SC2317  # called from the traps
on_signal() {
    stopping=1
    [ -z "$child" ] || kill "-$stop_signal" "$child" 2>/dev/null || true
    [ -z "$sleeper" ] || kill -TERM "$sleeper" 2>/dev/null || true
}

# shellcheck disable=SC2317  # called from the trap
on_exit() {
    [ "$(head -n 1 "$pidfile" 2>/dev/null)" != "$$" ] || rm -f "$pidfile" "$childfile"
}

trap on_signal TERM INT HUP
trap on_exit EXIT

# True while PID runs; a zombie (exited, not yet reaped) does not count.
running() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat:0:1}" != Z ]
}

# Waits for the child and sets $status. A signal interrupts 'wait' with the child still there:
# when we are stopping, give it stop_timeout seconds, then SIGKILL.
wait_child() {
    local i
    while :; do
        status=0
        wait "$child" || status=$?
        kill -0 "$child" 2>/dev/null || return 0
        [ "$stopping" = 0 ] || break
    done
    for ((i = 0; i < stop_timeout * 10; i++)); do
        running "$child" || break
        sleep 0.1
    done
    if running "$child"; then
        note warn "no exit ${stop_timeout}s after SIG$stop_signal, sending SIGKILL" pid "$child"
        kill -KILL "$child" 2>/dev/null || true
    fi
    status=0
    wait "$child" || status=$?
}

delay_ms=500
while [ "$stopping" = 0 ]; do
    started=$SECONDS
    "$@" </dev/null >>"$log" 2>&1 &
    child=$!
    printf '%s\n' "$child" >"$childfile"
    # A signal that came before $child was set has not reached the child yet.
    [ "$stopping" = 0 ] || kill "-$stop_signal" "$child" 2>/dev/null || true
    note info started pid "$child" cmd "\"${1//\"/}\""
    wait_child
    note "$([ "$stopping" = 1 ] && echo info || echo warn)" exited pid "$child" status "$status"
    child=
    rm -f "$childfile"
    [ "$stopping" = 0 ] || break

    if ((SECONDS - started >= 10)); then
        delay_ms=500
    fi
    note info restarting delay_ms "$delay_ms"
    sleep "$((delay_ms / 1000)).$(printf '%03d' $((delay_ms % 1000)))" &
    sleeper=$!
    wait "$sleeper" 2>/dev/null || true
    sleeper=
    delay_ms=$((delay_ms * 2 > 10000 ? 10000 : delay_ms * 2))
done
note info stopped
exit 0
