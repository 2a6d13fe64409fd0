/*
 * entry.h - one click stream entry (the field list XREADGROUP or XAUTOCLAIM
 * returns) turned into a row for sink_pg, or the reason it cannot be stored.
 * Pure: no I/O, so the rules are unit-tested (tests/unit/test_entry.c).
 */
#ifndef ENTRY_H
#define ENTRY_H

struct redisReply;
struct sink_pg_row;

enum entry_kind {
    ENTRY_ROW,    /* a storable click: the row is filled */
    ENTRY_POISON, /* fields that do not parse: goes to the dead-letter stream */
    ENTRY_GONE,   /* the entry's data was deleted before we stored it */
};

/*
 * Parses the entry `id` of `shard` with its flat field list `fields` (borrowed;
 * NULL when the data was deleted). ENTRY_ROW fills *row: its pointers borrow
 * from fields, whose text values (code, URL, referrer, user agent) are cleaned
 * to valid UTF-8 without NULs in place. ENTRY_POISON sets *why (static text).
 */
enum entry_kind entry_parse(unsigned shard, const char *id, struct redisReply *fields,
                            struct sink_pg_row *row, const char **why);

#endif
