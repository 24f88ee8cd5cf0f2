/* A real gridrelayd takes 2,000 reports from 4 concurrent clients, is
 * killed with SIGKILL in the middle and restarted: every report it
 * acknowledged is stored exactly once, and resending after the restart
 * creates no duplicates. */
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

#include "error.h"
#include "harness.h"
#include "store.h"

#define CLIENTS 4
#define PER_CLIENT 500
#define KILL_AFTER 700
#define RESENDS 20

typedef struct {
    harness_node_t *node;
    void *ctx;
    size_t index;
    char acked[PER_CLIENT][32];
    size_t n_acked;
    int failures;
} worker_t;

static atomic_size_t s_total_acked;

static void s_make_report(Gridrelay__Body *body, Gridrelay__Report *report, Gridrelay__Event *event,
                          const char *id)
{
    gridrelay__event__init(event);
    event->id = (char *)id;
    event->category = "SS.DISPUTE";
    event->title = "neighbours dispute over a boundary wall";
    event->reporter = "worker";
    gridrelay__report__init(report);
    report->event = event;
    gridrelay__body__init(body);
    body->kind_case = GRIDRELAY__BODY__KIND_REPORT;
    body->report = report;
}

static void *s_worker(void *arg)
{
    worker_t *w = arg;
    gr_client_t *client = harness_client(w->node, w->ctx, w->index);
    if (!client) {
        w->failures++;
        return NULL;
    }
    for (size_t i = 0; i < PER_CLIENT; i++) {
        char id[32];
        snprintf(id, sizeof id, "c%zu-%04zu", w->index, i);
        Gridrelay__Body body;
        Gridrelay__Report report;
        Gridrelay__Event event;
        s_make_report(&body, &report, &event, id);
        gr_opened_t reply;
        /* Generous retries: the node is down for a moment mid-run. */
        int rc = gr_client_call(client, &body, &reply, 1000, 60);
        if (rc != 0 || reply.body->kind_case != GRIDRELAY__BODY__KIND_ACK ||
            strcmp(reply.body->ack->event_id, id) != 0) {
            w->failures++;
            if (rc == 0)
                gr_opened_clear(&reply);
            continue;
        }
        gr_opened_clear(&reply);
        snprintf(w->acked[w->n_acked++], sizeof w->acked[0], "%s", id);
        atomic_fetch_add(&s_total_acked, 1);
    }
    gr_client_destroy(&client);
    return NULL;
}

static bool s_enough_acked(void *ctx)
{
    (void)ctx;
    return atomic_load(&s_total_acked) >= KILL_AFTER;
}

typedef struct {
    char (*ids)[32];
    size_t count;
    size_t cap;
} id_list_t;

static void s_collect(void *ctx, const Gridrelay__StoredEvent *rec)
{
    id_list_t *list = ctx;
    if (list->count < list->cap)
        snprintf(list->ids[list->count], 32, "%s", rec->event->id);
    list->count++;
}

static int s_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Sends RESENDS reports pipelined, keeping the sealed frames, so that they
 * can be resent byte for byte after the node restarts. */
static void s_send_and_keep(harness_node_t *node, void *ctx, uint8_t **frames, size_t *lens)
{
    gr_client_t *client = harness_client(node, ctx, CLIENTS);
    assert_non_null(client);
    for (size_t i = 0; i < RESENDS; i++) {
        char id[32];
        snprintf(id, sizeof id, "resend-%02zu", i);
        Gridrelay__Body body;
        Gridrelay__Report report;
        Gridrelay__Event event;
        s_make_report(&body, &report, &event, id);
        assert_int_equal(gr_client_send(client, &body, NULL, &frames[i], &lens[i]), 0);
    }
    for (size_t i = 0; i < RESENDS; i++) {
        gr_opened_t reply;
        assert_int_equal(gr_client_recv(client, &reply, 10000), 0);
        assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_ACK);
        assert_false(reply.body->ack->duplicate);
        gr_opened_clear(&reply);
    }
    gr_client_destroy(&client);
}

