/*
 * test_router.c - unit tests for shared/router.c (pattern matching, 404 versus 405).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "router.h"

#include "banned.h"

static int h_dummy(struct http_req *req, struct http_resp *resp)
{
    return 0;
}

static int h_other(struct http_req *req, struct http_resp *resp)
{
    return 1;
}

static const struct route routes[] = {
    {"/health", HTTP_GET, h_dummy},
    {"/users", HTTP_GET | HTTP_POST, h_dummy},
    {"/users/bulk", HTTP_POST, h_other},
    {"/users/:id", HTTP_GET | HTTP_PUT | HTTP_DELETE, h_dummy},
    {"/urls/:id/events/:id", HTTP_GET, h_dummy},
    {"/r/:code", HTTP_GET, h_dummy},
    {"/", HTTP_GET, h_other},
};

static enum router_result match(enum http_method m, const char *path, struct route_match *out,
                                unsigned *allowed)
{
    return router_match(routes, ARRAY_SIZE(routes), m, path, out, allowed);
}

static void test_router_literal_match(void **state)
{
    struct route_match m;
    unsigned allowed = 0;
    assert_int_equal(match(HTTP_GET, "/health", &m, &allowed), ROUTER_FOUND);
    assert_ptr_equal(m.route, &routes[0]);
    assert_int_equal(m.nparams, 0);
    assert_int_equal(match(HTTP_GET, "/", &m, &allowed), ROUTER_FOUND);
    assert_ptr_equal(m.route, &routes[6]);
}

static void test_router_literal_is_case_sensitive(void **state)
{
    struct route_match m;
    unsigned allowed = 0;
    assert_int_equal(match(HTTP_GET, "/Health", &m, &allowed), ROUTER_NOT_FOUND);
    assert_int_equal(match(HTTP_GET, "/healthz", &m, &allowed), ROUTER_NOT_FOUND);
    assert_int_equal(match(HTTP_GET, "/healt", &m, &allowed), ROUTER_NOT_FOUND);
}

static void test_router_id_param_parsed(void **state)
{
    struct route_match m;
    unsigned allowed = 0;
    assert_int_equal(match(HTTP_GET, "/users/42", &m, &allowed), ROUTER_FOUND);
    assert_ptr_equal(m.route, &routes[3]);
    assert_int_equal(m.nparams, 1);
    assert_int_equal(m.params[0].len, 2);
    assert_memory_equal(m.params[0].p, "42", 2);
    assert_true(m.ids[0] == 42);
}

static void test_router_id_accepts_18_digits(void **state)
{
    struct route_match m;
    unsigned allowed = 0;
    assert_int_equal(match(HTTP_GET, "/users/999999999999999999", &m, &allowed), ROUTER_FOUND);
    assert_true(m.ids[0] == 999999999999999999LL);
    assert_int_equal(match(HTTP_GET, "/users/0", &m, &allowed), ROUTER_FOUND);
    assert_true(m.ids[0] == 0);
}

static void test_router_id_rejects_non_numeric(void **state)
{
    struct route_match m;
    unsigned allowed = 0;
    const char *bad[] = {"/users/abc", "/users/1a", "/users/-1",  "/users/+1",
                         "/users/1.5", "/users/ 1", "/users/1e3", "/users/1234567890123456789",
                         "/users//",   "/users/%31"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        allowed = 0;
        enum router_result r = match(HTTP_GET, bad[i], &m, &allowed);
        if (r != ROUTER_NOT_FOUND)
            fail_msg("path '%s' should be 404, got %d", bad[i], (int)r);
    }
}

static void test_router_literal_wins_by_table_order(void **state)
{
    struct route_match m;
    unsigned allowed = 0;
    assert_int_equal(match(HTTP_POST, "/users/bulk", &m, &allowed), ROUTER_FOUND);
    assert_ptr_equal(m.route, &routes[2]);
    /* GET /users/bulk: the literal route has no GET and "bulk" is not an :id. */
    allowed = 0;
    assert_int_equal(match(HTTP_GET, "/users/bulk", &m, &allowed), ROUTER_METHOD_NOT_ALLOWED);
    assert_int_equal(allowed, HTTP_POST);
}

static void test_router_code_param(void **state)
{
    struct route_match m;
    unsigned allowed = 0;
    assert_int_equal(match(HTTP_GET, "/r/WqxP6K", &m, &allowed), ROUTER_FOUND);
    assert_ptr_equal(m.route, &routes[5]);
    assert_int_equal(m.nparams, 1);
    assert_int_equal(m.params[0].len, 6);
    assert_memory_equal(m.params[0].p, "WqxP6K", 6);
    assert_true(m.ids[0] == 0);
    assert_int_equal(match(HTTP_GET, "/r/", &m, &allowed), ROUTER_NOT_FOUND);
    assert_int_equal(match(HTTP_GET, "/r", &m, &allowed), ROUTER_NOT_FOUND);
    assert_int_equal(match(HTTP_GET, "/r/a/b", &m, &allowed), ROUTER_NOT_FOUND);
}

static void test_router_two_params(void **state)
{
    struct route_match m;
    unsigned allowed = 0;
    assert_int_equal(match(HTTP_GET, "/urls/7/events/123", &m, &allowed), ROUTER_FOUND);
    assert_int_equal(m.nparams, 2);
    assert_true(m.ids[0] == 7);
    assert_true(m.ids[1] == 123);
    assert_memory_equal(m.params[1].p, "123", 3);
}

