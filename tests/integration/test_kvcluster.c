/*
 * test_kvcluster.c - shared/kvcluster.c against a real 6-node Redis Cluster (run by
 * make check-cluster under REDIS_MODE=cluster tests/harness.sh: REDIS_URL names the cluster,
 * REDIS_CLUSTER_NODES lists "port/busport" of its nodes). Checks: kvslot_of against the live
 * CLUSTER KEYSLOT; a pipeline over many slots answers in call order; MOVED after a slot moved
 * behind the handle's back; ASK during a migration half done; XREAD over several slots split
 * and merged; WAIT per batch; the non-blocking interface on kv_fd; the primaries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "kv.h"
#include "kvslot.h"

#include "banned.h"

#define T_TIMEOUT_MS 2000

static struct kv *t_cluster(void)
{
    struct kv *kv = kv_new(getenv("REDIS_URL"), T_TIMEOUT_MS);
    assert_non_null(kv);
    assert_true(kv_is_cluster(kv));
    return kv;
}

/* A plain handle to the node on port. */
static struct kv *t_node(int port)
{
    char url[64];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
    struct kv *kv = kv_new(url, T_TIMEOUT_MS);
    assert_non_null(kv);
    return kv;
}

/* Runs a command given as words; returns the reply (caller frees), fails the test on error. */
static redisReply *t_cmd(struct kv *kv, int argc, ...)
{
    const char *argv[16];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++)
        argv[i] = va_arg(ap, const char *);
    va_end(ap);
    redisReply *r = NULL;
    if (kv_command(kv, argc, argv, NULL, &r) != 0)
        fail_msg("%s failed: %s", argv[0], kv_errmsg(kv));
    return r;
}

/* The port of the primary serving slot (asked of the cluster's first node). */
static int t_owner(unsigned slot)
{
    struct kv *any = t_node((int)strtol(getenv("REDIS_CLUSTER_NODES"), NULL, 10));
    redisReply *r = t_cmd(any, 2, "CLUSTER", "SLOTS");
    int port = 0;
    for (size_t i = 0; i < r->elements && !port; i++) {
        redisReply *e = r->element[i];
        if ((unsigned)e->element[0]->integer <= slot && slot <= (unsigned)e->element[1]->integer)
            port = (int)e->element[2]->element[1]->integer;
    }
    freeReplyObject(r);
    kv_free(any);
    assert_true(port > 0);
    return port;
}

/* The node id of the node on port. */
static void t_myid(int port, char id[64])
{
    struct kv *n = t_node(port);
    redisReply *r = t_cmd(n, 2, "CLUSTER", "MYID");
    snprintf(id, 64, "%s", r->str);
    freeReplyObject(r);
    kv_free(n);
}

/* Another primary than port. */
static int t_other_primary(struct kv *kv, int port)
{
    for (size_t i = 0; i < kv_primaries(kv); i++) {
        struct kv *p = kv_primary(kv, i);
        redisReply *r = t_cmd(p, 3, "CONFIG", "GET", "port");
        int q = (int)strtol(r->element[1]->str, NULL, 10);
        freeReplyObject(r);
        if (q != port)
            return q;
    }
    fail_msg("no other primary");
    return 0;
}

static void test_slots_match_the_live_cluster(void **state)
{
    struct kv *kv = t_cluster();
    static const char *const keys[] = {
        "a",          "{a}b",        "x{y}z",      "{}",
        "{{x}}",      "url:{3}:Abc", "clicks:{5}", "readmodel:{2}:complete",
        "caf\xc3\xa9"};
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        redisReply *r = t_cmd(kv, 3, "CLUSTER", "KEYSLOT", keys[i]);
        assert_int_equal(r->integer, kvslot_of(keys[i], strlen(keys[i])));
        freeReplyObject(r);
    }
    char key[32];
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof(key), "k%d{%d}x%d", i * 7919, i % 13, i);
        redisReply *r = t_cmd(kv, 3, "CLUSTER", "KEYSLOT", key);
        assert_int_equal(r->integer, kvslot_of(key, strlen(key)));
        freeReplyObject(r);
    }
    kv_free(kv);
}

static void test_pipeline_over_every_node_in_order(void **state)
{
    struct kv *kv = t_cluster();
    char key[32], val[32];
    assert_int_equal(kv_primaries(kv), 3);
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof(key), "pipe:%d", i);
        snprintf(val, sizeof(val), "v%d", i);
        const char *set[] = {"SET", key, val};
        assert_int_equal(kv_append(kv, 3, set, NULL), 0);
    }
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof(key), "pipe:%d", i);
        const char *get[] = {"GET", key};
        assert_int_equal(kv_append(kv, 2, get, NULL), 0);
    }
    for (int i = 0; i < 300; i++)
        assert_int_equal(kv_read_reply(kv, NULL), 0);
    for (int i = 0; i < 300; i++) {
        redisReply *r = NULL;
        assert_int_equal(kv_read_reply(kv, &r), 0);
        snprintf(val, sizeof(val), "v%d", i);
        assert_string_equal(r->str, val);
        freeReplyObject(r);
    }
    /* An error reply in the middle keeps the handle usable and the order intact. */
    const char *bad[] = {"INCR", "pipe:1"}, *ok[] = {"GET", "pipe:2"};
    assert_int_equal(kv_append(kv, 2, bad, NULL), 0);
    assert_int_equal(kv_append(kv, 2, ok, NULL), 0);
    assert_int_equal(kv_read_reply(kv, NULL), ERR_KV);
    assert_false(kv_is_broken(kv));
    redisReply *r = NULL;
    assert_int_equal(kv_read_reply(kv, &r), 0);
    assert_string_equal(r->str, "v2");
    freeReplyObject(r);
    kv_free(kv);
}

