/*
 * fuzz_util.c - helpers of the fuzz targets (see fuzz.h).
 */
#include <string.h>

#include "fuzz.h"

#include "banned.h"

char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

char *fuzz_split(const uint8_t *data, size_t size, char sep, size_t n, char **parts, size_t *lens)
{
    char *s = fuzz_cstr(data, size);
    char *p = s, *end = s + size;
    for (size_t i = 0; i < n; i++) {
        char *q = i + 1 < n ? memchr(p, sep, (size_t)(end - p)) : NULL;
        parts[i] = p;
        lens[i] = q ? (size_t)(q - p) : (size_t)(end - p);
        if (q) {
            *q = '\0';
            p = q + 1;
        } else {
            p = end; /* the remaining parts are "" (end points at the final NUL) */
        }
    }
    return s;
}
