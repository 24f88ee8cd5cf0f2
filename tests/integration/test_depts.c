/* Departments against real gridrelayd processes: a district, a township
 * with three departments (police, safety, civil) and a village below it.
 * Routing by category, claim -> complete -> the origin village sees the
 * result, return -> the next department, then up to the district, a
 * department offline during dispatch gets its backlog, another
 * department's task or an unknown key is refused and changes nothing,
 * task deadlines urge then escalate, and a SIGKILL of the township during
 * claims loses no acknowledged claim. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zmq.h>

#include "curve.h"
#include "dept_client.h"
#include "error.h"
#include "tiers_fixture.h"
#include "group.h"

#define WAIT_MS 20000
#define ST(x) GRIDRELAY__STATUS__##x
#define ACT(x) GRIDRELAY__TASK_ACTION__KIND__##x
#define SEV_ROUTINE 1
#define SEV_URGENT 2

enum { DISTRICT_N, TOWNSHIP_N, VILLAGE_N, N_TIER_NODES };
enum { POLICE, SAFETY, CIVIL, N_DEPTS };
static const char *const s_dept_codes[N_DEPTS] = { "police", "safety", "civil" };

#define MAX_SEEN 256

typedef struct {
    gr_keypair_t keys;
    gr_dept_client_t *client;
    struct {
        gr_dept_change_t change;
        char id[32];
    } seen[MAX_SEEN];
    size_t n_seen;
} dept_t;

typedef struct {
    harness_node_t nodes[N_TIER_NODES];
    dept_t depts[N_DEPTS];
    void *ctx;
} fixture_t;

static fixture_t s_fx;

static void s_on_task(void *ctx, gr_dept_change_t change, const Gridrelay__Task *task,
                      const char *reason)
{
    (void)reason;
    dept_t *d = ctx;
    if (d->n_seen < MAX_SEEN) {
        d->seen[d->n_seen].change = change;
        snprintf(d->seen[d->n_seen].id, sizeof d->seen[d->n_seen].id, "%s", task->event_id);
        d->n_seen++;
    }
}

static bool s_seen(const dept_t *d, gr_dept_change_t change, const char *id)
{
    for (size_t i = 0; i < d->n_seen; i++)
        if (d->seen[i].change == change && strcmp(d->seen[i].id, id) == 0)
            return true;
    return false;
}

static int s_connect(fixture_t *fx, int dept, const gr_keypair_t *keys)
{
    dept_t *d = &fx->depts[dept];
    gr_dept_client_options_t opt = {
        .node_endpoint = fx->nodes[TOWNSHIP_N].endpoint,
        .node_pk = fx->nodes[TOWNSHIP_N].node_key.pk,
        .keys = keys ? keys : &d->keys,
        .zmq_ctx = fx->ctx,
        .timeout_ms = 1000,
        .attempts = 10,
        .on_task = s_on_task,
        .ctx = d,
    };
    char err[256];
    d->client = gr_dept_client_new(&opt, err, sizeof err);
    if (!d->client) {
        fprintf(stderr, "dept client: %s\n", err);
        return -1;
    }
    return 0;
}

typedef struct {
    dept_t *d;
    gr_dept_change_t change;
    const char *id;
} s_dept_wait_t;

static bool s_dept_has(void *ctx)
{
    s_dept_wait_t *w = ctx;
    gr_dept_client_process(w->d->client, 20);
    return s_seen(w->d, w->change, w->id);
}

/* Waits (bounded) until the department's client reported change for id. */
static bool s_dept_wait(dept_t *d, gr_dept_change_t change, const char *id)
{
    s_dept_wait_t w = { d, change, id };
    return harness_wait_until(s_dept_has, &w, WAIT_MS);
}

static int s_write_catalogue(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    const char *codes[] = { "T.POLICE", "T.SAFETY", "T.SOLO", "T.SLOW", "T.NOROUTE" };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        fprintf(f, "[%s]\nclass = test\nsubclass = test\nname = %s\nauthority = township\n\n",
                codes[i], codes[i]);
    return fclose(f) == 0 ? 0 : -1;
}

