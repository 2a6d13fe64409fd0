/*
 * kv.h - a hiredis handle with connect/command timeouts and reconnect.
 *
 * Connects lazily to a redis://[:password@]host[:port][/db] URL, or to a Redis Cluster named by
 * redis+cluster://[:password@]host:port[,host:port...] (kvcluster.h: every call below then
 * goes to the primary of its key's slot, redirections followed). After an
 * I/O or protocol error the handle is marked broken and the next command
 * reconnects. The last error is kept on the handle. Not thread-safe: one
 * handle per thread (or behind a pool).
 */
#ifndef KV_H
#define KV_H

#include <stddef.h>

#include "common.h"

struct redisReply;
struct kv;

#define KV_ERR_MAX 256

/* A new handle (url copied); nothing connected yet. NULL on a malformed URL or OOM. */
struct kv *kv_new(const char *url, int timeout_ms);
void kv_free(struct kv *kv);

/* Connects (AUTH, SELECT) if not connected or broken. 0 or ERR_KV. */
int kv_connect(struct kv *kv) ATTR_WARN_UNUSED;

/*
 * Runs one command given as argv/lens (lens may be NULL for C strings).
 * On success returns 0 and a new reply in *out (caller freeReplyObject()s it;
 * out may be NULL to discard). A Redis error reply gives ERR_KV with the text
 * kept on the handle (the handle stays usable); an I/O error gives ERR_KV and
 * marks the handle broken. A broken handle is reconnected once before sending.
 */
int kv_command(struct kv *kv, int argc, const char **argv, const size_t *lens,
               struct redisReply **out) ATTR_WARN_UNUSED;

/* Pipelining: queue commands with kv_append, then read each reply with kv_read_reply. */
int kv_append(struct kv *kv, int argc, const char **argv, const size_t *lens) ATTR_WARN_UNUSED;
int kv_read_reply(struct kv *kv, struct redisReply **out) ATTR_WARN_UNUSED;

/*
 * Non-blocking replies, for a caller that watches kv_fd() in its own epoll set (redirect-svc):
 * kv_append() commands, kv_send() them (a blocking write bounded by the timeout; the kernel's
 * socket buffer takes a batch at once), then on each readiness kv_read_input() and take what
 * arrived with kv_take_reply(). kv_abandon() drops a connection whose replies came too late.
 */

/* The connection's socket, or -1 when not connected. */
int kv_fd(const struct kv *kv);

/* Writes every appended command. 0, or ERR_KV (handle broken). */
int kv_send(struct kv *kv) ATTR_WARN_UNUSED;

/* Reads what the socket holds without blocking. 0 (also when nothing was there), or ERR_KV
 * when the peer closed or the read failed (handle broken). */
int kv_read_input(struct kv *kv) ATTR_WARN_UNUSED;

/* 1 with a new reply in *out (caller frees it), 0 when no whole reply arrived yet, ERR_KV for
 * an error reply (text on the handle; usable) or a protocol error (handle broken). */
int kv_take_reply(struct kv *kv, struct redisReply **out) ATTR_WARN_UNUSED;

/* Closes the connection (its pending replies are lost); the next command reconnects. */
void kv_abandon(struct kv *kv, const char *why);

/*
 * The value of field `name` in a flat [name, value, name, value, ...] array
 * reply (XINFO and friends in RESP2), or NULL. Borrowed from r.
 */
const struct redisReply *kv_reply_field(const struct redisReply *r, const char *name);

/*
 * Appends WAIT numreplicas timeout_ms, read back like any command: its reply is an integer,
 * the number of replicas that have every write sent before it (on a cluster the smallest
 * such number over the nodes written to since the last WAIT). 0 or ERR_KV.
 */
int kv_append_wait(struct kv *kv, int numreplicas, int timeout_ms) ATTR_WARN_UNUSED;

/* 1 when kv is a cluster handle. */
int kv_is_cluster(const struct kv *kv);

/*
 * The primaries, for work that is per node (SCAN of every key, the read-model rebuild): their
 * number (1 for a single Redis), and primary i's own single-node handle (borrowed from kv,
 * which is itself primary 0 of a single Redis), NULL past the end or when out of memory.
 */
size_t kv_primaries(struct kv *kv);
struct kv *kv_primary(struct kv *kv, size_t i);

/* For kvcluster.c: appends a command already in RESP (cmd[0..len)). 0 or ERR_KV. */
int kv_append_formatted(struct kv *kv, const char *cmd, size_t len) ATTR_WARN_UNUSED;

/* The last error text, borrowed. */
const char *kv_errmsg(const struct kv *kv);

/* 1 when the last failure was an I/O error (handle broken), 0 otherwise. */
int kv_is_broken(const struct kv *kv);

#endif
