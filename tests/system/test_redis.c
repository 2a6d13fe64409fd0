/*
 * test_redis.c - check 5 of the system suite: Redis stops, then comes back empty.
 *
 * The tests of this group run in order and share the fixture made by the group setup (a
 * user, a link of theirs with one click, and a seeded link), because each is a step of one
 * story: the setup stops Redis; while it is down the redirect answers 503 (never 404), the
 * URL writes answer 503 and leave PostgreSQL as it was, a POST /users carrying an
 * Idempotency-Key answers 503 and writes nothing, user reads still work, /readyz answers 503
 * naming "redis" and /livez 200; then
 * Redis starts again empty (the harness's Redis has no persistence), write-svc rebuilds the
 * read model, the old links redirect again, new clicks reach PostgreSQL and the refused
 * Idempotency-Key runs once and is replayed by every instance. The group
 * teardown starts Redis again if a failed step left it stopped.
 *
 * The last redirect-svc and the last write-svc instance get no request that uses Redis
 * while it is down: before the stop every event loop or thread of every instance has used
 * its Redis connection (REDIS_WARM requests per instance), so that those two instances'
 * connections are all idle and stale when Redis comes back, as on an instance that had no
 * traffic during an outage. The redirect must answer 302 from its first request on, and a
 * click answered before an event read must be in it from the first read on. The 503
 * answers are checked on the other instances.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../e2e/httpc.h"
#include "rkeys.h"
#include "shortcode.h"
#include "sys.h"

#include "banned.h"

#define REDIS_MARKER_WAIT_MS 20000 /* the read model's rebuild after Redis came back */
#define REDIS_CLICKS_WAIT_MS 20000 /* the workers' reconnect back-off tops at 5 s */
#define REDIS_WARM           16    /* requests per instance: reach every event loop */

static struct {
    int down;         /* 1 while we keep Redis stopped */
    long long uid;    /* the owner */
    long long url_id; /* their link, followed once before the stop */
    char code[32];
    char orig[256];
    char seed_code[32]; /* an active link of the seed ("" when there is none) */
    char *seed_orig;
    char id_str[24], uid_str[24];
    char idem_key[64];  /* Idempotency-Key of a POST /users first refused with 503 */
    char idem_name[64]; /* its username */
    size_t clicks;      /* clicks of url_id answered so far */
    int failed_after;   /* redirects that were not 302 after Redis came back */
} rs;

/* Runs the harness's control script; fails the test when it fails. */
static void redis_ctl(const char *action)
{
    int rc = sys_ctl(action);

    if (rc != 0) {
        print_error("tests/harness-ctl.sh %s exited with %d\n", action, rc);
        fail();
    }
}

static int redis_group_setup(void **state)
{
    char *v;
    (void)state;

    rs.uid = e2e_user_new(NULL, 0);
    snprintf(rs.orig, sizeof(rs.orig), "https://example.com/sys/redis/%lld?x=1#y", rs.uid);
    json_t *url = e2e_url_new(rs.uid, rs.orig);
    rs.url_id = e2e_int(url, "id");
    snprintf(rs.code, sizeof(rs.code), "%s", e2e_str(url, "short_code"));
    json_decref(url);
    snprintf(rs.id_str, sizeof(rs.id_str), "%lld", rs.url_id);
    snprintf(rs.uid_str, sizeof(rs.uid_str), "%lld", rs.uid);
    sys_follow(sys_redirect(0), "GET", rs.code, rs.orig, NULL);
    rs.clicks = 1;
    assert_int_equal(sys_count_events(sys_write(0), rs.url_id, "click"), rs.clicks);

    v = sys_sql("SELECT short_code FROM urls WHERE is_active AND id <= 2000 ORDER BY id LIMIT 1", 0,
                NULL);
    snprintf(rs.seed_code, sizeof(rs.seed_code), "%s", v ? v : "");
    free(v);
    if (rs.seed_code[0]) {
        const char *p[] = {rs.seed_code};
        rs.seed_orig = sys_sql("SELECT original_url FROM urls WHERE short_code = $1", 1, p);
        sys_follow(sys_redirect(0), "HEAD", rs.seed_code, rs.seed_orig, NULL);
    }
    /*
     * New connections spread over an instance's event loops (SO_REUSEPORT) or threads: warm
     * them all, the redirects with HEAD and write-svc with event reads (their click wait).
     */
    for (int i = 0; i < sys_nredirect(); i++)
        for (int k = 0; k < REDIS_WARM; k++)
            sys_follow(sys_redirect(i), "HEAD", rs.code, rs.orig, NULL);
    for (int w = 0; w < sys_nwrite(); w++)
        for (int k = 0; k < REDIS_WARM; k++)
            assert_int_equal(sys_count_events(sys_write(w), rs.url_id, "click"), rs.clicks);
    redis_ctl("redis-stop");
    rs.down = 1;
    return 0;
}

