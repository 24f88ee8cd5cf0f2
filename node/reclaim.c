#include "reclaim.h"

#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

struct gr_reclaim {
    void *ctx;
    void *watched[GR_RECLAIM_MAX_SOCKETS];
    void *monitor[GR_RECLAIM_MAX_SOCKETS];  /* our end of each socket's monitor */
    size_t n;
    bool pending;           /* a disconnect not yet trimmed for */
    uint64_t first_ms;      /* of the first such disconnect */
    uint64_t last_ms;       /* of the latest */
};

gr_reclaim_t *gr_reclaim_new(void *zmq_ctx, char *err, size_t errlen)
{
    gr_reclaim_t *self = zmq_ctx ? calloc(1, sizeof *self) : NULL;
    if (!self) {
        snprintf(err, errlen, zmq_ctx ? "out of memory" : "no ZeroMQ context");
        return NULL;
    }
    self->ctx = zmq_ctx;
    return self;
}

void gr_reclaim_destroy(gr_reclaim_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gr_reclaim_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++) {
        /* Stop the monitor before closing our end of it: an event for a
         * monitor with no reader would block libzmq's I/O thread. */
        zmq_socket_monitor(self->watched[i], NULL, 0);
        zmq_close(self->monitor[i]);
    }
    free(self);
    *self_p = NULL;
}

int gr_reclaim_watch(gr_reclaim_t *self, void *socket, char *err, size_t errlen)
{
    if (!self || !socket || self->n == GR_RECLAIM_MAX_SOCKETS) {
        snprintf(err, errlen, "cannot watch more than %d sockets", GR_RECLAIM_MAX_SOCKETS);
        return GR_EINVAL;
    }
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://gr-reclaim-%p", socket);
    void *monitor = zmq_socket(self->ctx, ZMQ_PAIR);
    /* No receive limit: libzmq sends monitor events blocking, from its I/O
     * thread, so a full pipe would stall every connection until the main
     * loop reads. An event is a few dozen bytes, read each loop turn. */
    int unlimited = 0, linger = 0;
    if (!monitor || zmq_setsockopt(monitor, ZMQ_RCVHWM, &unlimited, sizeof unlimited) != 0 ||
        zmq_setsockopt(monitor, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_socket_monitor(socket, endpoint, ZMQ_EVENT_DISCONNECTED) != 0 ||
        zmq_connect(monitor, endpoint) != 0) {
        snprintf(err, errlen, "cannot monitor a socket: %s", zmq_strerror(zmq_errno()));
        if (monitor) {
            zmq_socket_monitor(socket, NULL, 0);
            zmq_close(monitor);
        }
        return GR_EIO;
    }
    self->watched[self->n] = socket;
    self->monitor[self->n++] = monitor;
    return 0;
}

size_t gr_reclaim_poll_items(gr_reclaim_t *self, zmq_pollitem_t *items, size_t max)
{
    size_t n = 0;
    for (; self && n < self->n && n < max; n++)
        items[n] = (zmq_pollitem_t){ self->monitor[n], 0, ZMQ_POLLIN, 0 };
    return n;
}

/* When the pending trim is due: a quiet moment after the last disconnect,
 * but no later than the cap after the first, so steady churn is trimmed. */
static uint64_t s_due_ms(const gr_reclaim_t *self)
{
    uint64_t quiet = self->last_ms + GR_RECLAIM_QUIET_MS;
    uint64_t cap = self->first_ms + GR_RECLAIM_MAX_DELAY_MS;
    return quiet < cap ? quiet : cap;
}

int gr_reclaim_timeout_ms(const gr_reclaim_t *self, uint64_t now_ms, int timeout_ms)
{
    if (!self || !self->pending)
        return timeout_ms;
    uint64_t due = s_due_ms(self);
    uint64_t wait = due > now_ms ? due - now_ms : 0;
    return timeout_ms < 0 || wait < (uint64_t)timeout_ms ? (int)wait : timeout_ms;
}

/* Reads every event waiting on one monitor; returns how many were
 * disconnects. An event is two frames: 16-bit event and 32-bit value,
 * then the endpoint. */
static uint64_t s_drain(void *monitor)
{
    uint64_t n = 0;
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    while (zmq_msg_recv(&frame, monitor, ZMQ_DONTWAIT) >= 0) {
        uint16_t event = 0;
        if (zmq_msg_size(&frame) >= sizeof event) {
            memcpy(&event, zmq_msg_data(&frame), sizeof event);
            n += event == ZMQ_EVENT_DISCONNECTED;
        }
        while (zmq_msg_more(&frame) && zmq_msg_recv(&frame, monitor, ZMQ_DONTWAIT) >= 0) {
        }
    }
    zmq_msg_close(&frame);
    return n;
}

void gr_reclaim_tick(gr_reclaim_t *self, uint64_t now_ms)
{
    if (!self)
        return;
    uint64_t seen = 0;
    for (size_t i = 0; i < self->n; i++)
        seen += s_drain(self->monitor[i]);
    if (seen > 0) {
        self->last_ms = now_ms;
        if (!self->pending)
            self->first_ms = now_ms;
        self->pending = true;
    }
    if (self->pending && now_ms >= s_due_ms(self)) {
        malloc_trim(0);
        self->pending = false;
    }
}
