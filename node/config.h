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
 *   data_key = keys/village-01.data  ; optional: seals personal data in the
 *                               ;   store (broker/datakey.h; gridctl datakey new)
 *   catalogue = catalogue.ini   ; required
 *   max_frame = 65536           ; bytes, 1024..16777216
 *   map_size_mb = 64            ; initial LMDB map size
 *   map_max_mb = 4096           ; the map grows up to this, then refuses work
 *   replay_window = 1000000000  ; in sequence units, >= 1
 *   batch_max = 512             ; requests committed together, 1..65536
 *   threads = 0                 ; threads checking signatures, 0..8; 0 = one per CPU
 *
 *   status_listen = tcp://127.0.0.1:7101 ; optional: SUB endpoint for children
 *   task_listen = tcp://127.0.0.1:7201   ; optional: PUB endpoint departments
 *                               ;   subscribe to for their tasks
 *
 *   [reporters]                 ; grid workers' keys, one per line:
 *   worker-zhang = 3b6a...      ;   name = 64 hex digits, or
 *   worker-li = @keys/li.pub    ;   name = @path to a public key file;
 *                               ;   name: id characters or non-ASCII (张三)
 *   leader-wu = @keys/wu.pub, grid G-05 ; also reads every case of grid G-05
 *   [operators]                 ; keys that act on the cases here
 *   [viewers]                   ; keys that read everything here, act on nothing
 *   [auditors]                  ; keys that read the trail (cases, counters)
 *                               ; each as [reporters]; a key listed under
 *                               ; one name in several holds all their roles
 *                               ; (router/access.h). Without [operators],
 *                               ; [reporters] keys are operators too and
 *                               ; cfg->warning says so.
 *
 *   [parent], [skip], [children] ; tier links (see examples/village.ini)
 *
 *   [deadlines]                 ; KIND.SEVERITY = duration (90s, 30min, 2h, 7d; 0 = none)
 *   accept.urgent = 30min       ;   accept, resolve: cases at this node
 *   claim.urgent = 10min        ;   claim, complete: tasks given to departments
 *
 *   [departments]               ; functional departments, one per line:
 *   police = @keys/police.pub, 派出所 police station
 *                               ;   code (like a node id) = key[, display name];
 *                               ;   each key is trusted as a department, and a
 *                               ;   key may hold only one role
 *
 *   [dispatch]                  ; routing table, needs [departments]:
 *   PS.FIRE = fire, safety + police ; exact category: lead, then the next
 *                               ;   after a return (退回); after '+' co-handlers
 *   PS.* = police               ;   class prefix: some code must start "PS."
 *   * = office                  ;   anything else
 *                               ; exact beats the longest prefix beats "*";
 *                               ; at most GR_ROUTE_MAX_DEPTS each side of '+'
 *
 *   [merge]                     ; candidate duplicates (合并); no section = off
 *   window = 2h                 ;   reports created this close in time (default 2h)
 *   distance = 300m             ;   and this close (m or km; default 300m), or
 *                               ;   in the same grid code
 *   [confidential]              ; confidential categories (catalogue
 *   SS.KEY-PERSON = chen, wu    ;   confidential = yes): the [operators] that
 *                               ;   read them here (config_confidential.h)
 *   [confidential_seal]         ; at the origin tier: reports of the category
 *   SS.KEY-PERSON = KEY, dist-1 ;   go up with their people sealed to that
 *                               ;   node's key (node/confseal.h)
 *   [assessment]                ; weights of the ranking score (gridctl rank),
 *   accept = 20                 ;   0..100 each: accept, resolve, first_time,
 *   resolve = 30                ;   feedback, overdue (defaults 20, 30, 15, 15, 20)
 *
 * See examples/township.ini for a node with departments.
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

#include "access.h"
#include "catalogue.h"
#include "config_confidential.h"
#include "config_map.h"
#include "datakey.h"
#include "config_http.h"
#include "daily_config.h"
#include "decide.h"
#include "duplicate.h"
#include "assess.h"
#include "supervise.h"
#include "task.h"
#include "keys.h"
#include "trust.h"

