/*
 * fuzz_entry.c - event-worker/entry.c: a click stream entry's field list, as XREADGROUP
 * returns it, from the input split at NUL bytes into at most 16 strings (field, value, ...);
 * the first byte picks the shard, a second NUL-separated word the entry id.
 * Properties: ROW, POISON (with a reason) or GONE; every click of the entry becomes a row or a
 * poison item (entry_clicks() of them in all); a row's text fields are valid UTF-8 without NUL
 * bytes (they go to PostgreSQL).
 */
#include <string.h>

#include <hiredis/hiredis.h>

#include "clickstream.h"
#include "entry.h"
#include "fuzz.h"
#include "sink_pg.h"
#include "utf8.h"

#include "banned.h"

#define FUZZ_ENTRY_MAX 16

static void fuzz_entry_text(const char *s)
{
    if (!s)
        return;
    size_t n = strlen(s);
    for (size_t i = 0, k; i < n; i += k)
        FUZZ_CHECK((k = utf8_seq_len((const unsigned char *)s + i, n - i, 1)) > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    redisReply list = {.type = REDIS_REPLY_ARRAY}, items[FUZZ_ENTRY_MAX];
    redisReply *ptrs[FUZZ_ENTRY_MAX];
    char *parts[FUZZ_ENTRY_MAX + 2];
    size_t lens[FUZZ_ENTRY_MAX + 2];
    if (size < 1)
        return 0;
    char *own = fuzz_split(data + 1, size - 1, '\0', FUZZ_ENTRY_MAX + 2, parts, lens);
    size_t n = (size_t)data[0] % (FUZZ_ENTRY_MAX + 1);
    for (size_t i = 0; i < n; i++) {
        items[i] =
            (redisReply){.type = REDIS_REPLY_STRING, .str = parts[i + 2], .len = lens[i + 2]};
        ptrs[i] = &items[i];
    }
    list.elements = n;
    list.element = ptrs;
    static struct sink_pg_row rows[CLICKSTREAM_BATCH_MAX]; /* too big for the stack */
    static struct entry_bad bad[CLICKSTREAM_BATCH_MAX];
    struct entry_out out = {.rows = rows, .bad = bad};
    redisReply *f = (data[0] & 16) ? NULL : &list;
    size_t slots = entry_clicks(f);
    enum entry_kind k = entry_parse((unsigned)data[0] >> 5, parts[1], f, &out);
    FUZZ_CHECK(k == ENTRY_ROW || k == ENTRY_POISON || k == ENTRY_GONE);
    /* Every click a row or a bad item; a broken entry is one bad item however many it claims. */
    FUZZ_CHECK(out.nrows + out.nbad <= slots || (k == ENTRY_POISON && out.nbad == 1));
    FUZZ_CHECK(k != ENTRY_ROW || out.nrows + out.nbad == slots);
    if (k == ENTRY_POISON)
        FUZZ_CHECK(out.nbad == 1 && out.bad[0].idx == ENTRY_WHOLE && out.bad[0].why);
    for (size_t i = 0; i < out.nbad; i++)
        FUZZ_CHECK(out.bad[i].why != NULL);
    for (size_t i = 0; i < out.nrows; i++) {
        fuzz_entry_text(rows[i].code);
        fuzz_entry_text(rows[i].url);
        fuzz_entry_text(rows[i].ref);
        fuzz_entry_text(rows[i].ua);
        FUZZ_CHECK(rows[i].url_id && rows[i].ts_ms);
    }
    free(own);
    return 0;
}
