/*
 * validate.c - the input rules of API.md section 5 (see validate.h).
 *
 * Every check is byte-exact: nothing is trimmed, case-folded or rewritten, so
 * a value that passes is stored exactly as the client sent it.
 */
#include "validate.h"

#include <limits.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

#include "banned.h"

#define VALIDATE_QUERY_ID_DIGITS  18
#define VALIDATE_PORT_DIGITS      5
#define VALIDATE_PER_PAGE_DEFAULT 20

static const char why_null[] = "must be a string";
static const char why_empty[] = "must not be empty";
static const char why_blank[] = "must not be blank";
static const char why_control[] = "must not contain control characters";
static const char why_space[] = "must not contain whitespace";

/* ASCII only on purpose: isalnum() and friends depend on the locale. */
static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_alnum(unsigned char c)
{
    return is_alpha(c) || is_digit(c);
}

static int is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* C0 controls and DEL. Tab, CR and LF are controls too. */
static int is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* 1 when s[0..len) equals the lowercase literal lit, ignoring ASCII case. */
static int equals_nocase(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    if (len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower(s[i]) != lit[i])
            return 0;
    return 1;
}

static int fail(const char **why, const char *reason)
{
    if (why)
        *why = reason;
    return ERR_INVALID;
}

/* Refuses empty and whitespace-only text and any control byte; 0 or ERR_INVALID. */
static int check_text(const char *s, size_t len, int allow_empty, const char **why)
{
    int blank = 1;
    if (!s)
        return fail(why, why_null);
    if (len == 0)
        return allow_empty ? 0 : fail(why, why_empty);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_control(c))
            return fail(why, why_control);
        if (c != ' ')
            blank = 0;
    }
    if (blank && !allow_empty)
        return fail(why, why_blank);
    return 0;
}

/*
 * Text that is one token: present, 1..max bytes (too_long otherwise), no control
 * byte and no whitespace anywhere (emails, URLs). 0 or ERR_INVALID.
 */
static int check_token(const char *s, size_t len, size_t max, const char *too_long,
                       const char **why)
{
    if (!s)
        return fail(why, why_null);
    if (len == 0)
        return fail(why, why_empty);
    if (len > max)
        return fail(why, too_long);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_control(c))
            return fail(why, why_control);
        if (is_space(c))
            return fail(why, why_space);
    }
    return 0;
}

int validate_username(const char *s, size_t len, const char **why)
{
    int rc = check_text(s, len, 0, why);
    if (rc)
        return rc;
    if (len > VALIDATE_USERNAME_MAX)
        return fail(why, "must be at most 150 characters");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_alnum(c) && c != '_' && c != '.' && c != '-')
            return fail(why, "may contain only letters, digits, '_', '.' and '-'");
    }
    return 0;
}

/* Checks an email domain: non-empty labels separated by dots, at least one dot. */
static int check_email_domain(const char *d, size_t len, const char **why)
{
    size_t label = 0;
    int dots = 0;
    for (size_t i = 0; i < len; i++) {
        if (d[i] != '.') {
            label++;
            continue;
        }
        if (label == 0)
            return fail(why, "must have a valid domain");
        label = 0;
        dots++;
    }
    if (label == 0 || dots == 0)
        return fail(why, "must have a valid domain");
    return 0;
}

int validate_email(const char *s, size_t len, const char **why)
{
    const char *at = NULL;
    int rc = check_token(s, len, VALIDATE_EMAIL_MAX, "must be at most 254 characters", why);
    if (rc)
        return rc;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '@') {
            if (at)
                return fail(why, "must contain exactly one '@'");
            at = s + i;
        }
    }
    if (!at)
        return fail(why, "must contain exactly one '@'");
    if (at == s)
        return fail(why, "must have a non-empty local part");
    return check_email_domain(at + 1, len - (size_t)(at + 1 - s), why);
}

/*
 * Host characters of RFC 3986 reg-name (unreserved, sub-delims, '%'), plus
 * bytes >= 0x80 so that UTF-8 internationalised names pass unchanged.
 */
