/* Confidential categories in transit (issue 14, PROTOCOL.md 12.1): the
 * personal fields of a report whose category [confidential_seal] names
 * travel up the tiers sealed to one node's key, so that the nodes in
 * between store, route, escalate and count the case without reading them.
 *
 * At the origin node, gr_confseal_make() turns the reporter's signed
 * Report envelope into the envelope that goes up instead: signed by this
 * node, its event holding only id, origin node, category, severity,
 * creation time and grid code (title "confidential"), and the reporter's
 * envelope byte for byte in Event.sealed, a libsodium sealed box to the
 * X25519 form of the recipient's Ed25519 key. At the recipient,
 * gr_confseal_open() opens the box with the node's own secret key, checks
 * the reporter's signature and that the sealed event is the one the
 * envelope names, and puts the reporter's event in its place; anywhere
 * else the event stays as it came. While the node rotates its own key,
 * [node] previous_secret_key opens what was sealed to the old one.
 *
 * Thread safety: reentrant; the config is only read.
 */
#ifndef GR_CONFSEAL_H
#define GR_CONFSEAL_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "envelope.h"

/* The title a sealed case carries where it cannot be read. */
#define GR_CONFSEAL_TITLE "confidential"

/* For the report req_env (the reporter's envelope as received, frame of
 * frame_len bytes) whose event, as this node resolved it, is event: when
 * cfg seals event's category, *out gets the envelope to send up (malloc'd,
 * *out_len bytes), else *out is NULL. Returns 0, GR_ENOMEM or GR_EKEY (the
 * recipient's key does not convert). */
int gr_confseal_make(const gr_config_t *cfg, const Gridrelay__Envelope *req_env,
                     const uint8_t *frame, size_t frame_len, const Gridrelay__Event *event,
                     uint8_t **out, size_t *out_len);

/* For an origin envelope opened from a tier link (outer; its event
 * checked and resolved with resolved): when the event is sealed to this
 * node's key (or its previous key, cfg->has_previous_keys), replaces it in outer with the reporter's event from the box.
 * Returns 0 (done, or nothing to open here), GR_EINVAL with why (the box
 * does not open, the reporter's signature fails, the events differ),
 * GR_ESIGNATURE with why (it names this node's id with a key the node no
 * longer holds: curable by previous_secret_key, so retried) or GR_ENOMEM. */
int gr_confseal_open(const gr_config_t *cfg, gr_opened_t *outer,
                     const Gridrelay__Resolved *resolved, uint64_t now_ms, char *why,
                     size_t why_len);

/* Whether the event came sealed (at the origin: whether it goes up
 * sealed). */
bool gr_confseal_is_sealed(const Gridrelay__Event *event);

#endif
