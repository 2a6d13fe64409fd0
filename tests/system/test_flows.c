/*
 * test_flows.c - checks 1 to 3 of the system suite: the redirect's answer and its click
 * event, the life cycle of a link as the redirect sees it, and read-your-writes for clicks
 * with two event-workers behind several write-svc instances, and one Idempotency-Key raced
 * between two write-svc instances (one event; 409 or the replay for the other).
 *
 * Every test makes its own user and links, so the tests are independent of each other and
 * of the seed. Redirects go to every redirect-svc instance in turn; event reads go to
 * write-svc at once, with no sleep: a click answered before a read must be in it.
 *
 * While the group runs, every INSERT into events takes 50 ms longer (a statement trigger
 * made by the group setup, dropped by its teardown), as on a loaded database: the workers'
 * batches are then still in flight when a read starts, so a read that did not wait for them
 * would miss clicks and fail. Without it a fast machine persists a click before the test
 * can even ask.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "../e2e/httpc.h"
#include "sys.h"
#include "timefmt.h"

#include "banned.h"

/* Follow-ups per test: one per redirect-svc instance, at least two. */
static int flows_rounds(void)
{
    return sys_nredirect() < 2 ? 2 : sys_nredirect();
}

/* A unique original URL with a path parameter, escapes, a query string and a fragment. */
static void flows_orig(char *out, size_t n, const char *tag)
{
    char u[32];

    sys_unique(u, sizeof(u), tag);
    snprintf(out, n,
             "https://example.com/sys/%s/a;p=1/%%7Eme/x.html?q=1&r=a+b&s=%%25&t=x,y:z@w&u=%%C3%%A9"
             "#frag/x?y=1",
             u);
}

/* POST /urls on write-svc instance `base`; returns the URL object (new reference). */
static json_t *flows_url_new(const char *base, long long user_id, const char *orig)
{
    struct e2e_resp r;
    json_t *body = json_pack("{s:s}", "original_url", orig), *j;
    char *text, what[160];

    assert_non_null(body);
    if (user_id)
        json_object_set_new(body, "user_id", json_integer(user_id));
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    assert_non_null(text);
    snprintf(what, sizeof(what), "POST %s/urls", base);
    sys_send(base, "POST", "/urls", NULL, text, &r);
    free(text);
    if (r.status != 201 || !json_is_object(r.json)) {
        sys_dump(&r, what, "expected 201 with the new URL");
        fail();
    }
    e2e_assert_url(r.json);
    assert_string_equal(e2e_str(r.json, "original_url"), orig);
    j = r.json;
    r.json = NULL;
    e2e_resp_release(&r);
    return j;
}

/* PUT /urls/<id> with a JSON body on the first write-svc; asserts 200. */
static void flows_put(long long id, const char *body)
{
    char path[64];
    json_t *j;

    snprintf(path, sizeof(path), "/urls/%lld", id);
    j = e2e_call(200, "PUT", path, body);
    json_decref(j);
}

/* Asserts ts is YYYY-MM-DDTHH:MM:SS (UTC) between lo - 2 s and hi + 2 s. */
static void flows_assert_ts_between(const char *ts, time_t lo, time_t hi)
{
    time_t t;

    e2e_assert_timestamp(ts);
    assert_int_equal(timefmt_parse(ts, &t), 0);
    if (t < lo - 2 || t > hi + 2) {
        print_error("click timestamp %s is %lld s, expected the UTC time of the redirect "
                    "(%lld..%lld s)\n",
                    ts, (long long)t, (long long)lo, (long long)hi);
        fail();
    }
}

/* ------------------------------------------------------------------------ */
/* Check 1: the redirect answer and its click event                          */
/* ------------------------------------------------------------------------ */

