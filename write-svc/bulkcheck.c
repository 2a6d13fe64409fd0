/*
 * bulkcheck.c - a users CSV checked whole before the import (see bulkcheck.h).
 */
#include "bulkcheck.h"

#include "csv.h"
#include "utf8.h"
#include "validate.h"

#include "banned.h"

static int bulkcheck_utf8(const char *s, size_t n)
{
    for (size_t i = 0, k; i < n; i += k)
        if ((k = utf8_seq_len((const unsigned char *)s + i, n - i, 1)) == 0)
            return ERR_INVALID;
    return 0;
}

/* Every field of rec is text; err->field names the first that is not. */
static int bulkcheck_text(const struct csv_record *rec, const char *what, struct bulkcheck_err *err)
{
    for (size_t i = 0; i < rec->nfields; i++) {
        if (bulkcheck_utf8(rec->fields[i], rec->lens[i]) == 0)
            continue;
        err->field = what;
        err->why = "must be valid UTF-8 without NUL bytes";
        return ERR_INVALID;
    }
    return 0;
}

/*
 * One data record: UTF-8 everywhere, then (strict) username and email as POST /users checks
 * them.
 */
static int bulkcheck_row(const struct csv_record *rec, int ucol, int ecol, int strict,
                         struct bulkcheck_err *err)
{
    if (bulkcheck_text(rec, "row", err) != 0)
        return ERR_INVALID;
    if (!strict || (size_t)ucol >= rec->nfields || (size_t)ecol >= rec->nfields ||
        !rec->lens[ucol] || !rec->lens[ecol])
        return 0; /* skipped by the import, not counted (API.md 5) */
    err->field = "username";
    if (validate_username(rec->fields[ucol], rec->lens[ucol], &err->why) != 0)
        return ERR_INVALID;
    err->field = "email";
    if (validate_email(rec->fields[ecol], rec->lens[ecol], &err->why) != 0)
        return ERR_INVALID;
    err->field = NULL;
    return 0;
}

/* The header: text, naming username and email. */
static int bulkcheck_header(struct csv *c, int *ucol, int *ecol, struct bulkcheck_err *err)
{
    struct csv_record rec;
    int rc = csv_next(c, &rec);
    err->line = c->line;
    err->field = "header";
    err->why = "must name username and email";
    if (rc != 1)
        return rc == ERR_TOO_BIG ? ERR_TOO_BIG : ERR_BAD_BODY;
    if (bulkcheck_text(&rec, "header", err) != 0)
        return ERR_INVALID;
    *ucol = csv_column(&rec, "username");
    *ecol = csv_column(&rec, "email");
    return *ucol < 0 || *ecol < 0 ? ERR_BAD_BODY : 0;
}

int bulkcheck_csv(const char *data, size_t len, long max_rows, int strict,
                  struct bulkcheck_err *err)
{
    struct csv c;
    struct csv_record rec;
    int ucol, ecol, rc;
    long rows = 0;
    *err = (struct bulkcheck_err){0};
    csv_init(&c, data, len);
    if ((rc = bulkcheck_header(&c, &ucol, &ecol, err)) != 0)
        goto out;
    while ((rc = csv_next(&c, &rec)) == 1) {
        err->line = c.line;
        if (++rows > max_rows) {
            rc = ERR_TOO_BIG;
            break;
        }
        if (bulkcheck_row(&rec, ucol, ecol, strict, err) != 0) {
            rc = ERR_INVALID;
            goto out;
        }
    }
    if (rc < 0) { /* the reader's own error: a syntax error or a cap */
        err->line = c.line;
        err->field = "csv";
        err->why = rc == ERR_TOO_BIG ? "too large" : "malformed";
        rc = rc == ERR_TOO_BIG ? ERR_TOO_BIG : ERR_BAD_BODY;
    }
out:
    csv_release(&c);
    return rc < 0 ? rc : 0;
}
