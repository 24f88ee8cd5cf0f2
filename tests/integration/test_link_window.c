/* Batch frames in flight (docs/PROTOCOL.md 8.9), through real processes:
 * a village and its township. While the township is stopped (SIGSTOP) the
 * village keeps taking reports, one commit each; its link sends the first
 * two as frames and holds the rest, and once the township runs again
 * (SIGCONT) the held entries go up together as one frame (or a few, should
 * the village's resend timer fire on a slow machine) instead of one frame
 * per commit. Every report reaches the township once. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zmq.h>

#include "event_id.h"
#include "harness.h"
#include "tiers_fixture.h"

#define WAIT_MS 20000
#define REPORTS 30
/* It escalates from the village (authority above level 1). */
#define CATEGORY "SS.MASS"

typedef struct {
    uint64_t batches, batched, held, sent;
    uint32_t version;
    bool up;
} s_link_t;

/* The village's parent link as GetLinks shows it; 0 or -1. */
static int s_parent_link(gr_client_t *client, s_link_t *out)
{
    Gridrelay__GetLinks get = GRIDRELAY__GET_LINKS__INIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_LINKS;
    body.get_links = &get;
    gr_opened_t reply;
    if (gr_client_call(client, &body, &reply, 5000, 3) != 0)
        return -1;
    int rc = -1;
    if (reply.body->kind_case == GRIDRELAY__BODY__KIND_LINKS)
        for (size_t i = 0; i < reply.body->links->n_links; i++)
            if (strcmp(reply.body->links->links[i]->role, "parent") == 0) {
                out->batches = reply.body->links->links[i]->batches;
                out->batched = reply.body->links->links[i]->batched;
                out->held = reply.body->links->links[i]->held;
                out->sent = reply.body->links->links[i]->sent;
                out->version = reply.body->links->links[i]->version;
                out->up = reply.body->links->links[i]->up;
                rc = 0;
            }
    gr_opened_clear(&reply);
    return rc;
}

typedef struct {
    gr_client_t *client;
    int64_t want;
} s_stored_t;

static bool s_stored(void *ctx)
{
    s_stored_t *s = ctx;
    return client_counter(s->client, "events_stored") >= s->want;
}

static void s_report(harness_node_t *village, void *ctx)
{
    char id[GR_EVENT_ID_LEN + 1];
    gr_event_id_new(id, gr_now_ms());
    assert_int_equal(node_report(village, ctx, id, CATEGORY, GRIDRELAY__SEVERITY__ROUTINE), 0);
}

/* A township and its village, running, with a client at each. */
typedef struct {
    harness_node_t town, village;
    void *ctx;
    gr_client_t *at_town, *at_village;
} s_pair_t;

static void s_pair_start(s_pair_t *p, const char *town_id, const char *village_id)
{
    assert_int_equal(harness_node_init(&p->town, town_id, 1), 0);
    assert_int_equal(harness_node_init(&p->village, village_id, 1), 0);
    snprintf(p->town.tier, sizeof p->town.tier, "township");
    harness_add_child(&p->town, &p->village);
    assert_int_equal(harness_node_start(&p->town), 0);
    harness_set_parent(&p->village, &p->town, "parent");
    assert_int_equal(harness_node_start(&p->village), 0);
    p->ctx = zmq_ctx_new();
    assert_non_null(p->ctx);
    p->at_town = harness_client(&p->town, p->ctx, 0);
    p->at_village = harness_client(&p->village, p->ctx, 0);
    assert_non_null(p->at_town);
    assert_non_null(p->at_village);
}

/* The village stops first; both stores are checked. */
static void s_pair_stop(s_pair_t *p)
{
    gr_client_destroy(&p->at_town);
    gr_client_destroy(&p->at_village);
    harness_node_t nodes[2] = { p->town, p->village };
    assert_int_equal(nodes_teardown(p->ctx, nodes, 2, GR_SOURCE_ROOT "/examples/catalogue.ini"), 0);
}

static void test_held_entries_go_up_together(void **state)
{
    (void)state;
    s_pair_t pair;
    s_pair_start(&pair, "township-window", "village-window");
    harness_node_t *town = &pair.town, *village = &pair.village;
    void *ctx = pair.ctx;
    gr_client_t *at_town = pair.at_town, *at_village = pair.at_village;

    /* One case up first: the link is up and both sides speak version 2. */
    s_report(village, ctx);
    s_stored_t st = { at_town, 1 };
    assert_true(harness_wait_until(s_stored, &st, WAIT_MS));
    s_link_t before, after;
    assert_int_equal(s_parent_link(at_village, &before), 0);

    /* The township stops answering; the village goes on taking reports,
     * each acknowledged after its own commit. */
    assert_int_equal(kill(town->pid, SIGSTOP), 0);
    for (int i = 0; i < REPORTS; i++)
        s_report(village, ctx);
    assert_int_equal(kill(town->pid, SIGCONT), 0);
    st.want = 1 + REPORTS;
    assert_true(harness_wait_until(s_stored, &st, WAIT_MS));
    assert_int_equal(client_counter(at_town, "events_stored"), 1 + REPORTS);

    assert_int_equal(s_parent_link(at_village, &after), 0);
    uint64_t frames = after.batches - before.batches;
    uint64_t entries = after.batched - before.batched;
    print_message("%llu entries in %llu frames\n", (unsigned long long)entries,
                  (unsigned long long)frames);
    assert_true(entries >= REPORTS);
    /* Each entry after the first two waited (GetLinks "held"). */
    assert_true(after.held - before.held >= REPORTS - 2 - frames);
    /* One frame per commit would be REPORTS frames. */
    assert_true(frames <= REPORTS / 3);

    s_pair_stop(&pair);
}

static bool s_parent_up(void *ctx)
{
    s_link_t link;
    return s_parent_link(ctx, &link) == 0 && link.up;
}

/* A fresh village: reports sent as soon as its link is up all go up in
 * batch frames, at version 2. The township asks a child that comes up for
 * its status (a CatchUp) at once; sealed in version 1, it could reach a
 * child before any answer had, and the child took its parent for a
 * version-1 node, signing every escalation on its own until the parent's
 * next heartbeat (in gridbench's burst at one district, for half of it).
 * Now a CatchUp goes in the version the child speaks, and a link learns a
 * lower version only from an answer (test_link.c). */
static void test_catchup_keeps_batching(void **state)
{
    (void)state;
    s_pair_t pair;
    s_pair_start(&pair, "township-catchup", "village-catchup");
    assert_true(harness_wait_until(s_parent_up, pair.at_village, WAIT_MS));
    for (int i = 0; i < REPORTS; i++)
        s_report(&pair.village, pair.ctx);
    s_stored_t st = { pair.at_town, REPORTS };
    assert_true(harness_wait_until(s_stored, &st, WAIT_MS));
    s_link_t link;
    assert_int_equal(s_parent_link(pair.at_village, &link), 0);
    print_message("%llu sent, %llu in %llu batch frames, peer version %u\n",
                  (unsigned long long)link.sent, (unsigned long long)link.batched,
                  (unsigned long long)link.batches, link.version);
    assert_int_equal(link.version, 2);
    assert_true(link.sent >= REPORTS);
    assert_true(link.batched >= link.sent);
    s_pair_stop(&pair);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_held_entries_go_up_together),
        cmocka_unit_test(test_catchup_keeps_batching),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
