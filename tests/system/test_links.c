/*
 * test_links.c - the link options of PRODUCT.md 1 as the redirect honours them, through
 * every redirect-svc instance: each redirect type with its Cache-Control, expiry by date
 * (past, future, changed, cleared), inactive beating expiry, the click cap under 20
 * concurrent clients spread over the instances (exactly N clicks, the rest 410), HEAD never
 * counting, a moved code (404 at the old name, the cap's counter carried along), and a
 * capped link reactivated with its count restored from PostgreSQL.
 *
 * Every change is made through write-svc and checked on every instance right after the
 * write answered: consistency rule 1 (ARCHITECTURE.md) with no sleep.
 */
#include <pthread.h>
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
#include "sys.h"

#include "banned.h"

#define LINKS_CLIENTS    20 /* concurrent clients racing on one capped link */
#define LINKS_PER_CLIENT 4  /* requests each */
#define LINKS_CAP        7  /* the cap they race on */
#define LINKS_ORIG_MAX   160

/* POST /urls with extra JSON members `opts` (e.g. "\"max_clicks\":3"); returns the URL. */
static json_t *links_new(const char *orig, const char *opts)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"original_url\":\"%s\"%s%s}", orig, opts[0] ? "," : "", opts);
    json_t *j = e2e_call(201, "POST", "/urls", body);
    e2e_assert_url(j);
    return j;
}

static void links_orig(char *out, size_t n, const char *tag)
{
    char u[48];
    sys_unique(u, sizeof(u), tag);
    snprintf(out, n, "https://example.com/links/%s?q=1", u);
}

static void links_put(const json_t *url, const char *body)
{
    char path[64];
    snprintf(path, sizeof(path), "/urls/%lld", e2e_int(url, "id"));
    json_decref(e2e_call(200, "PUT", path, body));
}

/* Every instance, GET and HEAD: status `status` (an error when >= 400) for code. */
static void links_expect_everywhere(const char *code, int status, const char *orig)
{
    for (int i = 0; i < sys_nredirect(); i++) {
        if (status >= 400) {
            sys_follow_error(sys_redirect(i), "HEAD", code, status);
            sys_follow_error(sys_redirect(i), "GET", code, status);
        } else {
            sys_follow_status(sys_redirect(i), "HEAD", code, status, orig, NULL);
            sys_follow_status(sys_redirect(i), "GET", code, status, orig, NULL);
        }
    }
}

/* Each redirect type, with its Cache-Control, on every instance; HEAD records nothing. */
static void test_links_redirect_types(void **state)
{
    static const int types[] = {301, 302, 307, 308};
    char orig[LINKS_ORIG_MAX], opts[64];
    (void)state;
    for (size_t t = 0; t < ARRAY_SIZE(types); t++) {
        links_orig(orig, sizeof(orig), "rt");
        snprintf(opts, sizeof(opts), "\"redirect_type\":%d", types[t]);
        json_t *u = links_new(orig, opts);
        links_expect_everywhere(e2e_str(u, "short_code"), types[t], orig);
        /* One GET per instance counted; the HEADs not. */
        assert_int_equal(sys_count_events(sys_write(0), e2e_int(u, "id"), "click"),
                         (size_t)sys_nredirect());
        json_decref(u);
    }
}

/* A changed redirect type is what the very next redirect answers, everywhere. */
static void test_links_redirect_type_change_visible_at_once(void **state)
{
    char orig[LINKS_ORIG_MAX];
    (void)state;
    links_orig(orig, sizeof(orig), "rtc");
    json_t *u = links_new(orig, "");
    links_expect_everywhere(e2e_str(u, "short_code"), 302, orig);
    links_put(u, "{\"redirect_type\":308}");
    links_expect_everywhere(e2e_str(u, "short_code"), 308, orig);
    links_put(u, "{\"redirect_type\":307}");
    links_expect_everywhere(e2e_str(u, "short_code"), 307, orig);
    json_decref(u);
}

