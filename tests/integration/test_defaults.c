/* What a reporter leaves out is filled in once, where the report is first
 * stored, and every tier above holds the same event: a report without a
 * severity reaches the tier its category's authority names, with the
 * category's default severity and its origin village at every tier. A
 * refused escalation leaves nothing behind and becomes a dead letter at
 * the child, so its retry after the cause is fixed lands; and cases an older version stranded are repaired at
 * start. Real processes throughout. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zmq.h>

#include "error.h"
#include "event_id.h"
#include "hop.h"
#include "store.h"
#include "store_check.h"
#include "tiers_fixture.h"

typedef struct {
    int status;
    int severity;
    char origin[80];
    char timeline[8192];
} s_seen_t;

/* GetEvent at node as its reporter 0; status 0 when it does not hold id. */
static void s_get(harness_node_t *node, void *ctx, const char *id, s_seen_t *seen)
{
    memset(seen, 0, sizeof *seen);
    gr_client_t *client = harness_client(node, ctx, 0);
    assert_non_null(client);
    Gridrelay__GetEvent get = GRIDRELAY__GET_EVENT__INIT;
    get.event_id = (char *)id;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_EVENT;
    body.get_event = &get;
    gr_opened_t reply;
    assert_int_equal(gr_client_call(client, &body, &reply, 3000, 5), 0);
    if (reply.body->kind_case == GRIDRELAY__BODY__KIND_EVENT_DETAIL) {
        const Gridrelay__EventDetail *d = reply.body->event_detail;
        seen->status = (int)d->status;
        seen->severity = (int)d->event->severity;
        snprintf(seen->origin, sizeof seen->origin, "%s", d->event->origin_node);
        size_t len = 0;
        for (size_t i = 0; i < d->n_timeline && len < sizeof seen->timeline; i++)
            len += (size_t)snprintf(seen->timeline + len, sizeof seen->timeline - len, "%s | ",
                                    d->timeline[i]->reason);
    } else {
        assert_int_equal(reply.body->error->code, GRIDRELAY__ERROR_CODE__ERR_NOT_FOUND);
    }
    gr_opened_clear(&reply);
    gr_client_destroy(&client);
}

static uint64_t s_counter(harness_node_t *node, void *ctx, const char *name)
{
    gr_client_t *client = harness_client(node, ctx, 0);
    assert_non_null(client);
    int64_t value = client_counter(client, name);
    gr_client_destroy(&client);
    assert_true(value >= 0);
    return (uint64_t)value;
}

/* A report as a terminal that fills in only what it must: no severity, no
 * origin node, no reporter, no creation time. */
static int s_bare_report(harness_node_t *node, void *ctx, const char *id, const char *category)
{
    return node_report(node, ctx, id, category, GRIDRELAY__SEVERITY__SEVERITY_UNSPECIFIED);
}

typedef struct {
    harness_node_t *node;
    void *ctx;
    const char *id;
    int status;
} s_wait_t;

static bool s_holds(void *arg)
{
    s_wait_t *w = arg;
    s_seen_t seen;
    s_get(w->node, w->ctx, w->id, &seen);
    return w->status ? seen.status == w->status : seen.status != 0;
}

static bool s_wait_holds(harness_node_t *node, void *ctx, const char *id, int status, int timeout_ms)
{
    s_wait_t w = {node, ctx, id, status};
    return harness_wait_until(s_holds, &w, timeout_ms);
}

/* The case is at node with the default severity and the origin village. */
static void s_expect(harness_node_t *node, void *ctx, const char *id, int status, int severity,
                     const char *origin)
{
    assert_true(s_wait_holds(node, ctx, id, status, 20000));
    s_seen_t seen;
    s_get(node, ctx, id, &seen);
    assert_int_equal(seen.severity, severity);
    assert_string_equal(seen.origin, origin);
}