static int s_setup(void **state)
{
    fixture_t *fx = &s_fx;
    memset(fx, 0, sizeof *fx);
    *state = fx;
    const char *names[N_TIER_NODES] = { "district", "township", "village" };
    const char *tiers[N_TIER_NODES] = { "district", "township", "village" };
    if (nodes_init_tiers(fx->nodes, N_TIER_NODES, names, tiers, 2) != 0)
        return -1;
    char catalogue[320];
    snprintf(catalogue, sizeof catalogue, "%.250s/../catalogue.ini", fx->nodes[DISTRICT_N].dir);
    if (s_write_catalogue(catalogue) != 0)
        return -1;
    for (int i = 0; i < N_TIER_NODES; i++)
        memcpy(fx->nodes[i].catalogue, catalogue, sizeof catalogue);

    harness_node_t *town = &fx->nodes[TOWNSHIP_N];
    town->task_listen = true;
    size_t n = (size_t)snprintf(town->sections, sizeof town->sections, "[departments]\n");
    for (int i = 0; i < N_DEPTS; i++) {
        char hex[GR_PUBLIC_KEY_HEX];
        if (gr_keys_generate(&fx->depts[i].keys) != 0)
            return -1;
        gr_key_to_hex(hex, fx->depts[i].keys.pk);
        n += (size_t)snprintf(town->sections + n, sizeof town->sections - n, "%s = %s, %s desk\n",
                              s_dept_codes[i], hex, s_dept_codes[i]);
    }
    snprintf(town->sections + n, sizeof town->sections - n,
             "\n[dispatch]\n"
             "T.POLICE = police + civil\n"
             "T.SAFETY = safety, police\n"
             "T.SOLO = civil\n"
             "T.SLOW = police\n"
             "\n[deadlines]\nclaim.urgent = 1s\n\n");
    const int parent[N_TIER_NODES] = { -1, DISTRICT_N, TOWNSHIP_N };
    if (nodes_start_tree(fx->nodes, N_TIER_NODES, parent) != 0)
        return -1;
    if (!(fx->ctx = zmq_ctx_new()))
        return -1;
    /* Police and safety are on line from the start; civil comes later. */
    for (int i = 0; i < CIVIL; i++) {
        char err[256];
        if (s_connect(fx, i, NULL) != 0 || gr_dept_client_sync(fx->depts[i].client, err, sizeof err) != 0)
            return -1;
    }
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *fx = *state;
    for (int i = 0; i < N_DEPTS; i++)
        gr_dept_client_destroy(&fx->depts[i].client);
    for (int i = N_TIER_NODES - 1; i >= 0; i--)
        harness_node_cleanup(&fx->nodes[i]);
    if (fx->ctx)
        zmq_ctx_term(fx->ctx);
    return 0;
}

static int s_act(fixture_t *fx, int dept, int kind, const char *id, const char *text)
{
    char err[256];
    return gr_dept_client_act(fx->depts[dept].client, (Gridrelay__TaskAction__Kind)kind, id, text,
                              err, sizeof err);
}

static char s_timeline[16384];

static const char *s_town_timeline(fixture_t *fx, const char *id)
{
    node_status(&fx->nodes[TOWNSHIP_N], fx->ctx, id, s_timeline, sizeof s_timeline);
    return s_timeline;
}