static int redis_group_teardown(void **state)
{
    (void)state;
    sys_slow_sink(0);
    if (rs.down && sys_ctl("redis-start") == 0)
        rs.down = 0;
    free(rs.seed_orig);
    rs.seed_orig = NULL;
    return rs.down ? -1 : 0;
}

/* Instances that get requests using Redis while it is down: all but the last. */
static int redis_probed(int n)
{
    return n > 1 ? n - 1 : 1;
}

/* One write answered with 503 JSON by every probed write-svc instance. */
static void redis_write_503(const char *method, const char *path, const char *body)
{
    for (int w = 0; w < redis_probed(sys_nwrite()); w++) {
        struct e2e_resp r;
        char what[192];

        snprintf(what, sizeof(what), "%s %s%s with Redis stopped", method, sys_write(w), path);
        sys_send(sys_write(w), method, path, NULL, body, &r);
        sys_assert_json_error(&r, 503, what);
        e2e_resp_release(&r);
    }
}

/* The row of url_id as JSON text (a new allocation; NULL when there is no row). */
static char *redis_url_row(void)
{
    const char *p[] = {rs.id_str};
    return sys_sql("SELECT row_to_json(u)::text FROM urls u WHERE id = $1::bigint", 1, p);
}

static long long redis_events_of(const char *type)
{
    const char *p[] = {rs.id_str, type};
    return sys_sql_int("SELECT count(*) FROM events WHERE url_id = $1::bigint AND event_type = $2",
                       2, p);
}

/* ------------------------------------------------------------------------ */
/* While Redis is stopped                                                     */
/* ------------------------------------------------------------------------ */

/* The redirect answers 503 JSON for known, seeded and unknown codes alike: never 404. */
static void test_check5_redirect_503_never_404(void **state)
{
    char unknown[32];
    (void)state;

    sys_unique(unknown, sizeof(unknown), "Zr");
    for (int i = 0; i < redis_probed(sys_nredirect()); i++) {
        sys_follow_error(sys_redirect(i), "GET", rs.code, 503);
        sys_follow_error(sys_redirect(i), "HEAD", rs.code, 503);
        sys_follow_error(sys_redirect(i), "GET", unknown, 503);
        if (rs.seed_code[0])
            sys_follow_error(sys_redirect(i), "GET", rs.seed_code, 503);
    }
}

/* POST /urls: 503, and PostgreSQL holds no new URL and no new "created" event. */
static void test_check5_post_urls_503_pg_unchanged(void **state)
{
    char orig[256], body[512];
    const char *p[] = {orig};
    long long urls, created;
    (void)state;

    urls = sys_sql_int("SELECT count(*) FROM urls", 0, NULL);
    created = sys_sql_int("SELECT count(*) FROM events WHERE event_type = 'created'", 0, NULL);
    snprintf(orig, sizeof(orig), "https://example.com/sys/redis-down/%lld", rs.uid);
    snprintf(body, sizeof(body), "{\"user_id\": %lld, \"original_url\": \"%s\"}", rs.uid, orig);
    redis_write_503("POST", "/urls", body);
    assert_int_equal(sys_sql_int("SELECT count(*) FROM urls WHERE original_url = $1", 1, p), 0);
    assert_int_equal(sys_sql_int("SELECT count(*) FROM urls", 0, NULL), urls);
    assert_int_equal(
        sys_sql_int("SELECT count(*) FROM events WHERE event_type = 'created'", 0, NULL), created);
}

