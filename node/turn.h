/* The requests of one turn of the main loop, from receipt to reply.
 *
 * A turn collects what is ready: requests on the ROUTER (from clients and
 * children, up to batch_max) and the frames the tier links received
 * (node/peers.c). It checks every signature at once on the pool's threads,
 * refuses what does not open (with an error reply and a counter), hands
 * the links what is theirs (acks, heartbeats), and expands link batches.
 * The daemon then writes and reads with the items (node/daemon.c); last,
 * gr_turn_reply() seals every reply (one signature per batched receipt,
 * one AckBatch per tier-link peer) and sends it, and empties the turn.
 *
 * Thread safety: one thread (the main loop's); the pool runs the
 * signature checks of gr_turn_collect() on several at once.
 */
#ifndef GR_TURN_H
#define GR_TURN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "config.h"
#include "counters.h"
#include "peers.h"
#include "pool.h"
#include "reply.h"
#include "request.h"
#include "sealer.h"
#include "sessions.h"

/* One message of the turn: a request on the ROUTER (from a client or a
 * child) or an inbound item from a link. */
typedef struct {
    bool from_router;
    zmq_msg_t identity;     /* ROUTER peer */
    zmq_msg_t payload;
    bool delimiter;         /* REQ-style peer: echo the empty frame back */
    bool extra_frames;      /* the message had more than one payload frame */
    gr_inbound_t inbound;   /* !from_router */
    int rc;                 /* framing / verification result */
    uint64_t ref_seq;
    gr_opened_t opened;
    gr_source_t source;
    bool consumed;          /* handled by the links (acks, heartbeats) */
    gr_reply_t reply;
    gr_seal_job_t seal;     /* the reply, sealed */
    gr_preverified_t pre;   /* inner signatures checked on the pool */
} gr_turn_item_t;

/* What a turn reads and answers through; none of it is owned. */
typedef struct {
    const gr_config_t *cfg;
    void *router;           /* the request socket */
    gr_sessions_t *sessions;
    gr_peers_t *peers;
    gr_counters_t *counters;
    gr_sealer_t *sealer;
    gr_pool_t *pool;
} gr_turn_deps_t;

typedef struct gr_turn gr_turn_t;

/* NULL when out of memory. deps is copied. */
gr_turn_t *gr_turn_new(const gr_turn_deps_t *deps);

/* Releases the items still held; sets *self_p to NULL. Accepts NULL. */
void gr_turn_destroy(gr_turn_t **self_p);

/* Takes every ready request and link frame (after those read ahead),
 * opens each (signatures on the pool) and classifies it: refused ones
 * hold their error reply, the links' own frames are consumed, link
 * batches' items join the turn, and the items that write get their
 * frame's hash (gr_opened_hash()). now_ms is the system clock, for the
 * links. */
void gr_turn_collect(gr_turn_t *self, uint64_t now_ms);

/* Reads the requests waiting on the ROUTER into an empty turn and starts
 * their signature checks on the pool's helper threads, without waiting:
 * the daemon calls it on the next turn just before it waits for the
 * current turn's commit, so that the checks run while the disk syncs.
 * Nothing else is done with them until gr_turn_collect(), which finishes
 * the checks and goes on as for any request. A turn that is not empty is
 * left as it is. The items' checks read the trust list: it must not change
 * (SIGHUP) while a turn holds requests read ahead. Returns how many were
 * read. */
size_t gr_turn_read_ahead(gr_turn_t *self);

/* Whether the turn's reads off the ROUTER stopped at its byte budget
 * (1 MiB): link batches from many children at once, whose items' checks
 * come after the frames' and are few per byte, so reading the next MiB
 * ahead would only hold it in memory sooner. */
bool gr_turn_filled(const gr_turn_t *self);

size_t gr_turn_count(const gr_turn_t *self);

/* Item i (< gr_turn_count()); valid until the next gr_turn_add() or
 * gr_turn_reply(). */
gr_turn_item_t *gr_turn_item(gr_turn_t *self, size_t i);

/* A new zeroed item at the end of the turn, or NULL when out of memory. */
gr_turn_item_t *gr_turn_add(gr_turn_t *self);

/* True when the item opened and is a request that writes. */
bool gr_turn_item_is_write(const gr_turn_item_t *item);

/* The item's frame as received. */
const uint8_t *gr_turn_item_frame(gr_turn_item_t *item, size_t *len);

/* Moves *from into *to (ZeroMQ messages by zmq_msg_move); *from is left
 * empty. *to holds nothing on entry. */
void gr_turn_item_move(gr_turn_item_t *to, gr_turn_item_t *from);

/* Frees what the item holds and zeroes it. */
void gr_turn_item_release(gr_turn_item_t *item);

/* Seals and sends every reply of the turn, then empties it. */
void gr_turn_reply(gr_turn_t *self);

#endif