static void test_reports_without_severity_reach_their_tier(void **state)
{
    (void)state;
    topology_t t;
    assert_int_equal(topology_start(&t, 0), 0);
    void *ctx = t.ctx;
    harness_node_t *n = t.nodes;
    const int R = GRIDRELAY__SEVERITY__ROUTINE, U = GRIDRELAY__SEVERITY__URGENT;
    const int REP = GRIDRELAY__STATUS__REPORTED, ESC = GRIDRELAY__STATUS__ESCALATED;
    char village[GR_EVENT_ID_LEN + 1], town[GR_EVENT_ID_LEN + 1], district[GR_EVENT_ID_LEN + 1],
        direct[GR_EVENT_ID_LEN + 1], urgent[GR_EVENT_ID_LEN + 1];
    char *ids[] = {village, town, district, direct, urgent};
    for (size_t i = 0; i < 5; i++)
        gr_event_id_new(ids[i], gr_now_ms());
    assert_int_equal(s_bare_report(&n[VILLAGE_A1], ctx, village, "T.VILLAGE"), 0);
    assert_int_equal(s_bare_report(&n[VILLAGE_A1], ctx, town, "T.TOWNSHIP"), 0);
    assert_int_equal(s_bare_report(&n[VILLAGE_A2], ctx, district, "T.DISTRICT"), 0);
    assert_int_equal(s_bare_report(&n[VILLAGE_B1], ctx, direct, "T.DIRECT"), 0);
    /* The catalogue's default for T.URGENT is urgent, whose authority is
     * the district: the default decides how far it goes. */
    assert_int_equal(s_bare_report(&n[VILLAGE_B2], ctx, urgent, "T.URGENT"), 0);

    s_expect(&n[VILLAGE_A1], ctx, village, REP, R, "village-a1");

    s_expect(&n[TOWN_A], ctx, town, REP, R, "village-a1");
    s_expect(&n[VILLAGE_A1], ctx, town, ESC, R, "village-a1");

    s_expect(&n[DISTRICT], ctx, district, REP, R, "village-a2");
    s_expect(&n[TOWN_A], ctx, district, ESC, R, "village-a2");
    s_expect(&n[VILLAGE_A2], ctx, district, ESC, R, "village-a2");

    /* 越级直报: the district takes it, the township keeps a copy. */
    s_expect(&n[DISTRICT], ctx, direct, REP, R, "village-b1");
    s_expect(&n[TOWN_B], ctx, direct, 0, R, "village-b1");

    s_expect(&n[DISTRICT], ctx, urgent, REP, U, "village-b2");
    s_expect(&n[TOWN_B], ctx, urgent, ESC, U, "village-b2");
    s_expect(&n[VILLAGE_B2], ctx, urgent, ESC, U, "village-b2");

    /* Nobody refused anything on the way. */
    for (int i = 0; i < N_NODES; i++)
        assert_int_equal(s_counter(&n[i], ctx, "rejected_invalid"), 0);
    /* The path above the village names the village, not a blank. */
    s_seen_t seen;
    s_get(&n[DISTRICT], ctx, district, &seen);
    assert_non_null(strstr(seen.timeline, "at village-a2"));
    assert_int_equal(topology_stop(&t), 0);
}

static int s_write_catalogue(const char *path, bool with_new)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "[T.OLD]\nclass = test\nsubclass = test\nname = known everywhere\n"
               "authority = township\n\n");
    if (with_new)
        fprintf(f, "[T.NEW]\nclass = test\nsubclass = test\nname = new this month\n"
                   "severity = urgent\nauthority = township\n");
    return fclose(f) == 0 ? 0 : -1;
}

typedef struct {
    harness_node_t *node;
    void *ctx;
    const char *counter;
} s_count_wait_t;

static bool s_counted(void *arg)
{
    s_count_wait_t *w = arg;
    return s_counter(w->node, w->ctx, w->counter) > 0;
}

