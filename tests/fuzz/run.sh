#!/usr/bin/env bash
# tests/fuzz/run.sh - run the fuzz targets of tests/fuzz (docs/SECURITY.md "Fuzzing").
#
#   tests/fuzz/run.sh replay TARGET...   every input of tests/fuzz/corpus/TARGET and
#                                        tests/fuzz/regression/TARGET once (make check-fuzz)
#   tests/fuzz/run.sh fuzz TARGET...     fuzz each target for FUZZ_SECONDS (default 60) seconds,
#                                        FUZZ_JOBS (default: the cores) at a time (make fuzz;
#                                        .ci/run with 30)
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

# run_one TARGET: replays or fuzzes one target; writes "rc secs" to $out/result-TARGET.
run_one() {
    local t=$1 bin=$out/fuzz/fuzz_$1 log=$out/fuzz-$1.log start rc dirs=() d files
    for d in "$src/corpus/$t" "$src/regression/$t"; do
        [ -d "$d" ] && dirs+=("$d")
    done
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
    printf '%d %d\n' "$rc" $(($(date +%s) - start)) >"$out/result-$t"
}

# Fuzzing runs FUZZ_JOBS targets at a time (default: one per core), each for FUZZ_SECONDS.
jobs_max=1
[ "$what" = fuzz ] && jobs_max=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
for t in "$@"; do
    [ -x "$out/fuzz/fuzz_$t" ] || die "missing $out/fuzz/fuzz_$t (make check-fuzz builds it)"
    rm -f "$out/result-$t"
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
        wait -n
    done
    run_one "$t" &
done
wait

for t in "$@"; do
    read -r rc secs <"$out/result-$t" 2>/dev/null || { rc=1 secs=0; }
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        printf 'ok      fuzz_%s (%s, %d s)\n' "$t" "$what" "$secs"
    else
        failed=$((failed + 1))
        printf 'FAILED  fuzz_%s (%s, status %d): last lines of %s\n' "$t" "$what" "$rc" \
            "$out/fuzz-$t.log"
        tail -n 30 "$out/fuzz-$t.log" | sed 's/^/    /'
    fi
done
printf 'fuzz: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
