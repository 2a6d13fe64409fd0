/*
 * systest.c - the system suite's test program, run by tests/system/run.sh against the whole
 * product (write-svc, redirect-svc and event-worker instances, PostgreSQL, Redis, nginx).
 *
 *   systest flows    checks 1 to 3 (cmocka): redirects, click events, read-your-writes
 *   systest links    link options at the redirect (cmocka): types, expiry, caps, moves
 *   systest redis    check 5 (cmocka): Redis stopped, then started again empty
 *   systest load ... the load tool of checks 4 and 6 (sysload.h)
 *   systest coherence ...  the near-cache coherence tool of check 12 (syscoher.h)
 *
 * Env of the cmocka groups: WRITE_URLS, REDIRECT_URLS (space-separated base URLs),
 * DATABASE_URL, REDIS_URL, HARNESS_DIR (tests/harness-ctl.sh uses it), REPO_ROOT,
 * STREAM_SHARDS. Exit status: 0 when every test passed, 1 when one failed, 2 on bad usage.
 */
#include "sys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "syscoher.h"
#include "sysload.h"

#include "banned.h"

int main(int argc, char **argv)
{
    int failed;

    if (argc >= 2 && strcmp(argv[1], "load") == 0)
        return sysload_main(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "coherence") == 0)
        return syscoher_main(argc - 2, argv + 2);
    if (argc != 2 || (strcmp(argv[1], "flows") != 0 && strcmp(argv[1], "redis") != 0 &&
                      strcmp(argv[1], "links") != 0)) {
        fprintf(stderr,
                "usage: systest flows | links | redis | load ARGS... | coherence ARGS...\n");
        return 2;
    }
    /* cmocka writes results on stdout and failures on stderr: keep them in order. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (sys_env_load() != 0)
        return 2;
    failed = strcmp(argv[1], "flows") == 0   ? test_flows_run()
             : strcmp(argv[1], "links") == 0 ? test_links_run()
                                             : test_redis_run();
    sys_env_release();
    return failed ? 1 : 0;
}
