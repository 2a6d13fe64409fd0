/*
 * router.c - method + path pattern -> handler (see router.h for the rules).
 *
 * Matching walks the pattern and the path one segment at a time; nothing is
 * allocated and the path is never modified. Parameters point into the path.
 */
#include "router.h"

#include <stdio.h>
#include <string.h>

#include "banned.h"

#define ROUTER_ID_MAX_DIGITS 18

static const struct {
    enum http_method bit;
    const char *name;
} router_methods[] = {
    {HTTP_GET, "GET"},     {HTTP_HEAD, "HEAD"},     {HTTP_POST, "POST"},       {HTTP_PUT, "PUT"},
    {HTTP_PATCH, "PATCH"}, {HTTP_DELETE, "DELETE"}, {HTTP_OPTIONS, "OPTIONS"},
};

/* The methods a route accepts: HEAD comes for free wherever GET is allowed. */
static unsigned router_effective(unsigned methods)
{
    if (methods & HTTP_GET)
        methods |= HTTP_HEAD;
    return methods;
}

/* Length of the segment starting at s (up to the next '/' or the end). */
static size_t router_seg_len(const char *s, size_t n)
{
    const char *slash = memchr(s, '/', n);
    return slash ? (size_t)(slash - s) : n;
}

/* Parses a ":id" segment: 1..18 decimal digits and nothing else. */
static int router_parse_id(const char *s, size_t n, long long *out)
{
    if (n == 0 || n > ROUTER_ID_MAX_DIGITS)
        return 0;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

/* Matches one pattern segment against one path segment, recording a parameter. */
static int router_match_seg(const char *pat, size_t plen, const char *seg, size_t slen,
                            struct route_match *m)
{
    if (plen == 0 || pat[0] != ':')
        return plen == slen && memcmp(pat, seg, slen) == 0;
    if (m->nparams >= ROUTER_MAX_PARAMS)
        BUG("route pattern has more parameters than ROUTER_MAX_PARAMS");
    long long id = 0;
    if (plen == 3 && memcmp(pat, ":id", 3) == 0) {
        if (!router_parse_id(seg, slen, &id))
            return 0;
    } else if (slen == 0) {
        /* ":code" and any other named parameter: one non-empty segment. */
        return 0;
    }
    m->params[m->nparams].p = seg;
    m->params[m->nparams].len = slen;
    m->ids[m->nparams] = id;
    m->nparams++;
    return 1;
}

/* Matches a whole pattern against path[0..n) (both start with '/'). */
static int router_match_pattern(const char *pattern, const char *path, size_t n,
                                struct route_match *m)
{
    const char *pat = pattern;
    size_t pn = strlen(pattern);
    memset(m, 0, sizeof(*m));
    if (pn == 0 || pat[0] != '/')
        return 0;
    pat++, pn--;
    path++, n--;
    for (;;) {
        size_t plen = router_seg_len(pat, pn);
        size_t slen = router_seg_len(path, n);
        if (!router_match_seg(pat, plen, path, slen, m))
            return 0;
        int pat_more = plen < pn;
        int path_more = slen < n;
        if (pat_more != path_more)
            return 0;
        if (!pat_more)
            return 1;
        pat += plen + 1, pn -= plen + 1;
        path += slen + 1, n -= slen + 1;
    }
}

enum router_result router_match(const struct route *tab, size_t n, enum http_method method,
                                const char *path, struct route_match *out, unsigned *allowed)
{
    size_t len = path ? strlen(path) : 0;
    unsigned seen = 0;
    if (len == 0 || path[0] != '/')
        return ROUTER_NOT_FOUND;
    if (len > 1 && path[len - 1] == '/')
        len--; /* One trailing slash is ignored. */
    for (size_t i = 0; i < n; i++) {
        struct route_match m;
        if (!router_match_pattern(tab[i].pattern, path, len, &m))
            continue;
        unsigned methods = router_effective(tab[i].methods);
        if (methods & (unsigned)method) {
            m.route = &tab[i];
            *out = m;
            return ROUTER_FOUND;
        }
        seen |= methods;
    }
    if (!seen)
        return ROUTER_NOT_FOUND;
    if (allowed)
        *allowed = seen;
    return ROUTER_METHOD_NOT_ALLOWED;
}

enum http_method router_method_parse(const char *s)
{
    if (!s)
        return HTTP_OTHER;
    for (size_t i = 0; i < ARRAY_SIZE(router_methods); i++)
        if (strcmp(s, router_methods[i].name) == 0)
            return router_methods[i].bit;
    return HTTP_OTHER;
}

void router_methods_str(unsigned mask, char *out, size_t outlen)
{
    size_t used = 0;
    if (outlen == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < ARRAY_SIZE(router_methods); i++) {
        if (!(mask & (unsigned)router_methods[i].bit))
            continue;
        int w =
            snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", router_methods[i].name);
        if (w < 0 || (size_t)w >= outlen - used)
            return; /* Truncated; snprintf left it NUL-terminated. */
        used += (size_t)w;
    }
}
