#!/usr/bin/env bash
# tests/e2e/run.sh - the end-to-end HTTP suite ($B/tests/e2e/test_api) against a real write-svc.
#
#   B=build tests/e2e/run.sh        from the repository root (B defaults to build;
#                                   B=build-asan for the SANITIZE=address,undefined build)
#
# Outside the harness it checks that the binaries exist and runs itself again under
# tests/harness.sh (a throw-away PostgreSQL and Redis). Inside, it:
#   1. starts $B/bin/write-svc on a free port with READMODEL_CHECK_MS=200 and EVENTS_WAIT_MS=0
#      (no event-worker runs yet), stderr to $HARNESS_DIR/write-svc.log, and waits (bounded)
#      until GET /health answers 200;
#   2. runs test_api with E2E_MODE=empty, then tests/e2e/test_qr.py (QR codes decoded with
#      zbarimg; write-svc runs with PUBLIC_BASE_URL=https://sho.rt/e2e/);
#   3. empties the tables (TRUNCATE ... RESTART IDENTITY), loads schema/seed with
#      scripts/seed.sh and waits (bounded) until write-svc has rebuilt the read model, i.e.
#      until Redis holds the marker readmodel:complete again;
#   4. runs test_api with E2E_MODE=seeded;
#   5. stops write-svc with SIGTERM: it must exit 0 within E2E_STOP_TIMEOUT seconds, and its
#      log must hold no "ERROR: AddressSanitizer", "runtime error:" or "LeakSanitizer".
# write-svc is killed on every exit path. test_api gets WRITE_URL, REDIS_URL, DATABASE_URL,
# E2E_MODE, STREAM_SHARDS and E2E_SEED_DIR, and runs from the repository root.
#
# The last line is "e2e: N passed, N failed": the cmocka tests of both runs, plus one failure
# for a step of the runner itself that failed (start-up, seeding, shutdown, sanitizer report).
# Exit status 0 only when nothing failed. When PostgreSQL or Redis is not installed the harness
# prints SKIP and this prints "e2e: 0 passed, 0 failed" (under CI=true the harness fails).
#
# With E2E_PGBOUNCER=1 (make check-pgbouncer) write-svc reaches PostgreSQL through a PgBouncer
# in transaction mode with default_pool_size 3, fewer server connections than write-svc's 8
# handles, so consecutive transactions of a handle run on different server sessions
# (pgb_start in scripts/lib.sh), and runs with PG_POOLER=transaction; test_api's own checks
# still go to PostgreSQL directly.
#
# Env: B, STREAM_SHARDS (default 8), E2E_TIMEOUT (seconds per test_api run, default 600),
# E2E_STOP_TIMEOUT (default 15), KEEP_HARNESS=1 (keep the temp dir with the logs).
set -euo pipefail

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/${BASH_SOURCE[0]##*/}
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib.sh
. "$(dirname "$self")/../../scripts/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$self")/../lib.sh"