/* 302, Location byte-exact (query string and fragment), Cache-Control, on every instance. */
static void test_check1_redirect_302_exact_location(void **state)
{
    long long uid = e2e_user_new(NULL, 0);
    char orig[512];
    json_t *url;
    (void)state;

    flows_orig(orig, sizeof(orig), "ca");
    url = flows_url_new(sys_write(0), uid, orig);
    for (int i = 0; i < flows_rounds(); i++)
        sys_follow(sys_redirect(i), "GET", e2e_str(url, "short_code"), orig, NULL);
    json_decref(url);
}

/* Exactly one click, visible at once, with owner, UTC time and the request's headers. */
static void test_check1_click_event_read_your_writes(void **state)
{
    static const char referrer[] = "https://ref.example/page?x=1&y=%20z#top";
    static const char agent[] = "systest/1.0 (check 1; +https://example.org/bot) \"quoted\"";
    char ref_h[128], ua_h[128];
    const char *headers[] = {ref_h, ua_h, NULL};
    long long uid = e2e_user_new(NULL, 0), id;
    char orig[512];
    json_t *url, *events, *e, *want;
    time_t t0, t1;
    (void)state;

    snprintf(ref_h, sizeof(ref_h), "Referer: %s", referrer);
    snprintf(ua_h, sizeof(ua_h), "User-Agent: %s", agent);
    flows_orig(orig, sizeof(orig), "cb");
    url = flows_url_new(sys_write(0), uid, orig);
    id = e2e_int(url, "id");
    t0 = time(NULL);
    sys_follow(sys_redirect(0), "GET", e2e_str(url, "short_code"), orig, headers);
    t1 = time(NULL);
    events = sys_events(sys_write(0), id, "click");
    if (json_array_size(events) != 1) {
        char *text = json_dumps(events, JSON_COMPACT);
        print_error("expected exactly 1 click event at once, got %zu: %.800s\n",
                    json_array_size(events), text ? text : "?");
        free(text);
        fail();
    }
    e = json_array_get(events, 0);
    assert_string_equal(e2e_str(e, "event_type"), "click");
    assert_int_equal(e2e_int(e, "url_id"), id);
    assert_int_equal(e2e_int(e, "user_id"), uid);
    flows_assert_ts_between(e2e_str(e, "timestamp"), t0, t1);
    want = json_pack("{s:s, s:s, s:s, s:s}", "short_code", e2e_str(url, "short_code"),
                     "original_url", orig, "referrer", referrer, "user_agent", agent);
    assert_non_null(want);
    if (!json_equal(e2e_get(e, "details"), want)) {
        char *got = json_dumps(e2e_get(e, "details"), JSON_COMPACT);
        char *exp = json_dumps(want, JSON_COMPACT);
        print_error("click details\n  got      %s\n  expected %s\n", got ? got : "?",
                    exp ? exp : "?");
        free(got);
        free(exp);
        fail();
    }
    json_decref(want);
    json_decref(events);
    json_decref(url);
}

/* ------------------------------------------------------------------------ */
/* Check 2: the life cycle of a link, as the redirect sees it                 */
/* ------------------------------------------------------------------------ */

/* HEAD: 302 with Location and no event of any kind. */
static void test_check2_head_302_no_event(void **state)
{
    long long uid = e2e_user_new(NULL, 0), id;
    char orig[512];
    json_t *url, *before, *after;
    (void)state;

    flows_orig(orig, sizeof(orig), "cc");
    url = flows_url_new(sys_write(0), uid, orig);
    id = e2e_int(url, "id");
    before = sys_events(sys_write(0), id, NULL);
    for (int i = 0; i < flows_rounds(); i++)
        sys_follow(sys_redirect(i), "HEAD", e2e_str(url, "short_code"), orig, NULL);
    after = sys_events(sys_write(0), id, NULL);
    if (!json_equal(before, after)) {
        print_error("HEAD added events: %zu before, %zu after\n", json_array_size(before),
                    json_array_size(after));
        fail();
    }
    assert_int_equal(e2e_count_type(after, "click"), 0);
    json_decref(before);
    json_decref(after);
    json_decref(url);
}

