/*
 * fuzz_kvslot.c - the Redis Cluster parsers of shared/kvslot.c on any bytes. The input is
 * "<error text>\n<RESP bytes>": the error text goes through kvslot_parse_error (MOVED, ASK,
 * TRYAGAIN, CLUSTERDOWN) and kvslot_of, the RESP bytes through hiredis's reader and then
 * kvslot_parse_slots (a CLUSTER SLOTS reply).
 * Properties: a parsed redirect names a slot below 16384 and a port 1..65535, its host is a
 * C string shorter than KVSLOT_HOST_MAX; every slot is below 16384; parsed ranges are ordered
 * within themselves and carry a valid port and a host string.
 */
#include <string.h>

#include <hiredis/hiredis.h>

#include "fuzz.h"
#include "kvslot.h"

#include "banned.h"

static void fuzz_kvslot_error(const char *s, size_t n)
{
    struct kvslot_target t;
    memset(&t, 0x5a, sizeof(t));
    enum kvslot_redirect k = kvslot_parse_error(s, n, &t);
    if (k == KVSLOT_MOVED || k == KVSLOT_ASK) {
        FUZZ_CHECK(t.slot < KVSLOT_COUNT);
        FUZZ_CHECK(t.port >= 1 && t.port <= 65535);
        FUZZ_CHECK(memchr(t.host, '\0', sizeof(t.host)) != NULL);
    }
    FUZZ_CHECK(kvslot_of(s, n) < KVSLOT_COUNT);
}

/* 1 when s[0..n) declares an array of 10000 elements or more: hiredis 0.14's reader would
 * allocate it before reading any (a real CLUSTER SLOTS reply has a few hundred ranges). */
static int fuzz_kvslot_huge(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t d = 0;
        while (s[i] == '*' && i + 1 + d < n && s[i + 1 + d] >= '0' && s[i + 1 + d] <= '9')
            d++;
        if (d >= 5)
            return 1;
    }
    return 0;
}

static void fuzz_kvslot_slots(const char *s, size_t n)
{
    if (fuzz_kvslot_huge(s, n))
        return;
    redisReader *rd = redisReaderCreate();
    FUZZ_CHECK(rd != NULL);
    void *r = NULL;
    if (redisReaderFeed(rd, s, n) == REDIS_OK && redisReaderGetReply(rd, &r) == REDIS_OK && r) {
        struct kvslot_range out[8];
        int got = kvslot_parse_slots(r, "asked", out, 8);
        FUZZ_CHECK(got >= ERR_TOO_BIG || got == ERR_INVALID);
        for (int i = 0; i < got; i++) {
            FUZZ_CHECK(out[i].first <= out[i].last && out[i].last < KVSLOT_COUNT);
            FUZZ_CHECK(out[i].port >= 1 && out[i].port <= 65535);
            FUZZ_CHECK(strlen(out[i].host) > 0 && strlen(out[i].host) < KVSLOT_HOST_MAX);
        }
        freeReplyObject(r);
    }
    redisReaderFree(rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *parts[2];
    size_t lens[2];
    char *owned = fuzz_split(data, size, '\n', 2, parts, lens);
    fuzz_kvslot_error(parts[0], lens[0]);
    fuzz_kvslot_slots(parts[1], lens[1]);
    free(owned);
    return 0;
}
