#!/usr/bin/env bash
# tests/ui/run.sh - the dashboard in a real browser (make check-ui, part of make check).
#
#   B=build tests/ui/run.sh            UI_OUT=DIR keeps the screenshots there (default
#                                      $B/ui-test: desktop and phone shots of every page)
#
# Under tests/harness.sh (a throw-away PostgreSQL and Redis) it starts write-svc, redirect-svc,
# event-worker and an nginx rendered from deploy/nginx.conf.in (the front door) on free ports,
# loads a little traffic, and runs tests/ui/dashboard.mjs: Debian's chromium
# (/usr/bin/chromium, or $CHROMIUM) driven by playwright-core (pinned in ui/package-lock.json,
# installed by the Makefile's npm ci in ui/). The test creates a link through the form with
# options, follows it with curl and sees its count and the live feed change within a second,
# opens its page and sees the charts drawn, edits and deactivates it and sees the redirect turn
# 404, and runs the smoke checks (all green). Then the same stack in API_AUTH=keys mode with a
# read-only key (write controls disabled) - printed SKIP while write-svc does not know
# API_AUTH=keys. Every wait is bounded; the whole run takes well under two minutes.
# Without chromium, node or nginx it prints SKIP; under CI=true it fails instead.
set -euo pipefail

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/${BASH_SOURCE[0]##*/}
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib.sh
. "$(dirname "$self")/../../scripts/lib.sh"

B=${B:-build}
case $B in /*) ;; *) B=$REPO_ROOT/$B ;; esac
here=$REPO_ROOT/tests/ui
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export UI_OUT=${UI_OUT:-$B/ui-test}

if [ -z "${HARNESS_DIR:-}" ]; then
    for svc in write-svc redirect-svc event-worker; do
        [ -x "$B/bin/$svc" ] || die "$B/bin/$svc not built (make all)"
    done
    command -v node >/dev/null || skip_or_fail "node not found (apt-get install nodejs)"
    [ -x "$CHROMIUM" ] || skip_or_fail "$CHROMIUM not found (apt-get install chromium)"
    command -v nginx >/dev/null || skip_or_fail "nginx not found (apt-get install nginx)"
    [ -d "$REPO_ROOT/ui/node_modules/playwright-core" ] ||
        die "ui/node_modules/playwright-core missing (make builds it: npm ci in ui/)"
    mkdir -p "$UI_OUT"
    exec "$REPO_ROOT/tests/harness.sh" "$self" "$@"
fi

svc_pids=()
ngx_dir=$HARNESS_DIR/nginx
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    ngx_stop "$ngx_dir"
    svc_stop_all
}
trap cleanup EXIT

# start_stack [ENV=VALUE...]: the three services and the front door; sets $front.
start_stack() {
    local write_port redirect_port worker_port status_port targets
    write_port=$(pick_free_port)
    redirect_port=$(pick_free_port)
    worker_port=$(pick_free_port)
    front_port=$(pick_free_port)
    status_port=$(pick_free_port)
    front=http://127.0.0.1:$front_port
    targets="write-svc-1=http://127.0.0.1:$write_port,redirect-svc-1=http://127.0.0.1:$redirect_port"
    targets+=",event-worker-1=http://127.0.0.1:$worker_port"
    svc_start write-svc "$write_port" PUBLIC_BASE_URL="$front" DASHBOARD_TARGETS="$targets" "$@"
    svc_start event-worker "$worker_port"
    svc_start redirect-svc "$redirect_port"
    ngx_start "$ngx_dir" "$front_port" "$status_port" "$write_port" "$redirect_port"
}

# A link with some history, so that the screenshots show charts with data.
# load_traffic ALIAS [CURL_ARGS...]
load_traffic() {
    local alias=$1 code i
    shift
    code=$(curl -sf -m 5 -H 'Content-Type: application/json' "$@" \
        -d '{"original_url": "https://example.com/launch", "title": "Launch post", "short_code": "'"$alias"'"}' \
        "$front/urls" | sed -n 's/.*"short_code":"\([^"]*\)".*/\1/p')
    [ -n "$code" ] || die "cannot create the traffic link"
    for i in $(seq 1 24); do
        curl -s -o /dev/null -m 5 -A "$(ua "$i")" -e "$(ref "$i")" "$front/$code"
    done
    # A few more links, so that the table has rows.
    for i in docs pricing blog careers; do
        curl -sf -o /dev/null -m 5 -H 'Content-Type: application/json' "$@" \
            -d '{"original_url": "https://example.com/'"$i"'", "title": "Example '"$i"'"}' \
            "$front/urls" || die "cannot create a link"
    done
}
ua() {
    case $(($1 % 4)) in
    0) echo 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36' ;;
    1) echo 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1' ;;
    2) echo 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0' ;;
    3) echo 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' ;;
    esac
}
ref() {
    case $(($1 % 3)) in
    0) echo 'https://news.ycombinator.com/item?id=1' ;;
    1) echo 'https://twitter.com/someone/status/2' ;;
    2) echo 'https://www.google.com/search?q=launch' ;;
    esac
}

start_stack
load_traffic launch-post
rc=0
node "$here/dashboard.mjs" "$front" open || rc=1

# The same in keys mode with a read-only key, once write-svc knows API_AUTH=keys.
if ! "$B/bin/write-svc" --help 2>&1 | grep -q 'API_AUTH'; then
    printf 'SKIP: keys mode: this write-svc has no API_AUTH=keys (issue 11, branch keys)\n'
    exit "$rc"
fi
cleanup
start_stack API_AUTH=keys
admin=$("$B/bin/write-svc" keys create --name "ui test admin" --scopes admin |
    sed -n 's/.*"key":"\([^"]*\)".*/\1/p')
reader=$("$B/bin/write-svc" keys create --name "ui test reader" --scopes read |
    sed -n 's/.*"key":"\([^"]*\)".*/\1/p')
if [ -z "$admin" ] || [ -z "$reader" ]; then
    die "write-svc keys create printed no key"
fi
load_traffic launch-post-keys -H "Authorization: Bearer $admin"
UI_KEY=$reader node "$here/dashboard.mjs" "$front" keys-read || rc=1
exit "$rc"
