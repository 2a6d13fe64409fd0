/*
 * exporter.c - the event-worker's /metrics figures (see exporter.h).
 */
#include "exporter.h"

#include <stdio.h>

#include "buf.h"
#include "consumer.h"
#include "metrics.h"
#include "rkeys.h"

#include "banned.h"

/* Counters straight from the consumer's totals. */
static int exporter_counters(struct buf *b, struct consumer_stats *st)
{
    const struct {
        const char *name, *help;
        atomic_ulong *v;
    } counters[] = {
        {"shortener_worker_batches_total", "Batches committed and acknowledged.", &st->batches},
        {"shortener_worker_entries_read_total", "Stream entries read with XREADGROUP.", &st->read},
        {"shortener_worker_entries_claimed_total",
         "Stream entries taken over from other consumers (XAUTOCLAIM).", &st->claimed},
        {"shortener_events_persisted_total", "Click rows inserted into PostgreSQL.", &st->inserted},
        {"shortener_worker_entries_acked_total", "Stream entries acknowledged after COMMIT.",
         &st->acked},
        {"shortener_worker_dead_letters_total", "Entries moved to the dead-letter stream.",
         &st->dead},
        {"shortener_worker_entries_gone_total",
         "Pending entries deleted from the stream before they were stored (lost clicks).",
         &st->gone},
        {"shortener_worker_errors_total",
         "Failed steps (PostgreSQL or Redis), each followed by a back-off and a replay.",
         &st->errors},
    };
    int rc = 0;
    for (size_t i = 0; i < ARRAY_SIZE(counters) && rc == 0; i++)
        rc = metrics_single(b, counters[i].name, "counter", counters[i].help,
                            (double)atomic_load(counters[i].v));
    return rc;
}

/* A gauge family with one sample per shard (shards not yet measured are left out). */
static int exporter_per_shard(struct buf *b, const char *name, const char *help, atomic_long *v,
                              int nshards)
{
    int rc = metrics_header(b, name, "gauge", help);
    for (int s = 0; s < nshards && rc == 0; s++) {
        long x = atomic_load(&v[s]);
        char key[RKEYS_MAX], labels[RKEYS_MAX + 16];
        if (x < 0 || rkeys_stream((unsigned)s, key) < 0)
            continue;
        snprintf(labels, sizeof(labels), "stream=\"%s\"", key);
        rc = metrics_sample(b, name, labels, (double)x);
    }
    return rc;
}

int exporter_write(struct buf *b, struct consumer_stats *st, int nshards)
{
    int rc = exporter_counters(b, st);
    if (rc == 0)
        rc = exporter_per_shard(b, "shortener_stream_pending",
                                "Entries delivered to the group and not yet acknowledged.",
                                st->shard_pending, nshards);
    if (rc == 0)
        rc = exporter_per_shard(b, "shortener_stream_lag",
                                "Entries not yet delivered to the consumer group.", st->shard_lag,
                                nshards);
    if (rc == 0)
        rc = metrics_single(b, "shortener_worker_database_up", "gauge",
                            "1 when the last PostgreSQL operation succeeded.",
                            (double)atomic_load(&st->db_ok));
    if (rc == 0)
        rc = metrics_single(b, "shortener_worker_redis_up", "gauge",
                            "1 when the last Redis operation succeeded.",
                            (double)atomic_load(&st->kv_ok));
    if (rc == 0)
        rc = metrics_hist_family(b, "shortener_worker_batch_size",
                                 "Stream entries per committed batch.", &st->batch_size);
    if (rc == 0)
        rc = metrics_hist_family(b, "shortener_worker_batch_duration_seconds",
                                 "Time from reading a batch to acknowledging it.",
                                 &st->batch_seconds);
    return rc;
}
