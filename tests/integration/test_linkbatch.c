/* Link batches (PROTOCOL.md 8.9) against a real township: a child sends
 * three escalations in one batch frame, one of them bad (an unknown
 * category): that one is refused with its own Error and counted, the two
 * others are stored and acknowledged together; the same batch again (a
 * replay) stores nothing twice; a batch whose item was changed after the
 * child signed its root is refused whole and counted, nothing stored; and
 * each stored case keeps its item's inclusion proof, which verifies by
 * the child's key alone (and not once one byte of its path is changed). */
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
#include "tiers_fixture.h"
#include "hop.h"
#include "linkbatch.h"
#include "store.h"

#define WAIT_MS 10000

typedef struct {
    char id[GR_EVENT_ID_MAX + 1];
    uint8_t *body;
    size_t len;
    uint64_t seq;
} s_esc_t;

static uint64_t s_fresh_seq(void)
{
    static uint64_t last;
    uint64_t now = gr_now_ms() * 1000;
    last = now > last ? now : last + 1;
    return last;
}

/* An Escalate of a fresh report in category, with the child's own hop. */
static void s_escalate(s_esc_t *e, const gr_keypair_t *reporter, const gr_keypair_t *child,
                       const char *category)
{
    gr_event_id_new(e->id, gr_now_ms());
    Gridrelay__Event ev = GRIDRELAY__EVENT__INIT;
    ev.id = e->id;
    ev.category = (char *)category;
    ev.title = "a wall about to fall on the school path";
    ev.origin_node = "village-child";
    ev.severity = GRIDRELAY__SEVERITY__ROUTINE;
    ev.reporter = "worker-3";
    ev.created_ms = gr_now_ms();
    Gridrelay__Report rep = GRIDRELAY__REPORT__INIT;
    rep.event = &ev;
    Gridrelay__Body rb = GRIDRELAY__BODY__INIT;
    rb.kind_case = GRIDRELAY__BODY__KIND_REPORT;
    rb.report = &rep;
    uint8_t *origin = NULL;
    size_t origin_len = 0;
    assert_int_equal(gr_envelope_seal(&origin, &origin_len, reporter, s_fresh_seq(), gr_now_ms(),
                                      &rb), 0);
    Gridrelay__Hop hop = GRIDRELAY__HOP__INIT;
    hop.node_id = "village-child";
    hop.tier_level = 1;
    hop.reason = "outside_authority";
    hop.time_ms = gr_now_ms();
    uint8_t sig[GR_SIGNATURE_BYTES];
    assert_int_equal(gr_hop_sign_bound(&hop, e->id, origin, origin_len, child, sig), 0);
    Gridrelay__Hop *hops[1] = {&hop};
    Gridrelay__Escalate esc = GRIDRELAY__ESCALATE__INIT;
    esc.origin_envelope = (ProtobufCBinaryData){origin_len, origin};
    esc.hops = hops;
    esc.n_hops = 1;
    esc.status_below = GRIDRELAY__STATUS__ESCALATED;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_ESCALATE;
    body.escalate = &esc;
    e->body = gr_body_pack(&body, &e->len);
    e->seq = s_fresh_seq();
    free(origin);
}

static uint64_t s_counter(gr_client_t *client, const char *name)
{
    int64_t value = client_counter(client, name);
    assert_true(value >= 0);
    return (uint64_t)value;
}

/* Reads the node's answers to a batch until every seq of want_ack is
 * acknowledged and want_err refused (other link frames, heartbeats and
 * catch-up requests, are passed over). Returns the Error code seen. */
