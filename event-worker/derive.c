/*
 * derive.c - the analytics fields of a click (see derive.h).
 */
#include "derive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geoip.h"
#include "log.h"
#include "refhost.h"
#include "salt.h"
#include "sink_pg.h"
#include "timefmt.h"
#include "uacache.h"
#include "uaparse.h"
#include "visitor.h"

#include "banned.h"

#define DERIVE_DAY_MS 86400000LL

struct derive {
    struct uaparse *up;  /* owned */
    struct uacache *uac; /* owned */
    struct geoip *geo;   /* owned; NULL without GEOIP_DB */
    struct salt_cache salts;
    unsigned long clicks;
    int64_t ns; /* time spent deriving, for the mean in derive_log_totals */
};

struct derive *derive_new(const struct derive_cfg *cfg, char *err, size_t errlen)
{
    struct derive *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    salt_init(&d->salts);
    if (!(d->up = uaparse_new(cfg->ua_regexes, err, errlen)))
        goto fail;
    if (!(d->uac = uacache_new(d->up, cfg->ua_cache))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (cfg->geoip_db && cfg->geoip_db[0] && !(d->geo = geoip_open(cfg->geoip_db, err, errlen)))
        goto fail;
    log_info("user agent rules: %zu loaded from '%s' (%zu skipped); geoip %s", uaparse_rules(d->up),
             cfg->ua_regexes, uaparse_skipped(d->up), d->geo ? cfg->geoip_db : "off");
    return d;
fail:
    derive_free(d);
    return NULL;
}

void derive_free(struct derive *d)
{
    if (!d)
        return;
    geoip_free(d->geo);
    uacache_free(d->uac);
    uaparse_free(d->up);
    free(d);
}

/* The fields that need no database: referrer host, agent, country. */
static void derive_local(struct derive *d, struct sink_pg_row *r)
{
    struct uacache_info ui;
    if (refhost_parse(r->ref, r->refhost) != 0)
        r->refhost[0] = '\0';
    uacache_get(d->uac, r->ua, &ui);
    snprintf(r->browser, sizeof(r->browser), "%s", ui.browser);
    snprintf(r->os, sizeof(r->os), "%s", ui.os);
    r->device = uacache_device_name(ui.device);
    r->bot = ui.bot;
    if (!d->geo || geoip_country(d->geo, r->ip, r->country) != 0)
        r->country[0] = '\0';
}

/*
 * The visitor hash under the salt of the click's day. None without an
 * address, and none for a click older than the salts PostgreSQL keeps (a
 * replay days later): a new salt for that day would count its visitors again
 * and make the deleted day linkable.
 */
static int derive_visitor(struct derive *d, struct db *db, struct sink_pg_row *r)
{
    uint8_t salt[VISITOR_SALT_LEN];
    r->visitor[0] = '\0';
    if (!r->ip || !r->ip[0])
        return 0;
    long day = (long)(strtoll(r->ts_ms, NULL, 10) / DERIVE_DAY_MS);
    if (day < (long)(timefmt_now_ms() / DERIVE_DAY_MS) - (SALT_KEEP_DAYS - 1))
        return 0;
    int rc = salt_get(&d->salts, db, day, salt);
    if (rc == 0 && visitor_hash(salt, r->ip, r->ua, r->visitor) != 0)
        r->visitor[0] = '\0';
    return rc;
}

int derive_rows(struct derive *d, struct db *db, struct sink_pg_row *rows, size_t n)
{
    struct timespec t0, t1;
    int rc = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < n && rc == 0; i++) {
        derive_local(d, &rows[i]);
        rc = derive_visitor(d, db, &rows[i]);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    d->ns += (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000000 + (t1.tv_nsec - t0.tv_nsec);
    d->clicks += n;
    return rc;
}

void derive_log_totals(const struct derive *d)
{
    log_info("analytics: %lu clicks derived, user agent cache %lu hits %lu misses, "
             "%.1f us per click",
             d->clicks, uacache_hits(d->uac), uacache_misses(d->uac),
             d->clicks ? (double)d->ns / 1000.0 / (double)d->clicks : 0.0);
}
