/* A parallel for-loop over a fixed set of threads: what the daemon uses to
 * verify a batch of envelopes and sign a batch of replies on every core.
 *
 * Ed25519 is most of a node's CPU (a verify costs about as much as the
 * rest of the request together), the items of a batch are independent, and
 * a node has nothing else to do while it verifies; so the batch is shared
 * out, and the main thread works too. Everything that touches the store,
 * the sockets or the node's state stays on the main thread.
 *
 * Thread safety: gr_pool_run(), gr_pool_start() and gr_pool_wait() are
 * called from one thread (the owner); fn runs concurrently on several
 * threads and must only touch item i.
 */
#ifndef GR_POOL_H
#define GR_POOL_H

#include <stddef.h>

typedef struct gr_pool gr_pool_t;

/* fn(ctx, i) handles item i. */
typedef void (*gr_pool_fn)(void *ctx, size_t i);

/* Starts threads - 1 helper threads (the caller is the last one). threads
 * 0 means one per online CPU, at most 8. Returns NULL when out of memory
 * or a thread cannot be started. */
gr_pool_t *gr_pool_new(size_t threads);

/* Stops and joins the helpers, frees, sets *self_p to NULL. Accepts NULL. */
void gr_pool_destroy(gr_pool_t **self_p);

/* Runs fn(ctx, i) for every i in [0, n) and returns when all are done.
 * Batches smaller than min_parallel run on the caller alone: waking a
 * thread costs more than a few items. */
void gr_pool_run(gr_pool_t *self, size_t n, size_t min_parallel, gr_pool_fn fn, void *ctx);

/* Starts fn(ctx, i) for every i in [0, n) on the helper threads and
 * returns at once, so that the caller can wait on something else (the
 * disk) meanwhile; gr_pool_wait() then takes what is left and returns when
 * all are done. Until then the batch's memory must stay where it is. A
 * batch started earlier is finished first, here and in gr_pool_run(), so
 * the pool never holds two. n below min_parallel, or no helpers: nothing
 * runs until gr_pool_wait(), which does it all. */
void gr_pool_start(gr_pool_t *self, size_t n, size_t min_parallel, gr_pool_fn fn, void *ctx);

/* Finishes the batch gr_pool_start() began, the caller working too; at
 * once when none was started. */
void gr_pool_wait(gr_pool_t *self);

/* Threads that work on a batch, the caller included. */
size_t gr_pool_threads(const gr_pool_t *self);

#endif
