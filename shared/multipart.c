/*
 * multipart.c - finds one part of a multipart/form-data body (see multipart.h).
 *
 * Shape accepted (RFC 2046 section 5.1.1, RFC 7578):
 *   [preamble CRLF] "--" boundary [spaces] CRLF
 *   headers CRLF CRLF content CRLF "--" boundary [spaces] CRLF
 *   ... CRLF "--" boundary "--" [epilogue]
 * LF is tolerated wherever CRLF is expected. Nothing is copied: the content
 * pointer handed back points into the body.
 */
#include "multipart.h"

#include <string.h>
#include <strings.h>

#include "banned.h"

#define MP_TYPE         "multipart/form-data"
#define MP_BOUNDARY_MAX 70

struct mp_str {
    const char *p;
    size_t n;
};

static int mp_is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Skips spaces and tabs in [s, end). */
static const char *mp_skip_ws(const char *s, const char *end)
{
    while (s < end && mp_is_space(*s))
        s++;
    return s;
}

/* 1 when c may appear in a boundary (RFC 2046 bchars). */
static int mp_bchar(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("'()+_,-./:=? ", c) != NULL);
}

/*
 * Finds parameter `key` (case-insensitive) in the "; k=v; k2="v 2"" list of a
 * header value s[0..n) and stores its raw value (quotes stripped, backslash
 * escapes kept) in *val and whether it was quoted in *quoted. Returns 1 when
 * found, 0 when not and -1 when the list is malformed.
 */
static int mp_param(const char *s, size_t n, const char *key, struct mp_str *val, int *quoted)
{
    const char *end = s + n;
    const char *p = memchr(s, ';', n);
    size_t klen = strlen(key);
    while (p && p < end) {
        p = mp_skip_ws(p + 1, end);
        const char *k = p;
        while (p < end && *p != '=' && *p != ';' && !mp_is_space(*p))
            p++;
        size_t kn = (size_t)(p - k);
        p = mp_skip_ws(p, end);
        if (p == end || *p != '=')
            return kn == 0 && p == end ? 0 : -1;
        p = mp_skip_ws(p + 1, end);
        const char *v = p;
        int q = p < end && *p == '"';
        if (q) {
            for (v = ++p; p < end && *p != '"'; p++)
                if (*p == '\\' && p + 1 < end)
                    p++;
            if (p == end)
                return -1;
        } else {
            while (p < end && *p != ';' && !mp_is_space(*p))
                p++;
        }
        if (kn == klen && strncasecmp(k, key, klen) == 0) {
            val->p = v;
            val->n = (size_t)(p - v);
            *quoted = q;
            return 1;
        }
        p = mp_skip_ws(p + q, end);
        if (p < end && *p != ';')
            return -1;
    }
    return 0;
}

/* Takes the boundary from the Content-Type value. Returns 0 or ERR_INVALID. */
static int mp_boundary(const char *ct, struct mp_str *out)
{
    size_t tn = strlen(MP_TYPE);
    if (!ct)
        return ERR_INVALID;
    ct = mp_skip_ws(ct, ct + strlen(ct));
    if (strncasecmp(ct, MP_TYPE, tn) != 0)
        return ERR_INVALID;
    if (ct[tn] != '\0' && ct[tn] != ';' && !mp_is_space(ct[tn]))
        return ERR_INVALID;
    int quoted;
    if (mp_param(ct, strlen(ct), "boundary", out, &quoted) != 1)
        return ERR_INVALID;
    if (out->n == 0 || out->n > MP_BOUNDARY_MAX || out->p[out->n - 1] == ' ')
        return ERR_INVALID;
    for (size_t i = 0; i < out->n; i++)
        if (!mp_bchar(out->p[i]))
            return ERR_INVALID;
    return 0;
}

/* Length of the line break at s ("\r\n" or "\n"), or 0. */
static size_t mp_eol(const char *s, const char *end)
{
    if (s < end && *s == '\n')
        return 1;
    if (s + 1 < end && s[0] == '\r' && s[1] == '\n')
        return 2;
    return 0;
}

