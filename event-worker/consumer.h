/*
 * consumer.h - the event-worker's consumer: drains the click streams
 * "clicks:{0..nshards-1}" through one consumer group into PostgreSQL.
 *
 * One thread drives it by calling consumer_step() in a loop. Each step reads
 * one batch (XREADGROUP, or XAUTOCLAIM of entries another consumer left
 * pending), derives the analytics fields of each click (derive.c), writes it
 * in one transaction (sink_pg), adds the visitors to their HyperLogLogs
 * (hll.c), and only after that acknowledges the entries (XACK) and trims each stream below the
 * point every group member may still need (XTRIM MINID, batch.c; DECISIONS P5). Entries that
 * cannot be stored are moved to the dead-letter stream RKEYS_DEAD_STREAM. After any Redis or
 * PostgreSQL failure the consumer first replays its own pending entries (XREADGROUP ... 0) before
 * it reads new ones; inserts are idempotent (unique stream_id), so a replay never duplicates a
 * click.
 *
 * The counters and health flags in struct consumer_stats are atomics written
 * by the consumer thread only; other threads (the health server) may read
 * them at any time.
 */
#ifndef CONSUMER_H
#define CONSUMER_H

#include <stdatomic.h>

#include "common.h"
#include "metrics.h"

struct kv;
struct db;
struct consumer;
struct derive;

#define RKEYS_DEAD_STREAM   "clicks:dead"
#define CONSUMER_MAX_SHARDS 256

struct consumer_cfg {
    const char *group;     /* the consumer group (CLICKSTREAM_GROUP); borrowed */
    const char *name;      /* this consumer's name in the group; borrowed */
    int nshards;           /* 1..CONSUMER_MAX_SHARDS */
    int batch;             /* COUNT of every XREADGROUP (per shard) and XAUTOCLAIM */
    int block_ms;          /* BLOCK of the XREADGROUP for new entries */
    int claim_idle_ms;     /* XAUTOCLAIM min-idle-time; claims run every claim_idle_ms / 2 */
    long maxlen_dead;      /* approximate MAXLEN of the dead-letter stream; 0 = no cap */
    struct derive *derive; /* the analytics fields (derive.h); borrowed; NULL = none */
    long retention_months; /* click months kept (retention.h); 0 = all */
};

/* Totals since start. Written by the consumer thread; read with atomic_load anywhere. */
struct consumer_stats {
    atomic_ulong batches;  /* batches processed (committed and acknowledged) */
    atomic_ulong read;     /* entries returned by XREADGROUP */
    atomic_ulong claimed;  /* entries taken over with XAUTOCLAIM */
    atomic_ulong inserted; /* rows inserted (replays that hit ON CONFLICT not counted) */
    atomic_ulong acked;    /* entries acknowledged (XACK said so) */
    atomic_ulong dead;     /* entries moved to the dead-letter stream */
    atomic_ulong gone;     /* pending entries whose data was deleted before we stored them */
    atomic_ulong errors;   /* failed steps (each followed by a back-off and a replay) */
    atomic_int db_ok;      /* 1 when the last PostgreSQL operation succeeded */
    atomic_int kv_ok;      /* 1 when the last Redis operation succeeded */
    atomic_int group_ok;   /* 1 while the consumer group is known to exist on every shard */
    atomic_llong
        step_ms;         /* timefmt_mono_ms() when the last step ended (or the consumer was made) */
    atomic_long pending; /* the group's pending entries over all shards; -1 until known */
    atomic_long lag;     /* entries not yet delivered to the group; -1 until known */
    atomic_long shard_pending[CONSUMER_MAX_SHARDS]; /* the same per shard; -1 until known */
    atomic_long shard_lag[CONSUMER_MAX_SHARDS];
    struct metrics_hist batch_size;    /* entries per committed batch */
    struct metrics_hist batch_seconds; /* time from read to acknowledgement */
};

/*
 * A new consumer. cfg is copied (its strings are borrowed and must outlive the
 * consumer); kv and db are borrowed and used by the consumer thread only (the
 * kv handle's timeout must exceed cfg->block_ms). Nothing is connected yet.
 * NULL when out of memory or when cfg is out of range.
 */
struct consumer *consumer_new(const struct consumer_cfg *cfg, struct kv *kv, struct db *db);

/* Frees the consumer (not kv and db). Accepts NULL. */
void consumer_free(struct consumer *c);

/*
 * Runs one step: (re)creates the groups when needed, claims idle entries when
 * it is time, reads and processes one batch, refreshes the stats about once a
 * second. Returns how long the caller should wait before the next step, in
 * milliseconds: 0 after a success, the back-off delay (100 ms doubling to 5 s)
 * after a failure, which has been logged. A step that returns has finished its
 * batch; blocking time is bounded by cfg->block_ms plus the kv timeout.
 */
int consumer_step(struct consumer *c);

/* Logs the totals since start (one info line); main calls it once, at shutdown. */
void consumer_log_totals(struct consumer *c);

/* The consumer's stats (borrowed, valid until consumer_free; read them with atomic_load). */
struct consumer_stats *consumer_stats(struct consumer *c);

#endif
