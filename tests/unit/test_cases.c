/* Unit tests for node/cases: the lifecycle table, cell by cell, against
 * the table in docs/ARCHITECTURE.md section 5 (and PROTOCOL.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cases.h"

#define S(x) GRIDRELAY__STATUS__##x
#define A(x) GRIDRELAY__ACTION__ACTION_##x
#define N_STATUS (S(RETURNED) + 1)
#define N_ACTION (A(UNMERGE) + 1)

/* The documented table: rows are states (0 = a new case), columns the
 * actions report..unmerge, '.' = refused. Letters: R reported, A accepted,
 * D dispatched, G assigned, I in_progress, V resolved, F fed_back,
 * C closed, E escalated, T returned. */
static const char *const s_doc[N_STATUS] = {
    /*           rep acc dis asg clm prg ret res fbk cls esc ddl urg mrg unm */
    [0]        = "R . . R . . . . . . R . . . .",
    [S(REPORTED)]    = ". A D G . R . V . . E R R R R",
    [S(ACCEPTED)]    = ". . D G . I . V . . E A A A A",
    [S(DISPATCHED)]  = ". . D . I D T V . . E D D D D",
    [S(ASSIGNED)]    = ". . . . I G T V . . E G G G G",
    [S(IN_PROGRESS)] = ". . D . . I T V . . E I I I I",
    [S(RESOLVED)]    = ". . . . . . . . F C . . . . .",
    [S(FED_BACK)]    = ". . . . . . . . . C . . . . .",
    [S(CLOSED)]      = ". . . . . . . . . . . . . . .",
    [S(ESCALATED)]   = ". . . R . E . . F . . . E . .",
    [S(RETURNED)]    = ". A D G . T . V . . E T T T T",
};

static Gridrelay__Status s_letter(char c)
{
    switch (c) {
    case 'R': return S(REPORTED);
    case 'A': return S(ACCEPTED);
    case 'D': return S(DISPATCHED);
    case 'G': return S(ASSIGNED);
    case 'I': return S(IN_PROGRESS);
    case 'V': return S(RESOLVED);
    case 'F': return S(FED_BACK);
    case 'C': return S(CLOSED);
    case 'E': return S(ESCALATED);
    case 'T': return S(RETURNED);
    default: return S(STATUS_UNSPECIFIED);
    }
}

static void test_every_cell_is_as_documented(void **state)
{
    (void)state;
    for (int from = 0; from < N_STATUS; from++) {
        const char *row = s_doc[from];
        assert_non_null(row);
        assert_int_equal(strlen(row), 2 * (N_ACTION - 1) - 1);
        for (int action = A(REPORT); action < N_ACTION; action++) {
            Gridrelay__Status want = s_letter(row[2 * (action - 1)]);
            Gridrelay__Status got = gr_case_next((Gridrelay__Status)from, (Gridrelay__Action)action);
            if (got != want)
                fail_msg("%s + %s: table says %s, code says %s",
                         gr_case_status_name((Gridrelay__Status)from),
                         gr_case_action_name((Gridrelay__Action)action),
                         gr_case_status_name(want), gr_case_status_name(got));
        }
    }
}

static void test_out_of_range_is_refused(void **state)
{
    (void)state;
    assert_int_equal(gr_case_next((Gridrelay__Status)99, A(ACCEPT)), S(STATUS_UNSPECIFIED));
    assert_int_equal(gr_case_next(S(REPORTED), (Gridrelay__Action)99), S(STATUS_UNSPECIFIED));
    assert_int_equal(gr_case_next(S(REPORTED), GRIDRELAY__ACTION__ACTION_UNSPECIFIED), S(STATUS_UNSPECIFIED));
}

static void test_open_states(void **state)
{
    (void)state;
    for (int s = S(REPORTED); s < N_STATUS; s++) {
        bool closed = s == S(RESOLVED) || s == S(FED_BACK) || s == S(CLOSED);
        assert_int_equal(gr_case_open((Gridrelay__Status)s), !closed);
    }
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(gr_case_status_name(S(IN_PROGRESS)), "in_progress");
    assert_string_equal(gr_case_action_name(A(ESCALATE)), "escalate");
    assert_non_null(gr_case_status_name((Gridrelay__Status)99));
    assert_non_null(gr_case_action_name((Gridrelay__Action)99));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_cell_is_as_documented),
        cmocka_unit_test(test_out_of_range_is_refused),
        cmocka_unit_test(test_open_states),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
