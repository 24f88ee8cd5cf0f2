/* Bad input against a running gridrelayd: each kind gets its own error
 * reply and counter, the daemon keeps serving, and the store is unchanged. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>
#include <zmq.h>

#include "error.h"
#include "event_id.h"
#include "harness.h"
#include "group.h"
#include "tiers_fixture.h"
#include "hop.h"

typedef struct {
    harness_node_t node;
    void *ctx;
    gr_client_t *client;    /* trusted reporter 0 */
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (!f || harness_node_init(&f->node, "village-bad", 2) != 0)
        return -1;
    /* A small replay window so a stale sequence is easy to make. */
    snprintf(f->node.extra_node, sizeof f->node.extra_node, "replay_window = 100\n");
    *state = f;
    return node_start_with_client(&f->node, &f->ctx, &f->client);
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    int rc = node_stop_with_client(&f->node, &f->ctx, &f->client);
    harness_node_cleanup(&f->node);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void s_report_body(Gridrelay__Body *body, Gridrelay__Report *report, Gridrelay__Event *event,
                          const char *id, const char *category)
{
    gridrelay__event__init(event);
    event->id = (char *)id;
    event->category = (char *)category;
    event->title = "fallen power line across the village road";
    gridrelay__report__init(report);
    report->event = event;
    gridrelay__body__init(body);
    body->kind_case = GRIDRELAY__BODY__KIND_REPORT;
    body->report = report;
}

/* Sends a raw frame and returns the Error code of the reply, or -1 when
 * the reply was not an Error. */
static int s_raw_error(fixture_t *f, const void *frame, size_t len)
{
    assert_int_equal(gr_client_send_raw(f->client, frame, len), 0);
    gr_opened_t reply;
    assert_int_equal(gr_client_recv(f->client, &reply, 5000), 0);
    int code = reply.body->kind_case == GRIDRELAY__BODY__KIND_ERROR ? (int)reply.body->error->code : -1;
    if (code >= 0)
        assert_true(strlen(reply.body->error->message) > 0);
    gr_opened_clear(&reply);
    return code;
}

static uint64_t s_counter_of(gr_client_t *client, const char *name);

static uint64_t s_counter(fixture_t *f, const char *name)
{
    return s_counter_of(f->client, name);
}

static uint64_t s_counter_of(gr_client_t *client, const char *name)
{
    int64_t value = client_counter(client, name);
    assert_true(value >= 0);
    return (uint64_t)value;
}

/* Reporter 0's client numbers its envelopes from the clock in
 * microseconds; hand-made ones must stay above them to pass the replay
 * window. */
static uint64_t s_fresh_seq(void)
{
    static uint64_t last;
    uint64_t now = gr_now_ms() * 1000;
    last = now > last ? now : last + 1;
    return last;
}

static uint8_t *s_seal(const gr_keypair_t *kp, uint64_t seq, const Gridrelay__Body *body, size_t *len)
{
    uint8_t *frame = NULL;
    assert_int_equal(gr_envelope_seal(&frame, len, kp, seq, gr_now_ms(), body), 0);
    return frame;
}

