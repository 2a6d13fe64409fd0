/*
 * sysload.h - the system suite's load tool: GET requests over keep-alive connections that
 * counts every answer exactly.
 *
 *   systest load --url http://HOST:PORT [--url ...] --paths CODE[,CODE...]
 *                (--requests N | --seconds S) [--connections C] [--rate R]
 *                [--progress FILE] [--expect STATUS] [--timeout-ms MS]
 *
 * C threads each keep one HTTP/1.1 connection (connection i to URL i % count) and send
 * "GET /<code>" requests one at a time; request number k asks for code k % count. With
 * --rate the requests start on a schedule of R per second over all connections. A request
 * is sent once and never retried: when the connection fails (refused, reset, closed before
 * a whole answer, timeout, malformed answer) it counts as a socket error and the thread
 * reconnects for its next request. With --requests exactly N requests are attempted; with
 * --seconds requests start until S seconds have passed.
 *
 * --progress FILE is rewritten every 100 ms (and at the end) with the number of requests
 * finished so far, so that a script can act at a given point of the run.
 *
 * Output on stdout, one "key value..." line each: "requests N", "answered N", "errors N",
 * "unexpected N" (answers whose status is not --expect, default 302), "status S N" per
 * status seen, "path CODE EXPECTED OTHER ERRORS" per code, "elapsed_ms N",
 * "max_latency_ms N". The first error of each kind is described on stderr.
 * Exit status: 0 when the run was made (the caller judges the counts), 2 on a usage error,
 * 1 when the tool itself failed (threads, memory).
 *
 * Ownership: sysload_main() owns everything it allocates and frees it before returning.
 */
#ifndef SYSLOAD_H
#define SYSLOAD_H

/* Runs the tool with the arguments after "load"; returns the exit status. */
int sysload_main(int argc, char **argv);

#endif
