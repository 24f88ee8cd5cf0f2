/* Signed hops: each node that forwards a case upward adds a Hop stating
 * who passed it on, when and why, signed with its own key, so the tier
 * that finally handles the case can verify the whole path and the
 * reporter's original signature (docs/PROTOCOL.md, "Hop signing input").
 *
 * Thread safety: reentrant.
 */
#ifndef GR_HOP_H
#define GR_HOP_H

#include <stddef.h>

#include "gridrelay.pb-c.h"
#include "keys.h"

#define GR_HOP_VERSION_BOUND 2

/* Fills hop->signer and hop->signature (64 bytes written into sig_buf,
 * which must outlive the hop) for the event id, using kp. The other hop
 * fields must be set first. Returns 0 or GR_EINVAL / GR_ENOMEM. */
int gr_hop_sign(Gridrelay__Hop *hop, const char *event_id, const gr_keypair_t *kp,
                uint8_t sig_buf[GR_SIGNATURE_BYTES]);

/* As gr_hop_sign(), for a version-2 hop (hop->version set to 2): the
 * signature also binds BLAKE2b-256 of origin[0..origin_len), the reporter's
 * envelope bytes the case travels with ("GRhop2", docs/PROTOCOL.md 8.3), so
 * the hop cannot be moved onto another origin envelope with the same id. */
int gr_hop_sign_bound(Gridrelay__Hop *hop, const char *event_id, const uint8_t *origin,
                      size_t origin_len, const gr_keypair_t *kp,
                      uint8_t sig_buf[GR_SIGNATURE_BYTES]);

/* Checks hop's signature against hop->signer for event_id (a version-1
 * hop). Returns 0 or GR_ESIGNATURE (GR_EDECODE for a malformed hop, and
 * for a version-2 hop, which needs its origin: gr_hop_verify_bound). */
int gr_hop_verify(const Gridrelay__Hop *hop, const char *event_id);

/* Checks a hop of either version: a version-2 hop over event_id and the
 * digest of origin[0..origin_len), an older one over event_id alone. */
int gr_hop_verify_bound(const Gridrelay__Hop *hop, const char *event_id, const uint8_t *origin,
                        size_t origin_len);

/* The digest a version-2 hop binds: BLAKE2b-256 of the origin envelope's
 * bytes. A reader that is not given the origin itself (the case's detail,
 * which must not hand out a confidential reporter's envelope) gets this. */
#define GR_HOP_DIGEST_BYTES 32
int gr_hop_origin_digest(uint8_t out[GR_HOP_DIGEST_BYTES], const uint8_t *origin,
                         size_t origin_len);

/* As gr_hop_verify_bound() with the origin's digest already taken (NULL
 * for a version-1 hop). */
int gr_hop_verify_digest(const Gridrelay__Hop *hop, const char *event_id,
                         const uint8_t *digest);

#endif
