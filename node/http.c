#include "http.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include <sodium.h>
#include <zmq.h>

#include "client.h"
#include "error.h"
#include "http_session.h"
#include "http_tls.h"
#include "log.h"

#define S_MAX_ROUTES 64
#define S_MAX_FIELDS 64
#define S_MAX_HEADERS 8
#define S_CONNECTION_LIMIT 256
#define S_CONNECTION_TIMEOUT_S 30
#define S_MAX_CLIENTS 32

static const struct {
    const char *name;
    unsigned status;
} s_errors[GR_HTTP_E_COUNT] = {
    [GR_HTTP_E_BAD_REQUEST] = {"bad_request", 400},
    [GR_HTTP_E_NOT_FOUND] = {"not_found", 404},
    [GR_HTTP_E_METHOD] = {"method_not_allowed", 405},
    [GR_HTTP_E_TOO_LARGE] = {"body_too_large", 413},
    [GR_HTTP_E_LOGIN_REQUIRED] = {"login_required", 401},
    [GR_HTTP_E_LOGIN_FAILED] = {"login_failed", 401},
    [GR_HTTP_E_CSRF] = {"csrf", 403},
    [GR_HTTP_E_FORBIDDEN] = {"forbidden", 403},
    [GR_HTTP_E_API_KEY] = {"api_key", 403},
    [GR_HTTP_E_NODE_REFUSED] = {"node_refused", 502},
    [GR_HTTP_E_UNAVAILABLE] = {"node_unavailable", 503},
};

typedef struct {
    char method[8];
    char path[128];
    size_t prefix_len;      /* prefix routes: the length before the '*'; 0 = exact */
    gr_http_access_t access;
    gr_http_handler_fn fn;
    void *ctx;
} s_route_t;

struct gr_http {
    const gr_config_t *cfg;
    char node_endpoint[256];
    char url[96];
    struct MHD_Daemon *mhd;
    s_route_t routes[S_MAX_ROUTES];
    size_t n_routes;
    gr_http_sessions_t *sessions;
    /* One node connection per server thread (ZeroMQ sockets are not
     * thread safe), made on a thread's first call; all are closed by
     * gr_http_destroy() once the threads have stopped. */
    void *zctx;
    pthread_key_t client_key;
    bool key_made;
    pthread_mutex_t clients_lock;
    gr_client_t *clients[S_MAX_CLIENTS];
    size_t n_clients;
    /* Every connection signs with the node's key: one sequence for all,
     * so that two threads never send the same (signer, seq) (the node
     * would answer the second with the first's reply). */
    _Atomic uint64_t next_seq;
    _Atomic uint64_t refusals[GR_HTTP_E_COUNT];
    _Atomic uint64_t requests;
};

/* One form field. */
typedef struct {
    char *name;
    char *value;
    size_t len;
} s_field_t;

/* What one connection's request gathers over the calls libmicrohttpd
 * makes for it: the body (raw, or the form's fields), up to max_body. */
typedef struct {
    bool too_large;
    char *body;
    size_t body_len;
    struct MHD_PostProcessor *post;
    s_field_t fields[S_MAX_FIELDS];
    size_t n_fields;
} s_conn_t;

struct gr_http_req {
    gr_http_t *http;
    struct MHD_Connection *conn;
    s_conn_t *state;
    const char *method;
    const char *path;
    const char *tail;
    gr_http_session_t session;
    bool has_session;
    bool session_expired;
    struct MHD_Response *response;
    unsigned status;
    char *headers[S_MAX_HEADERS][2];
    size_t n_headers;
};

const char *gr_http_error_name(gr_http_error_t e)
{
    return e < GR_HTTP_E_COUNT ? s_errors[e].name : "unknown";
}

/* ---- the node connection ---- */