/* Moves slot from src to dst: keys (all when all, else only `only`), then the assignment. */
static void t_migrate(unsigned slot, int src, int dst, const char *only, int assign)
{
    char sid[64], did[64], s[16], dport[16];
    t_myid(src, sid);
    t_myid(dst, did);
    snprintf(s, sizeof(s), "%u", slot);
    snprintf(dport, sizeof(dport), "%d", dst);
    struct kv *ns = t_node(src), *nd = t_node(dst);
    freeReplyObject(t_cmd(nd, 5, "CLUSTER", "SETSLOT", s, "IMPORTING", sid));
    freeReplyObject(t_cmd(ns, 5, "CLUSTER", "SETSLOT", s, "MIGRATING", did));
    if (only) {
        freeReplyObject(t_cmd(ns, 8, "MIGRATE", "127.0.0.1", dport, "", "0", "5000", "KEYS", only));
    } else {
        redisReply *keys = t_cmd(ns, 4, "CLUSTER", "GETKEYSINSLOT", s, "1000");
        for (size_t i = 0; i < keys->elements; i++)
            freeReplyObject(t_cmd(ns, 8, "MIGRATE", "127.0.0.1", dport, "", "0", "5000", "KEYS",
                                  keys->element[i]->str));
        freeReplyObject(keys);
    }
    if (assign) {
        struct kv *kv = t_cluster();
        for (size_t i = 0; i < kv_primaries(kv); i++)
            freeReplyObject(t_cmd(kv_primary(kv, i), 5, "CLUSTER", "SETSLOT", s, "NODE", did));
        kv_free(kv);
    }
    kv_free(ns);
    kv_free(nd);
}

static void test_moved_is_followed(void **state)
{
    struct kv *kv = t_cluster();
    freeReplyObject(t_cmd(kv, 3, "SET", "{mv}k", "before"));
    unsigned slot = kvslot_of("{mv}k", 5);
    int src = t_owner(slot), dst = t_other_primary(kv, src);
    t_migrate(slot, src, dst, NULL, 1); /* behind the handle's back: its map is stale */
    redisReply *r = t_cmd(kv, 2, "GET", "{mv}k");
    assert_string_equal(r->str, "before");
    freeReplyObject(r);
    freeReplyObject(t_cmd(kv, 3, "SET", "{mv}k", "after"));
    assert_int_equal(t_owner(slot), dst);
    struct kv *nd = t_node(dst);
    r = t_cmd(nd, 2, "GET", "{mv}k"); /* the write went to the new owner */
    assert_string_equal(r->str, "after");
    freeReplyObject(r);
    kv_free(nd);
    kv_free(kv);
}

static void test_ask_during_a_migration(void **state)
{
    struct kv *kv = t_cluster();
    freeReplyObject(t_cmd(kv, 3, "SET", "{ask}moved", "m"));
    freeReplyObject(t_cmd(kv, 3, "SET", "{ask}stays", "s"));
    unsigned slot = kvslot_of("{ask}x", 6);
    int src = t_owner(slot), dst = t_other_primary(kv, src);
    t_migrate(slot, src, dst, "{ask}moved", 0); /* half done: one key on each side */
    redisReply *r = t_cmd(kv, 2, "GET", "{ask}moved");
    assert_string_equal(r->str, "m");
    freeReplyObject(r);
    r = t_cmd(kv, 2, "GET", "{ask}stays");
    assert_string_equal(r->str, "s");
    freeReplyObject(r);
    /* Both keys in one command while they are split: TRYAGAIN, retried, then given up. */
    const char *both[] = {"MGET", "{ask}moved", "{ask}stays"};
    assert_int_equal(kv_command(kv, 3, both, NULL, &r), ERR_KV);
    assert_non_null(strstr(kv_errmsg(kv), "TRYAGAIN"));
    t_migrate(slot, src, dst, "{ask}stays", 1);
    assert_int_equal(kv_command(kv, 3, both, NULL, &r), 0);
    assert_string_equal(r->element[0]->str, "m");
    assert_string_equal(r->element[1]->str, "s");
    freeReplyObject(r);
    kv_free(kv);
}

