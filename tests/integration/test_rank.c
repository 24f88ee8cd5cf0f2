/* Rankings (考核) and case statistics through real processes: a township
 * with two villages and two departments plays a scripted stretch of cases
 * on the test clock (accepted in time and late, taken over at a deadline,
 * returned by a department, urged), and `gridctl rank` gives exactly the
 * hand-computed figures and order, as JSON and CSV, by node and by
 * department, the same after a restart; `gridctl stats --by` counts them.
 *
 * The script, in hours on the test clock (limits everywhere: accept 1 h,
 * resolve 24 h; the township's departments: claim 1 h, complete 4 h):
 *   0    v1: a1, a2 reported; v2: b1 reported; town: t1 reported, to works
 *        v1 accepts a1, v2 accepts b1
 *   0.5  works claims t1
 *   2    a2 was not accepted in time: v1 hands it up, town accepts it;
 *        works completes t1; v1 resolves a1
 *   3    v2: b2 reported and accepted
 *   5    town resolves a2 (fed back to v1); v2 resolves b1;
 *        town: t2 reported, to works
 *   5.5  works returns t2 (退回): it goes to water
 *   6    town urges b2 (held at v2)
 *   7    water was urged by the task rules (claim due 6.5); claims t2
 *   8    water completes t2
 *   28   b2 was not resolved in time (due 27): v2 hands it up to town
 *   30 d the query, for the three days the cases came in
 * Figures (router/assess.h rules):
 *   v1   a1 good (2 h); a2 accept late          -> accept 50, resolve 100,
 *        first 100, feedback 100, overdue 1 of 2 -> score 80.0
 *   town t1 good (2 h), a2 good (3 h), t2 good but returned once (3 h),
 *        b2 never accepted nor resolved          -> accept 75, resolve 75,
 *        first 66.7, feedback 100, overdue 1 of 4 -> score 77.5
 *   v2   b1 good (5 h); b2 resolve late, urged   -> accept 100, resolve 50,
 *        first 100, feedback 100, overdue 1 of 2 -> score 75.0
 *   works t1 good (2 h); t2 returned before its claim deadline -> 100.0
 *   water t2 claimed late, completed in time (2.5 h) -> accept 0, overdue
 *        1 of 1, the rest 100                    -> score 60.0
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <zmq.h>

#include "event_id.h"
#include "harness.h"
#include "group.h"
#include "store_check.h"
#include "tiers_fixture.h"

enum { T, V1, V2, N };
enum { WORKS, WATER, N_DEPTS };

#define H (3600 * 1000)

typedef struct {
    harness_node_t n[N];
    gr_keypair_t depts[N_DEPTS];
    char clock[320];
    char catalogue[320];
    void *ctx;
} fx_t;

static fx_t s_fx;

static int s_setup(void **state)
{
    fx_t *fx = &s_fx;
    const char *names[N] = {"town-r", "village-r1", "village-r2"};
    for (int i = 0; i < N; i++) {
        if (harness_node_init(&fx->n[i], names[i], 1) != 0)
            return -1;
        snprintf(fx->n[i].tier, sizeof fx->n[i].tier, "%s", i == T ? "township" : "village");
    }
    if (nodes_share_clock_and_catalogue(fx->n, N, 0,
                "[T.VILLAGE]\nclass = t\nsubclass = t\nname = village matter\nauthority = village\n\n"
                "[T.WORKS]\nclass = t\nsubclass = t\nname = for the works\nauthority = township\n",
                fx->clock, fx->catalogue) != 0)
        return -1;
    for (int i = 0; i < N; i++)
        if (fixture_save_key(&fx->n[i].reporters[0], fx->n[i].dir, "reporter0") != 0)
            return -1;
    harness_node_t *t = &fx->n[T];
    t->status_listen = true;
    t->task_listen = true;
    char hex[N_DEPTS][GR_PUBLIC_KEY_HEX];
    const char *codes[N_DEPTS] = {"works", "water"};
    for (int d = 0; d < N_DEPTS; d++) {
        if (gr_keys_generate(&fx->depts[d]) != 0 || fixture_save_key(&fx->depts[d], t->dir, codes[d]) != 0)
            return -1;
        gr_key_to_hex(hex[d], fx->depts[d].pk);
    }
    snprintf(t->sections, sizeof t->sections,
             "[departments]\nworks = %s\nwater = %s\n\n[dispatch]\nT.WORKS = works, water\n\n"
             "[deadlines]\naccept.routine = 1h\nresolve.routine = 24h\nclaim.routine = 1h\n"
             "complete.routine = 4h\n\n[assessment]\naccept = 20\nresolve = 30\nfirst_time = 15\n"
             "feedback = 15\noverdue = 20\n\n",
             hex[WORKS], hex[WATER]);
    for (int i = V1; i < N; i++)
        snprintf(fx->n[i].sections, sizeof fx->n[i].sections,
                 "[deadlines]\naccept.routine = 1h\nresolve.routine = 24h\n\n");
    const int parent[N] = {-1, T, T};
    if (nodes_start_tree(fx->n, N, parent) != 0)
        return -1;
    fx->ctx = zmq_ctx_new();
    *state = fx;
    return fx->ctx ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    return nodes_teardown(s_fx.ctx, s_fx.n, N, s_fx.catalogue);
}

/* `gridctl ARGS` against node n, signed by key (a file in the township's
 * dir for the departments, else the node's reporter 0); stdout in out. */
