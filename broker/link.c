/* The tier link: an in-memory window of sent, unacknowledged outbox items
 * over one transport (our DEALER upward, the owner's ROUTER downward).
 *
 * Design notes (why, since the header says what):
 *
 * - Order. The peer deduplicates by (signer, seq) but keeps the first copy
 *   it sees, so the link must never let a newer item overtake an older one
 *   that was lost. Frames are lost only when a connection dies with frames
 *   still queued in it. The link therefore keeps a "blocked" flag meaning
 *   "some frame may not have made it": while blocked, new items are held
 *   in the window instead of being sent, and the way out of blocked is to
 *   resend the whole window from the oldest item. Blocked is set by a send
 *   that fails and, upward, by the socket monitor's DISCONNECTED event.
 *
 * - Upward uses ZMQ_IMMEDIATE=1. With the default (0) the DEALER keeps its
 *   pipe across a reconnect: frames that the dead connection had already
 *   taken are lost while the ones behind them survive and reach the parent
 *   first on the new connection, which is exactly the overtaking above.
 *   With IMMEDIATE=1 a pipe exists only while a connection that passed the
 *   CURVE handshake is up, it is dropped whole when that connection dies,
 *   and a send while disconnected fails at once with EAGAIN. Nothing stale
 *   piles up during a long outage either (no burst of duplicates on
 *   reconnect). The link resends anyway, so losing the queued frames costs
 *   nothing.
 *
 * - Upward uses a socket monitor (a PAIR the link owns, read without
 *   blocking) rather than relying on heartbeats alone, because heartbeats
 *   cannot see a disconnect and reconnect that both happen between two of
 *   our sends: the next send would then go out on the new connection ahead
 *   of the frames lost with the old one. The DISCONNECTED event is written
 *   by the I/O thread before it even starts reconnecting, so draining the
 *   monitor before each send is enough to see it. The owner never polls
 *   the monitor: recovery is checked on every call, and the poll timeout is
 *   kept short (S_RECONNECT_CHECK_MS) while blocked. Writability (ZMQ_EVENTS
 *   POLLOUT, which with IMMEDIATE=1 means "a handshaken connection exists")
 *   is the signal that the transport is back.
 *
 * - Downward has no per-child connection signal on a shared ROUTER. A send
 *   to a child that is not connected fails with EHOSTUNREACH (the owner sets
 *   ZMQ_ROUTER_MANDATORY): the link blocks and recovers on the child's next
 *   verified frame (a node sends a heartbeat as soon as it connects) or on
 *   the retry timer. Limit: a child that drops and reconnects between two
 *   sends without the ROUTER reporting EHOSTUNREACH can see one resent item
 *   after a newer one; delivery is still complete, and the timer resends.
 *
 * - Up/down is heartbeat contact only, as the header defines it; a link
 *   that comes back up after being down resends its window when the oldest
 *   item was last sent before the link was seen down.
 *
 * - The resend timer measures the peer's silence, not an item's age. A
 *   parent with a thousand children and a full window each needs many
 *   seconds to work through its queue while still acking every child
 *   steadily; timing items from their first send would resend whole
 *   windows into that queue every second, the copies would queue behind
 *   new work, and the parent would spend its time and memory on
 *   duplicates (the 1,000-link benchmark: 3M resends for 100k items). So
 *   the timer runs from the later of the last progress (an Ack of the
 *   oldest item, the only ack that moves the window's base) and the oldest
 *   item's last send, and the backoff is reset by progress only.
 *   Acks of younger items are not progress: counting them would starve an
 *   oldest item that was lost or refused for as long as traffic flows.
 *
 * - A timeout resends the oldest item plus the items the peer has shown it
 *   will not answer (skipped: an Error reply, or an Ack of something sent
 *   after them), not the whole window: a peer that is alive but behind
 *   has the rest queued, and a copy of each would double its backlog just
 *   when it is slowest. Skipped items are marked from the replies rather
 *   than resent at once, so a refused item costs one copy per timeout, not
 *   one per ack. A lost frame that no later reply reveals (the downward
 *   limit above, with nothing sent after it) is found by the probes, one
 *   item per timeout. Whole-window resends stay where a frame may really
 *   have been dropped: after a disconnect or a failed send (blocked).
 *
 * - Batch frames in flight (group commit on the link). A frame per loop
 *   turn made frames as small as the sender's commits and cost the peer a
 *   head check, a commit and an AckBatch each. So at most max_frames
 *   frames are unanswered: while they are, new batchable items are held
 *   (in the window, never sent, always its newest n_held) and leave as one
 *   frame when an answer ends a frame. An answer to any item of a frame
 *   ends it and every older one: the peer reads a connection in order and
 *   answers a frame in one turn, so an older frame with no answer by then
 *   was lost, which the resend rules above handle. A timeout, a
 *   disconnect or a failed send forgets the frames out (the recovery
 *   resends), so holding never outlasts one retry_ms. A peer of version 1
 *   gets each item as it comes.
 */
#include "link.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <zmq.h>

#include "client.h"
#include "curve.h"
#include "error.h"
#include "linkbatch.h"

#define S_DEFAULT_WINDOW 256  /* see PROTOCOL.md 8.5: 64 left the chain idle */
/* Batch frames unanswered at a time (link protocol 2): while that many are
 * out, new entries wait and go together in the next frame (see the design
 * notes). 2 keeps one frame queued at the peer while it works on the
 * other. */
#define S_DEFAULT_FRAMES 2
/* Unanswered batch frames remembered; past this the oldest is forgotten
 * (taken as answered), which can only send sooner. */
#define S_OPEN_FRAMES_MAX 64
#define S_DEFAULT_RETRY_MS 1000
#define S_DEFAULT_RETRY_MAX_MS 30000
#define S_DEFAULT_HEARTBEAT_MS 1000
#define S_UP_HEARTBEATS 3
/* How often a blocked upward link checks whether the DEALER reconnected:
 * libzmq's first reconnect attempt comes after 100 ms. */
