# shellcheck shell=bash
# scripts/lib.sh - helpers shared by the ops scripts (run.sh, stop.sh, tests/harness.sh, ...).
# Source it; it defines functions only and changes no shell option of its caller.
#
#   REPO_ROOT            absolute path of the checkout (set on sourcing)
#   say / warn / die     messages on stderr, prefixed with the calling script's name
#   pg_bindir            directory of initdb/pg_ctl/postgres (highest installed version)
#   pg_os_user           the unprivileged OS user PostgreSQL runs as (created when missing)
#   as_pg CMD...         run CMD as that user (PostgreSQL refuses to run as root)
#   port_busy PORT       true when something accepts TCP connections on 127.0.0.1:PORT
#   pick_free_port       print a port in 20000-31999 (below Linux's ephemeral range) nobody uses
#   wait_until SECS CMD  poll CMD every 0.1 s until it succeeds or SECS elapse
#   redis_ping PORT      true when a Redis on 127.0.0.1:PORT answers PONG
#   pid_alive FILE       true when FILE holds the pid of a live process
#   skip_or_fail MSG     a test cannot run here: print "SKIP: MSG" and exit 0, or under
#                        CI=true die with MSG (CI must install what the tests need)
#   svc_start NAME PORT [VAR=value...]   under tests/harness.sh: start $B/bin/NAME on PORT
#                        (stderr to $HARNESS_DIR/NAME.log), add its pid to svc_pids, and wait
#                        (15 s) for its /health; dies naming the log when it never answers
#   svc_stop_all         SIGTERM every service svc_start started, and wait for each
#   ngx_start DIR PORT STATUS_PORT WRITE_PORT REDIRECT_PORT   under tests/harness.sh: render
#                        deploy/nginx.conf.in into DIR/nginx.conf (one write-svc and one
#                        redirect-svc upstream, no access log), start nginx on 127.0.0.1:PORT and
#                        wait (10 s) for its /health; dies naming its error log otherwise
#   ngx_stop DIR         SIGTERM the nginx ngx_start started in DIR (none: nothing to do)

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
warn() { printf '%s: warning: %s\n' "${0##*/}" "$*" >&2; }
die() {
    printf '%s: error: %s\n' "${0##*/}" "$*" >&2
    exit 1
}

# The PostgreSQL server binaries are not on PATH on Debian; take the highest version installed.
pg_bindir() {
    local dir
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null |
        sort -V | tail -n 1)
    [ -n "$dir" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/initdb" ] || return 1
    printf '%s\n' "$dir"
}

# PostgreSQL refuses to run as root. As root we use the Debian 'postgres' user, or create a
# dedicated system user when the package did not; as anyone else we run as ourselves.
pg_os_user() {
    if [ "$(id -u)" != 0 ]; then
        id -un
    elif getent passwd postgres >/dev/null; then
        printf 'postgres\n'
    else
        getent passwd shortener-pg >/dev/null ||
            useradd --system --no-create-home --shell /usr/sbin/nologin shortener-pg
        printf 'shortener-pg\n'
    fi
}

as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$(pg_os_user)" -- "$@"
    else
        "$@"
    fi
}

# bash's /dev/tcp: the connect is refused at once on loopback when nothing listens.
port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Free now; the caller still retries with another port if the bind loses a race.
pick_free_port() {
    local port tries
    for tries in $(seq 1 50); do
        port=$((20000 + (RANDOM * 32768 + RANDOM + tries) % 12000))
        port_busy "$port" || {
            printf '%s\n' "$port"
            return 0
        }
    done
    return 1
}

