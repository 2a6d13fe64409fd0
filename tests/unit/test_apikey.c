/*
 * test_apikey.c - unit tests for write-svc/apikey.c: the key's format and randomness, its
 * SHA-256, the headers that carry it, scope lists and the scope each route needs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../write-svc/apikey.h"
#include "router.h"

#include "banned.h"

static void test_apikey_generate_format(void **state)
{
    char a[APIKEY_LEN + 1], b[APIKEY_LEN + 1];
    (void)state;
    assert_int_equal(apikey_generate(a), 0);
    assert_int_equal(apikey_generate(b), 0);
    assert_int_equal(strlen(a), 46);
    assert_memory_equal(a, "sk_", 3);
    assert_true(apikey_format_ok(a, strlen(a)));
    assert_string_not_equal(a, b);
    /* 32 bytes = 256 bits: the last character carries 4 bits, so it is one of 16. */
    assert_non_null(strchr("AEIMQUYcgkosw048", a[APIKEY_LEN - 1]));
}

static void test_apikey_format_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "sk_",
        "pk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "sk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",   /* 42 */
        "sk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 44 */
        "sk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
        "sk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "sk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA ",
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        assert_false(apikey_format_ok(bad[i], strlen(bad[i])));
    assert_true(apikey_format_ok("sk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-", 46));
    assert_false(apikey_format_ok("sk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\0", 46));
}

static void test_apikey_hash_is_sha256_hex(void **state)
{
    char h[APIKEY_HASH_HEX + 1];
    (void)state;
    assert_int_equal(apikey_hash("abc", 3, h), 0);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(apikey_hash("", 0, h), 0);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_apikey_from_headers(void **state)
{
    const char *k;
    size_t n;
    (void)state;
    assert_int_equal(apikey_from_headers("Bearer sk_x", NULL, &k, &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(k, "sk_x", 4);
    assert_int_equal(apikey_from_headers("bearer   sk_y  ", NULL, &k, &n), 0);
    assert_memory_equal(k, "sk_y", n);
    assert_int_equal(apikey_from_headers("Basic abc", "sk_z", &k, &n), 0);
    assert_memory_equal(k, "sk_z", n);
    assert_int_equal(apikey_from_headers("Bearer sk_a", "sk_b", &k, &n), 0);
    assert_memory_equal(k, "sk_a", n); /* Authorization first */
    assert_int_equal(apikey_from_headers(NULL, NULL, &k, &n), ERR_NOT_FOUND);
    assert_int_equal(apikey_from_headers("Bearer", NULL, &k, &n), ERR_NOT_FOUND);
    assert_int_equal(apikey_from_headers("Bearer   ", " ", &k, &n), ERR_NOT_FOUND);
    assert_int_equal(apikey_from_headers("Bearersk_x", NULL, &k, &n), ERR_NOT_FOUND);
}

static void test_apikey_scopes(void **state)
{
    unsigned m;
    const char *why = NULL;
    char s[APIKEY_SCOPES_MAX];
    (void)state;
    assert_int_equal(apikey_scopes_parse_list("write,read", &m, &why), 0);
    assert_int_equal(m, APIKEY_READ | APIKEY_WRITE);
    apikey_scopes_str(m, s);
    assert_string_equal(s, "read,write");
    assert_int_equal(apikey_scopes_parse_list("admin,admin", &m, &why), 0);
    apikey_scopes_str(APIKEY_READ | APIKEY_WRITE | APIKEY_ADMIN, s);
    assert_string_equal(s, "read,write,admin");
    static const char *const bad[] = {"", ",", "Read", "read,", "read,,write", "root", " read"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        why = NULL;
        assert_int_equal(apikey_scopes_parse_list(bad[i], &m, &why), ERR_INVALID);
        assert_non_null(why);
    }
    assert_true(apikey_scope_allows(APIKEY_ADMIN, APIKEY_WRITE));
    assert_true(apikey_scope_allows(APIKEY_READ | APIKEY_WRITE, APIKEY_READ));
    assert_false(apikey_scope_allows(APIKEY_WRITE, APIKEY_READ)); /* write does not imply read */
    assert_false(apikey_scope_allows(APIKEY_READ, APIKEY_WRITE));
    assert_false(apikey_scope_allows(APIKEY_READ | APIKEY_WRITE, APIKEY_ADMIN));
}

static void test_apikey_required_scope(void **state)
{
    (void)state;
    assert_int_equal(apikey_required_scope(HTTP_GET, "/health"), 0);
    assert_int_equal(apikey_required_scope(HTTP_GET, "/metrics"), 0);
    assert_int_equal(apikey_required_scope(HTTP_GET, "/openapi.json"), 0);
    assert_int_equal(apikey_required_scope(HTTP_GET, "/livez"), 0);
    assert_int_equal(apikey_required_scope(HTTP_GET, "/ui/:code"), 0);
    assert_int_equal(apikey_required_scope(HTTP_GET, "/users"), APIKEY_READ);
    assert_int_equal(apikey_required_scope(HTTP_HEAD, "/urls/:id"), APIKEY_READ);
    assert_int_equal(apikey_required_scope(HTTP_POST, "/urls"), APIKEY_WRITE);
    assert_int_equal(apikey_required_scope(HTTP_DELETE, "/events/:id"), APIKEY_WRITE);
    assert_int_equal(apikey_required_scope(HTTP_POST, "/users/bulk"), APIKEY_ADMIN);
    assert_int_equal(apikey_required_scope(HTTP_GET, "/api-keys"), APIKEY_ADMIN);
    assert_int_equal(apikey_required_scope(HTTP_DELETE, "/api-keys/:id"), APIKEY_ADMIN);
}

static void test_apikey_name_check(void **state)
{
    const char *why = NULL;
    char long_name[102];
    (void)state;
    assert_int_equal(apikey_name_check("ci deploy", 9, &why), 0);
    assert_int_equal(apikey_name_check("caf\xc3\xa9", 5, &why), 0);
    assert_int_equal(apikey_name_check("", 0, &why), ERR_INVALID);
    assert_int_equal(apikey_name_check("a\nb", 3, &why), ERR_INVALID);
    assert_int_equal(apikey_name_check("\xff", 1, &why), ERR_INVALID);
    memset(long_name, 'x', sizeof(long_name));
    assert_int_equal(apikey_name_check(long_name, 100, &why), 0);
    assert_int_equal(apikey_name_check(long_name, 101, &why), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apikey_generate_format),
        cmocka_unit_test(test_apikey_format_rejects),
        cmocka_unit_test(test_apikey_hash_is_sha256_hex),
        cmocka_unit_test(test_apikey_from_headers),
        cmocka_unit_test(test_apikey_scopes),
        cmocka_unit_test(test_apikey_required_scope),
        cmocka_unit_test(test_apikey_name_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
