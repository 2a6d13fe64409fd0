/*
 * test_bulk.c - POST /users/bulk (API.md 4.1 row 2, 4.3-2; DECISIONS.md A13): a users CSV as
 * the multipart part "file" (or a raw text/csv body); every row with a username and an email
 * counts, rows with an id keep it, and the whole file is one transaction.
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

#include "e2e_util.h"

#include "banned.h"

/* ------------------------------------------------------------------------ */
/* Bulk import                                                               */
/* ------------------------------------------------------------------------ */

/* POST /users/bulk with a multipart part `part` holding csv; returns the response. */
static void bulk_send(const char *part, const char *csv, struct e2e_resp *r)
{
    const char *headers[] = {"Content-Type: multipart/form-data; boundary=----e2eBOUNDARYx9", NULL};
    struct httpc_req req = {.method = "POST", .path = "/users/bulk", .headers = headers};
    size_t len;
    char *body = e2e_multipart("----e2eBOUNDARYx9", part, "users.csv", csv, strlen(csv), &len);

    req.body = body;
    req.body_len = len;
    e2e_send(&req, r);
    free(body);
}

/* Uploads csv as the part "file", expects 200 or 201 with imported == count; returns count. */
static long long bulk_count(const char *csv)
{
    struct e2e_resp r;
    long long count;

    bulk_send("file", csv, &r);
    e2e_check(&r, r.status == 200 ? 200 : 201, "POST /users/bulk");
    count = e2e_int(r.json, "count");
    assert_int_equal(e2e_int(r.json, "imported"), count);
    e2e_resp_release(&r);
    return count;
}

/* Asserts exactly one user is named name, with that email. */
static void assert_one_user(const char *name, const char *email)
{
    json_t *j = e2e_users_named(name);

    if (e2e_len(j) != 1) {
        print_error("expected one user named '%s', found %zu\n", name, e2e_len(j));
        fail();
    }
    if (email)
        assert_string_equal(e2e_str(json_array_get(j, 0), "email"), email);
    json_decref(j);
}

static void test_bulk_username_email_only_csv(void **state)
{
    char a[64], b[64], csv[512], email[96];
    (void)state;
    e2e_unique(a, sizeof(a), "bulk");
    e2e_unique(b, sizeof(b), "bulk");
    snprintf(csv, sizeof(csv), "username,email\n%s,%s@example.com\n%s,%s@example.com\n", a, a, b,
             b);
    assert_int_equal(bulk_count(csv), 2);
    snprintf(email, sizeof(email), "%s@example.com", a);
    assert_one_user(a, email);
    snprintf(email, sizeof(email), "%s@example.com", b);
    assert_one_user(b, email);
}

/* Every row with a username and an email counts, even when the user exists already. */
static void test_bulk_existing_and_repeated_rows_counted_not_duplicated(void **state)
{
    char a[64], csv[512];
    (void)state;
    e2e_unique(a, sizeof(a), "bulk");
    snprintf(csv, sizeof(csv), "username,email\n%s,%s@example.com\n%s,%s@example.com\n", a, a, a,
             a);
    assert_int_equal(bulk_count(csv), 2);
    assert_int_equal(bulk_count(csv), 2);
    assert_one_user(a, NULL);
}

static void test_bulk_rows_without_username_or_email_not_counted(void **state)
{
    char a[64], b[64], c[64], csv[512];
    (void)state;
    e2e_unique(a, sizeof(a), "bulk");
    e2e_unique(b, sizeof(b), "bulk");
    e2e_unique(c, sizeof(c), "bulk");
    snprintf(csv, sizeof(csv), "username,email\n%s,\n,%s@example.com\n%s,%s@example.com\n", a, b, c,
             c);
    assert_int_equal(bulk_count(csv), 1);
    assert_one_user(c, NULL);
    json_t *j = e2e_users_named(a);
    assert_int_equal(e2e_len(j), 0);
    json_decref(j);
}

static void test_bulk_header_only_counts_zero(void **state)
{
    (void)state;
    assert_int_equal(bulk_count("id,username,email,created_at\n"), 0);
    assert_int_equal(bulk_count("username,email\n"), 0);
}

static void test_bulk_without_file_part_400(void **state)
{
    char a[64], csv[256];
    struct e2e_resp r;
    json_t *j;
    (void)state;
    e2e_unique(a, sizeof(a), "bulk");
    snprintf(csv, sizeof(csv), "username,email\n%s,%s@example.com\n", a, a);
    bulk_send("upload", csv, &r); /* a part with another name */
    e2e_check(&r, 400, "POST /users/bulk (part 'upload', no 'file')");
    e2e_assert_error(r.json, NULL);
    e2e_resp_release(&r);
    e2e_error(400, NULL, "POST", "/users/bulk", NULL);
    e2e_error(400, NULL, "POST", "/users/bulk", "{\"file\":\"username,email\"}");
    e2e_error_raw(400, "POST", "/users/bulk", "multipart/form-data; boundary=xyz", "", 0);
    e2e_error_raw(400, "POST", "/users/bulk", "multipart/form-data; boundary=xyz", "--xyz--\r\n",
                  9);
    j = e2e_users_named(a);
    assert_int_equal(e2e_len(j), 0);
    json_decref(j);
}

