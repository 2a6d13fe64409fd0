/*
 * apikey.h - the pure parts of API keys (PRODUCT.md section 4): the key's format, its
 * SHA-256, the headers that carry it, scopes and which scope a route needs.
 *
 * A key is "sk_" followed by 43 base64url characters: 32 bytes from getrandom(2), so 256 bits
 * of entropy. Only its SHA-256 (lowercase hex) is stored; a fast hash is right for a random
 * secret of that size (nobody can try 2^255 candidates), unlike a password that needs bcrypt.
 *
 * Nothing here talks to PostgreSQL or Redis (unit-tested in tests/unit/test_apikey.c).
 */
#ifndef APIKEY_H
#define APIKEY_H

#include <stddef.h>

#include "common.h"

#define APIKEY_PREFIX     "sk_"
#define APIKEY_PREFIX_LEN 3
#define APIKEY_RAW_BYTES  32
#define APIKEY_B64_LEN    43 /* 32 bytes in unpadded base64url */
#define APIKEY_LEN        (APIKEY_PREFIX_LEN + APIKEY_B64_LEN)
#define APIKEY_HASH_HEX   64 /* SHA-256 in lowercase hex */
#define APIKEY_NAME_MAX   100
#define APIKEY_SCOPES_MAX 20 /* "read,write,admin" plus NUL */

enum apikey_scope {
    APIKEY_READ = 1 << 0,  /* GET and HEAD */
    APIKEY_WRITE = 1 << 1, /* POST, PUT, PATCH, DELETE */
    APIKEY_ADMIN = 1 << 2, /* everything: /users/bulk and /api-keys too */
};

/* Writes a fresh key (APIKEY_LEN characters and a NUL) into out. 0 or ERR_SYS (getrandom). */
int apikey_generate(char out[APIKEY_LEN + 1]) ATTR_WARN_UNUSED;

/* 1 when s[0..len) has the shape of a key ("sk_" + 43 base64url characters), else 0. */
int apikey_format_ok(const char *s, size_t len);

/* The SHA-256 of s[0..len) in lowercase hex into out. 0 or ERR_NOMEM (the digest failed). */
int apikey_hash(const char *s, size_t len, char out[APIKEY_HASH_HEX + 1]) ATTR_WARN_UNUSED;

/*
 * The key a request presents: "Authorization: Bearer <key>" (scheme case-insensitive) first,
 * else "X-Api-Key: <key>". Either header may be NULL. *key is borrowed from the header (not
 * NUL-terminated at *len). 0, or ERR_NOT_FOUND when neither header carries one.
 */
int apikey_from_headers(const char *authorization, const char *x_api_key, const char **key,
                        size_t *len) ATTR_WARN_UNUSED;

/* The scope named s[0..len) ("read", "write", "admin"), or 0 when it is none of them. */
unsigned apikey_scope_parse(const char *s, size_t len);

/*
 * A comma-separated list of scopes ("read,write") into *mask. 0, or ERR_INVALID with a
 * static reason in *why (empty, unknown scope).
 */
int apikey_scopes_parse_list(const char *s, unsigned *mask, const char **why) ATTR_WARN_UNUSED;

/* Writes the names of mask's scopes, comma-separated, in the order read, write, admin. */
void apikey_scopes_str(unsigned mask, char out[APIKEY_SCOPES_MAX]);

/* 1 when a key with scopes `have` may do what needs `need` (admin covers everything). */
int apikey_scope_allows(unsigned have, unsigned need);

/*
 * The scope a request needs: 0 for the public routes (/health, /livez, /readyz, /metrics,
 * /openapi.json, the dashboard's / and /ui/...), APIKEY_ADMIN for /users/bulk and /api-keys,
 * APIKEY_READ for GET and HEAD, APIKEY_WRITE for the other methods.
 */
unsigned apikey_required_scope(unsigned method, const char *pattern);

/*
 * A key's name: 1 to APIKEY_NAME_MAX bytes of valid UTF-8 without control characters.
 * 0 or ERR_INVALID with a static reason in *why.
 */
int apikey_name_check(const char *s, size_t len, const char **why) ATTR_WARN_UNUSED;

#endif
