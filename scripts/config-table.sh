#!/usr/bin/env bash
# scripts/config-table.sh - the configuration tables of the three services as markdown,
# generated from their --help output (the tables in each main.c are the only source).
#
#   B=build scripts/config-table.sh              print the tables
#   B=build scripts/config-table.sh --update F   replace the text between the markers
#                                                <!-- config-table:begin/end --> in F
#   B=build scripts/config-table.sh --check F    exit 1 when F's tables differ (make check-docs)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

B=${B:-build}
case $B in /*) ;; *) B=$REPO_ROOT/$B ;; esac

# One service's --help ("  NAME  (type, default X)" then an indented description) as rows.
table() {
    "$B/bin/$1" --help | awk -v svc="$1" '
        BEGIN { print "\n**" svc "**\n\n| variable | type and default | meaning |\n|---|---|---|" }
        /^  [A-Z_]+  \(/ {
            name = $1
            spec = $0; sub(/^  [A-Z_]+  \(/, "", spec); sub(/\)$/, "", spec)
            gsub(/\|/, "\\|", spec)
            next
        }
        /^      / && name != "" {
            text = $0; sub(/^ +/, "", text); gsub(/\|/, "\\|", text)
            printf "| `%s` | %s | %s |\n", name, spec, text
            name = ""
        }'
}

tables() {
    local svc
    for svc in write-svc redirect-svc event-worker; do
        [ -x "$B/bin/$svc" ] || die "$B/bin/$svc not built (make all)"
        table "$svc"
    done
}

# The file with the text between the markers replaced by the tables.
spliced() {
    local begin='<!-- config-table:begin -->' end='<!-- config-table:end -->'
    if ! grep -qxF "$begin" "$1" || ! grep -qxF "$end" "$1"; then
        die "$1 lacks the config-table markers"
    fi
    awk -v begin="$begin" -v end="$end" -v tables="$2" '
        $0 == begin { print; print tables; skip = 1; next }
        $0 == end { skip = 0 }
        !skip' "$1"
}

case "${1:-}" in
"") tables ;;
--update)
    new=$(spliced "$2" "$(tables)")
    printf '%s\n' "$new" >"$2"
    ;;
--check)
    if ! diff -u "$2" <(spliced "$2" "$(tables)") >&2; then
        die "$2: the configuration tables are stale: run B=$B scripts/config-table.sh --update $2"
    fi
    say "$2: configuration tables match the services' --help"
    ;;
*) die "usage: $0 [--update FILE | --check FILE]" ;;
esac
