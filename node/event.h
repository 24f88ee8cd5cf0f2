/* Events as they enter a node: the checks every reported event must pass,
 * and the one function that fills in what a reporter may leave out.
 *
 * A reporter may omit the event id, the severity (the category's default
 * applies), the origin node and the creation time. The node where the
 * event is first stored fills them in; the reporter's signed envelope is
 * kept byte for byte, so every tier above must arrive at the same values
 * from it. They do so through gr_event_resolve(), used wherever an event
 * is opened (a report here, an escalation from a child, an assignment from
 * the parent), fed with the values the first node recorded in its signed
 * hop or in the parent's assignment (gridrelay.proto, Resolved).
 *
 * Thread safety: pure functions over their arguments.
 */
#ifndef GR_EVENT_H
#define GR_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "catalogue.h"
#include "gridrelay.pb-c.h"

/* Limits of the free-text and list fields (bytes; the frame limit bounds
 * the whole). */
#define GR_EVENT_TITLE_MAX 512
#define GR_EVENT_TEXT_MAX 16384
#define GR_EVENT_FIELD_MAX 512
#define GR_EVENT_TAGS_MAX 32
#define GR_EVENT_ATTACHMENTS_MAX 16
/* Times before this (2020-01-01) are no clock's honest reading. */
#define GR_EVENT_EPOCH_MS 1577836800000ull
/* How far ahead of this node's clock a reporter's may run. */
#define GR_EVENT_AHEAD_MS (24ull * 3600 * 1000)

/* Checks the fields of ev that do not depend on this node: id and origin
 * node absent or ids, category an id, severity 0..3, title 1..512 bytes,
 * other text within its limit, created time absent or between 2020 and a
 * day past now_ms, coordinates finite and on the globe, attachments with
 * 32-byte hashes. Strings are already UTF-8 without NUL (broker/text.h).
 * Returns 0, or GR_EINVAL with the reason in why. */
int gr_event_check(const Gridrelay__Event *ev, uint64_t now_ms, char *why, size_t why_len);

/* Fills in ev's missing id, severity, origin node and creation time: from
 * resolved when given (what the first node stored), else as the first node
 * does: a new id made at now_ms, the category's default severity, node_id,
 * now_ms. Fields ev already has are kept. Strings are strdup'ed into ev,
 * which must come from protobuf-c's unpack (its free_unpacked frees them).
 * Returns 0, GR_ECATEGORY when the category is not in catalogue (why says
 * so), GR_EINVAL when resolved contradicts itself, or GR_ENOMEM. */
int gr_event_resolve(Gridrelay__Event *ev, const Gridrelay__Resolved *resolved,
                     const gr_catalogue_t *catalogue, const char *node_id, uint64_t now_ms,
                     char *why, size_t why_len);

/* The resolved values of ev, pointing into ev, for the hop or assignment
 * that carries the case on. */
void gr_event_resolved_of(Gridrelay__Resolved *out, const Gridrelay__Event *ev);

#endif
