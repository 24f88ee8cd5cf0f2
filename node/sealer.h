/* Sealer: signs the node's outgoing envelopes of one turn (replies, task
 * notices) on every core at once. Sequence numbers are handed out on the
 * calling thread, in order, from the engine; only the Ed25519 work (and a
 * notice's box) goes to the pool.
 *
 * Thread safety: gr_sealer_run() from the daemon's main thread; the jobs
 * it is given are worked on by the pool's threads meanwhile.
 */
#ifndef GR_SEALER_H
#define GR_SEALER_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "keys.h"
#include "pool.h"

/* One envelope to seal with the node's key: body in, frame out. */
typedef struct {
    const uint8_t *body;
    size_t body_len;
    uint64_t seq;           /* given on the main thread, in order */
    /* For one reader only (a department's notice): the signed envelope is
     * then boxed with the key this node shares with it. */
    const uint8_t *box_key;
    uint8_t *frame;         /* malloc'd; NULL when sealing failed */
    size_t frame_len;
} gr_seal_job_t;

typedef struct {
    const gr_keypair_t *keys;
    gr_engine_t *engine;    /* the sequence numbers */
    gr_pool_t *pool;
} gr_sealer_t;

/* Seals jobs[0..n): each gets the next seq and its frame (NULL when out of
 * memory: then it is not sent, and the peer resends or resyncs). */
void gr_sealer_run(const gr_sealer_t *self, gr_seal_job_t **jobs, size_t n);

#endif