static void test_each_bad_input_gets_its_error_and_changes_nothing(void **state)
{
    fixture_t *f = *state;
    Gridrelay__Body body;
    Gridrelay__Report report;
    Gridrelay__Event event;
    s_report_body(&body, &report, &event, "good-1", "PS.FIRE");
    gr_opened_t reply;
    assert_int_equal(gr_client_call(f->client, &body, &reply, 5000, 2), 0);
    assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_ACK);
    gr_opened_clear(&reply);
    uint64_t stored = s_counter(f, "events_stored");
    assert_int_equal(stored, 1);

    /* Random bytes. */
    uint8_t junk[300];
    randombytes_buf(junk, sizeof junk);
    junk[0] = 0xff;  /* an invalid protobuf tag, so it never decodes */
    assert_int_equal(s_raw_error(f, junk, sizeof junk), GRIDRELAY__ERROR_CODE__ERR_DECODE);

    /* A truncated envelope. */
    size_t len = 0;
    s_report_body(&body, &report, &event, "trunc-1", "PS.FIRE");
    uint8_t *frame = s_seal(&f->node.reporters[0], s_fresh_seq(), &body, &len);
    assert_int_equal(s_raw_error(f, frame, len / 2), GRIDRELAY__ERROR_CODE__ERR_DECODE);

    /* A wrong signature: one body byte flipped after sealing. */
    Gridrelay__Envelope *env = gridrelay__envelope__unpack(NULL, len, frame);
    assert_non_null(env);
    env->signature.data[5] ^= 0x40;
    uint8_t tampered[4096];
    size_t tlen = gridrelay__envelope__pack(env, tampered);
    gridrelay__envelope__free_unpacked(env, NULL);
    free(frame);
    assert_int_equal(s_raw_error(f, tampered, tlen), GRIDRELAY__ERROR_CODE__ERR_SIGNATURE);

    /* An unknown key. */
    gr_keypair_t stranger;
    assert_int_equal(gr_keys_generate(&stranger), 0);
    frame = s_seal(&stranger, s_fresh_seq(), &body, &len);
    assert_int_equal(s_raw_error(f, frame, len), GRIDRELAY__ERROR_CODE__ERR_UNTRUSTED);
    free(frame);

    /* An oversized frame (the default maximum is 64 KiB). */
    size_t big = 70 * 1024;
    uint8_t *huge = calloc(1, big);
    assert_non_null(huge);
    assert_int_equal(s_raw_error(f, huge, big), GRIDRELAY__ERROR_CODE__ERR_FRAME_TOO_LARGE);
    free(huge);

    /* An unknown category. */
    s_report_body(&body, &report, &event, "cat-1", "NO.SUCH.CATEGORY");
    frame = s_seal(&f->node.reporters[0], s_fresh_seq(), &body, &len);
    assert_int_equal(s_raw_error(f, frame, len), GRIDRELAY__ERROR_CODE__ERR_UNKNOWN_CATEGORY);
    free(frame);

    /* A body kind a node does not accept from a client. */
    Gridrelay__Ack ack = GRIDRELAY__ACK__INIT;
    Gridrelay__Body ack_body = GRIDRELAY__BODY__INIT;
    ack_body.kind_case = GRIDRELAY__BODY__KIND_ACK;
    ack_body.ack = &ack;
    frame = s_seal(&f->node.reporters[0], s_fresh_seq(), &ack_body, &len);
    assert_int_equal(s_raw_error(f, frame, len), GRIDRELAY__ERROR_CODE__ERR_UNSUPPORTED);
    free(frame);

    /* Nothing above was stored, and each kind was counted. */
    assert_int_equal(s_counter(f, "events_stored"), stored);
    assert_int_equal(s_counter(f, "rejected_decode"), 2);
    assert_int_equal(s_counter(f, "rejected_signature"), 1);
    assert_int_equal(s_counter(f, "rejected_untrusted"), 1);
    assert_int_equal(s_counter(f, "rejected_too_big"), 1);
    assert_int_equal(s_counter(f, "rejected_category"), 1);
    assert_int_equal(s_counter(f, "rejected_unsupported"), 1);
}