static gr_client_t *s_client(gr_http_t *self)
{
    gr_client_t *client = pthread_getspecific(self->client_key);
    if (client)
        return client;
    pthread_mutex_lock(&self->clients_lock);
    if (self->n_clients < S_MAX_CLIENTS) {
        client = gr_client_new(self->zctx, self->node_endpoint, &self->cfg->keys,
                               self->cfg->keys.pk);
        if (client)
            self->clients[self->n_clients++] = client;
    }
    pthread_mutex_unlock(&self->clients_lock);
    if (client)
        pthread_setspecific(self->client_key, client);
    return client;
}

int gr_http_call(gr_http_req_t *req, const Gridrelay__Body *body, const char *on_behalf,
                 gr_opened_t *reply, int timeout_ms)
{
    gr_http_t *self = req->http;
    gr_client_t *client = s_client(self);
    if (!client)
        return GR_EIO;
    char who[64];
    if (on_behalf)
        snprintf(who, sizeof who, "%s", on_behalf);
    else if (req->has_session)
        snprintf(who, sizeof who, "web:%s", req->session.user);
    else
        snprintf(who, sizeof who, "http");
    Gridrelay__Body signed_body = *body;
    signed_body.on_behalf = who;
    gr_client_set_seq(client, atomic_fetch_add(&self->next_seq, 1));
    int half = timeout_ms / 2 > 0 ? timeout_ms / 2 : 1;
    return gr_client_call(client, &signed_body, reply, half, 2);
}

/* ---- lifecycle ---- */

/* The node's endpoint as a client reaches it: a wildcard address is the
 * loopback one. */
static void s_reachable(char *out, size_t outlen, const char *endpoint)
{
    const char *host = strstr(endpoint, "://");
    host = host ? host + 3 : endpoint;
    if (strncmp(host, "0.0.0.0:", 8) == 0 || strncmp(host, "*:", 2) == 0)
        snprintf(out, outlen, "%.*s127.0.0.1%s", (int)(host - endpoint), endpoint,
                 strchr(host, ':'));
    else
        snprintf(out, outlen, "%s", endpoint);
}

gr_http_t *gr_http_new(const gr_config_t *cfg, const char *node_endpoint, char *err,
                       size_t errlen)
{
    gr_http_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    s_reachable(self->node_endpoint, sizeof self->node_endpoint, node_endpoint);
    pthread_mutex_init(&self->clients_lock, NULL);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    atomic_store(&self->next_seq, (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
    if (pthread_key_create(&self->client_key, NULL) != 0 ||
        !(self->key_made = true) || !(self->zctx = zmq_ctx_new()) ||
        !(self->sessions = gr_http_sessions_new(cfg->http.session_ttl_ms))) {
        snprintf(err, errlen, "cannot set up the HTTP server: out of resources");
        gr_http_destroy(&self);
        return NULL;
    }
    return self;
}

void gr_http_destroy(gr_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gr_http_t *self = *self_p;
    if (self->mhd)
        MHD_stop_daemon(self->mhd);     /* joins the threads */
    /* The threads are gone: their sockets may be closed from here. */
    for (size_t i = 0; i < self->n_clients; i++)
        gr_client_destroy(&self->clients[i]);
    if (self->zctx)
        zmq_ctx_term(self->zctx);
    if (self->key_made)
        pthread_key_delete(self->client_key);
    pthread_mutex_destroy(&self->clients_lock);
    gr_http_sessions_destroy(&self->sessions);
    free(self);
    *self_p = NULL;
}

int gr_http_route(gr_http_t *self, const char *method, const char *path,
                  gr_http_access_t access, gr_http_handler_fn fn, void *ctx)
{
    if (!self || self->mhd || !fn || !method || !path || path[0] != '/' ||
        (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0) ||
        strlen(path) >= sizeof self->routes[0].path)
        return GR_EINVAL;
    for (size_t i = 0; i < self->n_routes; i++)
        if (strcmp(self->routes[i].method, method) == 0 && strcmp(self->routes[i].path, path) == 0)
            return GR_EEXIST;
    if (self->n_routes == S_MAX_ROUTES)
        return GR_ENOMEM;
    s_route_t *r = &self->routes[self->n_routes++];
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->path, sizeof r->path, "%s", path);
    size_t len = strlen(path);
    r->prefix_len = len >= 2 && path[len - 1] == '*' ? len - 1 : 0;
    r->access = access;
    r->fn = fn;
    r->ctx = ctx;
    return 0;
}

const char *gr_http_url(const gr_http_t *self)
{
    return self ? self->url : "";
}

void gr_http_refusals(const gr_http_t *self, uint64_t out[GR_HTTP_E_COUNT])
{
    for (int i = 0; i < GR_HTTP_E_COUNT; i++)
        out[i] = atomic_load(&self->refusals[i]);
}

uint64_t gr_http_requests(const gr_http_t *self)
{
    return atomic_load(&self->requests);
}

unsigned gr_http_sessions_live(const gr_http_t *self)
{
    return gr_http_sessions_count(self->sessions);
}

/* ---- answers ---- */

int gr_http_reply_header(gr_http_req_t *req, const char *name, const char *value)
{
    if (req->n_headers == S_MAX_HEADERS)
        return GR_ENOMEM;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return GR_ENOMEM;
    }
    req->headers[req->n_headers][0] = n;
    req->headers[req->n_headers][1] = v;
    req->n_headers++;
    return 0;
}

