#!/usr/bin/env bash
# tests/system/run.sh - the system suite: the whole product (write-svc, redirect-svc and
# event-worker, two instances each, under scripts/supervise.sh; nginx in front from
# deploy/nginx.conf.in; real PostgreSQL and Redis) checked end to end.
#
#   B=build tests/system/run.sh        from anywhere (B defaults to build; B=build-asan for
#                                      the SANITIZE=address,undefined build)
#
# Outside the harness it checks the binaries and runs itself again under tests/harness.sh (a
# throw-away PostgreSQL and Redis on free ports). Inside, it loads the seed, starts the stack
# on free ports (HARNESS_DIR/run holds the supervisors' pid files and the services' logs),
# waits (bounded) until every instance is healthy, and then proves, each as named checks:
#   1. a redirect answers 302 with Location byte-exact and Cache-Control: private, max-age=0,
#      and its click is listed at once (read-your-writes) with the right values (systest flows);
#   2. HEAD, inactive, reactivated, re-pointed, deleted, unknown links and a deleted owner
#      (systest flows);
#   3. read-your-writes with two event-workers through both write-svc instances (systest flows);
#   4. 20000 redirects (systest load) while every event-worker is SIGKILLed twice and
#      PostgreSQL restarts once: click rows == 302s answered, per link, no duplicate stream id;
#   5. Redis stopped: 503 from redirects and URL writes with PostgreSQL unchanged, user reads
#      200; Redis back empty: read model rebuilt, links redirect, clicks stored, and an
#      instance idle through the outage answers correctly from its first request (redirects
#      302, event reads with every click answered before them), URL writes 200 (systest redis);
#   6. GET redirects through nginx while one redirect-svc instance, then the other, is
#      SIGKILLed (and restarted by its supervisor): no answer but 302, no socket error;
#   7. rate limits across two more write-svc instances, trusted and untrusted proxies, and
#   8. a redirect loop through nginx records no click (both in tests/system/checks_abuse.sh);
#  10. batched and single-click entries (CLICK_BATCH) racing on exact caps, checked in the
#      streams, and
#  11. a frozen or slow (DEBUG SLEEP) Redis stalls neither /livez nor /metrics, and
#  12. near-cache coherence under writes with 200 connections on two instances, exact clicks
#      in PostgreSQL (all three in tests/system/checks_redirect.sh);
#   9. (run before 5) a bad-input barrage: SYSTEM_BARRAGE (12000) hostile requests from a fixed
#      seed (tests/system/barrage.py) through nginx and straight at write-svc, redirect-svc and
#      an event-worker's health port: no 5xx, no hang over 5 s, every error body JSON, every
#      service healthy afterwards, rows == rows before + the barrage's 201s, earlier rows
#      unchanged;
# then stops the stack (each service must exit 0 on SIGTERM) and searches every log for
# "ERROR: AddressSanitizer", "runtime error:" and "LeakSanitizer". Every wait is bounded and
# every process started here is stopped on any exit (trap).
#
# The last line is "system: N passed, N failed" (the cmocka tests plus the checks made here);
# the exit status is 0 only when nothing failed. Without PostgreSQL or Redis the harness
# prints SKIP and this prints "system: 0 passed, 0 failed" (under CI=true the harness fails).
#
# Env: B, SYSTEM_CLICKS (20000, check 4), SYSTEM_BARRAGE (12000, check 9), SYSTEM_RATE (2500 redirects/s in check 4),
#   SYSTEM_TIMEOUT (600 s for the whole inside run), SYSTEM_ONLY=barrage (start, check 9, stop) or redirect (checks 10-12), KEEP_HARNESS=1 (keep the temp dir and
#   its logs).
set -uo pipefail

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/${BASH_SOURCE[0]##*/}
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib.sh
. "$(dirname "$self")/../../scripts/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$self")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=checks_abuse.sh
. "$(dirname "$self")/checks_abuse.sh"
# shellcheck source-path=SCRIPTDIR source=checks_redirect.sh
. "$(dirname "$self")/checks_redirect.sh"

