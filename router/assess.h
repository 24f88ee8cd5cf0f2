/* Assessment (考核): the figures a superior ranks its units by, from the
 * milestones of the cases each unit handled (gridctl rank).
 *
 * Pure, like decide.h: case records and the time in, figures out; no I/O,
 * no clock, no allocation. The node feeds it one record per case and unit
 * (its own cases, the cases of the tiers below from its view, and each
 * department's turn at a case from the timelines) and ranks the units.
 *
 * Judging one case at a unit, as of cut_ms (the end of the period, or the
 * time of the query when that is earlier; a milestone after cut_ms has not
 * happened yet, so a past period gives the same figures whenever asked):
 *  - taken on: accepted_ms, or resolved_ms when it was resolved without an
 *    explicit acceptance (a department completing an unclaimed task);
 *  - accepted on time: taken on before accept_due_ms (exactly at the
 *    deadline is late, as in decide.h); judged once taken on, or once the
 *    deadline passed while the unit still held it;
 *  - resolved on time: resolved before resolve_due_ms; judged once
 *    resolved, or once the deadline passed while the unit held it;
 *  - "while the unit held it": until left_ms when it handed the case on
 *    unresolved (escalated, returned, withdrawn), else until cut_ms. A case
 *    handed on before its deadline is not judged for that step; one taken
 *    over because the deadline had passed (督办) counts as late;
 *  - overdue: late for acceptance or for resolution (counted once);
 *  - first-time resolution: resolved with no return (退回) on the way;
 *  - fed back: resolved, and the reporter's node had the result (fed_back_ms)
 *    by cut_ms;
 *  - handling time: resolved_ms - received_ms of the resolved cases.
 * A deadline of 0 means no limit: the step is on time once done, and never
 * late while not done. returns and urges are summed as recorded.
 *
 * Score: the weighted mean of the rates (percent) accept on time, resolve
 * on time, first-time resolution, feedback, and 100 - the overdue share of
 * received cases, each over its judged cases; a rate with nothing to judge
 * is left out and the other weights carry the score. 0 when none applies.
 *
 * Thread safety: no state; safe from any thread.
 */
#ifndef GR_ASSESS_H
#define GR_ASSESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decide.h"

/* One case at one unit; every time in ms since the epoch, 0 = not (yet). */
typedef struct {
    uint64_t received_ms;
    uint64_t accept_due_ms;
    uint64_t accepted_ms;
    uint64_t resolve_due_ms;
    uint64_t resolved_ms;
    uint64_t fed_back_ms;      /* the result reached the reporter's node */
    uint64_t left_ms;          /* handed on unresolved */
    uint32_t returns;
    uint32_t urges;
} gr_assess_case_t;

/* Counts over a unit's cases. */
typedef struct {
    uint64_t received;
    uint64_t accept_judged, accept_on_time;
    uint64_t resolve_judged, resolve_on_time;
    uint64_t resolved, first_time, fed_back;
    uint64_t overdue, returns, urges;
    uint64_t handling_sum_ms;
} gr_assess_tally_t;

/* Weights of the score's rates ([assessment] in the node's config). */
typedef struct {
    unsigned accept, resolve, first_time, feedback, overdue;
} gr_assess_weights_t;

/* The defaults: accept 20, resolve 30, first_time 15, feedback 15,
 * overdue 20 (they sum to 100). */
#define GR_ASSESS_WEIGHTS_DEFAULT { 20, 30, 15, 15, 20 }

typedef struct {
    gr_assess_tally_t tally;
    double accept_pct, resolve_pct, first_time_pct, feedback_pct, overdue_pct;  /* 0 when not judged */
    uint64_t avg_handling_ms;  /* rounded down; 0 with nothing resolved */
    uint64_t p90_handling_ms;  /* nearest rank: the ceil(0.9 n)-th smallest */
    double score;              /* 0..100 */
} gr_assess_figures_t;

/* The deadlines of a case at a node with limits `deadlines` (decide.h):
 * acceptance received_ms + accept_within; resolution (accepted_ms, or
 * received_ms when 0) + resolve_within; each capped at assigned_due_ms when
 * the parent set one (交办时限), 0 when there is no limit. Saturates. */
void gr_assess_dues(const gr_deadlines_t *deadlines, gr_severity_t severity,
                    uint64_t received_ms, uint64_t accepted_ms, uint64_t assigned_due_ms,
                    uint64_t *accept_due_ms, uint64_t *resolve_due_ms);

/* Adds case c, judged as of cut_ms, to *t. Returns true when it was
 * resolved by cut_ms, with *handling_ms (not NULL) its handling time, for
 * the caller's list of handling times; false otherwise. */
bool gr_assess_add(gr_assess_tally_t *t, const gr_assess_case_t *c, uint64_t cut_ms,
                   uint64_t *handling_ms);

/* The figures of tally t with the n handling times (sorted here, in
 * place; n should equal t->resolved) and weights w. */
void gr_assess_finish(gr_assess_figures_t *out, const gr_assess_tally_t *t, uint64_t *handling_ms,
                      size_t n, const gr_assess_weights_t *w);

/* Ranking order: the higher score first, then more cases received; 0 when
 * they tie (the caller then orders by unit name). */
int gr_assess_order(const gr_assess_figures_t *a, const gr_assess_figures_t *b);

#endif
