#include "analyst.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "error.h"

typedef struct s_node {
    void *job;
    struct s_node *next;
} s_node_t;

typedef struct {
    s_node_t *head, *tail;
    size_t count;
} s_queue_t;

struct gr_analyst {
    gr_store_t *store;
    gr_analyst_fn run;
    gr_analyst_drop_fn drop;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;      /* work, a resume or the end */
    pthread_cond_t idle;      /* the running job finished */
    s_queue_t todo, done;
    bool running, paused, stopping;
    int fd;
};

static void s_push(s_queue_t *q, s_node_t *n)
{
    n->next = NULL;
    if (q->tail)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
    q->count++;
}

static s_node_t *s_pop(s_queue_t *q)
{
    s_node_t *n = q->head;
    if (n) {
        q->head = n->next;
        if (!q->head)
            q->tail = NULL;
        q->count--;
    }
    return n;
}

static void *s_main(void *arg)
{
    gr_analyst_t *self = arg;
    pthread_mutex_lock(&self->lock);
    for (;;) {
        while (!self->stopping && (self->paused || !self->todo.head))
            pthread_cond_wait(&self->wake, &self->lock);
        if (self->stopping)
            break;
        s_node_t *n = s_pop(&self->todo);
        self->running = true;
        pthread_mutex_unlock(&self->lock);
        gr_txn_t *txn = NULL;
        if (gr_store_begin(self->store, false, &txn) != 0)
            txn = NULL;
        self->run(n->job, txn);
        gr_store_abort(&txn);
        pthread_mutex_lock(&self->lock);
        self->running = false;
        s_push(&self->done, n);
        pthread_cond_broadcast(&self->idle);
        uint64_t one = 1;
        /* The counter only grows; a full one (never, in practice) is
         * still readable, which is all the main thread needs. */
        if (write(self->fd, &one, sizeof one) < 0 && errno != EAGAIN)
            break;
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

gr_analyst_t *gr_analyst_new(gr_store_t *store, gr_analyst_fn run, gr_analyst_drop_fn drop)
{
    gr_analyst_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store;
    self->run = run;
    self->drop = drop;
    self->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->fd < 0) {
        free(self);
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->wake, NULL);
    pthread_cond_init(&self->idle, NULL);
    if (pthread_create(&self->thread, NULL, s_main, self) != 0) {
        pthread_cond_destroy(&self->idle);
        pthread_cond_destroy(&self->wake);
        pthread_mutex_destroy(&self->lock);
        close(self->fd);
        free(self);
        return NULL;
    }
    return self;
}

static void s_drain(gr_analyst_t *self, s_queue_t *q)
{
    s_node_t *n;
    while ((n = s_pop(q))) {
        self->drop(n->job);
        free(n);
    }
}

void gr_analyst_destroy(gr_analyst_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gr_analyst_t *self = *self_p;
    pthread_mutex_lock(&self->lock);
    self->stopping = true;
    pthread_cond_broadcast(&self->wake);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    s_drain(self, &self->todo);
    s_drain(self, &self->done);
    pthread_cond_destroy(&self->idle);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    close(self->fd);
    free(self);
    *self_p = NULL;
}

int gr_analyst_submit(gr_analyst_t *self, void *job)
{
    s_node_t *n = malloc(sizeof *n);
    if (!n)
        return GR_ENOMEM;
    n->job = job;
    pthread_mutex_lock(&self->lock);
    int rc = 0;
    if (self->todo.count >= GR_ANALYST_QUEUE_MAX) {
        rc = GR_EFULL;
        free(n);
    } else {
        s_push(&self->todo, n);
        pthread_cond_signal(&self->wake);
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

int gr_analyst_fd(const gr_analyst_t *self)
{
    return self->fd;
}

size_t gr_analyst_take(gr_analyst_t *self, void **jobs, size_t max)
{
    uint64_t count;
    if (read(self->fd, &count, sizeof count) < 0 && errno != EAGAIN)
        return 0;
    size_t n = 0;
    pthread_mutex_lock(&self->lock);
    s_node_t *node;
    while (n < max && (node = s_pop(&self->done))) {
        jobs[n++] = node->job;
        free(node);
    }
    if (self->done.head) {
        /* More than max: stay readable for the next turn. */
        uint64_t one = 1;
        if (write(self->fd, &one, sizeof one) < 0) {
            /* A full counter is readable anyway. */
        }
    }
    pthread_mutex_unlock(&self->lock);
    return n;
}

void gr_analyst_pause(gr_analyst_t *self)
{
    pthread_mutex_lock(&self->lock);
    self->paused = true;
    while (self->running)
        pthread_cond_wait(&self->idle, &self->lock);
    pthread_mutex_unlock(&self->lock);
}

void gr_analyst_resume(gr_analyst_t *self)
{
    pthread_mutex_lock(&self->lock);
    self->paused = false;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
}
