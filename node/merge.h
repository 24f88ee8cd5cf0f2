/* Duplicate reports of one incident (合并).
 *
 * Candidates: a new report (or escalation) of a category is linked to the
 * first open case of the same category within the [merge] window and
 * distance (router/duplicate.h) as a candidate duplicate; a hint shown in
 * gridctl show and list, nothing more.
 *
 * Merge: an operator's CaseAction MERGE makes report B part of case A
 * (both held here, open, not escalated, same category). B keeps its
 * record, its reporter's signed envelope and its timeline; it stops having
 * a lifecycle of its own (the router is not asked about it: no deadline,
 * no timer, no escalation, nothing in the supervision list), and both
 * timelines record the merge. When A is resolved (here, by a department,
 * or by the result from above), every report merged into it is resolved
 * with A's result and its result goes back where it came from, like any
 * case's (down the tier links to its own origin). UNMERGE gives B its own
 * lifecycle back: the router is asked again at once.
 *
 * Up the tiers: when A is escalated, the reports merged into it ride in
 * its Escalate (Escalate.merged, MergedReport); the parent stores each as
 * a case merged into A there, with the merge made below (merged_at), and
 * sends no result of its own for them: the node that merged them resolves
 * them when A's result reaches it.
 *
 * This module uses the engine and the store only; results are sent by
 * node/flow from the engine's agenda (GR_NEXT_RESULT), so it calls neither
 * tier links nor departments.
 *
 * Thread safety: the daemon's main thread only.
 */
#ifndef GR_MERGE_H
#define GR_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "engine.h"
#include "store.h"

/* Whether rec is merged into another case (no lifecycle of its own). */
bool gr_merge_is_merged(const Gridrelay__StoredEvent *rec);

/* The open case held here that ev is a candidate duplicate of, into out
 * (at least GR_EVENT_ID_MAX + 1 bytes): the earliest received one that
 * matches, is not escalated (it would be merged where it is held) and is
 * not itself merged; "" when none (or [merge] is off).
 * Looks at most at 2,000 cases of ev's category received since the
 * window began. Returns 0 or a store error. */
int gr_merge_find_candidate(const gr_config_t *cfg, gr_txn_t *txn, const Gridrelay__Event *ev,
                            char *out, size_t out_len);

/* A CaseAction MERGE (rec into ca->target) or UNMERGE (rec) from actor.
 * Returns 0, or GR_EINVAL (into itself, across categories),
 * GR_ENOTFOUND (no such target here), GR_EPERM (a state or holder that
 * cannot merge) with refusal filled and nothing changed, or a store
 * error. */
int gr_merge_action(gr_engine_t *engine, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                    const Gridrelay__CaseAction *ca, const gr_actor_t *actor, uint64_t now_ms,
                    char *refusal, size_t refusal_len);

/* Joins merged (just stored here from a lower tier's Escalate) to into,
 * which absorbed it at merged_at: both records and timelines. */
int gr_merge_join_from_below(gr_engine_t *engine, gr_txn_t *txn, Gridrelay__StoredEvent *merged,
                             Gridrelay__StoredEvent *into, const Gridrelay__MergedReport *m,
                             const gr_actor_t *actor, uint64_t now_ms);

/* rec (a case reports were merged into) was just resolved or fed back:
 * resolves each report still merged into it with its result, and puts
 * their results on the agenda. */
int gr_merge_resolve_merged(gr_engine_t *engine, gr_txn_t *txn, const Gridrelay__StoredEvent *rec,
                            uint64_t now_ms);

/* The reports merged into rec, as they ride up in its Escalate. */
typedef struct {
    Gridrelay__MergedReport **items;    /* n pointers into storage */
    size_t n;
    Gridrelay__MergedReport *storage;
    Gridrelay__Resolved *resolved;
    Gridrelay__StoredEvent **recs;      /* the merged records, owned */
} gr_merge_riders_t;

/* Fills riders (zeroed by the caller) with rec's open merged reports (at
 * most GR_CHECK_MERGED_MAX; more stay here, logged). Returns 0 or an
 * error; clear riders either way. */
int gr_merge_riders_collect(gr_txn_t *txn, const Gridrelay__StoredEvent *rec,
                            gr_merge_riders_t *riders);

/* Records in each rider's timeline that it went up with rec to target. */
int gr_merge_riders_sent(gr_engine_t *engine, gr_txn_t *txn, gr_merge_riders_t *riders,
                         const char *into, const char *target, uint64_t now_ms);

void gr_merge_riders_clear(gr_merge_riders_t *riders);

#endif