B=${B:-build}
case $B in
/*) ;;
*) B=$REPO_ROOT/$B ;;
esac
bin_dir=$B/bin
systest=$B/tests/system/systest
clicks_n=${SYSTEM_CLICKS:-20000}
rate=${SYSTEM_RATE:-2500}
shards=8

# ---------------------------------------------------------------------------------------
# Inside the harness
# ---------------------------------------------------------------------------------------

passed=0
failed=0
declare -A sup=()  # service name -> supervisor pid
declare -A port=() # service name -> port (event-workers: read from their log)
used_ports=" "
bg_pids=()         # load tools running in the background
nginx_pid_file=


phase_start() {
    phase_t0=$(now_ms)
    printf '=== %s\n' "$1"
}
phase_end() { printf '    (%s: %d ms)\n' "$1" $(($(now_ms) - phase_t0)); }

sql() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "$1"; }
rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

# A free port that none of ours uses yet.
new_port() {
    local p
    while :; do
        p=$(pick_free_port) || return 1
        case $used_ports in *" $p "*) continue ;; esac
        used_ports+="$p "
        printf '%s\n' "$p"
        return 0
    done
}

child_pid() { head -n 1 "$RUN/pids/$1.child.pid" 2>/dev/null; }
child_alive() {
    local pid
    pid=$(child_pid "$1") && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}
# True when NAME runs a child other than OLD_PID.
child_replaced() {
    local pid
    pid=$(child_pid "$1") && [ -n "$pid" ] && [ "$pid" != "$2" ] && kill -0 "$pid" 2>/dev/null
}

# start_svc NAME BINARY VAR=value...: the binary under scripts/supervise.sh.
start_svc() {
    local name=$1 binary=$2
    shift 2
    env "$@" RUN_DIR="$RUN" STOP_TIMEOUT=8 DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" \
        BIND_ADDR=127.0.0.1 STREAM_SHARDS=$shards LOG_LEVEL=info \
        "$REPO_ROOT/scripts/supervise.sh" "$name" -- "$bin_dir/$binary" \
        </dev/null >/dev/null 2>>"$LOGS/$name.supervise.err" &
    sup[$name]=$!
}

http_code() { curl -s -o /dev/null -m 2 -w '%{http_code}' "$1"; }
health_200() { [ "$(http_code "http://127.0.0.1:$1/health")" = 200 ]; }
# The health port the event-worker logged last (it takes a free one at each start).
worker_port() { grep -o '"health on [^"]*' "$LOGS/$1.log" 2>/dev/null | tail -n 1 | sed 's/.*://'; }
worker_health_200() {
    local p
    p=$(worker_port "$1")
    [ -n "$p" ] && health_200 "$p"
}
svc_healthy() {
    case $1 in
    event-worker-*) worker_health_200 "$1" ;;
    *) health_200 "${port[$1]}" ;;
    esac
}

# Called from the EXIT trap, which shellcheck does not follow.
# shellcheck disable=SC2317
stop_all() {
    local name pid i
    for pid in "${bg_pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    bg_pids=()
    if [ -n "$nginx_pid_file" ] && pid_alive "$nginx_pid_file"; then
        pid=$(head -n 1 "$nginx_pid_file")
        kill -TERM "$pid" 2>/dev/null || true
        wait_for 10 bash -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null || true
    fi
    nginx_pid_file=
    for name in "${!sup[@]}"; do
        kill -TERM "${sup[$name]}" 2>/dev/null || true
    done
    for name in "${!sup[@]}"; do
        pid=${sup[$name]}
        for ((i = 0; i < 150; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            warn "supervisor of $name (pid $pid) did not stop: killing it and its child"
            kill -KILL "$(child_pid "$name")" 2>/dev/null || true
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    sup=()
}

# shellcheck disable=SC2317
inside_exit() {
    local status=$?
    trap - EXIT INT TERM
    stop_all
    if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
        failed=1
    fi
    printf '%s %s\n' "$passed" "$failed" >"$SYSTEM_RESULT"
    exit "$status"
}

# Runs one cmocka group of systest and adds its counts (the e2e runner's way).
run_group() {
    local group=$1 out rc=0 p f
    out=$OUT/systest.$group.out
    (cd "$REPO_ROOT" && WRITE_URLS="$write_urls" REDIRECT_URLS="$redirect_urls" \
        REPO_ROOT="$REPO_ROOT" STREAM_SHARDS=$shards exec timeout 180 "$systest" "$group") \
        >"$out" 2>&1 &
    local pid=$! tail_pid
    bg_pids+=("$pid")
    tail -n +1 -s 0.2 -f --pid="$pid" "$out" &
    tail_pid=$!
    wait "$pid" || rc=$?
    bg_pids=("${bg_pids[@]/$pid/}")
    wait "$tail_pid" 2>/dev/null || true
    cmocka_tally "systest $group" "$out" "$rc"
}

# load OUT ARGS...: the load tool in the background; sets load_pid.
load_start() {
    local out=$1
    shift
    timeout 180 "$systest" load "$@" >"$out" 2>"$out.err" &
    load_pid=$!
    bg_pids+=("$load_pid")
}
load_wait() {
    local rc=0
    wait "$load_pid" || rc=$?
    bg_pids=("${bg_pids[@]/$load_pid/}")
    return "$rc"
}
# load_value OUT KEY: the value of "KEY N" in a load report (0 when absent).
load_value() { awk -v k="$2" '$1 == k { v = $2 } END { print v + 0 }' "$1"; }
progress_at_least() { [ "$(cat "$1" 2>/dev/null || echo 0)" -ge "$2" ]; }

# POST /urls with a chosen short code (letters and digits); fails unless 201.
create_link() {
    [ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' -H 'Content-Type: application/json' \
        -d "{\"original_url\": \"$2\", \"short_code\": \"$1\"}" \
        "http://127.0.0.1:${port[write-svc-1]}/urls")" = 201 ]
}

# ---------------------------------------------------------------------------------------

start_stack() {
    local name i
    RUN=$HARNESS_DIR/run
    LOGS=$RUN/logs
    OUT=$HARNESS_DIR/out
    mkdir -p "$LOGS" "$RUN/pids" "$OUT"

    "$REPO_ROOT/scripts/seed.sh" >"$OUT/seed.out" 2>&1 || {
        cat "$OUT/seed.out" >&2
        die "scripts/seed.sh failed"
    }
    write_urls=
    redirect_urls=
    for i in 1 2; do
        port[write-svc-$i]=$(new_port) || die "no free port"
        start_svc "write-svc-$i" write-svc PORT="${port[write-svc-$i]}" READMODEL_CHECK_MS=200
        write_urls+="http://127.0.0.1:${port[write-svc-$i]} "
    done
    for i in 1 2; do
        port[redirect-svc-$i]=$(new_port) || die "no free port"
        start_svc "redirect-svc-$i" redirect-svc PORT="${port[redirect-svc-$i]}" HTTP_THREADS=2
        redirect_urls+="http://127.0.0.1:${port[redirect-svc-$i]} "
    done
    for i in 1 2; do
        start_svc "event-worker-$i" event-worker PORT=0 EVENT_CLAIM_IDLE_MS=1000
    done
    write_urls=${write_urls% }
    redirect_urls=${redirect_urls% }
    for name in write-svc-1 write-svc-2 redirect-svc-1 redirect-svc-2 event-worker-1 \
        event-worker-2; do
        wait_for 30 svc_healthy "$name" || {
            tail -n 5 "$LOGS/$name.log" >&2 || true
            die "$name is not healthy within 30 s (log: $LOGS/$name.log)"
        }
    done

    # nginx, rendered from deploy/nginx.conf.in the way scripts/run.sh renders it.
    local ngx_dir=$HARNESS_DIR/nginx conf line ws='' rs=''
    mkdir -p "$ngx_dir/tmp"
    port[nginx]=$(new_port) || die "no free port"
    line='        server 127.0.0.1:%s max_fails=1 fail_timeout=2s;\n'
    # shellcheck disable=SC2059
    ws=$(printf "$line" "${port[write-svc-1]}" "${port[write-svc-2]}")
    # shellcheck disable=SC2059
    rs=$(printf "$line" "${port[redirect-svc-1]}" "${port[redirect-svc-2]}")
    conf=$(<"$REPO_ROOT/deploy/nginx.conf.in")
    conf=${conf//@PREFIX@/$ngx_dir}
    conf=${conf//@LOG_DIR@/$LOGS}
    conf=${conf//@ACCESS_LOG@/off}
    conf=${conf//@LISTEN@/127.0.0.1:${port[nginx]}}
    conf=${conf//@WRITE_SERVERS@/$ws}
    conf=${conf//@REDIRECT_SERVERS@/$rs}
    if [[ $conf == *@STATUS_LISTEN@* ]]; then
        conf=${conf//@STATUS_LISTEN@/127.0.0.1:$(new_port)}
    fi
    printf '%s\n' "$conf" >"$ngx_dir/nginx.conf"
    if grep -n '@[A-Z_]\+@' "$ngx_dir/nginx.conf" >&2; then
        die "deploy/nginx.conf.in has a placeholder this runner does not fill (above)"
    fi
    nginx -p "$ngx_dir" -e "$LOGS/nginx-error.log" -c "$ngx_dir/nginx.conf" -q -t ||
        die "nginx rejects the rendered config $ngx_dir/nginx.conf"
    nginx_pid_file=$ngx_dir/nginx.pid
    nginx -p "$ngx_dir" -e "$LOGS/nginx-error.log" -c "$ngx_dir/nginx.conf" ||
        die "nginx did not start ($LOGS/nginx-error.log)"
    nginx_url=http://127.0.0.1:${port[nginx]}
    wait_for 10 health_200 "${port[nginx]}" || die "nginx does not answer /health"
}

# ---------------------------------------------------------------------------------------
# Check 4: no click lost or duplicated through worker SIGKILLs and a PostgreSQL restart
# ---------------------------------------------------------------------------------------

# kill_workers: SIGKILL every event-worker's current process; the supervisors restart them.
kill_workers() {
    local name pid
    for name in event-worker-1 event-worker-2; do
        pid=$(child_pid "$name")
        if [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; then
            killed_pids[$name]=$pid
        else
            killed_pids[$name]=
        fi
    done
}
workers_restarted() {
    local name
    for name in event-worker-1 event-worker-2; do
        [ -n "${killed_pids[$name]}" ] && child_replaced "$name" "${killed_pids[$name]}" ||
            return 1
    done
}

# Clicks stored for the load links: "code count distinct_stream_ids" lines, sorted.
clicks_per_code() {
    sql "SELECT u.short_code, count(e.id), count(DISTINCT e.stream_shard || ':' || e.stream_ms || '-' || e.stream_seq || '/' || e.stream_idx)
         FROM urls u LEFT JOIN events e ON e.url_id = u.id AND e.event_type = 'click'
         WHERE u.short_code IN ($code_list) GROUP BY u.short_code ORDER BY 1" | tr '|' ' '
}
clicks_total() {
    sql "SELECT count(*) FROM events e JOIN urls u ON u.id = e.url_id
         WHERE e.event_type = 'click' AND u.short_code IN ($code_list)"
}
clicks_reach() { [ "$(clicks_total)" -ge "$1" ]; }
total_pending() {
    local s n=0 p
    for ((s = 0; s < shards; s++)); do
        p=$(rcli XPENDING "clicks:{$s}" event-worker 2>/dev/null | head -n 1)
        [[ $p =~ ^[0-9]+$ ]] && n=$((n + p))
    done
    echo "$n"
}
nothing_pending() { [ "$(total_pending)" = 0 ]; }
workers_healthy() { worker_health_200 event-worker-1 && worker_health_200 event-worker-2; }

check4() {
    local i code codes=() out=$OUT/load4 prog=$OUT/load4.progress ok2 rc=0
    declare -gA killed_pids=()
    phase_start "check 4: $clicks_n redirects, event-workers SIGKILLed twice, PostgreSQL restarted"
    ok2=true
    for i in 1 2 3 4 5 6 7 8; do
        code=ld$$x$i
        codes+=("$code")
        create_link "$code" "https://example.com/load/$i?n=$i#f" || ok2=false
    done
    check "check4: 8 links created for the load" $ok2
    code_list=$(printf "'%s'," "${codes[@]}")
    code_list=${code_list%,}
    load_start "$out" --url "http://127.0.0.1:${port[redirect-svc-1]}" \
        --url "http://127.0.0.1:${port[redirect-svc-2]}" --paths "$(IFS=,; echo "${codes[*]}")" \
        --requests "$clicks_n" --connections 8 --rate "$rate" --progress "$prog"

    check "check4: the load reached 15% before SIGKILL 1" \
        wait_for 60 progress_at_least "$prog" $((clicks_n * 15 / 100))
    kill_workers
    say "SIGKILL 1 of the event-workers at $(cat "$prog") requests"
    check "check4: the supervisors restarted both event-workers after SIGKILL 1" \
        wait_for 15 workers_restarted
    check "check4: the load reached 35% before SIGKILL 2" \
        wait_for 60 progress_at_least "$prog" $((clicks_n * 35 / 100))
    kill_workers
    say "SIGKILL 2 of the event-workers at $(cat "$prog") requests"
    check "check4: the supervisors restarted both event-workers after SIGKILL 2" \
        wait_for 15 workers_restarted
    check "check4: the load reached 55% before the PostgreSQL restart" \
        wait_for 60 progress_at_least "$prog" $((clicks_n * 55 / 100))
    bash "$REPO_ROOT/tests/harness-ctl.sh" pg-stop fast
    say "PostgreSQL stopped at $(cat "$prog") requests"
    sleep 1.5
    check "check4: PostgreSQL started again" bash "$REPO_ROOT/tests/harness-ctl.sh" pg-start
    say "PostgreSQL started at $(cat "$prog") requests"
    load_wait || rc=$?
    eq "check4: the load tool finished" "$rc" 0
    cat "$out.err" >&2 2>/dev/null
    eq "check4: $clicks_n requests made" "$(load_value "$out" requests)" "$clicks_n"
    eq "check4: no socket error" "$(load_value "$out" errors)" 0
    eq "check4: no answer but 302" "$(load_value "$out" unexpected)" 0
    local n302
    n302=$(awk '$1 == "status" && $2 == 302 { print $3 }' "$out")
    n302=${n302:-0}
    say "$n302 redirects answered 302 in $(load_value "$out" elapsed_ms) ms" \
        "(max latency $(load_value "$out" max_latency_ms) ms)"
    check "check4: click rows reach the 302 count within 60 s" wait_for 60 clicks_reach "$n302"
    check "check4: nothing left pending in the click streams" wait_for 30 nothing_pending
    eq "check4: click rows == 302s answered (all links)" "$(clicks_total)" "$n302"
    local want got
    want=$(awk '$1 == "path" { print $2, $3, $3 }' "$out" | sort)
    got=$(clicks_per_code | sort)
    eq "check4: click rows == 302s answered, per link, each stream id once" \
        "$(tr '\n' ';' <<<"$got")" "$(tr '\n' ';' <<<"$want")"
    eq "check4: no duplicate stream key among all clicks" \
        "$(sql "SELECT count(*) - count(DISTINCT stream_shard || ':' || stream_ms || '-' || stream_seq || '/' || stream_idx) FROM events WHERE event_type = 'click'")" 0
    check "check4: both event-workers healthy at the end" wait_for 15 workers_healthy
    phase_end "check 4"
}

# ---------------------------------------------------------------------------------------
# Check 6: a killed redirect-svc behind nginx costs no request
# ---------------------------------------------------------------------------------------

check6() {
    local out=$OUT/load6 prog=$OUT/load6.progress rc=0 name old before n302
    phase_start "check 6: redirects through nginx while redirect-svc instances are SIGKILLed"
    wait_for 30 nothing_pending
    before=$(clicks_total)
    load_start "$out" --url "$nginx_url" --paths "$(tr -d "'" <<<"$code_list")" --seconds 8 \
        --connections 16 --rate 1500 --progress "$prog"
    wait_for 10 progress_at_least "$prog" 1500
    for name in redirect-svc-1 redirect-svc-2; do
        old=$(child_pid "$name")
        kill -KILL "$old" 2>/dev/null
        say "SIGKILL $name (pid $old) at $(cat "$prog") requests"
        check "check6: the supervisor restarted $name" wait_for 15 child_replaced "$name" "$old"
        check "check6: $name answers /health again" wait_for 15 health_200 "${port[$name]}"
        # nginx keeps a failed instance out for fail_timeout (2 s): let it come back first.
        [ "$name" = redirect-svc-2 ] || sleep 2.5
    done
    load_wait || rc=$?
    eq "check6: the load tool finished" "$rc" 0
    cat "$out.err" >&2 2>/dev/null
    say "$(load_value "$out" requests) requests through nginx in $(load_value "$out" elapsed_ms)" \
        "ms (max latency $(load_value "$out" max_latency_ms) ms)"
    check "check6: requests were made" test "$(load_value "$out" requests)" -gt 1000
    eq "check6: no socket error" "$(load_value "$out" errors)" 0
    eq "check6: no answer but 302" "$(load_value "$out" unexpected)" 0
    # A 302 is answered only after its click was added, so none may be missing. A request
    # nginx sent to the instance being killed and then retried on the other may have added
    # its click twice (at-least-once across a proxy retry): more rows than 302s is reported.
    n302=$(awk '$1 == "status" && $2 == 302 { print $3 }' "$out")
    n302=${n302:-0}
    check "check6: every 302 answered has its click row (within 60 s)" \
        wait_for 60 clicks_reach $((before + n302))
    wait_for 30 nothing_pending
    say "clicks stored during check 6: $(($(clicks_total) - before)) for $n302 redirects" \
        "answered (a surplus is from requests retried by nginx after a SIGKILL)"
    phase_end "check 6"
}

# ---------------------------------------------------------------------------------------
# Check 9: a bad-input barrage (tests/system/barrage.py, issue 11 item 7)
# ---------------------------------------------------------------------------------------

# Row counts and a digest of the rows that exist now: "users urls events digest".
data_state() {
    sql "SELECT (SELECT count(*) FROM users) || ' ' || (SELECT count(*) FROM urls) || ' ' ||
         (SELECT count(*) FROM events) || ' ' || md5(
           (SELECT string_agg(u::text, ',' ORDER BY id) FROM users u WHERE id <= $1) ||
           (SELECT string_agg(u::text, ',' ORDER BY id) FROM urls u WHERE id <= $2))"
}
all_healthy() {
    local name
    for name in write-svc-1 write-svc-2 redirect-svc-1 redirect-svc-2 event-worker-1 \
        event-worker-2; do
        svc_healthy "$name" || return 1
    done
    health_200 "${port[nginx]}"
}

check9_barrage() {
    local out=$OUT/barrage.out rc=0 maxu maxl before after created_u created_l created_e created_b
    local bu bl be bd au al ae ad
    phase_start "check 9: ${SYSTEM_BARRAGE:-12000} hostile requests through nginx and at each service"
    wait_for 30 nothing_pending
    maxu=$(sql "SELECT coalesce(max(id), 0) FROM users")
    maxl=$(sql "SELECT coalesce(max(id), 0) FROM urls")
    before=$(data_state "$maxu" "$maxl")
    timeout "${SYSTEM_BARRAGE_TIMEOUT:-120}" python3 "$REPO_ROOT/tests/system/barrage.py" --requests "${SYSTEM_BARRAGE:-12000}" \
        --target "nginx=$nginx_url" --target "write=http://127.0.0.1:${port[write-svc-1]}" \
        --target "redirect=http://127.0.0.1:${port[redirect-svc-1]}" \
        --target "worker=http://127.0.0.1:$(worker_port event-worker-1)" >"$out" 2>&1 || rc=$?
    sed 's/^/    /' "$out"
    eq "check9: no 5xx, no hang over 5 s, every error body JSON (barrage.py)" "$rc" 0
    check "check9: every service and nginx healthy after the barrage" wait_for 10 all_healthy
    wait_for 30 nothing_pending
    created_u=$(awk '$1 == "created" && $2 == "users" { print $3 }' "$out")
    created_l=$(awk '$1 == "created" && $2 == "urls" { print $3 }' "$out")
    created_e=$(awk '$1 == "created" && $2 == "events" { print $3 }' "$out")
    created_b=$(awk '$1 == "created" && $2 == "bulk" { print $3 }' "$out")
    after=$(data_state "$maxu" "$maxl")
    read -r bu bl be bd <<<"$before"
    read -r au al ae ad <<<"$after"
    # A link created adds its 'created' event; nothing else may have changed. Bulk imports
    # count repeated names once each but add them once: at most created_b users.
    eq "check9: links and events after == before + the barrage's 201s; earlier rows unchanged" \
        "$al $ae $ad" "$((bl + ${created_l:-0})) $((be + ${created_e:-0} + ${created_l:-0})) $bd"
    check "check9: users $au within $bu + ${created_u:-0} POST 201s (+ ${created_b:-0} bulk rows)" \
        test "$au" -ge "$((bu + ${created_u:-0}))" -a "$au" -le "$((bu + ${created_u:-0} + ${created_b:-0}))"
    phase_end "check 9"
}

# ---------------------------------------------------------------------------------------

stop_checks() {
    local name st bad=()
    phase_start "stop: SIGTERM, exit statuses, sanitizer reports"
    stop_all
    for name in write-svc-1 write-svc-2 redirect-svc-1 redirect-svc-2 event-worker-1 \
        event-worker-2; do
        st=$(grep '"msg":"supervise: exited"' "$LOGS/$name.log" | tail -n 1 |
            sed -n 's/.*"status":\([0-9]*\).*/\1/p')
        eq "$name exits 0 on SIGTERM" "$st" 0
    done
    mapfile -t bad < <(grep -l -E 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' \
        "$LOGS"/*.log "$OUT"/*.out "$OUT"/*.err 2>/dev/null)
    if [ "${#bad[@]}" = 0 ]; then
        ok "no sanitizer report in the services' logs"
    else
        not_ok "sanitizer reports in: ${bad[*]}"
        grep -h -A30 -E 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "${bad[@]}" |
            head -80
    fi
    phase_end "stop"
}

