/*
 * sys.h - helpers of the system suite (systest): the running stack's addresses, HTTP
 * exchanges with any instance, direct PostgreSQL and Redis queries, control of the
 * harness's servers, and bounded polling.
 *
 * The write-svc API calls of the end-to-end helpers (e2e_util.h) go to the first write-svc
 * instance (WRITE_URL); the helpers here take the instance's base URL as an argument.
 * Every helper runs inside a cmocka test and fails that test when something is wrong.
 *
 * Ownership: functions returning json_t * return a NEW reference; functions returning
 * char * return a new allocation (free it). Base URLs are borrowed from the environment.
 */
#ifndef SYS_H
#define SYS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../e2e/e2e_util.h"
#include "common.h"

#define SYS_MAX_INSTANCES 8

/* --- environment ------------------------------------------------------------------ */

/*
 * Reads WRITE_URLS and REDIRECT_URLS (space-separated base URLs, at least one each),
 * DATABASE_URL, REDIS_URL, HARNESS_DIR and REPO_ROOT, then the e2e environment
 * (WRITE_URL is set to the first write-svc). Returns 0, or -1 after printing what is missing.
 */
int sys_env_load(void);
/* Closes the PostgreSQL connection and the e2e Redis handle. */
void sys_env_release(void);

int sys_nwrite(void);
int sys_nredirect(void);
const char *sys_write(int i);    /* write-svc instance i % count, borrowed */
const char *sys_redirect(int i); /* redirect-svc instance i % count, borrowed */

/* --- HTTP ------------------------------------------------------------------------- */

/*
 * One exchange with base; headers NULL-terminated "Name: value" strings or NULL; body JSON
 * or NULL. Asserts that an HTTP answer came back. Release *out with e2e_resp_release.
 */
void sys_send(const char *base, const char *method, const char *path, const char *const *headers,
              const char *body, struct e2e_resp *out);
/* Prints a failure message about an answer (what was asked, why it is wrong). */
void sys_dump(const struct e2e_resp *r, const char *what, const char *why);
/* Asserts r is `status` with Content-Type application/json and a body {"error": "..."}. */
void sys_assert_json_error(const struct e2e_resp *r, int status, const char *what);
/*
 * GET or HEAD /<code> on base with the given headers; asserts a 302 whose Location is
 * exactly `location` and whose Cache-Control is exactly "private, max-age=0".
 */
void sys_follow(const char *base, const char *method, const char *code, const char *location,
                const char *const *headers);
/* The Cache-Control max-age of 301/308 answers (REDIRECT_CACHE_MAX_AGE's default). */
#define SYS_CACHE_MAX_AGE 300
/*
 * As sys_follow for a link answering `status` (301, 302, 307, 308): Cache-Control is
 * "public, max-age=SYS_CACHE_MAX_AGE" for 301/308, else "private, max-age=0".
 */
void sys_follow_status(const char *base, const char *method, const char *code, int status,
                       const char *location, const char *const *headers);
/* GET or HEAD /<code> on base; asserts `status` (404, 410, 503) with a JSON error body. */
void sys_follow_error(const char *base, const char *method, const char *code, int status);
/* GET /events?url_id=<id>[&event_type=<type>] on base (type NULL: all); asserts 200 and an array.
 */
json_t *sys_events(const char *base, long long url_id, const char *type);
/* Events of url_id on base (type NULL: all) as a count. */
size_t sys_count_events(const char *base, long long url_id, const char *type);

/* --- PostgreSQL and Redis -------------------------------------------------------- */

/*
 * Runs sql with nparams text parameters ($1..) on DATABASE_URL and returns the first column
 * of the first row (a new allocation; "" for SQL NULL, NULL when there is no row). Asserts
 * that the query succeeded.
 */
char *sys_sql(const char *sql, int nparams, const char *const *params);
/* As sys_sql for a query answering one integer. */
long long sys_sql_int(const char *sql, int nparams, const char *const *params);
/* 1 when key exists in Redis, 0 when not, -1 when Redis does not answer (fresh connection). */
int sys_redis_exists(const char *key);
/*
 * on: every INSERT into events takes 50 ms longer (a statement trigger), as on a loaded
 * database, so that the workers' batches are still in flight when a read starts and a read
 * that does not wait for them misses clicks. off: drops the trigger (also when absent).
 */
void sys_slow_sink(int on);

/* --- control and time ------------------------------------------------------------- */

/* Runs tests/harness-ctl.sh ACTION (pg-stop, redis-start, ...); returns its exit status. */
int sys_ctl(const char *action);
/* Milliseconds on the monotonic clock. */
int64_t sys_mono_ms(void);
/* Sleeps ms milliseconds. */
void sys_sleep_ms(long ms);
/* Writes "<prefix><pid><n>" (letters and digits only, unique in this run) into out. */
void sys_unique(char *out, size_t n, const char *prefix);

/* --- groups: each returns how many of its tests failed ------------------------------ */

int test_flows_run(void); /* checks 1 to 3: redirects, clicks, read-your-writes */
int test_links_run(void); /* link options at the redirect: types, expiry, caps, moves */
int test_redis_run(void); /* check 5: Redis stopped and started again empty */

#endif
