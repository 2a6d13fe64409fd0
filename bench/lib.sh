# shellcheck shell=bash
# bench/lib.sh - helpers of bench/run.sh: PostgreSQL and Redis access, the bench's own rows
# and keys, process figures from /proc, one wrk run, number formatting and JSON.
# Source it after scripts/lib.sh, with these set by the caller:
#   PG_PORT PG_USER REDIS_PORT SHARDS ID_BASE OUT BENCH_DIR RUN_DIR
# It defines functions only (and the constants below) and changes no shell option.

# The bench's links: code bench<n, 7 digits>, id ID_BASE + n (n = 1..1 000 000), owner the
# bench user, original_url under BENCH_URL_PREFIX. Links the bench creates through POST /urls
# get ordinary ids and codes, and an original_url under the same prefix.
BENCH_URL_PREFIX=https://bench.example.com/
BENCH_USER=bench
BENCH_EMAIL=bench@bench.example.com
BENCH_MAX_LINKS=1000000
BENCH_CODE_GLOB='url:{*}:bench[0-9][0-9][0-9][0-9][0-9][0-9][0-9]'

bq() {
    psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d shortener "$@"
}

rcli() {
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"
}

redis_used_memory() {
    rcli info memory | tr -d '\r' | sed -n 's/^used_memory://p'
}

marker_present() {
    [ "$(rcli exists readmodel:complete)" = 1 ]
}

# Sum of entries-added over the click streams: every click redirect-svc ever recorded.
clicks_added() {
    local s total=0 n
    for ((s = 0; s < SHARDS; s++)); do
        n=$(rcli xinfo stream "clicks:{$s}" 2>/dev/null | tr -d '\r' |
            awk 'prev == "entries-added" { print; exit } { prev = $0 }')
        total=$((total + ${n:-0}))
    done
    printf '%s\n' "$total"
}

# Entries still in the click streams (the worker XDELs what it persisted).
clicks_backlog() {
    local s total=0 n
    for ((s = 0; s < SHARDS; s++)); do
        n=$(rcli xlen "clicks:{$s}" | tr -d '\r')
        total=$((total + ${n:-0}))
    done
    printf '%s\n' "$total"
}

events_max_id() {
    bq -c "SELECT coalesce(max(id), 0) FROM events"
}

# clicks_persisted AFTER_ID: click events of bench links stored after event AFTER_ID.
clicks_persisted() {
    bq -c "SELECT count(*) FROM events WHERE id > $1 AND event_type = 'click'
        AND url_id > $ID_BASE AND url_id <= $ID_BASE + $BENCH_MAX_LINKS"
}

# --- the bench's rows and keys ----------------------------------------------------------------

# FNV-1a-32 as in shared/shortcode.c, for the Redis keys of links the bench created.
BENCH_FNV_SQL="CREATE FUNCTION pg_temp.bench_fnv(s text) RETURNS bigint LANGUAGE plpgsql AS \$\$
DECLARE
    h bigint := 2166136261;
    b bytea := convert_to(s, 'UTF8');
