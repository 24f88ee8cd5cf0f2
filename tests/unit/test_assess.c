/* Assessment figures (router/assess.h) against a hand-computed unit: each
 * step on time, late, exactly at the deadline, taken over late, not yet
 * due, after the cut; the p90, the score and its weights, the order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "assess.h"

#define H 3600000ull
#define CUT (100 * H)

/* Seven cases; the comment is the verdict the README's rules give. */
static const gr_assess_case_t s_cases[] = {
    /* accepted and resolved in time, fed back at once: all good, 10 h */
    {.received_ms = 0, .accept_due_ms = H, .accepted_ms = H / 2, .resolve_due_ms = 24 * H + H / 2,
     .resolved_ms = 10 * H, .fed_back_ms = 10 * H},
    /* never accepted, taken over (escalated) at its deadline: accept late */
    {.received_ms = 0, .accept_due_ms = H, .resolve_due_ms = 24 * H, .left_ms = H},
    /* accepted in time, taken over at its resolve deadline: resolve late */
    {.received_ms = 24 * H, .accept_due_ms = 25 * H, .accepted_ms = 24 * H + H / 4,
     .resolve_due_ms = 48 * H + H / 4, .left_ms = 48 * H + H / 4},
    /* in time, but returned once, not fed back, urged twice: 3 h */
    {.received_ms = 2 * H, .accept_due_ms = 3 * H, .accepted_ms = 2 * H + H / 2,
     .resolve_due_ms = 26 * H + H / 2, .resolved_ms = 5 * H, .returns = 1, .urges = 2},
    /* both steps exactly at their deadlines: late, overdue once; 25 h */
    {.received_ms = 2 * H, .accept_due_ms = 3 * H, .accepted_ms = 3 * H, .resolve_due_ms = 27 * H,
     .resolved_ms = 27 * H, .fed_back_ms = 30 * H},
    /* still unaccepted at the cut, past its accept deadline only */
    {.received_ms = 90 * H, .accept_due_ms = 91 * H, .resolve_due_ms = 114 * H},
    /* no limits, resolved after the cut: nothing judged yet */
    {.received_ms = 95 * H, .resolved_ms = 120 * H},
};
#define N_CASES (sizeof s_cases / sizeof s_cases[0])

static void s_figures(gr_assess_figures_t *f, const gr_assess_case_t *cases, size_t n,
                      const gr_assess_weights_t *w)
{
    gr_assess_tally_t t;
    memset(&t, 0, sizeof t);
    uint64_t times[16];
    size_t nt = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t ms = 0;
        if (gr_assess_add(&t, &cases[i], CUT, &ms))
            times[nt++] = ms;
    }
    gr_assess_finish(f, &t, times, nt, w);
}

static void test_hand_computed_unit(void **state)
{
    (void)state;
    const gr_assess_weights_t w = GR_ASSESS_WEIGHTS_DEFAULT;
    gr_assess_figures_t f;
    s_figures(&f, s_cases, N_CASES, &w);
    assert_int_equal(f.tally.received, 7);
    assert_int_equal(f.tally.accept_judged, 6);
    assert_int_equal(f.tally.accept_on_time, 3);
    assert_int_equal(f.tally.resolve_judged, 4);
    assert_int_equal(f.tally.resolve_on_time, 2);
    assert_int_equal(f.tally.resolved, 3);
    assert_int_equal(f.tally.first_time, 2);
    assert_int_equal(f.tally.fed_back, 2);
    assert_int_equal(f.tally.overdue, 4);
    assert_int_equal(f.tally.returns, 1);
    assert_int_equal(f.tally.urges, 2);
    assert_true(f.accept_pct == 50.0);
    assert_true(f.resolve_pct == 50.0);
    assert_float_equal(f.first_time_pct, 200.0 / 3, 1e-9);
    assert_float_equal(f.feedback_pct, 200.0 / 3, 1e-9);
    assert_float_equal(f.overdue_pct, 400.0 / 7, 1e-9);
    /* (10 + 3 + 25) h / 3; p90 of three is the third smallest */
    assert_int_equal(f.avg_handling_ms, 38 * H / 3);
    assert_int_equal(f.p90_handling_ms, 25 * H);
    /* (20*50 + 30*50 + 15*200/3 + 15*200/3 + 20*(100 - 400/7)) / 100 */
    assert_float_equal(f.score, (1000.0 + 1500 + 1000 + 1000 + 6000.0 / 7) / 100, 1e-9);
}

