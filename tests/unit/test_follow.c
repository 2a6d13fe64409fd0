/*
 * test_follow.c - unit tests for redirect-svc/follow.c's reading of the script's replies with
 * the near cache: the changes at the end of a reply (reset, invalidations, the new position,
 * malformed tails), the links a reply lets the loop cache, and the "as cached" answer.
 * Replies are built by hiredis's own reader from RESP text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "../../redirect-svc/follow.h"
#include "../../redirect-svc/ncache.h"

#include "banned.h"

/* The reply that RESP text resp parses to (the caller frees it). */
static redisReply *reply_of(const char *resp)
{
    redisReader *rd = redisReaderCreate();
    void *r = NULL;
    assert_non_null(rd);
    assert_int_equal(redisReaderFeed(rd, resp, strlen(resp)), REDIS_OK);
    assert_int_equal(redisReaderGetReply(rd, &r), REDIS_OK);
    assert_non_null(r);
    redisReaderFree(rd);
    return r;
}

static void put(struct ncache *c, const char *code)
{
    struct ncache_link l = {
        .url = "https://x.example/", .url_len = 18, .id = "1", .uid = "", .rt = 302, .exp_ms = -1};
    assert_int_equal(ncache_put(c, code, strlen(code), &l), 0);
}

static int has(struct ncache *c, const char *code)
{
    struct ncache_link l;
    return ncache_get(c, code, strlen(code), &l);
}

static void test_follow_changes_invalidate(void **state)
{
    (void)state;
    struct ncache *c = ncache_new(1 << 20);
    char pos[FOLLOW_POS_MAX] = "0-0";
    size_t gone = 0;
    put(c, "aaa");
    put(c, "bbb");
    put(c, "ccc");
    /* Two requests (1: as cached, 0: missing), then {0, position, changed codes}. */
    redisReply *r = reply_of("*3\r\n:1\r\n:0\r\n*4\r\n:0\r\n$5\r\n17-42\r\n$3\r\naaa\r\n"
                             "$3\r\nzzz\r\n");
    assert_int_equal(follow_batch_changes(r, 2, c, pos, &gone), 0);
    assert_string_equal(pos, "17-42");
    assert_int_equal(gone, 1); /* zzz was not cached */
    assert_int_equal(has(c, "aaa"), 0);
    assert_int_equal(has(c, "bbb"), 1);
    assert_int_equal(has(c, "ccc"), 1);
    char url[64];
    int status = 0;
    assert_int_equal(follow_batch_result(r, 0, url, sizeof(url), &status), FOLLOW_CACHED);
    assert_int_equal(status, 0); /* untouched: the cached answer stands */
    assert_int_equal(follow_batch_result(r, 1, url, sizeof(url), &status), FOLLOW_MISS);
    freeReplyObject(r);
    ncache_free(c);
}

static void test_follow_changes_reset(void **state)
{
    (void)state;
    struct ncache *c = ncache_new(1 << 20);
    char pos[FOLLOW_POS_MAX] = "5-0";
    size_t gone = 0;
    put(c, "aaa");
    put(c, "bbb");
    redisReply *r = reply_of("*2\r\n:410\r\n*2\r\n:1\r\n$4\r\n99-1\r\n");
    assert_int_equal(follow_batch_changes(r, 1, c, pos, &gone), 1);
    assert_string_equal(pos, "99-1");
    assert_int_equal(gone, 2);
    assert_int_equal(ncache_count(c), 0);
    freeReplyObject(r);
    ncache_free(c);
}

/* A tail that is missing or malformed: ERR_KV, the cache and the position untouched. */
static void test_follow_changes_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "*1\r\n:1\r\n",                                /* no tail */
        "*2\r\n:1\r\n:0\r\n",                          /* tail not an array */
        "*2\r\n:1\r\n*1\r\n:0\r\n",                    /* no position */
        "*2\r\n:1\r\n*2\r\n$1\r\n0\r\n$3\r\n1-1\r\n",  /* flag not an integer */
        "*2\r\n:1\r\n*3\r\n:0\r\n$3\r\n1-1\r\n:5\r\n", /* a code not a string */
        "*2\r\n:1\r\n*2\r\n:0\r\n$-1\r\n",             /* position nil */
        ("*2\r\n:1\r\n*2\r\n:0\r\n$50\r\n"
         "12345678901234567890123456789012345678901234567890\r\n"), /* position too long */
        "-ERR no\r\n",                                              /* an error */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ncache *c = ncache_new(1 << 20);
        char pos[FOLLOW_POS_MAX] = "7-7";
        size_t gone = 9;
        put(c, "aaa");
        redisReply *r = reply_of(bad[i]);
        assert_int_equal(follow_batch_changes(r, 1, c, pos, &gone), ERR_KV);
        assert_string_equal(pos, "7-7");
        assert_int_equal(gone, 0);
        assert_int_equal(has(c, "aaa"), 1);
        freeReplyObject(r);
        ncache_free(c);
    }
}

static void test_follow_fill(void **state)
{
    (void)state;
    struct ncache_link l;
    /* {url, rt, id, uid, exp}: cacheable; {url, rt}: a capped link, not cacheable. */
    redisReply *r =
        reply_of("*5\r\n"
                 "*5\r\n$9\r\nhttps://a\r\n$3\r\n301\r\n$2\r\n12\r\n$1\r\n7\r\n"
                 "$13\r\n1700000000000\r\n"
                 "*5\r\n$9\r\nhttps://b\r\n$3\r\n302\r\n$2\r\n13\r\n$0\r\n\r\n$0\r\n\r\n"
                 "*2\r\n$9\r\nhttps://c\r\n$3\r\n302\r\n"
                 "*5\r\n$9\r\nhttps://d\r\n$3\r\n302\r\n$2\r\n14\r\n$0\r\n\r\n"
                 "$3\r\n12x\r\n"
                 ":0\r\n");
    assert_int_equal(follow_batch_fill(r, 0, &l), 1);
    assert_int_equal(l.url_len, 9);
    assert_memory_equal(l.url, "https://a", 9);
    assert_int_equal(l.rt, 301);
    assert_string_equal(l.id, "12");
    assert_string_equal(l.uid, "7");
    assert_true(l.exp_ms == 1700000000000);
    assert_int_equal(follow_batch_fill(r, 1, &l), 1);
    assert_string_equal(l.uid, "");
    assert_true(l.exp_ms == -1);
    assert_int_equal(follow_batch_fill(r, 2, &l), 0); /* capped */
    assert_int_equal(follow_batch_fill(r, 3, &l), 0); /* a bad expiry */
    assert_int_equal(follow_batch_fill(r, 4, &l), 0); /* missing */
    assert_int_equal(follow_batch_fill(r, 5, &l), 0); /* past the end */
    char url[64];
    int status = 0;
    assert_int_equal(follow_batch_result(r, 0, url, sizeof(url), &status), FOLLOW_FOUND);
    assert_string_equal(url, "https://a");
    assert_int_equal(status, 301);
    assert_int_equal(follow_batch_result(r, 2, url, sizeof(url), &status), FOLLOW_FOUND);
    assert_int_equal(follow_batch_result(r, 2, url, 9, &status), ERR_TOO_BIG);
    freeReplyObject(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_follow_changes_invalidate),
        cmocka_unit_test(test_follow_changes_reset),
        cmocka_unit_test(test_follow_changes_malformed),
        cmocka_unit_test(test_follow_fill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
