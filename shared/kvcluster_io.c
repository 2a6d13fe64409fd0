/*
 * kvcluster_io.c - a cluster handle's replies: reading them from the nodes in order,
 * following MOVED and ASK, backing off on TRYAGAIN and CLUSTERDOWN, merging the replies of
 * a split command (see kvcluster.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "kvcluster_int.h"
#include "log.h"
#include "timefmt.h"

#include "banned.h"

#define KVC_BACKOFF_MS  10 /* the first back-off; it doubles up to KVC_BACKOFF_MAX */
#define KVC_BACKOFF_MAX 320
#define KVC_TIMER_TAG   UINT32_MAX

/* The first entry holding a reply of entry i: itself, or its first child when a parent. */
#define KVC_FIRST(c, i) ((c)->q[i].cmd ? (i) : (i) + 1)

/* Pops the queue index of node n's next reply. */
static size_t kvc_fifo_pop(struct kvc_node *n)
{
    size_t idx = n->fifo[n->fhead];
    n->fhead = (n->fhead + 1) % n->fcap;
    n->fn--;
    return idx;
}

/* Records a result on entry idx (a dropped ASKING reply goes nowhere). */
static void kvc_store(struct kvcluster *c, size_t idx, redisReply *r, const char *err, int io)
{
    if (idx == KVC_ASKING) {
        if (r)
            freeReplyObject(r);
        return;
    }
    struct kvc_entry *e = &c->q[idx];
    e->state = KVC_DONE;
    e->reply = r;
    e->io = io;
    free(e->err);
    e->err = err ? strdup(err) : NULL;
    if (err && !e->err)
        e->io = 1; /* out of memory: fail it hard rather than lose the text */
}

/* Node n's connection failed: every reply it owed is lost (those commands fail with "io:"),
 * the other nodes' go on. */
void kvc_node_fail(struct kvcluster *c, int n)
{
    struct kvc_node *node = &c->nodes[n];
    char why[KV_ERR_MAX];
    snprintf(why, sizeof(why), "%s:%d: %s", node->host, node->port,
             node->kv ? kv_errmsg(node->kv) : "not connected");
    while (node->fn)
        kvc_store(c, kvc_fifo_pop(node), NULL, why, 1);
    if (node->kv)
        kv_abandon(node->kv, "failed");
    c->map_stale = 1;
}

/* The error text of a node's last error reply, without kv.c's "reply: " prefix. */
static const char *kvc_reply_text(const struct kv *k)
{
    const char *m = kv_errmsg(k);
    return strncmp(m, "reply: ", 7) == 0 ? m + 7 : m;
}

int kvc_pump_node(struct kvcluster *c, int n, int blocking)
{
    struct kvc_node *node = &c->nodes[n];
    while (node->fn) {
        redisReply *r = NULL;
        int got;
        if (!node->kv || kv_is_broken(node->kv)) {
            got = ERR_KV;
        } else if (blocking) {
            got = kv_read_reply(node->kv, &r);
            got = got == 0 ? 1 : got;
        } else {
            got = kv_take_reply(node->kv, &r);
        }
        if (got == 0)
            return 0;
        if (got < 0 && (!node->kv || kv_is_broken(node->kv))) {
            kvc_node_fail(c, n);
            return 0;
        }
        kvc_store(c, kvc_fifo_pop(node), r, got < 0 ? kvc_reply_text(node->kv) : NULL, 0);
        if (blocking)
            return 0;
    }
    return 0;
}

