/*
 * kvslot.h - the pure parts of the Redis Cluster client (kvcluster.c): key slots, where a
 * command's key is, redirect errors (MOVED/ASK) and the CLUSTER SLOTS reply. No I/O.
 *
 * Slots follow Redis exactly: CRC16 (XMODEM) of the key modulo 16384; when the key holds a
 * '{' followed later by a '}' with at least one byte between them, only the bytes between the
 * first '{' and the first '}' after it are hashed (the hash tag).
 */
#ifndef KVSLOT_H
#define KVSLOT_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

struct redisReply;

#define KVSLOT_COUNT    16384
#define KVSLOT_HOST_MAX 256 /* a node's host name or address, NUL included */

/* The slot of key[0..len). */
unsigned kvslot_of(const char *key, size_t len);

/* How a command is routed (kvslot_route). */
enum kvslot_route {
    KVSLOT_ANY,     /* no key: any primary answers (PING, INFO, EVAL with no key, ...) */
    KVSLOT_KEY,     /* by the slot of argv[*key] */
    KVSLOT_ALL,     /* to every primary, the first reply stands (SCRIPT LOAD, FLUSHALL) */
    KVSLOT_STREAMS, /* XREAD/XREADGROUP: keys from argv[*key], as many ids after them */
};

/* Where argv's key is: the route, and in *key the index of the first key (KEY, STREAMS).
 * A command whose key is missing (too few arguments) is KVSLOT_ANY: Redis answers the error. */
enum kvslot_route kvslot_route(int argc, const char *const *argv, const size_t *lens, int *key);

/* A redirect error reply ("MOVED 3999 127.0.0.1:6381", "ASK ..."), parsed. */
enum kvslot_redirect { KVSLOT_NONE, KVSLOT_MOVED, KVSLOT_ASK, KVSLOT_TRYAGAIN, KVSLOT_DOWN };

struct kvslot_target {
    unsigned slot;
    char host[KVSLOT_HOST_MAX];
    int port;
};

/*
 * Classifies the error text err[0..len) (without a "-" prefix): MOVED and ASK fill *t
 * (slot < 16384, port 1..65535; an empty host, as Redis sends for an unknown endpoint,
 * stays ""), TRYAGAIN and CLUSTERDOWN ask for a back-off, anything else is KVSLOT_NONE
 * (a malformed MOVED/ASK included: the caller passes the error on).
 */
enum kvslot_redirect kvslot_parse_error(const char *err, size_t len, struct kvslot_target *t);

/* One slot range of CLUSTER SLOTS and its primary. */
struct kvslot_range {
    unsigned first, last; /* inclusive, first <= last < 16384 */
    char host[KVSLOT_HOST_MAX];
    int port;
};

/*
 * Parses a CLUSTER SLOTS reply into out[0..max): the number of ranges, or ERR_INVALID for a
 * reply of the wrong shape (no partial result counts then), ERR_TOO_BIG past max. A host
 * given as "" or "?" is replaced by `asked` (the node that answered). Ranges borrowed from
 * nothing: everything is copied.
 */
int kvslot_parse_slots(const struct redisReply *r, const char *asked, struct kvslot_range *out,
                       size_t max) ATTR_WARN_UNUSED;

#endif
