#!/usr/bin/env bash
# bench/run.sh - the benchmark of the local stack (make bench; bench/README.md).
#
#   make bench                    the default run: about 5 minutes
#   BENCH_QUICK=1 make bench      3 s runs at 200 connections, no 1 000 000-link phase
#   B=build bench/run.sh          the same without building first
#
# Steps:
#   1. the make-run stack: used as it is when http://127.0.0.1:$NGINX_PORT/health answers,
#      else started with scripts/run.sh (SEED=0 unless set), and then stopped at the end when
#      none of it was running before;
#   2. its own links, straight into PostgreSQL (codes bench0000001.., ids 10^12 + n, owned by a
#      user "bench"), then the read-model marker is deleted and write-svc rebuilds the read
#      model (the time it takes is reported, and Redis used_memory before/after per link);
#   3. the references of this machine: nginx answering a static `return 302` from its own
#      config (a private nginx on a free port) at every connection count, the same nginx as a
#      keep-alive proxy to that static 302 (the front door's reference), and redis-benchmark
#      (50 clients) for GET, XADD and EVALSHA of a script doing the redirect's HMGET + XADD;
#   4. the scenarios, each at every connection count, each a bounded wrk run with
#      bench/scenario.lua: front (GET /<code> through nginx), direct (GET /<code> on
#      redirect-svc-1), create (POST /urls), read (GET /urls/<id>), mix (90/5/5);
#      after a run with redirects, the click streams are drained (bounded) and the click
#      events stored for bench links are compared with the 302s wrk counted;
#   5. the scale phase: direct at 200 connections with BENCH_LINKS links, then again after
#      growing to BENCH_SCALE_LINKS links (Redis memory per link measured on the growth);
#   6. the report: tables on stdout (Markdown), the targets with PASS/FAIL, and
#      bench/results/<UTC stamp>.json (+ .md, and latest.json / latest.md), wrk outputs in
#      bench/results/<stamp>/;
#   7. on exit, even on failure or Ctrl-C: every row and key the bench wrote is removed (seed
#      rows are never touched), the private nginx is stopped.
#
# Env (defaults): B (build) BENCH_LINKS (10000, at most 1000000) BENCH_DURATION (10 s a run)
#   BENCH_CONNS ("50 200 500") BENCH_QUICK (0; 1 = BENCH_DURATION 3, BENCH_CONNS 200, no scale
#   phase) BENCH_SCENARIOS ("front direct create read mix") BENCH_SCALE_LINKS (1000000; 0 or
#   <= BENCH_LINKS skips the scale phase) BENCH_THREADS (2 wrk threads) BENCH_TIMEOUT (5 s wrk
#   request timeout) BENCH_GRACE_MS (min(1000, 100 * BENCH_DURATION): see bench/scenario.lua)
#   BENCH_DRAIN_TIMEOUT (60 s) BENCH_REBUILD_TIMEOUT (300 s) BENCH_REDIS_REQUESTS (200000)
#   NGINX_PORT (8080) REDIRECT_PORT (8091) as for scripts/run.sh; SEED.
# Exit: 0 when every run completed (targets may FAIL: that is a result, not an error);
#   non-zero when the bench itself could not run.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
. "$BENCH_DIR/../scripts/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$BENCH_DIR/lib.sh"

B=${B:-build}
LINKS=${BENCH_LINKS:-10000}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    DURATION=${BENCH_DURATION:-3}
    CONNS=${BENCH_CONNS:-200}
    SCALE=${BENCH_SCALE_LINKS:-0}
    REDIS_N=${BENCH_REDIS_REQUESTS:-100000}
else
    DURATION=${BENCH_DURATION:-10}
    CONNS=${BENCH_CONNS:-50 200 500}
    SCALE=${BENCH_SCALE_LINKS:-1000000}
    REDIS_N=${BENCH_REDIS_REQUESTS:-200000}
fi
SCENARIOS=${BENCH_SCENARIOS:-front direct create read mix}
WRK_THREADS=${BENCH_THREADS:-2}
WRK_TIMEOUT=${BENCH_TIMEOUT:-5}
GRACE_MS=${BENCH_GRACE_MS:-$((DURATION * 100 < 1000 ? DURATION * 100 : 1000))}
DRAIN_TIMEOUT=${BENCH_DRAIN_TIMEOUT:-60}
REBUILD_TIMEOUT=${BENCH_REBUILD_TIMEOUT:-300}
NGINX_PORT=${NGINX_PORT:-8080}
REDIRECT_PORT=${REDIRECT_PORT:-8091}
SCALE_CONNS=200
ID_BASE=1000000000000

for v in "$LINKS" "$DURATION" "$SCALE" "$REDIS_N" "$WRK_THREADS" "$WRK_TIMEOUT" "$GRACE_MS" \
    "$DRAIN_TIMEOUT" "$REBUILD_TIMEOUT" "$NGINX_PORT" "$REDIRECT_PORT" $CONNS; do
    [[ "$v" =~ ^[0-9]+$ ]] || die "not a whole number: '$v' (BENCH_* settings and ports)"
