#!/usr/bin/env bash
# tests/pgbouncer/test_pgbouncer.sh - write-svc through a real PgBouncer in transaction mode.
#
#   tests/pgbouncer/test_pgbouncer.sh        (starts its own servers via tests/harness.sh)
#   B=build-asan tests/pgbouncer/test_pgbouncer.sh
#
# Debian's pgbouncer (1.18) on a free loopback port (pgb_start, scripts/lib.sh) in
# pool_mode=transaction with default_pool_size 2, in front of the harness's PostgreSQL; one
# write-svc with PG_POOL_SIZE=8 and HTTP_THREADS=8 behind it. Checks:
#   1. control: PG_POOLER=none through PgBouncer cannot start (PgBouncer refuses the
#      statement_timeout startup option), so what follows depends on PG_POOLER=transaction;
#   2. 240 POST /urls, 16 at a time, all 201: 8 handles share 2 server sessions, so named
#      prepared statements would fail ("prepared statement ... does not exist/already exists");
#   3. PostgreSQL holds at most 2 sessions for it meanwhile (pg_stat_activity);
#   4. statement_timeout on those sessions is PgBouncer's connect_query's (5 s);
#   5. three read-model rebuilds (marker deleted) while 160 creates run, 8 at a time: each
#      within 10 s, every create 201, no advisory lock left held, then one more rebuild holds
#      all 400 links (the rebuild's lock is transaction-scoped: a session lock taken on one
#      server session could be "released" on another and stay held, blocking the creates;
#      PgBouncer tends to hand a lone client the same session again, so the old session lock
#      did not fail here every time: this checks the outcome, not the race);
#   6. PgBouncer SIGKILLed while write-svc serves: POST /urls answers 503 JSON within 5 s,
#      /livez 200, /readyz 503 naming the database; PgBouncer restarted on the same port:
#      write-svc (same process) answers 201 again within 10 s, and 80 concurrent creates pass;
#   7. deploy/pgbouncer/entrypoint.sh (the image's configuration from DATABASE_URL, run here as
#      the PostgreSQL OS user on loopback): SCRAM login with the URL's escaped password, a
#      wrong one refused, statement_timeout and pool mode as set, write-svc's creates through
#      it, SIGINT stops it;
#   8. a session-mode PgBouncer with PG_POOLER=session: concurrent creates, and the
#      statement_timeout write-svc SETs after connecting cuts a create stalled on a lock.
# Every wait is bounded (about 30 s in all). Prints "pgbouncer: N passed, N failed".
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -z "${HARNESS_DIR:-}" ]; then
    command -v pgbouncer >/dev/null || {
        # shellcheck source-path=SCRIPTDIR source=../../scripts/lib.sh
        . "$here/../../scripts/lib.sh"
        skip_or_fail "pgbouncer not found (apt-get install pgbouncer)"
    }
    exec "$here/../harness.sh" "${BASH_SOURCE[0]}" "$@"
fi
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib.sh
. "$here/../../scripts/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$here/../lib.sh"

B=${B:-build}
BIN=$REPO_ROOT/$B/bin/write-svc
[ -x "$BIN" ] || die "no write-svc at $BIN (make all)"
PGB_DIR=$HARNESS_DIR/pgbouncer
PGB_POOL=2
: "${PG_PORT:?}" "${DATABASE_URL:?}" "${REDIS_URL:?}"
svc_pid=
ep_pid=
svc_log=$HARNESS_DIR/write-svc.log

# shellcheck disable=SC2317 # called from the trap
finish() {
    [ -n "$svc_pid" ] && kill -TERM "$svc_pid" 2>/dev/null && wait "$svc_pid" 2>/dev/null
    pgb_stop "$PGB_DIR"
    pgb_stop "$HARNESS_DIR/pgb-session"
    [ -n "$ep_pid" ] && kill -KILL "$ep_pid" 2>/dev/null
    if grep -nE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$svc_log" 2>/dev/null; then
        not_ok "no sanitizer report in the write-svc log"
    fi
    printf 'pgbouncer: %d passed, %d failed\n' "$passed" "$failed"
    [ "$failed" -eq 0 ]
    exit
}
trap finish EXIT

