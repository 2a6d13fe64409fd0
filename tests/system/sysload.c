/*
 * sysload.c - the system suite's load tool (see sysload.h).
 */
#include "sysload.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#include "banned.h"

#define SYSLOAD_MAX_TARGETS 16
#define SYSLOAD_MAX_CONNS   256
#define SYSLOAD_MAX_STATUS  600
#define SYSLOAD_BUF         16384

enum sysload_err {
    SYSLOAD_E_CONNECT,
    SYSLOAD_E_SEND,
    SYSLOAD_E_RECV,
    SYSLOAD_E_PARSE,
    SYSLOAD_E_N
};

static const char *const sysload_err_names[SYSLOAD_E_N] = {"connect", "send", "receive", "parse"};

struct sysload_target {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char hostport[128]; /* for the Host header */
};

struct sysload_path {
    char *code; /* points into the --paths copy */
    atomic_long expected, other, errors;
};

struct sysload {
    struct sysload_target targets[SYSLOAD_MAX_TARGETS];
    int ntargets;
    char *paths_copy;           /* owned */
    struct sysload_path *paths; /* owned, npaths */
    int npaths;
    long requests; /* 0: --seconds mode */
    long seconds;
    int conns;
    long rate;
    const char *progress;
    int expect;
    int timeout_ms;
    int64_t t0_ns, deadline_ns;
    atomic_long next, finished, answered, errors, unexpected, max_latency_us;
    atomic_long status[SYSLOAD_MAX_STATUS];
    atomic_int reported[SYSLOAD_E_N];
    atomic_int done_threads;
};

/* One connection, owned by one thread. */
struct sysload_conn {
    struct sysload *ld;
    int idx;
    int fd;
    size_t len;
    char buf[SYSLOAD_BUF];
};

static int64_t sysload_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------------------ */
/* Arguments                                                                 */
/* ------------------------------------------------------------------------ */

static int sysload_long(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return ERR_INVALID;
    *out = v;
    return 0;
}

