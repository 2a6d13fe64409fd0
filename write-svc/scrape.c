/*
 * scrape.c - a minimal blocking HTTP/1.0 GET (see scrape.h): one connection per request,
 * "Connection: close", the body is everything after the headers until the peer closes.
 */
#include "scrape.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "timefmt.h"

#include "banned.h"

#define SCRAPE_HOST_MAX 256
#define SCRAPE_RAW_MAX  (2u << 20)

/* Splits "http://host[:port]" into host and port ("80" by default). 0 or ERR_INVALID. */
static int scrape_parse(const char *base, char host[SCRAPE_HOST_MAX], char port[8])
{
    if (strncmp(base, "http://", 7) != 0)
        return ERR_INVALID;
    const char *h = base + 7;
    size_t n = strcspn(h, ":/");
    if (n == 0 || n >= SCRAPE_HOST_MAX || (h[n] == '/' && h[n + 1]))
        return ERR_INVALID;
    memcpy(host, h, n);
    host[n] = '\0';
    snprintf(port, 8, "80");
    if (h[n] == ':') {
        size_t pn = strspn(h + n + 1, "0123456789");
        if (pn == 0 || pn > 5 || (h[n + 1 + pn] && strcmp(h + n + 1 + pn, "/") != 0))
            return ERR_INVALID;
        memcpy(port, h + n + 1, pn);
        port[pn] = '\0';
    }
    return 0;
}

/* Waits for events on fd until the deadline (monotonic ms). 0, ERR_TIMEOUT or ERR_SYS. */
static int scrape_wait(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - timefmt_mono_ms();
        if (left <= 0)
            return ERR_TIMEOUT;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return ERR_SYS;
    }
}

/* A connected non-blocking socket to host:port, or a negative ERR_*. */
static int scrape_connect(const char *host, const char *port, int64_t deadline)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
        return ERR_SYS;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rc = fd < 0 ? ERR_SYS : 0;
    if (!rc && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)
        rc = errno == EINPROGRESS ? scrape_wait(fd, POLLOUT, deadline) : ERR_SYS;
    int soerr = 0;
    socklen_t sl = sizeof(soerr);
    if (!rc && (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr))
        rc = ERR_SYS;
    freeaddrinfo(ai);
    if (rc && fd >= 0)
        close(fd);
    return rc ? rc : fd;
}

/* Sends the request and reads the whole answer into raw. 0 or ERR_*. */
static int scrape_exchange(int fd, const char *req, size_t len, struct buf *raw, int64_t deadline)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (n > 0)
            off += (size_t)n;
        else if (n < 0 && errno != EAGAIN && errno != EINTR)
            return ERR_SYS;
        else if (scrape_wait(fd, POLLOUT, deadline))
            return ERR_TIMEOUT;
    }
    char chunk[8192];
    for (;;) {
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n == 0)
            return 0;
        if (n > 0) {
            if (buf_append(raw, chunk, (size_t)n) != 0)
                return ERR_TOO_BIG;
        } else if (errno != EAGAIN && errno != EINTR) {
            return ERR_SYS;
        } else if (scrape_wait(fd, POLLIN, deadline)) {
            return ERR_TIMEOUT;
        }
    }
}

int scrape_get(const char *base, const char *path, int timeout_ms, int *status, struct buf *body)
{
    char host[SCRAPE_HOST_MAX], port[8], req[512];
    struct buf raw;
    int64_t deadline = timefmt_mono_ms() + timeout_ms;
    if (scrape_parse(base, host, port) != 0)
        return ERR_INVALID;
    int len = snprintf(req, sizeof(req),
                       "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n"
                       "User-Agent: write-svc-dashboard\r\nAccept: */*\r\n\r\n",
                       path, host);
    if (len < 0 || (size_t)len >= sizeof(req))
        return ERR_INVALID;
    int fd = scrape_connect(host, port, deadline);
    if (fd < 0)
        return fd;
    buf_init(&raw, SCRAPE_RAW_MAX);
    int rc = scrape_exchange(fd, req, (size_t)len, &raw, deadline);
    close(fd);
    const char *s = buf_cstr(&raw);
    const char *sep = rc ? NULL : strstr(s, "\r\n\r\n");
    if (!rc && (!sep || sscanf(s, "HTTP/1.%*c %3d", status) != 1))
        rc = ERR_SYS;
    if (!rc)
        rc = buf_append(body, sep + 4, raw.len - (size_t)(sep + 4 - s));
    buf_release(&raw);
    return rc;
}
