/*
 * test_kvslot.c - unit tests for shared/kvslot.c: key slots against the answers of a real
 * Redis 7.0.15 (CLUSTER KEYSLOT, recorded below), the routing of commands, MOVED/ASK/
 * TRYAGAIN/CLUSTERDOWN parsing and the CLUSTER SLOTS reply.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "kvslot.h"
#include "rkeys.h"

#include "banned.h"

/* redis-cli CLUSTER KEYSLOT <key> on redis-server 7.0.15 (cluster-enabled). */
static const struct {
    const char *key;
    unsigned slot;
} slot_cases[] = {
    {"", 0},
    {"foo", 12182},
    {"bar", 5061},
    {"hello world", 15332},
    {"123456789", 12739},
    {"{user1000}.following", 3443},
    {"{user1000}.followers", 3443},
    {"foo{}{bar}", 8363},
    {"foo{{bar}}zap", 4015},
    {"foo{bar}{zap}", 5061},
    {"{}", 15257},
    {"{", 4092},
    {"}", 12090},
    {"a{b", 13340},
    {"url:{0}:abc123", 13907},
    {"url:{7}:WqxP6K", 1716},
    {"clicks:{0}", 13907},
    {"clicks:{1}", 9842},
    {"clicks:{7}", 1716},
    {"clicks:{15}", 4178},
    {"readmodel:complete", 14450},
    {"hll:{42}:20260101", 8000},
    {"idem:{k:1}:abcdef", 10166},
    {"rl:{a:127.0.0.1}:w", 13121},
    {"{a}b{c}", 15495},
    {"x{}y{z}", 15453},
    {"caf\xc3\xa9", 5735},
};

static void test_kvslot_matches_redis(void **state)
{
    for (size_t i = 0; i < ARRAY_SIZE(slot_cases); i++) {
        unsigned got = kvslot_of(slot_cases[i].key, strlen(slot_cases[i].key));
        if (got != slot_cases[i].slot)
            fail_msg("slot of '%s': %u, Redis says %u", slot_cases[i].key, got, slot_cases[i].slot);
    }
}

static void test_kvslot_link_and_stream_share_a_slot(void **state)
{
    char link[RKEYS_MAX], stream[RKEYS_MAX];
    for (unsigned s = 0; s < 16; s++) {
        char code[16];
        snprintf(code, sizeof(code), "c%u", s);
        assert_true(rkeys_stream(s, stream) > 0);
        int n = snprintf(link, sizeof(link), "url:{%u}:%s", s, code);
        assert_int_equal(kvslot_of(link, (size_t)n), kvslot_of(stream, strlen(stream)));
    }
}

/* The route of a command given as words. */
static enum kvslot_route route_of(int *key, int argc, ...)
{
    const char *argv[16];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++)
        argv[i] = va_arg(ap, const char *);
    va_end(ap);
    return kvslot_route(argc, argv, NULL, key);
}

static void test_kvslot_route(void **state)
{
    int k = -1;
    assert_int_equal(route_of(&k, 3, "HGET", "url:{1}:x", "id"), KVSLOT_KEY);
    assert_int_equal(k, 1);
    assert_int_equal(route_of(&k, 5, "evalsha", "abc", "2", "clicks:{1}", "url:{1}:x"), KVSLOT_KEY);
    assert_int_equal(k, 3);
    assert_int_equal(route_of(&k, 4, "EVAL", "return 1", "0", "arg"), KVSLOT_ANY);
    assert_int_equal(route_of(&k, 3, "SCRIPT", "LOAD", "return 1"), KVSLOT_ALL);
    assert_int_equal(route_of(&k, 1, "PING"), KVSLOT_ANY);
    assert_int_equal(route_of(&k, 3, "WAIT", "1", "100"), KVSLOT_ANY);
    assert_int_equal(route_of(&k, 3, "XINFO", "STREAM", "clicks:{3}"), KVSLOT_KEY);
    assert_int_equal(k, 2);
    assert_int_equal(route_of(&k, 2, "XINFO", "STREAM"), KVSLOT_ANY);
    assert_int_equal(route_of(&k, 5, "XGROUP", "CREATE", "clicks:{3}", "g", "$"), KVSLOT_KEY);
    assert_int_equal(k, 2);
    assert_int_equal(route_of(&k, 12, "XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "BLOCK", "5",
                              "STREAMS", "clicks:{0}", "clicks:{1}", ">"),
                     KVSLOT_ANY); /* 2 keys need 2 ids: Redis answers that error */
    assert_int_equal(route_of(&k, 13, "XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "BLOCK", "5",
                              "STREAMS", "clicks:{0}", "clicks:{1}", ">", ">"),
                     KVSLOT_STREAMS);
    assert_int_equal(k, 9);
    assert_int_equal(route_of(&k, 4, "XREAD", "STREAMS", "clicks:{0}", "0"), KVSLOT_STREAMS);
    assert_int_equal(k, 2);
    assert_int_equal(route_of(&k, 0), KVSLOT_ANY);
}

