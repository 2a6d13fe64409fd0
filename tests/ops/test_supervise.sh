#!/usr/bin/env bash
# tests/ops/test_supervise.sh - the local stack of `make run`, supervised (make check-supervise).
#
#   B=build tests/ops/test_supervise.sh
#
# Starts a private stack with scripts/run.sh in a temp RUN_DIR on free ports (never :8080;
# SEED=0; 1 write-svc, 2 redirect-svc, 1 event-worker, nginx) and checks, each counted:
#   1. a second scripts/run.sh starts nothing new (same supervisors, one Redis, one postmaster);
#   2. /livez and /readyz answer 200 {"status":"ok"} on every service and the front door;
#   3. under 25 s of redirects straight at both redirect-svc instances (no proxy retry):
#      a. Redis SIGKILLed: its supervisor starts it again within 5 s, from its AOF;
#      b. PostgreSQL SIGKILLed: started again within 10 s, after crash recovery;
#      c. Redis SIGKILLed with its supervisor paused for 2 s (so that the outage can be
#         observed): /readyz 503 naming "redis" on write-svc, redirect-svc, the event-worker
#         and the front door, every /livez 200 meanwhile; 200 again once it is back;
#      d. the same with PostgreSQL: /readyz 503 naming "database" on write-svc, the
#         event-worker and the front door; redirect-svc (no PostgreSQL) stays ready;
#      then every 302 answered has its click row, per link, each stream entry once (a
#      surplus, a click whose answer was lost with Redis, is reported, never a shortfall);
#   4. Redis stalled (SIGSTOP, as DEBUG SLEEP would): redirect-svc's /livez answers at once
#      (no Redis), its /readyz answers 503 within its Redis timeout (1 s);
#   5. scripts/stop.sh stops everything: exit 0, no supervisor, Redis or PostgreSQL left.
# Every wait is bounded; the EXIT trap stops the stack. The last line is
# "supervise: N passed, N failed"; exit 0 only when nothing failed.
#
# Env: B (build), KEEP_RUN_DIR=1 (keep the temp RUN_DIR and its logs).
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../../scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

