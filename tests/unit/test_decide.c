/* Tests for router/decide: the whole decision table against a plainly written
 * oracle, then the important rules by hand, boundaries to the millisecond,
 * department choice and names. router/ reads no clock and touches no disk,
 * so no temp dir is needed here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "decide.h"

#define RECEIVED 1000u
#define ACCEPTED 5000u

static const gr_deadlines_t s_limits = {
    .accept_within_ms = {0, 600000, 300000, 60000},
    .resolve_within_ms = {0, 86400000, 3600000, 600000},
};
static const gr_deadlines_t s_no_limits = {{0}, {0}};

/* ---- the oracle: the rules of decide.h, written out without tables ---- */

typedef struct {
    gr_action_t action;
    gr_reason_t reason;
    bool supervise, overdue, at_top;
    uint64_t due_ms;
} expect_t;

static bool is_finished(int state)
{
    return state == GR_CASE_RESOLVED || state == GR_CASE_FED_BACK
           || state == GR_CASE_CLOSED || state == GR_CASE_ESCALATED;
}

static uint64_t oracle_own_deadline(const gr_deadlines_t *d, int sev, int state,
                                    uint64_t received, uint64_t accepted)
{
    if (is_finished(state))
        return 0;
    if (state == GR_CASE_REPORTED) {
        if (d->accept_within_ms[sev] == 0)
            return 0;
        return received + d->accept_within_ms[sev];
    }
    if (d->resolve_within_ms[sev] == 0)
        return 0;
    if (accepted != 0)
        return accepted + d->resolve_within_ms[sev];
    return received + d->resolve_within_ms[sev];
}

/* The node's own deadline, or the parent's assignment limit when that
 * comes first. */
static uint64_t oracle_deadline(const gr_deadlines_t *d, int sev, int state,
                                uint64_t received, uint64_t accepted, uint64_t assigned_due)
{
    uint64_t own = oracle_own_deadline(d, sev, state, received, accepted);
    if (is_finished(state) || assigned_due == 0)
        return own;
    return own == 0 || assigned_due < own ? assigned_due : own;
}

typedef struct {
    int level;
    bool parent;
    int sev;
    int auth;
    bool direct, assigned, op, ret, untried;
    int state;
    uint64_t accepted;
    uint64_t assigned_due;
    const gr_deadlines_t *limits;
    uint64_t now;
} combo_t;

static expect_t oracle(const combo_t *c)
{
    expect_t e = {GR_ACT_NONE, GR_REASON_NONE, false, false, false, 0};
    if (is_finished(c->state))
        return e;

    uint64_t deadline = oracle_deadline(c->limits, c->sev, c->state, RECEIVED,
                                        c->accepted, c->assigned_due);
    e.overdue = deadline != 0 && c->now >= deadline;
    bool up = false;

    if (c->op) {
        e.reason = GR_REASON_OPERATOR;
        up = true;
    } else if (c->parent && !c->assigned && c->auth > c->level) {
        e.reason = GR_REASON_OUTSIDE_AUTHORITY;
        if (c->direct && c->level == 1 && c->auth >= 3)
            e.action = GR_ACT_SKIP_LEVEL;
        else
            e.action = GR_ACT_ESCALATE;
    } else if (c->ret && !c->untried) {
        e.reason = GR_REASON_RETURNED_FROM_BELOW;
        up = true;
    } else if (e.overdue) {
        if (c->state == GR_CASE_REPORTED)
            e.reason = GR_REASON_NOT_ACCEPTED_IN_TIME;
        else
            e.reason = GR_REASON_NOT_RESOLVED_IN_TIME;
        e.supervise = true;
        up = true;
    } else if (c->ret || (c->untried && (c->state == GR_CASE_REPORTED ||
                                         c->state == GR_CASE_ACCEPTED))) {
        e.action = GR_ACT_ASSIGN_DOWN;
    } else {
        e.action = GR_ACT_KEEP;
    }

    if (up) {
        if (c->parent) {
            e.action = GR_ACT_ESCALATE;
        } else {
            e.action = GR_ACT_KEEP;
            e.at_top = true;
        }
    }
    if ((e.action == GR_ACT_KEEP || e.action == GR_ACT_ASSIGN_DOWN)
        && deadline > c->now)
        e.due_ms = deadline;
    return e;
}

