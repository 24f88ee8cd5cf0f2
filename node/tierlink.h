/* Tier links, as cases see them: what moves a case between this node and
 * the nodes above and below it. Up: an escalation with the reporter's
 * envelope and this node's signed hop. Down: an assignment (交办) to a
 * child, the result (反馈) to where the case came from. In: escalations
 * from children, assignments, results and supervision (督办) from the
 * parent, and the children's status streams.
 *
 * Every change goes through the case engine (engine.h); messages are
 * queued in the outbox there, in the caller's transaction, and the links
 * (node/peers, broker/link) deliver them after the commit. Outbox peers are
 * named "parent", "skip" (越级直报 target) and each child's node id.
 *
 * Thread safety: the daemon's main thread only.
 */
#ifndef GR_TIERLINK_H
#define GR_TIERLINK_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "counters.h"
#include "decide.h"
#include "engine.h"
#include "request.h"

typedef struct gr_tierlink gr_tierlink_t;

/* cfg, engine and counters must outlive it. NULL when out of memory. */
gr_tierlink_t *gr_tierlink_new(const gr_config_t *cfg, gr_engine_t *engine,
                               gr_counters_t *counters);
void gr_tierlink_destroy(gr_tierlink_t **self_p);

/* ---- requests from other nodes (node/requests.c calls these after its
 * checks; each fills req->reply and returns 0, or a store failure) ---- */

int gr_tierlink_escalate_in(gr_tierlink_t *self, const gr_request_t *req);

/* At the top of the tree (no [parent]), checks ahead what
 * gr_tierlink_escalate_in() would verify with Ed25519 in the body of an
 * Escalate (the reporter's signature, the earlier hops' signatures), so
 * that the turn's pool threads do it in parallel instead of the main
 * thread one after another. Fills out (all false when body is something
 * else, below the top, or a check fails: the handler then checks, and
 * answers, as ever). Pure: reads cfg only; any thread. */
void gr_tierlink_preverify(const gr_config_t *cfg, const Gridrelay__Body *body,
                           gr_preverified_t *out);
int gr_tierlink_assign_in(gr_tierlink_t *self, const gr_request_t *req);
int gr_tierlink_feedback_in(gr_tierlink_t *self, const gr_request_t *req);
int gr_tierlink_supervise_in(gr_tierlink_t *self, const gr_request_t *req);

/* ---- cases going out ---- */

/* Sends rec up as d says (ESCALATE to the parent, SKIP_LEVEL to the
 * skip-level ancestor with an information copy to the parent), with this
 * node's signed hop on the path and why in the timeline. */
int gr_tierlink_send_up(gr_tierlink_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                        const gr_decision_t *d, const char *why, uint64_t now_ms);

/* An assignment down (交办): to which child, with what instruction, by whom. */
typedef struct {
    const char *child;      /* a child's node id */
    const char *text;       /* the instruction, or NULL */
    const gr_actor_t *actor; /* who assigns; NULL for the node itself */
} gr_assignment_t;

/* Hands rec down to as->child with the node's resolve time limit.
 * GR_EINVAL with refusal filled when as->child is not a child of this
 * node, GR_EPERM when the case was escalated (the superior owns it). */
int gr_tierlink_assign_down(gr_tierlink_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                            const gr_assignment_t *as, uint64_t now_ms, char *refusal,
                            size_t refusal_len);

/* Sends the result of a case resolved at or above this node to where it
 * came from (the child that escalated it, the parent that assigned it, the
 * child it was assigned to), except from_peer (NULL for none), whose
 * result it is. */
int gr_tierlink_send_result(gr_tierlink_t *self, gr_txn_t *txn, const Gridrelay__StoredEvent *rec,
                            const char *from_peer, uint64_t now_ms);

/* ---- supervision (督办) of cases held below ---- */

/* Sends an urge for event_id down to peer (a child), in the outbox. */
int gr_tierlink_urge_down(gr_tierlink_t *self, gr_txn_t *txn, const char *peer,
                          const Gridrelay__Urge *urge);

/* An Urge from the parent (or skip-level ancestor): recorded in the case's
 * timeline when held here (its department told, on the agenda), passed on
 * down when the case is below. */
int gr_tierlink_urge_in(gr_tierlink_t *self, const gr_request_t *req);

/* ---- status from children ---- */

/* A status update from a child (live over pub/sub, or in a catch-up
 * batch). Stores it in the view, relays it upward in this node's own
 * stream, and tracks the child's sequence; an update that fails its
 * checks is counted, logged and passed over. Returns 0, or 1 when a gap
 * was seen (the caller asks the child to catch up from
 * gr_tierlink_child_status_seq()), or a negative store error. */
int gr_tierlink_status_in(gr_tierlink_t *self, gr_txn_t *txn, const char *child,
                          const Gridrelay__StatusUpdate *update, uint64_t now_ms);

/* Highest contiguous status seq received from child. */
int gr_tierlink_child_status_seq(gr_tierlink_t *self, gr_txn_t *txn, const char *child,
                                 uint64_t *seq);

#endif
