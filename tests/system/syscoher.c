/*
 * syscoher.c - the near-cache coherence tool of the system suite (see syscoher.h).
 */
#include "syscoher.h"

#include <arpa/inet.h>
#include <errno.h>
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

#include <jansson.h>

#include "../e2e/httpc.h"
#include "common.h"

#include "banned.h"

#define COH_MAX_URLS     4
#define COH_MAX_LINKS    32
#define COH_MAX_CONNS    256
#define COH_MAX_HIST     256   /* states per code */
#define COH_ANS_PER_CONN 16384 /* answers kept per connection */
#define COH_BUF          8192
#define COH_WARM_MS      2000
#define COH_TAIL_MS      1000
#define COH_WRITE_GAP_MS 15

/* What a code answers: 302 and a hash of the Location, or 404 (loc 0). */
struct coh_state {
    int status;
    uint64_t loc;
};

/* A write as one code sees it. */
struct coh_event {
    int64_t start, ack; /* ns: the write was sent, its answer arrived */
    struct coh_state st;
};

struct coh_code {
    char code[40];
    int link;
    struct coh_state init;
    struct coh_event hist[COH_MAX_HIST]; /* the writer's only; read after the join */
    size_t nhist;
};

struct coh_ans {
    int64_t ts, tr;
    uint64_t loc;
    uint16_t code;
    int16_t status;
};

struct coh;

struct coh_conn {
    struct coh *co;
    int idx, fd;
    unsigned seed;
    char buf[COH_BUF];
    size_t len;
    struct coh_ans *ans; /* COH_ANS_PER_CONN */
    size_t nans;
    long answered, errors, clicks;
};

struct coh_link {
    long long id;
    int cur;     /* 0: code a, 1: code b */
    int version; /* of its URL */
    int active;
};

struct coh {
    const char *redirect[COH_MAX_URLS], *write[COH_MAX_URLS];
    struct sockaddr_in raddr[COH_MAX_URLS];
    int nredirect, nwrite, nlinks, conns, rounds;
    const char *tag;
    struct coh_link links[COH_MAX_LINKS];
    struct coh_code codes[2 * COH_MAX_LINKS];
    atomic_int stop;
    long writes, write_errors;
};

static int64_t coh_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void coh_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static uint64_t coh_hash(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h | 1; /* never 0, the 404's */
}

static void coh_url(char *out, size_t max, const struct coh *co, int link, int version)
{
    snprintf(out, max, "https://coh.example/%s/l%d/v%d", co->tag, link, version);
}

/* ------------------------------------------------------------------------ */
/* The load: keep-alive GETs                                                 */
/* ------------------------------------------------------------------------ */

static int coh_fill(struct coh_conn *c)
{
    if (c->len == sizeof(c->buf))
        return -1;
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    if (n > 0)
        c->len += (size_t)n;
    return n > 0 ? 0 : -1;
}

/* One answer: its status and Location hash (0 when none); 0 or -1 (connection unusable). */
static int coh_read_answer(struct coh_conn *c, int *status, uint64_t *loc)
{
    char *hend;
    while (!(hend = memmem(c->buf, c->len, "\r\n\r\n", 4)))
        if (coh_fill(c))
            return -1;
    size_t hlen = (size_t)(hend - c->buf) + 4, clen = 0;
    if (hlen < 12 || memcmp(c->buf, "HTTP/1.1 ", 9) != 0)
        return -1;
    *status = (int)strtol(c->buf + 9, NULL, 10);
    *loc = 0;
    for (char *p = memmem(c->buf, hlen, "\r\n", 2) + 2; p < hend;) {
        char *eol = memmem(p, (size_t)(hend + 2 - p), "\r\n", 2);
        if (strncasecmp(p, "Location: ", 10) == 0)
            *loc = coh_hash(p + 10, (size_t)(eol - p - 10));
        else if (strncasecmp(p, "Content-Length: ", 16) == 0)
            clen = strtoul(p + 16, NULL, 10);
        p = eol + 2;
    }
    if (clen > sizeof(c->buf))
        return -1;
    while (c->len < hlen + clen)
        if (coh_fill(c))
            return -1;
    memmove(c->buf, c->buf + hlen + clen, c->len - hlen - clen);
    c->len -= hlen + clen;
    return 0;
}