static void test_replays_are_answered_or_refused_never_stored_twice(void **state)
{
    fixture_t *f = *state;
    uint64_t before = s_counter(f, "events_stored");
    Gridrelay__Body body;
    Gridrelay__Report report;
    Gridrelay__Event event;
    s_report_body(&body, &report, &event, "replay-1", "PS.FIRE");
    size_t len = 0;
    uint8_t *frame = s_seal(&f->node.reporters[1], 1000, &body, &len);

    /* First delivery stores; an exact replay gets the original answer. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(gr_client_send_raw(f->client, frame, len), 0);
        gr_opened_t reply;
        assert_int_equal(gr_client_recv(f->client, &reply, 5000), 0);
        assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_ACK);
        assert_string_equal(reply.body->ack->event_id, "replay-1");
        assert_int_equal(reply.body->ack->duplicate, i > 0);
        gr_opened_clear(&reply);
    }
    free(frame);
    assert_int_equal(s_counter(f, "events_stored"), before + 1);
    assert_int_equal(s_counter(f, "duplicate"), 2);

    /* A sequence older than the window (100 below the newest) is refused. */
    s_report_body(&body, &report, &event, "stale-1", "PS.FIRE");
    frame = s_seal(&f->node.reporters[1], 900, &body, &len);
    assert_int_equal(s_raw_error(f, frame, len), GRIDRELAY__ERROR_CODE__ERR_REPLAY);
    free(frame);
    assert_int_equal(s_counter(f, "rejected_replay"), 1);
    assert_int_equal(s_counter(f, "events_stored"), before + 1);

    /* Within the window, an unseen older sequence is still accepted. */
    frame = s_seal(&f->node.reporters[1], 950, &body, &len);
    assert_int_equal(gr_client_send_raw(f->client, frame, len), 0);
    gr_opened_t reply;
    assert_int_equal(gr_client_recv(f->client, &reply, 5000), 0);
    assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_ACK);
    gr_opened_clear(&reply);
    free(frame);
    assert_int_equal(s_counter(f, "events_stored"), before + 2);
}

typedef struct {
    fixture_t *f;
    int sent;
} s_prune_wait_t;

/* Keeps the node writing (pruning rides on write transactions) until it
 * says it pruned something. */
static bool s_pruned(void *arg)
{
    s_prune_wait_t *w = arg;
    Gridrelay__Body body;
    Gridrelay__Report report;
    Gridrelay__Event event;
    char id[32];
    snprintf(id, sizeof id, "filler-%d", w->sent++);
    s_report_body(&body, &report, &event, id, "PS.FIRE");
    gr_opened_t reply;
    if (gr_client_call(w->f->client, &body, &reply, 5000, 2) == 0)
        gr_opened_clear(&reply);
    return s_counter(w->f, "dedup_pruned") > 0;
}

static void test_dedup_records_past_the_window_are_pruned(void **state)
{
    fixture_t *f = *state;
    Gridrelay__Body body;
    Gridrelay__Report report;
    Gridrelay__Event event;
    s_report_body(&body, &report, &event, "prune-1", "PS.FIRE");
    size_t len = 0;
    uint8_t *old = s_seal(&f->node.reporters[1], 2000, &body, &len);
    assert_int_equal(gr_client_send_raw(f->client, old, len), 0);
    gr_opened_t reply;
    assert_int_equal(gr_client_recv(f->client, &reply, 5000), 0);
    assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_ACK);
    gr_opened_clear(&reply);
    /* The signer moves on, far past the window of 100. */
    s_report_body(&body, &report, &event, "prune-2", "PS.FIRE");
    size_t len2 = 0;
    uint8_t *newer = s_seal(&f->node.reporters[1], 5000, &body, &len2);
    assert_int_equal(gr_client_send_raw(f->client, newer, len2), 0);
    assert_int_equal(gr_client_recv(f->client, &reply, 5000), 0);
    assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_ACK);
    gr_opened_clear(&reply);
    free(newer);

    s_prune_wait_t w = { f, 0 };
    assert_true(harness_wait_until(s_pruned, &w, 15000));
    uint64_t stored = s_counter(f, "events_stored");
    /* Its record gone, the old envelope is refused as a replay: still
     * never stored twice. */
    assert_int_equal(s_raw_error(f, old, len), GRIDRELAY__ERROR_CODE__ERR_REPLAY);
    assert_int_equal(s_counter(f, "events_stored"), stored);
    free(old);
}

static void test_queries_report_not_found_and_bad_tokens(void **state)
{
    fixture_t *f = *state;
    Gridrelay__GetEvent get = GRIDRELAY__GET_EVENT__INIT;
    get.event_id = "NOSUCHEVENT";
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_EVENT;
    body.get_event = &get;
    gr_opened_t reply;
    assert_int_equal(gr_client_call(f->client, &body, &reply, 5000, 2), 0);
    assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_ERROR);
    assert_int_equal(reply.body->error->code, GRIDRELAY__ERROR_CODE__ERR_NOT_FOUND);
    gr_opened_clear(&reply);

    Gridrelay__ListEvents list = GRIDRELAY__LIST_EVENTS__INIT;
    list.page_token = "not-a-token!";
    body.kind_case = GRIDRELAY__BODY__KIND_LIST_EVENTS;
    body.list_events = &list;
    assert_int_equal(gr_client_call(f->client, &body, &reply, 5000, 2), 0);
    assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_ERROR);
    assert_int_equal(reply.body->error->code, GRIDRELAY__ERROR_CODE__ERR_INVALID);
    gr_opened_clear(&reply);
}

