/* The node's HTTP face (issue 17): an embedded libmicrohttpd server, off
 * unless the config has [http] (node/config_http.h).
 *
 * It holds no state of the node: every read and every change goes to the
 * node's main thread the way a client's does, as a signed envelope over a
 * CURVE connection to the node's own request socket, signed by the node's
 * key on behalf of the logged-in user (Body.on_behalf = "web:NAME", an
 * Open311 client "open311:NAME", or "http" for the server's own reads).
 * The request table (node/requests.c) checks it with that person's roles
 * and the timeline records them as the actor. So the face never opens
 * the store, and the bus stays the single truth.
 *
 * Routing: other modules register handlers before gr_http_start():
 *
 *     gr_http_route(http, "GET", "/api/cases/" "*", GR_HTTP_VIEWER, s_case, ctx);
 *
 * A path ending in '*' matches every path that starts with what comes
 * before the '*' (gr_http_req_tail() is the rest), any other path only
 * itself; the longest match wins; HEAD runs
 * the GET route. Before the handler runs the core has checked what the
 * route's access level asks: a session (cookie gr_session) for
 * GR_HTTP_VIEWER and GR_HTTP_OPERATOR, the operator role for the latter,
 * and on every POST of a logged-in route the CSRF token (header
 * X-CSRF-Token, the one /api/login and GET /api/session return). Bodies
 * above [http] max_body get 413 before the handler. Every refusal is
 * JSON {"error": TEXT, "code": NAME, "status": N} and counted
 * (gr_http_refusals(), /metrics).
 *
 * Routes the core serves itself: POST /api/login (form or JSON: user,
 * password), POST /api/logout, GET /api/session.
 *
 * A handler runs on one of the server's threads and must answer exactly
 * once (a gr_http_reply_*() call); if it does not, the core answers 500.
 * Its request object is valid only during the call.
 *
 * Thread safety: new, route, start and destroy from one thread (the
 * daemon's); handlers run on [http] threads server threads at once, each
 * with its own connection to the node (ZeroMQ sockets are per thread).
 */
#ifndef GR_HTTP_H
#define GR_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "config.h"
#include "envelope.h"

typedef struct gr_http gr_http_t;
typedef struct gr_http_req gr_http_req_t;

/* Who may use a route. */
typedef enum {
    GR_HTTP_PUBLIC = 0,     /* anyone; no session needed (a session is still read) */
    GR_HTTP_VIEWER,         /* a logged-in user: viewer or operator */
    GR_HTTP_OPERATOR,       /* a logged-in operator */
} gr_http_access_t;

/* The refusals the core and the handlers answer with, each counted. */
typedef enum {
    GR_HTTP_E_BAD_REQUEST,      /* 400 bad_request: a field missing or malformed */
    GR_HTTP_E_NOT_FOUND,        /* 404 not_found: no route, or nothing there */
    GR_HTTP_E_METHOD,           /* 405 method_not_allowed */
    GR_HTTP_E_TOO_LARGE,        /* 413 body_too_large: above [http] max_body */
    GR_HTTP_E_LOGIN_REQUIRED,   /* 401 login_required: no session, or it expired */
    GR_HTTP_E_LOGIN_FAILED,     /* 401 login_failed: unknown user or wrong password */
    GR_HTTP_E_CSRF,             /* 403 csrf: a POST without the session's X-CSRF-Token */
    GR_HTTP_E_FORBIDDEN,        /* 403 forbidden: the user's role does not allow it */
    GR_HTTP_E_API_KEY,          /* 403 api_key: Open311 api_key missing or unknown */
    GR_HTTP_E_NODE_REFUSED,     /* 4xx/5xx node_refused: the node answered with an Error */
    GR_HTTP_E_UNAVAILABLE,      /* 503 node_unavailable: the node did not answer in time */
    GR_HTTP_E_COUNT
} gr_http_error_t;

typedef void (*gr_http_handler_fn)(gr_http_req_t *req, void *ctx);

/* A server for cfg->http, which talks to the node at node_endpoint (its
 * bound request endpoint; a wildcard address is reached at 127.0.0.1).
 * Binds nothing yet. NULL with err on failure. cfg must outlive it. */
gr_http_t *gr_http_new(const gr_config_t *cfg, const char *node_endpoint, char *err,
                       size_t errlen);

/* Registers fn for method ("GET" or "POST") and path (exact, or a prefix
 * followed by '*'), before gr_http_start(). ctx is passed to fn and must
 * outlive the server. Returns 0, GR_EINVAL (bad method or path, or
 * already started), GR_EEXIST (same method and path twice) or GR_ENOMEM. */
int gr_http_route(gr_http_t *self, const char *method, const char *path,
                  gr_http_access_t access, gr_http_handler_fn fn, void *ctx);

/* Binds [http] listen and starts the threads. 0, or GR_EIO with err. */
int gr_http_start(gr_http_t *self, char *err, size_t errlen);

/* "http://127.0.0.1:PORT" (https with TLS), the port as bound; "" before
 * gr_http_start(). */