/* Sends POST /users as rs.idem_name under rs.idem_key to base. */
static void redis_idem_post(const char *base, struct e2e_resp *r)
{
    char hk[96], body[256];
    const char *headers[] = {hk, NULL};

    snprintf(hk, sizeof(hk), "Idempotency-Key: %s", rs.idem_key);
    snprintf(body, sizeof(body), "{\"username\": \"%s\", \"email\": \"%s@example.com\"}",
             rs.idem_name, rs.idem_name);
    sys_send(base, "POST", "/users", headers, body, r);
}

static long long redis_idem_rows(void)
{
    const char *p[] = {rs.idem_name};
    return sys_sql_int("SELECT count(*) FROM users WHERE username = $1", 1, p);
}

/*
 * POST /users needs no Redis, but with an Idempotency-Key it does: 503 and no row (the
 * key could not be claimed, so nothing may be written).
 */
static void test_check5_idempotent_post_503_nothing_written(void **state)
{
    (void)state;

    sys_unique(rs.idem_key, sizeof(rs.idem_key), "sys-idem");
    sys_unique(rs.idem_name, sizeof(rs.idem_name), "sysidem");
    for (int w = 0; w < redis_probed(sys_nwrite()); w++) {
        struct e2e_resp r;

        redis_idem_post(sys_write(w), &r);
        sys_assert_json_error(&r, 503, "POST /users with an Idempotency-Key, Redis stopped");
        e2e_resp_release(&r);
    }
    assert_int_equal(redis_idem_rows(), 0);
}

/* PUT /urls/<id> (re-point, retitle, deactivate): 503, and the row and its events unchanged. */
static void test_check5_put_url_503_pg_unchanged(void **state)
{
    char path[64], *before, *after;
    (void)state;

    snprintf(path, sizeof(path), "/urls/%lld", rs.url_id);
    before = redis_url_row();
    assert_non_null(before);
    redis_write_503("PUT", path,
                    "{\"original_url\": \"https://example.com/sys/moved\", \"title\": \"moved\"}");
    redis_write_503("PUT", path, "{\"is_active\": false}");
    after = redis_url_row();
    assert_non_null(after);
    if (strcmp(before, after) != 0) {
        print_error("PUT with Redis stopped changed the row\n  before %s\n  after  %s\n", before,
                    after);
        fail();
    }
    assert_int_equal(redis_events_of("updated"), 0);
    free(before);
    free(after);
}

/* DELETE /urls/<id>: 503, the row stays and no "deleted" event is written. */
static void test_check5_delete_url_503_pg_unchanged(void **state)
{
    char path[64], *before, *after;
    (void)state;

    snprintf(path, sizeof(path), "/urls/%lld", rs.url_id);
    before = redis_url_row();
    assert_non_null(before);
    redis_write_503("DELETE", path, NULL);
    after = redis_url_row();
    if (!after || strcmp(before, after) != 0) {
        print_error("DELETE with Redis stopped changed the row\n  before %s\n  after  %s\n", before,
                    after ? after : "(no row)");
        fail();
    }
    assert_int_equal(redis_events_of("deleted"), 0);
    free(before);
    free(after);
}

