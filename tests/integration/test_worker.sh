#!/usr/bin/env bash
# tests/integration/test_worker.sh - the event-worker against real PostgreSQL and Redis.
#
#   tests/integration/test_worker.sh            (starts its own servers via tests/harness.sh)
#   B=build-asan tests/integration/test_worker.sh   (the sanitizer build)
#   WORKER_BIN=path/to/event-worker tests/integration/test_worker.sh
#
# Drives the click streams with redis-cli in the field format of shared/clickstream.h and checks:
#   1. 1000 clicks over 8 shards become exactly 1000 rows with the right values; streams drained;
#   2. 20 000 clicks survive two SIGKILLs of the worker and a PostgreSQL restart while they are
#      being added: exactly 20 000 rows, each click once, nothing pending;
#   3. two workers at once: exact count;
#   4. poison entries go to clicks:dead and do not block the others;
#   5. SIGTERM: exit status 0 within 2 s;
#   6. a crash between COMMIT and XACK: the entry is claimed from the dead consumer, the replayed
#      INSERT hits ON CONFLICT, still one row;
#   7. Redis restarts empty: the worker recreates the groups and goes on;
#   9. batched entries (several clicks per entry): values, a poison click dead-lettered alone,
#      exact counts through two SIGKILLs and a PostgreSQL restart;
#  10. schema/006 converts stored text stream ids into the compact key;
#  11. the trim after a batch (XTRIM MINID) keeps the entries another consumer has pending;
#  12. schema/007 converts stored clicks to the narrow form, every event's details unchanged;
#  13. schema/008's monthly partitions: clicks in their month, API events in events_api, a
#      late partition takes its rows, EVENT_RETENTION_MONTHS drops old months, rollups kept;
#   8. analytics: a known mix of user agents, referrers and addresses (a GeoIP database built by
#      tests/geoip/mkmmdb.pl) gives exact rollups, event details and unique visitors, and a
#      re-delivery of the same entries (same stream ids) counts nothing twice.
# Every wait is bounded. Each worker's stderr goes to a file; at the end the files are searched
# for sanitizer reports. Prints "worker: N passed, N failed"; exits 1 when anything failed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -z "${HARNESS_DIR:-}" ]; then
    exec "$here/../harness.sh" "${BASH_SOURCE[0]}" "$@"
fi
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

BIN=${WORKER_BIN:-$REPO_ROOT/${B:-build}/bin/event-worker}
[ -x "$BIN" ] || die "no worker binary at $BIN (make ${B:-build}/bin/event-worker)"
CTL=$REPO_ROOT/tests/harness-ctl.sh
SHARDS=8
GROUP=event-worker
LOGS=$HARNESS_DIR/worker-logs
mkdir -p "$LOGS"

passed=0
failed=0
# The idempotency key of a stored click, its shard, and its stream entry (SQL expressions).
KEY_SQL="stream_shard || ':' || stream_ms || '-' || stream_seq || '/' || stream_idx"
KEY_SHARD="e.stream_shard"
KEY_ENTRY="stream_shard || ':' || stream_ms || '-' || stream_seq"
pids=()     # every worker started, in order
producer=   # the background producer of test 2, while it runs
nworkers=0

# Called from the EXIT trap, which shellcheck does not follow.
# shellcheck disable=SC2317
cleanup() {
    local pid
    if [ -n "$producer" ]; then
        kill -TERM "$producer" 2>/dev/null || true
        wait "$producer" 2>/dev/null || true
    fi
    for pid in "${pids[@]}"; do
        kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${pids[@]}"; do
        wait_until 5 bash -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT




rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
sql() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -c "$1"; }
nrows() { sql "SELECT count(*) FROM events WHERE event_type = 'click'"; }

# Sum over the shards of XPENDING's count (or of XLEN); a missing stream counts 0.
total_pending() {
    local s n=0 p
    for ((s = 0; s < SHARDS; s++)); do
        p=$(rcli XPENDING "clicks:{$s}" "$GROUP" 2>/dev/null | head -n 1)
        [[ $p =~ ^[0-9]+$ ]] && n=$((n + p))
    done
    echo "$n"
}
total_len() {
    local s n=0 p
    for ((s = 0; s < SHARDS; s++)); do
        p=$(rcli XLEN "clicks:{$s}")
        n=$((n + p))
    done
    echo "$n"
}
# True when PostgreSQL holds `want` clicks and the streams are empty with nothing pending.
drained() {
    [ "$(nrows)" = "$1" ] && [ "$(total_pending)" = 0 ] && [ "$(total_len)" = 0 ]
}

# gen FIRST COUNT: RESP for COUNT XADDs of clicks FIRST.. (click i: shard i % 8, url id i,
# uid "" / "1" / "999999" by i % 3, ts 1700000000000 + 1001 i, referrer only for odd i,
# user agent "ua-i" so that every click is recognisable in PostgreSQL).
gen() {
    LC_ALL=C awk -v first="$1" -v count="$2" -v shards="$SHARDS" '
        function bulk(s) { printf "$%d\r\n%s\r\n", length(s), s }
        BEGIN {
            for (i = first; i < first + count; i++) {
                uid = (i % 3 == 0) ? "" : (i % 3 == 1 ? "1" : "999999")
                ref = (i % 2) ? "http://ref.example/" i : ""
                printf "*17\r\n"
                bulk("XADD"); bulk("clicks:{" (i % shards) "}"); bulk("*")
                bulk("id"); bulk(i); bulk("uid"); bulk(uid); bulk("code"); bulk("c" i)
                bulk("url"); bulk("https://example.com/" i)
                bulk("ts"); bulk(sprintf("%.0f", 1700000000000 + 1001 * i))
                bulk("ref"); bulk(ref); bulk("ua"); bulk("ua-" i)
            }
        }'
}
# produce FIRST COUNT: adds the clicks; fails unless Redis took every one.
produce() {
    local out
    out=$(gen "$1" "$2" | rcli --pipe 2>&1) || return 1
    [[ $out == *"errors: 0, replies: $2"* ]]
}