static int s_answers(gr_client_t *child, const uint64_t *want_ack, size_t n_ack, uint64_t want_err)
{
    size_t acked = 0;
    int code = -1;
    uint64_t until = gr_now_ms() + WAIT_MS;
    while ((acked < n_ack || code < 0) && gr_now_ms() < until) {
        gr_opened_t r;
        if (gr_client_recv(child, &r, 500) != 0)
            continue;
        const Gridrelay__Body *b = r.body;
        if (b->kind_case == GRIDRELAY__BODY__KIND_ACK_BATCH) {
            /* Acknowledged as one, in order. */
            assert_int_equal(r.envelope->version, 2);
            assert_int_equal(b->ack_batch->n_ref_seqs, n_ack);
            for (size_t i = 0; i < n_ack; i++)
                assert_int_equal(b->ack_batch->ref_seqs[i], want_ack[i]);
            acked = n_ack;
        } else if (b->kind_case == GRIDRELAY__BODY__KIND_ERROR && b->error->ref_seq == want_err) {
            code = (int)b->error->code;
        }
        gr_opened_clear(&r);
    }
    assert_int_equal(acked, n_ack);
    return code;
}

typedef struct {
    gr_client_t *client;
    uint64_t above;
} s_wait_t;

static bool s_refused(void *arg)
{
    s_wait_t *w = arg;
    return s_counter(w->client, "rejected_signature") > w->above;
}

