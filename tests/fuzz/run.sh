#!/usr/bin/env bash
# tests/fuzz/run.sh - run the fuzz targets of tests/fuzz (docs/SECURITY.md "Fuzzing").
#
#   tests/fuzz/run.sh replay TARGET...   every input of tests/fuzz/corpus/TARGET and
#                                        tests/fuzz/regression/TARGET once (make check-fuzz)
#   tests/fuzz/run.sh fuzz TARGET...     fuzz each target for FUZZ_SECONDS (default 60) seconds
#                                        (make fuzz; .ci/run with 30)
#
# FUZZ_MODE=1 uses the libFuzzer binaries in build-fuzz/fuzz, FUZZ_MODE=driver the plain
# replay driver in build-fuzz-driver/fuzz (no fuzzing then: `fuzz` replays only). New inputs
# found while fuzzing go to build-fuzz/new-corpus/TARGET (copy the interesting ones into
# tests/fuzz/corpus/TARGET); a crash is written to build-fuzz/artifacts/TARGET/ and fails the
# run: commit it into tests/fuzz/regression/TARGET with the fix. Last line:
# "fuzz: N passed, N failed".
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../../scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

mode=${FUZZ_MODE:-1}
what=${1:-}
shift || true
[ "$what" = replay ] || [ "$what" = fuzz ] || die "usage: ${0##*/} replay|fuzz TARGET..."
if [ "$mode" = 1 ]; then
    out=$REPO_ROOT/build-fuzz
else
    out=$REPO_ROOT/build-fuzz-driver
fi
src=$REPO_ROOT/tests/fuzz
seconds=${FUZZ_SECONDS:-60}
passed=0
failed=0

for t in "$@"; do
    bin=$out/fuzz/fuzz_$t
    dirs=()
    for d in "$src/corpus/$t" "$src/regression/$t"; do
        [ -d "$d" ] && dirs+=("$d")
    done
    [ -x "$bin" ] || die "missing $bin (make check-fuzz builds it)"
    log=$out/fuzz-$t.log
    start=$(date +%s)
    if [ "$what" = fuzz ] && [ "$mode" = 1 ]; then
        mkdir -p "$out/new-corpus/$t" "$out/artifacts/$t"
        "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="$out/artifacts/$t/" "$out/new-corpus/$t" "${dirs[@]}" >"$log" 2>&1
    elif [ "$mode" = 1 ]; then
        # Files as arguments: libFuzzer runs each once and exits.
        mapfile -t files < <(find "${dirs[@]}" -type f | sort)
        "$bin" -timeout=10 -rss_limit_mb=2048 "${files[@]}" >"$log" 2>&1
    else
        "$bin" "${dirs[@]}" >"$log" 2>&1
    fi
    rc=$?
    secs=$(($(date +%s) - start))
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        printf 'ok      fuzz_%s (%s, %d s)\n' "$t" "$what" "$secs"
    else
        failed=$((failed + 1))
        printf 'FAILED  fuzz_%s (%s, status %d): last lines of %s\n' "$t" "$what" "$rc" "$log"
        tail -n 30 "$log" | sed 's/^/    /'
    fi
done
printf 'fuzz: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
