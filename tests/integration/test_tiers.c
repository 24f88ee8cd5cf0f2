/* Three tiers of real gridrelayd processes on loopback (1 district, 2
 * townships, 4 villages): escalation by authority and by deadline, signed
 * paths, skip-level reports, assignment down, feedback to the origin, and
 * the district's view of every descendant. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zmq.h>

#include "tiers_fixture.h"
#include "group.h"

#define WAIT_MS 20000
#define ST(x) GRIDRELAY__STATUS__##x
#define KIND(x) GRIDRELAY__CASE_ACTION__KIND__##x

static topology_t s_topology;

static int s_setup(void **state)
{
    *state = &s_topology;
    return topology_start(&s_topology, 1500);
}

static int s_teardown(void **state)
{
    return topology_stop(*state);
}

static void test_village_matter_stays_in_the_village(void **state)
{
    topology_t *t = *state;
    assert_int_equal(topology_report(t, VILLAGE_A1, "stay-1", "T.VILLAGE", 1), 0);
    assert_int_equal(topology_action(t, VILLAGE_A1, "stay-1", KIND(ACCEPT), "on it", NULL), ST(ACCEPTED));
    assert_int_equal(topology_action(t, VILLAGE_A1, "stay-1", KIND(RESOLVE), "mediated", NULL), ST(RESOLVED));
    assert_int_equal(topology_status(t, TOWN_A, "stay-1", NULL, 0), 0);
}

static void test_outside_authority_goes_up_with_a_signed_path(void **state)
{
    topology_t *t = *state;
    assert_int_equal(topology_report(t, VILLAGE_A1, "up-1", "T.DISTRICT", 2), 0);
    assert_true(topology_wait_status(t, DISTRICT, "up-1", ST(REPORTED), WAIT_MS));
    char timeline[4096];
    assert_int_equal(topology_status(t, DISTRICT, "up-1", timeline, sizeof timeline), ST(REPORTED));
    /* The full path, with each hop's reason. */
    assert_non_null(strstr(timeline, "village-a1 (outside_authority)"));
    assert_non_null(strstr(timeline, "town-a (outside_authority)"));
    assert_int_equal(topology_status(t, VILLAGE_A1, "up-1", NULL, 0), ST(ESCALATED));
    assert_int_equal(topology_status(t, TOWN_A, "up-1", NULL, 0), ST(ESCALATED));

    /* A township matter stops at the township. */
    assert_int_equal(topology_report(t, VILLAGE_B2, "town-1", "T.TOWNSHIP", 1), 0);
    assert_true(topology_wait_status(t, TOWN_B, "town-1", ST(REPORTED), WAIT_MS));
    assert_int_equal(topology_status(t, DISTRICT, "town-1", NULL, 0), 0);
}

static void test_feedback_travels_back_to_the_origin(void **state)
{
    topology_t *t = *state;
    assert_int_equal(topology_report(t, VILLAGE_A2, "fb-1", "T.DISTRICT", 3), 0);
    assert_true(topology_wait_status(t, DISTRICT, "fb-1", ST(REPORTED), WAIT_MS));
    assert_int_equal(topology_action(t, DISTRICT, "fb-1", KIND(RESOLVE), "police dispersed the crowd", NULL),
                     ST(RESOLVED));
    assert_true(topology_wait_status(t, TOWN_A, "fb-1", ST(FED_BACK), WAIT_MS));
    assert_true(topology_wait_status(t, VILLAGE_A2, "fb-1", ST(FED_BACK), WAIT_MS));
    char timeline[4096];
    topology_status(t, VILLAGE_A2, "fb-1", timeline, sizeof timeline);
    assert_non_null(strstr(timeline, "police dispersed the crowd"));
    assert_non_null(strstr(timeline, "at district"));
}

static void test_overdue_case_is_taken_over_with_supervision(void **state)
{
    topology_t *t = *state;
    /* Village accept deadline is 1.5 s; nobody accepts. */
    assert_int_equal(topology_report(t, VILLAGE_B1, "late-1", "T.VILLAGE", 1), 0);
    assert_true(topology_wait_status(t, TOWN_B, "late-1", ST(REPORTED), WAIT_MS));
    char timeline[4096];
    topology_status(t, TOWN_B, "late-1", timeline, sizeof timeline);
    assert_non_null(strstr(timeline, "not_accepted_in_time, 督办"));
    /* The village records that its case was taken over. */
    assert_true(topology_wait_timeline(t, VILLAGE_B1, "late-1", "taken over by town-b", WAIT_MS));
    assert_int_equal(topology_status(t, VILLAGE_B1, "late-1", NULL, 0), ST(ESCALATED));
}

