/*
 * log.c - JSON-line logging to stderr (see log.h).
 *
 * A line is built in a capped struct buf and handed to the kernel with one
 * write(2), so lines from several threads never interleave (a write of at
 * most PIPE_BUF bytes to a pipe is atomic, and LOG_LINE_MAX is that size).
 * Long values are cut on a UTF-8 character boundary so the line stays valid
 * JSON, and the line then carries "truncated":true. Bytes that are not valid
 * UTF-8 are replaced by '?' for the same reason. errno is preserved, so a
 * caller may log before reporting strerror(errno).
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "timefmt.h"
#include "utf8.h"

#include "banned.h"

#define LOG_LINE_MAX  4096 /* bytes per line, the newline included */
#define LOG_SVC_MAX   64   /* longest service name kept */
#define LOG_RID_MAX   128  /* longest request id kept */
#define LOG_FIELD_MAX 2048 /* longest method or path kept */
#define LOG_RESERVE   512  /* room kept free for the fields after the path */
#define LOG_TAIL      ",\"truncated\":true}\n"

static const char *log_svc;
static atomic_int log_min = LOG_INFO;

static const char *const log_names[] = {"debug", "info", "warn", "error", "fatal"};

struct log_access_info {
    const char *method;
    const char *path;
    int status;
    double dur_ms;
};

void log_init(const char *svc, enum log_level level)
{
    log_svc = svc;
    atomic_store_explicit(&log_min, (int)level, memory_order_relaxed);
}