static int is_host_char(unsigned char c)
{
    return is_alnum(c) || c >= 0x80 || (c != '\0' && strchr("-._~%!$&'()*+,;=", c) != NULL);
}

/* A bracketed IPv6 literal such as "[::1]": non-empty, hex digits, ':' and '.'. */
static int check_ipv6(const char *h, size_t len)
{
    if (len < 3 || h[0] != '[' || h[len - 1] != ']')
        return ERR_INVALID;
    for (size_t i = 1; i + 1 < len; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!is_hex(c) && c != ':' && c != '.')
            return ERR_INVALID;
    }
    return memchr(h + 1, ':', len - 2) ? 0 : ERR_INVALID;
}

/*
 * A registered name: host characters, no empty label (one trailing dot, as in
 * "example.com.", is allowed), and a dot somewhere unless it is "localhost".
 */
static int check_reg_name(const char *h, size_t len)
{
    size_t label = 0;
    int dots = 0;
    if (equals_nocase(h, len, "localhost"))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!is_host_char(c))
            return ERR_INVALID;
        if (c != '.') {
            label++;
            continue;
        }
        if (label == 0)
            return ERR_INVALID;
        label = 0;
        dots++;
    }
    if (dots == 0 || (label == 0 && dots == 1))
        return ERR_INVALID;
    return 0;
}

/* ":port" with 1..5 digits and a value of at most 65535. */
static int check_port(const char *p, size_t len)
{
    long v = 0;
    if (len < 2 || len > 1 + VALIDATE_PORT_DIGITS || p[0] != ':')
        return ERR_INVALID;
    for (size_t i = 1; i < len; i++) {
        if (!is_digit((unsigned char)p[i]))
            return ERR_INVALID;
        v = v * 10 + (p[i] - '0');
    }
    return v <= 65535 ? 0 : ERR_INVALID;
}

/* The authority: [userinfo@]host[:port]; 0 or ERR_INVALID with *why set. */
static int check_authority(const char *a, size_t len, const char **why)
{
    const char *host = a;
    const char *end = a + len;
    for (const char *p = a; p < end; p++)
        if (*p == '@')
            host = p + 1;
    if (host == end)
        return fail(why, "must have a host");
    const char *port = NULL;
    if (*host == '[') {
        const char *close = memchr(host, ']', (size_t)(end - host));
        if (!close || check_ipv6(host, (size_t)(close + 1 - host)))
            return fail(why, "must have a valid host");
        if (close + 1 < end)
            port = close + 1;
    } else {
        port = memchr(host, ':', (size_t)(end - host));
        size_t hlen = (size_t)((port ? port : end) - host);
        if (hlen == 0)
            return fail(why, "must have a host");
        if (check_reg_name(host, hlen))
            return fail(why, "must have a valid host");
    }
    if (port && check_port(port, (size_t)(end - port)))
        return fail(why, "must have a valid port");
    return 0;
}

int validate_url(const char *s, size_t len, const char **why)
{
    size_t skip;
    int rc = check_token(s, len, VALIDATE_URL_MAX, "must be at most 2048 characters", why);
    if (rc)
        return rc;
    if (len >= 7 && equals_nocase(s, 7, "http://"))
        skip = 7;
    else if (len >= 8 && equals_nocase(s, 8, "https://"))
        skip = 8;
    else
        return fail(why, "must be an http or https URL");
    const char *a = s + skip;
    size_t alen = 0;
    while (skip + alen < len && a[alen] != '/' && a[alen] != '?' && a[alen] != '#')
        alen++;
    return check_authority(a, alen, why);
}

int validate_title(const char *s, size_t len, const char **why)
{
    int rc = check_text(s, len, 1, why);
    if (rc)
        return rc;
    if (len > VALIDATE_TITLE_MAX)
        return fail(why, "must be at most 255 characters");
    return 0;
}

int validate_event_type(const char *s, size_t len, const char **why)
{
    int rc = check_text(s, len, 0, why);
    if (rc)
        return rc;
    if (len > VALIDATE_EVENT_TYPE_MAX)
        return fail(why, "must be at most 50 characters");
    return 0;
}

