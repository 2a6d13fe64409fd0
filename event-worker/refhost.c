/*
 * refhost.c - the host of a Referer value (see refhost.h).
 */
#include "refhost.h"

#include <string.h>

#include "banned.h"

#define REFHOST_NAME_MAX 253

static int refhost_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int refhost_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Length of the scheme "[A-Za-z][A-Za-z0-9+.-]*" followed by "://", or 0. */
static size_t refhost_scheme(const char *s)
{
    size_t i = 0;
    if (!refhost_alpha(s[0]))
        return 0;
    while (refhost_alpha(s[i]) || refhost_digit(s[i]) || s[i] == '+' || s[i] == '.' || s[i] == '-')
        i++;
    return strncmp(s + i, "://", 3) == 0 ? i + 3 : 0;
}

/* 1 when c may appear in a host: letters, digits, '-', '.', '_', and UTF-8 (IDN) bytes. */
static int refhost_byte_ok(unsigned char c, int bracketed)
{
    if (c >= 0x80 || refhost_alpha((char)c) || refhost_digit((char)c) || c == '-' || c == '.' ||
        c == '_')
        return 1;
    return bracketed && (c == ':' || c == '[' || c == ']');
}

/* The host of the authority auth[0..n): after the last '@', before a port. Sets *len. */
static const char *refhost_host(const char *auth, size_t n, size_t *len)
{
    const char *at = memrchr(auth, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    if (n > 0 && auth[0] == '[') {
        const char *close = memchr(auth, ']', n);
        *len = close ? (size_t)(close - auth) + 1 : 0; /* no ']' is no host */
        return auth;
    }
    const char *colon = memchr(auth, ':', n);
    *len = colon ? (size_t)(colon - auth) : n;
    return auth;
}

int refhost_parse(const char *ref, char out[REFHOST_MAX])
{
    out[0] = '\0';
    if (!ref)
        return ERR_INVALID;
    ref += strspn(ref, " \t");
    size_t sch = refhost_scheme(ref);
    if (sch == 0)
        return ERR_INVALID;
    const char *auth = ref + sch;
    size_t alen = strcspn(auth, "/?#"), hlen;
    const char *host = refhost_host(auth, alen, &hlen);
    if (hlen > 0 && host[0] != '[' && host[hlen - 1] == '.')
        hlen--;
    if (hlen == 0 || hlen > REFHOST_NAME_MAX)
        return ERR_INVALID;
    for (size_t i = 0; i < hlen; i++) {
        unsigned char c = (unsigned char)host[i];
        if (!refhost_byte_ok(c, host[0] == '[')) {
            out[0] = '\0';
            return ERR_INVALID;
        }
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    out[hlen] = '\0';
    return 0;
}
