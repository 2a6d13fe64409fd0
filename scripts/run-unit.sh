#!/usr/bin/env bash
# scripts/run-unit.sh - run unit test binaries one after another and count them.
#
#   scripts/run-unit.sh build/tests/unit/test_buf build/tests/unit/test_csv ...
#
# Each binary runs as its own process from the repository root (some tests read
# schema/seed/), with its output printed under a header. A binary passes when it
# exits 0 within UNIT_TIMEOUT seconds (default 120). The last line is
# "unit: N passed, N failed", counting binaries; the exit status is 1 if any failed.
set -u

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -gt 0 ] || die "usage: $0 TEST_BINARY..."

timeout_s=${UNIT_TIMEOUT:-120}
passed=0
failed=0
failures=()

for bin in "$@"; do
    case $bin in
    /*) path=$bin ;;
    *) path=$PWD/$bin ;;
    esac
    name=${bin##*/}
    printf '=== %s\n' "$name"
    if [ ! -x "$path" ]; then
        printf 'FAIL %s: not an executable file\n' "$name"
        failed=$((failed + 1))
        failures+=("$name")
        continue
    fi
    (cd "$REPO_ROOT" && timeout "$timeout_s" "$path") 2>&1
    rc=$?
    if [ "$rc" -eq 0 ]; then
        printf 'PASS %s\n' "$name"
        passed=$((passed + 1))
    else
        if [ "$rc" -eq 124 ]; then
            printf 'FAIL %s: timed out after %ss\n' "$name" "$timeout_s"
        else
            printf 'FAIL %s: exit status %s\n' "$name" "$rc"
        fi
        failed=$((failed + 1))
        failures+=("$name")
    fi
done

[ "$failed" -eq 0 ] || printf 'failed: %s\n' "${failures[*]}"
printf 'unit: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