B=${B:-build}
case $B in
/*) ;;
*) B=$REPO_ROOT/$B ;;
esac
svc_bin=$B/bin/write-svc
test_bin=$B/tests/e2e/test_api
shards=${STREAM_SHARDS:-8}
# A base with a path and a trailing slash: QR codes must hold https://sho.rt/e2e/<code>.
public_base=https://sho.rt/e2e/

# ---------------------------------------------------------------------------------------
# Inside the harness
# ---------------------------------------------------------------------------------------

passed=0
failed=0
suites_done=0
svc_pid=
test_pid=
WRITE_URL=
svc_db_url=
svc_pooler=none

# Stops write-svc: SIGTERM, a bounded wait, then SIGKILL. Sets stop_rc to its exit status
# (137 when it had to be killed).
stop_svc() {
    local i limit=$((${E2E_STOP_TIMEOUT:-15} * 10))
    stop_rc=0
    [ -n "$svc_pid" ] || return 0
    kill -TERM "$svc_pid" 2>/dev/null || true
    for ((i = 0; i < limit; i++)); do
        kill -0 "$svc_pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$svc_pid" 2>/dev/null; then
        warn "write-svc (pid $svc_pid) did not stop within ${E2E_STOP_TIMEOUT:-15} s: killing it"
        kill -KILL "$svc_pid" 2>/dev/null || true
    fi
    wait "$svc_pid" 2>/dev/null || stop_rc=$?
    svc_pid=
}

# Called only from the trap, which shellcheck does not follow.
# shellcheck disable=SC2317
inside_exit() {
    local status=$?
    trap - EXIT INT TERM
    if [ -n "$test_pid" ]; then
        kill -TERM "$test_pid" 2>/dev/null || true
        wait "$test_pid" 2>/dev/null || true
    fi
    if [ -n "$svc_pid" ]; then
        stop_svc
    fi
    pgb_stop "$HARNESS_DIR/pgbouncer"
    if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
        failed=1
    fi
    if [ "$status" -ne 0 ] && [ "$suites_done" = 0 ] && [ -s "${log:-}" ]; then
        say "last lines of $log:"
        tail -n 20 "$log" >&2 || true
    fi
    printf '%s %s\n' "$passed" "$failed" >"$E2E_RESULT"
    exit "$status"
}

health_ok() {
    curl -fsS --max-time 2 "$WRITE_URL/health" 2>/dev/null | grep -q '"status" *: *"ok"'
}

# Starts write-svc on a free port and waits for /health; another port when the bind lost a race.
start_svc() {
    local tries i
    for tries in 1 2 3 4 5; do
        local port
        port=$(pick_free_port) || die "no free port for write-svc"
        WRITE_URL=http://127.0.0.1:$port
        printf '=== write-svc on port %s (try %s)\n' "$port" "$tries" >>"$log"
        DATABASE_URL=${svc_db_url:-$DATABASE_URL} PG_POOLER=$svc_pooler REDIS_URL=$REDIS_URL \
            BIND_ADDR=127.0.0.1 PORT=$port STREAM_SHARDS=$shards READMODEL_CHECK_MS=200 EVENTS_WAIT_MS=0 LOG_LEVEL=info \
            PUBLIC_BASE_URL=$public_base BLOCKLIST_FILE="$REPO_ROOT/tests/e2e/blocklist.txt" \
            "$svc_bin" 2>>"$log" >/dev/null &
        svc_pid=$!
        for ((i = 0; i < 300; i++)); do
            health_ok && return 0
            kill -0 "$svc_pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$svc_pid" 2>/dev/null; then
            die "write-svc did not answer GET /health within 30 s"
        fi
        stop_svc
        grep -qi 'address already in use' "$log" || die "write-svc exited at start-up ($stop_rc)"
        say "port race for write-svc, retrying"
    done
    die "write-svc did not start after 5 tries"
}

# Runs test_api once and adds its counts. It runs in the background (timeout puts it in a
# process group of its own) with its output streamed by tail, so that an INT or TERM reaches
# our trap at once and inside_exit can stop it.
run_suite() {
    local mode=$1 out rc=0 p f tail_pid
    out=$HARNESS_DIR/test_api.$mode.out
    printf '=== test_api E2E_MODE=%s against %s\n' "$mode" "$WRITE_URL"
    : >"$out"
    (cd "$REPO_ROOT" && WRITE_URL=$WRITE_URL REDIS_URL=$REDIS_URL DATABASE_URL=$DATABASE_URL \
        E2E_MODE=$mode STREAM_SHARDS=$shards E2E_SEED_DIR=$REPO_ROOT/schema/seed \
        exec timeout "${E2E_TIMEOUT:-600}" "$test_bin") >"$out" 2>&1 &
    test_pid=$!
    tail -n +1 -s 0.2 -f --pid="$test_pid" "$out" &
    tail_pid=$!
    wait "$test_pid" || rc=$?
    test_pid=
    wait "$tail_pid" 2>/dev/null || true
    cmocka_tally "test_api ($mode)" "$out" "$rc"
}

# Runs tests/e2e/test_qr.py (QR codes decoded with zbarimg) and adds its counts.
run_qr() {
    local out=$HARNESS_DIR/test_qr.out rc=0
    printf '=== test_qr.py against %s\n' "$WRITE_URL"
    (cd "$REPO_ROOT" && WRITE_URL=$WRITE_URL PUBLIC_BASE_URL=$public_base \
        timeout "${E2E_TIMEOUT:-600}" python3 tests/e2e/test_qr.py) >"$out" 2>&1 || rc=$?
    cat "$out"
    cmocka_tally "test_qr.py" "$out" "$rc"
}

# E2E_PGBOUNCER=1: PgBouncer on a free port (another one when the bind lost a race).
start_pgbouncer() {
    local tries port
    for tries in 1 2 3 4 5; do
        port=$(pick_free_port) || die "no free port for PgBouncer"
        # shellcheck disable=SC2153 # PG_PORT comes from tests/harness.sh
        if pgb_start "$HARNESS_DIR/pgbouncer" "$port" "$PG_PORT" transaction 3; then
            svc_db_url=postgresql://$(pg_os_user)@127.0.0.1:$port/shortener
            svc_pooler=transaction
            printf '=== write-svc through PgBouncer (transaction mode) on port %s\n' "$port"
            return 0
        fi
        pgb_stop "$HARNESS_DIR/pgbouncer"
    done
    die "PgBouncer did not start ($HARNESS_DIR/pgbouncer/pgbouncer.log)"
}

redis_marker() {
    [ "$(redis-cli -u "$REDIS_URL" EXISTS readmodel:complete 2>/dev/null)" = 1 ]
}

reseed() {
    psql -X -q -v ON_ERROR_STOP=1 --no-psqlrc -d "$DATABASE_URL" \
        -c 'TRUNCATE users, urls, events RESTART IDENTITY CASCADE' || die "TRUNCATE failed"
    "$REPO_ROOT/scripts/seed.sh" || die "scripts/seed.sh failed"
    wait_until 30 redis_marker || die "read model not rebuilt within 30 s after seeding"
}

inside() {
    : "${HARNESS_DIR:?}" "${DATABASE_URL:?}" "${REDIS_URL:?}" "${E2E_RESULT:?}" "${PG_PORT:?}"
    log=$HARNESS_DIR/write-svc.log
    trap inside_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    [ "${E2E_PGBOUNCER:-0}" = 1 ] && start_pgbouncer
    start_svc
    run_suite empty
    run_qr
    reseed
    run_suite seeded
    suites_done=1

    stop_svc
    if [ "$stop_rc" -ne 0 ]; then
        failed=$((failed + 1))
        say "write-svc exited with status $stop_rc after SIGTERM (expected 0)"
    fi
    if grep -nE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$log" >&2; then
        failed=$((failed + 1))
        say "sanitizer report in the write-svc log (above)"
    fi
    [ "$failed" -eq 0 ]
}

# ---------------------------------------------------------------------------------------
# Outside: check the binaries, run the harness, print the totals
# ---------------------------------------------------------------------------------------

outside() {
    local result rc=0
    [ -x "$svc_bin" ] || die "$svc_bin is not built (make all)"
    [ -x "$test_bin" ] || die "$test_bin is not built (make ${B#"$REPO_ROOT"/}/tests/e2e/test_api)"
    command -v curl >/dev/null || die "curl not found (apt-get install curl)"
    command -v zbarimg >/dev/null || die "zbarimg not found (apt-get install zbar-tools)"
    if [ "${E2E_PGBOUNCER:-0}" = 1 ] && ! command -v pgbouncer >/dev/null; then
        skip_or_fail "pgbouncer not found (apt-get install pgbouncer)"
    fi
    result=$(mktemp "${TMPDIR:-/tmp}/e2e-result.XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -f '$result'" EXIT
    E2E_RESULT=$result B=$B "$REPO_ROOT/tests/harness.sh" bash "$self" --inside || rc=$?
    summary_from_file e2e "$result" "$rc"
}

if [ "${1:-}" = --inside ]; then
    inside
else
    outside
fi