static int s_gridctl_as(fx_t *fx, int n, const char *key, const char *args, char *out, size_t cap)
{
    char key_file[400];
    if (key)
        snprintf(key_file, sizeof key_file, "%.300s/%s.sec", fx->n[T].dir, key);
    return node_gridctl(&fx->n[n], key ? key_file : NULL, args, false, out, cap);
}

static int s_gridctl(fx_t *fx, int n, const char *args, char *out, size_t cap)
{
    return s_gridctl_as(fx, n, NULL, args, out, cap);
}

static void s_dept(fx_t *fx, const char *dept, const char *verb, const char *id, const char *text)
{
    char args[512], out[4096];
    snprintf(args, sizeof args, "dept %s %s%s%s%s", verb, id, text ? " '" : "", text ? text : "",
             text ? "'" : "");
    assert_int_equal(s_gridctl_as(fx, T, dept, args, out, sizeof out), 0);
}

typedef struct {
    fx_t *fx;
    int node;
    int64_t offset_ms;
} s_clock_wait_t;

/* Whether the node's clock (as a supervision list states it) has the
 * offset: a node reads the clock file at most every 10 ms. */
static bool s_node_moved(void *arg)
{
    s_clock_wait_t *w = arg;
    char out[16384];
    uint64_t before = gr_now_ms();
    if (s_gridctl(w->fx, w->node, "supervise --json", out, sizeof out) != 0)
        return false;
    const char *p = strstr(out, "\"now_ms\":");
    return p && strtoull(p + 9, NULL, 10) >= before + (uint64_t)w->offset_ms;
}

/* Moves every node's clock to offset ms and waits until each has it. */
static void s_clock(fx_t *fx, int64_t ms)
{
    assert_int_equal(harness_clock_set(fx->clock, ms), 0);
    for (int i = 0; i < N; i++) {
        s_clock_wait_t w = {fx, i, ms};
        assert_true(harness_wait_until(s_node_moved, &w, 20000));
    }
}

static void s_report(fx_t *fx, int n, char *id, const char *category)
{
    gr_event_id_new(id, gr_now_ms());
    assert_int_equal(node_report(&fx->n[n], fx->ctx, id, category, GRIDRELAY__SEVERITY__ROUTINE), 0);
}

static int s_act(fx_t *fx, int n, const char *id, int kind, const char *text)
{
    return node_action(&fx->n[n], fx->ctx, id, kind, text, NULL);
}

#define ACCEPT GRIDRELAY__CASE_ACTION__KIND__ACCEPT
#define RESOLVE GRIDRELAY__CASE_ACTION__KIND__RESOLVE
#define ST(x) GRIDRELAY__STATUS__##x

static bool s_wait_says(fx_t *fx, int node, const char *args, const char *text, int timeout_ms)
{
    return node_wait_gridctl_says(&fx->n[node], args, text, timeout_ms);
}