/* ---- helpers ---- */

static gr_case_facts_t facts_of(int sev, int state)
{
    gr_case_facts_t f;
    memset(&f, 0, sizeof f);
    f.severity = (gr_severity_t) sev;
    f.state = (gr_case_state_t) state;
    f.received_ms = RECEIVED;
    return f;
}

static gr_authority_t authority_all(int level, bool direct)
{
    gr_authority_t a = {{0, level, level, level}, direct};
    return a;
}

static gr_decision_t decide_ok(int level, bool parent, const gr_authority_t *a,
                               const gr_deadlines_t *d, const gr_case_facts_t *f,
                               uint64_t now)
{
    gr_tier_t tier = {level, parent};
    gr_decision_t out;
    assert_int_equal(gr_decide(&out, &tier, a, d, f, now), 0);
    return out;
}

static void check_combo(const combo_t *c)
{
    gr_tier_t tier = {c->level, c->parent};
    gr_authority_t a = authority_all(1, c->direct);
    a.level[c->sev] = c->auth;
    gr_case_facts_t f = facts_of(c->sev, c->state);
    f.accepted_ms = c->accepted;
    f.operator_escalate = c->op;
    f.assigned_down = c->assigned;
    f.returned_from_below = c->ret;
    f.untried_left = c->untried;
    f.assigned_due_ms = c->assigned_due;

    gr_decision_t got;
    int rc = gr_decide(&got, &tier, &a, c->limits, &f, c->now);
    expect_t want = oracle(c);
    if (rc == 0 && got.action == want.action && got.reason == want.reason
        && got.supervise == want.supervise && got.overdue == want.overdue
        && got.at_top == want.at_top && got.due_ms == want.due_ms)
        return;
    print_error("level=%d parent=%d sev=%d auth=%d direct=%d assigned=%d "
                "op=%d ret=%d untried=%d state=%s accepted=%llu limits=%s "
                "now=%llu\n",
                c->level, c->parent, c->sev, c->auth, c->direct, c->assigned,
                c->op, c->ret, c->untried,
                gr_case_state_name((gr_case_state_t) c->state),
                (unsigned long long) c->accepted,
                c->limits == &s_limits ? "set" : "zero",
                (unsigned long long) c->now);
    print_error("rc=%d got %s/%s sup=%d over=%d top=%d due=%llu; want "
                "%s/%s sup=%d over=%d top=%d due=%llu\n",
                rc, gr_action_name(got.action), gr_reason_name(got.reason),
                got.supervise, got.overdue, got.at_top,
                (unsigned long long) got.due_ms, gr_action_name(want.action),
                gr_reason_name(want.reason), want.supervise, want.overdue,
                want.at_top, (unsigned long long) want.due_ms);
    fail();
}

/* ---- the whole table ---- */

static void test_table_against_oracle(void **state)
{
    (void) state;
    const gr_deadlines_t *limit_sets[] = {&s_limits, &s_no_limits};
    const uint64_t accepted_set[] = {0, ACCEPTED};
    /* No limit from the parent; one before every own deadline; one after. */
    const uint64_t assigned_dues[] = {0, RECEIVED + 1000, RECEIVED + 10 * 86400000ULL};
    unsigned long checked = 0;

    for (int level = 1; level <= 4; level++)
    for (int parent = 0; parent <= 1; parent++)
    for (int sev = 1; sev <= 3; sev++)
    /* below, at, one above and two above the node's tier */
    for (int auth = level - 1; auth <= level + 2; auth++) {
        if (auth < 1)
            continue;
        for (int bits = 0; bits < 32; bits++)
        for (int st = GR_CASE_REPORTED; st <= GR_CASE_RETURNED; st++)
        for (size_t ai = 0; ai < 2; ai++)
        for (size_t li = 0; li < 2; li++)
        for (size_t di = 0; di < 3; di++) {
            combo_t c = {
                .level = level, .parent = parent, .sev = sev, .auth = auth,
                .direct = bits & 1, .assigned = bits & 2, .op = bits & 4,
                .ret = bits & 8, .untried = bits & 16, .state = st,
                .accepted = accepted_set[ai], .limits = limit_sets[li],
                .assigned_due = assigned_dues[di],
            };
            /* Times around the real deadline even for the zero-limit set,
             * which must then never be overdue (unless the parent's limit
             * makes it so). */
            uint64_t d = oracle_deadline(&s_limits, sev, st, RECEIVED,
                                         c.accepted, c.assigned_due);
            uint64_t nows[] = {0, RECEIVED, d ? d - 1 : 2, d ? d : 3,
                               d ? d + 1 : 4, UINT64_MAX};
            for (size_t ni = 0; ni < sizeof nows / sizeof nows[0]; ni++) {
                c.now = nows[ni];
                check_combo(&c);
                checked++;
            }
        }
    }
    /* (3 + 3 * 4) level/authority pairs * 2 parents * 3 severities * 32 flag
     * sets * 10 states * 2 acceptances * 2 limit sets * 3 assignment
     * limits * 6 times: proof that the loops did not silently skip a
     * dimension. */
    assert_int_equal(checked, 15UL * 2 * 3 * 32 * 10 * 2 * 2 * 3 * 6);
}

