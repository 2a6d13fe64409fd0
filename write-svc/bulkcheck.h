/*
 * bulkcheck.h - the validation of a users CSV before any of it is imported (POST /users/bulk):
 * the same rules as POST /users, row by row, with the line of the first bad row. Pure (no
 * database), so it runs before PostgreSQL sees a byte, and it is fuzzed (tests/fuzz).
 */
#ifndef BULKCHECK_H
#define BULKCHECK_H

#include <stddef.h>

#include "common.h"

/* Where and why a CSV was refused; every pointer static. */
struct bulkcheck_err {
    size_t line;       /* 1-based line of the record at fault (0: none) */
    const char *field; /* "username", "email", "id", "created_at", "csv", or a column name */
    const char *why;   /* client-safe reason */
};

/*
 * Checks data[0..len) (borrowed): a header naming username and email, then every record.
 * Every field of every record must be well-formed UTF-8 without NUL bytes (PostgreSQL would
 * refuse it). With strict (BULK_STRICT), a record with a non-empty username and email (one
 * API.md counts) must also pass validate_username and validate_email; without it, as API.md
 * 4.3-2 asks, their shape is not checked. Records with either empty are skipped, as the
 * import skips them. At most max_rows data records.
 * Returns 0; ERR_BAD_BODY for a CSV syntax error or a header without username or email (400);
 * ERR_INVALID for a bad row (422); ERR_TOO_BIG above a cap (413). *err says where.
 */
int bulkcheck_csv(const char *data, size_t len, long max_rows, int strict,
                  struct bulkcheck_err *err) ATTR_WARN_UNUSED;

#endif