static void test_a_scripted_stretch_ranks_as_computed(void **state)
{
    fx_t *fx = *state;
    char a1[GR_EVENT_ID_LEN + 1], a2[GR_EVENT_ID_LEN + 1], b1[GR_EVENT_ID_LEN + 1],
        b2[GR_EVENT_ID_LEN + 1], t1[GR_EVENT_ID_LEN + 1], t2[GR_EVENT_ID_LEN + 1];
    char out[16384], args[512];
    /* The days the cases come in (the clock moves at most 28 h on). */
    time_t now = time(NULL);
    struct tm day0, day3;
    time_t later = now + 3 * 86400;
    gmtime_r(&now, &day0);
    gmtime_r(&later, &day3);
    char range[128];
    snprintf(range, sizeof range, "--from %04d-%02d-%02d --to %04d-%02d-%02d",
             day0.tm_year + 1900, day0.tm_mon + 1, day0.tm_mday, day3.tm_year + 1900,
             day3.tm_mon + 1, day3.tm_mday);

    /* 0 h */
    s_report(fx, V1, a1, "T.VILLAGE");
    s_report(fx, V1, a2, "T.VILLAGE");
    s_report(fx, V2, b1, "T.VILLAGE");
    s_report(fx, T, t1, "T.WORKS");
    assert_true(node_wait_status(&fx->n[T], fx->ctx, t1, ST(DISPATCHED), 20000));
    assert_int_equal(s_act(fx, V1, a1, ACCEPT, NULL), ST(ACCEPTED));
    assert_int_equal(s_act(fx, V2, b1, ACCEPT, NULL), ST(ACCEPTED));
    /* 0.5 h */
    s_clock(fx, H / 2);
    s_dept(fx, "works", "claim", t1, NULL);
    assert_true(node_wait_status(&fx->n[T], fx->ctx, t1, ST(IN_PROGRESS), 20000));
    /* 2 h: a2 goes up for not being accepted in time */
    s_clock(fx, 2 * H);
    assert_true(node_wait_status(&fx->n[T], fx->ctx, a2, ST(REPORTED), 20000));
    assert_int_equal(s_act(fx, T, a2, ACCEPT, NULL), ST(ACCEPTED));
    s_dept(fx, "works", "complete", t1, "mended");
    assert_true(node_wait_status(&fx->n[T], fx->ctx, t1, ST(RESOLVED), 20000));
    assert_int_equal(s_act(fx, V1, a1, RESOLVE, "settled"), ST(RESOLVED));
    /* 3 h */
    s_clock(fx, 3 * H);
    s_report(fx, V2, b2, "T.VILLAGE");
    assert_int_equal(s_act(fx, V2, b2, ACCEPT, NULL), ST(ACCEPTED));
    /* 5 h */
    s_clock(fx, 5 * H);
    assert_int_equal(s_act(fx, T, a2, RESOLVE, "settled by the town"), ST(RESOLVED));
    assert_true(node_wait_status(&fx->n[V1], fx->ctx, a2, ST(FED_BACK), 20000));
    assert_int_equal(s_act(fx, V2, b1, RESOLVE, "settled"), ST(RESOLVED));
    s_report(fx, T, t2, "T.WORKS");
    assert_true(node_wait_status(&fx->n[T], fx->ctx, t2, ST(DISPATCHED), 20000));
    /* 5.5 h: works gives t2 back; the table's next department gets it */
    s_clock(fx, 5 * H + H / 2);
    s_dept(fx, "works", "return", t2, "not ours");
    assert_true(node_wait_timeline(&fx->n[T], fx->ctx, t2, "dispatched to water", 20000));
    /* 6 h */
    s_clock(fx, 6 * H);
    /* The town urges what its view of the villages holds: wait for b2 there. */
    assert_true(s_wait_says(fx, T, "view", b2, 20000));
    snprintf(args, sizeof args, "urge %s --note 'finish it'", b2);
    assert_int_equal(s_gridctl(fx, T, args, out, sizeof out), 0);
    assert_true(node_wait_timeline(&fx->n[V2], fx->ctx, b2, "finish it", 20000));
    /* 7 h: the rules urge water first (claim due at 6.5 h) */
    s_clock(fx, 7 * H);
    assert_true(node_wait_timeline(&fx->n[T], fx->ctx, t2, "water has not claimed", 20000));
    s_dept(fx, "water", "claim", t2, NULL);
    /* 8 h */
    s_clock(fx, 8 * H);
    s_dept(fx, "water", "complete", t2, "pipe fixed");
    assert_true(node_wait_status(&fx->n[T], fx->ctx, t2, ST(RESOLVED), 20000));
    /* 28 h: b2 goes up for not being resolved in time */
    s_clock(fx, 28 * H);
    assert_true(node_wait_status(&fx->n[T], fx->ctx, b2, ST(REPORTED), 20000));
    /* Thirty days on, the town sees every village's last word. */
    s_clock(fx, 30 * 24 * (int64_t)H);
    assert_true(s_wait_says(fx, T, "view --json", "\"fed_back\"", 20000));
    assert_true(s_wait_says(fx, T, "view", "escalated", 20000));

    /* By node, as CSV: the order and every figure. */
    snprintf(args, sizeof args, "rank %s --csv", range);
    assert_true(s_wait_says(fx, T, args, ",village-r2,", 20000));
    /* rank,unit,score,received,accept%,resolve%,first%,feedback%,overdue,
     * returns,urges,avg_h,p90_h, then the counts behind the rates, then the
     * daily reports on time, late and missing (no [daily] here: 0). The
     * urges of the villages include the town's "taken over" notices
     * (督办) when a deadline sent a case up; the town's, the task rules'
     * notice to water. */
    static const char *const by_node[] = {
        "rank,unit,score,received,",
        "1,village-r1,80.0,2,50.0,100.0,100.0,100.0,1,0,1,2.0,2.0,2,1,1,1,1,1,1,0,0,0\n"
        "2,town-r,77.5,4,75.0,75.0,66.7,100.0,1,1,1,2.7,3.0,4,3,4,3,3,2,3,0,0,0\n"
        "3,village-r2,75.0,2,100.0,50.0,100.0,100.0,1,0,2,5.0,5.0,2,2,2,1,1,1,1,0,0,0\n",
    };
    /* The last status updates (v2's urge count after the town took b2
     * over) may still be on their way: wait for the figures, bounded. */
    assert_true(s_wait_says(fx, T, args, by_node[1], 20000));
    assert_int_equal(s_gridctl(fx, T, args, out, sizeof out), 0);
    assert_non_null(strstr(out, by_node[0]));
    assert_non_null(strstr(out, by_node[1]));
    char csv_before[16384];
    snprintf(csv_before, sizeof csv_before, "%s", out);

    /* The calendar month (and quarter) holding those days, when it holds
     * all three: the same figures (every deadline passed long before). */
    if (day0.tm_mon == day3.tm_mon) {
        snprintf(args, sizeof args, "rank --period month --at %04d-%02d --csv",
                 day0.tm_year + 1900, day0.tm_mon + 1);
        assert_int_equal(s_gridctl(fx, T, args, out, sizeof out), 0);
        assert_string_equal(out, csv_before);
        snprintf(args, sizeof args, "rank --period quarter --at %04d-Q%d --csv",
                 day0.tm_year + 1900, day0.tm_mon / 3 + 1);
        assert_int_equal(s_gridctl(fx, T, args, out, sizeof out), 0);
        assert_string_equal(out, csv_before);
    }

    /* The same as JSON. */
    snprintf(args, sizeof args, "rank %s --json", range);
    assert_int_equal(s_gridctl(fx, T, args, out, sizeof out), 0);
    assert_non_null(strstr(out, "\"weights\":{\"accept\":20,\"resolve\":30,\"first_time\":15,"
                                "\"feedback\":15,\"overdue\":20}"));
    assert_non_null(strstr(out, "{\"rank\":2,\"unit\":\"town-r\",\"score\":77.5,\"received\":4,"
                                "\"accepted_on_time_pct\":75.0,\"resolved_on_time_pct\":75.0,"
                                "\"first_time_pct\":66.7,\"feedback_pct\":100.0,\"overdue\":1,"
                                "\"returns\":1,\"urges\":1,\"avg_handling_h\":2.7,"
                                "\"p90_handling_h\":3.0,"));
    const char *r1 = strstr(out, "\"unit\":\"village-r1\"");
    const char *r2 = strstr(out, "\"unit\":\"town-r\"");
    const char *r3 = strstr(out, "\"unit\":\"village-r2\"");
    assert_true(r1 && r2 && r3 && r1 < r2 && r2 < r3);
    char json_before[16384];
    snprintf(json_before, sizeof json_before, "%s", out);

    /* By department: each lead department's turns at the town's cases. */
    snprintf(args, sizeof args, "rank %s --by department --csv", range);
    assert_int_equal(s_gridctl(fx, T, args, out, sizeof out), 0);
    assert_non_null(strstr(out, "1,works,100.0,2,100.0,100.0,100.0,100.0,0,1,0,2.0,2.0,1,1,1,1,1,1,1,0,0,0\n"
                                "2,water,60.0,1,0.0,100.0,100.0,100.0,1,0,1,2.5,2.5,1,0,1,1,1,1,1,0,0,0\n"));
    char dept_before[16384];
    snprintf(dept_before, sizeof dept_before, "%s", out);

    /* Counts over time, each case once where it is held. */
    snprintf(args, sizeof args, "stats --by category %s --csv", range);
    assert_int_equal(s_gridctl(fx, T, args, out, sizeof out), 0);
    assert_string_equal(out, "category,count\nT.VILLAGE,4\nT.WORKS,2\n");
    snprintf(args, sizeof args, "stats --by tier %s --json", range);
    assert_int_equal(s_gridctl(fx, T, args, out, sizeof out), 0);
    assert_non_null(strstr(out, "\"counts\":{\"1\":2,\"2\":4},\"total\":6"));
    assert_int_equal(s_gridctl(fx, T, "stats --by status --csv", out, sizeof out), 0);
    assert_string_equal(out, "status,count\nreported,1\nresolved,5\n");
    assert_int_equal(s_gridctl(fx, T, "stats --by day --json", out, sizeof out), 0);
    assert_non_null(strstr(out, "\"total\":6"));
    /* Without --by: the counters, as before. */
    assert_int_equal(s_gridctl(fx, T, "stats", out, sizeof out), 0);
    assert_non_null(strstr(out, "node town-r"));
    /* Nothing received before the cases: no units. */
    assert_int_equal(s_gridctl(fx, T, "rank --from 2020-01-01 --to 2020-01-31 --csv", out, sizeof out), 0);
    assert_string_equal(out, "rank,unit,score,received,accepted_on_time_pct,resolved_on_time_pct,"
                             "first_time_pct,feedback_pct,overdue,returns,urges,avg_handling_h,"
                             "p90_handling_h,accept_judged,accepted_on_time,resolve_judged,"
                             "resolved_on_time,resolved,first_time,fed_back,daily_on_time,"
                             "daily_late,daily_missing\n");
    /* Bad requests are refused and counted. */
    assert_int_equal(s_gridctl(fx, T, "rank --from 2026-02-30 --to 2026-03-01", out, sizeof out), 2);
    assert_int_equal(s_gridctl(fx, T, "rank --period year", out, sizeof out), 2);
    assert_int_equal(s_gridctl(fx, T, "stats --by colour", out, sizeof out), 2);

    /* A request the node refuses, counted, and a department may not ask. */
    assert_int_equal(s_gridctl(fx, T, "stats --json", out, sizeof out), 0);
    const char *inv = strstr(out, "\"rejected_invalid\":");
    assert_non_null(inv);
    unsigned long long invalid = strtoull(inv + 19, NULL, 10);
    gr_client_t *client = harness_client(&fx->n[T], fx->ctx, 0);
    assert_non_null(client);
    Gridrelay__GetRanking bad = GRIDRELAY__GET_RANKING__INIT;
    bad.from_ms = 2000;
    bad.to_ms = 1000;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_RANKING;
    body.get_ranking = &bad;
    gr_opened_t reply;
    assert_int_equal(gr_client_call(client, &body, &reply, 5000, 3), 0);
    assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_ERROR);
    assert_int_equal(reply.body->error->code, GRIDRELAY__ERROR_CODE__ERR_INVALID);
    gr_opened_clear(&reply);
    gr_client_destroy(&client);
    assert_int_equal(s_gridctl(fx, T, "stats --json", out, sizeof out), 0);
    inv = strstr(out, "\"rejected_invalid\":");
    assert_non_null(inv);
    assert_int_equal(strtoull(inv + 19, NULL, 10), invalid + 1);
    snprintf(args, sizeof args, "rank %s", range);
    assert_int_equal(s_gridctl_as(fx, T, "works", args, out, sizeof out), 1);

    /* After a restart: the same figures, to the byte. */
    assert_int_equal(harness_node_stop(&fx->n[T], SIGTERM), 0);
    assert_int_equal(harness_node_start(&fx->n[T]), 0);
    snprintf(args, sizeof args, "rank %s --csv", range);
    assert_int_equal(s_gridctl(fx, T, args, out, sizeof out), 0);
    assert_string_equal(out, csv_before);
    snprintf(args, sizeof args, "rank %s --json", range);
    assert_int_equal(s_gridctl(fx, T, args, out, sizeof out), 0);
    assert_string_equal(out, json_before);
    snprintf(args, sizeof args, "rank %s --by department --csv", range);
    assert_int_equal(s_gridctl(fx, T, args, out, sizeof out), 0);
    assert_string_equal(out, dept_before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_scripted_stretch_ranks_as_computed),
    };
    return GROUP_RUN(tests, s_setup, s_teardown);
}
