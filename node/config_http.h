/* The node's HTTP face in its config: [http], [http_users] and
 * [open311_clients] (node/http.h serves them). No [http] section = no
 * HTTP server, and the other two sections are refused without it.
 *
 *   [http]
 *   listen = 127.0.0.1:8080     ; required: IPv4 address and port; port 0
 *                               ;   or * = a free one (written to the
 *                               ;   endpoint_file as "http http://..." and logged)
 *   cert = tls/node.crt         ; optional, with key: HTTPS (PEM files)
 *   key = tls/node.key
 *   session_ttl = 8h            ; a login lasts this long (1min..7d; default 8h)
 *   max_body = 65536            ; request body limit in bytes (1024..1048576)
 *   threads = 2                 ; server threads (1..16; default 2)
 *
 *   [http_users]                ; web logins: name = role:password hash
 *   alice = operator:$argon2id$v=19$m=65536,t=2,p=1$...
 *   bob = viewer:$argon2id$...  ;   roles: viewer (reads), operator (acts);
 *                               ;   the hash from `gridctl http-password`
 *   [open311_clients]           ; Open311 GeoReport v2 clients:
 *   fixmystreet = API_KEY:fms-bridge ; name = api_key:reporter name; the
 *                               ;   reporter name is what the cases record
 *
 * Thread safety: filled while the config loads, read-only afterwards.
 */
#ifndef GR_CONFIG_HTTP_H
#define GR_CONFIG_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GR_HTTP_NAME_MAX 47
#define GR_HTTP_HASH_MAX 127    /* crypto_pwhash_STRBYTES - 1 */
#define GR_HTTP_API_KEY_MIN 16
#define GR_HTTP_API_KEY_MAX 127

/* The sections this file parses. */
typedef enum { GR_HTTP_SECTION_HTTP, GR_HTTP_SECTION_USERS, GR_HTTP_SECTION_CLIENTS } gr_http_section_t;

enum { GR_HTTP_KEY_LISTEN, GR_HTTP_KEY_CERT, GR_HTTP_KEY_KEY, GR_HTTP_KEY_SESSION_TTL,
       GR_HTTP_KEY_MAX_BODY, GR_HTTP_KEY_THREADS, GR_HTTP_KEY_COUNT };

typedef struct {
    char name[GR_HTTP_NAME_MAX + 1];
    unsigned roles;                     /* GR_ACCESS_VIEWER or GR_ACCESS_OPERATOR */
    char hash[GR_HTTP_HASH_MAX + 1];    /* crypto_pwhash_str() output */
} gr_http_user_t;

typedef struct {
    char name[GR_HTTP_NAME_MAX + 1];
    char api_key[GR_HTTP_API_KEY_MAX + 1];
    char reporter[GR_HTTP_NAME_MAX + 1];
} gr_open311_client_t;

typedef struct {
    bool enabled;               /* the config has an [http] section */
    char host[64];              /* dotted IPv4 address */
    uint16_t port;              /* 0 = any free port */
    char *cert_path;            /* NULL = plain HTTP */
    char *key_path;
    uint64_t session_ttl_ms;
    size_t max_body;
    unsigned threads;
    gr_http_user_t *users;
    size_t n_users;
    gr_open311_client_t *clients;
    size_t n_clients;
    int line[GR_HTTP_KEY_COUNT];    /* where each [http] key was, 0 = not given */
    int section_line[3];            /* where each section started, 0 = absent */
} gr_http_config_t;

/* The defaults: off, 8 h sessions, 64 KiB bodies, two threads. */
void gr_http_config_init(gr_http_config_t *hc);

/* Frees the lists and paths. */
void gr_http_config_clear(gr_http_config_t *hc);

/* One key of section at line; relative paths resolve against dir.
 * Returns 0, or GR_ECONFIG / GR_ENOMEM with the message in msg. */
int gr_http_config_key(gr_http_config_t *hc, gr_http_section_t section, const char *key,
                       const char *value, const char *dir, int line, char *msg, size_t msglen);

/* The checks that need the whole file: [http] has listen, cert and key
 * come together, users and clients only with [http], no api_key twice.
 * Returns 0, or GR_ECONFIG with msg and *line (0 = no line). */
int gr_http_config_finish(const gr_http_config_t *hc, char *msg, size_t msglen, int *line);

/* The login user called name, or NULL. */
const gr_http_user_t *gr_http_config_user(const gr_http_config_t *hc, const char *name);

/* The Open311 client whose api_key this is (compared in constant time),
 * or NULL. */
const gr_open311_client_t *gr_http_config_client_by_key(const gr_http_config_t *hc,
                                                        const char *api_key);

/* Who a request the node's own key signed on behalf of someone stands
 * for (Body.on_behalf, PROTOCOL.md 4.10): "web:NAME" is a login user
 * with its role, "open311:NAME" an Open311 client (a reporter), "http"
 * the server's own reads (a viewer). *roles receives the GR_ACCESS_* bits,
 * name (namelen bytes) the actor name the timeline records: on_behalf
 * itself, or for an Open311 client its reporter name. Returns 0, or
 * GR_ENOTFOUND for anyone else. */
int gr_http_config_delegate(const gr_http_config_t *hc, const char *on_behalf, unsigned *roles,
                            char *name, size_t namelen);

#endif
