/*
 * entry.c - a click stream entry turned into rows (see entry.h).
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

/* The packed values of a click, in the order of shared/clickstream.h. */
enum { EV_URL_ID, EV_UID, EV_CODE, EV_URL, EV_TS, EV_REF, EV_UA, EV_IP };

/* The value of field `name` in an entry's flat field list, or NULL. Borrowed. */
static redisReply *entry_field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (strcmp(fields->element[i]->str, name) == 0)
            return fields->element[i + 1];
    return NULL;
}

/* 1 when s[0..len) is a decimal integer 0..max (no sign, no blanks, no NUL inside). */
static int entry_decimal(const char *s, size_t len, long long max)
{
    long long v = 0;
    if (!s || len == 0 || len > 19)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        if (v > (INT64_MAX - (s[i] - '0')) / 10)
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    return v <= max;
}

static int entry_decimal_reply(const redisReply *r, long long max)
{
    return r && entry_decimal(r->str, r->len, max);
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

/* The checks shared by both formats; NULL when the three numbers are storable. */
static const char *entry_check(const char *url_id, size_t url_id_len, const char *uid,
                               size_t uid_len, const char *ts, size_t ts_len)
{
    if (!entry_decimal(url_id, url_id_len, INT64_MAX))
        return "no numeric url id";
    if (uid && uid_len > 0 && !entry_decimal(uid, uid_len, INT64_MAX))
        return "user id is not a number";
    if (!entry_decimal(ts, ts_len, ENTRY_TS_MAX))
        return "bad timestamp";
    return NULL;
}

/* Sets the idempotency key of row: the entry id, its shard and the click's index. */
static const char *entry_key(unsigned shard, const char *id, size_t idx, int batched,
                             struct sink_pg_row *row)
{
    struct clickstream_id cid;
    /* The key columns: ms bigint, seq integer (schema/006_click_keys.sql). */
    if (clickstream_id_parse(id, &cid) != 0 || cid.ms > INT64_MAX || cid.seq > INT32_MAX)
        return "bad entry id";
    row->shard = shard;
    row->ms = cid.ms;
    row->seq = cid.seq;
    row->idx = (unsigned)idx;
    int n = batched ? snprintf(row->stream_id, sizeof(row->stream_id), "%u:%s/%zu", shard, id, idx)
                    : snprintf(row->stream_id, sizeof(row->stream_id), "%u:%s", shard, id);
    return n < 0 || (size_t)n >= sizeof(row->stream_id) ? "entry id too long" : NULL;
}

static void entry_poison(struct entry_out *out, size_t idx, const redisReply *raw, const char *why)
{
    struct entry_bad *b = &out->bad[out->nbad++];
    b->idx = idx;
    b->raw = raw;
    b->why = why;
    b->row = NULL;
}

/* A one-click entry (named fields). */
static enum entry_kind entry_one(unsigned shard, const char *id, redisReply *f,
                                 struct entry_out *out)
{
    struct sink_pg_row *row = &out->rows[out->nrows];
    const redisReply *url_id = entry_field(f, CLICKSTREAM_F_URL_ID);
    const redisReply *uid = entry_field(f, CLICKSTREAM_F_USER_ID);
    const redisReply *ts = entry_field(f, CLICKSTREAM_F_TS);
    memset(row, 0, sizeof(*row));
    const char *why =
        entry_check(url_id ? url_id->str : NULL, url_id ? url_id->len : 0, uid ? uid->str : NULL,
                    uid ? uid->len : 0, ts ? ts->str : NULL, ts ? ts->len : 0);
    if (!why)
        why = entry_key(shard, id, 0, 0, row);
    if (why) {
        entry_poison(out, ENTRY_WHOLE, NULL, why);
        return ENTRY_POISON;
    }
    row->url_id = url_id->str;
    row->user_id = uid && uid->len > 0 ? uid->str : NULL;
    row->ts_ms = ts->str;
    row->code = entry_text(f, CLICKSTREAM_F_CODE);
    row->url = entry_text(f, CLICKSTREAM_F_URL);
    row->ref = entry_text(f, CLICKSTREAM_F_REFERRER);
    row->ua = entry_text(f, CLICKSTREAM_F_AGENT);
    row->ip = entry_text(f, CLICKSTREAM_F_IP);
    out->nrows++;
    return ENTRY_ROW;
}

/* Splits a packed click into its values; 0, or -1 unless there are exactly CLICKSTREAM_NVALUES. */
static int entry_split(const redisReply *r, char **v, size_t *len)
{
    size_t k = 0;
    char *s = r->str, *end = r->str + r->len;
    for (;;) {
        char *sep = memchr(s, CLICKSTREAM_SEP, (size_t)(end - s));
        if (k == CLICKSTREAM_NVALUES)
            return -1;
        v[k] = s;
        len[k++] = (size_t)((sep ? sep : end) - s);
        if (!sep)
            break;
        s = sep + 1;
    }
    return k == CLICKSTREAM_NVALUES ? 0 : -1;
}

/* One packed click of a batch: a row, or a poison click (its value left untouched). */
static void entry_packed(unsigned shard, const char *id, size_t idx, redisReply *r,
                         struct entry_out *out)
{
    char *v[CLICKSTREAM_NVALUES];
    size_t len[CLICKSTREAM_NVALUES];
    struct sink_pg_row *row = &out->rows[out->nrows];
    memset(row, 0, sizeof(*row));
    const char *why = entry_split(r, v, len) ? "packed click has not 8 values" : NULL;
    if (!why)
        why =
            entry_check(v[EV_URL_ID], len[EV_URL_ID], v[EV_UID], len[EV_UID], v[EV_TS], len[EV_TS]);
    if (!why)
        why = entry_key(shard, id, idx, 1, row);
    if (why) {
        entry_poison(out, idx, r, why);
        return;
    }
    for (size_t i = 0; i < CLICKSTREAM_NVALUES; i++) {
        utf8_clean(v[i], len[i], 1);
        v[i][len[i]] = '\0'; /* a separator, or the reply's own NUL at the end */
    }
    row->url_id = v[EV_URL_ID];
    row->user_id = len[EV_UID] ? v[EV_UID] : NULL;
    row->ts_ms = v[EV_TS];
    row->code = v[EV_CODE];
    row->url = v[EV_URL];
    row->ref = v[EV_REF];
    row->ua = v[EV_UA];
    row->ip = len[EV_IP] ? v[EV_IP] : NULL;
    out->nrows++;
}

/* n of a batch's "b", or 0 when it is not a decimal 1..CLICKSTREAM_BATCH_MAX. */
static size_t entry_batch_n(const redisReply *b)
{
    if (!entry_decimal_reply(b, CLICKSTREAM_BATCH_MAX))
        return 0;
    return (size_t)strtoul(b->str, NULL, 10);
}

/*
 * The packed clicks of a batch of n, by index, in one pass over the fields (a field name
 * that is not an index, such as "b", is skipped). NULL when one is missing or doubled.
 */
static const char *entry_collect(redisReply *f, size_t n, redisReply **clicks)
{
    memset(clicks, 0, n * sizeof(*clicks));
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const redisReply *name = f->element[i];
        if (!entry_decimal(name->str, name->len, (long long)n - 1) ||
            (name->len > 1 && name->str[0] == '0'))
            continue;
        size_t k = (size_t)strtoul(name->str, NULL, 10);
        if (clicks[k])
            return "a packed click is doubled";
        clicks[k] = f->element[i + 1];
    }
    for (size_t k = 0; k < n; k++)
        if (!clicks[k])
            return "a packed click is missing";
    return NULL;
}