/* ---- the important rules, by hand ---- */

static void test_finished_states_do_nothing(void **state)
{
    (void) state;
    const int done[] = {GR_CASE_RESOLVED, GR_CASE_FED_BACK, GR_CASE_CLOSED,
                        GR_CASE_ESCALATED};
    gr_authority_t a = authority_all(3, true);
    for (size_t i = 0; i < 4; i++) {
        gr_case_facts_t f = facts_of(GR_SEV_EXTRA_URGENT, done[i]);
        f.operator_escalate = true;
        f.returned_from_below = true;
        gr_decision_t d = decide_ok(1, true, &a, &s_limits, &f, UINT64_MAX);
        assert_int_equal(d.action, GR_ACT_NONE);
        assert_int_equal(d.reason, GR_REASON_NONE);
        assert_false(d.supervise);
        assert_false(d.overdue);
        assert_int_equal(d.due_ms, 0);
        assert_int_equal(gr_deadline_due(&s_limits, &f), 0);
    }
}

static void test_village_keeps_its_own(void **state)
{
    (void) state;
    gr_authority_t a = authority_all(1, false);
    gr_case_facts_t f = facts_of(GR_SEV_ROUTINE, GR_CASE_REPORTED);
    gr_decision_t d = decide_ok(1, true, &a, &s_limits, &f, RECEIVED);
    assert_int_equal(d.action, GR_ACT_KEEP);
    assert_int_equal(d.reason, GR_REASON_NONE);
    assert_int_equal(d.due_ms, RECEIVED + 600000);
    assert_false(d.supervise || d.overdue || d.at_top);
}

static void test_authority_escalates_and_skips(void **state)
{
    (void) state;
    gr_case_facts_t f = facts_of(GR_SEV_EXTRA_URGENT, GR_CASE_REPORTED);

    /* Only the extra-urgent authority is above the village. */
    gr_authority_t a = {{0, 1, 1, 2}, false};
    gr_decision_t d = decide_ok(1, true, &a, &s_limits, &f, RECEIVED);
    assert_int_equal(d.action, GR_ACT_ESCALATE);
    assert_int_equal(d.reason, GR_REASON_OUTSIDE_AUTHORITY);
    assert_false(d.supervise);
    assert_int_equal(d.due_ms, 0);
    f.severity = GR_SEV_URGENT;
    d = decide_ok(1, true, &a, &s_limits, &f, RECEIVED);
    assert_int_equal(d.action, GR_ACT_KEEP);

    /* 越级直报: village straight to the district. */
    f.severity = GR_SEV_EXTRA_URGENT;
    a = (gr_authority_t){{0, 1, 1, 3}, true};
    d = decide_ok(1, true, &a, &s_limits, &f, RECEIVED);
    assert_int_equal(d.action, GR_ACT_SKIP_LEVEL);
    assert_int_equal(d.reason, GR_REASON_OUTSIDE_AUTHORITY);
    /* ...and to the district on the way to the city. */
    a.level[3] = 4;
    d = decide_ok(1, true, &a, &s_limits, &f, RECEIVED);
    assert_int_equal(d.action, GR_ACT_SKIP_LEVEL);
    /* Not direct: one step at a time. */
    a.direct = false;
    d = decide_ok(1, true, &a, &s_limits, &f, RECEIVED);
    assert_int_equal(d.action, GR_ACT_ESCALATE);
    /* Direct but only the township is needed: nothing to skip. */
    a = (gr_authority_t){{0, 1, 1, 2}, true};
    d = decide_ok(1, true, &a, &s_limits, &f, RECEIVED);
    assert_int_equal(d.action, GR_ACT_ESCALATE);
    /* Direct at the township: skipping is a village privilege. */
    a = (gr_authority_t){{0, 1, 1, 4}, true};
    d = decide_ok(2, true, &a, &s_limits, &f, RECEIVED);
    assert_int_equal(d.action, GR_ACT_ESCALATE);
}

