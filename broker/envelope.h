/* Signed envelopes: every gridrelay frame.
 *
 * An envelope wraps a serialized Body with the signer's public key, a
 * per-signer sequence number and a send time, and an Ed25519 detached
 * signature over the canonical signing input:
 *
 *   "GRv1" | version u32 BE | signer 32 B | seq u64 BE | sent_ms u64 BE
 *          | body_len u32 BE | body
 *
 * (docs/PROTOCOL.md, "Signing input"). The protobuf encoding is never signed,
 * so a client in any language can rebuild the input.
 *
 * gr_envelope_open() checks, in this order, each with its own code:
 * frame size (GR_ETOOBIG), envelope decode (GR_EDECODE), version
 * (GR_EVERSION), signer trusted (GR_EUNTRUSTED), signature (GR_ESIGNATURE),
 * the body's strings (GR_EBADTEXT: not UTF-8, or a NUL inside; text.h),
 * body decode (GR_EDECODE). Replay is the caller's check, since it needs the
 * store (node/store.h).
 *
 * Thread safety: reentrant; the trust list is only read.
 */
#ifndef GR_ENVELOPE_H
#define GR_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gridrelay.pb-c.h"
#include "keys.h"
#include "receipt.h"
#include "trust.h"

#define GR_PROTOCOL_VERSION 1
/* The highest version this code speaks. A version-2 request is signed
 * exactly like a version-1 one (its version field says 2) and asks for
 * version-2 replies: batched receipts (receipt.h, PROTOCOL.md 2.4). */
#define GR_PROTOCOL_VERSION_MAX 2
#define GR_DEFAULT_MAX_FRAME (64 * 1024)

/* Seals body_bytes into a new envelope signed by kp. On success *out is a
 * malloc'd buffer of *out_len bytes that the caller frees. */
int gr_envelope_seal_bytes(uint8_t **out, size_t *out_len, const gr_keypair_t *kp,
                           uint64_t seq, uint64_t sent_ms,
                           const uint8_t *body_bytes, size_t body_len);

/* As gr_envelope_seal_bytes(), with the given version (1 or 2) in the
 * envelope and its signing input. */
int gr_envelope_seal_version(uint8_t **out, size_t *out_len, const gr_keypair_t *kp,
                             uint32_t version, uint64_t seq, uint64_t sent_ms,
                             const uint8_t *body_bytes, size_t body_len);

/* As gr_envelope_seal_bytes(), serializing body first. */
int gr_envelope_seal(uint8_t **out, size_t *out_len, const gr_keypair_t *kp,
                     uint64_t seq, uint64_t sent_ms, const Gridrelay__Body *body);

/* As gr_envelope_seal_version(), serializing body first. */
int gr_envelope_seal_body_version(uint8_t **out, size_t *out_len, const gr_keypair_t *kp,
                                  uint32_t version, uint64_t seq, uint64_t sent_ms,
                                  const Gridrelay__Body *body);

/* An opened, verified envelope. */
typedef struct {
    Gridrelay__Envelope *envelope;      /* owned */
    Gridrelay__Body *body;              /* owned */
    const gr_trusted_key_t *signer;     /* entry in the trust list */
    /* SHA-256 of the whole frame, for what writes a timeline entry (its
     * envelope_hash): filled by gr_opened_hash(), zeros until then. The
     * opening does not hash, since most frames a node opens (link
     * batches, acks, status, queries) are never named by one. */
    uint8_t hash[32];
} gr_opened_t;

/* Fills opened->hash from the frame it was opened from. */
void gr_opened_hash(gr_opened_t *opened, const uint8_t *frame, size_t len);

/* Opens and verifies frame. On success fills *out (release it with
 * gr_opened_clear()); on failure *out is left empty and, when the envelope
 * decoded far enough, *ref_seq_out (may be NULL) holds its seq for the error
 * reply, else 0. max_frame 0 means GR_DEFAULT_MAX_FRAME. */
int gr_envelope_open(gr_opened_t *out, uint64_t *ref_seq_out,
                     const uint8_t *frame, size_t len, const gr_trust_t *trust,
                     size_t max_frame);

/* Frees what gr_envelope_open() filled and zeroes *opened. Accepts an empty
 * or already-cleared struct. */
void gr_opened_clear(gr_opened_t *opened);

/* Opens a reply from a node: like gr_envelope_open(), but when node_pk is
 * NULL any signer is accepted (its signature is still checked). */
int gr_envelope_open_from(gr_opened_t *out, const uint8_t *frame, size_t len,
                          const uint8_t *node_pk, size_t max_frame);

/* Opens a reply from a node as a client does: a version-1 or -2 envelope
 * signed on its own, or a version-2 receipt (receipt.h), whose path is
 * checked and whose head's signature is checked unless cache holds it
 * (cache may be NULL). check_signature false skips the Ed25519 check of
 * either form, for a benchmark that verifies a sample of its replies; the
 * path is checked all the same. node_pk NULL accepts any signer. */
int gr_envelope_open_reply(gr_opened_t *out, const uint8_t *frame, size_t len,
                           const uint8_t *node_pk, size_t max_frame, gr_receipt_cache_t *cache,
                           bool check_signature);

/* Decodes again a frame this process verified itself a moment ago (e.g.
 * when it was received, before it waited for the write transaction): the
 * same checks as gr_envelope_open_from() with signer, except the
 * signature, which is not verified a second time, and may be absent (an
 * outbox entry of version 2, broker/linkbatch.h). Never use it on a frame
 * from outside. */
int gr_envelope_reopen(gr_opened_t *out, const uint8_t *frame, size_t len, const uint8_t *signer,
                       size_t max_frame);

/* Opens an envelope that travels inside a message from a trusted peer
 * who vouched for it with a signature of its own (the reporter's envelope
 * inside a child's Escalate, covered by the child's hop): every check of
 * gr_envelope_open_from() except the Ed25519 one, so the caller must hold
 * that peer's signature and leave the origin's to the node that checks it
 * (docs/PROTOCOL.md, "Where signatures are checked"). */
int gr_envelope_open_vouched(gr_opened_t *out, const uint8_t *frame, size_t len,
                             size_t max_frame);

/* body serialized into a new malloc'd buffer of *len bytes (at least one
 * byte is allocated, so an empty body is not NULL); NULL when out of
 * memory. */
uint8_t *gr_body_pack(const Gridrelay__Body *body, size_t *len);

/* A deep copy of any protobuf-c message that owns all its memory (what is
 * read from LMDB or a frame dies with the transaction or the frame), by
 * packing and unpacking it; free it with protobuf_c_message_free_unpacked()
 * or the type's own __free_unpacked(). NULL when out of memory. */
void *gr_message_dup(const ProtobufCMessage *msg);

#endif
