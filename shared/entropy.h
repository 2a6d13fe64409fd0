/*
 * entropy.h - random bytes from the kernel (getrandom(2)), for short codes, API keys and
 * anything else that must not be guessed.
 */
#ifndef ENTROPY_H
#define ENTROPY_H

#include <stddef.h>

#include "common.h"

/* Fills p[0..n) from getrandom(2), retrying on EINTR and short reads. 0 or ERR_SYS. */
int entropy_fill(void *p, size_t n) ATTR_WARN_UNUSED;

#endif
