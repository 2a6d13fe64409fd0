#!/usr/bin/env bash
# scripts/run.sh - start the local stack under .run/ (make run; stop it with make stop).
#
#   B=build scripts/run.sh
#
# Starts, each only when it is not already running (pid files), so a second run is harmless:
#   PostgreSQL  a private cluster in .run/pg/data (initdb on first use, trust auth, 127.0.0.1
#               only, unix socket in .run/pg), database "shortener", schema/ applied by
#               scripts/migrate.sh on every run; the postmaster runs under scripts/supervise.sh
#               (name "postgres"): killed, it is started again and recovers from its WAL
#   Redis       .run/redis (AOF: appendonly yes, appendfsync everysec), 127.0.0.1 only, under
#               scripts/supervise.sh (name "redis"): killed, it is started again from its AOF.
#               REDIS_MODE=cluster: a Redis Cluster instead, 6 nodes (3 primaries with a
#               replica each, redis-cli --cluster create on the first start) in
#               .run/redis-cluster on 127.0.0.1:REDIS_CLUSTER_PORT.. (16400..16405, cluster
#               bus ports 10000 above: 26400..), AOF each, daemons (a killed primary is
#               replaced by its replica; start it again with make run, it rejoins as a
#               replica); the services get REDIS_URL=redis+cluster://127.0.0.1:16400,...
#   seed        scripts/seed.sh when the database was created by this run, or when RESEED=1;
#               never with SEED=0. A new database also empties our Redis (its read model and
#               click streams belonged to the old one).
#   services    each under scripts/supervise.sh (restarted when it dies), detached with setsid:
#               write-svc-N on 8081.., redirect-svc-N on 8091.., event-worker-N (health) on
#               8099..; a service whose binary is not in $B/bin is skipped with a warning.
#               Instances above the requested count (from an earlier run) are stopped.
#   nginx       on 127.0.0.1:8080 with .run/nginx/nginx.conf rendered from
#               deploy/nginx.conf.in (reloaded when the rendered config changed). Without a
#               write-svc binary there is nothing to route to, so nginx is not started (warning,
#               exit 0). Without a redirect-svc binary, short codes go to write-svc as well.
# Then it waits until http://127.0.0.1:8080/health answers 200 and prints where everything
# listens (stdout), the log dir and "stop with: make stop".
#
# Env (defaults): B (build) RUN_DIR (<repo>/.run: another dir runs a second, private stack,
#   with other ports; scripts/stop.sh takes the same RUN_DIR) SEED (1) RESEED (0) SEED_DIR (schema/seed) WRITE_INSTANCES (2)
#   REDIRECT_INSTANCES (2) WORKERS (1) PG_PORT (15432) REDIS_PORT (16379) NGINX_PORT (8080)
#   REDIS_MODE (single; cluster: see Redis above) REDIS_CLUSTER_PORT (16400)
#   NGINX_STATUS_PORT (8088: nginx stub_status at /nginx_status, for scraping)
#   WRITE_PORT (8081, first write-svc) REDIRECT_PORT (8091) WORKER_PORT (8099)
#   START_TIMEOUT (30 s for each new instance to accept connections) HEALTH_TIMEOUT (60 s for
#   :8080/health to answer 200) ACCESS_LOG (0; 1 writes .run/logs/nginx-access.log).
#   Everything else in the environment (LOG_LEVEL, HTTP_THREADS, PG_POOL_SIZE, STREAM_SHARDS,
#   API_AUTH, ...) reaches the services unchanged; with API_AUTH=keys the first start makes an
#   admin API key with `write-svc keys create`, prints it and keeps it in .run/admin.key (mode
#   0600), and later starts reuse it while it is live (a new one replaces a revoked one);
#   DATABASE_URL, REDIS_URL, BIND_ADDR and PORT are set here, DASHBOARD_TARGETS defaults to
#   every instance started here, and PUBLIC_BASE_URL (what QR codes point at) defaults to
#   http://127.0.0.1:NGINX_PORT. A running PostgreSQL or Redis keeps the port it was started
#   with (.run/state).
#   The default ports of PostgreSQL and Redis stay below Linux's ephemeral port range
#   (32768-60999): a port in it can be held at any moment by the client end of some outgoing
#   connection, and a server then fails to bind it (seen with 55432 under a benchmark's load).
# Files: .run/logs/<name>.log (services, postgres, redis, nginx-error), .run/pids/<name>.pid
#   and <name>.child.pid (supervisors), .run/redis/redis.pid, .run/nginx/nginx.pid, .run/state.
# Exit: 0 when the stack answers (or nginx was skipped); non-zero on any failure, with what
#   did start left running for inspection (make stop cleans up).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

