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

/* Fills hop->signer and hop->signature (64 bytes written into sig_buf,
 * which must outlive the hop) for the event id, using kp. The other hop
 * fields must be set first. Returns 0 or GR_EINVAL / GR_ENOMEM. */
int gr_hop_sign(Gridrelay__Hop *hop, const char *event_id, const gr_keypair_t *kp,
                uint8_t sig_buf[GR_SIGNATURE_BYTES]);

/* Checks hop's signature against hop->signer for event_id. Returns 0 or
 * GR_ESIGNATURE (GR_EDECODE for a malformed hop). */
int gr_hop_verify(const Gridrelay__Hop *hop, const char *event_id);

#endif
