/*
 * utf8.h - UTF-8 validation for text that must be valid before it leaves us
 * (JSON log lines, rows for PostgreSQL). Pure functions.
 */
#ifndef UTF8_H
#define UTF8_H

#include <stddef.h>

/*
 * Length (1 to 4) of the well-formed UTF-8 sequence at s[0..n), or 0 when it
 * is not one: a stray continuation byte, an overlong form, a surrogate, a code
 * point above U+10FFFF, or a sequence cut by n. A NUL byte counts as valid
 * (length 1) unless nul_invalid is set.
 */
size_t utf8_seq_len(const unsigned char *s, size_t n, int nul_invalid);

/*
 * Replaces in place every byte of s[0..n) that is not part of a well-formed
 * sequence (and every NUL when nul_invalid) with '?'.
 */
void utf8_clean(char *s, size_t n, int nul_invalid);

#endif
