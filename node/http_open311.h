/* Open311 GeoReport v2 intake on the node's HTTP face (node/http.h), the
 * civic-request standard FixMyStreet and hotline software speak:
 *
 *   GET  /open311/v2/services.json          the catalogue as the service list
 *   GET  /open311/v2/services/{code}.json   one service's definition
 *   POST /open311/v2/requests.json          a new request (form fields:
 *        api_key, service_code, lat + long or address_string, description,
 *        media_url; the others of the spec are accepted and ignored)
 *   GET  /open311/v2/requests.json          requests (service_request_id
 *        comma list, service_code, status open|closed, start_date,
 *        end_date; at most 50, newest last)
 *   GET  /open311/v2/requests/{id}.json     one request
 *
 * A request becomes a Report at this node, signed by the node's key on
 * behalf of the api_key's client ("open311:NAME", [open311_clients]),
 * recorded under the client's reporter name: a case like any report, that
 * escalates, is dispatched and resolved like any. media_url is kept as
 * the case's tag "media_url=URL" (the media itself never travels on the
 * bus, and the node does not fetch it to hash it).
 *
 * A request's fields: service_request_id (the event id), status (open, or
 * closed once resolved, fed back or closed), status_notes (the result, or
 * the last step's reason), agency_responsible (the department, else who
 * holds the case), service_code, service_name, description,
 * requested_datetime, updated_datetime (W3C UTC), address, lat, long,
 * media_url.
 *
 * Errors have the spec's form [{"code": N, "description": TEXT}]: 400 for
 * an unknown service_code or a missing or malformed field, 403 for a
 * missing or unknown api_key, 404 for an unknown request or service.
 *
 * Thread safety: as node/http.h.
 */
#ifndef GR_HTTP_OPEN311_H
#define GR_HTTP_OPEN311_H

#include "http.h"

/* Registers the routes. 0 or a gr_http_route() error. */
int gr_http_open311_register(gr_http_t *http);

#endif