/* Inactive: 404 JSON for GET and HEAD, and no event of any kind added. */
static void test_check2_inactive_404_no_event(void **state)
{
    long long uid = e2e_user_new(NULL, 0), id;
    char orig[512];
    json_t *url, *before, *after;
    (void)state;

    flows_orig(orig, sizeof(orig), "cd");
    url = flows_url_new(sys_write(0), uid, orig);
    id = e2e_int(url, "id");
    flows_put(id, "{\"is_active\": false}");
    before = sys_events(sys_write(0), id, NULL);
    for (int i = 0; i < flows_rounds(); i++) {
        sys_follow_error(sys_redirect(i), "GET", e2e_str(url, "short_code"), 404);
        sys_follow_error(sys_redirect(i), "HEAD", e2e_str(url, "short_code"), 404);
    }
    after = sys_events(sys_write(0), id, NULL);
    if (!json_equal(before, after)) {
        print_error("following an inactive link added events: %zu before, %zu after\n",
                    json_array_size(before), json_array_size(after));
        fail();
    }
    json_decref(before);
    json_decref(after);
    json_decref(url);
}

/* Deactivated then reactivated: the very next redirect is a 302 again, with its click. */
static void test_check2_reactivated_302(void **state)
{
    long long uid = e2e_user_new(NULL, 0), id;
    const char *code;
    char orig[512];
    json_t *url;
    (void)state;

    flows_orig(orig, sizeof(orig), "ce");
    url = flows_url_new(sys_write(0), uid, orig);
    id = e2e_int(url, "id");
    code = e2e_str(url, "short_code");
    flows_put(id, "{\"is_active\": false}");
    sys_follow_error(sys_redirect(0), "GET", code, 404);
    flows_put(id, "{\"is_active\": true}");
    for (int i = 0; i < flows_rounds(); i++)
        sys_follow(sys_redirect(i), "GET", code, orig, NULL);
    assert_int_equal(sys_count_events(sys_write(0), id, "click"), flows_rounds());
    json_decref(url);
}

/* Re-pointed: the very next redirect goes to the new URL, and its click names it. */
static void test_check2_repointed_next_redirect(void **state)
{
    long long uid = e2e_user_new(NULL, 0), id;
    const char *code;
    char orig[512], moved[512], body[640];
    json_t *url, *clicks, *last;
    (void)state;

    flows_orig(orig, sizeof(orig), "cf");
    flows_orig(moved, sizeof(moved), "cg");
    url = flows_url_new(sys_write(0), uid, orig);
    id = e2e_int(url, "id");
    code = e2e_str(url, "short_code");
    sys_follow(sys_redirect(0), "GET", code, orig, NULL);
    snprintf(body, sizeof(body), "{\"original_url\": \"%s\"}", moved);
    flows_put(id, body);
    for (int i = 0; i < flows_rounds(); i++)
        sys_follow(sys_redirect(i), "GET", code, moved, NULL);
    clicks = sys_events(sys_write(0), id, "click");
    assert_int_equal(json_array_size(clicks), 1 + flows_rounds());
    last = json_array_get(clicks, json_array_size(clicks) - 1);
    assert_string_equal(e2e_str(e2e_get(last, "details"), "original_url"), moved);
    json_decref(clicks);
    json_decref(url);
}

/* Deleted: 404 JSON for GET and HEAD, and no click added. */
static void test_check2_deleted_404(void **state)
{
    long long uid = e2e_user_new(NULL, 0), id;
    char orig[512], path[64];
    json_t *url;
    (void)state;

    flows_orig(orig, sizeof(orig), "ch");
    url = flows_url_new(sys_write(0), uid, orig);
    id = e2e_int(url, "id");
    sys_follow(sys_redirect(0), "GET", e2e_str(url, "short_code"), orig, NULL);
    snprintf(path, sizeof(path), "/urls/%lld", id);
    assert_null(e2e_call(204, "DELETE", path, NULL));
    for (int i = 0; i < flows_rounds(); i++) {
        sys_follow_error(sys_redirect(i), "GET", e2e_str(url, "short_code"), 404);
        sys_follow_error(sys_redirect(i), "HEAD", e2e_str(url, "short_code"), 404);
    }
    assert_int_equal(sys_count_events(sys_write(0), id, "click"), 1);
    json_decref(url);
}

