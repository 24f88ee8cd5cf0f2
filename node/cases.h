/* The case lifecycle, as one table: (state, action) -> next state.
 *
 * Every change of a case anywhere in the node asks this table first, so
 * that the rules live in one place (adding a state touches only cases.c).
 * States and actions are the wire enums (Gridrelay__Status,
 * Gridrelay__Action). Actions that record without moving the case
 * (deadline passed, urge, progress note) map a state to itself.
 *
 *   发现/上报 report      -> reported
 *   受理 accept           reported | returned -> accepted
 *   交办 assign (down)    reported | accepted | returned -> assigned
 *   分流 dispatch (dept)  reported | accepted | returned -> dispatched
 *   claim                 dispatched | assigned -> in_progress
 *   退回 return           dispatched | assigned | in_progress -> returned
 *   上报 escalate         any open state -> escalated
 *   办结 resolve          any open state but escalated -> resolved
 *   反馈 feedback         escalated | resolved -> fed_back
 *   close                 resolved | fed_back -> closed
 *   drop                  any state -> itself: an operator dropped a dead letter
 *                         of the case from the outbox (node/outbox.h)
 *
 * Thread safety: pure functions over constant tables.
 */
#ifndef GR_CASES_H
#define GR_CASES_H

#include <stdbool.h>

#include "gridrelay.pb-c.h"

/* The state after action in state from, or GRIDRELAY__STATUS__STATUS_UNSPECIFIED
 * when the action is not allowed there. */
Gridrelay__Status gr_case_next(Gridrelay__Status from, Gridrelay__Action action);

/* Whether the case still needs handling somewhere (not resolved, fed back
 * or closed). An escalated case is open: it waits for its result. */
bool gr_case_open(Gridrelay__Status status);

/* Lower-case names for logs and timelines ("in_progress", "escalate"). */
const char *gr_case_status_name(Gridrelay__Status status);
const char *gr_case_action_name(Gridrelay__Action action);

#endif
