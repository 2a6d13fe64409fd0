/*
 * shortcode.h - short-code generation, reserved names and the shard of a code, shared by
 * write-svc and redirect-svc.
 *
 * Codes are SHORTCODE_LEN characters of [A-Za-z0-9] drawn from getrandom(2)
 * with rejection sampling (no modulo bias), and never a reserved first path
 * segment ("health", "metrics", "users", "urls", "events", "dashboard", ...).
 *
 * A link's shard, s = shortcode_shard(code) = FNV-1a-32(code) mod nshards,
 * picks its click stream; the key layout itself is rkeys.h.
 */
#ifndef SHORTCODE_H
#define SHORTCODE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define SHORTCODE_LEN 6

/* Writes a fresh NUL-terminated code of SHORTCODE_LEN chars. 0 or ERR_SYS (getrandom failed). */
int shortcode_generate(char out[SHORTCODE_LEN + 1]) ATTR_WARN_UNUSED;

/* 1 when s[0..len) is a reserved route name (case-insensitive), else 0. */
int shortcode_is_reserved(const char *s, size_t len);

/* FNV-1a 32-bit of s[0..len) modulo nshards (nshards >= 1). */
unsigned shortcode_shard(const char *s, size_t len, unsigned nshards);

#endif
