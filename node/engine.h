/* The case engine: the one way a case is born and changes at this node.
 *
 * Every change asks the lifecycle table (cases.h), appends the timeline
 * entry, records the status update for the parent (the statuslog, then
 * published after the commit) and counts the action; a new case gets its
 * first entry the same way. The router (router/decide.h) is asked here
 * too, and what it says that the engine can do itself is done here: keep
 * the case with a timer, write the 督办 deadline entry. What needs another
 * module (send it up, give it to a department, end the departments'
 * tasks, send a result back) the engine puts on its agenda, which
 * node/flow carries out once the request that caused it is done, so that
 * the modules above the engine (tierlink, departments) never call each
 * other and nothing here calls up.
 *
 * Messages for other nodes are sealed here and put in the store's outbox
 * in the caller's transaction, so a message exists exactly when the change
 * that caused it was committed; status updates and department notices are
 * kept as effects, which the daemon publishes after the commit. The
 * effects and the agenda can be rolled back to a mark, together with the
 * nested transaction of a request that is refused.
 *
 * Thread safety: the daemon's main thread only.
 */
#ifndef GR_ENGINE_H
#define GR_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "decide.h"
#include "store.h"

typedef struct gr_engine gr_engine_t;

/* Timer kinds in the due index. */
enum { GR_DUE_DEADLINE = 1, GR_DUE_TASK = 2, GR_DUE_DAILY = 3 };

/* Who caused a change. NULL (or NULL fields) means this node itself. */
typedef struct {
    const char *name;              /* reporter id, node id or department code */
    const uint8_t *pk;             /* their public key */
    const uint8_t *envelope_hash;  /* SHA-256 of the request that caused it */
} gr_actor_t;

/* What the engine leaves for node/flow to do once a request is handled. */
typedef enum {
    GR_NEXT_DECIDE = 1,   /* ask the router, and act on what it says */
    GR_NEXT_WITHDRAW,     /* the case left the departments: end their tasks */
    GR_NEXT_RESULT,       /* resolved: send the result where the case came from */
    GR_NEXT_OVERDUE,      /* a department task is overdue again: up with 督办 */
    GR_NEXT_URGE,         /* a superior urged the department holding the case (why: the note) */
    GR_NEXT_MERGED,       /* resolved with reports merged into it: resolve them too (合并) */
} gr_next_kind_t;

typedef struct {
    gr_next_kind_t kind;
    char event_id[GR_EVENT_ID_MAX + 1];
    bool operator_asked;           /* DECIDE: an operator asked to escalate */
    gr_reason_t reason;            /* OVERDUE */
    char from_peer[GR_ID_MAX + 1]; /* RESULT: learnt from this peer (not told again) */
    char why[320];                 /* the text for the timeline, "" for none */
} gr_next_t;

/* Packed bodies to publish after the commit, in order. */
typedef struct {
    uint8_t **bodies;
    size_t *lens;
    char **topics;      /* notices only; NULL entries for status */
    size_t count;
    size_t cap;
} gr_packed_list_t;

/* After a successful commit: the status updates for the parent, the
 * notices for departments (each with its topic "dept/<code>/"), and
 * whether some outbox got entries. */
typedef struct {
    gr_packed_list_t status;
    gr_packed_list_t notices;
    bool kick_all;
} gr_effects_t;

/* Where the effects and the agenda stand, to take one request's back. */
typedef struct {
    size_t status;
    size_t notices;
    bool kick_all;
    size_t agenda;
} gr_engine_mark_t;

/* Creates the engine for cfg (which must outlive it). NULL when out of
 * memory. */
gr_engine_t *gr_engine_new(const gr_config_t *cfg);
void gr_engine_destroy(gr_engine_t **self_p);

/* This node's id (the config's). */
const char *gr_engine_node_id(const gr_engine_t *self);

/* Loads the persisted envelope sequence (once, after the store opened). */
int gr_engine_load(gr_engine_t *self, gr_txn_t *txn);

/* The next sequence number for an envelope signed by this node: always
 * above every one used before, across restarts. */
uint64_t gr_engine_next_seq(gr_engine_t *self);

/* ---- cases ---- */

