/*
 * log.h - JSON-line logging to stderr.
 *
 * Every line is one JSON object:
 *   {"ts":"2026-04-04T12:00:00.123Z","level":"info","svc":"write-svc","msg":"..."}
 * with "req_id" added when a request id is given. Access lines (log_access)
 * also carry method, path, status and dur_ms. Lines are written with a single
 * write(2) so that lines from several threads never interleave.
 * The level check happens before the arguments are formatted.
 */
#ifndef LOG_H
#define LOG_H

#include "common.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3, LOG_FATAL = 4 };

/* Sets the service name (borrowed: must outlive logging) and the minimum level. */
void log_init(const char *svc, enum log_level level);

/* Parses "debug|info|warn|error" (case-insensitive); returns 0 or ERR_INVALID. */
int log_level_parse(const char *s, enum log_level *out) ATTR_WARN_UNUSED;

/* The current minimum level. */
enum log_level log_level_get(void);

/* Writes one line. req_id may be NULL. Use the macros below instead. */
void log_write(enum log_level level, const char *req_id, const char *fmt, ...) ATTR_FORMAT(3, 4);

/* Writes the one access line of a request. */
void log_access(const char *req_id, const char *method, const char *path, int status,
                double dur_ms);

/*
 * Buffered mode for the calling thread (on = 1): its lines are collected and
 * written by log_flush(), one write(2) per up to 4 KiB of whole lines, instead of
 * one write(2) each. An event loop turns it on and calls log_flush() once per
 * turn, so access lines cost a system call per batch, not per request.
 * Turning it off flushes.
 */
void log_buffer_thread(int on);

/* Writes the calling thread's buffered lines now (nothing in unbuffered mode). */
void log_flush(void);

/* Same as log_write(LOG_FATAL, ...) followed by exit(1). Start-up only. */
void log_die(const char *fmt, ...) ATTR_FORMAT(1, 2) ATTR_NORETURN;

#define LOG_AT(lvl, rid, ...)                                                                      \
    do {                                                                                           \
        if ((lvl) >= log_level_get())                                                              \
            log_write((lvl), (rid), __VA_ARGS__);                                                  \
    } while (0)

#define log_debug(...) LOG_AT(LOG_DEBUG, NULL, __VA_ARGS__)
#define log_info(...)  LOG_AT(LOG_INFO, NULL, __VA_ARGS__)
#define log_warn(...)  LOG_AT(LOG_WARN, NULL, __VA_ARGS__)
#define log_error(...) LOG_AT(LOG_ERROR, NULL, __VA_ARGS__)
#define log_fatal(...) log_die(__VA_ARGS__)

/* The same, tied to a request id. */
#define log_rinfo(rid, ...)  LOG_AT(LOG_INFO, (rid), __VA_ARGS__)
#define log_rwarn(rid, ...)  LOG_AT(LOG_WARN, (rid), __VA_ARGS__)
#define log_rerror(rid, ...) LOG_AT(LOG_ERROR, (rid), __VA_ARGS__)

#endif
