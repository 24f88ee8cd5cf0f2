/* Private to broker/link*.c: the link's state, which its three files
 * share. Not part of the public API (broker/link.h is); nothing outside
 * broker/link*.c includes it.
 *
 *   link.c            the public operations and the lifecycle: what a
 *                     verified frame, a tick or an emit does, in which
 *                     order; up/down from heartbeat contact
 *   link_window.c     the window of sent, unacknowledged outbox entries:
 *                     order, batching and held entries, the resend timer
 *                     and its answer time, what an Ack or Error settles
 *   link_transport.c  the socket: sending without blocking, the upward
 *                     DEALER's options and monitor, redial, heartbeats
 *
 * Calls go one way: link.c -> link_window.c -> link_transport.c (and
 * link.c -> link_transport.c), each through its own private header
 * (link_window.h, link_transport.h), all three on this state. The
 * transport knows nothing of entries; the window hands it finished
 * frames.
 *
 * Thread safety: a link is its owner's thread's, like its socket.
 */
#ifndef GR_LINK_STATE_H
#define GR_LINK_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link_types.h"

/* ZeroMQ routing ids are 1..255 bytes. */
#define GR_LINK_MAX_ROUTING_ID 255
/* Heartbeat periods without a verified frame before the link is down. */
#define GR_LINK_UP_HEARTBEATS 3
/* Unanswered batch frames remembered; past this the oldest is forgotten
 * (taken as answered), which can only send sooner. */
#define GR_LINK_OPEN_FRAMES_MAX 64

/* One outbox entry in the window. */
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
} gr_link_entry_t;

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
    uint8_t route[GR_LINK_MAX_ROUTING_ID];
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

    gr_link_entry_t *ring;         /* in-flight FIFO, ascending seq */
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
     * gr_link_window_flush() before any public call returns. */
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
    uint64_t open[GR_LINK_OPEN_FRAMES_MAX];
    size_t n_open;
    size_t n_held;          /* the newest n_held items of the window, never sent */
    uint64_t frame_serial;
    uint64_t held_total;    /* entries that waited for a frame to be answered */
};

static inline uint64_t gr_link_elapsed(uint64_t now, uint64_t then)
{
    return now > then ? now - then : 0;
}

static inline uint64_t gr_link_min_time(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Entry i of the window, 0 the oldest; i < self->count. */
static inline gr_link_entry_t *gr_link_entry_at(const gr_link_t *self, size_t i)
{
    return &self->ring[(self->head + i) % self->cap];
}

#endif