BEGIN
    FOR i IN 0 .. length(b) - 1 LOOP
        h := ((h # get_byte(b, i)) * 16777619) & 4294967295;
    END LOOP;
    RETURN h;
END \$\$;"

# Removes everything the bench ever wrote: its links (seeded and created) with their events
# and read-model keys, its user, its Redis reference keys. Seed rows are never touched: they
# have neither the bench id range nor the bench URL prefix.
bench_cleanup() {
    local created
    # Read-model keys first, so that nothing can redirect to a link that is being deleted.
    rcli --scan --pattern "$BENCH_CODE_GLOB" | tr -d '\r' |
        awk '{ print "UNLINK " $0 }' | rcli --pipe >/dev/null
    created=$(bq -c "$BENCH_FNV_SQL" -c "SELECT 'UNLINK url:{' || pg_temp.bench_fnv(short_code)
        % $SHARDS || '}:' || short_code FROM urls
        WHERE id <= $ID_BASE AND original_url LIKE '$BENCH_URL_PREFIX%'")
    [ -z "$created" ] || printf '%s\n' "$created" | rcli --pipe >/dev/null
    rcli del bench:ref:key bench:ref:stream bench:ref:evalstream >/dev/null
    bq -c "DELETE FROM events WHERE url_id IN (SELECT id FROM urls
               WHERE id <= $ID_BASE AND original_url LIKE '$BENCH_URL_PREFIX%')" \
        -c "DELETE FROM urls WHERE id <= $ID_BASE AND original_url LIKE '$BENCH_URL_PREFIX%'" \
        -c "DELETE FROM events WHERE url_id > $ID_BASE AND url_id <= $ID_BASE + $BENCH_MAX_LINKS" \
        -c "DELETE FROM urls WHERE id > $ID_BASE AND id <= $ID_BASE + $BENCH_MAX_LINKS" \
        -c "DELETE FROM users WHERE username = '$BENCH_USER' AND email = '$BENCH_EMAIL'"
}

bench_user() {
    bq -c "INSERT INTO users (username, email) VALUES ('$BENCH_USER', '$BENCH_EMAIL') RETURNING id"
}

# seed_links FROM TO UID: bench links FROM..TO in PostgreSQL only (the read model follows).
seed_links() {
    bq -c "INSERT INTO urls (id, user_id, short_code, original_url, title)
        SELECT $ID_BASE + n, $3, 'bench' || lpad(n::text, 7, '0'),
            '${BENCH_URL_PREFIX}link/' || n, 'bench link ' || n
        FROM generate_series($1, $2) AS n" -c "ANALYZE urls"
}

# rebuild_read_model TIMEOUT: deletes the marker, waits for write-svc to rebuild the read
# model. Sets REBUILD_WALL_MS (marker deleted to marker back, including the watcher's poll
# interval) and REBUILD_SVC_MS / REBUILD_LINKS (write-svc's own log line), or fails.
# shellcheck disable=SC2034  # the REBUILD_* results are read by run.sh
rebuild_read_model() {
    local timeout=$1 f t0 t1 line
    local -A size=()
    for f in "$RUN_DIR"/logs/write-svc-*.log; do
        size[$f]=$(stat -c %s "$f")
    done
    t0=$(date +%s%N)
    rcli del readmodel:complete >/dev/null
    wait_until "$timeout" marker_present || return 1
    t1=$(date +%s%N)
    REBUILD_WALL_MS=$(((t1 - t0) / 1000000))
    REBUILD_SVC_MS=
    REBUILD_LINKS=
    sleep 0.2
    for f in "${!size[@]}"; do
        line=$(tail -c +"$((size[$f] + 1))" "$f" | grep -o 'read model rebuilt: [0-9]* active links in [0-9]* ms' | tail -n 1) || true
        if [ -n "$line" ]; then
            REBUILD_LINKS=$(awk '{ print $4 }' <<<"$line")
            REBUILD_SVC_MS=$(awk '{ print $8 }' <<<"$line")
        fi
    done
}

# aof_settle: an AOF rewrite now, waited for (up to 2 minutes), rather than one that Redis
# starts by itself during a measurement (a million HSETs grow the AOF past
# auto-aof-rewrite-min-size).
aof_settle() {
    local i
    rcli bgrewriteaof >/dev/null 2>&1 || true
    for ((i = 0; i < 1200; i++)); do
        rcli info persistence | tr -d '\r' |
            grep -Eq '^aof_rewrite_(in_progress|scheduled):1' || return 0
        sleep 0.1
    done
    warn "the AOF rewrite is still running"
}

# After the bench's own bulk insert, let PostgreSQL finish the maintenance it triggers
# (autovacuum and analyze of the new rows, a checkpoint) before measuring, so that both sides of
# a comparison run with the same quiet database.
pg_settle() {
    bq -c "VACUUM (ANALYZE) urls" -c "VACUUM (ANALYZE) events" -c "CHECKPOINT" ||
        warn "could not vacuum/checkpoint before measuring"
}

# --- processes --------------------------------------------------------------------------------

# One line per process of the stack: NAME PID (nginx and PostgreSQL: the master and its
# children).
stack_procs() {
    local f p
    [ -z "${WRK_PID:-}" ] || printf 'wrk %s\n' "$WRK_PID"
    for f in "$RUN_DIR"/pids/*.child.pid; do
        [ -e "$f" ] || continue
        p=$(head -n 1 "$f")
        [ -d "/proc/$p" ] && printf '%s %s\n' "$(basename "$f" .child.pid)" "$p"
    done
    if p=$(head -n 1 "$RUN_DIR/redis/redis.pid" 2>/dev/null) && [ -d "/proc/$p" ]; then
        printf 'redis %s\n' "$p"
    fi
    tree_procs nginx "$RUN_DIR/nginx/nginx.pid"
    tree_procs postgres "$RUN_DIR/pg/data/postmaster.pid"
    [ -z "${REF_NGINX_PID:-}" ] || tree_procs nginx-ref "$OUT/nginx/nginx.pid"
}

# tree_procs NAME PIDFILE: the process of PIDFILE (first line) and its children.
tree_procs() {
    local name=$1 master w
    master=$(head -n 1 "$2" 2>/dev/null) && [ -d "/proc/$master" ] || return 0
    printf '%s %s\n' "$name" "$master"
    for w in $(ps -o pid= --ppid "$master"); do
        printf '%s %s\n' "$name" "$w"
    done
}

# proc_snapshot: NAME PID RSS_KB CPU_TICKS for every stack process (one awk for all: it must
# be quick, wrk is still running while it reads).
proc_snapshot() {
    stack_procs | awk '{
        rss = ""
        f = "/proc/" $2 "/status"
        # PostgreSQL: private memory only (RssAnon); every backend maps the shared buffers.
        key = $1 == "postgres" ? "^RssAnon:" : "^VmRSS:"
        while ((getline line < f) > 0)
            if (line ~ key) { split(line, a, " "); rss = a[2] }
        close(f)
        f = "/proc/" $2 "/stat"
        ticks = 0
        # After "comm) ": state is the 1st field, utime and stime the 12th and 13th.
        if ((getline line < f) > 0) { sub(/.*\) /, "", line); split(line, a, " "); ticks = a[12] + a[13] }
        close(f)
        if (rss != "") print $1, $2, rss, ticks
    }
    END {
        # The whole machine, all cores: ticks of processes (user nice system), and of interrupts
        # (irq softirq: loopback TCP is mostly softirq, which the kernel charges to no process).
        if ((getline line < "/proc/stat") > 0) {
            split(line, a, " ")
            print "_machine", 0, 0, a[2] + a[3] + a[4]
            print "_irq", 0, 0, a[7] + a[8]
        }
    }'
}

# proc_figures SNAP0 SNAP1 SECS: NAME RSS_KB CPU_PERCENT per name (RSS and CPU summed over a
# name's processes; CPU from the ticks between the two snapshots, in % of one core), then
# "softirq 0 CPU_PERCENT" (interrupt time, mostly our own loopback traffic) and
# "others 0 CPU_PERCENT" (processes outside the stack and wrk: the machine is shared).
proc_figures() {
    awk -v secs="$3" -v hz="$(getconf CLK_TCK)" '
        FNR == NR { t0[$1 " " $2] = $4; next }
        $1 == "_machine" { machine = $4 - t0["_machine 0"]; next }
        $1 == "_irq" { irq = $4 - t0["_irq 0"]; next }
        {
            if (!($1 in rss)) order[++n] = $1
            rss[$1] += $3
            # A process born during the run counts with all of its ticks.
            d = $4 - (($1 " " $2) in t0 ? t0[$1 " " $2] : 0)
            cpu[$1] += d
            ours += d
        }
        END {
            for (i = 1; i <= n; i++)
                printf "%s %d %.0f\n", order[i], rss[order[i]], cpu[order[i]] * 100 / hz / secs
            printf "softirq 0 %.0f\n", irq * 100 / hz / secs
            o = (machine - ours) * 100 / hz / secs
            printf "others 0 %.0f\n", o < 0 ? 0 : o
        }' "$1" "$2"
}

# --- one wrk run ------------------------------------------------------------------------------

# run_wrk LABEL MODE URL CONNS LINKS: one bounded wrk run. Fills the associative array R with
# the BENCHRESULT fields of bench/scenario.lua plus rps, errors and the process figures
# (R[procs] = "name rss_kb cpu%;..."). Output of wrk in $OUT/LABEL.txt.
declare -A R
run_wrk() {
    local label=$1 mode=$2 url=$3 conns=$4 links=$5 log=$OUT/$1.txt
    local grace_ms=0 sample_at t0 t1 kv k
    # shellcheck disable=SC2153  # GRACE_MS is set by run.sh
    case $mode in redirect | mix) grace_ms=$GRACE_MS ;; esac
    # Processes are sampled 1 s before the grace period (or the end), at least half-way through.
    sample_at=$(awk -v d="$DURATION" -v g="$grace_ms" \
        'BEGIN { t = d - g / 1000 - 1; if (t < d / 2) t = d / 2; printf "%.2f", t }')
    R=()
    proc_snapshot >"$OUT/$label.snap0"
    t0=$(date +%s%N)
    BENCH_MODE=$mode BENCH_LINKS=$links BENCH_ID_BASE=$ID_BASE BENCH_UID=$BENCH_UID \
        BENCH_TAG=$TAG-$label BENCH_DURATION=$DURATION BENCH_GRACE_MS=$grace_ms \
        wrk -t"$WRK_THREADS" -c"$conns" -d"${DURATION}s" --timeout "${WRK_TIMEOUT}s" \
        -s "$BENCH_DIR/scenario.lua" "$url" >"$log" 2>&1 &
    WRK_PID=$!
    sleep "$sample_at"
    proc_snapshot >"$OUT/$label.snap1"
    t1=$(date +%s%N)
    if ! wait "$WRK_PID"; then
        WRK_PID=
        tail -n 5 "$log" >&2
        return 1
    fi
    WRK_PID=
    kv=$(sed -n 's/^BENCHRESULT //p' "$log")
    [ -n "$kv" ] || {
        tail -n 5 "$log" >&2
        return 1
    }
    for k in $kv; do
        R[${k%%=*}]=${k#*=}
    done
    R[rps]=$(awk -v n="${R[requests]}" -v us="${R[duration_us]}" 'BEGIN { printf "%.0f", n * 1e6 / us }')
    R[errors]=$((R[bad_status] + R[connect] + R[read] + R[write] + R[timeout]))
    R[procs]=$(proc_figures "$OUT/$label.snap0" "$OUT/$label.snap1" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')" |
        awk '{ printf "%s%s %s %s", (NR > 1 ? ";" : ""), $1, $2, $3 }')
}

# proc_get FIELD NAME: RSS_KB (FIELD 2) or CPU% (FIELD 3) of NAME in R[procs], or empty.
proc_get() {
    tr ';' '\n' <<<"${R[procs]}" | awk -v f="$1" -v n="$2" '$1 == n { print $f }'
}

# --- formatting -------------------------------------------------------------------------------

ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }

json_str() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\t'/ }
    printf '"%s"' "$s"
}
