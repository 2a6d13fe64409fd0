/*
 * uaparse.h - user-agent parsing with the maintained uap-core rules
 * (Debian's uap-core package, /usr/share/uap-core/regexes.yaml): the file is
 * read with libyaml once at start-up and every regex compiled with PCRE2
 * (JIT when available). A parse tries the rules of each section in order, the
 * first match wins, as the uap-core specification prescribes.
 *
 * Pure once loaded: no I/O after uaparse_new. A struct uaparse holds one
 * PCRE2 match block, so one handle serves one thread at a time.
 */
#ifndef UAPARSE_H
#define UAPARSE_H

#include <stddef.h>

#define UAPARSE_DEFAULT_PATH "/usr/share/uap-core/regexes.yaml"
#define UAPARSE_NAME_MAX     48  /* bytes of a family name with its NUL; longer ones are cut */
#define UAPARSE_UA_MAX       512 /* only the first bytes of a user agent are matched */

struct uaparse;

/* What uap-core says about one user agent; "Other" when no rule matched. */
struct uaparse_result {
    char browser[UAPARSE_NAME_MAX]; /* user_agent_parsers: family */
    char os[UAPARSE_NAME_MAX];      /* os_parsers: os family */
    char device[UAPARSE_NAME_MAX];  /* device_parsers: device family ("Spider" for bots) */
    char brand[UAPARSE_NAME_MAX];   /* device brand, "" when none */
    char model[UAPARSE_NAME_MAX];   /* device model, "" when none */
};

/*
 * Loads and compiles the rules of the uap-core file at `path` (borrowed).
 * Returns a new handle (uaparse_free), or NULL with the reason in err
 * (errlen bytes): file missing, YAML error, no rule at all. Rules PCRE2
 * cannot compile are skipped and counted (uaparse_skipped).
 */
struct uaparse *uaparse_new(const char *path, char *err, size_t errlen);

/* Frees the handle. Accepts NULL. */
void uaparse_free(struct uaparse *up);

/* The number of compiled rules, and of rules skipped because PCRE2 refused them. */
size_t uaparse_rules(const struct uaparse *up);
size_t uaparse_skipped(const struct uaparse *up);

/*
 * Parses ua[0..len) (at most UAPARSE_UA_MAX bytes are looked at) into *out.
 * Never fails: an unknown agent gives "Other" families.
 */
void uaparse_parse(struct uaparse *up, const char *ua, size_t len, struct uaparse_result *out);

#endif
