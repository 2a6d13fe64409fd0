/*
 * loop.c - redirect-svc's event loop: batches of Redis calls read without blocking, and the
 * request pool (see loop.h).
 */
#include "loop.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <hiredis/hiredis.h>
#include <microhttpd.h>

#include "app.h"
#include "kv.h"
#include "log.h"
#include "metrics.h"
#include "ncache.h"
#include "timefmt.h"

#include "banned.h"

#define LOOP_TICK_MS  100  /* longest epoll wait: how soon a stop is noticed */
#define LOOP_DRAIN_MS 2000 /* how long in-flight requests may take at shutdown */
#define LOOP_EV_REDIS 1    /* epoll data of the Redis socket (MHD's epoll fd: 0) */

_Static_assert(CLIENT_SELF_MAX <= FOLLOW_SELF_MAX, "follow_loop_check takes every self list");

static void rlist_init(struct rlist *q)
{
    q->head = NULL;
    q->tail = &q->head;
    q->n = 0;
}

static void rlist_push(struct rlist *q, struct rctx *x)
{
    x->next = NULL;
    *q->tail = x;
    q->tail = &x->next;
    q->n++;
}

/* Moves src's requests to the end of dst; src is left empty. */
static void rlist_splice(struct rlist *dst, struct rlist *src)
{
    if (!src->head)
        return;
    *dst->tail = src->head;
    dst->tail = src->tail;
    dst->n += src->n;
    rlist_init(src);
}

int loop_init(struct loop *l, unsigned conn_limit)
{
    size_t nshards = (size_t)l->srv->app->cfg.stream_shards;
    l->pending = calloc(nshards, sizeof(*l->pending));
    /* Every pending request holds a connection: a batch has at most conn_limit of them. */
    l->ncalls_max = nshards + conn_limit / CLICKSTREAM_BATCH_MAX + 1;
    l->calls = calloc(l->ncalls_max, sizeof(*l->calls));
    l->scratch = calloc(1, sizeof(*l->scratch));
    l->reqs = calloc(CLICKSTREAM_BATCH_MAX, sizeof(*l->reqs));
    if (!l->pending || !l->calls || !l->scratch || !l->reqs)
        return ERR_NOMEM;
    long mb = l->srv->app->cfg.near_cache_mb;
    if (mb > 0) {
        l->ncache = ncache_new((size_t)mb * 1024 * 1024 / (size_t)l->srv->nloops);
        l->pos = calloc(nshards, sizeof(*l->pos));
        if (!l->ncache || !l->pos)
            return ERR_NOMEM;
        for (size_t s = 0; s < nshards; s++)
            memcpy(l->pos[s], "0-0", 4); /* never an entry: the first call is a reset */
    }
    for (size_t s = 0; s < nshards; s++)
        rlist_init(&l->pending[s]);
    rlist_init(&l->pending_marker);
    rlist_init(&l->flight);
    return 0;
}

void loop_release(struct loop *l)
{
    while (l->free_rctx) {
        struct rctx *x = l->free_rctx;
        l->free_rctx = x->next;
        free(x);
    }
    free(l->pending);
    free(l->calls);
    if (l->scratch)
        free(l->scratch->pack);
    free(l->scratch);
    free(l->reqs);
    ncache_free(l->ncache);
    free(l->pos);
}

struct rctx *loop_rctx_get(struct loop *l)
{
    struct rctx *x = l->free_rctx;
    if (x)
        l->free_rctx = x->next;
    else if (!(x = malloc(sizeof(*x))))
        return NULL;
    memset(x, 0, offsetof(struct rctx, location));
    x->location[0] = '\0';
    return x;
}

void loop_rctx_put(struct loop *l, struct rctx *x)
{
    x->next = l->free_rctx;
    l->free_rctx = x;
}

int loop_enqueue(struct loop *l, struct rctx *x)
{
    if (!l->deadline_us && l->npending == 0 && kv_connect(l->kv) != 0)
        return ERR_KV; /* Redis unreachable: answer 503 now rather than wait for nothing */
    if (x->kind == RCTX_FOLLOW)
        rlist_push(&l->pending[x->req.shard], x);
    else
        rlist_push(&l->pending_marker, x);
    l->npending++;
    x->result = ERR_KV; /* until a reply says otherwise */
    x->state = RCTX_WAITING;
    MHD_suspend_connection(x->conn);
    return 0;
}

/*
 * Marks x cached when its code is in the near cache and not expired at the batch's clock,
 * copying the answer and the click's values into x (the entry may be evicted before the
 * reply comes).
 */
