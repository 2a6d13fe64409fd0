/*
 * backoff.c - doubling retry delay (see backoff.h).
 *
 * There is no random jitter: workers that fail together retry together, which
 * costs PostgreSQL or Redis a handful of connection attempts every few seconds
 * at most (the cap is 5 s), and a deterministic sequence is easier to test and
 * to read in the logs.
 */
#include "backoff.h"

#include "banned.h"

void backoff_init(struct backoff *b, int min_ms, int max_ms)
{
    b->min_ms = min_ms > 0 ? min_ms : 1;
    b->max_ms = max_ms > b->min_ms ? max_ms : b->min_ms;
    b->cur_ms = b->min_ms;
}

int backoff_next(struct backoff *b)
{
    int delay = b->cur_ms;
    b->cur_ms = b->cur_ms > b->max_ms / 2 ? b->max_ms : b->cur_ms * 2;
    return delay;
}

void backoff_reset(struct backoff *b)
{
    b->cur_ms = b->min_ms;
}
