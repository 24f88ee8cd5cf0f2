/* Supervision (督查): what is overdue about one case, for the list a
 * superior works through each day (gridctl supervise).
 *
 * Pure, like decide.h: facts and the time in, findings out; no I/O, no
 * clock, no allocation. The node feeds it its own cases and, from its
 * view, every case of the tiers below (the status stream carries each
 * case's milestones).
 *
 * A case can be overdue in several ways at once:
 *  - not accepted in time: still reported at its deadline (due_ms);
 *  - not resolved in time: accepted, dispatched, assigned, in progress or
 *    returned, at its deadline;
 *  - a department task past its deadline (task_due_ms);
 *  - not fed back in time: resolved for a case that came from below, and
 *    its origin has not had the result feedback_within_ms after;
 *  - returned more than max_returns times (a case nobody takes on).
 * Exactly at a deadline counts as overdue, as in decide.h.
 *
 * Thread safety: no state; safe from any thread.
 */
#ifndef GR_SUPERVISE_H
#define GR_SUPERVISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decide.h"

typedef struct {
    uint32_t max_returns;          /* 0 = never flagged for returns */
    uint64_t feedback_within_ms;   /* 0 = feedback not supervised */
} gr_supervise_limits_t;

typedef struct {
    gr_case_state_t state;
    uint64_t due_ms;               /* the current state's deadline; 0 = none */
    uint64_t task_due_ms;          /* the lead department task's; 0 = none */
    uint64_t resolved_ms;
    uint32_t returns;
    bool from_below;               /* it came up from a lower tier */
    bool origin_fed_back;          /* its origin has had the result */
} gr_supervise_facts_t;

typedef enum {
    GR_OVERDUE_NOT_ACCEPTED = 1,
    GR_OVERDUE_NOT_RESOLVED,
    GR_OVERDUE_NOT_FED_BACK,
    GR_OVERDUE_TASK,
    GR_OVERDUE_RETURNED,
} gr_overdue_t;

typedef struct {
    gr_overdue_t kind;
    uint64_t late_ms;              /* past the deadline; 0 for returns */
} gr_overdue_item_t;

#define GR_SUPERVISE_MAX_ITEMS 4

/* Writes what is overdue about the case at now_ms into out (at most
 * GR_SUPERVISE_MAX_ITEMS) and returns how many; 0 when nothing is. */
size_t gr_supervise(const gr_supervise_facts_t *facts, const gr_supervise_limits_t *limits,
                    uint64_t now_ms, gr_overdue_item_t out[GR_SUPERVISE_MAX_ITEMS]);

/* Lower-case names ("not_accepted_in_time", ...); never NULL. */
const char *gr_overdue_name(gr_overdue_t kind);

#endif
