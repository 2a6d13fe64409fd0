/*
 * entry.h - one click stream entry (the field list XREADGROUP or XAUTOCLAIM
 * returns) turned into rows for sink_pg, or the reasons it (or one of its
 * clicks) cannot be stored. Pure: no I/O, so the rules are unit-tested
 * (tests/unit/test_entry.c) and fuzzed (tests/fuzz/fuzz_entry.c).
 *
 * Two entry formats (shared/clickstream.h): one click with named fields, or a
 * batch ("b" = n, "0".."n-1" packed clicks). Poison rules (DECISIONS P1):
 *   - the whole entry is poison when its structure is broken: an odd field list,
 *     a field that is not a string, a bad "b", a missing packed click "<i>", an
 *     entry id that does not parse or does not fit the key columns, or, for a
 *     one-click entry, a bad url id, user id or timestamp;
 *   - in a batch, a packed click that does not split into CLICKSTREAM_NVALUES values
 *     or has a bad url id, user id or timestamp is poison alone: the entry's other
 *     clicks are stored, and that click goes to the dead-letter stream with its index.
 * Either way every click is stored or dead-lettered: none is dropped silently.
 */
#ifndef ENTRY_H
#define ENTRY_H

#include <stddef.h>

struct redisReply;
struct sink_pg_row;

enum entry_kind {
    ENTRY_ROW,    /* rows (and maybe poison clicks) appended to the output */
    ENTRY_POISON, /* the whole entry cannot be stored: one ENTRY_WHOLE poison appended */
    ENTRY_GONE,   /* the entry's data was deleted before we stored it: nothing appended */
};

#define ENTRY_WHOLE ((size_t)-1) /* entry_bad.idx of a poison entry (not one click of it) */

/* One click (or whole entry) that cannot be stored. */
struct entry_bad {
    size_t idx;                    /* the click's index in its entry, or ENTRY_WHOLE */
    const struct redisReply *raw;  /* the packed click (borrowed); NULL for ENTRY_WHOLE */
    const char *why;               /* static text */
    const struct sink_pg_row *row; /* a row PostgreSQL refused (set by the caller), or NULL */
    size_t ent;                    /* the caller's tag (entry_parse leaves it alone) */
};

/* Where entry_parse appends. rows and bad each have room for entry_clicks() more items. */
struct entry_out {
    struct sink_pg_row *rows; /* borrowed array */
    size_t nrows;
    struct entry_bad *bad; /* borrowed array */
    size_t nbad;
};

/*
 * How many output slots the entry needs: n for a batch with a valid "b",
 * 1 for anything else (one click, or one poison entry), 0 when gone (NULL).
 */
size_t entry_clicks(const struct redisReply *fields);

/*
 * Parses the entry `id` of `shard` with its flat field list `fields` (borrowed;
 * NULL when the data was deleted), appending to *out. Row pointers borrow from
 * fields, which are modified in place: text values (code, URL, referrer, user
 * agent) are cleaned to valid UTF-8 without NULs, and a batch's stored packed
 * clicks are cut at their separators. A poison click is left untouched.
 */
enum entry_kind entry_parse(unsigned shard, const char *id, struct redisReply *fields,
                            struct entry_out *out);

#endif
