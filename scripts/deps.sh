#!/usr/bin/env bash
# scripts/deps.sh - install the Debian packages the project needs to build, test and run.
#
#   scripts/deps.sh [EXTRA_PACKAGE...]     (make deps; .ci/run adds clang libclang-rt-14-dev)
#
# A package counts as present when dpkg has it installed, or when an installed package
# Provides it (postgresql-client is provided by postgresql-client-15). When everything is
# present the script only runs dpkg-query and returns at once: no apt-get update, no network.
# Otherwise it runs apt-get update and apt-get install for the missing ones only, as root, or
# through sudo when not root.
#
# libqrencode-dev and libpng-dev draw write-svc's QR codes; zbar-tools (zbarimg) decodes them
# in the e2e suite (tests/e2e/test_qr.py).
# The event-worker's click analytics need libpcre2-dev and libyaml-dev (the uap-core rules of
# the uap-core package), libmaxminddb-dev (GeoIP) and libssl-dev (the visitor hash);
# libmaxmind-db-writer-perl builds the tests' small GeoIP database (tests/geoip/mkmmdb.pl).
# prometheus brings promtool and prometheus-alertmanager amtool (tests/ops checks the deploy
# files with them); docker-compose (the v1 client) only checks the compose file: no Docker
# engine is needed or started. On a systemd machine the Debian prometheus package starts its
# own server on :9090, which nothing here uses.
#
# nodejs and npm build the dashboard (`npm ci` and esbuild in ui/, from make) and run the
# OpenAPI validator of tests/openapi (`npm ci` there, pinned by its
# package-lock.json); python3-jsonschema validates the live answers against docs/openapi.json.
# A nodejs package from NodeSource Provides npm, which then counts as present.
#
# pgbouncer (Debian's 1.18) runs in front of the tests' PostgreSQL in make check-pgbouncer
# (tests/pgbouncer, pgb_start in lib.sh) and in bench/pgbouncer.sh; installing it starts no
# server here (no systemd), and the tests run their own as the PostgreSQL user.
#
# chromium is the browser of the dashboard's test (tests/ui, driven by playwright-core from
# ui/package-lock.json); it is never downloaded by npm.
#
# System services: installing postgresql and redis-server on Debian starts their system-wide
# servers (ports 5432 and 6379). This script leaves them alone on purpose: scripts/run.sh and
# tests/harness.sh start private servers on their own ports and directories, so the two never
# conflict, and stopping a service someone may rely on is not ours to do.
#
# Exit: 0 when every package is present afterwards, non-zero otherwise.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

packages=(build-essential pkg-config libmicrohttpd-dev libpq-dev libhiredis-dev libjansson-dev
    libcmocka-dev libqrencode-dev libpng-dev zbar-tools postgresql postgresql-client redis-server
    redis-tools nginx curl wrk python3 python3-yaml python3-jsonschema nodejs npm libssl-dev
    prometheus prometheus-alertmanager docker-compose shellcheck libpcre2-dev libyaml-dev uap-core
    libmaxminddb-dev libmaxmind-db-writer-perl chromium pgbouncer "$@")

command -v dpkg-query >/dev/null || die "dpkg-query not found: this script needs Debian or Ubuntu"

# Every installed package name, and every name an installed package provides, one per line.
present=$(dpkg-query -W -f='${db:Status-Abbrev}\t${Package}\t${Provides}\n' 2>/dev/null |
    awk -F'\t' '$1 ~ /^ii/ {
        print $2
        n = split($3, p, ",")
        for (i = 1; i <= n; i++) { sub(/^ +/, "", p[i]); sub(/ .*/, "", p[i]); print p[i] }
    }' | sort -u)

missing=()
for pkg in "${packages[@]}"; do
    grep -qxF "$pkg" <<<"$present" || missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
    say "all ${#packages[@]} packages are installed"
    exit 0
fi

if [ "$(id -u)" = 0 ]; then
    sudo=()
else
    command -v sudo >/dev/null || die "not root and no sudo: install ${missing[*]} yourself"
    sudo=(sudo)
fi

say "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
    die "apt-get update failed"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}" || die "apt-get install failed for: ${missing[*]}"
say "installed ${#missing[@]} package(s)"
