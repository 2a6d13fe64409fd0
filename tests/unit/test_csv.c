/*
 * test_csv.c - unit tests for shared/csv.c (RFC 4180 reading, errors, caps).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csv.h"

#include "banned.h"

/* Real lines from schema/seed/events.csv: quoted JSON with doubled quotes. */
static const char seed_events[] =
    "id,url_id,user_id,event_type,timestamp,details\n"
    "1,1,1,created,2025-06-22 20:54:35,\"{\"\"short_code\"\":\"\"WqxP6K\"\",\"\"original_url\"\":"
    "\"\"https://seeded.app/gold/meadow/1\"\"}\"\n"
    "2001,1,1,updated,2025-01-26 22:38:05,\"{\"\"field\"\":\"\"original_url\"\",\"\"new_value\"\":"
    "\"\"https://acme.dev/garden/921\"\"}\"\n"
    "3207,221,286,deleted,2025-08-12 11:53:47,\"{\"\"reason\"\":\"\"user_requested\"\"}\"\n";

static void expect_field(const struct csv_record *r, size_t i, const char *want, int quoted)
{
    assert_true(i < r->nfields);
    assert_string_equal(r->fields[i], want);
    assert_int_equal(r->lens[i], strlen(want));
    assert_int_equal(r->quoted[i], quoted);
}

static void test_csv_seed_events_lines(void **state)
{
    struct csv c;
    struct csv_record r;
    csv_init(&c, seed_events, strlen(seed_events));
    assert_int_equal(csv_next(&c, &r), 1);
    assert_int_equal(r.nfields, 6);
    expect_field(&r, 5, "details", 0);
    assert_int_equal(csv_next(&c, &r), 1);
    assert_int_equal(c.line, 2);
    assert_int_equal(r.nfields, 6);
    expect_field(&r, 0, "1", 0);
    expect_field(&r, 3, "created", 0);
    expect_field(&r, 4, "2025-06-22 20:54:35", 0);
    expect_field(
        &r, 5, "{\"short_code\":\"WqxP6K\",\"original_url\":\"https://seeded.app/gold/meadow/1\"}",
        1);
    assert_int_equal(csv_next(&c, &r), 1);
    expect_field(&r, 5,
                 "{\"field\":\"original_url\",\"new_value\":\"https://acme.dev/garden/921\"}", 1);
    assert_int_equal(csv_next(&c, &r), 1);
    assert_int_equal(c.line, 4);
    expect_field(&r, 3, "deleted", 0);
    expect_field(&r, 5, "{\"reason\":\"user_requested\"}", 1);
    assert_int_equal(csv_next(&c, &r), 0);
    assert_int_equal(csv_next(&c, &r), 0);
    csv_release(&c);
}

static void test_csv_column_lookup(void **state)
{
    struct csv c;
    struct csv_record h;
    csv_init(&c, seed_events, strlen(seed_events));
    assert_int_equal(csv_next(&c, &h), 1);
    assert_int_equal(csv_column(&h, "id"), 0);
    assert_int_equal(csv_column(&h, "event_type"), 3);
    assert_int_equal(csv_column(&h, "details"), 5);
    assert_int_equal(csv_column(&h, "detail"), -1);
    assert_int_equal(csv_column(&h, "Details"), -1);
    csv_release(&c);
}

static void test_csv_crlf_and_no_final_break(void **state)
{
    static const char in[] = "a,b\r\nc,d\r\ne,f";
    struct csv c;
    struct csv_record r;
    csv_init(&c, in, strlen(in));
    assert_int_equal(csv_next(&c, &r), 1);
    expect_field(&r, 1, "b", 0);
    assert_int_equal(csv_next(&c, &r), 1);
    expect_field(&r, 0, "c", 0);
    expect_field(&r, 1, "d", 0);
    assert_int_equal(csv_next(&c, &r), 1);
    assert_int_equal(r.nfields, 2);
    expect_field(&r, 1, "f", 0);
    assert_int_equal(c.line, 3);
    assert_int_equal(csv_next(&c, &r), 0);
    csv_release(&c);
}