/* DELETE /users/<owner> changes the owner of an active link: 503, user and link unchanged. */
static void test_check5_delete_owner_503_pg_unchanged(void **state)
{
    char path[64], *before, *after;
    const char *p[] = {rs.uid_str};
    (void)state;

    snprintf(path, sizeof(path), "/users/%lld", rs.uid);
    before = redis_url_row();
    assert_non_null(before);
    redis_write_503("DELETE", path, NULL);
    assert_int_equal(sys_sql_int("SELECT count(*) FROM users WHERE id = $1::bigint", 1, p), 1);
    after = redis_url_row();
    if (!after || strcmp(before, after) != 0) {
        print_error("DELETE /users with Redis stopped changed the link\n  before %s\n  after  "
                    "%s\n",
                    before, after ? after : "(no row)");
        fail();
    }
    free(before);
    free(after);
}

/* Reads that need only PostgreSQL still answer 200. */
static void test_check5_get_user_200(void **state)
{
    (void)state;
    for (int w = 0; w < sys_nwrite(); w++) {
        struct e2e_resp r;
        char path[64], what[160];

        snprintf(path, sizeof(path), "/users/%lld", rs.uid);
        snprintf(what, sizeof(what), "GET %s%s with Redis stopped", sys_write(w), path);
        sys_send(sys_write(w), "GET", path, NULL, NULL, &r);
        if (r.status != 200 || !json_is_object(r.json)) {
            sys_dump(&r, what, "expected 200 with the user");
            fail();
        }
        assert_int_equal(e2e_int(r.json, "id"), rs.uid);
        e2e_resp_release(&r);
    }
}

/* GET base/path answers want; with missing set, the body's "missing" array names it. */
static void redis_probe(const char *base, const char *path, int want, const char *missing)
{
    struct e2e_resp r;
    char what[192];
    int named = 0;

    snprintf(what, sizeof(what), "GET %s%s", base, path);
    sys_send(base, "GET", path, NULL, NULL, &r);
    json_t *m = json_is_object(r.json) ? json_object_get(r.json, "missing") : NULL;
    for (size_t i = 0; missing && i < json_array_size(m); i++) {
        const char *v = json_string_value(json_array_get(m, i));
        named |= v && strcmp(v, missing) == 0;
    }
    if (r.status != want || !json_is_object(r.json) || (missing && !named)) {
        sys_dump(&r, what, missing ? "expected 503 naming the missing dependency" : "");
        fail();
    }
    e2e_resp_release(&r);
}

/* /readyz is 503 naming "redis" (probed instances); /livez is 200 everywhere (no Redis). */
static void test_check5_probes_while_down(void **state)
{
    (void)state;
    for (int w = 0; w < sys_nwrite(); w++) {
        redis_probe(sys_write(w), "/livez", 200, NULL);
        if (w < redis_probed(sys_nwrite()))
            redis_probe(sys_write(w), "/readyz", 503, "redis");
    }
    for (int i = 0; i < sys_nredirect(); i++) {
        redis_probe(sys_redirect(i), "/livez", 200, NULL);
        if (i < redis_probed(sys_nredirect()))
            redis_probe(sys_redirect(i), "/readyz", 503, "redis");
    }
}

/* ------------------------------------------------------------------------ */
/* Redis back, empty                                                         */
/* ------------------------------------------------------------------------ */

