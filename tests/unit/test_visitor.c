/*
 * test_visitor.c - the salted visitor hash (event-worker/visitor.c) and the day of a
 * HyperLogLog key (event-worker/hll.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../event-worker/hll.h"
#include "../../event-worker/visitor.h"

static void test_visitor_hash_is_stable_and_salted(void **state)
{
    uint8_t s1[VISITOR_SALT_LEN], s2[VISITOR_SALT_LEN];
    char a[VISITOR_HEX_LEN], b[VISITOR_HEX_LEN], c[VISITOR_HEX_LEN];
    (void)state;
    memset(s1, 1, sizeof(s1));
    memset(s2, 2, sizeof(s2));
    assert_int_equal(visitor_hash(s1, "192.0.2.10", "Mozilla/5.0", a), 0);
    assert_int_equal(visitor_hash(s1, "192.0.2.10", "Mozilla/5.0", b), 0);
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), 32);
    assert_int_equal(strspn(a, "0123456789abcdef"), 32);
    assert_int_equal(visitor_hash(s2, "192.0.2.10", "Mozilla/5.0", c), 0);
    assert_string_not_equal(a, c); /* another day, another salt: unlinkable */
    assert_int_equal(visitor_hash(s1, "192.0.2.11", "Mozilla/5.0", c), 0);
    assert_string_not_equal(a, c);
    assert_int_equal(visitor_hash(s1, "192.0.2.10", "curl/8", c), 0);
    assert_string_not_equal(a, c);
    /* The separator keeps ("1.2.3.4", "5x") and ("1.2.3.45", "x") apart. */
    assert_int_equal(visitor_hash(s1, "1.2.3.4", "5x", b), 0);
    assert_int_equal(visitor_hash(s1, "1.2.3.45", "x", c), 0);
    assert_string_not_equal(b, c);
    assert_int_equal(visitor_hash(s1, "192.0.2.10", NULL, b), 0);
    assert_int_equal(visitor_hash(s1, "192.0.2.10", "", c), 0);
    assert_string_equal(b, c);
}

static void test_visitor_needs_an_address(void **state)
{
    uint8_t s[VISITOR_SALT_LEN] = {0};
    char out[VISITOR_HEX_LEN];
    (void)state;
    assert_int_equal(visitor_hash(s, NULL, "ua", out), ERR_INVALID);
    assert_string_equal(out, "");
    assert_int_equal(visitor_hash(s, "", "ua", out), ERR_INVALID);
}

static void test_visitor_hll_day(void **state)
{
    char d[9];
    (void)state;
    hll_day(1700000000000LL, d); /* 2023-11-14T22:13:20Z */
    assert_string_equal(d, "20231114");
    hll_day(0, d);
    assert_string_equal(d, "19700101");
    hll_day(253402300799999LL, d);
    assert_string_equal(d, "99991231");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_visitor_hash_is_stable_and_salted),
        cmocka_unit_test(test_visitor_needs_an_address),
        cmocka_unit_test(test_visitor_hll_day),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