static void test_kvslot_parse_moved_ask(void **state)
{
    struct kvslot_target t;
    const char *m = "MOVED 3999 127.0.0.1:6381";
    assert_int_equal(kvslot_parse_error(m, strlen(m), &t), KVSLOT_MOVED);
    assert_int_equal(t.slot, 3999);
    assert_string_equal(t.host, "127.0.0.1");
    assert_int_equal(t.port, 6381);
    const char *a = "ASK 16383 redis-2.example:7002";
    assert_int_equal(kvslot_parse_error(a, strlen(a), &t), KVSLOT_ASK);
    assert_int_equal(t.slot, 16383);
    assert_string_equal(t.host, "redis-2.example");
    assert_int_equal(t.port, 7002);
    const char *v6 = "MOVED 1 ::1:7000";
    assert_int_equal(kvslot_parse_error(v6, strlen(v6), &t), KVSLOT_MOVED);
    assert_string_equal(t.host, "::1");
    const char *empty = "MOVED 12 :7000"; /* an unknown endpoint: the asked node's host */
    assert_int_equal(kvslot_parse_error(empty, strlen(empty), &t), KVSLOT_MOVED);
    assert_string_equal(t.host, "");
    assert_int_equal(t.port, 7000);
    static const char *const bad[] = {
        "MOVED",
        "MOVED ",
        "MOVED 16384 h:1",
        "MOVED -1 h:1",
        "MOVED 1 h",
        "MOVED 1 h:0",
        "MOVED 1 h:65536",
        "MOVED 1 h:12x",
        "MOVED x h:1",
        "MOVEDX 1 h:1",
        "ASK 1",
        "ERR wrong",
        "NOSCRIPT No matching script",
        "moved 1 h:1",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        assert_int_equal(kvslot_parse_error(bad[i], strlen(bad[i]), &t), KVSLOT_NONE);
    const char *ta = "TRYAGAIN Multiple keys request during rehashing of slot";
    assert_int_equal(kvslot_parse_error(ta, strlen(ta), &t), KVSLOT_TRYAGAIN);
    const char *cd = "CLUSTERDOWN The cluster is down";
    assert_int_equal(kvslot_parse_error(cd, strlen(cd), &t), KVSLOT_DOWN);
    /* Length-bounded: the text after len is never read. */
    assert_int_equal(kvslot_parse_error(m, 5, &t), KVSLOT_NONE);
}

/* A reply parsed from RESP text (the caller frees it). */
static redisReply *resp(const char *text)
{
    redisReader *rd = redisReaderCreate();
    void *r = NULL;
    assert_int_equal(redisReaderFeed(rd, text, strlen(text)), REDIS_OK);
    assert_int_equal(redisReaderGetReply(rd, &r), REDIS_OK);
    redisReaderFree(rd);
    assert_non_null(r);
    return r;
}

static void test_kvslot_parse_slots(void **state)
{
    struct kvslot_range out[4];
    /* Two ranges; the second's primary announced with an empty host, a replica listed. */
    redisReply *r = resp("*2\r\n"
                         "*3\r\n:0\r\n:5460\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\nid\r\n"
                         "*4\r\n:5461\r\n:16383\r\n*2\r\n$0\r\n\r\n:7001\r\n"
                         "*2\r\n$9\r\n127.0.0.1\r\n:7004\r\n");
    assert_int_equal(kvslot_parse_slots(r, "10.0.0.9", out, 4), 2);
    assert_int_equal(out[0].first, 0);
    assert_int_equal(out[0].last, 5460);
    assert_string_equal(out[0].host, "127.0.0.1");
    assert_int_equal(out[0].port, 7000);
    assert_int_equal(out[1].first, 5461);
    assert_int_equal(out[1].last, 16383);
    assert_string_equal(out[1].host, "10.0.0.9");
    assert_int_equal(out[1].port, 7001);
    assert_int_equal(kvslot_parse_slots(r, "x", out, 1), ERR_TOO_BIG);
    freeReplyObject(r);
    static const char *const bad[] = {
        "+OK\r\n",
        "*1\r\n:1\r\n",
        "*1\r\n*3\r\n:5\r\n:4\r\n*2\r\n$1\r\nh\r\n:1\r\n",      /* first > last */
        "*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n",  /* past the last slot */
        "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\nh\r\n:0\r\n",      /* port 0 */
        "*1\r\n*3\r\n:0\r\n:1\r\n*1\r\n$1\r\nh\r\n",            /* no port */
        "*1\r\n*2\r\n:0\r\n:1\r\n",                             /* no primary */
        "*1\r\n*3\r\n$1\r\n0\r\n:1\r\n*2\r\n$1\r\nh\r\n:1\r\n", /* a string slot */
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        r = resp(bad[i]);
        assert_int_equal(kvslot_parse_slots(r, "x", out, 4), ERR_INVALID);
        freeReplyObject(r);
    }
    assert_int_equal(kvslot_parse_slots(NULL, "x", out, 4), ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kvslot_matches_redis),
        cmocka_unit_test(test_kvslot_link_and_stream_share_a_slot),
        cmocka_unit_test(test_kvslot_route),
        cmocka_unit_test(test_kvslot_parse_moved_ask),
        cmocka_unit_test(test_kvslot_parse_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