shopt -u patsub_replacement 2>/dev/null || true

B=${B:-build}
case $B in /*) bin_dir=$B/bin ;; *) bin_dir=$REPO_ROOT/$B/bin ;; esac
# RUN_DIR: another directory for a second, private stack (tests/ops/test_supervise.sh).
RUN_DIR=${RUN_DIR:-$REPO_ROOT/.run}
case $RUN_DIR in /*) ;; *) RUN_DIR=$PWD/$RUN_DIR ;; esac
export RUN_DIR
logs=$RUN_DIR/logs
pids=$RUN_DIR/pids
pg_dir=$RUN_DIR/pg
pg_data=$pg_dir/data
redis_dir=$RUN_DIR/redis
nginx_dir=$RUN_DIR/nginx
db=shortener

write_n=${WRITE_INSTANCES:-2}
redirect_n=${REDIRECT_INSTANCES:-2}
worker_n=${WORKERS:-1}
write_port=${WRITE_PORT:-8081}
redirect_port=${REDIRECT_PORT:-8091}
worker_port=${WORKER_PORT:-8099}
nginx_port=${NGINX_PORT:-8080}
nginx_status_port=${NGINX_STATUS_PORT:-8088}
for v in "$write_n" "$redirect_n" "$worker_n" "$write_port" "$redirect_port" "$worker_port" \
    "$nginx_port" "${PG_PORT:-0}" "${REDIS_PORT:-0}"; do
    [[ "$v" =~ ^[0-9]+$ ]] || die "not a number: '$v' (instance counts and ports)"
done
((write_n <= redirect_port - write_port)) || die "WRITE_INSTANCES=$write_n overlaps redirect ports"
((redirect_n <= worker_port - redirect_port)) ||
    die "REDIRECT_INSTANCES=$redirect_n overlaps worker ports"

command -v psql >/dev/null || die "psql not found: run make deps"
command -v redis-server >/dev/null || die "redis-server not found: run make deps"
command -v curl >/dev/null || die "curl not found: run make deps"
pg_bin=$(pg_bindir) || die "PostgreSQL server binaries not found: run make deps"
pg_user=$(pg_os_user)

mkdir -p "$logs" "$pids" "$pg_dir" "$redis_dir" "$nginx_dir/tmp"
chmod 755 "$RUN_DIR" "$logs"
# One run at a time. Every daemon started below gets 9>&-, or it would hold the lock forever.
exec 9>"$RUN_DIR/run.lock"
flock -n 9 || die "another scripts/run.sh is running"

# The port of a Redis that is still running from an earlier run.
state_redis_port=
if [ -f "$RUN_DIR/state" ]; then
    state_redis_port=$(sed -n 's/^REDIS_PORT=//p' "$RUN_DIR/state")
fi

pg_ctl_as() {
    (cd "$RUN_DIR" && as_pg "$pg_bin/pg_ctl" -D "$pg_data" "$@")
}
# PostgreSQL and Redis run under scripts/supervise.sh (names "postgres" and "redis"); a server
# started by an older run.sh as a daemon of its own (no supervisor) is used as it is.
pg_supervised() {
    pid_alive "$pids/postgres.pid"
}
pg_running() {
    pg_supervised || { [ -f "$pg_data/PG_VERSION" ] && pg_ctl_as status >/dev/null 2>&1; }
}
redis_supervised() {
    pid_alive "$pids/redis.pid"
}
redis_running() {
    redis_supervised || pid_alive "$redis_dir/redis.pid"
}
nginx_running() {
    pid_alive "$nginx_dir/nginx.pid"
}
svc_running() {
    pid_alive "$pids/$1.pid"
}

state_pg_port=
[ ! -f "$RUN_DIR/state" ] || state_pg_port=$(sed -n 's/^PG_PORT=//p' "$RUN_DIR/state")
if pg_supervised && [ -n "$state_pg_port" ]; then
    pg_port=$state_pg_port # postmaster.pid may be missing while the supervisor restarts it
elif pg_running; then
    # Line 4 of postmaster.pid is the port the server listens on.
    pg_port=$(sed -n 4p "$pg_data/postmaster.pid")
else
    pg_port=${PG_PORT:-15432}
fi
if redis_running && [ -n "$state_redis_port" ]; then
    redis_port=$state_redis_port
else
    redis_port=${REDIS_PORT:-16379}
fi
[ -z "${PG_PORT:-}" ] || [ "$PG_PORT" = "$pg_port" ] ||
    warn "PostgreSQL is already running on port $pg_port; PG_PORT=$PG_PORT ignored"
[ -z "${REDIS_PORT:-}" ] || [ "$REDIS_PORT" = "$redis_port" ] ||
    warn "Redis is already running on port $redis_port; REDIS_PORT=$REDIS_PORT ignored"

have() { [ -x "$bin_dir/$1" ]; }

# Everything we are about to start needs a free port: check them all before starting anything.
check_port() {
    if port_busy "$2"; then
        die "port $2 for $1 is in use by another program (set another port)"
    fi
}
check_svc_ports() {
    local svc=$1 count=$2 base=$3 i
    have "$svc" || return 0
    for ((i = 1; i <= count; i++)); do
        svc_running "$svc-$i" || check_port "$svc-$i" $((base + i - 1))
    done
}
pg_running || check_port PostgreSQL "$pg_port"
[ "${REDIS_MODE:-single}" = cluster ] || redis_running || check_port Redis "$redis_port"
check_svc_ports write-svc "$write_n" "$write_port"
check_svc_ports redirect-svc "$redirect_n" "$redirect_port"
check_svc_ports event-worker "$worker_n" "$worker_port"
if have write-svc && [ "$write_n" -gt 0 ] && ! nginx_running; then
    check_port nginx "$nginx_port"
fi

# --- PostgreSQL -------------------------------------------------------------------------------
chown "$pg_user" "$pg_dir"
if [ ! -f "$pg_data/PG_VERSION" ]; then
    say "initdb $pg_data"
    (cd "$RUN_DIR" && as_pg "$pg_bin/initdb" -D "$pg_data" --auth=trust -U "$pg_user" \
        --encoding=UTF8 --locale=C >"$logs/initdb.log" 2>&1) || {
        cat "$logs/initdb.log" >&2
        die "initdb failed"
    }
    printf "\n# Written by scripts/run.sh on every start.\ninclude_if_exists = 'run.conf'\n" |
        as_pg tee -a "$pg_data/postgresql.conf" >/dev/null
fi
if pg_running; then
    say "PostgreSQL already running on port $pg_port"
else
    printf '%s\n' "port = $pg_port" "listen_addresses = '127.0.0.1'" \
        "unix_socket_directories = '$pg_dir'" "max_connections = 200" \
        "log_min_messages = warning" \
        "# Clicks arrive as a steady stream of batched inserts: fewer, spread checkpoints" \
        "# keep p99 of the API's writes down (the 1 GB default forced one every few seconds)." \
        "max_wal_size = 4GB" "checkpoint_timeout = 15min" "shared_buffers = 256MB" |
        as_pg tee "$pg_data/run.conf" >/dev/null
    touch "$logs/postgres.log"
    chown "$pg_user" "$logs/postgres.log"
    # In the foreground under the supervisor, as the PostgreSQL user (setpriv execs, so the
    # supervised pid is the postmaster). SIGKILLed, it is started again and recovers from its
    # WAL; a first attempt may fail while the old server's backends exit (the supervisor's
    # back-off retries). make stop sends SIGINT: PostgreSQL's fast shutdown.
    pg_cmd=("$pg_bin/postgres" -D "$pg_data")
    if [ "$(id -u)" = 0 ]; then
        pg_cmd=(setpriv --reuid="$pg_user" --regid="$(id -g "$pg_user")" --init-groups -- \
            "${pg_cmd[@]}")
    fi
    STOP_SIGNAL=INT STOP_TIMEOUT=60 setsid "$REPO_ROOT/scripts/supervise.sh" postgres -- \
        env -C "$RUN_DIR" "${pg_cmd[@]}" </dev/null >>"$logs/postgres.log" 2>&1 9>&- &
    say "PostgreSQL starting on port $pg_port (supervised)"
fi
# Also when it was running: its supervisor may be restarting it right now.
pg_ready() { pg_isready -q -h 127.0.0.1 -p "$pg_port" -t 1; }
wait_until 60 pg_ready || {
    tail -n 5 "$logs/postgres.log" >&2
    die "PostgreSQL does not accept connections on port $pg_port (log: $logs/postgres.log)"
}

# --- Redis ------------------------------------------------------------------------------------
redis_mode=${REDIS_MODE:-single}
cluster_dir=$RUN_DIR/redis-cluster
cluster_nodes=
if [ "$redis_mode" = cluster ]; then
    ! redis_running || die "a single Redis runs on port $redis_port: make stop first"
    cbase=${REDIS_CLUSTER_PORT:-16400}
    for ((i = 0; i < 6; i++)); do cluster_nodes+="$((cbase + i))/$((cbase + 10000 + i)) "; done
    cluster_nodes=${cluster_nodes% }
    mkdir -p "$cluster_dir"
    fresh_cluster=1
    for node in $cluster_nodes; do
        [ ! -s "$cluster_dir/nodes-${node%/*}.conf" ] || fresh_cluster=0
        if pid_alive "$cluster_dir/redis-${node%/*}.pid"; then
            continue
        fi
        check_port "Redis Cluster node" "${node%/*}"
        redis_cluster_node_start "$cluster_dir" "$node" --appendonly yes \
            --appendfsync everysec --logfile "$logs/redis-${node%/*}.log" ||
            die "Redis Cluster node ${node%/*} did not start (log: $logs/redis-${node%/*}.log)"
    done
    if [ "$fresh_cluster" = 1 ]; then
        addrs=()
        for node in $cluster_nodes; do addrs+=("127.0.0.1:${node%/*}"); done
        redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes \
            >"$logs/redis-cluster-create.log" 2>&1 ||
            die "redis-cli --cluster create failed (log: $logs/redis-cluster-create.log)"
    fi
    # shellcheck disable=SC2086 # the node list splits on purpose
    wait_until 30 redis_cluster_ok $cluster_nodes ||
        die "the Redis Cluster is not ok (logs: $logs/redis-*.log)"
    say "Redis Cluster on ports $cbase..$((cbase + 5)) (3 primaries, 3 replicas)"
elif [ -f "$RUN_DIR/state" ] && grep -qx 'REDIS_MODE=cluster' "$RUN_DIR/state" &&
    pid_alive "$cluster_dir/redis-${REDIS_CLUSTER_PORT:-16400}.pid"; then
    die "a Redis Cluster runs (REDIS_MODE=cluster): make stop first, or run with REDIS_MODE=cluster"
elif redis_running; then
    say "Redis already running on port $redis_port"
    wait_until 10 redis_ping "$redis_port" || die "Redis does not answer on port $redis_port"
else
    rm -f "$redis_dir/redis.pid"
    # In the foreground under the supervisor (its log lines go to redis.log through it);
    # SIGKILLed, it is started again and reloads its AOF.
    setsid "$REPO_ROOT/scripts/supervise.sh" redis -- redis-server --port "$redis_port" \
        --bind 127.0.0.1 --daemonize no --pidfile "$redis_dir/redis.pid" --dir "$redis_dir" \
        --logfile '' --appendonly yes --appendfsync everysec --save '' \
        </dev/null >>"$logs/redis.log" 2>&1 9>&- &
    if ! wait_until 10 redis_ping "$redis_port" || ! redis_running; then
        tail -n 5 "$logs/redis.log" >&2 || true
        die "Redis did not start on port $redis_port (log: $logs/redis.log)"
    fi
    say "Redis started on port $redis_port (supervised)"
fi
printf 'PG_PORT=%s\nREDIS_PORT=%s\nREDIS_MODE=%s\n' "$pg_port" "$redis_port" "$redis_mode" \
    >"$RUN_DIR/state"

export DATABASE_URL="postgresql://$pg_user@127.0.0.1:$pg_port/$db"
export REDIS_URL="redis://127.0.0.1:$redis_port"
if [ "$redis_mode" = cluster ]; then
    # shellcheck disable=SC2086 # the node list splits on purpose
    REDIS_URL=$(redis_cluster_url $cluster_nodes)
fi

# --- database, schema, seed -------------------------------------------------------------------
psql_admin() {
    psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U "$pg_user" -d postgres "$@"
}
fresh=0
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
    psql_admin -c "CREATE DATABASE $db" || die "cannot create database $db"
    fresh=1
    say "created database $db"
    # Our Redis holds the read model and click streams of a database that no longer exists.
    if [ "$redis_mode" = cluster ]; then
        for node in $cluster_nodes; do # the replicas refuse (READONLY): their primaries flush
            redis-cli -h 127.0.0.1 -p "${node%/*}" flushall >/dev/null 2>&1 || true
        done
    else
        redis-cli -h 127.0.0.1 -p "$redis_port" flushall >/dev/null || die "Redis FLUSHALL failed"
    fi
fi
"$REPO_ROOT/scripts/migrate.sh"
if [ "${SEED:-1}" != 0 ] && { [ "$fresh" = 1 ] || [ "${RESEED:-0}" = 1 ]; }; then
    "$REPO_ROOT/scripts/seed.sh" ${SEED_DIR:+"$SEED_DIR"} >&2
fi

# --- the admin API key (API_AUTH=keys) ---------------------------------------------------------
# The key in .run/admin.key (mode 0600) is reused while PostgreSQL knows it as live; otherwise
# (first start, new database, revoked or expired) the CLI makes a new admin key and keeps it.
admin_key_file=$RUN_DIR/admin.key
admin_key_live() {
    local hash
    [ -s "$admin_key_file" ] || return 1
    hash=$(tr -d '\n' <"$admin_key_file" | sha256sum | cut -d' ' -f1)
    [ "$(psql -X -qAt --no-psqlrc -d "$DATABASE_URL" -c "SELECT 1 FROM api_keys
        WHERE key_hash = '$hash' AND revoked_at IS NULL
        AND (expires_at IS NULL OR expires_at > now() AT TIME ZONE 'UTC')")" = 1 ]
}
if [ "${API_AUTH:-open}" = keys ] && ! admin_key_live; then
    have write-svc || die "API_AUTH=keys needs $bin_dir/write-svc to make the admin key"
    admin_json=$("$bin_dir/write-svc" keys create --name "make run admin" --scopes admin) ||
        die "write-svc keys create failed"
    admin_key=$(sed -n 's/.*"key":"\(sk_[A-Za-z0-9_-]*\)".*/\1/p' <<<"$admin_json")
    [ -n "$admin_key" ] || die "write-svc keys create printed no key"
    (umask 077 && printf '%s\n' "$admin_key" >"$admin_key_file")
    chmod 600 "$admin_key_file"
    say "created an admin API key, kept in $admin_key_file (mode 0600)"
