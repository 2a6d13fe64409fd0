/*
 * jx.c - strict jansson helpers (see jx.h).
 *
 * Parsing choices, all deliberate:
 * - JSON_REJECT_DUPLICATES: an object with a repeated key is refused. Which of
 *   two values "wins" differs between parsers, so accepting one lets a proxy
 *   and this service disagree about the same body.
 * - The EOF check stays on (no JSON_DISABLE_EOF_CHECK): trailing bytes after
 *   the value, other than whitespace, make the body malformed.
 * - JSON_ALLOW_NUL is on: "\u0000" inside a string is valid JSON, so the body
 *   is an object and the fault lies with one field. Callers ask
 *   jx_nul_field() which one and refuse it (422) before any string is used as
 *   a C string; PostgreSQL could not store it anyway. jansson still refuses
 *   "\u0000" in a key, and a raw NUL byte in the body is not JSON and is
 *   refused before jansson sees it.
 * - Integers beyond the range of long long make jansson fail the whole parse,
 *   so they can never be silently truncated.
 */
#include "jx.h"

#include <string.h>

#include <jansson.h>

#include "banned.h"

struct json_t *jx_parse_object(const char *body, size_t len)
{
    json_error_t error;
    if (!body || len == 0 || memchr(body, '\0', len))
        return NULL;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &error);
    if (root && !json_is_object(root)) {
        json_decref(root);
        root = NULL;
    }
    return root;
}

/* Looks key up in obj and sorts out the absent and null cases for every getter. */
static enum jx_status jx_lookup(json_t *obj, const char *key, json_t **value)
{
    *value = NULL;
    if (!obj || !key || !json_is_object(obj))
        return JX_MISSING;
    *value = json_object_get(obj, key);
    if (!*value)
        return JX_MISSING;
    if (json_is_null(*value))
        return JX_NULL;
    return JX_OK;
}

enum jx_status jx_get_int(struct json_t *obj, const char *key, long long min, long long max,
                          long long *out)
{
    json_t *v;
    enum jx_status st = jx_lookup(obj, key, &v);
    if (st != JX_OK)
        return st;
    if (!json_is_integer(v))
        return JX_WRONG_TYPE;
    json_int_t n = json_integer_value(v);
    if (n < min || n > max)
        return JX_WRONG_TYPE;
    *out = n;
    return JX_OK;
}

enum jx_status jx_get_string(struct json_t *obj, const char *key, const char **out, size_t *len)
{
    json_t *v;
    enum jx_status st = jx_lookup(obj, key, &v);
    if (st != JX_OK)
        return st;
    if (!json_is_string(v))
        return JX_WRONG_TYPE;
    *out = json_string_value(v);
    if (len)
        *len = json_string_length(v);
    return JX_OK;
}

enum jx_status jx_get_bool(struct json_t *obj, const char *key, int *out)
{
    json_t *v;
    enum jx_status st = jx_lookup(obj, key, &v);
    if (st != JX_OK)
        return st;
    if (!json_is_boolean(v))
        return JX_WRONG_TYPE;
    *out = json_is_true(v) ? 1 : 0;
    return JX_OK;
}

enum jx_status jx_get_object(struct json_t *obj, const char *key, struct json_t **out)
{
    json_t *v;
    enum jx_status st = jx_lookup(obj, key, &v);
    if (st != JX_OK)
        return st;
    if (!json_is_object(v))
        return JX_WRONG_TYPE;
    *out = v;
    return JX_OK;
}

char *jx_dump(struct json_t *value)
{
    /* JSON_ENCODE_ANY lets a scalar be dumped too; objects keep insertion order. */
    if (!value)
        return NULL;
    return json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* 1 when v is, or contains at any depth, a string with a NUL character (keys never do). */
static int jx_has_nul(json_t *v)
{
    const char *key;
    json_t *item;
    size_t i;
    if (json_is_string(v))
        return memchr(json_string_value(v), '\0', json_string_length(v)) != NULL;
    if (json_is_array(v)) {
        json_array_foreach(v, i, item) if (jx_has_nul(item)) return 1;
    }
    if (json_is_object(v)) {
        json_object_foreach(v, key, item) if (jx_has_nul(item)) return 1;
    }
    return 0;
}

const char *jx_nul_field(struct json_t *obj)
{
    const char *key;
    json_t *item;
    json_object_foreach(obj, key, item) if (jx_has_nul(item)) return key;
    return NULL;
}