static int is_code_char(unsigned char c)
{
    return is_alnum(c) || c == '_' || c == '-';
}

int validate_short_code(const char *s, size_t len)
{
    if (!s || len == 0 || len > VALIDATE_CODE_MAX)
        return ERR_INVALID;
    for (size_t i = 0; i < len; i++)
        if (!is_code_char((unsigned char)s[i]))
            return ERR_INVALID;
    return 0;
}

int validate_alias(const char *s, size_t len, const char **why)
{
    if (!s)
        return fail(why, why_null);
    if (len < VALIDATE_ALIAS_MIN || len > VALIDATE_CODE_MAX)
        return fail(why, "must be 3 to 64 characters");
    if (!is_alnum((unsigned char)s[0]))
        return fail(why, "must start with a letter or digit");
    for (size_t i = 0; i < len; i++)
        if (!is_code_char((unsigned char)s[i]))
            return fail(why, "may only hold letters, digits, '_' and '-'");
    return 0;
}

int validate_timestamp(const char *s, size_t len, const char **why)
{
    time_t t;
    if (!s)
        return fail(why, why_null);
    if (len != 19 || s[10] != 'T' || timefmt_parse(s, &t) != 0 || t < 0)
        return fail(why, "must be a UTC time as YYYY-MM-DDTHH:MM:SS");
    return 0;
}

int validate_query_id(const char *s, long long *out)
{
    long long v = 0;
    size_t i = 0;
    if (!s)
        return ERR_INVALID;
    for (; s[i]; i++) {
        if (i >= VALIDATE_QUERY_ID_DIGITS || !is_digit((unsigned char)s[i]))
            return ERR_INVALID;
        v = v * 10 + (s[i] - '0');
    }
    if (i == 0 || v < 1)
        return ERR_INVALID;
    *out = v;
    return 0;
}

int validate_query_bool(const char *s, int *out)
{
    if (!s)
        return ERR_INVALID;
    size_t len = strlen(s);
    if (equals_nocase(s, len, "true") || equals_nocase(s, len, "1")) {
        *out = 1;
        return 0;
    }
    if (equals_nocase(s, len, "false") || equals_nocase(s, len, "0")) {
        *out = 0;
        return 0;
    }
    return ERR_INVALID;
}

/*
 * Parses an optionally signed decimal integer, saturating at +-LONG_MAX
 * instead of overflowing. 0 and *out set, or ERR_INVALID for anything else
 * (empty, spaces, fractions, trailing bytes).
 */
static int parse_saturating(const char *s, long *out)
{
    int neg = 0;
    long v = 0;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    if (!*s)
        return ERR_INVALID;
    for (; *s; s++) {
        if (!is_digit((unsigned char)*s))
            return ERR_INVALID;
        int d = *s - '0';
        v = v > (LONG_MAX - d) / 10 ? LONG_MAX : v * 10 + d;
    }
    *out = neg ? -v : v;
    return 0;
}

void validate_pagination(const char *page, const char *per_page, int *paginate, long *limit,
                         long *offset)
{
    long pg = 1;
    long pp = VALIDATE_PER_PAGE_DEFAULT;
    /* A value that is not a decimal integer counts as absent (DECISIONS.md A22). */
    int has_pg = page && parse_saturating(page, &pg) == 0;
    int has_pp = per_page && parse_saturating(per_page, &pp) == 0;
    *paginate = 0;
    *limit = 0;
    *offset = 0;
    if (!has_pg && !has_pp)
        return;
    if (pg < 1)
        pg = 1;
    if (pp < 1)
        pp = 1;
    if (pp > VALIDATE_PER_PAGE_MAX)
        pp = VALIDATE_PER_PAGE_MAX;
    /* Keep offset + limit within a long, so no caller arithmetic can overflow. */
    long max_skip = (LONG_MAX - pp) / pp;
    if (pg - 1 > max_skip)
        pg = max_skip + 1;
    *paginate = 1;
    *limit = pp;
    *offset = (pg - 1) * pp;
}
