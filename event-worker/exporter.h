/*
 * exporter.h - the event-worker's figures in Prometheus text format: batches,
 * entries read/claimed/persisted/acknowledged/dead-lettered, errors, pending
 * entries and lag per stream shard, batch size and duration histograms, and
 * whether PostgreSQL and Redis answered last time.
 */
#ifndef EXPORTER_H
#define EXPORTER_H

#include "common.h"

struct buf;
struct consumer_stats;

/* Appends the figures of st (nshards shards) to b. 0 or ERR_TOO_BIG/ERR_NOMEM. */
int exporter_write(struct buf *b, struct consumer_stats *st, int nshards) ATTR_WARN_UNUSED;

#endif