done
((LINKS >= 1 && LINKS <= BENCH_MAX_LINKS)) || die "BENCH_LINKS must be 1..$BENCH_MAX_LINKS"
((SCALE <= BENCH_MAX_LINKS)) || die "BENCH_SCALE_LINKS must be at most $BENCH_MAX_LINKS"
((DURATION >= 1)) || die "BENCH_DURATION must be at least 1 s"
((GRACE_MS < DURATION * 1000 / 2)) || die "BENCH_GRACE_MS must be under half of BENCH_DURATION"
for c in $CONNS; do
    ((c >= WRK_THREADS)) || die "each of BENCH_CONNS must be at least BENCH_THREADS ($WRK_THREADS)"
done
for s in $SCENARIOS; do
    case $s in front | direct | create | read | mix) ;; *) die "unknown scenario '$s'" ;; esac
done
for tool in wrk redis-benchmark redis-cli psql nginx curl; do
    command -v "$tool" >/dev/null || die "$tool not found: run make deps"
done

RUN_DIR=$REPO_ROOT/.run
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
TAG=$STAMP
OUT=$BENCH_DIR/results/$STAMP
mkdir -p "$OUT"
WRK_PID=
REF_NGINX_PID=
started_stack=0
bench_rows=0

# --- cleanup on every exit --------------------------------------------------------------------
stop_ref_nginx() {
    [ -n "$REF_NGINX_PID" ] || return 0
    kill -QUIT "$REF_NGINX_PID" 2>/dev/null || true
    wait_until 10 bash -c "! kill -0 $REF_NGINX_PID" || kill -KILL "$REF_NGINX_PID" 2>/dev/null || true
    REF_NGINX_PID=
}

finish() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    [ -z "$WRK_PID" ] || kill "$WRK_PID" 2>/dev/null
    stop_ref_nginx
    if [ "$bench_rows" = 1 ]; then
        say "removing the bench's links, events, user and keys"
        local t0
        t0=$(date +%s)
        if bench_cleanup; then
            say "removed in $(($(date +%s) - t0)) s"
        else
            warn "cleanup failed: run bench/run.sh again, it cleans up first"
        fi
    fi
    if [ "$started_stack" = 1 ]; then
        say "stopping the stack this run started"
        "$REPO_ROOT/scripts/stop.sh"
    fi
    exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. the stack -----------------------------------------------------------------------------
front_ok() {
    [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$NGINX_PORT/health")" = 200 ]
}
if ! front_ok; then
    anything=0
    for f in "$RUN_DIR"/pids/*.pid "$RUN_DIR/redis/redis.pid" "$RUN_DIR/nginx/nginx.pid"; do
        [ -e "$f" ] && pid_alive "$f" && anything=1
    done
    [ -e "$RUN_DIR/pg/data/postmaster.pid" ] && anything=1
    say "the stack does not answer on :$NGINX_PORT: starting it (scripts/run.sh)"
    [ "$anything" = 1 ] || started_stack=1
    B=$B SEED=${SEED:-0} NGINX_PORT=$NGINX_PORT REDIRECT_PORT=$REDIRECT_PORT \
        "$REPO_ROOT/scripts/run.sh" >&2 || die "scripts/run.sh failed"
fi
PG_PORT=$(sed -n 's/^PG_PORT=//p' "$RUN_DIR/state")
REDIS_PORT=$(sed -n 's/^REDIS_PORT=//p' "$RUN_DIR/state")
PG_USER=$(pg_os_user)
# The services' effective configuration, from the newest such line of each log.
svc_config() {
    grep -h '"msg":"effective configuration' "$RUN_DIR/logs/$1.log" 2>/dev/null | tail -n 1 |
        sed 's/.*"msg":"effective configuration: \([^"]*\)".*/\1/'
}
SHARDS=$(svc_config redirect-svc-1 | grep -o 'STREAM_SHARDS=[0-9]*' | cut -d= -f2) || true
SHARDS=${SHARDS:-8}
have_redirect=0
if [ -s "$RUN_DIR/pids/redirect-svc-1.child.pid" ] && port_busy "$REDIRECT_PORT"; then
    have_redirect=1
else
    warn "no redirect-svc-1 on :$REDIRECT_PORT: the direct scenario and the scale phase are skipped"
fi

# --- machine ----------------------------------------------------------------------------------
M_NPROC=$(nproc)
M_CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
M_MEM=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
M_KERNEL=$(uname -r)
M_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
START_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
CMD="make bench"
[ "${BENCH_QUICK:-0}" != 1 ] || CMD="BENCH_QUICK=1 $CMD"
[ "$LINKS" = 10000 ] || CMD="BENCH_LINKS=$LINKS $CMD"
say "machine: $M_NPROC cores, $M_CPU, $M_MEM, kernel $M_KERNEL, load $M_LOAD"
say "runs of ${DURATION} s at ${CONNS// /, } connections; results in $OUT"