/* The number of entries of stream `name` in an XREAD reply (0 when it is not there). */
static size_t t_entries(const redisReply *r, const char *name)
{
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        if (strcmp(r->element[i]->element[0]->str, name) == 0)
            return r->element[i]->element[1]->elements;
    return 0;
}

static void test_xread_over_several_slots_is_merged(void **state)
{
    struct kv *kv = t_cluster();
    static const char *const streams[] = {"xs:{0}", "xs:{1}", "xs:{2}", "xs:{3}"};
    for (size_t i = 0; i < ARRAY_SIZE(streams); i++)
        for (size_t j = 0; j <= i; j++)
            freeReplyObject(t_cmd(kv, 5, "XADD", streams[i], "*", "n", streams[i]));
    redisReply *r = t_cmd(kv, 14, "XREAD", "COUNT", "10", "BLOCK", "50", "STREAMS", "xs:{0}",
                          "xs:{1}", "xs:{2}", "xs:{3}", "0", "0", "0", "0");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 4);
    for (size_t i = 0; i < ARRAY_SIZE(streams); i++)
        assert_int_equal(t_entries(r, streams[i]), i + 1);
    freeReplyObject(r);
    /* Nothing new anywhere: nil, after about the poll interval (not the 2 s BLOCK). */
    r = t_cmd(kv, 12, "XREAD", "BLOCK", "2000", "STREAMS", "xs:{0}", "xs:{1}", "xs:{2}", "xs:{3}",
              "$", "$", "$", "$");
    assert_int_equal(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    kv_free(kv);
}

static void test_wait_per_batch(void **state)
{
    struct kv *kv = t_cluster();
    char key[32];
    for (int i = 0; i < 30; i++) {
        snprintf(key, sizeof(key), "w:%d", i);
        const char *set[] = {"SET", key, "1"};
        assert_int_equal(kv_append(kv, 3, set, NULL), 0);
    }
    assert_int_equal(kv_append_wait(kv, 1, 1000), 0);
    for (int i = 0; i < 30; i++)
        assert_int_equal(kv_read_reply(kv, NULL), 0);
    redisReply *r = NULL;
    assert_int_equal(kv_read_reply(kv, &r), 0);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_int_equal(r->integer, 1); /* every written primary has its one replica in sync */
    freeReplyObject(r);
    /* Two replicas do not exist: WAIT says fewer after its timeout. */
    const char *set[] = {"SET", "w:x", "1"};
    assert_int_equal(kv_append(kv, 3, set, NULL), 0);
    assert_int_equal(kv_append_wait(kv, 2, 100), 0);
    assert_int_equal(kv_read_reply(kv, NULL), 0);
    assert_int_equal(kv_read_reply(kv, &r), 0);
    assert_true(r->integer < 2);
    freeReplyObject(r);
    kv_free(kv);
}

static void test_non_blocking_replies_in_order(void **state)
{
    struct kv *kv = t_cluster();
    char key[32];
    assert_int_equal(kv_connect(kv), 0);
    for (int i = 0; i < 64; i++) {
        snprintf(key, sizeof(key), "nb:%d", i);
        const char *incr[] = {"INCRBY", key, "5"};
        assert_int_equal(kv_append(kv, 3, incr, NULL), 0);
    }
    assert_int_equal(kv_send(kv), 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, kv_fd(kv), &ev), 0);
    int got = 0;
    for (int spins = 0; got < 64 && spins < 1000; spins++) {
        struct epoll_event out;
        if (epoll_wait(ep, &out, 1, 100) != 1)
            continue;
        assert_int_equal(kv_read_input(kv), 0);
        redisReply *r = NULL;
        while (got < 64 && kv_take_reply(kv, &r) == 1) {
            assert_int_equal(r->type, REDIS_REPLY_INTEGER);
            assert_int_equal(r->integer % 5, 0);
            freeReplyObject(r);
            got++;
        }
    }
    close(ep);
    assert_int_equal(got, 64);
    kv_free(kv);
}

static void test_script_load_reaches_every_primary(void **state)
{
    struct kv *kv = t_cluster();
    redisReply *r = t_cmd(kv, 3, "SCRIPT", "LOAD", "return KEYS[1]");
    char sha[48];
    snprintf(sha, sizeof(sha), "%s", r->str);
    freeReplyObject(r);
    char key[32];
    for (int i = 0; i < 16; i++) { /* keys over every primary */
        snprintf(key, sizeof(key), "sl:{%d}", i);
        r = t_cmd(kv, 4, "EVALSHA", sha, "1", key);
        assert_string_equal(r->str, key);
        freeReplyObject(r);
    }
    kv_free(kv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slots_match_the_live_cluster),
        cmocka_unit_test(test_pipeline_over_every_node_in_order),
        cmocka_unit_test(test_moved_is_followed),
        cmocka_unit_test(test_ask_during_a_migration),
        cmocka_unit_test(test_xread_over_several_slots_is_merged),
        cmocka_unit_test(test_wait_per_batch),
        cmocka_unit_test(test_non_blocking_replies_in_order),
        cmocka_unit_test(test_script_load_reaches_every_primary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
