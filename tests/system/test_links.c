/*
 * test_links.c - the link options of PRODUCT.md 1 as the redirect honours them, through
 * every redirect-svc instance: each redirect type with its Cache-Control, expiry by date
 * (past, future, changed, cleared), inactive beating expiry, the click cap under 20
 * concurrent clients spread over the instances (exactly N clicks, the rest 410), HEAD never
 * counting, a moved code (404 at the old name, the cap's counter carried along), a capped
 * link reactivated with its count restored from PostgreSQL, and the analytics of a known mix
 * of agents and referrers read right after the clicks.
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

/* The name=clicks pairs of a stats list (e.g. "devices") as "a=1,b=2", sorted by name. */
static void links_list(const json_t *stats, const char *key, char *out, size_t n)
{
    json_t *list = e2e_get(stats, key);
    const char *names[16];
    long long counts[16];
    size_t k = 0, used = 0;
    for (size_t i = 0; i < json_array_size(list) && k < 16; i++, k++) {
        names[k] = e2e_str(json_array_get(list, i), "name");
        counts[k] = e2e_int(json_array_get(list, i), "clicks");
    }
    for (size_t i = 1; i < k; i++) /* insertion sort by name */
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            const char *tn = names[j];
            long long tc = counts[j];
            names[j] = names[j - 1];
            counts[j] = counts[j - 1];
            names[j - 1] = tn;
            counts[j - 1] = tc;
        }
    out[0] = '\0';
    for (size_t i = 0; i < k && used < n; i++)
        used +=
            (size_t)snprintf(out + used, n - used, "%s%s=%lld", i ? "," : "", names[i], counts[i]);
}

static void links_assert_list(const json_t *stats, const char *key, const char *want)
{
    char got[512];
    links_list(stats, key, got, sizeof(got));
    if (strcmp(got, want) != 0) {
        print_error("stats %s: got '%s', expected '%s'\n", key, got, want);
        fail();
    }
}

/*
 * A known mix of agents and referrers through every instance, then the stats at once
 * (read-your-writes): totals, humans and bots, devices, systems, referrer hosts, and the
 * unique visitors (the humans' distinct agents, all from this machine's address).
 */
static void test_links_stats_breakdown_read_your_writes(void **state)
{
    static const struct {
        const char *ua, *ref;
        int times;
    } mix[] = {
        {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/120.0.0.0 Safari/537.36",
         "https://www.google.com/search?q=x", 3},
        {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
         "like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
         "https://t.co/abc", 2},
        {"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/16.6 Mobile/15E148 Safari/604.1",
         NULL, 1},
        {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", NULL, 1},
        {"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
         "https://t.co/abc", 1},
    };
    char orig[LINKS_ORIG_MAX], ua_h[256], ref_h[160], path[64];
    int n = 0;
    (void)state;
    links_orig(orig, sizeof(orig), "stats");
    json_t *u = links_new(orig, "");
    const char *code = e2e_str(u, "short_code");
    for (size_t m = 0; m < ARRAY_SIZE(mix); m++)
        for (int t = 0; t < mix[m].times; t++, n++) {
            const char *headers[] = {ua_h, mix[m].ref ? ref_h : NULL, NULL};
            snprintf(ua_h, sizeof(ua_h), "User-Agent: %s", mix[m].ua);
            snprintf(ref_h, sizeof(ref_h), "Referer: %s", mix[m].ref ? mix[m].ref : "");
            sys_follow(sys_redirect(n), "GET", code, orig, headers);
            sys_follow(sys_redirect(n), "HEAD", code, orig, headers); /* never counted */
        }
    snprintf(path, sizeof(path), "/urls/%lld/stats", e2e_int(u, "id"));
    json_t *st = e2e_call(200, "GET", path, NULL);
    assert_int_equal(e2e_int(st, "total_clicks"), n);
    assert_int_equal(e2e_int(st, "human_clicks"), 6);
    assert_int_equal(e2e_int(st, "bot_clicks"), 2);
    assert_int_equal(e2e_int(st, "unique_visitors"), 3);
    links_assert_list(st, "devices", "bot=2,desktop=3,mobile=2,tablet=1");
    links_assert_list(st, "os", "Other=2,Windows=3,iOS=3");
    links_assert_list(st, "referrers", "t.co=3,www.google.com=3");
    json_t *series = e2e_get(st, "series");
    long long in_series = 0;
    for (size_t i = 0; i < json_array_size(series); i++)
        in_series += e2e_int(json_array_get(series, i), "clicks");
    assert_int_equal(in_series, n);
    json_decref(st);
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
        cmocka_unit_test(test_links_stats_breakdown_read_your_writes),
    };
    return cmocka_run_group_tests_name("link options at the redirect", tests, NULL, NULL);
}