sql() { psql -X -q -At --no-psqlrc -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -c "$1"; }

pgb_port=
for _ in 1 2 3 4 5; do
    pgb_port=$(pick_free_port) || die "no free port"
    pgb_start "$PGB_DIR" "$pgb_port" "$PG_PORT" transaction "$PGB_POOL" 5000 && break
    pgb_stop "$PGB_DIR"
    pgb_port=
done
[ -n "$pgb_port" ] || die "PgBouncer did not start ($PGB_DIR/pgbouncer.log)"
POOLED_URL=postgresql://$(pg_os_user)@127.0.0.1:$pgb_port/shortener
svc_port=$(pick_free_port) || die "no free port"
W=http://127.0.0.1:$svc_port

run_svc() {
    env DATABASE_URL="$POOLED_URL" REDIS_URL="$REDIS_URL" BIND_ADDR=127.0.0.1 PORT="$svc_port" \
        PG_POOL_SIZE=8 HTTP_THREADS=8 READMODEL_CHECK_MS=100 EVENTS_WAIT_MS=0 "$@" "$BIN" \
        2>>"$svc_log" >/dev/null &
    svc_pid=$!
}

# --- 1. the control ---------------------------------------------------------------------
run_svc PG_POOLER=none
if wait_for 10 sh -c "! kill -0 $svc_pid"; then
    wait "$svc_pid" 2>/dev/null
    ok "1 PG_POOLER=none through PgBouncer exits at start-up"
else
    kill -KILL "$svc_pid" 2>/dev/null
    wait "$svc_pid" 2>/dev/null
    not_ok "1 PG_POOLER=none through PgBouncer exits at start-up"
fi
svc_pid=
check "1 ... because PgBouncer refused the options startup parameter" \
    grep -q 'unsupported startup parameter: options' "$svc_log"

# --- 2. concurrent writes through 2 server sessions -------------------------------------
run_svc PG_POOLER=transaction
wait_for 15 svc_health "$svc_port" || die "write-svc did not become healthy ($svc_log)"

# creates N P TAG: N POST /urls, P at a time; prints the status codes sorted and counted.
creates() {
    seq 1 "$1" | xargs -P "$2" -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 \
        -H 'Content-Type: application/json' \
        -d "{\"original_url\":\"https://pgb.example.com/$3/{}\"}" "$W/urls" | sort | uniq -c |
        awk '{ printf "%s:%s ", $2, $1 }'
}

# Samples the sessions PostgreSQL holds for PgBouncer (every client backend but ours) while
# the creates run; the highest count is left in $HARNESS_DIR/max_sessions.
sample_sessions() {
    local max=0 n
    while [ ! -f "$HARNESS_DIR/creates.done" ]; do
        n=$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname = 'shortener'
                 AND backend_type = 'client backend' AND pid <> pg_backend_pid()")
        [ "${n:-0}" -gt "$max" ] && max=$n
        sleep 0.05
    done
    echo "$max" >"$HARNESS_DIR/max_sessions"
}
sample_sessions &
sampler=$!
got=$(creates 240 16 a)
touch "$HARNESS_DIR/creates.done"
wait "$sampler"
eq "2 240 concurrent POST /urls through PgBouncer all answer 201" "$got" "201:240 "
eq "2 ... and 240 links stored" \
    "$(sql "SELECT count(*) FROM urls WHERE original_url LIKE 'https://pgb.example.com/a/%'")" 240

# --- 3, 4. the server side --------------------------------------------------------------
max=$(cat "$HARNESS_DIR/max_sessions")
check "3 PostgreSQL held at most $PGB_POOL sessions for 8 write-svc handles (saw $max)" \
    test "$max" -ge 1 -a "$max" -le "$PGB_POOL"
eq "4 statement_timeout of PgBouncer's server sessions" \
    "$(psql -X -At --no-psqlrc -d "$POOLED_URL" -c 'SHOW statement_timeout')" 5s

