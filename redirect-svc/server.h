/*
 * server.h - redirect-svc's HTTP server: one event loop per thread.
 *
 * Each of cfg.http_threads threads runs its own libmicrohttpd daemon in
 * external-epoll mode on the same port (SO_REUSEPORT spreads connections) and
 * owns its own Redis connection, so threads share nothing on the hot path.
 *
 * Within a thread, requests that need Redis wait in the loop's batch (loop.h): one script
 * call per shard per batch, replies read from the loop's epoll without blocking, the
 * connections resumed once their batch's replies are in (or 503 after REDIS_TIMEOUT_MS).
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
