/* The HTTP face's logins (node/http.h): sessions in memory, each a random
 * token (the gr_session cookie) with its user, role, CSRF token and
 * expiry. A restart logs everyone out, which is what a node's restart
 * should do; no session is ever written to disk.
 *
 * At most GR_HTTP_SESSIONS_MAX at once: a new login past that replaces
 * the one closest to expiry.
 *
 * Thread safety: every function may be called from any thread (one lock).
 */
#ifndef GR_HTTP_SESSION_H
#define GR_HTTP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#define GR_HTTP_SESSIONS_MAX 1024
#define GR_HTTP_TOKEN_HEX 65    /* 32 random bytes in hex, and the NUL */

typedef struct {
    char token[GR_HTTP_TOKEN_HEX];
    char csrf[GR_HTTP_TOKEN_HEX];
    char user[48];
    unsigned roles;         /* GR_ACCESS_VIEWER or GR_ACCESS_OPERATOR */
    uint64_t expires_ms;    /* wall clock, ms since the epoch */
} gr_http_session_t;

typedef struct gr_http_sessions gr_http_sessions_t;

/* Sessions that last ttl_ms each. NULL when out of memory. */
gr_http_sessions_t *gr_http_sessions_new(uint64_t ttl_ms);
void gr_http_sessions_destroy(gr_http_sessions_t **self_p);

/* Whether password matches hash (crypto_pwhash_str_verify). With hash
 * NULL (no such user) a hash of the same cost is checked anyway, so the
 * answer takes as long whether the user exists or not; false then. */
bool gr_http_sessions_verify(gr_http_sessions_t *self, const char *hash, const char *password);

/* A new session for user; *out receives it. 0 or GR_ENOMEM. */
int gr_http_sessions_open(gr_http_sessions_t *self, const char *user, unsigned roles,
                          gr_http_session_t *out);

/* The live session of token, copied into *out: 0, GR_ETIMEOUT when it
 * expired (and is forgotten), GR_ENOTFOUND when there is none. */
int gr_http_sessions_find(gr_http_sessions_t *self, const char *token, gr_http_session_t *out);

/* Ends token's session; nothing when there is none. */
void gr_http_sessions_close(gr_http_sessions_t *self, const char *token);

/* Sessions live now. */
unsigned gr_http_sessions_count(gr_http_sessions_t *self);

#endif
