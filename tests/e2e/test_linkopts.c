/*
 * test_linkopts.c - the link options of PRODUCT.md 1 on the write side: a custom
 * alias (shape, reserved names in any case, 409 when taken, moving a link), the
 * redirect type, expiry and click cap (accepted values, 422 with details.<field>
 * for anything else, null clearing them), the defaults of a link made without
 * options, one 'updated' event per changed option, and the read model carrying
 * every option before the write answers. What the redirect does with them is
 * tested by the system suite (tests/system/test_links.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "e2e_util.h"

#include "banned.h"

/* printf into a static buffer (valid until the next call; the tests are single-threaded). */
static const char *opts_fmt(const char *fmt, ...) ATTR_FORMAT(1, 2);
static const char *opts_fmt(const char *fmt, ...)
{
    static char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return buf;
}

static void opts_path(char *out, size_t n, const json_t *url)
{
    snprintf(out, n, "/urls/%lld", e2e_int(url, "id"));
}

/* A unique alias: letters, digits, '-' and '_'. */
static void opts_alias(char *out, size_t n, const char *tag)
{
    char u[48];
    e2e_unique(u, sizeof(u), tag);
    snprintf(out, n, "%s-x_%d", u, e2e_seeded());
}

/* Without options: 302, no expiry, no cap, no clicks. */
static void test_linkopts_defaults(void **state)
{
    json_t *j = e2e_url_new(0, "https://example.com/opts/defaults");
    (void)state;
    assert_int_equal(e2e_int(j, "redirect_type"), 302);
    e2e_assert_null(j, "expires_at");
    e2e_assert_null(j, "max_clicks");
    assert_int_equal(e2e_int(j, "clicks"), 0);
    e2e_assert_link(j);
    json_decref(j);
}

/* Every option on create: echoed in the answer, stored, and in the read model. */
static void test_linkopts_create_with_every_option(void **state)
{
    char alias[64], path[64];
    json_t *j, *g;
    (void)state;
    opts_alias(alias, sizeof(alias), "All");
    j = e2e_callf(201, "POST", "/urls",
                  "{\"original_url\":\"https://example.com/opts/all\",\"short_code\":\"%s\","
                  "\"redirect_type\":308,\"expires_at\":\"2999-01-02T03:04:05\",\"max_clicks\":2}",
                  alias);
    assert_string_equal(e2e_str(j, "short_code"), alias);
    assert_int_equal(e2e_int(j, "redirect_type"), 308);
    assert_string_equal(e2e_str(j, "expires_at"), "2999-01-02T03:04:05");
    assert_int_equal(e2e_int(j, "max_clicks"), 2);
    assert_int_equal(e2e_int(j, "clicks"), 0);
    e2e_assert_link(j);
    opts_path(path, sizeof(path), j);
    g = e2e_call(200, "GET", path, NULL);
    assert_true(json_equal(g, j));
    json_decref(g);
    json_decref(j);
}

/* Each redirect type is accepted; anything else is a 422 naming the field. */
static void test_linkopts_redirect_type_values(void **state)
{
    static const int good[] = {301, 302, 307, 308};
    static const char *const bad[] = {"300",   "303",     "304",  "200",  "0",  "-301",
                                      "301.0", "\"301\"", "true", "null", "[]", "{}"};
    json_t *j;
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        j = e2e_callf(201, "POST", "/urls",
                      "{\"original_url\":\"https://example.com/rt\",\"redirect_type\":%d}",
                      good[i]);
        assert_int_equal(e2e_int(j, "redirect_type"), good[i]);
        e2e_assert_link(j);
        json_decref(j);
    }
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        e2e_error(
            422, "redirect_type", "POST", "/urls",
            opts_fmt("{\"original_url\":\"https://example.com/rt\",\"redirect_type\":%s}", bad[i]));
}