# --- 2. the bench's links ---------------------------------------------------------------------
bench_rows=1
say "removing what an earlier bench run may have left"
bench_cleanup
mem0=$(redis_used_memory)
BENCH_UID=$(bench_user)
t0=$(date +%s%N)
seed_links 1 "$LINKS" "$BENCH_UID"
SEED_MS=$((($(date +%s%N) - t0) / 1000000))
say "seeded $LINKS links in PostgreSQL in $SEED_MS ms; waiting for write-svc to rebuild the read model"
rebuild_read_model "$REBUILD_TIMEOUT" || die "the read model was not rebuilt within $REBUILD_TIMEOUT s"
REB1_WALL=$REBUILD_WALL_MS REB1_SVC=${REBUILD_SVC_MS:-} REB1_LINKS=${REBUILD_LINKS:-}
sleep 1
mem1=$(redis_used_memory)
MEM1_PER_LINK=$(((mem1 - mem0) / LINKS))
say "read model rebuilt in $REB1_WALL ms (write-svc: ${REB1_SVC:-?} ms for ${REB1_LINKS:-?} links);" \
    "Redis used_memory +$((mem1 - mem0)) bytes = $MEM1_PER_LINK bytes per link"
if [ "$have_redirect" = 1 ]; then
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$REDIRECT_PORT/bench0000001")
    [ "$code" = 302 ] || die "GET /bench0000001 on redirect-svc-1 answers $code, not 302"
fi

# --- runs -------------------------------------------------------------------------------------
declare -A RPS P99 ERRS CLICKS_OK RSS_REDIRECT_MAX
: >"$OUT/runs.jsonl"
: >"$OUT/runs.tsv"

# drain_clicks: wait (bounded) until the click streams are empty, i.e. the worker persisted
# (or dead-lettered) everything. Sets DRAIN_MS.
drain_clicks() {
    local t0 now
    t0=$(date +%s%N)
    sleep 0.3
    while [ "$(clicks_backlog)" != 0 ]; do
        now=$(date +%s%N)
        if (((now - t0) / 1000000000 >= DRAIN_TIMEOUT)); then
            warn "click streams not drained after $DRAIN_TIMEOUT s"
            break
        fi
        sleep 0.2
    done
    DRAIN_MS=$((($(date +%s%N) - t0) / 1000000))
}

# bench_run LABEL SCENARIO MODE URL CONNS LINKS SERVICE: one wrk run with its click
# accounting; records a line in runs.tsv and runs.jsonl. SERVICE names the processes whose
# largest RSS goes into the main table.
bench_run() {
    local label=$1 scenario=$2 mode=$3 url=$4 conns=$5 links=$6 service=$7
    local ev0=0 add0=0 add1=0 persisted=- emitted=- answered=- clicks=- svc_rss procs_json
    local clicky=0
    case $scenario in nginx-*) ;; *) case $mode in redirect | mix) clicky=1 ;; esac ;; esac
    if [ "$clicky" = 1 ]; then
        ev0=$(events_max_id)
        add0=$(clicks_added)
    fi
    say "$label: $scenario, $conns connections, ${DURATION} s"
    run_wrk "$label" "$mode" "$url" "$conns" "$links" || die "$label: wrk failed ($OUT/$label.txt)"
    DRAIN_MS=
    if [ "$clicky" = 1 ]; then
        drain_clicks
        add1=$(clicks_added)
        answered=${R[c302]}
        emitted=$((add1 - add0))
        persisted=$(clicks_persisted "$ev0")
        if [ "$persisted" = "$answered" ]; then clicks=equal; else clicks=UNEQUAL; fi
        CLICKS_OK[$label]=$clicks
    fi
    svc_rss=$(tr ';' '\n' <<<"${R[procs]}" | awk -v s="$service" 'index($1, s) == 1 && $2 > m { m = $2 } END { print m + 0 }')
    RPS[$label]=${R[rps]}
    P99[$label]=${R[p99_us]}
    ERRS[$label]=${R[errors]}
    RSS_REDIRECT_MAX[$label]=$(tr ';' '\n' <<<"${R[procs]}" | awk 'index($1, "redirect-svc") == 1 && $2 > m { m = $2 } END { print m + 0 }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$scenario" \
        "$conns" "${R[rps]}" "${R[p50_us]}" "${R[p99_us]}" "${R[p999_us]}" "${R[errors]}" \
        "$answered" "$emitted" "$persisted" "$clicks" "${DRAIN_MS:--}" "$svc_rss" "${R[procs]}" \
        "$links" >>"$OUT/runs.tsv"
    procs_json=$(tr ';' '\n' <<<"${R[procs]}" |
        awk '{ printf "%s\"%s\": {\"rss_kb\": %d, \"cpu_pct\": %d}", (NR > 1 ? ", " : ""), $1, $2, $3 }')
    printf '{"label": "%s", "scenario": "%s", "url": "%s", "connections": %s, "links": %s, "duration_s": %s, "requests": %s, "rps": %s, "latency_ms": {"p50": %s, "p99": %s, "p99_9": %s, "max": %s}, "errors": {"total": %s, "unexpected_status": %s, "connect": %s, "read": %s, "write": %s, "timeout": %s, "statuses": "%s"}, "grace_404": %s, "ratio_nginx_302": %s, "ratio_evalsha": %s, "clicks": %s, "processes": {%s}}\n' \
        "$label" "$scenario" "$url" "$conns" "$links" "$DURATION" "${R[requests]}" "${R[rps]}" \
        "$(ms "${R[p50_us]}")" "$(ms "${R[p99_us]}")" "$(ms "${R[p999_us]}")" "$(ms "${R[max_us]}")" \
        "${R[errors]}" "${R[bad_status]}" "${R[connect]}" "${R[read]}" "${R[write]}" "${R[timeout]}" \
        "${R[codes]}" "${R[tail]}" "$(ratio "${R[rps]}" "${RPS[nginx-302-c$conns]:-0}" | sed 's/^-$/null/')" \
        "$(ratio "${R[rps]}" "${EVALSHA_RPS:-0}" | sed 's/^-$/null/')" \
        "$(if [ "$clicky" = 1 ]; then printf '{"redirects_answered": %s, "emitted": %s, "persisted": %s, "equal": %s, "drain_ms": %s}' "$answered" "$emitted" "$persisted" "$([ "$clicks" = equal ] && echo true || echo false)" "$DRAIN_MS"; else echo null; fi)" \
        "$procs_json" >>"$OUT/runs.jsonl"
    say "$label: ${R[rps]} req/s, p99 $(ms "${R[p99_us]}") ms, errors ${R[errors]}${DRAIN_MS:+, clicks $persisted persisted / $answered answered (drained in $DRAIN_MS ms)}"
}

