# tests/system/checks_cluster.sh - the system suite on a Redis Cluster (make check-cluster:
# REDIS_MODE=cluster SYSTEM_ONLY=cluster tests/system/run.sh; sourced by run.sh, which provides
# the stack, check, eq, rcli, rscan, load_start, clicks_total, ...).
# shellcheck shell=bash disable=SC2154 # port, sup, ...: run.sh's

cluster_checks() {
    phase_start "cluster: systest flows (redirects, creates, read-your-writes)"
    run_group flows
    sql "DROP TRIGGER IF EXISTS systest_slow_sink ON events" >/dev/null 2>&1
    phase_end "cluster flows"
    phase_start "cluster: systest links"
    run_group links
    phase_end "cluster links"
    check10
}
