/*
 * test_jcompact.c - unit tests for shared/jcompact.c (in-place JSON whitespace removal).
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

#include "common.h"
#include "jcompact.h"

#include "banned.h"

/* Compacts a copy of in and compares it with want. */
static void check(const char *in, const char *want)
{
    size_t len = strlen(in);
    char *s = strdup(in);
    assert_non_null(s);
    size_t n = jcompact_inplace(s, len);
    if (n != strlen(want) || memcmp(s, want, n) != 0)
        fail_msg("jcompact(%s): got '%.*s', want '%s'", in, (int)n, s, want);
    free(s);
}

static void test_jcompact_table(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"", ""},
        {"{}", "{}"},
        {"{\"id\" : 1, \"username\" : \"x\"}", "{\"id\":1,\"username\":\"x\"}"},
        {"[{\"id\" : 1}, \n {\"id\" : 2}]", "[{\"id\":1},{\"id\":2}]"},
        {" \t\r\n{ } \n", "{}"},
        {"{\"a b\" : \"c , d : e\"}", "{\"a b\":\"c , d : e\"}"},
        {"\"esc \\\" still in \" , 1", "\"esc \\\" still in \",1"},
        {"\"back\\\\\" , \" x \"", "\"back\\\\\",\" x \""},
        {"[\"\\\\\\\"\" , 2]", "[\"\\\\\\\"\",2]"},
        {"\"unterminated  string ", "\"unterminated  string "},
        {"\"ends in backslash\\", "\"ends in backslash\\"},
        {"{\"t\":\"tab\there\"}", "{\"t\":\"tab\there\"}"},
        {"{\"u\" : \"caf\xc3\xa9 \\u00e9\"}", "{\"u\":\"caf\xc3\xa9 \\u00e9\"}"},
        {"[1 , 2.5e3 , true , false , null]", "[1,2.5e3,true,false,null]"},
        {"not json at all", "notjsonatall"},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        check(cases[i].in, cases[i].want);
}

static void test_jcompact_null_empty(void **state)
{
    (void)state;
    assert_int_equal(jcompact_inplace(NULL, 0), 0);
}

/* Stops at len: bytes past it are neither read as input nor written. */
static void test_jcompact_respects_len(void **state)
{
    char s[] = "{ \"a\" : 1 }XYZ";
    (void)state;
    size_t n = jcompact_inplace(s, 11);
    assert_int_equal(n, 7);
    assert_memory_equal(s, "{\"a\":1}", 7);
    assert_string_equal(s + 11, "XYZ");
}

/* A slow, obviously right reference: one byte at a time with an explicit state. */
static size_t reference(const char *in, size_t len, char *out)
{
    size_t w = 0;
    int in_str = 0, esc = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (in_str) {
            out[w++] = c;
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
        } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            out[w++] = c;
            in_str = c == '"';
        }
    }
    return w;
}

/* Random inputs over the bytes that matter agree with the reference, and compacting twice is
 * compacting once. */
static void test_jcompact_random_matches_reference(void **state)
{
    static const char alphabet[] = "\"\\ \t\n\r{}[]:,a1\0";
    char in[64], work[64], want[64];
    unsigned seed = 12345;
    (void)state;
    for (int iter = 0; iter < 200000; iter++) {
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 16) % sizeof(in);
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            in[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        memcpy(work, in, len);
        size_t n = jcompact_inplace(work, len);
        size_t m = reference(in, len, want);
        if (n != m || memcmp(work, want, n) != 0)
            fail_msg("iteration %d: differs from the reference (len %zu)", iter, len);
        assert_int_equal(jcompact_inplace(work, n), n);
    }
}

/* Jansson's spaced and indented renderings compact to its compact one (same key order). */
static void test_jcompact_matches_jansson(void **state)
{
    static const char *const docs[] = {
        "{\"id\":1,\"user_id\":null,\"short_code\":\"Ab3dE9\",\"title\":\"a \\\" : , b\","
        "\"details\":{\"k\":[1,2,{\"x\":\"y z\"}],\"e\":{}},\"t\":true}",
        "[{\"a\":\"\\\\\"},{\"b\":\"\\n\\t\"},[],[[]],-1.5e-3,\"caf\xc3\xa9\"]",
    };
    static const size_t flags[] = {0, JSON_INDENT(2), JSON_INDENT(8) | JSON_SORT_KEYS};
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
        json_t *v = json_loads(docs[i], JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        for (size_t f = 0; f < ARRAY_SIZE(flags); f++) {
            char *spaced = json_dumps(v, flags[f] | JSON_ENCODE_ANY);
            char *compact =
                json_dumps(v, (flags[f] & JSON_SORT_KEYS) | JSON_COMPACT | JSON_ENCODE_ANY);
            assert_non_null(spaced);
            assert_non_null(compact);
            size_t n = jcompact_inplace(spaced, strlen(spaced));
            spaced[n] = '\0';
            assert_string_equal(spaced, compact);
            free(spaced);
            free(compact);
        }
        json_decref(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jcompact_table),
        cmocka_unit_test(test_jcompact_null_empty),
        cmocka_unit_test(test_jcompact_respects_len),
        cmocka_unit_test(test_jcompact_random_matches_reference),
        cmocka_unit_test(test_jcompact_matches_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
