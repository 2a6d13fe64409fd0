/*
 * test_jx.c - unit tests for shared/jx.c (strict JSON body parsing and getters).
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "jx.h"

#include "banned.h"

/* Parses a NUL-terminated literal body. */
static json_t *parse(const char *body)
{
    return jx_parse_object(body, strlen(body));
}

/* ---- jx_parse_object ---- */

static void test_jx_parse_accepts_objects(void **state)
{
    static const char *const ok[] = {
        "{}",
        "{\"a\":1}",
        "  {}  ",
        "\n\t{ \"a\" : [1, 2, {\"b\": null}] }\r\n",
        "{\"username\":\"bob\",\"email\":\"bob@example.com\"}",
        "{\"details\":{\"k\":\"v\"},\"n\":1.5,\"t\":true}",
        "{\"caf\xc3\xa9\":\"\\u00e9\"}",
        "{\"a\":{},\"b\":{\"a\":1}}",
        NULL,
    };
    for (size_t i = 0; ok[i]; i++) {
        json_t *o = parse(ok[i]);
        if (!o)
            fail_msg("refused object body: %s", ok[i]);
        assert_true(json_is_object(o));
        json_decref(o);
    }
}

static void test_jx_parse_rejects_non_objects(void **state)
{
    static const char *const bad[] = {
        "[]",  "[{}]", "[1,2]", "\"a string\"", "\"{}\"", "1",
        "1.5", "-3",   "true",  "false",        "null",   NULL,
    };
    for (size_t i = 0; bad[i]; i++) {
        json_t *o = parse(bad[i]);
        if (o) {
            json_decref(o);
            fail_msg("accepted non-object body: %s", bad[i]);
        }
    }
}

static void test_jx_parse_rejects_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        " ",
        "\n",
        "hello",
        "username=bob&email=bob@example.com",
        "{",
        "}",
        "{\"a\":}",
        "{\"a\" 1}",
        "{a:1}",
        "{'a':1}",
        "{\"a\":1,}",
        "{\"a\":1}x",
        "{} {}",
        "{}{}",
        "{\"a\":1} 2",
        "{\"a\":NaN}",
        "{\"a\":Infinity}",
        "{\"a\":01}",
        "{\"a\":1} // comment",
        "/* c */ {}",
        "{\"a\\u0000b\":1}",
        "{\"a\":\"\xff\"}",
        "{\"a\":\"\xc3\"}",
        "\xef\xbb\xbf{}",
        "{\"a\":99999999999999999999}",
        "{\"a\":-99999999999999999999}",
        "{\"a\":\"unterminated}",
        "{\"a\":\"raw\nnewline\"}",
        NULL,
    };
    for (size_t i = 0; bad[i]; i++) {
        json_t *o = parse(bad[i]);
        if (o) {
            json_decref(o);
            fail_msg("accepted malformed body #%zu: %s", i, bad[i]);
        }
    }
}

static void test_jx_parse_rejects_duplicate_keys(void **state)
{
    assert_null(parse("{\"a\":1,\"a\":2}"));
    assert_null(parse("{\"a\":1,\"a\":1}"));
    assert_null(parse("{\"o\":{\"k\":1,\"k\":2}}"));
    json_t *o = parse("{\"a\":1,\"A\":2}");
    assert_non_null(o);
    json_decref(o);
}

static void test_jx_parse_rejects_embedded_nul(void **state)
{
    static const char body[] = "{\"a\":\"b\"}\0{}";
    static const char body2[] = "{\"a\":\"b\0c\"}";
    static const char body3[] = "\0{}";
    assert_null(jx_parse_object(body, sizeof(body) - 1));
    assert_null(jx_parse_object(body2, sizeof(body2) - 1));
    assert_null(jx_parse_object(body3, sizeof(body3) - 1));
    json_t *o = jx_parse_object(body, strlen(body));
    assert_non_null(o);
    json_decref(o);
}

