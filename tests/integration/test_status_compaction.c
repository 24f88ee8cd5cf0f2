/* Status log compaction through real processes.
 *
 * A township is killed; while it is away a village makes many status
 * status changes (report, accept, resolve: three updates a case). The township comes back and catches up from the
 * village's compacted status log, which holds one update per case: its
 * view ends with every case resolved, and with the
 * same accept deadline a case it saw change by change got (what the
 * superseded REPORTED updates told it, carried in the newest one's
 * prior_* fields). The village's status log then holds at most one entry
 * per case, not one per change. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zmq.h>

#include "error.h"
#include "store.h"
#include "tiers_fixture.h"
#include "group.h"

#define CASES 40
#define CHANGES 3  /* report, accept, resolve */
#define ACCEPT_MS 3600000
#define WAIT_MS 60000

static topology_t s_topology;

static int s_setup(void **state)
{
    *state = &s_topology;
    return topology_start(&s_topology, ACCEPT_MS);
}

static int s_teardown(void **state)
{
    return topology_stop(*state);
}

/* Reports id at village-a1 and takes it through accept and resolve. */
static void s_changes(topology_t *t, const char *id)
{
    assert_int_equal(topology_report(t, VILLAGE_A1, id, "T.VILLAGE", 1), 0);
    assert_int_equal(topology_action(t, VILLAGE_A1, id, GRIDRELAY__CASE_ACTION__KIND__ACCEPT,
                                     "", ""), GRIDRELAY__STATUS__ACCEPTED);
    assert_int_equal(topology_action(t, VILLAGE_A1, id, GRIDRELAY__CASE_ACTION__KIND__RESOLVE,
                                     "done", ""), GRIDRELAY__STATUS__RESOLVED);
}

typedef struct {
    topology_t *t;
    const char *prefix;
    int want;
} s_view_t;

/* Whether town-a's view of village-a1 shows `want` cases of prefix
 * resolved. */
static bool s_view_converged(void *ctx)
{
    s_view_t *v = ctx;
    return node_count_view(&v->t->nodes[TOWN_A], v->t->ctx, "village-a1", v->prefix,
                           GRIDRELAY__STATUS__RESOLVED) == v->want;
}

static gr_store_t *s_open_store(harness_node_t *node)
{
    char dir[400], err[256];
    snprintf(dir, sizeof dir, "%.300s/store", node->dir);
    gr_store_t *store = NULL;
    assert_int_equal(gr_store_open(&store, dir, NULL, err, sizeof err), 0);
    return store;
}

/* The view entry's accept deadline, relative to the case's receipt. */
static int64_t s_accept_offset(gr_txn_t *txn, const char *id)
{
    Gridrelay__ViewEntry *entry = NULL;
    assert_int_equal(gr_store_view_get(txn, "village-a1", id, &entry), 0);
    assert_non_null(entry->update);
    int64_t off = entry->accept_due_ms ? (int64_t)(entry->accept_due_ms - entry->update->received_ms)
                                       : -1;
    gridrelay__view_entry__free_unpacked(entry, NULL);
    return off;
}

static void s_count(void *ctx, const Gridrelay__StatusUpdate *update)
{
    (void)update;
    (*(int *)ctx)++;
}

static void test_offline_superior_converges_from_compacted_log(void **state)
{
    topology_t *t = *state;
    /* One case the township sees change by change. */
    s_changes(t, "seen-00");
    s_view_t seen = { t, "seen-", 1 };
    assert_true(harness_wait_until(s_view_converged, &seen, WAIT_MS));

    assert_int_equal(harness_node_stop(&t->nodes[TOWN_A], SIGKILL), 128 + SIGKILL);
    char id[32];
    for (int i = 0; i < CASES; i++) {
        snprintf(id, sizeof id, "away-%02d", i);
        s_changes(t, id);
    }
    /* A PUB keeps what it could not send for a peer it reconnects to; a
     * village restarted meanwhile has lost that, so only catch-up is left. */
    assert_int_equal(harness_node_stop(&t->nodes[VILLAGE_A1], SIGTERM), 0);
    assert_int_equal(harness_node_start(&t->nodes[TOWN_A]), 0);
    assert_int_equal(harness_node_start(&t->nodes[VILLAGE_A1]), 0);
    s_view_t away = { t, "away-", CASES };
    assert_true(harness_wait_until(s_view_converged, &away, WAIT_MS));

    /* The same view as change by change: the accept deadline the
     * REPORTED update set, though the township never saw that update. */
    assert_int_equal(harness_node_stop(&t->nodes[TOWN_A], SIGTERM), 0);
    gr_store_t *store = s_open_store(&t->nodes[TOWN_A]);
    gr_txn_t *txn = NULL;
    assert_int_equal(gr_store_begin(store, false, &txn), 0);
    int64_t want = s_accept_offset(txn, "seen-00");
    assert_int_equal(want, ACCEPT_MS);
    for (int i = 0; i < CASES; i++) {
        snprintf(id, sizeof id, "away-%02d", i);
        assert_int_equal(s_accept_offset(txn, id), want);
    }
    gr_store_abort(&txn);
    gr_store_close(&store);
    assert_int_equal(harness_node_start(&t->nodes[TOWN_A]), 0);

    /* The village made (CASES + 1) * CHANGES changes; its log holds
     * one entry per case. */
    assert_int_equal(harness_node_stop(&t->nodes[VILLAGE_A1], SIGTERM), 0);
    store = s_open_store(&t->nodes[VILLAGE_A1]);
    assert_int_equal(gr_store_begin(store, false, &txn), 0);
    int entries = 0;
    assert_true(gr_store_status_scan(txn, 0, 100000, s_count, &entries) >= 0);
    uint64_t last = 0;
    assert_int_equal(gr_store_status_last(txn, &last), 0);
    gr_store_abort(&txn);
    gr_store_close(&store);
    print_message("village-a1: %d status log entries for %d cases, last seq %llu\n", entries,
                  CASES + 1, (unsigned long long)last);
    assert_true(last >= (uint64_t)(CASES + 1) * CHANGES);
    assert_true(entries <= CASES + 1);
    assert_int_equal(harness_node_start(&t->nodes[VILLAGE_A1]), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offline_superior_converges_from_compacted_log),
    };
    return GROUP_RUN(tests, s_setup, s_teardown);
}
