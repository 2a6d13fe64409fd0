#!/usr/bin/env bash
# bench/cluster.sh - the Redis tier: one primary versus a 3-primary Redis Cluster on this
# machine (make bench-cluster; make bench runs it after bench/run.sh). The cluster row of
# docs/BENCHMARKS.md.
#
#   B=build bench/cluster.sh
#
# For each mode (single: one redis-server; cluster: 3 primaries + 3 replicas, tests/harness.sh
# REDIS_MODE=cluster) it starts, under tests/harness.sh, one write-svc, two redirect-svc
# (HTTP_THREADS=2 each) and one event-worker on free loopback ports, creates 64 links, and:
# (a third run, cluster-wait1, is the cluster with CLICK_MIN_REPLICAS=1: one WAIT per batch)
#   1. redirects/s: `systest load` for BENCH_CLUSTER_SECONDS (10) at BENCH_CLUSTER_CONNS (64)
#      connections, unpaced, spread over the two redirect-svc (302s counted; every click is
#      recorded by the redirect script);
#   2. clicks/s: the click rows PostgreSQL holds for them divided by the time from the load's
#      start until the last of them is stored (bounded wait, 120 s);
#   3. memory per link: BENCH_CLUSTER_LINKS (100000) links inserted into PostgreSQL, the read
#      model rebuilt (marker deleted), used_memory summed over the primaries before and after.
# Prints one Markdown table row per mode, and the same as "bench-cluster <mode> ..." lines.
# Everything runs on this one machine: on 2 shared cores a cluster mostly shows its overhead
# (more processes, replicas applying the same writes), not the headroom it gives on more cores.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
. "$BENCH_DIR/../scripts/lib.sh"

