/* The command view's lists (node/http_view.h): /api/node, /api/supervision,
 * /api/daily, /api/ranking, /api/departments, /api/map, and the helpers
 * the two files share. Thread safety: as node/http.h. */
#ifndef GR_HTTP_VIEW_LISTS_H
#define GR_HTTP_VIEW_LISTS_H

#include "http.h"

/* Registers the list routes. 0 or a gr_http_route() error. */
int gr_http_view_lists_register(gr_http_t *http);

/* Sends body on behalf of the logged-in user and takes a reply of kind
 * want: 0 with *reply (release it with gr_opened_clear()), or -1 when
 * the request was answered with the node's refusal or silence. */
int gr_http_view_call(gr_http_req_t *req, const Gridrelay__Body *body, int want,
                      gr_opened_t *reply);

/* "routine", "urgent", "extra_urgent" or "unspecified". */
const char *gr_http_view_severity(int severity);

/* JSON builders: a string ("" for NULL), a number, lower-case hex of
 * bytes (NULL, i.e. JSON null, for none). */
void gr_http_view_str(json_object *obj, const char *key, const char *value);
void gr_http_view_u64(json_object *obj, const char *key, uint64_t value);
json_object *gr_http_view_hex(const void *data, size_t len);

/* The fields every row naming a case carries (id, title, category,
 * severity, status), the same in the case list and on the map. */
void gr_http_view_case_fields(json_object *obj, const Gridrelay__EventSummary *e);

#endif