/* Parses "http://HOST:PORT[/]" into a socket address (getaddrinfo, IPv4 or IPv6). */
static int sysload_target_parse(const char *url, struct sysload_target *t)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    char host[96], port[16];
    const char *hp, *colon;
    size_t n;

    if (strncmp(url, "http://", 7) != 0)
        return ERR_INVALID;
    hp = url + 7;
    n = strcspn(hp, "/");
    colon = memrchr(hp, ':', n);
    if (!colon || (size_t)(colon - hp) >= sizeof(host) || n - (size_t)(colon - hp) > sizeof(port))
        return ERR_INVALID;
    snprintf(host, sizeof(host), "%.*s", (int)(colon - hp), hp);
    snprintf(port, sizeof(port), "%.*s", (int)(n - (size_t)(colon - hp) - 1), colon + 1);
    snprintf(t->hostport, sizeof(t->hostport), "%.*s", (int)n, hp);
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
        return ERR_INVALID;
    memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
    t->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int sysload_paths_parse(struct sysload *ld, const char *list)
{
    char *save = NULL, *tok;
    int n = 1;

    ld->paths_copy = strdup(list);
    if (!ld->paths_copy)
        return ERR_NOMEM;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    ld->paths = calloc((size_t)n, sizeof(*ld->paths));
    if (!ld->paths)
        return ERR_NOMEM;
    for (tok = strtok_r(ld->paths_copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        ld->paths[ld->npaths++].code = tok;
    return ld->npaths ? 0 : ERR_INVALID;
}

static void sysload_usage(void)
{
    fprintf(stderr,
            "usage: systest load --url http://HOST:PORT [--url ...] --paths CODE[,CODE...]\n"
            "       (--requests N | --seconds S) [--connections C] [--rate R]\n"
            "       [--progress FILE] [--expect STATUS] [--timeout-ms MS]\n");
}

static int sysload_args(struct sysload *ld, int argc, char **argv)
{
    long v;

    ld->conns = 8;
    ld->expect = 302;
    ld->timeout_ms = 10000;
    for (int i = 0; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;

        if (!val)
            return ERR_INVALID;
        i++;
        if (strcmp(opt, "--url") == 0) {
            if (ld->ntargets == SYSLOAD_MAX_TARGETS)
                return ERR_INVALID;
            rc = sysload_target_parse(val, &ld->targets[ld->ntargets++]);
        } else if (strcmp(opt, "--paths") == 0) {
            rc = ld->paths ? ERR_INVALID : sysload_paths_parse(ld, val);
        } else if (strcmp(opt, "--requests") == 0) {
            rc = sysload_long(val, 1, 100000000, &ld->requests);
        } else if (strcmp(opt, "--seconds") == 0) {
            rc = sysload_long(val, 1, 3600, &ld->seconds);
        } else if (strcmp(opt, "--connections") == 0) {
            if ((rc = sysload_long(val, 1, SYSLOAD_MAX_CONNS, &v)) == 0)
                ld->conns = (int)v;
        } else if (strcmp(opt, "--rate") == 0) {
            rc = sysload_long(val, 0, 10000000, &ld->rate);
        } else if (strcmp(opt, "--progress") == 0) {
            ld->progress = val;
        } else if (strcmp(opt, "--expect") == 0) {
            if ((rc = sysload_long(val, 100, SYSLOAD_MAX_STATUS - 1, &v)) == 0)
                ld->expect = (int)v;
        } else if (strcmp(opt, "--timeout-ms") == 0) {
            if ((rc = sysload_long(val, 1, 600000, &v)) == 0)
                ld->timeout_ms = (int)v;
        } else {
            rc = ERR_INVALID;
        }
        if (rc) {
            fprintf(stderr, "systest load: bad %s '%s'\n", opt, val);
            return ERR_INVALID;
        }
    }
    if (!ld->ntargets || !ld->paths || (ld->requests > 0) == (ld->seconds > 0))
        return ERR_INVALID;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* One connection                                                            */
/* ------------------------------------------------------------------------ */

static void conn_close(struct sysload_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->len = 0;
}

/* Counts a failed request; the first failure of each kind is described on stderr. */
static void conn_fail(struct sysload_conn *c, struct sysload_path *p, enum sysload_err kind,
                      const char *why)
{
    struct sysload *ld = c->ld;

    atomic_fetch_add(&ld->errors, 1);
    atomic_fetch_add(&p->errors, 1);
    if (atomic_exchange(&ld->reported[kind], 1) == 0)
        fprintf(stderr, "systest load: first %s error (connection %d, /%s): %s\n",
                sysload_err_names[kind], c->idx, p->code, why);
    conn_close(c);
}

static int conn_open(struct sysload_conn *c)
{
    const struct sysload_target *t = &c->ld->targets[c->idx % c->ld->ntargets];
    struct timeval tv = {c->ld->timeout_ms / 1000, (c->ld->timeout_ms % 1000) * 1000};
    int one = 1;

    c->fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return ERR_SYS;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(c->fd, (const struct sockaddr *)&t->addr, t->addrlen) != 0) {
        conn_close(c);
        return ERR_SYS;
    }
    c->len = 0;
    return 0;
}

/* Reads more bytes into the buffer: >0 read, 0 closed by the peer, <0 error or timeout. */
static ssize_t conn_fill(struct sysload_conn *c)
{
    ssize_t n;

    if (c->len == sizeof(c->buf))
        return -1;
    do
        n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        c->len += (size_t)n;
    return n;
}

static void conn_consume(struct sysload_conn *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* Drops n body bytes. 0, or ERR_SYS when the connection ended first. */
static int conn_skip(struct sysload_conn *c, size_t n)
{
    while (n > 0) {
        size_t take;
        if (c->len == 0 && conn_fill(c) <= 0)
            return ERR_SYS;
        take = c->len < n ? c->len : n;
        conn_consume(c, take);
        n -= take;
    }
    return 0;
}

/* Length of the line at the buffer's start including its CRLF, reading more as needed. */
static int conn_line(struct sysload_conn *c, size_t *len)
{
    for (;;) {
        const char *eol = memmem(c->buf, c->len, "\r\n", 2);
        if (eol) {
            *len = (size_t)(eol - c->buf) + 2;
            return 0;
        }
        if (conn_fill(c) <= 0)
            return ERR_SYS;
    }
}

/* A chunked body: chunks, the last chunk, trailers. */
static int conn_skip_chunked(struct sysload_conn *c)
{
    for (;;) {
        size_t len;
        char *end = NULL;
        unsigned long size;

        if (conn_line(c, &len))
            return ERR_SYS;
        errno = 0;
        size = strtoul(c->buf, &end, 16);
        if (errno || end == c->buf)
            return ERR_INVALID;
        conn_consume(c, len);
        if (size == 0)
            break;
        if (conn_skip(c, size + 2))
            return ERR_SYS;
    }
    for (;;) {
        size_t len;
        if (conn_line(c, &len))
            return ERR_SYS;
        conn_consume(c, len);
        if (len == 2)
            return 0;
    }
}

/* Value of header `name` in the header block [head, end), or NULL; *vlen gets its length. */
static const char *conn_header(const char *head, const char *end, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name);

    for (const char *p = head; p < end;) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!eol)
            eol = end;
        if ((size_t)(eol - p) > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
            const char *v = p + nlen + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            *vlen = (size_t)(eol - v);
            return v;
        }
        p = eol + 2;
    }
    return NULL;
}

