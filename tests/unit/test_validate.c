/*
 * test_validate.c - unit tests for shared/validate.c (the API.md section 5 rules).
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "validate.h"

#include "banned.h"

typedef int (*text_validator_fn)(const char *s, size_t len, const char **why);

/* Runs fn over a NULL-terminated table and asserts each value gives want. */
static void check_table(text_validator_fn fn, const char *const *values, int want)
{
    for (size_t i = 0; values[i]; i++) {
        const char *why = NULL;
        int rc = fn(values[i], strlen(values[i]), &why);
        if (rc != want)
            fail_msg("value \"%s\": got %d, want %d", values[i], rc, want);
        if (want == 0)
            assert_null(why);
        else
            assert_true(why != NULL && why[0] != '\0');
    }
}

/* Asserts fn accepts a string of n copies of c and refuses n + 1 copies. */
static void check_max_len(text_validator_fn fn, const char *prefix, char c, const char *suffix,
                          size_t total_max)
{
    char s[4200];
    size_t plen = strlen(prefix);
    size_t slen = strlen(suffix);
    const char *why = NULL;
    assert_true(total_max + 1 < sizeof(s));
    for (size_t total = total_max; total <= total_max + 1; total++) {
        memcpy(s, prefix, plen);
        memset(s + plen, c, total - plen - slen);
        memcpy(s + total - slen, suffix, slen);
        s[total] = '\0';
        why = NULL;
        int rc = fn(s, total, &why);
        if (total == total_max) {
            assert_int_equal(rc, 0);
        } else {
            assert_int_equal(rc, ERR_INVALID);
            assert_non_null(why);
        }
    }
}

/* ---- username ---- */

static void test_validate_username_accepts_valid(void **state)
{
    static const char *const ok[] = {
        "a",          "Z",       "0", "bob", "briskkernel84", "updated_username",
        "first.last", "a-b_c.d", "_", "...", "---",           "A1b2C3",
        NULL,
    };
    check_table(validate_username, ok, 0);
}

static void test_validate_username_rejects_invalid(void **state)
{
    static const char *const bad[] = {
        "",      " ",       "   ",  "\t",   "\n",    " bob", "bob ",  "bo b",
        "bob\t", "bob@x",   "bob!", "bob/", "bob\"", "b'ob", "b<o>b", "caf\xc3\xa9",
        "\x7f",  "bob\r\n", "{}",   "a+b",  "a,b",   NULL,
    };
    check_table(validate_username, bad, ERR_INVALID);
}

static void test_validate_username_length_limit(void **state)
{
    check_max_len(validate_username, "", 'x', "", VALIDATE_USERNAME_MAX);
}

static void test_validate_username_rejects_embedded_nul(void **state)
{
    const char *why = NULL;
    assert_int_equal(validate_username("ab\0cd", 5, &why), ERR_INVALID);
    assert_non_null(why);
}

static void test_validate_username_rejects_null(void **state)
{
    const char *why = NULL;
    assert_int_equal(validate_username(NULL, 0, &why), ERR_INVALID);
    assert_non_null(why);
}

static void test_validate_username_blank_reason(void **state)
{
    const char *why = NULL;
    assert_int_equal(validate_username("", 0, &why), ERR_INVALID);
    assert_string_equal(why, "must not be empty");
    why = NULL;
    assert_int_equal(validate_username("   ", 3, &why), ERR_INVALID);
    assert_string_equal(why, "must not be blank");
}

static void test_validate_username_why_may_be_null(void **state)
{
    assert_int_equal(validate_username("", 0, NULL), ERR_INVALID);
    assert_int_equal(validate_username("ok", 2, NULL), 0);
}

/* ---- email ---- */