/* ---- forged paths: a child's Escalate whose inner signatures fail ---- */

typedef struct {
    gr_keypair_t reporter;          /* the grid worker at the origin (any key) */
    gr_keypair_t child;             /* the township's child node */
    gr_keypair_t stranger;          /* a node nobody trusts */
    uint8_t origin[1024];
    size_t origin_len;
    char id[GR_EVENT_ID_LEN + 1];
} s_path_t;

static void s_path_origin_of(s_path_t *p, const char *category)
{
    gr_event_id_new(p->id, gr_now_ms());
    Gridrelay__Body body;
    Gridrelay__Report report;
    Gridrelay__Event event;
    s_report_body(&body, &report, &event, p->id, category);
    event.origin_node = "village-far";
    event.severity = GRIDRELAY__SEVERITY__ROUTINE;
    event.reporter = "worker-7";
    event.created_ms = gr_now_ms();
    size_t len = 0;
    uint8_t *frame = s_seal(&p->reporter, s_fresh_seq(), &body, &len);
    assert_true(len <= sizeof p->origin);
    memcpy(p->origin, frame, len);
    p->origin_len = len;
    free(frame);
}

static void s_path_origin(s_path_t *p)
{
    s_path_origin_of(p, "SS.DISPUTE");
}

static void s_path_hop(Gridrelay__Hop *hop, uint8_t sig[GR_SIGNATURE_BYTES], const char *node,
                       const gr_keypair_t *kp, const char *event_id)
{
    gridrelay__hop__init(hop);
    hop->node_id = (char *)node;
    hop->tier_level = 1;
    hop->reason = "outside_authority";
    hop->time_ms = gr_now_ms();
    assert_int_equal(gr_hop_sign(hop, event_id, kp, sig), 0);
}

/* Sends an Escalate with hops[0..n) as the child; returns the Error code of
 * the reply, or 0 for an Ack. */
static int s_escalate(gr_client_t *as_child, const s_path_t *p, Gridrelay__Hop **hops, size_t n)
{
    Gridrelay__Escalate esc = GRIDRELAY__ESCALATE__INIT;
    esc.origin_envelope.data = (uint8_t *)p->origin;
    esc.origin_envelope.len = p->origin_len;
    esc.hops = hops;
    esc.n_hops = n;
    esc.status_below = GRIDRELAY__STATUS__ESCALATED;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_ESCALATE;
    body.escalate = &esc;
    gr_opened_t reply;
    assert_int_equal(gr_client_call(as_child, &body, &reply, 5000, 2), 0);
    int code = reply.body->kind_case == GRIDRELAY__BODY__KIND_ERROR ? (int)reply.body->error->code
               : reply.body->kind_case == GRIDRELAY__BODY__KIND_ACK ? 0 : -1;
    if (reply.body->kind_case == GRIDRELAY__BODY__KIND_ERROR)
        fprintf(stderr, "escalate refused: %s\n", reply.body->error->message);
    gr_opened_clear(&reply);
    return code;
}

