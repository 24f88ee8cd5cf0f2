/* The envelope's signing input: the bytes an envelope's Ed25519 signature
 * covers (docs/PROTOCOL.md 2.1), and what a batched receipt names a request
 * by (receipt.h). Below both envelope.c and receipt.c, so neither needs
 * the other for it.
 *
 *   "GRv1" | version u32 BE | signer 32 B | seq u64 BE | sent_ms u64 BE
 *          | body_len u32 BE | body
 *
 * Thread safety: pure functions.
 */
#ifndef GR_SIGNING_H
#define GR_SIGNING_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"

/* How many bytes the input of a body of body_len bytes takes. */
size_t gr_signing_input_len(size_t body_len);

/* Writes the input for the given fields into buf, which must hold
 * gr_signing_input_len(body_len) bytes. Exposed for tests and for
 * PROTOCOL.md's worked example. */
void gr_signing_input(uint8_t *buf, uint32_t version, const uint8_t signer[GR_PUBLIC_KEY_BYTES],
                      uint64_t seq, uint64_t sent_ms, const uint8_t *body, size_t body_len);

#endif
