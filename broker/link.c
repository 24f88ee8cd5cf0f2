/* The tier link: a reliable, ordered channel to one peer node over one
 * transport (our DEALER upward, the owner's ROUTER downward). This file
 * holds the public operations and the lifecycle; the window of entries in
 * flight is link_window.c, the socket link_transport.c (the map is in
 * broker/link_state.h).
 *
 * Design notes (why, since the header says what):
 *
 * - Up/down is heartbeat contact only, as the header defines it; a link
 *   that comes back up after being down resends its window when the oldest
 *   item was last sent before the link was seen down.
 *
 * - Every public call first takes the clock (a clock stepped back pulls
 *   the timers back), then checks the transport, so that an item emitted
 *   after a disconnect waits behind the resend of the older ones, and ends
 *   by flushing what was queued for a batch frame.
 */
#include "link.h"

#include "link_transport.h"
#include "link_window.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <zmq.h>

#include "client.h"
#include "error.h"
#include "linkbatch.h"

#define S_DEFAULT_WINDOW 256  /* see PROTOCOL.md 8.5: 64 left the chain idle */
/* Batch frames unanswered at a time (link protocol 2): while that many are
 * out, new entries wait and go together in the next frame (link_window.c).
 * 2 keeps one frame queued at the peer while it works on the other. */
#define S_DEFAULT_FRAMES 2
#define S_DEFAULT_RETRY_MS 1000
#define S_DEFAULT_RETRY_MAX_MS 30000
#define S_DEFAULT_HEARTBEAT_MS 1000
/* How often a blocked upward link checks whether the DEALER reconnected:
 * libzmq's first reconnect attempt comes after 100 ms. */
#define S_RECONNECT_CHECK_MS 100
/* Frames handled per gr_link_on_readable() call, so that a flood from the
 * parent cannot starve the owner's other sockets; zmq_poll stays readable. */
#define S_READ_BATCH 1024

/* Upward: notices a disconnect, and resends the window once the DEALER has
 * a live connection again. */
static void s_check_transport(gr_link_t *self)
{
    if (gr_link_transport_back(self))
        gr_link_window_resend_all(self);
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
        if (again && self->count > 0 && gr_link_entry_at(self, 0)->attempt_ms <= self->down_ms)
            self->blocked = true;
    }
    /* The peer reached us, so the transport works again. */
    if (self->blocked)
        gr_link_window_resend_all(self);
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

/* One verified frame from the peer: Acks of ours are consumed, everything
 * else (Errors included, so the owner can log them) goes to the message
 * callback. Heartbeats are forwarded too: their status_seq matters to the
 * owner's catch-up. */
static void s_handle(gr_link_t *self, const gr_opened_t *opened, const uint8_t *frame, size_t len)
{
    const Gridrelay__Body *body = opened->body;
    bool permanent = body->kind_case == GRIDRELAY__BODY__KIND_ERROR && body->error &&
                     gr_link_error_is_permanent(body->error->code);
    bool consumed = gr_link_window_answer(self, opened, permanent);
    s_contact(self);
    gr_link_window_send_held(self);
    if (!consumed && self->cb.message)
        self->cb.message(self->ctx, self, opened, frame, len);
    gr_link_window_flush(self);
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
    self->peer_id = strdup(opt->peer_id);
    self->own_id = strdup(opt->own_id);
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
    if (self->heartbeat_ms > INT_MAX / GR_LINK_UP_HEARTBEATS)
        self->heartbeat_ms = INT_MAX / GR_LINK_UP_HEARTBEATS;
    self->max_frame = opt->max_frame ? opt->max_frame : GR_DEFAULT_MAX_FRAME;
    self->cb = opt->callbacks;
    self->ctx = opt->ctx;
    self->retry_cur = self->retry_ms;
    self->more = true;  /* entries left from before a restart */
    self->now_ms = gr_now_ms();
    self->peer_version = GR_PROTOCOL_VERSION;
    self->max_frames = opt->frames ? opt->frames : S_DEFAULT_FRAMES;
    if (gr_link_window_grow(self) != 0)
        gr_link_destroy(&self);
    return self;
}