#define S_RECONNECT_CHECK_MS 100
#define S_RECONNECT_IVL_MAX_MS 1000
/* Frames handled per gr_link_on_readable() call, so that a flood from the
 * parent cannot starve the owner's other sockets; zmq_poll stays readable. */
#define S_READ_BATCH 1024
#define S_MAX_ROUTING_ID 255

typedef struct {
    uint64_t seq;
    uint8_t *data;
    size_t len;
    uint64_t attempt_ms;    /* last transmission attempt, or when held */
    uint64_t serial;        /* the link's send counter at the last send */
    uint32_t sends;         /* transmissions handed to ZeroMQ */
    bool skipped;           /* the peer answered around this copy: resend it
                             * at the next timeout */
    /* A version-2 outbox entry (broker/linkbatch.h): unsigned, sent in a
     * batch to a version-2 peer, else signed on its own when first sent. */
    bool batchable;
    uint64_t sent_ms;
    uint8_t *body;
    size_t body_len;
    uint8_t *sealed;        /* the entry signed on its own (version 1), made once */
    size_t sealed_len;
    uint64_t frame;         /* serial of the batch frame of its last send; 0: none */
} s_item_t;

struct gr_link {
    bool upward;
    void *socket;           /* our DEALER, or the owner's ROUTER */
    void *monitor;          /* upward: PAIR receiving DISCONNECTED events */
    /* Upward: the parent's endpoint, and when to dial it again after the
     * parent refused our key at the handshake (0: not refused). libzmq
     * gives up on an endpoint whose handshake failed (a protocol error
     * ends the session, no reconnect), so a child refused once (its key
     * not yet, or no longer, in the parent's [children]) would never
     * reach the parent again until it restarted. */
    char *endpoint;
    uint64_t redial_ms;
    char *peer_id;
    size_t peer_id_len;
    /* Downward: the ROUTER routing id of the child's current connection,
     * learnt from a frame authenticated as the child (gr_link_set_route);
     * empty until then, which reads as "not connected". */
    uint8_t route[S_MAX_ROUTING_ID];
    size_t route_len;
    char *own_id;
    uint8_t peer_pk[GR_PUBLIC_KEY_BYTES];
    gr_keypair_t kp;
    size_t window;
    uint32_t retry_ms;
    uint32_t retry_max_ms;
    uint32_t heartbeat_ms;
    size_t max_frame;
    gr_link_callbacks_t cb;
    void *ctx;

    s_item_t *ring;         /* in-flight FIFO, ascending seq */
    size_t cap;
    size_t head;
    size_t count;

    uint64_t loaded_upto;   /* highest seq handed to us by load/emit */
    bool more;              /* the outbox may hold entries above loaded_upto */
    uint64_t next_load_ms;  /* after a failed load, not before this */
    size_t emitted;         /* items appended during the current load call */

    bool blocked;           /* a frame may be lost: hold new items, resend all */
    uint32_t retry_cur;     /* resend timeout; doubled per timeout, set by an answer time */
    /* The peer's answer time, smoothed, and its variation (RFC 6298), from
     * items answered after one send only; sampled at most once per call. */
    bool rtt_known;
    uint64_t srtt_ms;
    uint64_t rttvar_ms;
    uint64_t sampled_ms;
    uint64_t timed_out_ms;  /* the resend timer last fired */
    uint64_t progress_ms;   /* last Ack of the oldest item */
    uint64_t serial;        /* item transmissions so far, for skipped */
    uint64_t now_ms;
    uint64_t last_send_ms;
    uint64_t last_contact_ms;
    bool up;
    bool was_up;
    uint64_t down_ms;       /* when the link was last seen going down */

    uint64_t acked_seq;
    uint64_t sent_total;
    uint64_t resent_total;
    uint64_t acked_total;
    uint64_t refused_total;
    uint64_t dead_total;
    uint64_t rejected_total;

    /* Link protocol version of the peer: that of its last verified frame
     * (upward 2 until heard: upper tiers are upgraded first). */
    uint32_t peer_version;
    /* Items queued for the next batch frame, by seq, in order; sent by
     * s_flush() before any public call returns. */
    uint64_t *pending;
    size_t n_pending, cap_pending;
    size_t pending_bytes;
    uint64_t batches_total;
    uint64_t batched_total;
    bool filling;           /* inside the load callback: emits flush at its end */
    bool peer_v2_seen;      /* the peer sent a version-2 frame: it speaks 2 */
    /* Batch frames sent and not yet answered, by serial, ascending; new
     * entries are held while max_frames are (group commit on the link). */
    size_t max_frames;
    uint64_t open[S_OPEN_FRAMES_MAX];
    size_t n_open;
    size_t n_held;          /* the newest n_held items of the window, never sent */
    uint64_t frame_serial;
    uint64_t held_total;    /* entries that waited for a frame to be answered */
};

/* ---- helpers ---- */

static uint64_t s_elapsed(uint64_t now, uint64_t then)
{
    return now > then ? now - then : 0;
}

static s_item_t *s_at(const gr_link_t *self, size_t i)
{
    return &self->ring[(self->head + i) % self->cap];
}

