/*
 * config.c - table-driven configuration from environment variables (see config.h).
 *
 * Rules beyond the header: an empty variable counts as unset, except for a CFG_LIST
 * (so "PORT=" falls back to the default, and a required one is reported missing); an entry that
 * is unset and has no default leaves its destination untouched; a value that
 * fails validation never reaches the destination; defaults are validated like
 * any value; ENUM choices match case-sensitively. Error lines are separated by
 * '\n' with none after the last. Values of secret entries are never echoed.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "log.h"

#include "banned.h"

#define CFG_WHY_MAX   256
#define CFG_VALUE_MAX 512
#define CFG_ECHO_MAX  64 /* characters of a bad value quoted back in an error */
#define CFG_MASK      "***"

/* A bounded writer into a caller's char array; always NUL-terminated. */
struct cfg_out {
    char *p;
    size_t cap;
    size_t len;
};

static void cfg_put(struct cfg_out *o, const char *s, size_t n)
{
    if (o->cap == 0)
        return;
    size_t room = o->cap - 1 - o->len;
    if (n > room)
        n = room;
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void cfg_putf(struct cfg_out *o, const char *fmt, ...) ATTR_FORMAT(2, 3);
static void cfg_putf(struct cfg_out *o, const char *fmt, ...)
{
    va_list ap;
    if (o->cap == 0)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n < o->cap - o->len ? (size_t)n : o->cap - 1 - o->len;
}

static const char *cfg_type_name(enum cfg_type t)
{
    switch (t) {
    case CFG_INT:
        return "int";
    case CFG_BOOL:
        return "bool";
    case CFG_STRING:
        return "string";
    case CFG_URL:
        return "url";
    case CFG_ENUM:
        return "enum";
    case CFG_LIST:
        return "list";
    }
    BUG("unknown cfg_type");
}

/* ------------------------------------------------------------------------ */
/* Parsing one value                                                         */
/* ------------------------------------------------------------------------ */

static int cfg_parse_int(const struct cfg_entry *e, const char *v, long *out, char *why)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    /* strtol skips leading blanks; a value with blanks is still refused. */
    int ok = end != v && *end == '\0' && errno == 0 && v[0] != ' ' && v[0] != '\t';
    if (!ok || x < e->min || x > e->max) {
        snprintf(why, CFG_WHY_MAX, "must be an integer from %ld to %ld", e->min, e->max);
        return ERR_INVALID;
    }
    *out = x;
    return 0;
}

static int cfg_parse_bool(const char *v, int *out, char *why)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
            *out = strcasecmp(v, yes[i]) == 0;
            return 0;
        }
    }
    snprintf(why, CFG_WHY_MAX, "must be one of true, false, 1, 0, yes, no, on, off");
    return ERR_INVALID;
}

static int cfg_check_string(const struct cfg_entry *e, const char *v, char *why)
{
    size_t n = strlen(v);
    if (n == 0) {
        snprintf(why, CFG_WHY_MAX, "must not be empty");
        return ERR_INVALID;
    }
    if (e->max > 0 && ((long)n < e->min || (long)n > e->max)) {
        snprintf(why, CFG_WHY_MAX, "length must be from %ld to %ld characters", e->min, e->max);
        return ERR_INVALID;
    }
    return 0;
}

static int cfg_check_list(const struct cfg_entry *e, const char *v, char *why)
{
    if (e->max > 0 && (long)strlen(v) > e->max) {
        snprintf(why, CFG_WHY_MAX, "longer than %ld characters", e->max);
        return ERR_INVALID;
    }
    return 0;
}

static int cfg_check_url(const char *v, char *why)
{
    const char *sep = strstr(v, "://");
    if (!sep || sep == v || sep[3] == '\0') {
        snprintf(why, CFG_WHY_MAX, "must be a URL (scheme://...)");
        return ERR_INVALID;
    }
    return 0;
}

