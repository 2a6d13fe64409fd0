/*
 * client.h - the address of the client a redirect answers, for the click's
 * visitor hash (DECISIONS L10): the peer's, or the front door's X-Real-IP when
 * the peer is a loopback proxy. Kept in the click stream only; never stored in
 * PostgreSQL.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <netinet/in.h>

#define CLIENT_IP_MAX INET6_ADDRSTRLEN

struct MHD_Connection;

/* Writes the address as text into out and returns out, or NULL when unknown. */
const char *client_ip(struct MHD_Connection *conn, char out[CLIENT_IP_MAX]);

/* 1 when s looks like an IPv4 or IPv6 address (hex digits, '.', ':') shorter than the max. */
int client_ip_text(const char *s);

#endif
