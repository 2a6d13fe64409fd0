/*
 * syscoher.h - the system suite's near-cache coherence tool (check 12, issue 13).
 *
 *   systest coherence --redirect http://HOST:PORT [--redirect ...] --write http://HOST:PORT
 *                     [--write ...] [--links N] [--connections C] [--rounds R] [--tag T]
 *
 * Creates N links (default 8) through the write URLs, then C threads (default 200) each keep
 * one keep-alive connection to a redirect URL (connection i to URL i % count) and GET (with
 * "User-Agent: coh/1" and "Referer: https://ref.example/x") the
 * links' codes at random as fast as they are answered: each link has two codes, its alias
 * "<T>l<i>a" and the one it moves to, "<T>l<i>b". After 2 s of warm-up (the near caches
 * fill), one writer goes through R rounds (default 3) of, for each link in turn: change the
 * URL, deactivate, reactivate, move to its other code (PUT /urls/<id>, alternating the write
 * URLs), then deletes every link, and the load runs 1 s more.
 *
 * Each answer is kept with its send and receive times (CLOCK_MONOTONIC), each write with
 * its send time, its answer time and the state it gives each code it touches (302 with its
 * Location, or 404). An answer is STALE when the request was sent after some write W's
 * answer arrived, and it matches neither the state W left nor that of a later write sent
 * before the answer arrived. Output on stdout, one "key value" line each: "answers N",
 * "checked N" (answers kept; more than the per-thread store are only counted), "stale N",
 * "errors N" (socket errors and statuses other than 302/404), "writes N", "write_errors N",
 * "url_ids ID,ID,..." and "clicks N" (302 answers, each a click the event-worker must store
 * once). The first stale answers are described on stderr.
 * Exit status: 0 when the run was made (the caller judges the counts), 2 on a usage error,
 * 1 when the tool itself failed (threads, memory, creating the links).
 *
 * Ownership: syscoher_main() owns everything it allocates and frees it before returning.
 */
#ifndef SYSCOHER_H
#define SYSCOHER_H

/* Runs the tool with the arguments after "coherence"; returns the exit status. */
int syscoher_main(int argc, char **argv);

#endif
