#include "gauges.h"

const uint64_t gr_gauges_bucket_us[GR_GAUGES_BUCKETS] = {
    500, 1000, 2000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000,
};

void gr_gauges_commit(gr_gauges_t *g, uint64_t us)
{
    size_t b = 0;
    while (b < GR_GAUGES_BUCKETS && us > gr_gauges_bucket_us[b])
        b++;
    atomic_fetch_add_explicit(&g->commit_bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&g->commit_sum_us, us, memory_order_relaxed);
    atomic_fetch_add_explicit(&g->commit_count, 1, memory_order_relaxed);
}

void gr_gauges_timer_lag(gr_gauges_t *g, uint64_t lag_ms)
{
    gr_gauges_set(&g->timer_lag_ms, lag_ms);
    if (lag_ms > gr_gauges_get(&g->timer_lag_max_ms))
        gr_gauges_set(&g->timer_lag_max_ms, lag_ms);
}
