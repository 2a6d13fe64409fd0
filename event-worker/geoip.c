/*
 * geoip.c - country lookups in a MaxMind DB file (see geoip.h).
 */
#include "geoip.h"

#include <maxminddb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h"

struct geoip {
    MMDB_s mmdb;
};

struct geoip *geoip_open(const char *path, char *err, size_t errlen)
{
    struct geoip *g = calloc(1, sizeof(*g));
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    int rc = MMDB_open(path, MMDB_MODE_MMAP, &g->mmdb);
    if (rc != MMDB_SUCCESS) {
        snprintf(err, errlen, "cannot open '%s': %s", path, MMDB_strerror(rc));
        free(g);
        return NULL;
    }
    return g;
}

void geoip_free(struct geoip *g)
{
    if (!g)
        return;
    MMDB_close(&g->mmdb);
    free(g);
}

/* 1 when s[0..n) is two ASCII letters. */
static int geoip_cc_ok(const char *s, uint32_t n)
{
    return n == 2 && ((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')) &&
           ((s[1] >= 'A' && s[1] <= 'Z') || (s[1] >= 'a' && s[1] <= 'z'));
}

int geoip_country(struct geoip *g, const char *ip, char out[GEOIP_CC_LEN])
{
    int gai = 0, mmdb = 0;
    MMDB_entry_data_s data;
    out[0] = '\0';
    if (!ip || !ip[0])
        return ERR_NOT_FOUND;
    MMDB_lookup_result_s r = MMDB_lookup_string(&g->mmdb, ip, &gai, &mmdb);
    if (gai != 0 || mmdb != MMDB_SUCCESS || !r.found_entry)
        return ERR_NOT_FOUND;
    if (MMDB_get_value(&r.entry, &data, "country", "iso_code", NULL) != MMDB_SUCCESS ||
        !data.has_data || data.type != MMDB_DATA_TYPE_UTF8_STRING ||
        !geoip_cc_ok(data.utf8_string, data.data_size))
        return ERR_NOT_FOUND;
    out[0] = (char)(data.utf8_string[0] & ~0x20); /* upper case */
    out[1] = (char)(data.utf8_string[1] & ~0x20);
    out[2] = '\0';
    return 0;
}