static void test_refused_escalation_leaves_nothing_and_the_resend_lands(void **state)
{
    (void)state;
    harness_node_t town, village;
    assert_int_equal(harness_node_init(&town, "town-new", 1), 0);
    assert_int_equal(harness_node_init(&village, "village-new", 1), 0);
    snprintf(town.tier, sizeof town.tier, "township");
    snprintf(town.catalogue, sizeof town.catalogue, "%s/catalogue.ini", town.dir);
    snprintf(village.catalogue, sizeof village.catalogue, "%s/catalogue.ini", village.dir);
    /* The village got this month's catalogue; the township not yet. */
    assert_int_equal(s_write_catalogue(town.catalogue, false), 0);
    assert_int_equal(s_write_catalogue(village.catalogue, true), 0);
    harness_add_child(&town, &village);
    assert_int_equal(harness_node_start(&town), 0);
    harness_set_parent(&village, &town, "parent");
    assert_int_equal(harness_node_start(&village), 0);
    void *ctx = zmq_ctx_new();

    char id[GR_EVENT_ID_LEN + 1];
    gr_event_id_new(id, gr_now_ms());
    assert_int_equal(s_bare_report(&village, ctx, id, "T.NEW"), 0);
    s_count_wait_t w = {&town, ctx, "rejected_category"};
    assert_true(harness_wait_until(s_counted, &w, 20000));
    /* Refused, so not there: neither the case nor a trace of it. */
    s_seen_t seen;
    s_get(&town, ctx, id, &seen);
    assert_int_equal(seen.status, 0);
    assert_int_equal(s_counter(&town, ctx, "events_stored"), 0);
    s_get(&village, ctx, id, &seen);
    assert_int_equal(seen.status, GRIDRELAY__STATUS__ESCALATED);

    /* The operator updates the township's catalogue and restarts it, then
     * retries the village's dead letter: now it creates the case there. */
    assert_int_equal(harness_node_stop(&town, SIGTERM), 0);
    assert_int_equal(s_write_catalogue(town.catalogue, true), 0);
    assert_int_equal(harness_node_start(&town), 0);
    char sec[400], pub[400], kerr[256];
    snprintf(sec, sizeof sec, "%.300s/reporter0.sec", village.dir);
    snprintf(pub, sizeof pub, "%.300s/reporter0.pub", village.dir);
    assert_int_equal(gr_keys_save(&village.reporters[0], sec, pub, kerr, sizeof kerr), 0);
    char out[4096], args[400];
    assert_true(node_wait_gridctl_says(&village, "outbox list --dead", "unknown_category", 20000));
    assert_int_equal(node_gridctl(&village, NULL, "outbox list --dead", false, out, sizeof out), 0);
    snprintf(args, sizeof args, "outbox retry %.*s", (int)strcspn(out, " "), out);
    assert_int_equal(node_gridctl(&village, NULL, args, false, out, sizeof out), 0);
    s_expect(&town, ctx, id, GRIDRELAY__STATUS__REPORTED, GRIDRELAY__SEVERITY__URGENT, "village-new");

    zmq_ctx_term(ctx);
    assert_int_equal(harness_node_stop(&village, SIGTERM), 0);
    assert_int_equal(harness_node_stop(&town, SIGTERM), 0);
    assert_int_equal(store_check(&town, town.catalogue), 0);
    assert_int_equal(store_check(&village, village.catalogue), 0);
    harness_node_cleanup(&village);
    harness_node_cleanup(&town);
}

/* Writes into town's (not yet started) store the case an older version
 * left there: escalated from a village without a severity, which that
 * version neither filled in nor could route. */
