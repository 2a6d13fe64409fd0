/*
 * backoff.h - the reconnect and retry delay of the event-worker: it starts at
 * min_ms, doubles after every failure up to max_ms, and drops back to min_ms
 * after a success. Plain state in a caller-owned struct; no allocation.
 */
#ifndef BACKOFF_H
#define BACKOFF_H

struct backoff {
    int min_ms; /* the first delay */
    int max_ms; /* the cap */
    int cur_ms; /* the delay the next failure waits */
};

/* Initialises b (1 <= min_ms <= max_ms). */
void backoff_init(struct backoff *b, int min_ms, int max_ms);

/* Returns the delay to wait after this failure, and doubles the next one (capped). */
int backoff_next(struct backoff *b);

/* Starts again from min_ms (call after a success). */
void backoff_reset(struct backoff *b);

#endif
