/*
 * kv.c - a hiredis handle with timeouts and reconnect (see kv.h).
 */
#include "kv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "kvcluster.h"
#include "log.h"
#include "timefmt.h"

#include "banned.h"

/*
 * A handle idle for this long checks that Redis did not close the connection
 * meanwhile (restart, idle timeout, failover) before sending: a command sent on
 * a dead socket fails, and a redirect cannot be retried (its click may count).
 */
#define KV_IDLE_CHECK_MS 100

#define KV_READ_CHUNK (16 * 1024) /* bytes read per kv_read_input() */

struct kv {
    struct kvcluster *cl; /* owned: a cluster handle (every call goes there), or NULL */
    char *host;           /* owned */
    int port;
    char *password; /* owned, or NULL */
    long dbnum;
    int timeout_ms;
    redisContext *ctx; /* owned; NULL until connected */
    int broken;
    int inflight;       /* commands appended whose replies were not read yet */
    int64_t last_io_ms; /* monotonic time of the last reply (or of the connect) */
    char errmsg[KV_ERR_MAX];
};

/* Parses redis://[[user]:password@]host[:port][/db] into kv. 0 or ERR_INVALID. */
static int kv_parse_url(struct kv *kv, const char *url)
{
    const char *p = url;
    if (strncmp(p, "redis://", 8) != 0)
        return ERR_INVALID;
    p += 8;
    const char *at = strchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        kv->password = strndup(pw, (size_t)(at - pw));
        if (!kv->password)
            return ERR_NOMEM;
        p = at + 1;
    }
    size_t hlen = strcspn(p, ":/");
    if (hlen == 0)
        return ERR_INVALID;
    kv->host = strndup(p, hlen);
    if (!kv->host)
        return ERR_NOMEM;
    p += hlen;
    kv->port = 6379;
    char *end;
    if (*p == ':') {
        errno = 0;
        long port = strtol(p + 1, &end, 10);
        if (errno || end == p + 1 || port < 1 || port > 65535 || (*end && *end != '/'))
            return ERR_INVALID;
        kv->port = (int)port;
        p = end;
    }
    if (*p == '/' && p[1]) {
        errno = 0;
        kv->dbnum = strtol(p + 1, &end, 10);
        if (errno || *end || kv->dbnum < 0)
            return ERR_INVALID;
    }
    return 0;
}

struct kv *kv_new(const char *url, int timeout_ms)
{
    struct kv *kv = calloc(1, sizeof(*kv));
    if (!kv)
        return NULL;
    kv->timeout_ms = timeout_ms;
    if (strncmp(url, KVCLUSTER_SCHEME, strlen(KVCLUSTER_SCHEME)) == 0) {
        if (!(kv->cl = kvcluster_new(url, timeout_ms))) {
            free(kv);
            return NULL;
        }
        return kv;
    }
    if (kv_parse_url(kv, url) != 0) {
        kv_free(kv);
        return NULL;
    }
    return kv;
}

static void kv_disconnect(struct kv *kv)
{
    if (kv->ctx)
        redisFree(kv->ctx);
    kv->ctx = NULL;
    kv->broken = 0;
    kv->inflight = 0;
}

/*
 * 1 when an idle connection was closed by the peer: a non-blocking peek reads
 * EOF or an error. Data waiting while nothing is in flight would be a protocol
 * desync, so it counts as closed too.
 */
