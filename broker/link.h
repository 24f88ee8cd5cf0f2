/* A reliable, ordered channel to one peer node: the tier links.
 *
 * What a link guarantees: every item the owner put in its durable outbox
 * reaches the peer, in outbox order, and is acknowledged only after the
 * peer committed it; items are resent until acknowledged, across
 * disconnects and restarts of either side, or until the peer refuses one
 * for good (a permanent Error code, with a dead callback set: the item
 * leaves the window and becomes the owner's dead letter). The peer drops resends by
 * (signer, seq), so a resend never makes a second case.
 *
 * Resends are for a peer that is silent or a connection that was lost,
 * not for a peer that is slow but making progress:
 * - Progress is an Ack of the oldest unacknowledged item (the window's
 *   base moves). The resend timer runs from the later of the last progress
 *   and the oldest item's last send; while the peer keeps acking within
 *   retry_ms of that, nothing is resent, however long items wait in its
 *   queue.
 * - When the timer fires, the link resends the oldest item and any item
 *   the peer has shown it will not answer (it replied with an Error, or
 *   acknowledged an item sent after it), oldest first, then doubles the
 *   timeout up to retry_max_ms.
 * - The timeout follows the peer's answer time: an answer to an item sent
 *   once (Karn's rule) sets it to the smoothed answer time plus four times
 *   its variation (RFC 6298), never below retry_ms nor above
 *   retry_max_ms; a backed-off timeout stays until such an answer. A
 *   peer that takes longer than retry_ms to answer, but answers, is not
 *   sent everything again every retry_ms.
 * - After a disconnect (upward: the socket's DISCONNECTED event; either
 *   way: a failed send, or the peer heard from again after the link was
 *   down) the whole window is resent from the oldest item as soon as the
 *   transport is back, whatever the timer says, and newer items wait
 *   behind it.
 * Limit: an item lost on a live connection (only possible downward, when a
 * child reconnects between two sends unnoticed) that no later reply
 * reveals is found by the timer's probes, one item per timeout.
 *
 * The link does not store anything: the outbox lives in the owner's LMDB
 * store (node/store.h, gr_store_outbox_*), and the link reads it through
 * the load callback and reports acknowledgements through the acked
 * callback, after which the owner deletes the entry in its next write
 * transaction. Outbox items are envelopes already sealed by the owner,
 * each with a unique, increasing seq (the envelope's seq), so a resend is
 * byte-identical.
 *
 * Two transports, one policy:
 * - upward (child -> parent): the link owns a DEALER socket connected to
 *   the parent's ROUTER, with CURVE (broker/curve.h) and a routing id of
 *   the owner's node id, '/', and 16 random hex digits (new for each
 *   link); the owner polls gr_link_socket() and calls gr_link_on_readable().
 * - downward (parent -> child): the parent's ROUTER is shared by all
 *   children; the link sends to the routing id the owner learnt from the
 *   child's last frame whose CURVE key (ZAP User-Id) is the child's
 *   (gr_link_set_route()), so no other trusted key can take a child's
 *   place by claiming its id; ZMQ_ROUTER_MANDATORY makes "child not
 *   connected" a clean EHOSTUNREACH, not a silent drop. The owner feeds it
 *   the child's verified frames with gr_link_on_message().
 *
 * Batches (link protocol version 2, broker/linkbatch.h): outbox entries
 * stored unsigned go to a peer whose last frame was of version 2 as batch
 * frames, one signature per frame however many entries it holds (what one
 * call sends, in order); at most `frames` batch frames are unanswered at a
 * time (an answer, Ack or Error, to any item of a frame ends it and every
 * older one): while that many are out, new entries wait in the window and
 * go together in one frame when an answer comes, or when the resend timer
 * fires (no delay while idle, larger frames under load); a peer that sent one version-2 frame is taken to
 * speak 2 for the link's life (its answers to version-1 frames say 1);
 * to a version-1 peer each is signed on its own
 * when first sent. Entries sealed one by one (an older store) go as they
 * are. A resend of a batched entry goes in a new batch: the peer drops
 * entries it has by (signer, seq) as before. An upward peer is taken to
 * speak version 2 until one of its frames says otherwise.
 *
 * Heartbeats: when nothing was sent for heartbeat_ms, the link sends a
 * Heartbeat body (sealed with the owner's key, seq from the owner's
 * next_seq callback, not stored); any verified message from the peer
 * counts as contact. The link is up while the last contact is younger than
 * 3 x heartbeat_ms.
 *
 * Thread safety: a link belongs to the thread that polls its owner's
 * sockets.
 */
#ifndef GR_LINK_H
#define GR_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "keys.h"
#include "link_types.h"

/* Upward link: creates a DEALER in zmq_ctx, sets CURVE client keys for
 * peer_pk, routing id own_id, and connects to endpoint. NULL on failure. */
gr_link_t *gr_link_new_upward(void *zmq_ctx, const char *endpoint, const gr_link_options_t *opt);

/* Downward link over the owner's ROUTER: frames go to routing id
 * opt->peer_id. The router socket stays owned by the caller. */
gr_link_t *gr_link_new_downward(void *router, const gr_link_options_t *opt);

/* Closes (the DEALER of an upward link) and frees; *self_p = NULL. Accepts
 * NULL. */
void gr_link_destroy(gr_link_t **self_p);

