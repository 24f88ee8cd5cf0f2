/* Duplicate reports of one incident (合并) through real processes: a
 * township over two villages, on a test clock. Two grid workers report one
 * fire: the second report is flagged as a candidate duplicate, merged with
 * gridctl merge, and both reporters' events get the result when the
 * surviving case is resolved, at one village and across two villages
 * merged at the township; a merge made at a village travels up with the
 * case; unmerge gives a report its own deadlines back; bad merges are
 * refused and change nothing; a restart keeps the merge. */
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
#include "group.h"
#include "store_check.h"
#include "tiers_fixture.h"

enum { D, T, V1, V2, N };

typedef struct {
    harness_node_t n[N];
    gr_keypair_t police;
    char clock[320];
    char catalogue[320];
    void *ctx;
} fx_t;

static fx_t s_fx;

typedef char s_id_t[GR_EVENT_ID_LEN + 1];

static int s_setup(void **state)
{
    fx_t *fx = &s_fx;
    const char *names[N] = {"district-m", "town-m", "village-m1", "village-m2"};
    const char *tiers[N] = {"district", "township", "village", "village"};
    if (nodes_init_tiers(fx->n, N, names, tiers, 2) != 0)
        return -1;
    if (nodes_share_clock_and_catalogue(fx->n, N, 0,
                "[T.FIRE]\nclass = t\nsubclass = t\nname = a fire\nauthority = village\n\n"
                "[T.DISPUTE]\nclass = t\nsubclass = t\nname = a dispute\nauthority = village\n\n"
                "[T.TOWN]\nclass = t\nsubclass = t\nname = township matter\nauthority = township\n\n"
                "[T.POLICE]\nclass = t\nsubclass = t\nname = for the police\nauthority = township\n",
                fx->clock, fx->catalogue) != 0)
        return -1;
    /* gridctl reads the operator's key from a file: reporter 0. */
    for (int i = 0; i < N; i++)
        if (fixture_save_key(&fx->n[i].reporters[0], fx->n[i].dir, "reporter0") != 0)
            return -1;
    /* The township: candidates within 2 hours and 300 m, and a police
     * desk that gets every T.POLICE case at once (分流). */
    char hex[GR_PUBLIC_KEY_HEX];
    if (gr_keys_generate(&fx->police) != 0)
        return -1;
    gr_key_to_hex(hex, fx->police.pk);
    fx->n[T].task_listen = true;
    snprintf(fx->n[T].sections, sizeof fx->n[T].sections,
             "[merge]\nwindow = 2h\ndistance = 300m\n\n[departments]\npolice = %s, police desk\n\n"
             "[dispatch]\nT.POLICE = police\n\n", hex);
    /* The villages: candidates on with the defaults; cases not accepted
     * within an hour go up (督办). */
    for (int i = V1; i <= V2; i++)
        snprintf(fx->n[i].sections, sizeof fx->n[i].sections,
                 "[merge]\n\n[deadlines]\naccept.routine = 1h\n\n");
    /* Parents first: children need their endpoints. */
    const int parent[N] = {-1, D, T, T};
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

static int s_gridctl(fx_t *fx, int n, const char *args, char *out, size_t cap)
{
    return node_gridctl(&fx->n[n], NULL, args, true, out, cap);
}

static bool s_wait_says(fx_t *fx, int node, const char *args, const char *text, int timeout_ms)
{
    return node_wait_gridctl_says(&fx->n[node], args, text, timeout_ms);
}

/* `gridctl show ID` at node n into out; asserts it succeeded. */
static void s_show(fx_t *fx, int n, const char *id, char *out, size_t cap)
{
    char args[128];
    snprintf(args, sizeof args, "show %s", id);
    assert_int_equal(s_gridctl(fx, n, args, out, cap), 0);
}

/* A report by grid worker `reporter` of node n, at a grid code or at
 * coordinates (grid NULL). */
static void s_report(fx_t *fx, int n, size_t reporter, char *id, const char *category,
                     const char *grid, double lat, double lon)
{
    gr_event_id_new(id, gr_now_ms());
    Gridrelay__Location loc = GRIDRELAY__LOCATION__INIT;
    loc.grid_code = (char *)(grid ? grid : "");
    loc.has_coordinates = grid == NULL;
    loc.lat = lat;
    loc.lon = lon;
    Gridrelay__Event event = GRIDRELAY__EVENT__INIT;
    event.id = id;
    event.category = (char *)category;
    event.title = (char *)"smoke over the barn";
    event.location = &loc;
    Gridrelay__Report report = GRIDRELAY__REPORT__INIT;
    report.event = &event;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_REPORT;
    body.report = &report;
    gr_client_t *client = harness_client(&fx->n[n], fx->ctx, reporter);
    assert_non_null(client);
    gr_opened_t reply;
    assert_int_equal(gr_client_call(client, &body, &reply, 5000, 3), 0);
    assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_ACK);
    gr_opened_clear(&reply);
    gr_client_destroy(&client);
}

