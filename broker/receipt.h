/* Batched signed receipts (protocol version 2, docs/PROTOCOL.md 2.4).
 *
 * A node answers the version-2 requests of one commit with one Ed25519
 * signature instead of one per reply: every reply is a leaf of a Merkle
 * tree (RFC 9162 section 2.1: leaf hash BLAKE2b-256(0x00 | leaf input),
 * interior hash BLAKE2b-256(0x01 | left | right), BLAKE2b-256 being
 * libsodium's crypto_generichash with a 32-byte output and no key), the
 * node signs the tree's head (its key, its clock, the tree's size and
 * root) once, and each reply carries its leaf's inclusion path and the
 * signed head. The reply frame alone stays a proof, checkable by anyone
 * with the node's public key, that the node said this body in answer to
 * that request at that time:
 *
 *   leaf input = "GRl2" | version u32 BE (2) | signer 32 B | seq u64 BE
 *                | sent_ms u64 BE | request 32 B | body_len u32 BE | body
 *   head input = "GRh2" | signer 32 B | time_ms u64 BE | size u64 BE
 *                | root 32 B
 *
 * where request is BLAKE2b-256 of the answered request's own signing input
 * (envelope.h; 32 zero bytes when the reply answers no decodable request).
 *
 * Thread safety: every function is reentrant; a gr_receipt_tree_t and a
 * gr_receipt_cache_t belong to one thread at a time (a tree may be read by
 * several threads once built).
 */
#ifndef GR_RECEIPT_H
#define GR_RECEIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gridrelay.pb-c.h"
#include "keys.h"

#define GR_RECEIPT_VERSION 2
#define GR_RECEIPT_HASH_BYTES 32
#define GR_RECEIPT_HEAD_BYTES (4 + 32 + 8 + 8 + 32)
/* A path longer than this cannot belong to a tree of at most 2^63 leaves. */
#define GR_RECEIPT_MAX_PATH 63
#define GR_RECEIPT_CACHE_SLOTS 16

/* BLAKE2b-256 of the signing input of the request envelope env (its own
 * version, signer, seq, sent_ms and body). Returns 0, or GR_ENOMEM. */
int gr_receipt_request_digest(uint8_t out[GR_RECEIPT_HASH_BYTES], const Gridrelay__Envelope *env);

/* The same, from a serialized envelope. Returns 0, GR_EDECODE or
 * GR_ENOMEM. */
int gr_receipt_request_digest_frame(uint8_t out[GR_RECEIPT_HASH_BYTES], const uint8_t *frame,
                                    size_t len);

/* The leaf hash of one reply (the leaf input above, prefixed 0x00).
 * Returns 0, or GR_ENOMEM. */
int gr_receipt_leaf(uint8_t out[GR_RECEIPT_HASH_BYTES], const uint8_t signer[GR_PUBLIC_KEY_BYTES],
                    uint64_t seq, uint64_t sent_ms, const uint8_t request[GR_RECEIPT_HASH_BYTES],
                    const uint8_t *body, size_t body_len);

/* Writes the head input above into buf (GR_RECEIPT_HEAD_BYTES bytes). */
void gr_receipt_head_input(uint8_t buf[GR_RECEIPT_HEAD_BYTES],
                           const uint8_t signer[GR_PUBLIC_KEY_BYTES], uint64_t time_ms,
                           uint64_t size, const uint8_t root[GR_RECEIPT_HASH_BYTES]);

/* A Merkle tree over n >= 1 leaf hashes, every level kept, so that each
 * leaf's path is read off without hashing again. */
typedef struct gr_receipt_tree gr_receipt_tree_t;

/* Builds the tree over leaves[0..n) (copied). NULL when n is 0 or out of
 * memory. */
gr_receipt_tree_t *gr_receipt_tree_new(const uint8_t (*leaves)[GR_RECEIPT_HASH_BYTES], size_t n);

/* Frees the tree, sets *self_p to NULL. Accepts NULL. */
void gr_receipt_tree_destroy(gr_receipt_tree_t **self_p);

/* The tree's root (its Merkle tree hash). */
const uint8_t *gr_receipt_tree_root(const gr_receipt_tree_t *self);

/* Leaf index's inclusion path: points path[0..return) at the tree's own
 * hashes, leaf to root; at most GR_RECEIPT_MAX_PATH entries. Returns the
 * count, 0 for a tree of one leaf (and for an index out of range). */
size_t gr_receipt_tree_path(const gr_receipt_tree_t *self, size_t index,
                            const uint8_t *path[GR_RECEIPT_MAX_PATH]);

/* The root a path leads to from leaf at index in a tree of size leaves
 * (RFC 9162 2.1.3.2). Returns 0, or GR_ESIGNATURE when the path does not
 * fit that index and size (too short, too long, index >= size). */
int gr_receipt_root_from_path(uint8_t root[GR_RECEIPT_HASH_BYTES],
                              const uint8_t leaf[GR_RECEIPT_HASH_BYTES], uint64_t index,
                              uint64_t size, const uint8_t *const *path, size_t n);

/* Signed heads a verifier already checked: the last GR_RECEIPT_CACHE_SLOTS
 * (head input, signature) pairs, so the replies of one batch that reach
 * one client cost one Ed25519 verification, not one each. */
typedef struct {
    uint8_t digest[GR_RECEIPT_CACHE_SLOTS][GR_RECEIPT_HASH_BYTES];
    bool used[GR_RECEIPT_CACHE_SLOTS];
    size_t next;
    uint64_t hits;          /* heads found here: a signature not checked again */
    uint64_t verified;      /* heads whose signature was checked */
} gr_receipt_cache_t;

/* Checks a version-2 reply envelope env (its signer, seq, sent_ms, body and
 * receipt): the receipt's fields well formed, its path from this reply's
 * leaf to its root, and the head's signature by env->signer (skipped when
 * the head is in cache; then cache may be NULL; skipped too when
 * check_signature is false, for benchmarks that verify a sample).
 * Returns 0, GR_EDECODE (a field of the wrong size, no receipt, a
 * signature beside it) or GR_ESIGNATURE (path or signature wrong). */
int gr_receipt_verify(const Gridrelay__Envelope *env, gr_receipt_cache_t *cache,
                      bool check_signature);

/* Builds a version-2 reply envelope: signer pk, seq, sent_ms, body, and the
 * receipt (request, index, size, path[0..n_path), time_ms, root,
 * signature). *out is malloc'd. Returns 0, GR_EINVAL or GR_ENOMEM. */
typedef struct {
    const uint8_t *request;             /* 32 bytes */
    uint64_t index, size, time_ms;
    const uint8_t *const *path;
    size_t n_path;
    const uint8_t *root;                /* 32 bytes */
    const uint8_t *signature;           /* 64 bytes */
} gr_receipt_proof_t;

int gr_receipt_pack(uint8_t **out, size_t *out_len, const uint8_t signer[GR_PUBLIC_KEY_BYTES],
                    uint64_t seq, uint64_t sent_ms, const uint8_t *body, size_t body_len,
                    const gr_receipt_proof_t *proof);

#endif