static uint64_t s_min_time(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* The wall clock may step backwards (NTP, an operator fixing the date):
 * without clamping, timers measured from a "future" timestamp would stall
 * for as long as the step. */
static void s_set_now(gr_link_t *self, uint64_t now_ms)
{
    if (now_ms < self->now_ms) {
        for (size_t i = 0; i < self->count; i++)
            s_at(self, i)->attempt_ms = s_min_time(s_at(self, i)->attempt_ms, now_ms);
        self->last_send_ms = s_min_time(self->last_send_ms, now_ms);
        self->last_contact_ms = s_min_time(self->last_contact_ms, now_ms);
        self->down_ms = s_min_time(self->down_ms, now_ms);
        self->progress_ms = s_min_time(self->progress_ms, now_ms);
        self->next_load_ms = s_min_time(self->next_load_ms, now_ms);
    }
    self->now_ms = now_ms;
}

static char *s_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

/* Hands one frame to ZeroMQ without blocking. Returns 0 or -errno; any
 * failure means the frame did not go out, so the link blocks. */
static int s_transmit(gr_link_t *self, const uint8_t *data, size_t len)
{
    self->last_send_ms = self->now_ms;
    int rc;
    if (self->upward) {
        rc = zmq_send(self->socket, data, len, ZMQ_DONTWAIT);
    } else {
        if (self->route_len == 0) {
            self->blocked = true;
            return -EHOSTUNREACH;  /* the child has not shown itself yet */
        }
        rc = zmq_send(self->socket, self->route, self->route_len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        /* ROUTER checks the peer and its HWM on the first part only: once
         * that is accepted the rest of the message goes into the pipe. */
        if (rc >= 0)
            rc = zmq_send(self->socket, data, len, ZMQ_DONTWAIT);
    }
    if (rc >= 0)
        return 0;
    int err = zmq_errno();
    self->blocked = true;
    return err ? -err : GR_EIO;
}

static long s_find(const gr_link_t *self, uint64_t seq);

static void s_item_free(s_item_t *item)
{
    free(item->data);
    free(item->body);
    free(item->sealed);
}

static bool s_batches(const gr_link_t *self, const s_item_t *item)
{
    return item->batchable && self->peer_version >= GR_LINK_VERSION;
}

/* A batch frame went out: it is unanswered until the peer answers one of
 * its items or a later frame's. */
static void s_open_push(gr_link_t *self, uint64_t serial)
{
    if (self->n_open == S_OPEN_FRAMES_MAX) {
        memmove(self->open, self->open + 1, (S_OPEN_FRAMES_MAX - 1) * sizeof self->open[0]);
        self->n_open--;
    }
    self->open[self->n_open++] = serial;
}

/* The peer answered an item last sent in frame `serial` (0: not in a
 * frame). It reads a connection in order and answers a frame's items in
 * one turn, so that frame and every older one are done with: answered, or
 * lost, which the resend rules deal with. */
static void s_frame_answered(gr_link_t *self, uint64_t serial)
{
    if (serial == 0)
        return;
    size_t k = 0;
    while (k < self->n_open && self->open[k] <= serial)
        k++;
    memmove(self->open, self->open + k, (self->n_open - k) * sizeof self->open[0]);
    self->n_open -= k;
}

/* Sends the queued items as batch frames of at most GR_LINKBATCH_MAX_ITEMS
 * items and half of max_frame in bodies, in order. An item acknowledged
 * since it was queued is left out. A failed send blocks the link like any
 * failed send: recovery resends the whole window. */
static void s_flush(gr_link_t *self)
{
    size_t n = self->n_pending;
    self->n_pending = 0;
    self->pending_bytes = 0;
    if (n == 0)
        return;
    gr_linkbatch_item_t *items = malloc(n * sizeof *items);
    s_item_t **members = malloc(n * sizeof *members);
    if (!items || !members) {
        free(items);
        free(members);
        self->blocked = true;  /* not sent: the recovery sends them */
        return;
    }
    size_t k = 0, bytes = 0;
    for (size_t i = 0; i <= n; i++) {
        long at = i < n ? s_find(self, self->pending[i]) : -1;
        const s_item_t *item = at >= 0 ? s_at(self, (size_t)at) : NULL;
        bool full = k == GR_LINKBATCH_MAX_ITEMS ||
                    (item && k > 0 && bytes + item->body_len + 64 > self->max_frame / 2);
        if ((i == n || full) && k > 0) {
            uint8_t *frame = NULL;
            size_t len = 0;
            if (!self->blocked &&
                gr_linkbatch_seal(&frame, &len, &self->kp, self->peer_pk, self->cb.next_seq(self->ctx),
                                  self->now_ms, items, k) == 0) {
                if (s_transmit(self, frame, len) == 0) {
                    self->batches_total++;
                    self->batched_total += k;
                    uint64_t serial = ++self->frame_serial;
                    for (size_t j = 0; j < k; j++)
                        members[j]->frame = serial;
                    s_open_push(self, serial);
                }
            } else {
                self->blocked = true;
            }
            free(frame);
            k = 0;
            bytes = 0;
        }
        if (!item)
            continue;
        members[k] = (s_item_t *)item;
        items[k++] = (gr_linkbatch_item_t){item->seq, item->sent_ms, item->body, item->body_len};
        bytes += item->body_len + 64;
    }
    free(items);
    free(members);
}

/* Hands one item to the transport: queued for the next batch, or sent on
 * its own (after the queued ones, so that order holds). A new batchable
 * item (may_hold) waits instead while max_frames frames are unanswered, or
 * while older items wait: returns 1 then, and s_send_held() sends it. */
static int s_put_item(gr_link_t *self, s_item_t *item, bool may_hold)
{
    if (s_batches(self, item)) {
        if (may_hold && (self->n_held > 0 || self->n_open >= self->max_frames)) {
            self->n_held++;
            self->held_total++;
            return 1;
        }
        if (self->n_pending == self->cap_pending) {
            size_t cap = self->cap_pending ? self->cap_pending * 2 : 64;
            uint64_t *p = realloc(self->pending, cap * sizeof *p);
            if (!p) {
                self->blocked = true;
                return GR_ENOMEM;
            }
            self->pending = p;
            self->cap_pending = cap;
        }
        self->pending[self->n_pending++] = item->seq;
        self->pending_bytes += item->body_len;
        return 0;
    }
    s_flush(self);
    if (self->blocked)
        return GR_EIO;
    if (item->batchable && !item->sealed &&
        gr_envelope_seal_version(&item->sealed, &item->sealed_len, &self->kp, GR_PROTOCOL_VERSION,
                                 item->seq, item->sent_ms, item->body, item->body_len) != 0) {
        item->sealed = NULL;
        self->blocked = true;
        return GR_ENOMEM;
    }
    return item->batchable ? s_transmit(self, item->sealed, item->sealed_len)
                           : s_transmit(self, item->data, item->len);
}

static int s_send_item(gr_link_t *self, s_item_t *item, bool may_hold)
{
    item->attempt_ms = self->now_ms;
    int rc = s_put_item(self, item, may_hold);
    if (rc == 1)
        return 0;  /* held: goes with the next frame */
    if (rc != 0)
        return rc;
    item->serial = ++self->serial;
    item->skipped = false;
    if (item->sends++ == 0)
        self->sent_total++;
    else
        self->resent_total++;
    return 0;
}

/* Sends the whole window again from the oldest item, so the peer sees the
 * items in order whatever it had lost. Stops at the first failure (which
 * blocks the link again): sending later items would only reorder them. */
static int s_resend_all(gr_link_t *self)
{
    self->blocked = false;
    /* Whatever was out may be lost, and the held items go now too. */
    self->n_open = 0;
    self->n_held = 0;
    for (size_t i = 0; i < self->count; i++) {
        int rc = s_send_item(self, s_at(self, i), false);
        if (rc != 0)
            return rc;
    }
    s_flush(self);
    return 0;
}

/* The held items (the newest n_held of the window), as one frame, once
 * fewer than max_frames frames are unanswered. */
static void s_send_held(gr_link_t *self)
{
    if (self->n_held == 0 || self->blocked || self->n_open >= self->max_frames)
        return;
    size_t first = self->count - self->n_held;
    self->n_held = 0;
    for (size_t i = first; i < self->count; i++)
        if (s_send_item(self, s_at(self, i), false) != 0)
            break;  /* blocked: the recovery sends the rest */
    s_flush(self);
}

/* The resend timer's start: the later of the last progress and the oldest
 * item's last send (see the design notes). Only with items in flight. */
static uint64_t s_resend_from(const gr_link_t *self)
{
    uint64_t sent = s_at(self, 0)->attempt_ms;
    return sent > self->progress_ms ? sent : self->progress_ms;
}

/* The timeout fired without progress. Blocked, a frame may have been
 * dropped anywhere in the window, so all of it goes again; otherwise the
 * oldest item (a probe of a silent peer) and the skipped ones, in order.
 * Stops at a failed send, which blocks the link: the recovery resends
 * everything. */
static void s_resend_overdue(gr_link_t *self)
{
    if (self->blocked) {
        s_resend_all(self);
        return;
    }
    for (size_t i = 0; i < self->count; i++) {
        s_item_t *item = s_at(self, i);
        if (i >= self->count - self->n_held)
            break;  /* held, never sent: s_send_held() */
        if ((i == 0 || item->skipped) && s_send_item(self, item, false) != 0)
            return;
    }
    s_flush(self);
}

/* The peer answered the copy of item i that we sent last: it has passed
 * every older item whose last copy went out before that one, without
 * committing it (the peer reads a connection in order). */
static void s_mark_skipped(gr_link_t *self, size_t i)
{
    uint64_t serial = s_at(self, i)->serial;
    for (size_t k = 0; k < i; k++) {
        s_item_t *older = s_at(self, k);
        if (older->sends > 0 && older->serial < serial)
            older->skipped = true;
    }
}

/* Upward: reads pending monitor events; a disconnect may have taken frames
 * with it. */
static void s_drain_monitor(gr_link_t *self)
{
    if (!self->monitor)
        return;
    for (;;) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, self->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            return;
        }
        uint16_t event = 0;
        if (zmq_msg_size(&msg) >= sizeof event)
            memcpy(&event, zmq_msg_data(&msg), sizeof event);
        bool more = zmq_msg_more(&msg);
        zmq_msg_close(&msg);
        /* The second part names the endpoint; we only have one. */
        while (more) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            if (zmq_msg_recv(&part, self->monitor, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&part);
                break;
            }
            more = zmq_msg_more(&part);
            zmq_msg_close(&part);
        }
        if (event == ZMQ_EVENT_DISCONNECTED)
            self->blocked = true;
        if ((event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
             event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) && !self->redial_ms) {
            self->blocked = true;
            self->redial_ms = self->now_ms + S_RECONNECT_IVL_MAX_MS;
        }
    }
}

