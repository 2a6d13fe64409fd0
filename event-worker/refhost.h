/*
 * refhost.h - the host of a Referer value ("https://News.Example.com:443/a?b"
 * -> "news.example.com"). Pure, unit-tested (tests/unit/test_refhost.c).
 */
#ifndef REFHOST_H
#define REFHOST_H

#include <stddef.h>

#include "common.h"

#define REFHOST_MAX 256 /* a DNS name is at most 253 bytes; with brackets and NUL */

/*
 * Writes the lowercased host of the absolute URL ref (borrowed; NULL or ""
 * means no referrer) into out (REFHOST_MAX bytes): userinfo, port, path,
 * query and fragment dropped, one trailing dot removed, an IPv6 literal kept
 * in brackets. Returns 0, or ERR_INVALID (out = "") when ref has no scheme,
 * no "//" authority, an empty host, a byte that cannot be in a host, or a
 * host longer than 253 bytes.
 */
int refhost_parse(const char *ref, char out[REFHOST_MAX]) ATTR_WARN_UNUSED;

#endif
