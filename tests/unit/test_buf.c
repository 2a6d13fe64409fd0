/*
 * test_buf.c - unit tests for shared/buf.c (capped byte buffer and JSON string escaping).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"

#include "banned.h"

static void test_buf_init_allocates_nothing(void **state)
{
    struct buf b;
    buf_init(&b, 100);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 100);
    assert_string_equal(buf_cstr(&b), "");
    buf_release(&b);
}

static void test_buf_append_concatenates(void **state)
{
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(buf_append(&b, "abc", 3), 0);
    assert_int_equal(buf_puts(&b, "def"), 0);
    assert_int_equal(buf_putc(&b, 'g'), 0);
    assert_int_equal(buf_append(&b, "hXXX", 1), 0);
    assert_int_equal(b.len, 8);
    assert_string_equal(buf_cstr(&b), "abcdefgh");
    assert_int_equal(b.data[b.len], '\0');
    buf_release(&b);
}

static void test_buf_append_zero_bytes(void **state)
{
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_append(&b, NULL, 0), 0);
    assert_int_equal(b.len, 0);
    assert_string_equal(buf_cstr(&b), "");
    assert_int_equal(buf_puts(&b, ""), 0);
    assert_int_equal(b.len, 0);
    buf_release(&b);
}

static void test_buf_keeps_binary_bytes(void **state)
{
    static const char bytes[] = {'a', '\0', 'b', '\xff', '\0'};
    struct buf b;
    buf_init(&b, 64);
    assert_int_equal(buf_append(&b, bytes, sizeof(bytes)), 0);
    assert_int_equal(b.len, sizeof(bytes));
    assert_memory_equal(b.data, bytes, sizeof(bytes));
    assert_int_equal(b.data[b.len], '\0');
    buf_release(&b);
}

static void test_buf_grows_past_initial_allocation(void **state)
{
    enum { N = 10000 };
    struct buf b;
    buf_init(&b, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(buf_putc(&b, (char)('a' + i % 26)), 0);
    assert_int_equal(b.len, N);
    assert_true(b.cap >= N + 1);
    /* The allocation never exceeds the cap plus the terminating NUL. */
    assert_true(b.cap <= N + 1);
    for (int i = 0; i < N; i++)
        assert_int_equal(b.data[i], 'a' + i % 26);
    assert_int_equal(b.data[N], '\0');
    buf_release(&b);
}

static void test_buf_cap_is_exact(void **state)
{
    struct buf b;
    buf_init(&b, 5);
    assert_int_equal(buf_puts(&b, "12345"), 0);
    assert_int_equal(b.len, 5);
    assert_int_equal(buf_putc(&b, '6'), ERR_TOO_BIG);
    assert_int_equal(buf_append(&b, "67", 2), ERR_TOO_BIG);
    assert_int_equal(b.len, 5);
    assert_string_equal(buf_cstr(&b), "12345");
    assert_true(b.cap <= 6);
    buf_release(&b);
}

static void test_buf_too_big_leaves_buffer_unchanged(void **state)
{
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_puts(&b, "abc"), 0);
    assert_int_equal(buf_puts(&b, "12345678"), ERR_TOO_BIG);
    assert_int_equal(b.len, 3);
    assert_string_equal(buf_cstr(&b), "abc");
    assert_int_equal(buf_puts(&b, "1234567"), 0);
    assert_string_equal(buf_cstr(&b), "abc1234567");
    buf_release(&b);
}

static void test_buf_zero_max_refuses_everything(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_putc(&b, 'x'), ERR_TOO_BIG);
    assert_int_equal(buf_printf(&b, "%d", 1), ERR_TOO_BIG);
    assert_int_equal(buf_append_json_str(&b, "", 0), ERR_TOO_BIG);
    assert_int_equal(b.len, 0);
    assert_string_equal(buf_cstr(&b), "");
    buf_release(&b);
}

static void test_buf_huge_append_is_refused(void **state)
{
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(buf_puts(&b, "x"), 0);
    assert_int_equal(buf_append(&b, "y", SIZE_MAX), ERR_TOO_BIG);
    assert_int_equal(buf_append(&b, "y", SIZE_MAX - 1), ERR_TOO_BIG);
    assert_int_equal(b.len, 1);
    buf_release(&b);
}