/* The read model is rebuilt (marker back within a bound) and the old links redirect again. */
static void test_check5_redis_back_read_model_rebuilt(void **state)
{
    int64_t deadline;
    int m = 0;
    (void)state;

    redis_ctl("redis-start");
    rs.down = 0;
    deadline = sys_mono_ms() + REDIS_MARKER_WAIT_MS;
    while ((m = sys_redis_exists(RKEYS_MARKER)) != 1 && sys_mono_ms() < deadline)
        sys_sleep_ms(50);
    if (m != 1) {
        print_error("the read-model marker %s is not back %d ms after Redis restarted empty\n",
                    RKEYS_MARKER, REDIS_MARKER_WAIT_MS);
        fail();
    }
    /* Every request from the first on, on every instance and event loop, is a 302. */
    for (int i = 0; i < sys_nredirect(); i++) {
        int bad = 0, first_bad = -1;
        char first_body[128] = "";

        for (int k = 0; k < REDIS_WARM; k++) {
            struct e2e_resp r;
            char path[64];
            const char *loc;

            snprintf(path, sizeof(path), "/%s", rs.code);
            sys_send(sys_redirect(i), "GET", path, NULL, NULL, &r);
            loc = httpc_header(&r.raw, "Location");
            if (r.status == 302 && loc && strcmp(loc, rs.orig) == 0) {
                rs.clicks++;
            } else if (bad++ == 0) {
                first_bad = k;
                snprintf(first_body, sizeof(first_body), "%d %.*s", r.status,
                         (int)(r.raw.body_len > 100 ? 100 : r.raw.body_len),
                         r.raw.body ? r.raw.body : "");
            }
            e2e_resp_release(&r);
        }
        if (bad)
            print_error("%s%s: %d of %d redirects after Redis came back (marker present) were not "
                        "302, the first at request %d: %s\n",
                        sys_redirect(i),
                        i == sys_nredirect() - 1 ? " (idle during the outage)" : "", bad,
                        REDIS_WARM, first_bad + 1, first_body);
        rs.failed_after += bad;
    }
    if (rs.failed_after)
        fail();
    for (int i = 0; i < sys_nredirect() && rs.seed_code[0]; i++)
        sys_follow(sys_redirect(i), "HEAD", rs.seed_code, rs.seed_orig, NULL);
}

/* Every instance is ready again once the read model is back. */
static void test_check5_ready_after_restart(void **state)
{
    (void)state;
    for (int w = 0; w < sys_nwrite(); w++)
        redis_probe(sys_write(w), "/readyz", 200, NULL);
    for (int i = 0; i < sys_nredirect(); i++)
        redis_probe(sys_redirect(i), "/readyz", 200, NULL);
}

/* New clicks reach PostgreSQL (the workers re-created their groups): exactly, once each. */
static void test_check5_clicks_persisted_after_restart(void **state)
{
    int64_t deadline;
    size_t n = 0, first;
    (void)state;

    for (int k = 0; k < 3; k++) {
        sys_follow(sys_redirect(k), "GET", rs.code, rs.orig, NULL);
        rs.clicks++;
    }
    first = sys_count_events(sys_write(0), rs.url_id, "click");
    deadline = sys_mono_ms() + REDIS_CLICKS_WAIT_MS;
    for (n = first; n < rs.clicks && sys_mono_ms() < deadline;) {
        sys_sleep_ms(100);
        n = sys_count_events(sys_write(0), rs.url_id, "click");
    }
    if (first != rs.clicks)
        print_message("note: the first read after the restart listed %zu of %zu clicks (the "
                      "workers were still reconnecting)\n",
                      first, rs.clicks);
    if (n != rs.clicks) {
        print_error("%zu clicks stored for the link %d ms after Redis came back, expected %zu\n", n,
                    REDIS_CLICKS_WAIT_MS, rs.clicks);
        fail();
    }
    {
        const char *p[] = {rs.id_str};
        assert_int_equal(
            sys_sql_int("SELECT count(*) - count(DISTINCT stream_shard || ':' || stream_ms || '-' "
                        "|| stream_seq || '/' || stream_idx) FROM events "
                        "WHERE url_id = $1::bigint AND event_type = 'click'",
                        1, p),
            0);
    }
}

/*
 * Read-your-writes from the first read on, on the write-svc instance that was idle through
 * the outage (its click-wait connections are stale), under a slow events INSERT.
 */