static void loop_cache_lookup(struct loop *l, struct rctx *x)
{
    struct ncache_link c;
    struct follow_req *r = &x->req;
    r->cached = 0;
    r->loop = 0;
    if (!l->ncache || !ncache_get(l->ncache, r->code, r->code_len, &c) ||
        (c.exp_ms >= 0 && l->now_ms >= c.exp_ms) || c.url_len >= sizeof(x->location))
        return;
    memcpy(x->location, c.url, c.url_len + 1);
    common_copy(r->id, sizeof(r->id), c.id);
    common_copy(r->uid, sizeof(r->uid), c.uid);
    r->url = x->location;
    r->url_len = c.url_len;
    x->redirect = c.rt;
    r->cached = 1;
    /* The redirect-loop rule (R9) here rather than in the script, when the URL's host is known. */
    if (c.hp && !c.hp[0])
        r->loop = FOLLOW_LOOP_NO;
    else if (c.hp)
        r->loop = follow_loop_check(c.hp, r->click.self ? r->click.self : "");
}

/* Appends the script calls of shard s's pending redirects (chunks of the batch maximum). */
static int loop_append_shard(struct loop *l, struct rlist *q)
{
    struct app *app = l->srv->app;
    struct rctx *x = q->head;
    while (x) {
        size_t n = 0;
        const char *pos = l->ncache ? l->pos[x->req.shard] : NULL;
        for (; x && n < CLICKSTREAM_BATCH_MAX; x = x->next) {
            loop_cache_lookup(l, x);
            l->reqs[n++] = &x->req;
        }
        if (l->ncalls == l->ncalls_max)
            return ERR_TOO_BIG;
        if (follow_append_batch(app, l->kv, l->reqs, n, l->use_eval, pos, l->now_ms, l->scratch) !=
            0)
            return ERR_KV;
        l->calls[l->ncalls++] = n;
    }
    rlist_splice(&l->flight, q);
    return 0;
}

/* Adds the change of the near cache's size since the last report to the stats' gauges. */
static void loop_report_size(struct loop *l)
{
    struct rstats *st = &l->srv->stats;
    size_t n = ncache_count(l->ncache), b = ncache_bytes(l->ncache);
    atomic_fetch_add_explicit(&st->nc_entries, (long)n - (long)l->nc_count, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->nc_bytes, (long)b - (long)l->nc_bytes, memory_order_relaxed);
    uint64_t ev = ncache_evictions(l->ncache);
    atomic_fetch_add_explicit(&st->nc_evictions, ev - l->nc_evicted, memory_order_relaxed);
    l->nc_evicted = ev;
    l->nc_count = n;
    l->nc_bytes = b;
}

/* A request whose script call met NOSCRIPT: nothing ran, it goes into the next batch. */
#define LOOP_RETRY 100

/*
 * Ends the batch in flight (rc 0: every reply arrived, else why not): a miss, /health and
 * /readyz take the marker's result, a request without a reply takes rc, a NOSCRIPT one is
 * queued again; the others are resumed to be answered.
 */
static void loop_finish(struct loop *l, int rc)
{
    for (struct rctx *x = l->flight.head, *next; x; x = next) {
        next = x->next;
        if (x->result == LOOP_RETRY && rc == 0) {
            rlist_push(&l->pending[x->req.shard], x);
            l->npending++;
            continue;
        }
        if (x->result == FOLLOW_MISS || x->result == LOOP_RETRY || x->kind != RCTX_FOLLOW)
            x->result = rc == 0 ? l->marker_result : rc;
        else if (x->result == FOLLOW_FOUND && !l->wait_ok)
            x->result = ERR_KV; /* its click is on too few replicas to answer */
        x->state = RCTX_READY;
        MHD_resume_connection(x->conn);
    }
    rlist_init(&l->flight);
    if (l->ncache) /* the gauges /metrics reads: once per batch, not per call */
        loop_report_size(l);
    l->ncalls = l->replies = 0;
    l->cursor = NULL;
    l->deadline_us = 0;
}

/* Moves every pending request into the batch in flight (which is about to fail). */
static void loop_fail_pending(struct loop *l)
{
    size_t nshards = (size_t)l->srv->app->cfg.stream_shards;
    rlist_splice(&l->flight, &l->pending_marker);
    for (size_t s = 0; s < nshards; s++)
        rlist_splice(&l->flight, &l->pending[s]);
    l->npending = 0;
}

