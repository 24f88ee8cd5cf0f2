/* The tier link's window: the outbox entries sent and not yet
 * acknowledged, in seq order, and the rules for what to send when (see
 * broker/link_state.h for the files of the link).
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
#include "link_window.h"

#include "link_transport.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "linkbatch.h"

/* The wall clock may step backwards (NTP, an operator fixing the date):
 * without clamping, timers measured from a "future" timestamp would stall
 * for as long as the step. */
void gr_link_set_clock(gr_link_t *self, uint64_t now_ms)
{
    if (now_ms < self->now_ms) {
        for (size_t i = 0; i < self->count; i++) {
            gr_link_entry_t *entry = gr_link_entry_at(self, i);
            entry->attempt_ms = gr_link_min_time(entry->attempt_ms, now_ms);
        }
        self->last_send_ms = gr_link_min_time(self->last_send_ms, now_ms);
        self->last_contact_ms = gr_link_min_time(self->last_contact_ms, now_ms);
        self->down_ms = gr_link_min_time(self->down_ms, now_ms);
        self->progress_ms = gr_link_min_time(self->progress_ms, now_ms);
        self->next_load_ms = gr_link_min_time(self->next_load_ms, now_ms);
    }
    self->now_ms = now_ms;
}

static void s_item_free(gr_link_entry_t *item)
{
    free(item->data);
    free(item->body);
    free(item->sealed);
}

/* Index of seq in the window, or -1. The window is in ascending seq order
 * (emit only appends higher seqs, removal keeps order). */
static long s_find(const gr_link_t *self, uint64_t seq)
{
    size_t lo = 0, hi = self->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t at = gr_link_entry_at(self, mid)->seq;
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
    s_item_free(gr_link_entry_at(self, i));
    if (i == 0) {
        self->head = (self->head + 1) % self->cap;
    } else {
        for (size_t k = i; k + 1 < self->count; k++)
            *gr_link_entry_at(self, k) = *gr_link_entry_at(self, k + 1);
    }
    self->count--;
}

int gr_link_window_grow(gr_link_t *self)
{
    size_t cap = self->cap ? self->cap * 2 : self->window;
    gr_link_entry_t *ring = malloc(cap * sizeof *ring);
    if (!ring)
        return GR_ENOMEM;
    for (size_t i = 0; i < self->count; i++)
        ring[i] = *gr_link_entry_at(self, i);
    free(self->ring);
    self->ring = ring;
    self->cap = cap;
    self->head = 0;
    return 0;
}

static bool s_batches(const gr_link_t *self, const gr_link_entry_t *item)
{
    return item->batchable && self->peer_version >= GR_LINK_VERSION;
}

/* A batch frame went out: it is unanswered until the peer answers one of
 * its items or a later frame's. */
