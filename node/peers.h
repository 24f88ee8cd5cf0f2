/* Peers: this node's links to other nodes.
 *
 * Upward: a reliable link (broker/link.h) to the parent, and one to the
 * skip-level ancestor when configured (越级直报); a PUB socket connected to
 * the parent's status endpoint carries this node's status stream. Downward:
 * one reliable link per configured child over the node's ROUTER, and a SUB
 * socket bound at status_listen where the children publish.
 *
 * Messages from the parent (Assign, Feedback, Supervise, CatchUp) and
 * status updates from children are queued as inbound items; the daemon
 * applies them in its next write transaction with everything else, then
 * calls back here to send replies, publish and kick the links. Outbox
 * entries acknowledged by a peer are deleted in that same transaction.
 *
 * Catch-up (the ZeroMQ guide's Clone pattern): pub/sub is only a doorbell.
 * When a child's stream shows a gap, when its link comes up, and at start,
 * the node asks the child for everything after the last status seq it
 * stored, over the reliable link; the child answers from its statuslog.
 *
 * Thread safety: the daemon's main thread only.
 */
#ifndef GR_PEERS_H
#define GR_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "config.h"
#include "counters.h"
#include "envelope.h"
#include "link.h"
#include "store.h"
#include "engine.h"
#include "request.h"
#include "tierlink.h"

typedef struct gr_peers gr_peers_t;

/* Something a peer sent, to apply in the next write transaction. */
typedef struct {
    uint8_t *frame;         /* owned copy of the signed envelope */
    size_t len;
    gr_source_t source;     /* PARENT, SKIP or CHILD */
    gr_link_t *reply_link;  /* where an Ack goes; NULL for status updates */
    bool status;            /* a status update from a child's PUB */
    /* An item of a link batch (broker/linkbatch.h), in receipt form, whose
     * head the batch's arrival checked: opened with signer, without a
     * second Ed25519 check; seq is the item's own, for a refusal. */
    bool batched;
    uint8_t signer[GR_PUBLIC_KEY_BYTES];
    uint64_t seq;
} gr_inbound_t;

/* Sets up every link and the status sockets; router is the node's request
 * socket (already CURVE-secured and bound). NULL with err on failure. */
gr_peers_t *gr_peers_new(void *zmq_ctx, void *router, const gr_config_t *cfg, gr_store_t *store,
                         gr_engine_t *engine, gr_tierlink_t *tierlink, char *err, size_t errlen);
void gr_peers_destroy(gr_peers_t **self_p);

/* Where refused link batches are counted (rejected_signature when the
 * signed root does not match the items, rejected_decode when malformed). */
void gr_peers_set_counters(gr_peers_t *self, gr_counters_t *counters);

/* The bound status endpoint (for the endpoint file), or NULL. */
const char *gr_peers_status_endpoint(const gr_peers_t *self);

/* Adds this module's sockets to items (at most max); returns how many. */
size_t gr_peers_poll_items(gr_peers_t *self, zmq_pollitem_t *items, size_t max);

/* Reads whatever the polled sockets hold (items as filled above). */
void gr_peers_on_poll(gr_peers_t *self, const zmq_pollitem_t *items, size_t n, uint64_t now_ms);

/* Moves the queued inbound items to the caller, who frees each frame and
 * the array. */
size_t gr_peers_take_inbound(gr_peers_t *self, gr_inbound_t **items);

/* The configured child whose key signed a frame, or NULL. */
const gr_peer_config_t *gr_peers_child(const gr_peers_t *self, const uint8_t pk[GR_PUBLIC_KEY_BYTES]);

/* A frame whose connection is CURVE-authenticated as child arrived from
 * ROUTER routing id (id, len): replies and the child's outbox go there
 * from now on (broker/link.h, gr_link_set_route()). */
void gr_peers_child_route(gr_peers_t *self, const gr_peer_config_t *child, const void *id,
                          size_t len);

/* A verified frame from a child on the ROUTER. Acks and heartbeats are
 * consumed here (returns 1); status batches are queued as inbound items
 * (returns 1); anything else is for the daemon's write path (returns 0). */
int gr_peers_child_frame(gr_peers_t *self, const gr_peer_config_t *child, const gr_opened_t *opened,
                         const uint8_t *frame, size_t len, uint64_t now_ms);

/* How many acknowledged outbox entries wait to be deleted. */
size_t gr_peers_pending_acks(const gr_peers_t *self);

/* Inside the write transaction: deletes outbox entries peers acknowledged,
 * and applies a status item (catch-up requests for gaps are remembered
 * and sent after commit). */
int gr_peers_apply_acks(gr_peers_t *self, gr_txn_t *txn);
int gr_peers_apply_status(gr_peers_t *self, gr_txn_t *txn, const gr_inbound_t *item,
                          uint64_t now_ms);

/* Answers a CatchUp from the parent from the statuslog (read transaction). */
int gr_peers_answer_catchup(gr_peers_t *self, gr_txn_t *txn, const gr_opened_t *request,
                            gr_link_t *reply_link);

/* Inside the write transaction, all its writes done, just before its
 * commit: sends up the outbox entries it added (escalations first of
 * all), read from txn, so that the parent stores them while this node's
 * disk syncs rather than after. Nothing is acknowledged before the
 * commit, here or by the parent to the reporter's node: a parent that
 * stored an escalation whose commit here then failed holds a case this
 * node does not; the reporter, unanswered, sends it again, and the parent
 * answers the new escalation of the same event as a duplicate
 * (PROTOCOL.md 8.5). Downward entries wait for the commit: a child has no
 * such answer to a repeated assignment. */
void gr_peers_before_commit(gr_peers_t *self, gr_txn_t *txn, const gr_effects_t *effects,
                            uint64_t now_ms);

/* The commit (or a write before it) failed: the links forget what
 * gr_peers_before_commit() gave them from that transaction. */
void gr_peers_commit_failed(gr_peers_t *self);

/* After commit: publish the status updates, kick the links, send the
 * catch-up requests that were decided. */
void gr_peers_after_commit(gr_peers_t *self, const gr_effects_t *effects, uint64_t now_ms);

/* Timers of every link; the poll timeout they need. */
void gr_peers_tick(gr_peers_t *self, uint64_t now_ms);
int gr_peers_timeout_ms(const gr_peers_t *self, uint64_t now_ms);

/* One line per link for logs and `gridctl status`: fills up to max. */
typedef struct {
    char peer[64];
    const char *role;           /* "parent", "skip", "child" */
    gr_link_status_t link;
    uint64_t outbox_depth;
    uint64_t outbox_oldest_ms;  /* sent_ms of the oldest message waiting; 0: none */
    uint64_t status_seq;        /* children: last status seq stored */
} gr_peer_status_t;
size_t gr_peers_status(gr_peers_t *self, gr_txn_t *txn, gr_peer_status_t *out, size_t max);

/* Answers GetLinks (req->txn a read transaction): the state of every tier
 * link, for `gridctl status`. Returns 0 or GR_ENOMEM. */
int gr_peers_links_reply(gr_peers_t *self, const gr_request_t *req);

#endif
