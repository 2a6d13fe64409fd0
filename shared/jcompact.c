/*
 * jcompact.c - removes insignificant whitespace from JSON text (see jcompact.h).
 *
 * Two states: outside a string (whitespace dropped, '"' opens a string) and
 * inside one (everything copied; '\\' copies the next byte too, so an escaped
 * quote does not close it). Inside a string the scan jumps from one '"' or
 * '\\' to the next, so long strings cost little more than a copy.
 */
#include "jcompact.h"

#include <string.h>

#include "banned.h"

/* Index of the first '"' or '\\' in s[i..len), or len. */
static size_t jcompact_string_stop(const char *s, size_t i, size_t len)
{
    while (i < len && s[i] != '"' && s[i] != '\\')
        i++;
    return i;
}

size_t jcompact_inplace(char *s, size_t len)
{
    size_t r = 0; /* read position */
    size_t w = 0; /* write position (w <= r always) */
    while (r < len) {
        char c = s[r];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            r++;
            continue;
        }
        s[w++] = s[r++];
        if (c != '"')
            continue;
        /* Inside a string: copy up to and including the closing quote. */
        for (;;) {
            size_t stop = jcompact_string_stop(s, r, len);
            if (w != r)
                memmove(s + w, s + r, stop - r);
            w += stop - r;
            r = stop;
            if (r >= len)
                break;
            s[w++] = s[r++]; /* the '"' or the '\\' */
            if (s[w - 1] == '"')
                break;
            if (r < len)
                s[w++] = s[r++]; /* the escaped byte */
        }
    }
    return w;
}
