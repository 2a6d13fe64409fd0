/*
 * visitor.h - the visitor hash of a click: HMAC-SHA256 (OpenSSL libcrypto)
 * keyed with the salt of the click's day (salt.c), over the client address
 * and the user agent, cut to 128 bits and written as 32 hex digits. The raw
 * address never leaves the worker; once a day's salt is deleted its hashes
 * can no longer be linked to an address. Pure, unit-tested.
 */
#ifndef VISITOR_H
#define VISITOR_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define VISITOR_SALT_LEN 32
#define VISITOR_HEX_LEN  33 /* 32 hex digits and a NUL */

/*
 * Writes the visitor hash of (ip, ua) under salt into out. ip (borrowed) must
 * be non-empty; ua (borrowed) may be NULL (same as ""). Returns 0, or
 * ERR_INVALID (out = "") when ip is NULL or empty, or libcrypto failed.
 */
int visitor_hash(const uint8_t salt[VISITOR_SALT_LEN], const char *ip, const char *ua,
                 char out[VISITOR_HEX_LEN]) ATTR_WARN_UNUSED;

#endif
