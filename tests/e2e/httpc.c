/*
 * httpc.c - a tiny blocking HTTP/1.1 client for the end-to-end tests (see httpc.h).
 *
 * The exchange is one poll() loop: while request bytes remain they are written whenever
 * the socket is writable, and whatever the server sends is read at once. The response is
 * complete when its framing says so (no body, Content-Length, last chunk, or the close of
 * the connection), so a server that answers before reading the whole request is heard.
 */
#include "httpc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

enum framing {
    FRAMING_NONE,    /* HEAD request, 1xx/204/304: no body */
    FRAMING_LENGTH,  /* Content-Length */
    FRAMING_CHUNKED, /* Transfer-Encoding: chunked */
    FRAMING_EOF,     /* the body ends when the server closes */
};

/* A growable byte string, always NUL-terminated when non-empty. */
struct bytes {
    char *p;
    size_t len;
    size_t cap;
};

/* What the reader knows about the response so far. */
struct reader {
    struct bytes in;
    size_t skip;     /* start of the current head (after interim 1xx responses) */
    size_t body_off; /* start of the body; 0 until the final head is parsed */
    enum framing framing;
    size_t length; /* for FRAMING_LENGTH */
    int is_head;   /* the request was HEAD */
    struct httpc_resp *resp;
};

static int bytes_reserve(struct bytes *b, size_t more)
{
    size_t cap;
    char *p;

    if (more > HTTPC_MAX_RESPONSE || b->len + more + 1 > HTTPC_MAX_RESPONSE)
        return ERR_TOO_BIG;
    if (b->len + more + 1 <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    p = realloc(b->p, cap);
    if (!p)
        return ERR_NOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int bytes_add(struct bytes *b, const char *s, size_t n)
{
    int rc = bytes_reserve(b, n);

    if (rc < 0)
        return rc;
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int bytes_addf(struct bytes *b, const char *fmt, ...) ATTR_FORMAT(2, 3);

static int bytes_addf(struct bytes *b, const char *fmt, ...)
{
    va_list ap;
    int n, rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ERR_INVALID;
    rc = bytes_reserve(b, (size_t)n);
    if (rc < 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ms_left(long long deadline)
{
    long long left = deadline - now_ms();

    if (left <= 0)
        return 0;
    return left > 60000 ? 60000 : (int)left;
}

/* Parses "http://HOST:PORT[/]" into an IPv4 socket address and "HOST:PORT" for Host:. */
static int parse_base(const char *url, struct sockaddr_in *sa, char hostport[80])
{
    char host[64];
    const char *p, *colon;
    char *end;
    long port;

    if (strncmp(url, "http://", 7) != 0)
        return ERR_INVALID;
    p = url + 7;
    colon = strchr(p, ':');
    if (!colon || colon == p || (size_t)(colon - p) >= sizeof(host))
        return ERR_INVALID;
    memcpy(host, p, (size_t)(colon - p));
    host[colon - p] = '\0';
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || (*end && strcmp(end, "/") != 0) || port < 1 || port > 65535)
        return ERR_INVALID;
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, strcmp(host, "localhost") ? host : "127.0.0.1", &sa->sin_addr) != 1)
        return ERR_INVALID;
    snprintf(hostport, 80, "%s:%ld", host, port);
    return 0;
}

/* Opens a non-blocking socket and connects it before the deadline; *fd_out on success. */
static int connect_to(const struct sockaddr_in *sa, long long deadline, int *fd_out)
{
    int fd, err = 0, rc = ERR_SYS;
    socklen_t elen = sizeof(err);
    struct pollfd pfd;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ERR_SYS;
    if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
        goto ok;
    if (errno != EINPROGRESS)
        goto fail;
    for (;;) {
        int n;

        pfd.fd = fd;
        pfd.events = POLLOUT;
        pfd.revents = 0;
        n = poll(&pfd, 1, ms_left(deadline));
        if (n > 0)
            break;
        if (n == 0) {
            rc = ERR_TIMEOUT;
            goto fail;
        }
        if (errno != EINTR)
            goto fail;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0)
        goto fail;
ok:
    *fd_out = fd;
    return 0;
fail:
    close(fd);
    return rc;
}

static int build_request(const struct httpc_req *req, const char *hostport, struct bytes *out)
{
    size_t i;
    int rc;

    rc = bytes_addf(out, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", req->method,
                    req->path, hostport);
    for (i = 0; rc == 0 && req->headers && req->headers[i]; i++)
        rc = bytes_addf(out, "%s\r\n", req->headers[i]);
    if (rc == 0 && req->body && !req->raw_body)
        rc = bytes_addf(out, "Content-Length: %zu\r\n", req->body_len);
    if (rc == 0)
        rc = bytes_add(out, "\r\n", 2);
    if (rc == 0 && req->body)
        rc = bytes_add(out, req->body, req->body_len);
    return rc;
}

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        *--e = '\0';
    return s;
}

/* Copies the head p[0..len) (without the final CRLF CRLF) into resp and splits it. */
static int parse_head(const char *p, size_t len, struct httpc_resp *resp)
{
    char *line, *next, *colon;

    resp->head = malloc(len + 1);
    if (!resp->head)
        return ERR_NOMEM;
    memcpy(resp->head, p, len);
    resp->head[len] = '\0';
    line = resp->head;
    if (strlen(line) != len || strncmp(line, "HTTP/1.", 7) != 0 ||
        !isdigit((unsigned char)line[7]) || line[8] != ' ' || !isdigit((unsigned char)line[9]) ||
        !isdigit((unsigned char)line[10]) || !isdigit((unsigned char)line[11]) ||
        (line[12] != ' ' && line[12] != '\r' && line[12] != '\0'))
        return ERR_INVALID;
    resp->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    next = strstr(line, "\r\n"); /* the end of the status line */
    while (next) {
        *next = '\0'; /* Ends the previous line (already done after the first pass). */
        line = next + 2;
        next = strstr(line, "\r\n");
        if (next)
            *next = '\0';
        colon = strchr(line, ':');
        if (!colon || colon == line || resp->nheaders == HTTPC_MAX_HEADERS)
            return ERR_INVALID;
        *colon = '\0';
        resp->hdr[resp->nheaders].name = line;
        resp->hdr[resp->nheaders].value = trim(colon + 1);
        resp->nheaders++;
    }
    return 0;
}

/* Decides how the body is framed from the parsed head. */
static int pick_framing(struct reader *r)
{
    const char *te = httpc_header(r->resp, "Transfer-Encoding");
    const char *cl = httpc_header(r->resp, "Content-Length");
    int status = r->resp->status;
    char *end;
    unsigned long long n;
    size_t tl;

    if (r->is_head || status == 204 || status == 304) {
        r->framing = FRAMING_NONE;
        return 0;
    }
    if (te) {
        tl = strlen(te);
        if (tl < 7 || strcasecmp(te + tl - 7, "chunked") != 0)
            return ERR_INVALID;
        r->framing = FRAMING_CHUNKED;
        return 0;
    }
    if (cl) {
        if (!isdigit((unsigned char)cl[0]))
            return ERR_INVALID;
        errno = 0;
        n = strtoull(cl, &end, 10);
        if (errno || *end || n > HTTPC_MAX_RESPONSE)
            return ERR_INVALID;
        r->framing = FRAMING_LENGTH;
        r->length = (size_t)n;
        return 0;
    }
    r->framing = FRAMING_EOF;
    return 0;
}

/*
 * Walks the chunks in p[0..n). Returns 1 when the last chunk and its trailers are in,
 * 0 when more bytes are needed, ERR_INVALID when malformed. Appends the data to out
 * when out is not NULL.
 */
static int chunked_walk(const char *p, size_t n, struct bytes *out)
{
    size_t off = 0, line_len;
    const char *eol;
    char tmp[65], *end;
    unsigned long long size;
    int rc;

    for (;;) {
        eol = memmem(p + off, n - off, "\r\n", 2);
        if (!eol)
            return 0;
        line_len = (size_t)(eol - (p + off));
        if (line_len == 0 || line_len >= sizeof(tmp))
            return ERR_INVALID;
        memcpy(tmp, p + off, line_len);
        tmp[line_len] = '\0';
        if (!isxdigit((unsigned char)tmp[0]))
            return ERR_INVALID;
        errno = 0;
        size = strtoull(tmp, &end, 16);
        if (errno || size > HTTPC_MAX_RESPONSE || (*end && *end != ';' && *end != ' '))
            return ERR_INVALID;
        off += line_len + 2;
        if (size == 0)
            break;
        if (n - off < size + 2)
            return 0;
        if (p[off + size] != '\r' || p[off + size + 1] != '\n')
            return ERR_INVALID;
        if (out) {
            rc = bytes_add(out, p + off, (size_t)size);
            if (rc < 0)
                return rc;
        }
        off += (size_t)size + 2;
    }
    /* Trailer lines, up to the empty line that ends the message. */
    for (;;) {
        eol = memmem(p + off, n - off, "\r\n", 2);
        if (!eol)
            return 0;
        line_len = (size_t)(eol - (p + off));
        off += line_len + 2;
        if (line_len == 0)
            return 1;
    }
}

/* 1 when the response in r->in is complete, 0 when not yet, or an ERR_* code. */
static int reader_progress(struct reader *r, int eof)
{
    const char *e;
    size_t hlen;
    int rc;

    while (!r->body_off) {
        e = memmem(r->in.p + r->skip, r->in.len - r->skip, "\r\n\r\n", 4);
        if (!e)
            return 0;
        hlen = (size_t)(e - (r->in.p + r->skip));
        rc = parse_head(r->in.p + r->skip, hlen, r->resp);
        if (rc < 0)
            return rc;
        if (r->resp->status >= 100 && r->resp->status < 200) {
            httpc_resp_release(r->resp);
            r->skip += hlen + 4;
            continue;
        }
        r->body_off = r->skip + hlen + 4;
        rc = pick_framing(r);
        if (rc < 0)
            return rc;
    }
    switch (r->framing) {
    case FRAMING_NONE:
        return 1;
    case FRAMING_LENGTH:
        return r->in.len - r->body_off >= r->length ? 1 : 0;
    case FRAMING_CHUNKED:
        return chunked_walk(r->in.p + r->body_off, r->in.len - r->body_off, NULL);
    case FRAMING_EOF:
        return eof ? 1 : 0;
    }
    return ERR_INVALID;
}

/* Moves the complete body out of r->in into r->resp. */
static int reader_finish(struct reader *r)
{
    struct bytes body = {0};
    int rc = 0;

    switch (r->framing) {
    case FRAMING_NONE:
        break;
    case FRAMING_LENGTH:
        rc = bytes_add(&body, r->in.p + r->body_off, r->length);
        break;
    case FRAMING_CHUNKED:
        rc = chunked_walk(r->in.p + r->body_off, r->in.len - r->body_off, &body);
        rc = rc == 1 ? 0 : (rc < 0 ? rc : ERR_INVALID);
        break;
    case FRAMING_EOF:
        rc = bytes_add(&body, r->in.p + r->body_off, r->in.len - r->body_off);
        break;
    }
    if (rc == 0 && !body.p)
        rc = bytes_add(&body, "", 0);
    if (rc < 0) {
        free(body.p);
        return rc;
    }
    r->resp->body = body.p;
    r->resp->body_len = body.len;
    return 0;
}

/* Writes out[] and reads the response until it is complete; 0 or an ERR_* code. */
static int exchange(int fd, const struct bytes *out, struct reader *r, long long deadline)
{
    size_t sent = 0;
    int sending = out->len > 0, rc;
    char tmp[65536];
    struct pollfd pfd;
    ssize_t n;

    for (;;) {
        pfd.fd = fd;
        pfd.events = (short)(POLLIN | (sending ? POLLOUT : 0));
        pfd.revents = 0;
        if (ms_left(deadline) <= 0)
            return ERR_TIMEOUT;
        rc = poll(&pfd, 1, ms_left(deadline));
        if (rc < 0 && errno != EINTR)
            return ERR_SYS;
        if (rc <= 0)
            continue;
        if (sending && (pfd.revents & (POLLOUT | POLLERR | POLLHUP))) {
            n = send(fd, out->p + sent, out->len - sent, MSG_NOSIGNAL);
            if (n > 0) {
                sent += (size_t)n;
                sending = sent < out->len;
            } else if (errno == EPIPE || errno == ECONNRESET) {
                sending = 0; /* The server stopped reading; its answer may still come. */
            } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                return ERR_SYS;
            }
        }
        if (!(pfd.revents & (POLLIN | POLLERR | POLLHUP)))
            continue;
        n = recv(fd, tmp, sizeof(tmp), 0);
        if (n > 0) {
            rc = bytes_add(&r->in, tmp, (size_t)n);
            if (rc == 0)
                rc = reader_progress(r, 0);
            if (rc != 0)
                return rc < 0 ? rc : 0;
        } else if (n == 0 || errno == ECONNRESET) {
            rc = reader_progress(r, 1);
            return rc == 1 ? 0 : (rc < 0 ? rc : ERR_SYS);
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return ERR_SYS;
        }
    }
}

