/* Who may send what (router/access.h and the request table's rules,
 * node/requests.c): every role set against every request kind, with no
 * case, the signer's own case and someone else's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "access.h"
#include "requests.h"

enum { R = GR_ACCESS_REPORTER, O = GR_ACCESS_OPERATOR, V = GR_ACCESS_VIEWER,
       D = GR_ACCESS_DEPARTMENT, A = GR_ACCESS_AUDITOR, N = GR_ACCESS_NODE };

static const uint8_t s_zhang[GR_ACCESS_KEY_BYTES] = {1, 2, 3};
static const uint8_t s_li[GR_ACCESS_KEY_BYTES] = {1, 2, 4};
static char s_police[] = "police", s_fire[] = "fire", s_safety[] = "safety";

/* Reported by zhang in grid G-1, led by police, fire co-handling. */
static char *s_co[] = {s_fire};
static const gr_access_case_t s_case = {s_zhang, s_police, s_co, 1, "G-1", false, false};
/* Reported elsewhere (escalated or assigned here) in grid G-2, no department. */
static const gr_access_case_t s_foreign = {NULL, NULL, NULL, 0, "G-2", false, false};

static gr_access_who_t s_who(unsigned roles, const uint8_t *key, const char *dept)
{
    gr_access_who_t who = {roles, key, dept, NULL, NULL};
    return who;
}

/* The specification the request table must implement: for every kind, who
 * may use it on any case and who on their own cases only. */
static const struct {
    Gridrelay__Body__KindCase kind;
    unsigned any;
    unsigned own;
} s_spec[] = {
    {GRIDRELAY__BODY__KIND_REPORT, R, 0},
    {GRIDRELAY__BODY__KIND_CASE_ACTION, O, 0},
    {GRIDRELAY__BODY__KIND_TASK_ACTION, D, 0},
    {GRIDRELAY__BODY__KIND_ESCALATE, N, 0},
    {GRIDRELAY__BODY__KIND_ASSIGN, N, 0},
    {GRIDRELAY__BODY__KIND_FEEDBACK, N, 0},
    {GRIDRELAY__BODY__KIND_SUPERVISE, N, 0},
    {GRIDRELAY__BODY__KIND_URGE, N, 0},
    {GRIDRELAY__BODY__KIND_GET_EVENT, O | V | A | N, R | D},
    {GRIDRELAY__BODY__KIND_LIST_EVENTS, O | V | A | N, R | D},
    {GRIDRELAY__BODY__KIND_GET_STATS, O | V | A | N, 0},
    {GRIDRELAY__BODY__KIND_LIST_VIEW, O | V | N, 0},
    {GRIDRELAY__BODY__KIND_GET_LINKS, O | V | A | N, 0},
    {GRIDRELAY__BODY__KIND_LIST_TASKS, D | O | V, 0},
    {GRIDRELAY__BODY__KIND_LIST_SUPERVISION, O | V, 0},
    {GRIDRELAY__BODY__KIND_AUDIT_VERIFY, O | A, 0},
    {GRIDRELAY__BODY__KIND_AUDIT_EXPORT, O | A, 0},
    {GRIDRELAY__BODY__KIND_AUDIT_READS, A, 0},
    {GRIDRELAY__BODY__KIND_DAILY_SUMMARY, N, 0},
    {GRIDRELAY__BODY__KIND_LIST_DAILY, O | V, 0},
    {GRIDRELAY__BODY__KIND_GET_RANKING, O | V | A, 0},
    {GRIDRELAY__BODY__KIND_GET_CASE_STATS, O | V | A, 0},
};
#define N_SPEC (sizeof s_spec / sizeof s_spec[0])

static void test_table_is_the_spec(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SPEC; i++) {
        const gr_access_rule_t *rule = gr_requests_access_rule(s_spec[i].kind);
        assert_non_null(rule);
        assert_int_equal(rule->any, s_spec[i].any);
        assert_int_equal(rule->own, s_spec[i].own);
    }
    /* Replies and notices are never requests. */
    assert_null(gr_requests_access_rule(GRIDRELAY__BODY__KIND_ACK));
    assert_null(gr_requests_access_rule(GRIDRELAY__BODY__KIND_EVENT_DETAIL));
}

/* Every role set (all 64) against every kind: with no case, with zhang's
 * case as zhang / as li / as police / as safety, with a foreign case. */