/* Sends the pending set as one batch. Nothing in flight before. */
static void loop_send(struct loop *l)
{
    struct app *app = l->srv->app;
    size_t nshards = (size_t)app->cfg.stream_shards;
    int rc = kv_connect(l->kv);
    l->now_ms = timefmt_now_ms();
    if (rc == 0 && !l->use_eval && !follow_script_ready())
        rc = follow_load_script(app, l->kv);
    for (size_t s = 0; s < nshards && rc == 0; s++)
        rc = loop_append_shard(l, &l->pending[s]);
    l->wait_sent = 0;
    if (rc == 0 && l->ncalls && app->cfg.click_min_replicas > 0) {
        rc = kv_append_wait(l->kv, (int)app->cfg.click_min_replicas,
                            (int)app->cfg.redis_timeout_ms / 2);
        l->wait_sent = rc == 0;
    }
    l->wait_ok = !l->wait_sent;
    if (rc == 0)
        rc = follow_append_marker(l->kv);
    metrics_hist_observe(&l->srv->stats.batch, (double)l->npending);
    loop_fail_pending(l); /* the markers; after a failure also those not appended yet */
    l->use_eval = 0;
    l->cursor = l->flight.head;
    l->marker_result = ERR_KV;
    l->deadline_us = timefmt_mono_us() + app->cfg.redis_timeout_ms * 1000LL;
    if (rc == 0)
        rc = kv_send(l->kv);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = LOOP_EV_REDIS};
    if (rc == 0 && epoll_ctl(l->epfd, EPOLL_CTL_ADD, kv_fd(l->kv), &ev) != 0 && errno != EEXIST)
        rc = ERR_SYS;
    if (rc) {
        log_warn("redis batch of %zu not sent: %s", l->flight.n, kv_errmsg(l->kv));
        kv_abandon(l->kv, "batch not sent");
        loop_finish(l, ERR_KV);
    }
}

/*
 * Near cache: applies the changes ending call reply r of n requests (first = its first
 * request); -1 when they cannot be read (the call's cached answers are then not trusted).
 */
static int loop_take_changes(struct loop *l, const redisReply *r, size_t n, struct rctx *first)
{
    struct rstats *st = &l->srv->stats;
    size_t gone = 0;
    int rc = follow_batch_changes(r, n, l->ncache, l->pos[first->req.shard], &gone);
    if (rc < 0) {
        ncache_clear(l->ncache);
        memcpy(l->pos[first->req.shard], "0-0", 4);
    }
    if (rc == 1)
        atomic_fetch_add_explicit(&st->nc_resets, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->nc_invalidations, gone, memory_order_relaxed);
    return rc < 0 ? -1 : 0;
}

/* Request x's result from its call's reply r (element i); fills the near cache. */
static void loop_take_result(struct loop *l, struct rctx *x, const redisReply *r, size_t i)
{
    struct ncache_link fill;
    char hp[NCACHE_HP_MAX + 1];
    struct rstats *st = &l->srv->stats;
    x->result = follow_batch_result(r, i, x->location, sizeof(x->location), &x->redirect);
    if (!l->ncache)
        return;
    if (x->result == FOLLOW_CACHED) {
        x->result = FOLLOW_FOUND; /* the answer copied from the cache stands */
        atomic_fetch_add_explicit(&st->nc_hits, 1, memory_order_relaxed);
        return;
    }
    atomic_fetch_add_explicit(&st->nc_misses, 1, memory_order_relaxed);
    if (x->result != FOLLOW_FOUND || !follow_batch_fill(r, i, &fill))
        return;
    fill.hp = follow_hostport(fill.url, fill.url_len, hp) ? hp : NULL;
    (void)!ncache_put(l->ncache, x->req.code, x->req.code_len, &fill); /* best effort */
}

/* The reply of one script call (got: 1 a reply r, else an error reply) for its requests. */
static void loop_take_call(struct loop *l, const redisReply *r, int got)
{
    size_t n = l->calls[l->replies];
    int retry = got != 1 && follow_is_noscript(kv_errmsg(l->kv));
    int broken = got == 1 && l->ncache && l->cursor && loop_take_changes(l, r, n, l->cursor);
    for (size_t i = 0; i < n && l->cursor; i++, l->cursor = l->cursor->next) {
        struct rctx *x = l->cursor;
        if (got != 1)
            x->result = retry ? LOOP_RETRY : ERR_KV;
        else if (broken)
            x->result = ERR_KV;
        else
            loop_take_result(l, x, r, i);
    }
    if (retry)
        l->use_eval = 1;
    else if (got != 1 || broken)
        log_warn("redis refused a redirect call: %s", got != 1 ? kv_errmsg(l->kv) : "bad reply");
}

