/*
 * fuzz_csv.c - shared/csv.c (the RFC 4180 reader) and write-svc/bulkcheck.c (the users CSV
 * checked before POST /users/bulk imports it) on any bytes.
 * Properties: the reader ends, records stay within the caps, every field is NUL-terminated at
 * its length; bulkcheck answers one of its four codes and names a line for every refusal.
 */
#include <string.h>

#include "bulkcheck.h"
#include "csv.h"
#include "fuzz.h"

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct csv c;
    struct csv_record rec;
    struct bulkcheck_err e;
    int rc;
    size_t records = 0;
    csv_init(&c, (const char *)data, size);
    while ((rc = csv_next(&c, &rec)) == 1) {
        FUZZ_CHECK(rec.nfields >= 1 && rec.nfields <= CSV_MAX_FIELDS);
        for (size_t i = 0; i < rec.nfields; i++)
            FUZZ_CHECK(rec.lens[i] <= CSV_MAX_RECORD && rec.fields[i][rec.lens[i]] == '\0');
        FUZZ_CHECK(++records <= size);
        (void)csv_column(&rec, "email");
    }
    FUZZ_CHECK(rc == 0 || rc == ERR_INVALID || rc == ERR_TOO_BIG);
    csv_release(&c);

    rc = bulkcheck_csv((const char *)data, size, 1000, size % 2, &e);
    FUZZ_CHECK(rc == 0 || rc == ERR_INVALID || rc == ERR_BAD_BODY || rc == ERR_TOO_BIG);
    if (rc)
        FUZZ_CHECK(e.field && e.why && e.line >= 1);
    return 0;
}
