/*
 * geoip.h - the country of a client address from a MaxMind DB file
 * (libmaxminddb; GeoLite2-Country, GeoIP2-City, DB-IP lite and any database
 * with a country.iso_code field). Optional: without GEOIP_DB no country is
 * derived. The file is memory-mapped once; lookups do no I/O.
 */
#ifndef GEOIP_H
#define GEOIP_H

#include <stddef.h>

#include "common.h"

#define GEOIP_CC_LEN 3 /* two letters and a NUL */

struct geoip;

/* Opens the database at path (borrowed). A new handle (geoip_free), or NULL with err set. */
struct geoip *geoip_open(const char *path, char *err, size_t errlen);

/* Closes the database. Accepts NULL. */
void geoip_free(struct geoip *g);

/*
 * Writes the ISO 3166 country code of the textual address ip (IPv4 or IPv6)
 * into out. Returns 0, or ERR_NOT_FOUND (out = "") when ip does not parse,
 * is not in the database, or its entry has no two-letter country code.
 */
int geoip_country(struct geoip *g, const char *ip, char out[GEOIP_CC_LEN]) ATTR_WARN_UNUSED;

#endif
