/*
 * test_timefmt.c - unit tests for shared/timefmt.c (UTC timestamp formatting and parsing).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "timefmt.h"

#include "banned.h"

/* Epoch seconds of the first and last instants timefmt_iso can print. */
#define YEAR0_START  ((time_t)-62167219200LL)
#define YEAR9999_END ((time_t)253402300799LL)

static const struct {
    time_t t;
    const char *iso;
} known_times[] = {
    {0, "1970-01-01T00:00:00"},           {-1, "1969-12-31T23:59:59"},
    {1758320705, "2025-09-19T22:25:05"},  {1775217600, "2026-04-03T12:00:00"},
    {951825600, "2000-02-29T12:00:00"},   {1709251199, "2024-02-29T23:59:59"},
    {1483228800, "2017-01-01T00:00:00"},  {YEAR9999_END, "9999-12-31T23:59:59"},
    {YEAR0_START, "0000-01-01T00:00:00"},
};

static void test_timefmt_iso_known_values(void **state)
{
    for (size_t i = 0; i < ARRAY_SIZE(known_times); i++) {
        char out[TIMEFMT_ISO_LEN];
        assert_int_equal(timefmt_iso(known_times[i].t, out), 0);
        assert_string_equal(out, known_times[i].iso);
    }
}

static void test_timefmt_iso_rejects_out_of_range_years(void **state)
{
    static const time_t bad[] = {
        YEAR9999_END + 1,
        YEAR0_START - 1,
        (time_t)INT64_MAX,
        (time_t)INT64_MIN,
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        char out[TIMEFMT_ISO_LEN];
        memset(out, 'x', sizeof(out));
        assert_int_equal(timefmt_iso(bad[i], out), ERR_INVALID);
        assert_string_equal(out, "");
    }
}

static void test_timefmt_log_known_values(void **state)
{
    static const struct {
        int64_t ms;
        const char *text;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {1, "1970-01-01T00:00:00.001Z"},
        {999, "1970-01-01T00:00:00.999Z"},
        {1000, "1970-01-01T00:00:01.000Z"},
        {-1, "1969-12-31T23:59:59.999Z"},
        {-1000, "1969-12-31T23:59:59.000Z"},
        {-1001, "1969-12-31T23:59:58.999Z"},
        {1758320705123LL, "2025-09-19T22:25:05.123Z"},
        {1775217600050LL, "2026-04-03T12:00:00.050Z"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char out[TIMEFMT_LOG_LEN];
        timefmt_log(cases[i].ms, out);
        assert_string_equal(out, cases[i].text);
    }
}

static void test_timefmt_log_extremes_keep_shape(void **state)
{
    static const int64_t extremes[] = {INT64_MAX, INT64_MIN, INT64_MAX - 999, INT64_MIN + 1};
    for (size_t i = 0; i < ARRAY_SIZE(extremes); i++) {
        char out[TIMEFMT_LOG_LEN];
        memset(out, 'x', sizeof(out));
        timefmt_log(extremes[i], out);
        assert_int_equal(strlen(out), TIMEFMT_LOG_LEN - 1);
        assert_int_equal(out[10], 'T');
        assert_int_equal(out[TIMEFMT_LOG_LEN - 2], 'Z');
    }
}

static void test_timefmt_parse_accepts_both_separators(void **state)
{
    time_t t = 0;
    assert_int_equal(timefmt_parse("2025-09-19 22:25:05", &t), 0);
    assert_true(t == 1758320705);
    t = 0;
    assert_int_equal(timefmt_parse("2025-09-19T22:25:05", &t), 0);
    assert_true(t == 1758320705);
}

static void test_timefmt_parse_round_trips_known_values(void **state)
{
    for (size_t i = 0; i < ARRAY_SIZE(known_times); i++) {
        time_t t = 12345;
        assert_int_equal(timefmt_parse(known_times[i].iso, &t), 0);
        assert_true(t == known_times[i].t);
    }
}

static void test_timefmt_parse_accepts_edge_dates(void **state)
{
    static const struct {
        const char *s;
        time_t t;
    } cases[] = {
        {"2000-02-29 00:00:00", 951782400},  /* divisible by 400: leap */
        {"2024-02-29 00:00:00", 1709164800}, /* divisible by 4: leap */
        {"2023-02-28 23:59:59", 1677628799}, /* last second of a non-leap February */
        {"2025-12-31 23:59:59", 1767225599}, /* last second of a year */
        {"2025-04-30 00:00:00", 1745971200}, /* 30-day month */
        {"2025-01-31 00:00:00", 1738281600}, /* 31-day month */
        {"2016-12-31 23:59:60", 1483228800}, /* leap second normalises forward */
        {"1969-12-31 23:59:59", -1},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        time_t t = 12345;
        if (timefmt_parse(cases[i].s, &t) != 0)
            fail_msg("refused \"%s\"", cases[i].s);
        if (t != cases[i].t)
            fail_msg("\"%s\": got %lld, want %lld", cases[i].s, (long long)t,
                     (long long)cases[i].t);
    }
}

static void test_timefmt_parse_rejects_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        " ",
        "2025-09-19",
        "22:25:05",
        "2025-09-19 22:25",
        "2025-09-19 22:25:0",
        "2025-09-19 22:25:05 ",
        " 2025-09-19 22:25:05",
        "2025-09-19 22:25:05Z",
        "2025-09-19T22:25:05.123",
        "2025-09-19T22:25:05+00:00",
        "2025-9-19 22:25:05",
        "2025-09-19  2:25:05",
        "2025/09/19 22:25:05",
        "2025-09-19t22:25:05",
        "2025-09-19_22:25:05",
        "2025-09-19 22.25.05",
        "20250919 22:25:05xx",
        "2025-13-01 00:00:00",
        "2025-00-01 00:00:00",
        "2025-01-00 00:00:00",
        "2025-01-32 00:00:00",
        "2025-04-31 00:00:00",
        "2025-06-31 00:00:00",
        "2025-09-31 00:00:00",
        "2025-11-31 00:00:00",
        "2023-02-29 00:00:00",
        "1900-02-29 00:00:00",
        "2100-02-29 00:00:00",
        "2024-02-30 00:00:00",
        "2025-01-01 24:00:00",
        "2025-01-01 00:60:00",
        "2025-01-01 00:00:61",
        "2025-01-01 99:99:99",
        "2025-01-01 00:00:0a",
        "202a-01-01 00:00:00",
        "-025-01-01 00:00:00",
        "+025-01-01 00:00:00",
        "2025-+1-01 00:00:00",
        "2025-01--1 00:00:00",
        "2025-01-01 -1:00:00",
        "yyyy-mm-dd hh:mm:ss",
        NULL,
    };
    for (size_t i = 0; bad[i]; i++) {
        time_t t = 12345;
        if (timefmt_parse(bad[i], &t) != ERR_INVALID)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_true(t == 12345);
    }
    time_t t = 0;
    assert_int_equal(timefmt_parse(NULL, &t), ERR_INVALID);
}

