/*
 * client.h - the address of the client a redirect answers, for the click's
 * visitor hash (DECISIONS L10): the peer's, or from X-Forwarded-For / X-Real-IP
 * when the peer is in TRUSTED_PROXIES (netaddr_client, the same rule as write-svc).
 * Kept in the click stream only; never stored in PostgreSQL. And the host names a
 * request reached this shortener by, for the redirect-loop rule (DECISIONS R9).
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <netinet/in.h>
#include <stddef.h>

#define CLIENT_IP_MAX   INET6_ADDRSTRLEN
#define CLIENT_SELF_MAX 1024 /* the space-separated "host:port" list of client_self_hosts */

struct MHD_Connection;
struct netaddr_list;

/*
 * Writes the client's address (canonical text) into out and returns out, or NULL when
 * unknown. trusted: TRUSTED_PROXIES (borrowed; NULL trusts nobody).
 */
const char *client_ip(struct MHD_Connection *conn, const struct netaddr_list *trusted,
                      char out[CLIENT_IP_MAX]);

/*
 * Appends to out (cap bytes, NUL-terminated, space-separated) the normalised "host:port"
 * forms of a host[:port] list: lowercase, one trailing dot dropped, and a host without a
 * port as both :80 and :443. Entries with other characters than [a-z0-9.:_[]-] or that do
 * not fit are skipped. Used for SELF_HOSTS and for the Host a request came by.
 */
void client_self_hosts(const char *list, char *out, size_t cap);

/*
 * The self hosts of one request into out (CLIENT_SELF_MAX): the configured ones (cfg_self,
 * already normalised) plus the host the client used (X-Forwarded-Host from a trusted peer,
 * else Host).
 */
void client_request_self(struct MHD_Connection *conn, const struct netaddr_list *trusted,
                         const char *cfg_self, char out[CLIENT_SELF_MAX]);

/* 1 when s looks like an IPv4 or IPv6 address (hex digits, '.', ':') shorter than the max. */
int client_ip_text(const char *s);

#endif