# genb FIRST COUNT PER: the same clicks as gen, packed PER to an entry of their shard in the
# batched format of shared/clickstream.h ("b" n, "0".."n-1": values joined by 0x1F, with an
# address); the number of entries goes to $HARNESS_DIR/genb.count.
genb() {
    LC_ALL=C awk -v first="$1" -v count="$2" -v per="$3" -v shards="$SHARDS" \
        -v countfile="$HARNESS_DIR/genb.count" '
        function bulk(s) { printf "$%d\r\n%s\r\n", length(s), s }
        function flush(s,   k) {
            if (n[s] == 0) return
            printf "*%d\r\n", 5 + 2 * n[s]
            bulk("XADD"); bulk("clicks:{" s "}"); bulk("*"); bulk("b"); bulk(n[s])
            for (k = 0; k < n[s]; k++) { bulk(k); bulk(packed[s, k]) }
            n[s] = 0
            entries++
        }
        BEGIN {
            sep = "\037"
            for (i = first; i < first + count; i++) {
                s = i % shards
                uid = (i % 3 == 0) ? "" : (i % 3 == 1 ? "1" : "999999")
                ref = (i % 2) ? "http://ref.example/" i : ""
                packed[s, n[s]++] = i sep uid sep "c" i sep "https://example.com/" i sep \
                    sprintf("%.0f", 1700000000000 + 1001 * i) sep ref sep "ua-" i sep \
                    "192.0.2." (i % 200)
                if (n[s] == per) flush(s)
            }
            for (s = 0; s < shards; s++) flush(s)
            print entries > countfile
        }'
}
# produceb FIRST COUNT PER: adds the clicks in batched entries; fails unless Redis took them all.
produceb() {
    local out
    out=$(genb "$1" "$2" "$3" | rcli --pipe 2>&1) || return 1
    [[ $out == *"errors: 0, replies: $(cat "$HARNESS_DIR/genb.count")"* ]]
}

# slow_inserts on|off: every INSERT into events takes 50 ms longer (a statement trigger), so
# that a batch is in flight (read, not yet acknowledged) most of the time and the SIGKILLs of
# crash_cycle land in the middle of one.
slow_inserts() {
    if [ "$1" = on ]; then
        sql "CREATE FUNCTION test_worker_slow() RETURNS trigger LANGUAGE plpgsql AS
             \$\$ BEGIN PERFORM pg_sleep(0.05); RETURN NULL; END \$\$;
             CREATE TRIGGER test_worker_slow BEFORE INSERT ON events
             FOR EACH STATEMENT EXECUTE FUNCTION test_worker_slow()" >/dev/null
    else
        sql "DROP TRIGGER test_worker_slow ON events; DROP FUNCTION test_worker_slow()" >/dev/null
    fi
}

at_least() { [ "$(cat "$1")" -ge "$2" ]; }
rows_at_least() { [ "$(nrows)" -ge "$1" ]; }

# crash_cycle BATCH [wait_rows]: while the background $producer adds 20 000 clicks (progress in
# $produced), SIGKILLs the worker $w twice (at 4 000 and 10 000 added, each time with entries
# pending; with wait_rows only once 1 000 rows are stored), restarting it with EVENT_BATCH=BATCH,
# then stops PostgreSQL (at 14 000; the worker's health answers 503) for a second; ends when
# all 20 000 are stored with nothing pending. Leaves the last worker in $w, its log in $wl.
crash_cycle() {
    local k at
    for k in 1 2; do
        at=$((k == 1 ? 4000 : 10000))
        check "the producer reached $at" wait_for 60 at_least "$produced" "$at"
        [ "$k" = 1 ] && [ "${2:-}" = wait_rows ] && wait_for 30 rows_at_least 1000
        check "entries are pending at SIGKILL $k" wait_for 10 pending_now
        kill9 "$w"
        say "SIGKILL $k at $(cat "$produced") added, $(nrows) stored, $(total_pending) pending"
        start_worker EVENT_BATCH="$1"
        w=$wpid
    done
    wl=$wlog
    check "the producer reached 14000" wait_for 60 at_least "$produced" 14000
    bash "$CTL" pg-stop fast
    say "PostgreSQL stopped at $(cat "$produced") added, $(total_pending) pending"
    check "health answers 503 while PostgreSQL is down" wait_for 10 health_is "$wl" 503
    sleep 1
    bash "$CTL" pg-start
    check "the producer added all 20000" wait "$producer"
    producer=
    check "20000 rows, streams empty, nothing pending" wait_for 60 drained 20000
}

# exactly_once_20000: the 20 000 clicks of crash_cycle are each one row and counted once by the
# rollups.
exactly_once_20000() {
    eq "every click exactly once" "$(sql "SELECT count(DISTINCT events.details->>'user_agent') || ' ' ||
        count(DISTINCT $KEY_SQL) || ' ' || count(*) FROM events")" "20000 20000 20000"
    eq "the rollups count every click once too" "$(sql "SELECT
        (SELECT sum(clicks) FROM url_totals) || ' ' ||
        (SELECT sum(clicks) FROM url_stats_hour WHERE dim = 'k') || ' ' ||
        (SELECT sum(clicks) FROM url_stats_day WHERE dim = 'b')")" "20000 20000 20000"
}

