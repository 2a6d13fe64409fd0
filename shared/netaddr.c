/*
 * netaddr.c - addresses, CIDR lists and the client address rule (see netaddr.h).
 */
#include "netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "banned.h"

#define NETADDR_SEPS " ,\t"

static const unsigned char netaddr_v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/*
 * An address without prefix from s[0..len); ::ffff:a.b.c.d becomes IPv4 and *mapped is set
 * (a prefix written after it counts IPv6 bits). 0 or ERR_INVALID.
 */
static int netaddr_parse_addr(const char *s, size_t len, struct netaddr *out, int *mapped)
{
    char tmp[NETADDR_TEXT_MAX];
    *mapped = 0;
    if (len == 0 || len >= sizeof(tmp) || memchr(s, '\0', len))
        return ERR_INVALID;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, tmp, out->bytes) == 1) {
        out->family = 4;
        out->prefix = 32;
        return 0;
    }
    if (inet_pton(AF_INET6, tmp, out->bytes) != 1)
        return ERR_INVALID;
    out->family = 6;
    out->prefix = 128;
    if (memcmp(out->bytes, netaddr_v4mapped, sizeof(netaddr_v4mapped)) == 0) {
        memmove(out->bytes, out->bytes + 12, 4);
        memset(out->bytes + 4, 0, 12);
        out->family = 4;
        out->prefix = 32;
        *mapped = 1;
    }
    return 0;
}

/* 1 when every bit of a past `bits` is zero. */
static int netaddr_host_bits_zero(const struct netaddr *a, unsigned bits)
{
    unsigned total = a->family == 4 ? 32 : 128;
    for (unsigned i = bits; i < total; i++)
        if (a->bytes[i / 8] & (0x80u >> (i % 8)))
            return 0;
    return 1;
}

int netaddr_parse(const char *s, size_t len, struct netaddr *out)
{
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    int mapped;
    if (netaddr_parse_addr(s, alen, out, &mapped) != 0)
        return ERR_INVALID;
    if (!slash)
        return 0;
    const char *p = slash + 1, *end = s + len;
    unsigned bits = 0, max = mapped ? 128 : out->family == 4 ? 32 : 128;
    if (p == end || end - p > 3)
        return ERR_INVALID;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return ERR_INVALID;
        bits = bits * 10 + (unsigned)(*p - '0');
    }
    if (bits > max || (mapped && bits < 96))
        return ERR_INVALID;
    if (mapped)
        bits -= 96;
    if (!netaddr_host_bits_zero(out, bits))
        return ERR_INVALID;
    out->prefix = bits;
    return 0;
}

int netaddr_list_parse(const char *s, struct netaddr_list *out, const char **why, size_t *bad_at)
{
    const char *p = s;
    out->n = 0;
    for (;;) {
        p += strspn(p, NETADDR_SEPS);
        if (!*p)
            return 0;
        size_t len = strcspn(p, NETADDR_SEPS);
        *bad_at = (size_t)(p - s);
        if (out->n >= NETADDR_LIST_MAX) {
            *why = "too many entries (at most 64)";
            return ERR_TOO_BIG;
        }
        if (netaddr_parse(p, len, &out->e[out->n]) != 0) {
            *why = "not an address or CIDR network (a.b.c.d[/n] or IPv6[/n], host bits zero)";
            return ERR_INVALID;
        }
        out->n++;
        p += len;
    }
}

static int netaddr_in(const struct netaddr *net, const struct netaddr *a)
{
    if (net->family != a->family)
        return 0;
    unsigned full = net->prefix / 8, rest = net->prefix % 8;
    if (memcmp(net->bytes, a->bytes, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xffu << (8 - rest));
    return (net->bytes[full] & mask) == (a->bytes[full] & mask);
}

int netaddr_list_contains(const struct netaddr_list *l, const struct netaddr *a)
{
    for (size_t i = 0; l && i < l->n; i++)
        if (netaddr_in(&l->e[i], a))
            return 1;
    return 0;
}

int netaddr_list_match(const struct netaddr_list *l, const char *ip)
{
    struct netaddr a;
    int mapped;
    if (!ip || netaddr_parse_addr(ip, strlen(ip), &a, &mapped) != 0)
        return 0;
    return netaddr_list_contains(l, &a);
}

void netaddr_format(const struct netaddr *a, char out[NETADDR_TEXT_MAX])
{
    if (a->family == 4) { /* inet_ntop's sprintf cost a tenth of a redirect (callgrind) */
        char *p = out;
        for (int i = 0; i < 4; i++) {
            unsigned v = a->bytes[i];
            if (i)
                *p++ = '.';
            if (v >= 100)
                *p++ = (char)('0' + v / 100);
            if (v >= 10)
                *p++ = (char)('0' + v / 10 % 10);
            *p++ = (char)('0' + v % 10);
        }
        *p = '\0';
        return;
    }
    if (!inet_ntop(AF_INET6, a->bytes, out, NETADDR_TEXT_MAX))
        out[0] = '\0';
}

/* Trims blanks around s[0..*len) in place: returns the new start, updates *len. */
static const char *netaddr_trim(const char *s, size_t *len)
{
    while (*len && (*s == ' ' || *s == '\t')) {
        s++;
        (*len)--;
    }
    while (*len && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
        (*len)--;
    return s;
}

/*
 * Walks the X-Forwarded-For hops from the right: 1 with *client set to the first hop not
 * in trusted (or the last good hop when a malformed one or the left end comes first), 0
 * when no hop parsed at all.
 */
static int netaddr_xff_client(const struct netaddr_list *trusted, const char *xff,
                              struct netaddr *client)
{
    size_t end = strlen(xff);
    int found = 0;
    while (end > 0) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        size_t len = end - start;
        const char *hop = netaddr_trim(xff + start, &len);
        struct netaddr a;
        int mapped;
        if (netaddr_parse_addr(hop, len, &a, &mapped) != 0)
            return found;
        *client = a;
        found = 1;
        if (!netaddr_list_contains(trusted, &a))
            return 1;
        end = start > 0 ? start - 1 : 0;
    }
    return found;
}

const char *netaddr_client(const struct netaddr_list *trusted, const char *peer, const char *xff,
                           const char *real, char out[NETADDR_TEXT_MAX])
{
    struct netaddr a;
    int mapped;
    if (!peer || netaddr_parse_addr(peer, strlen(peer), &a, &mapped) != 0) {
        snprintf(out, NETADDR_TEXT_MAX, "%s", peer ? peer : "");
        return out;
    }
    if (netaddr_list_contains(trusted, &a)) {
        struct netaddr c;
        if (xff && netaddr_xff_client(trusted, xff, &c))
            a = c;
        else if (real && netaddr_parse_addr(real, strlen(real), &c, &mapped) == 0)
            a = c;
    }
    netaddr_format(&a, out);
    return out;
}
