/* Assessment (考核) over the stored cases: gridctl rank. Everything is computed from the store in the
 * request's one read transaction: this node's cases and their timelines
 * (departments' turns), and its view of the tiers below, whose status
 * updates carry each case's milestones (and, kept in the view entry, the
 * deadlines it had there and when it was handed on). The judging itself
 * is router/assess (pure).
 *
 * Cost: a ranking by node reads this node's cases received in the period
 * (by_time range) and the whole view once; by department it also reads
 * those cases' timelines. Memory: one handling time per resolved case.
 * It runs on the analyst's thread (node/analyst) in a read transaction of
 * its own, which does not hold up the store's writer (LMDB), while the main
 * thread goes on ingesting: see the README's figures.
 *
 * Thread safety: reads only cfg and the store; any one thread.
 */
#ifndef GR_ASSESSMENT_H
#define GR_ASSESSMENT_H

#include "config.h"
#include "request.h"

/* GetRanking: fills req->reply with a Ranking (or an Error for a bad
 * request). Returns 0 or a store error. */
int gr_assessment_rank(const gr_config_t *cfg, const gr_request_t *req);

#endif
