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
#include "receipt.h"

/* One envelope to seal with the node's key: body in, frame out. */
typedef struct {
    const uint8_t *body;
    size_t body_len;
    uint64_t seq;           /* given on the main thread, in order */
    /* A reply to a version-2 request: sealed as a leaf of the run's one
     * receipt tree (broker/receipt.h) instead of signed on its own.
     * request is the answered request's digest (gr_receipt_request_digest). */
    bool receipt;
    uint8_t request[GR_RECEIPT_HASH_BYTES];
    uint8_t leaf[GR_RECEIPT_HASH_BYTES];    /* the sealer's own */
    int leaf_rc;
    /* For one reader only (a department's notice): the signed envelope is
     * then boxed with the key this node shares with it. */
    const uint8_t *box_key;
    /* The envelope's version when signed on its own: 0 or 1, or 2 for a
     * reply on a tier link to a peer that spoke version 2 (so that it
     * keeps batching to this node, broker/link.h). */
    uint32_t version;
    uint8_t *frame;         /* malloc'd; NULL when sealing failed */
    size_t frame_len;
} gr_seal_job_t;

typedef struct {
    const gr_keypair_t *keys;
    gr_engine_t *engine;    /* the sequence numbers */
    gr_pool_t *pool;
} gr_sealer_t;

/* Seals jobs[0..n): each gets the next seq and its frame (NULL when out of
 * memory: then it is not sent, and the peer resends or resyncs). The jobs
 * marked receipt share one Ed25519 signature: a Merkle tree over their
 * leaves, its head signed once, each frame carrying its path (PROTOCOL.md
 * 2.4); the others are signed one by one on the pool. */
void gr_sealer_run(const gr_sealer_t *self, gr_seal_job_t **jobs, size_t n);

#endif
