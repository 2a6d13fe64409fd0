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

/* follow_hostport against what the script's hp() returned for the same URLs (Redis 7.0's Lua,
 * "NIL" for nil; "?" where the C side leaves it to the script). */
static void test_follow_hostport_matches_script(void **state)
{
    (void)state;
    static const struct {
        const char *url, *hp;
    } cases[] = {
        {"https://bench.example.com/link/1", " bench.example.com:443 "},
        {"http://Example.COM:8080/x", " example.com:8080 "},
        {"https://example.com./a", " example.com:443 "},
        {"http://user:pw@host.example:80/", " host.example:80 "},
        {"http://a@b@c.example:443", " c.example:443 "},
        {"https://[::1]:8080/x", " [::1]:8080 "},
        {"http://[::1]/x", " [::1]:80 "},
        {"http://host:080/p", " host:80 "},
        {"http://host:0/p", " host:0 "},
        {"http://host:/p", " host::80 "},
        {"http://host:12a/p", " host:12a:80 "},
        {"http://:80/x", " :80 "},
        {"http:///x", " :80 "},
        {"ftp://x.example/", "NIL"},
        {"HTTPS://LOCALHOST:8080?q=1", " localhost:8080 "},
        {"http://localhost:8080#frag", " localhost:8080 "},
        {"http://h.example:00000000000080/", " h.example:80 "},
        {"http://h.example:1234567890/", "?"},
        {"https://x.example:99999/", " x.example:99999 "},
        {"http://host..:81/", " host.:81 "},
        {"mailto:someone@example.com", "NIL"},
        {"http://127.0.0.1:8080", " 127.0.0.1:8080 "},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[NCACHE_HP_MAX + 1];
        int known = follow_hostport(cases[i].url, strlen(cases[i].url), out);
        const char *got = !known ? "?" : out[0] ? out : "NIL";
        assert_string_equal(got, cases[i].hp);
    }
}

static void test_follow_loop_check(void **state)
{
    (void)state;
    const char *self = "127.0.0.1:8080 localhost:8080 [::1]:8080 sho.rt:443";
    assert_int_equal(follow_loop_check(" localhost:8080 ", self), FOLLOW_LOOP_YES);
    assert_int_equal(follow_loop_check(" 127.0.0.1:8080 ", self), FOLLOW_LOOP_YES);
    assert_int_equal(follow_loop_check(" sho.rt:443 ", self), FOLLOW_LOOP_YES);
    assert_int_equal(follow_loop_check(" host:8080 ", self), FOLLOW_LOOP_NO);
    assert_int_equal(follow_loop_check(" localhost:80 ", self), FOLLOW_LOOP_NO);
    assert_int_equal(follow_loop_check(" rt:443 ", self), FOLLOW_LOOP_NO);
    assert_int_equal(follow_loop_check(" localhost:8080 ", ""), FOLLOW_LOOP_NO);
    char big[FOLLOW_SELF_MAX + 8];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(follow_loop_check(" a:80 ", big), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_follow_changes_invalidate),
        cmocka_unit_test(test_follow_changes_reset),
        cmocka_unit_test(test_follow_changes_malformed),
        cmocka_unit_test(test_follow_fill),
        cmocka_unit_test(test_follow_hostport_matches_script),
        cmocka_unit_test(test_follow_loop_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
