/*
 * client.c - the client's address of a redirect (see client.h).
 */
#include "client.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "banned.h"

int client_ip_text(const char *s)
{
    size_t n = s ? strspn(s, "0123456789abcdefABCDEF.:") : 0;
    return n > 0 && n < CLIENT_IP_MAX && s[n] == '\0';
}

const char *client_ip(struct MHD_Connection *conn, char out[CLIENT_IP_MAX])
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    const void *addr = NULL;
    if (sa && sa->sa_family == AF_INET)
        addr = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa && sa->sa_family == AF_INET6)
        addr = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (!addr || !inet_ntop(sa->sa_family, addr, out, CLIENT_IP_MAX))
        return NULL;
    const char *real = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Real-IP");
    int loopback = strncmp(out, "127.", 4) == 0 || strcmp(out, "::1") == 0;
    if (loopback && client_ip_text(real))
        snprintf(out, CLIENT_IP_MAX, "%s", real);
    return out;
}