static size_t s_count(const char *haystack, const char *needle)
{
    size_t n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_route_claim_complete_feeds_back_to_origin(void **state)
{
    fixture_t *fx = *state;
    harness_node_t *town = &fx->nodes[TOWNSHIP_N];
    assert_int_equal(node_report(&fx->nodes[VILLAGE_N], fx->ctx, "fire-1", "T.POLICE", SEV_ROUTINE), 0);
    /* Escalated by authority, dispatched by the routing table. */
    assert_true(node_wait_status(town, fx->ctx, "fire-1", ST(DISPATCHED), WAIT_MS));
    assert_true(s_dept_wait(&fx->depts[POLICE], GR_DEPT_TASK_ADDED, "fire-1"));
    assert_false(s_seen(&fx->depts[SAFETY], GR_DEPT_TASK_ADDED, "fire-1"));

    assert_int_equal(s_act(fx, POLICE, ACT(CLAIM), "fire-1", "on our way"), 0);
    assert_int_equal(node_status(town, fx->ctx, "fire-1", NULL, 0), ST(IN_PROGRESS));
    /* A second claim is the same answer, not a second entry. */
    assert_int_equal(s_act(fx, POLICE, ACT(CLAIM), "fire-1", NULL), 0);
    assert_int_equal(s_count(s_town_timeline(fx, "fire-1"), "claimed by police"), 1);
    assert_int_equal(s_act(fx, POLICE, ACT(NOTE), "fire-1", "scene secured"), 0);

    assert_int_equal(s_act(fx, POLICE, ACT(COMPLETE), "fire-1", "suspect detained"), 0);
    assert_int_equal(node_status(town, fx->ctx, "fire-1", NULL, 0), ST(RESOLVED));
    const char *timeline = s_town_timeline(fx, "fire-1");
    assert_non_null(strstr(timeline, "dispatched to police (分流); co-handled by civil"));
    assert_non_null(strstr(timeline, "progress from police: scene secured"));
    assert_non_null(strstr(timeline, "resolved by police at township"));

    /* The origin village sees the outcome and who resolved it. */
    assert_true(node_wait_status(&fx->nodes[VILLAGE_N], fx->ctx, "fire-1", ST(FED_BACK), WAIT_MS));
    assert_true(node_wait_timeline(&fx->nodes[VILLAGE_N], fx->ctx, "fire-1", "suspect detained", WAIT_MS));
    /* The task is gone: completing again is refused. */
    assert_int_equal(s_act(fx, POLICE, ACT(COMPLETE), "fire-1", "again"), GR_EREFUSED);
}

static void test_return_goes_to_next_department_then_up(void **state)
{
    fixture_t *fx = *state;
    harness_node_t *town = &fx->nodes[TOWNSHIP_N];
    assert_int_equal(node_report(&fx->nodes[VILLAGE_N], fx->ctx, "gas-1", "T.SAFETY", SEV_ROUTINE), 0);
    assert_true(s_dept_wait(&fx->depts[SAFETY], GR_DEPT_TASK_ADDED, "gas-1"));
    /* A return needs its reason. */
    assert_int_equal(s_act(fx, SAFETY, ACT(RETURN), "gas-1", ""), GR_EREFUSED);
    assert_int_equal(s_act(fx, SAFETY, ACT(RETURN), "gas-1", "a dispute, not a hazard"), 0);
    assert_true(s_dept_wait(&fx->depts[POLICE], GR_DEPT_TASK_ADDED, "gas-1"));
    assert_int_equal(node_status(town, fx->ctx, "gas-1", NULL, 0), ST(DISPATCHED));
    assert_non_null(strstr(s_town_timeline(fx, "gas-1"), "returned by safety (退回): a dispute"));

    /* Nobody left at the township: the case goes up, with the reason. */
    assert_int_equal(s_act(fx, POLICE, ACT(RETURN), "gas-1", "not police either"), 0);
    assert_true(node_wait_status(town, fx->ctx, "gas-1", ST(ESCALATED), WAIT_MS));
    assert_true(node_wait_status(&fx->nodes[DISTRICT_N], fx->ctx, "gas-1", ST(REPORTED), WAIT_MS));
    assert_true(node_wait_timeline(&fx->nodes[DISTRICT_N], fx->ctx, "gas-1", "returned_from_below",
                                   WAIT_MS));
}

static void test_offline_department_gets_its_backlog(void **state)
{
    fixture_t *fx = *state;
    const char *ids[] = { "solo-1", "solo-2", "solo-3" };
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(node_report(&fx->nodes[TOWNSHIP_N], fx->ctx, ids[i], "T.SOLO", SEV_ROUTINE), 0);
    for (size_t i = 0; i < 3; i++)
        assert_true(node_wait_status(&fx->nodes[TOWNSHIP_N], fx->ctx, ids[i], ST(DISPATCHED), WAIT_MS));
    /* Civil was not connected when they were dispatched. */
    assert_int_equal(s_connect(fx, CIVIL, NULL), 0);
    char err[256];
    assert_int_equal(gr_dept_client_sync(fx->depts[CIVIL].client, err, sizeof err), 0);
    for (size_t i = 0; i < 3; i++)
        assert_true(s_seen(&fx->depts[CIVIL], GR_DEPT_TASK_ADDED, ids[i]));
    /* fire-1's co-handling task was withdrawn when police completed it. */
    assert_false(s_seen(&fx->depts[CIVIL], GR_DEPT_TASK_ADDED, "fire-1"));

    /* Offline again, a new task, then back: it is there. */
    gr_dept_client_destroy(&fx->depts[CIVIL].client);
    fx->depts[CIVIL].n_seen = 0;
    assert_int_equal(node_report(&fx->nodes[TOWNSHIP_N], fx->ctx, "solo-4", "T.SOLO", SEV_ROUTINE), 0);
    assert_true(node_wait_status(&fx->nodes[TOWNSHIP_N], fx->ctx, "solo-4", ST(DISPATCHED), WAIT_MS));
    assert_int_equal(s_connect(fx, CIVIL, NULL), 0);
    assert_true(s_dept_wait(&fx->depts[CIVIL], GR_DEPT_TASK_ADDED, "solo-4"));
    assert_int_equal(gr_dept_client_task_count(fx->depts[CIVIL].client), 4);
}

static void test_co_handlers_notes_are_kept_and_lead_closes(void **state)
{
    fixture_t *fx = *state;
    harness_node_t *town = &fx->nodes[TOWNSHIP_N];
    assert_int_equal(node_report(town, fx->ctx, "brawl-1", "T.POLICE", SEV_ROUTINE), 0);
    assert_true(s_dept_wait(&fx->depts[POLICE], GR_DEPT_TASK_ADDED, "brawl-1"));
    assert_true(s_dept_wait(&fx->depts[CIVIL], GR_DEPT_TASK_ADDED, "brawl-1"));
    /* The co-handler's work goes in the timeline but does not move the case. */
    assert_int_equal(s_act(fx, CIVIL, ACT(CLAIM), "brawl-1", NULL), 0);
    assert_int_equal(node_status(town, fx->ctx, "brawl-1", NULL, 0), ST(DISPATCHED));
    assert_int_equal(s_act(fx, CIVIL, ACT(NOTE), "brawl-1", "families contacted"), 0);
    assert_int_equal(s_act(fx, CIVIL, ACT(COMPLETE), "brawl-1", "welfare visit done"), 0);
    assert_int_equal(node_status(town, fx->ctx, "brawl-1", NULL, 0), ST(DISPATCHED));
    /* Its task is over: acting again is refused. */
    assert_int_equal(s_act(fx, CIVIL, ACT(NOTE), "brawl-1", "again"), GR_EREFUSED);
    assert_int_equal(s_act(fx, POLICE, ACT(COMPLETE), "brawl-1", "both parties fined"), 0);
    assert_int_equal(node_status(town, fx->ctx, "brawl-1", NULL, 0), ST(RESOLVED));
    const char *timeline = s_town_timeline(fx, "brawl-1");
    assert_non_null(strstr(timeline, "co-handler civil claimed its part"));
    assert_non_null(strstr(timeline, "co-handler civil: families contacted"));
    assert_non_null(strstr(timeline, "co-handler civil completed its part: welfare visit done"));
    assert_non_null(strstr(timeline, "resolved by police at township"));
}

/* Subscribes to the township's task notices as keys; returns the
 * handshake's outcome: the ZAP status code of a refusal (400), or 200. */
static int s_task_handshake(fixture_t *fx, const gr_keypair_t *keys)
{
    harness_node_t *town = &fx->nodes[TOWNSHIP_N];
    void *sub = zmq_socket(fx->ctx, ZMQ_SUB);
    assert_non_null(sub);
    assert_int_equal(gr_curve_client(sub, keys, town->node_key.pk), 0);
    assert_int_equal(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0), 0);
    static int monitors;
    char monitor_ep[64];
    snprintf(monitor_ep, sizeof monitor_ep, "inproc://task-handshake-%d", monitors++);
    assert_int_equal(zmq_socket_monitor(sub, monitor_ep, ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                                             ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 0);
    void *monitor = zmq_socket(fx->ctx, ZMQ_PAIR);
    assert_non_null(monitor);
    assert_int_equal(zmq_connect(monitor, monitor_ep), 0);
    assert_int_equal(zmq_connect(sub, town->task_endpoint), 0);
    int outcome = -1;
    uint64_t deadline = gr_now_ms() + WAIT_MS;
    while (outcome < 0 && gr_now_ms() < deadline) {
        zmq_pollitem_t item = { monitor, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&item, 1, 50) <= 0)
            continue;
        zmq_msg_t head;
        zmq_msg_init(&head);
        if (zmq_msg_recv(&head, monitor, 0) == 6) {
            uint16_t event;
            uint32_t value;
            memcpy(&event, zmq_msg_data(&head), sizeof event);
            memcpy(&value, (uint8_t *)zmq_msg_data(&head) + 2, sizeof value);
            if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
                outcome = 200;
            else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
                outcome = (int)value;
        }
        zmq_msg_close(&head);
        char endpoint[256];
        zmq_recv(monitor, endpoint, sizeof endpoint, 0);
    }
    zmq_socket_monitor(sub, NULL, 0);
    zmq_close(monitor);
    zmq_close(sub);
    return outcome;
}