static void test_skip_level_reaches_the_district_and_informs_the_township(void **state)
{
    topology_t *t = *state;
    assert_int_equal(topology_report(t, VILLAGE_B2, "direct-1", "T.DIRECT", 3), 0);
    assert_true(topology_wait_status(t, DISTRICT, "direct-1", ST(REPORTED), WAIT_MS));
    /* The township holds an information copy, not a case to handle. */
    assert_true(topology_wait_status(t, TOWN_B, "direct-1", ST(ESCALATED), WAIT_MS));
    char timeline[4096];
    topology_status(t, TOWN_B, "direct-1", timeline, sizeof timeline);
    assert_non_null(strstr(timeline, "information copy"));

    /* The district resolves it: the village gets the result, and passes it
     * on to the township, whose copy ends with the outcome too. */
    assert_int_equal(topology_action(t, DISTRICT, "direct-1", KIND(RESOLVE), "epidemic team sent", NULL),
                     ST(RESOLVED));
    assert_true(topology_wait_status(t, VILLAGE_B2, "direct-1", ST(FED_BACK), WAIT_MS));
    assert_true(topology_wait_status(t, TOWN_B, "direct-1", ST(FED_BACK), WAIT_MS));
    assert_true(topology_wait_timeline(t, TOWN_B, "direct-1", "epidemic team sent", WAIT_MS));
}

static void test_assignment_down_and_result_up(void **state)
{
    topology_t *t = *state;
    /* A case the district holds (here: one escalated to it) is handed down. */
    assert_int_equal(topology_report(t, VILLAGE_B1, "assign-1", "T.DISTRICT", 2), 0);
    assert_true(topology_wait_status(t, DISTRICT, "assign-1", ST(REPORTED), WAIT_MS));
    assert_int_equal(topology_action(t, DISTRICT, "assign-1", KIND(ASSIGN), "handle with transport dept", "town-a"),
                     ST(ASSIGNED));
    assert_int_equal(topology_action(t, DISTRICT, "assign-1", KIND(ASSIGN), "x", "nobody"),
                     -GRIDRELAY__ERROR_CODE__ERR_INVALID);
    assert_true(topology_wait_status(t, TOWN_A, "assign-1", ST(REPORTED), WAIT_MS));
    /* The village escalated it: its operator may not hand it anywhere. */
    assert_int_equal(topology_action(t, TOWN_B, "assign-1", KIND(ASSIGN), "mine", "village-b1"),
                     -GRIDRELAY__ERROR_CODE__ERR_FORBIDDEN);
    assert_int_equal(topology_action(t, TOWN_A, "assign-1", KIND(ACCEPT), NULL, NULL), ST(ACCEPTED));
    assert_int_equal(topology_action(t, TOWN_A, "assign-1", KIND(RESOLVE), "road reopened", NULL), ST(RESOLVED));
    assert_true(topology_wait_status(t, DISTRICT, "assign-1", ST(RESOLVED), WAIT_MS));
    char timeline[4096];
    topology_status(t, DISTRICT, "assign-1", timeline, sizeof timeline);
    assert_non_null(strstr(timeline, "road reopened"));
}

static void test_assigned_case_handed_back_up_is_returned(void **state)
{
    topology_t *t = *state;
    /* The township hands a case to a village, whose operator sends it back
     * up: the township records the return (退回) and, with nobody else to
     * give it to, passes it to the district. */
    assert_int_equal(topology_report(t, TOWN_A, "back-1", "T.VILLAGE", 1), 0);
    assert_int_equal(topology_action(t, TOWN_A, "back-1", KIND(ASSIGN), "your well", "village-a2"),
                     ST(ASSIGNED));
    assert_true(topology_wait_status(t, VILLAGE_A2, "back-1", ST(REPORTED), WAIT_MS));
    assert_int_equal(topology_action(t, VILLAGE_A2, "back-1", KIND(ESCALATE), "not our well", NULL),
                     ST(ESCALATED));
    assert_true(topology_wait_timeline(t, TOWN_A, "back-1", "returned by village-a2 (退回): operator",
                                       WAIT_MS));
    assert_true(topology_wait_status(t, TOWN_A, "back-1", ST(ESCALATED), WAIT_MS));
    assert_true(topology_wait_status(t, DISTRICT, "back-1", ST(REPORTED), WAIT_MS));
    assert_true(topology_wait_timeline(t, DISTRICT, "back-1", "returned_from_below", WAIT_MS));
    /* The district's result reaches the township and the village that
     * handed it back. */
    assert_int_equal(topology_action(t, DISTRICT, "back-1", KIND(RESOLVE), "county water team", NULL),
                     ST(RESOLVED));
    assert_true(topology_wait_status(t, TOWN_A, "back-1", ST(FED_BACK), WAIT_MS));
    assert_true(topology_wait_status(t, VILLAGE_A2, "back-1", ST(FED_BACK), WAIT_MS));
    assert_true(topology_wait_timeline(t, VILLAGE_A2, "back-1", "county water team", WAIT_MS));
}