int gr_http_reply_bytes(gr_http_req_t *req, unsigned status, const char *content_type,
                        const void *data, size_t len)
{
    if (req->response)
        return GR_EEXIST;   /* one answer per request */
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return GR_ENOMEM;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    /* Answers are the node's state of the moment, never to be cached;
     * nothing is to be sniffed into another type or framed elsewhere. */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    for (size_t i = 0; i < req->n_headers; i++)
        MHD_add_response_header(resp, req->headers[i][0], req->headers[i][1]);
    req->response = resp;
    req->status = status;
    return 0;
}

int gr_http_reply_json(gr_http_req_t *req, unsigned status, json_object *obj)
{
    if (!obj)
        return gr_http_reply_bytes(req, 500, "application/json", "{\"error\":\"out of memory\"}",
                                   25);
    size_t len = 0;
    const char *text = json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    int rc = text ? gr_http_reply_bytes(req, status, "application/json; charset=utf-8", text, len)
                  : GR_ENOMEM;
    json_object_put(obj);
    return rc;
}

int gr_http_reply_refusal(gr_http_req_t *req, gr_http_error_t e, unsigned status,
                          json_object *obj)
{
    if (e < GR_HTTP_E_COUNT)
        atomic_fetch_add(&req->http->refusals[e], 1);
    return gr_http_reply_json(req, status, obj);
}

int gr_http_reply_refusal_bytes(gr_http_req_t *req, gr_http_error_t e, unsigned status,
                                const char *content_type, const void *data, size_t len)
{
    if (e < GR_HTTP_E_COUNT)
        atomic_fetch_add(&req->http->refusals[e], 1);
    return gr_http_reply_bytes(req, status, content_type, data, len);
}

static int s_error(gr_http_req_t *req, gr_http_error_t e, unsigned status, const char *message)
{
    json_object *obj = json_object_new_object();
    json_object_object_add(obj, "error", json_object_new_string(message ? message : ""));
    json_object_object_add(obj, "code", json_object_new_string(gr_http_error_name(e)));
    json_object_object_add(obj, "status", json_object_new_int((int)status));
    return gr_http_reply_refusal(req, e, status, obj);
}

int gr_http_reply_error(gr_http_req_t *req, gr_http_error_t e, const char *message)
{
    return s_error(req, e, e < GR_HTTP_E_COUNT ? s_errors[e].status : 500, message);
}

unsigned gr_http_status_of_node_error(int code)
{
    switch (code) {
    case GRIDRELAY__ERROR_CODE__ERR_NOT_FOUND: return 404;
    case GRIDRELAY__ERROR_CODE__ERR_FORBIDDEN: return 403;
    case GRIDRELAY__ERROR_CODE__ERR_INVALID:
    case GRIDRELAY__ERROR_CODE__ERR_UNKNOWN_CATEGORY: return 400;
    case GRIDRELAY__ERROR_CODE__ERR_STORE_FULL: return 503;
    default: return 502;
    }
}