static void test_foreign_task_and_unknown_key_are_refused(void **state)
{
    fixture_t *fx = *state;
    harness_node_t *town = &fx->nodes[TOWNSHIP_N];
    assert_int_equal(node_report(town, fx->ctx, "theft-1", "T.SLOW", SEV_ROUTINE), 0);
    assert_true(s_dept_wait(&fx->depts[POLICE], GR_DEPT_TASK_ADDED, "theft-1"));
    char before[16384];
    node_status(town, fx->ctx, "theft-1", before, sizeof before);

    /* Safety acting on police's task: refused, nothing changes. */
    assert_int_equal(s_act(fx, SAFETY, ACT(CLAIM), "theft-1", NULL), GR_EREFUSED);
    assert_int_equal(s_act(fx, SAFETY, ACT(COMPLETE), "theft-1", "mine now"), GR_EREFUSED);
    assert_int_equal(node_status(town, fx->ctx, "theft-1", NULL, 0), ST(DISPATCHED));
    assert_string_equal(s_town_timeline(fx, "theft-1"), before);

    /* A key the township does not know cannot even connect (CURVE/ZAP). */
    gr_keypair_t stranger;
    assert_int_equal(gr_keys_generate(&stranger), 0);
    dept_t saved = fx->depts[SAFETY];
    fx->depts[SAFETY].client = NULL;
    assert_int_equal(s_connect(fx, SAFETY, &stranger), 0);
    gr_dept_client_t *strange = fx->depts[SAFETY].client;
    char err[256];
    assert_int_not_equal(gr_dept_client_act(strange, ACT(CLAIM), "theft-1", NULL, err, sizeof err), 0);
    gr_dept_client_destroy(&strange);
    fx->depts[SAFETY] = saved;
    assert_string_equal(s_town_timeline(fx, "theft-1"), before);

    /* The notices name every department's cases: a grid worker's key,
     * trusted for reports, may not listen to them; a department's may. */
    assert_int_equal(s_task_handshake(fx, &fx->nodes[TOWNSHIP_N].reporters[0]), 400);
    assert_int_equal(s_task_handshake(fx, &fx->depts[POLICE].keys), 200);

    /* A department may subscribe to another's topic, but the notices are
     * sealed to their addressee: civil cannot open police's, police can. */
    void *sub = zmq_socket(fx->ctx, ZMQ_SUB);
    assert_non_null(sub);
    assert_int_equal(gr_curve_client(sub, &fx->depts[CIVIL].keys, town->node_key.pk), 0);
    assert_int_equal(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "dept/police/", strlen("dept/police/")), 0);
    assert_int_equal(zmq_connect(sub, town->task_endpoint), 0);
    uint8_t frame[65536];
    int len = -1;
    /* The subscription travels after the handshake: report until one
     * notice gets through (bounded). */
    uint64_t deadline = gr_now_ms() + WAIT_MS;
    for (int i = 0; len < 0 && gr_now_ms() < deadline; i++) {
        char id[32];
        snprintf(id, sizeof id, "theft-sealed-%d", i);
        assert_int_equal(node_report(town, fx->ctx, id, "T.SLOW", SEV_ROUTINE), 0);
        zmq_pollitem_t item = { sub, 0, ZMQ_POLLIN, 0 };
        while (len < 0 && zmq_poll(&item, 1, 200) > 0) {
            char topic[64];
            assert_true(zmq_recv(sub, topic, sizeof topic, 0) > 0);
            len = zmq_recv(sub, frame, sizeof frame, 0);
        }
    }
    zmq_close(sub);
    assert_true(len > GR_BOX_OVERHEAD && len <= (int)sizeof frame);
    uint8_t key[GR_BOX_KEY_BYTES], *plain = NULL;
    size_t plain_len = 0;
    gr_opened_t opened;
    assert_int_not_equal(gr_envelope_open_from(&opened, frame, (size_t)len, town->node_key.pk, 0), 0);
    assert_int_equal(gr_box_key(key, town->node_key.pk, &fx->depts[CIVIL].keys), 0);
    assert_int_equal(gr_box_open(&plain, &plain_len, frame, (size_t)len, key), GR_ESIGNATURE);
    assert_int_equal(gr_box_key(key, town->node_key.pk, &fx->depts[POLICE].keys), 0);
    assert_int_equal(gr_box_open(&plain, &plain_len, frame, (size_t)len, key), 0);
    assert_int_equal(gr_envelope_open_from(&opened, plain, plain_len, town->node_key.pk, 0), 0);
    free(plain);
    assert_int_equal(opened.body->kind_case, GRIDRELAY__BODY__KIND_TASK_NOTICE);
    gr_opened_clear(&opened);
}