static void test_csv_trailing_empty_lines_are_not_records(void **state)
{
    static const char in[] = "a\n\r\n\n";
    struct csv c;
    struct csv_record r;
    csv_init(&c, in, strlen(in));
    assert_int_equal(csv_next(&c, &r), 1);
    expect_field(&r, 0, "a", 0);
    assert_int_equal(csv_next(&c, &r), 0);
    csv_release(&c);

    csv_init(&c, "", 0);
    assert_int_equal(csv_next(&c, &r), 0);
    csv_release(&c);
}

static void test_csv_blank_line_inside_is_one_empty_field(void **state)
{
    static const char in[] = "a\n\nb\n";
    struct csv c;
    struct csv_record r;
    csv_init(&c, in, strlen(in));
    assert_int_equal(csv_next(&c, &r), 1);
    assert_int_equal(csv_next(&c, &r), 1);
    assert_int_equal(r.nfields, 1);
    expect_field(&r, 0, "", 0);
    assert_int_equal(csv_next(&c, &r), 1);
    expect_field(&r, 0, "b", 0);
    assert_int_equal(c.line, 3);
    csv_release(&c);
}

static void test_csv_quoted_separators_are_data(void **state)
{
    static const char in[] = "\"x,y\",\"line1\nline2\r\nline3\",\"say \"\"hi\"\"\"\nnext,1\n";
    struct csv c;
    struct csv_record r;
    csv_init(&c, in, strlen(in));
    assert_int_equal(csv_next(&c, &r), 1);
    assert_int_equal(r.nfields, 3);
    expect_field(&r, 0, "x,y", 1);
    expect_field(&r, 1, "line1\nline2\r\nline3", 1);
    expect_field(&r, 2, "say \"hi\"", 1);
    assert_int_equal(c.line, 1);
    assert_int_equal(csv_next(&c, &r), 1);
    /* The record above spans lines 1-3, so this one starts on line 4. */
    assert_int_equal(c.line, 4);
    expect_field(&r, 0, "next", 0);
    csv_release(&c);
}

static void test_csv_empty_quoted_differs_from_empty(void **state)
{
    static const char in[] = "\"\",,x,\n";
    struct csv c;
    struct csv_record r;
    csv_init(&c, in, strlen(in));
    assert_int_equal(csv_next(&c, &r), 1);
    assert_int_equal(r.nfields, 4);
    expect_field(&r, 0, "", 1);
    expect_field(&r, 1, "", 0);
    expect_field(&r, 2, "x", 0);
    expect_field(&r, 3, "", 0);
    csv_release(&c);
}

static void expect_error(const char *in, int want, size_t want_line)
{
    struct csv c;
    struct csv_record r;
    int rc = 1;
    csv_init(&c, in, strlen(in));
    while (rc == 1)
        rc = csv_next(&c, &r);
    if (rc != want)
        fail_msg("input '%s': want %d, got %d", in, want, rc);
    assert_int_equal(c.line, want_line);
    csv_release(&c);
}

static void test_csv_quote_in_unquoted_field_is_error(void **state)
{
    expect_error("a,b\nc,d\"e\n", ERR_INVALID, 2);
    expect_error("a,b\"\n", ERR_INVALID, 1);
}

static void test_csv_text_after_closing_quote_is_error(void **state)
{
    expect_error("ok\n\"abc\"x,1\n", ERR_INVALID, 2);
    expect_error("\"abc\" ,1\n", ERR_INVALID, 1);
}

static void test_csv_unterminated_quote_is_error(void **state)
{
    expect_error("a\n\"never\nclosed\n", ERR_INVALID, 4);
}

