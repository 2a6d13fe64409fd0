#!/usr/bin/env bash
# bench/stats.sh - the latency of GET /urls/<id>/stats with 10 000 and with 10 000 000 click
# events in PostgreSQL (issue 10: "its latency must not grow with the events table").
#
#   B=build bench/stats.sh            (make bench runs it after bench/run.sh)
#
# Under tests/harness.sh (a throw-away PostgreSQL and Redis, schema applied) it starts one
# write-svc on a free port and makes two links, then measures in three steps:
#   1. link A with BENCH_STATS_SMALL (10 000) clicks, the whole events table that size;
#   2. the table grown by BENCH_STATS_BIG (10 000 000) clicks of link B;
#   3. link A again (the table is 1000x larger) and link B (1000x more clicks of its own).
# The clicks are written the way the event-worker writes them (a stream id, the derived
# fields in details, spread over the last 30 days, a mix of browsers, systems, devices,
# referrers, countries and 10 % bots), by generate_series in PostgreSQL rather than by
# 10 million redirects, and the rollups are filled from them with the aggregation of
# schema/004_analytics.sql's backfill. Each measurement is a wrk run on one connection
# (BENCH_STATS_SECONDS, 5 s) of the default request (the last 30 days by day), so p50 and
# p99 are the latency of a stats read with nothing else running.
# Prints a Markdown table (link, events in the table, clicks of the link, requests/s, p50,
# p99) and the ratio of link A's p50 after and before the growth.
# Exit: 0 when every step ran; non-zero when the bench itself could not run.
set -euo pipefail

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/${BASH_SOURCE[0]##*/}
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
. "$(dirname "$self")/../scripts/lib.sh"

B=${B:-build}
case $B in /*) ;; *) B=$REPO_ROOT/$B ;; esac
SMALL=${BENCH_STATS_SMALL:-10000}
BIG=${BENCH_STATS_BIG:-10000000}
SECONDS_PER_RUN=${BENCH_STATS_SECONDS:-5}

if [ -z "${HARNESS_DIR:-}" ]; then
    [ -x "$B/bin/write-svc" ] || die "$B/bin/write-svc not built (make all)"
    command -v wrk >/dev/null || die "wrk not found (scripts/deps.sh installs it)"
    exec "$REPO_ROOT/tests/harness.sh" "$self" "$@"
fi

svc_pids=()
trap svc_stop_all EXIT

sql() { psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -c "$1"; }

port=$(pick_free_port)
svc_start write-svc "$port" LOG_LEVEL=warn

new_link() { # prints the id of a new link
    curl -fsS -XPOST "http://127.0.0.1:$port/urls" -d "{\"original_url\":\"https://example.com/$1\"}" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}

# add_clicks URL_ID N: N stream clicks of the last 30 days, then the link's rollups rebuilt.
add_clicks() {
    local id=$1 n=$2
    sql "INSERT INTO events (url_id, event_type, \"timestamp\", api_details, stream_ms,
                             stream_seq, stream_shard, stream_idx)
         SELECT $id, 'click', (now() AT TIME ZONE 'UTC') - (g % 2592000) * interval '1 second',
                jsonb_build_object(
                    'browser', (ARRAY['Chrome', 'Firefox', 'Safari', 'Edge', 'Googlebot'])[1 + g % 5],
                    'os', (ARRAY['Windows', 'Mac OS X', 'iOS', 'Android', 'Linux'])[1 + g % 5],
                    'device', (ARRAY['desktop', 'mobile', 'tablet', 'desktop', 'bot'])[1 + g % 5],
                    'referrer_host', 'site' || (g % 37) || '.example',
                    'country', (ARRAY['DE', 'US', 'FR', 'BR', 'JP', 'IN'])[1 + g % 6],
                    'bot', g % 10 = 0),
                g, $id, 0, 0
         FROM generate_series(1, $n) g" >/dev/null
    sql "DELETE FROM url_totals WHERE url_id = $id;
         DELETE FROM url_stats_hour WHERE url_id = $id;
         DELETE FROM url_stats_day WHERE url_id = $id;
         INSERT INTO url_totals (url_id, clicks, human_clicks, bot_clicks, last_click)
             SELECT $id, count(*), count(*) FILTER (WHERE api_details->>'bot' = 'false'),
                    count(*) FILTER (WHERE api_details->>'bot' = 'true'), max(\"timestamp\")
             FROM events WHERE url_id = $id AND stream_ms IS NOT NULL;
         INSERT INTO url_stats_hour
             SELECT $id, v.dim::\"char\", date_trunc('hour', e.\"timestamp\"), v.name, count(*)
             FROM events e CROSS JOIN LATERAL (VALUES
                 ('k', CASE WHEN e.details->>'bot' = 'true' THEN 'bot' ELSE 'human' END),
                 ('r', e.details->>'referrer_host'), ('b', e.details->>'browser'),
                 ('o', e.details->>'os'), ('d', e.details->>'device'),
                 ('c', e.details->>'country')) AS v (dim, name)
             WHERE e.url_id = $id AND e.stream_ms IS NOT NULL GROUP BY 2, 3, 4;
         INSERT INTO url_stats_day SELECT url_id, dim, hour::date, name, sum(clicks)
             FROM url_stats_hour WHERE url_id = $id GROUP BY 1, 2, 3, 4;
         ANALYZE events; ANALYZE url_totals; ANALYZE url_stats_hour; ANALYZE url_stats_day" >/dev/null
}

rows=()
# measure LABEL URL_ID: one wrk run on one connection; appends a table row.
measure() {
    local label=$1 id=$2 out events clicks
    out=$(wrk -t1 -c1 -d"${SECONDS_PER_RUN}s" --latency "http://127.0.0.1:$port/urls/$id/stats")
    events=$(sql "SELECT count(*) FROM events")
    clicks=$(curl -fsS "http://127.0.0.1:$port/urls/$id/stats" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["total_clicks"])')
    local rps p50 p99
    rps=$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' <<<"$out")
    p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    grep -q 'Non-2xx' <<<"$out" && die "stats answered errors: $out"
    rows+=("| $label | $events | $clicks | $rps | $p50 | $p99 |")
    say "$label: $events events, link clicks $clicks, $rps req/s, p50 $p50, p99 $p99"
}

to_ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) print v / 1000; else if (v ~ /ms$/) print v + 0;
    else if (v ~ /s$/) print v * 1000; else print v }'; }

a=$(new_link stats-a)
b=$(new_link stats-b)
say "filling $SMALL clicks of link $a"
add_clicks "$a" "$SMALL"
measure "A, small table" "$a"
p50_before=$(to_ms "$(awk -F'|' '{ print $6 }' <<<"${rows[0]}" | tr -d ' ')")
say "filling $BIG clicks of link $b (this takes a few minutes)"
t0=$(date +%s)
add_clicks "$b" "$BIG"
say "filled in $(($(date +%s) - t0)) s"
measure "A, large table" "$a"
measure "B, large table" "$b"
p50_after=$(to_ms "$(awk -F'|' '{ print $6 }' <<<"${rows[1]}" | tr -d ' ')")

printf '\n### GET /urls/<id>/stats (last 30 days by day), one connection, %s s per run\n\n' \
    "$SECONDS_PER_RUN"
printf '| link | events in table | clicks of the link | requests/s | p50 | p99 |\n'
printf '|---|---|---|---|---|---|\n'
printf '%s\n' "${rows[@]}"
printf '\nlink A p50 with the large table / with the small one: %s\n' \
    "$(awk -v a="$p50_after" -v b="$p50_before" 'BEGIN { printf "%.2fx", a / b }')"
