/* The node's in-memory counters, reported by GetStats: what was taken,
 * and every kind of refusal. Refusals never touch the store, so they
 * cannot be kept in it; the persistent case totals are store counters
 * (node/store.h, "counter.<name>").
 *
 * Thread safety: the daemon's main thread only.
 */
#ifndef GR_COUNTERS_H
#define GR_COUNTERS_H

#include <stdint.h>

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
    GR_COUNT_REJ_FORBIDDEN,     /* signer's roles or scope do not allow it (ERR_FORBIDDEN) */
    GR_COUNT_BATCHES,           /* write transactions committed */
    GR_COUNT_MAP_GROWN,
    GR_COUNT_DEDUP_PRUNED,      /* dedup records past the replay window, deleted */
    GR_COUNT_ZERO_REPORTS,      /* zero reports (DAILY.SAFE) stored, without a case */
    GR_COUNT_READ_AHEAD,        /* requests read, and checked, while a commit synced */
    GR_COUNT_MAX
} gr_counter_t;

/* Wire ErrorCode values counted one by one (the enum's values stay below
 * this; a larger one is counted under the last slot). */
#define GR_COUNT_ERROR_CODES 64

typedef struct {
    uint64_t value[GR_COUNT_MAX];
    /* Error replies sent, by wire ErrorCode (Gridrelay__ErrorCode): the
     * daemon counts each as it goes out, whatever refused it. */
    uint64_t error_replies[GR_COUNT_ERROR_CODES];
} gr_counters_t;

/* Stable counter names, as shown by `gridctl stats`. */
const char *gr_counter_name(gr_counter_t counter);

/* Counts a refusal with code (a GR_E* code) under its rejected_* counter;
 * 0 and GR_ENOTFOUND (an answer, not a refusal) count nothing. */
void gr_counters_refusal(gr_counters_t *self, int code);

/* Counts one Error reply with wire code (a Gridrelay__ErrorCode). */
void gr_counters_error_reply(gr_counters_t *self, int wire_code);

#endif