static void test_weights_skip_what_is_not_judged(void **state)
{
    (void)state;
    const gr_assess_weights_t w = GR_ASSESS_WEIGHTS_DEFAULT;
    gr_assess_figures_t f;
    /* Only the unjudged case: overdue share 0 carries the whole score. */
    s_figures(&f, &s_cases[6], 1, &w);
    assert_int_equal(f.tally.received, 1);
    assert_int_equal(f.tally.accept_judged + f.tally.resolve_judged + f.tally.resolved, 0);
    assert_true(f.score == 100.0);
    /* Nothing at all: 0. */
    s_figures(&f, s_cases, 0, &w);
    assert_true(f.score == 0.0);
    assert_int_equal(f.p90_handling_ms, 0);
    /* Acceptance alone weighs: cases 1 and 2 give 50. */
    const gr_assess_weights_t only_accept = {1, 0, 0, 0, 0};
    s_figures(&f, s_cases, 2, &only_accept);
    assert_true(f.score == 50.0);
}

static void test_p90_nearest_rank(void **state)
{
    (void)state;
    gr_assess_tally_t t = {.resolved = 10};
    uint64_t times[10] = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
    const gr_assess_weights_t w = GR_ASSESS_WEIGHTS_DEFAULT;
    gr_assess_figures_t f;
    gr_assess_finish(&f, &t, times, 10, &w);
    assert_int_equal(f.p90_handling_ms, 9);  /* the 9th of 10 */
    assert_int_equal(f.avg_handling_ms, 5);  /* 55 / 10, rounded down */
    uint64_t eleven[11] = {11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
    t.resolved = 11;
    gr_assess_finish(&f, &t, eleven, 11, &w);
    assert_int_equal(f.p90_handling_ms, 10);  /* ceil(9.9) = 10th */
}

static void test_dues_from_limits(void **state)
{
    (void)state;
    gr_deadlines_t d;
    memset(&d, 0, sizeof d);
    d.accept_within_ms[GR_SEV_ROUTINE] = H;
    d.resolve_within_ms[GR_SEV_ROUTINE] = 24 * H;
    uint64_t a, r;
    gr_assess_dues(&d, GR_SEV_ROUTINE, 10 * H, 0, 0, &a, &r);
    assert_int_equal(a, 11 * H);
    assert_int_equal(r, 34 * H);
    gr_assess_dues(&d, GR_SEV_ROUTINE, 10 * H, 12 * H, 0, &a, &r);
    assert_int_equal(r, 36 * H);
    /* The parent's limit wins when earlier. */
    gr_assess_dues(&d, GR_SEV_ROUTINE, 10 * H, 12 * H, 20 * H, &a, &r);
    assert_int_equal(a, 11 * H);
    assert_int_equal(r, 20 * H);
    /* No limit for urgent cases here, but the parent's. */
    gr_assess_dues(&d, GR_SEV_URGENT, 10 * H, 0, 0, &a, &r);
    assert_int_equal(a + r, 0);
    gr_assess_dues(&d, GR_SEV_URGENT, 10 * H, 0, 30 * H, &a, &r);
    assert_int_equal(a, 30 * H);
    assert_int_equal(r, 30 * H);
    d.accept_within_ms[GR_SEV_ROUTINE] = UINT64_MAX;
    gr_assess_dues(&d, GR_SEV_ROUTINE, 10 * H, 0, 0, &a, &r);
    assert_int_equal(a, UINT64_MAX);
}

static void test_order(void **state)
{
    (void)state;
    gr_assess_figures_t a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.score = 80;
    b.score = 90;
    assert_true(gr_assess_order(&a, &b) > 0);
    assert_true(gr_assess_order(&b, &a) < 0);
    a.score = 90;
    a.tally.received = 5;
    b.tally.received = 3;
    assert_true(gr_assess_order(&a, &b) < 0);
    b.tally.received = 5;
    assert_int_equal(gr_assess_order(&a, &b), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_computed_unit),
        cmocka_unit_test(test_weights_skip_what_is_not_judged),
        cmocka_unit_test(test_p90_nearest_rank),
        cmocka_unit_test(test_dues_from_limits),
        cmocka_unit_test(test_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