/* Two grid workers of one village report one fire: one case, both
 * reporters get the result. */
static void test_one_village(void **state)
{
    fx_t *fx = *state;
    s_id_t a, b, other;
    char out[16384], args[256];
    s_report(fx, V1, 0, a, "T.FIRE", "G-M1-07", 0, 0);
    s_report(fx, V1, 1, b, "T.FIRE", "G-M1-07", 0, 0);
    s_report(fx, V1, 1, other, "T.FIRE", "G-M1-99", 0, 0);  /* another grid: not a candidate */
    s_show(fx, V1, b, out, sizeof out);
    char want[160];
    snprintf(want, sizeof want, "Candidate duplicate of %s", a);
    assert_non_null(strstr(out, want));
    s_show(fx, V1, other, out, sizeof out);
    assert_null(strstr(out, "Candidate"));
    assert_int_equal(s_gridctl(fx, V1, "list", out, sizeof out), 0);
    snprintf(want, sizeof want, "[candidate duplicate of %s]", a);
    assert_non_null(strstr(out, want));

    snprintf(args, sizeof args, "merge %s %s --note 'one fire'", b, a);
    assert_int_equal(s_gridctl(fx, V1, args, out, sizeof out), 0);
    snprintf(want, sizeof want, "%s merged into %s", b, a);
    assert_non_null(strstr(out, want));
    s_show(fx, V1, b, out, sizeof out);
    snprintf(want, sizeof want, "Status    reported, merged into %s (at village-m1)", a);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "one fire"));
    /* The merged report keeps its own signed record: the reporter is still
     * grid worker 1, the first timeline entry its report. */
    assert_non_null(strstr(out, "reported by worker-1"));
    s_show(fx, V1, a, out, sizeof out);
    snprintf(want, sizeof want, "Merged    %s", b);
    assert_non_null(strstr(out, want));
    snprintf(want, sizeof want, "%s (reported at village-m1) merged into this case", b);
    assert_non_null(strstr(out, want));
    assert_int_equal(s_gridctl(fx, V1, "list", out, sizeof out), 0);
    snprintf(want, sizeof want, "[merged into %s]", a);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "[1 merged]"));
    /* A merged report takes no actions of its own. */
    snprintf(args, sizeof args, "accept %s", b);
    assert_int_equal(s_gridctl(fx, V1, args, out, sizeof out), 1);
    assert_non_null(strstr(out, "forbidden"));

    snprintf(args, sizeof args, "resolve %s --result 'fire out, barn saved'", a);
    assert_int_equal(s_gridctl(fx, V1, args, out, sizeof out), 0);
    assert_true(node_wait_status(&fx->n[V1], fx->ctx, b, GRIDRELAY__STATUS__RESOLVED, 20000));
    s_show(fx, V1, b, out, sizeof out);
    assert_non_null(strstr(out, "Result    fire out, barn saved"));
    snprintf(want, sizeof want, "resolved with %s", a);
    assert_non_null(strstr(out, want));
    s_show(fx, V1, a, out, sizeof out);
    assert_non_null(strstr(out, "Result    fire out, barn saved"));
    /* The unrelated report is untouched. */
    assert_int_equal(node_status(&fx->n[V1], fx->ctx, other, NULL, 0), GRIDRELAY__STATUS__REPORTED);
    snprintf(args, sizeof args, "resolve %s --result 'false alarm'", other);
    assert_int_equal(s_gridctl(fx, V1, args, out, sizeof out), 0);
}

