/* A child that replays old valid frames to its parent, through real
 * processes: a village under a township, its tier link running through a
 * tap (a CURVE man in the middle, which the test can be because it holds
 * both nodes' keys). The tap passes every frame on, keeps a copy of the
 * village's link messages as they were on the wire, can send one of them
 * again on the village's own connection, and can drop what the township
 * sends back. The township's replay window is 2 s, so "old" comes soon.
 *
 *  - An Escalate the township committed, replayed on the live link: a
 *    duplicate while the township keeps its (signer, seq) record (also
 *    after a SIGKILL and restart of the township), ERR_REPLAY once the
 *    record has been pruned past the window (rejected_replay; also after
 *    another restart: the window is in the store); the case is never
 *    touched again, and the link goes on both ways.
 *  - The township's answers lost until the village's resend has fallen
 *    out of the window (a village cut off from its parent's answers for
 *    longer than the window: 16.7 min by default): the resend is refused
 *    ERR_REPLAY, and the village's outbox must still drain. The township
 *    will never take those bytes again, so the entry becomes a dead letter
 *    saying why, instead of being resent for ever at the head of the link.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <pthread.h>
#include <zmq.h>

#include "curve.h"
#include "envelope.h"
#include "tiers_fixture.h"

#define WAIT_MS 30000
#define WINDOW_US 2000000ull
#define TAP_MAX_UP 512
#define CRIME "PS.CRIME"            /* township authority in the example catalogue */
#define ST(x) GRIDRELAY__STATUS__##x
#define ANSWER_ACK 1
#define ANSWER_DUPLICATE 2
#define ANSWER_ERROR 1000           /* + the Error code */

/* ---- the tap ---- */

typedef struct {
    uint8_t *data;
    size_t len;
    uint64_t seq;
} s_frame_t;

typedef struct {
    void *front;                    /* ROUTER as the township (CURVE server) */
    void *back;                     /* DEALER as the village, to the township */
    char endpoint[128];
    uint8_t child_pk[GR_PUBLIC_KEY_BYTES], parent_pk[GR_PUBLIC_KEY_BYTES];
    pthread_t thread;
    pthread_mutex_t mu;
    atomic_bool stop, drop_down;
    /* Guarded by mu: */
    s_frame_t up[TAP_MAX_UP];       /* the village's link messages (no
                                     * heartbeats, acks or status) */
    size_t n_up;
    uint8_t *inject;                /* to send to the township, on the village's connection */
    size_t inject_len;
    uint64_t watch;                 /* a seq whose answer we want */
    int answer;                     /* the township's last answer to watch */
    unsigned answers;               /* how many answers to watch seen */
    /* Tap thread only: */
    uint8_t id[256];
    size_t id_len;
    bool delimiter;
} s_tap_t;

static bool s_is_link_message(Gridrelay__Body__KindCase kind)
{
    switch (kind) {
    case GRIDRELAY__BODY__KIND_HEARTBEAT:
    case GRIDRELAY__BODY__KIND_ACK:
    case GRIDRELAY__BODY__KIND_ACK_BATCH:
    case GRIDRELAY__BODY__KIND_ERROR:
    case GRIDRELAY__BODY__KIND_STATUS_BATCH:
    case GRIDRELAY__BODY__KIND_STATUS_UPDATE:
        return false;
    default:
        return true;
    }
}

/* Receives every part of one message into parts (at most 4); the count. */
static int s_recv_parts(void *sock, zmq_msg_t *parts)
{
    int n = 0;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return n;
        }
        bool more = zmq_msg_more(&m);
        if (n < 4)
            parts[n++] = m;
        else
            zmq_msg_close(&m);
        if (!more)
            return n;
    }
}

static void s_close_parts(zmq_msg_t *parts, int n)
{
    for (int i = 0; i < n; i++)
        zmq_msg_close(&parts[i]);
}

