/*
 * entry.c - a click stream entry turned into a row (see entry.h).
 */
#include "entry.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "clickstream.h"
#include "sink_pg.h"
#include "utf8.h"

#include "banned.h"

#define ENTRY_TS_MAX 253402300799999LL /* 9999-12-31T23:59:59.999Z in ms */

/* The value of field `name` in an entry's flat field list, or NULL. Borrowed. */
static redisReply *entry_field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (strcmp(fields->element[i]->str, name) == 0)
            return fields->element[i + 1];
    return NULL;
}

/* 1 when r holds a decimal integer 0..max (no sign, no blanks, no NUL inside). */
static int entry_decimal(const redisReply *r, long long max)
{
    if (!r || r->len == 0 || r->len > 19 || strlen(r->str) != r->len)
        return 0;
    for (size_t i = 0; i < r->len; i++)
        if (r->str[i] < '0' || r->str[i] > '9')
            return 0;
    errno = 0;
    long long v = strtoll(r->str, NULL, 10);
    return errno == 0 && v <= max;
}

/*
 * The text of field `name`, made storable in place: bytes that are not UTF-8
 * (and NULs) become '?'. Referer and User-Agent are raw header bytes a client
 * chose; a Latin-1 header must not cost us the click, and PostgreSQL would
 * refuse the whole batch for one invalid byte. NULL when the field is missing.
 */
static const char *entry_text(const redisReply *fields, const char *name)
{
    redisReply *r = entry_field(fields, name);
    if (!r)
        return NULL;
    utf8_clean(r->str, r->len, 1);
    return r->str;
}

enum entry_kind entry_parse(unsigned shard, const char *id, struct redisReply *f,
                            struct sink_pg_row *row, const char **why)
{
    *why = NULL;
    if (!f)
        return ENTRY_GONE;
    if (f->elements % 2) {
        *why = "odd field list";
        return ENTRY_POISON;
    }
    for (size_t i = 0; i < f->elements; i++)
        if (f->element[i]->type != REDIS_REPLY_STRING) {
            *why = "a field is not a string";
            return ENTRY_POISON;
        }
    const redisReply *url_id = entry_field(f, CLICKSTREAM_F_URL_ID);
    const redisReply *uid = entry_field(f, CLICKSTREAM_F_USER_ID);
    const redisReply *ts = entry_field(f, CLICKSTREAM_F_TS);
    if (!entry_decimal(url_id, INT64_MAX))
        *why = "no numeric url id";
    else if (uid && uid->len > 0 && !entry_decimal(uid, INT64_MAX))
        *why = "user id is not a number";
    else if (!entry_decimal(ts, ENTRY_TS_MAX))
        *why = "bad timestamp";
    else if ((size_t)snprintf(row->stream_id, sizeof(row->stream_id), "%u:%s", shard, id) >=
             sizeof(row->stream_id))
        *why = "entry id too long";
    if (*why)
        return ENTRY_POISON;
    row->url_id = url_id->str;
    row->user_id = uid && uid->len > 0 ? uid->str : NULL;
    row->ts_ms = ts->str;
    row->code = entry_text(f, CLICKSTREAM_F_CODE);
    row->url = entry_text(f, CLICKSTREAM_F_URL);
    row->ref = entry_text(f, CLICKSTREAM_F_REFERRER);
    row->ua = entry_text(f, CLICKSTREAM_F_AGENT);
    row->ip = entry_text(f, CLICKSTREAM_F_IP);
    return ENTRY_ROW;
}
