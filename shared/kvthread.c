/*
 * kvthread.c - per-thread Redis handles (see kvthread.h).
 */
#include "kvthread.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

#include "banned.h"

struct kvthread {
    pthread_key_t key;
    char *url; /* owned */
    int timeout_ms;
};

static void kvthread_destroy(void *p)
{
    kv_free(p);
}

struct kvthread *kvthread_new(const char *url, int timeout_ms)
{
    struct kv *probe = kv_new(url, timeout_ms); /* validates the URL; connects nothing */
    struct kvthread *kt = probe ? calloc(1, sizeof(*kt)) : NULL;
    kv_free(probe);
    if (!kt)
        return NULL;
    kt->url = strdup(url);
    kt->timeout_ms = timeout_ms;
    if (!kt->url || pthread_key_create(&kt->key, kvthread_destroy) != 0) {
        free(kt->url);
        free(kt);
        return NULL;
    }
    return kt;
}

struct kv *kvthread_get(struct kvthread *kt)
{
    struct kv *kv = pthread_getspecific(kt->key);
    if (kv)
        return kv;
    kv = kv_new(kt->url, kt->timeout_ms);
    if (kv && pthread_setspecific(kt->key, kv) != 0) {
        kv_free(kv);
        kv = NULL;
    }
    return kv;
}

void kvthread_free(struct kvthread *kt)
{
    if (!kt)
        return;
    kv_free(pthread_getspecific(kt->key));
    pthread_setspecific(kt->key, NULL);
    pthread_key_delete(kt->key);
    free(kt->url);
    free(kt);
}
