/* The test clock (gridrelayd --clock FILE): a node's case times follow
 * the offset in the file, so deadlines hours away are tested without
 * waiting for them, and a clock that jumps back fires nothing twice. */
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
#include "store_check.h"
#include "tiers_fixture.h"

static void test_a_deadline_hours_away_fires_when_the_clock_moves(void **state)
{
    (void)state;
    harness_node_t town, village;
    assert_int_equal(harness_node_init(&town, "town-clock", 1), 0);
    assert_int_equal(harness_node_init(&village, "village-clock", 1), 0);
    snprintf(town.tier, sizeof town.tier, "township");
    snprintf(village.clock, sizeof village.clock, "%s/clock", village.dir);
    assert_int_equal(harness_clock_set(village.clock, 0), 0);
    harness_add_child(&town, &village);
    assert_int_equal(harness_node_start(&town), 0);
    harness_set_parent(&village, &town, "parent");
    size_t n = strlen(village.sections);
    snprintf(village.sections + n, sizeof village.sections - n,
             "[deadlines]\naccept.routine = 2h\n\n");
    assert_int_equal(harness_node_start(&village), 0);
    void *ctx = zmq_ctx_new();
    char id[GR_EVENT_ID_LEN + 1];
    gr_event_id_new(id, gr_now_ms());
    /* A fire hazard is the village's own matter, to be accepted within 2 hours. */
    assert_int_equal(node_report(&village, ctx, id, "PS.FIRE-HAZARD", GRIDRELAY__SEVERITY__ROUTINE), 0);
    assert_true(node_wait_status(&village, ctx, id, GRIDRELAY__STATUS__REPORTED, 5000));
    /* An hour on: nothing yet. Three: taken over by the township (督办). */
    assert_int_equal(harness_clock_set(village.clock, 3600 * 1000), 0);
    assert_false(node_wait_status(&village, ctx, id, GRIDRELAY__STATUS__ESCALATED, 1500));
    assert_int_equal(harness_clock_set(village.clock, 3 * 3600 * 1000), 0);
    assert_true(node_wait_status(&village, ctx, id, GRIDRELAY__STATUS__ESCALATED, 10000));
    assert_true(node_wait_timeline(&village, ctx, id, "not_accepted_in_time", 1000));
    assert_true(node_wait_status(&town, ctx, id, GRIDRELAY__STATUS__REPORTED, 10000));
    /* The clock jumps back an hour, and forward again: nothing fires twice. */
    assert_int_equal(harness_clock_set(village.clock, 2 * 3600 * 1000), 0);
    assert_int_equal(harness_clock_set(village.clock, 4 * 3600 * 1000), 0);
    char timeline[8192];
    assert_int_equal(node_status(&village, ctx, id, timeline, sizeof timeline),
                     GRIDRELAY__STATUS__ESCALATED);
    const char *first = strstr(timeline, "escalated to town-clock");
    assert_non_null(first);
    assert_null(strstr(first + 1, "escalated to town-clock"));

    zmq_ctx_term(ctx);
    assert_int_equal(harness_node_stop(&village, SIGTERM), 0);
    assert_int_equal(harness_node_stop(&town, SIGTERM), 0);
    assert_int_equal(store_check(&village, GR_SOURCE_ROOT "/examples/catalogue.ini"), 0);
    harness_node_cleanup(&village);
    harness_node_cleanup(&town);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_deadline_hours_away_fires_when_the_clock_moves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
