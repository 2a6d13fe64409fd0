/*
 * kvcluster.c - a Redis Cluster handle: its life, its pipeline of commands and sending each
 * to its node (see kvcluster.h; the slot map is in kvcluster_map.c, replies and redirections
 * in kvcluster_io.c).
 */
#include "kvcluster.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "kvcluster_int.h"
#include "log.h"
#include "timefmt.h"

#include "banned.h"

#define KVC_TIMER_TAG UINT32_MAX

void kvc_error(struct kvcluster *c, const char *what, const char *detail)
{
    snprintf(c->errmsg, sizeof(c->errmsg), "%s: %.200s", what, detail ? detail : "unknown");
}

struct kvcluster *kvcluster_new(const char *url, int timeout_ms)
{
    struct kvcluster *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->timeout_ms = timeout_ms;
    c->epfd = epoll_create1(EPOLL_CLOEXEC);
    c->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    memset(c->slot_node, -1, sizeof(c->slot_node));
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = KVC_TIMER_TAG};
    if (c->epfd < 0 || c->timerfd < 0 || kvc_parse_url(c, url) != 0 ||
        epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->timerfd, &ev) != 0) {
        kvcluster_free(c);
        return NULL;
    }
    c->nseeds = c->nnodes;
    return c;
}

void kvcluster_free(struct kvcluster *c)
{
    if (!c)
        return;
    kvc_drop_all(c);
    for (size_t i = 0; i < c->nnodes; i++) {
        kv_free(c->nodes[i].kv);
        kv_free(c->nodes[i].own);
        free(c->nodes[i].fifo);
    }
    free(c->q);
    free(c->password);
    if (c->epfd >= 0)
        close(c->epfd);
    if (c->timerfd >= 0)
        close(c->timerfd);
    free(c);
}

void kvc_entry_clear(struct kvc_entry *e)
{
    free(e->cmd);
    free(e->err);
    if (e->reply)
        freeReplyObject(e->reply);
    memset(e, 0, sizeof(*e));
}

void kvc_drop_all(struct kvcluster *c)
{
    for (size_t i = 0; i < c->nnodes; i++) {
        struct kvc_node *n = &c->nodes[i];
        if (n->fn && n->kv)
            kv_abandon(n->kv, "pipeline dropped");
        n->fn = n->fhead = 0;
    }
    for (size_t i = c->qhead; i < c->qn; i++)
        kvc_entry_clear(&c->q[i]);
    c->qhead = c->qn = 0;
    c->broken = 0;
    struct itimerspec off = {{0, 0}, {0, 0}};
    if (c->timerfd >= 0)
        timerfd_settime(c->timerfd, 0, &off, NULL);
}

/* Pushes idx on node n's fifo. 0 or ERR_NOMEM. */
static int kvc_fifo_push(struct kvc_node *n, size_t idx)
{
    if (n->fn == n->fcap) {
        size_t cap = n->fcap ? n->fcap * 2 : 64;
        size_t *f = malloc(cap * sizeof(*f));
        if (!f)
            return ERR_NOMEM;
        for (size_t i = 0; i < n->fn; i++)
            f[i] = n->fifo[(n->fhead + i) % n->fcap];
        free(n->fifo);
        n->fifo = f;
        n->fhead = 0;
        n->fcap = cap;
    }
    n->fifo[(n->fhead + n->fn++) % n->fcap] = idx;
    return 0;
}

/* Node n's connection, created on first use and watched by the epoll set once connected. */
static struct kv *kvc_node_conn(struct kvcluster *c, int n)
{
    struct kvc_node *node = &c->nodes[n];
    if (!node->kv && !(node->kv = kvc_node_kv(c, node)))
        return NULL;
    if (kv_connect(node->kv) != 0)
        return NULL;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)n};
    if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, kv_fd(node->kv), &ev) != 0 && errno != EEXIST)
        return NULL;
    return node->kv;
}