int gr_http_reply_node_error(gr_http_req_t *req, int rc, const gr_opened_t *reply)
{
    if (rc != 0 || !reply || !reply->body)
        return gr_http_reply_error(req, GR_HTTP_E_UNAVAILABLE,
                                   "the node did not answer in time: retry later");
    const Gridrelay__Error *e = reply->body->error;
    if (reply->body->kind_case != GRIDRELAY__BODY__KIND_ERROR || !e)
        return s_error(req, GR_HTTP_E_NODE_REFUSED, 502, "the node answered something unexpected");
    unsigned status = gr_http_status_of_node_error(e->code);
    gr_http_error_t kind = status == 404   ? GR_HTTP_E_NOT_FOUND
                           : status == 403 ? GR_HTTP_E_FORBIDDEN
                           : status == 400 ? GR_HTTP_E_BAD_REQUEST
                                           : GR_HTTP_E_NODE_REFUSED;
    return s_error(req, kind, status, e->message);
}

/* ---- a request's parts ---- */

const char *gr_http_req_method(const gr_http_req_t *req) { return req->method; }
const char *gr_http_req_path(const gr_http_req_t *req) { return req->path; }
const char *gr_http_req_tail(const gr_http_req_t *req) { return req->tail; }
const gr_config_t *gr_http_req_config(const gr_http_req_t *req) { return req->http->cfg; }
gr_http_t *gr_http_req_server(const gr_http_req_t *req) { return req->http; }