B=${B:-build}
case $B in /*) ;; *) B=$REPO_ROOT/$B ;; esac
secs=${BENCH_CLUSTER_SECONDS:-10}
conns=${BENCH_CLUSTER_CONNS:-64}
links=${BENCH_CLUSTER_LINKS:-100000}

# --- inside tests/harness.sh -------------------------------------------------------------------
pids=() # the services started inside (the EXIT trap stops them)
inside() {
    local run=$HARNESS_DIR/bench i p code codes=() wport r1 r2 out
    mkdir -p "$run"
    # shellcheck disable=SC2317 # called from the trap
    stop() {
        local q
        for q in "${pids[@]}"; do kill -TERM "$q" 2>/dev/null || true; done
        for q in "${pids[@]}"; do wait "$q" 2>/dev/null || true; done
    }
    trap stop EXIT
    svc() { # NAME PORT VAR=...
        local name=$1 port=$2
        shift 2
        env "$@" PORT="$port" BIND_ADDR=127.0.0.1 LOG_LEVEL=warn ACCESS_LOG=false \
            "$B/bin/$name" >>"$run/$name.$port.log" 2>&1 &
        pids+=($!)
    }
    wport=$(pick_free_port)
    svc write-svc "$wport" READMODEL_CHECK_MS=100 API_AUTH=open
    r1=$(pick_free_port)
    r2=$(pick_free_port)
    svc redirect-svc "$r1" HTTP_THREADS=2 CLICK_MIN_REPLICAS="${BENCH_MIN_REPLICAS:-0}"
    svc redirect-svc "$r2" HTTP_THREADS=2 CLICK_MIN_REPLICAS="${BENCH_MIN_REPLICAS:-0}"
    svc event-worker 0
    for p in "$wport" "$r1" "$r2"; do
        wait_until 30 curl -sf -o /dev/null "http://127.0.0.1:$p/health" || die "port $p not healthy"
    done
    for i in $(seq 1 64); do
        code=bc${i}x$$
        codes+=("$code")
        curl -sf -o /dev/null -H 'Content-Type: application/json' \
            -d "{\"original_url\": \"https://example.com/bench/$i\", \"short_code\": \"$code\"}" \
            "http://127.0.0.1:$wport/urls" || die "cannot create link $code"
    done
    local list t0 n302 rows prev=-1 t_last
    list=$(printf "'%s'," "${codes[@]}")
    list=${list%,}
    out=$run/load
    t0=$(date +%s%3N)
    "$B/tests/system/systest" load --url "http://127.0.0.1:$r1" --url "http://127.0.0.1:$r2" \
        --paths "$(IFS=,; echo "${codes[*]}")" --seconds "$secs" --connections "$conns" \
        --rate 0 >"$out" 2>"$out.err" || die "systest load failed: $(cat "$out.err")"
    n302=$(awk '$1 == "status" && $2 == 302 { print $3 }' "$out")
    n302=${n302:-0}
    t_last=$(date +%s%3N)
    for i in $(seq 1 1200); do # 120 s at most
        rows=$(psql -X -A -t -q "$DATABASE_URL" -c "SELECT count(*) FROM events e JOIN urls u
            ON u.id = e.url_id WHERE e.event_type = 'click' AND u.short_code IN ($list)")
        [ "$rows" = "$prev" ] || t_last=$(date +%s%3N)
        prev=$rows
        [ "$rows" -lt "$n302" ] || break
        sleep 0.1
    done
    # Memory per link: the read model of `links` more links, summed over the primaries.
    local m0 m1 ports
    ports=$REDIS_PORT
    [ "${REDIS_MODE:-single}" != cluster ] || ports=$(bash "$REPO_ROOT/tests/harness-ctl.sh" cluster-primaries)
    mem() {
        local q s=0
        for q in $ports; do
            s=$((s + $(redis-cli -p "$q" info memory | tr -d '\r' | sed -n 's/^used_memory://p')))
        done
        echo "$s"
    }
    m0=$(mem)
    psql -X -q "$DATABASE_URL" -c "INSERT INTO urls (short_code, original_url)
        SELECT 'bm' || lpad(n::text, 8, '0'), 'https://example.com/bench/link/' || n
        FROM generate_series(1, $links) AS n" >/dev/null
    redis_cli_url "$REDIS_URL" DEL readmodel:complete >/dev/null
    sleep 0.5
    wait_until 300 bash -c "[ \"\$(redis-cli -c -p $REDIS_PORT EXISTS readmodel:complete)\" = 1 ]" ||
        die "the read model was not rebuilt"
    m1=$(mem)
    printf 'bench-cluster %s primaries=%s redirects=%s redirects_per_s=%s clicks=%s clicks_per_s=%s bytes_per_link=%s\n' \
        "${REDIS_MODE:-single}${BENCH_MIN_REPLICAS:+-wait$BENCH_MIN_REPLICAS}" "$(wc -w <<<"$ports")" "$n302" $((n302 / secs)) "$rows" \
        $((rows * 1000 / (t_last - t0))) $(((m1 - m0) / links))
}

if [ "${1:-}" = --inside ]; then
    inside
    exit
fi
for b in write-svc redirect-svc event-worker tests/system/systest; do
    [ -x "$B/bin/$b" ] || [ -x "$B/$b" ] || die "$b is not built (make all tests)"
done
res=$(mktemp)
trap 'rm -f "$res"' EXIT
for mode in single cluster cluster-wait1; do
    minrep=
    [ "$mode" != cluster-wait1 ] || minrep=1
    REDIS_MODE=${mode%-wait1} BENCH_MIN_REPLICAS=$minrep B=$B timeout 600 "$REPO_ROOT/tests/harness.sh" bash "$BENCH_DIR/cluster.sh" \
        --inside >>"$res" || die "the $mode run failed"
    grep "^bench-cluster $mode" "$res" >&2 || die "the $mode run printed no figures"
done
printf '| Redis | primaries | redirects/s (%s s, %s conns, 2 redirect-svc) | clicks stored/s | bytes per link (%s links) |\n|---|---|---|---|---|\n' \
    "$secs" "$conns" "$links"
awk '/^bench-cluster/ { for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "| %s | %s | %s | %s | %s |\n", $2, v["primaries"], v["redirects_per_s"], v["clicks_per_s"], v["bytes_per_link"] }' "$res"