static int cfg_check_enum(const struct cfg_entry *e, const char *v, char *why)
{
    const char *c = e->choices ? e->choices : "";
    size_t n = strlen(v);
    for (;;) {
        size_t len = strcspn(c, "|");
        if (len == n && memcmp(c, v, n) == 0)
            return 0;
        if (c[len] == '\0')
            break;
        c += len + 1;
    }
    snprintf(why, CFG_WHY_MAX, "must be one of %s", e->choices ? e->choices : "(none)");
    return ERR_INVALID;
}

/* Validates v for entry e and stores it in e->dest (if any). Returns 0 or ERR_INVALID. */
static int cfg_store(const struct cfg_entry *e, const char *v, char *why)
{
    long l = 0;
    int b = 0, rc;
    switch (e->type) {
    case CFG_INT:
        rc = cfg_parse_int(e, v, &l, why);
        break;
    case CFG_BOOL:
        rc = cfg_parse_bool(v, &b, why);
        break;
    case CFG_STRING:
        rc = cfg_check_string(e, v, why);
        break;
    case CFG_URL:
        rc = cfg_check_url(v, why);
        break;
    case CFG_ENUM:
        rc = cfg_check_enum(e, v, why);
        break;
    case CFG_LIST:
        rc = cfg_check_list(e, v, why);
        break;
    default:
        BUG("unknown cfg_type");
    }
    if (rc || !e->dest)
        return rc;
    if (e->type == CFG_INT)
        *(long *)e->dest = l;
    else if (e->type == CFG_BOOL)
        *(int *)e->dest = b;
    else
        *(const char **)e->dest = v;
    return 0;
}

/* Appends "NAME: reason" (and the bad value unless secret) as one line of errs. */
static void cfg_report(struct cfg_out *errs, const struct cfg_entry *e, const char *why,
                       const char *v)
{
    cfg_putf(errs, "%s%s: %s", errs->len ? "\n" : "", e->name, why);
    if (v && !e->secret)
        cfg_putf(errs, " (got '%.*s'%s)", CFG_ECHO_MAX, v, strlen(v) > CFG_ECHO_MAX ? "..." : "");
}

int cfg_load(const struct cfg_entry *tab, size_t n, char *errs, size_t errlen)
{
    struct cfg_out out = {errs, errs ? errlen : 0, 0};
    char why[CFG_WHY_MAX];
    int bad = 0;
    if (out.cap)
        errs[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const struct cfg_entry *e = &tab[i];
        const char *v = getenv(e->name);
        if (v && v[0] == '\0' && e->type != CFG_LIST)
            v = NULL; /* Empty counts as unset (a list keeps it: the empty list). */
        if (!v && e->required) {
            cfg_report(&out, e, "required but not set", NULL);
            bad++;
            continue;
        }
        if (!v)
            v = e->def;
        if (v && cfg_store(e, v, why)) {
            cfg_report(&out, e, why, v);
            bad++;
        }
    }
    return bad ? ERR_INVALID : 0;
}

/* ------------------------------------------------------------------------ */
/* Masking                                                                   */
/* ------------------------------------------------------------------------ */

/* Copies s, replacing the value of every password=... key with ***. */
static void cfg_mask_kv(struct cfg_out *o, const char *url, const char *s)
{
    static const char key[] = "password=";
    const char *p = s;
    while (*p) {
        int boundary = p == url || strchr(" \t?&;,", p[-1]) != NULL;
        if (!boundary || strncasecmp(p, key, sizeof(key) - 1) != 0) {
            cfg_put(o, p++, 1);
            continue;
        }
        cfg_put(o, p, sizeof(key) - 1);
        cfg_put(o, CFG_MASK, strlen(CFG_MASK));
        p += sizeof(key) - 1;
        if (*p == '\'') { /* libpq quoting: 'a b\'c' */
            for (p++; *p && *p != '\''; p++)
                if (*p == '\\' && p[1])
                    p++;
            if (*p)
                p++;
        } else {
            p += strcspn(p, " \t&;,");
        }
    }
}

