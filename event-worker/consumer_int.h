/*
 * consumer_int.h - the consumer's state, shared by its parts (private to event-worker):
 *   consumer.c  set-up, reading (XREADGROUP) and claiming (XAUTOCLAIM), the step;
 *   batch.c     one batch: parse, derive, insert, dead-letter, acknowledge, trim;
 *   monitor.c   pending/lag snapshots, summary lines, totals.
 * Everything here is used by the consumer thread only.
 */
#ifndef CONSUMER_INT_H
#define CONSUMER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "backoff.h"
#include "consumer.h"
#include "rkeys.h"

struct redisReply;
struct clickdict;

#define CONSUMER_ERR_MAX 512

struct consumer_entry {
    unsigned shard;
    const char *id;            /* the entry id; borrowed from the reply */
    struct redisReply *fields; /* borrowed from the reply; NULL when the entry's data was deleted */
};

/* The entries of one read; the array is owned, the strings borrowed from the reply. */
struct consumer_batch {
    struct consumer_entry *e;
    size_t n, cap;
};

/* What happened since the last summary line. */
struct consumer_window {
    unsigned long batches, read, claimed, inserted, acked, dead, gone;
    int64_t ms;
};

struct consumer {
    struct consumer_cfg cfg;
    struct kv *kv;           /* borrowed */
    struct db *db;           /* borrowed */
    struct clickdict *dict;  /* owned: the click dictionaries' cache (clickdict.h) */
    char (*keys)[RKEYS_MAX]; /* owned: "clicks:{s}" for every shard */
    char count[24], block[24], idle[24], maxlen[24];
    int ready;    /* 1 once the groups exist (redone after any Redis failure) */
    int replay;   /* 1 while our own pending entries must be drained first */
    int failures; /* consecutive failed steps */
    int64_t next_claim_ms, next_snapshot_ms, next_report_ms, last_db_ms, next_partition_ms;
    struct backoff backoff;
    struct consumer_window win;
    struct consumer_stats stats;
    char errmsg[CONSUMER_ERR_MAX]; /* what the failing step logs */
};

/* Errors: each fills c->errmsg and returns the code the step fails with. */
int consumer_kv_fail(struct consumer *c, const char *what);
int consumer_db_fail(struct consumer *c, const char *what, int rc);
int consumer_nomem(struct consumer *c);

/*
 * Reads the n replies of a pipeline, all of them even after an error reply
 * (or the next command would read a stale one). An error reply that `ok`
 * accepts (it gets the error text) does not count. Replies go to each(),
 * which may be NULL. 0 or the consumer_kv_fail() of the first failure.
 */
int consumer_replies(struct consumer *c, size_t n, const char *what, int (*ok)(const char *err),
                     void (*each)(void *, size_t, struct redisReply *), void *arg);

/* batch.c: parses, stores, dead-letters and acknowledges the entries of b (borrowed). */
int consumer_process(struct consumer *c, struct consumer_batch *b, int claimed);

/* monitor.c: refreshes pending and lag, pings an idle PostgreSQL now and then. */
void consumer_snapshot(struct consumer *c, int64_t now);

/* monitor.c: at most one summary line per second, none while idle. */
void consumer_report(struct consumer *c, int64_t now);

#endif
