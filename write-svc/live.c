/*
 * live.c - the live click feed (see live.h): one reader thread, a ring of rendered
 * Server-Sent Events messages, and clients that are cursors into it.
 *
 * Locking: hub->mu guards the ring, the client list and every client's fields; it is taken
 * before a stream's own lock (http_stream_wake) and never while MHD's locks are held.
 */
#include "live.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "buf.h"
#include "clickstream.h"
#include "http.h"
#include "kv.h"
#include "log.h"
#include "rkeys.h"
#include "timefmt.h"

#include "banned.h"

#define LIVE_ID_MAX    48
#define LIVE_XREAD_MAX "256" /* entries per stream per XREAD */
#define LIVE_HELLO     "retry: 2000\nevent: hello\ndata: {}\n\n"
#define LIVE_PING      ": ping\n\n"

struct live_msg {
    size_t len;
    char text[LIVE_MSG_MAX];
};

struct live_client {
    struct live *hub;       /* borrowed */
    struct http_stream *st; /* borrowed: set by the first read, valid until release */
    uint64_t next;          /* the sequence number of the next message to send */
    int greeted, ping;      /* the hello was sent; a ping is due */
    struct live_client *prev, *nextc;
};

struct live {
    pthread_mutex_t mu;
    struct live_msg *ring; /* owned: LIVE_RING messages */
    uint64_t head;         /* sequence number of the next message written */
    struct live_client *clients;
    long nclients;
    int max_clients;
    int ending; /* 1 once live_stop ran: every read ends its stream */
    unsigned long relayed, skipped, refused;
    /* The reader thread's own state. */
    struct kv *kv; /* owned */
    unsigned nshards;
    char (*keys)[RKEYS_MAX];  /* owned: clicks:{s} */
    char (*ids)[LIVE_ID_MAX]; /* owned: the last id read from each stream */
    const char **argv;        /* owned: the XREAD command */
    int ids_ready;
    pthread_t reader;
    int reader_started;
    atomic_int stopping;
};

/* Appends s[0..n) as a JSON string, cut to at most max bytes on a UTF-8 boundary. */
static int live_json_str(struct buf *b, const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    return buf_append_json_str(b, s ? s : "", n);
}

static const char *live_field(const char *const *fv, size_t n, const char *name)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        if (fv[i] && strcmp(fv[i], name) == 0)
            return fv[i + 1];
    return NULL;
}

static int live_digits(const char *s, size_t max)
{
    size_t n = 0;
    for (; s && s[n]; n++)
        if (s[n] < '0' || s[n] > '9')
            return 0;
    return n > 0 && n <= max;
}

/* The message with the long texts cut to `cut` bytes (0 leaves them out). 0 or ERR_*. */
static int live_render_cut(struct buf *b, unsigned shard, const char *id, const char *const *fv,
                           size_t n, size_t cut)
{
    const char *url_id = live_field(fv, n, CLICKSTREAM_F_URL_ID);
    const char *ts = live_field(fv, n, CLICKSTREAM_F_TS);
    int rc = buf_printf(b, "id: %u:%s\nevent: click\ndata: {\"stream_id\":\"%u:%s\",\"url_id\":%s",
                        shard, id, shard, id, url_id);
    if (!rc)
        rc = buf_printf(b, ",\"ts\":%s,\"short_code\":", live_digits(ts, 18) ? ts : "null");
    if (!rc)
        rc = live_json_str(b, live_field(fv, n, CLICKSTREAM_F_CODE), 64);
    if (!rc)
        rc = buf_puts(b, ",\"original_url\":");
    if (!rc)
        rc = live_json_str(b, cut ? live_field(fv, n, CLICKSTREAM_F_URL) : "", cut);
    if (!rc)
        rc = buf_puts(b, ",\"referrer\":");
    if (!rc)
        rc = live_json_str(b, cut ? live_field(fv, n, CLICKSTREAM_F_REFERRER) : "", cut);
    if (!rc)
        rc = buf_puts(b, ",\"user_agent\":");
    if (!rc)
        rc = live_json_str(b, cut ? live_field(fv, n, CLICKSTREAM_F_AGENT) : "", cut);
    if (!rc)
        rc = buf_puts(b, "}\n\n");
    return rc;
}

