#!/usr/bin/env bash
# bench/redirect-ab.sh - redirect-svc alone against nginx's static `return 302`, side by side in
# one sitting: the reference, then each candidate binary, in turns (ROUNDS times), every run a
# wrk -t2 -c$CONNS -d${DURATION}s of bench/scenario.lua (GET /<random one of 10 000 links>).
#
#   bench/redirect-ab.sh                                 this build's redirect-svc, CLICK_BATCH=0 and 1
#   BASE_BIN=/tmp/base/build/bin/redirect-svc bench/redirect-ab.sh     ... and a baseline binary
#
# It runs under tests/harness.sh (a throw-away PostgreSQL and Redis on free ports): 10 000
# links are inserted into PostgreSQL, write-svc builds the read model, then each redirect-svc
# runs alone (HTTP_THREADS=2, ACCESS_LOG=false) against that Redis, with no event-worker (the
# streams just grow: the figure is redirect-svc + Redis). Prints one Markdown row per run:
# name, req/s, ratio to the reference of the same round, p50, p99, non-302 answers, and the
# CPU (utime+stime) of redirect-svc and Redis per 1000 redirects.
# Env: B (build), CONNS (200), DURATION (5), ROUNDS (2), BASE_BIN (none).
set -uo pipefail

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/${BASH_SOURCE[0]##*/}
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
. "$(dirname "$self")/../scripts/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../tests/lib.sh
. "$(dirname "$self")/../tests/lib.sh"

B=${B:-build}
case $B in /*) ;; *) B=$REPO_ROOT/$B ;; esac
CONNS=${CONNS:-200}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-2}
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
}
trap cleanup EXIT
rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

psql -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "INSERT INTO urls (id, short_code,
    original_url, title) SELECT 1000000000000 + n, 'bench' || lpad(n::text, 7, '0'),
    'https://bench.example.com/link/' || n, 'bench ' || n FROM generate_series(1, 10000) AS n" ||
    die "cannot insert the links"
wport=$(pick_free_port) || die "no free port"
env PORT="$wport" DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" LOG_LEVEL=warn \
    "$B/bin/write-svc" >"$W/write-svc.log" 2>&1 &
pids+=($!)
wait_for 60 bash -c "[ \"\$(redis-cli -p $REDIS_PORT EXISTS readmodel:complete)\" = 1 ]" ||
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

# run NAME PORT PID: one wrk run; prints "rps p50_ms p99_ms bad cpu_ms_per_1000" and logs it.
run() {
    local name=$1 port=$2 pid=$3 out=$W/$1.$round.wrk c0 r0 c1 r1 rpid
    rpid=$(rcli INFO server | tr -d '\r' | awk -F: '$1 == "process_id" { print $2 }')
    c0=$(cpu_ticks "$pid")
    r0=$(cpu_ticks "$rpid")
    BENCH_MODE=redirect BENCH_LINKS=10000 BENCH_DURATION=$DURATION wrk -t2 -c"$CONNS" \
        -d"${DURATION}s" -s "$REPO_ROOT/bench/scenario.lua" "http://127.0.0.1:$port" >"$out" 2>&1
    c1=$(cpu_ticks "$pid")
    r1=$(cpu_ticks "$rpid")
    awk -v c="$((c1 - c0))" -v r="$((r1 - r0))" -v hz="$(getconf CLK_TCK)" '/^BENCHRESULT/ {
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        rps = v["requests"] / (v["duration_us"] / 1e6)
        printf "%.0f %.2f %.2f %d %.1f %.1f\n", rps, v["p50_us"] / 1000, v["p99_us"] / 1000,
            v["bad_status"] + v["connect"] + v["read"] + v["write"] + v["timeout"],
            c * 1000 / hz / (v["requests"] / 1000), r * 1000 / hz / (v["requests"] / 1000) }' "$out"
}

# start NAME BIN VAR=value...: one redirect-svc on a free port; sets SPORT and SPID.
start() {
    local name=$1 bin=$2
    shift 2
    SPORT=$(pick_free_port) || die "no free port"
    env "$@" PORT="$SPORT" REDIS_URL="$REDIS_URL" HTTP_THREADS=2 ACCESS_LOG=false \
        LOG_LEVEL=warn "$bin" >"$W/$name.log" 2>&1 &
    SPID=$!
    pids+=("$SPID")
    wait_for 10 bash -c "curl -sf -o /dev/null http://127.0.0.1:$SPORT/livez" ||
        die "$name did not start"
}

cands=()
[ -n "${BASE_BIN:-}" ] && cands+=("base|$BASE_BIN|CLICK_BATCH=0")
cands+=("new-batch0|$B/bin/redirect-svc|CLICK_BATCH=0" "new-batch1|$B/bin/redirect-svc|CLICK_BATCH=1")
printf '| round | run | req/s | x static nginx | p50 ms | p99 ms | errors | redirect-svc CPU ms / 1000 | Redis CPU ms / 1000 |\n|---|---|---|---|---|---|---|---|---|\n'
for ((round = 1; round <= ROUNDS; round++)); do
    read -r ref p50 p99 bad _ _ <<<"$(run nginx "$NPORT" "$(cat "$W/nginx/nginx.pid")")"
    printf '| %d | nginx static 302 | %s | 1.00 | %s | %s | %s | | |\n' "$round" "$ref" "$p50" "$p99" "$bad"
    for c in "${cands[@]}"; do
        IFS='|' read -r name bin var <<<"$c"
        start "$name" "$bin" "$var"
        read -r rps p50 p99 bad cpu rcpu <<<"$(run "$name" "$SPORT" "$SPID")"
        kill -TERM "$SPID"
        wait "$SPID" 2>/dev/null
        printf '| %d | %s | %s | %.2f | %s | %s | %s | %s | %s |\n' "$round" "$name ($var)" "$rps" \
            "$(awk -v a="$rps" -v b="$ref" 'BEGIN { print a / b }')" "$p50" "$p99" "$bad" "$cpu" "$rcpu"
    done
done
