#!/usr/bin/env bash
# scripts/stop.sh - stop everything scripts/run.sh started (make stop). Data in .run/ stays.
#
# Order: the service supervisors first (each forwards SIGTERM to its service and waits for it;
# a supervisor still there after STOP_TIMEOUT+5 s is killed together with its service, and a
# service whose supervisor is gone gets SIGTERM itself), then nginx (graceful QUIT), then Redis
# (its supervisor forwards SIGTERM: Redis flushes the AOF and exits), then PostgreSQL (its
# supervisor forwards SIGINT, the fast shutdown). A Redis or PostgreSQL started without a
# supervisor (by an older run.sh), or left without one, is stopped directly (SIGTERM; pg_ctl
# stop -m fast).
# Pieces that are not running, or never were, are skipped: running it twice is harmless.
#
# Env: STOP_TIMEOUT (default 10 s, as in scripts/supervise.sh), RUN_DIR (default <repo>/.run, as
# in scripts/run.sh).
# Exit: 0 when everything is stopped, non-zero when something refused to stop.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

run_dir=${RUN_DIR:-$REPO_ROOT/.run}
case $run_dir in /*) ;; *) run_dir=$PWD/$run_dir ;; esac
pids=$run_dir/pids
stop_timeout=${STOP_TIMEOUT:-10}
[[ "$stop_timeout" =~ ^[0-9]+$ ]] || die "STOP_TIMEOUT must be a number of seconds"
if [ ! -d "$run_dir" ]; then
    say "nothing to stop: no $run_dir"
    exit 0
fi
failed=0

# True while PID runs. A zombie does not count: our daemons are reparented to PID 1, which may
# reap them a moment after they exit.
running() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat:0:1}" != Z ]
}

# gone_within SECS PID...: wait until none of the PIDs runs; false when some still do.
gone_within() {
    local secs=$1 i p left
    shift
    for ((i = 0; i <= secs * 10; i++)); do
        left=0
        for p in "$@"; do
            if running "$p"; then
                left=1
                break
            fi
        done
        [ "$left" = 1 ] || return 0
        sleep 0.1
    done
    return 1
}

pid_of() {
    pid_alive "$1" && head -n 1 "$1"
}

# --- supervisors and their services -----------------------------------------------------------
sups=()
names=()
shopt -s nullglob
for f in "$pids"/*.pid; do
    case $f in *.child.pid | */redis.pid | */postgres.pid) continue ;; esac
    if pid=$(pid_of "$f"); then
        kill -TERM "$pid" 2>/dev/null || true
        sups+=("$pid")
        names+=("$(basename "$f" .pid)")
    fi
done
if [ "${#sups[@]}" -gt 0 ]; then
    say "stopping ${names[*]}"
    if ! gone_within $((stop_timeout + 5)) "${sups[@]}"; then
        for i in "${!sups[@]}"; do
            running "${sups[$i]}" || continue
            warn "${names[$i]}: supervisor did not stop, killing it and its service"
            if pid=$(pid_of "$pids/${names[$i]}.child.pid"); then
                kill -KILL "$pid" 2>/dev/null || true
            fi
            kill -KILL "${sups[$i]}" 2>/dev/null || true
        done
    fi
fi
# Services left without a supervisor (the supervisor was killed with SIGKILL).
orphans=()
for f in "$pids"/*.child.pid; do
    case $f in */redis.child.pid | */postgres.child.pid) continue ;; esac
    if pid=$(pid_of "$f") && running "$pid"; then
        warn "$(basename "$f" .child.pid): no supervisor, stopping pid $pid"
        kill -TERM "$pid" 2>/dev/null || true
        orphans+=("$pid")
    fi
done
if [ "${#orphans[@]}" -gt 0 ] && ! gone_within "$stop_timeout" "${orphans[@]}"; then
    kill -KILL "${orphans[@]}" 2>/dev/null || true
fi
for f in "$pids"/*.pid; do
    case $f in */redis.pid | */postgres.pid | */redis.child.pid | */postgres.child.pid) ;;
    *) rm -f "$f" ;;
    esac
done

# stop_supervised NAME SECS: stop the supervisor of a server (it forwards its stop signal and
# waits); a supervisor or server still there after SECS is killed.
stop_supervised() {
    local name=$1 secs=$2 sup child
    sup=$(pid_of "$pids/$name.pid") || {
        rm -f "$pids/$name.pid" "$pids/$name.child.pid"
        return 0
    }
    child=$(pid_of "$pids/$name.child.pid") || child=
    kill -TERM "$sup" 2>/dev/null || true
    if ! gone_within "$secs" "$sup" ${child:+"$child"}; then
        warn "$name: supervisor or server did not stop within $secs s, killing them"
        kill -KILL "$sup" ${child:+"$child"} 2>/dev/null || true
        gone_within 5 "$sup" ${child:+"$child"} || failed=1
    fi
    rm -f "$pids/$name.pid" "$pids/$name.child.pid"
    say "stopped $name"
}

# --- nginx, Redis ---------------------------------------------------------------------------------
# stop_daemon NAME PIDFILE SIGNAL: signal, wait, SIGKILL as the last resort.
stop_daemon() {
    local name=$1 file=$2 sig=$3 pid
    pid=$(pid_of "$file") || return 0
    kill "-$sig" "$pid" 2>/dev/null || true
    if ! gone_within 15 "$pid"; then
        warn "$name (pid $pid) did not stop on SIG$sig, killing it"
        kill -KILL "$pid" 2>/dev/null || true
        gone_within 5 "$pid" || {
            warn "$name (pid $pid) is still running"
            failed=1
            return 0
        }
    fi
    rm -f "$file"
    say "stopped $name"
}
stop_daemon nginx "$run_dir/nginx/nginx.pid" QUIT
stop_supervised redis $((stop_timeout + 5))
stop_daemon Redis "$run_dir/redis/redis.pid" TERM
redis_cluster_stop "$run_dir/redis-cluster" # REDIS_MODE=cluster's nodes (none: nothing to do)
stop_supervised postgres 65

# --- PostgreSQL -------------------------------------------------------------------------------
pg_data=$run_dir/pg/data
if [ -f "$pg_data/postmaster.pid" ]; then
    pg_bin=$(pg_bindir) || die "PostgreSQL server binaries not found"
    pg_ctl_as() {
        (cd "$run_dir" && as_pg "$pg_bin/pg_ctl" -D "$pg_data" "$@")
    }
    if pg_ctl_as status >/dev/null 2>&1; then
        if pg_ctl_as -m fast -w -t 60 stop >/dev/null; then
            say "stopped PostgreSQL"
        else
            warn "PostgreSQL did not stop (pg_ctl -m fast)"
            failed=1
        fi
    fi
fi

[ "$failed" = 0 ] || die "some pieces did not stop"
say "stopped; data stays in $run_dir"