/* Called from the load callback, once per outbox entry. An entry whose
 * seq is not above every seq emitted before is already held (or was
 * acknowledged) and is ignored. Returns 0, GR_EINVAL, or GR_ENOMEM. */
int gr_link_emit(gr_link_t *self, const gr_link_item_t *item);

/* The DEALER of an upward link (NULL for a downward link), for zmq_poll. */
void *gr_link_socket(gr_link_t *self);

/* Upward link: reads and handles every frame waiting on the DEALER (up to
 * a batch; zmq_poll stays readable for the rest). Frames that do not verify
 * as signed by peer_pk are dropped and counted (rejected_total). Returns 0,
 * GR_EINVAL for a downward link, or a negative errno when the socket
 * fails. */
int gr_link_on_readable(gr_link_t *self, uint64_t now_ms);

/* Downward link: the owner received this verified frame from the peer
 * (its ZAP User-Id / signer matched peer_pk). Handles Acks, forwards the
 * rest to the message callback. Returns 0; GR_EUNTRUSTED (and counts it in
 * rejected_total) when the envelope's signer is not peer_pk; GR_EINVAL. */
int gr_link_on_message(gr_link_t *self, const gr_opened_t *opened, const uint8_t *frame,
                       size_t len, uint64_t now_ms);

/* Downward link: the child's current connection has this ROUTER routing
 * id (the owner saw it on a frame authenticated as the child). A changed
 * route is a new connection: the window is resent to it. Returns 0 or
 * GR_EINVAL (an upward link, or a length outside 1..255). */
int gr_link_set_route(gr_link_t *self, const void *routing_id, size_t len);

/* The outbox has new entries: send them when the window allows. */
void gr_link_kick(gr_link_t *self);

/* Sends now what the outbox holds beyond the window, as far as the window
 * allows: the owner's load callback is called at once (it may read the
 * owner's write transaction before its commit, so that the frames travel
 * while the owner's disk syncs). Returns what gr_link_tick() would. */
int gr_link_send_outbox(gr_link_t *self, uint64_t now_ms);

/* The highest outbox seq the window has been given so far. */
uint64_t gr_link_loaded_upto(const gr_link_t *self);

/* Forgets the window's entries above seq: they came from a transaction
 * that did not commit, so the outbox never held them (sent already, they
 * reach the peer as a message the owner does not remember sending; the
 * peer's answers to them change nothing here). The entries the outbox
 * holds beyond seq are loaded again. */
void gr_link_forget_after(gr_link_t *self, uint64_t seq);

/* Timers: sends what the window allows, resends when the peer made no
 * progress for the current timeout (see the top of this file), sends a
 * heartbeat when idle, updates up/down. Call every loop turn. Returns 0,
 * or the load callback's error (loading is retried after retry_ms). */
int gr_link_tick(gr_link_t *self, uint64_t now_ms);

/* Milliseconds until the link next needs gr_link_tick() (for the poll
 * timeout), at most heartbeat_ms. */
int gr_link_timeout_ms(const gr_link_t *self, uint64_t now_ms);

/* Sends a frame outside the outbox (an Ack for something the peer sent,
 * a catch-up answer). Not retried: the peer retries its own requests.
 * Returns 0, GR_EINVAL, or a negative errno: -EHOSTUNREACH (downward, the
 * child is not connected), -EAGAIN (upward not connected, or queue full). */
int gr_link_send(gr_link_t *self, const uint8_t *frame, size_t len);

typedef struct {
    bool up;
    uint64_t last_contact_ms;       /* 0 = never */
    size_t in_flight;               /* sent, not yet acknowledged */
    uint64_t acked_seq;             /* highest seq acknowledged */
    uint64_t sent_total;
    uint64_t resent_total;          /* copies after the first, whatever the
                                     * cause (timeout or reconnect) */
    uint64_t acked_total;
    uint64_t refused_total;         /* Error replies refusing an in-flight item
                                     * for good (not ERR_STORE_FULL/INTERNAL) */
    uint64_t dead_total;            /* of those, permanent refusals handed to
                                     * the dead callback (the rest are retried) */
    uint64_t rejected_total;        /* frames from the peer's side that failed
                                     * verification, dropped */
    uint32_t peer_version;          /* of the peer's last verified frame */
    uint64_t batches_total;         /* batch frames sent (linkbatch.h) */
    uint64_t batched_total;         /* items sent in them */
    uint64_t held_total;            /* items that waited for a frame to be
                                     * answered before their first send */
} gr_link_status_t;

void gr_link_status(const gr_link_t *self, gr_link_status_t *out);

/* Whether an Error code (Gridrelay__ErrorCode) refuses a message for good:
 * ERR_FORBIDDEN, ERR_INVALID, ERR_UNKNOWN_CATEGORY, ERR_UNSUPPORTED,
 * ERR_DECODE, ERR_FRAME_TOO_LARGE, ERR_REPLAY. Resending the same bytes
 * cannot help. */
bool gr_link_error_is_permanent(int code);
const char *gr_link_peer_id(const gr_link_t *self);

/* The link protocol version the peer speaks, as the link last learnt it
 * (broker/link_types.h): what a frame sent outside the outbox is sealed
 * with, since the link takes the version of any verified frame from the
 * peer as the peer's own. */
uint32_t gr_link_peer_version(const gr_link_t *self);

#endif
