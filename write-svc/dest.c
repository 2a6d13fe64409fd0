/*
 * dest.c - the destination rules of a link (see dest.h).
 */
#include "dest.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "banned.h"

struct dest {
    size_t nself;
    char self[DEST_SELF_MAX][DEST_HOST_MAX]; /* normalised host:port */
    size_t nblock;
    char **block; /* owned: sorted normalised domains */
};

/* ------------------------------------------------------------------------ */
/* Host normalisation                                                        */
/* ------------------------------------------------------------------------ */

static int dest_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Lowercase, percent-decoded copy of h[0..len) without one trailing dot; 0 or ERR_INVALID. */
static int dest_decode_host(const char *h, size_t len, char out[DEST_NAME_MAX])
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)h[i];
        if (c == '%' && i + 2 < len && dest_hexval(h[i + 1]) >= 0 && dest_hexval(h[i + 2]) >= 0) {
            c = dest_hexval(h[i + 1]) * 16 + dest_hexval(h[i + 2]);
            i += 2;
        }
        if (c == '\0' || n + 1 >= DEST_NAME_MAX)
            return ERR_INVALID;
        out[n++] = (char)tolower(c);
    }
    if (n && out[n - 1] == '.')
        n--;
    out[n] = '\0';
    return n ? 0 : ERR_INVALID;
}

/* Rewrites an IPv4 (any inet_aton form) or a bracketed IPv6 host in canonical form. */
static void dest_canon_ip(char host[DEST_NAME_MAX])
{
    struct in_addr a4;
    unsigned char a6[16];
    char tmp[INET6_ADDRSTRLEN];
    size_t n = strlen(host);
    if (host[0] == '[' && n > 2 && host[n - 1] == ']' && n - 2 < sizeof(tmp)) {
        memcpy(tmp, host + 1, n - 2);
        tmp[n - 2] = '\0';
        if (inet_pton(AF_INET6, tmp, a6) == 1 && inet_ntop(AF_INET6, a6, tmp, sizeof(tmp)))
            snprintf(host, DEST_NAME_MAX, "[%s]", tmp);
        return;
    }
    if (strspn(host, "0123456789abcdefx.") == n && inet_aton(host, &a4) &&
        inet_ntop(AF_INET, &a4, tmp, sizeof(tmp)))
        snprintf(host, DEST_NAME_MAX, "%s", tmp);
}

/*
 * Normalises "host[:port]" (authority without userinfo) into host and port ("" when none
 * is written). 0 or ERR_INVALID.
 */
static int dest_split_authority(const char *a, size_t len, char host[DEST_NAME_MAX], char port[8])
{
    const char *colon = NULL;
    const char *close = a[0] == '[' ? memchr(a, ']', len) : NULL;
    if (a[0] == '[')
        colon = close && close + 1 < a + len && close[1] == ':' ? close + 1 : NULL;
    else
        colon = memchr(a, ':', len);
    size_t hlen = colon ? (size_t)(colon - a) : len;
    size_t plen = colon ? len - hlen - 1 : 0;
    if (plen >= 8 || dest_decode_host(a, hlen, host) != 0)
        return ERR_INVALID;
    memcpy(port, colon ? colon + 1 : "", plen);
    port[plen] = '\0';
    if (plen && strspn(port, "0123456789") != plen)
        return ERR_INVALID;
    while (port[0] == '0' && port[1]) /* ":080" is port 80 */
        memmove(port, port + 1, strlen(port));
    dest_canon_ip(host);
    return 0;
}