static void test_assigned_down_is_not_escalated_for_authority(void **state)
{
    (void) state;
    gr_authority_t a = authority_all(3, true);
    gr_case_facts_t f = facts_of(GR_SEV_URGENT, GR_CASE_ACCEPTED);
    f.accepted_ms = ACCEPTED;
    f.assigned_down = true;
    gr_decision_t d = decide_ok(1, true, &a, &s_limits, &f, ACCEPTED);
    assert_int_equal(d.action, GR_ACT_KEEP);
    assert_int_equal(d.due_ms, ACCEPTED + 3600000);
    /* The way back up is a return... */
    f.returned_from_below = true;
    d = decide_ok(1, true, &a, &s_limits, &f, ACCEPTED);
    assert_int_equal(d.action, GR_ACT_ESCALATE);
    assert_int_equal(d.reason, GR_REASON_RETURNED_FROM_BELOW);
    /* ...and an overdue case is still supervised upward. */
    f.returned_from_below = false;
    d = decide_ok(1, true, &a, &s_limits, &f, ACCEPTED + 3600000);
    assert_int_equal(d.action, GR_ACT_ESCALATE);
    assert_int_equal(d.reason, GR_REASON_NOT_RESOLVED_IN_TIME);
    assert_true(d.supervise);
}

static void test_operator(void **state)
{
    (void) state;
    gr_authority_t a = authority_all(1, false);
    gr_case_facts_t f = facts_of(GR_SEV_ROUTINE, GR_CASE_IN_PROGRESS);
    f.operator_escalate = true;
    gr_decision_t d = decide_ok(2, true, &a, &s_limits, &f, RECEIVED);
    assert_int_equal(d.action, GR_ACT_ESCALATE);
    assert_int_equal(d.reason, GR_REASON_OPERATOR);
    assert_false(d.at_top);
    assert_false(d.supervise);

    d = decide_ok(3, false, &a, &s_limits, &f, RECEIVED);
    assert_int_equal(d.action, GR_ACT_KEEP);
    assert_int_equal(d.reason, GR_REASON_OPERATOR);
    assert_true(d.at_top);
    assert_int_equal(d.due_ms, RECEIVED + 86400000);

    /* An operator escalating an overdue case: the reason is the operator,
     * but the lateness is not hidden. */
    d = decide_ok(2, true, &a, &s_limits, &f, RECEIVED + 86400000);
    assert_int_equal(d.reason, GR_REASON_OPERATOR);
    assert_true(d.overdue);
    assert_false(d.supervise);
}

static void test_top_has_nowhere_to_go(void **state)
{
    (void) state;
    /* A catalogue asking for the city at a district-topped network. */
    gr_authority_t a = authority_all(4, false);
    gr_case_facts_t f = facts_of(GR_SEV_URGENT, GR_CASE_REPORTED);
    gr_decision_t d = decide_ok(3, false, &a, &s_limits, &f, RECEIVED);
    assert_int_equal(d.action, GR_ACT_KEEP);
    assert_int_equal(d.reason, GR_REASON_NONE);
    assert_false(d.at_top);

    d = decide_ok(3, false, &a, &s_limits, &f, RECEIVED + 300000);
    assert_int_equal(d.action, GR_ACT_KEEP);
    assert_int_equal(d.reason, GR_REASON_NOT_ACCEPTED_IN_TIME);
    assert_true(d.at_top);
    assert_true(d.supervise);
    assert_true(d.overdue);
    assert_int_equal(d.due_ms, 0);

    f.returned_from_below = true;
    d = decide_ok(3, false, &a, &s_limits, &f, RECEIVED);
    assert_int_equal(d.action, GR_ACT_KEEP);
    assert_int_equal(d.reason, GR_REASON_RETURNED_FROM_BELOW);
    assert_true(d.at_top);
}