enum log_level log_level_get(void)
{
    return (enum log_level)atomic_load_explicit(&log_min, memory_order_relaxed);
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (int i = LOG_DEBUG; s && i <= LOG_ERROR; i++) {
        if (strcasecmp(s, log_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return ERR_INVALID;
}

/* Bytes buf_append_json_str() writes for c. */
static size_t log_esc_width(unsigned char c)
{
    if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f')
        return 2;
    return c < 0x20 || c == 0x7f ? 6 : 1;
}

/*
 * Appends s[0..n) (valid UTF-8) as a JSON string, cut on a character boundary
 * so that `reserve` bytes stay free under the cap. Returns 1 when it cut.
 */
static int log_put_str(struct buf *b, const char *s, size_t n, size_t reserve, int *rc)
{
    size_t room = b->max - b->len;
    size_t budget = room > reserve + 2 ? room - reserve - 2 : 0;
    size_t used = 0, i = 0;
    for (; i < n; i++) {
        size_t w = log_esc_width((unsigned char)s[i]);
        if (used + w > budget)
            break;
        used += w;
    }
    int cut = i < n;
    while (cut && i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    if (!*rc)
        *rc = buf_append_json_str(b, s, i);
    return cut;
}

/* Appends ,"key": and a cleaned copy of s (at most `max` bytes of it). Returns 1 when cut. */
static int log_put_field(struct buf *b, const char *key, const char *s, size_t max, size_t reserve,
                         int *rc)
{
    char tmp[LOG_FIELD_MAX];
    size_t n = strlen(s);
    int cut = n > max;
    if (cut)
        n = max;
    memcpy(tmp, s, n);
    utf8_clean(tmp, n, 0);
    if (!*rc)
        *rc = buf_printf(b, ",\"%s\":", key);
    return log_put_str(b, tmp, n, reserve, rc) | cut;
}

/*
 * A thread in buffered mode (log_buffer_thread) collects its lines here and
 * writes them with one write(2) per LOG_LINE_MAX bytes at most: whole lines only,
 * so the atomicity argument above still holds.
 */
static __thread char log_tls_buf[LOG_LINE_MAX];
static __thread size_t log_tls_len;
static __thread int log_tls_buffered;

static void log_write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

void log_flush(void)
{
    if (log_tls_len)
        log_write_all(log_tls_buf, log_tls_len);
    log_tls_len = 0;
}

void log_buffer_thread(int on)
{
    log_flush();
    log_tls_buffered = on;
}

static void log_output(const char *p, size_t n)
{
    if (!log_tls_buffered) {
        log_write_all(p, n);
        return;
    }
    if (log_tls_len + n > sizeof(log_tls_buf))
        log_flush();
    memcpy(log_tls_buf + log_tls_len, p, n); /* n <= LOG_LINE_MAX: lines are capped */
    log_tls_len += n;
}

/* Builds and writes one line; msg[0..len) is modified (cleaned) in place. */
static void log_emit(enum log_level level, const char *req_id, const struct log_access_info *acc,
                     char *msg, size_t len, int cut)
{
    static const char oom[] = "{\"level\":\"error\",\"msg\":\"log: cannot build a line\"}\n";
    char ts[TIMEFMT_LOG_LEN];
    struct buf b;
    int rc = 0;
    buf_init(&b, LOG_LINE_MAX);
    timefmt_log(timefmt_now_ms(), ts);
    rc = buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\"", ts, log_names[level]);
    cut |= log_put_field(&b, "svc", log_svc ? log_svc : program_invocation_short_name, LOG_SVC_MAX,
                         LOG_RESERVE, &rc);
    if (req_id)
        cut |= log_put_field(&b, "req_id", req_id, LOG_RID_MAX, LOG_RESERVE, &rc);
    if (acc) {
        cut |= log_put_field(&b, "method", acc->method ? acc->method : "-", LOG_SVC_MAX,
                             LOG_RESERVE, &rc);
        cut |= log_put_field(&b, "path", acc->path ? acc->path : "-", LOG_FIELD_MAX - 1,
                             LOG_RESERVE, &rc);
        if (!rc)
            rc = buf_printf(&b, ",\"status\":%d,\"dur_ms\":%.3f", acc->status, acc->dur_ms);
    }
    utf8_clean(msg, len, 0);
    if (!rc)
        rc = buf_puts(&b, ",\"msg\":");
    cut |= log_put_str(&b, msg, len, sizeof(LOG_TAIL) - 1, &rc);
    if (!rc)
        rc = buf_puts(&b, cut ? LOG_TAIL : "}\n");
    if (rc)
        log_output(oom, sizeof(oom) - 1);
    else
        log_output(b.data, b.len);
    buf_release(&b);
}

/* Formats the message and emits it; the level check is the caller's. */
static void log_vwrite(enum log_level level, const char *req_id, const char *fmt, va_list ap)
    ATTR_FORMAT(3, 0);
static void log_vwrite(enum log_level level, const char *req_id, const char *fmt, va_list ap)
{
    char msg[LOG_LINE_MAX];
    int saved = errno;
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t len = n < 0 ? 0 : (size_t)n;
    int cut = len >= sizeof(msg);
    if (cut)
        len = sizeof(msg) - 1;
    log_emit(level, req_id, NULL, msg, len, cut);
    errno = saved;
}

void log_write(enum log_level level, const char *req_id, const char *fmt, ...)
{
    va_list ap;
    if (level < LOG_DEBUG || level > LOG_FATAL)
        BUG("log level out of range");
    if (level < log_level_get())
        return;
    va_start(ap, fmt);
    log_vwrite(level, req_id, fmt, ap);
    va_end(ap);
}

void log_access(const char *req_id, const char *method, const char *path, int status, double dur_ms)
{
    char msg[] = "access";
    int saved = errno;
    if (LOG_INFO < log_level_get())
        return;
    /* JSON has no NaN or infinity; a duration is never negative. */
    if (!(dur_ms >= 0))
        dur_ms = 0;
    if (dur_ms > 1e9)
        dur_ms = 1e9;
    struct log_access_info acc = {method, path, status, dur_ms};
    log_emit(LOG_INFO, req_id, &acc, msg, sizeof(msg) - 1, 0);
    errno = saved;
}

void log_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(LOG_FATAL, NULL, fmt, ap);
    va_end(ap);
    log_flush();
    exit(1);
}