static void test_buf_printf_formats(void **state)
{
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(buf_printf(&b, "%s=%d", "n", 42), 0);
    assert_int_equal(buf_printf(&b, ",%05.1f,%c,%llu", 3.14159, 'z', 18446744073709551615ULL), 0);
    assert_string_equal(buf_cstr(&b), "n=42,003.1,z,18446744073709551615");
    assert_int_equal(b.len, strlen("n=42,003.1,z,18446744073709551615"));
    assert_int_equal(buf_printf(&b, "%s", ""), 0);
    assert_int_equal(b.len, strlen("n=42,003.1,z,18446744073709551615"));
    buf_release(&b);
}

static void test_buf_printf_grows(void **state)
{
    char expect[1001];
    memset(expect, 'q', 1000);
    expect[1000] = '\0';
    struct buf b;
    buf_init(&b, 2000);
    assert_int_equal(buf_putc(&b, '<'), 0);
    assert_int_equal(buf_printf(&b, "%s>", expect), 0);
    assert_int_equal(b.len, 1002);
    assert_int_equal(b.data[0], '<');
    assert_memory_equal(b.data + 1, expect, 1000);
    assert_int_equal(b.data[1001], '>');
    assert_int_equal(b.data[1002], '\0');
    buf_release(&b);
}

static void test_buf_printf_respects_cap(void **state)
{
    struct buf b;
    buf_init(&b, 8);
    assert_int_equal(buf_puts(&b, "ab"), 0);
    assert_int_equal(buf_printf(&b, "%d", 1234567), ERR_TOO_BIG);
    assert_int_equal(b.len, 2);
    assert_string_equal(buf_cstr(&b), "ab");
    assert_int_equal(buf_printf(&b, "%d", 123456), 0);
    assert_string_equal(buf_cstr(&b), "ab123456");
    buf_release(&b);
}

/* Appends s as a JSON string into a fresh buffer and compares with want. */
static void check_json_str(const char *s, size_t n, const char *want)
{
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(buf_append_json_str(&b, s, n), 0);
    assert_string_equal(buf_cstr(&b), want);
    assert_int_equal(b.len, strlen(want));
    buf_release(&b);
}

static void test_buf_json_str_escapes(void **state)
{
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        {"", "\"\""},
        {"abc", "\"abc\""},
        {"say \"hi\"", "\"say \\\"hi\\\"\""},
        {"back\\slash", "\"back\\\\slash\""},
        {"a\nb", "\"a\\nb\""},
        {"\r\t\b\f", "\"\\r\\t\\b\\f\""},
        {"\x01", "\"\\u0001\""},
        {"\x1f", "\"\\u001f\""},
        {"\x1b[0m", "\"\\u001b[0m\""},
        {"\x7f", "\"\\u007f\""},
        {"/path/</script>", "\"/path/</script>\""},
        {"caf\xc3\xa9 \xe2\x9c\x93", "\"caf\xc3\xa9 \xe2\x9c\x93\""},
        {"'single'", "\"'single'\""},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        check_json_str(cases[i].in, strlen(cases[i].in), cases[i].out);
}

static void test_buf_json_str_escapes_nul(void **state)
{
    check_json_str("a\0b", 3, "\"a\\u0000b\"");
}

static void test_buf_json_str_appends_after_content(void **state)
{
    struct buf b;
    buf_init(&b, 64);
    assert_int_equal(buf_puts(&b, "{\"k\":"), 0);
    assert_int_equal(buf_append_json_str(&b, "v\"", 2), 0);
    assert_int_equal(buf_putc(&b, '}'), 0);
    assert_string_equal(buf_cstr(&b), "{\"k\":\"v\\\"\"}");
    buf_release(&b);
}

static void test_buf_json_str_round_trips_every_ascii_byte(void **state)
{
    /* Every byte 0x00..0x7f must come back unchanged through a real JSON parser. */
    char in[128];
    for (int i = 0; i < 128; i++)
        in[i] = (char)i;
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(buf_append_json_str(&b, in, sizeof(in)), 0);
    json_error_t err;
    json_t *v = json_loadb(b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    assert_non_null(v);
    assert_true(json_is_string(v));
    assert_int_equal(json_string_length(v), sizeof(in));
    assert_memory_equal(json_string_value(v), in, sizeof(in));
    json_decref(v);
    buf_release(&b);
}

static void test_buf_json_str_rolls_back_on_cap(void **state)
{
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_puts(&b, "ab"), 0);
    /* "\"12345\"" needs 7 bytes: fits after "ab" (9 total). */
    assert_int_equal(buf_append_json_str(&b, "12345", 5), 0);
    assert_string_equal(buf_cstr(&b), "ab\"12345\"");
    buf_reset(&b);
    assert_int_equal(buf_puts(&b, "ab"), 0);
    /* Escaped and quoted, four newlines take 10 bytes, 12 after "ab": over the cap. */
    assert_int_equal(buf_append_json_str(&b, "\n\n\n\n", 4), ERR_TOO_BIG);
    assert_int_equal(b.len, 2);
    assert_string_equal(buf_cstr(&b), "ab");
    /* A failure at the closing quote also rolls back. */
    assert_int_equal(buf_append_json_str(&b, "1234567", 7), ERR_TOO_BIG);
    assert_int_equal(b.len, 2);
    assert_string_equal(buf_cstr(&b), "ab");
    buf_release(&b);
}