# start_worker [VAR=value...]: starts a worker with a free health port; sets $wpid, $wlog.
start_worker() {
    nworkers=$((nworkers + 1))
    wlog=$LOGS/worker-$nworkers.err
    env PORT=0 EVENT_CLAIM_IDLE_MS=1000 "$@" "$BIN" 2>"$wlog" &
    wpid=$!
    pids+=("$wpid")
}
health_port() { grep -o '"health on [^"]*' "$1" | head -n 1 | sed 's/.*://'; }
# health LOG: the status code of GET /health of the worker logging to LOG.
health() {
    local port
    port=$(health_port "$1")
    [ -n "$port" ] || return 1
    curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/health"
}
health_is() { [ "$(health "$1")" = "$2" ]; }
# stop_worker PID: SIGTERM, then waits (bounded) and returns the exit status.
stop_worker() {
    kill -TERM "$1" 2>/dev/null
    wait_for 10 bash -c "! kill -0 $1" || kill -KILL "$1" 2>/dev/null
    wait "$1"
}
# Clean state: no worker running (callers stop theirs), empty table, empty Redis.
reset() {
    sql "TRUNCATE events, url_totals, url_stats_hour, url_stats_day, visitor_salts
         RESTART IDENTITY" >/dev/null
    rcli FLUSHALL >/dev/null
}
# The "N inserted" of a stopped worker's totals line.
inserted_by() {
    grep -o 'totals since start:.*' "$1" | grep -o '[0-9]* inserted' | awk '{ print $1 }'
}
pending_now() { [ "$(total_pending)" -gt 0 ]; }
# kill9 PID: SIGKILL and reap, without bash's "Killed" notice.
kill9() {
    {
        kill -KILL "$1"
        wait "$1"
    } 2>/dev/null
}

sql "INSERT INTO users (id, username, email) VALUES (1, 'alice', 'alice@example.com')
     ON CONFLICT DO NOTHING" >/dev/null