/* Stores a new case held by this node: stored (event and origin set by the
 * caller) received now, with timeline entry 1 saying that actor did
 * action for reason, and counts it in the store's "events". *out (may be
 * NULL) gets the record as stored, which the caller frees. A stored
 * status of CLOSED makes a record with no lifecycle (a zero report): born
 * closed, to be neither announced nor decided. Returns 0 or the store's
 * error (GR_EEXIST for an id already held). */
int gr_engine_create(gr_engine_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *stored,
                     const gr_actor_t *actor, Gridrelay__Action action, const char *reason,
                     uint64_t now_ms, Gridrelay__StoredEvent **out);

/* A case just created here is announced in the status stream and, unless
 * it is an information copy, decided (on the agenda). */
int gr_engine_new_case(gr_engine_t *self, gr_txn_t *txn, const Gridrelay__StoredEvent *rec,
                       uint64_t now_ms);

/* The one way a case changes: lifecycle table check (GR_EPERM when action
 * is not allowed in rec's state), timeline entry, status stream, the
 * action's count. A case that leaves the departments' hands (for any
 * state but dispatched, in progress or returned) gets their tasks ended
 * (on the agenda). rec is stored changed. */
int gr_engine_change(gr_engine_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                     Gridrelay__Action action, const gr_actor_t *actor, const char *reason,
                     uint64_t now_ms);

/* The status the last create or change left event_id in, or 0 when this
 * engine did not touch it since the mark (what an Ack reports). */
int gr_engine_status_of(const gr_engine_t *self, const char *event_id);

/* Asks the router about rec now. What the engine does itself is done: a
 * KEEP arms the case's timer (and at the top tier notes a passed
 * deadline), a supervised escalation gets its deadline entry. d says what
 * is left: ESCALATE / SKIP_LEVEL (send it up) or ASSIGN_DOWN (a
 * department); anything else needs nothing more. untried_left: a
 * department here may still take it (node/departments). Information
 * copies and cases whose category left the catalogue are not routed
 * (d->action = GR_ACT_NONE). */
int gr_engine_decide(gr_engine_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                     bool operator_asked, bool untried_left, uint64_t now_ms, gr_decision_t *d);

/* The deadline of rec's current state at this node: the node's own, or
 * the parent's time limit (交办时限) when that is earlier. 0 = none. */
uint64_t gr_engine_due(const gr_config_t *cfg, const Gridrelay__StoredEvent *rec);

/* Replaces a string field of a record unpacked from the store. */
int gr_engine_set(char **field, const char *value);

/* ---- the agenda ---- */

/* Leaves next for node/flow. Returns 0 or GR_ENOMEM. */
int gr_engine_then(gr_engine_t *self, const gr_next_t *next);

/* Shorthand: DECIDE event_id (operator_asked, why may be NULL). */
int gr_engine_then_decide(gr_engine_t *self, const char *event_id, bool operator_asked,
                          const char *why);

/* Takes the oldest item left on the agenda into *out; false when empty. */
bool gr_engine_take_next(gr_engine_t *self, gr_next_t *out);

/* ---- messages and effects ---- */

/* Seals body for peer ("parent", "skip" or a child's id) and queues it in
 * the outbox, in this transaction. */
int gr_engine_enqueue(gr_engine_t *self, gr_txn_t *txn, const char *peer,
                      const Gridrelay__Body *body);

/* Appends update to this node's status stream (statuslog, which assigns
 * its node_seq) and keeps it to publish. The top tier keeps no stream. */
int gr_engine_stream(gr_engine_t *self, gr_txn_t *txn, Gridrelay__StatusUpdate *update);

/* Keeps body to publish to the departments on topic after the commit. */
int gr_engine_notice(gr_engine_t *self, const char *topic, const Gridrelay__Body *body);

gr_effects_t *gr_engine_effects(gr_engine_t *self);
/* Empties the effects and the agenda (after publishing, or an abort). */
void gr_engine_effects_clear(gr_engine_t *self);

gr_engine_mark_t gr_engine_mark(const gr_engine_t *self);
/* Drops every effect and agenda item added since mark. */
void gr_engine_rollback(gr_engine_t *self, const gr_engine_mark_t *mark);

#endif