static void test_buf_detach_hands_over_bytes(void **state)
{
    struct buf b;
    buf_init(&b, 100);
    assert_int_equal(buf_puts(&b, "hello"), 0);
    size_t len = 0;
    char *p = buf_detach(&b, &len);
    assert_non_null(p);
    assert_int_equal(len, 5);
    assert_string_equal(p, "hello");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 100);
    free(p);
    assert_int_equal(buf_puts(&b, "again"), 0);
    p = buf_detach(&b, NULL);
    assert_string_equal(p, "again");
    free(p);
}

static void test_buf_detach_empty_gives_empty_string(void **state)
{
    struct buf b;
    buf_init(&b, 100);
    size_t len = 99;
    char *p = buf_detach(&b, &len);
    assert_non_null(p);
    assert_int_equal(len, 0);
    assert_string_equal(p, "");
    free(p);
    assert_null(b.data);
}

static void test_buf_reset_keeps_allocation(void **state)
{
    struct buf b;
    buf_init(&b, 100);
    assert_int_equal(buf_puts(&b, "some text"), 0);
    char *data = b.data;
    size_t cap = b.cap;
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(buf_cstr(&b), "");
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    assert_int_equal(b.max, 100);
    assert_int_equal(buf_puts(&b, "new"), 0);
    assert_string_equal(buf_cstr(&b), "new");
    buf_release(&b);
}

static void test_buf_reset_on_empty_is_safe(void **state)
{
    struct buf b;
    buf_init(&b, 10);
    buf_reset(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_string_equal(buf_cstr(&b), "");
}

static void test_buf_release_allows_reuse(void **state)
{
    struct buf b;
    buf_init(&b, 50);
    assert_int_equal(buf_puts(&b, "first"), 0);
    buf_release(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 50);
    buf_release(&b);
    assert_int_equal(buf_puts(&b, "second"), 0);
    assert_string_equal(buf_cstr(&b), "second");
    buf_release(&b);
}

/* Regression: an unbounded buffer (max == SIZE_MAX) once computed a zero-byte capacity. */
static void test_buf_unbounded_max_grows(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, SIZE_MAX);
    for (int i = 0; i < 100; i++)
        assert_int_equal(buf_puts(&b, "0123456789"), 0);
    assert_int_equal(b.len, 1000);
    assert_true(b.cap > b.len);
    assert_memory_equal(b.data + 990, "0123456789", 10);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_init_allocates_nothing),
        cmocka_unit_test(test_buf_append_concatenates),
        cmocka_unit_test(test_buf_append_zero_bytes),
        cmocka_unit_test(test_buf_keeps_binary_bytes),
        cmocka_unit_test(test_buf_grows_past_initial_allocation),
        cmocka_unit_test(test_buf_cap_is_exact),
        cmocka_unit_test(test_buf_too_big_leaves_buffer_unchanged),
        cmocka_unit_test(test_buf_zero_max_refuses_everything),
        cmocka_unit_test(test_buf_huge_append_is_refused),
        cmocka_unit_test(test_buf_printf_formats),
        cmocka_unit_test(test_buf_printf_grows),
        cmocka_unit_test(test_buf_printf_respects_cap),
        cmocka_unit_test(test_buf_json_str_escapes),
        cmocka_unit_test(test_buf_json_str_escapes_nul),
        cmocka_unit_test(test_buf_json_str_appends_after_content),
        cmocka_unit_test(test_buf_json_str_round_trips_every_ascii_byte),
        cmocka_unit_test(test_buf_json_str_rolls_back_on_cap),
        cmocka_unit_test(test_buf_detach_hands_over_bytes),
        cmocka_unit_test(test_buf_detach_empty_gives_empty_string),
        cmocka_unit_test(test_buf_reset_keeps_allocation),
        cmocka_unit_test(test_buf_reset_on_empty_is_safe),
        cmocka_unit_test(test_buf_release_allows_reuse),
        cmocka_unit_test(test_buf_unbounded_max_grows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