static void test_overdue_task_is_urged_then_escalated(void **state)
{
    fixture_t *fx = *state;
    harness_node_t *town = &fx->nodes[TOWNSHIP_N];
    assert_int_equal(node_report(town, fx->ctx, "late-1", "T.SLOW", SEV_URGENT), 0);
    assert_true(s_dept_wait(&fx->depts[POLICE], GR_DEPT_TASK_ADDED, "late-1"));
    /* Not claimed within claim.urgent = 1 s: a supervision notice... */
    assert_true(s_dept_wait(&fx->depts[POLICE], GR_DEPT_TASK_URGED, "late-1"));
    assert_true(node_wait_timeline(town, fx->ctx, "late-1", "supervision notice 1 (督办)", WAIT_MS));
    /* ... and the flag on the case, as GetEvent shows it. */
    gr_client_t *client = harness_client(town, fx->ctx, 0);
    assert_non_null(client);
    Gridrelay__GetEvent get = GRIDRELAY__GET_EVENT__INIT;
    get.event_id = "late-1";
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_EVENT;
    body.get_event = &get;
    gr_opened_t reply;
    assert_int_equal(gr_client_call(client, &body, &reply, 3000, 3), 0);
    assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_EVENT_DETAIL);
    const Gridrelay__EventDetail *detail = reply.body->event_detail;
    assert_int_equal(detail->dept_urged, 1);
    if (detail->status == ST(DISPATCHED))  /* not yet escalated */
        assert_string_equal(detail->dept, "police");
    gr_opened_clear(&reply);
    gr_client_destroy(&client);
    /* ... and, still not claimed a period later, the case goes up. */
    assert_true(node_wait_status(town, fx->ctx, "late-1", ST(ESCALATED), WAIT_MS));
    assert_true(s_dept_wait(&fx->depts[POLICE], GR_DEPT_TASK_REMOVED, "late-1"));
    assert_true(node_wait_timeline(&fx->nodes[DISTRICT_N], fx->ctx, "late-1", "not_accepted_in_time, 督办",
                                   WAIT_MS));
}