size_t live_render(unsigned shard, const char *id, const char *const *fv, size_t n,
                   char out[LIVE_MSG_MAX])
{
    static const size_t cuts[] = {200, 60, 0};
    if (!id || strlen(id) >= LIVE_ID_MAX || strpbrk(id, "\r\n") ||
        !live_digits(live_field(fv, n, CLICKSTREAM_F_URL_ID), 18))
        return 0;
    for (size_t i = 0; i < ARRAY_SIZE(cuts); i++) {
        struct buf b;
        buf_init(&b, LIVE_MSG_MAX - 1);
        int rc = live_render_cut(&b, shard, id, fv, n, cuts[i]);
        size_t len = 0;
        if (!rc) {
            len = b.len;
            memcpy(out, buf_cstr(&b), len);
            out[len] = '\0';
        }
        buf_release(&b);
        if (!rc)
            return len;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Clients                                                                   */
/* ------------------------------------------------------------------------ */

/* Wakes every client that has read at least once. Call with hub->mu held. */
static void live_wake_all(struct live *hub)
{
    for (struct live_client *c = hub->clients; c; c = c->nextc)
        if (c->st)
            http_stream_wake(c->st);
}

struct live_client *live_client_new(struct live *hub)
{
    struct live_client *c = NULL;
    pthread_mutex_lock(&hub->mu);
    if (hub->ending || hub->nclients >= hub->max_clients) {
        hub->refused++;
        goto out;
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        goto out;
    c->hub = hub;
    c->next = hub->head; /* only clicks from now on */
    c->nextc = hub->clients;
    if (hub->clients)
        hub->clients->prev = c;
    hub->clients = c;
    hub->nclients++;
out:
    pthread_mutex_unlock(&hub->mu);
    return c;
}

void live_client_release(void *cls)
{
    struct live_client *c = cls;
    struct live *hub = c->hub;
    pthread_mutex_lock(&hub->mu);
    if (c->prev)
        c->prev->nextc = c->nextc;
    else
        hub->clients = c->nextc;
    if (c->nextc)
        c->nextc->prev = c->prev;
    hub->nclients--;
    pthread_mutex_unlock(&hub->mu);
    free(c);
}

/* Copies s into out[*n..max) when it fits. */
static void live_put(char *out, size_t max, size_t *n, const char *s, size_t len)
{
    if (*n + len > max)
        return;
    memcpy(out + *n, s, len);
    *n += len;
}

long live_client_read(void *cls, struct http_stream *st, char *out, size_t max)
{
    struct live_client *c = cls;
    struct live *hub = c->hub;
    size_t n = 0;
    pthread_mutex_lock(&hub->mu);
    c->st = st;
    if (hub->ending) {
        pthread_mutex_unlock(&hub->mu);
        return HTTP_STREAM_END;
    }
    if (!c->greeted) {
        live_put(out, max, &n, LIVE_HELLO, strlen(LIVE_HELLO));
        c->greeted = n > 0;
    }
    if (hub->head - c->next > LIVE_RING) {
        char gap[96];
        uint64_t lost = hub->head - LIVE_RING - c->next;
        int len = snprintf(gap, sizeof(gap), "event: gap\ndata: {\"skipped\":%llu}\n\n",
                           (unsigned long long)lost);
        live_put(out, max, &n, gap, (size_t)len);
        c->next += lost;
        hub->skipped += lost;
    }
    while (c->next < hub->head) {
        const struct live_msg *m = &hub->ring[c->next % LIVE_RING];
        if (n + m->len > max)
            break;
        live_put(out, max, &n, m->text, m->len);
        c->next++;
        hub->relayed++;
    }
    if (c->ping && n + strlen(LIVE_PING) <= max) {
        live_put(out, max, &n, LIVE_PING, strlen(LIVE_PING));
        c->ping = 0;
    }
    pthread_mutex_unlock(&hub->mu);
    return (long)n;
}

void live_stats_get(struct live *hub, struct live_stats *out)
{
    pthread_mutex_lock(&hub->mu);
    out->clients = hub->nclients;
    out->relayed = hub->relayed;
    out->skipped = hub->skipped;
    out->refused = hub->refused;
    pthread_mutex_unlock(&hub->mu);
}

/* ------------------------------------------------------------------------ */
/* The reader thread                                                         */
/* ------------------------------------------------------------------------ */

/* Sleeps ms, in 50 ms steps, unless the hub stops. */
static void live_nap(struct live *hub, long ms)
{
    for (long slept = 0; slept < ms && !atomic_load(&hub->stopping); slept += 50) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Each stream's last entry id ("0-0" when empty), so that nothing after it is missed. */
static int live_init_ids(struct live *hub)
{
    int rc = 0;
    for (unsigned s = 0; s < hub->nshards && !rc; s++) {
        const char *argv[] = {"XREVRANGE", hub->keys[s], "+", "-", "COUNT", "1"};
        rc = kv_append(hub->kv, 6, argv, NULL);
    }
    for (unsigned s = 0; s < hub->nshards && !rc; s++) {
        redisReply *r = NULL;
        rc = kv_read_reply(hub->kv, &r);
        if (rc)
            break;
        snprintf(hub->ids[s], LIVE_ID_MAX, "0-0");
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
            r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements >= 1 &&
            r->element[0]->element[0]->type == REDIS_REPLY_STRING)
            snprintf(hub->ids[s], LIVE_ID_MAX, "%s", r->element[0]->element[0]->str);
        freeReplyObject(r);
    }
    hub->ids_ready = rc == 0;
    return rc;
}

/* Renders one click (named fields fv[0..n)) into the next ring slot. hub->mu held. */
static void live_push(struct live *hub, unsigned s, const char *id, const char *const *fv, size_t n)
{
    struct live_msg *m = &hub->ring[hub->head % LIVE_RING];
    m->len = live_render(s, id, fv, n, m->text);
    if (m->len)
        hub->head++;
}

/*
 * One packed click of a batched entry (shared/clickstream.h): its values, split in place at
 * CLICKSTREAM_SEP (the reply is ours to cut), become named fields, and its id is the entry's
 * id with "/<index>" (the click's unique id). Malformed ones are skipped: the feed is a view.
 */
static void live_push_packed(struct live *hub, unsigned s, const char *entry_id, size_t idx,
                             char *packed)
{
    static const char *const names[CLICKSTREAM_NVALUES] = {
        CLICKSTREAM_F_URL_ID, CLICKSTREAM_F_USER_ID,  CLICKSTREAM_F_CODE,  CLICKSTREAM_F_URL,
        CLICKSTREAM_F_TS,     CLICKSTREAM_F_REFERRER, CLICKSTREAM_F_AGENT, CLICKSTREAM_F_IP};
    const char *fv[2 * CLICKSTREAM_NVALUES];
    char id[LIVE_ID_MAX];
    size_t k = 0;
    for (char *v = packed; v && k < CLICKSTREAM_NVALUES; k++) {
        char *sep = strchr(v, CLICKSTREAM_SEP);
        if (sep)
            *sep = '\0';
        fv[2 * k] = names[k];
        fv[2 * k + 1] = v;
        v = sep ? sep + 1 : NULL;
    }
    if (k == CLICKSTREAM_NVALUES &&
        snprintf(id, sizeof(id), "%s/%zu", entry_id, idx) < (int)sizeof(id))
        live_push(hub, s, id, fv, 2 * k);
}

/* Appends one entry ([id, [field, value, ...]]) of shard s to the ring. hub->mu held. */
static void live_append_entry(struct live *hub, unsigned s, const redisReply *e)
{
    const char *fv[32];
    size_t n = 0;
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING)
        return;
    const char *id = e->element[0]->str;
    snprintf(hub->ids[s], LIVE_ID_MAX, "%s", id);
    const redisReply *f = e->element[1];
    if (f->type != REDIS_REPLY_ARRAY)
        return;
    /* A batched entry: "b" = n, then "0".."n-1" = the packed clicks. */
    if (f->elements >= 2 && f->element[0]->type == REDIS_REPLY_STRING &&
        strcmp(f->element[0]->str, CLICKSTREAM_F_BATCH) == 0) {
        for (size_t i = 3; i < f->elements; i += 2)
            if (f->element[i]->type == REDIS_REPLY_STRING)
                live_push_packed(hub, s, id, (i - 3) / 2, f->element[i]->str);
        return;
    }
    for (size_t i = 0; i < f->elements && n < ARRAY_SIZE(fv); i++)
        fv[n++] = f->element[i]->type == REDIS_REPLY_STRING ? f->element[i]->str : NULL;
    live_push(hub, s, id, fv, n);
}

/* Appends every entry of an XREAD reply, then wakes the clients once. */
static void live_publish(struct live *hub, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY)
        return;
    pthread_mutex_lock(&hub->mu);
    uint64_t before = hub->head;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *st = r->element[i];
        if (st->type != REDIS_REPLY_ARRAY || st->elements != 2 ||
            st->element[0]->type != REDIS_REPLY_STRING)
            continue;
        int s = rkeys_stream_shard(st->element[0]->str, hub->nshards);
        const redisReply *entries = st->element[1];
        for (size_t j = 0; s >= 0 && entries->type == REDIS_REPLY_ARRAY && j < entries->elements;
             j++)
            live_append_entry(hub, (unsigned)s, entries->element[j]);
    }
    if (hub->head != before)
        live_wake_all(hub);
    pthread_mutex_unlock(&hub->mu);
}

