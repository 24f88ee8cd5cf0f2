/* The tier link's transport: one frame to ZeroMQ without blocking, over
 * our DEALER upward or the owner's ROUTER downward, and what the upward
 * socket tells about its connection (see broker/link_state.h for the
 * files of the link).
 *
 * Design notes (why, since the header says what):
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
 * */
#include "link_transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <zmq.h>

#include "curve.h"
#include "error.h"
#include "linkbatch.h"

/* libzmq's reconnect interval's ceiling, and how soon a child refused at
 * the handshake dials again. */
#define S_RECONNECT_IVL_MAX_MS 1000

/* Hands one frame to ZeroMQ without blocking. Returns 0 or -errno; any
 * failure means the frame did not go out, so the link blocks. */
int gr_link_transmit(gr_link_t *self, const uint8_t *data, size_t len)
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

void gr_link_transport_heartbeat(gr_link_t *self)
{
    Gridrelay__Heartbeat hb = GRIDRELAY__HEARTBEAT__INIT;
    hb.node_id = self->own_id;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_HEARTBEAT;
    body.heartbeat = &hb;
    uint8_t *frame = NULL;
    size_t len = 0;
    /* Version 2 always, so that the peer learns ours (a version-2 peer
     * batches to us only once it has seen one of our version-2 frames);
     * every node since batched receipts accepts it. */
    int rc = gr_envelope_seal_body_version(&frame, &len, &self->kp, GR_LINK_VERSION,
                                           self->cb.next_seq(self->ctx), self->now_ms, &body);
    if (rc != 0) {
        self->last_send_ms = self->now_ms;  /* try again next period, not next turn */
        return;
    }
    gr_link_transmit(self, frame, len);
    free(frame);
}

static int s_setopt_int(void *socket, int option, int value)
{
    return zmq_setsockopt(socket, option, &value, sizeof value);
}


/* The endpoint is kept for redials. */
int gr_link_transport_open(gr_link_t *self, void *zmq_ctx, const char *endpoint,
                           const gr_link_options_t *opt)
{
    /* A counter, not the link's address: a closed monitor releases its
     * inproc name asynchronously, and malloc may hand the next link the
     * same address. */
    static uint64_t s_monitors;
    uint64_t serial = __atomic_add_fetch(&s_monitors, 1, __ATOMIC_RELAXED);
    char monitor_ep[64];
    snprintf(monitor_ep, sizeof monitor_ep, "inproc://gr-link-monitor-%llu",
             (unsigned long long)serial);
    if (!(self->socket = zmq_socket(zmq_ctx, ZMQ_DEALER)))
        return -1;
    int hb = (int)self->heartbeat_ms;
    /* LINGER 0: unsent frames are still in the owner's outbox. HEARTBEAT:
     * a silently dead TCP connection (a field network cut) is closed after
     * three missed ZMTP pings, which turns it into a DISCONNECTED event. */
    /* The routing id is the node id plus a random part: the parent learns
     * it from frames CURVE-authenticated as this node, so no other key can
     * claim this node's id on the parent's ROUTER and receive its mail. */
    char routing_id[GR_LINK_MAX_ROUTING_ID + 1];
    uint8_t nonce[8];
    randombytes_buf(nonce, sizeof nonce);
    int n = snprintf(routing_id, sizeof routing_id, "%.*s/", (int)(GR_LINK_MAX_ROUTING_ID - 17), self->own_id);
    for (size_t i = 0; i < sizeof nonce; i++)
        n += snprintf(routing_id + n, sizeof routing_id - (size_t)n, "%02x", nonce[i]);
    if (zmq_setsockopt(self->socket, ZMQ_ROUTING_ID, routing_id, (size_t)n) != 0 ||
        s_setopt_int(self->socket, ZMQ_LINGER, 0) != 0 ||
        s_setopt_int(self->socket, ZMQ_IMMEDIATE, 1) != 0 ||
        s_setopt_int(self->socket, ZMQ_RECONNECT_IVL_MAX, S_RECONNECT_IVL_MAX_MS) != 0 ||
        s_setopt_int(self->socket, ZMQ_HEARTBEAT_IVL, hb) != 0 ||
        s_setopt_int(self->socket, ZMQ_HEARTBEAT_TIMEOUT, hb * GR_LINK_UP_HEARTBEATS) != 0)
        return -1;
    if (gr_curve_client(self->socket, opt->kp, opt->peer_pk) != 0)
        return -1;
    /* The monitor must be connected before the DEALER connects, or the
     * first events are dropped. */
    if (zmq_socket_monitor(self->socket, monitor_ep,
                           ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0 ||
        !(self->monitor = zmq_socket(zmq_ctx, ZMQ_PAIR)) ||
        s_setopt_int(self->monitor, ZMQ_LINGER, 0) != 0 ||
        zmq_connect(self->monitor, monitor_ep) != 0)
        return -1;
    if (!(self->endpoint = strdup(endpoint)) || zmq_connect(self->socket, endpoint) != 0)
        return -1;
    return 0;
}

void gr_link_transport_close(gr_link_t *self)
{
    if (!self->upward)
        return;
    if (self->socket) {
        if (self->monitor)
            zmq_socket_monitor(self->socket, NULL, 0);
        zmq_close(self->socket);
        self->socket = NULL;
    }
    if (self->monitor) {
        zmq_close(self->monitor);
        self->monitor = NULL;
    }
}

bool gr_link_transport_back(gr_link_t *self)
{
    if (!self->upward)
        return false;
    s_drain_monitor(self);
    if (self->redial_ms && self->now_ms >= self->redial_ms) {
        /* Connect afresh, as libzmq would after any other failure. */
        self->redial_ms = 0;
        zmq_disconnect(self->socket, self->endpoint);
        zmq_connect(self->socket, self->endpoint);
    }
    return self->blocked && s_writable(self);
}