inside() {
    : "${HARNESS_DIR:?}" "${DATABASE_URL:?}" "${REDIS_URL:?}" "${SYSTEM_RESULT:?}"
    trap inside_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    local t0
    t0=$(now_ms)

    phase_start "start: seed, 2 write-svc, 2 redirect-svc, 2 event-workers, nginx"
    start_stack
    phase_end "start"

    if [ "${SYSTEM_ONLY:-}" = redirect ]; then # checks 10 and 11 alone (development)
        check10
        check11
        check12
        stop_checks
        [ "$failed" -eq 0 ]
        return
    fi
    if [ "${SYSTEM_ONLY:-}" = barrage ]; then # a quick run of check 9 alone (development)
        check9_barrage
        stop_checks
        [ "$failed" -eq 0 ]
        return
    fi

    phase_start "checks 1-3: systest flows"
    run_group flows
    # The group drops its slow-insert trigger itself; this is for a crash halfway.
    sql "DROP TRIGGER IF EXISTS systest_slow_sink ON events" >/dev/null 2>&1
    phase_end "checks 1-3"

    phase_start "link options at the redirect: systest links"
    run_group links
    phase_end "link options"

    check9_barrage

    phase_start "check 5: systest redis"
    run_group redis
    phase_end "check 5"

    check4
    check6
    check9_barrage
    check8
    check10
    check11
    check12
    stop_checks
    say "inside run took $(($(now_ms) - t0)) ms"
    if [ "$failed" -gt 0 ] && [ "${KEEP_HARNESS:-0}" != 1 ]; then
        say "run again with KEEP_HARNESS=1 to keep the services' logs"
    fi
    [ "$failed" -eq 0 ]
}