# --- 3. references ----------------------------------------------------------------------------
# The static nginx runs during step 4 (before each connection count); redis-benchmark now.
REF_PORT=$(pick_free_port) || die "no free port for the reference nginx"
REF_PROXY_PORT=$(pick_free_port) || die "no free port for the reference proxy"
mkdir -p "$OUT/nginx/logs"
cat >"$OUT/nginx/nginx.conf" <<EOF
# The reference: nginx answering a static 302 from its own config, tuned as the front door.
worker_processes auto;
worker_rlimit_nofile 16384;
pid $OUT/nginx/nginx.pid;
error_log $OUT/nginx/logs/error.log warn;
events {
    worker_connections 4096;
}
http {
    access_log off;
    keepalive_timeout 65s;
    keepalive_requests 100000;
    client_body_temp_path $OUT/nginx/client_body;
    proxy_temp_path $OUT/nginx/proxy;
    fastcgi_temp_path $OUT/nginx/fastcgi;
    uwsgi_temp_path $OUT/nginx/uwsgi;
    scgi_temp_path $OUT/nginx/scgi;
    server {
        listen 127.0.0.1:$REF_PORT backlog=4096;
        location / {
            return 302 ${BENCH_URL_PREFIX}static;
        }
    }
    # The front door's reference: a proxy to the static 302, keep-alive as deploy/nginx.conf.in.
    upstream bench_static {
        server 127.0.0.1:$REF_PORT;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$REF_PROXY_PORT backlog=4096;
        location / {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://bench_static;
        }
    }
}
EOF
nginx -p "$OUT/nginx" -e "$OUT/nginx/logs/error.log" -c "$OUT/nginx/nginx.conf" ||
    die "the reference nginx did not start ($OUT/nginx/logs/error.log)"
wait_until 5 test -s "$OUT/nginx/nginx.pid" || die "the reference nginx wrote no pid file"
REF_NGINX_PID=$(head -n 1 "$OUT/nginx/nginx.pid")
wait_until 5 port_busy "$REF_PORT" || die "the reference nginx does not listen on $REF_PORT"

# redis-benchmark: 50 clients, no pipelining unless said, keys of our own (removed at exit).
link_key=$(bq -c "$BENCH_FNV_SQL" -c "SELECT 'url:{' || pg_temp.bench_fnv('bench0000001') % $SHARDS || '}:bench0000001'")
[ "$(rcli exists "$link_key")" = 1 ] || die "the read model has no $link_key"
REF_SCRIPT="local v = redis.call('HMGET', KEYS[1], 'id', 'uid', 'url')
if not v[1] or not v[3] then return false end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'id', v[1], 'uid', v[2], 'code', ARGV[3], 'url', v[3], 'ts', ARGV[4], 'ref', ARGV[5], 'ua', ARGV[6])
return v[3]"
sha=$(rcli script load "$REF_SCRIPT" | tr -d '\r')
rcli set bench:ref:key "${BENCH_URL_PREFIX}link/1" >/dev/null
: >"$OUT/redis.tsv"
redis_ref() {
    local name=$1 line
    shift
    say "redis-benchmark $name"
    line=$(redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -c 50 -n "$REDIS_N" --csv "$@" 2>&1 |
        tee "$OUT/redis-$name.txt" | tail -n 1)
    # "test","rps","avg","min","p50","p95","p99","max"
    awk -F'","' -v n="$name" 'NF >= 8 { gsub(/"/, "", $8); printf "%s\t%.0f\t%s\t%s\n", n, $2, $5, $7 }' \
        <<<"$line" >>"$OUT/redis.tsv"
    grep -q "^$name	" "$OUT/redis.tsv" || die "redis-benchmark $name: no result ($OUT/redis-$name.txt)"
}
click_args=(bench0000001 1700000000000 "" wrk/4.1)
redis_ref GET GET bench:ref:key
redis_ref XADD XADD bench:ref:stream MAXLEN '~' 100000 '*' id 1 uid 2 code bench0000001 \
    url "${BENCH_URL_PREFIX}link/1" ts 1700000000000 ref "" ua wrk/4.1