static void test_router_trailing_slash_ignored_once(void **state)
{
    struct route_match m;
    unsigned allowed = 0;
    assert_int_equal(match(HTTP_GET, "/users/", &m, &allowed), ROUTER_FOUND);
    assert_ptr_equal(m.route, &routes[1]);
    assert_int_equal(match(HTTP_GET, "/users/5/", &m, &allowed), ROUTER_FOUND);
    assert_true(m.ids[0] == 5);
    assert_int_equal(match(HTTP_GET, "/users//", &m, &allowed), ROUTER_NOT_FOUND);
    assert_int_equal(match(HTTP_GET, "/health//", &m, &allowed), ROUTER_NOT_FOUND);
}

static void test_router_head_allowed_with_get(void **state)
{
    struct route_match m;
    unsigned allowed = 0;
    assert_int_equal(match(HTTP_HEAD, "/r/abc", &m, &allowed), ROUTER_FOUND);
    assert_ptr_equal(m.route, &routes[5]);
    allowed = 0;
    assert_int_equal(match(HTTP_HEAD, "/users/bulk", &m, &allowed), ROUTER_METHOD_NOT_ALLOWED);
}

static void test_router_405_reports_allowed_mask(void **state)
{
    struct route_match m;
    unsigned allowed = 0;
    assert_int_equal(match(HTTP_PATCH, "/users/5", &m, &allowed), ROUTER_METHOD_NOT_ALLOWED);
    assert_int_equal(allowed, HTTP_GET | HTTP_HEAD | HTTP_PUT | HTTP_DELETE);
    allowed = 0;
    assert_int_equal(match(HTTP_DELETE, "/users", &m, &allowed), ROUTER_METHOD_NOT_ALLOWED);
    assert_int_equal(allowed, HTTP_GET | HTTP_HEAD | HTTP_POST);
}

static void test_router_404_for_unknown_or_relative(void **state)
{
    struct route_match m;
    unsigned allowed = 0;
    assert_int_equal(match(HTTP_GET, "/nope", &m, &allowed), ROUTER_NOT_FOUND);
    assert_int_equal(match(HTTP_GET, "users", &m, &allowed), ROUTER_NOT_FOUND);
    assert_int_equal(match(HTTP_GET, "", &m, &allowed), ROUTER_NOT_FOUND);
    assert_int_equal(match(HTTP_GET, "/users/5/extra", &m, &allowed), ROUTER_NOT_FOUND);
    assert_int_equal(allowed, 0);
}

static void test_router_method_parse(void **state)
{
    assert_int_equal(router_method_parse("GET"), HTTP_GET);
    assert_int_equal(router_method_parse("HEAD"), HTTP_HEAD);
    assert_int_equal(router_method_parse("POST"), HTTP_POST);
    assert_int_equal(router_method_parse("PUT"), HTTP_PUT);
    assert_int_equal(router_method_parse("PATCH"), HTTP_PATCH);
    assert_int_equal(router_method_parse("DELETE"), HTTP_DELETE);
    assert_int_equal(router_method_parse("OPTIONS"), HTTP_OPTIONS);
    assert_int_equal(router_method_parse("get"), HTTP_OTHER);
    assert_int_equal(router_method_parse("TRACE"), HTTP_OTHER);
    assert_int_equal(router_method_parse(""), HTTP_OTHER);
    assert_int_equal(router_method_parse(NULL), HTTP_OTHER);
}

static void test_router_other_method_is_405(void **state)
{
    struct route_match m;
    unsigned allowed = 0;
    assert_int_equal(match(HTTP_OTHER, "/health", &m, &allowed), ROUTER_METHOD_NOT_ALLOWED);
    assert_int_equal(allowed, HTTP_GET | HTTP_HEAD);
}

static void test_router_methods_str(void **state)
{
    char out[64];
    router_methods_str(HTTP_GET | HTTP_HEAD | HTTP_POST, out, sizeof(out));
    assert_string_equal(out, "GET, HEAD, POST");
    router_methods_str(HTTP_DELETE | HTTP_GET, out, sizeof(out));
    assert_string_equal(out, "GET, DELETE");
    router_methods_str(0, out, sizeof(out));
    assert_string_equal(out, "");
    router_methods_str(HTTP_GET | HTTP_HEAD | HTTP_PUT | HTTP_PATCH | HTTP_DELETE | HTTP_OPTIONS |
                           HTTP_POST,
                       out, sizeof(out));
    assert_string_equal(out, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
}

static void test_router_methods_str_truncates(void **state)
{
    char out[8];
    memset(out, 'x', sizeof(out));
    router_methods_str(HTTP_GET | HTTP_HEAD | HTTP_POST, out, sizeof(out));
    assert_true(memchr(out, '\0', sizeof(out)) != NULL);
    assert_int_equal(strncmp(out, "GET, HE", 7), 0);
    router_methods_str(HTTP_GET, out, 0); /* Must not write anything. */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_router_literal_match),
        cmocka_unit_test(test_router_literal_is_case_sensitive),
        cmocka_unit_test(test_router_id_param_parsed),
        cmocka_unit_test(test_router_id_accepts_18_digits),
        cmocka_unit_test(test_router_id_rejects_non_numeric),
        cmocka_unit_test(test_router_literal_wins_by_table_order),
        cmocka_unit_test(test_router_code_param),
        cmocka_unit_test(test_router_two_params),
        cmocka_unit_test(test_router_trailing_slash_ignored_once),
        cmocka_unit_test(test_router_head_allowed_with_get),
        cmocka_unit_test(test_router_405_reports_allowed_mask),
        cmocka_unit_test(test_router_404_for_unknown_or_relative),
        cmocka_unit_test(test_router_method_parse),
        cmocka_unit_test(test_router_other_method_is_405),
        cmocka_unit_test(test_router_methods_str),
        cmocka_unit_test(test_router_methods_str_truncates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