static void test_accept_deadline_boundary(void **state)
{
    (void) state;
    gr_authority_t a = authority_all(1, false);
    gr_case_facts_t f = facts_of(GR_SEV_EXTRA_URGENT, GR_CASE_REPORTED);
    uint64_t due = RECEIVED + 60000;
    assert_int_equal(gr_deadline_due(&s_limits, &f), due);

    gr_decision_t d = decide_ok(1, true, &a, &s_limits, &f, due - 1);
    assert_int_equal(d.action, GR_ACT_KEEP);
    assert_int_equal(d.due_ms, due);
    assert_false(gr_overdue(&s_limits, &f, due - 1));

    d = decide_ok(1, true, &a, &s_limits, &f, due);
    assert_int_equal(d.action, GR_ACT_ESCALATE);
    assert_int_equal(d.reason, GR_REASON_NOT_ACCEPTED_IN_TIME);
    assert_true(d.supervise);
    assert_int_equal(d.due_ms, 0);
    assert_true(gr_overdue(&s_limits, &f, due));

    d = decide_ok(1, true, &a, &s_limits, &f, due + 1);
    assert_int_equal(d.action, GR_ACT_ESCALATE);
    assert_true(d.supervise);
}

static void test_resolve_deadline_boundary(void **state)
{
    (void) state;
    gr_authority_t a = authority_all(1, false);
    const int live[] = {GR_CASE_ACCEPTED, GR_CASE_DISPATCHED, GR_CASE_ASSIGNED,
                        GR_CASE_IN_PROGRESS, GR_CASE_RETURNED};
    for (size_t i = 0; i < 5; i++) {
        gr_case_facts_t f = facts_of(GR_SEV_URGENT, live[i]);
        /* Not accepted here: the clock runs from arrival. */
        uint64_t due = RECEIVED + 3600000;
        assert_int_equal(gr_deadline_due(&s_limits, &f), due);
        /* Accepted: from acceptance. */
        f.accepted_ms = ACCEPTED;
        due = ACCEPTED + 3600000;
        assert_int_equal(gr_deadline_due(&s_limits, &f), due);

        gr_decision_t d = decide_ok(2, true, &a, &s_limits, &f, due - 1);
        assert_int_equal(d.action, GR_ACT_KEEP);
        assert_int_equal(d.due_ms, due);
        d = decide_ok(2, true, &a, &s_limits, &f, due);
        assert_int_equal(d.action, GR_ACT_ESCALATE);
        assert_int_equal(d.reason, GR_REASON_NOT_RESOLVED_IN_TIME);
        assert_true(d.supervise);
        d = decide_ok(2, true, &a, &s_limits, &f, due + 1);
        assert_int_equal(d.action, GR_ACT_ESCALATE);
    }
}

static void test_zero_limits_never_overdue(void **state)
{
    (void) state;
    gr_authority_t a = authority_all(1, false);
    for (int st = GR_CASE_REPORTED; st <= GR_CASE_RETURNED; st++) {
        gr_case_facts_t f = facts_of(GR_SEV_EXTRA_URGENT, st);
        assert_int_equal(gr_deadline_due(&s_no_limits, &f), 0);
        assert_false(gr_overdue(&s_no_limits, &f, UINT64_MAX));
        gr_decision_t d = decide_ok(1, true, &a, &s_no_limits, &f, UINT64_MAX);
        assert_false(d.overdue);
        assert_false(d.supervise);
        assert_int_equal(d.due_ms, 0);
    }
    /* One severity without a limit, the others with. */
    gr_deadlines_t mixed = s_limits;
    mixed.accept_within_ms[GR_SEV_ROUTINE] = 0;
    gr_case_facts_t f = facts_of(GR_SEV_ROUTINE, GR_CASE_REPORTED);
    assert_false(gr_overdue(&mixed, &f, UINT64_MAX));
    f.severity = GR_SEV_URGENT;
    assert_true(gr_overdue(&mixed, &f, UINT64_MAX));
}

