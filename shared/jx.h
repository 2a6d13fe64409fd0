/*
 * jx.h - strict jansson helpers (prefix jx_, never json_).
 *
 * The getters never convert: an integer field must be a JSON integer (not a
 * bool, not a real such as 1.0 or 1.5, not a string such as "1"); a string
 * must be a JSON string; a bool a JSON true/false. All returned pointers are
 * borrowed from the object and live as long as it does.
 */
#ifndef JX_H
#define JX_H

#include <stddef.h>

#include "common.h"

struct json_t;

enum jx_status {
    JX_OK = 0,         /* present, right type; *out set */
    JX_MISSING = 1,    /* key absent */
    JX_NULL = 2,       /* present and JSON null */
    JX_WRONG_TYPE = 3, /* present, other type (or integer out of range) */
};

/*
 * Parses body[0..len) and returns a new reference to the top-level value when
 * it is a JSON object; NULL when the body is empty, malformed, not UTF-8,
 * contains a raw NUL byte, nests deeper than jansson allows, or is any other
 * JSON value. An escaped "\u0000" inside a string is accepted (see jx_nul_field).
 */
struct json_t *jx_parse_object(const char *body, size_t len);

/*
 * The first top-level key whose value holds a NUL character ("\u0000") at any
 * depth (borrowed), or NULL when none does (keys never hold one: jansson
 * refuses them). Strings from the getters are C strings only once this returned NULL.
 */
const char *jx_nul_field(struct json_t *obj);

/* Integer field: JSON integer in [min, max]; outside the range is JX_WRONG_TYPE. */
enum jx_status jx_get_int(struct json_t *obj, const char *key, long long min, long long max,
                          long long *out);

/* String field: *out borrowed (NUL-terminated), *len its byte length (may be NULL). */
enum jx_status jx_get_string(struct json_t *obj, const char *key, const char **out, size_t *len);

/* Boolean field: JSON true or false only; *out is 1 or 0. */
enum jx_status jx_get_bool(struct json_t *obj, const char *key, int *out);

/* Object field: *out borrowed. */
enum jx_status jx_get_object(struct json_t *obj, const char *key, struct json_t **out);

/* Encodes value compactly (new allocation, caller frees with free()); NULL on failure. */
char *jx_dump(struct json_t *value);

#endif
