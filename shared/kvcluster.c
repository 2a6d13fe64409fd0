/*
 * kvcluster.c - a Redis Cluster handle: seeds, nodes, the slot map, routing and sending
 * (see kvcluster.h; replies and redirections are in kvcluster_io.c).
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

#define KVC_RANGES_MAX  4096 /* slot ranges of one CLUSTER SLOTS reply at most */
#define KVC_REFRESH_GAP 100  /* ms between two slot map refreshes at least (unless forced) */
#define KVC_TIMER_TAG   UINT32_MAX

void kvc_error(struct kvcluster *c, const char *what, const char *detail)
{
    snprintf(c->errmsg, sizeof(c->errmsg), "%s: %.200s", what, detail ? detail : "unknown");
}

/* Adds a seed "host:port" (len bytes) from the URL. 0 or ERR_INVALID. */
static int kvc_add_seed(struct kvcluster *c, const char *s, size_t len)
{
    char buf[KVSLOT_HOST_MAX + 8];
    if (len == 0 || len >= sizeof(buf) || c->nnodes == KVCLUSTER_NODES)
        return ERR_INVALID;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *colon = strrchr(buf, ':'), *end;
    long port = 6379;
    if (colon) {
        errno = 0;
        port = strtol(colon + 1, &end, 10);
        if (errno || end == colon + 1 || *end || port < 1 || port > 65535)
            return ERR_INVALID;
        *colon = '\0';
    }
    size_t hlen = strlen(buf);
    if (hlen == 0 || hlen >= KVSLOT_HOST_MAX)
        return ERR_INVALID;
    struct kvc_node *n = &c->nodes[c->nnodes++];
    memcpy(n->host, buf, hlen + 1);
    n->port = (int)port;
    return 0;
}

/* redis+cluster://[[user]:password@]host[:port][,host[:port]...] into c. */
static int kvc_parse_url(struct kvcluster *c, const char *url)
{
    size_t pre = strlen(KVCLUSTER_SCHEME);
    if (strncmp(url, KVCLUSTER_SCHEME, pre) != 0)
        return ERR_INVALID;
    const char *p = url + pre;
    const char *at = strchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        if (!(c->password = strndup(pw, (size_t)(at - pw))))
            return ERR_NOMEM;
        p = at + 1;
    }
    while (*p) {
        size_t len = strcspn(p, ",/");
        if (kvc_add_seed(c, p, len) != 0)
            return ERR_INVALID;
        p += len;
        if (*p == '/')
            return p[1] == '\0' || strcmp(p, "/0") == 0 ? 0 : ERR_INVALID; /* db 0 only */
        if (*p == ',')
            p++;
    }
    return c->nnodes ? 0 : ERR_INVALID;
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

/* A new plain handle to node n (redis://[:password@]host:port), or NULL. */
static struct kv *kvc_node_kv(const struct kvcluster *c, const struct kvc_node *n)
{
    char url[KVSLOT_HOST_MAX + 512];
    int len = snprintf(url, sizeof(url), "redis://%s%s%s%s%s:%d", c->password ? ":" : "",
                       c->password ? c->password : "", c->password ? "@" : "",
                       strchr(n->host, ':') ? "" : "", n->host, n->port);
    return len > 0 && (size_t)len < sizeof(url) ? kv_new(url, c->timeout_ms) : NULL;
}

int kvc_node_for(struct kvcluster *c, const char *host, int port)
{
    for (size_t i = 0; i < c->nnodes; i++)
        if (c->nodes[i].port == port && strcmp(c->nodes[i].host, host) == 0)
            return (int)i;
    if (c->nnodes == KVCLUSTER_NODES || strlen(host) >= KVSLOT_HOST_MAX)
        return -1;
    struct kvc_node *n = &c->nodes[c->nnodes];
    memset(n, 0, sizeof(*n));
    snprintf(n->host, sizeof(n->host), "%s", host);
    n->port = port;
    return (int)c->nnodes++;
}

/* Applies parsed ranges as the new slot map. */
static void kvc_apply(struct kvcluster *c, const struct kvslot_range *r, int n)
{
    for (size_t i = 0; i < c->nnodes; i++)
        c->nodes[i].primary = 0;
    memset(c->slot_node, -1, sizeof(c->slot_node));
    for (int i = 0; i < n; i++) {
        int node = kvc_node_for(c, r[i].host, r[i].port);
        if (node < 0)
            continue;
        c->nodes[node].primary = 1;
        memset(&c->slot_node[r[i].first], node, r[i].last - r[i].first + 1);
    }
    c->have_map = 1;
    c->map_stale = 0;
    c->map_at = timefmt_mono_ms();
}

/* Asks node n for CLUSTER SLOTS on a connection of its own (pipelines stay untouched). */
static int kvc_ask_slots(struct kvcluster *c, size_t n, struct kvslot_range *ranges)
{
    struct kv *k = kvc_node_kv(c, &c->nodes[n]);
    const char *argv[] = {"CLUSTER", "SLOTS"};
    redisReply *r = NULL;
    int rc = k ? kv_command(k, 2, argv, NULL, &r) : ERR_NOMEM;
    if (rc == 0) {
        rc = kvslot_parse_slots(r, c->nodes[n].host, ranges, KVC_RANGES_MAX);
        if (rc == 0)
            rc = ERR_INVALID; /* a node that serves no slot at all is not a cluster yet */
        if (rc < 0)
            kvc_error(c, "cluster slots", "unexpected reply");
        freeReplyObject(r);
    } else {
        kvc_error(c, "cluster slots", k ? kv_errmsg(k) : "out of memory");
    }
    kv_free(k);
    return rc;
}