static void test_deadline_saturates(void **state)
{
    (void) state;
    gr_case_facts_t f = facts_of(GR_SEV_ROUTINE, GR_CASE_REPORTED);
    f.received_ms = UINT64_MAX - 10;
    assert_int_equal(gr_deadline_due(&s_limits, &f), UINT64_MAX);
    assert_false(gr_overdue(&s_limits, &f, UINT64_MAX - 1));
    assert_true(gr_overdue(&s_limits, &f, UINT64_MAX));
}

static void test_returned_from_below(void **state)
{
    (void) state;
    gr_authority_t a = authority_all(2, false);
    gr_case_facts_t f = facts_of(GR_SEV_URGENT, GR_CASE_RETURNED);
    f.accepted_ms = ACCEPTED;
    f.returned_from_below = true;
    f.untried_left = true;
    uint64_t due = ACCEPTED + 3600000;

    gr_decision_t d = decide_ok(2, true, &a, &s_limits, &f, ACCEPTED);
    assert_int_equal(d.action, GR_ACT_ASSIGN_DOWN);
    assert_int_equal(d.reason, GR_REASON_NONE);
    assert_int_equal(d.due_ms, due);

    /* Overdue: supervised upward, not passed round again. */
    d = decide_ok(2, true, &a, &s_limits, &f, due);
    assert_int_equal(d.action, GR_ACT_ESCALATE);
    assert_int_equal(d.reason, GR_REASON_NOT_RESOLVED_IN_TIME);

    f.untried_left = false;
    d = decide_ok(2, true, &a, &s_limits, &f, ACCEPTED);
    assert_int_equal(d.action, GR_ACT_ESCALATE);
    assert_int_equal(d.reason, GR_REASON_RETURNED_FROM_BELOW);
    assert_false(d.supervise);
}

static void test_parents_time_limit(void **state)
{
    (void) state;
    gr_authority_t a = authority_all(1, false);
    gr_case_facts_t f = facts_of(GR_SEV_ROUTINE, GR_CASE_ACCEPTED);
    f.accepted_ms = ACCEPTED;
    f.assigned_down = true;
    f.assigned_due_ms = ACCEPTED + 5000;  /* before this node's own limit */
    assert_int_equal(gr_deadline_due(&s_limits, &f), ACCEPTED + 5000);
    gr_decision_t d = decide_ok(1, true, &a, &s_limits, &f, ACCEPTED + 4999);
    assert_int_equal(d.action, GR_ACT_KEEP);
    assert_int_equal(d.due_ms, ACCEPTED + 5000);
    /* Past the parent's limit: back up, supervised. */
    d = decide_ok(1, true, &a, &s_limits, &f, ACCEPTED + 5000);
    assert_int_equal(d.action, GR_ACT_ESCALATE);
    assert_int_equal(d.reason, GR_REASON_NOT_RESOLVED_IN_TIME);
    assert_true(d.supervise);
    /* A node without limits of its own still keeps the parent's. */
    assert_int_equal(gr_deadline_due(&s_no_limits, &f), ACCEPTED + 5000);
    /* A later limit than the node's own changes nothing. */
    f.assigned_due_ms = UINT64_MAX - 1;
    assert_int_equal(gr_deadline_due(&s_limits, &f), ACCEPTED + 86400000);
    /* Finished: no deadline at all. */
    f.state = GR_CASE_RESOLVED;
    assert_int_equal(gr_deadline_due(&s_limits, &f), 0);
}

