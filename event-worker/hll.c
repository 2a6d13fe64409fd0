/*
 * hll.c - PFADD of visitor hashes (see hll.h).
 */
#include "hll.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "clickstream.h"
#include "kv.h"
#include "rkeys.h"
#include "sink_pg.h"

#include "banned.h"

void hll_day(long long ts_ms, char out[9])
{
    struct tm tm;
    char buf[40];
    time_t t = (time_t)(ts_ms / 1000);
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
        memset(&tm, 0, sizeof(tm));
    snprintf(buf, sizeof(buf), "%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    memcpy(out, buf, 8);
    out[8] = '\0';
}

/* Queues PFADD and EXPIRE for one row. 0 or ERR_KV. */
static int hll_append(struct kv *kv, const struct sink_pg_row *r)
{
    char key[RKEYS_MAX], day[9];
    hll_day(strtoll(r->ts_ms, NULL, 10), day);
    if (rkeys_hll(r->url_id, day, key) < 0)
        return ERR_INVALID;
    const char *pfadd[] = {"PFADD", key, r->visitor};
    const char *expire[] = {"EXPIRE", key, RKEYS_HLL_TTL_S};
    if (kv_append(kv, 3, pfadd, NULL) != 0 || kv_append(kv, 3, expire, NULL) != 0)
        return ERR_KV;
    return 0;
}

int hll_add(struct kv *kv, const struct sink_pg_row *rows, size_t n)
{
    size_t queued = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (rows[i].bot || !rows[i].visitor[0])
            continue;
        rc = hll_append(kv, &rows[i]);
        queued += 2;
    }
    /* Read every queued reply, even after an error, or the next command reads a stale one. */
    for (size_t i = 0; i < queued; i++) {
        redisReply *r = NULL;
        if (kv_read_reply(kv, &r) != 0) {
            rc = ERR_KV;
            if (kv_is_broken(kv))
                break;
        }
        if (r)
            freeReplyObject(r);
    }
    return rc;
}
