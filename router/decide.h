/* Routing decisions: what a node does next with a case.
 *
 * This module is pure. It reads the facts the daemon hands it and returns a
 * decision; it touches no socket, store or clock (the current time is a
 * parameter), allocates nothing and depends on nothing else in the project,
 * so every rule can be tested to the boundary millisecond. The daemon calls
 * gr_decide() whenever a case changes or its due time comes, carries out the
 * action, records the reason in the case timeline (gr_*_name() give the
 * words) and re-arms its timer for decision.due_ms.
 *
 * The rules follow the grid-governance case lifecycle: a case is handled at
 * the lowest tier that has the authority (属地管理); what a tier cannot
 * handle goes up; a case not accepted or not resolved in time goes up
 * with a supervision flag (督办); special items skip the township (越级直报);
 * a case handed down by the parent (上级交办) goes back up only by return
 * (退回), never because of authority.
 *
 * gr_decide() applies, in this order, the first rule that fires:
 *
 *   1. state resolved, fed_back, closed or escalated: NONE (nothing to do
 *      here; the case is finished or belongs to the parent now).
 *   2. an operator asked to escalate: ESCALATE, reason OPERATOR.
 *   3. the category's authority for this severity is above the node's level,
 *      the node has a parent and the case was not assigned down by it:
 *      ESCALATE, reason OUTSIDE_AUTHORITY; but SKIP_LEVEL when the category
 *      is `direct`, the node is at level 1 and the authority is level 3 or
 *      higher.
 *   4. returned from below with no untried department or child left here:
 *      ESCALATE, reason RETURNED_FROM_BELOW.
 *   5. the deadline of the current state has passed (now >= due: exactly at
 *      the deadline counts as overdue): ESCALATE with supervise set, reason
 *      NOT_ACCEPTED_IN_TIME (state reported) or NOT_RESOLVED_IN_TIME (states
 *      accepted, dispatched, assigned, in_progress, returned).
 *   6. returned from below with another department or child still untried,
 *      or a reported or accepted case that a department here takes
 *      (untried_left: the node's routing table names one): ASSIGN_DOWN;
 *      gr_dept_next() names the department. Deadlines (rule 5) win over
 *      this, so an overdue case is not passed round departments again.
 *   7. otherwise KEEP, with due_ms = the current state's deadline.
 *
 * At the top tier (no parent) rules 2, 4 and 5 cannot send the case anywhere:
 * the decision is KEEP with at_top set and the reason of the rule that fired
 * (rule 5 still sets supervise: the case must be urged, here). Rule 3 does not
 * fire at the top: the top node is the highest authority there is.
 *
 * Deadlines (办结时限): a reported case must be accepted within
 * accept_within_ms of received_ms (when this node got it); a case in any
 * other live state must be resolved within resolve_within_ms of accepted_ms,
 * or of received_ms when accepted_ms is 0. A limit of 0 means no deadline.
 * A deadline sum that would overflow saturates at UINT64_MAX. A case the
 * parent assigned down with a time limit (assigned_due_ms) is due by that
 * time too, in every live state: the earlier of the two deadlines counts.
 *
 * Thread safety: no state at all; every function is safe from any thread.
 */
#ifndef GR_DECIDE_H
#define GR_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Arrays indexed by severity have this many slots; [0] is unused. The size
 * matches GR_SEVERITY_LEVELS in node/catalogue.h so a category's authority
 * array copies over as it is. */
#define GR_ROUTE_SEV_SLOTS 4

/* Severity; the values equal Gridrelay__Severity's. */
typedef enum {
    GR_SEV_ROUTINE = 1,
    GR_SEV_URGENT = 2,           /* 紧急 */
    GR_SEV_EXTRA_URGENT = 3      /* 特急 */
} gr_severity_t;

/* Where a case stands at this node; the values equal Gridrelay__Status's. */
typedef enum {
    GR_CASE_REPORTED = 1,        /* 上报: stored here, not yet accepted */
    GR_CASE_ACCEPTED = 2,        /* 受理 */
    GR_CASE_DISPATCHED = 3,      /* 分流 to a department */
    GR_CASE_ASSIGNED = 4,        /* 交办 to a child node */
    GR_CASE_IN_PROGRESS = 5,     /* 处置 */
    GR_CASE_RESOLVED = 6,        /* 办结 */
    GR_CASE_FED_BACK = 7,        /* 反馈 */
    GR_CASE_CLOSED = 8,
    GR_CASE_ESCALATED = 9,       /* handed upward: the parent has it now */
    GR_CASE_RETURNED = 10        /* 退回 to this node, to be handled again */
} gr_case_state_t;

typedef enum {
    GR_ACT_NONE = 0,       /* finished or gone up: nothing to do, no timer */
    GR_ACT_KEEP,           /* handle here; re-check at due_ms */
    GR_ACT_ESCALATE,       /* send to the parent */
    GR_ACT_SKIP_LEVEL,     /* 越级直报: send to the grandparent, information
                            * copy to the parent. A daemon whose parent is
                            * the top node sends to the parent instead. */
    GR_ACT_ASSIGN_DOWN     /* give it to the next untried department or
                            * child (gr_dept_next()); re-check at due_ms */
} gr_action_t;

