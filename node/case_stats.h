/* Case statistics over time (gridctl stats --by): counts of the cases
 * received in a period by category, severity, status, tier, day or week,
 * from the store in the request's read transaction (this node's cases and
 * its view of the tiers below), not from the node's running counters.
 *
 * Each case is counted once, where it is held: this node's own cases (not
 * the skip-level information copies), and the view's cases except those a
 * node below handed on upward (the tier above it has them, here or in the
 * view). Day and week are of the time the holder received it.
 *
 * Thread safety: reads only cfg and the store; the daemon runs it on the
 * analyst's thread (node/analyst).
 */
#ifndef GR_CASE_STATS_H
#define GR_CASE_STATS_H

#include "config.h"
#include "request.h"

/* GetCaseStats: fills req->reply with CaseStats (or an Error for a bad
 * request). Returns 0 or a store error. */
int gr_case_stats(const gr_config_t *cfg, const gr_request_t *req);

#endif
