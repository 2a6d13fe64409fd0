/*
 * csv.h - an RFC 4180 CSV reader over a buffer in memory (pure, fuzzed).
 *
 * Fields are separated by ',', records by LF or CRLF. A field may be quoted
 * with '"'; inside quotes a doubled quote stands for one quote, and commas and
 * line breaks are data. A bare CR or LF inside an unquoted field ends the
 * record. A quote inside an unquoted field, or text after a closing quote
 * before the next separator, is a syntax error. A final record without a line
 * break is accepted; an empty last line is not a record.
 * Caps: CSV_MAX_FIELDS fields per record, CSV_MAX_RECORD bytes per record.
 */
#ifndef CSV_H
#define CSV_H

#include <stddef.h>

#include "buf.h"
#include "common.h"

#define CSV_MAX_FIELDS 32
#define CSV_MAX_RECORD (64 * 1024)

struct csv {
    const char *p;    /* borrowed: next byte to read */
    const char *end;  /* borrowed: one past the last byte */
    size_t line;      /* 1-based line number of the current record (for errors) */
    struct buf field; /* owned: unescaped bytes of the current record */
};

struct csv_record {
    size_t nfields;
    /* borrowed from the reader, NUL-terminated, valid until the next csv_next() */
    const char *fields[CSV_MAX_FIELDS];
    size_t lens[CSV_MAX_FIELDS];
    int quoted[CSV_MAX_FIELDS]; /* 1 when the field was quoted (so "" differs from empty) */
};

/* Starts reading data[0..len) (borrowed: must outlive the reader). */
void csv_init(struct csv *c, const char *data, size_t len);

/* Frees the reader's buffer. */
void csv_release(struct csv *c);

/*
 * Reads the next record into *rec. Returns 1 when a record was read, 0 at the
 * end of input, ERR_INVALID on a syntax error (c->line tells where) and
 * ERR_TOO_BIG when a cap is exceeded.
 */
int csv_next(struct csv *c, struct csv_record *rec) ATTR_WARN_UNUSED;

/* Index of the field named `name` in a header record, or -1. */
int csv_column(const struct csv_record *header, const char *name);

#endif
