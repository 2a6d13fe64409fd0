/*
 * test_multipart.c - unit tests for shared/multipart.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "multipart.h"

#include "banned.h"

#define CSV_DATA                                                                                   \
    "id,username,email,created_at\n"                                                               \
    "1,briskkernel84,briskkernel84@example.com,2024-11-14 04:11:00\n"

/* Captured from `curl -F file=@users.csv` (curl 7.88.1), byte for byte. */
static const char curl_ct[] =
    "multipart/form-data; boundary=------------------------31cf636ee954a924";
static const char curl_body[] =
    "--------------------------31cf636ee954a924\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"users.csv\"\r\n"
    "Content-Type: application/octet-stream\r\n"
    "\r\n" CSV_DATA "\r\n"
    "--------------------------31cf636ee954a924--\r\n";

static int find(const char *ct, const char *body, const char *name, const char **data, size_t *dlen)
{
    return multipart_find(ct, body, strlen(body), name, data, dlen);
}

static void test_multipart_curl_upload(void **state)
{
    const char *data = NULL;
    size_t dlen = 0;
    assert_int_equal(find(curl_ct, curl_body, "file", &data, &dlen), 0);
    assert_int_equal(dlen, strlen(CSV_DATA));
    assert_memory_equal(data, CSV_DATA, dlen);
    /* The content is borrowed from the body. */
    assert_true(data > curl_body && data < curl_body + sizeof(curl_body));
}

static void test_multipart_quoted_boundary(void **state)
{
    static const char ct[] = "Multipart/Form-Data; charset=utf-8; boundary=\"a b:c\"";
    static const char body[] = "preamble text\r\n"
                               "--a b:c\r\n"
                               "Content-Disposition: form-data; name=\"note\"\r\n"
                               "\r\n"
                               "hello\r\n"
                               "--a b:c\r\n"
                               "content-disposition: form-data; filename=\"x.csv\"; name=file\r\n"
                               "\r\n"
                               "a,b\r\n1,2\r\n"
                               "--a b:c--\r\n"
                               "epilogue\r\n";
    const char *data = NULL;
    size_t dlen = 0;
    assert_int_equal(find(ct, body, "file", &data, &dlen), 0);
    /* The CRLF before the delimiter belongs to the delimiter, not to the content. */
    assert_int_equal(dlen, 8);
    assert_memory_equal(data, "a,b\r\n1,2", 8);
    assert_int_equal(find(ct, body, "note", &data, &dlen), 0);
    assert_int_equal(dlen, 5);
    assert_memory_equal(data, "hello", 5);
}

static void test_multipart_unquoted_boundary_lf_only(void **state)
{
    static const char ct[] = "multipart/form-data;boundary=XyZ";
    static const char body[] = "--XyZ\n"
                               "Content-Disposition: form-data; name=\"file\"\n"
                               "\n"
                               "line\n"
                               "--XyZ--\n";
    const char *data = NULL;
    size_t dlen = 0;
    assert_int_equal(find(ct, body, "file", &data, &dlen), 0);
    assert_int_equal(dlen, 4);
    assert_memory_equal(data, "line", 4);
}

static void test_multipart_filename_does_not_count_as_name(void **state)
{
    static const char ct[] = "multipart/form-data; boundary=B";
    static const char body[] =
        "--B\r\n"
        "Content-Disposition: form-data; name=\"other\"; filename=\"file\"\r\n"
        "\r\n"
        "x\r\n"
        "--B--\r\n";
    const char *data = NULL;
    size_t dlen = 0;
    assert_int_equal(find(ct, body, "file", &data, &dlen), ERR_NOT_FOUND);
    assert_int_equal(find(ct, body, "othe", &data, &dlen), ERR_NOT_FOUND);
    assert_int_equal(find(ct, body, "other", &data, &dlen), 0);
}

static void test_multipart_missing_part(void **state)
{
    const char *data = NULL;
    size_t dlen = 0;
    assert_int_equal(find(curl_ct, curl_body, "upload", &data, &dlen), ERR_NOT_FOUND);
    assert_null(data);
}

static void test_multipart_empty_part(void **state)
{
    static const char ct[] = "multipart/form-data; boundary=B";
    static const char body[] = "--B\r\n"
                               "Content-Disposition: form-data; name=\"file\"\r\n"
                               "\r\n"
                               "\r\n"
                               "--B--\r\n";
    const char *data = NULL;
    size_t dlen = 99;
    assert_int_equal(find(ct, body, "file", &data, &dlen), 0);
    assert_int_equal(dlen, 0);
}

static void test_multipart_rejects_bad_content_type(void **state)
{
    const char *data = NULL;
    size_t dlen = 0;
    const char *bad[] = {
        NULL,
        "application/json",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"\"",
        "multipart/form-data; boundary=\"unterminated",
        "multipart/form-datax; boundary=abc",
        "multipart/mixed; boundary=abc",
        "multipart/form-data; boundary=bad\\char",
        "multipart/form-data; boundary="
        "12345678901234567890123456789012345678901234567890123456789012345678901",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = find(bad[i], curl_body, "file", &data, &dlen);
        if (rc != ERR_INVALID)
            fail_msg("content type '%s': want ERR_INVALID, got %d", bad[i] ? bad[i] : "(null)", rc);
    }
}

static void test_multipart_rejects_malformed_body(void **state)
{
    static const char ct[] = "multipart/form-data; boundary=B";
    const char *bad[] = {
        "",
        "no delimiter at all\r\n",
        /* The part is never closed. */
        "--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\ndata\r\n",
        /* Headers never end. */
        "--B\r\nContent-Disposition: form-data; name=\"file\"\r\n",
        /* No Content-Disposition name. */
        "--B\r\nContent-Type: text/plain\r\n\r\ndata\r\n--B--\r\n",
        /* Garbage after the delimiter. */
        "--Bjunk\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--B--\r\n",
        /* An unterminated quoted name. */
        "--B\r\nContent-Disposition: form-data; name=\"file\r\n\r\nx\r\n--B--\r\n",
    };
    const char *data = NULL;
    size_t dlen = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = find(ct, bad[i], "file", &data, &dlen);
        if (rc != ERR_INVALID)
            fail_msg("body %zu: want ERR_INVALID, got %d", i, rc);
    }
}

static void test_multipart_truncated_curl_body(void **state)
{
    const char *data = NULL;
    size_t dlen = 0;
    /* Cut before the closing delimiter: every prefix must be refused, none may overrun. */
    size_t full = strlen(curl_body);
    size_t close_at =
        (size_t)(strstr(curl_body, "\r\n--------------------------31cf636ee954a924--") - curl_body);
    for (size_t n = 0; n <= close_at + 4; n++) {
        int rc = multipart_find(curl_ct, curl_body, n, "file", &data, &dlen);
        if (rc != ERR_INVALID)
            fail_msg("prefix of %zu/%zu bytes: want ERR_INVALID, got %d", n, full, rc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multipart_curl_upload),
        cmocka_unit_test(test_multipart_quoted_boundary),
        cmocka_unit_test(test_multipart_unquoted_boundary_lf_only),
        cmocka_unit_test(test_multipart_filename_does_not_count_as_name),
        cmocka_unit_test(test_multipart_missing_part),
        cmocka_unit_test(test_multipart_empty_part),
        cmocka_unit_test(test_multipart_rejects_bad_content_type),
        cmocka_unit_test(test_multipart_rejects_malformed_body),
        cmocka_unit_test(test_multipart_truncated_curl_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