static void test_timefmt_parse_rejects_embedded_nul(void **state)
{
    static const char s[] = "2025-09-19\0022:25:05";
    time_t t = 0;
    assert_int_equal(timefmt_parse(s, &t), ERR_INVALID);
}

static void test_timefmt_now_ms_is_wall_clock(void **state)
{
    int64_t before = (int64_t)time(NULL) * 1000;
    int64_t now = timefmt_now_ms();
    int64_t after = (int64_t)time(NULL) * 1000 + 1000;
    assert_true(now >= before);
    assert_true(now <= after);
    assert_true(now > 1577836800000LL); /* after 2020-01-01 */
}

static void test_timefmt_mono_ms_never_goes_back(void **state)
{
    int64_t prev = timefmt_mono_ms();
    assert_true(prev >= 0);
    for (int i = 0; i < 1000; i++) {
        int64_t cur = timefmt_mono_ms();
        assert_true(cur >= prev);
        prev = cur;
    }
    struct timespec nap = {0, 20 * 1000 * 1000};
    int64_t start = timefmt_mono_ms();
    nanosleep(&nap, NULL);
    assert_true(timefmt_mono_ms() - start >= 19);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timefmt_iso_known_values),
        cmocka_unit_test(test_timefmt_iso_rejects_out_of_range_years),
        cmocka_unit_test(test_timefmt_log_known_values),
        cmocka_unit_test(test_timefmt_log_extremes_keep_shape),
        cmocka_unit_test(test_timefmt_parse_accepts_both_separators),
        cmocka_unit_test(test_timefmt_parse_round_trips_known_values),
        cmocka_unit_test(test_timefmt_parse_accepts_edge_dates),
        cmocka_unit_test(test_timefmt_parse_rejects_invalid),
        cmocka_unit_test(test_timefmt_parse_rejects_embedded_nul),
        cmocka_unit_test(test_timefmt_now_ms_is_wall_clock),
        cmocka_unit_test(test_timefmt_mono_ms_never_goes_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