/* The refusals: nothing changes. */
static void test_bad_merges(void **state)
{
    fx_t *fx = *state;
    s_id_t a, b, dispute, closed;
    char out[16384], args[256], before[16384], after[16384];
    s_report(fx, V1, 0, a, "T.FIRE", "G-M1-20", 0, 0);
    s_report(fx, V1, 1, b, "T.FIRE", "G-M1-20", 0, 0);
    s_report(fx, V1, 1, dispute, "T.DISPUTE", "G-M1-20", 0, 0);
    s_report(fx, V1, 0, closed, "T.FIRE", "G-M1-21", 0, 0);
    snprintf(args, sizeof args, "resolve %s --result done", closed);
    assert_int_equal(s_gridctl(fx, V1, args, out, sizeof out), 0);
    s_show(fx, V1, b, before, sizeof before);
    char cmd[7][256];
    snprintf(cmd[0], sizeof cmd[0], "merge %s %s", b, b);
    snprintf(cmd[1], sizeof cmd[1], "merge %s 01ARZ3NDEKTSV4RRFFQ69G5FAV", b);
    snprintf(cmd[2], sizeof cmd[2], "merge %s %s", b, dispute);
    snprintf(cmd[3], sizeof cmd[3], "merge %s %s", b, closed);
    snprintf(cmd[4], sizeof cmd[4], "merge %s %s", closed, b);
    snprintf(cmd[5], sizeof cmd[5], "unmerge %s", b);
    snprintf(cmd[6], sizeof cmd[6], "merge 01ARZ3NDEKTSV4RRFFQ69G5FAV %s", a);
    const char *want[7][2] = {
        {"invalid", "cannot be merged into itself"},
        {"not_found", "no case 01ARZ3NDEKTSV4RRFFQ69G5FAV"},
        {"invalid", "the categories differ"},
        {"forbidden", "only open cases are merged"},
        {"forbidden", "only open cases are merged"},
        {"forbidden", "is not merged"},
        {"not_found", "no such case on this node"},
    };
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(s_gridctl(fx, V1, cmd[i], out, sizeof out), 1);
        if (!strstr(out, want[i][0]) || !strstr(out, want[i][1]))
            fail_msg("gridctl %s: %s", cmd[i], out);
    }
    assert_int_equal(s_gridctl(fx, V1, "merge", out, sizeof out), 2);  /* usage */
    s_show(fx, V1, b, after, sizeof after);
    assert_string_equal(before, after);
    s_show(fx, V1, a, out, sizeof out);
    assert_null(strstr(out, "Merged "));
    /* Merged twice: refused too. */
    snprintf(args, sizeof args, "merge %s %s", b, a);
    assert_int_equal(s_gridctl(fx, V1, args, out, sizeof out), 0);
    assert_int_equal(s_gridctl(fx, V1, args, out, sizeof out), 1);
    assert_non_null(strstr(out, "already merged"));
    snprintf(args, sizeof args, "merge %s %s", a, b);  /* into a merged one */
    assert_int_equal(s_gridctl(fx, V1, args, out, sizeof out), 1);
    snprintf(args, sizeof args, "unmerge %s", b);
    assert_int_equal(s_gridctl(fx, V1, args, out, sizeof out), 0);
    assert_non_null(strstr(out, "a case of its own again"));
    s_show(fx, V1, a, out, sizeof out);
    assert_null(strstr(out, "Merged "));
    assert_non_null(strstr(out, "unmerged from this case"));
    const char *ids[] = {a, b, dispute};
    for (size_t i = 0; i < 3; i++) {
        snprintf(args, sizeof args, "resolve %s --result done", ids[i]);
        assert_int_equal(s_gridctl(fx, V1, args, out, sizeof out), 0);
    }
}

