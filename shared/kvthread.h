/*
 * kvthread.h - one Redis handle per thread (struct kv is not thread-safe).
 *
 * Each thread that calls kvthread_get() gets its own handle, created on first
 * use and freed when the thread exits (a pthread key destructor), so MHD's
 * worker threads each keep one persistent connection (PERFORMANCE.md).
 */
#ifndef KVTHREAD_H
#define KVTHREAD_H

struct kv;
struct kvthread;

/* A new registry for url (copied). NULL on a malformed URL or out of memory. */
struct kvthread *kvthread_new(const char *url, int timeout_ms);

/* This thread's handle (borrowed: valid until the thread exits), or NULL when out of memory. */
struct kv *kvthread_get(struct kvthread *kt);

/*
 * Frees the calling thread's handle and the registry. Every other thread that
 * used it must have exited first (their handles were freed then). Accepts NULL.
 */
void kvthread_free(struct kvthread *kt);

#endif
