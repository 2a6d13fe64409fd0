/*
 * live.h - the live click feed: Server-Sent Events of every click, as redirect-svc appends
 * it to the click streams (GET /events/live, h_live.c; the dashboard's Live page).
 *
 * One reader thread per write-svc instance runs XREAD BLOCK on every clicks:{s} stream,
 * starting at each stream's last entry at start-up (never the worker's consumer group: it
 * only reads, so redirects and the worker are untouched), and appends each click, already
 * rendered as an SSE message, to a ring of LIVE_RING messages. Each connected client keeps
 * only a cursor into that ring, so a client costs the same memory however slow it is: a
 * client that falls more than LIVE_RING messages behind skips the lost ones and is told how
 * many with an "event: gap" message. The number of clients is capped (live_client_new).
 * Every LIVE_PING_MS each client gets a ": ping" comment, which keeps proxies from timing the
 * stream out and lets MHD notice clients that left.
 */
#ifndef LIVE_H
#define LIVE_H

#include <stddef.h>

#include "common.h"

#define LIVE_RING     1024 /* messages kept for clients that lag */
#define LIVE_MSG_MAX  1024 /* one rendered SSE message, at most */
#define LIVE_PING_MS  15000
#define LIVE_BLOCK_MS 1000 /* XREAD BLOCK: also how long stopping can take */

struct live;
struct live_client;
struct http_stream;

/*
 * A new hub reading nshards click streams from redis_url, with at most max_clients
 * clients; the reader thread starts at once. NULL when out of memory or no thread.
 */
struct live *live_new(const char *redis_url, unsigned nshards, int max_clients);

/*
 * Ends every client's stream (their next read ends it), stops the reader thread (waits up
 * to LIVE_BLOCK_MS and the Redis timeout). Call before stopping the HTTP server: MHD must
 * not be stopped with parked streams. Clients may still release after this.
 */
void live_stop(struct live *hub);

/* Frees the hub once live_stop ran and every client was released. Accepts NULL. */
void live_free(struct live *hub);

/* A new client of the hub, or NULL when max_clients are connected (or stopping, or OOM). */
struct live_client *live_client_new(struct live *hub);

/*
 * The http_stream_read_fn of a client (cls): copies whole messages into out; 0 when there
 * is nothing new, -1 once the hub stops.
 */
long live_client_read(void *cls, struct http_stream *st, char *out, size_t max);

/* The http_stream_release_fn: unregisters and frees the client (cls). */
void live_client_release(void *cls);

/* Counters for /metrics: clients connected, clicks relayed, messages skipped, refusals. */
struct live_stats {
    long clients;
    unsigned long relayed, skipped, refused;
};
void live_stats_get(struct live *hub, struct live_stats *out);

/*
 * Renders one stream entry (flat field/value array of n strings, borrowed) of shard s with
 * entry id `id` as an SSE "click" message into out[LIVE_MSG_MAX]. Its length, or 0 when the
 * entry is not a click we can show. Pure: the unit test calls it.
 */
size_t live_render(unsigned shard, const char *id, const char *const *fv, size_t n,
                   char out[LIVE_MSG_MAX]);

#endif
