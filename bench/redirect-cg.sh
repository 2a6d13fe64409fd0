#!/usr/bin/env bash
# bench/redirect-cg.sh - instructions (user space) per redirect of redirect-svc binaries, counted
# by valgrind's callgrind: repeatable where the CPU time of bench/redirect-ab.sh scatters on a
# shared machine. Kernel work (system calls) is not counted: MODE=strace counts those instead.
#
#   CANDS="base|/tmp/base/bin/redirect-svc|NEAR_CACHE_MB=64 new|build/bin/redirect-svc|NEAR_CACHE_MB=64" \
#       bench/redirect-cg.sh
#
# Under tests/harness.sh (a throw-away PostgreSQL and Redis): LINKS links inserted, write-svc
# builds the read model, then each candidate runs alone (HTTP_THREADS=2, ACCESS_LOG=false, its
# own env) under valgrind (or, MODE=strace, with strace -f -c attached after the warm-up); a warm-up of wrk -t2 -c$CONNS for WARMUP seconds,
# the counters zeroed, a run of DURATION seconds, the counters dumped. Prints one Markdown row
# per candidate and round: requests of the counted run, instructions (Ir) per request, or with
# MODE=strace system calls per request and the top calls.
# Env: B (build), LINKS (10000), CONNS (200), WARMUP (3), DURATION (8), ROUNDS (1), MODE
# (callgrind | strace | memcheck: memory errors under load), CANDS ("name|binary|VAR=value ..." separated by spaces, binary
# relative to the repository or absolute).
set -uo pipefail

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/${BASH_SOURCE[0]##*/}
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
. "$(dirname "$self")/../scripts/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../tests/lib.sh
. "$(dirname "$self")/../tests/lib.sh"

B=${B:-build}
case $B in /*) ;; *) B=$REPO_ROOT/$B ;; esac
LINKS=${LINKS:-10000}
CONNS=${CONNS:-200}
WARMUP=${WARMUP:-3}
DURATION=${DURATION:-8}
ROUNDS=${ROUNDS:-1}
MODE=${MODE:-callgrind}
CANDS=${CANDS:-"this|$B/bin/redirect-svc|NEAR_CACHE_MB=64"}
if [ "${1:-}" != --inside ]; then
    exec "$REPO_ROOT/tests/harness.sh" bash "$self" --inside
fi

: "${HARNESS_DIR:?}" "${DATABASE_URL:?}" "${REDIS_URL:?}"
W=$HARNESS_DIR/cg
mkdir -p "$W"
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
}
trap cleanup EXIT

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

# load SECONDS: wrk against the candidate; prints the requests it got answered.
load() {
    BENCH_MODE=redirect BENCH_LINKS=$LINKS BENCH_DURATION=$1 wrk -t2 -c"$CONNS" -d"$1s" \
        -s "$REPO_ROOT/bench/scenario.lua" "http://127.0.0.1:$SPORT" 2>&1 |
        awk '/^BENCHRESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "=");
            if (kv[1] == "requests") print kv[2] } }'
}

# measure NAME BIN VAR...: one candidate; prints its row.
measure() {
    local name=$1 bin=$2 out=$W/$1.$round n
    shift 2
    case $bin in /*) ;; *) bin=$REPO_ROOT/$bin ;; esac
    local wrap=(valgrind --tool=callgrind --callgrind-out-file="$out.cg" --dump-instr=no)
    [ "$MODE" = strace ] && wrap=()
    [ "$MODE" = memcheck ] && wrap=(valgrind --tool=memcheck --leak-check=no)
    env "$@" PORT="$SPORT" REDIS_URL="$REDIS_URL" HTTP_THREADS=2 ACCESS_LOG=false \
        LOG_LEVEL=warn "${wrap[@]}" "$bin" >"$W/$name.log" 2>&1 &
    local spid=$!
    pids+=("$spid")
    wait_for 60 bash -c "curl -sf -o /dev/null http://127.0.0.1:$SPORT/livez" ||
        die "$name did not start"
    load "$WARMUP" >/dev/null
    if [ "$MODE" = memcheck ]; then
        # Memory errors under load, wrk's cut-off connections at the end of each run included.
        n=$(load "$DURATION")
        kill -TERM "$spid"
        wait "$spid" 2>/dev/null
        printf '| %d | %s | %d | %s |\n' "$round" "$name" "$n" \
            "$(grep -o 'ERROR SUMMARY: [0-9]* errors' "$W/$name.log" | tail -1)"
        return
    fi
    if [ "$MODE" = strace ]; then
        # Attached after the warm-up (all threads), detached by SIGINT after the run.
        strace -f -c -p "$spid" -o "$out.strace" 2>/dev/null &
        local tpid=$!
        sleep 1
        n=$(load "$DURATION")
        kill -INT "$tpid"
        wait "$tpid" 2>/dev/null
        kill -TERM "$spid"
        wait "$spid" 2>/dev/null
        awk -v n="$n" -v name="$name" -v r="$round" '$NF == "total" { total = $4 }
            $1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" && $4 / n >= 0.01 {
                top = top sprintf("%s %.2f, ", $NF, $4 / n) }
            END { printf "| %d | %s | %d | %.2f | %s |\n", r, name, n, total / n, top }' \
            "$out.strace"
        return
    fi
    callgrind_control -z "$spid" >/dev/null 2>&1
    n=$(load "$DURATION")
    callgrind_control -d "$spid" >/dev/null 2>&1
    local f ir
    f=$out.cg.1 # the first dump on request; $out.cg comes at exit
    [ -s "$f" ] || die "no callgrind dump for $name"
    ir=$(awk '/^(summary|totals):/ { print $2; exit }' "$f")
    printf '| %d | %s | %d | %.0f |\n' "$round" "$name" "$n" "$(awk -v a="$ir" -v b="$n" \
        'BEGIN { print a / b }')"
    kill -TERM "$spid"
    wait "$spid" 2>/dev/null
}

SPORT=$(pick_free_port) || die "no free port"
if [ "$MODE" = memcheck ]; then
    printf '| round | candidate | requests | valgrind memcheck |\n|---|---|---|---|\n'
elif [ "$MODE" = strace ]; then
    printf '| round | candidate | requests counted | system calls per request | by call |\n|---|---|---|---|---|\n'
else
    printf '| round | candidate | requests counted | instructions (Ir) per request |\n|---|---|---|---|\n'
fi
for ((round = 1; round <= ROUNDS; round++)); do
    for c in $CANDS; do
        IFS='|' read -r name bin var <<<"$c"
        IFS=',' read -ra vars <<<"$var"
        measure "$name" "$bin" "${vars[@]}"
    done
done
