#include "pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define S_MAX_THREADS 8

struct gr_pool {
    pthread_mutex_t lock;
    pthread_cond_t work;        /* a new batch, or stop */
    pthread_cond_t done;        /* the last helper finished its share */
    pthread_t helpers[S_MAX_THREADS];
    size_t n_helpers;
    bool stopping;
    uint64_t generation;        /* batches started; helpers wait for a new one */
    size_t busy;                /* helpers still in the current batch */
    /* The current batch; next is taken with an atomic add by every thread. */
    gr_pool_fn fn;
    void *ctx;
    size_t n;
    size_t next;
    bool started;               /* gr_pool_start() ran, gr_pool_wait() not yet */
};

/* Takes items until none is left. */
static void s_drain(gr_pool_t *self)
{
    for (;;) {
        size_t i = __atomic_fetch_add(&self->next, 1, __ATOMIC_RELAXED);
        if (i >= self->n)
            return;
        self->fn(self->ctx, i);
    }
}

static void *s_helper(void *arg)
{
    gr_pool_t *self = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&self->lock);
    for (;;) {
        while (!self->stopping && self->generation == seen)
            pthread_cond_wait(&self->work, &self->lock);
        if (self->stopping)
            break;
        seen = self->generation;
        pthread_mutex_unlock(&self->lock);
        s_drain(self);
        pthread_mutex_lock(&self->lock);
        if (--self->busy == 0)
            pthread_cond_signal(&self->done);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

gr_pool_t *gr_pool_new(size_t threads)
{
    if (threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus > 0 ? (size_t)cpus : 1;
    }
    if (threads > S_MAX_THREADS)
        threads = S_MAX_THREADS;
    gr_pool_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self);
        return NULL;
    }
    if (pthread_cond_init(&self->work, NULL) != 0) {
        pthread_mutex_destroy(&self->lock);
        free(self);
        return NULL;
    }
    if (pthread_cond_init(&self->done, NULL) != 0) {
        pthread_cond_destroy(&self->work);
        pthread_mutex_destroy(&self->lock);
        free(self);
        return NULL;
    }
    for (size_t i = 0; i + 1 < threads; i++) {
        if (pthread_create(&self->helpers[i], NULL, s_helper, self) != 0) {
            gr_pool_destroy(&self);
            return NULL;
        }
        self->n_helpers++;
    }
    return self;
}

void gr_pool_destroy(gr_pool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gr_pool_t *self = *self_p;
    gr_pool_wait(self);
    pthread_mutex_lock(&self->lock);
    self->stopping = true;
    pthread_cond_broadcast(&self->work);
    pthread_mutex_unlock(&self->lock);
    for (size_t i = 0; i < self->n_helpers; i++)
        pthread_join(self->helpers[i], NULL);
    pthread_cond_destroy(&self->done);
    pthread_cond_destroy(&self->work);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

void gr_pool_start(gr_pool_t *self, size_t n, size_t min_parallel, gr_pool_fn fn, void *ctx)
{
    if (!self) {
        for (size_t i = 0; i < n; i++)
            fn(ctx, i);
        return;
    }
    /* One batch at a time: an earlier one is finished first. */
    gr_pool_wait(self);
    self->fn = fn;
    self->ctx = ctx;
    self->n = n;
    self->next = 0;
    self->started = true;
    if (self->n_helpers == 0 || n < min_parallel)
        return;  /* the caller does it all in gr_pool_wait() */
    pthread_mutex_lock(&self->lock);
    self->busy = self->n_helpers;
    self->generation++;
    pthread_cond_broadcast(&self->work);
    pthread_mutex_unlock(&self->lock);
}

void gr_pool_wait(gr_pool_t *self)
{
    if (!self || !self->started)
        return;
    s_drain(self);
    /* The batch's memory belongs to the caller: wait for every helper to
     * leave it, not only for the last item to be taken. */
    pthread_mutex_lock(&self->lock);
    while (self->busy > 0)
        pthread_cond_wait(&self->done, &self->lock);
    pthread_mutex_unlock(&self->lock);
    self->started = false;
}

void gr_pool_run(gr_pool_t *self, size_t n, size_t min_parallel, gr_pool_fn fn, void *ctx)
{
    if (n == 0)
        return;
    gr_pool_start(self, n, min_parallel, fn, ctx);  /* without a pool: all done here */
    gr_pool_wait(self);
}

size_t gr_pool_threads(const gr_pool_t *self)
{
    return self ? self->n_helpers + 1 : 1;
}