/* Another node this one talks to. */
typedef struct {
    char id[64];
    uint8_t pk[GR_PUBLIC_KEY_BYTES];
    char *endpoint;         /* its request endpoint (parent, skip); NULL for children */
    char *status_endpoint;  /* where to publish status to it (parent); may be NULL */
    /* [children] id = KEY, previous OLDKEY: the child's key before a
     * rotation, still accepted from it (frames its outbox sealed before it
     * changed keys) until the line loses it. */
    bool has_previous;
    uint8_t previous_pk[GR_PUBLIC_KEY_BYTES];
} gr_peer_config_t;

/* True when pk is child's key, or its previous key (has_previous). */
bool gr_peer_has_key(const gr_peer_config_t *peer, const uint8_t pk[GR_PUBLIC_KEY_BYTES]);

/* A functional department (公安, 安监, 交通...) whose software takes tasks
 * from this node ([departments] section). */
typedef struct {
    char code[64];          /* same character set as node ids */
    char name[128];         /* display name, may be empty */
    uint8_t pk[GR_PUBLIC_KEY_BYTES];
} gr_dept_config_t;

/* A reporter that also reads every case of its grid (网格): [reporters]
 * name = KEY, grid CODE. */
typedef struct {
    uint8_t pk[GR_PUBLIC_KEY_BYTES];
    char grid[64];
} gr_reporter_grid_t;

#define GR_ROUTE_MAX_DEPTS 8

/* One line of the [dispatch] routing table: for categories matching
 * `match` (an exact code, a class prefix "PS.*", or "*" for any), the lead
 * department is candidates[0]; candidates[1..] are tried in order after a
 * return (退回); co[] co-handle (协办) beside the lead. Every code names a
 * configured department. */
typedef struct {
    char match[48];
    char candidates[GR_ROUTE_MAX_DEPTS][64];
    size_t n_candidates;    /* >= 1 */
    char co[GR_ROUTE_MAX_DEPTS][64];
    size_t n_co;
} gr_route_config_t;

/* Department task time limits per severity ([deadlines] claim.<severity>,
 * complete.<severity>); 0 = none. The router's own struct (router/task.h),
 * so the table passes to gr_task_decide() as it is. */
typedef gr_task_limits_t gr_task_deadlines_t;

typedef struct {
    char node_id[64];
    char tier_name[32];
    int tier_level;             /* 1 = lowest */
    char *store_path;           /* absolute or relative to cwd, resolved */
    char *listen;
    char *endpoint_file;        /* NULL when not set */
    char *secret_key_path;
    char *data_key_path;        /* NULL when not set */
    gr_datakey_t *datakey;      /* loaded from data_key_path; NULL without it */
    gr_confidential_config_t confidential;  /* [confidential] */
    char *catalogue_path;
    size_t max_frame;
    size_t map_size;            /* bytes */
    size_t map_max;             /* bytes */
    uint64_t replay_window;
    unsigned batch_max;
    unsigned threads;           /* signature threads; 0 = one per CPU (at most 8) */

    /* Tier links ([parent], [skip], [children], [deadlines] sections). */
    char *status_listen;        /* SUB endpoint children publish to; NULL = none */
    bool has_parent;
    gr_peer_config_t parent;
    bool has_skip;              /* 越级直报 target (the grandparent) */
    gr_peer_config_t skip;
    gr_peer_config_t *children;
    size_t n_children;
    gr_deadlines_t deadlines;   /* per severity; 0 = none */
    gr_supervise_limits_t supervision;  /* what else the supervision list flags */
    gr_daily_config_t daily;    /* [daily]: who owes a daily report here, by when */
    gr_duplicate_limits_t merge;        /* [merge]: candidate duplicates; window 0 = off */
    gr_assess_weights_t assessment;     /* [assessment]: the ranking score's weights */
    gr_http_config_t http;      /* [http], [http_users], [open311_clients] (config_http.h) */
    gr_map_config_t map;        /* [map]: the command view's outlines (config_map.h) */

    /* Departments ([node] task_listen, [departments], [dispatch]). */
    char *task_listen;          /* PUB endpoint departments subscribe to; NULL = none */
    gr_dept_config_t *depts;
    size_t n_depts;
    gr_route_config_t *routes;  /* in file order */
    size_t n_routes;
    gr_task_deadlines_t task_deadlines;

    gr_reporter_grid_t *reporter_grids;  /* [reporters] lines with ", grid CODE" */
    size_t n_reporter_grids;

    /* What the daemon logs at start-up and --check-config prints: the
     * config loaded, but means something the operator should change
     * (e.g. [reporters] without [operators]). "" when none. */
    char warning[768];

    char *path;                 /* the file it was loaded from, for a reload */

    gr_keypair_t keys;          /* loaded from secret_key_path */
    /* While the node rotates its own key: the old one (previous_secret_key),
     * which still opens what was sealed to it (node/confseal.h). */
    char *previous_key_path;    /* NULL when not set */
    bool has_previous_keys;
    gr_keypair_t previous_keys;
    gr_trust_t *trust;          /* reporters (and, later, nodes, departments) */
    gr_catalogue_t *catalogue;  /* loaded from catalogue_path */
} gr_config_t;