/*
 * Reads one whole answer and sets *status and *keep (the connection may be reused).
 * 0, ERR_SYS (connection failed or closed early), ERR_INVALID (malformed answer).
 */
static int conn_answer(struct sysload_conn *c, int *status, int *keep, const char **why)
{
    const char *hend, *v;
    size_t hlen, vlen;
    int chunked = 0, have_len = 0;
    unsigned long long clen = 0;

    *why = "connection closed or failed before the whole answer";
    while (!(hend = memmem(c->buf, c->len, "\r\n\r\n", 4))) {
        ssize_t n = conn_fill(c);
        if (n == 0)
            return ERR_SYS;
        if (n < 0) {
            *why = c->len == sizeof(c->buf)                  ? "header block too big"
                   : errno == EAGAIN || errno == EWOULDBLOCK ? "timeout waiting for the answer"
                                                             : strerror(errno);
            return ERR_SYS;
        }
    }
    hlen = (size_t)(hend - c->buf) + 4;
    *why = "malformed status line";
    if (hlen < 12 || memcmp(c->buf, "HTTP/1.", 7) != 0 || c->buf[8] != ' ')
        return ERR_INVALID;
    *status = (c->buf[9] - '0') * 100 + (c->buf[10] - '0') * 10 + (c->buf[11] - '0');
    if (*status < 100 || *status >= SYSLOAD_MAX_STATUS)
        return ERR_INVALID;
    *keep = c->buf[7] == '1';
    if ((v = conn_header(c->buf, hend, "Connection", &vlen)) && vlen == 5 &&
        strncasecmp(v, "close", 5) == 0)
        *keep = 0;
    if ((v = conn_header(c->buf, hend, "Transfer-Encoding", &vlen)) && vlen >= 7 &&
        strncasecmp(v + vlen - 7, "chunked", 7) == 0)
        chunked = 1;
    if (!chunked && (v = conn_header(c->buf, hend, "Content-Length", &vlen))) {
        char num[24], *end = NULL;
        snprintf(num, sizeof(num), "%.*s", (int)(vlen < 23 ? vlen : 23), v);
        errno = 0;
        clen = strtoull(num, &end, 10);
        *why = "bad Content-Length";
        if (errno || end == num || *end)
            return ERR_INVALID;
        have_len = 1;
    }
    conn_consume(c, hlen);
    *why = "connection closed or failed in the body";
    if (*status < 200 || *status == 204 || *status == 304)
        return 0;
    if (chunked)
        return conn_skip_chunked(c);
    if (have_len)
        return conn_skip(c, (size_t)clen);
    /* No framing: the body ends with the connection. */
    while (conn_fill(c) > 0)
        c->len = 0;
    *keep = 0;
    return 0;
}

/* One request on the connection: sends it, reads the answer, counts the result. */
static void conn_request(struct sysload_conn *c, struct sysload_path *p)
{
    struct sysload *ld = c->ld;
    const struct sysload_target *t = &ld->targets[c->idx % ld->ntargets];
    char req[512];
    const char *why = NULL;
    int n, status = 0, keep = 0, rc;
    int64_t start;
    long lat;

    if (c->fd < 0 && conn_open(c) != 0) {
        conn_fail(c, p, SYSLOAD_E_CONNECT, strerror(errno));
        return;
    }
    n = snprintf(req, sizeof(req),
                 "GET /%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: systest-load/1\r\n\r\n", p->code,
                 t->hostport);
    start = sysload_now_ns();
    for (int off = 0; off < n;) {
        ssize_t w = send(c->fd, req + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            conn_fail(c, p, SYSLOAD_E_SEND, strerror(errno));
            return;
        }
        off += (int)w;
    }
    rc = conn_answer(c, &status, &keep, &why);
    if (rc) {
        conn_fail(c, p, rc == ERR_INVALID ? SYSLOAD_E_PARSE : SYSLOAD_E_RECV, why);
        return;
    }
    lat = (long)((sysload_now_ns() - start) / 1000);
    for (long m = atomic_load(&ld->max_latency_us);
         lat > m && !atomic_compare_exchange_weak(&ld->max_latency_us, &m, lat);)
        ;
    atomic_fetch_add(&ld->answered, 1);
    atomic_fetch_add(&ld->status[status], 1);
    if (status == ld->expect) {
        atomic_fetch_add(&p->expected, 1);
    } else {
        atomic_fetch_add(&p->other, 1);
        if (atomic_fetch_add(&ld->unexpected, 1) == 0)
            fprintf(stderr, "systest load: first unexpected answer (connection %d, /%s): %d\n",
                    c->idx, p->code, status);
    }
    if (!keep)
        conn_close(c);
}

