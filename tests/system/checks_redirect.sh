# tests/system/checks_redirect.sh - checks 10 and 11 of the system suite (issue 13, sourced by
# run.sh, which provides start_svc, new_port, port[], sup[], check, eq, rcli and the stack):
#  10. batched clicks: with the event-workers paused (SIGSTOP), redirect-svc-1 (batched
#      entries, the default) and a redirect-svc started with CLICK_BATCH=0 (one entry per
#      click) race 20 clients on a link capped
#      at 37: exactly 37 answers 302 and the rest 410, the link's counter is 37, and the
#      streams hold exactly 37 clicks of it, batched entries ("b" and packed values in the
#      format of shared/clickstream.h) among them; HEAD records nothing. The entries written
#      here are deleted before the workers continue, so that later checks count only their own.
#  11. a frozen Redis (SIGSTOP of the harness's redis-server): redirects held in a batch in
#      flight, /livez and /metrics on the same instance answer within 100 ms each, the
#      redirects answer 503 after REDIS_TIMEOUT_MS (1 s) and not much later; after SIGCONT
#      the instance is healthy again. The same with a Redis busy in DEBUG SLEEP 1.5 (a slow
#      Redis rather than a stopped one): /livez and /metrics within 100 ms, redirects 503.
#  12. near-cache coherence (issue 13): `systest coherence` (syscoher.h) hammers 8 links with
#      200 connections through both redirect-svc instances while one writer changes their
#      URL, deactivates, reactivates, moves and finally deletes them through both write-svc
#      instances: no answer to a request sent after a write's response is stale, no error,
#      both instances answered from their near cache (hits) and dropped changed entries
#      (invalidations), and PostgreSQL stores exactly one click per 302 answered. Then a
#      read-model rebuild (the marker deleted after a link was changed in PostgreSQL behind
#      write-svc's back) must leave no cached link: both instances answer the new URL.
# shellcheck shell=bash disable=SC2154 # port, sup, ...: run.sh's

# The clicks of CODE in every stream entry after ID START, as "total batched_entries bad".
stream_clicks() {
    local code=$1 start=$2 s
    for ((s = 0; s < shards; s++)); do
        rcli -2 --json XRANGE "clicks:{$s}" "($start" +
    done | python3 -c '
import json, sys
code, total, batched, bad = sys.argv[1], 0, 0, 0
for doc in sys.stdin:
    for _id, f in json.loads(doc):
        d = dict(zip(f[0::2], f[1::2]))
        if "b" in d:
            n, mine = int(d["b"]), 0
            for i in range(n):
                v = d.get(str(i), "").split("\x1f")
                if len(v) != 8:
                    bad += 1
                elif v[2] == code:
                    mine += 1
            batched += mine > 0
            total += mine
        elif d.get("code") == code:
            total += 1
print(total, batched, bad)' "$code"
}

# Deletes every stream entry after START (the workers are paused: none has read them).
stream_drop_after() {
    local s id
    for ((s = 0; s < shards; s++)); do
        for id in $(rcli XRANGE "clicks:{$s}" "($1" + | grep -E '^[0-9]+-[0-9]+$'); do
            rcli XDEL "clicks:{$s}" "$id" >/dev/null
        done
    done
}

check10() {
    local name bport code start st i out n w r1=${port[redirect-svc-1]} pids=()
    phase_start "check 10: batched and single-click entries racing on exact caps"
    for name in event-worker-1 event-worker-2; do kill -STOP "$(child_pid "$name")"; done
    bport=$(new_port) || die "no free port"
    port[redirect-svc-b]=$bport
    start_svc redirect-svc-b redirect-svc PORT="$bport" HTTP_THREADS=2 CLICK_BATCH=0
    wait_for 30 health_200 "$bport" || not_ok "redirect-svc with CLICK_BATCH=0 healthy"
    start=$(rcli TIME | head -n 1)000
    code=b$(date +%s%N | tail -c 9)
    st=$(curl -s -o /dev/null -m 5 -w '%{http_code}' -H 'Content-Type: application/json' \
        -d "{\"original_url\": \"https://example.com/b?x=1\", \"short_code\": \"$code\", \"max_clicks\": 37}" \
        "http://127.0.0.1:${port[write-svc-1]}/urls")
    eq "capped link created" "$st" 201
    for i in 1 2 3; do
        eq "HEAD on the CLICK_BATCH=0 instance" "$(curl -s -o /dev/null -I -m 5 -w '%{http_code}' \
            "http://127.0.0.1:$bport/$code")" 302
    done
    out=$HARNESS_DIR/out/check10
    mkdir -p "$out"
    for ((w = 0; w < 20; w++)); do
        n=$r1
        [ $((w % 2)) = 1 ] && n=$bport
        (for ((i = 0; i < 10; i++)); do
            curl -s -o /dev/null -m 5 -w '%{http_code}\n' "http://127.0.0.1:$n/$code"
        done) >"$out/w$w" &
        pids+=($!)
    done
    wait "${pids[@]}"
    eq "302s under 20 racing clients on two instances (cap 37)" \
        "$(cat "$out"/w* | grep -c '^302$')" 37
    eq "the others 410" "$(cat "$out"/w* | grep -c '^410$')" 163
    eq "the link's counter" "$(rcli HGET "$(rscan "url:*:$code" | head -n 1)" n)" 37
    read -r n w st <<<"$(stream_clicks "$code" "$start")"
    eq "clicks of the link in the streams" "$n" 37
    check "batched entries among them" [ "$w" -ge 1 ]
    eq "batched clicks with 8 packed values" "$st" 0
    stream_drop_after "$start"
    for name in event-worker-1 event-worker-2; do kill -CONT "$(child_pid "$name")"; done
    phase_end "check 10"
}

