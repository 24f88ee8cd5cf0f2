/* /metrics, /healthz and /readyz on the node's HTTP face (node/http.h).
 *
 * /metrics is the Prometheus text exposition (version 0.0.4) of:
 *  - every counter GetStats reports (node/counters.h: what was taken, each
 *    refusal by error code; the store's case totals), asked of the main
 *    thread like any client would: gridrelay_<name>_total;
 *  - each link's state from GetLinks (up, outbox depth, in flight,
 *    resent, refused, seconds since last contact), labelled peer and role;
 *  - what the main loop measures of itself (node/gauges.h): the commit
 *    latency histogram, timer lag, the store map's size and use;
 *  - the HTTP face's own refusals by code, requests and live sessions.
 * It is public, like /healthz and /readyz: put it behind the listen
 * address (127.0.0.1 by default) rather than a login, which scrapers
 * do not do.
 *
 * /healthz: 200 while the process serves HTTP. /readyz: 200 when the
 * main loop answered a GetStats (which reads the store) within 2 s, else
 * 503 with the reason.
 *
 * Thread safety: as node/http.h; gauges is read with atomics.
 */
#ifndef GR_HTTP_METRICS_H
#define GR_HTTP_METRICS_H

#include "gauges.h"
#include "http.h"

/* Registers the three routes. gauges must outlive the server. 0 or a
 * gr_http_route() error. */
int gr_http_metrics_register(gr_http_t *http, const gr_gauges_t *gauges);

#endif
