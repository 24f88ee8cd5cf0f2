/* The trust list: which Ed25519 public keys a node accepts, and under what
 * name and role. Built once from the config, then only read.
 *
 * Thread safety: building is single-threaded; after that, gr_trust_find()
 * may be called from any number of threads at once.
 */
#ifndef GR_TRUST_H
#define GR_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"

/* The trust class of a key: which of the node's sockets and tables it
 * belongs to. What a person's key may do there is its access role set
 * (router/access.h), which the node config grants. */
typedef enum {
    GR_ROLE_REPORTER = 1,   /* a person's terminal: reporter, operator, viewer, auditor */
    GR_ROLE_NODE = 2,       /* another gridrelayd (parent, child) */
    GR_ROLE_DEPARTMENT = 3, /* a functional department's software */
} gr_role_t;

typedef struct {
    uint8_t pk[GR_PUBLIC_KEY_BYTES];
    char name[64];
    gr_role_t role;
    unsigned access;        /* access roles (router/access.h GR_ACCESS_*); 0 until granted */
} gr_trusted_key_t;

typedef struct gr_trust gr_trust_t;

/* Returns an empty trust list, or NULL when out of memory. */
gr_trust_t *gr_trust_new(void);

/* Frees the list and sets *self_p to NULL. Accepts NULL. */
void gr_trust_destroy(gr_trust_t **self_p);

/* Adds a key with no access roles. Adding a key already present replaces
 * its name and role and keeps its access roles.
 * Returns 0, GR_EINVAL for a name longer than 63 bytes, or GR_ENOMEM. */
int gr_trust_add(gr_trust_t *self, const uint8_t pk[GR_PUBLIC_KEY_BYTES],
                 const char *name, gr_role_t role);

/* Adds the access roles in access to pk's entry (a bit set, see
 * router/access.h). GR_ENOTFOUND when pk is not trusted. */
int gr_trust_grant(gr_trust_t *self, const uint8_t pk[GR_PUBLIC_KEY_BYTES], unsigned access);

/* Returns the entry for pk, or NULL when the key is not trusted.
 * The pointer stays valid until the next gr_trust_add() or destroy. */
const gr_trusted_key_t *gr_trust_find(const gr_trust_t *self,
                                      const uint8_t pk[GR_PUBLIC_KEY_BYTES]);

/* Number of keys in the list. */
size_t gr_trust_count(const gr_trust_t *self);

/* Returns the i-th entry in key order (0 <= i < gr_trust_count()), or NULL
 * when i is out of range or self is NULL. For walking the whole list, e.g.
 * to derive each key's Curve25519 form (broker/curve.h). The pointer stays
 * valid until the next gr_trust_add() or destroy. */
const gr_trusted_key_t *gr_trust_at(const gr_trust_t *self, size_t i);

#endif