# ---------------------------------------------------------------------------------------------
say "test 1: 1000 clicks over 8 shards"
reset
start_worker
w=$wpid
wl=$wlog
check "health answers 200 once connected" wait_for 10 health_is "$wl" 200
check "1000 clicks added" produce 0 1000
check "1000 rows, streams empty, nothing pending" wait_for 20 drained 1000
# Every row against values computed here, not by the worker's formula.
good=$(sql "SELECT count(*) FROM events e WHERE e.event_type = 'click'
    AND e.url_id = substr(e.details->>'user_agent', 4)::bigint
    AND e.user_id IS NOT DISTINCT FROM (CASE WHEN e.url_id % 3 = 1 THEN 1 END)
    AND e.\"timestamp\" = timestamp '2023-11-14 22:13:20' + e.url_id * 1001 * interval '1 ms'
    AND e.details - 'browser' - 'os' - 'device' - 'bot' - 'referrer_host'
        = jsonb_strip_nulls(jsonb_build_object('short_code', 'c' || e.url_id,
        'original_url', 'https://example.com/' || e.url_id,
        'referrer', CASE WHEN e.url_id % 2 = 1 THEN 'http://ref.example/' || e.url_id END,
        'user_agent', 'ua-' || e.url_id))
    AND e.stream_shard = e.url_id % 8 AND e.stream_ms > 0 AND e.stream_seq >= 0
    AND e.stream_idx = 0")
eq "every row has the right url_id, user_id, timestamp, details and stream key" "$good" 1000
eq "every click once" "$(sql "SELECT count(DISTINCT url_id) FROM events")" 1000
eq "derived fields: device, bot flag, referrer host of the odd ones" "$(sql "SELECT count(*)
    FROM events WHERE events.details->>'device' = 'desktop' AND events.details->'bot' = 'false'
    AND events.details->>'referrer_host' IS NOT DISTINCT FROM
        (CASE WHEN url_id % 2 = 1 THEN 'ref.example' END)")" 1000
eq "url_totals and the hourly and daily kind rollups count 1000" "$(sql "SELECT
    (SELECT sum(clicks) FROM url_totals) || ' ' ||
    (SELECT sum(clicks) FROM url_stats_hour WHERE dim = 'k') || ' ' ||
    (SELECT sum(clicks) FROM url_stats_day WHERE dim = 'k')")" "1000 1000 1000"
check "health 200 with pending 0 and lag 0" wait_for 5 bash -c \
    "curl -s http://127.0.0.1:$(health_port "$wl")/health | grep -q '\"pending\":0,\"lag\":0}'"
stop_worker "$w"
eq "SIGTERM exit status" "$?" 0

# ---------------------------------------------------------------------------------------------
say "test 2: 20000 clicks, two SIGKILLs and a PostgreSQL restart while they are added"
reset
slow_inserts on
start_worker EVENT_BATCH=100
w=$wpid
wait_for 10 health_is "$wlog" 200
produced=$HARNESS_DIR/produced
echo 0 >"$produced"
(
    for ((i = 0; i < 20000; i += 250)); do
        produce "$i" 250 || exit 1
        echo $((i + 250)) >"$produced"
        sleep 0.05
    done
) &
producer=$!
crash_cycle 100 wait_rows
exactly_once_20000
check "health answers 200 again" wait_for 10 health_is "$wl" 200
check "the restarted workers claimed the dead ones' entries" \
    grep -q 'claimed [0-9]* idle click entries' "$LOGS"/worker-*.err
check "the worker logged the PostgreSQL failure and its recovery" \
    grep -q 'recovered after' "$wl"
stop_worker "$w"
eq "SIGTERM exit status" "$?" 0
slow_inserts off

# ---------------------------------------------------------------------------------------------
say "test 3: two workers at once"
reset
start_worker EVENT_BATCH=50
w1=$wpid
l1=$wlog
start_worker EVENT_BATCH=50
w2=$wpid
l2=$wlog
wait_for 10 health_is "$l1" 200
wait_for 10 health_is "$l2" 200
ok3=true
for ((i = 0; i < 10000; i += 500)); do
    produce "$i" 500 || ok3=false
done
check "10000 clicks added" $ok3
check "10000 rows, streams empty, nothing pending" wait_for 60 drained 10000
eq "every click exactly once" "$(sql "SELECT count(DISTINCT events.details->>'user_agent') FROM events")" \
    10000
stop_worker "$w1"
eq "SIGTERM exit status (A)" "$?" 0
stop_worker "$w2"
eq "SIGTERM exit status (B)" "$?" 0
say "worker A inserted $(inserted_by "$l1"), worker B $(inserted_by "$l2")"

# ---------------------------------------------------------------------------------------------
say "test 4: poison entries"
reset
start_worker
w=$wpid
wl=$wlog
wait_for 10 health_is "$wl" 200
produce 0 100 >/dev/null
rcli XADD 'clicks:{2}' '*' id abc uid '' code p1 url https://p.example ts 1700000000000 >/dev/null
rcli XADD 'clicks:{5}' '*' id 7 uid '' code p2 url https://p.example ts yesterday >/dev/null
rcli XADD 'clicks:{5}' '*' id 8 uid x1 code p3 url https://p.example ts 1700000000000 >/dev/null
rcli XADD 'clicks:{6}' '*' id 100009 uid '' code p4 ts 1700000000000 ua "$(printf 'bad\xff\xfe')" \
    >/dev/null
produce 100 100 >/dev/null
check "the valid clicks are stored, nothing pending" wait_for 20 drained 201
eq "three entries in clicks:dead" "$(rcli XLEN clicks:dead)" 3
dead=$(rcli XRANGE clicks:dead - +)
check "dead entries keep their fields, shard, entry id and reason" \
    grep -q 'no numeric url id' <<<"$dead"
check "a bad timestamp is poison" grep -q 'bad timestamp' <<<"$dead"
check "a bad user id is poison" grep -q 'user id is not a number' <<<"$dead"
check "the dead entry names its shard and entry id" \
    bash -c "grep -A1 -x shard <<<\"\$1\" | grep -qx 2 && grep -qx entry_id <<<\"\$1\"" _ "$dead"
eq "an invalid UTF-8 user agent is kept, made valid" \
    "$(sql "SELECT events.details->>'user_agent' FROM events WHERE url_id = 100009")" 'bad??'
check "the poison entries were logged" grep -q 'cannot be stored' "$wl"
stop_worker "$w"
eq "SIGTERM exit status" "$?" 0

# ---------------------------------------------------------------------------------------------
say "test 5: SIGTERM"
reset
start_worker
w=$wpid
wait_for 10 health_is "$wlog" 200
produce 0 500 >/dev/null
t0=$(now_ms)
kill -TERM "$w"
check "the worker exits within 2 s" wait_for 2 bash -c "! kill -0 $w"
t1=$(now_ms)
wait "$w"
eq "exit status" "$?" 0
say "exit took $((t1 - t0)) ms"
check "nothing left pending" wait_for 1 test "$(total_pending)" = 0

# ---------------------------------------------------------------------------------------------
say "test 6: a crash between COMMIT and XACK (the row exists, the entry is still pending)"
reset
rcli XGROUP CREATE 'clicks:{1}' "$GROUP" 0 MKSTREAM >/dev/null
id=$(rcli XADD 'clicks:{1}' '*' id 42 uid '' code ghost url https://g.example ts 1700000000000 \
    ref '' ua ghost-ua)
rcli XREADGROUP GROUP "$GROUP" ghost COUNT 10 STREAMS 'clicks:{1}' '>' >/dev/null
sql "INSERT INTO events (url_id, event_type, api_details, stream_ms, stream_seq, stream_shard,
     stream_idx) VALUES (42, 'click', '{\"short_code\": \"ghost\"}', ${id%-*}, ${id#*-}, 1, 0)" \
    >/dev/null
eq "the dead consumer 'ghost' holds the entry" "$(total_pending)" 1
start_worker
w=$wpid
wl=$wlog
check "the entry is claimed and acknowledged, still one row" wait_for 10 drained 1
stop_worker "$w"
eq "SIGTERM exit status" "$?" 0
check "claimed 1, inserted 0 (ON CONFLICT), acked 1" \
    grep -q '1 claimed, 0 inserted, 1 acked' "$wl"

# ---------------------------------------------------------------------------------------------
say "test 7: Redis restarts empty"
reset
start_worker
w=$wpid
wl=$wlog
wait_for 10 health_is "$wl" 200
produce 0 100 >/dev/null
check "100 rows before the restart" wait_for 10 drained 100
bash "$CTL" redis-stop
check "health answers 503 while Redis is down" wait_for 10 health_is "$wl" 503
bash "$CTL" redis-start
check "health answers 200 after Redis is back" wait_for 15 health_is "$wl" 200
produce 100 100 >/dev/null
check "the groups are recreated and new clicks stored" wait_for 15 drained 200
stop_worker "$w"
eq "SIGTERM exit status" "$?" 0

# ---------------------------------------------------------------------------------------------
say "test 8: analytics (user agents, referrers, GeoIP, visitors, rollups) and a re-delivery"
reset
mmdb=$HARNESS_DIR/test.mmdb
check "the test GeoIP database is built" perl "$REPO_ROOT/tests/geoip/mkmmdb.pl" "$mmdb"
UA_CHROME='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
UA_IPHONE='Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1'
UA_IPAD='Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1'
UA_GBOT='Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'
UA_SLACK='Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)'
UA_FB='facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)'
# The clicks happen one second into the current hour (visitor salts exist for today and
# yesterday only: older clicks get no visitor hash).
T8_S=$(($(date -u +%s) / 3600 * 3600 + 1))
T8_HOUR=$(date -u -d "@$T8_S" '+%Y-%m-%d %H:00:00')
T8_DAY=$(date -u -d "@$T8_S" '+%Y%m%d')
# click SEQ UA REF IP: one click of url 500 at T8_S with the entry id 1700000000000-SEQ on
# shard SEQ % 8 (explicit ids, so that the re-delivery reuses them).
# IP "-" leaves the field out (a producer without addresses).
click() {
    local s=$(($1 % SHARDS)) ip=()
    [ "$4" = - ] || ip=(ip "$4")
    rcli XADD "clicks:{$s}" "1700000000000-$1" id 500 uid '' code an url https://an.example \
        ts "${T8_S}000" ref "$3" ua "$2" "${ip[@]}" >/dev/null
}
add_mix() {
    local s
    for ((s = 0; s < SHARDS; s++)); do
        rcli XGROUP CREATE "clicks:{$s}" "$GROUP" 0 MKSTREAM >/dev/null 2>&1
    done
    click 1 "$UA_CHROME" 'https://www.Google.com/search?q=x' 192.0.2.10
    click 2 "$UA_IPHONE" 'https://t.co/abc' 192.0.2.11
    click 3 "$UA_IPAD" '' 198.51.100.7
    click 4 "$UA_GBOT" '' 66.249.66.1
    click 5 "$UA_SLACK" '' 198.51.100.8
    click 6 "$UA_FB" 'android-app://com.slack/' 198.51.100.9
    click 7 'curl/7.88.1' 'not a url' -
    click 8 "$UA_CHROME" 'https://www.google.com/' 192.0.2.10
    click 9 "$UA_CHROME" '' 127.0.0.1
}
# dims D: "name=clicks,..." of url 500 in dimension D of the hourly rollup, sorted.
dims() {
    sql "SELECT string_agg(name || '=' || clicks, ',' ORDER BY name COLLATE \"C\")
         FROM url_stats_hour WHERE url_id = 500 AND dim = '$1' AND hour = timestamp '$T8_HOUR'"
}
rollups_now() {
    sql "SELECT clicks || ' ' || human_clicks || ' ' || bot_clicks || ' ' || last_click
         FROM url_totals WHERE url_id = 500"
    for d in k d b o r c; do echo "$d: $(dims $d)"; done
    sql "SELECT dim::text || ':' || string_agg(name || '=' || clicks, ',' ORDER BY name COLLATE \"C\")
         FROM url_stats_day WHERE url_id = 500 GROUP BY dim ORDER BY dim"
}
add_mix
start_worker GEOIP_DB="$mmdb"
w=$wpid
wl=$wlog
check "9 clicks stored, nothing pending" wait_for 20 drained 9
eq "url_totals: clicks, human, bot, last click" \
    "$(sql "SELECT clicks || ' ' || human_clicks || ' ' || bot_clicks || ' ' || last_click
            FROM url_totals WHERE url_id = 500")" "9 6 3 $(date -u -d "@$T8_S" '+%Y-%m-%d %H:%M:%S')"
eq "kinds" "$(dims k)" "bot=3,human=6"
eq "devices" "$(dims d)" "bot=3,desktop=4,mobile=1,tablet=1"
eq "browsers" "$(dims b)" \
    "Chrome=3,FacebookBot=1,Googlebot=1,Mobile Safari=2,Slackbot-LinkExpanding=1,curl=1"
eq "operating systems" "$(dims o)" "Other=4,Windows=3,iOS=2"
eq "referrer hosts (no host: not counted)" "$(dims r)" "com.slack=1,t.co=1,www.google.com=2"
eq "countries from the GeoIP database" "$(dims c)" "AQ=1,JP=3,NL=3"
eq "the daily rollup agrees with the hourly one" "$(sql "SELECT count(*) FROM url_stats_day d
    JOIN url_stats_hour h USING (url_id, dim, name) WHERE d.clicks = h.clicks
    AND d.day = date '$T8_HOUR'")" "$(sql "SELECT count(*) FROM url_stats_hour")"
eq "unique visitors: 4 humans with an address (one came twice)" \
    "$(rcli PFCOUNT "hll:{500}:$T8_DAY")" 4
ttl=$(rcli TTL "hll:{500}:$T8_DAY")
check "the visitor HyperLogLog expires (TTL $ttl s)" test "$ttl" -gt 30000000
eq "a bot's event row" "$(sql "SELECT (events.details->>'browser') || ' ' || (events.details->>'device') || ' ' ||
    (events.details->>'bot') || ' ' || coalesce(events.details->>'country', '-')
    FROM events WHERE (stream_shard, stream_ms, stream_seq, stream_idx) = (4, 1700000000000, 4, 0)")" \
    "Googlebot bot true -"
eq "visitor hashes: 32 hex digits, equal for the same address and agent" "$(sql "SELECT
    count(DISTINCT events.details->>'visitor') || ' ' || count(*) FILTER (WHERE events.details->>'visitor' ~ '^[0-9a-f]{32}$')
    FROM events WHERE url_id = 500")" "7 8"
eq "no raw address anywhere in the events" "$(sql "SELECT count(*) FROM events
    WHERE events.details::text ~ '192\.0\.2|198\.51\.100|127\.0\.0\.1|66\.249' OR events.details ? 'ip'")" 0
check "one salt for the day in visitor_salts" \
    test "$(sql "SELECT count(*) FROM visitor_salts WHERE day = date '$T8_HOUR'")" = 1
before=$(rollups_now)
stop_worker "$w"
eq "SIGTERM exit status" "$?" 0
check "the worker logged its user-agent cache figures" grep -q 'user agent cache' "$wl"

# Re-delivery: the same entries (same stream ids) come again, as after a crash between COMMIT
# and XACK; ON CONFLICT skips the rows and the rollups must not move.
for ((s = 0; s < SHARDS; s++)); do rcli DEL "clicks:{$s}" >/dev/null; done
add_mix
start_worker GEOIP_DB="$mmdb"
w=$wpid
wl=$wlog
check "the re-delivered entries are acknowledged, still 9 rows" wait_for 20 drained 9
eq "the rollups did not move" "$(rollups_now)" "$before"
eq "unique visitors unchanged" "$(rcli PFCOUNT "hll:{500}:$T8_DAY")" 4
stop_worker "$w"
check "re-delivery: 9 read, 0 inserted" grep -q '9 read, 0 claimed, 0 inserted' "$wl"

# ---------------------------------------------------------------------------------------------
say "test 9: batched entries (issue 13): values, poison clicks, SIGKILLs and a PostgreSQL restart"
reset
start_worker
w=$wpid
wl=$wlog
wait_for 10 health_is "$wl" 200
check "1000 clicks added in batched entries of up to 64" produceb 0 1000 64
check "1000 rows, streams empty, nothing pending" wait_for 20 drained 1000
good=$(sql "SELECT count(*) FROM events e WHERE e.event_type = 'click'
    AND e.url_id = substr(e.details->>'user_agent', 4)::bigint
    AND e.user_id IS NOT DISTINCT FROM (CASE WHEN e.url_id % 3 = 1 THEN 1 END)
    AND e.\"timestamp\" = timestamp '2023-11-14 22:13:20' + e.url_id * 1001 * interval '1 ms'
    AND e.details - 'browser' - 'os' - 'device' - 'bot' - 'referrer_host' - 'visitor'
        = jsonb_strip_nulls(jsonb_build_object('short_code', 'c' || e.url_id,
        'original_url', 'https://example.com/' || e.url_id,
        'referrer', CASE WHEN e.url_id % 2 = 1 THEN 'http://ref.example/' || e.url_id END,
        'user_agent', 'ua-' || e.url_id))
    AND $KEY_SHARD = e.url_id % 8")
eq "every packed click has the right url_id, user_id, timestamp, details and shard" "$good" 1000
eq "every click once, with its own key" "$(sql "SELECT count(DISTINCT url_id) || ' ' ||
    count(DISTINCT $KEY_SQL) || ' ' || count(DISTINCT $KEY_ENTRY) FROM events")" \
    "1000 1000 $(cat "$HARNESS_DIR/genb.count")"
eq "the rollups count 1000" "$(sql "SELECT (SELECT sum(clicks) FROM url_totals) || ' ' ||
    (SELECT sum(clicks) FROM url_stats_day WHERE dim = 'k')")" "1000 1000"
# A batch with one bad click: the other two are stored, the bad one is dead-lettered alone.
sep=$'\x1f'
rcli XADD 'clicks:{3}' '*' b 3 0 "2001${sep}${sep}p0${sep}https://p.example${sep}1700000000000${sep}${sep}ua-2001${sep}" \
    1 "2002${sep}${sep}p1${sep}https://p.example${sep}never${sep}${sep}ua-2002${sep}" \
    2 "2003${sep}${sep}p2${sep}https://p.example${sep}1700000000000${sep}${sep}ua-2003${sep}" >/dev/null
rcli XADD 'clicks:{4}' '*' b 2 0 "2004${sep}${sep}p3${sep}u${sep}1700000000000${sep}${sep}x${sep}" \
    >/dev/null
check "the good clicks of the batch are stored, nothing pending" wait_for 20 drained 1002
eq "clicks 0 and 2 of the batch stored" \
    "$(sql "SELECT string_agg(url_id::text, ',' ORDER BY url_id) FROM events WHERE url_id > 2000")" \
    "2001,2003"
dead=$(rcli XRANGE clicks:dead - +)
eq "two dead-letter entries" "$(rcli XLEN clicks:dead)" 2
check "the bad click is dead-lettered alone, with its index and reason" \
    bash -c "grep -A1 -x idx <<<\"\$1\" | grep -qx 1 && grep -q 'bad timestamp' <<<\"\$1\" &&
        grep -q '^2002.*never' <<<\"\$1\"" _ "$dead"
check "a batch with a missing click is dead-lettered whole" grep -q 'a packed click is missing' \
    <<<"$dead"
stop_worker "$w"
eq "SIGTERM exit status" "$?" 0

reset
slow_inserts on
start_worker EVENT_BATCH=4
w=$wpid
wait_for 10 health_is "$wlog" 200
echo 0 >"$produced"
(
    for ((i = 0; i < 20000; i += 400)); do
        produceb "$i" 400 25 || exit 1
        echo $((i + 400)) >"$produced"
        sleep 0.05
    done
) &
producer=$!
crash_cycle 4
exactly_once_20000
stop_worker "$w"
eq "SIGTERM exit status" "$?" 0
slow_inserts off

# ---------------------------------------------------------------------------------------------
say "test 10: schema/006 converts the text stream ids of stored clicks into the compact key"
mdir=$HARNESS_DIR/schema-005
mkdir -p "$mdir"
cp "$REPO_ROOT"/schema/00[1-5]_*.sql "$mdir"/
mdb=${DATABASE_URL%/*}/migrate006
psql -X -q -d "${DATABASE_URL%/*}/postgres" -c "CREATE DATABASE migrate006" >/dev/null
msql() { psql -X -A -t -q -v ON_ERROR_STOP=1 "$mdb" -c "$1"; }
check "schema up to 005" env DATABASE_URL="$mdb" SCHEMA_DIR="$mdir" "$REPO_ROOT/scripts/migrate.sh"
msql "INSERT INTO events (url_id, event_type, details, stream_id) VALUES
    (1, 'click', '{}', '3:1700000000000-7'), (1, 'click', '{}', '255:1-2147483647'),
    (1, 'created', '{}', NULL)" >/dev/null
cp "$REPO_ROOT"/schema/006_*.sql "$mdir"/
check "006 applies" env DATABASE_URL="$mdb" SCHEMA_DIR="$mdir" "$REPO_ROOT/scripts/migrate.sh"
eq "every stored id converted, API events left without a key" "$(msql "SELECT string_agg(
    coalesce($KEY_SQL, 'api'), ',' ORDER BY id) FROM events")" \
    "3:1700000000000-7/0,255:1-2147483647/0,api"
eq "API events are still found through events_api_url_idx's condition" \
    "$(msql "SELECT count(*) FROM events WHERE url_id = 1 AND stream_ms IS NULL")" 1
check "a replayed key is refused" bash -c "! psql -X -q -v ON_ERROR_STOP=1 '$mdb' -c \"INSERT INTO
    events (url_id, event_type, stream_ms, stream_seq, stream_shard, stream_idx)
    VALUES (1, 'click', 1700000000000, 7, 3, 0)\" 2>/dev/null"

# ---------------------------------------------------------------------------------------------
say "test 11: the trim keeps what another consumer still has pending"
reset
rcli XGROUP CREATE 'clicks:{2}' "$GROUP" 0 MKSTREAM >/dev/null
held=$(rcli XADD 'clicks:{2}' '*' id 77 uid '' code held url https://h.example ts 1700000000000 \
    ref '' ua held-ua)
rcli XREADGROUP GROUP "$GROUP" ghost COUNT 10 STREAMS 'clicks:{2}' '>' >/dev/null
start_worker EVENT_CLAIM_IDLE_MS=600000
w=$wpid
wait_for 10 health_is "$wlog" 200
produce 0 80 >/dev/null
check "the other clicks are stored" wait_for 20 bash -c "[ \"\$(psql -X -A -t -q '$DATABASE_URL' \
    -c 'SELECT count(*) FROM events')\" = 80 ]"
eq "the ghost's entry is still in its stream" "$(rcli XRANGE 'clicks:{2}' "$held" "$held" | head -n 1)" \
    "$held"
eq "nothing after it was trimmed on its shard (10 clicks of shard 2 + the held one)" \
    "$(rcli XLEN 'clicks:{2}')" 11
eq "the other shards are trimmed to nothing" "$(( $(total_len) - 11 ))" 0
stop_worker "$w"
start_worker
w=$wpid
check "claimed from the ghost, stored, and then everything trimmed" wait_for 20 drained 81
stop_worker "$w"

# ---------------------------------------------------------------------------------------------
say "test 12: schema/007 stores stream clicks narrow, and every event's details read the same"
mdir=$HARNESS_DIR/schema-006
mkdir -p "$mdir"
cp "$REPO_ROOT"/schema/00[1-6]_*.sql "$mdir"/
mdb=${DATABASE_URL%/*}/migrate007
psql -X -q -d "${DATABASE_URL%/*}/postgres" -c "CREATE DATABASE migrate007" >/dev/null
check "schema up to 006" env DATABASE_URL="$mdb" SCHEMA_DIR="$mdir" "$REPO_ROOT/scripts/migrate.sh"
full='{"short_code": "abc", "original_url": "https://x.example/a", "referrer": "https://r.example/p",
  "user_agent": "Mozilla/5.0 \"X\"", "referrer_host": "r.example", "browser": "Chrome",
  "os": "Linux", "device": "desktop", "bot": false, "country": "DE",
  "visitor": "00112233445566778899aabbccddeeff"}'
msql "INSERT INTO events (url_id, event_type, details, stream_ms, stream_seq, stream_shard,
      stream_idx) VALUES
    (1, 'click', '$full', 1, 1, 0, 0), (2, 'click', '$full', 1, 1, 0, 1),
    (3, 'click', '{\"short_code\": \"abd\", \"user_agent\": \"u\", \"bot\": true}', 1, 2, 0, 0),
    (4, 'click', '{}', 1, 3, 0, 0),
    (5, 'click', '{\"short_code\": \"abd\", \"extra\": 1.0}', 1, 4, 0, 0),
    (6, 'click', '{\"bot\": \"yes\", \"visitor\": \"XYZ\"}', 1, 5, 0, 0);
    INSERT INTO events (url_id, event_type, details) VALUES (1, 'created', '{\"a\": [1, 2]}'),
    (1, 'click', '{\"via\": \"api\"}')" >/dev/null
before=$(msql "SELECT string_agg(id || ' ' || details::text, E'\\n' ORDER BY id) FROM events")
cp "$REPO_ROOT"/schema/007_*.sql "$mdir"/
check "007 applies" env DATABASE_URL="$mdb" SCHEMA_DIR="$mdir" "$REPO_ROOT/scripts/migrate.sh"
eq "every event's details are byte-identical after the conversion" "$(msql "SELECT
    string_agg(id || ' ' || e.details::text, E'\\n' ORDER BY id) FROM events e")" "$before"
eq "the canonical clicks are narrow, the others keep their stored details" "$(msql "SELECT
    string_agg(id || ':' || (api_details IS NULL)::text, ',' ORDER BY id) FROM events")" \
    "1:true,2:true,3:true,4:true,5:false,6:false,7:false,8:false"
eq "one dictionary row per distinct value" "$(msql "SELECT (SELECT count(*) FROM click_links) ||
    ' ' || (SELECT count(*) FROM click_agents) || ' ' || (SELECT count(*) FROM click_referrers)")" \
    "2 2 1"
eq "the visitor hash is 16 bytes" "$(msql "SELECT octet_length(visitor) FROM events WHERE id = 1")" 16
check "an API event needs details" bash -c "! psql -X -q -v ON_ERROR_STOP=1 '$mdb' -c \"INSERT INTO
    events (url_id, event_type) VALUES (1, 'created')\" 2>/dev/null"

# ---------------------------------------------------------------------------------------------
say "test 13: events partitioned by month (schema/008), old click months dropped, counts kept"
reset
old_ms=$(( ($(date +%s) - 100 * 86400) * 1000 ))  # about three months ago
old_month=$(sql "SELECT to_char(to_timestamp($old_ms / 1000.0) AT TIME ZONE 'UTC', 'YYYY\"m\"MM')")
sql "DROP TABLE IF EXISTS events_y$old_month" >/dev/null
rcli XGROUP CREATE 'clicks:{3}' "$GROUP" 0 MKSTREAM >/dev/null
rcli XADD 'clicks:{3}' "$old_ms-0" id 301 uid '' code old url https://o.example \
    ts 1700000000000 ref '' ua old-ua >/dev/null
rcli XADD 'clicks:{3}' '*' id 302 uid '' code new url https://n.example ts 1700000000000 \
    ref '' ua new-ua >/dev/null
sql "INSERT INTO events (url_id, event_type, api_details) VALUES (301, 'created', '{}')" >/dev/null
start_worker
w=$wpid
check "both clicks stored" wait_for 20 drained 2
stop_worker "$w"
eq "this month's click in its partition, the old one (no partition yet) and the API event in events_api" \
    "$(sql "SELECT string_agg(url_id || ':' || tableoid::regclass::text, ',' ORDER BY url_id,
        event_type) FROM events")" \
    "301:events_api,301:events_api,302:events_y$(date -u +%Ym%m)"
eq "a partition made later takes the rows of its month" \
    "$(sql "SELECT events_add_partition(date_trunc('month', to_timestamp($old_ms / 1000.0)
        AT TIME ZONE 'UTC'))") $(sql "SELECT tableoid::regclass::text FROM events
        WHERE url_id = 301 AND event_type = 'click'")" "1 events_y$old_month"
before=$(sql "SELECT json_build_object('d', e.details)::text FROM events e WHERE url_id = 302")
start_worker EVENT_RETENTION_MONTHS=1
w=$wpid
check "the worker drops the months older than EVENT_RETENTION_MONTHS" wait_for 10 bash -c \
    "[ \"\$(psql -X -A -t -q '$DATABASE_URL' -c \"SELECT to_regclass('events_y$old_month')
        IS NULL\")\" = t ]"
stop_worker "$w"
eq "the old click is gone, the new one and the API event stay" "$(sql "SELECT string_agg(
    url_id || ':' || event_type, ',' ORDER BY url_id, event_type) FROM events")" \
    "301:created,302:click"
eq "the rollups keep both clicks" "$(sql "SELECT sum(clicks) FROM url_totals") $(sql \
    "SELECT sum(clicks) FROM url_stats_day WHERE dim = 'k'")" "2 2"
eq "the remaining click reads the same" \
    "$(sql "SELECT json_build_object('d', e.details)::text FROM events e WHERE url_id = 302")" \
    "$before"
eq "partitions exist ahead for this month and the next two" "$(sql "SELECT count(*) FROM
    generate_series(0, 2) k WHERE to_regclass(format('events_y%s', to_char(date_trunc('month',
    now() AT TIME ZONE 'UTC') + make_interval(months => k), 'YYYY\"m\"MM'))) IS NOT NULL")" 3

# ---------------------------------------------------------------------------------------------
sanitizer=$(grep -l -E 'AddressSanitizer|runtime error:|LeakSanitizer' "$LOGS"/*.err 2>/dev/null)
if [ -z "$sanitizer" ]; then
    ok "no sanitizer report in the workers' stderr"
else
    not_ok "sanitizer reports in: $sanitizer"
    grep -h -A20 -E 'AddressSanitizer|runtime error:|LeakSanitizer' "$LOGS"/*.err | head -60
fi
if [ "$failed" -gt 0 ]; then
    say "worker logs:"
    tail -n 5 "$LOGS"/*.err >&2
fi
echo "worker: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
