/*
 * test_ncache.c - unit tests for redirect-svc/ncache.c: the near cache's table (put, get,
 * replace, delete, clear, the byte budget and CLOCK eviction, limits).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../redirect-svc/ncache.h"

#include "banned.h"

static struct ncache_link link_of(const char *url, const char *id, const char *uid, int rt,
                                  int64_t exp)
{
    return (struct ncache_link){
        .url = url, .url_len = strlen(url), .id = id, .uid = uid, .rt = rt, .exp_ms = exp};
}

static void test_ncache_put_get_replace_del(void **state)
{
    (void)state;
    struct ncache *c = ncache_new(1024 * 1024);
    assert_non_null(c);
    struct ncache_link got;
    assert_int_equal(ncache_get(c, "abc", 3, &got), 0);
    struct ncache_link a = link_of("https://a.example/x", "17", "", 302, -1);
    assert_int_equal(ncache_put(c, "abc", 3, &a), 0);
    assert_int_equal(ncache_get(c, "abc", 3, &got), 1);
    assert_int_equal(got.url_len, strlen(a.url));
    assert_string_equal(got.url, a.url);
    assert_string_equal(got.id, "17");
    assert_string_equal(got.uid, "");
    assert_int_equal(got.rt, 302);
    assert_true(got.exp_ms == -1);
    /* A prefix or a longer code is another code. */
    assert_int_equal(ncache_get(c, "ab", 2, &got), 0);
    assert_int_equal(ncache_get(c, "abcd", 4, &got), 0);
    /* Replacing keeps one entry and returns the new values. */
    struct ncache_link b = link_of("https://b.example/", "18", "5", 301, 1700000000000);
    assert_int_equal(ncache_put(c, "abc", 3, &b), 0);
    assert_int_equal(ncache_count(c), 1);
    assert_int_equal(ncache_get(c, "abc", 3, &got), 1);
    assert_string_equal(got.url, "https://b.example/");
    assert_string_equal(got.id, "18");
    assert_string_equal(got.uid, "5");
    assert_int_equal(got.rt, 301);
    assert_true(got.exp_ms == 1700000000000);
    assert_null(got.hp); /* unknown */
    b.hp = " b.example:443 ";
    assert_int_equal(ncache_put(c, "abc", 3, &b), 0);
    assert_int_equal(ncache_get(c, "abc", 3, &got), 1);
    assert_string_equal(got.hp, " b.example:443 ");
    assert_string_equal(got.url, "https://b.example/");
    b.hp = "";
    assert_int_equal(ncache_put(c, "abc", 3, &b), 0);
    assert_int_equal(ncache_get(c, "abc", 3, &got), 1);
    assert_string_equal(got.hp, "");
    assert_int_equal(ncache_del(c, "abc", 3), 1);
    assert_int_equal(ncache_del(c, "abc", 3), 0);
    assert_int_equal(ncache_get(c, "abc", 3, &got), 0);
    assert_int_equal(ncache_count(c), 0);
    ncache_free(c);
}

static void test_ncache_many_and_clear(void **state)
{
    (void)state;
    struct ncache *c = ncache_new(64 * 1024 * 1024);
    size_t empty = ncache_bytes(c);
    char code[16], url[64], id[24];
    for (int i = 0; i < 20000; i++) {
        snprintf(code, sizeof(code), "c%06d", i);
        snprintf(url, sizeof(url), "https://e.example/%d", i);
        snprintf(id, sizeof(id), "%d", i + 1);
        struct ncache_link l = link_of(url, id, "", 302, -1);
        assert_int_equal(ncache_put(c, code, strlen(code), &l), 0);
    }
    assert_int_equal(ncache_count(c), 20000);
    assert_int_equal(ncache_evictions(c), 0);
    for (int i = 0; i < 20000; i += 997) {
        struct ncache_link got;
        snprintf(code, sizeof(code), "c%06d", i);
        snprintf(url, sizeof(url), "https://e.example/%d", i);
        assert_int_equal(ncache_get(c, code, strlen(code), &got), 1);
        assert_string_equal(got.url, url);
    }
    ncache_clear(c);
    assert_int_equal(ncache_count(c), 0);
    assert_true(ncache_bytes(c) >= empty); /* the grown bucket array stays */
    struct ncache_link got;
    assert_int_equal(ncache_get(c, "c000000", 7, &got), 0);
    ncache_free(c);
}

/* The budget holds whatever is put, and entries hit since the hand passed survive. */
static void test_ncache_budget_and_clock(void **state)
{
    (void)state;
    size_t budget = 256 * 1024;
    struct ncache *c = ncache_new(budget);
    char code[16], url[200];
    memset(url, 'u', sizeof(url) - 1);
    url[sizeof(url) - 1] = '\0';
    memcpy(url, "https://", 8);
    struct ncache_link hot = link_of(url, "1", "", 302, -1);
    assert_int_equal(ncache_put(c, "hot", 3, &hot), 0);
    for (int i = 0; i < 10000; i++) {
        struct ncache_link got;
        assert_int_equal(ncache_get(c, "hot", 3, &got), 1); /* hit between every fill */
        snprintf(code, sizeof(code), "k%05d", i);
        struct ncache_link l = link_of(url, "2", "3", 307, -1);
        assert_int_equal(ncache_put(c, code, strlen(code), &l), 0);
        assert_true(ncache_bytes(c) <= budget);
    }
    assert_true(ncache_evictions(c) > 0);
    assert_true(ncache_count(c) > 100);
    struct ncache_link got;
    assert_int_equal(ncache_get(c, "hot", 3, &got), 1);
    assert_int_equal(ncache_get(c, "k09999", 6, &got), 1); /* the last one is there */
    ncache_free(c);
}

static void test_ncache_limits(void **state)
{
    (void)state;
    struct ncache *c = ncache_new(1); /* raised to NCACHE_MIN_BYTES */
    assert_non_null(c);
    assert_true(ncache_bytes(c) <= NCACHE_MIN_BYTES);
    struct ncache_link l = link_of("https://x.example/", "1", "", 302, -1);
    assert_int_equal(ncache_put(c, "", 0, &l), ERR_TOO_BIG);
    char code[300];
    memset(code, 'a', sizeof(code));
    assert_int_equal(ncache_put(c, code, 256, &l), ERR_TOO_BIG);
    assert_int_equal(ncache_put(c, code, 255, &l), 0);
    struct ncache_link got;
    assert_int_equal(ncache_get(c, code, 256, &got), 0);
    assert_int_equal(ncache_del(c, code, 256), 0);
    struct ncache_link badid =
        link_of("https://x.example/", "123456789012345678901234", "", 302, -1);
    assert_int_equal(ncache_put(c, "ok", 2, &badid), ERR_TOO_BIG);
    /* An entry over a quarter of the budget is not cached. */
    char *big = malloc(NCACHE_MIN_BYTES / 4);
    assert_non_null(big);
    memset(big, 'b', NCACHE_MIN_BYTES / 4 - 1);
    big[NCACHE_MIN_BYTES / 4 - 1] = '\0';
    struct ncache_link bl = link_of(big, "1", "", 302, -1);
    assert_int_equal(ncache_put(c, "big", 3, &bl), ERR_TOO_BIG);
    free(big);
    ncache_free(c);
    ncache_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ncache_put_get_replace_del),
        cmocka_unit_test(test_ncache_many_and_clear),
        cmocka_unit_test(test_ncache_budget_and_clock),
        cmocka_unit_test(test_ncache_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