const char *gr_http_url(const gr_http_t *self);

/* Stops the threads (waiting for handlers running), closes the node
 * connections, sets *self_p to NULL. Accepts NULL. */
void gr_http_destroy(gr_http_t **self_p);

/* The refusal counters, by gr_http_error_t, and each one's name
 * ("csrf"...). Any thread. */
void gr_http_refusals(const gr_http_t *self, uint64_t out[GR_HTTP_E_COUNT]);
const char *gr_http_error_name(gr_http_error_t e);
/* Requests answered, and logins live now; any thread. */
uint64_t gr_http_requests(const gr_http_t *self);
unsigned gr_http_sessions_live(const gr_http_t *self);

/* ---- in a handler ---- */

const char *gr_http_req_method(const gr_http_req_t *req);
const char *gr_http_req_path(const gr_http_req_t *req);
/* What follows the route's prefix (prefix routes), else "". */
const char *gr_http_req_tail(const gr_http_req_t *req);
/* A query argument (URL-decoded), or NULL. */
const char *gr_http_req_query(const gr_http_req_t *req, const char *name);
/* A field of a form body (application/x-www-form-urlencoded or
 * multipart/form-data, decoded), or NULL. */
const char *gr_http_req_form(const gr_http_req_t *req, const char *name);
/* A request header, or NULL. */
const char *gr_http_req_header(const gr_http_req_t *req, const char *name);
/* The raw body of a request that is not a form (e.g. JSON), NUL
 * terminated, *len its length; "" when none. */
const char *gr_http_req_body(const gr_http_req_t *req, size_t *len);
/* The logged-in user's name and roles (GR_ACCESS_VIEWER or
 * GR_ACCESS_OPERATOR), NULL and 0 without a live session. */
const char *gr_http_req_user(const gr_http_req_t *req);
unsigned gr_http_req_roles(const gr_http_req_t *req);
/* The session's CSRF token, NULL without a session. */
const char *gr_http_req_csrf(const gr_http_req_t *req);
const gr_config_t *gr_http_req_config(const gr_http_req_t *req);
gr_http_t *gr_http_req_server(const gr_http_req_t *req);

/* The session check the core runs before each route, for a handler that
 * decides by itself (e.g. a page that shows more to operators): whether
 * the request has a live session allowing access, and for a write (POST)
 * the right CSRF token. Returns 0 when allowed, else the refusal
 * (GR_HTTP_E_LOGIN_REQUIRED, GR_HTTP_E_FORBIDDEN or GR_HTTP_E_CSRF); it
 * answers nothing. */
int gr_http_session_check(const gr_http_req_t *req, gr_http_access_t access, bool write);

/* Sends body to the node and waits up to timeout_ms (one resend halfway)
 * for its reply, signed by the node's key on behalf of on_behalf (NULL:
 * the logged-in user, "web:NAME", or "http" without one). On 0 *reply
 * holds the node's answer, an Error included (release it with
 * gr_opened_clear()); GR_ETIMEOUT when none came, GR_EIO without a
 * connection. body is not changed. */
int gr_http_call(gr_http_req_t *req, const Gridrelay__Body *body, const char *on_behalf,
                 gr_opened_t *reply, int timeout_ms);

/* ---- answers (exactly one per request) ---- */

/* Adds a header to the coming answer (e.g. Set-Cookie); copied. */
int gr_http_reply_header(gr_http_req_t *req, const char *name, const char *value);
/* obj as JSON (taken: freed here) with status. */
int gr_http_reply_json(gr_http_req_t *req, unsigned status, json_object *obj);
/* data (copied) with status and content type. */
int gr_http_reply_bytes(gr_http_req_t *req, unsigned status, const char *content_type,
                        const void *data, size_t len);
/* The refusal e as {"error": message, "code": name, "status": N},
 * counted. */
int gr_http_reply_error(gr_http_req_t *req, gr_http_error_t e, const char *message);
/* The refusal e counted, answered with status and a body of the caller's
 * own form (obj, taken), e.g. Open311's [{"code":..,"description":..}]. */
int gr_http_reply_refusal(gr_http_req_t *req, gr_http_error_t e, unsigned status,
                          json_object *obj);
/* The refusal e counted, answered with status and data (copied) of
 * content_type, e.g. Open311's <errors> document. */
int gr_http_reply_refusal_bytes(gr_http_req_t *req, gr_http_error_t e, unsigned status,
                                const char *content_type, const void *data, size_t len);
/* A node's Error reply (ERR_NOT_FOUND 404, ERR_FORBIDDEN 403, ERR_INVALID
 * and ERR_UNKNOWN_CATEGORY 400, ERR_STORE_FULL 503, others 502), or
 * GR_HTTP_E_UNAVAILABLE for rc GR_ETIMEOUT / GR_EIO from gr_http_call(). */
int gr_http_reply_node_error(gr_http_req_t *req, int rc, const gr_opened_t *reply);

/* The HTTP status of a node ErrorCode, as gr_http_reply_node_error()
 * maps it. */
unsigned gr_http_status_of_node_error(int code);

#endif