int dest_url_hostport(const char *url, size_t len, char out[DEST_HOST_MAX],
                      char host[DEST_NAME_MAX])
{
    char h[DEST_NAME_MAX], port[8];
    int https = len >= 8 && strncasecmp(url, "https://", 8) == 0;
    size_t skip = https ? 8 : len >= 7 && strncasecmp(url, "http://", 7) == 0 ? 7 : 0;
    if (!skip)
        return ERR_INVALID;
    const char *a = url + skip;
    size_t alen = strcspn(a, "/?#");
    if (alen > len - skip)
        alen = len - skip;
    for (size_t i = alen; i > 0; i--) {
        if (a[i - 1] == '@') { /* drop userinfo */
            alen -= i;
            a += i;
            break;
        }
    }
    if (alen == 0 || dest_split_authority(a, alen, h, port) != 0)
        return ERR_INVALID;
    snprintf(out, DEST_HOST_MAX, "%s:%s", h, port[0] ? port : https ? "443" : "80");
    if (host)
        snprintf(host, DEST_NAME_MAX, "%s", h);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Self hosts                                                                */
/* ------------------------------------------------------------------------ */

static int dest_self_add(struct dest *d, const char *hostport)
{
    for (size_t i = 0; i < d->nself; i++)
        if (strcmp(d->self[i], hostport) == 0)
            return 0;
    if (d->nself >= DEST_SELF_MAX)
        return ERR_TOO_BIG;
    snprintf(d->self[d->nself++], DEST_HOST_MAX, "%s", hostport);
    return 0;
}

/* One SELF_HOSTS entry "host[:port]"; without a port it stands for :80 and :443. */
static int dest_self_entry(struct dest *d, const char *s, size_t len)
{
    char host[DEST_NAME_MAX], port[8], hp[DEST_HOST_MAX];
    if (memchr(s, '/', len) || memchr(s, '@', len) || dest_split_authority(s, len, host, port) != 0)
        return ERR_INVALID;
    if (port[0]) {
        snprintf(hp, sizeof(hp), "%s:%s", host, port);
        return dest_self_add(d, hp);
    }
    snprintf(hp, sizeof(hp), "%s:80", host);
    int rc = dest_self_add(d, hp);
    snprintf(hp, sizeof(hp), "%s:443", host);
    return rc ? rc : dest_self_add(d, hp);
}

static int dest_self_parse(struct dest *d, const char *base, const char *list, char *err,
                           size_t errlen)
{
    /* Its authority as a SELF_HOSTS entry: without a port, :80 and :443 both (http and https
       of one name are the same front door behind a redirect to https). */
    const char *a = strstr(base, "://");
    a = a ? a + 3 : base;
    if (dest_self_entry(d, a, strcspn(a, "/?#")) != 0) {
        snprintf(err, errlen, "PUBLIC_BASE_URL: no usable host");
        return ERR_INVALID;
    }
    for (const char *p = list ? list : ""; *p;) {
        p += strspn(p, " ,\t");
        size_t len = strcspn(p, " ,\t");
        if (len && dest_self_entry(d, p, len) != 0) {
            snprintf(err, errlen, "SELF_HOSTS: bad entry '%.*s' (expected host[:port], at most %d)",
                     (int)(len > 64 ? 64 : len), p, DEST_SELF_MAX);
            return ERR_INVALID;
        }
        p += len;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The blocklist file                                                        */
/* ------------------------------------------------------------------------ */

static int dest_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line: "" (blank or comment only) or a domain; *why on a bad one. 0 or ERR_INVALID. */
static int dest_block_line(char *line, char out[DEST_NAME_MAX], const char **why)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    char *s = line + strspn(line, " \t\r\n");
    size_t len = strcspn(s, " \t\r\n");
    out[0] = '\0';
    if (len == 0)
        return 0;
    if (s[len + strspn(s + len, " \t\r\n")] != '\0')
        return *why = "one domain per line", ERR_INVALID;
    if (len >= 2 && s[0] == '*' && s[1] == '.')
        s += 2, len -= 2; /* "*.example.com" means what "example.com" does */
    if (len == 0 || len >= DEST_NAME_MAX ||
        strspn(s, "abcdefghijklmnopqrstuvwxyz"
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") < len)
        return *why = "not a domain (letters, digits, '.', '-', '_')", ERR_INVALID;
    if (s[0] == '.' || strstr(s, ".."))
        return *why = "empty label", ERR_INVALID;
    s[len] = '\0';
    if (dest_decode_host(s, len, out) != 0)
        return *why = "not a domain", ERR_INVALID;
    dest_canon_ip(out);
    return 0;
}

static int dest_block_add(struct dest *d, const char *dom, size_t *cap)
{
    if (d->nblock >= DEST_BLOCK_MAX)
        return ERR_TOO_BIG;
    if (d->nblock == *cap) {
        size_t ncap = *cap ? *cap * 2 : 256;
        char **nb = realloc(d->block, ncap * sizeof(*nb));
        if (!nb)
            return ERR_NOMEM;
        d->block = nb;
        *cap = ncap;
    }
    d->block[d->nblock] = strdup(dom);
    if (!d->block[d->nblock])
        return ERR_NOMEM;
    d->nblock++;
    return 0;
}

/* Loads path (bounded: DEST_FILE_MAX bytes, DEST_BLOCK_MAX domains). 0 or ERR_* with err. */
static int dest_block_load(struct dest *d, const char *path, char *err, size_t errlen)
{
    char line[1024], dom[DEST_NAME_MAX];
    const char *why = NULL;
    size_t cap = 0, lineno = 0;
    long total = 0;
    int rc = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "BLOCKLIST_FILE: cannot open '%s': %s", path, strerror(errno));
        return ERR_INVALID;
    }
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        size_t n = strlen(line);
        lineno++;
        total += (long)n;
        if (total > DEST_FILE_MAX || (n == sizeof(line) - 1 && line[n - 1] != '\n'))
            why = total > DEST_FILE_MAX ? "file larger than 16 MiB" : "line longer than 1023 bytes";
        else if (dest_block_line(line, dom, &why) == 0 && dom[0])
            rc = dest_block_add(d, dom, &cap);
        if (why || rc)
            rc = rc ? rc : ERR_INVALID;
    }
    if (rc == 0 && ferror(f))
        why = "read error", rc = ERR_INVALID;
    fclose(f);
    if (rc) {
        snprintf(err, errlen, "BLOCKLIST_FILE: '%s' line %zu: %s", path, lineno,
                 why                 ? why
                 : rc == ERR_TOO_BIG ? "more than 100000 domains"
                                     : "out of memory");
        return rc;
    }
    if (d->nblock)
        qsort(d->block, d->nblock, sizeof(*d->block), dest_cmp);
    return 0;
}

/* 1 when host (normalised, no port) or one of its parent domains is in the blocklist. */
static int dest_blocked(const struct dest *d, const char *host)
{
    for (const char *p = host; p && *p; p = strchr(p, '.'), p = p ? p + 1 : NULL) {
        if (d->nblock && bsearch(&p, d->block, d->nblock, sizeof(*d->block), dest_cmp))
            return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Public                                                                    */
/* ------------------------------------------------------------------------ */

struct dest *dest_new(const char *public_base_url, const char *self_hosts,
                      const char *blocklist_file, char *err, size_t errlen)
{
    struct dest *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (dest_self_parse(d, public_base_url, self_hosts, err, errlen) != 0 ||
        (blocklist_file && blocklist_file[0] &&
         dest_block_load(d, blocklist_file, err, errlen) != 0)) {
        dest_free(d);
        return NULL;
    }
    return d;
}

void dest_free(struct dest *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nblock; i++)
        free(d->block[i]);
    free(d->block);
    free(d);
}

size_t dest_blocked_count(const struct dest *d)
{
    return d->nblock;
}

int dest_check(const struct dest *d, const char *url, size_t len, const char **why)
{
    char hp[DEST_HOST_MAX], host[DEST_NAME_MAX];
    if (dest_url_hostport(url, len, hp, host) != 0) {
        *why = "must be an http or https URL";
        return ERR_INVALID;
    }
    for (size_t i = 0; i < d->nself; i++) {
        if (strcmp(d->self[i], hp) == 0) {
            *why = "must not point at this URL shortener";
            return ERR_INVALID;
        }
    }
    if (dest_blocked(d, host)) {
        *why = "points at a blocked domain";
        return ERR_INVALID;
    }
    return 0;
}