# --- 5. read-model rebuilds -------------------------------------------------------------
marker() { [ "$(redis-cli -u "$REDIS_URL" EXISTS readmodel:complete)" = 1 ]; }
creates 160 8 r >"$HARNESS_DIR/rebuild-creates" &
bg=$!
for i in 1 2 3; do
    redis-cli -u "$REDIS_URL" DEL readmodel:complete >/dev/null
    check "5 read-model rebuild $i through PgBouncer, creates running, within 10 s" \
        wait_for 10 marker
done
wait "$bg"
eq "5 the 160 creates around the rebuilds all answer 201" \
    "$(cat "$HARNESS_DIR/rebuild-creates")" "201:160 "
eq "5 no advisory lock left held after the rebuilds" \
    "$(sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" 0
redis-cli -u "$REDIS_URL" DEL readmodel:complete >/dev/null
check "5 one more rebuild, idle, within 10 s" wait_for 10 marker
eq "5 the rebuilt read model holds the 400 links" \
    "$(redis-cli -u "$REDIS_URL" --scan --pattern 'url:*' | wc -l)" 400

# --- 6. PgBouncer killed and restarted --------------------------------------------------
pgb_stop "$PGB_DIR" KILL
wait_for 5 sh -c "! pg_isready -q -h 127.0.0.1 -p $pgb_port" || die "PgBouncer did not die"
t0=$(now_ms)
body=$(curl -s -w ' %{http_code}' --max-time 10 -H 'Content-Type: application/json' \
    -d '{"original_url":"https://pgb.example.com/down"}' "$W/urls")
t=$(($(now_ms) - t0))
eq "6 PgBouncer down: POST /urls answers 503" "${body##* }" 503
check "6 ... with a JSON error (${body% *})" grep -q '"error"' <<<"$body"
check "6 ... within 5 s (${t} ms)" test "$t" -lt 5000
eq "6 ... /livez still 200" "$(curl -s -o /dev/null -w '%{http_code}' "$W/livez")" 200
check "6 ... /readyz 503 naming the database" \
    sh -c "curl -s '$W/readyz' | grep -q database"
pgb_start "$PGB_DIR" "$pgb_port" "$PG_PORT" transaction "$PGB_POOL" 5000 ||
    die "PgBouncer did not restart on port $pgb_port"
one_create() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'Content-Type: application/json' \
        -d '{"original_url":"https://pgb.example.com/back"}' "$W/urls")" = 201 ]
}
t0=$(now_ms)
if wait_for 10 one_create; then
    ok "6 PgBouncer back: POST /urls 201 again within 10 s ($(($(now_ms) - t0)) ms), same write-svc"
else
    not_ok "6 PgBouncer back: POST /urls 201 again within 10 s, same write-svc"
fi
check "6 ... write-svc was not restarted" kill -0 "$svc_pid"
eq "6 ... 80 concurrent creates after the restart all answer 201" "$(creates 80 16 b)" "201:80 "

# --- 7. deploy/pgbouncer/entrypoint.sh (the image's configuration) ----------------------
# Run as the PostgreSQL OS user on loopback, with a password: the harness's PostgreSQL trusts
# PgBouncer's login, so this checks what the entrypoint writes (SCRAM for clients, the
# statement_timeout, the pool mode) and that write-svc works through it.
kill -TERM "$svc_pid" 2>/dev/null && wait "$svc_pid" 2>/dev/null
svc_pid=
ep_dir=$HARNESS_DIR/pgb-image
mkdir -p "$ep_dir"
[ "$(id -u)" = 0 ] && chown "$(pg_os_user)" "$ep_dir"
ep_port=$(pick_free_port) || die "no free port"
as_pg env DATABASE_URL="postgresql://$(pg_os_user):s%40cret@127.0.0.1:$PG_PORT/shortener" \
    PGBOUNCER_PORT="$ep_port" PGBOUNCER_LISTEN_ADDR=127.0.0.1 PGBOUNCER_CONF_DIR="$ep_dir" \
    PGBOUNCER_POOL_SIZE=2 PGBOUNCER_STATEMENT_TIMEOUT_MS=7000 \
    "$REPO_ROOT/deploy/pgbouncer/entrypoint.sh" >"$ep_dir/stdout" 2>"$ep_dir/stderr" &
