/* Signed, well-formed envelopes whose fields are bad, against a running
 * node: each is refused alone with ERR_INVALID (or the code its kind
 * has), with a message that names the field and never echoes its bytes,
 * and nothing of it is stored; its neighbours in the same batch are not
 * touched. */
#include <math.h>
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
#include "store_check.h"
#include "text.h"

#define CATALOGUE GR_SOURCE_ROOT "/examples/catalogue.ini"

typedef struct {
    harness_node_t node;
    harness_node_t child;       /* configured as its child; never started */
    void *ctx;
    gr_client_t *client;        /* reporter 0 */
} fixture_t;

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (!f || harness_node_init(&f->node, "town-fields", 2) != 0 ||
        harness_node_init(&f->child, "village-fields", 0) != 0)
        return -1;
    snprintf(f->node.tier, sizeof f->node.tier, "township");
    harness_add_child(&f->node, &f->child);
    *state = f;
    return node_start_with_client(&f->node, &f->ctx, &f->client);
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    int rc = node_stop_with_client(&f->node, &f->ctx, &f->client);
    int bad = store_check(&f->node, CATALOGUE);
    harness_node_cleanup(&f->node);
    harness_node_cleanup(&f->child);
    free(f);
    return rc == 0 && bad == 0 ? 0 : -1;
}

static uint64_t s_fresh_seq(void)
{
    static uint64_t last;
    uint64_t now = gr_now_ms() * 1000;
    last = now > last ? now : last + 1;
    return last;
}

static uint64_t s_counter(fixture_t *f, const char *name)
{
    int64_t value = client_counter(f->client, name);
    assert_true(value >= 0);
    return (uint64_t)value;
}

/* Packs body, replaces the first occurrence of the bytes find (same
 * length as with) by with, and seals the result as kp at seq: how a frame
 * with bytes a C string cannot hold (an inner NUL) is made. */
static uint8_t *s_seal_patched(const gr_keypair_t *kp, uint64_t seq, const Gridrelay__Body *body,
                               const char *find, const uint8_t *with, size_t n, size_t *len)
{
    size_t blen = gridrelay__body__get_packed_size(body);
    uint8_t *bytes = malloc(blen);
    assert_non_null(bytes);
    gridrelay__body__pack(body, bytes);
    if (find) {
        uint8_t *at = memmem(bytes, blen, find, n);
        assert_non_null(at);
        memcpy(at, with, n);
    }
    uint8_t *frame = NULL;
    assert_int_equal(gr_envelope_seal_bytes(&frame, len, kp, seq, gr_now_ms(), bytes, blen), 0);
    free(bytes);
    return frame;
}

/* Sends frame as reporter 0's client; returns the Error code (0 for an
 * Ack), checking that an error's message is clean UTF-8 without echo of
 * what the field held. */
static int s_send(fixture_t *f, const uint8_t *frame, size_t len, const char *not_echoed)
{
    assert_int_equal(gr_client_send_raw(f->client, frame, len), 0);
    gr_opened_t reply;
    assert_int_equal(gr_client_recv(f->client, &reply, 5000), 0);
    int code = 0;
    if (reply.body->kind_case == GRIDRELAY__BODY__KIND_ERROR) {
        const char *msg = reply.body->error->message;
        code = (int)reply.body->error->code;
        assert_true(strlen(msg) > 0);
        assert_true(gr_utf8_valid((const uint8_t *)msg, strlen(msg)));
        if (not_echoed)
            assert_null(strstr(msg, not_echoed));
    } else {
        assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_ACK);
    }
    gr_opened_clear(&reply);
    return code;
}

static void s_event(Gridrelay__Event *ev, const char *id)
{
    gridrelay__event__init(ev);
    ev->id = (char *)id;
    ev->category = "PS.FIRE";
    ev->title = "smoke behind the school";
}

