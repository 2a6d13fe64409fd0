/*
 * fuzz_entry.c - event-worker/entry.c: a click stream entry's field list, as XREADGROUP
 * returns it, from the input split at NUL bytes into at most 16 strings (field, value, ...);
 * the first byte picks the shard, a second NUL-separated word the entry id.
 * Properties: ROW, POISON (with a reason) or GONE; a row's text fields are valid UTF-8 without
 * NUL bytes (they go to PostgreSQL).
 */
#include <string.h>

#include <hiredis/hiredis.h>

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
    struct sink_pg_row row;
    const char *why = NULL;
    memset(&row, 0, sizeof(row));
    enum entry_kind k =
        entry_parse((unsigned)data[0] >> 5, parts[1], (data[0] & 16) ? NULL : &list, &row, &why);
    FUZZ_CHECK(k == ENTRY_ROW || k == ENTRY_POISON || k == ENTRY_GONE);
    if (k == ENTRY_POISON)
        FUZZ_CHECK(why != NULL);
    if (k == ENTRY_ROW) {
        fuzz_entry_text(row.code);
        fuzz_entry_text(row.url);
        fuzz_entry_text(row.ref);
        fuzz_entry_text(row.ua);
        FUZZ_CHECK(row.url_id && row.ts_ms);
    }
    free(own);
    return 0;
}
