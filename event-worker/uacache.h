/*
 * uacache.h - what the analytics need from a user agent (browser, OS, device
 * class, bot flag), derived with uaparse and kept in a bounded cache, because
 * running the ~1 700 uap-core regexes costs far more than a lookup and most
 * clicks repeat a few agents.
 *
 * The cache is a fixed table of `slots` entries, two-way set associative:
 * an agent may live in one of two slots, and a miss replaces the less recently
 * used of the two. Keys are the first UAPARSE_UA_MAX bytes of the agent, which
 * is also all uaparse looks at. One thread at a time.
 */
#ifndef UACACHE_H
#define UACACHE_H

#include <stddef.h>

#include "uaparse.h"

enum uacache_device { UACACHE_DESKTOP, UACACHE_MOBILE, UACACHE_TABLET, UACACHE_BOT };

struct uacache_info {
    char browser[UAPARSE_NAME_MAX];
    char os[UAPARSE_NAME_MAX];
    enum uacache_device device;
    int bot; /* 1 for crawlers and link-preview fetchers (uap-core device "Spider") */
};

struct uacache;

/*
 * The device class of a parse: "Spider" -> bot; iPad, Kindle and tablet
 * families, brands and models -> tablet; no device ("Other") or a Mac ->
 * desktop; any other device -> mobile. Pure.
 */
enum uacache_device uacache_classify(const struct uaparse_result *r);

/* "desktop", "mobile", "tablet" or "bot" (static text). */
const char *uacache_device_name(enum uacache_device d);

/*
 * A new cache of `slots` entries (rounded up to an even number, at least 2)
 * over up (borrowed; must outlive the cache). NULL when out of memory.
 */
struct uacache *uacache_new(struct uaparse *up, size_t slots);

/* Frees the cache. Accepts NULL. */
void uacache_free(struct uacache *c);

/* Fills *out for the agent ua (NULL or "" is an unknown agent). Never fails. */
void uacache_get(struct uacache *c, const char *ua, struct uacache_info *out);

/* Lookups answered from the cache, and parses done, since uacache_new. */
unsigned long uacache_hits(const struct uacache *c);
unsigned long uacache_misses(const struct uacache *c);

#endif