/* Expiry: a UTC time (past ones too) or null; other shapes are a 422. */
static void test_linkopts_expires_at_values(void **state)
{
    static const char *const bad[] = {"\"2030-01-01\"",
                                      "\"2030-01-01 00:00:00\"",
                                      "\"2030-01-01T00:00:00Z\"",
                                      "\"2030-02-30T00:00:00\"",
                                      "\"2030-01-01T24:00:00\"",
                                      "\"1969-12-31T23:59:59\"",
                                      "\"tomorrow\"",
                                      "\"\"",
                                      "1893456000",
                                      "true",
                                      "{}"};
    json_t *j;
    (void)state;
    j = e2e_call(
        201, "POST", "/urls",
        "{\"original_url\":\"https://example.com/exp\",\"expires_at\":\"2001-01-01T00:00:00\"}");
    assert_string_equal(e2e_str(j, "expires_at"), "2001-01-01T00:00:00");
    e2e_assert_link(j);
    json_decref(j);
    j = e2e_call(201, "POST", "/urls",
                 "{\"original_url\":\"https://example.com/exp\",\"expires_at\":null}");
    e2e_assert_null(j, "expires_at");
    json_decref(j);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        e2e_error(
            422, "expires_at", "POST", "/urls",
            opts_fmt("{\"original_url\":\"https://example.com/exp\",\"expires_at\":%s}", bad[i]));
}

/* Click cap: 1..2^31-1 or null. */
static void test_linkopts_max_clicks_values(void **state)
{
    static const char *const bad[] = {"0", "-1", "2147483648", "1.5", "1.0", "\"5\"", "true", "[]"};
    json_t *j;
    (void)state;
    j = e2e_call(201, "POST", "/urls",
                 "{\"original_url\":\"https://example.com/max\",\"max_clicks\":2147483647}");
    assert_int_equal(e2e_int(j, "max_clicks"), 2147483647);
    e2e_assert_link(j);
    json_decref(j);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        e2e_error(
            422, "max_clicks", "POST", "/urls",
            opts_fmt("{\"original_url\":\"https://example.com/max\",\"max_clicks\":%s}", bad[i]));
}

/* Aliases: the shapes allowed, case kept and significant, reserved names in any case. */
static void test_linkopts_alias_shapes(void **state)
{
    static const char *const reserved[] = {
        "Health",       "USERS",       "urls",       "Api",    "admin",  "UI",
        "static",       "Assets",      "login",      "LOGOUT", "livez",  "readyz",
        "openapi.json", "favicon.ico", "robots.txt", "app",    "events", "metrics"};
    char alias[64], upper[64];
    json_t *a, *b;
    (void)state;
    opts_alias(alias, sizeof(alias), "case");
    snprintf(upper, sizeof(upper), "%s", alias);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    a = e2e_callf(201, "POST", "/urls",
                  "{\"original_url\":\"https://a.example/\",\"short_code\":\"%s\"}", alias);
    b = e2e_callf(201, "POST", "/urls",
                  "{\"original_url\":\"https://b.example/\",\"short_code\":\"%s\"}", upper);
    e2e_assert_link(a);
    e2e_assert_link(b);
    json_decref(a);
    json_decref(b);
    for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
        e2e_error(422, "short_code", "POST", "/urls",
                  opts_fmt("{\"original_url\":\"https://example.com/r\",\"short_code\":\"%s\"}",
                           reserved[i]));
}

/* PUT with a new alias moves the link: old code gone, new one there, one event; 409 when taken. */
static void test_linkopts_put_moves_link(void **state)
{
    char alias[64], path[64];
    json_t *u = e2e_url_new(0, "https://example.com/opts/move"), *other, *j, *ev, *last;
    (void)state;
    other = e2e_url_new(0, "https://example.com/opts/other");
    opts_alias(alias, sizeof(alias), "moved");
    opts_path(path, sizeof(path), u);
    j = e2e_callf(200, "PUT", path, "{\"short_code\":\"%s\"}", alias);
    assert_string_equal(e2e_str(j, "short_code"), alias);
    e2e_assert_no_link(e2e_str(u, "short_code"));
    e2e_assert_link(j);
    ev = e2e_events_of(e2e_int(u, "id"));
    last = e2e_last_type(ev, "updated");
    assert_string_equal(json_string_value(json_object_get(e2e_get(last, "details"), "field")),
                        "short_code");
    assert_string_equal(json_string_value(json_object_get(e2e_get(last, "details"), "new_value")),
                        alias);
    json_decref(ev);
    /* Taken by another link: 409, nothing changes. */
    e2e_error(409, "short_code", "PATCH", path,
              opts_fmt("{\"short_code\":\"%s\"}", e2e_str(other, "short_code")));
    e2e_assert_link(j);
    e2e_assert_link(other);
    json_decref(other);
    json_decref(j);
    json_decref(u);
}

