/*
 * client.c - the client's address of a redirect (see client.h).
 */
#include "client.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "netaddr.h"

#include "banned.h"

int client_ip_text(const char *s)
{
    size_t n = s ? strspn(s, "0123456789abcdefABCDEF.:") : 0;
    return n > 0 && n < CLIENT_IP_MAX && s[n] == '\0';
}

/* The peer's address as text into out; NULL when unknown. */
static const char *client_peer(struct MHD_Connection *conn, char out[CLIENT_IP_MAX])
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    const void *addr = NULL;
    if (sa && sa->sa_family == AF_INET) {
        struct netaddr a = {.family = 4, .prefix = 32};
        memcpy(a.bytes, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        netaddr_format(&a, out); /* no sprintf, unlike inet_ntop */
        return out;
    }
    if (sa && sa->sa_family == AF_INET6)
        addr = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (!addr || !inet_ntop(sa->sa_family, addr, out, CLIENT_IP_MAX))
        return NULL;
    return out;
}

const char *client_ip(struct MHD_Connection *conn, const struct netaddr_list *trusted,
                      char out[CLIENT_IP_MAX])
{
    char peer[CLIENT_IP_MAX];
    if (!client_peer(conn, peer))
        return NULL;
    netaddr_client(trusted, peer,
                   MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For"),
                   MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Real-IP"), out);
    return out;
}

/* Appends " " (when not first) and s to out; 0, or -1 when it does not fit (out unchanged). */
static int client_put(char *out, size_t cap, const char *s)
{
    size_t n = strlen(out), m = strlen(s);
    if (n + (n ? 1 : 0) + m + 1 > cap)
        return -1;
    if (n)
        out[n++] = ' ';
    memcpy(out + n, s, m + 1);
    return 0;
}

/*
 * "host:port" into one[310] (host: hl < 256 bytes), as snprintf("%s:%ld") wrote it without
 * its cost (it ran on every redirect).
 */
static void client_hostport(char *one, const char *host, size_t hl, long port)
{
    char digits[24];
    size_t n = 0;
    unsigned long v = port < 0 ? 0UL - (unsigned long)port : (unsigned long)port;
    do
        digits[n++] = (char)('0' + v % 10);
    while ((v /= 10) && n < sizeof(digits));
    memcpy(one, host, hl);
    one[hl++] = ':';
    if (port < 0)
        one[hl++] = '-';
    while (n)
        one[hl++] = digits[--n];
    one[hl] = '\0';
}

/* One host[:port] entry h[0..len) appended normalised. */
static void client_self_one(const char *h, size_t len, char *out, size_t cap)
{
    char host[300], one[310];
    const char *colon = NULL;
    if (len == 0 || len >= 256 ||
        strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789.:_[]-") < len)
        return;
    for (size_t i = len; i > 0 && !colon; i--) {
        if (h[i - 1] == ']')
            break;
        if (h[i - 1] == ':')
            colon = h + i - 1;
    }
    size_t hl = colon ? (size_t)(colon - h) : len;
    for (size_t i = 0; i < hl; i++)
        host[i] = (char)(h[i] >= 'A' && h[i] <= 'Z' ? h[i] - 'A' + 'a' : h[i]);
    if (hl && host[hl - 1] == '.')
        hl--;
    host[hl] = '\0';
    if (hl == 0)
        return;
    if (colon && colon + 1 < h + len) {
        long port = strtol(colon + 1, NULL, 10);
        client_hostport(one, host, hl, port);
        (void)client_put(out, cap, one);
        return;
    }
    client_hostport(one, host, hl, 80);
    if (client_put(out, cap, one) == 0) {
        client_hostport(one, host, hl, 443);
        (void)client_put(out, cap, one);
    }
}

void client_self_hosts(const char *list, char *out, size_t cap)
{
    for (const char *p = list ? list : ""; *p;) {
        p += strspn(p, " ,\t");
        size_t len = strcspn(p, " ,\t");
        client_self_one(p, len, out, cap);
        p += len;
    }
}

void client_request_self(struct MHD_Connection *conn, const struct netaddr_list *trusted,
                         const char *cfg_self, char out[CLIENT_SELF_MAX])
{
    char peer[CLIENT_IP_MAX];
    const char *host = NULL;
    common_copy(out, CLIENT_SELF_MAX, cfg_self ? cfg_self : "");
    if (client_peer(conn, peer) && netaddr_list_match(trusted, peer))
        host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-Host");
    if (!host)
        host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (host && !strchr(host, ' ') && !strchr(host, ','))
        client_self_hosts(host, out, CLIENT_SELF_MAX);
}
