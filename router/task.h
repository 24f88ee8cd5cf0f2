/* Department task deadlines: when a task a department holds is overdue,
 * and what then.
 *
 * Pure, like decide.h: no I/O, no clock (now is a parameter), no
 * allocation. The daemon calls gr_task_decide() when a task is dispatched,
 * claimed, or its due time comes, carries out the action and re-arms the
 * task's timer for decision.due_ms.
 *
 * A task has two phases, each with its own limit per severity: open
 * (dispatched, must be claimed within claim_within_ms of dispatched_ms) and
 * claimed (must be completed within complete_within_ms of claimed_ms). The
 * first time a phase's deadline passes the department is urged (督办: a
 * supervision notice to it and a flag on the case) and given one more
 * period of the same length; when that passes too, the case goes up to the
 * parent tier. At the top tier there is nobody to send it to, so the
 * department is urged again every period. Exactly at the deadline counts as
 * overdue, as in decide.h. However late the check comes (a node down for
 * hours, a clock jump), a period brings one notice: the next one is due a
 * whole period after the last (urged_ms), never several in a row.
 *
 * Thread safety: no state; safe from any thread.
 */
#ifndef GR_TASK_H
#define GR_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include "decide.h"

/* Time limits per severity, in milliseconds; 0 = none. [1..3] used. */
typedef struct {
    uint64_t claim_within_ms[GR_ROUTE_SEV_SLOTS];     /* 签收 */
    uint64_t complete_within_ms[GR_ROUTE_SEV_SLOTS];  /* 办结 */
} gr_task_limits_t;

typedef struct {
    gr_severity_t severity;
    bool claimed;
    uint64_t dispatched_ms;
    uint64_t claimed_ms;      /* meaningful when claimed */
    uint32_t urged;           /* notices already sent in the current phase */
    uint64_t urged_ms;        /* when the last of them was sent (0: none) */
} gr_task_facts_t;

typedef enum {
    GR_TASK_WAIT = 0,         /* not overdue (or no limit): re-check at due_ms */
    GR_TASK_URGE,             /* send the department a supervision notice */
    GR_TASK_ESCALATE          /* overdue again: send the case to the parent */
} gr_task_action_t;

typedef struct {
    gr_task_action_t action;
    gr_reason_t reason;       /* NOT_ACCEPTED_IN_TIME (open task) or
                               * NOT_RESOLVED_IN_TIME (claimed), for URGE and
                               * ESCALATE; NONE for WAIT */
    bool at_top;              /* URGE instead of ESCALATE: no parent */
    uint64_t due_ms;          /* next check: the current deadline for WAIT,
                               * the extended one after an URGE; 0 = none */
} gr_task_decision_t;

/* Decides what to do about one task at now_ms (see above).
 *
 * Returns 0, or -1 when an argument is NULL or the severity is not 1..3
 * (out is zeroed). Deadline sums saturate at UINT64_MAX. */
__attribute__((warn_unused_result))
int gr_task_decide(gr_task_decision_t *out, const gr_tier_t *tier,
                   const gr_task_limits_t *limits, const gr_task_facts_t *facts,
                   uint64_t now_ms);

#endif