static void test_validate_email_accepts_valid(void **state)
{
    static const char *const ok[] = {
        "a@b.co",
        "briskkernel84@example.com",
        "proudyard00@hackstack.io",
        "first.last+tag@sub.example.org",
        "x_y-z@a-b.c-d.io",
        "USER@EXAMPLE.COM",
        "a@b.c",
        "a@b.c.d.e.f",
        NULL,
    };
    check_table(validate_email, ok, 0);
}

static void test_validate_email_rejects_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        " ",
        "plainaddress",
        "no-at-sign.com",
        "@example.com",
        "user@",
        "user@example",
        "user@localhost",
        "user@@example.com",
        "a@b@example.com",
        "user@.example.com",
        "user@example.com.",
        "user@example..com",
        "user@.",
        "user@..",
        "us er@example.com",
        "user@exa mple.com",
        " user@example.com",
        "user@example.com ",
        "user\t@example.com",
        "user@example.com\n",
        "user\x01@example.com",
        "user@example.com\x7f",
        "@",
        "@.",
        NULL,
    };
    check_table(validate_email, bad, ERR_INVALID);
}

static void test_validate_email_length_limit(void **state)
{
    check_max_len(validate_email, "", 'a', "@example.com", VALIDATE_EMAIL_MAX);
}

static void test_validate_email_rejects_embedded_nul(void **state)
{
    const char *why = NULL;
    assert_int_equal(validate_email("a@b.com\0x", 9, &why), ERR_INVALID);
    assert_non_null(why);
}

static void test_validate_email_rejects_null(void **state)
{
    const char *why = NULL;
    assert_int_equal(validate_email(NULL, 0, &why), ERR_INVALID);
    assert_non_null(why);
}

/* ---- url ---- */

static void test_validate_url_accepts_valid(void **state)
{
    static const char *const ok[] = {
        "http://example.com",
        "https://example.com",
        "https://example.com/",
        "HTTP://EXAMPLE.COM",
        "HtTpS://Example.Com/Path",
        "https://seeded.app/gold/meadow/1",
        "https://example.com/keen/meadow/2?x=1&y=2#frag",
        "http://localhost",
        "http://LOCALHOST:8080/x",
        "http://localhost:1",
        "http://example.com:65535/",
        "http://example.com:80",
        "http://[::1]",
        "http://[::1]:8080/path",
        "https://[2001:db8::1]/",
        "http://127.0.0.1:8091/abc",
        "http://user:pass@example.com/",
        "http://example.com.",
        "https://sub.domain.example.co.uk/a/b/c.html",
        "https://example.com?q",
        "https://example.com#top",
        "https://example.com/%20encoded",
        "https://xn--bcher-kva.example/",
        "https://b\xc3\xbc"
        "cher.example/",
        NULL,
    };
    check_table(validate_url, ok, 0);
}

static void test_validate_url_rejects_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        " ",
        "   ",
        "hello",
        "example.com",
        "www.example.com",
        "ftp://x.com",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "mailto:a@b.com",
        "http://",
        "https://",
        "http:// x.com",
        "http://x.com/ a",
        " http://x.com",
        "http://x.com ",
        "http://x.com\t",
        "http://x.com/\n",
        "http://x.com/\r",
        "http://x.com/\x01",
        "http://x.com/\x7f",
        "http:/x.com",
        "http:x.com",
        "http//x.com",
        "://x.com",
        "httpx://x.com",
        "http://x",
        "http://intranet/path",
        "http://.com",
        "http://.",
        "http://x..com",
        "http://:80",
        "http://x.com:",
        "http://x.com:abc",
        "http://x.com:123456",
        "http://x.com:65536",
        "http://x.com:-1",
        "http://x.com:80:80",
        "http:///path",
        "http://?q=1",
        "http://#frag",
        "http://user@",
        "http://user@/path",
        "http://[]",
        "http://[::1",
        "http://[::1]x",
        "http://[::1]:",
        "http://[zz::1]/",
        "http://[1.2.3.4]/",
        "http://exa<mple.com",
        "http://exa\"mple.com",
        "http://exa\\mple.com",
        "http://exa{mple}.com",
        NULL,
    };
    check_table(validate_url, bad, ERR_INVALID);
}