/* One fire reported at two villages, both escalated to the township and
 * merged there; a restart keeps the merge; the result reaches both. */
static void test_two_villages(void **state)
{
    fx_t *fx = *state;
    s_id_t a, b;
    char out[16384], args[256], want[160];
    s_report(fx, V1, 0, a, "T.TOWN", NULL, 30.0, 120.0);
    assert_true(node_wait_status(&fx->n[T], fx->ctx, a, GRIDRELAY__STATUS__REPORTED, 20000));
    s_report(fx, V2, 1, b, "T.TOWN", NULL, 30.001, 120.0);  /* 111 m away */
    assert_true(node_wait_status(&fx->n[T], fx->ctx, b, GRIDRELAY__STATUS__REPORTED, 20000));
    s_show(fx, T, b, out, sizeof out);
    snprintf(want, sizeof want, "Candidate duplicate of %s", a);
    assert_non_null(strstr(out, want));
    /* A third report at the first village: no candidate there (a is held
     * above, where it would be merged), one at the township. */
    s_id_t x;
    s_report(fx, V1, 1, x, "T.TOWN", NULL, 30.0005, 120.0005);
    assert_true(node_wait_status(&fx->n[T], fx->ctx, x, GRIDRELAY__STATUS__REPORTED, 20000));
    s_show(fx, V1, x, out, sizeof out);
    assert_null(strstr(out, "Candidate"));
    s_show(fx, T, x, out, sizeof out);
    assert_non_null(strstr(out, want));
    snprintf(args, sizeof args, "resolve %s --result 'the same fire, seen from the road'", x);
    assert_int_equal(s_gridctl(fx, T, args, out, sizeof out), 0);

    snprintf(args, sizeof args, "merge %s %s", b, a);
    assert_int_equal(s_gridctl(fx, T, args, out, sizeof out), 0);
    /* Merged at the township: the village cannot undo it. */
    snprintf(args, sizeof args, "unmerge %s", b);
    assert_int_equal(s_gridctl(fx, V2, args, out, sizeof out), 1);

    assert_int_equal(harness_node_stop(&fx->n[T], SIGTERM), 0);
    assert_int_equal(harness_node_start(&fx->n[T]), 0);
    s_show(fx, T, b, out, sizeof out);
    snprintf(want, sizeof want, "merged into %s (at town-m)", a);
    assert_non_null(strstr(out, want));
    s_show(fx, T, a, out, sizeof out);
    snprintf(want, sizeof want, "Merged    %s", b);
    assert_non_null(strstr(out, want));

    snprintf(args, sizeof args, "resolve %s --result 'fire brigade put it out'", a);
    assert_int_equal(s_gridctl(fx, T, args, out, sizeof out), 0);
    assert_true(node_wait_status(&fx->n[V1], fx->ctx, a, GRIDRELAY__STATUS__FED_BACK, 30000));
    assert_true(node_wait_status(&fx->n[V2], fx->ctx, b, GRIDRELAY__STATUS__FED_BACK, 30000));
    s_show(fx, V2, b, out, sizeof out);
    assert_non_null(strstr(out, "Result    fire brigade put it out"));
    s_show(fx, V1, a, out, sizeof out);
    assert_non_null(strstr(out, "Result    fire brigade put it out"));
    assert_int_equal(node_status(&fx->n[T], fx->ctx, b, NULL, 0), GRIDRELAY__STATUS__RESOLVED);
}

/* Merged at the village, then escalated: the township learns which report
 * the case absorbed, and the result comes back to both. */