static int kv_peer_closed(const struct kv *kv)
{
    char c;
    ssize_t n = recv(kv->ctx->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

void kv_free(struct kv *kv)
{
    if (!kv)
        return;
    kvcluster_free(kv->cl);
    kv_disconnect(kv);
    free(kv->host);
    free(kv->password);
    free(kv);
}

static void kv_set_error(struct kv *kv, const char *what, const char *detail)
{
    snprintf(kv->errmsg, sizeof(kv->errmsg), "%s: %s", what, detail ? detail : "unknown");
}

/* Runs a command during connect (AUTH/SELECT); 0 or ERR_KV. */
static int kv_setup_command(struct kv *kv, const char *what, int argc, const char **argv)
{
    redisReply *r = redisCommandArgv(kv->ctx, argc, argv, NULL);
    int rc = 0;
    if (!r || r->type == REDIS_REPLY_ERROR) {
        kv_set_error(kv, what, r ? r->str : kv->ctx->errstr);
        rc = ERR_KV;
    }
    if (r)
        freeReplyObject(r);
    return rc;
}

int kv_connect(struct kv *kv)
{
    if (kv->cl)
        return kvcluster_connect(kv->cl);
    if (kv->ctx && !kv->broken) {
        if (kv->inflight || timefmt_mono_ms() - kv->last_io_ms < KV_IDLE_CHECK_MS ||
            !kv_peer_closed(kv))
            return 0;
        log_info("redis closed an idle connection: reconnecting");
    }
    kv_disconnect(kv);
    struct timeval tv = {kv->timeout_ms / 1000, (kv->timeout_ms % 1000) * 1000};
    kv->ctx = redisConnectWithTimeout(kv->host, kv->port, tv);
    if (!kv->ctx || kv->ctx->err) {
        kv_set_error(kv, "connect", kv->ctx ? kv->ctx->errstr : "out of memory");
        goto fail;
    }
    if (redisSetTimeout(kv->ctx, tv) != REDIS_OK) {
        kv_set_error(kv, "set timeout", kv->ctx->errstr);
        goto fail;
    }
    redisEnableKeepAlive(kv->ctx);
    if (kv->password) {
        const char *argv[] = {"AUTH", kv->password};
        if (kv_setup_command(kv, "auth", 2, argv))
            goto fail;
    }
    if (kv->dbnum) {
        char num[24];
        snprintf(num, sizeof(num), "%ld", kv->dbnum);
        const char *argv[] = {"SELECT", num};
        if (kv_setup_command(kv, "select", 2, argv))
            goto fail;
    }
    kv->last_io_ms = timefmt_mono_ms();
    return 0;
fail:
    if (kv->ctx)
        redisFree(kv->ctx);
    kv->ctx = NULL;
    return ERR_KV;
}

/* Checks a reply: NULL means an I/O error (handle broken), an error reply keeps it usable. */
static int kv_check_reply(struct kv *kv, redisReply *r, struct redisReply **out)
{
    if (!r) {
        kv_set_error(kv, "io", kv->ctx->errstr[0] ? kv->ctx->errstr : "connection lost");
        kv->broken = 1;
        return ERR_KV;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        kv_set_error(kv, "reply", r->str);
        freeReplyObject(r);
        kv->last_io_ms = timefmt_mono_ms();
        return ERR_KV;
    }
    kv->last_io_ms = timefmt_mono_ms();
    if (out)
        *out = r;
    else
        freeReplyObject(r);
    return 0;
}

int kv_command(struct kv *kv, int argc, const char **argv, const size_t *lens,
               struct redisReply **out)
{
    if (kv->cl) {
        int rc = kvcluster_append(kv->cl, argc, argv, lens);
        return rc ? rc : kvcluster_read_reply(kv->cl, out);
    }
    int rc = kv_connect(kv);
    if (rc)
        return rc;
    redisReply *r = redisCommandArgv(kv->ctx, argc, argv, lens);
    return kv_check_reply(kv, r, out);
}

int kv_append(struct kv *kv, int argc, const char **argv, const size_t *lens)
{
    if (kv->cl)
        return kvcluster_append(kv->cl, argc, argv, lens);
    int rc = kv_connect(kv);
    if (rc)
        return rc;
    if (redisAppendCommandArgv(kv->ctx, argc, argv, lens) != REDIS_OK) {
        kv_set_error(kv, "append", kv->ctx->errstr);
        kv->broken = 1;
        return ERR_KV;
    }
    kv->inflight++;
    return 0;
}

int kv_read_reply(struct kv *kv, struct redisReply **out)
{
    if (kv->cl)
        return kvcluster_read_reply(kv->cl, out);
    if (!kv->ctx) {
        kv_set_error(kv, "read", "not connected");
        return ERR_KV;
    }
    void *r = NULL;
    if (redisGetReply(kv->ctx, &r) != REDIS_OK)
        r = NULL;
    if (kv->inflight > 0)
        kv->inflight--;
    return kv_check_reply(kv, r, out);
}

int kv_fd(const struct kv *kv)
{
    if (kv->cl)
        return kvcluster_fd(kv->cl);
    return kv->ctx && !kv->broken ? kv->ctx->fd : -1;
}

int kv_send(struct kv *kv)
{
    if (kv->cl)
        return kvcluster_send(kv->cl);
    int done = 0;
    if (!kv->ctx || kv->broken) {
        kv_set_error(kv, "send", "not connected");
        return ERR_KV;
    }
    while (!done) {
        if (redisBufferWrite(kv->ctx, &done) != REDIS_OK) {
            kv_set_error(kv, "send", kv->ctx->errstr);
            kv->broken = 1;
            return ERR_KV;
        }
    }
    return 0;
}

int kv_read_input(struct kv *kv)
{
    if (kv->cl)
        return kvcluster_read_input(kv->cl);
    char buf[KV_READ_CHUNK];
    if (!kv->ctx || kv->broken) {
        kv_set_error(kv, "read", "not connected");
        return ERR_KV;
    }
    ssize_t n = recv(kv->ctx->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    if (n <= 0 || redisReaderFeed(kv->ctx->reader, buf, (size_t)n) != REDIS_OK) {
        kv_set_error(kv, "read", n == 0 ? "connection closed" : n < 0 ? strerror(errno) : "feed");
        kv->broken = 1;
        return ERR_KV;
    }
    return 0;
}

int kv_take_reply(struct kv *kv, struct redisReply **out)
{
    if (kv->cl)
        return kvcluster_take_reply(kv->cl, out);
    void *r = NULL;
    if (!kv->ctx || kv->broken) {
        kv_set_error(kv, "read", "not connected");
        return ERR_KV;
    }
    if (redisGetReplyFromReader(kv->ctx, &r) != REDIS_OK) {
        kv_set_error(kv, "protocol", kv->ctx->errstr);
        kv->broken = 1;
        return ERR_KV;
    }
    if (!r)
        return 0;
    if (kv->inflight > 0)
        kv->inflight--;
    int rc = kv_check_reply(kv, r, out);
    return rc ? rc : 1;
}

void kv_abandon(struct kv *kv, const char *why)
{
    if (kv->cl) {
        kvcluster_abandon(kv->cl, why);
        return;
    }
    kv_set_error(kv, "abandoned", why);
    kv_disconnect(kv);
}

const struct redisReply *kv_reply_field(const struct redisReply *r, const char *name)
{
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && strcmp(r->element[i]->str, name) == 0)
            return r->element[i + 1];
    return NULL;
}

const char *kv_errmsg(const struct kv *kv)
{
    if (kv->cl)
        return kvcluster_errmsg(kv->cl);
    return kv->errmsg;
}

int kv_is_broken(const struct kv *kv)
{
    if (kv->cl)
        return kvcluster_is_broken(kv->cl);
    return kv->broken || !kv->ctx;
}

int kv_append_formatted(struct kv *kv, const char *cmd, size_t len)
{
    int rc = kv->cl ? ERR_INVALID : kv_connect(kv);
    if (rc)
        return rc;
    if (redisAppendFormattedCommand(kv->ctx, cmd, len) != REDIS_OK) {
        kv_set_error(kv, "append", kv->ctx->errstr);
        kv->broken = 1;
        return ERR_KV;
    }
    kv->inflight++;
    return 0;
}

int kv_append_wait(struct kv *kv, int numreplicas, int timeout_ms)
{
    if (kv->cl)
        return kvcluster_append_wait(kv->cl, numreplicas, timeout_ms);
    char nrep[16], ms[24];
    snprintf(nrep, sizeof(nrep), "%d", numreplicas);
    snprintf(ms, sizeof(ms), "%d", timeout_ms);
    const char *argv[] = {"WAIT", nrep, ms};
    return kv_append(kv, 3, argv, NULL);
}

int kv_is_cluster(const struct kv *kv)
{
    return kv->cl != NULL;
}

size_t kv_primaries(struct kv *kv)
{
    return kv->cl ? kvcluster_primaries(kv->cl) : 1;
}

struct kv *kv_primary(struct kv *kv, size_t i)
{
    if (kv->cl)
        return kvcluster_primary(kv->cl, i);
    return i == 0 ? kv : NULL;
}