static int coh_connect(struct coh_conn *c)
{
    const struct sockaddr_in *a = &c->co->raddr[c->idx % c->co->nredirect];
    struct timeval tv = {5, 0};
    int one = 1;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    c->len = 0;
    if (connect(c->fd, (const struct sockaddr *)a, sizeof(*a)) != 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    return 0;
}

/* One GET of a random code, recorded. */
static void coh_request(struct coh_conn *c)
{
    struct coh *co = c->co;
    int k = (int)(rand_r(&c->seed) % (unsigned)(2 * co->nlinks)), status = 0;
    uint64_t loc = 0;
    char req[256];
    if (c->fd < 0 && coh_connect(c)) {
        c->errors++;
        coh_sleep_ms(10);
        return;
    }
    int n = snprintf(req, sizeof(req),
                     "GET /%s HTTP/1.1\r\nHost: coh\r\n"
                     "User-Agent: coh/1\r\nReferer: https://ref.example/x\r\n\r\n",
                     co->codes[k].code);
    int64_t ts = coh_now();
    if (send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n || coh_read_answer(c, &status, &loc)) {
        c->errors++;
        close(c->fd);
        c->fd = -1;
        return;
    }
    int64_t tr = coh_now();
    c->answered++;
    if (status != 302 && status != 404)
        c->errors++;
    c->clicks += status == 302;
    if (c->nans < COH_ANS_PER_CONN)
        c->ans[c->nans++] = (struct coh_ans){
            .ts = ts, .tr = tr, .loc = loc, .code = (uint16_t)k, .status = (int16_t)status};
}

static void *coh_thread(void *arg)
{
    struct coh_conn *c = arg;
    while (!atomic_load(&c->co->stop))
        coh_request(c);
    if (c->fd >= 0)
        close(c->fd);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* The writer                                                                */
/* ------------------------------------------------------------------------ */

/* One write; its answer's status, or -1. *start and *ack get its times. */
static int coh_call(struct coh *co, const char *method, const char *path, const char *body,
                    json_t **out, int64_t *start, int64_t *ack)
{
    static const char *const hdr[] = {"Content-Type: application/json", NULL};
    struct httpc_req rq = {.method = method,
                           .path = path,
                           .headers = hdr,
                           .body = body,
                           .body_len = body ? strlen(body) : 0};
    struct httpc_resp resp;
    *start = coh_now();
    int rc = httpc_request(co->write[co->writes++ % (long)co->nwrite], &rq, &resp);
    *ack = coh_now();
    if (rc)
        return -1;
    int status = resp.status;
    if (out)
        *out = json_loads(resp.body ? resp.body : "", 0, NULL);
    httpc_resp_release(&resp);
    return status;
}

/* Appends the state a write left to code k. */
static void coh_record(struct coh *co, int k, int64_t start, int64_t ack, int status,
                       const char *url)
{
    struct coh_code *cc = &co->codes[k];
    if (cc->nhist == COH_MAX_HIST)
        return;
    cc->hist[cc->nhist++] =
        (struct coh_event){.start = start,
                           .ack = ack,
                           .st = {.status = status, .loc = url ? coh_hash(url, strlen(url)) : 0}};
}

static int coh_create(struct coh *co)
{
    for (int i = 0; i < co->nlinks; i++) {
        char body[512], url[200];
        json_t *j = NULL;
        int64_t s, a;
        coh_url(url, sizeof(url), co, i, 0);
        snprintf(body, sizeof(body), "{\"original_url\":\"%s\",\"short_code\":\"%s\"}", url,
                 co->codes[2 * i].code);
        int st = coh_call(co, "POST", "/urls", body, &j, &s, &a);
        json_t *id = j ? json_object_get(j, "id") : NULL;
        if (st != 201 || !json_is_integer(id)) {
            fprintf(stderr, "systest coherence: cannot create link %d (status %d)\n", i, st);
            json_decref(j);
            return -1;
        }
        co->links[i] = (struct coh_link){.id = json_integer_value(id), .active = 1};
        co->codes[2 * i].init = (struct coh_state){302, coh_hash(url, strlen(url))};
        co->codes[2 * i + 1].init = (struct coh_state){404, 0};
        json_decref(j);
    }
    return 0;
}

/* Write op (0 change URL, 1 deactivate, 2 reactivate, 3 move, 4 delete) on link i. */
static void coh_write(struct coh *co, int i, int op)
{
    struct coh_link *l = &co->links[i];
    char path[64], body[512], url[200];
    int64_t s, a;
    int k = 2 * i + l->cur, st;
    snprintf(path, sizeof(path), "/urls/%lld", l->id);
    coh_url(url, sizeof(url), co, i, op == 0 ? l->version + 1 : l->version);
    if (op == 0)
        snprintf(body, sizeof(body), "{\"original_url\":\"%s\"}", url);
    else if (op == 1 || op == 2)
        snprintf(body, sizeof(body), "{\"is_active\":%s}", op == 1 ? "false" : "true");
    else if (op == 3)
        snprintf(body, sizeof(body), "{\"short_code\":\"%s\"}", co->codes[2 * i + !l->cur].code);
    st = coh_call(co, op == 4 ? "DELETE" : "PUT", path, op == 4 ? NULL : body, NULL, &s, &a);
    if (st != (op == 4 ? 204 : 200)) {
        co->write_errors++;
        fprintf(stderr, "systest coherence: write %d on link %d answered %d\n", op, i, st);
        return;
    }
    if (op == 0)
        l->version++;
    if (op == 1 || op == 2)
        l->active = op == 2;
    if (op == 3) {
        coh_record(co, k, s, a, 404, NULL);
        l->cur = !l->cur;
        k = 2 * i + l->cur;
    }
    coh_record(co, k, s, a, l->active && op != 4 ? 302 : 404, l->active && op != 4 ? url : NULL);
}

static void coh_writer(struct coh *co)
{
    for (int r = 0; r < co->rounds; r++) {
        for (int op = 0; op < 4; op++) {
            for (int i = 0; i < co->nlinks; i++) {
                coh_write(co, i, op);
                coh_sleep_ms(COH_WRITE_GAP_MS);
            }
        }
    }
    for (int i = 0; i < co->nlinks; i++)
        coh_write(co, i, 4);
}

/* ------------------------------------------------------------------------ */
/* The check                                                                 */
/* ------------------------------------------------------------------------ */

static int coh_same(const struct coh_state *a, int status, uint64_t loc)
{
    return a->status == status && (status != 302 || a->loc == loc);
}

/* 1 when answer x is stale: see syscoher.h. */
static int coh_stale(const struct coh *co, const struct coh_ans *x)
{
    const struct coh_code *cc = &co->codes[x->code];
    size_t j0 = 0; /* states before index j0 were replaced before the request was sent */
    for (size_t j = 0; j < cc->nhist; j++)
        if (cc->hist[j].ack < x->ts)
            j0 = j + 1;
    if (j0 == 0 && coh_same(&cc->init, x->status, x->loc))
        return 0;
    if (j0 > 0 && coh_same(&cc->hist[j0 - 1].st, x->status, x->loc))
        return 0;
    for (size_t j = j0; j < cc->nhist && cc->hist[j].start < x->tr; j++)
        if (coh_same(&cc->hist[j].st, x->status, x->loc))
            return 0;
    return 1;
}

static void coh_report(struct coh *co, struct coh_conn *conns)
{
    long answers = 0, checked = 0, stale = 0, errors = 0, clicks = 0;
    for (int c = 0; c < co->conns; c++) {
        answers += conns[c].answered;
        errors += conns[c].errors;
        clicks += conns[c].clicks;
        for (size_t i = 0; i < conns[c].nans; i++, checked++) {
            const struct coh_ans *x = &conns[c].ans[i];
            if (x->status != 302 && x->status != 404)
                continue;
            if (coh_stale(co, x) && stale++ < 5)
                fprintf(stderr,
                        "systest coherence: STALE /%s answered %d (sent at %.3f ms, monotonic; "
                        "answered %.3f ms later)\n",
                        co->codes[x->code].code, x->status, (double)x->ts / 1e6,
                        (double)(x->tr - x->ts) / 1e6);
        }
    }
    printf("answers %ld\nchecked %ld\nstale %ld\nerrors %ld\nwrites %ld\nwrite_errors %ld\n",
           answers, checked, stale, errors, co->writes, co->write_errors);
    printf("url_ids ");
    for (int i = 0; i < co->nlinks; i++)
        printf("%s%lld", i ? "," : "", co->links[i].id);
    printf("\nclicks %ld\n", clicks);
    fflush(stdout);
}

/* ------------------------------------------------------------------------ */
/* Arguments and the run                                                     */
/* ------------------------------------------------------------------------ */

static int coh_addr(const char *url, struct sockaddr_in *a)
{
    char host[64];
    unsigned port = 0;
    if (sscanf(url, "http://%63[0-9.]:%u", host, &port) != 2 || port == 0 || port > 65535)
        return -1;
    *a = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

static int coh_args(struct coh *co, int argc, char **argv)
{
    co->nlinks = 8;
    co->conns = 200;
    co->rounds = 3;
    co->tag = "coh";
    for (int i = 0; i + 1 < argc; i += 2) {
        const char *o = argv[i], *v = argv[i + 1];
        if (strcmp(o, "--redirect") == 0 && co->nredirect < COH_MAX_URLS) {
            if (coh_addr(v, &co->raddr[co->nredirect]))
                return -1;
            co->redirect[co->nredirect++] = v;
        } else if (strcmp(o, "--write") == 0 && co->nwrite < COH_MAX_URLS) {
            co->write[co->nwrite++] = v;
        } else if (strcmp(o, "--links") == 0) {
            co->nlinks = (int)strtol(v, NULL, 10);
        } else if (strcmp(o, "--connections") == 0) {
            co->conns = (int)strtol(v, NULL, 10);
        } else if (strcmp(o, "--rounds") == 0) {
            co->rounds = (int)strtol(v, NULL, 10);
        } else if (strcmp(o, "--tag") == 0 && strlen(v) <= 16) {
            co->tag = v;
        } else {
            return -1;
        }
    }
    if (argc % 2 || !co->nredirect || !co->nwrite || co->nlinks < 1 || co->nlinks > COH_MAX_LINKS ||
        co->conns < 1 || co->conns > COH_MAX_CONNS || co->rounds < 1 || co->rounds > 50)
        return -1;
    for (int i = 0; i < co->nlinks; i++) {
        snprintf(co->codes[2 * i].code, sizeof(co->codes[0].code), "%sl%da", co->tag, i);
        snprintf(co->codes[2 * i + 1].code, sizeof(co->codes[0].code), "%sl%db", co->tag, i);
        co->codes[2 * i].link = co->codes[2 * i + 1].link = i;
    }
    return 0;
}

int syscoher_main(int argc, char **argv)
{
    struct coh *co = calloc(1, sizeof(*co));
    struct coh_conn *conns = NULL;
    pthread_t *th = NULL;
    int started = 0, rc = 1;
    if (!co)
        return 1;
    if (coh_args(co, argc, argv)) {
        fprintf(stderr, "usage: systest coherence --redirect URL [--redirect URL] --write URL "
                        "[--write URL] [--links N] [--connections C] [--rounds R] [--tag T]\n");
        free(co);
        return 2;
    }
    conns = calloc((size_t)co->conns, sizeof(*conns));
    th = calloc((size_t)co->conns, sizeof(*th));
    if (!conns || !th || coh_create(co))
        goto out;
    for (int i = 0; i < co->conns; i++) {
        conns[i] = (struct coh_conn){.co = co, .idx = i, .fd = -1, .seed = 7919u * (unsigned)i};
        conns[i].ans = malloc(COH_ANS_PER_CONN * sizeof(*conns[i].ans));
        if (!conns[i].ans || pthread_create(&th[i], NULL, coh_thread, &conns[i]) != 0)
            break;
        started++;
    }
    if (started == co->conns) {
        coh_sleep_ms(COH_WARM_MS);
        coh_writer(co);
        coh_sleep_ms(COH_TAIL_MS);
        rc = 0;
    }
    atomic_store(&co->stop, 1);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (rc == 0)
        coh_report(co, conns);
out:
    for (int i = 0; conns && i < co->conns; i++)
        free(conns[i].ans);
    free(conns);
    free(th);
    free(co);
    return rc;
}