B=${B:-build}
case $B in /*) ;; *) B=$REPO_ROOT/$B ;; esac
systest=$B/tests/system/systest
for b in write-svc redirect-svc event-worker; do
    [ -x "$B/bin/$b" ] || die "$B/bin/$b is not built (make all)"
done
[ -x "$systest" ] || die "$systest is not built"
for c in nginx redis-server redis-cli psql pg_isready curl; do
    command -v "$c" >/dev/null || die "$c not found (make deps)"
done
pg_bindir >/dev/null || die "PostgreSQL server binaries not found (make deps)"

export RUN_DIR
RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/supervise.XXXXXX")
chmod 755 "$RUN_DIR"
load_pid=

# shellcheck disable=SC2317  # the EXIT trap
on_exit() {
    [ -z "$load_pid" ] || kill -TERM "$load_pid" 2>/dev/null
    "$REPO_ROOT/scripts/stop.sh" >/dev/null 2>&1
    if [ "${KEEP_RUN_DIR:-0}" = 1 ] || [ "$failed" -gt 0 ]; then
        say "logs kept in $RUN_DIR/logs"
    else
        rm -rf "$RUN_DIR"
    fi
}
trap on_exit EXIT

# Seven consecutive free ports: write, redirect x2, worker, nginx, nginx status; PG and Redis.
base=
for _ in $(seq 1 20); do
    p=$(pick_free_port) || continue
    busy=0
    for i in 0 1 2 3 4 5 6 7; do port_busy $((p + i)) && busy=1; done
    [ "$busy" = 1 ] || {
        base=$p
        break
    }
done
[ -n "$base" ] || die "no run of 8 free ports"
export SEED=0 WRITE_INSTANCES=1 REDIRECT_INSTANCES=2 WORKERS=1 WRITE_PORT=$base \
    REDIRECT_PORT=$((base + 1)) WORKER_PORT=$((base + 3)) NGINX_PORT=$((base + 4)) \
    NGINX_STATUS_PORT=$((base + 5)) PG_PORT=$((base + 6)) REDIS_PORT=$((base + 7)) B
write=http://127.0.0.1:$WRITE_PORT
red1=http://127.0.0.1:$REDIRECT_PORT
red2=http://127.0.0.1:$((REDIRECT_PORT + 1))
worker=http://127.0.0.1:$WORKER_PORT
front=http://127.0.0.1:$NGINX_PORT
all_urls="$write $red1 $red2 $worker $front"
DATABASE_URL=postgresql://$(pg_os_user)@127.0.0.1:$PG_PORT/shortener

sql() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "$1"; }
rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
code_of() { curl -s -o /dev/null -m "${2:-3}" -w '%{http_code}' "$1"; }
body_of() { curl -s -m 3 "$1"; }
child() { head -n 1 "$RUN_DIR/pids/$1.child.pid" 2>/dev/null; }
sup() { head -n 1 "$RUN_DIR/pids/$1.pid" 2>/dev/null; }
redis_up() { [ "$(rcli ping 2>/dev/null)" = PONG ]; }
pg_up() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -t 1; }
all_ready() {
    local u
    for u in $all_urls; do [ "$(code_of "$u/readyz")" = 200 ] || return 1; done
}
all_live() {
    local u
    for u in $all_urls; do [ "$(code_of "$u/livez" 1)" = 200 ] || return 1; done
}
# missing_in URL NAME: /readyz answers 503 and its "missing" list names NAME.
missing_in() {
    local out
    out=$(curl -s -m 3 -w ' %{http_code}' "$1/readyz")
    [[ $out == *'"status":"unavailable"'*"\"$2\""*' 503' ]]
}

say "private stack in $RUN_DIR on ports $base-$((base + 7))"
if ! "$REPO_ROOT/scripts/run.sh" >"$RUN_DIR/run1.out" 2>&1; then
    cat "$RUN_DIR/run1.out" >&2
    not_ok "scripts/run.sh starts the stack"
    printf 'supervise: %d passed, %d failed\n' "$passed" "$failed"
    exit 1
fi
ok "scripts/run.sh starts the stack on free ports in a private RUN_DIR"

# --- 1. a second run starts nothing ---------------------------------------------------------
before=$(cat "$RUN_DIR"/pids/*.pid | sort | tr '\n' ' ')
check "a second scripts/run.sh succeeds" "$REPO_ROOT/scripts/run.sh" >"$RUN_DIR/run2.out" 2>&1
eq "a second scripts/run.sh starts no new supervisor or server" \
    "$(cat "$RUN_DIR"/pids/*.pid | sort | tr '\n' ' ')" "$before"
eq "one Redis on its port" "$(pgrep -fc "redis-server 127.0.0.1:$REDIS_PORT")" 1
eq "one postmaster on its data dir" "$(pgrep -fc "^$(pg_bindir)/postgres -D $RUN_DIR/pg/data")" 1

# --- 2. probes ---------------------------------------------------------------------------------
for u in $all_urls; do
    eq "GET $u/livez" "$(body_of "$u/livez")" '{"status":"ok"}'
    eq "GET $u/readyz" "$(body_of "$u/readyz")" '{"status":"ok"}'
done

# --- 3. kills under load -----------------------------------------------------------------------
codes=()
for i in 1 2 3 4; do
    codes+=("sv$$x$i")
    curl -s -o /dev/null -m 5 -H 'Content-Type: application/json' \
        -d "{\"original_url\":\"https://example.com/sv/$i\",\"short_code\":\"sv$$x$i\"}" \
        "$front/urls"
done
code_list=$(printf "'%s'," "${codes[@]}")
code_list=${code_list%,}
eq "4 links created" "$(sql "SELECT count(*) FROM urls WHERE short_code IN ($code_list)")" 4
out=$RUN_DIR/load.out
"$systest" load --url "$red1" --url "$red2" --paths "$(IFS=,; echo "${codes[*]}")" \
    --seconds 25 --connections 4 --rate 300 --timeout-ms 5000 >"$out" 2>"$out.err" &
load_pid=$!
sleep 3

# 3a/3b: SIGKILL, measure the time until the server answers again.
kill_and_time() {
    local name=$1 up=$2 limit=$3 t0 pid
    pid=$(child "$name")
    kill -KILL "$pid"
    t0=$(now_ms)
    sleep 0.2
    if wait_for "$limit" "$up"; then
        ok "$name SIGKILLed (pid $pid): answering again after $(($(now_ms) - t0)) ms (<= $limit s)"
    else
        not_ok "$name SIGKILLed (pid $pid): not back within $limit s"
    fi
    [ "$(child "$name")" != "$pid" ] || not_ok "$name: the supervisor did not start a new process"
}
kill_and_time redis redis_up 5
check "the read model survived the Redis restart (AOF)" test "$(rcli exists readmodel:complete)" = 1
check "every /readyz is 200 within 10 s of the Redis restart" wait_for 10 all_ready
sleep 2
kill_and_time postgres pg_up 10
check "every /readyz is 200 within 15 s of the PostgreSQL restart" wait_for 15 all_ready
sleep 1

# 3c/3d: the same with the supervisor paused, to observe the outage.
outage() {
    local name=$1 what=$2 up=$3 s u
    shift 3
    s=$(sup "$name")
    kill -STOP "$s"
    kill -KILL "$(child "$name")"
    for u in "$@"; do
        check "$name down: $u/readyz is 503 naming \"$what\"" wait_for 8 missing_in "$u" "$what"
    done
    check "$name down: every /livez is 200" all_live
    kill -CONT "$s"
    check "$name back within 10 s of its supervisor resuming" wait_for 10 "$up"
    check "$name back: every /readyz is 200 within 15 s" wait_for 15 all_ready
}
outage redis redis redis_up "$write" "$red1" "$red2" "$worker" "$front"
eq "redis down: redirect-svc stays ready without PostgreSQL" "$(code_of "$red1/readyz")" 200
outage postgres database pg_up "$write" "$worker" "$front"

wait "$load_pid"
rc=$?
load_pid=
eq "the load tool finished" "$rc" 0
n302=$(awk '$1 == "status" && $2 == 302 { print $3 }' "$out")
say "load: $(tr '\n' ' ' <"$out")"
check "redirects were answered 302 during the kills" test "${n302:-0}" -gt 1000
clicks_total() {
    sql "SELECT count(*) FROM events e JOIN urls u ON u.id = e.url_id
         WHERE e.event_type = 'click' AND u.short_code IN ($code_list)"
}
clicks_reach() { [ "$(clicks_total)" -ge "$1" ]; }
check "click rows reach the $n302 redirects answered within 60 s" wait_for 60 clicks_reach "${n302:-1}"
short=$(sql "SELECT u.short_code, count(e.id) FROM urls u LEFT JOIN events e ON e.url_id = u.id
             AND e.event_type = 'click' WHERE u.short_code IN ($code_list) GROUP BY 1" |
    tr '|' ' ' | while read -r c n; do
        want=$(awk -v c="$c" '$1 == "path" && $2 == c { print $3 }' "$out")
        [ "$n" -ge "${want:-0}" ] || echo "$c:$n<${want:-0}"
    done)
eq "every link has a click row for each of its 302s" "$short" ""
eq "no stream entry stored twice" \
    "$(sql "SELECT count(*) - count(DISTINCT stream_shard || ':' || stream_ms || '-' || stream_seq || '/' || stream_idx) FROM events WHERE event_type = 'click'")" 0
say "clicks stored $(clicks_total) for $n302 redirects answered (a surplus is a click whose" \
    "answer was lost when Redis died)"

# --- 4. a stalled Redis --------------------------------------------------------------------------
# SIGSTOP: Redis accepts connections (the kernel does) but answers nothing, like DEBUG SLEEP
# (which Redis 7 refuses unless enable-debug-command is set).
rpid=$(child redis)
kill -STOP "$rpid"
t0=$(now_ms)
eq "Redis stalled: redirect-svc /livez is 200" "$(code_of "$red1/livez" 1)" 200
t=$(($(now_ms) - t0))
check "Redis stalled: redirect-svc /livez took $t ms (< 500, no Redis involved)" test "$t" -lt 500
t0=$(now_ms)
eq "Redis stalled: redirect-svc /readyz is 503" "$(code_of "$red2/readyz" 3)" 503
t=$(($(now_ms) - t0))
check "Redis stalled: redirect-svc /readyz gave up after $t ms (< 2000)" test "$t" -lt 2000
kill -CONT "$rpid"
check "Redis resumed: every /readyz is 200 within 10 s" wait_for 10 all_ready

# --- 5. stop -------------------------------------------------------------------------------------
sups=$(cat "$RUN_DIR"/pids/*.pid | tr '\n' ' ')
check "scripts/stop.sh exits 0" "$REPO_ROOT/scripts/stop.sh" >"$RUN_DIR/stop.out" 2>&1
left=
# A zombie does not count: the reaper (PID 1) may be slow, or absent in a container.
for p in $sups; do
    st=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    st=${st##*) }
    [ "${st:0:1}" = Z ] || left+="$p "
done
eq "nothing left running after scripts/stop.sh" "$left" ""
check "Redis stopped" bash -c "! redis-cli -h 127.0.0.1 -p $REDIS_PORT ping >/dev/null 2>&1"
check "PostgreSQL stopped" bash -c "! pg_isready -q -h 127.0.0.1 -p $PG_PORT"

printf 'supervise: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" = 0 ]
