/* Department task deadlines (router/task.h): every phase, each boundary
 * millisecond, the urge-then-escalate ladder and the top tier. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "task.h"

#define DISPATCHED 1000000u
#define CLAIMED 1500000u

static const gr_task_limits_t s_limits = {
    .claim_within_ms = {0, 60000, 10000, 0},         /* extra-urgent: no limit */
    .complete_within_ms = {0, 3600000, 600000, 0},
};
static const gr_tier_t s_township = {2, true};
static const gr_tier_t s_top = {3, false};

static gr_task_facts_t s_open(gr_severity_t sev, uint32_t urged)
{
    gr_task_facts_t f = {.severity = sev, .dispatched_ms = DISPATCHED, .urged = urged};
    return f;
}

static gr_task_decision_t s_decide(const gr_tier_t *tier, const gr_task_facts_t *f, uint64_t now)
{
    gr_task_decision_t d;
    assert_int_equal(gr_task_decide(&d, tier, &s_limits, f, now), 0);
    return d;
}

static void test_open_task_ladder(void **state)
{
    (void)state;
    gr_task_facts_t f = s_open(GR_SEV_ROUTINE, 0);
    gr_task_decision_t d = s_decide(&s_township, &f, DISPATCHED);
    assert_int_equal(d.action, GR_TASK_WAIT);
    assert_int_equal(d.due_ms, DISPATCHED + 60000);

    d = s_decide(&s_township, &f, DISPATCHED + 59999);
    assert_int_equal(d.action, GR_TASK_WAIT);

    /* Exactly at the deadline: urged, and given one more period. */
    d = s_decide(&s_township, &f, DISPATCHED + 60000);
    assert_int_equal(d.action, GR_TASK_URGE);
    assert_int_equal(d.reason, GR_REASON_NOT_ACCEPTED_IN_TIME);
    assert_false(d.at_top);
    assert_int_equal(d.due_ms, DISPATCHED + 120000);

    f.urged = 1;
    d = s_decide(&s_township, &f, DISPATCHED + 119999);
    assert_int_equal(d.action, GR_TASK_WAIT);
    assert_int_equal(d.due_ms, DISPATCHED + 120000);
    d = s_decide(&s_township, &f, DISPATCHED + 120000);
    assert_int_equal(d.action, GR_TASK_ESCALATE);
    assert_int_equal(d.reason, GR_REASON_NOT_ACCEPTED_IN_TIME);
    assert_int_equal(d.due_ms, 0);
}

static void test_claimed_task_uses_complete_limit(void **state)
{
    (void)state;
    gr_task_facts_t f = s_open(GR_SEV_URGENT, 0);
    f.claimed = true;
    f.claimed_ms = CLAIMED;
    gr_task_decision_t d = s_decide(&s_township, &f, CLAIMED + 599999);
    assert_int_equal(d.action, GR_TASK_WAIT);
    assert_int_equal(d.due_ms, CLAIMED + 600000);
    d = s_decide(&s_township, &f, CLAIMED + 600000);
    assert_int_equal(d.action, GR_TASK_URGE);
    assert_int_equal(d.reason, GR_REASON_NOT_RESOLVED_IN_TIME);
    f.urged = 1;
    d = s_decide(&s_township, &f, CLAIMED + 1200000);
    assert_int_equal(d.action, GR_TASK_ESCALATE);
    assert_int_equal(d.reason, GR_REASON_NOT_RESOLVED_IN_TIME);
}

static void test_no_limit_means_no_timer(void **state)
{
    (void)state;
    gr_task_facts_t f = s_open(GR_SEV_EXTRA_URGENT, 0);
    gr_task_decision_t d = s_decide(&s_township, &f, UINT64_MAX);
    assert_int_equal(d.action, GR_TASK_WAIT);
    assert_int_equal(d.due_ms, 0);
}

static void test_top_tier_urges_again(void **state)
{
    (void)state;
    gr_task_facts_t f = s_open(GR_SEV_ROUTINE, 0);
    gr_task_decision_t d = s_decide(&s_top, &f, DISPATCHED + 60000);
    assert_int_equal(d.action, GR_TASK_URGE);
    assert_false(d.at_top);
    for (uint32_t urged = 1; urged < 5; urged++) {
        f.urged = urged;
        d = s_decide(&s_top, &f, DISPATCHED + 60000 * ((uint64_t)urged + 1));
        assert_int_equal(d.action, GR_TASK_URGE);
        assert_true(d.at_top);
        assert_int_equal(d.due_ms, DISPATCHED + 60000 * ((uint64_t)urged + 2));
    }
}

/* A check hours late (a node down, a clock jump) sends one notice, not one
 * for every period missed: the next is a whole period after it. */
static void test_late_check_urges_once(void **state)
{
    (void)state;
    gr_task_facts_t f = s_open(GR_SEV_ROUTINE, 1);
    uint64_t late = DISPATCHED + 60000 * 10;
    gr_task_decision_t d = s_decide(&s_top, &f, late);
    assert_int_equal(d.action, GR_TASK_URGE);
    assert_int_equal(d.due_ms, late + 60000);
    f.urged = 2;
    f.urged_ms = late;
    d = s_decide(&s_top, &f, late);
    assert_int_equal(d.action, GR_TASK_WAIT);
    assert_int_equal(d.due_ms, late + 60000);
    d = s_decide(&s_top, &f, late + 60000);
    assert_int_equal(d.action, GR_TASK_URGE);
}

static void test_saturates(void **state)
{
    (void)state;
    gr_task_facts_t f = s_open(GR_SEV_ROUTINE, UINT32_MAX);
    f.dispatched_ms = UINT64_MAX - 5;
    gr_task_decision_t d = s_decide(&s_township, &f, UINT64_MAX - 1);
    assert_int_equal(d.action, GR_TASK_WAIT);
    assert_int_equal(d.due_ms, UINT64_MAX);
    d = s_decide(&s_township, &f, UINT64_MAX);
    assert_int_equal(d.action, GR_TASK_ESCALATE);
}

static void test_invalid_arguments(void **state)
{
    (void)state;
    gr_task_facts_t f = s_open(GR_SEV_ROUTINE, 0);
    gr_task_decision_t d;
    assert_int_equal(gr_task_decide(NULL, &s_township, &s_limits, &f, 0), -1);
    assert_int_equal(gr_task_decide(&d, NULL, &s_limits, &f, 0), -1);
    assert_int_equal(gr_task_decide(&d, &s_township, NULL, &f, 0), -1);
    assert_int_equal(gr_task_decide(&d, &s_township, &s_limits, NULL, 0), -1);
    f.severity = 0;
    assert_int_equal(gr_task_decide(&d, &s_township, &s_limits, &f, 0), -1);
    f.severity = 4;
    assert_int_equal(gr_task_decide(&d, &s_township, &s_limits, &f, 0), -1);
    assert_int_equal(d.action, GR_TASK_WAIT);
    assert_int_equal(d.due_ms, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_task_ladder),
        cmocka_unit_test(test_claimed_task_uses_complete_limit),
        cmocka_unit_test(test_no_limit_means_no_timer),
        cmocka_unit_test(test_top_tier_urges_again),
        cmocka_unit_test(test_late_check_urges_once),
        cmocka_unit_test(test_saturates),
        cmocka_unit_test(test_invalid_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