static void test_whole_matrix(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_SPEC; i++) {
        const gr_access_rule_t *rule = gr_requests_access_rule(s_spec[i].kind);
        for (unsigned roles = 0; roles <= GR_ACCESS_ALL; roles++) {
            bool any = (roles & s_spec[i].any) != 0;
            unsigned own = roles & s_spec[i].own;
            gr_access_who_t zhang = s_who(roles, s_zhang, NULL);
            gr_access_who_t li = s_who(roles, s_li, NULL);
            gr_access_who_t police = s_who(roles, s_li, s_police);
            gr_access_who_t fire = s_who(roles, s_li, s_fire);
            gr_access_who_t safety = s_who(roles, s_li, s_safety);
            gr_access_who_t grid_1 = s_who(roles, s_li, NULL);
            grid_1.grid = "G-1";
            gr_access_t without = gr_access_decide(rule, &zhang, NULL);
            assert_int_equal(without, any ? GR_ACCESS_ALLOW : own ? GR_ACCESS_SCOPED : GR_ACCESS_DENY);
            gr_access_t expect_zhang = any || (own & R) ? GR_ACCESS_ALLOW : GR_ACCESS_DENY;
            assert_int_equal(gr_access_decide(rule, &zhang, &s_case), expect_zhang);
            gr_access_t expect_other = any ? GR_ACCESS_ALLOW : GR_ACCESS_DENY;
            assert_int_equal(gr_access_decide(rule, &li, &s_case), expect_other);
            gr_access_t expect_dept = any || (own & D) ? GR_ACCESS_ALLOW : GR_ACCESS_DENY;
            assert_int_equal(gr_access_decide(rule, &police, &s_case), expect_dept);
            assert_int_equal(gr_access_decide(rule, &fire, &s_case), expect_dept);
            assert_int_equal(gr_access_decide(rule, &safety, &s_case), expect_other);
            assert_int_equal(gr_access_decide(rule, &zhang, &s_foreign), expect_other);
            /* A reporter given grid G-1 reads G-1's cases, not G-2's. */
            assert_int_equal(gr_access_decide(rule, &grid_1, &s_case), expect_zhang);
            assert_int_equal(gr_access_decide(rule, &grid_1, &s_foreign), expect_other);
            assert_int_equal(gr_access_decide(rule, &police, &s_foreign), expect_other);
        }
    }
}

/* The cells the issue names, spelled out. */
static void test_named_cells(void **state)
{
    (void)state;
    const gr_access_rule_t *act = gr_requests_access_rule(GRIDRELAY__BODY__KIND_CASE_ACTION);
    const gr_access_rule_t *get = gr_requests_access_rule(GRIDRELAY__BODY__KIND_GET_EVENT);
    const gr_access_rule_t *list = gr_requests_access_rule(GRIDRELAY__BODY__KIND_LIST_EVENTS);
    const gr_access_rule_t *report = gr_requests_access_rule(GRIDRELAY__BODY__KIND_REPORT);
    gr_access_who_t worker = s_who(R, s_zhang, NULL);
    gr_access_who_t other = s_who(R, s_li, NULL);
    gr_access_who_t viewer = s_who(V, s_li, NULL);
    gr_access_who_t police = s_who(D, s_li, s_police);
    gr_access_who_t safety = s_who(D, s_li, s_safety);
    gr_access_who_t both = s_who(R | O, s_li, NULL);
    /* A grid worker cannot resolve, even its own case. */
    assert_int_equal(gr_access_decide(act, &worker, &s_case), GR_ACCESS_DENY);
    assert_int_equal(gr_access_decide(act, &worker, NULL), GR_ACCESS_DENY);
    /* It reads its own case, not another worker's; its list is narrowed. */
    assert_int_equal(gr_access_decide(get, &worker, &s_case), GR_ACCESS_ALLOW);
    assert_int_equal(gr_access_decide(get, &other, &s_case), GR_ACCESS_DENY);
    assert_int_equal(gr_access_decide(list, &other, NULL), GR_ACCESS_SCOPED);
    /* A viewer reads everything and acts on nothing. */
    assert_int_equal(gr_access_decide(get, &viewer, &s_case), GR_ACCESS_ALLOW);
    assert_int_equal(gr_access_decide(act, &viewer, &s_case), GR_ACCESS_DENY);
    assert_int_equal(gr_access_decide(report, &viewer, NULL), GR_ACCESS_DENY);
    /* A department reads the cases it has a task for only. */
    assert_int_equal(gr_access_decide(get, &police, &s_case), GR_ACCESS_ALLOW);
    assert_int_equal(gr_access_decide(get, &safety, &s_case), GR_ACCESS_DENY);
    /* Reporter and operator in one key (the old [reporters]): both. */
    assert_int_equal(gr_access_decide(act, &both, &s_case), GR_ACCESS_ALLOW);
    assert_int_equal(gr_access_decide(report, &both, NULL), GR_ACCESS_ALLOW);
}