/* The WAIT's reply: how many replicas have the batch's clicks (on every node written). */
static void loop_take_wait(struct loop *l, const redisReply *r, int got)
{
    long want = l->srv->app->cfg.click_min_replicas;
    l->wait_ok = got == 1 && r->type == REDIS_REPLY_INTEGER && r->integer >= want;
    if (!l->wait_ok)
        log_warn("redis WAIT: %lld of %ld replicas have the batch: its redirects answer 503",
                 got == 1 && r->type == REDIS_REPLY_INTEGER ? (long long)r->integer : -1LL, want);
}

/* Takes every reply that arrived; ends the batch when complete or late. Never blocks. */
static void loop_poll(struct loop *l)
{
    int rc = kv_read_input(l->kv);
    size_t last = l->ncalls + (size_t)l->wait_sent; /* the marker's reply */
    while (rc == 0 && l->replies <= last) {
        redisReply *r = NULL;
        int got = kv_take_reply(l->kv, &r);
        if (got == 0)
            break;
        if (got < 0 && kv_is_broken(l->kv)) {
            rc = ERR_KV;
            break;
        }
        if (l->replies < l->ncalls)
            loop_take_call(l, r, got);
        else if (l->replies < last)
            loop_take_wait(l, r, got);
        else
            l->marker_result = got == 1 ? follow_marker_reply(r) : ERR_KV;
        l->replies++;
        if (r)
            freeReplyObject(r);
    }
    if (rc == 0 && l->replies == last + 1) {
        loop_finish(l, 0);
        return;
    }
    if (rc == 0 && timefmt_mono_us() < l->deadline_us)
        return;
    log_warn("redis batch of %zu %s: %s", l->flight.n, rc ? "broken" : "timed out",
             rc ? kv_errmsg(l->kv) : "no reply within REDIS_TIMEOUT_MS");
    kv_abandon(l->kv, rc ? "connection lost" : "timed out");
    loop_fail_pending(l); /* queued behind a Redis that does not answer: 503 now, not later */
    loop_finish(l, ERR_KV);
}

/* How long the next epoll wait may last (ms). */
static int loop_wait_ms(struct loop *l)
{
    MHD_UNSIGNED_LONG_LONG to = LOOP_TICK_MS;
    int ms = LOOP_TICK_MS;
    if (MHD_get_timeout(l->daemon, &to) == MHD_YES && to < (MHD_UNSIGNED_LONG_LONG)ms)
        ms = (int)to;
    if (l->deadline_us) {
        int64_t left = (l->deadline_us - timefmt_mono_us()) / 1000 + 1;
        if (left < ms)
            ms = left < 0 ? 0 : (int)left;
    }
    return ms;
}

/* One pass: wait for readiness, take Redis replies, let MHD work, send the next batch. */
static void loop_turn(struct loop *l)
{
    struct epoll_event ev[2];
    int redis_ready = 0;
    int n = epoll_wait(l->epfd, ev, 2, loop_wait_ms(l));
    for (int i = 0; i < n; i++)
        redis_ready |= ev[i].data.u32 == LOOP_EV_REDIS;
    if (l->deadline_us)
        loop_poll(l);
    else if (redis_ready) /* input with nothing asked: Redis closed it, or worse */
        kv_abandon(l->kv, "input while idle");
    MHD_run(l->daemon);
    if (!l->deadline_us && l->npending) {
        loop_send(l);
        if (!l->deadline_us)
            MHD_run(l->daemon); /* the batch failed at once: send the 503s */
    }
}

void *loop_main(void *arg)
{
    struct loop *l = arg;
    log_buffer_thread(1); /* access lines: one write(2) per turn, not per request */
    while (!atomic_load(&l->srv->stopping)) {
        loop_turn(l);
        log_flush();
    }
    /* Stopping: no new connections; give in-flight requests a bounded time to finish. */
    MHD_quiesce_daemon(l->daemon);
    int64_t until = timefmt_mono_us() + LOOP_DRAIN_MS * 1000LL;
    const union MHD_DaemonInfo *di;
    while (timefmt_mono_us() < until &&
           (di = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS)) &&
           di->num_connections > 0)
        loop_turn(l);
    if (l->deadline_us)
        loop_finish(l, ERR_KV);
    MHD_run(l->daemon);
    log_flush();
    log_buffer_thread(0);
    return NULL;
}
