/* Batched link frames (link protocol version 2, docs/PROTOCOL.md 8.9).
 *
 * One frame carries many tier-link messages (Escalate, Assign, Feedback,
 * Supervise, Urge, DailySummary) under one Ed25519 signature: the sender
 * makes each item a leaf of the Merkle tree of broker/receipt.h and signs
 * the tree's head once, the same head as a batched receipt's:
 *
 *   leaf input = "GRl2" | 2 u32 BE | sender 32 B | item seq u64 BE
 *                | item sent_ms u64 BE | request 32 B | body_len u32 BE | body
 *   request    = BLAKE2b-256("GRk2" | recipient's public key 32 B)
 *   head input = "GRh2" | sender 32 B | time_ms u64 BE | size u64 BE | root 32 B
 *
 * request names the recipient: an item cannot be replayed to another node,
 * and no item is ever a receipt (a receipt's request is the digest of a
 * request's "GRv1..." signing input). The receiver checks the head's
 * signature once per batch and turns each item into a stand-alone
 * version-2 envelope in receipt form (its inclusion path, the root and the
 * signed head): the proof a case keeps that the sender forwarded it.
 *
 * Outbox entries of version 2 are stored unsigned (gr_linkbatch_entry_pack):
 * the signature is made when they are sent, once per batch, or once per
 * entry for a peer that speaks version 1 (Ed25519 is deterministic, so a
 * resend is byte-identical).
 *
 * Thread safety: reentrant.
 */
#ifndef GR_LINKBATCH_H
#define GR_LINKBATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "gridrelay.pb-c.h"
#include "keys.h"
#include "receipt.h"

#define GR_LINK_VERSION 2
/* Items per batch; with the byte bound of the sender (half its max_frame)
 * whichever comes first. */
#define GR_LINKBATCH_MAX_ITEMS 256

/* The request field of every item addressed to recipient. */
void gr_linkbatch_request(uint8_t out[GR_RECEIPT_HASH_BYTES],
                          const uint8_t recipient[GR_PUBLIC_KEY_BYTES]);

typedef struct {
    uint64_t seq;
    uint64_t sent_ms;
    const uint8_t *body;
    size_t body_len;
} gr_linkbatch_item_t;

/* Seals items[0..n) (1..GR_LINKBATCH_MAX_ITEMS) for recipient into one
 * frame: an envelope of version 2 signed by kp with seq and sent_ms =
 * time_ms, whose body is a LinkBatch with the head signed at time_ms.
 * *out is malloc'd. Returns 0, GR_EINVAL or GR_ENOMEM. */
int gr_linkbatch_seal(uint8_t **out, size_t *out_len, const gr_keypair_t *kp,
                      const uint8_t recipient[GR_PUBLIC_KEY_BYTES], uint64_t seq,
                      uint64_t time_ms, const gr_linkbatch_item_t *items, size_t n);

/* What gr_linkbatch_expand() hands over for each item: the item in
 * receipt form (frame, malloc'd by expand and freed after the call) and,
 * with open_items, when it opened, the item opened (rc 0), else rc
 * (GR_EDECODE, GR_EBADTEXT: the item is the sender's, and bad; the others
 * are not affected). Without open_items, rc is 0 and opened NULL: the
 * caller opens the frame itself (gr_linkbatch_open_item()), as a node
 * does on its pool, rather than every item being decoded twice. seq is
 * the item's own seq either way. */
typedef void (*gr_linkbatch_each_fn)(void *ctx, int rc, uint64_t seq, const gr_opened_t *opened,
                                     const uint8_t *frame, size_t len);

/* A verified LinkBatch body from signer (whose envelope's signature the
 * caller checked), addressed to recipient: rebuilds the tree from the
 * items, checks the head's signature once for the whole batch (the
 * items' own openings then skip it), then calls each() for every item
 * in order. Returns the number of items, or GR_EDECODE (no items, too
 * many, a signature of the wrong size) or GR_ESIGNATURE (the head does not
 * verify: some item is not what the sender signed, and then no item is
 * handed over), GR_ENOMEM. */
int gr_linkbatch_expand(const Gridrelay__LinkBatch *batch, const uint8_t signer[GR_PUBLIC_KEY_BYTES],
                        const uint8_t recipient[GR_PUBLIC_KEY_BYTES], size_t max_frame,
                        bool open_items, gr_linkbatch_each_fn each, void *ctx);

/* Opens one item in receipt form (what expand hands over, or a case's
 * stored link_proof): a version-2 envelope signed through its head by
 * signer, addressed to recipient, its path leading to the signed root.
 * check_signature false skips the head's Ed25519 check (a frame this
 * process expanded itself); cache as in gr_receipt_verify. Returns 0, or
 * GR_EDECODE, GR_EUNTRUSTED (another signer, or addressed to another
 * node), GR_ESIGNATURE (path or head), GR_EBADTEXT, GR_ETOOBIG. */
int gr_linkbatch_open_item(gr_opened_t *out, const uint8_t *frame, size_t len,
                           const uint8_t signer[GR_PUBLIC_KEY_BYTES],
                           const uint8_t recipient[GR_PUBLIC_KEY_BYTES], size_t max_frame,
                           gr_receipt_cache_t *cache, bool check_signature);

/* An outbox entry of version 2: a serialized Envelope of version 2 with
 * signer, seq, sent_ms and body and no signature. *out is malloc'd.
 * Returns 0, GR_EINVAL or GR_ENOMEM. */
int gr_linkbatch_entry_pack(uint8_t **out, size_t *out_len,
                            const uint8_t signer[GR_PUBLIC_KEY_BYTES], uint64_t seq,
                            uint64_t sent_ms, const uint8_t *body, size_t body_len);

/* Whether frame is such an unsigned entry (true), rather than an envelope
 * sealed one by one (an older node's entry, or a dead letter of one). */
bool gr_linkbatch_entry_is_unsigned(const uint8_t *frame, size_t len);

#endif
