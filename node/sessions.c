#include "sessions.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "keys.h"

typedef struct {
    bool used;
    bool pending;                  /* queued for closing */
    uint8_t pk[GR_PUBLIC_KEY_BYTES];
    struct sockaddr_storage peer;  /* the other end when last seen */
    socklen_t peer_len;
} s_entry_t;

struct gr_sessions {
    s_entry_t *by_fd;
    size_t cap;
    size_t used;
    int *pending;
    size_t n_pending;
    size_t pending_cap;
};

gr_sessions_t *gr_sessions_new(void)
{
    return calloc(1, sizeof(gr_sessions_t));
}

void gr_sessions_destroy(gr_sessions_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->by_fd);
    free((*self_p)->pending);
    free(*self_p);
    *self_p = NULL;
}

static bool s_grow(gr_sessions_t *self, size_t fd)
{
    if (fd < self->cap)
        return true;
    size_t cap = self->cap ? self->cap : 256;
    while (cap <= fd)
        cap *= 2;
    s_entry_t *by_fd = realloc(self->by_fd, cap * sizeof *by_fd);
    if (!by_fd)
        return false;
    memset(by_fd + self->cap, 0, (cap - self->cap) * sizeof *by_fd);
    self->by_fd = by_fd;
    self->cap = cap;
    return true;
}

static void s_queue(gr_sessions_t *self, int fd)
{
    s_entry_t *e = &self->by_fd[fd];
    if (e->pending)
        return;
    if (self->n_pending == self->pending_cap) {
        size_t cap = self->pending_cap ? self->pending_cap * 2 : 16;
        int *pending = realloc(self->pending, cap * sizeof *pending);
        if (!pending)
            return;  /* closed at the next revocation or message instead */
        self->pending = pending;
        self->pending_cap = cap;
    }
    self->pending[self->n_pending++] = fd;
    e->pending = true;
}

void gr_sessions_note(gr_sessions_t *self, int fd, const char *user_hex, const gr_trust_t *trust)
{
    uint8_t pk[GR_PUBLIC_KEY_BYTES];
    if (!self || fd < 0 || fd >= GR_SESSIONS_MAX_FD || !user_hex ||
        gr_key_from_hex(pk, user_hex) != 0 || !s_grow(self, (size_t)fd))
        return;
    s_entry_t *e = &self->by_fd[fd];
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    if (getpeername(fd, (struct sockaddr *)&peer, &len) != 0)
        return;  /* gone already */
    if (!e->used)
        self->used++;
    else if (e->pending && (memcmp(e->pk, pk, sizeof pk) != 0 || len != e->peer_len ||
                            memcmp(&peer, &e->peer, len) != 0))
        e->pending = false;  /* another connection on the number now: not that one */
    e->used = true;
    memcpy(e->pk, pk, sizeof pk);
    e->peer = peer;
    e->peer_len = len;
    if (trust && !gr_trust_find(trust, pk))
        s_queue(self, fd);
}

size_t gr_sessions_revoke(gr_sessions_t *self, const gr_trust_t *trust)
{
    size_t queued = 0;
    if (!self || !trust)
        return 0;
    for (size_t fd = 0; fd < self->cap; fd++) {
        s_entry_t *e = &self->by_fd[fd];
        if (e->used && !e->pending && !gr_trust_find(trust, e->pk)) {
            s_queue(self, (int)fd);
            queued += e->pending;
        }
    }
    return queued;
}

size_t gr_sessions_close_pending(gr_sessions_t *self)
{
    size_t closed = 0;
    if (!self)
        return 0;
    for (size_t i = 0; i < self->n_pending; i++) {
        int fd = self->pending[i];
        s_entry_t *e = &self->by_fd[fd];
        if (!e->pending)
            continue;
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        /* Still the connection recorded, not a new one on a reused number. */
        if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0 && len == e->peer_len &&
            memcmp(&peer, &e->peer, len) == 0 && shutdown(fd, SHUT_RDWR) == 0)
            closed++;
        memset(e, 0, sizeof *e);
        self->used--;
    }
    self->n_pending = 0;
    return closed;
}

size_t gr_sessions_count(const gr_sessions_t *self)
{
    return self ? self->used : 0;
}
