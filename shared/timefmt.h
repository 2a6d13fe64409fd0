/*
 * timefmt.h - timestamps <-> "YYYY-MM-DDTHH:MM:SS" (UTC, no zone, no fractions).
 * Uses gmtime_r/timegm only.
 */
#ifndef TIMEFMT_H
#define TIMEFMT_H

#include <stdint.h>
#include <time.h>

#include "common.h"

#define TIMEFMT_ISO_LEN 20 /* "YYYY-MM-DDTHH:MM:SS" plus NUL */
#define TIMEFMT_LOG_LEN 25 /* "YYYY-MM-DDTHH:MM:SS.mmmZ" plus NUL */

/* Formats t as "YYYY-MM-DDTHH:MM:SS" in out. Returns 0 or ERR_INVALID (year out of 0..9999). */
int timefmt_iso(time_t t, char out[TIMEFMT_ISO_LEN]) ATTR_WARN_UNUSED;

/* Formats a millisecond epoch time as "YYYY-MM-DDTHH:MM:SS.mmmZ" (for log lines). */
void timefmt_log(int64_t epoch_ms, char out[TIMEFMT_LOG_LEN]);

/*
 * Parses "YYYY-MM-DD HH:MM:SS" or "YYYY-MM-DDTHH:MM:SS" (exactly, as UTC) into
 * *out. Checks field ranges (month 1-12, day valid for the month and leap
 * year, hour 0-23, minute 0-59, second 0-60). Returns 0 or ERR_INVALID.
 */
int timefmt_parse(const char *s, time_t *out) ATTR_WARN_UNUSED;

/* Milliseconds since the epoch from CLOCK_REALTIME. */
int64_t timefmt_now_ms(void);

/* Milliseconds from CLOCK_MONOTONIC, for durations and deadlines. */
int64_t timefmt_mono_ms(void);

/* Microseconds from CLOCK_MONOTONIC (request durations, event-loop deadlines). */
int64_t timefmt_mono_us(void);

#endif
