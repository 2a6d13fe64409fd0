/*
 * entropy.c - random bytes from the kernel (see entropy.h).
 */
#include "entropy.h"

#include <errno.h>
#include <sys/random.h>
#include <sys/types.h>

#include "banned.h"

int entropy_fill(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return ERR_SYS;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}
