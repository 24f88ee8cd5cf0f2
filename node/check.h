/* Request checks: every field of a request the node accepts, checked
 * before anything is written or looked up, so that a malformed field is
 * that request's ERR_INVALID and never a store error (an over-long id is
 * an LMDB key LMDB refuses) nor a silently odd record.
 *
 * What is checked here does not need the store or the node's state: ids
 * are ids ([A-Za-z0-9._-], 1..64 bytes), enums are in range, texts are
 * within their limits, times are plausible. Strings are UTF-8 without NUL
 * already (broker/text.h). Whether the signer may do it, and whether the
 * case allows it, are the handlers' questions.
 *
 * Thread safety: pure functions.
 */
#ifndef GR_CHECK_H
#define GR_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gridrelay.pb-c.h"

/* The free text of an action (a reason, a note, a result). */
#define GR_CHECK_TEXT_MAX 16384
/* How many hops a path may have: far more tiers than any grid has. */
#define GR_CHECK_HOPS_MAX 16
#define GR_CHECK_MERGED_MAX 32   /* merged reports riding up in one Escalate (合并) */

/* Checks the fields of body, of whatever kind a node accepts as a request
 * or a tier-link message. Status updates are checked one by one
 * (gr_check_status_update()), since one bad item must not hold up a
 * child's whole stream. now_ms bounds the times. Returns 0, or
 * GR_EINVAL with the reason in why (which names fields, never echoes
 * their contents). */
int gr_check_body(const Gridrelay__Body *body, uint64_t now_ms, char *why, size_t why_len);

/* Checks one status update from a child. */
int gr_check_status_update(const Gridrelay__StatusUpdate *update, char *why, size_t why_len);

/* Whether s is an id ([A-Za-z0-9._-], 1..64 bytes), or empty when
 * optional. */
bool gr_check_id(const char *s, bool optional);

#endif
