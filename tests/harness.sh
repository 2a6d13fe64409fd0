#!/usr/bin/env bash
# tests/harness.sh - run a command against a throw-away PostgreSQL and Redis.
#
#   tests/harness.sh CMD [ARGS...]
#
# Makes HARNESS_DIR=$(mktemp -d), initialises a PostgreSQL cluster in it (trust auth, loopback
# only, unix socket inside HARNESS_DIR, fsync off) and starts it and a Redis without
# persistence on free ports through tests/harness-ctl.sh, creates the database "shortener",
# applies schema/ with scripts/migrate.sh, then runs CMD with these exported:
#
#   HARNESS_DIR   the temp dir; tests/harness-ctl.sh (pg-stop, pg-start, redis-stop, ...) uses it
#   DATABASE_URL  postgresql://<pg user>@127.0.0.1:<PG_PORT>/shortener
#   REDIS_URL     redis://127.0.0.1:<REDIS_PORT>
#   PG_PORT, REDIS_PORT
#
# With REDIS_MODE=cluster the Redis is a Redis Cluster instead: 6 nodes (3 primaries, 3
# replicas, redis-cli --cluster create) on free loopback ports, and these change:
#   REDIS_URL            redis+cluster://127.0.0.1:<port>,... (every node a seed)
#   REDIS_PORT           the first node's port (a primary when created)
#   REDIS_CLUSTER_NODES  "port/busport ..." of the 6 nodes (harness-ctl.sh cluster-* use them)
#
# and exits with CMD's status. On exit, INT or TERM both servers are stopped and the temp dir
# is removed (KEEP_HARNESS=1 keeps the dir, with the server logs, for debugging).
# When postgres or redis-server is not installed it prints "SKIP: <reason>" and exits 0;
# under CI=true it fails instead (exit 1), because CI must install them (.ci/run does).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

ctl=$REPO_ROOT/tests/harness-ctl.sh
[ "$#" -gt 0 ] || die "usage: ${0##*/} CMD [ARGS...]"

pg_bin=$(pg_bindir) || skip_or_fail "PostgreSQL server binaries not found (apt-get install postgresql)"
command -v psql >/dev/null || skip_or_fail "psql not found (apt-get install postgresql-client)"
command -v redis-server >/dev/null || skip_or_fail "redis-server not found (apt-get install redis-server)"
command -v redis-cli >/dev/null || skip_or_fail "redis-cli not found (apt-get install redis-tools)"

pg_user=$(pg_os_user)
child=

# Called only from the traps, which shellcheck 0.9 does not see.
# shellcheck disable=SC2317
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
        kill -TERM "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    if [ -f "${HARNESS_DIR:-}/state" ]; then
        bash "$ctl" redis-stop || true
        bash "$ctl" pg-stop immediate || true
    fi
    if [ -n "${HARNESS_DIR:-}" ] && [ -d "$HARNESS_DIR" ]; then
        if [ "${KEEP_HARNESS:-0}" = 1 ]; then
            say "kept $HARNESS_DIR (KEEP_HARNESS=1)"
        else
            rm -rf "$HARNESS_DIR"
        fi
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

HARNESS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/shortener-harness.XXXXXX")
export HARNESS_DIR
# The PostgreSQL user must reach its directory inside; nothing here is secret.
chmod 755 "$HARNESS_DIR"
mkdir -p "$HARNESS_DIR/pg" "$HARNESS_DIR/redis"
chown "$pg_user" "$HARNESS_DIR/pg"

PG_BIN=$pg_bin
PG_DATA=$HARNESS_DIR/pg/data
PG_LOG=$HARNESS_DIR/pg/postgres.log
REDIS_DIR=$HARNESS_DIR/redis
REDIS_PIDFILE=$REDIS_DIR/redis.pid
REDIS_LOG=$REDIS_DIR/redis.log
PG_PORT=
REDIS_PORT=
REDIS_MODE=${REDIS_MODE:-single}
REDIS_CLUSTER_NODES=

