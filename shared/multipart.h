/*
 * multipart.h - finds one part of a multipart/form-data body (pure, fuzzed).
 *
 * Enough of RFC 7578 for a file upload: the boundary comes from the
 * Content-Type header (quoted or not), parts are separated by
 * "--boundary" lines (CRLF, and LF tolerated), each part has headers ending
 * in an empty line, and Content-Disposition carries name="...".
 */
#ifndef MULTIPART_H
#define MULTIPART_H

#include <stddef.h>

#include "common.h"

/*
 * Looks for the part named `name` in body[0..len) sent with the given
 * Content-Type header value. On success returns 0 and points *data and *dlen at
 * the part's content inside body (borrowed). Returns ERR_INVALID when the
 * content type is not multipart/form-data or has no boundary, or the body is
 * malformed, and ERR_NOT_FOUND when no such part exists.
 */
int multipart_find(const char *content_type, const char *body, size_t len, const char *name,
                   const char **data, size_t *dlen) ATTR_WARN_UNUSED;

#endif
