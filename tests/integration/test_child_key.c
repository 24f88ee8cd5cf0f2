/* A child whose key is removed from its parent's config while it is
 * connected (issue 16, hostile peers), on real processes: a township with
 * two villages. A reload (SIGHUP) takes only the people's keys, so it
 * refuses the change, says why and changes nothing: the child keeps
 * working until the parent restarts. After the restart the removed child
 * is refused at the CURVE handshake (logged); what it sends meanwhile is
 * acknowledged by itself and waits in its outbox, nothing lost; the other
 * village is not disturbed. Its key back and another restart, the waiting
 * escalation arrives, once. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zmq.h>

#include "tiers_fixture.h"

#define WAIT_MS 20000
#define CRIME "PS.CRIME"            /* township authority in the example catalogue */
#define ST(x) GRIDRELAY__STATUS__##x

enum { TOWN, V1, V2, N };

typedef struct {
    const harness_node_t *node;
    const char *text;
} s_log_wait_t;

static bool s_log_has(void *arg)
{
    s_log_wait_t *w = arg;
    char cmd[700];
    snprintf(cmd, sizeof cmd, "grep -F -q -- '%s' '%.400s/gridrelayd.log'", w->text, w->node->dir);
    return harness_run(cmd, NULL, 0) == 0;
}

static int64_t s_outbox_depth(harness_node_t *node, void *ctx, const char *peer)
{
    gr_client_t *c = harness_client(node, ctx, 0);
    assert_non_null(c);
    Gridrelay__GetLinks get = GRIDRELAY__GET_LINKS__INIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_LINKS;
    body.get_links = &get;
    gr_opened_t reply;
    int64_t depth = -1;
    if (gr_client_call(c, &body, &reply, 3000, 3) == 0) {
        if (reply.body->kind_case == GRIDRELAY__BODY__KIND_LINKS)
            for (size_t i = 0; i < reply.body->links->n_links; i++)
                if (strcmp(reply.body->links->links[i]->peer, peer) == 0)
                    depth = (int64_t)reply.body->links->links[i]->outbox_depth;
        gr_opened_clear(&reply);
    }
    gr_client_destroy(&c);
    return depth;
}

typedef struct {
    harness_node_t *node;
    void *ctx;
} s_depth_wait_t;

static bool s_drained(void *arg)
{
    s_depth_wait_t *w = arg;
    return s_outbox_depth(w->node, w->ctx, "town-key") == 0;
}

/* town's [children]: v1, and v2 when with_v2. */
static void s_children(harness_node_t *nodes, bool with_v2)
{
    nodes[TOWN].sections[0] = '\0';
    harness_add_child(&nodes[TOWN], &nodes[V1]);
    if (with_v2)
        harness_add_child(&nodes[TOWN], &nodes[V2]);
    assert_int_equal(harness_node_write_config(&nodes[TOWN]), 0);
}

static size_t s_entries(const char *timeline)
{
    size_t n = 0;
    for (const char *p = timeline; (p = strstr(p, " | ")); p += 3)
        n++;
    return n;
}

static void s_restart(harness_node_t *node)
{
    assert_int_equal(harness_node_stop(node, SIGTERM), 0);
    assert_int_equal(harness_node_start(node), 0);
}

static void test_child_key_removed_while_connected(void **state)
{
    (void)state;
    static harness_node_t nodes[N];
    const char *names[N] = { "town-key", "village-k1", "village-k2" };
    for (int i = 0; i < N; i++)
        assert_int_equal(harness_node_init(&nodes[i], names[i], 1), 0);
    harness_node_t *town = &nodes[TOWN], *v1 = &nodes[V1], *v2 = &nodes[V2];
    snprintf(town->tier, sizeof town->tier, "township");
    town->status_listen = true;
    harness_add_child(town, v1);
    harness_add_child(town, v2);
    assert_int_equal(harness_node_start(town), 0);
    for (int i = V1; i < N; i++) {
        harness_set_parent(&nodes[i], town, "parent");
        assert_int_equal(harness_node_start(&nodes[i]), 0);
    }
    void *ctx = zmq_ctx_new();
    assert_non_null(ctx);
    assert_int_equal(node_report(v1, ctx, "key-1", CRIME, 1), 0);
    assert_int_equal(node_report(v2, ctx, "key-2", CRIME, 1), 0);
    assert_true(node_wait_status(town, ctx, "key-1", ST(REPORTED), WAIT_MS));
    assert_true(node_wait_status(town, ctx, "key-2", ST(REPORTED), WAIT_MS));

    /* v2's key goes from [children]; SIGHUP: refused, said why. */
    s_children(nodes, false);
    assert_int_equal(kill(town->pid, SIGHUP), 0);
    s_log_wait_t w = { town, "[children] or [departments] changed" };
    assert_true(harness_wait_until(s_log_has, &w, WAIT_MS));
    w.text = "SIGHUP: config not reloaded, the trusted keys are as they were";
    assert_true(s_log_has(&w));
    /* Nothing changed: v2 still escalates. */
    assert_int_equal(node_report(v2, ctx, "key-3", CRIME, 1), 0);
    assert_true(node_wait_status(town, ctx, "key-3", ST(REPORTED), WAIT_MS));

    /* Restarted on the new config: v2 is refused at the handshake. Its
     * report is its own to keep: acknowledged, waiting in its outbox. */
    s_restart(town);
    assert_int_equal(node_report(v2, ctx, "key-4", CRIME, 1), 0);
    w.text = "refused unknown CURVE key";
    assert_true(harness_wait_until(s_log_has, &w, WAIT_MS));
    assert_false(node_wait_status(town, ctx, "key-4", ST(REPORTED), 2000));
    assert_int_equal(s_outbox_depth(v2, ctx, "town-key"), 1);
    assert_int_equal(node_status(v2, ctx, "key-4", NULL, 0), ST(ESCALATED));
    /* The other village is not disturbed. */
    assert_int_equal(node_report(v1, ctx, "key-5", CRIME, 1), 0);
    assert_true(node_wait_status(town, ctx, "key-5", ST(REPORTED), WAIT_MS));
    assert_int_equal(node_action(town, ctx, "key-1", GRIDRELAY__CASE_ACTION__KIND__RESOLVE,
                                 "settled", NULL), ST(RESOLVED));
    assert_true(node_wait_status(v1, ctx, "key-1", ST(FED_BACK), WAIT_MS));

    /* Its key back, and a restart: the waiting escalation arrives, once. */
    s_children(nodes, true);
    s_restart(town);
    assert_true(node_wait_status(town, ctx, "key-4", ST(REPORTED), WAIT_MS));
    s_depth_wait_t d = { v2, ctx };
    assert_true(harness_wait_until(s_drained, &d, WAIT_MS));
    /* Once: its timeline at the township is as long as key-2's, which
     * came the ordinary way. */
    char timeline[8192], ordinary[8192];
    assert_int_equal(node_status(town, ctx, "key-4", timeline, sizeof timeline), ST(REPORTED));
    assert_int_equal(node_status(town, ctx, "key-2", ordinary, sizeof ordinary), ST(REPORTED));
    assert_int_equal(s_entries(timeline), s_entries(ordinary));

    zmq_ctx_term(ctx);
    assert_int_equal(nodes_stop_checked(nodes, N, GR_SOURCE_ROOT "/examples/catalogue.ini"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_child_key_removed_while_connected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