fi

# --- services ---------------------------------------------------------------------------------
# start_svc NAME PORT BINARY: under the supervisor, detached, unless it already runs.
start_svc() {
    local name=$1 port=$2 binary=$3
    if svc_running "$name"; then
        say "$name already running"
        return 0
    fi
    BIND_ADDR=127.0.0.1 PORT=$port PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:$nginx_port} \
        setsid "$REPO_ROOT/scripts/supervise.sh" "$name" -- \
        "$bin_dir/$binary" </dev/null >>"$logs/$name.log" 2>&1 9>&- &
    wait_until 5 test -s "$pids/$name.pid" || die "supervisor of $name did not start"
    new_ports+=("$name:$port")
}

# Wait until the instances started now accept connections, so that nginx does not count
# them as failed (max_fails) during their start-up.
wait_new_ports() {
    local np
    for np in "${new_ports[@]}"; do
        if wait_until "${START_TIMEOUT:-30}" port_busy "${np##*:}"; then
            say "${np%%:*} started on port ${np##*:}"
        else
            tail -n 5 "$logs/${np%%:*}.log" >&2 || true
            die "${np%%:*} does not accept connections on port ${np##*:} (log: $logs/${np%%:*}.log)"
        fi
    done
}

# stop_extra PREFIX COUNT: stop PREFIX-N for N > COUNT, left over from a bigger earlier run.
stop_extra() {
    local prefix=$1 count=$2 f n pid
    for f in "$pids/$prefix"-*.pid; do
        [ -e "$f" ] || continue
        n=${f##*/"$prefix"-}
        n=${n%.pid}
        [[ "$n" =~ ^[0-9]+$ ]] || continue
        if ((n <= count)) || ! pid_alive "$f"; then
            continue
        fi
        pid=$(head -n 1 "$f")
        say "stopping $prefix-$n (above the requested $count)"
        kill -TERM "$pid" 2>/dev/null || true
        wait_until 15 bash -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null || true
    done
}

# The dashboard's System page (GET /dashboard/system) shows every instance started here.
dashboard_targets=
for ((i = 1; i <= write_n; i++)); do
    dashboard_targets+=,write-svc-$i=http://127.0.0.1:$((write_port + i - 1))
done
for ((i = 1; i <= redirect_n; i++)); do
    dashboard_targets+=,redirect-svc-$i=http://127.0.0.1:$((redirect_port + i - 1))
done
for ((i = 1; i <= worker_n; i++)); do
    dashboard_targets+=,event-worker-$i=http://127.0.0.1:$((worker_port + i - 1))
done
export DASHBOARD_TARGETS=${DASHBOARD_TARGETS:-${dashboard_targets#,}}

write_servers=
redirect_servers=
started=()
new_ports=()
server_line() {
    printf '        server 127.0.0.1:%s max_fails=1 fail_timeout=2s;\n' "$1"
}
for svc in write-svc redirect-svc event-worker; do
    case $svc in
    write-svc) count=$write_n base=$write_port ;;
    redirect-svc) count=$redirect_n base=$redirect_port ;;
    event-worker) count=$worker_n base=$worker_port ;;
    esac
    stop_extra "$svc" "$count"
    if ! have "$svc"; then
        warn "$bin_dir/$svc not found: $svc not started"
        continue
    fi
    for ((i = 1; i <= count; i++)); do
        port=$((base + i - 1))
        start_svc "$svc-$i" "$port" "$svc"
        started+=("$(printf '%-16s http://127.0.0.1:%s' "$svc-$i" "$port")")
        case $svc in
        write-svc) write_servers+=$(server_line "$port")$'\n' ;;
        redirect-svc) redirect_servers+=$(server_line "$port")$'\n' ;;
        esac
    done