/* Loads, validates and resolves path into a new config: reads the secret
 * key (refusing one readable by group or others), the trusted keys and the
 * catalogue. Every file it reads must be a regular file (a FIFO is refused,
 * never waited on). Refuses a trusted key libsodium cannot convert to
 * Curve25519 (all zeros, small order, no point), the node's own key among
 * the trusted ones, one key twice (in any roles, or as a key and its
 * negation, which CURVE cannot tell apart), a parent, skip node or child
 * with another one's id or this node's, two bound sockets on one endpoint,
 * a store that is not (or cannot become) a directory, and an endpoint_file
 * whose directory is missing or not writable.
 * On error returns NULL and writes "FILE:LINE: what is wrong"
 * into err (errlen bytes); errors without a line (missing required key,
 * unreadable file) name the file and the key. */
gr_config_t *gr_config_load(const char *path, char *err, size_t errlen);

/* The route for a category: the exact code's line if there is one, else
 * the longest matching class prefix ("PS.FIRE" matches "PS.*"), else "*";
 * NULL when no line matches. */
const gr_route_config_t *gr_config_route(const gr_config_t *cfg, const char *category);

/* The department with this code, or NULL. */
const gr_dept_config_t *gr_config_dept(const gr_config_t *cfg, const char *code);

/* The grid whose cases the reporter with key pk reads besides its own, or
 * NULL when its [reporters] line names none. */
const char *gr_config_reporter_grid(const gr_config_t *cfg,
                                    const uint8_t pk[GR_PUBLIC_KEY_BYTES]);

/* The department whose key is pk, or NULL. */
const gr_dept_config_t *gr_config_dept_by_key(const gr_config_t *cfg,
                                              const uint8_t pk[GR_PUBLIC_KEY_BYTES]);

/* What a reload of the people's keys changed. */
typedef struct {
    size_t added;       /* person keys trusted now and not before */
    size_t removed;     /* person keys trusted before and not now (revoked) */
    size_t changed;     /* person keys whose name, roles or grid changed */
} gr_config_reload_t;

/* Reads cfg->path again and takes its people's keys and roles
 * ([reporters], [operators], [viewers], [auditors]) into cfg->trust and
 * cfg->warning, for a node revoking or adding keys without a restart
 * (SIGHUP). The whole file must load as gr_config_load() would; the
 * other trusted keys ([parent], [skip], [children], [departments]) must
 * be as they are, since the links, outboxes and tasks were set up with
 * them; everything else in the file is read at start-up only. On error
 * cfg is unchanged and err says why ("FILE:LINE: ..."). Invalidates every
 * pointer into the old trust list: call it between batches. */
int gr_config_reload_people(gr_config_t *cfg, gr_config_reload_t *summary, char *err,
                            size_t errlen);

/* Frees and sets *self_p to NULL. Accepts NULL. */
void gr_config_destroy(gr_config_t **self_p);

#endif