static void test_parent_resolving_an_assigned_case_closes_the_childs_copy(void **state)
{
    topology_t *t = *state;
    assert_int_equal(topology_report(t, TOWN_A, "took-1", "T.VILLAGE", 1), 0);
    assert_int_equal(topology_action(t, TOWN_A, "took-1", KIND(ASSIGN), "look into it", "village-a1"),
                     ST(ASSIGNED));
    assert_true(topology_wait_status(t, VILLAGE_A1, "took-1", ST(REPORTED), WAIT_MS));
    /* The township settles it itself: the village's copy learns how. */
    assert_int_equal(topology_action(t, TOWN_A, "took-1", KIND(RESOLVE), "settled at the township", NULL),
                     ST(RESOLVED));
    assert_true(topology_wait_status(t, VILLAGE_A1, "took-1", ST(RESOLVED), WAIT_MS));
    assert_true(topology_wait_timeline(t, VILLAGE_A1, "took-1", "settled at the township", WAIT_MS));
    /* ... and does not send it back up as its own result. */
    char timeline[4096];
    topology_status(t, TOWN_A, "took-1", timeline, sizeof timeline);
    assert_null(strstr(timeline, "result from village-a1"));
}

static void test_operator_escalation_and_top_tier_refusal(void **state)
{
    topology_t *t = *state;
    assert_int_equal(topology_report(t, VILLAGE_A1, "op-1", "T.VILLAGE", 1), 0);
    assert_int_equal(topology_action(t, VILLAGE_A1, "op-1", KIND(ESCALATE), "needs the township", NULL),
                     ST(ESCALATED));
    assert_true(topology_wait_status(t, TOWN_A, "op-1", ST(REPORTED), WAIT_MS));
    assert_true(topology_action(t, DISTRICT, "up-1", KIND(ESCALATE), NULL, NULL) < 0);
}

static void test_link_status_names_every_link(void **state)
{
    topology_t *t = *state;
    gr_client_t *client = harness_client(&t->nodes[TOWN_A], t->ctx, 0);
    assert_non_null(client);
    Gridrelay__GetLinks get = GRIDRELAY__GET_LINKS__INIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_LINKS;
    body.get_links = &get;
    gr_opened_t reply;
    assert_int_equal(gr_client_call(client, &body, &reply, 3000, 3), 0);
    assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_LINKS);
    const Gridrelay__Links *links = reply.body->links;
    assert_int_equal(links->n_links, 3);  /* the district, two villages */
    assert_string_equal(links->links[0]->role, "parent");
    assert_string_equal(links->links[0]->peer, "district");
    for (size_t i = 0; i < links->n_links; i++)
        assert_true(links->links[i]->up);
    gr_opened_clear(&reply);
    gr_client_destroy(&client);
}

/* A frame signed by a village, replayed over another trusted key's
 * connection (here a grid worker's): refused, so nobody can steer where
 * the township sends that village's mail. */
static void test_child_frames_only_on_the_childs_connection(void **state)
{
    topology_t *t = *state;
    gr_client_t *client = harness_client(&t->nodes[TOWN_A], t->ctx, 0);
    assert_non_null(client);
    Gridrelay__Heartbeat hb = GRIDRELAY__HEARTBEAT__INIT;
    hb.node_id = "village-a1";
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_HEARTBEAT;
    body.heartbeat = &hb;
    uint8_t *frame = NULL;
    size_t len = 0;
    assert_int_equal(gr_envelope_seal(&frame, &len, &t->nodes[VILLAGE_A1].node_key, gr_now_ms() * 1000,
                                      gr_now_ms(), &body), 0);
    assert_int_equal(gr_client_send_raw(client, frame, len), 0);
    free(frame);
    gr_opened_t reply;
    assert_int_equal(gr_client_recv(client, &reply, 5000), 0);
    assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_ERROR);
    assert_int_equal(reply.body->error->code, GRIDRELAY__ERROR_CODE__ERR_UNTRUSTED);
    gr_opened_clear(&reply);
    gr_client_destroy(&client);
    /* The real village still gets its mail: a case handed down arrives. */
    assert_int_equal(topology_report(t, TOWN_A, "mail-1", "T.VILLAGE", 1), 0);
    assert_true(topology_action(t, TOWN_A, "mail-1", KIND(ASSIGN), "check", "village-a1") > 0);
    assert_true(topology_wait_status(t, VILLAGE_A1, "mail-1", ST(REPORTED), WAIT_MS));
}

