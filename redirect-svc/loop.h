/*
 * loop.h - redirect-svc's event loop and its Redis batches (loop.c), shared with the MHD
 * callbacks (server.c).
 *
 * Each thread runs one loop: an epoll set holding libmicrohttpd's epoll fd and the loop's
 * Redis socket. A request that needs Redis (a redirect, /health, /readyz) is queued in the
 * loop's pending set (by shard) and its connection suspended. When no batch is in flight,
 * the loop sends the pending set as one batch: one script call per shard (group commit of
 * that turn's clicks), with CLICK_MIN_REPLICAS one WAIT (kv_append_wait: per Redis node
 * written), then one EXISTS of the read-model marker. The replies are read as
 * they arrive, without blocking, while the loop goes on serving other connections; once the
 * batch is complete (or REDIS_TIMEOUT_MS passed: 503) its connections are resumed and MHD
 * sends their answers. Nothing is answered before Redis acknowledged its click (and, with
 * CLICK_MIN_REPLICAS, before that many replicas have it: else the batch's redirects are 503,
 * cached ones included: a cache hit still writes its click in the batch).
 *
 * With NEAR_CACHE_MB > 0 each loop has its near cache (ncache.h) and a position per shard
 * in the change streams: a request whose code is cached joins its call marked cached (its
 * answer copied from the cache into the request at once), and the call's reply first
 * invalidates what changed, then fills the cache with what the call read from Redis.
 */
#ifndef LOOP_H
#define LOOP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "client.h"
#include "follow.h"
#include "http.h"
#include "rstats.h"
#include "validate.h"

struct MHD_Connection;
struct MHD_Daemon;

/* RCTX_HEALTH and RCTX_READYZ ask Redis for the read-model marker; /livez never asks Redis. */
enum rctx_kind { RCTX_ANSWERED, RCTX_FOLLOW, RCTX_HEALTH, RCTX_READYZ };

enum rctx_state { RCTX_NEW, RCTX_WAITING, RCTX_READY };

struct loop;
struct server_resp;

/* The redirect statuses whose answers server.c pools (301, 302, 307, 308). */
#define LOOP_RESP_KINDS 4

/* One request, from the loop's pool (loop_rctx_get). Borrowed pointers come from MHD and live
 * until the request completes. */
struct rctx {
    struct loop *loop;
    struct MHD_Connection *conn;
    struct rctx *next; /* in a pending list, the batch in flight, or the pool's free list */
    enum rctx_kind kind;
    enum rctx_state state;
    int result;                 /* an enum follow_result or an ERR_*, set by the batch */
    int redirect;               /* the link's redirect status, on FOLLOW_FOUND */
    struct follow_req req;      /* the code, its key and the click (RCTX_FOLLOW) */
    char ip[CLIENT_IP_MAX];     /* req.click.ip points here */
    char self[CLIENT_SELF_MAX]; /* req.click.self points here */
    int status;                 /* the status answered, for the access line */
    enum rstats_route route;    /* for the per-route figures */
    int64_t start_us;
    struct server_resp *resp; /* the pooled 3xx answer queued (server.c), or NULL */
    char req_id[HTTP_REQ_ID_MAX];
    char method[8]; /* method and path: for the access line only, empty when it is off */
    char path[128];
    char location[VALIDATE_URL_MAX + 1]; /* the link, on FOLLOW_FOUND */
};

/* A list of requests. */
struct rlist {
    struct rctx *head, **tail;
    size_t n;
};

struct server;

struct loop {
    struct server *srv;
    struct MHD_Daemon *daemon; /* owned */
    int epfd;                  /* owned: our epoll set, holding MHD's epoll fd and Redis */
    pthread_t thread;
    int started;
    struct kv *kv;               /* owned: this loop's Redis connection */
    struct rlist *pending;       /* owned: [stream_shards] redirects not sent yet */
    struct rlist pending_marker; /* /health and /readyz not sent yet */
    size_t npending;
    struct rlist flight; /* the batch in flight, in the order of its calls */
    size_t *calls;       /* owned: requests per script call of the batch in flight */
    size_t ncalls, ncalls_max, replies;
    struct rctx *cursor;            /* the first request of the next call's reply */
    int marker_result;              /* the marker's reply of the batch in flight */
    int wait_sent;                  /* the batch in flight has a WAIT (CLICK_MIN_REPLICAS) */
    int wait_ok;                    /* ... and it said enough replicas have its clicks */
    int use_eval;                   /* the script went missing (NOSCRIPT): send its text */
    int64_t deadline_us;            /* when the batch in flight is given up (0: none) */
    struct rctx *free_rctx;         /* the pool: requests done, kept for reuse */
    struct follow_scratch *scratch; /* owned */
    const struct follow_req **reqs; /* owned: [CLICKSTREAM_BATCH_MAX] one call's requests */
    struct ncache *ncache;          /* owned: the near cache, or NULL when off */
    char (*pos)[FOLLOW_POS_MAX];    /* owned: [stream_shards] change stream positions */
    int64_t now_ms;                 /* the clock of the batch being built */
    size_t nc_count, nc_bytes;      /* the cache's size as last added to stats */
    uint64_t nc_evicted;            /* its evictions as last added to stats */
    struct http_req_ids ids;        /* this loop's request ids */
    struct server_resp *resp_free[LOOP_RESP_KINDS]; /* owned by server.c: 3xx answers idle */
};

struct server {
    struct app *app;
    int port;
    int nloops;
    atomic_int stopping;
    struct rstats stats;   /* every loop adds, /metrics reads */
    char public_cache[48]; /* the Cache-Control of 301/308 answers */
    struct loop loops[];   /* nloops */
};

/* Prepares l's batch state, pool and near cache (l->srv and l->epfd set). 0 or ERR_NOMEM. */
int loop_init(struct loop *l, unsigned conn_limit) ATTR_WARN_UNUSED;

/* Frees what loop_init() allocated, the pool included. */
void loop_release(struct loop *l);

/* A request context from the pool, zeroed; NULL when out of memory. */
struct rctx *loop_rctx_get(struct loop *l);

/* Gives x back to the pool. */
void loop_rctx_put(struct loop *l, struct rctx *x);

/* Queues x (kind and req set) for the next batch and suspends its connection. 0 or ERR_KV. */
int loop_enqueue(struct loop *l, struct rctx *x) ATTR_WARN_UNUSED;

/* The thread's body: runs turns until the server stops, then drains (bounded). */
void *loop_main(void *arg);

#endif
