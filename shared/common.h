/*
 * common.h - project-wide error codes, attributes and small macros.
 *
 * Every fallible function in shared/ and in the services' store layers returns
 * an int: 0 on success or one of the negative ERR_* codes below (libuv style).
 * err.c turns them into text and HTTP statuses in exactly one table.
 */
#ifndef COMMON_H
#define COMMON_H

#include <stddef.h>
#include <string.h>

enum err_code {
    ERR_OK = 0,
    ERR_INVALID = -1,     /* a field or parameter failed validation */
    ERR_NOT_FOUND = -2,   /* the addressed row does not exist */
    ERR_CONFLICT = -3,    /* a uniqueness rule was violated */
    ERR_TOO_BIG = -4,     /* a size cap was hit */
    ERR_NOMEM = -5,       /* allocation failed */
    ERR_DB = -6,          /* PostgreSQL failed (detail kept on the handle) */
    ERR_KV = -7,          /* Redis failed (detail kept on the handle) */
    ERR_TIMEOUT = -8,     /* a bounded wait ran out */
    ERR_UNAVAILABLE = -9, /* a dependency is not ready (pool exhausted, marker missing) */
    ERR_BAD_BODY = -10,   /* the request body is not a JSON object */
    ERR_SYS = -11,        /* a system call failed (errno kept by the caller) */
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define ATTR_WARN_UNUSED       __attribute__((warn_unused_result))
#define ATTR_FORMAT(fmt, args) __attribute__((format(printf, fmt, args)))
#define ATTR_NORETURN          __attribute__((noreturn))
#define ATTR_UNUSED            __attribute__((unused))

/* BUG() marks an impossible state; user input must never reach one. */
void common_bug(const char *file, int line, const char *msg) ATTR_NORETURN;
#define BUG(msg) common_bug(__FILE__, __LINE__, (msg))

/* Copies src into dst[size] (size >= 1), cut to fit and NUL-terminated: snprintf's "%s"
 * without the formatting, for hot paths. */
static inline void common_copy(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}
#define ASSERT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond))                                                                               \
            BUG("assertion failed: " #cond);                                                       \
    } while (0)

#endif
