/*
 * fuzz_validate.c - the input rules (shared/validate.c), the time parser (shared/timefmt.c),
 * the UTF-8 validator (shared/utf8.c) and the query-value parsers on any bytes. The input is
 * "<page>\n<per_page>\n<value>": the value goes through every validator.
 * Properties: an accepted value respects its documented bounds; pagination stays clamped;
 * utf8_clean leaves text every sequence of which is well-formed.
 */
#include <string.h>
#include <time.h>

#include "fuzz.h"
#include "shortcode.h"
#include "timefmt.h"
#include "utf8.h"
#include "validate.h"

#include "banned.h"

static void fuzz_validate_texts(const char *v, size_t n)
{
    const char *why = NULL;
    if (validate_username(v, n, &why) == 0)
        FUZZ_CHECK(n >= 1 && n <= VALIDATE_USERNAME_MAX);
    else
        FUZZ_CHECK(why != NULL);
    if (validate_email(v, n, &why) == 0)
        FUZZ_CHECK(n <= VALIDATE_EMAIL_MAX && memchr(v, '@', n));
    if (validate_url(v, n, &why) == 0)
        FUZZ_CHECK(n <= VALIDATE_URL_MAX && !memchr(v, ' ', n));
    if (validate_title(v, n, &why) == 0)
        FUZZ_CHECK(n <= VALIDATE_TITLE_MAX);
    if (validate_event_type(v, n, &why) == 0)
        FUZZ_CHECK(n >= 1 && n <= VALIDATE_EVENT_TYPE_MAX);
    if (validate_short_code(v, n) == 0)
        FUZZ_CHECK(n >= 1 && n <= VALIDATE_CODE_MAX);
    if (validate_alias(v, n, &why) == 0)
        FUZZ_CHECK(n >= VALIDATE_ALIAS_MIN && n <= VALIDATE_CODE_MAX);
    if (validate_timestamp(v, n, &why) == 0)
        FUZZ_CHECK(n == 19);
    (void)shortcode_is_reserved(v, n);
    (void)shortcode_shard(v, n, 8);
}

static void fuzz_validate_utf8(const char *v, size_t n)
{
    char *c = fuzz_cstr((const uint8_t *)v, n);
    utf8_clean(c, n, 1);
    for (size_t i = 0, k; i < n; i += k)
        FUZZ_CHECK((k = utf8_seq_len((const unsigned char *)c + i, n - i, 1)) > 0);
    free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p[3];
    size_t lens[3];
    char *own = fuzz_split(data, size, '\n', 3, p, lens);
    int paginate, b;
    long limit = 0, offset = 0;
    long long id;
    time_t t;
    validate_pagination(lens[0] ? p[0] : NULL, lens[1] ? p[1] : NULL, &paginate, &limit, &offset);
    if (paginate)
        FUZZ_CHECK(limit >= 1 && limit <= VALIDATE_PER_PAGE_MAX && offset >= 0);
    if (validate_query_id(p[2], &id) == 0)
        FUZZ_CHECK(id >= 1);
    if (validate_query_bool(p[2], &b) == 0)
        FUZZ_CHECK(b == 0 || b == 1);
    if (timefmt_parse(p[2], &t) == 0)
        FUZZ_CHECK(lens[2] >= 10);
    fuzz_validate_texts(p[2], lens[2]);
    fuzz_validate_utf8(p[2], lens[2]);
    free(own);
    return 0;
}