static void test_validate_url_length_limit(void **state)
{
    check_max_len(validate_url, "https://example.com/", 'a', "", VALIDATE_URL_MAX);
}

static void test_validate_url_rejects_embedded_nul(void **state)
{
    const char *why = NULL;
    assert_int_equal(validate_url("http://x.com/\0a", 15, &why), ERR_INVALID);
    assert_non_null(why);
}

static void test_validate_url_rejects_null(void **state)
{
    const char *why = NULL;
    assert_int_equal(validate_url(NULL, 0, &why), ERR_INVALID);
    assert_non_null(why);
}

static void test_validate_url_uses_len_not_nul(void **state)
{
    const char *why = NULL;
    /* Only the first 18 bytes ("http://example.com") are the value. */
    assert_int_equal(validate_url("http://example.com trailing", 18, &why), 0);
    /* A prefix too short to hold the scheme is refused even if the buffer continues. */
    assert_int_equal(validate_url("http://example.com", 6, &why), ERR_INVALID);
}

static void test_validate_url_scheme_reason(void **state)
{
    const char *why = NULL;
    assert_int_equal(validate_url("ftp://x.com", 11, &why), ERR_INVALID);
    assert_string_equal(why, "must be an http or https URL");
}

/* ---- title ---- */

static void test_validate_title_accepts_valid(void **state)
{
    static const char *const ok[] = {
        "",
        " ",
        "Updated Title",
        "Service guide orbit",
        "caf\xc3\xa9 \xe2\x9c\x93",
        "<b>not html here</b>",
        "quote \" and backslash \\",
        NULL,
    };
    check_table(validate_title, ok, 0);
}

static void test_validate_title_rejects_control(void **state)
{
    static const char *const bad[] = {
        "tab\there", "new\nline", "cr\r", "\x01", "del\x7f", "\x1b[31m", NULL,
    };
    check_table(validate_title, bad, ERR_INVALID);
}

static void test_validate_title_length_limit(void **state)
{
    check_max_len(validate_title, "", 't', "", VALIDATE_TITLE_MAX);
}

static void test_validate_title_rejects_embedded_nul(void **state)
{
    const char *why = NULL;
    assert_int_equal(validate_title("a\0b", 3, &why), ERR_INVALID);
    assert_non_null(why);
}

/* ---- event_type ---- */

static void test_validate_event_type_accepts_valid(void **state)
{
    static const char *const ok[] = {
        "click", "created", "updated", "deleted", "custom event", "x", " padded ", NULL,
    };
    check_table(validate_event_type, ok, 0);
}

static void test_validate_event_type_rejects_invalid(void **state)
{
    static const char *const bad[] = {
        "", " ", "     ", "\t", "\n", "click\n", "a\tb", "\x7f", NULL,
    };
    check_table(validate_event_type, bad, ERR_INVALID);
}

static void test_validate_event_type_length_limit(void **state)
{
    check_max_len(validate_event_type, "", 'e', "", VALIDATE_EVENT_TYPE_MAX);
}

static void test_validate_event_type_rejects_null(void **state)
{
    const char *why = NULL;
    assert_int_equal(validate_event_type(NULL, 0, &why), ERR_INVALID);
    assert_non_null(why);
}

/* ---- short code ---- */