static void live_ping_all(struct live *hub)
{
    pthread_mutex_lock(&hub->mu);
    for (struct live_client *c = hub->clients; c; c = c->nextc)
        c->ping = 1;
    live_wake_all(hub);
    pthread_mutex_unlock(&hub->mu);
}

/* One XREAD BLOCK over every stream from the last ids read. 0 or ERR_KV. */
static int live_read_once(struct live *hub)
{
    unsigned n = hub->nshards;
    for (unsigned s = 0; s < n; s++)
        hub->argv[6 + n + s] = hub->ids[s];
    redisReply *r = NULL;
    int rc = kv_command(hub->kv, 6 + 2 * (int)n, hub->argv, NULL, &r);
    if (rc)
        return rc;
    live_publish(hub, r);
    freeReplyObject(r);
    return 0;
}

static void *live_reader(void *arg)
{
    struct live *hub = arg;
    int64_t next_ping = timefmt_mono_ms() + LIVE_PING_MS;
    int was_ok = 1;
    while (!atomic_load(&hub->stopping)) {
        int rc = hub->ids_ready ? 0 : live_init_ids(hub);
        if (!rc)
            rc = live_read_once(hub);
        if (rc && was_ok)
            log_warn("live feed: cannot read the click streams: %s", kv_errmsg(hub->kv));
        else if (!rc && !was_ok)
            log_info("live feed: reading the click streams again");
        was_ok = rc == 0;
        if (rc)
            live_nap(hub, 500);
        if (timefmt_mono_ms() >= next_ping) {
            live_ping_all(hub);
            next_ping = timefmt_mono_ms() + LIVE_PING_MS;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */
/* ------------------------------------------------------------------------ */

static int live_alloc(struct live *hub, const char *redis_url, unsigned nshards)
{
    hub->ring = calloc(LIVE_RING, sizeof(*hub->ring));
    hub->keys = calloc(nshards, sizeof(*hub->keys));
    hub->ids = calloc(nshards, sizeof(*hub->ids));
    hub->argv = calloc(6 + 2 * (size_t)nshards, sizeof(*hub->argv));
    hub->kv = kv_new(redis_url, LIVE_BLOCK_MS + 2000);
    if (!hub->ring || !hub->keys || !hub->ids || !hub->argv || !hub->kv)
        return ERR_NOMEM;
    static const char *const head[] = {"XREAD", "COUNT", LIVE_XREAD_MAX,
                                       "BLOCK", "1000",  "STREAMS"};
    memcpy(hub->argv, head, sizeof(head));
    for (unsigned s = 0; s < nshards; s++) {
        if (rkeys_stream(s, hub->keys[s]) < 0)
            return ERR_TOO_BIG;
        hub->argv[6 + s] = hub->keys[s];
    }
    return 0;
}

struct live *live_new(const char *redis_url, unsigned nshards, int max_clients)
{
    struct live *hub = calloc(1, sizeof(*hub));
    if (!hub)
        return NULL;
    pthread_mutex_init(&hub->mu, NULL);
    hub->nshards = nshards;
    hub->max_clients = max_clients;
    if (nshards == 0 || live_alloc(hub, redis_url, nshards) != 0 ||
        pthread_create(&hub->reader, NULL, live_reader, hub) != 0) {
        live_free(hub);
        return NULL;
    }
    hub->reader_started = 1;
    return hub;
}

void live_stop(struct live *hub)
{
    if (!hub)
        return;
    pthread_mutex_lock(&hub->mu);
    hub->ending = 1;
    live_wake_all(hub);
    pthread_mutex_unlock(&hub->mu);
    atomic_store(&hub->stopping, 1);
    if (hub->reader_started)
        pthread_join(hub->reader, NULL);
    hub->reader_started = 0;
    /* Give the woken streams a moment to end, so that MHD stops with none parked. */
    for (int i = 0; i < 100; i++) {
        struct live_stats ls;
        live_stats_get(hub, &ls);
        if (ls.clients == 0)
            break;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

void live_free(struct live *hub)
{
    if (!hub)
        return;
    if (hub->reader_started)
        live_stop(hub);
    kv_free(hub->kv);
    free(hub->argv);
    free(hub->ids);
    free(hub->keys);
    free(hub->ring);
    pthread_mutex_destroy(&hub->mu);
    free(hub);
}