int kvc_send_entry(struct kvcluster *c, size_t i, int n, int asking)
{
    static const char asking_cmd[] = "*1\r\n$6\r\nASKING\r\n";
    struct kvc_node *node = &c->nodes[n];
    struct kvc_entry *e = &c->q[i];
    struct kv *k = kvc_node_conn(c, n);
    int rc = k ? 0 : ERR_KV;
    if (rc == 0 && asking && (rc = kv_append_formatted(k, asking_cmd, sizeof(asking_cmd) - 1)) == 0)
        rc = kvc_fifo_push(node, KVC_ASKING);
    if (rc == 0 && (rc = kv_append_formatted(k, e->cmd, e->len)) == 0)
        rc = kvc_fifo_push(node, i);
    e->attempts++;
    if (rc == 0) {
        e->node = n;
        e->state = KVC_SENT;
        node->dirty = 1;
        return 0;
    }
    /*
     * Not sent. A node we cannot connect to is treated like CLUSTERDOWN (back-off, a new slot
     * map, another try: a failover may be under way); anything else fails this command.
     * Whatever this node owed us went down with its connection.
     */
    char why[KV_ERR_MAX];
    int down = !k && node->kv;
    snprintf(why, sizeof(why), "%s %s:%d: %.160s",
             down ? "CLUSTERDOWN cannot reach" : "io:", node->host, node->port,
             node->kv ? kv_errmsg(node->kv) : "out of memory");
    kvc_node_fail(c, n);
    e->state = KVC_DONE;
    e->io = !down;
    free(e->err);
    e->err = strdup(why);
    c->map_stale = 1;
    return 0;
}

int kvc_flush(struct kvcluster *c)
{
    for (size_t i = 0; i < c->nnodes; i++) {
        struct kvc_node *n = &c->nodes[i];
        if (n->fn && n->kv && kv_send(n->kv) != 0)
            kvc_node_fail(c, (int)i); /* its commands fail; the other nodes' go on */
    }
    return 0;
}

/* A new entry at the queue's end (zeroed, not sent); its index, or ERR_* (c->errmsg set). */
static int kvc_push(struct kvcluster *c, size_t *idx)
{
    if (c->qn == c->qcap) {
        size_t cap = c->qcap ? c->qcap * 2 : 64;
        struct kvc_entry *q = cap <= KVC_QUEUE_MAX ? realloc(c->q, cap * sizeof(*q)) : NULL;
        if (!q) {
            kvc_error(c, "append", "too many commands in flight");
            return ERR_TOO_BIG;
        }
        c->q = q;
        c->qcap = cap;
    }
    *idx = c->qn++;
    memset(&c->q[*idx], 0, sizeof(c->q[*idx]));
    c->q[*idx].node = -1;
    c->q[*idx].slot = KVSLOT_COUNT;
    return 0;
}

/* Sends entry i where the map (or its fixed node) says; an unknown slot is CLUSTERDOWN. */
int kvc_dispatch(struct kvcluster *c, size_t i, int asking_node)
{
    struct kvc_entry *e = &c->q[i];
    if (asking_node >= 0)
        return kvc_send_entry(c, i, asking_node, 1);
    int n = e->fixed ? e->node : kvc_route(c, e->slot);
    if (n >= 0)
        return kvc_send_entry(c, i, n, 0);
    e->attempts++;
    e->state = KVC_DONE;
    free(e->err);
    e->err = strdup("CLUSTERDOWN Hash slot not served (by the slot map known)");
    c->map_stale = 1;
    return e->err ? 0 : ERR_NOMEM;
}

/* Queues argv as one command (formatted) for slot (or node `fixed` >= 0) and sends it. */
static int kvc_queue(struct kvcluster *c, int argc, const char **argv, const size_t *lens,
                     unsigned slot, int fixed)
{
    size_t i;
    int rc = kvc_push(c, &i);
    if (rc)
        return rc;
    struct kvc_entry *e = &c->q[i];
    int len = redisFormatCommandArgv(&e->cmd, argc, argv, lens);
    if (len < 0) {
        c->qn--;
        kvc_error(c, "append", "cannot format the command");
        return ERR_NOMEM;
    }
    e->len = (size_t)len;
    e->slot = slot;
    e->fixed = fixed >= 0;
    e->node = fixed;
    return kvc_dispatch(c, i, -1);
}

