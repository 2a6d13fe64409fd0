/*
 * readmodel.h - write-svc's side of the Redis read model (ARCHITECTURE.md).
 *
 * Each active URL is a hash at "url:{s}:<code>" with the fields listed in
 * shortcode.h (id, owner, URL, redirect type, expiry, cap, click counter).
 * Inactive and deleted URLs have no key. The key "readmodel:complete" says the
 * model holds every active URL; redirect-svc answers 503 while it is missing.
 *
 * Writes happen inside the PostgreSQL transaction that changes the URL, before
 * COMMIT (consistency rule 1). Each write of a link (put, del, take) also appends the
 * code to its shard's change stream "chg:{s}" in the same script, one atomic step, which
 * is what redirect-svc's near cache relies on (redirect-svc/ncache.h); a rebuild removes
 * the change streams instead, which clears every near cache. Each thread uses its own Redis handle;
 * a command that fails on a stale connection is retried once (the commands here are idempotent).
 */
#ifndef READMODEL_H
#define READMODEL_H

#include "common.h"

struct app;
struct kv;
struct store_url;

/*
 * Writes (or overwrites) the link of an active URL with its options. `clicks`
 * seeds the click counter only when the link has none yet (a new, moved or
 * reactivated link); an existing counter is kept. 0 or ERR_KV.
 */
int readmodel_put(struct app *app, const struct store_url *u, long long clicks) ATTR_WARN_UNUSED;

/* Removes a link. 0 or ERR_KV. */
int readmodel_del(struct app *app, const char *code) ATTR_WARN_UNUSED;

/*
 * Removes a link and returns its click counter in *clicks (-1 when there was no
 * link), atomically, so no click is lost when a link moves to another code.
 * 0 or ERR_KV.
 */
int readmodel_take(struct app *app, const char *code, long long *clicks) ATTR_WARN_UNUSED;

/* 1 when the marker key exists, 0 when not, ERR_KV when Redis is unreachable. */
int readmodel_complete(struct app *app) ATTR_WARN_UNUSED;

/* PING; 0 or ERR_KV. */
int readmodel_ping(struct app *app) ATTR_WARN_UNUSED;

/*
 * Rebuilds the model from PostgreSQL when the marker is missing: takes the
 * read-model advisory lock exclusively in a transaction held open for the
 * rebuild (so no URL write runs meanwhile and only one instance rebuilds;
 * transaction-scoped so that it holds behind a transaction-mode pooler),
 * removes stale links, loads every active URL in pipelined batches, then sets
 * the marker. 0 when the model is complete.
 */
int readmodel_rebuild_if_needed(struct app *app) ATTR_WARN_UNUSED;

/* Starts/stops the thread that checks the marker every cfg.readmodel_check_ms. */
int readmodel_watcher_start(struct app *app) ATTR_WARN_UNUSED;
void readmodel_watcher_stop(struct app *app);

/* This thread's Redis handle (borrowed, see kvthread.h); NULL when out of memory. */
struct kv *readmodel_kv(struct app *app);

#endif