/* A batch: every packed click "0".."n-1" must be there before any is parsed. */
static enum entry_kind entry_batch(unsigned shard, const char *id, redisReply *f,
                                   const redisReply *b, struct entry_out *out)
{
    size_t n = entry_batch_n(b);
    redisReply *clicks[CLICKSTREAM_BATCH_MAX];
    const char *why = n ? entry_collect(f, n, clicks) : "bad click count";
    if (why) {
        entry_poison(out, ENTRY_WHOLE, NULL, why);
        return ENTRY_POISON;
    }
    for (size_t i = 0; i < n; i++)
        entry_packed(shard, id, i, clicks[i], out);
    return ENTRY_ROW;
}

size_t entry_clicks(const redisReply *f)
{
    if (!f)
        return 0;
    if (f->type != REDIS_REPLY_ARRAY || f->elements % 2)
        return 1;
    for (size_t i = 0; i < f->elements; i++)
        if (f->element[i]->type != REDIS_REPLY_STRING)
            return 1;
    const redisReply *b = entry_field(f, CLICKSTREAM_F_BATCH);
    size_t n = b ? entry_batch_n(b) : 0;
    return n ? n : 1;
}

enum entry_kind entry_parse(unsigned shard, const char *id, struct redisReply *f,
                            struct entry_out *out)
{
    if (!f)
        return ENTRY_GONE;
    const char *why = NULL;
    if (f->type != REDIS_REPLY_ARRAY || f->elements % 2)
        why = "odd field list";
    for (size_t i = 0; !why && i < f->elements; i++)
        if (f->element[i]->type != REDIS_REPLY_STRING)
            why = "a field is not a string";
    if (why) {
        entry_poison(out, ENTRY_WHOLE, NULL, why);
        return ENTRY_POISON;
    }
    const redisReply *b = entry_field(f, CLICKSTREAM_F_BATCH);
    return b ? entry_batch(shard, id, f, b, out) : entry_one(shard, id, f, out);
}
