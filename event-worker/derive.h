/*
 * derive.h - the analytics fields of a click, derived at ingest: referrer host
 * (refhost.c), browser, OS, device class and bot flag (uacache.c over
 * uaparse.c), country (geoip.c, when GEOIP_DB is set) and the salted visitor
 * hash (visitor.c, salt.c). The raw address is only read here.
 */
#ifndef DERIVE_H
#define DERIVE_H

#include <stddef.h>

#include "common.h"

struct db;
struct derive;
struct sink_pg_row;

struct derive_cfg {
    const char *ua_regexes; /* uap-core regexes.yaml; borrowed */
    const char *geoip_db;   /* a MaxMind DB file, or NULL: no country; borrowed */
    size_t ua_cache;        /* entries of the user-agent cache */
};

/*
 * Loads the rules and opens the GeoIP database. A new handle (derive_free),
 * or NULL with the reason in err (errlen bytes).
 */
struct derive *derive_new(const struct derive_cfg *cfg, char *err, size_t errlen);

/* Frees the handle. Accepts NULL. */
void derive_free(struct derive *d);

/*
 * Fills the derived fields of rows[0..n). The salts come from PostgreSQL
 * through db (borrowed; no transaction open) the first time a day is seen.
 * Returns 0 or the error of salt_get (ERR_DB, ERR_TIMEOUT, ERR_SYS).
 * A click without an address gets no visitor hash and no country.
 */
int derive_rows(struct derive *d, struct db *db, struct sink_pg_row *rows,
                size_t n) ATTR_WARN_UNUSED;

/* Logs the user-agent cache figures and the mean cost of a click (one info line). */
void derive_log_totals(const struct derive *d);

#endif