static void s_note_up(s_tap_t *tap, const uint8_t *data, size_t len)
{
    gr_opened_t o;
    if (gr_envelope_open_from(&o, data, len, tap->child_pk, 0) != 0)
        return;
    if (s_is_link_message(o.body->kind_case)) {
        pthread_mutex_lock(&tap->mu);
        if (tap->n_up < TAP_MAX_UP && (tap->up[tap->n_up].data = malloc(len))) {
            memcpy(tap->up[tap->n_up].data, data, len);
            tap->up[tap->n_up].len = len;
            /* A link batch (PROTOCOL.md 8.9) is answered per item: watch
             * its first item's seq (one escalation per batch here). */
            const Gridrelay__LinkBatch *lb = o.body->kind_case == GRIDRELAY__BODY__KIND_LINK_BATCH
                                                 ? o.body->link_batch : NULL;
            tap->up[tap->n_up].seq = lb && lb->n_items ? lb->items[0]->seq : o.envelope->seq;
            tap->n_up++;
        }
        pthread_mutex_unlock(&tap->mu);
    }
    gr_opened_clear(&o);
}

static void s_note_down(s_tap_t *tap, const uint8_t *data, size_t len)
{
    gr_opened_t o;
    if (gr_envelope_open_reply(&o, data, len, tap->parent_pk, 0, NULL, true) != 0)
        return;
    pthread_mutex_lock(&tap->mu);
    const Gridrelay__Body *b = o.body;
    int answer = 0;
    if (b->kind_case == GRIDRELAY__BODY__KIND_ACK && b->ack->ref_seq == tap->watch)
        answer = b->ack->duplicate ? ANSWER_DUPLICATE : ANSWER_ACK;
    else if (b->kind_case == GRIDRELAY__BODY__KIND_ERROR && b->error->ref_seq == tap->watch)
        answer = ANSWER_ERROR + (int)b->error->code;
    else if (b->kind_case == GRIDRELAY__BODY__KIND_ACK_BATCH)
        for (size_t i = 0; i < b->ack_batch->n_ref_seqs; i++)
            if (b->ack_batch->ref_seqs[i] == tap->watch)
                answer = ANSWER_ACK;
    if (answer && tap->watch) {
        tap->answer = answer;
        tap->answers++;
    }
    pthread_mutex_unlock(&tap->mu);
    gr_opened_clear(&o);
}