static void test_first_dispatch(void **state)
{
    (void) state;
    gr_authority_t a = authority_all(2, false);
    gr_case_facts_t f = facts_of(GR_SEV_ROUTINE, GR_CASE_REPORTED);
    f.untried_left = true;  /* a department here takes the category */

    gr_decision_t d = decide_ok(2, true, &a, &s_limits, &f, RECEIVED);
    assert_int_equal(d.action, GR_ACT_ASSIGN_DOWN);
    f.state = GR_CASE_ACCEPTED;
    f.accepted_ms = ACCEPTED;
    d = decide_ok(2, true, &a, &s_limits, &f, ACCEPTED);
    assert_int_equal(d.action, GR_ACT_ASSIGN_DOWN);

    /* Already with a department: kept, not dispatched twice. */
    f.state = GR_CASE_DISPATCHED;
    d = decide_ok(2, true, &a, &s_limits, &f, ACCEPTED);
    assert_int_equal(d.action, GR_ACT_KEEP);

    /* Outside this tier's authority: up, whatever departments there are. */
    a = authority_all(3, false);
    f.state = GR_CASE_REPORTED;
    d = decide_ok(2, true, &a, &s_limits, &f, RECEIVED);
    assert_int_equal(d.action, GR_ACT_ESCALATE);
}

static void test_invalid_arguments(void **state)
{
    (void) state;
    gr_tier_t tier = {1, true};
    gr_authority_t a = authority_all(1, false);
    gr_case_facts_t f = facts_of(GR_SEV_ROUTINE, GR_CASE_REPORTED);
    gr_decision_t d;

    assert_int_equal(gr_decide(NULL, &tier, &a, &s_limits, &f, 0), -1);
    memset(&d, 0xab, sizeof d);
    assert_int_equal(gr_decide(&d, NULL, &a, &s_limits, &f, 0), -1);
    assert_int_equal(d.action, GR_ACT_NONE);
    assert_int_equal(d.due_ms, 0);
    assert_int_equal(gr_decide(&d, &tier, NULL, &s_limits, &f, 0), -1);
    assert_int_equal(gr_decide(&d, &tier, &a, NULL, &f, 0), -1);
    assert_int_equal(gr_decide(&d, &tier, &a, &s_limits, NULL, 0), -1);

    gr_tier_t bad_tier = {0, true};
    assert_int_equal(gr_decide(&d, &bad_tier, &a, &s_limits, &f, 0), -1);

    gr_case_facts_t bad = f;
    bad.severity = (gr_severity_t) 0;
    assert_int_equal(gr_decide(&d, &tier, &a, &s_limits, &bad, 0), -1);
    assert_int_equal(gr_deadline_due(&s_limits, &bad), 0);
    bad.severity = (gr_severity_t) 4;
    assert_int_equal(gr_decide(&d, &tier, &a, &s_limits, &bad, 0), -1);
    bad = f;
    bad.state = (gr_case_state_t) 0;
    assert_int_equal(gr_decide(&d, &tier, &a, &s_limits, &bad, 0), -1);
    assert_int_equal(gr_deadline_due(&s_limits, &bad), 0);
    bad.state = (gr_case_state_t) 11;
    assert_int_equal(gr_decide(&d, &tier, &a, &s_limits, &bad, 0), -1);

    gr_authority_t bad_a = a;
    bad_a.level[GR_SEV_ROUTINE] = 0;
    assert_int_equal(gr_decide(&d, &tier, &bad_a, &s_limits, &f, 0), -1);
    /* Only the case's own severity is looked at. */
    f.severity = GR_SEV_URGENT;
    assert_int_equal(gr_decide(&d, &tier, &bad_a, &s_limits, &f, 0), 0);

    assert_int_equal(gr_deadline_due(NULL, &f), 0);
    assert_int_equal(gr_deadline_due(&s_limits, NULL), 0);
    assert_false(gr_overdue(NULL, &f, UINT64_MAX));
}

/* ---- department choice ---- */

