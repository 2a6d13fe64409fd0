/*
 * kvcluster_int.h - the state of a cluster handle, shared by kvcluster.c (the pipeline,
 * sending), kvcluster_map.c (nodes, slot map, routing) and kvcluster_io.c (replies,
 * redirections, back-off, merging).
 */
#ifndef KVCLUSTER_INT_H
#define KVCLUSTER_INT_H

#include <stdint.h>

#include "kv.h"
#include "kvcluster.h"
#include "kvslot.h"

#define KVC_QUEUE_MAX (1u << 18) /* commands in flight at most (a pipeline's bound) */
#define KVC_ASKING    SIZE_MAX   /* a node fifo slot whose reply (ASKING's +OK) is dropped */

/* How a parent's reply is made of its children's. */
enum kvc_merge { KVC_MERGE_STREAMS, KVC_MERGE_FIRST, KVC_MERGE_MIN };

enum kvc_state { KVC_SENT, KVC_DONE, KVC_RETRY };

/* One command of the pipeline, or a parent standing for its nsub children (which follow it). */
struct kvc_entry {
    char *cmd; /* owned: the command in RESP, kept to send it again; NULL for a parent */
    size_t len;
    int node;      /* where it was last sent (-1: not sent) */
    int fixed;     /* 1: goes to `node` whatever the slot map says (SCRIPT, WAIT) */
    unsigned slot; /* its key's slot; KVSLOT_COUNT when it has none */
    enum kvc_state state;
    int attempts;
    int64_t retry_at; /* KVC_RETRY: when (monotonic ms) */
    size_t nsub;      /* a parent: how many children follow */
    int child;        /* 1: a parent's child, never handed to the caller */
    enum kvc_merge merge;
    long block_ms;            /* a split XREAD[GROUP]'s BLOCK */
    long wait_min;            /* KVC_MERGE_MIN with no child: this */
    struct redisReply *reply; /* KVC_DONE: owned, or NULL for an error */
    char *err;                /* KVC_DONE with an error: owned text */
    int io;                   /* KVC_DONE with an error: 1 when the connection failed */
};

struct kvc_node {
    char host[KVSLOT_HOST_MAX];
    int port;
    int primary;    /* in the current slot map */
    int dirty;      /* sent something since the last WAIT */
    struct kv *kv;  /* owned; NULL until first used */
    struct kv *own; /* owned: kvcluster_primary's, never pipelined; NULL until asked */
    size_t *fifo;   /* owned ring: queue indexes of the replies this node owes, in order */
    size_t fhead, fn, fcap;
};

struct kvcluster {
    char *password; /* owned, or NULL */
    int timeout_ms;
    struct kvc_node nodes[KVCLUSTER_NODES];
    size_t nnodes, nseeds;          /* nodes[0..nseeds) came from the URL */
    int8_t slot_node[KVSLOT_COUNT]; /* node index of each slot's primary, -1 unknown */
    int have_map, map_stale;
    int64_t map_at;      /* when the map was last refreshed (monotonic ms) */
    struct kvc_entry *q; /* owned: entries [qhead, qn) are live */
    size_t qhead, qn, qcap;
    int epfd, timerfd; /* owned: the node sockets (kv_fd) and the back-off timer */
    int broken;        /* no slot map: nothing can be sent */
    int last_io;       /* the last reply handed out failed with its node's connection */
    char errmsg[KV_ERR_MAX];
};

/* kvcluster_map.c */
int kvc_parse_url(struct kvcluster *c, const char *url);
struct kv *kvc_node_kv(const struct kvcluster *c, const struct kvc_node *n);

/* kvcluster.c */
void kvc_error(struct kvcluster *c, const char *what, const char *detail);
int kvc_refresh(struct kvcluster *c);
int kvc_node_for(struct kvcluster *c, const char *host, int port);
int kvc_send_entry(struct kvcluster *c, size_t i, int node, int asking);
int kvc_dispatch(struct kvcluster *c, size_t i, int asking_node);
int kvc_route(struct kvcluster *c, unsigned slot);
void kvc_entry_clear(struct kvc_entry *e);
int kvc_flush(struct kvcluster *c);
void kvc_drop_all(struct kvcluster *c);

/* kvcluster_io.c */
void kvc_node_fail(struct kvcluster *c, int n);
int kvc_pump_node(struct kvcluster *c, int n, int blocking);
int kvc_settle(struct kvcluster *c, size_t i, int blocking);
int kvc_finish(struct kvcluster *c, size_t i, struct redisReply **out);

#endif
