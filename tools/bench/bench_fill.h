/* bench_fill.h: filling a stopped node's store through the store API, as
 * gridrankbench and gridrecoverybench do before they start the node on
 * it (a large store in seconds, not hours of reports).
 *
 * A fill is one loop of writes: bench_fill_open(), then for each write a
 * transaction begun when none is open, the write, bench_fill_step(); at
 * the end bench_fill_end() and gr_store_close(). Main thread only.
 */
#ifndef GR_BENCH_FILL_H
#define GR_BENCH_FILL_H

#include <stddef.h>

#include "store.h"

/* Writes per transaction: large enough that the commits' fsyncs do not
 * dominate, small enough that one transaction's dirty pages stay modest. */
#define BENCH_FILL_BATCH 10000

/* Opens the store in dir with an 8 GiB map (room for the largest fill).
 * Returns it, or NULL with the reason on stderr after "<prog>: ". */
gr_store_t *bench_fill_open(const char *dir, const char *prog);

/* After write i (counting from 0) of a fill, whose result was rc: commits
 * *txn every BENCH_FILL_BATCH writes (then *txn is NULL). Returns rc, or
 * the commit's result. */
int bench_fill_step(gr_txn_t **txn, size_t i, int rc);

/* Ends a fill whose result so far is rc: commits what is still open when
 * rc is 0, aborts it otherwise. Returns rc, or the commit's result. */
int bench_fill_end(gr_txn_t **txn, int rc);

/* Creates rec (its event, received_ms and the fields the caller chose)
 * as a case held by node_id that a grid worker reported to it: sets
 * rec->holder and writes the first timeline entry, the report at
 * rec->received_ms. Returns gr_store_event_create()'s result. */
int bench_fill_case(gr_txn_t *txn, Gridrelay__StoredEvent *rec, const char *node_id);

#endif
