#!/usr/bin/env bash
# bench/pgbouncer.sh - PostgreSQL sessions held by N write-svc instances with and without
# PgBouncer, and what the unnamed statements of transaction pooling cost a create.
#
#   bench/pgbouncer.sh                       N = 1, 4, 16; about 2 minutes
#   INSTANCES="1 4" LOAD_S=2 CREATE_S=5 bench/pgbouncer.sh      a shorter one
#
# It runs under tests/harness.sh (a throw-away PostgreSQL, max_connections 200, and Redis on free
# ports) with Debian's PgBouncer (pgb_start, scripts/lib.sh) in front of it, started afresh
# for each measurement in the mode it needs. No event-worker runs.
#
# Part 1, for each N of INSTANCES and each path of PATHS (direct: DATABASE_URL is PostgreSQL,
# PG_POOLER=none; transaction: a PgBouncer in transaction mode, pool POOL, PG_POOLER=transaction;
# session: a PgBouncer in session mode, pool SESSION_POOL, PG_POOLER=session; each PgBouncer
# fresh, so that no server session of an earlier measurement is counted): N write-svc
# with their defaults (PG_POOL_SIZE=8, HTTP_THREADS=8) on free ports, then one
# `wrk -t1 -cLOAD_CONNS -dLOAD_S` of POST /urls (bench/scenario.lua, BENCH_MODE=create) per instance,
# all at once, with a 1.5 s stall a third of the way in (psql holds the read-model advisory lock
# exclusively, as a rebuild does: every create waits for it inside PostgreSQL), so that every
# instance uses its 8 handles, as a slow database makes it do. The client sessions PostgreSQL
# holds (pg_stat_activity, every client backend but the sampler's and the stall's) are sampled every 100 ms:
# the peak during the load, and what is still held 1 s after it (the pool keeps its connections;
# PgBouncer keeps its server connections for server_idle_timeout). Reported with the creates
# per second of all instances together and the non-201 answers.
# Part 2, one write-svc, `wrk -t2 -c16 -dCREATE_S` of POST /urls, ROUNDS times in turns:
# prepared (direct, PG_POOLER=none: named statements prepared once per connection), unnamed
# (direct, PG_POOLER=transaction: the same statements through PQexecParams), session (a
# session-mode PgBouncer, PG_POOLER=session: named statements, one more hop) and pgbouncer
# (a transaction-mode PgBouncer, PG_POOLER=transaction). The best of the rounds is reported.
# Prints Markdown on stdout (docs/CAPACITY.md and docs/BENCHMARKS.md quote it).
# Env: B (build), INSTANCES ("1 4 16"), PATHS ("direct transaction session"), POOL (20),
# SESSION_POOL (150), LOAD_S (3), LOAD_CONNS (32), CREATE_S (8), ROUNDS (2).
set -uo pipefail

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/${BASH_SOURCE[0]##*/}
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
. "$(dirname "$self")/../scripts/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../tests/lib.sh
. "$(dirname "$self")/../tests/lib.sh"

B=${B:-build}
case $B in /*) ;; *) B=$REPO_ROOT/$B ;; esac
INSTANCES=${INSTANCES:-1 4 16}
POOL=${POOL:-20}
LOAD_S=${LOAD_S:-3}
LOAD_CONNS=${LOAD_CONNS:-32}
PATHS=${PATHS:-direct transaction session}
SESSION_POOL=${SESSION_POOL:-150}
CREATE_S=${CREATE_S:-8}
ROUNDS=${ROUNDS:-2}
if [ "${1:-}" != --inside ]; then
    [ -x "$B/bin/write-svc" ] || die "$B/bin/write-svc is not built (make all)"
    command -v pgbouncer >/dev/null || die "pgbouncer not found (apt-get install pgbouncer)"
    command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
    exec "$REPO_ROOT/tests/harness.sh" bash "$self" --inside
fi

: "${HARNESS_DIR:?}" "${DATABASE_URL:?}" "${REDIS_URL:?}" "${PG_PORT:?}"
W=$HARNESS_DIR/pgb-bench
mkdir -p "$W"
pids=()
stop_all() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    pids=()
}
cleanup() {
    stop_all
    pgb_stop "$W/pgbouncer"
}
trap cleanup EXIT

# pgb MODE POOL: a fresh PgBouncer (the previous one stopped, so that no server session of an
# earlier measurement is counted in the next); its URL in POOLED_URL.
pgb() {
    local port
    pgb_stop "$W/pgbouncer"
    wait_for 10 sessions_at_most 0 || warn "sessions still open: $(sessions)"
    for _ in 1 2 3 4 5; do
        port=$(pick_free_port) || die "no free port"
        if pgb_start "$W/pgbouncer" "$port" "$PG_PORT" "$1" "$2"; then
            POOLED_URL=postgresql://$(pg_os_user)@127.0.0.1:$port/shortener
            return 0
        fi
        pgb_stop "$W/pgbouncer"
    done
    die "PgBouncer did not start ($W/pgbouncer/pgbouncer.log)"
}
READMODEL_LOCK=$(sed -n 's/^#define STORE_READMODEL_LOCK \([0-9]*\)$/\1/p' "$REPO_ROOT/write-svc/store.h")
[ -n "$READMODEL_LOCK" ] || die "STORE_READMODEL_LOCK not found in write-svc/store.h"

sessions() {
    psql -X -At --no-psqlrc -d "$DATABASE_URL" -c "SELECT count(*) FROM pg_stat_activity
        WHERE datname = 'shortener' AND backend_type = 'client backend'
        AND pid <> pg_backend_pid() AND application_name <> 'pgb-bench-stall'"
}

sessions_at_most() { [ "$(sessions)" -le "$1" ]; }

# start_svcs N URL POOLER: N write-svc on free ports; their base URLs in svc_urls.
start_svcs() {
    local n=$1 url=$2 pooler=$3 i port
    svc_urls=()
    for ((i = 0; i < n; i++)); do
        port=$(pick_free_port) || die "no free port"
        env PORT="$port" DATABASE_URL="$url" PG_POOLER="$pooler" REDIS_URL="$REDIS_URL" \
            LOG_LEVEL=warn EVENTS_WAIT_MS=0 "$B/bin/write-svc" 2>>"$W/write-svc.log" &
        pids+=($!)
        svc_urls+=("http://127.0.0.1:$port")
    done
    for i in "${svc_urls[@]}"; do
        wait_for 30 curl -fsS -o /dev/null "$i/health" || die "write-svc at $i did not start"
    done
}

# wrk_create URL THREADS CONNS SECS TAG OUT: one create run; its BENCHRESULT line in OUT.
wrk_create() {
    BENCH_MODE=create BENCH_UID=null BENCH_TAG=$5 BENCH_DURATION=$4 \
        wrk -t"$2" -c"$3" -d"$4"s -s "$REPO_ROOT/bench/scenario.lua" "$1" >"$6" 2>&1
}

# field NAME FILE...: the sum of BENCHRESULT's NAME over the files.
field() {
    local name=$1
    shift
    awk -v k="$name" '/^BENCHRESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "=");
        if (kv[1] == k) s += kv[2] } } END { printf "%d\n", s }' "$@"
}

# --- part 1 ------------------------------------------------------------------------------
printf '### PostgreSQL sessions held by N write-svc (PG_POOL_SIZE=8, HTTP_THREADS=8)\n\n'
# shellcheck disable=SC2016 # the backquotes are Markdown
printf 'PgBouncer %s: transaction = pool_mode=transaction, default_pool_size=%s, PG_POOLER=transaction; session = pool_mode=session, default_pool_size=%s (room for every handle), PG_POOLER=session. Load: one `wrk -t1 -c%s -d%ss` of POST /urls per instance, all at once, with a 1.5 s lock stall. An instance uses at most its 8 handles (PG_POOL_SIZE), in practice as many as its busy HTTP threads.\n\n' \
    "$(pgbouncer --version | sed -n "1s/^PgBouncer //p")" "$POOL" "$SESSION_POOL" "$LOAD_CONNS" \
    "$LOAD_S"
printf '| instances | path | client connections (N x 8) | PostgreSQL sessions, peak | held 1 s after | creates/s (all) | non-201 |\n'
printf '|---|---|---|---|---|---|---|\n'
for n in $INSTANCES; do
    for path in $PATHS; do
        case $path in
        direct) pgb_stop "$W/pgbouncer" && start_svcs "$n" "$DATABASE_URL" none ;;
        transaction) pgb transaction "$POOL" && start_svcs "$n" "$POOLED_URL" transaction ;;
        session) pgb session "$SESSION_POOL" && start_svcs "$n" "$POOLED_URL" session ;;
        *) die "unknown path $path (PATHS: direct, transaction, session)" ;;
        esac
        rm -f "$W/load.done" "$W"/load.*.out
        (
            max=0
            while [ ! -f "$W/load.done" ]; do
                s=$(sessions)
                [ "${s:-0}" -gt "$max" ] && max=$s
                sleep 0.1
            done
            echo "$max" >"$W/peak"
        ) &
        sampler=$!
        i=0
        wrk_pids=()
        for u in "${svc_urls[@]}"; do
            wrk_create "$u" 1 "$LOAD_CONNS" "$LOAD_S" "pgb-$path-$n-$i" "$W/load.$i.out" &
            wrk_pids+=($!)
            i=$((i + 1))
        done
        # A 1.5 s stall in the middle: the read-model lock held exclusively (as a rebuild does),
        # so every create waits in PostgreSQL and every handle of every instance gets used.
        sleep "$(awk -v d="$LOAD_S" 'BEGIN { print d / 3 }')"
        PGAPPNAME=pgb-bench-stall psql -X -q --no-psqlrc -d "$DATABASE_URL" -c "BEGIN" \
            -c "SELECT pg_advisory_xact_lock($READMODEL_LOCK)" -c "SELECT pg_sleep(1.5)" \
            -c "COMMIT" >/dev/null
        wait "${wrk_pids[@]}"
        touch "$W/load.done"
        wait "$sampler"
        sleep 1
        held=$(sessions)
        reqs=$(field requests "$W"/load.*.out)
        ok=$(field c201 "$W"/load.*.out)
        printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$path" "$((n * 8))" \
            "$(cat "$W/peak")" "$held" "$((ok / LOAD_S))" "$((reqs - ok))"
        stop_all
        pgb_stop "$W/pgbouncer"
        wait_for 10 sessions_at_most 0 || warn "sessions still open: $(sessions)"
    done
done

# --- part 2 ------------------------------------------------------------------------------
# shellcheck disable=SC2016 # the backquotes are Markdown
printf '\n### POST /urls, one write-svc, `wrk -t2 -c16 -d%ss`, best of %s rounds\n\n' \
    "$CREATE_S" "$ROUNDS"
printf '| statements | path | creates/s | p50 ms | p99 ms | non-201 |\n|---|---|---|---|---|---|\n'
declare -A best best_line
for ((r = 1; r <= ROUNDS; r++)); do
    for cfg in prepared unnamed session pgbouncer; do
        case $cfg in
        prepared) start_svcs 1 "$DATABASE_URL" none ;;
        unnamed) start_svcs 1 "$DATABASE_URL" transaction ;;
        session) pgb session "$SESSION_POOL" && start_svcs 1 "$POOLED_URL" session ;;
        pgbouncer) pgb transaction "$POOL" && start_svcs 1 "$POOLED_URL" transaction ;;
        esac
        out=$W/create.$cfg.$r.out
        wrk_create "${svc_urls[0]}" 2 16 "$CREATE_S" "pgb-c-$cfg-$r" "$out"
        stop_all
        ok=$(field c201 "$out")
        rps=$((ok / CREATE_S))
        if [ "$rps" -gt "${best[$cfg]:-0}" ]; then
            best[$cfg]=$rps
            best_line[$cfg]=$(awk -v rps="$rps" '/^BENCHRESULT/ { for (i = 2; i <= NF; i++) {
                split($i, kv, "="); v[kv[1]] = kv[2] }
                printf "%s | %.2f | %.2f | %d", rps, v["p50_us"] / 1000, v["p99_us"] / 1000,
                    v["requests"] - v["c201"] }' "$out")
        fi
    done
done
printf '| named, prepared once per connection | PostgreSQL | %s |\n' "${best_line[prepared]}"
printf '| unnamed (PQexecParams) | PostgreSQL | %s |\n' "${best_line[unnamed]}"
printf '| named, prepared once per connection | PgBouncer, session mode | %s |\n' \
    "${best_line[session]}"
printf '| unnamed (PQexecParams) | PgBouncer, transaction mode | %s |\n' "${best_line[pgbouncer]}"
