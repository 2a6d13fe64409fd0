/*
 * shortcode.h - short-code generation and the read-model key layout shared by
 * write-svc and redirect-svc.
 *
 * Codes are SHORTCODE_LEN characters of [A-Za-z0-9] drawn from getrandom(2)
 * with rejection sampling (no modulo bias), and never a reserved first path
 * segment ("health", "metrics", "users", "urls", "events", "dashboard", ...).
 *
 * Redis keys carry a shard hash tag so a link and its click stream share a
 * Redis Cluster slot: link "url:{s}:<code>", stream "clicks:{s}", where
 * s = shortcode_shard(code) = FNV-1a-32(code) mod nshards.
 */
#ifndef SHORTCODE_H
#define SHORTCODE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define SHORTCODE_LEN     6
#define SHORTCODE_KEY_MAX 96 /* enough for any key built below from a code <= 64 bytes */

/*
 * The fields of a link hash "url:{s}:<code>" (write-svc writes them, the
 * redirect script reads them; an absent key is a 404):
 *   id  - the URL id (decimal)           uid - the owner's id, or "" for none
 *   url - original_url, byte-exact       rt  - the redirect status (301/302/307/308)
 *   exp - expiry, ms since the epoch, or "" for none
 *   max - the click cap, or "" for none  n   - clicks recorded so far (the script
 *         increments it with each click it appends, so a cap holds exactly)
 */
#define SHORTCODE_F_ID     "id"
#define SHORTCODE_F_UID    "uid"
#define SHORTCODE_F_URL    "url"
#define SHORTCODE_F_RT     "rt"
#define SHORTCODE_F_EXP    "exp"
#define SHORTCODE_F_MAX    "max"
#define SHORTCODE_F_CLICKS "n"

/* The key of the read-model marker ("the read model is complete"). */
#define SHORTCODE_MARKER_KEY "readmodel:complete"

/* Writes a fresh NUL-terminated code of SHORTCODE_LEN chars. 0 or ERR_SYS (getrandom failed). */
int shortcode_generate(char out[SHORTCODE_LEN + 1]) ATTR_WARN_UNUSED;

/* 1 when s[0..len) is a reserved route name (case-insensitive), else 0. */
int shortcode_is_reserved(const char *s, size_t len);

/* FNV-1a 32-bit of s[0..len) modulo nshards (nshards >= 1). */
unsigned shortcode_shard(const char *s, size_t len, unsigned nshards);

/* Writes "url:{<shard>}:<code>" into out; returns its length, or ERR_TOO_BIG. */
int shortcode_link_key(const char *code, size_t len, unsigned nshards,
                       char out[SHORTCODE_KEY_MAX]) ATTR_WARN_UNUSED;

/* Writes "clicks:{<shard>}" into out; returns its length, or ERR_TOO_BIG. */
int shortcode_stream_key(unsigned shard, char out[SHORTCODE_KEY_MAX]) ATTR_WARN_UNUSED;

#endif