done

[ "${#new_ports[@]}" = 0 ] || wait_new_ports

# --- nginx ------------------------------------------------------------------------------------
nginx_ok=0
if [ -z "$write_servers" ]; then
    warn "no write-svc instance: nginx not started (build with make, or set WRITE_INSTANCES>0)"
    if nginx_running; then
        nginx -p "$nginx_dir" -c "$nginx_dir/nginx.conf" -e "$logs/nginx-error.log" -s quit || true
    fi
else
    command -v nginx >/dev/null || die "nginx not found: run make deps"
    [ -n "$redirect_servers" ] || redirect_servers=$write_servers
    access_log=off
    [ "${ACCESS_LOG:-0}" != 1 ] || access_log="$logs/nginx-access.log combined"
    conf=$(<"$REPO_ROOT/deploy/nginx.conf.in")
    conf=${conf//@PREFIX@/$nginx_dir}
    conf=${conf//@LOG_DIR@/$logs}
    conf=${conf//@ACCESS_LOG@/$access_log}
    conf=${conf//@LISTEN@/127.0.0.1:$nginx_port}
    conf=${conf//@STATUS_LISTEN@/127.0.0.1:$nginx_status_port}
    conf=${conf//@WRITE_SERVERS@/${write_servers%$'\n'}}
    conf=${conf//@REDIRECT_SERVERS@/${redirect_servers%$'\n'}}
    printf '%s\n' "$conf" >"$nginx_dir/nginx.conf.new"
    ngx=(nginx -p "$nginx_dir" -e "$logs/nginx-error.log")
    "${ngx[@]}" -q -t -c "$nginx_dir/nginx.conf.new" ||
        die "nginx rejects the rendered config $nginx_dir/nginx.conf.new"
    if nginx_running; then
        if cmp -s "$nginx_dir/nginx.conf.new" "$nginx_dir/nginx.conf"; then
            say "nginx already running on port $nginx_port"
            rm -f "$nginx_dir/nginx.conf.new"
        else
            mv "$nginx_dir/nginx.conf.new" "$nginx_dir/nginx.conf"
            "${ngx[@]}" -c "$nginx_dir/nginx.conf" -s reload || die "nginx reload failed"
            say "nginx reloaded with the new upstreams"
        fi
    else
        mv "$nginx_dir/nginx.conf.new" "$nginx_dir/nginx.conf"
        "${ngx[@]}" -c "$nginx_dir/nginx.conf" 9>&- ||
            die "nginx did not start ($logs/nginx-error.log)"
        say "nginx started on port $nginx_port"
    fi
    health() {
        [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' \
            "http://127.0.0.1:$nginx_port/health")" = 200 ]
    }
    wait_until "${HEALTH_TIMEOUT:-60}" health || {
        tail -n 5 "$logs/write-svc-1.log" >&2 2>/dev/null || true
        die "http://127.0.0.1:$nginx_port/health did not answer 200 within" \
            "${HEALTH_TIMEOUT:-60} s; logs in $logs; stop with: make stop"
    }
    nginx_ok=1
fi

# --- where everything is ----------------------------------------------------------------------
{
    [ "$nginx_ok" = 0 ] || printf '%-16s http://127.0.0.1:%s  (nginx: the API and /<code>)\n' \
        "front door" "$nginx_port"
    [ "$nginx_ok" = 0 ] || printf '%-16s http://127.0.0.1:%s/nginx_status  (stub_status)\n' \
        "nginx status" "$nginx_status_port"
    [ "${#started[@]}" = 0 ] || printf '%s\n' "${started[@]}"
    printf '%-16s %s\n' PostgreSQL "$DATABASE_URL" Redis "$REDIS_URL" logs "$logs  (make logs)"
    if [ "${API_AUTH:-open}" = keys ]; then
        printf '%-16s %s  (admin; kept in %s)\n' "API key" "$(cat "$admin_key_file")" \
            "$admin_key_file"
    fi
    printf 'stop with: make stop\n'
}
