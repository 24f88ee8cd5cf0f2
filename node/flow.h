/* Flow: what happens next to a case, once a request or a timer has
 * changed it. The case engine leaves its agenda (engine.h): decide again,
 * end the departments' tasks, send a result back, escalate an overdue
 * task. Flow carries each item out with the module it needs: the router's
 * decision through the engine, then tier links (send up) or departments
 * (dispatch); so node/tierlink and node/departments never call each
 * other, and the engine never calls either.
 *
 * Timers are here too: a due timer re-runs the router on the case as it is
 * then (a case that moved on simply finds nothing to do), or the
 * department task's own rules.
 *
 * Thread safety: the daemon's main thread only, inside its transactions.
 */
#ifndef GR_FLOW_H
#define GR_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "daily.h"
#include "departments.h"
#include "engine.h"
#include "store.h"
#include "tierlink.h"

typedef struct {
    const gr_config_t *cfg;
    gr_engine_t *engine;
    gr_tierlink_t *tierlink;
    gr_departments_t *departments;
    gr_daily_t *daily;          /* the daily timer (GR_DUE_DAILY) */
} gr_flow_t;

/* Carries out everything on the engine's agenda, and what that adds, in
 * txn. Returns 0 or the first error (the caller undoes the request). */
int gr_flow_run(const gr_flow_t *self, gr_txn_t *txn, uint64_t now_ms);

/* Fires every timer due at now_ms (at most 256 per call), each in a
 * nested transaction of txn: one that fails on a damaged record is logged
 * and dropped. Returns 0, or GR_EMAPFULL / GR_ENOMEM for the batch. */
int gr_flow_fire_due(const gr_flow_t *self, gr_txn_t *txn, uint64_t now_ms);

/* Earliest timer, 0 when none. */
uint64_t gr_flow_next_due(gr_txn_t *txn);

/* Once per store: finds the cases an earlier version stored without a
 * severity (it applied the category's default at the origin only, and the
 * router refused them above it, so they were held and never routed),
 * gives them the values every tier now derives, records that in their
 * timelines and routes them. *repaired is how many. Later calls find the
 * store marked done and return at once. */
int gr_flow_repair(const gr_flow_t *self, gr_txn_t *txn, uint64_t now_ms, size_t *repaired);

#endif