redis_ref EVALSHA EVALSHA "$sha" 2 "$link_key" bench:ref:evalstream 1 100000 "${click_args[@]}"
redis_ref EVALSHA-P16 -P 16 EVALSHA "$sha" 2 "$link_key" bench:ref:evalstream 1 100000 \
    "${click_args[@]}"
rcli del bench:ref:key bench:ref:stream bench:ref:evalstream >/dev/null
EVALSHA_RPS=$(awk -F'\t' '$1 == "EVALSHA" { print $2 }' "$OUT/redis.tsv")

# --- 4. scenarios -----------------------------------------------------------------------------
# Connection counts outside, scenarios inside: each scenario runs right after the nginx
# reference at the same connection count, so that their ratio is as close to "same time" as
# this shared machine allows.
front=http://127.0.0.1:$NGINX_PORT
for c in $CONNS; do
    bench_run "nginx-302-c$c" nginx-302 redirect "http://127.0.0.1:$REF_PORT" "$c" "$LINKS" nginx-ref
    case " $SCENARIOS " in *" front "*)
        bench_run "nginx-proxy-c$c" nginx-proxy redirect "http://127.0.0.1:$REF_PROXY_PORT" "$c" \
            "$LINKS" nginx-ref
        ;;
    esac
    for s in $SCENARIOS; do
        case $s in
        front) bench_run "front-c$c" front redirect "$front" "$c" "$LINKS" redirect-svc ;;
        direct)
            [ "$have_redirect" = 1 ] || continue
            bench_run "direct-c$c" direct redirect "http://127.0.0.1:$REDIRECT_PORT" "$c" "$LINKS" \
                redirect-svc-1
            ;;
        create) bench_run "create-c$c" create create "$front" "$c" "$LINKS" write-svc ;;
        read) bench_run "read-c$c" read read "$front" "$c" "$LINKS" write-svc ;;
        mix) bench_run "mix-c$c" mix mix "$front" "$c" "$LINKS" redirect-svc ;;
        esac
    done
done
stop_ref_nginx

# --- 5. scale ---------------------------------------------------------------------------------
# direct at SCALE_CONNS, twice before and twice after growing to SCALE links; the best run of
# each pair counts (this machine is shared: one busy neighbour can halve a single run).
best_of() { printf '%s\n' "$@" | sort -n | tail -n 1; }
SCALE_DONE=0
if ((SCALE > LINKS)) && [ "$have_redirect" = 1 ]; then
    direct=http://127.0.0.1:$REDIRECT_PORT
    pg_settle
    for i in 1 2; do
        bench_run "scale-base-$i" "direct, $LINKS links" redirect "$direct" "$SCALE_CONNS" "$LINKS" \
            redirect-svc-1
    done
    mem_a=$(redis_used_memory)
    t0=$(date +%s%N)
    seed_links "$((LINKS + 1))" "$SCALE" "$BENCH_UID"
    SEED2_MS=$((($(date +%s%N) - t0) / 1000000))
    say "seeded $((SCALE - LINKS)) more links in $SEED2_MS ms; waiting for the rebuild"
    rebuild_read_model "$REBUILD_TIMEOUT" ||
        die "the read model was not rebuilt within $REBUILD_TIMEOUT s"
    REB2_WALL=$REBUILD_WALL_MS REB2_SVC=${REBUILD_SVC_MS:-} REB2_LINKS=${REBUILD_LINKS:-}
    sleep 1
    mem_b=$(redis_used_memory)
    MEM2_PER_LINK=$(((mem_b - mem_a) / (SCALE - LINKS)))
    say "read model rebuilt in $REB2_WALL ms (write-svc: ${REB2_SVC:-?} ms for ${REB2_LINKS:-?}" \
        "links); Redis used_memory +$((mem_b - mem_a)) bytes = $MEM2_PER_LINK bytes per link"
    pg_settle
    aof_settle
    for i in 1 2; do
        bench_run "scale-big-$i" "direct, $SCALE links" redirect "$direct" "$SCALE_CONNS" "$SCALE" \
            redirect-svc-1
    done
    RPS_BASE=$(best_of "${RPS[scale-base-1]}" "${RPS[scale-base-2]}")
    RPS_BIG=$(best_of "${RPS[scale-big-1]}" "${RPS[scale-big-2]}")
    SCALE_DONE=1
fi

