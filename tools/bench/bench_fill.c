/* gridrankbench, gridrecoverybench: the store fill they share (see
 * bench_fill.h). */
#include <stdio.h>

#include "bench_fill.h"

/* The same map for every fill: no fill here comes near 8 GiB. */
gr_store_t *bench_fill_open(const char *dir, const char *prog)
{
    char err[256];
    gr_store_options_t opt = {.map_size = (size_t)8 << 30, .map_max = (size_t)8 << 30};
    gr_store_t *store = NULL;
    if (gr_store_open(&store, dir, &opt, err, sizeof err) != 0)
        fprintf(stderr, "%s: %s\n", prog, err);
    return store;
}

/* Batches the fill's writes (BENCH_FILL_BATCH per commit). */
int bench_fill_step(gr_txn_t **txn, size_t i, int rc)
{
    if (rc == 0 && (i + 1) % BENCH_FILL_BATCH == 0)
        rc = gr_store_commit(txn);
    return rc;
}

/* The last, partial batch; afterwards no transaction is open. */
int bench_fill_end(gr_txn_t **txn, int rc)
{
    if (rc == 0 && *txn)
        rc = gr_store_commit(txn);
    gr_store_abort(txn);
    return rc;
}

/* What the node itself writes when a worker's report creates a case. */
int bench_fill_case(gr_txn_t *txn, Gridrelay__StoredEvent *rec, const char *node_id)
{
    rec->holder = (char *)node_id;
    Gridrelay__TimelineEntry first = GRIDRELAY__TIMELINE_ENTRY__INIT;
    first.time_ms = rec->received_ms;
    first.actor_name = "worker-0";
    first.unit = (char *)node_id;
    first.action = GRIDRELAY__ACTION__ACTION_REPORT;
    first.to_status = GRIDRELAY__STATUS__REPORTED;
    return gr_store_event_create(txn, rec, &first);
}