static void test_validate_alias_cases(void **state)
{
    static const struct {
        const char *s;
        int want;
    } cases[] = {
        {"abc", 0},
        {"My-Link_2026", 0},
        {"9lives", 0},
        {"a123456789b123456789c123456789d123456789e123456789f123456789g123", 0},
        {"ab", ERR_INVALID},
        {"", ERR_INVALID},
        {"-abc", ERR_INVALID},
        {"_abc", ERR_INVALID},
        {"a.bc", ERR_INVALID},
        {"a bc", ERR_INVALID},
        {"caf\xc3\xa9", ERR_INVALID},
        {"a123456789b123456789c123456789d123456789e123456789f123456789g1234", ERR_INVALID},
    };
    const char *why = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int rc = validate_alias(cases[i].s, strlen(cases[i].s), &why);
        if (rc != cases[i].want)
            fail_msg("alias \"%s\": got %d", cases[i].s, rc);
        if (rc)
            assert_non_null(why);
    }
    assert_int_equal(validate_alias(NULL, 0, &why), ERR_INVALID);
}

static void test_validate_timestamp_cases(void **state)
{
    static const struct {
        const char *s;
        int want;
    } cases[] = {
        {"2030-01-01T00:00:00", 0},
        {"1970-01-01T00:00:00", 0},
        {"2028-02-29T23:59:59", 0},
        {"2030-01-01 00:00:00", ERR_INVALID},
        {"2030-01-01T00:00:00Z", ERR_INVALID},
        {"2030-01-01", ERR_INVALID},
        {"2027-02-29T00:00:00", ERR_INVALID},
        {"2030-13-01T00:00:00", ERR_INVALID},
        {"1969-12-31T23:59:59", ERR_INVALID},
        {"", ERR_INVALID},
    };
    const char *why = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int rc = validate_timestamp(cases[i].s, strlen(cases[i].s), &why);
        if (rc != cases[i].want)
            fail_msg("timestamp \"%s\": got %d", cases[i].s, rc);
    }
}

static void test_validate_short_code_cases(void **state)
{
    static const struct {
        const char *s;
        int want;
    } cases[] = {
        {"WqxP6K", 0},
        {"a", 0},
        {"0123456789abcdef", 0},
        {"ABCDEFGHIJKLMNOP", 0},
        {"abc-de", 0},
        {"abc_de", 0},
        {"-abc", 0}, /* a lookup accepts any code that may exist */
        {"a123456789b123456789c123456789d123456789e123456789f123456789g123", 0},
        {"", ERR_INVALID},
        {"a123456789b123456789c123456789d123456789e123456789f123456789g1234", ERR_INVALID},
        {"abc de", ERR_INVALID},
        {"abc/de", ERR_INVALID},
        {"abc.de", ERR_INVALID},
        {"%41bc", ERR_INVALID},
        {"caf\xc3\xa9", ERR_INVALID},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int rc = validate_short_code(cases[i].s, strlen(cases[i].s));
        if (rc != cases[i].want)
            fail_msg("short code \"%s\": got %d", cases[i].s, rc);
    }
    assert_int_equal(validate_short_code(NULL, 0), ERR_INVALID);
    assert_int_equal(validate_short_code("ab\0cd", 5), ERR_INVALID);
}

/* ---- query id ---- */

static void test_validate_query_id_accepts_valid(void **state)
{
    static const struct {
        const char *s;
        long long want;
    } cases[] = {
        {"1", 1},
        {"42", 42},
        {"007", 7},
        {"999999999999999999", 999999999999999999LL},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        long long v = -1;
        assert_int_equal(validate_query_id(cases[i].s, &v), 0);
        assert_true(v == cases[i].want);
    }
}

static void test_validate_query_id_rejects_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        "0",
        "00",
        "-1",
        "+1",
        " 1",
        "1 ",
        "1.0",
        "1.5",
        "1e3",
        "0x10",
        "abc",
        "1a",
        "true",
        "9999999999999999999",
        "1000000000000000000",
        "99999999999999999999999",
        NULL,
    };
    for (size_t i = 0; bad[i]; i++) {
        long long v = 12345;
        if (validate_query_id(bad[i], &v) != ERR_INVALID)
            fail_msg("query id \"%s\" was accepted", bad[i]);
        assert_true(v == 12345);
    }
    long long v = 0;
    assert_int_equal(validate_query_id(NULL, &v), ERR_INVALID);
}