static void test_forged_escalation_paths_are_refused(void **state)
{
    (void)state;
    harness_node_t town, village;
    assert_int_equal(harness_node_init(&town, "township-paths", 1), 0);
    assert_int_equal(harness_node_init(&village, "village-child", 0), 0);
    snprintf(town.tier, sizeof town.tier, "township");
    harness_add_child(&town, &village);
    assert_int_equal(harness_node_start(&town), 0);
    s_path_t p;
    assert_int_equal(gr_keys_generate(&p.reporter), 0);
    assert_int_equal(gr_keys_generate(&p.stranger), 0);
    p.child = village.node_key;
    void *ctx = zmq_ctx_new();
    gr_client_t *as_child = gr_client_new(ctx, town.endpoint, &p.child, town.node_key.pk);
    assert_non_null(as_child);

    Gridrelay__Hop first, own, forged;
    uint8_t sig_first[GR_SIGNATURE_BYTES], sig_own[GR_SIGNATURE_BYTES], sig_forged[GR_SIGNATURE_BYTES];
    Gridrelay__Hop *hops[2];

    /* An earlier hop whose signature does not hold. */
    s_path_origin(&p);
    s_path_hop(&first, sig_first, "village-far", &p.stranger, p.id);
    sig_first[0] ^= 1;
    s_path_hop(&own, sig_own, "village-child", &p.child, p.id);
    hops[0] = &first;
    hops[1] = &own;
    assert_int_equal(s_escalate(as_child, &p, hops, 2), GRIDRELAY__ERROR_CODE__ERR_SIGNATURE);

    /* The last hop must be the sender's own, however well signed. */
    s_path_hop(&forged, sig_forged, "village-far", &p.stranger, p.id);
    hops[0] = &forged;
    assert_int_equal(s_escalate(as_child, &p, hops, 1), GRIDRELAY__ERROR_CODE__ERR_SIGNATURE);

    /* A malformed last hop (a 3-byte signer) is refused, not read past. */
    Gridrelay__Hop short_signer = own;
    short_signer.signer.len = 3;
    hops[0] = &short_signer;
    assert_int_equal(s_escalate(as_child, &p, hops, 1), GRIDRELAY__ERROR_CODE__ERR_SIGNATURE);

    /* The reporter's own signature must hold, whoever forwards it. */
    p.origin[p.origin_len - 1] ^= 1;
    hops[0] = &own;
    assert_int_equal(s_escalate(as_child, &p, hops, 1), GRIDRELAY__ERROR_CODE__ERR_SIGNATURE);
    p.origin[p.origin_len - 1] ^= 1;

    /* Nothing of that was stored; the honest path is. */
    Gridrelay__GetEvent get = GRIDRELAY__GET_EVENT__INIT;
    get.event_id = p.id;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_EVENT;
    body.get_event = &get;
    gr_opened_t reply;
    assert_int_equal(gr_client_call(as_child, &body, &reply, 5000, 2), 0);
    assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_ERROR);
    assert_int_equal(reply.body->error->code, GRIDRELAY__ERROR_CODE__ERR_NOT_FOUND);
    gr_opened_clear(&reply);
    s_path_hop(&first, sig_first, "village-far", &p.stranger, p.id);
    hops[0] = &first;
    hops[1] = &own;
    assert_int_equal(s_escalate(as_child, &p, hops, 2), 0);
    assert_int_equal(gr_client_call(as_child, &body, &reply, 5000, 2), 0);
    assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_EVENT_DETAIL);
    gr_opened_clear(&reply);

    gr_client_destroy(&as_child);
    zmq_ctx_term(ctx);
    assert_int_equal(harness_node_stop(&town, SIGTERM), 0);
    harness_node_cleanup(&town);
    harness_node_cleanup(&village);
}

/* ---- where signatures are checked: a middle tier trusts its child's hop ---- */

typedef struct {
    gr_client_t *top;
    const char *counter;
    uint64_t above;
} s_counter_wait_t;

static bool s_counter_above(void *arg)
{
    s_counter_wait_t *w = arg;
    return s_counter_of(w->top, w->counter) > w->above;
}

/* The Error code GetEvent gets for id at the node behind client, or 0 when
 * the node holds it. */
static int s_get_code(gr_client_t *client, const char *id)
{
    Gridrelay__GetEvent get = GRIDRELAY__GET_EVENT__INIT;
    get.event_id = (char *)id;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_EVENT;
    body.get_event = &get;
    gr_opened_t reply;
    assert_int_equal(gr_client_call(client, &body, &reply, 5000, 2), 0);
    int code = reply.body->kind_case == GRIDRELAY__BODY__KIND_ERROR ? (int)reply.body->error->code
               : reply.body->kind_case == GRIDRELAY__BODY__KIND_EVENT_DETAIL ? 0 : -1;
    gr_opened_clear(&reply);
    return code;
}

