/*
 * fuzz_jcompact.c - shared/jcompact.c, the in-place JSON compactor of every answer.
 * Properties: never longer than the input; for input jansson accepts, the output parses to the
 * same value and has no whitespace outside strings; compacting twice changes nothing.
 */
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "jcompact.h"

#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    json_t *before = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    size_t n = jcompact_inplace(s, size);
    FUZZ_CHECK(n <= size);
    size_t m = jcompact_inplace(s, n);
    FUZZ_CHECK(m == n);
    if (before) {
        json_t *after = json_loadb(s, n, JSON_DECODE_ANY, NULL);
        FUZZ_CHECK(after && json_equal(before, after));
        json_decref(after);
        json_decref(before);
    }
    free(s);
    return 0;
}