static int s_report(fixture_t *f, const Gridrelay__Event *ev, const char *find, const uint8_t *with,
                    size_t n)
{
    Gridrelay__Report report = GRIDRELAY__REPORT__INIT;
    report.event = (Gridrelay__Event *)ev;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_REPORT;
    body.report = &report;
    size_t len = 0;
    uint8_t *frame = s_seal_patched(&f->node.reporters[0], s_fresh_seq(), &body, find, with, n, &len);
    int code = s_send(f, frame, len, "\xff");
    free(frame);
    return code;
}

static void test_bad_event_fields_are_refused_and_nothing_stored(void **state)
{
    fixture_t *f = *state;
    const int INVALID = GRIDRELAY__ERROR_CODE__ERR_INVALID;
    uint64_t stored = s_counter(f, "events_stored");
    uint64_t invalid = s_counter(f, "rejected_invalid");
    Gridrelay__Event ev;
    int refused = 0;

    /* Invalid UTF-8 in each text field. */
    const char *bad = "\xff\xfe not text";
    char **fields[] = {&ev.title, &ev.description, &ev.reporter, &ev.origin_node};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        s_event(&ev, NULL);
        *fields[i] = (char *)bad;
        assert_int_equal(s_report(f, &ev, NULL, NULL, 0), INVALID);
        refused++;
    }
    Gridrelay__Location loc = GRIDRELAY__LOCATION__INIT;
    s_event(&ev, NULL);
    loc.grid_code = (char *)bad;
    ev.location = &loc;
    assert_int_equal(s_report(f, &ev, NULL, NULL, 0), INVALID);
    refused++;
    char *tags[] = {"ok", (char *)bad};
    s_event(&ev, NULL);
    ev.tags = tags;
    ev.n_tags = 2;
    assert_int_equal(s_report(f, &ev, NULL, NULL, 0), INVALID);
    refused++;
    /* An unknown category with a non-UTF-8 byte: refused as bad text, not
     * echoed into the error (an Error such clients could not decode). */
    s_event(&ev, NULL);
    ev.category = "PS.\xff";
    assert_int_equal(s_report(f, &ev, NULL, NULL, 0), INVALID);
    refused++;
    /* A UTF-8 category that is not an id: refused before the lookup. */
    s_event(&ev, NULL);
    ev.category = "消防";
    assert_int_equal(s_report(f, &ev, NULL, NULL, 0), INVALID);
    refused++;

    /* A NUL inside a string would cut it short: refused. */
    const uint8_t nul = 0;
    s_event(&ev, NULL);
    ev.category = "PS.CRIMEZX";
    assert_int_equal(s_report(f, &ev, "PS.CRIMEZX", (const uint8_t *)"PS.CRIME\0X", 10), INVALID);
    (void)nul;
    refused++;
    s_event(&ev, "FZokZnul");
    assert_int_equal(s_report(f, &ev, "FZokZnul", (const uint8_t *)"FZok\0nul", 8), INVALID);
    refused++;

    /* Values out of range. */
    s_event(&ev, NULL);
    ev.severity = (Gridrelay__Severity)4;
    assert_int_equal(s_report(f, &ev, NULL, NULL, 0), INVALID);
    s_event(&ev, NULL);
    ev.created_ms = UINT64_MAX;
    assert_int_equal(s_report(f, &ev, NULL, NULL, 0), INVALID);
    s_event(&ev, NULL);
    ev.created_ms = 1000;  /* 1970 */
    assert_int_equal(s_report(f, &ev, NULL, NULL, 0), INVALID);
    char long_id[601];
    memset(long_id, 'v', 600);
    long_id[600] = '\0';
    s_event(&ev, NULL);
    ev.origin_node = long_id;
    assert_int_equal(s_report(f, &ev, NULL, NULL, 0), INVALID);
    /* A reporter may not claim another origin node. */
    s_event(&ev, NULL);
    ev.origin_node = "village-elsewhere";
    assert_int_equal(s_report(f, &ev, NULL, NULL, 0), INVALID);
    s_event(&ev, NULL);
    loc = (Gridrelay__Location)GRIDRELAY__LOCATION__INIT;
    loc.has_coordinates = true;
    loc.lat = NAN;
    loc.lon = 120.0;
    ev.location = &loc;
    assert_int_equal(s_report(f, &ev, NULL, NULL, 0), INVALID);
    loc.lat = 30.0;
    loc.lon = INFINITY;
    assert_int_equal(s_report(f, &ev, NULL, NULL, 0), INVALID);
    loc.lon = 190.0;
    assert_int_equal(s_report(f, &ev, NULL, NULL, 0), INVALID);
    refused += 8;

    assert_int_equal(s_counter(f, "events_stored"), stored);
    assert_int_equal(s_counter(f, "rejected_invalid"), invalid + (uint64_t)refused);
    /* And the node still takes a good one. */
    s_event(&ev, NULL);
    assert_int_equal(s_report(f, &ev, NULL, NULL, 0), 0);
    assert_int_equal(s_counter(f, "events_stored"), stored + 1);
}

