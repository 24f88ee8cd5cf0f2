/* Link protocol 2 beside nodes of the previous version (PROTOCOL.md 8.9,
 * "Versions"), with real processes of both builds. Opt-in: set
 * GRIDRELAYD_OLD to a gridrelayd built from the previous version (e.g.
 * main's tree built apart); skipped otherwise.
 * - A new township under which an old village runs: the village's
 *   escalation arrives, an assignment and a result go down to it, each as
 *   a version-1 envelope of its own (the township learnt that the village
 *   speaks 1).
 * - A new village under an old township (upper tiers are meant to be
 *   upgraded first): its first batch is refused by the older parent, the
 *   village falls back to one envelope per entry, and nothing is lost. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zmq.h>

#include "harness.h"
#include "tiers_fixture.h"

#define WAIT_MS 15000
#define ST(x) GRIDRELAY__STATUS__##x
#define KIND(x) GRIDRELAY__CASE_ACTION__KIND__##x

/* Starts node with the binary in path. */
static int s_start_with(harness_node_t *node, const char *path)
{
    char *now = getenv("GRIDRELAYD") ? strdup(getenv("GRIDRELAYD")) : NULL;
    setenv("GRIDRELAYD", path, 1);
    int rc = harness_node_start(node);
    if (now) {
        setenv("GRIDRELAYD", now, 1);
        free(now);
    } else {
        unsetenv("GRIDRELAYD");
    }
    return rc;
}

static void s_pair(bool old_child)
{
    const char *old = getenv("GRIDRELAYD_OLD");
    if (!old || !*old)
        skip();
    harness_node_t town, village;
    assert_int_equal(harness_node_init(&town, "town-mixed", 1), 0);
    assert_int_equal(harness_node_init(&village, "village-mixed", 1), 0);
    snprintf(town.tier, sizeof town.tier, "township");
    harness_add_child(&town, &village);
    if (old_child)
        assert_int_equal(harness_node_start(&town), 0);
    else
        assert_int_equal(s_start_with(&town, old), 0);
    harness_set_parent(&village, &town, "parent");
    if (old_child)
        assert_int_equal(s_start_with(&village, old), 0);
    else
        assert_int_equal(harness_node_start(&village), 0);
    void *ctx = zmq_ctx_new();
    /* Up: escalations. */
    char id[32];
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "mixed-up-%02d", i);
        assert_int_equal(node_report(&village, ctx, id, "PS.CRIME", 1), 0);
    }
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "mixed-up-%02d", i);
        assert_true(node_wait_status(&town, ctx, id, ST(REPORTED), WAIT_MS));
    }
    /* Down: a result, and an assignment. */
    assert_int_equal(node_action(&town, ctx, "mixed-up-00", KIND(RESOLVE), "fixed", NULL),
                     ST(RESOLVED));
    assert_true(node_wait_status(&village, ctx, "mixed-up-00", ST(FED_BACK), WAIT_MS));
    assert_int_equal(node_report(&town, ctx, "mixed-down", "PS.FIRE", 1), 0);
    assert_true(node_action(&town, ctx, "mixed-down", KIND(ASSIGN), "look", "village-mixed") > 0);
    assert_true(node_wait_status(&village, ctx, "mixed-down", ST(REPORTED), WAIT_MS));
    assert_int_equal(node_counter(&town, ctx, "events_stored"), 21);
    zmq_ctx_term(ctx);
    assert_int_equal(harness_node_stop(&village, SIGTERM), 0);
    assert_int_equal(harness_node_stop(&town, SIGTERM), 0);
    harness_node_cleanup(&village);
    harness_node_cleanup(&town);
}

static void test_new_parent_old_child(void **state)
{
    (void)state;
    s_pair(true);
}

static void test_new_child_old_parent(void **state)
{
    (void)state;
    s_pair(false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_parent_old_child),
        cmocka_unit_test(test_new_child_old_parent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