static void s_open_push(gr_link_t *self, uint64_t serial)
{
    if (self->n_open == GR_LINK_OPEN_FRAMES_MAX) {
        memmove(self->open, self->open + 1, (GR_LINK_OPEN_FRAMES_MAX - 1) * sizeof self->open[0]);
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
void gr_link_window_flush(gr_link_t *self)
{
    size_t n = self->n_pending;
    self->n_pending = 0;
    self->pending_bytes = 0;
    if (n == 0)
        return;
    gr_linkbatch_item_t *items = malloc(n * sizeof *items);
    gr_link_entry_t **members = malloc(n * sizeof *members);
    if (!items || !members) {
        free(items);
        free(members);
        self->blocked = true;  /* not sent: the recovery sends them */
        return;
    }
    size_t k = 0, bytes = 0;
    for (size_t i = 0; i <= n; i++) {
        long at = i < n ? s_find(self, self->pending[i]) : -1;
        const gr_link_entry_t *item = at >= 0 ? gr_link_entry_at(self, (size_t)at) : NULL;
        bool full = k == GR_LINKBATCH_MAX_ITEMS ||
                    (item && k > 0 && bytes + item->body_len + 64 > self->max_frame / 2);
        if ((i == n || full) && k > 0) {
            uint8_t *frame = NULL;
            size_t len = 0;
            if (!self->blocked &&
                gr_linkbatch_seal(&frame, &len, &self->kp, self->peer_pk, self->cb.next_seq(self->ctx),
                                  self->now_ms, items, k) == 0) {
                if (gr_link_transmit(self, frame, len) == 0) {
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
        members[k] = (gr_link_entry_t *)item;
        items[k++] = (gr_linkbatch_item_t){item->seq, item->sent_ms, item->body, item->body_len};
        bytes += item->body_len + 64;
    }
    free(items);
    free(members);
}

/* Hands one item to the transport: queued for the next batch, or sent on
 * its own (after the queued ones, so that order holds). A new batchable
 * item (may_hold) waits instead while max_frames frames are unanswered, or
 * while older items wait: returns 1 then, and gr_link_window_send_held() sends it. */
static int s_put_item(gr_link_t *self, gr_link_entry_t *item, bool may_hold)
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
    gr_link_window_flush(self);
    if (self->blocked)
        return GR_EIO;
    if (item->batchable && !item->sealed &&
        gr_envelope_seal_version(&item->sealed, &item->sealed_len, &self->kp, GR_PROTOCOL_VERSION,
                                 item->seq, item->sent_ms, item->body, item->body_len) != 0) {
        item->sealed = NULL;
        self->blocked = true;
        return GR_ENOMEM;
    }
    return item->batchable ? gr_link_transmit(self, item->sealed, item->sealed_len)
                           : gr_link_transmit(self, item->data, item->len);
}

static int s_send_item(gr_link_t *self, gr_link_entry_t *item, bool may_hold)
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
int gr_link_window_resend_all(gr_link_t *self)
{
    self->blocked = false;
    /* Whatever was out may be lost, and the held items go now too. */
    self->n_open = 0;
    self->n_held = 0;
    for (size_t i = 0; i < self->count; i++) {
        int rc = s_send_item(self, gr_link_entry_at(self, i), false);
        if (rc != 0)
            return rc;
    }
    gr_link_window_flush(self);
    return 0;
}

/* The held items (the newest n_held of the window), as one frame, once
 * fewer than max_frames frames are unanswered. */
void gr_link_window_send_held(gr_link_t *self)
{
    if (self->n_held == 0 || self->blocked || self->n_open >= self->max_frames)
        return;
    size_t first = self->count - self->n_held;
    self->n_held = 0;
    for (size_t i = first; i < self->count; i++)
        if (s_send_item(self, gr_link_entry_at(self, i), false) != 0)
            break;  /* blocked: the recovery sends the rest */
    gr_link_window_flush(self);
}

/* The resend timer's start: the later of the last progress and the oldest
 * item's last send (see the design notes). Only with items in flight. */
uint64_t gr_link_window_resend_from(const gr_link_t *self)
{
    uint64_t sent = gr_link_entry_at(self, 0)->attempt_ms;
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
        gr_link_window_resend_all(self);
        return;
    }
    for (size_t i = 0; i < self->count; i++) {
        gr_link_entry_t *item = gr_link_entry_at(self, i);
        if (i >= self->count - self->n_held)
            break;  /* held, never sent: gr_link_window_send_held() */
        if ((i == 0 || item->skipped) && s_send_item(self, item, false) != 0)
            return;
    }
    gr_link_window_flush(self);
}

/* The peer answered the copy of item i that we sent last: it has passed
 * every older item whose last copy went out before that one, without
 * committing it (the peer reads a connection in order). */
static void s_mark_skipped(gr_link_t *self, size_t i)
{
    uint64_t serial = gr_link_entry_at(self, i)->serial;
    for (size_t k = 0; k < i; k++) {
        gr_link_entry_t *older = gr_link_entry_at(self, k);
        if (older->sends > 0 && older->serial < serial)
            older->skipped = true;
    }
}

static bool s_error_is_transient(const Gridrelay__Error *error)
{
    return error->code == GRIDRELAY__ERROR_CODE__ERR_STORE_FULL ||
           error->code == GRIDRELAY__ERROR_CODE__ERR_INTERNAL;
}

/* An answer to an item sent once (Karn's rule: a resent item's answer
 * cannot say which copy it answers) is an answer time: the resend timeout
 * becomes the smoothed time plus four variations (RFC 6298 2.2-2.3), at
 * least retry_ms, at most retry_max_ms. A peer slower than retry_ms (a
 * district under a burst from a thousand villages) is then waited for
 * instead of being sent every window again each second, which only adds
 * to what it must get through. Without such an answer a backed-off
 * timeout stays as it is (RFC 6298 5.7). */
static void s_sample(gr_link_t *self, const gr_link_entry_t *item)
{
    /* An item that was out when the timer fired measures how long the peer
     * was silent, not how fast it answers. */
    if (item->sends != 1 || item->attempt_ms < self->timed_out_ms ||
        (self->rtt_known && self->sampled_ms == self->now_ms))
        return;
    uint64_t r = gr_link_elapsed(self->now_ms, item->attempt_ms);
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
    s_sample(self, gr_link_entry_at(self, i));
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
    s_frame_answered(self, gr_link_entry_at(self, (size_t)i)->frame);
    s_settle(self, (size_t)i);
    self->acked_total++;
    if (ref > self->acked_seq)
        self->acked_seq = ref;
    self->cb.acked(self->ctx, ref);
}

/* Asks the owner for more outbox entries while the window has room. The
 * emits are counted here rather than trusting load's return value, so an
 * owner that returns 0 on success still gets the next batch. */
int gr_link_window_fill(gr_link_t *self)
{
    if (!self->more || self->count >= self->window || self->now_ms < self->next_load_ms)
        return 0;
    size_t max = self->window - self->count;
    self->emitted = 0;
    self->filling = true;
    int rc = self->cb.load(self->ctx, self, self->loaded_upto, max);
    self->filling = false;
    gr_link_window_flush(self);
    if (rc < 0) {
        /* Retry later rather than on every loop turn. */
        self->next_load_ms = self->now_ms + self->retry_ms;
        return rc;
    }
    if (self->emitted < max)
        self->more = false;
    return 0;
}

void gr_link_window_forget_after(gr_link_t *self, uint64_t seq)
{
    /* Emits only append higher seqs, so they are the newest; none waits
     * for a batch frame here (every public call flushes before it
     * returns). */
    while (self->count > 0 && gr_link_entry_at(self, self->count - 1)->seq > seq)
        s_remove(self, self->count - 1);
    if (self->loaded_upto > seq) {
        self->loaded_upto = seq;
        self->more = true;
        self->next_load_ms = 0;
    }
}

void gr_link_window_free(gr_link_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        s_item_free(gr_link_entry_at(self, i));
    self->count = 0;
    free(self->ring);
    self->ring = NULL;
    free(self->pending);
    self->pending = NULL;
}

int gr_link_window_append(gr_link_t *self, const gr_link_item_t *item)
{
    if (self->count == self->cap && gr_link_window_grow(self) != 0)
        return GR_ENOMEM;
    uint8_t *copy = malloc(item->len ? item->len : 1);
    if (!copy)
        return GR_ENOMEM;
    if (item->len)
        memcpy(copy, item->data, item->len);
    gr_link_entry_t fresh = { .seq = item->seq, .data = copy, .len = item->len,
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
    gr_link_entry_t *slot = &self->ring[(self->head + self->count) % self->cap];
    *slot = fresh;
    self->count++;
    self->loaded_upto = item->seq;
    self->emitted++;
    if (!self->blocked)
        s_send_item(self, slot, true);
    if (!self->filling)
        gr_link_window_flush(self);
    return 0;
}

void gr_link_window_timed_out(gr_link_t *self)
{
    self->timed_out_ms = self->now_ms;
    s_resend_overdue(self);
    /* No answer for a timeout: stop waiting for the frames out (their
     * entries are resent by the rules above) and send what was held. */
    self->n_open = 0;
    gr_link_window_send_held(self);
    uint64_t next = (uint64_t)self->retry_cur * 2;
    self->retry_cur = next > self->retry_max_ms ? self->retry_max_ms : (uint32_t)next;
}

/* An Error reply: a permanent refusal settles the entry as a dead letter,
 * any other makes it a resend at the next timeout. */
static void s_refused(gr_link_t *self, const Gridrelay__Error *error, bool permanent)
{
    long i = s_find(self, error->ref_seq);
    if (i < 0)
        return;
    s_frame_answered(self, gr_link_entry_at(self, (size_t)i)->frame);
    if (self->cb.dead && permanent) {
        /* Refused for good: out of the window, to the owner's dead
         * letters. */
        self->refused_total++;
        self->dead_total++;
        s_settle(self, (size_t)i);
        self->cb.dead(self->ctx, error->ref_seq, error->code, error->message ? error->message : "");
        return;
    }
    /* The peer will not answer this copy again; only a resend can get the
     * entry committed, transient refusal or not. */
    gr_link_entry_at(self, (size_t)i)->skipped = true;
    if (!s_error_is_transient(error))
        self->refused_total++;
}

bool gr_link_window_answer(gr_link_t *self, const gr_opened_t *opened, bool permanent)
{
    const Gridrelay__Body *body = opened->body;
    /* A peer that sent one version-2 frame speaks 2 (its replies to our
     * version-1 frames may still say 1); one that never did is taken at
     * its word, so an older parent turns an upward link back to 1. */
    uint32_t version = opened->envelope->version;
    if (version >= GR_LINK_VERSION)
        self->peer_v2_seen = true;
    /* Only an answer to what we sent says the peer cannot read version 2
     * (an older parent refuses a batch frame); any other frame sealed in
     * version 1 (a CatchUp from a node that sealed those so) says nothing
     * of the sort, and taken at its word it made a fresh child sign every
     * escalation on its own until the parent's next heartbeat. */
    bool answer = body->kind_case == GRIDRELAY__BODY__KIND_ACK ||
                  body->kind_case == GRIDRELAY__BODY__KIND_ACK_BATCH ||
                  body->kind_case == GRIDRELAY__BODY__KIND_ERROR;
    if (answer || version >= GR_LINK_VERSION) {
        if (self->n_pending > 0 && !self->peer_v2_seen && version < GR_LINK_VERSION)
            gr_link_window_flush(self);  /* what was queued for a version-2 peer goes as it was */
        self->peer_version = self->peer_v2_seen ? GR_LINK_VERSION : version;
    }
    /* A peer of version 1 answers no batch frame (its ERR_UNSUPPORTED
     * names the frame's own seq): stop waiting for them. */
    if (self->peer_version < GR_LINK_VERSION)
        self->n_open = 0;
    switch (body->kind_case) {
    case GRIDRELAY__BODY__KIND_ACK:
        s_ack_one(self, body->ack ? body->ack->ref_seq : 0);
        return true;
    case GRIDRELAY__BODY__KIND_ACK_BATCH:
        /* In seq order, as separate Acks would have come. */
        for (size_t k = 0; body->ack_batch && k < body->ack_batch->n_ref_seqs; k++)
            s_ack_one(self, body->ack_batch->ref_seqs[k]);
        return true;
    case GRIDRELAY__BODY__KIND_ERROR:
        if (body->error)
            s_refused(self, body->error, permanent);
        return false;  /* the owner logs it */
    default:
        return false;
    }
}
