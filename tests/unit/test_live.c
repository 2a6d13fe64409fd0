/*
 * test_live.c - unit tests for write-svc/live.c's pure part: a click stream entry rendered
 * as one Server-Sent Events message (fields, cuts on UTF-8 boundaries, entries refused).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../write-svc/live.h"

#include "banned.h"

/* The JSON of the message's data line (a new reference), or NULL. */
static json_t *test_live_data(const char *msg)
{
    const char *d = strstr(msg, "\ndata: ");
    if (!d)
        return NULL;
    d += 7;
    size_t n = strcspn(d, "\n");
    return json_loadb(d, n, 0, NULL);
}

static void test_live_render_click(void **state)
{
    const char *fv[] = {"id",   "42",
                        "uid",  "",
                        "code", "Ab3dE9",
                        "url",  "https://example.com/x",
                        "ts",   "1764392096123",
                        "ref",  "https://t.co/",
                        "ua",   "curl/8"};
    char out[LIVE_MSG_MAX];
    size_t n = live_render(3, "1764392096123-0", fv, ARRAY_SIZE(fv), out);
    assert_true(n > 0 && n < LIVE_MSG_MAX);
    assert_int_equal(strlen(out), n);
    static const char head[] = "id: 3:1764392096123-0\nevent: click\ndata: {";
    assert_memory_equal(out, head, sizeof(head) - 1);
    assert_true(n >= 2 && out[n - 1] == '\n' && out[n - 2] == '\n');
    json_t *j = test_live_data(out);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "url_id")), 42);
    assert_int_equal(json_integer_value(json_object_get(j, "ts")), 1764392096123LL);
    assert_string_equal(json_string_value(json_object_get(j, "short_code")), "Ab3dE9");
    assert_string_equal(json_string_value(json_object_get(j, "referrer")), "https://t.co/");
    assert_string_equal(json_string_value(json_object_get(j, "stream_id")), "3:1764392096123-0");
    json_decref(j);
    (void)state;
}

static void test_live_render_refuses_bad_entries(void **state)
{
    char out[LIVE_MSG_MAX];
    const char *no_id[] = {"code", "x"};
    const char *bad_id[] = {"id", "4x2"};
    const char *ok[] = {"id", "1"};
    assert_int_equal(live_render(0, "1-0", no_id, 2, out), 0);
    assert_int_equal(live_render(0, "1-0", bad_id, 2, out), 0);
    assert_int_equal(live_render(0, "1-0\ndata: x", ok, 2, out), 0);
    assert_int_equal(live_render(0, NULL, ok, 2, out), 0);
    /* Missing texts are empty strings, a missing or bad ts is null. */
    assert_true(live_render(0, "1-0", ok, 2, out) > 0);
    json_t *j = test_live_data(out);
    assert_non_null(j);
    assert_true(json_is_null(json_object_get(j, "ts")));
    assert_string_equal(json_string_value(json_object_get(j, "user_agent")), "");
    json_decref(j);
    (void)state;
}

static void test_live_render_cuts_long_texts(void **state)
{
    static char ua[4000], ctl[3000];
    /* "é" is two bytes: a cut in the middle of one must back off to its first byte. */
    for (size_t i = 0; i + 2 < sizeof(ua); i += 2)
        memcpy(ua + i, "\xc3\xa9", 2);
    memset(ctl, 1, sizeof(ctl) - 1); /* \u0001: six bytes each once escaped */
    const char *fv[] = {"id", "7", "ua", ua, "ref", ctl, "url", ctl, "code", "c0de"};
    char out[LIVE_MSG_MAX];
    size_t n = live_render(1, "5-1", fv, ARRAY_SIZE(fv), out);
    assert_true(n > 0 && n < LIVE_MSG_MAX);
    json_t *j = test_live_data(out);
    assert_non_null(j); /* valid JSON and valid UTF-8 (jansson checks both) */
    assert_true(strlen(json_string_value(json_object_get(j, "user_agent"))) <= 200);
    assert_string_equal(json_string_value(json_object_get(j, "short_code")), "c0de");
    json_decref(j);
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_render_click),
        cmocka_unit_test(test_live_render_refuses_bad_entries),
        cmocka_unit_test(test_live_render_cuts_long_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
