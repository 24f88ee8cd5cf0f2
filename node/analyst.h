/* The analyst: one thread for the long reads (a month's ranking, counts
 * over the whole store), so that the daemon's main thread goes on taking
 * reports, links and timers while they run. Each job gets its own LMDB
 * read transaction, which never holds up the store's writer.
 *
 * The daemon hands over a job (its request, moved out of the batch), the
 * thread runs it, and the daemon takes the finished jobs back when the
 * eventfd gr_analyst_fd() is readable, and sends their replies.
 *
 * Caveat (LMDB): the map may only grow with no transaction open, so the
 * daemon wraps gr_store_grow() in gr_analyst_pause() / _resume(): a grow
 * waits for the running job.
 *
 * Thread safety: every function is for the daemon's main thread; the job
 * function runs on the analyst's thread and must touch only the job and
 * read-only state.
 */
#ifndef GR_ANALYST_H
#define GR_ANALYST_H

#include <stddef.h>

#include "store.h"

typedef struct gr_analyst gr_analyst_t;

/* Runs job with txn, a read transaction of its own (NULL when one could
 * not begin: the job answers with an error). The analyst ends txn. */
typedef void (*gr_analyst_fn)(void *job, gr_txn_t *txn);

/* Frees a job that will not run or will not be taken (at destroy). */
typedef void (*gr_analyst_drop_fn)(void *job);

/* Starts the thread. Returns NULL when it (or its eventfd) cannot be made. */
gr_analyst_t *gr_analyst_new(gr_store_t *store, gr_analyst_fn run, gr_analyst_drop_fn drop);

/* Stops the thread after the running job, drops every job not taken, and
 * sets *self_p to NULL. Accepts NULL. */
void gr_analyst_destroy(gr_analyst_t **self_p);

/* Queues job. Returns 0, or GR_EFULL when GR_ANALYST_QUEUE_MAX jobs wait
 * already (the caller answers the request itself), GR_ENOMEM. */
#define GR_ANALYST_QUEUE_MAX 64
int gr_analyst_submit(gr_analyst_t *self, void *job);

/* Readable when finished jobs wait to be taken. */
int gr_analyst_fd(const gr_analyst_t *self);

/* Takes up to max finished jobs into jobs, oldest first; returns how
 * many. */
size_t gr_analyst_take(gr_analyst_t *self, void **jobs, size_t max);

/* Waits for the running job to finish and keeps the next from starting
 * until gr_analyst_resume(). */
void gr_analyst_pause(gr_analyst_t *self);
void gr_analyst_resume(gr_analyst_t *self);

#endif