static void test_merge_travels_up(void **state)
{
    fx_t *fx = *state;
    s_id_t a, b;
    char out[16384], args[256], want[160];
    s_report(fx, V2, 0, a, "T.FIRE", "G-M2-03", 0, 0);
    s_report(fx, V2, 1, b, "T.FIRE", "G-M2-03", 0, 0);
    snprintf(args, sizeof args, "merge %s %s", b, a);
    assert_int_equal(s_gridctl(fx, V2, args, out, sizeof out), 0);
    snprintf(args, sizeof args, "escalate %s --reason 'too big for us'", a);
    assert_int_equal(s_gridctl(fx, V2, args, out, sizeof out), 0);
    assert_true(node_wait_status(&fx->n[T], fx->ctx, b, GRIDRELAY__STATUS__REPORTED, 20000));
    s_show(fx, T, b, out, sizeof out);
    snprintf(want, sizeof want, "merged into %s (at village-m2)", a);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "came up"));
    s_show(fx, T, a, out, sizeof out);
    snprintf(want, sizeof want, "Merged    %s", b);
    assert_non_null(strstr(out, want));
    s_show(fx, V2, b, out, sizeof out);
    assert_non_null(strstr(out, "went up to town-m"));
    /* Its result comes back with the case it went up with. */
    snprintf(args, sizeof args, "unmerge %s", b);
    assert_int_equal(s_gridctl(fx, V2, args, out, sizeof out), 1);

    snprintf(args, sizeof args, "resolve %s --result 'out by noon'", a);
    assert_int_equal(s_gridctl(fx, T, args, out, sizeof out), 0);
    assert_true(node_wait_status(&fx->n[V2], fx->ctx, a, GRIDRELAY__STATUS__FED_BACK, 30000));
    assert_true(node_wait_status(&fx->n[V2], fx->ctx, b, GRIDRELAY__STATUS__RESOLVED, 30000));
    s_show(fx, V2, b, out, sizeof out);
    assert_non_null(strstr(out, "Result    out by noon"));
}

/* The police's open tasks at the township, as event ids. */
static void s_police_tasks(fx_t *fx, char *out, size_t cap)
{
    gr_client_t *police = gr_client_new(fx->ctx, fx->n[T].endpoint, &fx->police, fx->n[T].node_key.pk);
    assert_non_null(police);
    Gridrelay__ListTasks lt = GRIDRELAY__LIST_TASKS__INIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_LIST_TASKS;
    body.list_tasks = &lt;
    gr_opened_t reply;
    assert_int_equal(gr_client_call(police, &body, &reply, 5000, 3), 0);
    assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_TASK_LIST);
    out[0] = '\0';
    size_t len = 0;
    for (size_t i = 0; i < reply.body->task_list->n_tasks && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s ", reply.body->task_list->tasks[i]->event_id);
    gr_opened_clear(&reply);
    gr_client_destroy(&police);
}

/* Both reports dispatched to the police at the township: merged, the
 * second one's task is withdrawn, and the police's completion of the
 * first resolves both, the result reaching both villages. */
static void test_department_resolves_both(void **state)
{
    fx_t *fx = *state;
    s_id_t a, b;
    char out[16384], args[256], tasks[1024];
    s_report(fx, V1, 0, a, "T.POLICE", "G-T-05", 0, 0);
    assert_true(node_wait_status(&fx->n[T], fx->ctx, a, GRIDRELAY__STATUS__DISPATCHED, 20000));
    s_report(fx, V2, 0, b, "T.POLICE", "G-T-05", 0, 0);
    assert_true(node_wait_status(&fx->n[T], fx->ctx, b, GRIDRELAY__STATUS__DISPATCHED, 20000));
    s_police_tasks(fx, tasks, sizeof tasks);
    assert_non_null(strstr(tasks, b));
    snprintf(args, sizeof args, "merge %s %s", b, a);
    assert_int_equal(s_gridctl(fx, T, args, out, sizeof out), 0);
    s_police_tasks(fx, tasks, sizeof tasks);
    assert_non_null(strstr(tasks, a));
    assert_null(strstr(tasks, b));
    assert_true(node_wait_timeline(&fx->n[T], fx->ctx, b, "merged into", 5000));
    s_show(fx, T, b, out, sizeof out);
    assert_non_null(strstr(out, "Holder    town-m"));
    assert_null(strstr(out, "Dept "));

    gr_client_t *police = gr_client_new(fx->ctx, fx->n[T].endpoint, &fx->police, fx->n[T].node_key.pk);
    assert_non_null(police);
    Gridrelay__TaskAction ta = GRIDRELAY__TASK_ACTION__INIT;
    ta.event_id = a;
    ta.kind = GRIDRELAY__TASK_ACTION__KIND__COMPLETE;
    ta.text = (char *)"both parties reconciled";
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_TASK_ACTION;
    body.task_action = &ta;
    gr_opened_t reply;
    assert_int_equal(gr_client_call(police, &body, &reply, 5000, 3), 0);
    assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_ACK);
    gr_opened_clear(&reply);
    gr_client_destroy(&police);
    assert_true(node_wait_status(&fx->n[T], fx->ctx, b, GRIDRELAY__STATUS__RESOLVED, 20000));
    assert_true(node_wait_status(&fx->n[V1], fx->ctx, a, GRIDRELAY__STATUS__FED_BACK, 30000));
    assert_true(node_wait_status(&fx->n[V2], fx->ctx, b, GRIDRELAY__STATUS__FED_BACK, 30000));
    s_show(fx, V2, b, out, sizeof out);
    assert_non_null(strstr(out, "Result    both parties reconciled"));
}