# ---------------------------------------------------------------------------------------
# Outside: check the binaries, run the harness, print the totals
# ---------------------------------------------------------------------------------------

outside() {
    local result rc=0 b child
    for b in write-svc redirect-svc event-worker; do
        [ -x "$bin_dir/$b" ] || die "$bin_dir/$b is not built (make all)"
    done
    [ -x "$systest" ] || die "$systest is not built (make ${B#"$REPO_ROOT"/}/tests/system/systest)"
    command -v curl >/dev/null || die "curl not found (apt-get install curl)"
    command -v nginx >/dev/null || die "nginx not found (apt-get install nginx)"
    result=$(mktemp "${TMPDIR:-/tmp}/system-result.XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -f '$result'" EXIT
    # In the background, so that an INT or TERM sent to this script alone reaches the harness
    # (which stops everything) at once instead of after the run.
    SYSTEM_RESULT=$result B=$B timeout -s TERM "${SYSTEM_TIMEOUT:-600}" \
        "$REPO_ROOT/tests/harness.sh" bash "$self" --inside <&0 &
    child=$!
    trap 'kill -TERM "$child" 2>/dev/null' INT TERM
    wait "$child" || rc=$?
    while kill -0 "$child" 2>/dev/null; do
        wait "$child" || rc=$?
    done
    trap - INT TERM
    summary_from_file system "$result" "$rc"
}

if [ "${1:-}" = --inside ]; then
    inside
else
    outside
fi
