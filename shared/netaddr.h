/*
 * netaddr.h - IPv4/IPv6 addresses, CIDR lists and the client address rule.
 *
 * Used for TRUSTED_PROXIES and RATE_LIMIT_EXEMPT (lists such as
 * "127.0.0.0/8,::1,10.0.0.0/8"), and for the client address of a request: the
 * peer's, or the one a trusted proxy put in X-Forwarded-For / X-Real-IP
 * (netaddr_client). Pure functions on caller memory: no allocation, no I/O, so
 * they are unit-tested and fuzzed as they are. IPv4-mapped IPv6 addresses
 * (::ffff:a.b.c.d) are treated as the IPv4 address they carry.
 */
#ifndef NETADDR_H
#define NETADDR_H

#include <stddef.h>

#include "common.h"

#define NETADDR_LIST_MAX 64 /* entries in one list; more is a configuration error */
#define NETADDR_TEXT_MAX 46 /* INET6_ADDRSTRLEN: the longest address text plus NUL */

struct netaddr {
    int family;              /* 4 or 6 */
    unsigned char bytes[16]; /* network order; IPv4 uses the first 4 */
    unsigned prefix;         /* bits that must match: 0..32 or 0..128 */
};

struct netaddr_list {
    size_t n;
    struct netaddr e[NETADDR_LIST_MAX];
};

/*
 * Parses s[0..len) as one address ("10.1.2.3", "2001:db8::1", "::ffff:1.2.3.4") with an
 * optional "/prefix"; without one the prefix is the whole address. Bits past the prefix
 * must be zero ("10.0.0.1/8" is refused: a typo, not a network). 0 or ERR_INVALID.
 */
int netaddr_parse(const char *s, size_t len, struct netaddr *out) ATTR_WARN_UNUSED;

/*
 * Parses a list separated by commas and/or spaces into *out (caller memory); an empty or
 * blank s gives an empty list. On ERR_INVALID (a bad entry) or ERR_TOO_BIG (more than
 * NETADDR_LIST_MAX), *why is a static reason and *bad_at the offset of the bad entry.
 */
int netaddr_list_parse(const char *s, struct netaddr_list *out, const char **why,
                       size_t *bad_at) ATTR_WARN_UNUSED;

/* 1 when the address a (a single address: its prefix is ignored) is inside one entry of l. */
int netaddr_list_contains(const struct netaddr_list *l, const struct netaddr *a);

/* 1 when the address text ip (no prefix) parses and is inside l; 0 otherwise (NULL too). */
int netaddr_list_match(const struct netaddr_list *l, const char *ip);

/* Writes the canonical text of a (no prefix; IPv4-mapped as IPv4) into out. */
void netaddr_format(const struct netaddr *a, char out[NETADDR_TEXT_MAX]);

/*
 * The client address of a request, canonical, into out (returns out):
 *   - the peer (text) when it is not in trusted (or trusted is NULL);
 *   - else the rightmost X-Forwarded-For hop that is not in trusted (hops to its right are
 *     trusted proxies; a malformed hop stops the walk, and the last good hop is taken);
 *     all hops trusted: the leftmost one;
 *   - else (no usable X-Forwarded-For) a well-formed X-Real-IP;
 *   - else the peer.
 * xff and real may be NULL. A peer that does not parse is copied as is (capped).
 */
const char *netaddr_client(const struct netaddr_list *trusted, const char *peer, const char *xff,
                           const char *real, char out[NETADDR_TEXT_MAX]);

#endif
