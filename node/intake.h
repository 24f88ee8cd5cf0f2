/* Intake: what a node does with one verified client request.
 *
 * Each handler works inside the caller's LMDB transaction and produces the
 * reply Body already packed (a malloc'd buffer), so nothing in the reply
 * points into LMDB memory once the transaction ends. The daemon seals and
 * sends replies only after the write transaction committed.
 *
 * Thread safety: one intake belongs to the daemon's main thread.
 */
#ifndef GR_INTAKE_H
#define GR_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalogue.h"
#include "envelope.h"
#include "error.h"
#include "store.h"

/* Counters kept in memory and reported by GetStats; rejections never touch
 * the store, so they cannot be persisted in it. */
typedef enum {
    GR_COUNT_ACCEPTED,          /* new events stored */
    GR_COUNT_DUPLICATE,         /* resends / replays answered from dedup */
    GR_COUNT_QUERIES,
    GR_COUNT_REJ_TOO_BIG,
    GR_COUNT_REJ_DECODE,
    GR_COUNT_REJ_VERSION,
    GR_COUNT_REJ_UNTRUSTED,
    GR_COUNT_REJ_SIGNATURE,
    GR_COUNT_REJ_REPLAY,
    GR_COUNT_REJ_CATEGORY,
    GR_COUNT_REJ_INVALID,
    GR_COUNT_REJ_UNSUPPORTED,
    GR_COUNT_REJ_STORE_FULL,
    GR_COUNT_BATCHES,           /* write transactions committed */
    GR_COUNT_MAP_GROWN,
    GR_COUNT_DEDUP_PRUNED,      /* dedup records past the replay window, deleted */
    GR_COUNT_MAX
} gr_counter_t;

/* How far ahead of this node's clock a request's seq may be, in
 * microseconds (seqs are microsecond timestamps, PROTOCOL.md section 5):
 * one accepted seq far in the future would refuse every honest one after
 * it as a replay. */
#define GR_SEQ_AHEAD_US (24ull * 3600 * 1000000)

/* Stable counter names, as shown by `gridctl stats`. */
const char *gr_counter_name(gr_counter_t counter);

struct gr_tiers;
struct gr_source;

typedef struct {
    const char *node_id;
    const gr_catalogue_t *catalogue;
    uint64_t replay_window;
    struct gr_tiers *tiers;     /* what happens to a case next (tiers.h) */
    uint64_t counters[GR_COUNT_MAX];
} gr_intake_t;

/* A reply ready to be sealed: the packed Body. For an Ack, acked is set
 * and event_id names the case, which is what dedup remembers. */
typedef struct {
    uint8_t *body;
    size_t len;
    bool acked;
    int error;          /* the GR_E* code of an Error reply, else 0 */
    char event_id[GR_EVENT_ID_MAX + 1];
} gr_reply_t;

/* Packs an Ack reply. Returns 0 or GR_ENOMEM. */
int gr_intake_ack(gr_reply_t *reply, uint64_t ref_seq, const char *event_id, bool duplicate,
                  int status);

/* Store failures end the batch (the caller aborts and redoes it); every
 * other failure is that one request's answer. */
#define GR_STORE_FATAL(rc) ((rc) == GR_EMAPFULL || (rc) == GR_ESTORE || (rc) == GR_ENOMEM)

/* Frees reply->body and empties it. */
void gr_reply_clear(gr_reply_t *reply);

/* Stores a new case held by this node: stored (event and origin set by
 * the caller) received now, with timeline entry 1 saying that the signer
 * of request (shown as actor_name) did action for reason, and counts it
 * in the store's "events". Returns 0 or the store's error (GR_EEXIST for
 * an id already held). Every new case, reported here or forwarded from
 * another node, is made here. */
int gr_intake_create_case(const gr_intake_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *stored,
                          const gr_opened_t *request, const char *actor_name,
                          Gridrelay__Action action, const char *reason, uint64_t now_ms);

/* Counts a refusal with code (a GR_E* code) under its rejected_* counter. */
void gr_intake_count_refusal(gr_intake_t *self, int code);

/* Packs an Error reply for a request that failed with code (a GR_E* code,
 * mapped to the wire's ErrorCode) and counts the rejection. */
int gr_intake_error(gr_intake_t *self, gr_reply_t *reply, uint64_t ref_seq, int code,
                    const char *message);

/* Handles a state-changing request (Report, CaseAction, and the tier
 * links' Escalate, Assign, Feedback, Supervise) in txn: a resend of an
 * accepted (signer, seq) gets the original answer, a sequence older than
 * the replay window is refused, then the request is applied and its
 * (signer, seq) remembered. frame is the signed envelope as received (a
 * report keeps it verbatim). source says where it came from (tiers.h).
 * The request runs in a transaction nested in txn: a refusal, or a store
 * error it causes, leaves no trace of it in txn, in the effects to publish
 * or in the counters (but the refusal's own count).
 * Returns 0 with a reply (Ack or Error) or, when the batch itself must
 * end, GR_EMAPFULL / GR_ENOMEM and no reply: the caller aborts and redoes
 * the batch. */
int gr_intake_write(gr_intake_t *self, gr_txn_t *txn, const gr_opened_t *request,
                    const struct gr_source *source, const uint8_t *frame, size_t frame_len,
                    uint64_t now_ms, gr_reply_t *reply);

/* Answers GetEvent, ListEvents and GetStats from a read transaction.
 * Returns 0 with a reply, or a negative code for a store failure. */
int gr_intake_query(gr_intake_t *self, gr_txn_t *txn, const gr_opened_t *request,
                    gr_reply_t *reply);

/* Whether the request's body is handled by gr_intake_write() (writes)
 * rather than gr_intake_query() (reads). */
int gr_intake_is_write(const gr_opened_t *request);

#endif