static void test_one_bad_request_never_fails_its_batch(void **state)
{
    fixture_t *f = *state;
    gr_client_t *other = harness_client(&f->node, f->ctx, 1);
    assert_non_null(other);
    uint64_t stored = s_counter(f, "events_stored");
    /* 30 good reports from one reporter, pipelined, and beside them a case
     * action whose event id is 65 characters long, from another. */
    char long_id[66];
    memset(long_id, 'E', 65);
    long_id[65] = '\0';
    Gridrelay__CaseAction ca = GRIDRELAY__CASE_ACTION__INIT;
    ca.event_id = long_id;
    ca.kind = GRIDRELAY__CASE_ACTION__KIND__ACCEPT;
    Gridrelay__Body bad = GRIDRELAY__BODY__INIT;
    bad.kind_case = GRIDRELAY__BODY__KIND_CASE_ACTION;
    bad.case_action = &ca;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 30; i++) {
            Gridrelay__Event ev;
            s_event(&ev, NULL);
            Gridrelay__Report report = GRIDRELAY__REPORT__INIT;
            report.event = &ev;
            Gridrelay__Body body = GRIDRELAY__BODY__INIT;
            body.kind_case = GRIDRELAY__BODY__KIND_REPORT;
            body.report = &report;
            assert_int_equal(gr_client_send(other, &body, NULL, NULL, NULL), 0);
            if (i == 15)
                assert_int_equal(gr_client_send(f->client, &bad, NULL, NULL, NULL), 0);
        }
        gr_opened_t reply;
        assert_int_equal(gr_client_recv(f->client, &reply, 5000), 0);
        assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_ERROR);
        assert_int_equal(reply.body->error->code, GRIDRELAY__ERROR_CODE__ERR_INVALID);
        assert_non_null(strstr(reply.body->error->message, "event_id"));
        gr_opened_clear(&reply);
        for (int i = 0; i < 30; i++) {
            assert_int_equal(gr_client_recv(other, &reply, 5000), 0);
            assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_ACK);
            gr_opened_clear(&reply);
        }
    }
    assert_int_equal(s_counter(f, "events_stored"), stored + 90);
    gr_client_destroy(&other);
}

typedef struct {
    fixture_t *f;
    size_t n;
} s_view_wait_t;

static bool s_view_filled(void *arg)
{
    s_view_wait_t *w = arg;
    Gridrelay__ListView lv = GRIDRELAY__LIST_VIEW__INIT;
    Gridrelay__Body q = GRIDRELAY__BODY__INIT;
    q.kind_case = GRIDRELAY__BODY__KIND_LIST_VIEW;
    q.list_view = &lv;
    gr_opened_t reply;
    assert_int_equal(gr_client_call(w->f->client, &q, &reply, 5000, 2), 0);
    assert_int_equal(reply.body->kind_case, GRIDRELAY__BODY__KIND_VIEW_PAGE);
    w->n = reply.body->view_page->n_updates;
    if (w->n)
        assert_string_equal(reply.body->view_page->updates[0]->event_id, "EV-GOOD");
    gr_opened_clear(&reply);
    return w->n > 0;
}

