/* gridrelayd configuration: an INI file (libinih) turned into a validated
 * struct. See examples/village.ini for every key with its default, and the
 * README's "Configuration reference".
 *
 *   [node]
 *   id = village-01             ; required: [A-Za-z0-9._-], at most 63 bytes
 *   tier = village              ; required: tier name or level (catalogue.h)
 *   store = var/village-01      ; required: LMDB directory (created if missing)
 *   listen = tcp://127.0.0.1:7001   ; required; port * = pick a free one
 *   endpoint_file = var/v1.endpoint ; optional: where the bound endpoint is written
 *   secret_key = keys/village-01.sec ; required: this node's Ed25519 key
 *   catalogue = catalogue.ini   ; required
 *   max_frame = 65536           ; bytes, 1024..16777216
 *   map_size_mb = 64            ; initial LMDB map size
 *   map_max_mb = 4096           ; the map grows up to this, then refuses work
 *   replay_window = 1000000000  ; in sequence units, >= 1
 *   batch_max = 512             ; requests committed together, 1..65536
 *
 *   [reporters]                 ; trusted reporter keys, one per line:
 *   worker-zhang = 3b6a...      ;   name = 64 hex digits, or
 *   worker-li = @keys/li.pub    ;   name = @path to a public key file
 *
 * Relative paths are resolved against the config file's directory.
 *
 * Thread safety: load once at start-up; the struct is read-only afterwards.
 */
#ifndef GR_CONFIG_H
#define GR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalogue.h"
#include "decide.h"
#include "keys.h"
#include "trust.h"

/* Another node this one talks to. */
typedef struct {
    char id[64];
    uint8_t pk[GR_PUBLIC_KEY_BYTES];
    char *endpoint;         /* its request endpoint (parent, skip); NULL for children */
    char *status_endpoint;  /* where to publish status to it (parent); may be NULL */
} gr_peer_config_t;

typedef struct {
    char node_id[64];
    char tier_name[32];
    int tier_level;             /* 1 = lowest */
    char *store_path;           /* absolute or relative to cwd, resolved */
    char *listen;
    char *endpoint_file;        /* NULL when not set */
    char *secret_key_path;
    char *catalogue_path;
    size_t max_frame;
    size_t map_size;            /* bytes */
    size_t map_max;             /* bytes */
    uint64_t replay_window;
    unsigned batch_max;

    /* Tier links ([parent], [skip], [children], [deadlines] sections). */
    char *status_listen;        /* SUB endpoint children publish to; NULL = none */
    bool has_parent;
    gr_peer_config_t parent;
    bool has_skip;              /* 越级直报 target (the grandparent) */
    gr_peer_config_t skip;
    gr_peer_config_t *children;
    size_t n_children;
    gr_deadlines_t deadlines;   /* per severity; 0 = none */

    gr_keypair_t keys;          /* loaded from secret_key_path */
    gr_trust_t *trust;          /* reporters (and, later, nodes, departments) */
    gr_catalogue_t *catalogue;  /* loaded from catalogue_path */
} gr_config_t;

/* Loads, validates and resolves path into a new config: reads the secret
 * key (refusing one readable by group or others), the trusted keys and the
 * catalogue. On error returns NULL and writes "FILE:LINE: what is wrong"
 * into err (errlen bytes); errors without a line (missing required key,
 * unreadable file) name the file and the key. */
gr_config_t *gr_config_load(const char *path, char *err, size_t errlen);

/* Frees and sets *self_p to NULL. Accepts NULL. */
void gr_config_destroy(gr_config_t **self_p);

#endif
