/*
 * clicksync.h - read-your-writes for clicks (ARCHITECTURE.md, consistency rule 2).
 *
 * A redirect answered before an event read began must be visible to that read.
 * clicksync_wait() takes the last id of every click stream shard, then polls
 * (every CLICKSYNC_POLL_MS, at most cfg.events_wait_ms in all) until, on each
 * shard, the consumer group has delivered past that id and holds no pending
 * entry at or below it: by then the event-worker has committed those clicks.
 */
#ifndef CLICKSYNC_H
#define CLICKSYNC_H

#include "common.h"

struct app;

#define CLICKSYNC_POLL_MS 2

/*
 * Waits as described above. Returns 0 when every earlier click is persisted,
 * ERR_TIMEOUT when the bound ran out (the read goes ahead; a warning is logged
 * with req_id), ERR_KV when Redis is unreachable (likewise).
 */
int clicksync_wait(struct app *app, const char *req_id);

#endif