/* While merged, a report's own deadline does nothing; unmerged, it is
 * its own case again and goes up at once. Last: it moves the clock. */
static void test_unmerge_restores_lifecycle(void **state)
{
    fx_t *fx = *state;
    s_id_t a, b, c;
    char out[16384], args[256];
    s_report(fx, V1, 0, a, "T.FIRE", "G-M1-40", 0, 0);
    s_report(fx, V1, 1, b, "T.FIRE", "G-M1-40", 0, 0);
    snprintf(args, sizeof args, "merge %s %s", b, a);
    assert_int_equal(s_gridctl(fx, V1, args, out, sizeof out), 0);
    snprintf(args, sizeof args, "accept %s", a);
    assert_int_equal(s_gridctl(fx, V1, args, out, sizeof out), 0);
    s_report(fx, V1, 0, c, "T.DISPUTE", "G-M1-41", 0, 0);  /* not merged: its deadline runs */

    /* Two hours on: c, reported after b, is taken over by the township,
     * so b's older deadline was reached too: it stays, merged. */
    assert_int_equal(harness_clock_set(fx->clock, 2 * 3600 * 1000), 0);
    assert_true(node_wait_status(&fx->n[V1], fx->ctx, c, GRIDRELAY__STATUS__ESCALATED, 20000));
    char timeline[8192];
    assert_int_equal(node_status(&fx->n[V1], fx->ctx, b, timeline, sizeof timeline),
                     GRIDRELAY__STATUS__REPORTED);
    assert_null(strstr(timeline, "not_accepted_in_time"));
    assert_int_equal(s_gridctl(fx, V1, "supervise", out, sizeof out), 0);
    assert_null(strstr(out, b));

    snprintf(args, sizeof args, "unmerge %s --note 'a second fire after all'", b);
    assert_int_equal(s_gridctl(fx, V1, args, out, sizeof out), 0);
    assert_true(node_wait_status(&fx->n[V1], fx->ctx, b, GRIDRELAY__STATUS__ESCALATED, 20000));
    assert_true(node_wait_status(&fx->n[T], fx->ctx, b, GRIDRELAY__STATUS__REPORTED, 20000));
    assert_true(node_wait_timeline(&fx->n[V1], fx->ctx, b, "a second fire after all", 5000));
    assert_int_equal(node_status(&fx->n[V1], fx->ctx, a, NULL, 0), GRIDRELAY__STATUS__ACCEPTED);
    (void)s_wait_says;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_village),
        cmocka_unit_test(test_bad_merges),
        cmocka_unit_test(test_two_villages),
        cmocka_unit_test(test_merge_travels_up),
        cmocka_unit_test(test_department_resolves_both),
        cmocka_unit_test(test_unmerge_restores_lifecycle),
    };
    return GROUP_RUN(tests, s_setup, s_teardown);
}
