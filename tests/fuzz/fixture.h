/* What the fuzz targets and the seed generator share: fixed keys, a
 * township's config written to a temp dir, and the node's real request
 * path on a real LMDB store (README, "Fuzzing").
 *
 * The keys are derived from fixed seeds, so the generator's seed frames
 * and the targets agree on who is trusted without passing key files.
 *
 * Thread safety: one fixture per process, its thread only.
 */
#ifndef GR_FUZZ_FIXTURE_H
#define GR_FUZZ_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "counters.h"
#include "daily.h"
#include "departments.h"
#include "engine.h"
#include "keys.h"
#include "link.h"
#include "peers.h"
#include "requests.h"
#include "store.h"
#include "tierlink.h"

/* The keys of the fixture's grid; FX_STRANGER is trusted by nobody. */
typedef enum {
    FX_NODE,        /* town-f, the township under test */
    FX_PARENT,      /* district-f */
    FX_CHILD,       /* village-f1 */
    FX_CHILD2,      /* village-f2 */
    FX_REPORTER,    /* reporter "officer-f" at town-f */
    FX_DEPT,        /* department "police" */
    FX_DEPT2,       /* department "safety" */
    FX_VREPORTER,   /* a reporter at village-f1 (signs escalated origins) */
    FX_STRANGER,
    FX_KEYS,
} fx_key_t;

#define FX_NODE_ID "town-f"
#define FX_PARENT_ID "district-f"
#define FX_CHILD_ID "village-f1"
#define FX_CHILD2_ID "village-f2"

/* Who a request comes from, as the first byte of a request input says. */
typedef enum {
    FX_FROM_REPORTER,   /* the reporter on the request socket */
    FX_FROM_DEPT,       /* the department on the request socket */
    FX_FROM_CHILD,      /* village-f1 over its tier link (ROUTER) */
    FX_FROM_CHILD_PUB,  /* village-f1's status stream (SUB) */
    FX_FROM_PARENT,     /* district-f over the upward link */
    FX_FROM_COUNT,
} fx_from_t;

/* Fills keys[FX_KEYS] from fixed seeds. Returns 0 or an error. */
int fx_keys(gr_keypair_t keys[FX_KEYS]);

/* Makes an empty temp dir into dir (at least 64 bytes): in /dev/shm when
 * there is one, since the file targets write a file per input. Returns 0
 * or GR_EIO. */
int fx_temp_dir(char *dir);

/* Makes a temp dir (dir: at least 64 bytes) holding node.sec, node.ini
 * (town-f with a parent, two children, a reporter, departments with a
 * dispatch table, deadlines, supervision) and the example catalogue.
 * Returns 0 or an error. */
int fx_write_dir(char *dir, const gr_keypair_t keys[FX_KEYS]);

/* Removes dir and everything in it. */
void fx_remove_dir(const char *dir);

/* Writes len bytes to path (mode 0600). Returns 0 or -1. */
int fx_write_file(const char *path, const uint8_t *data, size_t len);

/* The township's real request path. */
typedef struct {
    char dir[64];
    gr_keypair_t keys[FX_KEYS];
    gr_config_t *cfg;
    gr_counters_t counters;
    gr_engine_t *engine;
    gr_tierlink_t *tierlink;
    gr_departments_t *departments;
    gr_daily_t *daily;
    gr_requests_t *requests;
    gr_store_t *store;
    void *zmq_ctx;
    void *router;
    gr_peers_t *peers;
    gr_link_t *parent_link;   /* where catch-up answers to the parent go */
    uint64_t now_ms;          /* fixed at open: every input sees one clock */
    uint64_t later_ms;        /* how far the clock has moved for this input */
    uint64_t next_seq;        /* seqs of committed requests */
} fx_node_t;

/* Opens the fixture in a new temp dir. Returns 0 or an error. */
int fx_node_open(fx_node_t *node);
void fx_node_close(fx_node_t *node);

/* Signs body (len bytes of a serialized Body, not checked) with the key
 * of from, opens the frame as the node does and runs it through what
 * handles it there (the request table, the child's link, the status
 * stream, the catch-up answer). commit keeps what it changed (seeding);
 * otherwise everything is undone, so each fuzz input meets the same
 * store. With later_ms set, the request comes that much after now_ms,
 * once the deadlines due by then have fired (as the daemon's timers do),
 * in the same transaction. seq 0 takes the next one. Returns 0, or a negative code when
 * the fixture itself failed (not when the request was refused); *acked
 * (may be NULL) says whether it was accepted. */
int fx_node_run(fx_node_t *node, fx_from_t from, uint64_t seq, const uint8_t *body, size_t len,
                bool commit, bool *acked);

/* The same with a Body to serialize. */
int fx_node_run_body(fx_node_t *node, fx_from_t from, const Gridrelay__Body *body, bool commit,
                     bool *acked);

/* The key that signs what from sends. */
fx_key_t fx_from_key(fx_from_t from);

#endif