# The format tests/harness-ctl.sh sources: shell assignments, quoted.
write_state() {
    printf '%s=%q\n' PG_BIN "$PG_BIN" PG_DATA "$PG_DATA" PG_LOG "$PG_LOG" PG_PORT "$PG_PORT" \
        REDIS_PORT "$REDIS_PORT" REDIS_PIDFILE "$REDIS_PIDFILE" REDIS_DIR "$REDIS_DIR" \
        REDIS_LOG "$REDIS_LOG" REDIS_MODE "$REDIS_MODE" REDIS_CLUSTER_NODES "$REDIS_CLUSTER_NODES" \
        >"$HARNESS_DIR/state.tmp"
    mv "$HARNESS_DIR/state.tmp" "$HARNESS_DIR/state"
}

(cd "$HARNESS_DIR" && as_pg "$PG_BIN/initdb" -D "$PG_DATA" --auth=trust --no-sync \
    --encoding=UTF8 --locale=C -U "$pg_user" >"$HARNESS_DIR/initdb.log" 2>&1) || {
    cat "$HARNESS_DIR/initdb.log" >&2
    die "initdb failed"
}
cp "$PG_DATA/postgresql.conf" "$HARNESS_DIR/pg/postgresql.conf.orig"

# Settings go into postgresql.conf, so that harness-ctl.sh pg-start restarts the same server.
pg_configure() {
    {
        cat "$HARNESS_DIR/pg/postgresql.conf.orig"
        printf '%s\n' "port = $PG_PORT" "listen_addresses = '127.0.0.1'" \
            "unix_socket_directories = '$HARNESS_DIR/pg'" "fsync = off" \
            "full_page_writes = off" "synchronous_commit = off" "max_connections = 200" \
            "log_min_messages = warning" "log_min_error_statement = panic"
    } >"$PG_DATA/postgresql.conf"
}

# A free port can be taken by someone else between the check and the bind: try another one.
start_with_retry() {
    local what=$1 tries
    for tries in 1 2 3 4 5; do
        if [ "$what" = pg ]; then
            PG_PORT=$(pick_free_port) || die "no free port for PostgreSQL"
            pg_configure
            rm -f "$PG_LOG"
        elif [ "$REDIS_MODE" = cluster ]; then
            REDIS_CLUSTER_NODES=$(redis_cluster_pick 6 | tr '\n' ' ') || die "no free ports"
            REDIS_CLUSTER_NODES=${REDIS_CLUSTER_NODES% }
            REDIS_PORT=${REDIS_CLUSTER_NODES%%/*}
            case " $REDIS_CLUSTER_NODES" in *" $PG_PORT/"* | *"/$PG_PORT "* | *"/$PG_PORT") continue ;; esac
        else
            REDIS_PORT=$(pick_free_port) || die "no free port for Redis"
            [ "$REDIS_PORT" != "$PG_PORT" ] || continue
        fi
        write_state
        bash "$ctl" "$what-start" 2>"$HARNESS_DIR/start.err" && return 0
        grep -qsi 'address already in use' "$PG_LOG" "$REDIS_LOG" "$HARNESS_DIR/start.err" \
            "$REDIS_DIR"/redis-*.log || {
            cat "$HARNESS_DIR/start.err" >&2
            die "$what did not start"
        }
        say "port race for $what, retrying ($tries)"
    done
    die "$what did not start after 5 tries"
}

start_with_retry pg
start_with_retry redis

db=shortener
psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$pg_user" -d postgres \
    -c "CREATE DATABASE $db" || die "cannot create database $db"

export PG_PORT REDIS_PORT REDIS_MODE REDIS_CLUSTER_NODES
export DATABASE_URL="postgresql://$pg_user@127.0.0.1:$PG_PORT/$db"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
if [ "$REDIS_MODE" = cluster ]; then
    # shellcheck disable=SC2086 # the node list splits on purpose
    REDIS_URL=$(redis_cluster_url $REDIS_CLUSTER_NODES)
fi
"$REPO_ROOT/scripts/migrate.sh" 2>"$HARNESS_DIR/migrate.log" || {
    cat "$HARNESS_DIR/migrate.log" >&2
    die "migration failed"
}

# CMD runs in the background so that a TERM to us reaches it through cleanup at once;
# the explicit redirection keeps its stdin (a background job would get /dev/null).
set +e
"$@" <&0 &
child=$!
wait "$child"
status=$?
child=
set -e
exit "$status"