void cfg_mask_secret(const char *url, char *out, size_t outlen)
{
    struct cfg_out o = {out, outlen, 0};
    if (outlen == 0)
        return;
    out[0] = '\0';
    if (!url)
        return;
    const char *p = url;
    const char *sep = strstr(url, "://");
    /* The last '@' ends the userinfo (an unencoded '@' in a password stays hidden). */
    const char *at = sep ? strrchr(sep + 3, '@') : NULL;
    if (at) {
        const char *auth = sep + 3;
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        size_t scheme = (size_t)(sep - url);
        int redis = (scheme == 5 || scheme == 6) && strncasecmp(url, "rediss", scheme) == 0;
        if (colon || redis) {
            /* user:pw@ keeps the user; redis://pw@ is a bare password. */
            const char *keep = colon ? colon + 1 : auth;
            cfg_put(&o, url, (size_t)(keep - url));
            cfg_put(&o, CFG_MASK, strlen(CFG_MASK));
            p = at;
        }
    }
    cfg_mask_kv(&o, url, p);
}

/* ------------------------------------------------------------------------ */
/* Printing                                                                  */
/* ------------------------------------------------------------------------ */

/* The text to show for a default or a value: masked when secret or a URL. */
static void cfg_shown(const struct cfg_entry *e, const char *v, char *out, size_t outlen)
{
    struct cfg_out o = {out, outlen, 0};
    out[0] = '\0';
    if (!v)
        return;
    if (e->type == CFG_URL)
        cfg_mask_secret(v, out, outlen);
    else if (e->secret)
        cfg_put(&o, CFG_MASK, strlen(CFG_MASK));
    else
        cfg_put(&o, v, strlen(v));
}

void cfg_print_help(FILE *out, const struct cfg_entry *tab, size_t n)
{
    char def[CFG_VALUE_MAX];
    fprintf(out, "Configuration is read from these environment variables:\n\n");
    for (size_t i = 0; i < n; i++) {
        const struct cfg_entry *e = &tab[i];
        cfg_shown(e, e->def, def, sizeof(def));
        fprintf(out, "  %s  (%s", e->name, cfg_type_name(e->type));
        if (e->type == CFG_INT || (e->type == CFG_STRING && e->max > 0))
            fprintf(out, " %ld..%ld", e->min, e->max);
        if (e->type == CFG_ENUM)
            fprintf(out, ": %s", e->choices ? e->choices : "");
        if (e->def)
            fprintf(out, ", default %s", def);
        fprintf(out, "%s%s)\n", e->required ? ", required" : "", e->secret ? ", secret" : "");
        fprintf(out, "      %s\n", e->help ? e->help : "");
    }
}

void cfg_print_env_example(FILE *out, const struct cfg_entry *tab, size_t n)
{
    char def[CFG_VALUE_MAX];
    for (size_t i = 0; i < n; i++) {
        cfg_shown(&tab[i], tab[i].def, def, sizeof(def));
        fprintf(out, "# %s\n# %s=%s\n", tab[i].help ? tab[i].help : "", tab[i].name, def);
    }
}

/* The effective value of e as text: from its destination, else the environment or default. */
static void cfg_effective(const struct cfg_entry *e, char *out, size_t outlen)
{
    const char *v = NULL;
    char num[32];
    if (!e->dest) {
        v = getenv(e->name);
        if (!v || !*v)
            v = e->def;
    } else if (e->type == CFG_INT) {
        snprintf(num, sizeof(num), "%ld", *(const long *)e->dest);
        v = num;
    } else if (e->type == CFG_BOOL) {
        v = *(const int *)e->dest ? "true" : "false";
    } else {
        v = *(const char *const *)e->dest;
    }
    if (!v) {
        snprintf(out, outlen, "(unset)");
        return;
    }
    cfg_shown(e, v, out, outlen);
}

void cfg_log_effective(const struct cfg_entry *tab, size_t n)
{
    char val[CFG_VALUE_MAX];
    struct buf b;
    int rc = 0;
    if (LOG_INFO < log_level_get())
        return;
    buf_init(&b, 3072);
    for (size_t i = 0; i < n && !rc; i++) {
        cfg_effective(&tab[i], val, sizeof(val));
        rc = buf_printf(&b, "%s%s=%s", i ? " " : "", tab[i].name, val);
    }
    log_info("effective configuration: %s%s", buf_cstr(&b), rc ? " ..." : "");
    buf_release(&b);
}
