/* Reports (上报): a new event from a grid worker at this node. Its fields
 * are checked and what the worker left out is filled in (node/event),
 * the case is created with the worker's envelope kept verbatim, and the
 * router decides what happens to it (on the engine's agenda).
 *
 * Thread safety: the daemon's main thread only.
 */
#ifndef GR_REPORT_H
#define GR_REPORT_H

#include "config.h"
#include "counters.h"
#include "daily.h"
#include "engine.h"
#include "request.h"

/* A Report from a reporter's key. Returns 0 with req->reply filled (an
 * Ack, a duplicate Ack for an id already held, or an Error), or a store
 * failure. */
int gr_report_handle(const gr_config_t *cfg, gr_engine_t *engine, gr_daily_t *daily,
                     gr_counters_t *counters, const gr_request_t *req);

#endif