/* ---- query bool ---- */

static void test_validate_query_bool_cases(void **state)
{
    static const struct {
        const char *s;
        int rc;
        int value;
    } cases[] = {
        {"true", 0, 1},
        {"TRUE", 0, 1},
        {"True", 0, 1},
        {"1", 0, 1},
        {"false", 0, 0},
        {"FALSE", 0, 0},
        {"False", 0, 0},
        {"0", 0, 0},
        {"", ERR_INVALID, -1},
        {"yes", ERR_INVALID, -1},
        {"no", ERR_INVALID, -1},
        {"2", ERR_INVALID, -1},
        {"01", ERR_INVALID, -1},
        {"tru", ERR_INVALID, -1},
        {"truee", ERR_INVALID, -1},
        {" true", ERR_INVALID, -1},
        {"t", ERR_INVALID, -1},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int v = -1;
        int rc = validate_query_bool(cases[i].s, &v);
        if (rc != cases[i].rc || v != cases[i].value)
            fail_msg("query bool \"%s\": rc %d value %d", cases[i].s, rc, v);
    }
    int v = -1;
    assert_int_equal(validate_query_bool(NULL, &v), ERR_INVALID);
    assert_int_equal(v, -1);
}

/* ---- pagination ---- */

static void test_validate_pagination_none_given(void **state)
{
    int paginate = -1;
    long limit = -1;
    long offset = -1;
    validate_pagination(NULL, NULL, &paginate, &limit, &offset);
    assert_int_equal(paginate, 0);
}

static void test_validate_pagination_table(void **state)
{
    static const struct {
        const char *page;
        const char *per_page;
        long limit;
        long offset;
    } cases[] = {
        {"1", "10", 10, 0},
        {"2", "10", 10, 10},
        {"3", "25", 25, 50},
        {"1", NULL, 20, 0},
        {"2", NULL, 20, 20},
        {NULL, "5", 5, 0},
        {NULL, "500", 100, 0},
        {"0", "10", 10, 0},
        {"-3", "10", 10, 0},
        {"abc", "10", 10, 0},
        {"", "10", 10, 0},
        {"1.5", "10", 10, 0},
        {" 2", "10", 10, 0},
        {"2", "0", 1, 1},
        {"2", "-5", 1, 1},
        {"2", "abc", 20, 20},
        {"2", "", 20, 20},
        {"2", "100", 100, 100},
        {"2", "101", 100, 100},
        {"2", "99999999999999999999999", 100, 100},
        {"-99999999999999999999999", "10", 10, 0},
        {"+2", "+10", 10, 10},
        {"-1", NULL, 20, 0},
        {NULL, "0", 1, 0},
        {"2", "1e3", 20, 20},
        {"1e3", "5", 5, 0},
        {"007", "010", 10, 60},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int paginate = -1;
        long limit = -1;
        long offset = -1;
        validate_pagination(cases[i].page, cases[i].per_page, &paginate, &limit, &offset);
        if (paginate != 1 || limit != cases[i].limit || offset != cases[i].offset)
            fail_msg("page=%s per_page=%s: paginate %d limit %ld offset %ld",
                     cases[i].page ? cases[i].page : "(null)",
                     cases[i].per_page ? cases[i].per_page : "(null)", paginate, limit, offset);
    }
}

