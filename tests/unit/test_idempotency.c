/*
 * test_idempotency.c - the pure parts of write-svc/idempotency.c: the header's rule, the
 * Redis key, the request fingerprint, which statuses are stored, and the record encoding.
 * Expected digests were computed with Python's hashlib (see each test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../write-svc/idempotency.h"
#include "buf.h"

#include "banned.h"

#define FP_A  "698147884ea90de30e19fb06db49c5c360aeb5ef18b87925db3e8205d55baa79"
#define TOKEN "0123456789abcdef0123456789abcdef"

static int key_ok(const char *key)
{
    const char *why = NULL;
    int rc = idempotency_key_check(key, &why);
    if (rc)
        assert_non_null(why);
    return rc == 0;
}

static void test_idempotency_key_rules(void **state)
{
    char k[300];
    (void)state;
    assert_true(key_ok("a"));
    assert_true(key_ok("!~{}\"'\\:/*?%00"));
    assert_false(key_ok(""));
    assert_false(key_ok("a b"));
    assert_false(key_ok("a\tb"));
    assert_false(key_ok("a\x01"));
    assert_false(key_ok("\x7f"));
    assert_false(key_ok("caf\xc3\xa9"));
    memset(k, 'k', sizeof(k));
    k[255] = '\0';
    assert_true(key_ok(k));
    k[255] = 'k';
    k[256] = '\0';
    assert_false(key_ok(k));
}

static void test_idempotency_redis_key_is_scoped_sha256(void **state)
{
    char out[IDEMPOTENCY_REDIS_KEY_MAX];
    (void)state;
    /* hashlib.sha256(b"abc") */
    assert_int_equal(idempotency_redis_key("open", "abc", 3, out), 0);
    assert_string_equal(
        out, "idem:{open}:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* Redis syntax in the key never reaches the Redis key. */
    assert_int_equal(idempotency_redis_key("api-7", "{x}:*\r\n", 7, out), 0);
    assert_int_equal(strlen(out), strlen("idem:{api-7}:") + IDEMPOTENCY_HEX_LEN);
    assert_int_equal(idempotency_redis_key("", "abc", 3, out), ERR_INVALID);
    assert_int_equal(idempotency_redis_key("a}b", "abc", 3, out), ERR_INVALID);
    assert_int_equal(idempotency_redis_key("a b", "abc", 3, out), ERR_INVALID);
}