/* Why a case goes up (or, at the top, would go up). */
typedef enum {
    GR_REASON_NONE = 0,
    GR_REASON_OUTSIDE_AUTHORITY,     /* above this tier's authority */
    GR_REASON_NOT_ACCEPTED_IN_TIME,  /* 超时未受理 */
    GR_REASON_NOT_RESOLVED_IN_TIME,  /* 超时未办结 */
    GR_REASON_OPERATOR,              /* an operator asked */
    GR_REASON_RETURNED_FROM_BELOW    /* 退回 and nobody left here to try */
} gr_reason_t;

/* The node deciding. */
typedef struct {
    int level;          /* 1 = village/community, 2 = township, 3 = district,
                         * 4 = city...; >= 1 */
    bool has_parent;    /* false at the top tier */
} gr_tier_t;

/* The case's category: the lowest tier level that may resolve it, per
 * severity (same layout as gr_category_t.authority), and whether a village
 * reports it straight to the district. */
typedef struct {
    int level[GR_ROUTE_SEV_SLOTS];  /* [1..3] used, each >= 1 */
    bool direct;                    /* 越级直报 */
} gr_authority_t;

/* Time limits per severity, in milliseconds; 0 = no deadline. */
typedef struct {
    uint64_t accept_within_ms[GR_ROUTE_SEV_SLOTS];   /* [1..3] used */
    uint64_t resolve_within_ms[GR_ROUTE_SEV_SLOTS];  /* [1..3] used */
} gr_deadlines_t;

/* What the daemon knows about one case at this node. */
typedef struct {
    gr_severity_t severity;
    gr_case_state_t state;
    uint64_t received_ms;      /* when this node got it (ms since the epoch) */
    uint64_t accepted_ms;      /* when this node accepted it; 0 = not yet */
    bool operator_escalate;    /* an operator asked to send it up */
    bool assigned_down;        /* this node got it from its parent (交办) */
    bool returned_from_below;  /* the child or department it was given to
                                * gave it back (退回) */
    bool untried_left;         /* a department or child here may (still)
                                * take it: gr_dept_next() found one */
    uint64_t assigned_due_ms;  /* the time limit the parent set when it
                                * assigned the case down (交办时限); 0 = none */
} gr_case_facts_t;

typedef struct {
    gr_action_t action;
    gr_reason_t reason;  /* the rule that fired; NONE for KEEP by rule 7,
                          * ASSIGN_DOWN and NONE */
    bool supervise;      /* 督办: reason is NOT_ACCEPTED_IN_TIME or
                          * NOT_RESOLVED_IN_TIME; record an urge */
    bool overdue;        /* the current state's deadline has passed, whatever
                          * rule fired (an operator may escalate an overdue
                          * case; at the top, rule 2 or 4 may hide rule 5) */
    bool at_top;         /* a rule would send the case up but the node has
                          * no parent, so the action is KEEP */
    uint64_t due_ms;     /* re-check at this time: the current state's
                          * deadline, for KEEP and ASSIGN_DOWN when it is
                          * still ahead (> now); else 0 (no timer) */
} gr_decision_t;

/* Decides what this node does with a case at now_ms (see the rules above).
 *
 * out        receives the decision; fully written on success, zeroed on
 *            error.
 * tier       the deciding node.
 * authority  the case's category.
 * deadlines  the node's time limits.
 * facts      the case.
 *
 * Returns 0, or -1 when an argument is NULL or out of range (severity not
 * 1..3, unknown state, tier level < 1, authority level < 1 for the case's
 * severity); the daemon reports that as GR_EINVAL. */
__attribute__((warn_unused_result))
int gr_decide(gr_decision_t *out, const gr_tier_t *tier,
              const gr_authority_t *authority, const gr_deadlines_t *deadlines,
              const gr_case_facts_t *facts, uint64_t now_ms);

/* Returns the deadline of the case's current state: received_ms +
 * accept_within_ms for a reported case, (accepted_ms, or received_ms when
 * that is 0) + resolve_within_ms for accepted, dispatched, assigned,
 * in_progress and returned ones, saturating at UINT64_MAX. Returns 0 (no
 * deadline) when the limit is 0, the state has no deadline (resolved,
 * fed_back, closed, escalated), an argument is NULL or the severity or state
 * is out of range. */
uint64_t gr_deadline_due(const gr_deadlines_t *deadlines,
                         const gr_case_facts_t *facts);

/* True when the case's current state has a deadline and now_ms >= it. */
bool gr_overdue(const gr_deadlines_t *deadlines, const gr_case_facts_t *facts,
                uint64_t now_ms);

/* Department routing (分流) after a return: returns the first of candidates
 * (lead unit first, then alternates, in the catalogue's order) that is not
 * in tried, compared as exact strings; NULL entries in either list are
 * skipped. Returns NULL when there is none left (empty list, all tried): the
 * case then goes up (rule 4 with untried_left = false). O(n * m): both lists
 * are a handful of codes. The result points into candidates. */
const char *gr_dept_next(const char *const *candidates, size_t ncandidates,
                         const char *const *tried, size_t ntried);

/* Short lower-case names for logs and timelines, e.g. "escalate",
 * "not_accepted_in_time", "in_progress", "extra_urgent". Never NULL: out of
 * range values give "unknown". */
const char *gr_action_name(gr_action_t action);
const char *gr_reason_name(gr_reason_t reason);
const char *gr_case_state_name(gr_case_state_t state);
const char *gr_severity_name(gr_severity_t severity);

#endif