/* Values that are not decimal integers count as absent: with no other, every row. */
static void test_validate_pagination_garbage_is_absent(void **state)
{
    static const char *const garbage[] = {
        "abc", "xyz", "", "1e3", "1.5", " 2", "2 ", "0x10", "+", "-", "--1", "1,2", "\t1", NULL,
    };
    for (size_t i = 0; garbage[i]; i++) {
        for (size_t j = 0; garbage[j]; j++) {
            int paginate = -1;
            long limit = -1;
            long offset = -1;
            validate_pagination(garbage[i], garbage[j], &paginate, &limit, &offset);
            if (paginate != 0 || limit != 0 || offset != 0)
                fail_msg("page=\"%s\" per_page=\"%s\": paginate %d", garbage[i], garbage[j],
                         paginate);
        }
        int paginate = -1;
        long limit = -1;
        long offset = -1;
        validate_pagination(garbage[i], NULL, &paginate, &limit, &offset);
        assert_int_equal(paginate, 0);
        validate_pagination(NULL, garbage[i], &paginate, &limit, &offset);
        assert_int_equal(paginate, 0);
    }
}

static void test_validate_pagination_offset_cannot_overflow(void **state)
{
    static const char *const pages[] = {
        "9223372036854775807",
        "9223372036854775808",
        "99999999999999999999999999999",
        "92233720368547758",
        NULL,
    };
    static const char *const per_pages[] = {"1", "20", "100", NULL};
    for (size_t i = 0; pages[i]; i++) {
        for (size_t j = 0; per_pages[j]; j++) {
            int paginate = 0;
            long limit = 0;
            long offset = -1;
            validate_pagination(pages[i], per_pages[j], &paginate, &limit, &offset);
            assert_int_equal(paginate, 1);
            assert_true(limit >= 1 && limit <= VALIDATE_PER_PAGE_MAX);
            assert_true(offset >= 0);
            assert_true(offset <= LONG_MAX - limit);
            assert_true(offset % limit == 0);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_username_accepts_valid),
        cmocka_unit_test(test_validate_username_rejects_invalid),
        cmocka_unit_test(test_validate_username_length_limit),
        cmocka_unit_test(test_validate_username_rejects_embedded_nul),
        cmocka_unit_test(test_validate_username_rejects_null),
        cmocka_unit_test(test_validate_username_blank_reason),
        cmocka_unit_test(test_validate_username_why_may_be_null),
        cmocka_unit_test(test_validate_email_accepts_valid),
        cmocka_unit_test(test_validate_email_rejects_invalid),
        cmocka_unit_test(test_validate_email_length_limit),
        cmocka_unit_test(test_validate_email_rejects_embedded_nul),
        cmocka_unit_test(test_validate_email_rejects_null),
        cmocka_unit_test(test_validate_url_accepts_valid),
        cmocka_unit_test(test_validate_url_rejects_invalid),
        cmocka_unit_test(test_validate_url_length_limit),
        cmocka_unit_test(test_validate_url_rejects_embedded_nul),
        cmocka_unit_test(test_validate_url_rejects_null),
        cmocka_unit_test(test_validate_url_uses_len_not_nul),
        cmocka_unit_test(test_validate_url_scheme_reason),
        cmocka_unit_test(test_validate_title_accepts_valid),
        cmocka_unit_test(test_validate_title_rejects_control),
        cmocka_unit_test(test_validate_title_length_limit),
        cmocka_unit_test(test_validate_title_rejects_embedded_nul),
        cmocka_unit_test(test_validate_event_type_accepts_valid),
        cmocka_unit_test(test_validate_event_type_rejects_invalid),
        cmocka_unit_test(test_validate_event_type_length_limit),
        cmocka_unit_test(test_validate_event_type_rejects_null),
        cmocka_unit_test(test_validate_short_code_cases),
        cmocka_unit_test(test_validate_alias_cases),
        cmocka_unit_test(test_validate_timestamp_cases),
        cmocka_unit_test(test_validate_query_id_accepts_valid),
        cmocka_unit_test(test_validate_query_id_rejects_invalid),
        cmocka_unit_test(test_validate_query_bool_cases),
        cmocka_unit_test(test_validate_pagination_none_given),
        cmocka_unit_test(test_validate_pagination_table),
        cmocka_unit_test(test_validate_pagination_garbage_is_absent),
        cmocka_unit_test(test_validate_pagination_offset_cannot_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