static void test_check5_read_your_writes_after_restart(void **state)
{
    const char *w = sys_write(sys_nwrite() - 1);
    int misses = 0, first_miss = -1;
    size_t got_first = 0;
    (void)state;

    sys_slow_sink(1);
    for (int k = 0; k < 16; k++) {
        size_t n;

        sys_follow(sys_redirect(k), "GET", rs.code, rs.orig, NULL);
        rs.clicks++;
        n = sys_count_events(w, rs.url_id, "click");
        if (n != rs.clicks && misses++ == 0) {
            first_miss = k;
            got_first = n;
        }
    }
    sys_slow_sink(0);
    if (misses) {
        print_error("%s (idle during the outage): %d of 16 event reads right after a redirect "
                    "missed clicks, the first at read %d (%zu of %zu listed)\n",
                    w, misses, first_miss + 1, got_first, rs.clicks - 16 + (size_t)first_miss + 1);
        fail();
    }
}

/* URL writes work again on every write-svc instance and thread, and the redirect follows. */
static void test_check5_url_writes_after_restart(void **state)
{
    char path[64], body[96], title[32];
    (void)state;

    snprintf(path, sizeof(path), "/urls/%lld", rs.url_id);
    for (int w = 0; w < sys_nwrite(); w++) {
        for (int k = 0; k < 16; k++) {
            struct e2e_resp r;
            char what[160];

            snprintf(title, sizeof(title), "after restart %d.%d", w, k);
            snprintf(body, sizeof(body), "{\"title\": \"%s\"}", title);
            snprintf(what, sizeof(what), "PUT %s%s after Redis came back", sys_write(w), path);
            sys_send(sys_write(w), "PUT", path, NULL, body, &r);
            if (r.status != 200) {
                sys_dump(&r, what, "expected 200");
                fail();
            }
            e2e_resp_release(&r);
        }
    }
    for (int i = 0; i < sys_nredirect(); i++)
        sys_follow(sys_redirect(i), "HEAD", rs.code, rs.orig, NULL);
}

/* The key refused during the outage runs once now, and every other instance replays it. */
static void test_check5_idempotent_retry_after_restart(void **state)
{
    struct e2e_resp first, again;
    (void)state;

    assert_true(rs.idem_key[0] != '\0');
    redis_idem_post(sys_write(0), &first);
    if (first.status != 201 || httpc_header(&first.raw, "Idempotent-Replayed")) {
        sys_dump(&first, "POST /users with the key after Redis came back", "expected 201");
        fail();
    }
    for (int w = 0; w < sys_nwrite(); w++) {
        const char *rep;

        redis_idem_post(sys_write(w), &again);
        rep = httpc_header(&again.raw, "Idempotent-Replayed");
        if (again.status != 201 || !rep || strcmp(rep, "true") != 0 ||
            strcmp(again.raw.body, first.raw.body) != 0) {
            sys_dump(&again, "the same POST /users again", "expected the replay of the first");
            fail();
        }
        e2e_resp_release(&again);
    }
    assert_int_equal(redis_idem_rows(), 1);
    e2e_resp_release(&first);
}

int test_redis_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check5_redirect_503_never_404),
        cmocka_unit_test(test_check5_post_urls_503_pg_unchanged),
        cmocka_unit_test(test_check5_idempotent_post_503_nothing_written),
        cmocka_unit_test(test_check5_put_url_503_pg_unchanged),
        cmocka_unit_test(test_check5_delete_url_503_pg_unchanged),
        cmocka_unit_test(test_check5_delete_owner_503_pg_unchanged),
        cmocka_unit_test(test_check5_get_user_200),
        cmocka_unit_test(test_check5_probes_while_down),
        cmocka_unit_test(test_check5_redis_back_read_model_rebuilt),
        cmocka_unit_test(test_check5_ready_after_restart),
        cmocka_unit_test(test_check5_clicks_persisted_after_restart),
        cmocka_unit_test(test_check5_read_your_writes_after_restart),
        cmocka_unit_test(test_check5_url_writes_after_restart),
        cmocka_unit_test(test_check5_idempotent_retry_after_restart),
    };

    return cmocka_run_group_tests_name("system Redis stopped and back (check 5)", tests,
                                       redis_group_setup, redis_group_teardown);
}
