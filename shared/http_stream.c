/*
 * http_stream.c - streamed response bodies over libmicrohttpd (see http_stream.h, http.h).
 *
 * MHD calls http_stream_reader whenever the socket can take more. When the producer has
 * nothing, the connection is suspended (the daemon runs with MHD_ALLOW_SUSPEND_RESUME) and
 * http_stream_wake resumes it. Lock order: the producer's own lock, then st->mu, then MHD's.
 */
#include "http_stream.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "http.h"

#include "banned.h"

#define HTTP_STREAM_BLOCK (16u * 1024)

struct http_stream {
    pthread_mutex_t mu;
    struct MHD_Connection *conn; /* borrowed: the connection this body goes to */
    int parked;                  /* 1 while suspended by us */
    int wake_pending;            /* a wake came while not parked */
    http_stream_read_fn read;
    http_stream_release_fn release;
    void *cls; /* owned: released with release() */
};

int http_reply_stream(struct http_resp *resp, const char *content_type, http_stream_read_fn read,
                      http_stream_release_fn release, void *cls)
{
    http_stream__drop(resp);
    http_reply_empty(resp, 200);
    resp->content_type = content_type;
    resp->stream_read = read;
    resp->stream_release = release;
    resp->stream_cls = cls;
    return 200;
}

void http_stream__drop(struct http_resp *resp)
{
    if (resp->stream_release)
        resp->stream_release(resp->stream_cls);
    resp->stream_read = NULL;
    resp->stream_release = NULL;
    resp->stream_cls = NULL;
}

void http_stream_wake(struct http_stream *st)
{
    pthread_mutex_lock(&st->mu);
    if (st->parked) {
        st->parked = 0;
        MHD_resume_connection(st->conn);
    } else {
        st->wake_pending = 1;
    }
    pthread_mutex_unlock(&st->mu);
}

static ssize_t http_stream_reader(void *cls, uint64_t pos, char *out, size_t max)
{
    struct http_stream *st = cls;
    (void)pos;
    for (;;) {
        long n = st->read(st->cls, st, out, max);
        if (n == HTTP_STREAM_END)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (n > 0)
            return (ssize_t)n;
        pthread_mutex_lock(&st->mu);
        if (st->wake_pending) {
            st->wake_pending = 0;
            pthread_mutex_unlock(&st->mu);
            continue; /* something arrived while read ran: try again now */
        }
        st->parked = 1;
        MHD_suspend_connection(st->conn);
        pthread_mutex_unlock(&st->mu);
        return 0;
    }
}

static void http_stream_free(void *cls)
{
    struct http_stream *st = cls;
    if (st->release)
        st->release(st->cls);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

struct MHD_Response *http_stream__response(struct http_resp *resp, struct MHD_Connection *c)
{
    struct http_stream *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    pthread_mutex_init(&st->mu, NULL);
    st->conn = c;
    st->read = resp->stream_read;
    st->release = resp->stream_release;
    st->cls = resp->stream_cls;
    struct MHD_Response *r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, HTTP_STREAM_BLOCK, http_stream_reader, st, http_stream_free);
    if (!r) {
        pthread_mutex_destroy(&st->mu);
        free(st);
        return NULL;
    }
    resp->stream_read = NULL;
    resp->stream_release = NULL;
    resp->stream_cls = NULL;
    return r;
}
