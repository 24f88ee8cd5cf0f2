#include "trust.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

/* Sorted by key so that lookups on the hot path (every received frame) are
 * a binary search; additions happen only at start-up. */
struct gr_trust {
    gr_trusted_key_t *keys;
    size_t count;
    size_t cap;
};

gr_trust_t *gr_trust_new(void)
{
    return calloc(1, sizeof(gr_trust_t));
}

void gr_trust_destroy(gr_trust_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->keys);
    free(*self_p);
    *self_p = NULL;
}

static int s_compare(const void *a, const void *b)
{
    return memcmp(a, b, GR_PUBLIC_KEY_BYTES);
}

int gr_trust_add(gr_trust_t *self, const uint8_t pk[GR_PUBLIC_KEY_BYTES], const char *name,
                 gr_role_t role)
{
    if (!self || !pk || !name || strlen(name) >= sizeof self->keys[0].name)
        return GR_EINVAL;
    gr_trusted_key_t *found = (gr_trusted_key_t *)gr_trust_find(self, pk);
    if (!found) {
        if (self->count == self->cap) {
            size_t cap = self->cap ? self->cap * 2 : 16;
            gr_trusted_key_t *keys = realloc(self->keys, cap * sizeof *keys);
            if (!keys)
                return GR_ENOMEM;
            self->keys = keys;
            self->cap = cap;
        }
        size_t at = 0;
        while (at < self->count && memcmp(self->keys[at].pk, pk, GR_PUBLIC_KEY_BYTES) < 0)
            at++;
        memmove(&self->keys[at + 1], &self->keys[at], (self->count - at) * sizeof *self->keys);
        self->count++;
        found = &self->keys[at];
        memcpy(found->pk, pk, GR_PUBLIC_KEY_BYTES);
        found->access = 0;
    }
    strcpy(found->name, name);
    found->role = role;
    return 0;
}

int gr_trust_grant(gr_trust_t *self, const uint8_t pk[GR_PUBLIC_KEY_BYTES], unsigned access)
{
    gr_trusted_key_t *found = (gr_trusted_key_t *)gr_trust_find(self, pk);
    if (!found)
        return GR_ENOTFOUND;
    found->access |= access;
    return 0;
}

const gr_trusted_key_t *gr_trust_find(const gr_trust_t *self, const uint8_t pk[GR_PUBLIC_KEY_BYTES])
{
    if (!self || !pk || self->count == 0)
        return NULL;
    return bsearch(pk, self->keys, self->count, sizeof *self->keys, s_compare);
}

size_t gr_trust_count(const gr_trust_t *self)
{
    return self ? self->count : 0;
}

const gr_trusted_key_t *gr_trust_at(const gr_trust_t *self, size_t i)
{
    if (!self || i >= self->count)
        return NULL;
    return &self->keys[i];
}
