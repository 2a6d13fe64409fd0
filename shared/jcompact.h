/*
 * jcompact.h - removes insignificant whitespace from JSON text, in place.
 *
 * PostgreSQL renders json_build_object/json_agg as {"id" : 1, "a" : 2} and
 * [{...}, \n {...}]; every peer of this product sends compact JSON
 * ({"id":1,"a":2}), so write-svc compacts the text it hands to a client
 * (http_reply_json). Compacting is one pass, allocates nothing and never
 * reorders keys, unlike a parse and re-dump.
 */
#ifndef JCOMPACT_H
#define JCOMPACT_H

#include <stddef.h>

/*
 * Removes every space, tab, CR and LF outside JSON strings from s[0..len) and
 * returns the new length (<= len). Bytes inside strings (between an unescaped
 * '"' and the next unescaped '"') are kept as they are, escapes included. The
 * input need not be valid JSON: any bytes are accepted (an unterminated
 * string keeps the rest as is), nothing past s[len) is read or written, and no
 * NUL is added. s is modified in place and may be NULL when len is 0.
 */
size_t jcompact_inplace(char *s, size_t len);

#endif