static bool s_writable(gr_link_t *self)
{
    int events = 0;
    size_t size = sizeof events;
    /* ZMQ_EVENTS also processes the socket's pending commands, so a pipe
     * attached after a fresh handshake is seen here. */
    if (zmq_getsockopt(self->socket, ZMQ_EVENTS, &events, &size) != 0)
        return false;
    return (events & ZMQ_POLLOUT) != 0;
}

/* Upward: notices a disconnect, and resends the window once the DEALER has
 * a live connection again. */
static void s_check_transport(gr_link_t *self)
{
    if (!self->upward)
        return;
    s_drain_monitor(self);
    if (self->redial_ms && self->now_ms >= self->redial_ms) {
        /* Connect afresh, as libzmq would after any other failure. */
        self->redial_ms = 0;
        zmq_disconnect(self->socket, self->endpoint);
        zmq_connect(self->socket, self->endpoint);
    }
    if (self->blocked && s_writable(self))
        s_resend_all(self);
}

static void s_set_up(gr_link_t *self, bool up)
{
    if (self->up == up)
        return;
    self->up = up;
    if (up)
        self->was_up = true;
    else
        self->down_ms = self->now_ms;
    if (self->cb.changed)
        self->cb.changed(self->ctx, self, up);
}

/* A verified frame from the peer arrived. */
static void s_contact(gr_link_t *self)
{
    self->last_contact_ms = self->now_ms;
    if (!self->up) {
        bool again = self->was_up;
        s_set_up(self, true);
        /* Frames last sent before the link was seen down may have died
         * with the old connection. */
        if (again && self->count > 0 && s_at(self, 0)->attempt_ms <= self->down_ms)
            self->blocked = true;
    }
    /* The peer reached us, so the transport works again. */
    if (self->blocked)
        s_resend_all(self);
}

/* Index of seq in the window, or -1. The window is in ascending seq order
 * (emit only appends higher seqs, removal keeps order). */