/* Past expiry: 410 and no event; moved to the future: redirects; back to the past: 410. */
static void test_links_expiry_by_date(void **state)
{
    char orig[LINKS_ORIG_MAX];
    (void)state;
    links_orig(orig, sizeof(orig), "exp");
    json_t *u = links_new(orig, "\"expires_at\":\"2001-02-03T04:05:06\"");
    const char *code = e2e_str(u, "short_code");
    links_expect_everywhere(code, 410, NULL);
    assert_int_equal(sys_count_events(sys_write(0), e2e_int(u, "id"), "click"), 0);
    links_put(u, "{\"expires_at\":\"2999-01-01T00:00:00\"}");
    links_expect_everywhere(code, 302, orig);
    links_put(u, "{\"expires_at\":\"2020-01-01T00:00:00\"}");
    links_expect_everywhere(code, 410, NULL);
    links_put(u, "{\"expires_at\":null}");
    links_expect_everywhere(code, 302, orig);
    assert_int_equal(sys_count_events(sys_write(0), e2e_int(u, "id"), "click"),
                     (size_t)(2 * sys_nredirect()));
    json_decref(u);
}

/* An inactive link is a 404 even when it also expired (no link beats an expired one). */
static void test_links_inactive_beats_expiry(void **state)
{
    char orig[LINKS_ORIG_MAX];
    (void)state;
    links_orig(orig, sizeof(orig), "inx");
    json_t *u = links_new(orig, "\"expires_at\":\"2001-01-01T00:00:00\",\"max_clicks\":1");
    links_expect_everywhere(e2e_str(u, "short_code"), 410, NULL);
    links_put(u, "{\"is_active\":false}");
    links_expect_everywhere(e2e_str(u, "short_code"), 404, NULL);
    json_decref(u);
}

struct links_race {
    const char *code;
    int index;
    int status[LINKS_PER_CLIENT];
};

static void *links_race_client(void *arg)
{
    struct links_race *c = arg;
    char path[96];
    snprintf(path, sizeof(path), "/%s", c->code);
    for (int k = 0; k < LINKS_PER_CLIENT; k++) {
        struct httpc_req req = {.method = "GET", .path = path};
        struct httpc_resp resp;
        int rc = httpc_request(sys_redirect(c->index + k), &req, &resp);
        c->status[k] = rc == 0 ? resp.status : -1;
        httpc_resp_release(&resp);
    }
    return NULL;
}

/* 20 clients over every instance race on a link capped at 7: exactly 7 clicks, the rest 410. */
static void test_links_cap_exact_under_race(void **state)
{
    static struct links_race clients[LINKS_CLIENTS];
    pthread_t threads[LINKS_CLIENTS];
    char orig[LINKS_ORIG_MAX], opts[32];
    int redirects = 0, gone = 0, other = 0;
    (void)state;
    links_orig(orig, sizeof(orig), "cap");
    snprintf(opts, sizeof(opts), "\"max_clicks\":%d", LINKS_CAP);
    json_t *u = links_new(orig, opts);
    for (int i = 0; i < LINKS_CLIENTS; i++) {
        clients[i] = (struct links_race){.code = e2e_str(u, "short_code"), .index = i};
        assert_int_equal(pthread_create(&threads[i], NULL, links_race_client, &clients[i]), 0);
    }
    for (int i = 0; i < LINKS_CLIENTS; i++) {
        pthread_join(threads[i], NULL);
        for (int k = 0; k < LINKS_PER_CLIENT; k++) {
            int s = clients[i].status[k];
            redirects += s == 302;
            gone += s == 410;
            other += s != 302 && s != 410;
        }
    }
    if (redirects != LINKS_CAP || other != 0) {
        print_error("cap %d: %d redirects, %d 410s, %d other answers\n", LINKS_CAP, redirects, gone,
                    other);
        fail();
    }
    assert_int_equal(sys_count_events(sys_write(1), e2e_int(u, "id"), "click"), LINKS_CAP);
    links_expect_everywhere(e2e_str(u, "short_code"), 410, NULL);
    json_decref(u);
}