int httpc_request(const char *base_url, const struct httpc_req *req, struct httpc_resp *resp)
{
    struct sockaddr_in sa;
    char hostport[80];
    struct bytes out = {0};
    struct reader r;
    long long deadline;
    int fd = -1, rc;

    memset(resp, 0, sizeof(*resp));
    memset(&r, 0, sizeof(r));
    r.resp = resp;
    r.is_head = strcmp(req->method, "HEAD") == 0;
    deadline = now_ms() + (req->timeout_ms > 0 ? req->timeout_ms : HTTPC_DEFAULT_TIMEOUT_MS);
    rc = parse_base(base_url, &sa, hostport);
    if (rc < 0)
        goto out;
    rc = build_request(req, hostport, &out);
    if (rc < 0)
        goto out;
    rc = connect_to(&sa, deadline, &fd);
    if (rc < 0)
        goto out;
    rc = exchange(fd, &out, &r, deadline);
    if (rc == 0)
        rc = reader_finish(&r);
out:
    if (rc < 0)
        httpc_resp_release(resp);
    if (fd >= 0)
        close(fd);
    free(r.in.p);
    free(out.p);
    return rc;
}

const char *httpc_header(const struct httpc_resp *resp, const char *name)
{
    size_t i;

    for (i = 0; i < resp->nheaders; i++)
        if (strcasecmp(resp->hdr[i].name, name) == 0)
            return resp->hdr[i].value;
    return NULL;
}

void httpc_resp_release(struct httpc_resp *resp)
{
    free(resp->head);
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
}