static long s_find(const gr_link_t *self, uint64_t seq)
{
    size_t lo = 0, hi = self->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t at = s_at(self, mid)->seq;
        if (at == seq)
            return (long)mid;
        if (at < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Acks normally come in order, so i is 0 and this is O(1). */
static void s_remove(gr_link_t *self, size_t i)
{
    if (self->n_held > 0 && i >= self->count - self->n_held)
        self->n_held--;
    s_item_free(s_at(self, i));
    if (i == 0) {
        self->head = (self->head + 1) % self->cap;
    } else {
        for (size_t k = i; k + 1 < self->count; k++)
            *s_at(self, k) = *s_at(self, k + 1);
    }
    self->count--;
}

static int s_grow(gr_link_t *self)
{
    size_t cap = self->cap ? self->cap * 2 : self->window;
    s_item_t *ring = malloc(cap * sizeof *ring);
    if (!ring)
        return GR_ENOMEM;
    for (size_t i = 0; i < self->count; i++)
        ring[i] = *s_at(self, i);
    free(self->ring);
    self->ring = ring;
    self->cap = cap;
    self->head = 0;
    return 0;
}

static bool s_error_is_transient(const Gridrelay__Error *error)
{
    return error->code == GRIDRELAY__ERROR_CODE__ERR_STORE_FULL ||
           error->code == GRIDRELAY__ERROR_CODE__ERR_INTERNAL;
}

bool gr_link_error_is_permanent(int code)
{
    /* What the same bytes can never pass however often they are sent: the
     * peer's rules or config refuse them. ERR_REPLAY too: the peer keeps
     * the newest seq per signer for good, so the same bytes stay too old
     * (typically an entry whose ack was lost and whose dedup record the
     * peer pruned past its window: kept, it would sit at the head of the
     * link for ever, tests/integration/test_replay.c). Trust, signature and
     * not-found refusals are left to the retries: a key added or a missing
     * case arriving later can cure those without anyone acting. */
    switch (code) {
    case GRIDRELAY__ERROR_CODE__ERR_FORBIDDEN:
    case GRIDRELAY__ERROR_CODE__ERR_INVALID:
    case GRIDRELAY__ERROR_CODE__ERR_UNKNOWN_CATEGORY:
    case GRIDRELAY__ERROR_CODE__ERR_UNSUPPORTED:
    case GRIDRELAY__ERROR_CODE__ERR_DECODE:
    case GRIDRELAY__ERROR_CODE__ERR_FRAME_TOO_LARGE:
    case GRIDRELAY__ERROR_CODE__ERR_REPLAY:
        return true;
    default:
        return false;
    }
}

/* An answer to an item sent once (Karn's rule: a resent item's answer
 * cannot say which copy it answers) is an answer time: the resend timeout
 * becomes the smoothed time plus four variations (RFC 6298 2.2-2.3), at
 * least retry_ms, at most retry_max_ms. A peer slower than retry_ms (a
 * district under a burst from a thousand villages) is then waited for
 * instead of being sent every window again each second, which only adds
 * to what it must get through. Without such an answer a backed-off
 * timeout stays as it is (RFC 6298 5.7). */
static void s_sample(gr_link_t *self, const s_item_t *item)
{
    /* An item that was out when the timer fired measures how long the peer
     * was silent, not how fast it answers. */
    if (item->sends != 1 || item->attempt_ms < self->timed_out_ms ||
        (self->rtt_known && self->sampled_ms == self->now_ms))
        return;
    uint64_t r = s_elapsed(self->now_ms, item->attempt_ms);
    if (!self->rtt_known) {
        self->srtt_ms = r;
        self->rttvar_ms = r / 2;
        self->rtt_known = true;
    } else {
        uint64_t d = r > self->srtt_ms ? r - self->srtt_ms : self->srtt_ms - r;
        self->rttvar_ms = (3 * self->rttvar_ms + d) / 4;
        self->srtt_ms = (7 * self->srtt_ms + r) / 8;
    }
    self->sampled_ms = self->now_ms;
    uint64_t rto = self->srtt_ms + 4 * self->rttvar_ms;
    if (rto < self->retry_ms)
        rto = self->retry_ms;
    self->retry_cur = rto > self->retry_max_ms ? self->retry_max_ms : (uint32_t)rto;
}

/* Item i of the window is answered for good (acked, or refused for
 * good): out of the window. An answer of the oldest moves the window's
 * base: the peer is making progress. */
static void s_settle(gr_link_t *self, size_t i)
{
    s_sample(self, s_at(self, i));
    if (i == 0)
        self->progress_ms = self->now_ms;
    else
        s_mark_skipped(self, i);
    s_remove(self, i);
}

/* The peer committed ref. An Ack of something no longer in flight is a
 * resend's echo and changes nothing. */
static void s_ack_one(gr_link_t *self, uint64_t ref)
{
    long i = s_find(self, ref);
    if (i < 0)
        return;
    s_frame_answered(self, s_at(self, (size_t)i)->frame);
    s_settle(self, (size_t)i);
    self->acked_total++;
    if (ref > self->acked_seq)
        self->acked_seq = ref;
    self->cb.acked(self->ctx, ref);
}

/* One verified frame from the peer: Acks of ours are consumed, everything
 * else (Errors included, so the owner can log them) goes to the message
 * callback. Heartbeats are forwarded too: their status_seq matters to the
 * owner's catch-up. */
static void s_handle(gr_link_t *self, const gr_opened_t *opened, const uint8_t *frame, size_t len)
{
    const Gridrelay__Body *body = opened->body;
    /* A peer that sent one version-2 frame speaks 2 (its replies to our
     * version-1 frames may still say 1); one that never did is taken at
     * its word, so an older parent turns an upward link back to 1. */
    uint32_t version = opened->envelope->version;
    if (version >= GR_LINK_VERSION)
        self->peer_v2_seen = true;
    if (self->n_pending > 0 && !self->peer_v2_seen && version < GR_LINK_VERSION)
        s_flush(self);  /* what was queued for a version-2 peer goes as it was */
    self->peer_version = self->peer_v2_seen ? GR_LINK_VERSION : version;
    /* A peer of version 1 answers no batch frame (its ERR_UNSUPPORTED
     * names the frame's own seq): stop waiting for them. */
    if (self->peer_version < GR_LINK_VERSION)
        self->n_open = 0;
    if (body->kind_case == GRIDRELAY__BODY__KIND_ACK) {
        s_ack_one(self, body->ack ? body->ack->ref_seq : 0);
        s_contact(self);
        s_send_held(self);
        s_flush(self);
        return;
    }
    if (body->kind_case == GRIDRELAY__BODY__KIND_ACK_BATCH) {
        /* In seq order, as separate Acks would have come. */
        for (size_t k = 0; body->ack_batch && k < body->ack_batch->n_ref_seqs; k++)
            s_ack_one(self, body->ack_batch->ref_seqs[k]);
        s_contact(self);
        s_send_held(self);
        s_flush(self);
        return;
    }
    if (body->kind_case == GRIDRELAY__BODY__KIND_ERROR && body->error) {
        long i = s_find(self, body->error->ref_seq);
        if (i >= 0)
            s_frame_answered(self, s_at(self, (size_t)i)->frame);
        if (i >= 0 && self->cb.dead && gr_link_error_is_permanent(body->error->code)) {
            /* Refused for good: out of the window, to the owner's dead
             * letters. */
            self->refused_total++;
            self->dead_total++;
            s_settle(self, (size_t)i);
            self->cb.dead(self->ctx, body->error->ref_seq, body->error->code,
                          body->error->message ? body->error->message : "");
        } else if (i >= 0) {
            /* The peer will not answer this copy again; only a resend can
             * get the item committed, transient refusal or not. */
            s_at(self, (size_t)i)->skipped = true;
            if (!s_error_is_transient(body->error))
                self->refused_total++;
        }
    }
    s_contact(self);
    s_send_held(self);
    if (self->cb.message)
        self->cb.message(self->ctx, self, opened, frame, len);
    s_flush(self);
}

/* Asks the owner for more outbox entries while the window has room. The
 * emits are counted here rather than trusting load's return value, so an
 * owner that returns 0 on success still gets the next batch. */
static int s_fill(gr_link_t *self)
{
    if (!self->more || self->count >= self->window || self->now_ms < self->next_load_ms)
        return 0;
    size_t max = self->window - self->count;
    self->emitted = 0;
    self->filling = true;
    int rc = self->cb.load(self->ctx, self, self->loaded_upto, max);
    self->filling = false;
    s_flush(self);
    if (rc < 0) {
        /* Retry later rather than on every loop turn. */
        self->next_load_ms = self->now_ms + self->retry_ms;
        return rc;
    }
    if (self->emitted < max)
        self->more = false;
    return 0;
}

static void s_heartbeat(gr_link_t *self)
{
    Gridrelay__Heartbeat hb = GRIDRELAY__HEARTBEAT__INIT;
    hb.node_id = self->own_id;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_HEARTBEAT;
    body.heartbeat = &hb;
    uint8_t *frame = NULL;
    size_t len = 0;
    size_t body_len = 0;
    uint8_t *bytes = gr_body_pack(&body, &body_len);
    /* Version 2 always, so that the peer learns ours (a version-2 peer
     * batches to us only once it has seen one of our version-2 frames);
     * every node since batched receipts accepts it. */
    uint32_t version = GR_LINK_VERSION;
    int rc = bytes ? gr_envelope_seal_version(&frame, &len, &self->kp, version,
                                              self->cb.next_seq(self->ctx), self->now_ms, bytes,
                                              body_len)
                   : GR_ENOMEM;
    free(bytes);
    if (rc != 0) {
        self->last_send_ms = self->now_ms;  /* try again next period, not next turn */
        return;
    }
    s_transmit(self, frame, len);
    free(frame);
}

/* ---- lifecycle ---- */

static gr_link_t *s_new(const gr_link_options_t *opt)
{
    if (!opt || !opt->peer_id || !opt->peer_pk || !opt->kp || !opt->own_id ||
        !opt->callbacks.load || !opt->callbacks.acked || !opt->callbacks.next_seq)
        return NULL;
    gr_link_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->peer_id = s_strdup(opt->peer_id);
    self->own_id = s_strdup(opt->own_id);
    if (!self->peer_id || !self->own_id) {
        gr_link_destroy(&self);
        return NULL;
    }
    self->peer_id_len = strlen(self->peer_id);
    memcpy(self->peer_pk, opt->peer_pk, GR_PUBLIC_KEY_BYTES);
    self->kp = *opt->kp;
    self->window = opt->window ? opt->window : S_DEFAULT_WINDOW;
    self->retry_ms = opt->retry_ms ? opt->retry_ms : S_DEFAULT_RETRY_MS;
    self->retry_max_ms = opt->retry_max_ms ? opt->retry_max_ms : S_DEFAULT_RETRY_MAX_MS;
    if (self->retry_max_ms < self->retry_ms)
        self->retry_max_ms = self->retry_ms;
    self->heartbeat_ms = opt->heartbeat_ms ? opt->heartbeat_ms : S_DEFAULT_HEARTBEAT_MS;
    /* Poll timeouts and ZMTP heartbeat options are ints. */
    if (self->heartbeat_ms > INT_MAX / S_UP_HEARTBEATS)
        self->heartbeat_ms = INT_MAX / S_UP_HEARTBEATS;
    self->max_frame = opt->max_frame ? opt->max_frame : GR_DEFAULT_MAX_FRAME;
    self->cb = opt->callbacks;
    self->ctx = opt->ctx;
    self->retry_cur = self->retry_ms;
    self->more = true;  /* entries left from before a restart */
    self->now_ms = gr_now_ms();
    self->peer_version = GR_PROTOCOL_VERSION;
    self->max_frames = opt->frames ? opt->frames : S_DEFAULT_FRAMES;
    if (s_grow(self) != 0)
        gr_link_destroy(&self);
    return self;
}

static int s_setopt_int(void *socket, int option, int value)
{
    return zmq_setsockopt(socket, option, &value, sizeof value);
}

gr_link_t *gr_link_new_upward(void *zmq_ctx, const char *endpoint, const gr_link_options_t *opt)
{
    if (!zmq_ctx || !endpoint || !opt || !opt->own_id)
        return NULL;
    size_t id_len = strlen(opt->own_id);
    if (id_len == 0 || id_len > S_MAX_ROUTING_ID)
        return NULL;  /* ZeroMQ routing ids are 1..255 bytes */
    gr_link_t *self = s_new(opt);
    if (!self)
        return NULL;
    self->upward = true;
    self->peer_version = GR_LINK_VERSION;
    /* A counter, not the link's address: a closed monitor releases its
     * inproc name asynchronously, and malloc may hand the next link the
     * same address. */
    static uint64_t s_monitors;
    uint64_t serial = __atomic_add_fetch(&s_monitors, 1, __ATOMIC_RELAXED);
    char monitor_ep[64];
    snprintf(monitor_ep, sizeof monitor_ep, "inproc://gr-link-monitor-%llu",
             (unsigned long long)serial);
    if (!(self->socket = zmq_socket(zmq_ctx, ZMQ_DEALER)))
        goto fail;
    int hb = (int)self->heartbeat_ms;
    /* LINGER 0: unsent frames are still in the owner's outbox. HEARTBEAT:
     * a silently dead TCP connection (a field network cut) is closed after
     * three missed ZMTP pings, which turns it into a DISCONNECTED event. */
    /* The routing id is the node id plus a random part: the parent learns
     * it from frames CURVE-authenticated as this node, so no other key can
     * claim this node's id on the parent's ROUTER and receive its mail. */
    char routing_id[S_MAX_ROUTING_ID + 1];
    uint8_t nonce[8];
    randombytes_buf(nonce, sizeof nonce);
    int n = snprintf(routing_id, sizeof routing_id, "%.*s/", (int)(S_MAX_ROUTING_ID - 17), self->own_id);
    for (size_t i = 0; i < sizeof nonce; i++)
        n += snprintf(routing_id + n, sizeof routing_id - (size_t)n, "%02x", nonce[i]);
    if (zmq_setsockopt(self->socket, ZMQ_ROUTING_ID, routing_id, (size_t)n) != 0 ||
        s_setopt_int(self->socket, ZMQ_LINGER, 0) != 0 ||
        s_setopt_int(self->socket, ZMQ_IMMEDIATE, 1) != 0 ||
        s_setopt_int(self->socket, ZMQ_RECONNECT_IVL_MAX, S_RECONNECT_IVL_MAX_MS) != 0 ||
        s_setopt_int(self->socket, ZMQ_HEARTBEAT_IVL, hb) != 0 ||
        s_setopt_int(self->socket, ZMQ_HEARTBEAT_TIMEOUT, hb * S_UP_HEARTBEATS) != 0)
        goto fail;
    if (gr_curve_client(self->socket, opt->kp, opt->peer_pk) != 0)
        goto fail;
    /* The monitor must be connected before the DEALER connects, or the
     * first events are dropped. */
    if (zmq_socket_monitor(self->socket, monitor_ep,
                           ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0 ||
        !(self->monitor = zmq_socket(zmq_ctx, ZMQ_PAIR)) ||
        s_setopt_int(self->monitor, ZMQ_LINGER, 0) != 0 ||
        zmq_connect(self->monitor, monitor_ep) != 0)
        goto fail;
    if (!(self->endpoint = strdup(endpoint)) || zmq_connect(self->socket, endpoint) != 0)
        goto fail;
    return self;
fail:
    gr_link_destroy(&self);
    return NULL;
}

gr_link_t *gr_link_new_downward(void *router, const gr_link_options_t *opt)
{
    if (!router)
        return NULL;
    gr_link_t *self = s_new(opt);
    if (self)
        self->socket = router;
    return self;
}

void gr_link_destroy(gr_link_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gr_link_t *self = *self_p;
    if (self->upward && self->socket) {
        if (self->monitor)
            zmq_socket_monitor(self->socket, NULL, 0);
        zmq_close(self->socket);
    }
    if (self->monitor)
        zmq_close(self->monitor);
    for (size_t i = 0; i < self->count; i++)
        s_item_free(s_at(self, i));
    free(self->ring);
    free(self->pending);
    free(self->peer_id);
    free(self->endpoint);
    free(self->own_id);
    memset(&self->kp, 0, sizeof self->kp);
    free(self);
    *self_p = NULL;
}

/* ---- the public operations ---- */

int gr_link_emit(gr_link_t *self, const gr_link_item_t *item)
{
    if (!self || !item || (!item->data && item->len))
        return GR_EINVAL;
    /* Already in the window or acknowledged: loading it again would send
     * it twice. */
    if (item->seq <= self->loaded_upto)
        return 0;
    /* Check for a disconnect first: after one, this item must wait behind
     * the resend of the older ones (done here if the transport is back). */
    s_check_transport(self);
    if (self->count == self->cap && s_grow(self) != 0)
        return GR_ENOMEM;
    uint8_t *copy = malloc(item->len ? item->len : 1);
    if (!copy)
        return GR_ENOMEM;
    if (item->len)
        memcpy(copy, item->data, item->len);
    s_item_t fresh = { .seq = item->seq, .data = copy, .len = item->len,
                       .attempt_ms = self->now_ms };
    /* A version-2 entry: its fields kept apart, to batch or sign at send. */
    Gridrelay__Envelope *env = gridrelay__envelope__unpack(NULL, item->len, item->data);
    if (env && env->version == GR_LINK_VERSION && env->signature.len == 0 && !env->receipt &&
        env->seq == item->seq) {
        fresh.batchable = true;
        fresh.sent_ms = env->sent_ms;
        fresh.body_len = env->body.len;
        fresh.body = malloc(env->body.len ? env->body.len : 1);
        if (fresh.body && env->body.len)
            memcpy(fresh.body, env->body.data, env->body.len);
    }
    gridrelay__envelope__free_unpacked(env, NULL);
    if (fresh.batchable && !fresh.body) {
        free(copy);
        return GR_ENOMEM;
    }
    s_item_t *slot = &self->ring[(self->head + self->count) % self->cap];
    *slot = fresh;
    self->count++;
    self->loaded_upto = item->seq;
    self->emitted++;
    if (!self->blocked)
        s_send_item(self, slot, true);
    if (!self->filling)
        s_flush(self);
    return 0;
}

void *gr_link_socket(gr_link_t *self)
{
    return self && self->upward ? self->socket : NULL;
}

int gr_link_on_readable(gr_link_t *self, uint64_t now_ms)
{
    if (!self || !self->upward)
        return GR_EINVAL;
    s_set_now(self, now_ms);
    int rc = 0;
    for (int n = 0; n < S_READ_BATCH; n++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, self->socket, ZMQ_DONTWAIT) < 0) {
            int err = zmq_errno();
            zmq_msg_close(&msg);
            if (err != EAGAIN && err != EINTR)
                rc = -err;
            break;
        }
        if (zmq_msg_more(&msg)) {
            /* A parent sends one frame per message to a DEALER: this is not
             * one of ours. Drop every part. */
            bool more = true;
            while (more) {
                zmq_msg_t part;
                zmq_msg_init(&part);
                more = zmq_msg_recv(&part, self->socket, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&part);
                zmq_msg_close(&part);
            }
            self->rejected_total++;
            zmq_msg_close(&msg);
            continue;
        }
        gr_opened_t opened;
        const uint8_t *frame = zmq_msg_data(&msg);
        size_t len = zmq_msg_size(&msg);
        if (gr_envelope_open_from(&opened, frame, len, self->peer_pk, self->max_frame) != 0) {
            self->rejected_total++;
        } else {
            s_handle(self, &opened, frame, len);
            gr_opened_clear(&opened);
        }
        zmq_msg_close(&msg);
    }
    s_check_transport(self);
    return rc;
}

int gr_link_on_message(gr_link_t *self, const gr_opened_t *opened, const uint8_t *frame,
                       size_t len, uint64_t now_ms)
{
    if (!self || !opened || !opened->envelope || !opened->body)
        return GR_EINVAL;
    s_set_now(self, now_ms);
    const Gridrelay__Envelope *env = opened->envelope;
    /* The owner routed it here by ZAP identity; the signature must agree,
     * or a child could ack another child's items. */
    if (env->signer.len != GR_PUBLIC_KEY_BYTES ||
        memcmp(env->signer.data, self->peer_pk, GR_PUBLIC_KEY_BYTES) != 0) {
        self->rejected_total++;
        return GR_EUNTRUSTED;
    }
    s_handle(self, opened, frame, len);
    return 0;
}

void gr_link_kick(gr_link_t *self)
{
    if (!self)
        return;
    self->more = true;
    self->next_load_ms = 0;
}

int gr_link_tick(gr_link_t *self, uint64_t now_ms)
{
    if (!self)
        return GR_EINVAL;
    s_set_now(self, now_ms);
    s_check_transport(self);
    if (self->up && s_elapsed(now_ms, self->last_contact_ms) >=
                        (uint64_t)self->heartbeat_ms * S_UP_HEARTBEATS)
        s_set_up(self, false);
    s_send_held(self);  /* in case frames were forgotten without an answer */
    int rc = s_fill(self);
    if (self->count > 0 && s_elapsed(now_ms, s_resend_from(self)) >= self->retry_cur) {
        self->timed_out_ms = now_ms;
        s_resend_overdue(self);
        /* No answer for a timeout: stop waiting for the frames out (their
         * items are resent by the rules above) and send what was held. */
        self->n_open = 0;
        s_send_held(self);
        uint64_t next = (uint64_t)self->retry_cur * 2;
        self->retry_cur = next > self->retry_max_ms ? self->retry_max_ms : (uint32_t)next;
    }
    if (s_elapsed(now_ms, self->last_send_ms) >= self->heartbeat_ms)
        s_heartbeat(self);
    return rc;
}

/* Milliseconds from now until the instant at + delay (0 when past). */
static uint64_t s_until(uint64_t now, uint64_t at, uint64_t delay)
{
    uint64_t due = at + delay;
    return due > now ? due - now : 0;
}

int gr_link_timeout_ms(const gr_link_t *self, uint64_t now_ms)
{
    if (!self)
        return 0;
    uint64_t hb = self->heartbeat_ms;
    uint64_t t = s_until(now_ms, self->last_send_ms, hb);
    if (self->count > 0)
        t = s_min_time(t, s_until(now_ms, s_resend_from(self), self->retry_cur));
    if (self->up)
        t = s_min_time(t, s_until(now_ms, self->last_contact_ms, hb * S_UP_HEARTBEATS));
    if (self->more && self->count < self->window)
        t = s_min_time(t, s_until(now_ms, self->next_load_ms, 0));
    if (self->upward && self->blocked)
        t = s_min_time(t, S_RECONNECT_CHECK_MS);
    return (int)s_min_time(t, hb);
}

int gr_link_send(gr_link_t *self, const uint8_t *frame, size_t len)
{
    if (!self || (!frame && len))
        return GR_EINVAL;
    s_check_transport(self);
    return s_transmit(self, frame, len);
}

void gr_link_status(const gr_link_t *self, gr_link_status_t *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!self)
        return;
    out->up = self->up;
    out->last_contact_ms = self->last_contact_ms;
    out->in_flight = self->count - self->n_held;  /* held ones were not sent */
    out->acked_seq = self->acked_seq;
    out->sent_total = self->sent_total;
    out->resent_total = self->resent_total;
    out->acked_total = self->acked_total;
    out->refused_total = self->refused_total;
    out->dead_total = self->dead_total;
    out->rejected_total = self->rejected_total;
    out->peer_version = self->peer_version;
    out->batches_total = self->batches_total;
    out->batched_total = self->batched_total;
    out->held_total = self->held_total;
}

int gr_link_set_route(gr_link_t *self, const void *routing_id, size_t len)
{
    if (!self || self->upward || !routing_id || len == 0 || len > S_MAX_ROUTING_ID)
        return GR_EINVAL;
    if (len == self->route_len && memcmp(self->route, routing_id, len) == 0)
        return 0;
    /* A new connection: whatever went to the old one may be lost. */
    memcpy(self->route, routing_id, len);
    self->route_len = len;
    if (self->count > 0)
        self->blocked = true;
    return 0;
}

const char *gr_link_peer_id(const gr_link_t *self)
{
    return self ? self->peer_id : NULL;
}
