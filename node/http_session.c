#include "http_session.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "clock.h"
#include "error.h"

struct gr_http_sessions {
    pthread_mutex_t lock;
    uint64_t ttl_ms;
    gr_http_session_t slots[GR_HTTP_SESSIONS_MAX];  /* token[0] == 0: free */
    /* What an unknown user's password is checked against: made on the
     * first such login, at the cost `gridctl http-password` uses. */
    char dummy[crypto_pwhash_STRBYTES];
};

/* The node's clock, so that a test moving it (--clock) sees logins expire. */
static uint64_t s_now_ms(void)
{
    return gr_clock_now_ms();
}

static void s_token(char out[GR_HTTP_TOKEN_HEX])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, GR_HTTP_TOKEN_HEX, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
}

gr_http_sessions_t *gr_http_sessions_new(uint64_t ttl_ms)
{
    if (sodium_init() < 0)
        return NULL;
    gr_http_sessions_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init(&self->lock, NULL);
    self->ttl_ms = ttl_ms;
    return self;
}

void gr_http_sessions_destroy(gr_http_sessions_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gr_http_sessions_t *self = *self_p;
    pthread_mutex_destroy(&self->lock);
    sodium_memzero(self, sizeof *self);
    free(self);
    *self_p = NULL;
}

bool gr_http_sessions_verify(gr_http_sessions_t *self, const char *hash, const char *password)
{
    if (hash)
        return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
    pthread_mutex_lock(&self->lock);
    if (!self->dummy[0] &&
        crypto_pwhash_str(self->dummy, "gridrelay", 9, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        self->dummy[0] = '\0';
    char dummy[crypto_pwhash_STRBYTES];
    memcpy(dummy, self->dummy, sizeof dummy);
    pthread_mutex_unlock(&self->lock);
    /* The answer is false whatever this says: only its time matters. */
    bool matched = dummy[0] && crypto_pwhash_str_verify(dummy, password, strlen(password)) == 0;
    (void)matched;
    return false;
}

int gr_http_sessions_open(gr_http_sessions_t *self, const char *user, unsigned roles,
                          gr_http_session_t *out)
{
    uint64_t now = s_now_ms();
    pthread_mutex_lock(&self->lock);
    /* A free slot, or an expired one, else the one closest to expiry. */
    gr_http_session_t *slot = &self->slots[0];
    for (size_t i = 0; i < GR_HTTP_SESSIONS_MAX; i++) {
        gr_http_session_t *s = &self->slots[i];
        if (!s->token[0] || s->expires_ms <= now) {
            slot = s;
            break;
        }
        if (s->expires_ms < slot->expires_ms)
            slot = s;
    }
    memset(slot, 0, sizeof *slot);
    s_token(slot->token);
    s_token(slot->csrf);
    snprintf(slot->user, sizeof slot->user, "%s", user);
    slot->roles = roles;
    slot->expires_ms = now + self->ttl_ms;
    *out = *slot;
    pthread_mutex_unlock(&self->lock);
    return 0;
}

/* The slot holding token, compared in constant time, or NULL. Locked. */
static gr_http_session_t *s_slot(gr_http_sessions_t *self, const char *token)
{
    if (!token || strlen(token) != GR_HTTP_TOKEN_HEX - 1)
        return NULL;
    gr_http_session_t *found = NULL;
    for (size_t i = 0; i < GR_HTTP_SESSIONS_MAX; i++)
        if (self->slots[i].token[0] &&
            sodium_memcmp(self->slots[i].token, token, GR_HTTP_TOKEN_HEX - 1) == 0)
            found = &self->slots[i];
    return found;
}

int gr_http_sessions_find(gr_http_sessions_t *self, const char *token, gr_http_session_t *out)
{
    pthread_mutex_lock(&self->lock);
    gr_http_session_t *s = s_slot(self, token);
    int rc = GR_ENOTFOUND;
    if (s && s->expires_ms <= s_now_ms()) {
        memset(s, 0, sizeof *s);
        rc = GR_ETIMEOUT;
    } else if (s) {
        *out = *s;
        rc = 0;
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

void gr_http_sessions_close(gr_http_sessions_t *self, const char *token)
{
    pthread_mutex_lock(&self->lock);
    gr_http_session_t *s = s_slot(self, token);
    if (s)
        sodium_memzero(s, sizeof *s);
    pthread_mutex_unlock(&self->lock);
}

unsigned gr_http_sessions_count(gr_http_sessions_t *self)
{
    uint64_t now = s_now_ms();
    unsigned n = 0;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < GR_HTTP_SESSIONS_MAX; i++)
        n += self->slots[i].token[0] && self->slots[i].expires_ms > now;
    pthread_mutex_unlock(&self->lock);
    return n;
}
