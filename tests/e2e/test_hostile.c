/*
 * test_hostile.c - hostile input against write-svc (issue 11 item 4, docs/SECURITY.md
 * "Hostile input" and "Security headers"): invalid UTF-8 in a query value or a path segment is
 * a 400 JSON before PostgreSQL sees it, a declared oversized body is a 413 at once, and every
 * answer carries the security headers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "e2e_util.h"

#include "banned.h"

/* Sends req and checks a JSON error answer with `status`, details naming `field`. */
static void hostile_expect(struct httpc_req *req, int status, const char *field)
{
    struct e2e_resp r;
    e2e_send(req, &r);
    e2e_check(&r, status, req->path);
    e2e_assert_error(r.json, field);
    e2e_resp_release(&r);
}

static void test_hostile_bad_utf8_query_and_path_400(void **state)
{
    static const char *const paths[] = {
        "/events?event_type=%C3%28",
        "/urls?short_code=%FF",
        "/users?page=1&x%C0%AF=1",
        "/events?event_type=a%00b",
        "/urls/%C3%28",
        "/users/%ED%A0%80",
        "/urls?user_id=1&title=%E2%82",
        "/users/1?fields=%F8%88%80%80%80",
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
        struct httpc_req req = {.method = "GET", .path = paths[i]};
        hostile_expect(&req, 400, strchr(paths[i], '?') ? "query" : "path");
    }
}

/* A body declared far above the cap is refused before it is sent (not after 30 s). */
static void test_hostile_declared_70mb_body_413_at_once(void **state)
{
    const char *headers[] = {"Content-Type: application/json", "Content-Length: 73400320", NULL};
    struct httpc_req req = {.method = "POST",
                            .path = "/users",
                            .headers = headers,
                            .body = "{",
                            .body_len = 1,
                            .raw_body = 1,
                            .timeout_ms = 3000};
    struct timespec t0, t1;
    (void)state;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    hostile_expect(&req, 413, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 3);
}

static void test_hostile_security_headers_on_every_answer(void **state)
{
    static const char *const paths[] = {"/health", "/users?page=1", "/nope/nope", "/metrics"};
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
        struct httpc_req req = {.method = "GET", .path = paths[i]};
        struct e2e_resp r;
        e2e_send(&req, &r);
        assert_string_equal(httpc_header(&r.raw, "X-Content-Type-Options"), "nosniff");
        assert_string_equal(httpc_header(&r.raw, "X-Frame-Options"), "DENY");
        assert_string_equal(httpc_header(&r.raw, "Referrer-Policy"), "no-referrer");
        assert_non_null(
            strstr(httpc_header(&r.raw, "Content-Security-Policy"), "frame-ancestors 'none'"));
        assert_null(httpc_header(&r.raw, "Server"));
        e2e_resp_release(&r);
    }
}

int test_hostile_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_bad_utf8_query_and_path_400),
        cmocka_unit_test(test_hostile_declared_70mb_body_413_at_once),
        cmocka_unit_test(test_hostile_security_headers_on_every_answer),
    };
    return cmocka_run_group_tests_name("hostile", tests, NULL, NULL);
}
