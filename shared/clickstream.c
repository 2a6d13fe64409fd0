/*
 * clickstream.c - stream entry ids (see clickstream.h).
 */
#include "clickstream.h"

#include <errno.h>
#include <stdlib.h>

#include "banned.h"

static int clickstream_u64(const char *s, char **end, uint64_t *out)
{
    if (*s < '0' || *s > '9')
        return ERR_INVALID;
    errno = 0;
    unsigned long long v = strtoull(s, end, 10);
    if (errno)
        return ERR_INVALID;
    *out = v;
    return 0;
}

int clickstream_id_parse(const char *s, struct clickstream_id *out)
{
    char *end;
    if (!s || clickstream_u64(s, &end, &out->ms) != 0)
        return ERR_INVALID;
    out->seq = 0;
    if (*end == '\0')
        return 0;
    if (*end != '-' || clickstream_u64(end + 1, &end, &out->seq) != 0 || *end != '\0')
        return ERR_INVALID;
    return 0;
}

int clickstream_id_cmp(const struct clickstream_id *a, const struct clickstream_id *b)
{
    if (a->ms != b->ms)
        return a->ms < b->ms ? -1 : 1;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return 0;
}