/* Sleeps until the monotonic time `at` (ms), bounded by the back-off maximum. */
static void kvc_sleep_until(int64_t at)
{
    int64_t left = at - timefmt_mono_ms();
    if (left <= 0)
        return;
    if (left > KVC_BACKOFF_MAX)
        left = KVC_BACKOFF_MAX;
    struct timespec ts = {left / 1000, (left % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Arms the back-off timer for the earliest retry of the queue (non-blocking use). */
static void kvc_arm(struct kvcluster *c)
{
    int64_t first = 0;
    for (size_t i = c->qhead; i < c->qn; i++)
        if (c->q[i].state == KVC_RETRY && (!first || c->q[i].retry_at < first))
            first = c->q[i].retry_at;
    if (!first)
        return;
    int64_t left = first - timefmt_mono_ms();
    if (left < 1)
        left = 1;
    struct itimerspec t = {{0, 0}, {left / 1000, (left % 1000) * 1000000L}};
    timerfd_settime(c->timerfd, 0, &t, NULL);
}

/* Sends entry i again to the node a redirection named (the map learns it on MOVED). */
static int kvc_redirect(struct kvcluster *c, size_t i, const struct kvslot_target *t, int ask)
{
    struct kvc_entry *e = &c->q[i];
    const char *host = t->host[0] ? t->host : (e->node >= 0 ? c->nodes[e->node].host : "");
    int n = e->fixed ? -1 : kvc_node_for(c, host, t->port);
    if (n < 0)
        return 0; /* a fixed command (or a full node table): the error stands */
    if (!ask) {
        c->slot_node[t->slot] = (int8_t)n;
        c->nodes[n].primary = 1;
        c->map_stale = 1;
    }
    free(e->err);
    e->err = NULL;
    int rc = ask ? kvc_dispatch(c, i, n) : kvc_send_entry(c, i, n, 0);
    return rc ? rc : 1;
}

int kvc_settle(struct kvcluster *c, size_t i, int blocking)
{
    struct kvc_entry *e = &c->q[i];
    if (e->state == KVC_SENT)
        return 1;
    if (e->state == KVC_RETRY) {
        if (timefmt_mono_ms() < e->retry_at && !blocking)
            return 1;
        kvc_sleep_until(e->retry_at);
        if (c->map_stale)
            (void)kvc_refresh(c); /* clears map_stale when it got a map */
        int rc = kvc_dispatch(c, i, -1);
        return rc ? rc : 1;
    }
    if (!e->err || e->io || e->attempts >= KVCLUSTER_ATTEMPTS)
        return 0;
    struct kvslot_target t;
    switch (kvslot_parse_error(e->err, strlen(e->err), &t)) {
    case KVSLOT_MOVED:
        return kvc_redirect(c, i, &t, 0);
    case KVSLOT_ASK:
        return kvc_redirect(c, i, &t, 1);
    case KVSLOT_DOWN:
        c->map_stale = 1;
        /* fall through */
    case KVSLOT_TRYAGAIN: {
        int shift = e->attempts < 6 ? e->attempts - 1 : 5;
        int64_t wait = (int64_t)KVC_BACKOFF_MS << (shift < 0 ? 0 : shift);
        e->retry_at = timefmt_mono_ms() + (wait > KVC_BACKOFF_MAX ? KVC_BACKOFF_MAX : wait);
        e->state = KVC_RETRY;
        free(e->err);
        e->err = NULL;
        return 1;
    }
    case KVSLOT_NONE:
    default:
        return 0;
    }
}

/* Blocks until entry i is final: 0, or ERR_KV when the handle broke (i then failed). */
static int kvc_wait_entry(struct kvcluster *c, size_t i)
{
    for (;;) {
        int s = kvc_settle(c, i, 1);
        if (s <= 0)
            return s;
        if (c->q[i].state != KVC_SENT)
            continue;
        if (kvc_flush(c) != 0 || kvc_pump_node(c, c->q[i].node, 1) != 0)
            return ERR_KV;
    }
}

/* The merged reply of parent p's children (all final, none failed). NULL when out of memory. */
static redisReply *kvc_merge(struct kvcluster *c, size_t p)
{
    struct kvc_entry *e = &c->q[p];
    redisReply *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    if (e->merge == KVC_MERGE_MIN) {
        m->type = REDIS_REPLY_INTEGER;
        m->integer = e->wait_min;
        for (size_t i = p + 1; i <= p + e->nsub; i++)
            if (c->q[i].reply->type != REDIS_REPLY_INTEGER || c->q[i].reply->integer < m->integer)
                m->integer =
                    c->q[i].reply->type == REDIS_REPLY_INTEGER ? c->q[i].reply->integer : 0;
        return m;
    }
    if (e->merge == KVC_MERGE_FIRST && e->nsub) {
        free(m);
        m = c->q[p + 1].reply;
        c->q[p + 1].reply = NULL;
        return m;
    }
    size_t total = 0;
    for (size_t i = p + 1; i <= p + e->nsub; i++)
        total += c->q[i].reply->type == REDIS_REPLY_ARRAY ? c->q[i].reply->elements : 0;
    m->type = total ? REDIS_REPLY_ARRAY : REDIS_REPLY_NIL;
    if (total && !(m->element = calloc(total, sizeof(*m->element)))) {
        free(m);
        return NULL;
    }
    for (size_t i = p + 1; i <= p + e->nsub; i++) {
        redisReply *r = c->q[i].reply;
        for (size_t j = 0; r->type == REDIS_REPLY_ARRAY && j < r->elements; j++)
            m->element[m->elements++] = r->element[j];
        if (r->type == REDIS_REPLY_ARRAY)
            r->elements = 0; /* moved: freeing r frees its element array only */
    }
    return m;
}

int kvc_finish(struct kvcluster *c, size_t i, struct redisReply **out)
{
    struct kvc_entry *e = &c->q[i];
    size_t last = i + e->nsub;
    const struct kvc_entry *bad = NULL;
    for (size_t j = KVC_FIRST(c, i); j <= last && !bad; j++)
        if (!c->q[j].reply)
            bad = &c->q[j];
    redisReply *r = NULL;
    if (!bad)
        r = e->cmd ? e->reply : kvc_merge(c, i);
    if (!bad && e->cmd)
        e->reply = NULL;
    int rc = 0;
    c->last_io = bad && bad->io;
    if (bad) {
        kvc_error(c, bad->io ? "io" : "reply", bad->err ? bad->err : "no reply");
        rc = ERR_KV;
    } else if (!r) {
        kvc_error(c, "merge", "out of memory");
        rc = ERR_NOMEM;
    } else if (out) {
        *out = r;
    } else {
        freeReplyObject(r);
    }
    for (size_t j = i; j <= last; j++)
        kvc_entry_clear(&c->q[j]);
    c->qhead = last + 1;
    if (c->qhead == c->qn) {
        struct itimerspec off = {{0, 0}, {0, 0}};
        c->qhead = c->qn = 0;
        timerfd_settime(c->timerfd, 0, &off, NULL); /* no back-off left to wake anyone for */
    }
    return rc;
}

int kvcluster_read_reply(struct kvcluster *c, struct redisReply **out)
{
    if (c->qhead == c->qn) {
        kvc_error(c, "read", "no reply pending");
        return ERR_KV;
    }
    size_t i = c->qhead;
    size_t nsub = c->q[i].nsub;
    long block = c->q[i].block_ms;
    for (size_t j = KVC_FIRST(c, i); j <= i + nsub; j++)
        if (kvc_wait_entry(c, j) != 0)
            break;
    int nil = 1;
    for (size_t j = i + 1; j <= i + nsub && nil; j++)
        nil = c->q[j].reply && c->q[j].reply->type == REDIS_REPLY_NIL;
    int rc = kvc_finish(c, i, out);
    if (rc == 0 && nsub && nil && block > 0) {
        struct timespec ts = {0,
                              (block < KVCLUSTER_POLL_MS ? block : KVCLUSTER_POLL_MS) * 1000000L};
        nanosleep(&ts, NULL); /* an empty split read: the poll interval stands for BLOCK */
    }
    return rc;
}

int kvcluster_read_input(struct kvcluster *c)
{
    struct epoll_event ev[16];
    int n = epoll_wait(c->epfd, ev, (int)ARRAY_SIZE(ev), 0);
    for (int i = 0; i < n; i++) {
        if (ev[i].data.u32 == KVC_TIMER_TAG) {
            uint64_t ticks;
            if (read(c->timerfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
                log_warn("cluster back-off timer: %s", strerror(errno));
            continue;
        }
        struct kvc_node *node = &c->nodes[ev[i].data.u32];
        if (node->kv && kv_read_input(node->kv) != 0)
            kvc_node_fail(c, (int)ev[i].data.u32); /* its commands fail, the others go on */
    }
    return 0;
}

int kvcluster_take_reply(struct kvcluster *c, struct redisReply **out)
{
    if (c->qhead == c->qn)
        return 0;
    for (size_t n = 0; n < c->nnodes; n++)
        if (c->nodes[n].fn && kvc_pump_node(c, (int)n, 0) != 0)
            return ERR_KV;
    /* Every redirected command is sent again now, not when it reaches the head. */
    size_t i = c->qhead;
    int pending = 0;
    for (size_t j = c->qhead; j < c->qn; j++) {
        if (!c->q[j].cmd)
            continue; /* a parent: its children are settled on their own */
        int s = kvc_settle(c, j, 0);
        if (s < 0)
            return ERR_KV;
        if (j >= KVC_FIRST(c, i) && j <= i + c->q[i].nsub)
            pending |= s;
    }
    if (kvc_flush(c) != 0)
        return ERR_KV;
    if (pending) {
        kvc_arm(c);
        return 0;
    }
    int rc = kvc_finish(c, i, out);
    return rc ? rc : 1;
}