static void test_edges(void **state)
{
    (void)state;
    const gr_access_rule_t *get = gr_requests_access_rule(GRIDRELAY__BODY__KIND_GET_EVENT);
    gr_access_who_t worker = s_who(R, s_zhang, NULL);
    gr_access_who_t keyless = s_who(R, NULL, NULL);
    gr_access_who_t codeless = s_who(D, s_li, NULL);
    gr_access_who_t empty_code = s_who(D, s_li, "");
    gr_access_case_t no_lead = {NULL, "", NULL, 0, NULL, false, false};
    gr_access_who_t empty_grid = s_who(R, s_li, NULL);
    empty_grid.grid = "";
    gr_access_case_t no_grid = {NULL, NULL, NULL, 0, "", false, false};
    assert_int_equal(gr_access_decide(get, &empty_grid, &no_grid), GR_ACCESS_DENY);
    gr_access_who_t grid_1 = s_who(R, s_li, NULL);
    grid_1.grid = "G-1";
    assert_int_equal(gr_access_decide(get, &grid_1, &no_grid), GR_ACCESS_DENY);
    /* A grid is a reporter's scope, not a department's. */
    gr_access_who_t dept_grid = s_who(D, s_li, s_safety);
    dept_grid.grid = "G-1";
    assert_int_equal(gr_access_decide(get, &dept_grid, &s_case), GR_ACCESS_DENY);
    assert_int_equal(gr_access_decide(NULL, &worker, &s_case), GR_ACCESS_DENY);
    assert_int_equal(gr_access_decide(get, NULL, &s_case), GR_ACCESS_DENY);
    assert_int_equal(gr_access_decide(get, &keyless, &s_case), GR_ACCESS_DENY);
    assert_int_equal(gr_access_decide(get, &codeless, &s_case), GR_ACCESS_DENY);
    assert_int_equal(gr_access_decide(get, &empty_code, &no_lead), GR_ACCESS_DENY);
    assert_false(gr_access_in_scope(NULL, &s_case));
    assert_false(gr_access_in_scope(&worker, NULL));
    /* A scope the rule does not grant does not count: a reporter that is
     * also a department, on a rule that scopes departments only. */
    gr_access_rule_t depts_only = {O, D};
    gr_access_who_t mixed = s_who(R | D, s_zhang, s_safety);
    assert_int_equal(gr_access_decide(&depts_only, &mixed, &s_case), GR_ACCESS_DENY);

    char text[64];
    assert_string_equal(gr_access_roles_text(R | O, text, sizeof text), "reporter,operator");
    assert_string_equal(gr_access_roles_text(0, text, sizeof text), "none");
    assert_string_equal(gr_access_roles_text(GR_ACCESS_ALL, text, sizeof text),
                        "reporter,operator,viewer,department,auditor,node");
    char tiny[12];
    assert_string_equal(gr_access_roles_text(R | O, tiny, sizeof tiny), "reporter");
}

/* A confidential case (issue 14 part 3): only a node, a named operator,
 * its own reporter (not its grid's leader) and a department with a task
 * pass, each where the rule lets its role in. */
static void test_confidential(void **state)
{
    (void)state;
    gr_access_rule_t get = {O | V | A | N, R | D}, act = {O, 0};
    gr_access_case_t c = s_case, named = s_case;
    c.confidential = named.confidential = true;
    named.named = true;
    gr_access_who_t leader = s_who(R, s_li, NULL);
    leader.grid = "G-1";
    assert_int_equal(gr_access_decide(&get, &leader, &s_case), GR_ACCESS_ALLOW);
    assert_int_equal(gr_access_decide(&get, &leader, &c), GR_ACCESS_DENY);
    gr_access_who_t op = s_who(O, s_li, NULL), viewer = s_who(V, s_li, NULL);
    gr_access_who_t auditor = s_who(A, s_li, NULL), node = s_who(N, NULL, NULL);
    gr_access_who_t zhang = s_who(R, s_zhang, NULL), police = s_who(D, NULL, "police");
    gr_access_who_t safety = s_who(D, NULL, "safety");
    assert_int_equal(gr_access_decide(&get, &op, &c), GR_ACCESS_DENY);
    assert_int_equal(gr_access_decide(&get, &op, &named), GR_ACCESS_ALLOW);
    assert_int_equal(gr_access_decide(&act, &op, &named), GR_ACCESS_ALLOW);
    assert_int_equal(gr_access_decide(&act, &op, &c), GR_ACCESS_DENY);
    assert_int_equal(gr_access_decide(&get, &viewer, &named), GR_ACCESS_DENY);
    assert_int_equal(gr_access_decide(&get, &auditor, &named), GR_ACCESS_DENY);
    assert_int_equal(gr_access_decide(&get, &node, &c), GR_ACCESS_ALLOW);
    assert_int_equal(gr_access_decide(&get, &zhang, &c), GR_ACCESS_ALLOW);
    assert_int_equal(gr_access_decide(&act, &zhang, &c), GR_ACCESS_DENY);
    assert_int_equal(gr_access_decide(&get, &police, &c), GR_ACCESS_ALLOW);
    assert_int_equal(gr_access_decide(&get, &safety, &c), GR_ACCESS_DENY);
    /* Without the case the role alone still decides, as before. */
    assert_int_equal(gr_access_decide(&get, &op, NULL), GR_ACCESS_ALLOW);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_the_spec),
        cmocka_unit_test(test_whole_matrix),
        cmocka_unit_test(test_named_cells),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_confidential),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
