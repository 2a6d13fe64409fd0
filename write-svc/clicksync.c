/*
 * clicksync.c - wait until the clicks answered so far are in PostgreSQL (see clicksync.h).
 *
 * Round trips: one pipeline of XINFO STREAM over the shards, then one pipeline
 * of XINFO GROUPS + XPENDING per poll over the shards not yet caught up.
 *
 * Still exact with batched entries and the worker's XTRIM MINID (DECISIONS P5): a batched
 * entry is acknowledged only once every click in it is committed (or dead-lettered), the trim
 * removes only entries every group has delivered and acknowledged, and it changes neither
 * last-generated-id nor last-delivered-id, which are all this wait compares.
 */
#include "clicksync.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "app.h"
#include "clickstream.h"
#include "kv.h"
#include "log.h"
#include "readmodel.h"
#include "rkeys.h"
#include "shortcode.h"
#include "timefmt.h"

#include "banned.h"

#define CLICKSYNC_MAX_SHARDS 256 /* STREAM_SHARDS is capped at this in main.c */

struct clicksync_shard {
    char key[RKEYS_MAX];
    char target_str[48];          /* the last id, as Redis wrote it */
    struct clickstream_id target; /* the last id when the wait began */
    int pending;                  /* 1 while this shard has not caught up */
};

/* Phase 1: the last id of each shard; a shard never written (no key) needs no wait. */
static int clicksync_targets(struct kv *kv, struct clicksync_shard *sh, int n, int *waiting)
{
    int rc = 0;
    *waiting = 0;
    for (int s = 0; s < n && rc == 0; s++) {
        const char *argv[] = {"XINFO", "STREAM", sh[s].key};
        rc = kv_append(kv, 3, argv, NULL);
    }
    for (int s = 0; s < n; s++) {
        redisReply *r = NULL;
        int rrc = kv_read_reply(kv, &r);
        if (rrc) {
            if (kv_is_broken(kv))
                return ERR_KV;
            continue; /* "no such key": nobody ever clicked on this shard */
        }
        const redisReply *last = kv_reply_field(r, "last-generated-id");
        if (last && last->type == REDIS_REPLY_STRING &&
            clickstream_id_parse(last->str, &sh[s].target) == 0 &&
            (sh[s].target.ms || sh[s].target.seq)) {
            snprintf(sh[s].target_str, sizeof(sh[s].target_str), "%s", last->str);
            sh[s].pending = 1;
            (*waiting)++;
        }
        freeReplyObject(r);
    }
    return rc;
}

/* 1 when the group's last-delivered-id is at or past the target. */
static int clicksync_delivered(const redisReply *groups, const struct clickstream_id *target)
{
    if (!groups || groups->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 0; i < groups->elements; i++) {
        const redisReply *name = kv_reply_field(groups->element[i], "name");
        const redisReply *last = kv_reply_field(groups->element[i], "last-delivered-id");
        struct clickstream_id id;
        if (name && name->type == REDIS_REPLY_STRING && strcmp(name->str, CLICKSTREAM_GROUP) == 0)
            return last && last->type == REDIS_REPLY_STRING &&
                   clickstream_id_parse(last->str, &id) == 0 &&
                   clickstream_id_cmp(&id, target) >= 0;
    }
    return 0;
}

/* Phase 2, one poll: marks the shards that caught up. ERR_KV on a broken connection. */
static int clicksync_poll(struct kv *kv, struct clicksync_shard *sh, int n, int *waiting)
{
    int rc = 0;
    for (int s = 0; s < n && rc == 0; s++) {
        if (!sh[s].pending)
            continue;
        const char *groups[] = {"XINFO", "GROUPS", sh[s].key};
        const char *pend[] = {"XPENDING", sh[s].key, CLICKSTREAM_GROUP, "-", sh[s].target_str, "1"};
        if ((rc = kv_append(kv, 3, groups, NULL)) == 0)
            rc = kv_append(kv, 6, pend, NULL);
    }
    for (int s = 0; s < n && rc == 0; s++) {
        if (!sh[s].pending)
            continue;
        redisReply *g = NULL, *p = NULL;
        int grc = kv_read_reply(kv, &g);
        int prc = kv_read_reply(kv, &p);
        if ((grc || prc) && kv_is_broken(kv))
            rc = ERR_KV;
        else if (!grc && !prc && clicksync_delivered(g, &sh[s].target) &&
                 p->type == REDIS_REPLY_ARRAY && p->elements == 0) {
            sh[s].pending = 0;
            (*waiting)--;
        }
        if (g)
            freeReplyObject(g);
        if (p)
            freeReplyObject(p);
    }
    return rc;
}

int clicksync_wait(struct app *app, const char *req_id)
{
    struct clicksync_shard sh[CLICKSYNC_MAX_SHARDS];
    int n = (int)app->cfg.stream_shards, waiting = 0;
    int64_t deadline = timefmt_mono_ms() + app->cfg.events_wait_ms;
    struct kv *kv = readmodel_kv(app);
    if (!kv)
        return ERR_KV;
    if (n > CLICKSYNC_MAX_SHARDS)
        n = CLICKSYNC_MAX_SHARDS;
    memset(sh, 0, sizeof(sh[0]) * (size_t)n);
    for (int s = 0; s < n; s++)
        if (rkeys_stream((unsigned)s, sh[s].key) < 0)
            return ERR_INVALID;
    int rc = clicksync_targets(kv, sh, n, &waiting);
    while (rc == 0 && waiting > 0) {
        if ((rc = clicksync_poll(kv, sh, n, &waiting)) != 0 || waiting == 0)
            break;
        if (timefmt_mono_ms() >= deadline) {
            rc = ERR_TIMEOUT;
            break;
        }
        struct timespec ts = {0, CLICKSYNC_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (rc)
        atomic_fetch_add_explicit(rc == ERR_TIMEOUT ? &app->stats.clicksync_timeouts
                                                    : &app->stats.clicksync_errors,
                                  1, memory_order_relaxed);
    if (rc == ERR_TIMEOUT)
        log_rwarn(req_id,
                  "clicks not all persisted after %ld ms (%d shards behind); is an "
                  "event-worker running?",
                  app->cfg.events_wait_ms, waiting);
    else if (rc)
        log_rwarn(req_id, "cannot check click persistence: %s", kv_errmsg(kv));
    return rc;
}