/*
 * Checks what follows a "--boundary" at s: "--" (the close delimiter, *last
 * set) or optional spaces and a line break. Returns where the next part's
 * headers start, or NULL when the delimiter line is malformed.
 */
static const char *mp_after_delim(const char *s, const char *end, int *last)
{
    *last = 0;
    if (end - s >= 2 && s[0] == '-' && s[1] == '-') {
        *last = 1;
        return s + 2;
    }
    s = mp_skip_ws(s, end);
    size_t eol = mp_eol(s, end);
    return eol ? s + eol : NULL;
}

/* Compares a parameter value (backslash escapes undone when quoted) with name. */
static int mp_name_eq(const struct mp_str *v, int quoted, const char *name)
{
    size_t j = 0, nlen = strlen(name);
    for (size_t i = 0; i < v->n; i++, j++) {
        if (quoted && v->p[i] == '\\' && i + 1 < v->n)
            i++;
        if (j >= nlen || v->p[i] != name[j])
            return 0;
    }
    return j == nlen;
}

/*
 * Reads a part's header lines from *pos up to the empty line, leaving *pos at
 * the content. Sets *match when Content-Disposition names `name`. Returns 0 or
 * ERR_INVALID (no empty line, or no Content-Disposition with a name).
 */
static int mp_headers(const char **pos, const char *end, const char *name, int *match)
{
    static const char cd[] = "content-disposition:";
    const char *p = *pos;
    int named = 0;
    *match = 0;
    for (;;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return ERR_INVALID;
        const char *le = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
        if (le == p) {
            *pos = nl + 1;
            return named ? 0 : ERR_INVALID;
        }
        size_t ln = (size_t)(le - p);
        if (ln > sizeof(cd) - 1 && strncasecmp(p, cd, sizeof(cd) - 1) == 0) {
            struct mp_str v;
            int quoted;
            int rc = mp_param(p, ln, "name", &v, &quoted);
            if (rc < 0)
                return ERR_INVALID;
            if (rc == 1) {
                named = 1;
                *match = mp_name_eq(&v, quoted, name);
            }
        }
        p = nl + 1;
    }
}

/* Finds the next "<LF>--boundary" at or after s; returns the LF (or CR before it), or NULL. */
static const char *mp_next_delim(const char *s, const char *end, const struct mp_str *b,
                                 const char **after)
{
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl)
            return NULL;
        const char *d = nl + 1;
        if ((size_t)(end - d) >= b->n + 2 && d[0] == '-' && d[1] == '-' &&
            memcmp(d + 2, b->p, b->n) == 0) {
            *after = d + 2 + b->n;
            return nl > s && nl[-1] == '\r' ? nl - 1 : nl;
        }
        s = nl + 1;
    }
    return NULL;
}

/* Finds the first delimiter: at the very start of the body or after a preamble line. */
static const char *mp_first_delim(const char *body, const char *end, const struct mp_str *b)
{
    const char *after;
    if ((size_t)(end - body) >= b->n + 2 && body[0] == '-' && body[1] == '-' &&
        memcmp(body + 2, b->p, b->n) == 0)
        return body + 2 + b->n;
    return mp_next_delim(body, end, b, &after) ? after : NULL;
}

int multipart_find(const char *content_type, const char *body, size_t len, const char *name,
                   const char **data, size_t *dlen)
{
    struct mp_str b;
    int last, match;
    if (mp_boundary(content_type, &b) || !body)
        return ERR_INVALID;
    const char *end = body + len;
    const char *p = mp_first_delim(body, end, &b);
    if (!p)
        return ERR_INVALID;
    for (;;) {
        p = mp_after_delim(p, end, &last);
        if (!p)
            return ERR_INVALID;
        if (last)
            return ERR_NOT_FOUND;
        if (mp_headers(&p, end, name, &match))
            return ERR_INVALID;
        const char *content = p;
        const char *stop = mp_next_delim(content > body ? content - 1 : content, end, &b, &p);
        if (!stop)
            return ERR_INVALID; /* The part is never closed. */
        if (stop < content)
            stop = content; /* An empty part right after the header block. */
        if (match) {
            *data = content;
            *dlen = (size_t)(stop - content);
            return 0;
        }
    }
}