/* Unknown code: 404 JSON for GET and HEAD on every instance. */
static void test_check2_unknown_404(void **state)
{
    char code[32];
    (void)state;

    sys_unique(code, sizeof(code), "Zq");
    for (int i = 0; i < flows_rounds(); i++) {
        sys_follow_error(sys_redirect(i), "GET", code, 404);
        sys_follow_error(sys_redirect(i), "HEAD", code, 404);
    }
}

/* The owner was deleted: the link still redirects, and its new clicks have user_id null. */
static void test_check2_owner_deleted_click_user_null(void **state)
{
    long long uid = e2e_user_new(NULL, 0), id, first;
    char orig[512], path[64];
    json_t *url, *clicks, *e;
    size_t i;
    (void)state;

    flows_orig(orig, sizeof(orig), "ci");
    url = flows_url_new(sys_write(0), uid, orig);
    id = e2e_int(url, "id");
    sys_follow(sys_redirect(0), "GET", e2e_str(url, "short_code"), orig, NULL);
    clicks = sys_events(sys_write(0), id, "click");
    assert_int_equal(json_array_size(clicks), 1);
    first = e2e_int(json_array_get(clicks, 0), "id");
    assert_int_equal(e2e_int(json_array_get(clicks, 0), "user_id"), uid);
    json_decref(clicks);
    snprintf(path, sizeof(path), "/users/%lld", uid);
    assert_null(e2e_call(204, "DELETE", path, NULL));
    for (int k = 0; k < flows_rounds(); k++)
        sys_follow(sys_redirect(k), "GET", e2e_str(url, "short_code"), orig, NULL);
    clicks = sys_events(sys_write(0), id, "click");
    assert_int_equal(json_array_size(clicks), 1 + flows_rounds());
    json_array_foreach(clicks, i, e)
    {
        if (e2e_int(e, "id") != first && !json_is_null(e2e_get(e, "user_id"))) {
            print_error("click %lld after the owner's deletion has user_id %lld, expected null\n",
                        e2e_int(e, "id"), (long long)json_integer_value(e2e_get(e, "user_id")));
            fail();
        }
    }
    json_decref(clicks);
    json_decref(url);
}

/* ------------------------------------------------------------------------ */
/* Check 3: read-your-writes with two workers and several write-svc instances */
/* ------------------------------------------------------------------------ */

/*
 * Each round creates a link through one write-svc instance, follows it K times across the
 * redirect-svc instances and at once lists its clicks through every write-svc instance.
 */
static void test_check3_read_your_writes_two_workers(void **state)
{
    enum { ROUNDS = 4, K = 25 };
    (void)state;

    for (int round = 0; round < ROUNDS; round++) {
        char orig[512];
        json_t *url;
        long long id;
        const char *code;

        flows_orig(orig, sizeof(orig), "cj");
        url = flows_url_new(sys_write(round), 0, orig);
        id = e2e_int(url, "id");
        code = e2e_str(url, "short_code");
        for (int k = 0; k < K; k++)
            sys_follow(sys_redirect(k), "GET", code, orig, NULL);
        for (int w = 0; w < sys_nwrite(); w++) {
            size_t n = sys_count_events(sys_write(round + 1 + w), id, "click");
            if (n != K) {
                print_error("round %d: %zu clicks listed by %s right after %d redirects, "
                            "expected %d\n",
                            round, n, sys_write(round + 1 + w), K, K);
                fail();
            }
        }
        json_decref(url);
    }
}

/* One POST /events under an Idempotency-Key, sent from a thread (no cmocka calls there). */
struct flows_idem {
    const char *base;
    const char *key;
    const char *body;
    pthread_barrier_t *go;
    int rc, status, replayed;
};

