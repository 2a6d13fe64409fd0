/*
 * dest.h - the destination rules of a link (PRODUCT.md section 4, DECISIONS R7-R10):
 * original_url must not point at the shortener itself (the host of PUBLIC_BASE_URL and
 * every SELF_HOSTS entry: a redirect loop) nor at a domain of the optional blocklist file
 * (BLOCKLIST_FILE: the domain and all its subdomains).
 *
 * Hosts are compared normalised: lowercase, percent-escapes decoded, one trailing dot
 * dropped, IPv4 in any inet_aton spelling (127.1, 0x7f.1) as a dotted quad, IPv6 canonical
 * in brackets, and always with a port (80 for http, 443 for https when none is written).
 * A self host written without a port matches both 80 and 443.
 */
#ifndef DEST_H
#define DEST_H

#include <stddef.h>

#include "common.h"

#define DEST_NAME_MAX  256                 /* a normalised host */
#define DEST_HOST_MAX  (DEST_NAME_MAX + 8) /* a normalised "host:port" */
#define DEST_BLOCK_MAX 100000
#define DEST_FILE_MAX  (16L * 1024 * 1024)
#define DEST_SELF_MAX  32

struct dest;

/*
 * A new rule set from PUBLIC_BASE_URL (validated already), SELF_HOSTS (a comma/space list
 * of host[:port], may be "") and BLOCKLIST_FILE (a path, or NULL/"" for none). NULL on a
 * bad entry, an unreadable or bad file (err says which line and why), or OOM.
 * The caller frees it with dest_free.
 */
struct dest *dest_new(const char *public_base_url, const char *self_hosts,
                      const char *blocklist_file, char *err, size_t errlen);
void dest_free(struct dest *d);

/* The number of blocklist domains loaded. */
size_t dest_blocked_count(const struct dest *d);

/*
 * Checks a validated http(s) URL: 0, or ERR_INVALID with *why the static reason ("must not
 * point at this shortener", "points at a blocked domain").
 */
int dest_check(const struct dest *d, const char *url, size_t len, const char **why);

/*
 * The normalised "host:port" of an http(s) URL into out (DEST_HOST_MAX bytes), and the
 * host alone (without port) in host (DEST_NAME_MAX bytes) when not NULL. 0 or ERR_INVALID.
 */
int dest_url_hostport(const char *url, size_t len, char out[DEST_HOST_MAX],
                      char host[DEST_NAME_MAX]) ATTR_WARN_UNUSED;

#endif
