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

/* The times of id's timeline entries at node, in entry order (at most
 * max); their count, -1 without an answer. Each entry's seq must be its
 * place in the timeline. */
static int s_entry_times(harness_node_t *node, void *ctx, const char *id, uint64_t *times,
                         size_t max)
{
    gr_client_t *c = harness_client(node, ctx, 0);
    if (!c)
        return -1;
    Gridrelay__GetEvent get = GRIDRELAY__GET_EVENT__INIT;
    get.event_id = (char *)id;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_EVENT;
    body.get_event = &get;
    gr_opened_t reply;
    int n = -1;
    if (gr_client_call(c, &body, &reply, 3000, 3) == 0) {
        if (reply.body->kind_case == GRIDRELAY__BODY__KIND_EVENT_DETAIL) {
            const Gridrelay__EventDetail *d = reply.body->event_detail;
            n = 0;
            for (size_t i = 0; i < d->n_timeline && (size_t)n < max; i++, n++) {
                assert_int_equal(d->timeline[i]->seq, i + 1);
                times[n] = d->timeline[i]->time_ms;
            }
        }
        gr_opened_clear(&reply);
    }
    gr_client_destroy(&c);
    return n;
}

static size_t s_count(const char *haystack, const char *needle)
{
    size_t n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

typedef struct {
    harness_node_t *node;
    void *ctx;
    const char *id;
} s_twice_t;

typedef struct {
    const harness_node_t *node;
    char line[64];
} s_moved_t;

static bool s_clock_moved(void *arg)
{
    s_moved_t *w = arg;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "grep -q -- '%s$' '%.400s/gridrelayd.log'", w->line, w->node->dir);
    return harness_run(cmd, NULL, 0) == 0;
}

/* Moves node's clock to offset_ms and waits (bounded) until the node has
 * read it: it rereads the file at most every 10 ms. */
static void s_clock_to(const harness_node_t *node, int64_t offset_ms)
{
    assert_int_equal(harness_clock_set(node->clock, offset_ms), 0);
    s_moved_t w = { .node = node };
    snprintf(w.line, sizeof w.line, "test clock moved: offset %lld ms", (long long)offset_ms);
    assert_true(harness_wait_until(s_clock_moved, &w, 10000));
}

static bool s_escalated_twice(void *arg)
{
    s_twice_t *w = arg;
    char timeline[8192];
    node_status(w->node, w->ctx, w->id, timeline, sizeof timeline);
    return s_count(timeline, "escalated to town-jump") > 1;
}

/* The clock jumps back by hours and forward again, more than once: each
 * deadline fires once, when the node's clock first passes it (never twice,
 * never not at all), and a case's timeline stays in order, its times too:
 * an entry made while the clock is behind is not dated before the entries
 * it follows. */
static void test_clock_jumps_back_and_forth_by_hours(void **state)
{
    (void)state;
    harness_node_t town, village;
    assert_int_equal(harness_node_init(&town, "town-jump", 1), 0);
    assert_int_equal(harness_node_init(&village, "village-jump", 1), 0);
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
    const int64_t hour = 3600 * 1000;
    char a[GR_EVENT_ID_LEN + 1], b[GR_EVENT_ID_LEN + 1], c[GR_EVENT_ID_LEN + 1];
    gr_event_id_new(a, gr_now_ms());
    gr_event_id_new(c, gr_now_ms() + 1);
    /* a and c at 0 (due at +2 h) ... */
    assert_int_equal(node_report(&village, ctx, a, "PS.FIRE-HAZARD", GRIDRELAY__SEVERITY__ROUTINE), 0);
    assert_int_equal(node_report(&village, ctx, c, "PS.FIRE-HAZARD", GRIDRELAY__SEVERITY__ROUTINE), 0);
    /* ... then the clock falls back three hours: a is accepted, b reported
     * (due at -1 h). */
    s_clock_to(&village, -3 * hour);
    assert_int_equal(node_action(&village, ctx, a, GRIDRELAY__CASE_ACTION__KIND__ACCEPT, "on it", NULL),
                     GRIDRELAY__STATUS__ACCEPTED);
    gr_event_id_new(b, gr_now_ms() + 2);
    assert_int_equal(node_report(&village, ctx, b, "PS.FIRE-HAZARD", GRIDRELAY__SEVERITY__ROUTINE), 0);
    uint64_t times[16];
    assert_int_equal(s_entry_times(&village, ctx, a, times, 16), 2);
    assert_true(times[1] >= times[0]);

    /* +1 h: b is past due, c is not. */
    s_clock_to(&village, 1 * hour);
    assert_true(node_wait_status(&village, ctx, b, GRIDRELAY__STATUS__ESCALATED, 10000));
    assert_false(node_wait_status(&village, ctx, c, GRIDRELAY__STATUS__ESCALATED, 1500));
    /* +3 h: c is. */
    s_clock_to(&village, 3 * hour);
    assert_true(node_wait_status(&village, ctx, c, GRIDRELAY__STATUS__ESCALATED, 10000));
    /* Back five hours and forward ten: nothing fires again. */
    s_clock_to(&village, -2 * hour);
    s_clock_to(&village, 8 * hour);
    s_twice_t twice[2] = { { &village, ctx, b }, { &village, ctx, c } };
    assert_false(harness_wait_until(s_escalated_twice, &twice[0], 1500));
    assert_false(s_escalated_twice(&twice[1]));
    assert_int_equal(node_status(&village, ctx, a, NULL, 0), GRIDRELAY__STATUS__ACCEPTED);
    const char *ids[] = { a, b, c };
    for (size_t i = 0; i < 3; i++) {
        int k = s_entry_times(&village, ctx, ids[i], times, 16);
        assert_true(k >= 2);
        for (int j = 1; j < k; j++)
            if (times[j] < times[j - 1])
                fail_msg("%s: entry %d at %llu is before entry %d at %llu", ids[i], j + 1,
                         (unsigned long long)times[j], j, (unsigned long long)times[j - 1]);
    }
    /* The township got b and c once each. */
    assert_true(node_wait_status(&town, ctx, b, GRIDRELAY__STATUS__REPORTED, 10000));
    assert_true(node_wait_status(&town, ctx, c, GRIDRELAY__STATUS__REPORTED, 10000));

    zmq_ctx_term(ctx);
    assert_int_equal(harness_node_stop(&village, SIGTERM), 0);
    assert_int_equal(harness_node_stop(&town, SIGTERM), 0);
    assert_int_equal(store_check(&village, GR_SOURCE_ROOT "/examples/catalogue.ini"), 0);
    assert_int_equal(store_check(&town, GR_SOURCE_ROOT "/examples/catalogue.ini"), 0);
    harness_node_cleanup(&village);
    harness_node_cleanup(&town);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_deadline_hours_away_fires_when_the_clock_moves),
        cmocka_unit_test(test_clock_jumps_back_and_forth_by_hours),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
