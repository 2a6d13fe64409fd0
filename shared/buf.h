/*
 * buf.h - growable byte buffer with a hard cap (git strbuf / curl dynbuf).
 *
 * The data is always NUL-terminated once anything has been appended, so
 * buf.data can be used as a C string. An appended byte past `max` fails with
 * ERR_TOO_BIG and leaves the buffer unchanged.
 */
#ifndef BUF_H
#define BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "common.h"

struct buf {
    char *data; /* owned; NULL until the first append */
    size_t len; /* bytes used, not counting the terminating NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* hard cap on len */
};

/* Initialises an empty buffer that may grow to `max` bytes. Allocates nothing. */
void buf_init(struct buf *b, size_t max);

/* Frees the contents; the buffer can be reused after buf_init. */
void buf_release(struct buf *b);

/* Empties the buffer but keeps its allocation and cap. */
void buf_reset(struct buf *b);

int buf_append(struct buf *b, const void *p, size_t n) ATTR_WARN_UNUSED;
int buf_puts(struct buf *b, const char *s) ATTR_WARN_UNUSED;
int buf_putc(struct buf *b, char c) ATTR_WARN_UNUSED;
int buf_printf(struct buf *b, const char *fmt, ...) ATTR_FORMAT(2, 3) ATTR_WARN_UNUSED;
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) ATTR_FORMAT(2, 0) ATTR_WARN_UNUSED;

/* Appends s[0..n) as a JSON string literal, quotes included, escaping as RFC 8259 requires. */
int buf_append_json_str(struct buf *b, const char *s, size_t n) ATTR_WARN_UNUSED;

/*
 * Hands the bytes to the caller (a new allocation, NUL-terminated; "" when
 * empty) and resets the buffer. *len, if not NULL, receives the length.
 * Returns NULL only when allocating the empty string fails.
 */
char *buf_detach(struct buf *b, size_t *len);

/* A borrowed C string view of the contents, valid until the next change ("" when empty). */
const char *buf_cstr(const struct buf *b);

#endif
