/* A verified request as its handler sees it: where it came from, the
 * transaction it runs in (its own, nested in the batch's: node/requests),
 * and the reply to fill in.
 *
 * Thread safety: the daemon's main thread only.
 */
#ifndef GR_REQUEST_H
#define GR_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "reply.h"
#include "store.h"
#include "wire.h"

/* Where a verified request came from. */
typedef enum {
    GR_FROM_CLIENT = 0,  /* a reporter, operator or department on the request socket */
    GR_FROM_CHILD,       /* a configured child node (peer = its id) */
    GR_FROM_PARENT,      /* the parent, over the upward link */
    GR_FROM_SKIP,        /* the skip-level ancestor, over its link */
} gr_source_kind_t;

typedef struct gr_source {
    gr_source_kind_t kind;
    const char *peer;    /* node id for CHILD / PARENT / SKIP */
} gr_source_t;

/* Signatures inside a request that a pool thread checked before its
 * handler ran (node/turn.c, gr_tierlink_preverify()): the handler skips
 * the Ed25519 work it finds done, on the same bytes. */
typedef struct {
    bool origin_ok;              /* an Escalate's origin envelope verifies */
    bool hops_ok;                /* its hops before the last verify, over hops_event_id */
    char hops_event_id[GR_EVENT_ID_MAX + 1];
} gr_preverified_t;

typedef struct {
    gr_txn_t *txn;
    const gr_opened_t *opened;   /* envelope, body and trusted signer */
    const gr_source_t *source;
    const uint8_t *frame;        /* the signed envelope as received */
    size_t frame_len;
    uint64_t now_ms;
    gr_reply_t *reply;
    const gr_preverified_t *pre; /* NULL: nothing checked ahead */
} gr_request_t;

/* The request's seq, which its reply refers to. */
static inline uint64_t gr_request_seq(const gr_request_t *req)
{
    return req->opened->envelope->seq;
}

#endif