static void s_plant_stranded(harness_node_t *town, const char *id)
{
    gr_keypair_t reporter, village;
    assert_int_equal(gr_keys_generate(&reporter), 0);
    assert_int_equal(gr_keys_generate(&village), 0);
    Gridrelay__Event event = GRIDRELAY__EVENT__INIT;
    event.id = (char *)id;
    event.category = "T.DISTRICT";
    event.title = "landslide above the old road";
    Gridrelay__Report report = GRIDRELAY__REPORT__INIT;
    report.event = &event;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_REPORT;
    body.report = &report;
    uint8_t *origin = NULL;
    size_t origin_len = 0;
    assert_int_equal(gr_envelope_seal(&origin, &origin_len, &reporter, gr_now_ms() * 1000,
                                      gr_now_ms(), &body), 0);
    Gridrelay__Hop hop = GRIDRELAY__HOP__INIT;
    hop.node_id = "village-old";
    hop.tier_level = 1;
    hop.reason = "outside_authority";
    hop.time_ms = gr_now_ms();
    uint8_t sig[GR_SIGNATURE_BYTES];
    assert_int_equal(gr_hop_sign(&hop, id, &village, sig), 0);
    Gridrelay__Hop *hops[1] = {&hop};

    char dir[400];
    snprintf(dir, sizeof dir, "%s/store", town->dir);
    char err[256];
    gr_store_t *store = NULL;
    gr_store_options_t opt = {0};
    assert_int_equal(gr_store_open(&store, dir, &opt, err, sizeof err), 0);
    gr_txn_t *txn = NULL;
    assert_int_equal(gr_store_begin(store, true, &txn), 0);
    Gridrelay__StoredEvent stored = GRIDRELAY__STORED_EVENT__INIT;
    stored.event = &event;
    stored.origin_envelope.data = origin;
    stored.origin_envelope.len = origin_len;
    stored.from_child = "village-old";
    stored.hops = hops;
    stored.n_hops = 1;
    stored.received_ms = gr_now_ms();
    stored.holder = "town-a";
    Gridrelay__TimelineEntry first = GRIDRELAY__TIMELINE_ENTRY__INIT;
    first.time_ms = gr_now_ms();
    first.actor.data = village.pk;
    first.actor.len = GR_PUBLIC_KEY_BYTES;
    first.actor_name = "village-old";
    first.unit = "town-a";
    first.action = GRIDRELAY__ACTION__ACTION_ESCALATE;
    first.to_status = GRIDRELAY__STATUS__REPORTED;
    first.reason = "escalated from village-old";
    assert_int_equal(gr_store_event_create(txn, &stored, &first), 0);
    assert_int_equal(gr_store_commit(&txn), 0);
    gr_store_close(&store);
    free(origin);
}

static void test_a_case_stranded_by_an_older_version_is_routed_at_start(void **state)
{
    (void)state;
    harness_node_t district, town;
    assert_int_equal(harness_node_init(&district, "district-fix", 1), 0);
    assert_int_equal(harness_node_init(&town, "town-a", 1), 0);
    snprintf(district.tier, sizeof district.tier, "district");
    snprintf(town.tier, sizeof town.tier, "township");
    char *catalogue = district.catalogue;
    snprintf(catalogue, sizeof district.catalogue, "%s/catalogue.ini", district.dir);
    FILE *f = fopen(catalogue, "w");
    assert_non_null(f);
    fprintf(f, "[T.DISTRICT]\nclass = test\nsubclass = test\nname = needs the district\n"
               "authority = district\n");
    assert_int_equal(fclose(f), 0);
    memcpy(town.catalogue, district.catalogue, sizeof town.catalogue);
    harness_add_child(&district, &town);
    assert_int_equal(harness_node_start(&district), 0);
    harness_set_parent(&town, &district, "parent");
    char id[GR_EVENT_ID_LEN + 1];
    gr_event_id_new(id, gr_now_ms());
    s_plant_stranded(&town, id);
    assert_int_equal(harness_node_start(&town), 0);
    void *ctx = zmq_ctx_new();

    s_expect(&district, ctx, id, GRIDRELAY__STATUS__REPORTED, GRIDRELAY__SEVERITY__ROUTINE,
             "village-old");
    s_seen_t seen;
    s_get(&town, ctx, id, &seen);
    assert_int_equal(seen.status, GRIDRELAY__STATUS__ESCALATED);
    assert_int_equal(seen.severity, GRIDRELAY__SEVERITY__ROUTINE);
    assert_non_null(strstr(seen.timeline, "severity was missing"));
    /* Once: a restart repairs nothing more. */
    assert_int_equal(harness_node_stop(&town, SIGTERM), 0);
    assert_int_equal(harness_node_start(&town), 0);
    s_get(&town, ctx, id, &seen);
    assert_int_equal(seen.status, GRIDRELAY__STATUS__ESCALATED);

    zmq_ctx_term(ctx);
    assert_int_equal(harness_node_stop(&town, SIGTERM), 0);
    assert_int_equal(harness_node_stop(&district, SIGTERM), 0);
    assert_int_equal(store_check(&town, catalogue), 0);
    assert_int_equal(store_check(&district, catalogue), 0);
    harness_node_cleanup(&town);
    harness_node_cleanup(&district);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reports_without_severity_reach_their_tier),
        cmocka_unit_test(test_refused_escalation_leaves_nothing_and_the_resend_lands),
        cmocka_unit_test(test_a_case_stranded_by_an_older_version_is_routed_at_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