static void test_a_batch_of_escalations(void **state)
{
    (void)state;
    harness_node_t town, village;
    assert_int_equal(harness_node_init(&town, "township-batch", 1), 0);
    assert_int_equal(harness_node_init(&village, "village-child", 0), 0);
    snprintf(town.tier, sizeof town.tier, "township");
    harness_add_child(&town, &village);
    assert_int_equal(harness_node_start(&town), 0);
    gr_keypair_t reporter;
    assert_int_equal(gr_keys_generate(&reporter), 0);
    void *ctx = zmq_ctx_new();
    gr_client_t *child = gr_client_new(ctx, town.endpoint, &village.node_key, town.node_key.pk);
    assert_non_null(child);
    uint64_t stored0 = s_counter(child, "events_stored");

    s_esc_t e[3];
    s_escalate(&e[0], &reporter, &village.node_key, "SS.DISPUTE");
    s_escalate(&e[1], &reporter, &village.node_key, "NO.SUCH.CATEGORY");
    s_escalate(&e[2], &reporter, &village.node_key, "SS.DISPUTE");
    gr_linkbatch_item_t items[3];
    for (int i = 0; i < 3; i++)
        items[i] = (gr_linkbatch_item_t){e[i].seq, gr_now_ms(), e[i].body, e[i].len};
    uint8_t *frame = NULL;
    size_t len = 0;
    assert_int_equal(gr_linkbatch_seal(&frame, &len, &village.node_key, town.node_key.pk,
                                       s_fresh_seq(), gr_now_ms(), items, 3), 0);

    /* One bad item: refused alone, with its own Error; the others stored. */
    assert_int_equal(gr_client_send_raw(child, frame, len), 0);
    uint64_t good[2] = {e[0].seq, e[2].seq};
    assert_int_equal(s_answers(child, good, 2, e[1].seq),
                     GRIDRELAY__ERROR_CODE__ERR_UNKNOWN_CATEGORY);
    assert_int_equal(s_counter(child, "events_stored"), stored0 + 2);

    /* The same batch again: acknowledged (duplicates), nothing stored twice. */
    assert_int_equal(gr_client_send_raw(child, frame, len), 0);
    assert_int_equal(s_answers(child, good, 2, e[1].seq),
                     GRIDRELAY__ERROR_CODE__ERR_UNKNOWN_CATEGORY);
    assert_int_equal(s_counter(child, "events_stored"), stored0 + 2);

    /* An item changed after the child signed the root, in an envelope the
     * child did sign: the whole batch is refused and counted. */
    s_esc_t t;
    s_escalate(&t, &reporter, &village.node_key, "SS.DISPUTE");
    gr_linkbatch_item_t titem = {t.seq, gr_now_ms(), t.body, t.len};
    uint8_t *tframe = NULL;
    size_t tlen = 0;
    assert_int_equal(gr_linkbatch_seal(&tframe, &tlen, &village.node_key, town.node_key.pk,
                                       s_fresh_seq(), gr_now_ms(), &titem, 1), 0);
    gr_opened_t o;
    assert_int_equal(gr_envelope_open_from(&o, tframe, tlen, village.node_key.pk, 0), 0);
    o.body->link_batch->items[0]->sent_ms += 1;
    size_t blen = 0;
    uint8_t *bbytes = gr_body_pack(o.body, &blen);
    free(tframe);
    assert_int_equal(gr_envelope_seal_version(&tframe, &tlen, &village.node_key, 2, s_fresh_seq(),
                                              gr_now_ms(), bbytes, blen), 0);
    free(bbytes);
    gr_opened_clear(&o);
    s_wait_t w = {child, s_counter(child, "rejected_signature")};
    assert_int_equal(gr_client_send_raw(child, tframe, tlen), 0);
    assert_true(harness_wait_until(s_refused, &w, WAIT_MS));
    assert_int_equal(s_counter(child, "events_stored"), stored0 + 2);
    free(tframe);
    free(t.body);

    gr_client_destroy(&child);
    zmq_ctx_term(ctx);
    assert_int_equal(harness_node_stop(&town, SIGTERM), 0);

    /* Each stored case keeps its item's proof: the child signed that it
     * forwarded this very Escalate, checkable by its public key alone. */
    char dir[400], err[256];
    snprintf(dir, sizeof dir, "%s/store", town.dir);
    gr_store_t *store = NULL;
    gr_store_options_t opt = {0};
    assert_int_equal(gr_store_open(&store, dir, &opt, err, sizeof err), 0);
    gr_txn_t *txn = NULL;
    assert_int_equal(gr_store_begin(store, false, &txn), 0);
    for (int i = 0; i < 3; i += 2) {
        Gridrelay__StoredEvent *rec = NULL;
        assert_int_equal(gr_store_event_get(txn, e[i].id, &rec), 0);
        assert_true(rec->link_proof.len > 0);
        gr_receipt_cache_t cache = {0};
        assert_int_equal(gr_linkbatch_open_item(&o, rec->link_proof.data, rec->link_proof.len,
                                                village.node_key.pk, town.node_key.pk, 0, &cache,
                                                true), 0);
        assert_int_equal(o.envelope->seq, e[i].seq);
        assert_int_equal(o.body->kind_case, GRIDRELAY__BODY__KIND_ESCALATE);
        assert_memory_equal(o.envelope->body.data, e[i].body, e[i].len);
        gr_opened_clear(&o);
        /* A wrong proof: one byte of its path. */
        Gridrelay__Envelope *env = gridrelay__envelope__unpack(NULL, rec->link_proof.len,
                                                               rec->link_proof.data);
        assert_true(env->receipt->n_path > 0);
        env->receipt->path[0].data[5] ^= 0x40;
        uint8_t *bad = malloc(gridrelay__envelope__get_packed_size(env));
        size_t n = gridrelay__envelope__pack(env, bad);
        assert_int_equal(gr_linkbatch_open_item(&o, bad, n, village.node_key.pk, town.node_key.pk,
                                                0, NULL, true), GR_ESIGNATURE);
        free(bad);
        gridrelay__envelope__free_unpacked(env, NULL);
        gridrelay__stored_event__free_unpacked(rec, NULL);
    }
    Gridrelay__StoredEvent *none = NULL;
    assert_int_equal(gr_store_event_get(txn, e[1].id, &none), GR_ENOTFOUND);
    assert_int_equal(gr_store_event_get(txn, t.id, &none), GR_ENOTFOUND);
    gr_store_abort(&txn);
    gr_store_close(&store);
    for (int i = 0; i < 3; i++)
        free(e[i].body);
    free(frame);
    harness_node_cleanup(&town);
    harness_node_cleanup(&village);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_batch_of_escalations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