static void test_dept_next(void **state)
{
    (void) state;
    const char *cands[] = {"safety", "police", "civil"};
    const char *none[] = {NULL};

    assert_null(gr_dept_next(NULL, 0, NULL, 0));
    assert_null(gr_dept_next(cands, 0, NULL, 0));
    assert_null(gr_dept_next(NULL, 3, NULL, 0));
    /* Lead unit first. */
    assert_string_equal(gr_dept_next(cands, 3, NULL, 0), "safety");
    assert_ptr_equal(gr_dept_next(cands, 3, none, 0), cands[0]);

    const char *tried1[] = {"safety"};
    assert_string_equal(gr_dept_next(cands, 3, tried1, 1), "police");
    /* Order of the candidates, not of the tried list. */
    const char *tried2[] = {"police", "nobody", NULL};
    assert_string_equal(gr_dept_next(cands, 3, tried2, 3), "safety");
    const char *tried3[] = {"police", "safety"};
    assert_string_equal(gr_dept_next(cands, 3, tried3, 2), "civil");
    const char *all[] = {"civil", "safety", "police"};
    assert_null(gr_dept_next(cands, 3, all, 3));
    /* Exact comparison: a prefix is another department. */
    const char *prefix[] = {"safe", "police", "civil"};
    assert_string_equal(gr_dept_next(cands, 3, prefix, 3), "safety");
    /* Holes in the candidate list are skipped. */
    const char *holes[] = {NULL, "fire", NULL};
    assert_string_equal(gr_dept_next(holes, 3, NULL, 0), "fire");
    const char *fire[] = {"fire"};
    assert_null(gr_dept_next(holes, 3, fire, 1));
    /* A NULL tried list with a count is treated as empty. */
    assert_string_equal(gr_dept_next(cands, 3, NULL, 5), "safety");
}

/* ---- names ---- */

static void test_names(void **state)
{
    (void) state;
    assert_string_equal(gr_action_name(GR_ACT_NONE), "none");
    assert_string_equal(gr_action_name(GR_ACT_KEEP), "keep");
    assert_string_equal(gr_action_name(GR_ACT_ESCALATE), "escalate");
    assert_string_equal(gr_action_name(GR_ACT_SKIP_LEVEL), "skip_level");
    assert_string_equal(gr_action_name(GR_ACT_ASSIGN_DOWN), "assign_down");
    assert_string_equal(gr_action_name((gr_action_t) 99), "unknown");
    assert_string_equal(gr_action_name((gr_action_t) -1), "unknown");

    assert_string_equal(gr_reason_name(GR_REASON_NONE), "none");
    assert_string_equal(gr_reason_name(GR_REASON_OUTSIDE_AUTHORITY),
                        "outside_authority");
    assert_string_equal(gr_reason_name(GR_REASON_NOT_ACCEPTED_IN_TIME),
                        "not_accepted_in_time");
    assert_string_equal(gr_reason_name(GR_REASON_NOT_RESOLVED_IN_TIME),
                        "not_resolved_in_time");
    assert_string_equal(gr_reason_name(GR_REASON_OPERATOR), "operator");
    assert_string_equal(gr_reason_name(GR_REASON_RETURNED_FROM_BELOW),
                        "returned_from_below");
    assert_string_equal(gr_reason_name((gr_reason_t) 6), "unknown");

    const char *states[] = {"unknown", "reported", "accepted", "dispatched",
                            "assigned", "in_progress", "resolved", "fed_back",
                            "closed", "escalated", "returned", "unknown"};
    for (int i = 0; i <= 11; i++)
        assert_string_equal(gr_case_state_name((gr_case_state_t) i), states[i]);
    assert_string_equal(gr_case_state_name((gr_case_state_t) -3), "unknown");

    assert_string_equal(gr_severity_name((gr_severity_t) 0), "unknown");
    assert_string_equal(gr_severity_name(GR_SEV_ROUTINE), "routine");
    assert_string_equal(gr_severity_name(GR_SEV_URGENT), "urgent");
    assert_string_equal(gr_severity_name(GR_SEV_EXTRA_URGENT), "extra_urgent");
    assert_string_equal(gr_severity_name((gr_severity_t) 4), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_against_oracle),
        cmocka_unit_test(test_finished_states_do_nothing),
        cmocka_unit_test(test_village_keeps_its_own),
        cmocka_unit_test(test_authority_escalates_and_skips),
        cmocka_unit_test(test_assigned_down_is_not_escalated_for_authority),
        cmocka_unit_test(test_operator),
        cmocka_unit_test(test_top_has_nowhere_to_go),
        cmocka_unit_test(test_accept_deadline_boundary),
        cmocka_unit_test(test_resolve_deadline_boundary),
        cmocka_unit_test(test_zero_limits_never_overdue),
        cmocka_unit_test(test_deadline_saturates),
        cmocka_unit_test(test_returned_from_below),
        cmocka_unit_test(test_first_dispatch),
        cmocka_unit_test(test_parents_time_limit),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_dept_next),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