static void test_jx_nul_field_names_the_field(void **state)
{
    static const struct {
        const char *body;
        const char *field; /* NULL: none */
    } cases[] = {
        {"{\"a\":\"ok\",\"b\":\"x\\u0000y\"}", "b"},
        {"{\"a\":{\"deep\":[1,\"\\u0000\"]}}", "a"},
        {"{\"a\":\"\\u0000\"}", "a"},
        {"{\"a\":\"\\u0001\",\"b\":[\"x\"]}", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *o = parse(cases[i].body);
        assert_non_null(o);
        const char *f = jx_nul_field(o);
        if (cases[i].field)
            assert_string_equal(f, cases[i].field);
        else
            assert_null(f);
        json_decref(o);
    }
    /* jansson refuses a NUL inside a key even with JSON_ALLOW_NUL: not an object at all. */
    assert_null(parse("{\"k\\u0000\":1}"));
}

static void test_jx_parse_uses_len(void **state)
{
    /* Only body[0..len) counts: a valid prefix is accepted, a cut object refused. */
    json_t *o = jx_parse_object("{}garbage", 2);
    assert_non_null(o);
    json_decref(o);
    assert_null(jx_parse_object("{\"a\":1}", 6));
}

static void test_jx_parse_rejects_null_and_empty(void **state)
{
    assert_null(jx_parse_object(NULL, 0));
    assert_null(jx_parse_object(NULL, 10));
    assert_null(jx_parse_object("{}", 0));
}

static void test_jx_parse_rejects_deep_nesting(void **state)
{
    enum { DEPTH = 5000 };
    char *body = malloc(2 * DEPTH + 16);
    assert_non_null(body);
    size_t n = 0;
    body[n++] = '{';
    body[n++] = '"';
    body[n++] = 'a';
    body[n++] = '"';
    body[n++] = ':';
    for (int i = 0; i < DEPTH; i++)
        body[n++] = '[';
    for (int i = 0; i < DEPTH; i++)
        body[n++] = ']';
    body[n++] = '}';
    json_t *o = jx_parse_object(body, n);
    free(body);
    if (o) {
        json_decref(o);
        fail_msg("accepted a body nested %d deep", DEPTH);
    }
}

/* ---- jx_get_int ---- */

static void test_jx_get_int_table(void **state)
{
    static const struct {
        const char *body;
        long long min;
        long long max;
        enum jx_status want;
        long long value;
    } cases[] = {
        {"{\"id\":1}", 1, LLONG_MAX, JX_OK, 1},
        {"{\"id\":42}", 1, LLONG_MAX, JX_OK, 42},
        {"{\"id\":9223372036854775807}", 1, LLONG_MAX, JX_OK, LLONG_MAX},
        {"{\"id\":-9223372036854775808}", LLONG_MIN, 0, JX_OK, LLONG_MIN},
        {"{\"id\":0}", 0, 10, JX_OK, 0},
        {"{\"id\":-0}", 0, 10, JX_OK, 0},
        {"{\"id\":10}", 0, 10, JX_OK, 10},
        {"{\"id\":11}", 0, 10, JX_WRONG_TYPE, 0},
        {"{\"id\":0}", 1, LLONG_MAX, JX_WRONG_TYPE, 0},
        {"{\"id\":-1}", 1, LLONG_MAX, JX_WRONG_TYPE, 0},
        {"{\"id\":1.0}", 1, LLONG_MAX, JX_WRONG_TYPE, 0},
        {"{\"id\":1.5}", 1, LLONG_MAX, JX_WRONG_TYPE, 0},
        {"{\"id\":1e2}", 1, LLONG_MAX, JX_WRONG_TYPE, 0},
        {"{\"id\":0.0}", LLONG_MIN, LLONG_MAX, JX_WRONG_TYPE, 0},
        {"{\"id\":2.0}", LLONG_MIN, LLONG_MAX, JX_WRONG_TYPE, 0},
        {"{\"id\":1E0}", 1, LLONG_MAX, JX_WRONG_TYPE, 0},
        {"{\"id\":true}", 0, LLONG_MAX, JX_WRONG_TYPE, 0},
        {"{\"id\":false}", 0, LLONG_MAX, JX_WRONG_TYPE, 0},
        {"{\"id\":\"1\"}", 1, LLONG_MAX, JX_WRONG_TYPE, 0},
        {"{\"id\":\"\"}", 1, LLONG_MAX, JX_WRONG_TYPE, 0},
        {"{\"id\":[1]}", 1, LLONG_MAX, JX_WRONG_TYPE, 0},
        {"{\"id\":{}}", 1, LLONG_MAX, JX_WRONG_TYPE, 0},
        {"{\"id\":null}", 1, LLONG_MAX, JX_NULL, 0},
        {"{}", 1, LLONG_MAX, JX_MISSING, 0},
        {"{\"ID\":1}", 1, LLONG_MAX, JX_MISSING, 0},
        {"{\"other\":{\"id\":1}}", 1, LLONG_MAX, JX_MISSING, 0},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_t *o = parse(cases[i].body);
        assert_non_null(o);
        long long v = 777;
        enum jx_status st = jx_get_int(o, "id", cases[i].min, cases[i].max, &v);
        json_decref(o);
        if (st != cases[i].want)
            fail_msg("%s: status %d, want %d", cases[i].body, (int)st, (int)cases[i].want);
        if (st == JX_OK && v != cases[i].value)
            fail_msg("%s: value %lld, want %lld", cases[i].body, v, cases[i].value);
        if (st != JX_OK && v != 777)
            fail_msg("%s: *out written on failure", cases[i].body);
    }
}

/* ---- jx_get_string ---- */

static void test_jx_get_string_table(void **state)
{
    static const struct {
        const char *body;
        enum jx_status want;
        const char *value;
        size_t len;
    } cases[] = {
        {"{\"s\":\"abc\"}", JX_OK, "abc", 3},
        {"{\"s\":\"\"}", JX_OK, "", 0},
        {"{\"s\":\"   \"}", JX_OK, "   ", 3},
        {"{\"s\":\"\\u00e9\"}", JX_OK, "\xc3\xa9", 2},
        {"{\"s\":\"a\\\"b\\\\c\\n\"}", JX_OK, "a\"b\\c\n", 6},
        {"{\"s\":1}", JX_WRONG_TYPE, NULL, 0},
        {"{\"s\":1.5}", JX_WRONG_TYPE, NULL, 0},
        {"{\"s\":true}", JX_WRONG_TYPE, NULL, 0},
        {"{\"s\":[\"a\"]}", JX_WRONG_TYPE, NULL, 0},
        {"{\"s\":{\"a\":\"b\"}}", JX_WRONG_TYPE, NULL, 0},
        {"{\"s\":null}", JX_NULL, NULL, 0},
        {"{\"t\":\"abc\"}", JX_MISSING, NULL, 0},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_t *o = parse(cases[i].body);
        assert_non_null(o);
        const char *s = NULL;
        size_t len = 999;
        enum jx_status st = jx_get_string(o, "s", &s, &len);
        if (st != cases[i].want) {
            json_decref(o);
            fail_msg("%s: status %d, want %d", cases[i].body, (int)st, (int)cases[i].want);
        }
        if (st == JX_OK) {
            assert_non_null(s);
            assert_int_equal(len, cases[i].len);
            assert_memory_equal(s, cases[i].value, cases[i].len + 1);
        } else {
            assert_null(s);
            assert_int_equal(len, 999);
        }
        json_decref(o);
    }
}

static void test_jx_get_string_len_may_be_null(void **state)
{
    json_t *o = parse("{\"s\":\"hello\"}");
    assert_non_null(o);
    const char *s = NULL;
    assert_int_equal(jx_get_string(o, "s", &s, NULL), JX_OK);
    assert_string_equal(s, "hello");
    json_decref(o);
}

/* ---- jx_get_bool ---- */

static void test_jx_get_bool_table(void **state)
{
    static const struct {
        const char *body;
        enum jx_status want;
        int value;
    } cases[] = {
        {"{\"b\":true}", JX_OK, 1},
        {"{\"b\":false}", JX_OK, 0},
        {"{\"b\":1}", JX_WRONG_TYPE, 0},
        {"{\"b\":0}", JX_WRONG_TYPE, 0},
        {"{\"b\":\"true\"}", JX_WRONG_TYPE, 0},
        {"{\"b\":\"false\"}", JX_WRONG_TYPE, 0},
        {"{\"b\":1.0}", JX_WRONG_TYPE, 0},
        {"{\"b\":[]}", JX_WRONG_TYPE, 0},
        {"{\"b\":{}}", JX_WRONG_TYPE, 0},
        {"{\"b\":null}", JX_NULL, 0},
        {"{}", JX_MISSING, 0},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_t *o = parse(cases[i].body);
        assert_non_null(o);
        int v = -1;
        enum jx_status st = jx_get_bool(o, "b", &v);
        json_decref(o);
        if (st != cases[i].want)
            fail_msg("%s: status %d, want %d", cases[i].body, (int)st, (int)cases[i].want);
        if (st == JX_OK && v != cases[i].value)
            fail_msg("%s: value %d", cases[i].body, v);
        if (st != JX_OK && v != -1)
            fail_msg("%s: *out written on failure", cases[i].body);
    }
}

/* ---- jx_get_object ---- */

static void test_jx_get_object_table(void **state)
{
    static const struct {
        const char *body;
        enum jx_status want;
    } cases[] = {
        {"{\"d\":{}}", JX_OK},
        {"{\"d\":{\"k\":\"v\",\"n\":[1]}}", JX_OK},
        {"{\"d\":[]}", JX_WRONG_TYPE},
        {"{\"d\":\"{}\"}", JX_WRONG_TYPE},
        {"{\"d\":\"a string\"}", JX_WRONG_TYPE},
        {"{\"d\":1}", JX_WRONG_TYPE},
        {"{\"d\":true}", JX_WRONG_TYPE},
        {"{\"d\":null}", JX_NULL},
        {"{}", JX_MISSING},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_t *o = parse(cases[i].body);
        assert_non_null(o);
        json_t *d = NULL;
        enum jx_status st = jx_get_object(o, "d", &d);
        if (st != cases[i].want) {
            json_decref(o);
            fail_msg("%s: status %d, want %d", cases[i].body, (int)st, (int)cases[i].want);
        }
        if (st == JX_OK) {
            assert_true(json_is_object(d));
            assert_ptr_equal(d, json_object_get(o, "d"));
        } else {
            assert_null(d);
        }
        json_decref(o);
    }
}

/* ---- getters on bad containers ---- */

static void test_jx_getters_tolerate_bad_container(void **state)
{
    long long n = 5;
    const char *s = NULL;
    int b = -1;
    json_t *d = NULL;
    assert_int_equal(jx_get_int(NULL, "k", 0, 10, &n), JX_MISSING);
    assert_int_equal(jx_get_string(NULL, "k", &s, NULL), JX_MISSING);
    assert_int_equal(jx_get_bool(NULL, "k", &b), JX_MISSING);
    assert_int_equal(jx_get_object(NULL, "k", &d), JX_MISSING);
    json_t *arr = json_array();
    assert_non_null(arr);
    assert_int_equal(jx_get_int(arr, "k", 0, 10, &n), JX_MISSING);
    json_decref(arr);
    json_t *o = parse("{\"k\":1}");
    assert_non_null(o);
    assert_int_equal(jx_get_int(o, NULL, 0, 10, &n), JX_MISSING);
    json_decref(o);
    assert_true(n == 5);
    assert_null(s);
    assert_int_equal(b, -1);
    assert_null(d);
}

/* ---- jx_dump ---- */

static void test_jx_dump_is_compact_and_ordered(void **state)
{
    json_t *o = parse("{ \"b\" : 1 , \"a\" : [ 1 , 2 ] , \"c\" : { \"x\" : null } , \"d\": 1.5 }");
    assert_non_null(o);
    char *s = jx_dump(o);
    assert_non_null(s);
    assert_string_equal(s, "{\"b\":1,\"a\":[1,2],\"c\":{\"x\":null},\"d\":1.5}");
    free(s);
    json_decref(o);
}

static void test_jx_dump_escapes_strings(void **state)
{
    json_t *o = json_object();
    assert_non_null(o);
    assert_int_equal(json_object_set_new(o, "s", json_string("q\"b\\n\n\x01\xc3\xa9")), 0);
    char *s = jx_dump(o);
    assert_non_null(s);
    assert_string_equal(s, "{\"s\":\"q\\\"b\\\\n\\n\\u0001\xc3\xa9\"}");
    free(s);
    json_decref(o);
}

static void test_jx_dump_round_trip(void **state)
{
    static const char body[] = "{\"id\":7,\"details\":{\"short_code\":\"WqxP6K\",\"n\":[true,"
                               "false,null]},\"title\":\"caf\xc3\xa9\"}";
    json_t *o = parse(body);
    assert_non_null(o);
    char *s = jx_dump(o);
    assert_non_null(s);
    assert_string_equal(s, body);
    free(s);
    json_decref(o);
}

static void test_jx_dump_scalars_and_null(void **state)
{
    assert_null(jx_dump(NULL));
    json_t *v = json_integer(42);
    assert_non_null(v);
    char *s = jx_dump(v);
    assert_non_null(s);
    assert_string_equal(s, "42");
    free(s);
    json_decref(v);
    json_t *e = json_object();
    assert_non_null(e);
    s = jx_dump(e);
    assert_non_null(s);
    assert_string_equal(s, "{}");
    free(s);
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jx_parse_accepts_objects),
        cmocka_unit_test(test_jx_parse_rejects_non_objects),
        cmocka_unit_test(test_jx_parse_rejects_malformed),
        cmocka_unit_test(test_jx_parse_rejects_duplicate_keys),
        cmocka_unit_test(test_jx_parse_rejects_embedded_nul),
        cmocka_unit_test(test_jx_nul_field_names_the_field),
        cmocka_unit_test(test_jx_parse_uses_len),
        cmocka_unit_test(test_jx_parse_rejects_null_and_empty),
        cmocka_unit_test(test_jx_parse_rejects_deep_nesting),
        cmocka_unit_test(test_jx_get_int_table),
        cmocka_unit_test(test_jx_get_string_table),
        cmocka_unit_test(test_jx_get_string_len_may_be_null),
        cmocka_unit_test(test_jx_get_bool_table),
        cmocka_unit_test(test_jx_get_object_table),
        cmocka_unit_test(test_jx_getters_tolerate_bad_container),
        cmocka_unit_test(test_jx_dump_is_compact_and_ordered),
        cmocka_unit_test(test_jx_dump_escapes_strings),
        cmocka_unit_test(test_jx_dump_round_trip),
        cmocka_unit_test(test_jx_dump_scalars_and_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
