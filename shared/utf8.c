/*
 * utf8.c - UTF-8 validation and cleaning (see utf8.h), after RFC 3629's table
 * of well-formed byte sequences.
 */
#include "utf8.h"

#include "banned.h"

size_t utf8_seq_len(const unsigned char *s, size_t n, int nul_invalid)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c < 0x80)
        return c == 0 && nul_invalid ? 0 : 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return 0; /* a continuation byte or an invalid lead byte */
    if (c == 0xE0)
        lo = 0xA0; /* overlong */
    else if (c == 0xED)
        hi = 0x9F; /* surrogates */
    else if (c == 0xF0)
        lo = 0x90; /* overlong */
    else if (c == 0xF4)
        hi = 0x8F; /* above U+10FFFF */
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

void utf8_clean(char *s, size_t n, int nul_invalid)
{
    size_t i = 0;
    while (i < n) {
        size_t len = utf8_seq_len((const unsigned char *)s + i, n - i, nul_invalid);
        if (len == 0) {
            s[i] = '?';
            len = 1;
        }
        i += len;
    }
}