/* ---- SIGKILL during claims ---- */

#define N_CLAIMS 40

typedef struct {
    fixture_t *fx;
    char ids[N_CLAIMS][32];
    int acked[N_CLAIMS];
    volatile int n_done;
} s_claims_t;

static void *s_claimer(void *arg)
{
    s_claims_t *c = arg;
    for (int i = 0; i < N_CLAIMS; i++) {
        c->acked[i] = s_act(c->fx, CIVIL, ACT(CLAIM), c->ids[i], "claimed in a burst") == 0;
        __atomic_store_n(&c->n_done, i + 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

static bool s_claims_reached(void *arg)
{
    s_claims_t *c = arg;
    return __atomic_load_n(&c->n_done, __ATOMIC_ACQUIRE) >= N_CLAIMS / 3;
}

static void test_sigkill_during_claims_loses_no_acked_claim(void **state)
{
    fixture_t *fx = *state;
    harness_node_t *town = &fx->nodes[TOWNSHIP_N];
    static s_claims_t c;
    memset(&c, 0, sizeof c);
    c.fx = fx;
    for (int i = 0; i < N_CLAIMS; i++) {
        snprintf(c.ids[i], sizeof c.ids[i], "burst-%02d", i);
        assert_int_equal(node_report(town, fx->ctx, c.ids[i], "T.SOLO", SEV_ROUTINE), 0);
    }
    for (int i = 0; i < N_CLAIMS; i++)
        assert_true(node_wait_status(town, fx->ctx, c.ids[i], ST(DISPATCHED), WAIT_MS));
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, s_claimer, &c), 0);
    assert_true(harness_wait_until(s_claims_reached, &c, WAIT_MS));
    assert_int_equal(harness_node_stop(town, SIGKILL), 128 + SIGKILL);
    assert_int_equal(harness_node_start(town), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);

    int acked = 0;
    for (int i = 0; i < N_CLAIMS; i++) {
        char timeline[16384];
        int status = node_status(town, fx->ctx, c.ids[i], timeline, sizeof timeline);
        if (c.acked[i]) {
            acked++;
            assert_int_equal(status, ST(IN_PROGRESS));
        }
        /* Resends across the restart never claimed anything twice. */
        assert_true(s_count(timeline, "claimed by civil") <= 1);
    }
    /* The client retried through the outage: every claim got its ack. */
    assert_int_equal(acked, N_CLAIMS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_claim_complete_feeds_back_to_origin),
        cmocka_unit_test(test_return_goes_to_next_department_then_up),
        cmocka_unit_test(test_offline_department_gets_its_backlog),
        cmocka_unit_test(test_co_handlers_notes_are_kept_and_lead_closes),
        cmocka_unit_test(test_foreign_task_and_unknown_key_are_refused),
        cmocka_unit_test(test_overdue_task_is_urged_then_escalated),
        cmocka_unit_test(test_sigkill_during_claims_loses_no_acked_claim),
    };
    return GROUP_RUN(tests, s_setup, s_teardown);
}
