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
#      the instance is healthy again.
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
    phase_end "check 11"
}
