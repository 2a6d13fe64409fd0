/*
 * test_utf8.c - UTF-8 validation and cleaning (shared/utf8.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

static size_t len_of(const char *s, size_t n, int nul_invalid)
{
    return utf8_seq_len((const unsigned char *)s, n, nul_invalid);
}

static void test_utf8_accepts_well_formed(void **state)
{
    static const struct {
        const char *s;
        size_t len;
    } cases[] = {
        {"a", 1},
        {"\xc3\xa9", 2},         /* é */
        {"\xe2\x82\xac", 3},     /* € */
        {"\xed\x9f\xbf", 3},     /* U+D7FF, just below the surrogates */
        {"\xf0\x9f\x98\x80", 4}, /* U+1F600 */
        {"\xf4\x8f\xbf\xbf", 4}, /* U+10FFFF, the last code point */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(len_of(cases[i].s, strlen(cases[i].s), 0), cases[i].len);
}

static void test_utf8_refuses_ill_formed(void **state)
{
    static const char *const cases[] = {
        "\x80",             /* a stray continuation byte */
        "\xc0\xaf",         /* overlong '/' */
        "\xc1\xbf",         /* overlong */
        "\xe0\x80\xaf",     /* overlong */
        "\xed\xa0\x80",     /* a surrogate */
        "\xf0\x80\x80\xaf", /* overlong */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xf5\x80\x80\x80", /* invalid lead byte */
        "\xc3",             /* cut short */
        "\xe2\x82",         /* cut short */
        "\xe2\x28\xa1",     /* a bad continuation byte */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(len_of(cases[i], strlen(cases[i]), 0), 0);
}

static void test_utf8_nul_depends_on_flag(void **state)
{
    (void)state;
    assert_int_equal(len_of("\0", 1, 0), 1);
    assert_int_equal(len_of("\0", 1, 1), 0);
}

static void test_utf8_clean_replaces_each_bad_byte(void **state)
{
    char s[] = "ok\xc3\xa9\xff\x80x\xe2\x82";
    char t[] = "a\0b";
    (void)state;
    utf8_clean(s, sizeof(s) - 1, 0);
    assert_string_equal(s, "ok\xc3\xa9??x??");
    utf8_clean(t, sizeof(t) - 1, 1);
    assert_memory_equal(t, "a?b", 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_accepts_well_formed),
        cmocka_unit_test(test_utf8_refuses_ill_formed),
        cmocka_unit_test(test_utf8_nul_depends_on_flag),
        cmocka_unit_test(test_utf8_clean_replaces_each_bad_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