/* HEAD never counts towards a cap; the cap's last click is the last redirect. */
static void test_links_head_does_not_count(void **state)
{
    char orig[LINKS_ORIG_MAX];
    (void)state;
    links_orig(orig, sizeof(orig), "head");
    json_t *u = links_new(orig, "\"max_clicks\":1,\"redirect_type\":307");
    const char *code = e2e_str(u, "short_code");
    for (int i = 0; i < 3; i++)
        sys_follow_status(sys_redirect(i), "HEAD", code, 307, orig, NULL);
    sys_follow_status(sys_redirect(0), "GET", code, 307, orig, NULL);
    links_expect_everywhere(code, 410, NULL);
    assert_int_equal(sys_count_events(sys_write(0), e2e_int(u, "id"), "click"), 1);
    json_decref(u);
}

/* Raising the cap of an exhausted link lets exactly the difference through. */
static void test_links_cap_raised_and_cleared(void **state)
{
    char orig[LINKS_ORIG_MAX];
    (void)state;
    links_orig(orig, sizeof(orig), "raise");
    json_t *u = links_new(orig, "\"max_clicks\":1");
    const char *code = e2e_str(u, "short_code");
    sys_follow(sys_redirect(0), "GET", code, orig, NULL);
    links_expect_everywhere(code, 410, NULL);
    links_put(u, "{\"max_clicks\":2}");
    sys_follow(sys_redirect(1), "GET", code, orig, NULL);
    links_expect_everywhere(code, 410, NULL);
    links_put(u, "{\"max_clicks\":null}");
    links_expect_everywhere(code, 302, orig);
    json_decref(u);
}

/* A moved code: 404 at the old name at once, the new one redirects, the counter moves too. */
static void test_links_moved_code(void **state)
{
    char orig[LINKS_ORIG_MAX], alias[64], body[128];
    (void)state;
    links_orig(orig, sizeof(orig), "mv");
    json_t *u = links_new(orig, "\"max_clicks\":3");
    sys_follow(sys_redirect(0), "GET", e2e_str(u, "short_code"), orig, NULL);
    sys_follow(sys_redirect(1), "GET", e2e_str(u, "short_code"), orig, NULL);
    sys_unique(alias, sizeof(alias), "Moved-");
    snprintf(body, sizeof(body), "{\"short_code\":\"%s\"}", alias);
    links_put(u, body);
    links_expect_everywhere(e2e_str(u, "short_code"), 404, NULL);
    sys_follow(sys_redirect(0), "GET", alias, orig, NULL);
    links_expect_everywhere(alias, 410, NULL);
    assert_int_equal(sys_count_events(sys_write(0), e2e_int(u, "id"), "click"), 3);
    json_decref(u);
}

/* Deactivated after reaching its cap and reactivated: still expired (count from PostgreSQL). */
static void test_links_reactivated_cap_keeps_count(void **state)
{
    char orig[LINKS_ORIG_MAX], path[64];
    (void)state;
    links_orig(orig, sizeof(orig), "react");
    json_t *u = links_new(orig, "\"max_clicks\":2");
    const char *code = e2e_str(u, "short_code");
    sys_follow(sys_redirect(0), "GET", code, orig, NULL);
    sys_follow(sys_redirect(1), "GET", code, orig, NULL);
    links_put(u, "{\"is_active\":false}");
    links_expect_everywhere(code, 404, NULL);
    links_put(u, "{\"is_active\":true}");
    links_expect_everywhere(code, 410, NULL);
    snprintf(path, sizeof(path), "/urls/%lld", e2e_int(u, "id"));
    json_t *g = e2e_call(200, "GET", path, NULL);
    assert_int_equal(e2e_int(g, "clicks"), 2);
    json_decref(g);
    json_decref(u);
}

int test_links_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_links_redirect_types),
        cmocka_unit_test(test_links_redirect_type_change_visible_at_once),
        cmocka_unit_test(test_links_expiry_by_date),
        cmocka_unit_test(test_links_inactive_beats_expiry),
        cmocka_unit_test(test_links_cap_exact_under_race),
        cmocka_unit_test(test_links_head_does_not_count),
        cmocka_unit_test(test_links_cap_raised_and_cleared),
        cmocka_unit_test(test_links_moved_code),
        cmocka_unit_test(test_links_reactivated_cap_keeps_count),
    };
    return cmocka_run_group_tests_name("link options at the redirect", tests, NULL, NULL);
}