const char *gr_http_req_query(const gr_http_req_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *gr_http_req_header(const gr_http_req_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *gr_http_req_form(const gr_http_req_t *req, const char *name)
{
    for (size_t i = 0; i < req->state->n_fields; i++)
        if (strcmp(req->state->fields[i].name, name) == 0)
            return req->state->fields[i].value;
    return NULL;
}

const char *gr_http_req_body(const gr_http_req_t *req, size_t *len)
{
    if (len)
        *len = req->state->body_len;
    return req->state->body ? req->state->body : "";
}

const char *gr_http_req_user(const gr_http_req_t *req)
{
    return req->has_session ? req->session.user : NULL;
}

unsigned gr_http_req_roles(const gr_http_req_t *req)
{
    return req->has_session ? req->session.roles : 0;
}

const char *gr_http_req_csrf(const gr_http_req_t *req)
{
    return req->has_session ? req->session.csrf : NULL;
}

int gr_http_session_check(const gr_http_req_t *req, gr_http_access_t access, bool write)
{
    if (access == GR_HTTP_PUBLIC)
        return 0;
    if (!req->has_session)
        return GR_HTTP_E_LOGIN_REQUIRED;
    if (access == GR_HTTP_OPERATOR && !(req->session.roles & GR_ACCESS_OPERATOR))
        return GR_HTTP_E_FORBIDDEN;
    if (write) {
        const char *token = gr_http_req_header(req, "X-CSRF-Token");
        size_t len = strlen(req->session.csrf);
        if (!token || strlen(token) != len || sodium_memcmp(token, req->session.csrf, len) != 0)
            return GR_HTTP_E_CSRF;
    }
    return 0;
}

/* ---- sessions: /api/login, /api/logout, /api/session ---- */

static json_object *s_session_json(const gr_http_session_t *s)
{
    json_object *obj = json_object_new_object();
    json_object_object_add(obj, "user", json_object_new_string(s->user));
    json_object_object_add(obj, "role", json_object_new_string(
                               s->roles & GR_ACCESS_OPERATOR ? "operator" : "viewer"));
    json_object_object_add(obj, "csrf", json_object_new_string(s->csrf));
    json_object_object_add(obj, "expires_ms", json_object_new_int64((int64_t)s->expires_ms));
    return obj;
}

static void s_cookie(gr_http_req_t *req, const char *token, uint64_t max_age_s)
{
    char cookie[256];
    snprintf(cookie, sizeof cookie, "gr_session=%s; Path=/; HttpOnly; SameSite=Strict; "
             "Max-Age=%llu%s", token, (unsigned long long)max_age_s,
             req->http->cfg->http.cert_path ? "; Secure" : "");
    gr_http_reply_header(req, MHD_HTTP_HEADER_SET_COOKIE, cookie);
}

/* A login's fields: a form, or a JSON object {"user": .., "password": ..}. */
static void s_login_fields(gr_http_req_t *req, json_object **parsed, const char **user,
                           const char **password)
{
    *user = gr_http_req_form(req, "user");
    *password = gr_http_req_form(req, "password");
    if (*user || *password)
        return;
    size_t len = 0;
    const char *body = gr_http_req_body(req, &len);
    *parsed = len ? json_tokener_parse(body) : NULL;
    json_object *u = NULL, *p = NULL;
    if (*parsed && json_object_is_type(*parsed, json_type_object) &&
        json_object_object_get_ex(*parsed, "user", &u) && json_object_is_type(u, json_type_string) &&
        json_object_object_get_ex(*parsed, "password", &p) && json_object_is_type(p, json_type_string)) {
        *user = json_object_get_string(u);
        *password = json_object_get_string(p);
    }
}

static void s_login(gr_http_req_t *req, void *ctx)
{
    (void)ctx;
    json_object *parsed = NULL;
    const char *user = NULL, *password = NULL;
    s_login_fields(req, &parsed, &user, &password);
    if (!user || !password) {
        gr_http_reply_error(req, GR_HTTP_E_BAD_REQUEST,
                            "login needs user and password (a form, or JSON {\"user\", \"password\"})");
        json_object_put(parsed);
        return;
    }
    const gr_http_user_t *u = gr_http_config_user(&req->http->cfg->http, user);
    bool ok = gr_http_sessions_verify(req->http->sessions, u ? u->hash : NULL, password);
    gr_http_session_t s;
    if (ok && gr_http_sessions_open(req->http->sessions, u->name, u->roles, &s) != 0)
        ok = false;
    if (!ok) {
        gr_log(GR_LOG_WARN, NULL, "http: login refused for '%.47s'", user);
        gr_http_reply_error(req, GR_HTTP_E_LOGIN_FAILED, "unknown user or wrong password");
    } else {
        gr_log(GR_LOG_NOTICE, NULL, "http: %s logged in", u->name);
        s_cookie(req, s.token, req->http->cfg->http.session_ttl_ms / 1000);
        gr_http_reply_json(req, 200, s_session_json(&s));
    }
    sodium_memzero(&s, sizeof s);
    json_object_put(parsed);
}

static void s_logout(gr_http_req_t *req, void *ctx)
{
    (void)ctx;
    gr_http_sessions_close(req->http->sessions, req->session.token);
    s_cookie(req, "", 0);
    json_object *obj = json_object_new_object();
    json_object_object_add(obj, "user", json_object_new_string(req->session.user));
    json_object_object_add(obj, "logged_out", json_object_new_boolean(1));
    gr_http_reply_json(req, 200, obj);
}

static void s_session(gr_http_req_t *req, void *ctx)
{
    (void)ctx;
    gr_http_reply_json(req, 200, s_session_json(&req->session));
}

/* ---- dispatch ---- */

static const s_route_t *s_find(const gr_http_t *self, const char *method, const char *path,
                               bool *other_method)
{
    const s_route_t *best = NULL;
    size_t best_len = 0;
    *other_method = false;
    for (size_t i = 0; i < self->n_routes; i++) {
        const s_route_t *r = &self->routes[i];
        size_t len = r->prefix_len ? r->prefix_len : strlen(r->path);
        bool match = r->prefix_len ? strncmp(path, r->path, r->prefix_len) == 0
                                   : strcmp(path, r->path) == 0;
        if (!match)
            continue;
        if (strcmp(r->method, method) != 0) {
            *other_method = true;
            continue;
        }
        if (!best || len > best_len) {
            best = r;
            best_len = len;
        }
    }
    return best;
}

static void s_read_session(gr_http_req_t *req)
{
    const char *token = MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, "gr_session");
    if (!token || !*token)
        return;
    int rc = gr_http_sessions_find(req->http->sessions, token, &req->session);
    req->has_session = rc == 0;
    req->session_expired = rc == GR_ETIMEOUT;
}

static enum MHD_Result s_dispatch(gr_http_t *self, struct MHD_Connection *conn, s_conn_t *state,
                                  const char *url, const char *method)
{
    gr_http_req_t req;
    memset(&req, 0, sizeof req);
    req.http = self;
    req.conn = conn;
    req.state = state;
    req.method = method;
    req.path = url;
    req.tail = "";
    atomic_fetch_add(&self->requests, 1);
    const char *as = strcmp(method, "HEAD") == 0 ? "GET" : method;
    bool other = false;
    const s_route_t *route = s_find(self, as, url, &other);
    s_read_session(&req);
    if (state->too_large) {
        char why[96];
        snprintf(why, sizeof why, "request body above the limit of %zu bytes",
                 self->cfg->http.max_body);
        gr_http_reply_error(&req, GR_HTTP_E_TOO_LARGE, why);
    } else if (!route) {
        gr_http_reply_error(&req, other ? GR_HTTP_E_METHOD : GR_HTTP_E_NOT_FOUND,
                            other ? "method not allowed here" : "no such resource");
    } else {
        req.tail = route->prefix_len ? url + route->prefix_len : "";
        int refusal = gr_http_session_check(&req, route->access, strcmp(as, "POST") == 0);
        if (refusal == GR_HTTP_E_LOGIN_REQUIRED)
            gr_http_reply_error(&req, GR_HTTP_E_LOGIN_REQUIRED,
                                req.session_expired ? "the session expired: log in again"
                                                    : "log in first (POST /api/login)");
        else if (refusal == GR_HTTP_E_FORBIDDEN)
            gr_http_reply_error(&req, GR_HTTP_E_FORBIDDEN, "this needs the operator role");
        else if (refusal == GR_HTTP_E_CSRF)
            gr_http_reply_error(&req, GR_HTTP_E_CSRF, "a POST needs the session's CSRF token "
                                "in the X-CSRF-Token header (from /api/login or /api/session)");
        else
            route->fn(&req, route->ctx);
        if (!req.response)
            s_error(&req, GR_HTTP_E_NODE_REFUSED, 500, "the handler gave no answer");
    }
    enum MHD_Result ret = MHD_NO;
    if (req.response) {
        ret = MHD_queue_response(conn, req.status, req.response);
        MHD_destroy_response(req.response);
    }
    for (size_t i = 0; i < req.n_headers; i++) {
        free(req.headers[i][0]);
        free(req.headers[i][1]);
    }
    sodium_memzero(&req.session, sizeof req.session);
    return ret;
}

/* One field of a form body. The nine parameters are libmicrohttpd's
 * MHD_PostDataIterator, not a choice of ours. */
static enum MHD_Result s_field(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *content_type,
                               const char *transfer_encoding, const char *data, uint64_t off,
                               size_t size)
{
    (void)kind;
    (void)content_type;
    (void)transfer_encoding;
    s_conn_t *state = cls;
    if (filename)
        return MHD_YES;     /* uploaded files are not taken: media_url instead */
    s_field_t *f = NULL;
    if (off > 0 && state->n_fields && strcmp(state->fields[state->n_fields - 1].name, key) == 0)
        f = &state->fields[state->n_fields - 1];
    if (!f) {
        if (state->n_fields == S_MAX_FIELDS)
            return MHD_YES;
        f = &state->fields[state->n_fields];
        if (!(f->name = strdup(key)))
            return MHD_NO;
        f->value = NULL;
        f->len = 0;
        state->n_fields++;
    }
    char *value = realloc(f->value, f->len + size + 1);
    if (!value)
        return MHD_NO;
    memcpy(value + f->len, data, size);
    f->len += size;
    value[f->len] = '\0';
    f->value = value;
    return MHD_YES;
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version,
                                const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)version;
    gr_http_t *self = cls;
    s_conn_t *state = *con_cls;
    if (!state) {
        if (!(state = calloc(1, sizeof *state)))
            return MHD_NO;
        *con_cls = state;
        const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                         MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (length && strtoull(length, NULL, 10) > self->cfg->http.max_body)
            state->too_large = true;    /* answered now, the body never read */
        else
            state->post = MHD_create_post_processor(conn, 4096, s_field, state);
        if (!state->too_large)
            return MHD_YES;
        return s_dispatch(self, conn, state, url, method);
    }
    if (*upload_data_size) {
        size_t size = *upload_data_size;
        *upload_data_size = 0;
        if (state->too_large || state->body_len + size > self->cfg->http.max_body) {
            state->too_large = true;
            return MHD_YES;
        }
        if (state->post)
            return MHD_post_process(state->post, upload_data, size);
        char *body = realloc(state->body, state->body_len + size + 1);
        if (!body)
            return MHD_NO;
        memcpy(body + state->body_len, upload_data, size);
        state->body_len += size;
        body[state->body_len] = '\0';
        state->body = body;
        return MHD_YES;
    }
    return s_dispatch(self, conn, state, url, method);
}