/* A child's status stream with one malformed update: that update is
 * refused and passed over, the next one applied. */
static void test_a_bad_status_update_is_passed_over(void **state)
{
    fixture_t *f = *state;
    gr_client_t *as_child = gr_client_new(f->ctx, f->node.endpoint, &f->child.node_key,
                                          f->node.node_key.pk);
    assert_non_null(as_child);
    uint64_t invalid = s_counter(f, "rejected_invalid");
    char long_node[601];
    memset(long_node, 'n', 600);
    long_node[600] = '\0';
    Gridrelay__StatusUpdate bad = GRIDRELAY__STATUS_UPDATE__INIT, good = GRIDRELAY__STATUS_UPDATE__INIT;
    bad.node_seq = 1;
    bad.node_id = long_node;
    bad.event_id = "EV-BAD";
    bad.status = GRIDRELAY__STATUS__REPORTED;
    good = bad;
    good.node_seq = 2;
    good.node_id = "village-fields";
    good.event_id = "EV-GOOD";
    Gridrelay__StatusUpdate *updates[] = {&bad, &good};
    Gridrelay__StatusBatch batch = GRIDRELAY__STATUS_BATCH__INIT;
    batch.updates = updates;
    batch.n_updates = 2;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_STATUS_BATCH;
    body.status_batch = &batch;
    assert_int_equal(gr_client_send(as_child, &body, NULL, NULL, NULL), 0);

    /* The township's view holds the good update only. */
    s_view_wait_t w = {f, 0};
    assert_true(harness_wait_until(s_view_filled, &w, 10000));
    size_t n = w.n;
    assert_int_equal(n, 1);
    assert_int_equal(s_counter(f, "rejected_invalid"), invalid + 1);
    gr_client_destroy(&as_child);
}

static int s_call_code(gr_client_t *client, const Gridrelay__Body *body)
{
    gr_opened_t reply;
    assert_int_equal(gr_client_call(client, body, &reply, 5000, 2), 0);
    int code = reply.body->kind_case == GRIDRELAY__BODY__KIND_ERROR ? (int)reply.body->error->code : 0;
    gr_opened_clear(&reply);
    return code;
}

static void test_bad_query_and_link_fields_are_refused(void **state)
{
    fixture_t *f = *state;
    const int INVALID = GRIDRELAY__ERROR_CODE__ERR_INVALID;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;

    Gridrelay__ListTasks lt = GRIDRELAY__LIST_TASKS__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_LIST_TASKS;
    body.list_tasks = &lt;
    const char *bad_ids[] = {"../x", "bad id!"};
    for (size_t i = 0; i < 2; i++) {
        lt.after_event_id = (char *)bad_ids[i];
        assert_int_equal(s_call_code(f->client, &body), INVALID);
    }
    Gridrelay__ListView lv = GRIDRELAY__LIST_VIEW__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_LIST_VIEW;
    body.list_view = &lv;
    lv.node_id = "bad id/";
    assert_int_equal(s_call_code(f->client, &body), INVALID);
    /* A node id that is one NUL byte (which used to list every update). */
    lv.node_id = "Z";
    size_t len = 0;
    uint8_t *frame = s_seal_patched(&f->node.reporters[0], s_fresh_seq(), &body, "Z",
                                    (const uint8_t *)"\0", 1, &len);
    assert_int_equal(s_send(f, frame, len, NULL), INVALID);
    free(frame);

    /* Feedback is for the tier links: a reporter's key is refused. */
    Gridrelay__Feedback fb = GRIDRELAY__FEEDBACK__INIT;
    fb.event_id = "SOMECASE";
    fb.outcome = GRIDRELAY__STATUS__RESOLVED;
    body.kind_case = GRIDRELAY__BODY__KIND_FEEDBACK;
    body.feedback = &fb;
    assert_int_equal(s_call_code(f->client, &body), GRIDRELAY__ERROR_CODE__ERR_FORBIDDEN);
}