check11() {
    local rpid rp i t out slow=0 codes pids=()
    phase_start "check 11: a frozen Redis does not stall /livez and /metrics"
    # shellcheck source=/dev/null
    rpid=$(. "$HARNESS_DIR/state" && head -n 1 "$REDIS_PIDFILE")
    rp=${port[redirect-svc-1]}
    out=$HARNESS_DIR/out/check11
    mkdir -p "$out"
    kill -STOP "$rpid"
    for ((i = 0; i < 8; i++)); do # HEAD: held in a batch, records nothing
        curl -s -o /dev/null -I -m 5 -w '%{http_code} %{time_total}\n' \
            "http://127.0.0.1:$rp/seedA$i" >"$out/r$i" &
        pids+=($!)
    done
    sleep 0.2
    for ((i = 0; i < 5; i++)); do
        for path in livez metrics; do
            t=$(curl -s -o /dev/null -m 2 -w '%{http_code} %{time_total}' "http://127.0.0.1:$rp/$path")
            awk '{ exit !($1 == 200 && $2 < 0.1) }' <<<"$t" || {
                slow=$((slow + 1))
                say "/$path while Redis is frozen: $t"
            }
        done
    done
    wait "${pids[@]}"
    kill -CONT "$rpid"
    eq "/livez and /metrics answered 200 within 100 ms while Redis was frozen" "$slow" 0
    codes=$(cat "$out"/r* | awk '$1 == 503 && $2 >= 0.8 && $2 < 1.8 { n++ } END { print n + 0 }')
    eq "redirects held while Redis was frozen answer 503 after REDIS_TIMEOUT_MS" "$codes" 8
    [ "$codes" = 8 ] || cat "$out"/r* >&2
    check "redirect-svc-1 healthy after SIGCONT" wait_for 10 health_200 "$rp"
    check11_debug_sleep "$rp" "$out"
    phase_end "check 11"
}

# Check 11 with a slow Redis: DEBUG SLEEP holds it 1.5 s (the harness allows DEBUG locally).
check11_debug_sleep() {
    local rp=$1 out=$2 i t path slow=0 codes pids=()
    rm -f "$out"/r*
    rcli DEBUG SLEEP 1.5 >/dev/null &
    pids+=($!)
    sleep 0.1
    for ((i = 0; i < 8; i++)); do
        curl -s -o /dev/null -I -m 5 -w '%{http_code} %{time_total}\n' \
            "http://127.0.0.1:$rp/seedA$i" >"$out/r$i" &
        pids+=($!)
    done
    sleep 0.2
    for ((i = 0; i < 5; i++)); do
        for path in livez metrics; do
            t=$(curl -s -o /dev/null -m 2 -w '%{http_code} %{time_total}' "http://127.0.0.1:$rp/$path")
            awk '{ exit !($1 == 200 && $2 < 0.1) }' <<<"$t" || {
                slow=$((slow + 1))
                say "/$path while Redis sleeps: $t"
            }
        done
    done
    wait "${pids[@]}"
    eq "/livez and /metrics answered 200 within 100 ms during DEBUG SLEEP" "$slow" 0
    codes=$(cat "$out"/r* | awk '$1 == 503 && $2 < 1.8 { n++ } END { print n + 0 }')
    eq "redirects held during DEBUG SLEEP answer 503 after REDIS_TIMEOUT_MS" "$codes" 8
    [ "$codes" = 8 ] || cat "$out"/r* >&2
    check "redirect-svc-1 healthy after DEBUG SLEEP" wait_for 10 health_200 "$rp"
}

# A counter of redirect-svc's /metrics on port $1 ($2: the metric's name).
metric_of() {
    curl -s -m 2 "http://127.0.0.1:$1/metrics" | awk -v k="$2" '$1 == k { v = $2 } END { print v + 0 }'
}