/* Changing options on PUT/PATCH: stored, one event each, null clears, read model follows. */
static void test_linkopts_put_changes_and_clears(void **state)
{
    char path[64];
    json_t *u = e2e_url_new(0, "https://example.com/opts/change"), *j, *ev;
    size_t before;
    (void)state;
    opts_path(path, sizeof(path), u);
    ev = e2e_events_of(e2e_int(u, "id"));
    before = e2e_count_type(ev, "updated");
    json_decref(ev);
    j = e2e_call(200, "PATCH", path,
                 "{\"redirect_type\":301,\"expires_at\":\"2998-05-06T07:08:09\",\"max_clicks\":7}");
    assert_int_equal(e2e_int(j, "redirect_type"), 301);
    assert_string_equal(e2e_str(j, "expires_at"), "2998-05-06T07:08:09");
    assert_int_equal(e2e_int(j, "max_clicks"), 7);
    e2e_assert_link(j);
    json_decref(j);
    j = e2e_call(200, "PUT", path, "{\"expires_at\":null,\"max_clicks\":null}");
    e2e_assert_null(j, "expires_at");
    e2e_assert_null(j, "max_clicks");
    assert_int_equal(e2e_int(j, "redirect_type"), 301);
    e2e_assert_link(j);
    json_decref(j);
    ev = e2e_events_of(e2e_int(u, "id"));
    assert_int_equal(e2e_count_type(ev, "updated"), before + 5);
    json_decref(ev);
    /* The same values again change nothing and log nothing. */
    json_decref(e2e_call(200, "PUT", path, "{\"redirect_type\":301,\"max_clicks\":null}"));
    ev = e2e_events_of(e2e_int(u, "id"));
    assert_int_equal(e2e_count_type(ev, "updated"), before + 5);
    json_decref(ev);
    json_decref(u);
}

/* A bad option on PUT is a 422 naming it, and nothing changes (nor the read model). */
static void test_linkopts_put_invalid_422(void **state)
{
    char path[64];
    json_t *u = e2e_url_new(0, "https://example.com/opts/bad"), *j;
    (void)state;
    opts_path(path, sizeof(path), u);
    e2e_error(422, "redirect_type", "PUT", path, "{\"title\":\"x\",\"redirect_type\":303}");
    e2e_error(422, "expires_at", "PATCH", path, "{\"expires_at\":\"soon\"}");
    e2e_error(422, "max_clicks", "PUT", path, "{\"max_clicks\":0}");
    e2e_error(422, "short_code", "PUT", path, "{\"short_code\":\"ui\"}");
    j = e2e_call(200, "GET", path, NULL);
    assert_true(json_equal(j, u));
    e2e_assert_link(u);
    json_decref(j);
    json_decref(u);
}

/* Deactivating and moving at once: no link under either code; reactivating publishes the new. */
static void test_linkopts_move_inactive_then_reactivate(void **state)
{
    char alias[64], path[64];
    json_t *u = e2e_url_new(0, "https://example.com/opts/inactive-move"), *j;
    (void)state;
    opts_alias(alias, sizeof(alias), "off");
    opts_path(path, sizeof(path), u);
    j = e2e_callf(200, "PUT", path, "{\"short_code\":\"%s\",\"is_active\":false}", alias);
    e2e_assert_no_link(e2e_str(u, "short_code"));
    e2e_assert_no_link(alias);
    json_decref(j);
    j = e2e_call(200, "PUT", path, "{\"is_active\":true}");
    assert_string_equal(e2e_str(j, "short_code"), alias);
    e2e_assert_link(j);
    json_decref(j);
    json_decref(u);
}

int test_linkopts_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linkopts_defaults),
        cmocka_unit_test(test_linkopts_create_with_every_option),
        cmocka_unit_test(test_linkopts_redirect_type_values),
        cmocka_unit_test(test_linkopts_expires_at_values),
        cmocka_unit_test(test_linkopts_max_clicks_values),
        cmocka_unit_test(test_linkopts_alias_shapes),
        cmocka_unit_test(test_linkopts_put_moves_link),
        cmocka_unit_test(test_linkopts_put_changes_and_clears),
        cmocka_unit_test(test_linkopts_put_invalid_422),
        cmocka_unit_test(test_linkopts_move_inactive_then_reactivate),
    };
    return cmocka_run_group_tests_name("link options", tests, NULL, NULL);
}