static void test_a_far_future_seq_is_refused_and_a_locked_out_signer_can_be_reset(void **state)
{
    fixture_t *f = *state;
    Gridrelay__Event ev;
    s_event(&ev, NULL);
    Gridrelay__Report report = GRIDRELAY__REPORT__INIT;
    report.event = &ev;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_REPORT;
    body.report = &report;
    const gr_keypair_t *kp = &f->node.reporters[1];
    size_t len = 0;
    uint8_t *frame = s_seal_patched(kp, UINT64_MAX - 1, &body, NULL, NULL, 0, &len);
    assert_int_equal(s_send(f, frame, len, NULL), GRIDRELAY__ERROR_CODE__ERR_INVALID);
    free(frame);
    frame = s_seal_patched(kp, s_fresh_seq(), &body, NULL, NULL, 0, &len);
    assert_int_equal(s_send(f, frame, len, NULL), 0);
    free(frame);

    /* Within the bound but hours ahead (a terminal whose clock jumped):
     * accepted, and the signer's honest seqs are refused after it... */
    frame = s_seal_patched(kp, s_fresh_seq() + 5ull * 3600 * 1000000, &body, NULL, NULL, 0, &len);
    assert_int_equal(s_send(f, frame, len, NULL), 0);
    free(frame);
    frame = s_seal_patched(kp, s_fresh_seq(), &body, NULL, NULL, 0, &len);
    assert_int_equal(s_send(f, frame, len, NULL), GRIDRELAY__ERROR_CODE__ERR_REPLAY);
    free(frame);

    /* ...until the operator resets it, with the node stopped. */
    assert_int_equal(harness_node_stop(&f->node, SIGTERM), 0);
    char hex[GR_PUBLIC_KEY_HEX], cmd[1024], out[1024];
    gr_key_to_hex(hex, kp->pk);
    snprintf(cmd, sizeof cmd, "'%s' --config '%s' --reset-signer %s", harness_daemon_path(),
             f->node.config, hex);
    assert_int_equal(harness_run(cmd, out, sizeof out), 0);
    /* The hours-ahead request was a Report that made a case: its event id
     * answers its resend, so it left no (signer, seq) record to remove
     * (PROTOCOL.md 5); the reset alone lets the signer in again. */
    assert_non_null(strstr(out, "0 records above it removed"));
    assert_int_equal(harness_node_start(&f->node), 0);
    frame = s_seal_patched(kp, s_fresh_seq(), &body, NULL, NULL, 0, &len);
    assert_int_equal(s_send(f, frame, len, NULL), 0);
    free(frame);
}

static void test_frames_up_to_the_cap_get_a_reply(void **state)
{
    fixture_t *f = *state;
    /* 16 x max_frame (64 KiB) = 1 MiB: every size up to it is answered,
     * the last 32 bytes below it included. */
    size_t sizes[] = {1048544, 1048560, 1048576};
    for (size_t i = 0; i < 3; i++) {
        uint8_t *big = calloc(1, sizes[i]);
        assert_non_null(big);
        assert_int_equal(s_send(f, big, sizes[i], NULL), GRIDRELAY__ERROR_CODE__ERR_FRAME_TOO_LARGE);
        free(big);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_event_fields_are_refused_and_nothing_stored),
        cmocka_unit_test(test_one_bad_request_never_fails_its_batch),
        cmocka_unit_test(test_a_bad_status_update_is_passed_over),
        cmocka_unit_test(test_bad_query_and_link_fields_are_refused),
        cmocka_unit_test(test_a_far_future_seq_is_refused_and_a_locked_out_signer_can_be_reset),
        cmocka_unit_test(test_frames_up_to_the_cap_get_a_reply),
    };
    return GROUP_RUN(tests, s_setup, s_teardown);
}
