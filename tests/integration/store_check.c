#include "store_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalogue.h"
#include "datakey.h"
#include "error.h"
#include "store.h"

typedef struct {
    const gr_catalogue_t *catalogue;
    char (*ids)[GR_EVENT_ID_MAX + 1];
    size_t count;
    size_t cap;
    int bad;
    const char *node;
} s_scan_t;

static void s_visit(void *ctx, const Gridrelay__StoredEvent *rec)
{
    s_scan_t *s = ctx;
    const Gridrelay__Event *ev = rec->event;
    if (!ev || !ev->id || !*ev->id) {
        fprintf(stderr, "store check %s: a case without an event id\n", s->node);
        s->bad++;
        return;
    }
    if (!ev->category || !gr_catalogue_find(s->catalogue, ev->category) ||
        ev->severity < GRIDRELAY__SEVERITY__ROUTINE || ev->severity > GRIDRELAY__SEVERITY__EXTRA_URGENT ||
        !ev->origin_node || !*ev->origin_node) {
        fprintf(stderr, "store check %s: case %s has category '%s', severity %d, origin '%s'\n",
                s->node, ev->id, ev->category ? ev->category : "", (int)ev->severity,
                ev->origin_node ? ev->origin_node : "");
        s->bad++;
    }
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        void *grown = realloc(s->ids, cap * sizeof *s->ids);
        if (!grown) {
            s->bad++;
            return;
        }
        s->ids = grown;
        s->cap = cap;
    }
    snprintf(s->ids[s->count++], sizeof s->ids[0], "%s", ev->id);
}


/* An entry a request caused names that request's envelope by its SHA-256
 * (node/turn.c hashes what writes): all zeros would be a hash never
 * taken. -1 when one does, or the timeline cannot be read. */
static int s_envelopes_named(gr_txn_t *txn, const char *id)
{
    Gridrelay__TimelineEntry **entries = NULL;
    size_t n = 0;
    int rc = gr_store_timeline_get(txn, id, &entries, &n);
    if (rc != 0)
        return rc == GR_ENOTFOUND ? 0 : -1;
    static const uint8_t zero[32];
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        if (entries[i]->envelope_hash.len == sizeof zero &&
            memcmp(entries[i]->envelope_hash.data, zero, sizeof zero) == 0)
            bad = -1;
    gr_store_timeline_free(entries, n);
    return bad;
}
int store_check(const harness_node_t *node, const char *catalogue_path)
{
    char err[512];
    gr_catalogue_t *catalogue = gr_catalogue_load(catalogue_path, err, sizeof err);
    if (!catalogue) {
        fprintf(stderr, "store check: %s\n", err);
        return -1;
    }
    char dir[400];
    snprintf(dir, sizeof dir, "%s/store", node->dir);
    gr_store_t *store = NULL;
    gr_store_options_t opt = {0};
    /* A node the harness gave a data key (GR_DATA_KEY=1) is read with it. */
    char keypath[420];
    gr_datakey_t *dk = NULL;
    snprintf(keypath, sizeof keypath, "%s/harness.data", node->dir);
    if (access(keypath, F_OK) == 0 && gr_datakey_load(&dk, keypath, err, sizeof err) != 0) {
        fprintf(stderr, "store check: %s\n", err);
        gr_catalogue_destroy(&catalogue);
        return -1;
    }
    opt.datakey = dk;
    if (gr_store_open(&store, dir, &opt, err, sizeof err) != 0) {
        fprintf(stderr, "store check: %s\n", err);
        gr_catalogue_destroy(&catalogue);
        gr_datakey_destroy(&dk);
        return -1;
    }
    s_scan_t scan = {.catalogue = catalogue, .node = node->dir};
    gr_txn_t *txn = NULL;
    int rc = gr_store_begin(store, false, &txn);
    char token[GR_PAGE_TOKEN_MAX] = "", next[GR_PAGE_TOKEN_MAX];
    while (rc == 0) {
        rc = gr_store_list(txn, NULL, token, 500, s_visit, &scan, next);
        if (rc != 0 || !next[0])
            break;
        memcpy(token, next, sizeof token);
    }
    for (size_t i = 0; rc == 0 && i < scan.count; i++) {
        if (gr_store_timeline_verify(txn, scan.ids[i]) != 0) {
            fprintf(stderr, "store check %s: the timeline of %s does not verify\n", node->dir,
                    scan.ids[i]);
            scan.bad++;
        }
        if (s_envelopes_named(txn, scan.ids[i]) != 0) {
            fprintf(stderr, "store check %s: a timeline entry of %s names an envelope by 32 "
                    "zero bytes\n", node->dir, scan.ids[i]);
            scan.bad++;
        }
    }
    /* The whole store as `gridctl audit verify` walks it: chains, ledger. */
    gr_store_audit_t audit;
    gr_chain_fault_t fault;
    int arc = rc == 0 ? gr_store_audit_verify(txn, NULL, &audit, &fault) : 0;
    if (arc != 0) {
        fprintf(stderr, "store check %s: audit: %s case %s %llu: %s\n", node->dir,
                gr_chain_fault_kind_name(fault.kind), fault.event_id,
                (unsigned long long)fault.index, fault.message);
        scan.bad++;
    }
    gr_store_abort(&txn);
    gr_store_close(&store);
    gr_datakey_destroy(&dk);
    gr_catalogue_destroy(&catalogue);
    free(scan.ids);
    return rc == 0 ? scan.bad : -1;
}
