/*
 * csv.c - an RFC 4180 CSV reader over a buffer in memory (see csv.h).
 *
 * csv_next() unescapes one record into c->field: every field's bytes followed
 * by a NUL, so the record hands out NUL-terminated pointers into that buffer.
 * The record cap counts the raw input bytes of a record (line break excluded);
 * the unescaped form is never longer, so the buffer cannot hit its own cap first.
 *
 * c->line is the line on which the record returned last starts. The reader
 * keeps no other state, so at the start of the next call it derives the lines
 * the previous record spanned from that record's unescaped bytes: line breaks
 * only survive unescaping inside quoted fields, and each one was copied as-is.
 * A NULL c->field.data means "no record to account for" (start, end, error).
 * After an error c->line is the line where it was found; stop reading then.
 */
#include "csv.h"

#include <string.h>

#include "banned.h"

#define CSV_BOM "\xEF\xBB\xBF"

void csv_init(struct csv *c, const char *data, size_t len)
{
    c->p = data;
    c->end = data + len;
    /* A UTF-8 byte order mark (spreadsheet exports) is not part of the first field. */
    if (len >= 3 && memcmp(data, CSV_BOM, 3) == 0)
        c->p += 3;
    c->line = 1;
    buf_init(&c->field, CSV_MAX_RECORD + CSV_MAX_FIELDS + 1);
}

void csv_release(struct csv *c)
{
    buf_release(&c->field);
}

/* Line breaks (LF, CRLF or a lone CR) in s[0..n). */
static size_t csv_count_breaks(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n' || (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n')))
            count++;
    return count;
}

/* Moves c->line past the record read last (its inner breaks plus its terminator). */
static void csv_advance_line(struct csv *c)
{
    if (c->field.data)
        c->line += csv_count_breaks(c->field.data, c->field.len) + 1;
    buf_reset(&c->field);
}

/* 1 when only line breaks remain: trailing empty lines are not records. */
static int csv_only_breaks_left(const struct csv *c)
{
    for (const char *q = c->p; q < c->end; q++)
        if (*q != '\r' && *q != '\n')
            return 0;
    return 1;
}

/* Reads a quoted field whose opening quote is at c->p; *line counts inner breaks. */
static int csv_quoted(struct csv *c, const char *start, size_t *line)
{
    const char *p = c->p + 1;
    for (;;) {
        const char *q = memchr(p, '"', (size_t)(c->end - p));
        const char *stop = q ? q : c->end;
        if ((size_t)(stop - start) > CSV_MAX_RECORD)
            return ERR_TOO_BIG;
        *line += csv_count_breaks(p, (size_t)(stop - p));
        if (buf_append(&c->field, p, (size_t)(stop - p)))
            return ERR_TOO_BIG;
        if (!q)
            return ERR_INVALID; /* The closing quote is missing. */
        if (q + 1 < c->end && q[1] == '"') {
            if (buf_putc(&c->field, '"'))
                return ERR_TOO_BIG;
            p = q + 2;
            continue;
        }
        c->p = q + 1;
        if ((size_t)(c->p - start) > CSV_MAX_RECORD)
            return ERR_TOO_BIG;
        if (c->p < c->end && *c->p != ',' && *c->p != '\r' && *c->p != '\n')
            return ERR_INVALID; /* Text after the closing quote. */
        return 0;
    }
}

/* Reads an unquoted field starting at c->p, up to ',', CR, LF or the end. */
static int csv_unquoted(struct csv *c, const char *start)
{
    const char *p = c->p;
    while (p < c->end && *p != ',' && *p != '\r' && *p != '\n') {
        if (*p == '"')
            return ERR_INVALID;
        p++;
    }
    if ((size_t)(p - start) > CSV_MAX_RECORD)
        return ERR_TOO_BIG;
    if (buf_append(&c->field, c->p, (size_t)(p - c->p)))
        return ERR_TOO_BIG;
    c->p = p;
    return 0;
}

/* Reads the fields of one record; offsets into c->field go to offs[]. */
static int csv_fields(struct csv *c, struct csv_record *rec, size_t *offs, size_t *line)
{
    const char *start = c->p;
    for (;;) {
        if (rec->nfields == CSV_MAX_FIELDS)
            return ERR_TOO_BIG;
        size_t i = rec->nfields++;
        offs[i] = c->field.len;
        rec->quoted[i] = c->p < c->end && *c->p == '"';
        int rc = rec->quoted[i] ? csv_quoted(c, start, line) : csv_unquoted(c, start);
        if (rc)
            return rc;
        rec->lens[i] = c->field.len - offs[i];
        if (buf_putc(&c->field, '\0'))
            return ERR_TOO_BIG;
        if (c->p == c->end || *c->p != ',')
            break;
        c->p++;
    }
    if (c->p < c->end && *c->p == '\r') {
        c->p++;
        if (c->p < c->end && *c->p == '\n')
            c->p++;
    } else if (c->p < c->end && *c->p == '\n') {
        c->p++;
    }
    return 0;
}

int csv_next(struct csv *c, struct csv_record *rec)
{
    size_t offs[CSV_MAX_FIELDS];
    csv_advance_line(c);
    rec->nfields = 0;
    if (csv_only_breaks_left(c)) {
        c->p = c->end;
        buf_release(&c->field);
        return 0;
    }
    size_t line = c->line;
    int rc = csv_fields(c, rec, offs, &line);
    if (rc) {
        c->line = line;
        buf_release(&c->field);
        rec->nfields = 0;
        return rc;
    }
    for (size_t i = 0; i < rec->nfields; i++)
        rec->fields[i] = c->field.data + offs[i];
    return 1;
}

int csv_column(const struct csv_record *header, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < header->nfields; i++)
        if (header->lens[i] == n && memcmp(header->fields[i], name, n) == 0)
            return (int)i;
    return -1;
}
