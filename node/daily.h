/* Daily and zero reports (日报告、零报告) at a node.
 *
 * Each unit named by [daily] owes one report a day by the due time. Any
 * report its key makes that day counts, a zero report (the catalogue's
 * DAILY.SAFE item, "all safe") or a real one; the day is the node's clock
 * in the [daily] timezone. A zero report makes no case: it is signed,
 * stored as an event (closed at once, one timeline entry) and counted,
 * with no lifecycle, no escalation, no department task and no timer.
 *
 * The node keeps one record per (day, node) in the store's daily
 * database: its own units with their state (on time, late with how late,
 * missing), and the newest summary of each node below. When a day's due
 * time passes (one timer, GR_DUE_DAILY, in the due index) the day is
 * closed once: units with nothing are missing, and a summary (counts, and
 * only the late and missing units) goes to the parent in the outbox, so
 * it survives outages and kill -9. A report after that makes the unit
 * late (no longer missing) and sends the changed summary. A parent keeps
 * the newest version of every summary and passes it on up unchanged. The
 * days closed are a counter in the store: a restart or a clock that jumps
 * back closes no day twice; one that jumps ahead closes each day passed.
 *
 * Thread safety: the daemon's main thread only.
 */
#ifndef GR_NODE_DAILY_H
#define GR_NODE_DAILY_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "counters.h"
#include "engine.h"
#include "request.h"

typedef struct gr_daily gr_daily_t;

/* cfg and engine must outlive it. Sets the process's TZ to a [daily]
 * zone name (nothing else in the daemon reads local time). NULL when out
 * of memory. */
gr_daily_t *gr_daily_new(const gr_config_t *cfg, gr_engine_t *engine);
void gr_daily_destroy(gr_daily_t **self_p);

/* Whether category is the zero-report item: recorded, but no case. */
bool gr_daily_is_zero(const gr_config_t *cfg, const char *category);

/* At start: the first day tracked (the first whose due time is still
 * ahead), and the timer for the next day to close. */
int gr_daily_arm(gr_daily_t *self, gr_txn_t *txn, uint64_t now_ms);

/* A report by the reporter key `who` (its [reporters] name), stored as
 * event_id: counted for its unit's day. A unit that owes nothing here is
 * not counted. */
int gr_daily_report(gr_daily_t *self, gr_txn_t *txn, const char *who, const char *event_id,
                    uint64_t now_ms);

/* The daily timer: closes every day whose due time has passed and is not
 * closed yet, and arms the next. */
int gr_daily_fire(gr_daily_t *self, gr_txn_t *txn, uint64_t now_ms);

/* A DailySummary from a child: kept when newer than the one held, and
 * passed on to the parent. */
int gr_daily_summary_in(gr_daily_t *self, const gr_request_t *req);

/* ListDaily: the day here and below, as a DailyPage. */
int gr_daily_list(gr_daily_t *self, const gr_request_t *req);

/* Field checks of ListDaily and DailySummary (node/check). */
int gr_daily_check(const Gridrelay__Body *body, char *why, size_t why_len);

#endif