static void *flows_idem_thread(void *arg)
{
    struct flows_idem *f = arg;
    char hk[128];
    const char *headers[] = {"Content-Type: application/json", hk, NULL};
    struct httpc_req req = {.method = "POST", .path = "/events", .headers = headers};
    struct httpc_resp resp;
    const char *rep;

    snprintf(hk, sizeof(hk), "Idempotency-Key: %s", f->key);
    req.body = f->body;
    req.body_len = strlen(f->body);
    if (f->go)
        pthread_barrier_wait(f->go);
    f->rc = httpc_request(f->base, &req, &resp);
    if (f->rc == 0) {
        f->status = resp.status;
        rep = httpc_header(&resp, "Idempotent-Replayed");
        f->replayed = rep && strcmp(rep, "true") == 0;
        httpc_resp_release(&resp);
    }
    return NULL;
}

/*
 * Idempotency-Key across write-svc instances: the same POST /events sent at once to two
 * instances creates one event (the other answer is 409 or the replay), and every instance
 * replays it afterwards.
 */
static void test_check3_idempotency_across_instances(void **state)
{
    (void)state;

    for (int round = 0; round < 4; round++) {
        char key[64], type[64], body[128];
        const char *p[] = {type};
        pthread_barrier_t go;
        pthread_t t[2];
        struct flows_idem f[2];

        sys_unique(key, sizeof(key), "sys-idem-race");
        sys_unique(type, sizeof(type), "sys_idem");
        snprintf(body, sizeof(body), "{\"event_type\": \"%s\"}", type);
        assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
        for (int i = 0; i < 2; i++) {
            f[i] = (struct flows_idem){
                .base = sys_write(round + i), .key = key, .body = body, .go = &go};
            assert_int_equal(pthread_create(&t[i], NULL, flows_idem_thread, &f[i]), 0);
        }
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        pthread_barrier_destroy(&go);
        assert_int_equal(f[0].rc + f[1].rc, 0);
        int created =
            (f[0].status == 201 && !f[0].replayed) + (f[1].status == 201 && !f[1].replayed);
        int other = (f[0].status == 409 || f[0].replayed) + (f[1].status == 409 || f[1].replayed);
        if (created != 1 || other != 1) {
            print_error("round %d: %d%s and %d%s\n", round, f[0].status,
                        f[0].replayed ? " replayed" : "", f[1].status,
                        f[1].replayed ? " replayed" : "");
            fail();
        }
        for (int w = 0; w < sys_nwrite(); w++) {
            struct flows_idem again = {.base = sys_write(w), .key = key, .body = body};
            flows_idem_thread(&again);
            assert_int_equal(again.rc, 0);
            assert_int_equal(again.status, 201);
            assert_true(again.replayed);
        }
        assert_int_equal(sys_sql_int("SELECT count(*) FROM events WHERE event_type = $1", 1, p), 1);
    }
}

static int flows_setup(void **state)
{
    (void)state;
    sys_slow_sink(1);
    return 0;
}

static int flows_teardown(void **state)
{
    (void)state;
    sys_slow_sink(0);
    return 0;
}

int test_flows_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check1_redirect_302_exact_location),
        cmocka_unit_test(test_check1_click_event_read_your_writes),
        cmocka_unit_test(test_check2_head_302_no_event),
        cmocka_unit_test(test_check2_inactive_404_no_event),
        cmocka_unit_test(test_check2_reactivated_302),
        cmocka_unit_test(test_check2_repointed_next_redirect),
        cmocka_unit_test(test_check2_deleted_404),
        cmocka_unit_test(test_check2_unknown_404),
        cmocka_unit_test(test_check2_owner_deleted_click_user_null),
        cmocka_unit_test(test_check3_read_your_writes_two_workers),
        cmocka_unit_test(test_check3_idempotency_across_instances),
    };

    return cmocka_run_group_tests_name("system flows (checks 1-3)", tests, flows_setup,
                                       flows_teardown);
}