# --- 6. report --------------------------------------------------------------------------------
row_of() { awk -F'\t' -v l="$1" '$1 == l' "$OUT/runs.tsv"; }
# ordered_rows scenarios|all: the runs.tsv lines by scenario, then connections; "all" puts
# the nginx references first.
ordered_rows() {
    local s c
    if [ "$1" = all ]; then
        for c in $CONNS; do row_of "nginx-302-c$c"; done
        for c in $CONNS; do row_of "nginx-proxy-c$c"; done
    fi
    for s in $SCENARIOS; do
        for c in $CONNS; do row_of "$s-c$c"; done
    done
    row_of scale-base-1
    row_of scale-base-2
    row_of scale-big-1
    row_of scale-big-2
}
report() {
    local label scenario conns rps p50 p99 p999 errs answered emitted persisted clicks drain svc_rss procs links ref
    printf '## Benchmark %s\n\n' "$START_DATE"
    printf 'Machine: %s cores (%s), %s RAM, kernel %s; load average at the start %s\n' \
        "$M_NPROC" "$M_CPU" "$M_MEM" "$M_KERNEL" "$M_LOAD"
    # shellcheck disable=SC2016  # Markdown backquotes
    printf '(a shared machine: compare ratios measured in one run, not absolute figures).\nCommand: `%s`. ' "$CMD"
    printf 'wrk %s threads, %s s a run, %s bench links; everything on loopback.\n\n' \
        "$WRK_THREADS" "$DURATION" "$LINKS"
    printf 'Read model rebuilt from PostgreSQL for %s links in %s ms (write-svc reports %s ms);\n' \
        "${REB1_LINKS:-?}" "$REB1_WALL" "${REB1_SVC:-?}"
    printf 'Redis used_memory %s bytes per bench link.\n\n' "$MEM1_PER_LINK"

    printf '### References\n\n| reference | conns | req/s | p50 ms | p99 ms | p99.9 ms |\n|---|---:|---:|---:|---:|---:|\n'
    while IFS=$'\t' read -r label scenario conns rps p50 p99 p999 _; do
        case $scenario in nginx-302 | nginx-proxy) ;; *) continue ;; esac
        # shellcheck disable=SC2016  # Markdown backquotes
        printf '| %s | %s | %s | %s | %s | %s |\n' \
            "$(if [ "$scenario" = nginx-302 ]; then echo 'nginx static `return 302`'; else echo 'nginx proxy -> static 302'; fi)" \
            "$conns" "$rps" "$(ms "$p50")" "$(ms "$p99")" "$(ms "$p999")"
    done <"$OUT/runs.tsv"
    while IFS=$'\t' read -r name rps p50 p99; do
        printf '| redis-benchmark %s | 50 | %s | %s | %s | - |\n' "$name" "$rps" "$p50" "$p99"
    done <"$OUT/redis.tsv"
    printf '\nredis-benchmark EVALSHA runs a script doing the redirect'"'"'s HMGET on a link hash + XADD;\n'
    printf 'EVALSHA-P16 is the same with 16 commands pipelined per client.\n\n'

    printf '### Scenarios\n\n'
    printf '| scenario | conns | req/s | x nginx 302 | x EVALSHA | p50 ms | p99 ms | p99.9 ms | errors | clicks persisted / answered | drain s | RSS MB |\n'
    printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|\n'
    while IFS=$'\t' read -r label scenario conns rps p50 p99 p999 errs answered emitted persisted clicks drain svc_rss procs links; do
        ref=${RPS[nginx-302-c$conns]:-0}
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$scenario" "$conns" \
            "$rps" "$(ratio "$rps" "$ref")" "$(ratio "$rps" "$EVALSHA_RPS")" "$(ms "$p50")" \
            "$(ms "$p99")" "$(ms "$p999")" "$errs" \
            "$(if [ "$clicks" = - ]; then echo -; else echo "$persisted / $answered ($clicks)"; fi)" \
            "$(if [ "$drain" = - ]; then echo -; else awk -v m="$drain" 'BEGIN { printf "%.1f", m / 1000 }'; fi)" \
            "$(mb "$svc_rss")"
    done < <(ordered_rows scenarios)
    printf '\nfront = GET /<code> through nginx :%s; direct = GET /<code> on redirect-svc-1 :%s;\n' \
        "$NGINX_PORT" "$REDIRECT_PORT"
    printf 'create = POST /urls, read = GET /urls/<id>, mix = 90 %% redirects, 5 %% creates, 5 %% reads,\n'
    printf 'all through nginx.\n'
    printf 'x nginx 302 = req/s over the static nginx at the same connection count; x EVALSHA = over\n'
    printf 'redis-benchmark EVALSHA. errors = unexpected statuses + socket errors + timeouts (%s s).\n' "$WRK_TIMEOUT"
    printf 'clicks: click events stored for bench links after the run (the worker drained the streams\n'
    printf 'within "drain s") versus 302s counted by wrk. RSS MB: the largest instance of the service\n'
    printf 'that answered (redirect-svc or write-svc), sampled under load near the end of the run.\n\n'

    printf '### Resident memory (MB) and CPU (%% of one core) near the end of each run\n\n'
    local names
    names=$(cut -f15 "$OUT/runs.tsv" | tr ';' '\n' | awk '{ print $1 }' | awk '!seen[$0]++' |
        grep -Ev '^(wrk|softirq|others)$' || true)
    names="$names"$'\n'wrk$'\n'softirq$'\n'others
    printf '| run |'
    for n in $names; do printf ' %s |' "$n"; done
    printf '\n|---|'
    for n in $names; do printf -- '---:|'; done
    printf '\n'
    while IFS=$'\t' read -r label scenario conns rps p50 p99 p999 errs answered emitted persisted clicks drain svc_rss procs links; do
        printf '| %s |' "$label"
        for n in $names; do
            printf ' %s |' "$(tr ';' '\n' <<<"$procs" | awk -v n="$n" '
                $1 == n && (n == "others" || n == "softirq") { printf "%d%%", $3; f = 1 }
                $1 == n && n != "others" && n != "softirq" { printf "%.1f / %d%%", $2 / 1024, $3; f = 1 }
                END { if (!f) printf "-" }')"
        done
        printf '\n'
    done < <(ordered_rows all)
    printf '\nnginx = the front door (master + workers), postgres = all its processes (private memory\n'
    printf 'only: RssAnon), nginx-ref = the static reference, wrk = the load\n'
    printf 'generator; softirq = interrupt time, charged to no process (mostly the loopback TCP of\n'
    printf 'the run); others = processes outside the stack and wrk (this machine is shared). The\n'
    printf 'machine has %s00 %%.\n\n' "$M_NPROC"

    if [ "$SCALE_DONE" = 1 ]; then
        printf '### Scale: %s links\n\n' "$SCALE"
        printf 'Grown from %s to %s links: PostgreSQL insert %s ms, read-model rebuild %s ms\n' \
            "$LINKS" "$SCALE" "$SEED2_MS" "$REB2_WALL"
        printf '(write-svc reports %s ms for %s links); Redis used_memory %s bytes per added link.\n' \
            "${REB2_SVC:-?}" "${REB2_LINKS:-?}" "$MEM2_PER_LINK"
        printf 'direct at %s connections, best of two runs each: %s req/s with %s links, %s req/s with\n' \
            "$SCALE_CONNS" "$RPS_BASE" "$LINKS" "$RPS_BIG"
        printf '%s links (ratio %s).\n\n' \
            "$SCALE" "$(ratio "$RPS_BIG" "$RPS_BASE")"
    fi

    printf '### Targets\n\n| target | measured | result |\n|---|---|---|\n'
    target() { printf '| %s | %s | %s |\n' "$1" "$2" "$3"; }
    pf() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }
    local d=direct-c200 f=front-c500 cr=create-c50 n=nginx-302-c200 l rmax=0 seen=0 allc=equal c
    if [ -n "${RPS[$d]:-}" ] && [ -n "${RPS[$n]:-}" ]; then
        target "direct at 200 conns >= 0.8x nginx static 302 (same run)" \
            "${RPS[$d]} / ${RPS[$n]} = $(ratio "${RPS[$d]}" "${RPS[$n]}")x" \
            "$(pf "${RPS[$d]} >= 0.8 * ${RPS[$n]}")"
    else
        target "direct at 200 conns >= 0.8x nginx static 302 (same run)" "not measured" n/a
    fi
    for c in 200 500; do
        if [ -n "${RPS[front-c$c]:-}" ] && [ -n "${RPS[nginx-proxy-c$c]:-}" ]; then
            target "front door at $c conns >= 0.8x nginx proxy to a static 302 (same run)" \
                "${RPS[front-c$c]} / ${RPS[nginx-proxy-c$c]} = $(ratio "${RPS[front-c$c]}" "${RPS[nginx-proxy-c$c]}")x" \
                "$(pf "${RPS[front-c$c]} >= 0.8 * ${RPS[nginx-proxy-c$c]}")"
        else
            target "front door at $c conns >= 0.8x nginx proxy to a static 302 (same run)" "not measured" n/a
        fi
    done
    if [ -n "${RPS[$d]:-}" ]; then
        target "direct at 200 conns: p99 < 10 ms" "$(ms "${P99[$d]}") ms" "$(pf "${P99[$d]} < 10000")"
        target "direct at 200 conns: zero errors" "${ERRS[$d]}" "$(pf "${ERRS[$d]} == 0")"
        target "direct at 200 conns: every click persisted" "$(row_of "$d" | cut -f11) / $(row_of "$d" | cut -f9)" \
            "$([ "${CLICKS_OK[$d]}" = equal ] && echo PASS || echo FAIL)"
    else
        target "direct at 200 conns: p99 < 10 ms, zero errors, every click persisted" "not measured" n/a
    fi
    if [ -n "${RPS[$f]:-}" ]; then
        target "front door at 500 conns: zero errors" "${ERRS[$f]}" "$(pf "${ERRS[$f]} == 0")"
        target "front door at 500 conns: p99 < 25 ms" "$(ms "${P99[$f]}") ms" "$(pf "${P99[$f]} < 25000")"
    else
        target "front door at 500 conns: zero errors, p99 < 25 ms" "not measured" n/a
    fi
    if [ -n "${RPS[$cr]:-}" ]; then
        target "POST /urls at 50 conns >= 3000/s" "${RPS[$cr]}/s" "$(pf "${RPS[$cr]} >= 3000")"
    else
        target "POST /urls at 50 conns >= 3000/s" "not measured" n/a
    fi
    for l in "${!RSS_REDIRECT_MAX[@]}"; do
        case $l in *-c500)
            [[ $l == nginx-* ]] && continue
            seen=1
            ((RSS_REDIRECT_MAX[$l] > rmax)) && rmax=${RSS_REDIRECT_MAX[$l]}
            ;;
        esac
    done
    if [ "$seen" = 1 ]; then
        target "redirect-svc RSS < 32 MB at 500 conns (largest instance, runs at 500)" "$(mb "$rmax") MB" \
            "$(pf "$rmax < 32 * 1024")"
    else
        target "redirect-svc RSS < 32 MB at 500 conns" "not measured" n/a
    fi
    if [ "$SCALE_DONE" = 1 ] && ((SCALE >= 1000000)); then
        target "Redis memory per stored link < 250 bytes (1 000 000 links)" "$MEM2_PER_LINK bytes" \
            "$(pf "$MEM2_PER_LINK < 250")"
        target "throughput with 1 000 000 links within 10 % of $LINKS links (direct, 200 conns)" \
            "$RPS_BIG vs $RPS_BASE (best of 2 each) = $(ratio "$RPS_BIG" "$RPS_BASE")x" \
            "$(pf "$RPS_BIG >= 0.9 * $RPS_BASE")"
    else
        target "Redis memory per stored link < 250 bytes (1 000 000 links)" \
            "$MEM1_PER_LINK bytes with $LINKS links (not the 1 000 000-link phase)" n/a
        target "throughput with 1 000 000 links within 10 % of 10 000 links" "not measured" n/a
    fi
    for l in "${!CLICKS_OK[@]}"; do
        [ "${CLICKS_OK[$l]}" = equal ] || allc="UNEQUAL in $l"
    done
    target "every click persisted, all runs with redirects" "$allc" \
        "$([ "$allc" = equal ] && echo PASS || echo FAIL)"
}
report | tee "$OUT.md"