static void sysload_sleep_until(int64_t due_ns)
{
    struct timespec ts = {(time_t)(due_ns / 1000000000), (long)(due_ns % 1000000000)};

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static void *sysload_thread(void *arg)
{
    struct sysload_conn *c = arg;
    struct sysload *ld = c->ld;

    for (;;) {
        long k = atomic_fetch_add(&ld->next, 1);
        int64_t due = ld->t0_ns;

        if (ld->requests && k >= ld->requests)
            break;
        if (ld->rate)
            due += (int64_t)((double)k * 1e9 / (double)ld->rate);
        if (ld->seconds && (ld->rate ? due : sysload_now_ns()) >= ld->deadline_ns)
            break;
        if (ld->rate)
            sysload_sleep_until(due);
        conn_request(c, &ld->paths[k % ld->npaths]);
        atomic_fetch_add(&ld->finished, 1);
        /* A refused connect fails at once: do not spin on a dead target. */
        if (c->fd < 0 && !ld->rate)
            sysload_sleep_until(sysload_now_ns() + 1000000);
    }
    conn_close(c);
    atomic_fetch_add(&ld->done_threads, 1);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* The run                                                                   */
/* ------------------------------------------------------------------------ */

static void sysload_progress(const struct sysload *ld)
{
    char tmp[1024];
    FILE *f;

    if (!ld->progress)
        return;
    snprintf(tmp, sizeof(tmp), "%s.tmp", ld->progress);
    f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "%ld\n", atomic_load(&ld->finished));
    if (fclose(f) == 0)
        rename(tmp, ld->progress);
}

static void sysload_report(struct sysload *ld, int64_t elapsed_ns)
{
    printf("requests %ld\n", atomic_load(&ld->finished));
    printf("answered %ld\n", atomic_load(&ld->answered));
    printf("errors %ld\n", atomic_load(&ld->errors));
    printf("unexpected %ld\n", atomic_load(&ld->unexpected));
    for (int s = 0; s < SYSLOAD_MAX_STATUS; s++)
        if (atomic_load(&ld->status[s]))
            printf("status %d %ld\n", s, atomic_load(&ld->status[s]));
    for (int i = 0; i < ld->npaths; i++)
        printf("path %s %ld %ld %ld\n", ld->paths[i].code, atomic_load(&ld->paths[i].expected),
               atomic_load(&ld->paths[i].other), atomic_load(&ld->paths[i].errors));
    printf("elapsed_ms %lld\n", (long long)(elapsed_ns / 1000000));
    printf("max_latency_ms %ld\n", atomic_load(&ld->max_latency_us) / 1000);
    fflush(stdout);
}

int sysload_main(int argc, char **argv)
{
    struct sysload *ld = calloc(1, sizeof(*ld));
    struct sysload_conn *conns = NULL;
    pthread_t *threads = NULL;
    int started = 0, rc = 0;

    if (!ld)
        return 1;
    if (sysload_args(ld, argc, argv) != 0) {
        sysload_usage();
        rc = 2;
        goto out;
    }
    conns = calloc((size_t)ld->conns, sizeof(*conns));
    threads = calloc((size_t)ld->conns, sizeof(*threads));
    if (!conns || !threads) {
        rc = 1;
        goto out;
    }
    ld->t0_ns = sysload_now_ns();
    ld->deadline_ns = ld->t0_ns + (int64_t)ld->seconds * 1000000000;
    sysload_progress(ld);
    for (int i = 0; i < ld->conns; i++) {
        conns[i].ld = ld;
        conns[i].idx = i;
        conns[i].fd = -1;
        if (pthread_create(&threads[i], NULL, sysload_thread, &conns[i]) != 0) {
            fprintf(stderr, "systest load: cannot start thread %d\n", i);
            rc = 1;
            /* The threads already started stop at their next request (--requests mode) or at
             * the deadline (--seconds mode). */
            atomic_store(&ld->next, LONG_MAX / 2);
            break;
        }
        started++;
    }
    while (atomic_load(&ld->done_threads) < started) {
        sysload_progress(ld);
        sysload_sleep_until(sysload_now_ns() + 100000000);
    }
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    sysload_progress(ld);
    sysload_report(ld, sysload_now_ns() - ld->t0_ns);
out:
    free(threads);
    free(conns);
    free(ld->paths);
    free(ld->paths_copy);
    free(ld);
    return rc;
}