static void s_resend_after_restart(harness_node_t *node, void *ctx, uint8_t **frames, size_t *lens)
{
    gr_client_t *client = harness_client(node, ctx, CLIENTS);
    assert_non_null(client);
    for (size_t i = 0; i < RESENDS; i++) {
        gr_opened_t reply;
        assert_int_equal(gr_client_send_raw(client, frames[i], lens[i]), 0);
        assert_int_equal(gr_client_recv(client, &reply, 10000), 0);
        assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_ACK);
        assert_true(reply.body->ack->duplicate);
        gr_opened_clear(&reply);
    }
    /* The same events in brand-new envelopes (a reporter that lost its
     * state): still stored once. */
    for (size_t i = 0; i < RESENDS; i++) {
        char id[32];
        snprintf(id, sizeof id, "resend-%02zu", i);
        Gridrelay__Body body;
        Gridrelay__Report report;
        Gridrelay__Event event;
        s_make_report(&body, &report, &event, id);
        gr_opened_t reply;
        assert_int_equal(gr_client_call(client, &body, &reply, 5000, 3), 0);
        assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_ACK);
        assert_true(reply.body->ack->duplicate);
        gr_opened_clear(&reply);
    }
    gr_client_destroy(&client);
}

static void test_sigkill_mid_stream_loses_and_duplicates_nothing(void **state)
{
    (void)state;
    harness_node_t node;
    assert_int_equal(harness_node_init(&node, "village-kill", CLIENTS + 1), 0);
    assert_int_equal(harness_node_start(&node), 0);
    void *ctx = zmq_ctx_new();

    static worker_t workers[CLIENTS];
    pthread_t threads[CLIENTS];
    for (size_t i = 0; i < CLIENTS; i++) {
        memset(&workers[i], 0, sizeof workers[i]);
        workers[i].node = &node;
        workers[i].ctx = ctx;
        workers[i].index = i;
        assert_int_equal(pthread_create(&threads[i], NULL, s_worker, &workers[i]), 0);
    }
    assert_true(harness_wait_until(s_enough_acked, NULL, 60000));
    assert_int_equal(harness_node_stop(&node, SIGKILL), 128 + SIGKILL);
    size_t acked_at_kill = atomic_load(&s_total_acked);
    assert_int_equal(harness_node_start(&node), 0);
    for (size_t i = 0; i < CLIENTS; i++)
        pthread_join(threads[i], NULL);
    size_t acked = 0;
    for (size_t i = 0; i < CLIENTS; i++) {
        assert_int_equal(workers[i].failures, 0);
        acked += workers[i].n_acked;
    }
    assert_int_equal(acked, CLIENTS * PER_CLIENT);
    assert_true(acked_at_kill < acked);  /* the kill really was mid-stream */

    uint8_t *frames[RESENDS];
    size_t lens[RESENDS];
    s_send_and_keep(&node, ctx, frames, lens);
    assert_int_equal(harness_node_stop(&node, SIGKILL), 128 + SIGKILL);
    assert_int_equal(harness_node_start(&node), 0);
    s_resend_after_restart(&node, ctx, frames, lens);
    for (size_t i = 0; i < RESENDS; i++)
        free(frames[i]);
    zmq_ctx_term(ctx);
    assert_int_equal(harness_node_stop(&node, SIGTERM), 0);

    /* What the store holds: every acknowledged id exactly once, nothing else. */
    char store_dir[400], err[256];
    snprintf(store_dir, sizeof store_dir, "%s/store", node.dir);
    gr_store_t *store = NULL;
    assert_int_equal(gr_store_open(&store, store_dir, NULL, err, sizeof err), 0);
    gr_txn_t *txn = NULL;
    assert_int_equal(gr_store_begin(store, false, &txn), 0);
    size_t expected = acked + RESENDS;
    id_list_t list = { calloc(expected + 100, 32), 0, expected + 100 };
    assert_non_null(list.ids);
    gr_store_filter_t all = { 0 };
    char next[GR_PAGE_TOKEN_MAX];
    assert_int_equal(gr_store_list(txn, &all, NULL, expected + 100, s_collect, &list, next), 0);
    assert_int_equal(list.count, expected);
    qsort(list.ids, list.count, 32, s_cmp);
    for (size_t i = 1; i < list.count; i++)
        assert_string_not_equal(list.ids[i - 1], list.ids[i]);
    for (size_t w = 0; w < CLIENTS; w++)
        for (size_t i = 0; i < workers[w].n_acked; i++)
            assert_non_null(bsearch(workers[w].acked[i], list.ids, list.count, 32, s_cmp));
    uint64_t stored = 0;
    assert_int_equal(gr_store_counter_get(txn, "events", &stored), 0);
    assert_int_equal(stored, expected);
    gr_store_abort(&txn);
    gr_store_close(&store);
    free(list.ids);
    harness_node_cleanup(&node);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_mid_stream_loses_and_duplicates_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
