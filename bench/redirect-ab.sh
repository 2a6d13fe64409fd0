#!/usr/bin/env bash
# bench/redirect-ab.sh - redirect-svc alone and behind the front door against nginx
# references, side by side in one sitting: in each round, the references, then each
# candidate, every run a wrk -t2 of bench/scenario.lua (GET /<random one of LINKS links>).
#
#   bench/redirect-ab.sh                         this build's redirect-svc, near cache off and on
#   LINKS=1000000 bench/redirect-ab.sh           the same with 1 000 000 links
#   BASE_BIN=/tmp/base/build/bin/redirect-svc bench/redirect-ab.sh    ... and a baseline binary
#   CANDS="off|NEAR_CACHE_MB=0 on|NEAR_CACHE_MB=64" bench/redirect-ab.sh   other candidates
#
# Direct runs (CONNS connections, straight at the port): "nginx static 302" (nginx's own
# `return 302`), then each candidate. Front runs (each of FRONT_CONNS): deploy/nginx.conf.in
# rendered twice, its redirect upstream being the static nginx ("nginx proxy -> static
# 302", the reference) or the candidate ("front -> NAME").
# It runs under tests/harness.sh (a throw-away PostgreSQL and Redis on free ports): LINKS
# links are inserted into PostgreSQL, write-svc builds the read model, then each candidate
# runs alone (HTTP_THREADS=2, ACCESS_LOG=false, its own env) against that Redis, with no
# event-worker (the streams just grow: the figure is redirect-svc + Redis). Prints one
# Markdown row per run: round, run, connections, req/s, ratio to the reference of the same
# round and kind, p50, p99, errors, and the CPU (utime+stime, all its processes) of
# redirect-svc, Redis and the front nginx in µs per redirect.
# PERF=1 records `perf record -g` of redirect-svc and Redis during the first direct run of
# the last candidate (perf.data files in $HARNESS_DIR/ab, reports printed as text there).
# Env: B (build), LINKS (10000), CONNS (200), FRONT_CONNS ("200 500", "" = no front runs),
# DURATION (5), ROUNDS (2), BASE_BIN (none), BASE_ENV (its env, NEAR_CACHE_MB=0), CANDS,
# PERF (0), KEEP_HARNESS.
set -uo pipefail

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/${BASH_SOURCE[0]##*/}
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
. "$(dirname "$self")/../scripts/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../tests/lib.sh
. "$(dirname "$self")/../tests/lib.sh"

B=${B:-build}
case $B in /*) ;; *) B=$REPO_ROOT/$B ;; esac
CONNS=${CONNS:-200}
FRONT_CONNS=${FRONT_CONNS-200 500}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-2}
LINKS=${LINKS:-10000}
PERF=${PERF:-0}
if [ "${1:-}" != --inside ]; then
    exec "$REPO_ROOT/tests/harness.sh" bash "$self" --inside
fi

: "${HARNESS_DIR:?}" "${DATABASE_URL:?}" "${REDIS_URL:?}"
W=$HARNESS_DIR/ab
mkdir -p "$W/nginx/logs"
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    [ -s "$W/nginx/nginx.pid" ] && kill -QUIT "$(cat "$W/nginx/nginx.pid")" 2>/dev/null
    ngx_stop "$W/front-ref"
    ngx_stop "$W/front-svc"
}
trap cleanup EXIT
rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
# CPU ticks (utime + stime) of pid $1 and of its children (nginx's workers).
cpu_ticks() {
    local p t=0
    for p in "$1" $(pgrep -P "$1"); do
        t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}

psql -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "INSERT INTO urls (id, short_code,
    original_url, title) SELECT 1000000000000 + n, 'bench' || lpad(n::text, 7, '0'),
    'https://bench.example.com/link/' || n, 'bench ' || n FROM generate_series(1, $LINKS) AS n" ||
    die "cannot insert the links"
wport=$(pick_free_port) || die "no free port"
env PORT="$wport" DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" LOG_LEVEL=warn \
    "$B/bin/write-svc" >"$W/write-svc.log" 2>&1 &
pids+=($!)
wait_for 600 bash -c "[ \"\$(redis-cli -p $REDIS_PORT EXISTS readmodel:complete)\" = 1 ]" ||
    die "the read model was not built"

NPORT=$(pick_free_port) || die "no free port"
cat >"$W/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $W/nginx/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000;
    client_body_temp_path $W/nginx/cb;
    proxy_temp_path $W/nginx/p;
    fastcgi_temp_path $W/nginx/f;
    uwsgi_temp_path $W/nginx/u;
    scgi_temp_path $W/nginx/s;
    server { listen 127.0.0.1:$NPORT backlog=4096; location / { return 302 https://bench.example.com/static; } }
}
CONF
nginx -p "$W/nginx" -e "$W/nginx/logs/error.log" -c "$W/nginx/nginx.conf" || die "nginx did not start"

# run NAME PORT PID FRONT_PID CONNS: one wrk run; prints "rps p50_ms p99_ms errors svc_us
# redis_us front_us" (CPU µs per request of PID, Redis, FRONT_PID; "-" for no pid).
run() {
    local name=$1 port=$2 pid=$3 fpid=$4 conns=$5 out=$W/$1.$round.wrk c0 r0 f0 c1 r1 f1 rpid
    rpid=$(rcli INFO server | tr -d '\r' | awk -F: '$1 == "process_id" { print $2 }')
    c0=$(cpu_ticks "$pid")
    r0=$(cpu_ticks "$rpid")
    f0=0
    [ "$fpid" = - ] || f0=$(cpu_ticks "$fpid")
    BENCH_MODE=redirect BENCH_LINKS=$LINKS BENCH_DURATION=$DURATION wrk -t2 -c"$conns" \
        -d"${DURATION}s" -s "$REPO_ROOT/bench/scenario.lua" "http://127.0.0.1:$port" >"$out" 2>&1
    c1=$(cpu_ticks "$pid")
    r1=$(cpu_ticks "$rpid")
    f1=0
    [ "$fpid" = - ] || f1=$(cpu_ticks "$fpid")
    awk -v c="$((c1 - c0))" -v r="$((r1 - r0))" -v f="$((f1 - f0))" -v fp="$fpid" \
        -v hz="$(getconf CLK_TCK)" '/^BENCHRESULT/ {
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        n = v["requests"]
        printf "%.0f %.2f %.2f %d %.1f %.1f %s\n", n / (v["duration_us"] / 1e6), v["p50_us"] / 1000,
            v["p99_us"] / 1000, v["bad_status"] + v["connect"] + v["read"] + v["write"] + v["timeout"],
            c * 1e6 / hz / n, r * 1e6 / hz / n, fp == "-" ? "-" : sprintf("%.1f", f * 1e6 / hz / n) }' "$out"
}

# row ROUND NAME CONNS REF_RPS RESULT...: one Markdown row.
row() {
    local round=$1 name=$2 conns=$3 ref=$4 rps=$5 p50=$6 p99=$7 bad=$8 cpu=$9 rcpu=${10} fcpu=${11}
    printf '| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$round" "$name" "$conns" \
        "$rps" "$(awk -v a="$rps" -v b="$ref" 'BEGIN { printf "%.2f", a / b }')" "$p50" "$p99" \
        "$bad" "$cpu" "$rcpu" "$fcpu"
}

# start NAME BIN VAR=value...: one redirect-svc on a free port; sets SPORT and SPID.
start() {
    local name=$1 bin=$2
    shift 2
    env "$@" PORT="$SPORT" REDIS_URL="$REDIS_URL" HTTP_THREADS=2 ACCESS_LOG=false \
        LOG_LEVEL=warn "$bin" >"$W/$name.log" 2>&1 &
    SPID=$!
    pids+=("$SPID")
    wait_for 10 bash -c "curl -sf -o /dev/null http://127.0.0.1:$SPORT/livez" ||
        die "$name did not start"
}

SPORT=$(pick_free_port) || die "no free port"
if [ -n "$FRONT_CONNS" ]; then
    FREF=$(pick_free_port) || die "no free port"
    ngx_start "$W/front-ref" "$FREF" "$(pick_free_port)" "$wport" "$NPORT"
    FSVC=$(pick_free_port) || die "no free port"
    ngx_start "$W/front-svc" "$FSVC" "$(pick_free_port)" "$wport" "$SPORT"
fi

# perf_start NAME PID: records PID's stacks for the length of a run (PERF=1).
perf_pids=()
perf_start() {
    perf record -g -F 999 -p "$2" -o "$W/perf-$1.data" -- sleep "$DURATION" \
        >"$W/perf-$1.log" 2>&1 &
    perf_pids+=($!)
}
perf_report() {
    perf report -i "$W/perf-$1.data" --no-children --percent-limit 1 --stdio \
        >"$W/perf-$1.txt" 2>/dev/null
    say "perf report of $1: $W/perf-$1.txt"
}

cands=()
[ -n "${BASE_BIN:-}" ] && cands+=("base|$BASE_BIN|${BASE_ENV:-NEAR_CACHE_MB=0}")
for c in ${CANDS:-off|NEAR_CACHE_MB=0 on|NEAR_CACHE_MB=64}; do
    cands+=("${c%%|*}|$B/bin/redirect-svc|${c#*|}")
done
say "$LINKS links; direct at $CONNS connections, front at ${FRONT_CONNS:-none}"
printf '| round | run | conns | req/s | x reference | p50 ms | p99 ms | errors | redirect-svc CPU µs/req | Redis CPU µs/req | front nginx CPU µs/req |\n|---|---|---|---|---|---|---|---|---|---|---|\n'
for ((round = 1; round <= ROUNDS; round++)); do
    read -r ref p50 p99 bad _ _ _ <<<"$(run nginx "$NPORT" "$(cat "$W/nginx/nginx.pid")" - "$CONNS")"
    row "$round" "nginx static 302" "$CONNS" "$ref" "$ref" "$p50" "$p99" "$bad" - - -
    declare -A fref=()
    for fc in $FRONT_CONNS; do
        read -r rps p50 p99 bad _ _ fcpu <<<"$(run "front-ref-$fc" "$FREF" \
            "$(cat "$W/nginx/nginx.pid")" "$(cat "$W/front-ref/nginx.pid")" "$fc")"
        fref[$fc]=$rps
        row "$round" "nginx proxy -> static 302" "$fc" "$rps" "$rps" "$p50" "$p99" "$bad" - - "$fcpu"
    done
    for c in "${cands[@]}"; do
        IFS='|' read -r name bin var <<<"$c"
        read -ra vars <<<"$var"
        start "$name" "$bin" "${vars[@]}"
        # Warm-up (caches, connections): not counted.
        wrk -t2 -c"$CONNS" -d2s -s "$REPO_ROOT/bench/scenario.lua" "http://127.0.0.1:$SPORT" \
            >/dev/null 2>&1
        if [ "$PERF" = 1 ] && [ "$round" = "$ROUNDS" ] && [ "$c" = "${cands[-1]}" ]; then
            perf_start "redirect-svc-$name" "$SPID"
            perf_start "redis-$name" "$(rcli INFO server | tr -d '\r' | awk -F: '$1 == "process_id" { print $2 }')"
        fi
        read -r rps p50 p99 bad cpu rcpu _ <<<"$(run "$name" "$SPORT" "$SPID" - "$CONNS")"
        row "$round" "$name ($var)" "$CONNS" "$ref" "$rps" "$p50" "$p99" "$bad" "$cpu" "$rcpu" -
        for fc in $FRONT_CONNS; do
            read -r rps p50 p99 bad cpu rcpu fcpu <<<"$(run "front-$name-$fc" "$FSVC" "$SPID" \
                "$(cat "$W/front-svc/nginx.pid")" "$fc")"
            row "$round" "front -> $name" "$fc" "${fref[$fc]}" "$rps" "$p50" "$p99" "$bad" "$cpu" \
                "$rcpu" "$fcpu"
        done
        curl -s "http://127.0.0.1:$SPORT/metrics" | grep '^shortener_near_cache' >"$W/$name.$round.metrics"
        kill -TERM "$SPID"
        wait "$SPID" 2>/dev/null
    done
done
if [ "$PERF" = 1 ]; then
    wait "${perf_pids[@]}"
    for f in "$W"/perf-*.data; do perf_report "$(basename "$f" .data | sed 's/^perf-//')"; done
fi
for f in "$W"/*.metrics; do say "$(basename "$f"): $(tr '\n' ' ' <"$f")"; done
