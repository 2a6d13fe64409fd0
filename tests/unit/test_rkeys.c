/*
 * test_rkeys.c - unit tests for shared/rkeys.c: the Redis key layout (formats, sizes,
 * hash tags shared by a link and its stream, stream keys parsed back to their shard).
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rkeys.h"
#include "shortcode.h"

#include "banned.h"

static void test_rkeys_link_key_format(void **state)
{
    static const struct {
        const char *code;
        unsigned nshards;
        const char *key;
    } cases[] = {
        {"WqxP6K", 8, "url:{6}:WqxP6K"},
        {"cCZohi", 8, "url:{7}:cCZohi"},
        {"cCZohi", 16, "url:{15}:cCZohi"},
        {"abc123", 1, "url:{0}:abc123"},
        {"0123456789abcdef", 8, "url:{5}:0123456789abcdef"},
        {"a", UINT_MAX, "url:{3826002220}:a"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char key[RKEYS_MAX];
        int n = rkeys_link(cases[i].code, strlen(cases[i].code), cases[i].nshards, key);
        assert_int_equal(n, strlen(cases[i].key));
        assert_string_equal(key, cases[i].key);
    }
}

static void test_rkeys_link_key_too_big(void **state)
{
    char code[RKEYS_MAX + 8];
    memset(code, 'a', sizeof(code));
    char key[RKEYS_MAX];
    /* "url:{0}:" is 8 bytes, so RKEYS_MAX - 9 code bytes plus the NUL fill the key exactly. */
    int n = rkeys_link(code, RKEYS_MAX - 9, 1, key);
    assert_int_equal(n, RKEYS_MAX - 1);
    assert_int_equal(strlen(key), RKEYS_MAX - 1);
    memset(key, 'x', sizeof(key));
    assert_int_equal(rkeys_link(code, RKEYS_MAX - 8, 1, key), ERR_TOO_BIG);
    assert_string_equal(key, "");
    assert_int_equal(rkeys_link(code, sizeof(code), UINT_MAX, key), ERR_TOO_BIG);
    assert_int_equal(rkeys_link(code, SIZE_MAX, 8, key), ERR_TOO_BIG);
}

static void test_rkeys_stream_key_format(void **state)
{
    static const struct {
        unsigned shard;
        const char *key;
    } cases[] = {
        {0, "clicks:{0}"},
        {7, "clicks:{7}"},
        {15, "clicks:{15}"},
        {UINT_MAX, "clicks:{4294967295}"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char key[RKEYS_MAX];
        int n = rkeys_stream(cases[i].shard, key);
        assert_int_equal(n, strlen(cases[i].key));
        assert_string_equal(key, cases[i].key);
    }
}

static void test_rkeys_keys_share_hash_tag(void **state)
{
    /* A link, its click stream and its change stream must land in the same cluster slot. */
    for (int i = 0; i < 200; i++) {
        char code[SHORTCODE_LEN + 1];
        char link[RKEYS_MAX];
        char stream[RKEYS_MAX];
        char changes[RKEYS_MAX];
        snprintf(code, sizeof(code), "c%05d", (i * 7919) % 100000);
        assert_true(rkeys_link(code, SHORTCODE_LEN, 8, link) > 0);
        unsigned shard = shortcode_shard(code, SHORTCODE_LEN, 8);
        assert_true(rkeys_stream(shard, stream) > 0);
        assert_true(rkeys_changes(shard, changes) > 0);
        const char *a = strchr(link, '{');
        const char *b = strchr(stream, '{');
        const char *c = strchr(changes, '{');
        assert_non_null(a);
        assert_non_null(b);
        assert_non_null(c);
        size_t alen = (size_t)(strchr(a, '}') - a);
        size_t blen = (size_t)(strchr(b, '}') - b);
        assert_int_equal(alen, blen);
        assert_memory_equal(a, b, alen);
        assert_int_equal((size_t)(strchr(c, '}') - c), alen);
        assert_memory_equal(a, c, alen);
        assert_string_equal(link + strlen(link) - SHORTCODE_LEN, code);
    }
}

static void test_rkeys_stream_shard_round_trip(void **state)
{
    char key[RKEYS_MAX];
    for (unsigned s = 0; s < 16; s++) {
        assert_true(rkeys_stream(s, key) > 0);
        assert_int_equal(rkeys_stream_shard(key, 16), (int)s);
    }
    static const char *const bad[] = {"clicks:{16}", "clicks:{}",
                                      "clicks:{-1}", "clicks:{1",
                                      "clicks:{1}x", "clicks:dead",
                                      "url:{1}:abc", "",
                                      "clicks:{ 1}", "clicks:{99999999999999999999}"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        if (rkeys_stream_shard(bad[i], 16) != -1)
            fail_msg("'%s' taken for a stream key", bad[i]);
}

static void test_rkeys_hll_and_idem(void **state)
{
    char key[RKEYS_MAX], big[RKEYS_MAX + 8];
    assert_int_equal(rkeys_hll("42", "20261129", key), (int)strlen("hll:{42}:20261129"));
    assert_string_equal(key, "hll:{42}:20261129");
    assert_true(rkeys_idem("open", "ab12", key) > 0);
    assert_string_equal(key, "idem:{open}:ab12");
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(rkeys_idem("open", big, key), ERR_TOO_BIG);
    assert_string_equal(key, "");
}

static void test_rkeys_ratelimit(void **state)
{
    char key[RKEYS_MAX];
    (void)state;
    assert_true(rkeys_ratelimit('a', "2001:db8::1", 'w', key) > 0);
    assert_string_equal(key, "rl:{a:2001:db8::1}:w");
    assert_true(rkeys_ratelimit('k', "17", 'r', key) > 0);
    assert_string_equal(key, "rl:{k:17}:r");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rkeys_link_key_format),
        cmocka_unit_test(test_rkeys_link_key_too_big),
        cmocka_unit_test(test_rkeys_stream_key_format),
        cmocka_unit_test(test_rkeys_keys_share_hash_tag),
        cmocka_unit_test(test_rkeys_stream_shard_round_trip),
        cmocka_unit_test(test_rkeys_hll_and_idem),
        cmocka_unit_test(test_rkeys_ratelimit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