# The JSON document.
{
    printf '{\n  "date": "%s",\n  "command": %s,\n' "$START_DATE" "$(json_str "$CMD")"
    printf '  "machine": {"nproc": %s, "cpu": %s, "memory": %s, "kernel": %s, "loadavg_start": %s},\n' \
        "$M_NPROC" "$(json_str "$M_CPU")" "$(json_str "$M_MEM")" "$(json_str "$M_KERNEL")" \
        "$(json_str "$M_LOAD")"
    printf '  "settings": {"links": %s, "duration_s": %s, "connections": [%s], "wrk_threads": %s, "grace_ms": %s, "stream_shards": %s},\n' \
        "$LINKS" "$DURATION" "$(tr ' ' '\n' <<<"$CONNS" | grep . | paste -sd, -)" "$WRK_THREADS" \
        "$GRACE_MS" "$SHARDS"
    printf '  "services": {'
    first=1
    for f in "$RUN_DIR"/pids/*.child.pid; do
        [ -e "$f" ] || continue
        n=$(basename "$f" .child.pid)
        [ "$first" = 1 ] || printf ', '
        first=0
        printf '"%s": %s' "$n" "$(json_str "$(svc_config "$n")")"
    done
    printf '},\n'
    printf '  "read_model": {"links": %s, "seed_ms": %s, "rebuild_wall_ms": %s, "rebuild_svc_ms": %s, "redis_bytes_per_link": %s},\n' \
        "$LINKS" "$SEED_MS" "$REB1_WALL" "${REB1_SVC:-null}" "$MEM1_PER_LINK"
    if [ "$SCALE_DONE" = 1 ]; then
        printf '  "scale": {"links": %s, "seed_ms": %s, "rebuild_wall_ms": %s, "rebuild_svc_ms": %s, "redis_bytes_per_link": %s, "rps_base": %s, "rps_scaled": %s},\n' \
            "$SCALE" "$SEED2_MS" "$REB2_WALL" "${REB2_SVC:-null}" "$MEM2_PER_LINK" \
            "$RPS_BASE" "$RPS_BIG"
    fi
    printf '  "redis_benchmark": [%s],\n' "$(awk -F'\t' '{ printf "%s{\"command\": \"%s\", \"clients\": 50, \"rps\": %s, \"p50_ms\": %s, \"p99_ms\": %s}", (NR > 1 ? ", " : ""), $1, $2, $3, $4 }' "$OUT/redis.tsv")"
    printf '  "runs": [\n'
    sed '$!s/$/,/; s/^/    /' "$OUT/runs.jsonl"
    printf '  ]\n}\n'
} >"$OUT.json"
cp "$OUT.json" "$BENCH_DIR/results/latest.json"
cp "$OUT.md" "$BENCH_DIR/results/latest.md"
say "report: $OUT.md, $OUT.json (and bench/results/latest.*)"
