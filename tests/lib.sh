# shellcheck shell=bash
# tests/lib.sh - helpers shared by the test runners (tests/*/run.sh, tests/integration/*.sh).
# Source it after scripts/lib.sh; it defines functions and two counters, passed and failed.
#
#   ok DESC / not_ok DESC        count one result and print "ok - DESC" / "FAIL - DESC"
#   check DESC CMD...            one result from CMD's exit status
#   eq DESC GOT WANT             one result from a string comparison
#   now_ms                       milliseconds since the epoch
#   wait_for SECS CMD...         poll CMD every 50 ms until it succeeds or SECS pass
#   cmocka_tally NAME OUT RC     add the passed/failed counts of a cmocka run whose output is in
#                                OUT and whose exit status was RC (a crash without a failed test
#                                counts as one failure) and print the names of failed tests
#   summary_from_file NAME FILE RC   print "NAME: N passed, N failed" from the "passed failed"
#                                counts a harnessed run left in FILE (none and RC != 0: the
#                                harness failed before the suite started, one failure); returns
#                                0 only when RC is 0 and nothing failed

passed=${passed:-0}
failed=${failed:-0}

ok() {
    passed=$((passed + 1))
    printf 'ok - %s\n' "$1"
}

not_ok() {
    failed=$((failed + 1))
    printf 'FAIL - %s\n' "$1"
}

check() {
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (got '$2', want '$3')"; fi
}

now_ms() { date +%s%3N; }

wait_for() {
    local deadline=$(($(now_ms) + $1 * 1000))
    shift
    until "$@" >/dev/null 2>&1; do
        [ "$(now_ms)" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

cmocka_tally() {
    local name=$1 out=$2 rc=$3 p f
    p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test(s)\.$/\1/p' "$out" |
        awk '{ s += $1 } END { print s + 0 }')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test(s), listed below:$/\1/p' "$out" |
        awk '{ s += $1 } END { print s + 0 }')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        say "$name exited with status $rc without a failed test: counted as one"
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -gt 0 ]; then
        printf 'failed (%s): ' "$name"
        sed -n 's/^\[  FAILED  \] \(test_[A-Za-z0-9_]*\)$/\1/p' "$out" | sort -u | tr '\n' ' '
        printf '\n'
    fi
}

summary_from_file() {
    local name=$1 counts p=0 f=0
    counts=$(cat "$2")
    if [ -n "$counts" ]; then
        read -r p f <<<"$counts"
    elif [ "$3" -ne 0 ]; then
        f=1
    fi
    printf '%s: %d passed, %d failed\n' "$name" "$p" "$f"
    [ "$3" -eq 0 ] && [ "$f" -eq 0 ]
}