static void s_send_up(s_tap_t *tap, const void *data, size_t len)
{
    if (tap->delimiter)
        zmq_send(tap->back, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(tap->back, data, len, ZMQ_DONTWAIT);
}

static void *s_tap_loop(void *arg)
{
    s_tap_t *tap = arg;
    while (!atomic_load(&tap->stop)) {
        zmq_pollitem_t items[2] = { { tap->front, 0, ZMQ_POLLIN, 0 }, { tap->back, 0, ZMQ_POLLIN, 0 } };
        if (zmq_poll(items, 2, 10) < 0)
            break;
        zmq_msg_t parts[4];
        if (items[0].revents & ZMQ_POLLIN) {
            int n = s_recv_parts(tap->front, parts);
            if (n >= 2 && zmq_msg_size(&parts[0]) <= sizeof tap->id) {
                tap->id_len = zmq_msg_size(&parts[0]);
                memcpy(tap->id, zmq_msg_data(&parts[0]), tap->id_len);
                tap->delimiter = n >= 3 && zmq_msg_size(&parts[1]) == 0;
                zmq_msg_t *payload = &parts[n - 1];
                s_note_up(tap, zmq_msg_data(payload), zmq_msg_size(payload));
                s_send_up(tap, zmq_msg_data(payload), zmq_msg_size(payload));
            }
            s_close_parts(parts, n);
        }
        if (items[1].revents & ZMQ_POLLIN) {
            int n = s_recv_parts(tap->back, parts);
            if (n >= 1) {
                zmq_msg_t *payload = &parts[n - 1];
                s_note_down(tap, zmq_msg_data(payload), zmq_msg_size(payload));
                if (!atomic_load(&tap->drop_down) && tap->id_len) {
                    zmq_send(tap->front, tap->id, tap->id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
                    if (tap->delimiter)
                        zmq_send(tap->front, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
                    zmq_send(tap->front, zmq_msg_data(payload), zmq_msg_size(payload), ZMQ_DONTWAIT);
                }
            }
            s_close_parts(parts, n);
        }
        pthread_mutex_lock(&tap->mu);
        if (tap->inject) {
            s_send_up(tap, tap->inject, tap->inject_len);
            free(tap->inject);
            tap->inject = NULL;
        }
        pthread_mutex_unlock(&tap->mu);
    }
    return NULL;
}

/* Binds the tap as parent (its key) for child (its key); the DEALER
 * connects to the parent's endpoint. */
static int s_tap_start(s_tap_t *tap, void *ctx, const harness_node_t *parent,
                       const harness_node_t *child)
{
    memset(tap, 0, sizeof *tap);
    pthread_mutex_init(&tap->mu, NULL);
    memcpy(tap->child_pk, child->node_key.pk, sizeof tap->child_pk);
    memcpy(tap->parent_pk, parent->node_key.pk, sizeof tap->parent_pk);
    tap->front = zmq_socket(ctx, ZMQ_ROUTER);
    tap->back = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    size_t len = sizeof tap->endpoint;
    if (!tap->front || !tap->back || gr_curve_server(tap->front, &parent->node_key) != 0 ||
        gr_curve_client(tap->back, &child->node_key, parent->node_key.pk) != 0 ||
        zmq_setsockopt(tap->front, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(tap->back, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(tap->back, ZMQ_ROUTING_ID, "village/tap0000000000000", 24) != 0 ||
        zmq_bind(tap->front, "tcp://127.0.0.1:*") != 0 ||
        zmq_getsockopt(tap->front, ZMQ_LAST_ENDPOINT, tap->endpoint, &len) != 0 ||
        zmq_connect(tap->back, parent->endpoint) != 0)
        return -1;
    return pthread_create(&tap->thread, NULL, s_tap_loop, tap) == 0 ? 0 : -1;
}

static void s_tap_stop(s_tap_t *tap)
{
    atomic_store(&tap->stop, true);
    pthread_join(tap->thread, NULL);
    zmq_close(tap->front);
    zmq_close(tap->back);
    for (size_t i = 0; i < tap->n_up; i++)
        free(tap->up[i].data);
    free(tap->inject);
    pthread_mutex_destroy(&tap->mu);
}

static size_t s_tap_count(s_tap_t *tap)
{
    pthread_mutex_lock(&tap->mu);
    size_t n = tap->n_up;
    pthread_mutex_unlock(&tap->mu);
    return n;
}

/* A copy of the i-th recorded frame of the village. */
static s_frame_t s_tap_frame(s_tap_t *tap, size_t i)
{
    pthread_mutex_lock(&tap->mu);
    assert_true(i < tap->n_up);
    s_frame_t f = tap->up[i];
    f.data = malloc(f.len);
    assert_non_null(f.data);
    memcpy(f.data, tap->up[i].data, f.len);
    pthread_mutex_unlock(&tap->mu);
    return f;
}

static void s_tap_watch(s_tap_t *tap, uint64_t seq)
{
    pthread_mutex_lock(&tap->mu);
    tap->watch = seq;
    tap->answer = 0;
    tap->answers = 0;
    pthread_mutex_unlock(&tap->mu);
}

static int s_tap_answer(s_tap_t *tap, unsigned *count)
{
    pthread_mutex_lock(&tap->mu);
    int a = tap->answer;
    if (count)
        *count = tap->answers;
    pthread_mutex_unlock(&tap->mu);
    return a;
}

static void s_tap_inject(s_tap_t *tap, const s_frame_t *f)
{
    pthread_mutex_lock(&tap->mu);
    free(tap->inject);
    tap->inject = malloc(f->len);
    assert_non_null(tap->inject);
    memcpy(tap->inject, f->data, f->len);
    tap->inject_len = f->len;
    pthread_mutex_unlock(&tap->mu);
}

/* ---- the fixture ---- */

enum { TOWN, VILLAGE, N };

typedef struct {
    harness_node_t nodes[N];
    s_tap_t tap;
    void *ctx;
    int fillers;
} s_fixture_t;

static s_fixture_t s_fx;

static bool s_tap_answered(void *arg)
{
    unsigned n = 0;
    s_tap_answer(arg, &n);
    return n > 0;
}

/* Sends f again on the village's connection; the township's answer. */
static int s_replay(s_fixture_t *fx, const s_frame_t *f)
{
    s_tap_watch(&fx->tap, f->seq);
    s_tap_inject(&fx->tap, f);
    if (!harness_wait_until(s_tap_answered, &fx->tap, 5000))
        return 0;
    return s_tap_answer(&fx->tap, NULL);
}

typedef struct {
    s_fixture_t *fx;
    const s_frame_t *frame;
} s_refused_wait_t;

/* The township writes (a report of its own: pruning rides on writes), the
 * frame is replayed: refused as too old yet? */
static bool s_replay_refused(void *arg)
{
    s_refused_wait_t *w = arg;
    char id[32];
    snprintf(id, sizeof id, "fill-%d", w->fx->fillers++);
    node_report(&w->fx->nodes[TOWN], w->fx->ctx, id, CRIME, GRIDRELAY__SEVERITY__ROUTINE);
    return s_replay(w->fx, w->frame) == ANSWER_ERROR + GRIDRELAY__ERROR_CODE__ERR_REPLAY;
}

static bool s_past_window(void *arg)
{
    return gr_now_ms() * 1000 > *(uint64_t *)arg + WINDOW_US + 100000;
}

/* The i-th new link message of the village since n_before, once it came. */
typedef struct {
    s_tap_t *tap;
    size_t n;
} s_count_wait_t;

static bool s_tap_has(void *arg)
{
    s_count_wait_t *w = arg;
    return s_tap_count(w->tap) >= w->n;
}

/* Reports id at the village and waits until the township holds it;
 * returns the village's first link message sent for it (the Escalate as
 * it was on the wire). */
static s_frame_t s_escalated(s_fixture_t *fx, const char *id)
{
    size_t before = s_tap_count(&fx->tap);
    assert_int_equal(node_report(&fx->nodes[VILLAGE], fx->ctx, id, CRIME, GRIDRELAY__SEVERITY__ROUTINE), 0);
    assert_true(node_wait_status(&fx->nodes[TOWN], fx->ctx, id, ST(REPORTED), WAIT_MS));
    s_count_wait_t w = { &fx->tap, before + 1 };
    assert_true(harness_wait_until(s_tap_has, &w, WAIT_MS));
    return s_tap_frame(&fx->tap, before);
}

static int64_t s_outbox_depth(s_fixture_t *fx, const char *peer)
{
    gr_client_t *c = harness_client(&fx->nodes[VILLAGE], fx->ctx, 0);
    if (!c)
        return -1;
    Gridrelay__GetLinks get = GRIDRELAY__GET_LINKS__INIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_LINKS;
    body.get_links = &get;
    gr_opened_t reply;
    int64_t depth = -1;
    if (gr_client_call(c, &body, &reply, 3000, 3) == 0) {
        if (reply.body->kind_case == GRIDRELAY__BODY__KIND_LINKS)
            for (size_t i = 0; i < reply.body->links->n_links; i++)
                if (strcmp(reply.body->links->links[i]->peer, peer) == 0)
                    depth = (int64_t)reply.body->links->links[i]->outbox_depth;
        gr_opened_clear(&reply);
    }
    gr_client_destroy(&c);
    return depth;
}

static bool s_drained(void *arg)
{
    return s_outbox_depth(arg, "town-replay") == 0;
}

static int s_setup(void **state)
{
    s_fixture_t *fx = &s_fx;
    memset(fx, 0, sizeof *fx);
    *state = fx;
    if (harness_node_init(&fx->nodes[TOWN], "town-replay", 1) != 0 ||
        harness_node_init(&fx->nodes[VILLAGE], "village-replay", 1) != 0)
        return -1;
    harness_node_t *town = &fx->nodes[TOWN], *village = &fx->nodes[VILLAGE];
    snprintf(town->tier, sizeof town->tier, "township");
    snprintf(town->extra_node, sizeof town->extra_node, "replay_window = %llu\n",
             (unsigned long long)WINDOW_US);
    town->status_listen = true;
    harness_add_child(town, village);
    if (harness_node_start(town) != 0 || !(fx->ctx = zmq_ctx_new()) ||
        s_tap_start(&fx->tap, fx->ctx, town, village) != 0)
        return -1;
    /* The village's [parent] names the tap's endpoint and the township's key. */
    harness_node_t via = *town;
    _Static_assert(sizeof via.endpoint == sizeof fx->tap.endpoint, "same size");
    memcpy(via.endpoint, fx->tap.endpoint, sizeof via.endpoint);
    harness_set_parent(village, &via, "parent");
    return harness_node_start(village);
}

static int s_teardown(void **state)
{
    s_fixture_t *fx = *state;
    s_tap_stop(&fx->tap);
    int rc = nodes_stop_checked(fx->nodes, N, GR_SOURCE_ROOT "/examples/catalogue.ini");
    zmq_ctx_term(fx->ctx);
    return rc;
}

static bool s_acked(int answer)
{
    return answer == ANSWER_DUPLICATE || answer == ANSWER_ACK;
}

static void s_restart_town(s_fixture_t *fx)
{
    assert_int_not_equal(harness_node_stop(&fx->nodes[TOWN], SIGKILL), -1);
    assert_int_equal(harness_node_start(&fx->nodes[TOWN]), 0);
}

static void test_replayed_escalations_change_nothing(void **state)
{
    s_fixture_t *fx = *state;
    harness_node_t *town = &fx->nodes[TOWN], *village = &fx->nodes[VILLAGE];
    s_frame_t f1 = s_escalated(fx, "replay-1");
    char before[8192], after[8192];
    assert_int_equal(node_status(town, fx->ctx, "replay-1", before, sizeof before), ST(REPORTED));

    /* Within the window, and its record kept: the original answer (an
     * Ack saying duplicate, or its place in an AckBatch, which carries no
     * such flag: the counter tells). */
    int64_t dups = node_counter(town, fx->ctx, "duplicate");
    assert_true(s_acked(s_replay(fx, &f1)));
    assert_int_equal(node_counter(town, fx->ctx, "duplicate"), dups + 1);
    /* The records are in the store: the same after a SIGKILL. */
    s_restart_town(fx);
    dups = node_counter(town, fx->ctx, "duplicate");
    assert_true(s_acked(s_replay(fx, &f1)));
    assert_int_equal(node_counter(town, fx->ctx, "duplicate"), dups + 1);

    /* The village moves on past the window; the township prunes f1's
     * record and refuses it as too old from then on. */
    assert_true(harness_wait_until(s_past_window, &f1.seq, 10000));
    s_frame_t f2 = s_escalated(fx, "replay-2");
    s_refused_wait_t w = { fx, &f1 };
    assert_true(harness_wait_until(s_replay_refused, &w, WAIT_MS));
    assert_true(node_counter(town, fx->ctx, "rejected_replay") >= 1);
    /* ... also after a restart: the newest seq per signer is stored. */
    s_restart_town(fx);
    int64_t refused = node_counter(town, fx->ctx, "rejected_replay");
    assert_int_equal(s_replay(fx, &f1), ANSWER_ERROR + GRIDRELAY__ERROR_CODE__ERR_REPLAY);
    assert_int_equal(node_counter(town, fx->ctx, "rejected_replay"), refused + 1);
    assert_int_equal(node_status(town, fx->ctx, "replay-1", after, sizeof after), ST(REPORTED));
    assert_string_equal(before, after);

    /* The link goes on, both ways: up, and the result down. */
    s_frame_t f3 = s_escalated(fx, "replay-3");
    for (int i = 1; i <= 3; i++) {
        char id[32];
        snprintf(id, sizeof id, "replay-%d", i);
        assert_int_equal(node_action(town, fx->ctx, id, GRIDRELAY__CASE_ACTION__KIND__RESOLVE,
                                     "settled at the township", NULL), ST(RESOLVED));
        assert_true(node_wait_status(village, fx->ctx, id, ST(FED_BACK), WAIT_MS));
    }
    assert_true(harness_wait_until(s_drained, fx, WAIT_MS));
    free(f1.data);
    free(f2.data);
    free(f3.data);
}

typedef struct {
    s_fixture_t *fx;
    int64_t refused;
} s_resend_wait_t;

/* The township writes while the village resends: has it refused a resend
 * as too old yet? */
static bool s_resend_refused(void *arg)
{
    s_resend_wait_t *w = arg;
    char id[32];
    snprintf(id, sizeof id, "fill-%d", w->fx->fillers++);
    node_report(&w->fx->nodes[TOWN], w->fx->ctx, id, CRIME, GRIDRELAY__SEVERITY__ROUTINE);
    return s_tap_answer(&w->fx->tap, NULL) == ANSWER_ERROR + GRIDRELAY__ERROR_CODE__ERR_REPLAY &&
           node_counter(&w->fx->nodes[TOWN], w->fx->ctx, "rejected_replay") > w->refused;
}

static void test_a_resend_past_the_window_does_not_block_the_outbox(void **state)
{
    s_fixture_t *fx = *state;
    harness_node_t *town = &fx->nodes[TOWN], *village = &fx->nodes[VILLAGE];
    /* The township's answers get lost on the way down. */
    atomic_store(&fx->tap.drop_down, true);
    s_frame_t f4 = s_escalated(fx, "lost-ack-4");
    s_tap_watch(&fx->tap, f4.seq);
    char before[8192], after[8192];
    assert_int_equal(node_status(town, fx->ctx, "lost-ack-4", before, sizeof before), ST(REPORTED));
    /* The village's next escalation moves its newest seq past the window. */
    assert_true(harness_wait_until(s_past_window, &f4.seq, 10000));
    s_frame_t f5 = s_escalated(fx, "lost-ack-5");
    s_resend_wait_t w = { fx, node_counter(town, fx->ctx, "rejected_replay") };
    assert_true(harness_wait_until(s_resend_refused, &w, 60000));
    atomic_store(&fx->tap.drop_down, false);

    /* The answers get through again. The refused entry cannot ever be
     * taken: the outbox drains, the entry is a dead letter saying why. */
    if (!harness_wait_until(s_drained, fx, 60000))
        fail_msg("the village's outbox still holds %lld entries for the township",
                 (long long)s_outbox_depth(fx, "town-replay"));
    char out[8192], sec[400], pub[400], err[256];
    snprintf(sec, sizeof sec, "%.300s/operator.sec", village->dir);
    snprintf(pub, sizeof pub, "%.300s/operator.pub", village->dir);
    assert_int_equal(gr_keys_save(&village->reporters[0], sec, pub, err, sizeof err), 0);
    assert_int_equal(node_gridctl(village, sec, "outbox list --dead", true, out, sizeof out), 0);
    assert_non_null(strstr(out, "replay"));
    assert_int_equal(node_status(town, fx->ctx, "lost-ack-4", after, sizeof after), ST(REPORTED));
    assert_string_equal(before, after);
    /* ... and the link goes on. */
    s_frame_t f6 = s_escalated(fx, "lost-ack-6");
    assert_int_equal(node_action(town, fx->ctx, "lost-ack-6", GRIDRELAY__CASE_ACTION__KIND__RESOLVE,
                                 "settled at the township", NULL), ST(RESOLVED));
    assert_true(node_wait_status(village, fx->ctx, "lost-ack-6", ST(FED_BACK), WAIT_MS));
    free(f4.data);
    free(f5.data);
    free(f6.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replayed_escalations_change_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_a_resend_past_the_window_does_not_block_the_outbox,
                                        s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
