/* Supervision (督办) through real processes on a test clock: the district
 * lists what is overdue here and below with how late it is, and urges
 * whoever holds a case (its department, or the village below, through a
 * township that was down), with the urge in both timelines. */
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

enum { D, T, V, N };

typedef struct {
    harness_node_t n[N];
    gr_keypair_t police;
    char clock[320];
    char catalogue[320];
    void *ctx;
} fx_t;

static fx_t s_fx;

static int s_setup(void **state)
{
    fx_t *fx = &s_fx;
    const char *names[N] = {"district-s", "town-s", "village-s"};
    const char *tiers[N] = {"district", "township", "village"};
    if (nodes_init_tiers(fx->n, N, names, tiers, 1) != 0)
        return -1;
    if (nodes_share_clock_and_catalogue(fx->n, N, 0,
                "[T.DISTRICT]\nclass = t\nsubclass = t\nname = district matter\nauthority = district\n\n"
                "[T.DEPT]\nclass = t\nsubclass = t\nname = for the police\nauthority = district\n\n"
                "[T.VILLAGE]\nclass = t\nsubclass = t\nname = village matter\nauthority = village\n",
                fx->clock, fx->catalogue) != 0)
        return -1;
    /* gridctl reads the operator's key from a file: the district's reporter 0. */
    if (fixture_save_key(&fx->n[D].reporters[0], fx->n[D].dir, "reporter0") != 0)
        return -1;
    harness_node_t *d = &fx->n[D];
    d->task_listen = true;
    char hex[GR_PUBLIC_KEY_HEX];
    if (gr_keys_generate(&fx->police) != 0)
        return -1;
    gr_key_to_hex(hex, fx->police.pk);
    snprintf(d->sections, sizeof d->sections,
             "[departments]\npolice = %s, police desk\n\n[dispatch]\nT.DEPT = police\n\n"
             "[deadlines]\naccept.routine = 1h\nclaim.routine = 30min\n\n", hex);
    const int parent[N] = {-1, D, T};
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
    return node_gridctl(&fx->n[n], NULL, args, false, out, cap);
}

static bool s_wait_says(fx_t *fx, int node, const char *args, const char *text, int timeout_ms)
{
    return node_wait_gridctl_says(&fx->n[node], args, text, timeout_ms);
}

static void s_report(fx_t *fx, char *id, const char *category)
{
    gr_event_id_new(id, gr_now_ms());
    assert_int_equal(node_report(&fx->n[V], fx->ctx, id, category, GRIDRELAY__SEVERITY__ROUTINE), 0);
}

/* The line of `gridctl supervise` naming id and kind, or NULL. */
static const char *s_line(const char *out, const char *id, const char *kind)
{
    for (const char *p = strstr(out, id); p; p = strstr(p + 1, id)) {
        const char *eol = strchr(p, '\n');
        const char *k = strstr(p, kind);
        if (k && (!eol || k < eol))
            return p;
    }
    return NULL;
}

