/*
 * server.h - redirect-svc's HTTP server: one event loop per thread.
 *
 * Each of cfg.http_threads threads runs its own libmicrohttpd daemon in
 * external-epoll mode on the same port (SO_REUSEPORT spreads connections) and
 * owns its own Redis connection, so threads share nothing on the hot path.
 *
 * Within a thread, redirects are pipelined: the handler appends the request's
 * EVALSHA to the thread's Redis buffer and suspends the connection; after
 * MHD_run() has seen every ready socket, the loop sends all appended commands
 * in one write, reads the replies, and resumes the connections, which then get
 * their 302/404/503. Under load one Redis round trip serves a whole batch;
 * with a single client it costs the same one round trip as before.
 */
#ifndef SERVER_H
#define SERVER_H

#include <stddef.h>

struct app;
struct server;

/* Starts the loops; returns a new server or NULL (reason in err). */
struct server *server_start(struct app *app, char *err, size_t errlen);

/* The port bound (useful with PORT=0). */
int server_port(const struct server *srv);

/* Stops accepting, lets in-flight requests finish (bounded), joins the threads, frees. Accepts
 * NULL. */
void server_stop(struct server *srv);

#endif
