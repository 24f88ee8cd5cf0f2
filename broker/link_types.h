/* The tier link's vocabulary (broker/link.h is the manual): the handle,
 * an outbox entry as the owner hands it over, the owner's callbacks and
 * the options. Apart from link.h so that the link's own files
 * (link_state.h and below) use them without including the public face
 * that link.c implements on top of them.
 *
 * Thread safety: types only.
 */
#ifndef GR_LINK_TYPES_H
#define GR_LINK_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "keys.h"

typedef struct gr_link gr_link_t;

/* One sealed outbox entry handed to the link; the link copies data. */
typedef struct {
    uint64_t seq;
    const uint8_t *data;
    size_t len;
} gr_link_item_t;

typedef struct {
    /* Visit up to max outbox entries with seq > after, in seq order, by
     * calling emit(link, item) for each; return the number visited or a
     * negative code. Called when the link has room in its send window. */
    int (*load)(void *ctx, gr_link_t *link, uint64_t after, size_t max);
    /* The peer acknowledged seq (it committed it): delete it from the
     * outbox. Called once per seq. */
    void (*acked)(void *ctx, uint64_t seq);
    /* A verified message from the peer that is not an Ack of ours (an
     * Assign, Feedback, CatchUp, Heartbeat...). opened is only valid
     * during the call. */
    void (*message)(void *ctx, gr_link_t *link, const gr_opened_t *opened, const uint8_t *frame,
                    size_t len);
    /* The link went up or down (for logs and status). */
    void (*changed)(void *ctx, gr_link_t *link, bool up);
    /* Next envelope seq of the owner's key (heartbeats are sealed with it). */
    uint64_t (*next_seq)(void *ctx);
    /* Optional. The peer refused seq for good (gr_link_error_is_permanent
     * of code): the link has taken it out of its window and will not send
     * it again; the owner moves it out of the outbox (its dead letters).
     * message is only valid during the call. Without this callback such
     * items are kept and retried like any other refusal. */
    void (*dead)(void *ctx, uint64_t seq, int code, const char *message);
} gr_link_callbacks_t;

typedef struct {
    const char *peer_id;            /* node id of the peer, for logs and status */
    const uint8_t *peer_pk;         /* peer's Ed25519 key: replies must be signed by it */
    const gr_keypair_t *kp;         /* the owner's key */
    const char *own_id;             /* owner's node id (routing id upward) */
    size_t window;                  /* max unacked items in flight; 0 = 256 */
    size_t frames;                  /* max unanswered batch frames; 0 = 2 */
    uint32_t retry_ms;              /* resend after this long without
                                     * progress; 0 = 1000 */
    uint32_t retry_max_ms;          /* backoff cap; 0 = 30000 */
    uint32_t heartbeat_ms;          /* 0 = 1000 */
    size_t max_frame;               /* 0 = GR_DEFAULT_MAX_FRAME */
    gr_link_callbacks_t callbacks;
    void *ctx;
} gr_link_options_t;

#endif