/* A parent entry for children that follow; its index in *idx. */
static int kvc_parent(struct kvcluster *c, enum kvc_merge merge, size_t *idx)
{
    int rc = kvc_push(c, idx);
    if (rc == 0)
        c->q[*idx].merge = merge;
    return rc;
}

/* Marks the entries after parent p as its children. */
static void kvc_adopt(struct kvcluster *c, size_t p)
{
    c->q[p].nsub = c->qn - p - 1;
    for (size_t i = p + 1; i < c->qn; i++)
        c->q[i].child = 1;
}

/* One command to every primary (SCRIPT LOAD, FLUSHALL): the first reply stands. */
static int kvc_queue_all(struct kvcluster *c, int argc, const char **argv, const size_t *lens)
{
    size_t p;
    int rc = kvc_parent(c, KVC_MERGE_FIRST, &p);
    for (size_t n = 0; n < c->nnodes && rc == 0; n++)
        if (c->nodes[n].primary)
            rc = kvc_queue(c, argc, argv, lens, KVSLOT_COUNT, (int)n);
    kvc_adopt(c, p);
    return rc;
}

/* The length of argv[i]. */
static size_t kvc_len(const char **argv, const size_t *lens, int i)
{
    return lens ? lens[i] : strlen(argv[i]);
}

/* The scratch of a split XREAD[GROUP]: the head arguments (BLOCK dropped), then one slot's
 * keys and ids. */
struct kvc_split {
    const char **argv;
    size_t *lens;
    unsigned *slots;
    int head;
};

/* Queues the read of the streams argv[k + j] of slot slots[i] (j >= i), keys then ids. */
static int kvc_queue_slot_read(struct kvcluster *c, struct kvc_split *sp, const char **argv,
                               const size_t *lens, int k, int nkeys, int i)
{
    int m = 0;
    for (int j = i; j < nkeys; j++)
        if (sp->slots[j] == sp->slots[i]) {
            sp->argv[sp->head + m] = argv[k + j];
            sp->lens[sp->head + m++] = kvc_len(argv, lens, k + j);
        }
    for (int j = i, o = 0; j < nkeys; j++)
        if (sp->slots[j] == sp->slots[i]) {
            sp->argv[sp->head + m + o] = argv[k + nkeys + j];
            sp->lens[sp->head + m + o++] = kvc_len(argv, lens, k + nkeys + j);
        }
    return kvc_queue(c, sp->head + 2 * m, sp->argv, sp->lens, sp->slots[i], -1);
}

/*
 * XREAD/XREADGROUP over streams argv[k..) (keys, then as many ids): one read per slot,
 * without BLOCK, merged when read. A read of one slot goes as it is.
 */
static int kvc_queue_streams(struct kvcluster *c, int argc, const char **argv, const size_t *lens,
                             int k)
{
    int nkeys = (argc - k) / 2, same = 1;
    struct kvc_split sp = {.argv = malloc((size_t)argc * sizeof(*sp.argv)),
                           .lens = malloc((size_t)argc * sizeof(*sp.lens)),
                           .slots = malloc((size_t)nkeys * sizeof(*sp.slots))};
    size_t p = 0;
    int rc = sp.argv && sp.lens && sp.slots ? 0 : ERR_NOMEM;
    for (int i = 0; i < nkeys && rc == 0; i++) {
        sp.slots[i] = kvslot_of(argv[k + i], kvc_len(argv, lens, k + i));
        same &= sp.slots[i] == sp.slots[0];
    }
    if (rc == 0 && same && nkeys > 0)
        rc = kvc_queue(c, argc, argv, lens, sp.slots[0], -1);
    else if (rc == 0)
        rc = kvc_parent(c, KVC_MERGE_STREAMS, &p);
    for (int i = 0; i < k && rc == 0 && !same; i++) {
        if (i + 1 < k && kvc_len(argv, lens, i) == 5 && strncasecmp(argv[i], "BLOCK", 5) == 0) {
            c->q[p].block_ms = strtol(argv[++i], NULL, 10);
            continue;
        }
        sp.argv[sp.head] = argv[i];
        sp.lens[sp.head++] = kvc_len(argv, lens, i);
    }
    for (int i = 0; i < nkeys && rc == 0 && !same; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = sp.slots[j] == sp.slots[i];
        if (!seen)
            rc = kvc_queue_slot_read(c, &sp, argv, lens, k, nkeys, i);
    }
    if (!same && c->qn > p && c->q[p].cmd == NULL)
        kvc_adopt(c, p);
    free(sp.argv);
    free(sp.lens);
    free(sp.slots);
    return rc;
}

