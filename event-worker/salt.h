/*
 * salt.h - the visitor salt of each day, shared by every worker through
 * PostgreSQL (table visitor_salts, schema/004_analytics.sql).
 *
 * The first worker that needs day D's salt draws 32 random bytes
 * (RAND_bytes) and inserts them with ON CONFLICT (day) DO NOTHING; every
 * worker then reads the row that won, so all hash a visitor alike on day D.
 * Salts older than SALT_KEEP_DAYS days are deleted whenever a worker fetches a
 * salt it has not cached: after that, that day's visitor hashes cannot be
 * recomputed from an address. The last two salts are cached in memory.
 */
#ifndef SALT_H
#define SALT_H

#include <stdint.h>

#include "common.h"
#include "visitor.h"

struct db;

#define SALT_KEEP_DAYS 2 /* today and yesterday: late clicks of yesterday still hash alike */

struct salt_slot {
    long day; /* days since the epoch (UTC); -1 when empty */
    uint8_t salt[VISITOR_SALT_LEN];
};

/* The in-memory cache. Plain struct: salt_init, no release needed. */
struct salt_cache {
    struct salt_slot slot[2];
    int next; /* the slot the next miss replaces */
};

void salt_init(struct salt_cache *sc);

/*
 * Copies the salt of `day` (days since the epoch, UTC) into out, from the
 * cache or from PostgreSQL through db (borrowed; no transaction open).
 * Returns 0, ERR_SYS (no random bytes) or the db_exec error (detail on db).
 */
int salt_get(struct salt_cache *sc, struct db *db, long day,
             uint8_t out[VISITOR_SALT_LEN]) ATTR_WARN_UNUSED;

#endif
