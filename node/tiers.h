/* Tiers: what a node does with cases between tiers (escalate up, assign
 * down, feed back, supervise, publish status), inside the daemon's write
 * transaction.
 *
 * Every state change goes through one function that asks the lifecycle
 * table (cases.h), appends the timeline entry, records the status update
 * for the parent (statuslog, published after commit) and re-arms the
 * case's timer from the router's decision (router/decide.h). Messages for
 * other nodes are sealed here and put in the store's outbox in the same
 * transaction, so a message exists exactly when the change that caused it
 * was committed; the links (broker/link.h) deliver them afterwards.
 *
 * Outbox peers are named "parent", "skip" (越级直报 target) and each
 * child's node id.
 *
 * Thread safety: the daemon's main thread only.
 */
#ifndef GR_TIERS_H
#define GR_TIERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "envelope.h"
#include "intake.h"
#include "store.h"

typedef struct gr_tiers gr_tiers_t;

/* Where a verified request came from. */
typedef enum {
    GR_FROM_CLIENT = 0,  /* a reporter / operator on the request socket */
    GR_FROM_CHILD,       /* a configured child node (peer = its id) */
    GR_FROM_PARENT,      /* the parent, over the upward link */
    GR_FROM_SKIP,        /* the skip-level ancestor, over its link */
} gr_source_kind_t;

typedef struct gr_source {
    gr_source_kind_t kind;
    const char *peer;    /* node id for CHILD / PARENT / SKIP */
} gr_source_t;

/* Creates the tier logic for cfg (which must outlive it). */
gr_tiers_t *gr_tiers_new(const gr_config_t *cfg, gr_intake_t *intake);
void gr_tiers_destroy(gr_tiers_t **self_p);

/* Loads the persisted envelope sequence (call once, after the store is
 * open, in a read or write transaction). */
int gr_tiers_load(gr_tiers_t *self, gr_txn_t *txn);

/* The next sequence number for an envelope signed by this node: always
 * above every one used before, across restarts. */
uint64_t gr_tiers_next_seq(gr_tiers_t *self);

/* A new case was just created here (a report): decide what to do with it. */
int gr_tiers_on_new_case(gr_tiers_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                         uint64_t now_ms);

/* Handles a state-changing request other than Report (CaseAction,
 * Escalate, Assign, Feedback, Supervise). Dedup and replay were checked by
 * the caller. Returns 0 with a reply, or a store failure code (the batch
 * is redone). */
int gr_tiers_handle(gr_tiers_t *self, gr_txn_t *txn, const gr_opened_t *request,
                    const gr_source_t *source, uint64_t now_ms, gr_reply_t *reply);

/* Once per store: finds the cases an earlier version stored without a
 * severity (it applied the category's default at the origin only, and
 * the router refused them above it, so they were held and never routed),
 * gives them the values every tier now derives, records that in their
 * timelines and routes them. *repaired is how many. Later calls find the
 * store marked done and return at once. */
int gr_tiers_repair(gr_tiers_t *self, gr_txn_t *txn, uint64_t now_ms, size_t *repaired);

/* Fires every timer due at now_ms. */
int gr_tiers_fire_due(gr_tiers_t *self, gr_txn_t *txn, uint64_t now_ms);

/* Earliest timer, 0 when none (read in its own read transaction). */
uint64_t gr_tiers_next_due(gr_tiers_t *self, gr_txn_t *txn);

/* A status update from a child (live over pub/sub, or in a catch-up
 * batch). Stores it in the view, relays it upward in this node's own
 * status stream, and tracks the child's sequence. Returns 0, or 1 when a
 * gap was seen (the caller asks the child to catch up from
 * gr_tiers_child_status_seq()), or a negative store error. */
int gr_tiers_status_in(gr_tiers_t *self, gr_txn_t *txn, const char *child,
                       const Gridrelay__StatusUpdate *update, uint64_t now_ms);

/* Highest contiguous status seq received from child. */
int gr_tiers_child_status_seq(gr_tiers_t *self, gr_txn_t *txn, const char *child, uint64_t *seq);

/* After a successful commit: what to publish, in order (the daemon seals
 * and sends each packed Body): the status updates for the parent, and the
 * notices for departments, each with its topic ("dept/<code>/"); and
 * whether some outbox got entries. gr_tiers_effects_clear() after acting
 * on them or after an aborted transaction. */
typedef struct {
    uint8_t **bodies;
    size_t *lens;
    char **topics;      /* notices only; NULL entries for status */
    size_t count;
    size_t cap;
} gr_packed_list_t;

typedef struct {
    gr_packed_list_t status;
    gr_packed_list_t notices;
    bool kick_all;      /* some outbox got entries */
} gr_effects_t;

gr_effects_t *gr_tiers_effects(gr_tiers_t *self);
void gr_tiers_effects_clear(gr_tiers_t *self);

/* Where the effects stand, so that one request's can be taken back when
 * its writes are (intake.h: a refused request changes nothing). */
typedef struct {
    size_t status;
    size_t notices;
    bool kick_all;
} gr_effects_mark_t;

gr_effects_mark_t gr_tiers_effects_mark(const gr_tiers_t *self);
/* Drops every effect added since mark. */
void gr_tiers_effects_rollback(gr_tiers_t *self, const gr_effects_mark_t *mark);

#endif