static void test_overdue_items_are_listed_and_urged(void **state)
{
    fx_t *fx = *state;
    char c1[GR_EVENT_ID_LEN + 1], c2[GR_EVENT_ID_LEN + 1], c3[GR_EVENT_ID_LEN + 1],
        c4[GR_EVENT_ID_LEN + 1];
    s_report(fx, c1, "T.DISTRICT");  /* not accepted at the district */
    s_report(fx, c2, "T.DEPT");      /* its police task not claimed */
    s_report(fx, c3, "T.DISTRICT");  /* resolved while the village is away */
    s_report(fx, c4, "T.VILLAGE");   /* held at the village */
    assert_true(node_wait_status(&fx->n[D], fx->ctx, c1, GRIDRELAY__STATUS__REPORTED, 20000));
    assert_true(node_wait_status(&fx->n[D], fx->ctx, c2, GRIDRELAY__STATUS__DISPATCHED, 20000));
    assert_true(node_wait_status(&fx->n[D], fx->ctx, c3, GRIDRELAY__STATUS__REPORTED, 20000));
    char out[16384];
    assert_true(s_wait_says(fx, D, "view", c4, 20000));
    assert_true(s_wait_says(fx, D, "supervise", "nothing overdue", 5000));

    /* The village goes away, and the district resolves c3. */
    assert_int_equal(harness_node_stop(&fx->n[V], SIGTERM), 0);
    assert_int_equal(node_action(&fx->n[D], fx->ctx, c3, GRIDRELAY__CASE_ACTION__KIND__RESOLVE,
                                 "settled by the district", NULL), GRIDRELAY__STATUS__RESOLVED);

    /* Two hours on: c1 an hour late for acceptance, c2's task 90 minutes
     * late for its claim (urged once by the task rules already). */
    assert_int_equal(harness_clock_set(fx->clock, 2 * 3600 * 1000), 0);
    assert_true(s_wait_says(fx, D, "supervise", "task_overdue", 10000));
    assert_int_equal(s_gridctl(fx, D, "supervise", out, sizeof out), 0);
    const char *l1 = s_line(out, c1, "not_accepted_in_time");
    const char *l2 = s_line(out, c2, "task_overdue");
    assert_non_null(l1);
    assert_non_null(l2);
    assert_non_null(strstr(l1, " 01:00:"));  /* an hour (and the seconds the test took) */
    assert_non_null(strstr(l2, " 01:30:"));
    assert_non_null(strstr(l2, "police"));
    assert_null(s_line(out, c3, "not_fed_back"));  /* within the day */
    /* The most overdue first. */
    assert_true(l2 < l1);

    /* Urging: c1 is held here, not below; c2's department is told. */
    assert_int_not_equal(s_gridctl(fx, D, "urge ", out, sizeof out), 0);
    char args[256];
    snprintf(args, sizeof args, "urge %s --note 'accept it'", c1);
    assert_int_equal(s_gridctl(fx, D, args, out, sizeof out), 1);
    snprintf(args, sizeof args, "urge %s --note 'claim it today'", c2);
    assert_int_equal(s_gridctl(fx, D, args, out, sizeof out), 0);
    assert_true(node_wait_timeline(&fx->n[D], fx->ctx, c2, "urged police (督办): claim it today", 5000));
    /* The department sees the notice on its task, after a restart of the
     * district too. */
    assert_int_equal(harness_node_stop(&fx->n[D], SIGTERM), 0);
    assert_int_equal(harness_node_start(&fx->n[D]), 0);
    gr_client_t *police = gr_client_new(fx->ctx, fx->n[D].endpoint, &fx->police, fx->n[D].node_key.pk);
    assert_non_null(police);
    Gridrelay__ListTasks lt = GRIDRELAY__LIST_TASKS__INIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_LIST_TASKS;
    body.list_tasks = &lt;
    gr_opened_t reply;
    assert_int_equal(gr_client_call(police, &body, &reply, 5000, 3), 0);
    assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_TASK_LIST);
    assert_int_equal(reply.body->task_list->n_tasks, 1);
    assert_true(reply.body->task_list->tasks[0]->urged >= 2);  /* the rules' and the district's */
    gr_opened_clear(&reply);
    gr_client_destroy(&police);

    /* c4 is held at the village, two tiers down, with the township down:
     * the urge waits in the district's outbox and goes down when it is
     * back, through the township to the village (back too). */
    assert_int_equal(harness_node_stop(&fx->n[T], SIGTERM), 0);
    snprintf(args, sizeof args, "urge %s --note 'report back by noon'", c4);
    assert_int_equal(s_gridctl(fx, D, args, out, sizeof out), 0);
    snprintf(args, sizeof args, "show --below %s", c4);
    assert_int_equal(s_gridctl(fx, D, args, out, sizeof out), 0);
    assert_non_null(strstr(out, "held at village-s"));
    assert_non_null(strstr(out, "report back by noon"));
    assert_int_equal(harness_node_start(&fx->n[T]), 0);
    assert_int_equal(harness_node_start(&fx->n[V]), 0);
    assert_true(node_wait_timeline(&fx->n[V], fx->ctx, c4,
                                   "at district-s (督办): report back by noon", 30000));

    /* A day later c3's result has reached the village (it is back): not
     * overdue. Stop the village again, resolve another and wait a day. */
    assert_true(node_wait_status(&fx->n[V], fx->ctx, c3, GRIDRELAY__STATUS__FED_BACK, 30000));
    char c5[GR_EVENT_ID_LEN + 1];
    s_report(fx, c5, "T.DISTRICT");
    assert_true(node_wait_status(&fx->n[D], fx->ctx, c5, GRIDRELAY__STATUS__REPORTED, 20000));
    assert_int_equal(harness_node_stop(&fx->n[V], SIGTERM), 0);
    assert_int_equal(node_action(&fx->n[D], fx->ctx, c5, GRIDRELAY__CASE_ACTION__KIND__RESOLVE,
                                 "done", NULL), GRIDRELAY__STATUS__RESOLVED);
    assert_int_equal(harness_clock_set(fx->clock, 27 * 3600 * 1000), 0);
    assert_true(s_wait_says(fx, D, "supervise", "not_fed_back_in_time", 10000));
    assert_int_equal(s_gridctl(fx, D, "supervise --json", out, sizeof out), 0);
    assert_non_null(strstr(out, "\"kind\":\"not_fed_back_in_time\""));
    assert_null(s_line(out, c3, "not_fed_back"));
    assert_int_equal(harness_node_start(&fx->n[V]), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overdue_items_are_listed_and_urged),
    };
    return GROUP_RUN(tests, s_setup, s_teardown);
}
