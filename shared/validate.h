/*
 * validate.h - the input rules of API.md section 5, as pure functions.
 *
 * Each validator returns 0 when the value is acceptable, or ERR_INVALID and
 * points *why at a static, client-safe reason ("must not be empty", ...).
 * Values are checked byte-exact: nothing is trimmed or rewritten.
 */
#ifndef VALIDATE_H
#define VALIDATE_H

#include <stddef.h>

#include "common.h"

#define VALIDATE_USERNAME_MAX   150
#define VALIDATE_EMAIL_MAX      254
#define VALIDATE_URL_MAX        2048
#define VALIDATE_TITLE_MAX      255
#define VALIDATE_EVENT_TYPE_MAX 50
#define VALIDATE_PER_PAGE_MAX   100
#define VALIDATE_CODE_MAX       64
#define VALIDATE_ALIAS_MIN      3

/* 1..150 bytes of [A-Za-z0-9_.-]; empty or whitespace-only is refused. */
int validate_username(const char *s, size_t len, const char **why) ATTR_WARN_UNUSED;

/* <= 254 bytes, exactly one '@', non-empty local part, a domain of non-empty
 * dot-separated labels with at least one dot, no whitespace or control bytes. */
int validate_email(const char *s, size_t len, const char **why) ATTR_WARN_UNUSED;

/* <= 2048 bytes, scheme http:// or https:// (case-insensitive), a non-empty
 * host that contains a dot or is "localhost" or a bracketed IPv6 literal,
 * optional :port of 1..5 digits, no whitespace or control bytes anywhere. */
int validate_url(const char *s, size_t len, const char **why) ATTR_WARN_UNUSED;

/* <= 255 bytes, no control bytes other than none at all (tabs/newlines refused). */
int validate_title(const char *s, size_t len, const char **why) ATTR_WARN_UNUSED;

/* 1..50 bytes, not whitespace-only, no control bytes. */
int validate_event_type(const char *s, size_t len, const char **why) ATTR_WARN_UNUSED;

/*
 * The shape of a code that may exist (what a lookup accepts): 1..64 bytes of
 * [A-Za-z0-9_-]. Generated and seeded codes are 6 letters or digits; aliases
 * follow validate_alias; codes of older releases (1..16 letters or digits) too.
 */
int validate_short_code(const char *s, size_t len) ATTR_WARN_UNUSED;

/*
 * A custom alias (PRODUCT.md 1): 3..64 bytes of [A-Za-z0-9_-], the first a
 * letter or digit. Reserved names are checked by shortcode_is_reserved.
 */
int validate_alias(const char *s, size_t len, const char **why) ATTR_WARN_UNUSED;

/*
 * A link's expiry as sent in a body: "YYYY-MM-DDTHH:MM:SS" (UTC) of a real
 * date between 1970 and 9999. 0 or ERR_INVALID with *why.
 */
int validate_timestamp(const char *s, size_t len, const char **why) ATTR_WARN_UNUSED;

/*
 * Query-string id: 1 to 18 decimal digits, value >= 1, nothing else (no sign,
 * no spaces). Returns 0 and sets *out, or ERR_INVALID.
 */
int validate_query_id(const char *s, long long *out) ATTR_WARN_UNUSED;

/* Query-string bool: true/false/1/0, case-insensitive. 0 and *out = 1/0, or ERR_INVALID. */
int validate_query_bool(const char *s, int *out) ATTR_WARN_UNUSED;

/*
 * Pagination from the raw page/per_page query values (either may be NULL).
 * A value counts only when it is an optionally signed decimal integer ("abc",
 * "", "1.5", "1e3", " 2" count as absent). When neither counts, *paginate = 0
 * (return every row). Otherwise *paginate = 1 and numbers out of range are
 * clamped: page to >= 1 (1 when absent), per_page to [1, 100] (20 when
 * absent); *limit and *offset are set. Never fails; offsets cannot overflow.
 */
void validate_pagination(const char *page, const char *per_page, int *paginate, long *limit,
                         long *offset);

#endif
