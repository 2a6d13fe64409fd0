#!/usr/bin/env bash
# bench/pipeline.sh - the click pipeline alone (issue 13): how fast the event-worker drains a
# backlog of clicks from the streams into PostgreSQL, and how many bytes a stored click costs.
#
#   B=build bench/pipeline.sh          (make bench runs it after bench/stats.sh)
#
# Under tests/harness.sh (a throw-away PostgreSQL and Redis, schema applied):
#   1. starts the worker once (the groups are created, the user-agent rules load), stops it;
#   2. fills the STREAM_SHARDS streams with BENCH_PIPE_CLICKS (1 000 000) clicks in batched
#      entries of up to BENCH_PIPE_PER (64) clicks of one shard, the format redirect-svc writes
#      (shared/clickstream.h), over BENCH_PIPE_LINKS (10 000) links, with a mix of user agents,
#      referrers and client addresses, timestamps within the last hour (redis-cli --pipe);
#   3. starts the worker and times it until url_totals counts every click (a cheap sum over
#      one row per link, not a count over the events table), at most BENCH_PIPE_TIMEOUT
#      (300) s;
#   4. checks the counts (events rows = clicks = url_totals) and the streams (nothing pending),
#      and measures the total size of events (heap, TOAST and indexes; all its partitions)
#      per stored click.
# Prints clicks/s (from the worker's start, and from its first stored click) and bytes per
# click as a Markdown table. Exit 0 when the drain completed exactly; 1 otherwise.
set -euo pipefail

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/${BASH_SOURCE[0]##*/}
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
. "$(dirname "$self")/../scripts/lib.sh"

B=${B:-build}
case $B in /*) ;; *) B=$REPO_ROOT/$B ;; esac
N=${BENCH_PIPE_CLICKS:-1000000}
PER=${BENCH_PIPE_PER:-64}
LINKS=${BENCH_PIPE_LINKS:-10000}
TIMEOUT=${BENCH_PIPE_TIMEOUT:-300}
SHARDS=${STREAM_SHARDS:-8}

if [ -z "${HARNESS_DIR:-}" ]; then
    [ -x "$B/bin/event-worker" ] || die "$B/bin/event-worker not built (make all)"
    exec "$REPO_ROOT/tests/harness.sh" "$self" "$@"
fi

svc_pids=()
trap svc_stop_all EXIT
sql() { psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -c "$1"; }
rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
ms() { date +%s%3N; }

# gen: RESP for the XADDs of the N clicks. Click i: link 1 + i % LINKS on shard i % SHARDS,
# one of six agents (one a bot), a referrer for two clicks in three, an address of 4096.
gen() {
    LC_ALL=C awk -v n="$N" -v per="$PER" -v links="$LINKS" -v shards="$SHARDS" \
        -v t0="$(($(date +%s) * 1000 - 3600000))" '
        function bulk(s) { printf "$%d\r\n%s\r\n", length(s), s }
        function flush(s,   k) {
            if (cnt[s] == 0) return
            printf "*%d\r\n", 5 + 2 * cnt[s]
            bulk("XADD"); bulk("clicks:{" s "}"); bulk("*"); bulk("b"); bulk(cnt[s])
            for (k = 0; k < cnt[s]; k++) { bulk(k); bulk(packed[s, k]) }
            cnt[s] = 0
        }
        BEGIN {
            ua[0] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
            ua[1] = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
            ua[2] = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"
            ua[3] = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
            ua[4] = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
            ua[5] = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
            ref[0] = ""; ref[1] = "https://www.google.com/"; ref[2] = "https://t.co/abc"
            sep = "\037"
            for (i = 0; i < n; i++) {
                s = i % shards
                id = 1 + i % links
                packed[s, cnt[s]++] = id sep (id % 2 ? id % 100 + 1 : "") sep \
                    sprintf("b%07d", id) sep "https://bench.example.com/link/" id sep \
                    sprintf("%.0f", t0 + int(i * 3600000 / n)) sep ref[i % 3] sep ua[i % 6] sep \
                    "10." int(i / 7 % 4096 / 256) "." (i / 7 % 256) ".7"
                if (cnt[s] == per) flush(s)
            }
            for (s = 0; s < shards; s++) flush(s)
        }'
}

total_clicks() { sql "SELECT coalesce(sum(clicks), 0) FROM url_totals"; }
total_pending() {
    local s n=0 p
    for ((s = 0; s < SHARDS; s++)); do
        p=$(rcli XPENDING "clicks:{$s}" event-worker | head -n 1)
        n=$((n + p))
    done
    echo "$n"
}

port=$(pick_free_port)
wenv=(LOG_LEVEL=${BENCH_PIPE_LOG:-warn} STREAM_SHARDS="$SHARDS")
svc_start event-worker "$port" "${wenv[@]}"
svc_stop_all
# events and, when it is partitioned (schema/008), its partitions: one figure for all.
# pg_partition_tree is empty for a plain table: then events itself.
events_rels="SELECT relid FROM pg_partition_tree('events') WHERE isleaf
    UNION SELECT 'events'::regclass WHERE NOT EXISTS (SELECT FROM pg_partition_tree('events'))"
events_size() {
    sql "SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM ($events_rels) t"
}
size0=$(events_size)

say "filling the streams with $N clicks ($PER per entry, $LINKS links, $SHARDS shards)"
t=$(ms)
out=$(gen | rcli --pipe 2>&1)
grep -q 'errors: 0' <<<"$out" || die "redis-cli --pipe: $out"
say "filled in $(($(ms) - t)) ms: $(rcli INFO memory | grep -m1 used_memory_human | tr -d '\r')"

t0=$(ms)
env PORT="$port" "${wenv[@]}" "$B/bin/event-worker" 2>>"$HARNESS_DIR/event-worker.log" &
svc_pids+=($!)
t_first=
n=0
while :; do
    n=$(total_clicks)
    [ -z "$t_first" ] && [ "$n" -gt 0 ] && t_first=$(ms)
    [ "$n" -ge "$N" ] && break
    [ $(($(ms) - t0)) -lt $((TIMEOUT * 1000)) ] || {
        tail -n 5 "$HARNESS_DIR/event-worker.log" >&2
        die "not drained after $TIMEOUT s: $n of $N"
    }
    sleep 0.2
done
t1=$(ms)
# The worker's peak resident memory (kB), read before it stops.
rss=$(awk '/^VmHWM/ { print $2 }' "/proc/${svc_pids[-1]}/status" 2>/dev/null || echo '?')
svc_stop_all

[ -z "${BENCH_PIPE_LOG_COPY:-}" ] || cp "$HARNESS_DIR/event-worker.log" "$BENCH_PIPE_LOG_COPY"
rows=$(sql "SELECT count(*) FROM events")
pending=$(total_pending)
[ "$rows" = "$N" ] && [ "$n" = "$N" ] && [ "$pending" = 0 ] ||
    die "counts differ: $rows rows, url_totals $n, $pending pending, $N clicks"
size1=$(events_size)
# The click dictionaries of schema/007 (none before it): per distinct value, not per click.
dict=$(sql "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c
    WHERE c.relname IN ('click_links', 'click_agents', 'click_referrers')")
detail=$(sql "SELECT sum(pg_relation_size(c.oid)) || ' ' || sum(pg_indexes_size(c.oid)) || ' ' ||
    coalesce(sum(pg_total_relation_size(nullif(c.reltoastrelid, 0))), 0)
    FROM ($events_rels) t JOIN pg_class c ON c.oid = t.relid")
read -r heap idx toast <<<"$detail"
rate=$(awk -v n="$N" -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f", n * 1000 / ms }')
rate2=$(awk -v n="$N" -v ms=$((t1 - t_first)) 'BEGIN { printf "%.0f", n * 1000 / ms }')
per_click=$(awk -v a="$size1" -v b="$size0" -v n="$N" 'BEGIN { printf "%.0f", (a - b) / n }')

printf '\n### Click pipeline: %s clicks drained into PostgreSQL (%s per entry, %s links)\n\n' \
    "$N" "$PER" "$LINKS"
printf '| drain (from start) | clicks/s | clicks/s from the first stored click | bytes per click | heap | indexes | TOAST | dictionaries (total) | worker peak RSS |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
printf '| %s ms | %s | %s | %s | %s | %s | %s | %s | %s kB |\n' "$((t1 - t0))" "$rate" "$rate2" "$per_click" \
    "$(awk -v v="$heap" -v n="$N" 'BEGIN { printf "%.0f", v / n }')" \
    "$(awk -v v="$idx" -v n="$N" 'BEGIN { printf "%.0f", v / n }')" \
    "$(awk -v v="$toast" -v n="$N" 'BEGIN { printf "%.0f", v / n }')" "$dict" "$rss"
