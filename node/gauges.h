/* What the main loop measures of itself for /metrics (node/http_metrics):
 * each commit's latency in a histogram, how late the due timers fired,
 * when the last turn ended, the store's map. The main thread writes them
 * as it goes; the HTTP threads read them. The counters of gr_counters_t
 * stay the main thread's alone and are read through GetStats.
 *
 * Thread safety: relaxed atomics; gr_gauges_* writers on the main thread,
 * readers anywhere. A reader may see one figure a turn newer than
 * another, which a scrape does not mind.
 */
#ifndef GR_GAUGES_H
#define GR_GAUGES_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Upper bounds of the commit latency buckets, in microseconds; a last
 * bucket (+Inf) follows. */
#define GR_GAUGES_BUCKETS 11
extern const uint64_t gr_gauges_bucket_us[GR_GAUGES_BUCKETS];

typedef struct {
    _Atomic uint64_t commit_count;
    _Atomic uint64_t commit_sum_us;
    _Atomic uint64_t commit_bucket[GR_GAUGES_BUCKETS + 1];  /* not cumulative; [last] = +Inf */
    _Atomic uint64_t timer_lag_ms;      /* how late the last due timers fired */
    _Atomic uint64_t timer_lag_max_ms;
    _Atomic uint64_t turn_ms;           /* wall clock at the end of the last loop turn */
    _Atomic uint64_t map_size;          /* bytes */
    _Atomic uint64_t map_used;
    _Atomic uint64_t map_max;
    _Atomic uint64_t store_full;        /* 1 once the map could not grow */
} gr_gauges_t;

/* One commit that took us microseconds. */
void gr_gauges_commit(gr_gauges_t *g, uint64_t us);

/* Due timers fired lag_ms after they were due. */
void gr_gauges_timer_lag(gr_gauges_t *g, uint64_t lag_ms);

/* Stores a value (a gauge) relaxed. */
static inline void gr_gauges_set(_Atomic uint64_t *slot, uint64_t value)
{
    atomic_store_explicit(slot, value, memory_order_relaxed);
}

static inline uint64_t gr_gauges_get(const _Atomic uint64_t *slot)
{
    return atomic_load_explicit((_Atomic uint64_t *)slot, memory_order_relaxed);
}

#endif