/* Rows with an id keep it and their created_at; new ids continue after the largest one. */
static void test_bulk_ids_and_created_at_kept_sequence_advanced(void **state)
{
    json_t *all = e2e_call(200, "GET", "/users", NULL), *u;
    long long id = e2e_int(json_array_get(all, e2e_len(all) - 1), "id") + 1000;
    char a[64], csv[512], path[64];
    (void)state;
    json_decref(all);
    e2e_unique(a, sizeof(a), "bulk");
    snprintf(csv, sizeof(csv),
             "id,username,email,created_at\n%lld,%s,%s@example.com,2020-01-02 03:04:05\n", id, a,
             a);
    assert_int_equal(bulk_count(csv), 1);
    snprintf(path, sizeof(path), "/users/%lld", id);
    u = e2e_call(200, "GET", path, NULL);
    assert_string_equal(e2e_str(u, "username"), a);
    assert_string_equal(e2e_str(u, "created_at"), "2020-01-02T03:04:05");
    json_decref(u);
    assert_int_equal(e2e_user_new(NULL, 0), id + 1);
}

/* A row whose id exists overwrites that user (upsert by id) and still counts. */
static void test_bulk_row_with_existing_id_updates_user(void **state)
{
    char a[64], b[64], csv[512], path[64];
    long long id = e2e_user_new(a, sizeof(a));
    json_t *u;
    (void)state;
    e2e_unique(b, sizeof(b), "bulk");
    snprintf(csv, sizeof(csv), "id,username,email,created_at\n%lld,%s,%s@example.com,\n", id, b, b);
    assert_int_equal(bulk_count(csv), 1);
    snprintf(path, sizeof(path), "/users/%lld", id);
    u = e2e_call(200, "GET", path, NULL);
    assert_string_equal(e2e_str(u, "username"), b);
    json_decref(u);
}

static void test_bulk_crlf_quoted_and_unvalidated_rows(void **state)
{
    char a[64], b[64], csv[512];
    (void)state;
    e2e_unique(a, sizeof(a), "bulk");
    e2e_unique(b, sizeof(b), "bulk");
    /* CRLF, quoted fields, and row values POST /users would refuse: API.md 4.3-2 asks for no
     * format validation on bulk rows (BULK_STRICT is off by default). */
    snprintf(csv, sizeof(csv), "username,email\r\n\"%s\",\"%s@example.com\"\r\n%s,not-an-email\r\n",
             a, a, b);
    assert_int_equal(bulk_count(csv), 2);
    assert_one_user(a, NULL);
    assert_one_user(b, "not-an-email");
}

/* Posts csv, expects 422 naming the line and the field, and that user `a` was not imported. */
static void bulk_expect_row_422(const char *csv, const char *a, const char *line, const char *field)
{
    struct e2e_resp r;
    json_t *j;
    bulk_send("file", csv, &r);
    e2e_check(&r, 422, "POST /users/bulk (a bad row)");
    e2e_assert_error(r.json, field);
    assert_string_equal(e2e_str(e2e_get(r.json, "details"), "line"), line);
    e2e_resp_release(&r);
    j = e2e_users_named(a);
    assert_int_equal(e2e_len(j), 0);
    json_decref(j);
}

/*
 * Invalid UTF-8 in any cell, even one the import ignores, refuses the file before PostgreSQL
 * sees it (DECISIONS H4), whatever BULK_STRICT says. Strict rows: tests/keys (BULK_STRICT=true).
 */
static void test_bulk_bad_row_422_with_line_imports_nothing(void **state)
{
    char a[64], csv[512];
    (void)state;
    e2e_unique(a, sizeof(a), "bulk");
    snprintf(csv, sizeof(csv), "username,email,note\n%s,%s@example.com,caf\xc3\n", a, a);
    bulk_expect_row_422(csv, a, "2", "row");
}

/* A raw text/csv body is accepted too (A13). */
static void test_bulk_raw_text_csv_body(void **state)
{
    char a[64], csv[256];
    json_t *j;
    (void)state;
    e2e_unique(a, sizeof(a), "bulk");
    snprintf(csv, sizeof(csv), "username,email\n%s,%s@example.com\n", a, a);
    j = e2e_call_raw(201, "POST", "/users/bulk", "text/csv", csv, strlen(csv));
    assert_int_equal(e2e_int(j, "count"), 1);
    assert_int_equal(e2e_int(j, "imported"), 1);
    json_decref(j);
    assert_one_user(a, NULL);
}

/* One transaction: a malformed CSV imports nothing and answers 400 (A13). */
static void test_bulk_malformed_csv_400_imports_nothing(void **state)
{
    char a[64], csv[256];
    struct e2e_resp r;
    json_t *j;
    (void)state;
    e2e_unique(a, sizeof(a), "bulk");
    snprintf(csv, sizeof(csv), "username,email\n%s,%s@example.com\n\"broken,x@example.com\n", a, a);
    bulk_send("file", csv, &r);
    e2e_check(&r, 400, "POST /users/bulk (malformed CSV)");
    e2e_assert_error(r.json, NULL);
    e2e_resp_release(&r);
    j = e2e_users_named(a);
    assert_int_equal(e2e_len(j), 0);
    json_decref(j);
}

int test_bulk_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bulk_username_email_only_csv),
        cmocka_unit_test(test_bulk_existing_and_repeated_rows_counted_not_duplicated),
        cmocka_unit_test(test_bulk_rows_without_username_or_email_not_counted),
        cmocka_unit_test(test_bulk_header_only_counts_zero),
        cmocka_unit_test(test_bulk_without_file_part_400),
        cmocka_unit_test(test_bulk_ids_and_created_at_kept_sequence_advanced),
        cmocka_unit_test(test_bulk_row_with_existing_id_updates_user),
        cmocka_unit_test(test_bulk_crlf_quoted_and_unvalidated_rows),
        cmocka_unit_test(test_bulk_bad_row_422_with_line_imports_nothing),
        cmocka_unit_test(test_bulk_raw_text_csv_body),
        cmocka_unit_test(test_bulk_malformed_csv_400_imports_nothing),
    };
    return cmocka_run_group_tests_name("bulk", tests, NULL, NULL);
}
