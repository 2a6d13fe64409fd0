/*
 * kvcluster.h - a Redis Cluster behind the struct kv interface (kv.c delegates here when
 * REDIS_URL is redis+cluster://[[user]:password@]host:port[,host:port...]).
 *
 * The handle learns the slot map (CLUSTER SLOTS, from any node it knows; the URL's nodes are
 * the seeds), keeps one connection per node (a plain struct kv each) and sends each command
 * to the primary of its key's slot (kvslot.h). Replies come back in the order of the calls,
 * whatever node answered. Redirections are handled here, invisibly to the caller:
 *   MOVED      the slot's owner is updated (a full CLUSTER SLOTS refresh follows before the
 *              next pipeline) and the command is sent again to the new owner;
 *   ASK        the command is sent once to the named node, after ASKING;
 *   TRYAGAIN, CLUSTERDOWN  the command is sent again after a back-off (10 ms doubling to
 *              320 ms), at most KVCLUSTER_ATTEMPTS times in all, then the error stands.
 * A command is only ever sent again after an error reply, which means Redis did not run it,
 * so a redirect's click is never counted twice. An I/O failure on any node breaks the handle
 * like a single connection breaks (kv_is_broken): the replies still due are lost, the next
 * command starts afresh with a new slot map (this is how a failover is followed).
 *
 * Commands without a key go to one primary; SCRIPT and FLUSHALL/FLUSHDB to every primary
 * (the first reply stands). XREAD/XREADGROUP over streams of several slots is split into
 * one read per slot, each sent to its slot's node, and the replies are merged into one; the
 * split reads do not BLOCK (a read of several slots cannot block on several nodes at once):
 * when all of them come back empty the call waits min(BLOCK, KVCLUSTER_POLL_MS) before it
 * answers nil, so a caller's read loop polls instead of blocking.
 *
 * The non-blocking interface (kv_fd/kv_send/kv_read_input/kv_take_reply) works too: kv_fd is
 * an epoll set of the node sockets (and of a timer for the back-off), which the caller
 * watches in its own epoll set. A slot map refresh inside it blocks (bounded by the timeout).
 */
#ifndef KVCLUSTER_H
#define KVCLUSTER_H

#include <stddef.h>

#include "common.h"

struct kv;
struct kvcluster;
struct redisReply;

#define KVCLUSTER_SCHEME   "redis+cluster://"
#define KVCLUSTER_ATTEMPTS 8  /* sends of one command (TRYAGAIN, CLUSTERDOWN, MOVED, ASK) */
#define KVCLUSTER_POLL_MS  10 /* the wait of an empty split XREAD[GROUP] with BLOCK */
#define KVCLUSTER_NODES    64 /* nodes known at most (primaries and former primaries) */

/* A new handle (nothing connected). NULL on a malformed URL or out of memory. */
struct kvcluster *kvcluster_new(const char *url, int timeout_ms);
void kvcluster_free(struct kvcluster *c);

/* The struct kv operations, same contracts as in kv.h. */
int kvcluster_connect(struct kvcluster *c) ATTR_WARN_UNUSED;
int kvcluster_append(struct kvcluster *c, int argc, const char **argv,
                     const size_t *lens) ATTR_WARN_UNUSED;
int kvcluster_read_reply(struct kvcluster *c, struct redisReply **out) ATTR_WARN_UNUSED;
int kvcluster_fd(const struct kvcluster *c);
int kvcluster_send(struct kvcluster *c) ATTR_WARN_UNUSED;
int kvcluster_read_input(struct kvcluster *c) ATTR_WARN_UNUSED;
int kvcluster_take_reply(struct kvcluster *c, struct redisReply **out) ATTR_WARN_UNUSED;
void kvcluster_abandon(struct kvcluster *c, const char *why);
const char *kvcluster_errmsg(const struct kvcluster *c);
int kvcluster_is_broken(const struct kvcluster *c);

/*
 * Queues one WAIT numreplicas timeout_ms on every node that was sent a command since the
 * last WAIT; its reply (read like any other) is the smallest count of them (an integer), or
 * numreplicas when no node was sent anything. 0 or ERR_KV.
 */
int kvcluster_append_wait(struct kvcluster *c, int numreplicas, int timeout_ms) ATTR_WARN_UNUSED;

/* The primaries of the current slot map (a refresh when there is none): their number, and
 * primary i's own handle (borrowed; a plain single-node struct kv on a connection apart from
 * the pipelines', so that its replies never mix with theirs), NULL past the end. */
size_t kvcluster_primaries(struct kvcluster *c);
struct kv *kvcluster_primary(struct kvcluster *c, size_t i);

#endif