static void test_csv_field_cap(void **state)
{
    struct buf in;
    struct csv c;
    struct csv_record r;
    buf_init(&in, 1024);
    for (int i = 0; i < CSV_MAX_FIELDS; i++)
        assert_int_equal(buf_printf(&in, "%s%d", i ? "," : "", i), 0);
    assert_int_equal(buf_puts(&in, "\n"), 0);
    csv_init(&c, in.data, in.len);
    assert_int_equal(csv_next(&c, &r), 1);
    assert_int_equal(r.nfields, CSV_MAX_FIELDS);
    expect_field(&r, CSV_MAX_FIELDS - 1, "31", 0);
    csv_release(&c);

    in.len--; /* Drop the newline and add one field too many. */
    assert_int_equal(buf_puts(&in, ",32\n"), 0);
    csv_init(&c, in.data, in.len);
    assert_int_equal(csv_next(&c, &r), ERR_TOO_BIG);
    csv_release(&c);
    buf_release(&in);
}

static void test_csv_record_cap(void **state)
{
    size_t n = CSV_MAX_RECORD;
    char *in = malloc(n + 2);
    struct csv c;
    struct csv_record r;
    assert_non_null(in);
    memset(in, 'x', n + 1);
    in[n] = '\n';
    csv_init(&c, in, n + 1);
    assert_int_equal(csv_next(&c, &r), 1);
    assert_int_equal(r.lens[0], n);
    csv_release(&c);

    in[n] = 'x';
    in[n + 1] = '\n';
    csv_init(&c, in, n + 2);
    assert_int_equal(csv_next(&c, &r), ERR_TOO_BIG);
    csv_release(&c);

    /* The same through a quoted field. */
    in[0] = '"';
    in[n] = '"';
    csv_init(&c, in, n + 2);
    assert_int_equal(csv_next(&c, &r), ERR_TOO_BIG);
    csv_release(&c);
    free(in);
}

static void test_csv_bom_skipped(void **state)
{
    static const char in[] = "\xEF\xBB\xBFid,username\n1,bob\n";
    struct csv c;
    struct csv_record r;
    csv_init(&c, in, strlen(in));
    assert_int_equal(csv_next(&c, &r), 1);
    assert_int_equal(csv_column(&r, "id"), 0);
    assert_int_equal(csv_column(&r, "username"), 1);
    csv_release(&c);
}

static void test_csv_whole_seed_file(void **state)
{
    FILE *f = fopen("schema/seed/events.csv", "rb");
    if (!f)
        skip(); /* Run from the repository root to include this test. */
    struct buf in;
    char chunk[4096];
    size_t got;
    buf_init(&in, 16 * 1024 * 1024);
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(buf_append(&in, chunk, got), 0);
    fclose(f);

    struct csv c;
    struct csv_record r;
    int rc;
    size_t rows = 0;
    csv_init(&c, in.data, in.len);
    assert_int_equal(csv_next(&c, &r), 1);
    int details = csv_column(&r, "details");
    assert_int_equal(details, 5);
    while ((rc = csv_next(&c, &r)) == 1) {
        assert_int_equal(r.nfields, 6);
        assert_int_equal(r.quoted[details], 1);
        assert_int_equal(r.fields[details][0], '{');
        rows++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(rows, 3422);
    csv_release(&c);
    buf_release(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_seed_events_lines),
        cmocka_unit_test(test_csv_column_lookup),
        cmocka_unit_test(test_csv_crlf_and_no_final_break),
        cmocka_unit_test(test_csv_trailing_empty_lines_are_not_records),
        cmocka_unit_test(test_csv_blank_line_inside_is_one_empty_field),
        cmocka_unit_test(test_csv_quoted_separators_are_data),
        cmocka_unit_test(test_csv_empty_quoted_differs_from_empty),
        cmocka_unit_test(test_csv_quote_in_unquoted_field_is_error),
        cmocka_unit_test(test_csv_text_after_closing_quote_is_error),
        cmocka_unit_test(test_csv_unterminated_quote_is_error),
        cmocka_unit_test(test_csv_field_cap),
        cmocka_unit_test(test_csv_record_cap),
        cmocka_unit_test(test_csv_bom_skipped),
        cmocka_unit_test(test_csv_whole_seed_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