gr_link_t *gr_link_new_upward(void *zmq_ctx, const char *endpoint, const gr_link_options_t *opt)
{
    if (!zmq_ctx || !endpoint || !opt || !opt->own_id)
        return NULL;
    size_t id_len = strlen(opt->own_id);
    if (id_len == 0 || id_len > GR_LINK_MAX_ROUTING_ID)
        return NULL;
    gr_link_t *self = s_new(opt);
    if (!self)
        return NULL;
    self->upward = true;
    self->peer_version = GR_LINK_VERSION;
    if (gr_link_transport_open(self, zmq_ctx, endpoint, opt) != 0)
        gr_link_destroy(&self);
    return self;
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
    gr_link_transport_close(self);
    gr_link_window_free(self);
    free(self->peer_id);
    free(self->endpoint);
    free(self->own_id);
    sodium_memzero(&self->kp, sizeof self->kp);
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
    return gr_link_window_append(self, item);
}

void *gr_link_socket(gr_link_t *self)
{
    return self && self->upward ? self->socket : NULL;
}

int gr_link_on_readable(gr_link_t *self, uint64_t now_ms)
{
    if (!self || !self->upward)
        return GR_EINVAL;
    gr_link_set_clock(self, now_ms);
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
    gr_link_set_clock(self, now_ms);
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

int gr_link_send_outbox(gr_link_t *self, uint64_t now_ms)
{
    if (!self)
        return GR_EINVAL;
    gr_link_set_clock(self, now_ms);
    gr_link_kick(self);
    return gr_link_window_fill(self);
}

uint64_t gr_link_loaded_upto(const gr_link_t *self)
{
    return self ? self->loaded_upto : 0;
}

void gr_link_forget_after(gr_link_t *self, uint64_t seq)
{
    if (!self)
        return;
    gr_link_window_forget_after(self, seq);
}

int gr_link_tick(gr_link_t *self, uint64_t now_ms)
{
    if (!self)
        return GR_EINVAL;
    gr_link_set_clock(self, now_ms);
    s_check_transport(self);
    if (self->up && gr_link_elapsed(now_ms, self->last_contact_ms) >=
                        (uint64_t)self->heartbeat_ms * GR_LINK_UP_HEARTBEATS)
        s_set_up(self, false);
    gr_link_window_send_held(self);  /* in case frames were forgotten without an answer */
    int rc = gr_link_window_fill(self);
    if (self->count > 0 && gr_link_elapsed(now_ms, gr_link_window_resend_from(self)) >= self->retry_cur)
        gr_link_window_timed_out(self);
    if (gr_link_elapsed(now_ms, self->last_send_ms) >= self->heartbeat_ms)
        gr_link_transport_heartbeat(self);
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
        t = gr_link_min_time(t, s_until(now_ms, gr_link_window_resend_from(self), self->retry_cur));
    if (self->up)
        t = gr_link_min_time(t, s_until(now_ms, self->last_contact_ms, hb * GR_LINK_UP_HEARTBEATS));
    if (self->more && self->count < self->window)
        t = gr_link_min_time(t, s_until(now_ms, self->next_load_ms, 0));
    if (self->upward && self->blocked)
        t = gr_link_min_time(t, S_RECONNECT_CHECK_MS);
    return (int)gr_link_min_time(t, hb);
}

int gr_link_send(gr_link_t *self, const uint8_t *frame, size_t len)
{
    if (!self || (!frame && len))
        return GR_EINVAL;
    s_check_transport(self);
    return gr_link_transmit(self, frame, len);
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
    if (!self || self->upward || !routing_id || len == 0 || len > GR_LINK_MAX_ROUTING_ID)
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

uint32_t gr_link_peer_version(const gr_link_t *self)
{
    return self ? self->peer_version : GR_PROTOCOL_VERSION;
}