wait_until() {
    local secs=$1 i
    shift
    for ((i = 0; i < secs * 10; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

redis_ping() {
    [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]
}

pid_alive() {
    local pid
    [ -s "$1" ] && pid=$(head -n 1 "$1") && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

svc_health() {
    curl -fsS -o /dev/null "http://127.0.0.1:$1/health"
}

svc_start() {
    local name=$1 port=$2
    shift 2
    env PORT="$port" "$@" "$B/bin/$name" 2>>"$HARNESS_DIR/$name.log" &
    svc_pids+=($!)
    wait_until 15 svc_health "$port" || die "$name did not become healthy (see $HARNESS_DIR/$name.log)"
}

svc_stop_all() {
    local p
    for p in "${svc_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${svc_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    svc_pids=()
}

ngx_start() {
    local dir=$1 port=$2 status_port=$3 write_port=$4 redirect_port=$5 conf
    mkdir -p "$dir/tmp"
    conf=$(<"$REPO_ROOT/deploy/nginx.conf.in")
    conf=${conf//@PREFIX@/$dir}
    conf=${conf//@LOG_DIR@/$HARNESS_DIR}
    conf=${conf//@ACCESS_LOG@/off}
    conf=${conf//@LISTEN@/127.0.0.1:$port}
    conf=${conf//@STATUS_LISTEN@/127.0.0.1:$status_port}
    conf=${conf//@WRITE_SERVERS@/        server 127.0.0.1:$write_port max_fails=1 fail_timeout=2s;}
    conf=${conf//@REDIRECT_SERVERS@/        server 127.0.0.1:$redirect_port max_fails=1 fail_timeout=2s;}
    printf '%s\n' "$conf" >"$dir/nginx.conf"
    if grep -n '@[A-Z_]\+@' "$dir/nginx.conf" >&2; then
        die "deploy/nginx.conf.in has a placeholder ngx_start does not fill (above)"
    fi
    nginx -p "$dir" -e "$HARNESS_DIR/nginx-error.log" -c "$dir/nginx.conf" ||
        die "nginx did not start ($HARNESS_DIR/nginx-error.log)"
    wait_until 10 svc_health "$port" || die "the front door does not answer /health"
}

ngx_stop() {
    [ -f "$1/nginx.pid" ] || return 0
    kill -TERM "$(head -n 1 "$1/nginx.pid")" 2>/dev/null || true
}

skip_or_fail() {
    if [ "${CI:-}" = true ]; then
        die "$1 (CI=true: install it, e.g. with scripts/deps.sh)"
    fi
    printf 'SKIP: %s\n' "$1"
    exit 0
}

# pgb_start DIR PORT PG_PORT [POOL_MODE [POOL_SIZE [STATEMENT_TIMEOUT_MS]]]: Debian's PgBouncer
# on 127.0.0.1:PORT in front of the PostgreSQL on 127.0.0.1:PG_PORT (every database name, as
# the user pg_os_user with trust auth), pool_mode POOL_MODE (default transaction),
# default_pool_size POOL_SIZE (default 20) server connections per database and user, and
# statement_timeout set on each server connection (connect_query; default 5000 ms, write-svc's
# PG_STATEMENT_TIMEOUT_MS: a transaction-mode pooler refuses it as a startup option, db.h).
# DIR holds pgbouncer.ini, its log and pid file. pgbouncer refuses to run as root: it runs as
# the PostgreSQL OS user (as_pg), daemonised; pgb_stop DIR [SIGNAL] stops it. Fails (status 1)
# when it does not accept connections within 10 s (e.g. the port was taken meanwhile).
pgb_start() {
    local dir=$1 port=$2 pg_port=$3 mode=${4:-transaction} size=${5:-20} timeout=${6:-5000}
    mkdir -p "$dir"
    printf '"%s" ""\n' "$(pg_os_user)" >"$dir/userlist.txt"
    cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$pg_port connect_query='SET statement_timeout = $timeout'

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = $mode
default_pool_size = $size
max_client_conn = 2000
server_lifetime = 3600
server_idle_timeout = 600
ignore_startup_parameters = extra_float_digits
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
admin_users = $(pg_os_user)
INI
    [ "$(id -u)" = 0 ] && chown -R "$(pg_os_user)" "$dir"
    rm -f "$dir/pgbouncer.pid"
    as_pg pgbouncer -d -q "$dir/pgbouncer.ini" || return 1
    wait_until 10 pg_isready -q -h 127.0.0.1 -p "$port" -U "$(pg_os_user)" -d pgbouncer
}

pgb_stop() {
    [ -s "$1/pgbouncer.pid" ] || return 0
    kill "-${2:-TERM}" "$(head -n 1 "$1/pgbouncer.pid")" 2>/dev/null || true
}