/* Once libmicrohttpd is done with a request: what it gathered. */
static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    s_conn_t *state = *con_cls;
    if (!state)
        return;
    if (state->post)
        MHD_destroy_post_processor(state->post);
    for (size_t i = 0; i < state->n_fields; i++) {
        free(state->fields[i].name);
        if (state->fields[i].value)
            sodium_memzero(state->fields[i].value, state->fields[i].len);
        free(state->fields[i].value);
    }
    free(state->body);
    free(state);
    *con_cls = NULL;
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    gr_log(GR_LOG_WARN, NULL, "http: %s", line);
}

int gr_http_start(gr_http_t *self, char *err, size_t errlen)
{
    const gr_http_config_t *hc = &self->cfg->http;
    if (gr_http_route(self, "POST", "/api/login", GR_HTTP_PUBLIC, s_login, NULL) != 0 ||
        gr_http_route(self, "POST", "/api/logout", GR_HTTP_VIEWER, s_logout, NULL) != 0 ||
        gr_http_route(self, "GET", "/api/session", GR_HTTP_VIEWER, s_session, NULL) != 0) {
        snprintf(err, errlen, "[http] cannot register the session routes");
        return GR_EINVAL;
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(hc->port);
    inet_pton(AF_INET, hc->host, &addr.sin_addr);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    char *cert = NULL, *key = NULL;
    if (hc->cert_path) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            snprintf(err, errlen, "[http] cert and key given, but this libmicrohttpd has no TLS");
            return GR_EIO;
        }
        if (gr_http_tls_load(hc, &cert, &key, err, errlen) != 0)
            return GR_ECONFIG;
        flags |= MHD_USE_TLS;
    }
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, key},
        {MHD_OPTION_END, 0, NULL},
    };
    self->mhd = MHD_start_daemon(
        flags, hc->port, NULL, NULL, s_access, self,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)hc->threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)S_CONNECTION_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)S_CONNECTION_TIMEOUT_S,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL,
        MHD_OPTION_ARRAY, cert ? tls : &tls[2],
        MHD_OPTION_END);
    if (key) {
        sodium_memzero(key, strlen(key));
        free(key);
    }
    free(cert);
    if (!self->mhd) {
        snprintf(err, errlen, "[http] cannot listen on %s:%u", hc->host, (unsigned)hc->port);
        return GR_EIO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->mhd, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info ? info->port : hc->port;
    snprintf(self->url, sizeof self->url, "%s://%s:%u", hc->cert_path ? "https" : "http", hc->host, port);
    return 0;
}
