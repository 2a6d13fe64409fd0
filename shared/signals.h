/*
 * signals.h - graceful shutdown. The main thread blocks SIGINT/SIGTERM before
 * any thread starts (so they inherit the mask) and later waits for one.
 */
#ifndef SIGNALS_H
#define SIGNALS_H

/* Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and ignores SIGPIPE. */
void signals_block(void);

/* Waits up to timeout_ms (-1: forever) for SIGINT/SIGTERM; returns the signal or 0 on timeout. */
int signals_wait(int timeout_ms);

#endif