/* Before a new pipeline: a broken handle starts afresh, a stale map is refreshed. */
static int kvc_prepare(struct kvcluster *c)
{
    if (c->broken)
        kvc_drop_all(c);
    if (c->qn == 0 && (!c->have_map || c->map_stale))
        (void)kvc_refresh(c);
    if (!c->have_map) {
        c->broken = 1;
        return ERR_KV;
    }
    return 0;
}

int kvcluster_connect(struct kvcluster *c)
{
    return kvc_prepare(c);
}

int kvcluster_append(struct kvcluster *c, int argc, const char **argv, const size_t *lens)
{
    int rc = kvc_prepare(c), k;
    if (rc)
        return rc;
    switch (kvslot_route(argc, argv, lens, &k)) {
    case KVSLOT_KEY:
        rc = kvc_queue(c, argc, argv, lens, kvslot_of(argv[k], kvc_len(argv, lens, k)), -1);
        break;
    case KVSLOT_ALL:
        rc = kvc_queue_all(c, argc, argv, lens);
        break;
    case KVSLOT_STREAMS:
        rc = kvc_queue_streams(c, argc, argv, lens, k);
        break;
    case KVSLOT_ANY:
    default:
        rc = kvc_queue(c, argc, argv, lens, KVSLOT_COUNT, -1);
        break;
    }
    if (rc)
        c->broken = 1; /* half queued (out of memory, too many): the pipeline starts afresh */
    return rc;
}

int kvcluster_append_wait(struct kvcluster *c, int numreplicas, int timeout_ms)
{
    char nrep[16], ms[24];
    snprintf(nrep, sizeof(nrep), "%d", numreplicas);
    snprintf(ms, sizeof(ms), "%d", timeout_ms);
    const char *argv[] = {"WAIT", nrep, ms};
    size_t p;
    int rc = kvc_parent(c, KVC_MERGE_MIN, &p);
    if (rc)
        return rc;
    c->q[p].wait_min = numreplicas;
    for (size_t n = 0; n < c->nnodes && rc == 0; n++)
        if (c->nodes[n].dirty) {
            c->nodes[n].dirty = 0;
            rc = kvc_queue(c, 3, argv, NULL, KVSLOT_COUNT, (int)n);
        }
    kvc_adopt(c, p);
    return rc;
}

int kvcluster_fd(const struct kvcluster *c)
{
    return c->epfd;
}

int kvcluster_send(struct kvcluster *c)
{
    return kvc_flush(c);
}

void kvcluster_abandon(struct kvcluster *c, const char *why)
{
    kvc_error(c, "abandoned", why);
    for (size_t i = 0; i < c->nnodes; i++) {
        struct kvc_node *n = &c->nodes[i];
        char b;
        int fd = n->kv ? kv_fd(n->kv) : -1;
        if (fd >= 0 && (n->fn || recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) >= 0 ||
                        (errno != EAGAIN && errno != EWOULDBLOCK)))
            kv_abandon(n->kv, why); /* replies due (or input unasked for): lost */
        n->fn = n->fhead = 0;
    }
    kvc_drop_all(c);
    c->map_stale = 1;
}

const char *kvcluster_errmsg(const struct kvcluster *c)
{
    return c->errmsg;
}

int kvcluster_is_broken(const struct kvcluster *c)
{
    return c->broken || (c->last_io && c->qhead == c->qn);
}
