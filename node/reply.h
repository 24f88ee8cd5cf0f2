/* Replies: a request's answer, packed and ready to be sealed after the
 * commit. Every handler builds its Ack or Error here, so the mapping of
 * GR_E* codes to the wire's ErrorCode lives in one place.
 *
 * The reply holds the packed Body (a malloc'd buffer), so nothing in it
 * points into LMDB memory once the transaction ends.
 *
 * Thread safety: a reply belongs to one thread; the functions are
 * reentrant.
 */
#ifndef GR_REPLY_H
#define GR_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gridrelay.pb-c.h"
#include "wire.h"

/* A reply ready to be sealed. For an Ack, acked is set and event_id
 * names the case, which is what dedup remembers; for an Error, error is
 * its GR_E* code. */
typedef struct {
    uint8_t *body;
    size_t len;
    bool acked;
    bool duplicate;     /* an Ack for something accepted before */
    int error;
    char event_id[GR_EVENT_ID_MAX + 1];
} gr_reply_t;

/* Packs body as the reply (replacing any before). Returns 0 or GR_ENOMEM. */
int gr_reply_pack(gr_reply_t *reply, const Gridrelay__Body *body);

/* Packs an Ack. status is the case's status now (a Gridrelay__Status).
 * Returns 0 or GR_ENOMEM. */
int gr_reply_ack(gr_reply_t *reply, uint64_t ref_seq, const char *event_id, bool duplicate,
                 int status);

/* Packs an Error for code (a GR_E* code) with message (NULL or "": the
 * code's own text). The message must not echo unchecked input. Returns 0
 * or GR_ENOMEM. */
int gr_reply_error(gr_reply_t *reply, uint64_t ref_seq, int code, const char *message);

/* The wire's ErrorCode for a GR_E* code (ERR_INTERNAL for those that are
 * not a request's fault). */
Gridrelay__ErrorCode gr_reply_wire_code(int code);

/* Frees reply->body and empties the reply. Accepts NULL. */
void gr_reply_clear(gr_reply_t *reply);

#endif