int kvc_refresh(struct kvcluster *c, int force)
{
    if (!force && c->have_map && timefmt_mono_ms() - c->map_at < KVC_REFRESH_GAP)
        return 0;
    struct kvslot_range *ranges = malloc(KVC_RANGES_MAX * sizeof(*ranges));
    if (!ranges)
        return ERR_NOMEM;
    int rc = ERR_KV;
    /* The primaries first (they know best), then every node known, seeds included. */
    for (int pass = 0; pass < 2 && rc < 0; pass++)
        for (size_t i = 0; i < c->nnodes && rc < 0; i++)
            if (c->nodes[i].primary == !pass)
                rc = kvc_ask_slots(c, i, ranges);
    if (rc > 0)
        kvc_apply(c, ranges, rc);
    else
        c->map_at = timefmt_mono_ms(); /* no hammering of a cluster that is down */
    free(ranges);
    return rc > 0 ? 0 : ERR_KV;
}

int kvc_route(struct kvcluster *c, unsigned slot)
{
    if (slot < KVSLOT_COUNT)
        return c->slot_node[slot];
    for (size_t i = 0; i < c->nnodes; i++)
        if (c->nodes[i].primary)
            return (int)i;
    return -1;
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

/*
 * XREAD/XREADGROUP over streams argv[k..) (keys, then as many ids): one read per slot,
 * without BLOCK, merged when read. A read of one slot goes as it is.
 */
static int kvc_queue_streams(struct kvcluster *c, int argc, const char **argv, const size_t *lens,
                             int k)
{
    int nkeys = (argc - k) / 2;
    unsigned first = kvslot_of(argv[k], kvc_len(argv, lens, k));
    int same = 1;
    for (int i = 1; i < nkeys && same; i++)
        same = kvslot_of(argv[k + i], kvc_len(argv, lens, k + i)) == first;
    if (same)
        return kvc_queue(c, argc, argv, lens, first, -1);
    const char **sub = malloc((size_t)argc * sizeof(*sub));
    size_t *sublen = malloc((size_t)argc * sizeof(*sublen));
    unsigned *slots = malloc((size_t)nkeys * sizeof(*slots));
    size_t p;
    int rc = sub && sublen && slots ? kvc_parent(c, KVC_MERGE_STREAMS, &p) : ERR_NOMEM;
    int head = 0;
    for (int i = 0; i < k && rc == 0; i++) {
        if (i + 1 < k && kvc_len(argv, lens, i) == 5 && strncasecmp(argv[i], "BLOCK", 5) == 0) {
            c->q[p].block_ms = strtol(argv[++i], NULL, 10);
            continue;
        }
        sub[head] = argv[i];
        sublen[head++] = kvc_len(argv, lens, i);
    }
    for (int i = 0; i < nkeys && rc == 0; i++)
        slots[i] = kvslot_of(argv[k + i], kvc_len(argv, lens, k + i));
    for (int i = 0; i < nkeys && rc == 0; i++) {
        int seen = 0, m = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = slots[j] == slots[i];
        if (seen)
            continue;
        for (int j = i; j < nkeys; j++)
            if (slots[j] == slots[i]) {
                sub[head + m] = argv[k + j];
                sublen[head + m++] = kvc_len(argv, lens, k + j);
            }
        for (int j = i, o = 0; j < nkeys; j++)
            if (slots[j] == slots[i]) {
                sub[head + m + o] = argv[k + nkeys + j];
                sublen[head + m + o++] = kvc_len(argv, lens, k + nkeys + j);
            }
        rc = kvc_queue(c, head + 2 * m, sub, sublen, slots[i], -1);
    }
    if (rc == 0 || rc == ERR_KV)
        kvc_adopt(c, p);
    free(sub);
    free(sublen);
    free(slots);
    return rc;
}

/* Before a new pipeline: a broken handle starts afresh, a stale map is refreshed. */
static int kvc_prepare(struct kvcluster *c)
{
    if (c->broken)
        kvc_drop_all(c);
    if (c->qn == 0 && (!c->have_map || c->map_stale))
        (void)kvc_refresh(c, !c->have_map);
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
    int rc = kvc_prepare(c);
    if (rc)
        return rc;
    int k;
    switch (kvslot_route(argc, argv, lens, &k)) {
    case KVSLOT_KEY:
        return kvc_queue(c, argc, argv, lens, kvslot_of(argv[k], kvc_len(argv, lens, k)), -1);
    case KVSLOT_ALL:
        return kvc_queue_all(c, argc, argv, lens);
    case KVSLOT_STREAMS:
        return kvc_queue_streams(c, argc, argv, lens, k);
    case KVSLOT_ANY:
    default:
        return kvc_queue(c, argc, argv, lens, KVSLOT_COUNT, -1);
    }
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

size_t kvcluster_primaries(struct kvcluster *c)
{
    if (!c->have_map || c->map_stale)
        (void)kvc_refresh(c, !c->have_map);
    size_t n = 0;
    for (size_t i = 0; i < c->nnodes; i++)
        n += c->nodes[i].primary ? 1 : 0;
    return n;
}

struct kv *kvcluster_primary(struct kvcluster *c, size_t i)
{
    for (size_t n = 0; n < c->nnodes; n++)
        if (c->nodes[n].primary && i-- == 0) {
            struct kvc_node *node = &c->nodes[n];
            if (!node->kv)
                node->kv = kvc_node_kv(c, node);
            return node->kv;
        }
    return NULL;
}