typedef struct {
    gr_client_t *client;
    const char *id;
} s_held_wait_t;

static bool s_held(void *arg)
{
    s_held_wait_t *w = arg;
    return s_get_code(w->client, w->id) == 0;
}

static void test_forged_origin_passes_the_middle_and_is_refused_at_the_top(void **state)
{
    (void)state;
    harness_node_t dist, town, village;
    assert_int_equal(harness_node_init(&dist, "district-top", 1), 0);
    assert_int_equal(harness_node_init(&town, "township-mid", 1), 0);
    assert_int_equal(harness_node_init(&village, "village-child", 0), 0);
    snprintf(dist.tier, sizeof dist.tier, "district");
    snprintf(town.tier, sizeof town.tier, "township");
    harness_add_child(&dist, &town);
    harness_add_child(&town, &village);
    assert_int_equal(harness_node_start(&dist), 0);
    harness_set_parent(&town, &dist, "parent");
    assert_int_equal(harness_node_start(&town), 0);

    void *ctx = zmq_ctx_new();
    gr_client_t *as_child = gr_client_new(ctx, town.endpoint, &village.node_key, town.node_key.pk);
    gr_client_t *at_top = harness_client(&dist, ctx, 0);
    assert_non_null(as_child);
    assert_non_null(at_top);
    uint64_t refused_before = s_counter_of(at_top, "rejected_signature");

    /* A case only the district may resolve, so the township passes it up;
     * its reporter's signature is broken and the child's hop is honest. */
    s_path_t forged;
    assert_int_equal(gr_keys_generate(&forged.reporter), 0);
    s_path_origin_of(&forged, "PS.EPIDEMIC");
    forged.origin[forged.origin_len - 1] ^= 1;
    Gridrelay__Hop own;
    uint8_t sig_own[GR_SIGNATURE_BYTES];
    s_path_hop(&own, sig_own, "village-child", &village.node_key, forged.id);
    Gridrelay__Hop *hops[1] = {&own};
    /* The middle tier does not check the origin: the child answers for it
     * with its hop, which the envelope's signature covers. */
    assert_int_equal(s_escalate(as_child, &forged, hops, 1), 0);
    s_counter_wait_t refused = {at_top, "rejected_signature", refused_before};
    assert_true(harness_wait_until(s_counter_above, &refused, 20000));
    assert_int_equal(s_get_code(at_top, forged.id), GRIDRELAY__ERROR_CODE__ERR_NOT_FOUND);

    /* The same path with the reporter's signature intact reaches the top. */
    s_path_t honest;
    assert_int_equal(gr_keys_generate(&honest.reporter), 0);
    s_path_origin_of(&honest, "PS.EPIDEMIC");
    s_path_hop(&own, sig_own, "village-child", &village.node_key, honest.id);
    assert_int_equal(s_escalate(as_child, &honest, hops, 1), 0);
    s_held_wait_t held = {at_top, honest.id};
    assert_true(harness_wait_until(s_held, &held, 20000));
    assert_int_equal(s_get_code(at_top, forged.id), GRIDRELAY__ERROR_CODE__ERR_NOT_FOUND);

    gr_client_destroy(&as_child);
    gr_client_destroy(&at_top);
    zmq_ctx_term(ctx);
    assert_int_equal(harness_node_stop(&town, SIGTERM), 0);
    assert_int_equal(harness_node_stop(&dist, SIGTERM), 0);
    harness_node_cleanup(&town);
    harness_node_cleanup(&dist);
    harness_node_cleanup(&village);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_bad_input_gets_its_error_and_changes_nothing),
        cmocka_unit_test(test_replays_are_answered_or_refused_never_stored_twice),
        cmocka_unit_test(test_dedup_records_past_the_window_are_pruned),
        cmocka_unit_test(test_queries_report_not_found_and_bad_tokens),
        cmocka_unit_test(test_forged_escalation_paths_are_refused),
        cmocka_unit_test(test_forged_origin_passes_the_middle_and_is_refused_at_the_top),
    };
    return GROUP_RUN(tests, s_setup, s_teardown);
}
