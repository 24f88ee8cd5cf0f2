/* The command view's JSON API on the node's HTTP face (node/http.h,
 * issue 17 part 3): what a township or district centre's screen shows,
 * read through the node's request table with the logged-in user's roles
 * (the same queries gridctl sends), and the operator's actions, which
 * become CaseActions the node signs on the user's behalf.
 *
 *   GET  /api/node                  this node: id, tier, children, departments
 *   GET  /api/cases                 the live cases here and below; filters
 *        tier (here | below | a node id | a tier name or level), status,
 *        category, severity, days (received here or changed below in the
 *        last N days, default 30, 0 = all); since=CURSOR returns only the rows changed
 *        at or after the cursor the previous answer gave (polling)
 *   GET  /api/cases/{id}            one case: event, timeline, signed path
 *        (each hop's signature checked here), or the view of a case held
 *        below
 *   POST /api/cases/{id}/actions    {"action": "accept|escalate|assign|
 *        dispatch|resolve|urge", "text": reason/result/note, "target":
 *        child node (assign) or department (dispatch), "co": [depts]}
 *   GET  /api/supervision           the supervision list (督办)
 *   GET  /api/daily?date=YYYY-MM-DD the daily-report table (日报告)
 *   GET  /api/ranking?period=week|month|quarter&by=node|department
 *   GET  /api/departments           each department's queue of tasks
 *   GET  /api/map                   report points with coordinates, the
 *        [map] outlines (config_map.h), and their bounding box (drawn
 *        offline by the page: no map tiles)
 *
 * Reads need a viewer or operator login, actions the operator role (and
 * the CSRF token, as every POST). A refusal is the core's JSON error
 * form: 400 for a malformed filter or action, 404 for an unknown case,
 * 403 when the node refuses the user, 503 when the node does not answer.
 *
 * Why polling and not server-sent events: the face runs a small fixed
 * pool of libmicrohttpd threads ([http] threads); a stream held open per
 * screen would pin one each, and the node's reads are cheap and bounded
 * (at most S_MAX_ROWS rows per answer), so each page asks every few
 * seconds with its cursor and gets only what changed.
 *
 * Thread safety: as node/http.h.
 */
#ifndef GR_HTTP_VIEW_H
#define GR_HTTP_VIEW_H

#include "http.h"

/* Registers the API routes and the page's files (node/http_web.h).
 * 0 or a gr_http_route() error. */
int gr_http_view_register(gr_http_t *http);

#endif
