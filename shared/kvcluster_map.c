/*
 * kvcluster_map.c - a cluster handle's view of the cluster: the seeds of its URL, the nodes
 * known, the slot map (CLUSTER SLOTS, asked of the primaries first, then any node), routing a
 * slot to its primary, and the primaries for per-node work (see kvcluster.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "kvcluster_int.h"
#include "timefmt.h"

#include "banned.h"

#define KVC_RANGES_MAX  4096 /* slot ranges of one CLUSTER SLOTS reply at most */
#define KVC_REFRESH_GAP 100  /* ms between two slot map refreshes at least (unless forced) */

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
int kvc_parse_url(struct kvcluster *c, const char *url)
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

/* A new plain handle to node n (redis://[:password@]host:port), or NULL. */
struct kv *kvc_node_kv(const struct kvcluster *c, const struct kvc_node *n)
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

int kvc_refresh(struct kvcluster *c)
{
    /* At most one attempt per KVC_REFRESH_GAP, also when the last one failed: a cluster that
     * is down is not asked (each seed a connect timeout) for every request. */
    if (c->map_at && timefmt_mono_ms() - c->map_at < KVC_REFRESH_GAP)
        return c->have_map ? 0 : ERR_KV;
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

size_t kvcluster_primaries(struct kvcluster *c)
{
    if (!c->have_map || c->map_stale)
        (void)kvc_refresh(c);
    size_t n = 0;
    for (size_t i = 0; i < c->nnodes; i++)
        n += c->nodes[i].primary ? 1 : 0;
    return n;
}

struct kv *kvcluster_primary(struct kvcluster *c, size_t i)
{
    for (size_t n = 0; n < c->nnodes; n++)
        if (c->nodes[n].primary && i-- == 0) {
            /* A connection of its own: a command sent on the pipelines' one would take the
             * reply of a call still owed there (and leave its own to that call). */
            struct kvc_node *node = &c->nodes[n];
            if (!node->own)
                node->own = kvc_node_kv(c, node);
            return node->own;
        }
    return NULL;
}
