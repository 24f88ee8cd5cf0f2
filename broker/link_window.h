/* Private to broker/link*.c: the window of sent, unacknowledged outbox
 * entries (link_window.c), on the state of broker/link_state.h. The
 * window calls the transport (link_transport.h), never the other way.
 *
 * Thread safety: the link's owner's thread only.
 */
#ifndef GR_LINK_WINDOW_H
#define GR_LINK_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#include "link_state.h"

/* Makes room for twice the entries (the first call: `window` of them).
 * Returns 0 or GR_ENOMEM, the window unchanged then. */
int gr_link_window_grow(gr_link_t *self);

/* Frees every entry and the window's buffers (at destroy). */
void gr_link_window_free(gr_link_t *self);

/* Takes the link's clock to now_ms; a clock stepped backwards pulls every
 * stored instant back with it, so no timer stalls for the step. */
void gr_link_set_clock(gr_link_t *self, uint64_t now_ms);

/* Appends a copy of the outbox entry (its seq above loaded_upto) and sends
 * it unless the link is blocked or it must be held. Returns 0, GR_ENOMEM. */
int gr_link_window_append(gr_link_t *self, const gr_link_item_t *item);

/* Sends the entries queued for a batch frame (before any public call
 * returns). A failed send blocks the link. */
void gr_link_window_flush(gr_link_t *self);

/* Unblocks and sends the whole window again from the oldest entry; stops
 * at a failed send, which blocks the link again. Returns 0 or the error. */
int gr_link_window_resend_all(gr_link_t *self);

/* Sends the held entries as one frame once fewer than max_frames frames
 * are unanswered and the link is not blocked. */
void gr_link_window_send_held(gr_link_t *self);

/* Asks the owner's load callback for more entries while there is room.
 * Returns 0 or load's error (retried after retry_ms). */
int gr_link_window_fill(gr_link_t *self);

/* Drops the entries above seq (the newest) and loads from seq on again. */
void gr_link_window_forget_after(gr_link_t *self, uint64_t seq);

/* When the resend timer started; only with entries in the window. */
uint64_t gr_link_window_resend_from(const gr_link_t *self);

/* The resend timer fired: resends what the rules say, stops waiting for
 * the frames out, backs the timeout off. */
void gr_link_window_timed_out(gr_link_t *self);

/* Learns the peer's link version from a verified frame, and settles what
 * an Ack, AckBatch or Error of the peer's answers; permanent: the Error
 * refuses its entry for good (gr_link_error_is_permanent), which makes
 * it a dead letter when the owner takes those. Returns true when the
 * frame was an answer the link consumed (Ack, AckBatch), false when the
 * owner's message callback should see it. */
bool gr_link_window_answer(gr_link_t *self, const gr_opened_t *opened, bool permanent);

#endif