static void test_idempotency_fingerprint(void **state)
{
    char a[IDEMPOTENCY_HEX_LEN + 1], b[IDEMPOTENCY_HEX_LEN + 1];
    const char *body = "{\"username\":\"a\"}";
    (void)state;
    /* sha256 of each part preceded by its length as 8 bytes big-endian (struct.pack(">Q")) */
    assert_int_equal(
        idempotency_fingerprint("POST", "/users", "application/json", body, strlen(body), a), 0);
    assert_string_equal(a, FP_A);
    assert_int_equal(idempotency_fingerprint("POST", "/users", NULL, "", 0, a), 0);
    assert_string_equal(a, "11c21ca0620a9cc4020ef1b934f028d1b97af5fe7cfe248a4fbec9285b1d6215");
    /* Moving bytes between parts changes the fingerprint (lengths are part of it). */
    assert_int_equal(idempotency_fingerprint("POST", "/users", "ab", "c", 1, a), 0);
    assert_int_equal(idempotency_fingerprint("POST", "/users", "a", "bc", 2, b), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(idempotency_fingerprint("POST", "/urls", "a", "bc", 2, a), 0);
    assert_string_not_equal(a, b);
    /* The body is bytes, NULs included. */
    assert_int_equal(idempotency_fingerprint("POST", "/users", "a", "b\0c", 3, a), 0);
    assert_int_equal(idempotency_fingerprint("POST", "/users", "a", "b\0d", 3, b), 0);
    assert_string_not_equal(a, b);
}

static void test_idempotency_statuses_stored(void **state)
{
    static const int yes[] = {200, 201, 204, 400, 413, 422};
    static const int no[] = {302, 401, 403, 404, 405, 409, 429, 500, 503};
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
        assert_true(idempotency_status_stored(yes[i]));
    for (size_t i = 0; i < ARRAY_SIZE(no); i++)
        assert_false(idempotency_status_stored(no[i]));
}

static void test_idempotency_inflight_round_trip(void **state)
{
    struct buf b;
    struct idempotency_record rec;
    (void)state;
    buf_init(&b, 1024);
    assert_int_equal(idempotency_encode_inflight(&b, FP_A, TOKEN), 0);
    assert_string_equal(buf_cstr(&b), "idem1 I " FP_A " " TOKEN);
    assert_int_equal(idempotency_decode(buf_cstr(&b), b.len, &rec), 0);
    assert_int_equal(rec.done, 0);
    assert_string_equal(rec.fp, FP_A);
    assert_string_equal(rec.token, TOKEN);
    /* One byte short or one too many is not a record. */
    assert_int_equal(idempotency_decode(buf_cstr(&b), b.len - 1, &rec), ERR_INVALID);
    assert_int_equal(idempotency_decode("idem1 I " FP_A " " TOKEN "0", b.len + 1, &rec),
                     ERR_INVALID);
    buf_release(&b);
}

static void test_idempotency_done_round_trip(void **state)
{
    struct buf b;
    struct idempotency_record rec;
    const char body[] = "{\"id\":1}\n\0tail";
    (void)state;
    buf_init(&b, 1024);
    assert_int_equal(
        idempotency_encode_done(&b, FP_A, 201, "application/json", body, sizeof(body) - 1), 0);
    assert_int_equal(idempotency_decode(buf_cstr(&b), b.len, &rec), 0);
    assert_int_equal(rec.done, 1);
    assert_string_equal(rec.fp, FP_A);
    assert_string_equal(rec.token, "");
    assert_int_equal(rec.status, 201);
    assert_int_equal(rec.ctype_len, strlen("application/json"));
    assert_memory_equal(rec.ctype, "application/json", rec.ctype_len);
    assert_int_equal(rec.body_len, sizeof(body) - 1);
    assert_memory_equal(rec.body, body, rec.body_len);

    /* No content type and no body (a 204). */
    buf_reset(&b);
    assert_int_equal(idempotency_encode_done(&b, FP_A, 204, NULL, NULL, 0), 0);
    assert_string_equal(buf_cstr(&b), "idem1 D " FP_A " 204 0 0\n");
    assert_int_equal(idempotency_decode(buf_cstr(&b), b.len, &rec), 0);
    assert_int_equal(rec.status, 204);
    assert_int_equal(rec.ctype_len + rec.body_len, 0);
    buf_release(&b);
}

static void test_idempotency_encode_bounds(void **state)
{
    struct buf b;
    char *big = malloc(2048);
    (void)state;
    assert_non_null(big);
    memset(big, 'x', 2048);
    buf_init(&b, 1024);
    assert_int_equal(idempotency_encode_done(&b, FP_A, 99, NULL, NULL, 0), ERR_INVALID);
    assert_int_equal(idempotency_encode_done(&b, FP_A, 600, NULL, NULL, 0), ERR_INVALID);
    big[300] = '\0';
    assert_int_equal(idempotency_encode_done(&b, FP_A, 200, big, NULL, 0), ERR_INVALID);
    buf_reset(&b);
    assert_int_equal(idempotency_encode_done(&b, FP_A, 200, NULL, big, 2048), ERR_TOO_BIG);
    buf_release(&b);
    free(big);
}

static void test_idempotency_decode_refuses_garbage(void **state)
{
    static const char *const bad[] = {
        "",
        "idem1",
        "idem1 ",
        "idem1 X " FP_A " " TOKEN,
        "idem2 I " FP_A " " TOKEN,
        "idem1 I " FP_A,
        "idem1 I " FP_A " ",
        "idem1 I " FP_A " 0123456789ABCDEF0123456789abcdef",
        "idem1 I 698147884ea90de30e19fb06db49c5c360aeb5ef18b87925db3e8205d55baa7 " TOKEN,
        "idem1 D " FP_A " 201 0 0",
        "idem1 D " FP_A " 201 0 1\n",
        "idem1 D " FP_A " 201 0 0\nx",
        "idem1 D " FP_A " 099 0 0\n",
        "idem1 D " FP_A " 600 0 0\n",
        "idem1 D " FP_A " 201 00 0\n",
        "idem1 D " FP_A " 201 -1 0\n",
        "idem1 D " FP_A " 201 256 0\n",
        "idem1 D " FP_A " 201 0 1000000000\n",
        "idem1 D " FP_A "  201 0 0\n",
        "idem1 D " FP_A " 201 0 0 \n",
    };
    struct idempotency_record rec;
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        if (idempotency_decode(bad[i], strlen(bad[i]), &rec) != ERR_INVALID) {
            print_error("decoded: '%s'\n", bad[i]);
            fail();
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idempotency_key_rules),
        cmocka_unit_test(test_idempotency_redis_key_is_scoped_sha256),
        cmocka_unit_test(test_idempotency_fingerprint),
        cmocka_unit_test(test_idempotency_statuses_stored),
        cmocka_unit_test(test_idempotency_inflight_round_trip),
        cmocka_unit_test(test_idempotency_done_round_trip),
        cmocka_unit_test(test_idempotency_encode_bounds),
        cmocka_unit_test(test_idempotency_decode_refuses_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