clicks_stored() { sql "SELECT count(*) FROM events WHERE event_type = 'click' AND url_id IN ($1)"; }
clicks_stored_reach() { [ "$(clicks_stored "$1")" -ge "$2" ]; }

# The Location of $2 on port $1 ("" when not a redirect).
location_of() { curl -s -o /dev/null -m 5 -w '%{redirect_url}' "http://127.0.0.1:$1/$2"; }
marker_set() { [ "$(rcli EXISTS readmodel:complete)" = 1 ]; }

# Check 12, second part: a rebuild clears the near caches (its loads write no change entry;
# it deletes the change streams instead, so every loop's position is lost).
check12_rebuild() {
    local code p i h0 old=0 new=0
    code=rb$(date +%s)
    create_link "$code" "https://rebuild.example/old" || not_ok "link $code created"
    for p in ${port[redirect-svc-1]} ${port[redirect-svc-2]}; do
        h0=$(metric_of "$p" shortener_near_cache_hits_total)
        for ((i = 0; i < 20; i++)); do location_of "$p" "$code" >/dev/null; done
        check "redirect-svc on $p serves $code from its cache" \
            test "$(metric_of "$p" shortener_near_cache_hits_total)" -gt "$h0"
    done
    sql "UPDATE urls SET original_url = 'https://rebuild.example/new' WHERE short_code = '$code'" \
        >/dev/null
    rcli DEL readmodel:complete >/dev/null
    check "the read model is rebuilt" wait_for 60 marker_set
    for p in ${port[redirect-svc-1]} ${port[redirect-svc-2]}; do
        for ((i = 0; i < 20; i++)); do
            case $(location_of "$p" "$code") in
            https://rebuild.example/new) new=$((new + 1)) ;;
            https://rebuild.example/old) old=$((old + 1)) ;;
            esac
        done
    done
    eq "after the rebuild no instance answers the old URL (of 40)" "$old $new" "0 40"
}

check12() {
    local out r1=${port[redirect-svc-1]} r2=${port[redirect-svc-2]} rc ids clicks p h0 i0
    local -A hits0=() inv0=()
    phase_start "check 12: near-cache coherence, 200 connections, two instances, writes"
    out=$HARNESS_DIR/out/check12
    for p in "$r1" "$r2"; do
        hits0[$p]=$(metric_of "$p" shortener_near_cache_hits_total)
        inv0[$p]=$(metric_of "$p" shortener_near_cache_invalidations_total)
    done
    "$systest" coherence --redirect "http://127.0.0.1:$r1" --redirect "http://127.0.0.1:$r2" \
        --write "http://127.0.0.1:${port[write-svc-1]}" \
        --write "http://127.0.0.1:${port[write-svc-2]}" --connections 200 --links 8 \
        --rounds 3 --tag "k$(date +%s)" >"$out.out" 2>"$out.err"
    rc=$?
    eq "systest coherence ran" "$rc" 0
    [ "$rc" = 0 ] || cat "$out.err" >&2
    eq "no answer after a write's response is stale" "$(load_value "$out.out" stale)" 0
    eq "no socket error and no status but 302/404" "$(load_value "$out.out" errors)" 0
    eq "every write answered 200/204" "$(load_value "$out.out" write_errors)" 0
    check "at least 20000 answers checked" test "$(load_value "$out.out" checked)" -ge 20000
    grep -q STALE "$out.err" && head -n 5 "$out.err" >&2
    for p in "$r1" "$r2"; do
        h0=$(metric_of "$p" shortener_near_cache_hits_total)
        i0=$(metric_of "$p" shortener_near_cache_invalidations_total)
        check "redirect-svc on $p answered from its near cache" test "$h0" -gt "${hits0[$p]}"
        check "redirect-svc on $p invalidated changed links" test "$i0" -gt "${inv0[$p]}"
    done
    ids=$(awk '$1 == "url_ids" { print $2 }' "$out.out")
    clicks=$(load_value "$out.out" clicks)
    check "clicks were answered" test "$clicks" -gt 0
    wait_for 30 clicks_stored_reach "${ids:-0}" "$clicks"
    eq "PostgreSQL stores each answered click once" "$(clicks_stored "${ids:-0}")" "$clicks"
    check12_rebuild
    # Cached answers send their click packed by redirect-svc: its values must be the same.
    eq "every stored click has its link's code, URL, referrer and agent" "$(sql "SELECT count(*)
        FROM events WHERE event_type = 'click' AND url_id IN (${ids:-0}) AND NOT coalesce(
        events.details->>'user_agent' = 'coh/1' AND events.details->>'referrer' = 'https://ref.example/x' AND
        substring(events.details->>'original_url' FROM '^https://coh[.]example/[^/]+/l([0-9]+)/v[0-9]+$') =
        substring(events.details->>'short_code' FROM 'l([0-9]+)[ab]$'), false)")" 0
    phase_end "check 12"
}
