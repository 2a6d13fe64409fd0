/*
 * retention.h - the monthly partitions of `events` (schema/008_events_partitioned.sql):
 * created ahead, and the click months older than EVENT_RETENTION_MONTHS dropped whole (the
 * rollups keep their counts; API events are in events_api and never dropped).
 */
#ifndef RETENTION_H
#define RETENTION_H

#include "common.h"

struct db;

#define RETENTION_AHEAD_MONTHS 2               /* partitions exist up to this many months on */
#define RETENTION_EVERY_MS     (3600LL * 1000) /* how often the worker runs it */
#define RETENTION_RETRY_MS     (60LL * 1000)   /* after a failure */

/*
 * Creates the partitions of this month and the next RETENTION_AHEAD_MONTHS (a no-op for the
 * existing ones) and, when keep_months > 0, drops the click partitions that ended more than
 * keep_months whole months before this one. db is borrowed, no transaction open (each call
 * commits on its own). *made and *dropped get the counts. Returns 0 or the ERR_DB/ERR_TIMEOUT
 * of db_exec (detail on the handle); safe to retry, and to run from several workers at once.
 */
int retention_run(struct db *db, long keep_months, int *made, int *dropped) ATTR_WARN_UNUSED;

#endif