typedef struct {
    char path[400];
    const char *text;
} s_log_wait_t;

static bool s_log_has(void *ctx)
{
    s_log_wait_t *w = ctx;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "grep -F -q -- '%s' %s", w->text, w->path);
    return harness_run(cmd, NULL, 0) == 0;
}

/* A parent that refuses what a child sends (here: the township knows the
 * village's key, but as a reporter, not as a child): the refusal is for
 * good (ERR_FORBIDDEN), so the village keeps the escalation as a dead
 * letter (node/outbox.h) instead of resending it, counts the refusal for
 * `gridctl status`, and says so in its log, naming the item and the error. */
static void test_refused_escalation_is_kept_counted_and_logged(void **state)
{
    (void)state;
    harness_node_t town, village;
    assert_int_equal(harness_node_init(&town, "township-misconfigured", 1), 0);
    assert_int_equal(harness_node_init(&village, "village-orphan", 1), 0);
    snprintf(town.tier, sizeof town.tier, "township");
    town.reporters[0] = village.node_key;  /* the operator's mistake */
    assert_int_equal(harness_node_start(&town), 0);
    harness_set_parent(&village, &town, "parent");
    assert_int_equal(harness_node_start(&village), 0);
    void *ctx = zmq_ctx_new();
    assert_int_equal(node_report(&village, ctx, "orphan-1", "SS.MASS", 1), 0);

    s_log_wait_t w = { .text = "dead letter parent/" };
    snprintf(w.path, sizeof w.path, "%s/gridrelayd.log", village.dir);
    assert_true(harness_wait_until(s_log_has, &w, WAIT_MS));
    w.text = "refused it for good (ERR_FORBIDDEN: only a child node may escalate to this "
             "node); kept, no longer sent";
    assert_true(s_log_has(&w));
    assert_true(node_wait_status(&village, ctx, "orphan-1", ST(ESCALATED), WAIT_MS));
    assert_int_equal(node_status(&town, ctx, "orphan-1", NULL, 0), 0);
    /* The link to the parent counts it, for `gridctl status`. */
    gr_client_t *client = harness_client(&village, ctx, 0);
    assert_non_null(client);
    Gridrelay__GetLinks get = GRIDRELAY__GET_LINKS__INIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_LINKS;
    body.get_links = &get;
    gr_opened_t reply;
    assert_int_equal(gr_client_call(client, &body, &reply, 3000, 3), 0);
    assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_LINKS);
    assert_int_equal(reply.body->links->n_links, 1);
    assert_string_equal(reply.body->links->links[0]->role, "parent");
    assert_true(reply.body->links->links[0]->refused >= 1);
    /* Out of the outbox: among the dead letters. */
    assert_int_equal(reply.body->links->links[0]->outbox_depth, 0);
    gr_opened_clear(&reply);
    gr_client_destroy(&client);
    char sec[400], pub[400], kerr[256];
    snprintf(sec, sizeof sec, "%.300s/reporter0.sec", village.dir);
    snprintf(pub, sizeof pub, "%.300s/reporter0.pub", village.dir);
    assert_int_equal(gr_keys_save(&village.reporters[0], sec, pub, kerr, sizeof kerr), 0);
    char out[4096];
    assert_int_equal(node_gridctl(&village, NULL, "outbox list --dead", false, out, sizeof out), 0);
    assert_non_null(strstr(out, "orphan-1"));
    assert_non_null(strstr(out, "forbidden: only a child node may escalate"));

    zmq_ctx_term(ctx);
    assert_int_equal(harness_node_stop(&village, SIGTERM), 0);
    assert_int_equal(harness_node_stop(&town, SIGTERM), 0);
    harness_node_cleanup(&village);
    harness_node_cleanup(&town);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_village_matter_stays_in_the_village),
        cmocka_unit_test(test_outside_authority_goes_up_with_a_signed_path),
        cmocka_unit_test(test_feedback_travels_back_to_the_origin),
        cmocka_unit_test(test_overdue_case_is_taken_over_with_supervision),
        cmocka_unit_test(test_skip_level_reaches_the_district_and_informs_the_township),
        cmocka_unit_test(test_assignment_down_and_result_up),
        cmocka_unit_test(test_assigned_case_handed_back_up_is_returned),
        cmocka_unit_test(test_parent_resolving_an_assigned_case_closes_the_childs_copy),
        cmocka_unit_test(test_operator_escalation_and_top_tier_refusal),
        cmocka_unit_test(test_link_status_names_every_link),
        cmocka_unit_test(test_child_frames_only_on_the_childs_connection),
        cmocka_unit_test(test_refused_escalation_is_kept_counted_and_logged),
    };
    return GROUP_RUN(tests, s_setup, s_teardown);
}