ep_wrapper=$!
check "7 the image's entrypoint starts PgBouncer" \
    wait_for 10 pg_isready -q -h 127.0.0.1 -p "$ep_port" -U "$(pg_os_user)"
# PgBouncer's own pid (as_pg's runuser does not pass signals on): what the finish trap stops.
ep_pid=$(cat "$ep_dir/pgbouncer.pid" 2>/dev/null)
EP_URL=postgresql://$(pg_os_user):s%40cret@127.0.0.1:$ep_port/shortener
eq "7 ... the password (s@cret, escaped in DATABASE_URL) logs in; statement_timeout 7 s" \
    "$(psql -X -At --no-psqlrc -d "$EP_URL" -c 'SHOW statement_timeout' 2>&1)" 7s
check "7 ... a wrong password is refused" \
    sh -c "! psql -X -At --no-psqlrc -d 'postgresql://$(pg_os_user):wrong@127.0.0.1:$ep_port/shortener' -c 'SELECT 1' 2>/dev/null"
check "7 ... pool_mode transaction (SHOW POOLS on the admin console)" sh -c \
    "psql -X -At --no-psqlrc -d 'postgresql://$(pg_os_user):s%40cret@127.0.0.1:$ep_port/pgbouncer' -c 'SHOW POOLS' | grep -q '|transaction$'"
POOLED_URL=$EP_URL
run_svc PG_POOLER=transaction
wait_for 15 svc_health "$svc_port" || die "write-svc did not become healthy ($svc_log)"
eq "7 ... write-svc through it: 40 concurrent creates all answer 201" "$(creates 40 8 c)" "201:40 "
kill -TERM "$svc_pid" 2>/dev/null && wait "$svc_pid" 2>/dev/null
svc_pid=
kill -INT "$ep_pid" 2>/dev/null
check "7 ... SIGINT (the image's STOPSIGNAL) stops it within 5 s" \
    wait_for 5 sh -c "! kill -0 $ep_pid 2>/dev/null"
kill -KILL "$ep_pid" 2>/dev/null
wait "$ep_wrapper" 2>/dev/null
ep_pid=

# --- 8. a session-mode PgBouncer and PG_POOLER=session ----------------------------------
# Named statements stay (each handle keeps its server session); statement_timeout is SET
# after connecting. PG_STATEMENT_TIMEOUT_MS=300 against a 2 s lock stall proves the SET: a
# create then fails after 300 ms instead of answering 201 after the stall.
SES_DIR=$HARNESS_DIR/pgb-session
ses_port=$(pick_free_port) || die "no free port"
pgb_start "$SES_DIR" "$ses_port" "$PG_PORT" session 10 5000 ||
    die "session-mode PgBouncer did not start ($SES_DIR/pgbouncer.log)"
POOLED_URL=postgresql://$(pg_os_user)@127.0.0.1:$ses_port/shortener
run_svc PG_POOLER=session PG_STATEMENT_TIMEOUT_MS=300
wait_for 15 svc_health "$svc_port" || die "write-svc (session mode) did not become healthy"
eq "8 session-mode PgBouncer, PG_POOLER=session: 80 concurrent creates all answer 201" \
    "$(creates 80 8 s)" "201:80 "
lock=$(sed -n 's/^#define STORE_READMODEL_LOCK \([0-9]*\)$/\1/p' "$REPO_ROOT/write-svc/store.h")
psql -X -q --no-psqlrc -d "$DATABASE_URL" -c "BEGIN" -c "SELECT pg_advisory_xact_lock($lock)" \
    -c "SELECT pg_sleep(2)" -c "COMMIT" >/dev/null &
stall=$!
sleep 0.3
t0=$(now_ms)
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'Content-Type: application/json' \
    -d '{"original_url":"https://pgb.example.com/stalled"}' "$W/urls")
t=$(($(now_ms) - t0))
wait "$stall"
check "8 ... the SET statement_timeout (300 ms) cuts a create stalled on a lock (got $code in $t ms)" \
    test "$code" != 201 -a "$t" -lt 1500
kill -TERM "$svc_pid" 2>/dev/null && wait "$svc_pid" 2>/dev/null
svc_pid=
pgb_stop "$SES_DIR"
