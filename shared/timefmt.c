/*
 * timefmt.c - UTC timestamps <-> "YYYY-MM-DDTHH:MM:SS" (see timefmt.h).
 *
 * Only gmtime_r() and timegm() are used, so neither TZ nor the locale can
 * change a result, and every function is thread-safe.
 */
#include "timefmt.h"

#include <string.h>

#include "banned.h"

#define TIMEFMT_PARSE_LEN 19 /* "YYYY-MM-DD HH:MM:SS" */

/* Splits t into UTC fields; 0 or ERR_INVALID when t is out of range or the year isn't 0..9999. */
static int timefmt_split(time_t t, struct tm *tm)
{
    if (!gmtime_r(&t, tm))
        return ERR_INVALID;
    if (tm->tm_year < -1900 || tm->tm_year > 9999 - 1900)
        return ERR_INVALID;
    return 0;
}

/* Writes v as exactly width decimal digits at p (v must fit; no NUL). */
static void put_digits(char *p, int v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* Writes "YYYY-MM-DDTHH:MM:SS" (19 bytes, no NUL) at out from fields already range-checked. */
static void put_iso(char *out, const struct tm *tm)
{
    put_digits(out, tm->tm_year + 1900, 4);
    out[4] = '-';
    put_digits(out + 5, tm->tm_mon + 1, 2);
    out[7] = '-';
    put_digits(out + 8, tm->tm_mday, 2);
    out[10] = 'T';
    put_digits(out + 11, tm->tm_hour, 2);
    out[13] = ':';
    put_digits(out + 14, tm->tm_min, 2);
    out[16] = ':';
    put_digits(out + 17, tm->tm_sec, 2);
}

int timefmt_iso(time_t t, char out[TIMEFMT_ISO_LEN])
{
    struct tm tm;
    out[0] = '\0';
    if (timefmt_split(t, &tm))
        return ERR_INVALID;
    put_iso(out, &tm);
    out[TIMEFMT_ISO_LEN - 1] = '\0';
    return 0;
}

void timefmt_log(int64_t epoch_ms, char out[TIMEFMT_LOG_LEN])
{
    static const char fallback[TIMEFMT_LOG_LEN] = "0000-00-00T00:00:00.000Z";
    struct tm tm;
    /* Floor division, so that -1 ms is 1969-12-31T23:59:59.999Z. */
    int64_t sec = epoch_ms / 1000;
    int64_t ms = epoch_ms % 1000;
    if (ms < 0) {
        ms += 1000;
        sec--;
    }
    if ((int64_t)(time_t)sec != sec || timefmt_split((time_t)sec, &tm)) {
        /* A log line must always get a timestamp of the documented shape. */
        memcpy(out, fallback, TIMEFMT_LOG_LEN);
        return;
    }
    put_iso(out, &tm);
    out[19] = '.';
    put_digits(out + 20, (int)ms, 3);
    out[23] = 'Z';
    out[TIMEFMT_LOG_LEN - 1] = '\0';
}

/* Reads n ASCII digits at s; the value, or -1 if any byte is not a digit. */
static int read_digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int is_leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

int timefmt_parse(const char *s, time_t *out)
{
    if (!s || strnlen(s, TIMEFMT_PARSE_LEN + 1) != TIMEFMT_PARSE_LEN)
        return ERR_INVALID;
    if (s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' ||
        s[16] != ':')
        return ERR_INVALID;
    int year = read_digits(s, 4);
    int mon = read_digits(s + 5, 2);
    int day = read_digits(s + 8, 2);
    int hour = read_digits(s + 11, 2);
    int min = read_digits(s + 14, 2);
    int sec = read_digits(s + 17, 2);
    if (year < 0 || mon < 1 || mon > 12 || day < 1 || hour < 0 || hour > 23 || min < 0 ||
        min > 59 || sec < 0 || sec > 60)
        return ERR_INVALID;
    if (day > days_in_month(year, mon))
        return ERR_INVALID;
    struct tm tm = {
        .tm_year = year - 1900,
        .tm_mon = mon - 1,
        .tm_mday = day,
        .tm_hour = hour,
        .tm_min = min,
        .tm_sec = sec,
    };
    *out = timegm(&tm);
    return 0;
}

static int64_t timefmt_clock_ms(clockid_t clock)
{
    struct timespec ts;
    if (clock_gettime(clock, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t timefmt_now_ms(void)
{
    return timefmt_clock_ms(CLOCK_REALTIME);
}

int64_t timefmt_mono_ms(void)
{
    return timefmt_clock_ms(CLOCK_MONOTONIC);
}

int64_t timefmt_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
