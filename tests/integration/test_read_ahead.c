/* Requests read ahead (node/turn.h gr_turn_read_ahead()): while a commit
 * syncs, the node reads the next turn's requests and checks their
 * signatures. Under load from 8 concurrent reporters it does so (Stats
 * counter read_ahead), and what it reads ahead is answered like any other
 * request: every report acknowledged once, stored once. A SIGHUP in the
 * middle of the load waits for a turn without requests read ahead (they
 * point into the trust list the reload replaces), and is still taken each
 * time; ASan runs this too. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zmq.h>

#include "harness.h"
#include "store.h"
#include "tiers_fixture.h"

#define CLIENTS 8
#define PER_CLIENT 250
#define RELOADS 4

typedef struct {
    harness_node_t *node;
    void *ctx;
    size_t index;
    size_t n_acked;
    int failures;
} s_worker_t;

static atomic_size_t s_total_acked;

static void *s_worker(void *arg)
{
    s_worker_t *w = arg;
    gr_client_t *client = harness_client(w->node, w->ctx, w->index);
    if (!client) {
        w->failures++;
        return NULL;
    }
    for (size_t i = 0; i < PER_CLIENT; i++) {
        char id[32];
        snprintf(id, sizeof id, "ra%zu-%04zu", w->index, i);
        gr_opened_t reply;
        int rc = client_report(client, id, "SS.DISPUTE", 1, &reply);
        if (rc != 0 || reply.body->kind_case != GRIDRELAY__BODY__KIND_ACK ||
            strcmp(reply.body->ack->event_id, id) != 0 || reply.body->ack->duplicate) {
            w->failures++;
            if (rc == 0)
                gr_opened_clear(&reply);
            continue;
        }
        gr_opened_clear(&reply);
        w->n_acked++;
        atomic_fetch_add(&s_total_acked, 1);
    }
    gr_client_destroy(&client);
    return NULL;
}

/* How many lines of the node's log hold text. */
typedef struct {
    char path[400];
    const char *text;
    int want;
} s_log_count_t;

static int s_log_count(const s_log_count_t *c)
{
    char cmd[600], out[64];
    snprintf(cmd, sizeof cmd, "grep -c -F -- '%s' '%s'", c->text, c->path);
    if (harness_run(cmd, out, sizeof out) < 0)
        return -1;
    return atoi(out);
}

static bool s_log_reached(void *arg)
{
    const s_log_count_t *c = arg;
    return s_log_count(c) >= c->want;
}

typedef struct {
    size_t want;
} s_acked_t;

static bool s_acked_reached(void *arg)
{
    return atomic_load(&s_total_acked) >= ((s_acked_t *)arg)->want;
}

static void test_read_ahead_under_load_and_reloads(void **state)
{
    (void)state;
    harness_node_t node;
    assert_int_equal(harness_node_init(&node, "village-ahead", CLIENTS), 0);
    assert_int_equal(harness_node_start(&node), 0);
    void *ctx = zmq_ctx_new();
    assert_non_null(ctx);

    static s_worker_t workers[CLIENTS];
    pthread_t threads[CLIENTS];
    for (size_t i = 0; i < CLIENTS; i++) {
        workers[i] = (s_worker_t){&node, ctx, i, 0, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, s_worker, &workers[i]), 0);
    }
    /* Each reload once the load is well under way, the next after the
     * last one was taken: all of them while reports keep coming. */
    s_log_count_t reloaded = {.text = "SIGHUP: reloaded the people", .want = 0};
    snprintf(reloaded.path, sizeof reloaded.path, "%.300s/gridrelayd.log", node.dir);
    for (int k = 1; k <= RELOADS; k++) {
        s_acked_t acked = {(size_t)k * CLIENTS * PER_CLIENT / (RELOADS + 2)};
        assert_true(harness_wait_until(s_acked_reached, &acked, 60000));
        assert_int_equal(kill(node.pid, SIGHUP), 0);
        reloaded.want = k;
        assert_true(harness_wait_until(s_log_reached, &reloaded, 20000));
    }
    size_t acked = 0;
    for (size_t i = 0; i < CLIENTS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(workers[i].failures, 0);
        acked += workers[i].n_acked;
    }
    assert_int_equal(acked, CLIENTS * PER_CLIENT);
    assert_int_equal(s_log_count(&reloaded), RELOADS);

    /* The load made commits long enough for requests to wait behind them. */
    int64_t ahead = node_counter(&node, ctx, "read_ahead");
    int64_t accepted = node_counter(&node, ctx, "accepted");
    printf("read ahead: %lld requests (%lld reports accepted)\n", (long long)ahead,
           (long long)accepted);
    assert_true(ahead > 0);
    assert_int_equal(accepted, CLIENTS * PER_CLIENT);
    zmq_ctx_term(ctx);
    assert_int_equal(harness_node_stop(&node, SIGTERM), 0);

    /* Each acknowledged report stored once. */
    char store_dir[400], err[256];
    snprintf(store_dir, sizeof store_dir, "%.300s/store", node.dir);
    gr_store_t *store = NULL;
    assert_int_equal(gr_store_open(&store, store_dir, NULL, err, sizeof err), 0);
    gr_txn_t *txn = NULL;
    assert_int_equal(gr_store_begin(store, false, &txn), 0);
    uint64_t stored = 0;
    assert_int_equal(gr_store_counter_get(txn, "events", &stored), 0);
    assert_int_equal(stored, CLIENTS * PER_CLIENT);
    for (size_t w = 0; w < CLIENTS; w++)
        for (size_t i = 0; i < PER_CLIENT; i += 49) {
            char id[32];
            snprintf(id, sizeof id, "ra%zu-%04zu", w, i);
            Gridrelay__StoredEvent *rec = NULL;
            assert_int_equal(gr_store_event_get(txn, id, &rec), 0);
            gridrelay__stored_event__free_unpacked(rec, NULL);
        }
    gr_store_abort(&txn);
    gr_store_close(&store);
    harness_node_cleanup(&node);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_ahead_under_load_and_reloads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
