/*
 * http_stream.h - the glue's side of streamed responses (http.h declares the public part:
 * http_reply_stream, http_stream_wake). Only http.c includes this.
 *
 * A stream that has nothing to send is parked with MHD_suspend_connection, so an idle
 * Server-Sent Events client costs no CPU; http_stream_wake resumes it. A wake that arrives
 * while read is running (before the park) is remembered, so none is lost.
 */
#ifndef HTTP_STREAM_H
#define HTTP_STREAM_H

struct MHD_Connection;
struct MHD_Response;
struct http_resp;

/*
 * A new MHD response for resp's stream on connection c, or NULL (out of memory; resp's
 * stream is then still resp's to release). On success the stream's cls now belongs to the
 * response (resp->stream_* are cleared).
 */
struct MHD_Response *http_stream__response(struct http_resp *resp, struct MHD_Connection *c);

/* Calls resp's stream_release (when a stream was set but never sent) and clears it. */
void http_stream__drop(struct http_resp *resp);

#endif
