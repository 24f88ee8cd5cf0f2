/* Unit tests for broker/link.
 *
 * Everything is real: libzmq over tcp on 127.0.0.1 (ephemeral ports, read
 * back with ZMQ_LAST_ENDPOINT), CURVE with the ZAP handler of broker/curve,
 * signed envelopes. One thread drives both ends: the link under test with
 * an in-memory outbox (the "owner"), and the other node (the "peer"), which
 * the test plays by hand: it opens frames, deduplicates by seq as a real
 * node does, and answers with Acks, Errors or silence. Every wait is a poll
 * loop with a deadline; no test sleeps. Nothing touches the disk, so no
 * test needs a temporary directory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zmq.h>

#include "client.h"
#include "curve.h"
#include "envelope.h"
#include "error.h"
#include "keys.h"
#include "link.h"
#include "linkbatch.h"
#include "trust.h"

#define ITEM_MAX 2048
#define WATCH_MAX 16
#define CHILD_ID "village-1"
#define PARENT_ID "township-1"

/* The link's owner: an outbox in memory, as node/store keeps it on disk. */
typedef struct {
    uint64_t seq;
    uint8_t *frame;
    size_t len;
    bool deleted;
    bool aborted;       /* written in a transaction that did not commit */
    int acked_calls;
} entry_t;

typedef struct {
    const gr_keypair_t *kp;
    Gridrelay__Body__KindCase item_kind;
    bool unsigned_v2;               /* entries of link protocol 2 (batched) */
    entry_t entries[ITEM_MAX];
    size_t n;
    uint64_t next_seq;
    size_t acked;
    int ups;
    int downs;
    size_t messages;
    size_t errors;
} owner_t;

/* The other end, played by the test: a parent ROUTER (upward tests) or a
 * child DEALER (downward test). */
typedef struct {
    void *socket;
    bool is_router;
    char endpoint[256];
    const gr_keypair_t *kp;         /* signs the replies */
    const uint8_t *sender_pk;       /* frames must be signed by the link's owner */
    bool ack;                       /* ack committed items; else their acks
                                     * are "lost" (items are still committed) */
    Gridrelay__ErrorCode error_code;/* when set: refuse items with this Error */
    bool hold_acks;                 /* a slow peer: acks wait in held[] until
                                     * the test releases them */
    size_t drop;                    /* the next drop item frames are lost */
    bool echo_heartbeat;
    bool paused;                    /* not reading: frames pile up unread */
    uint32_t version;               /* of its replies: 0 = 1; 2 = link protocol 2 */
    struct { uint64_t seq; bool dup; } held[ITEM_MAX * 2];
    size_t held_head;
    size_t held_tail;
    uint64_t released_ms;           /* when the last held ack went out */
    uint8_t child_route[256];       /* upward: the link's routing id, as seen */
    size_t child_route_len;
    bool seen[ITEM_MAX * 2];
    uint64_t order[ITEM_MAX];       /* distinct item seqs, first-seen order */
    size_t n_order;
    size_t items;                   /* item frames received, resends included */
    size_t dups;
    size_t heartbeats;
    size_t bad;
    uint64_t next_seq;
    uint64_t watch_seq;             /* receive times of this item's copies */
    uint64_t watch_ms[WATCH_MAX];
    size_t n_watch;
    size_t frames;                  /* batch frames received */
    size_t frame_items[ITEM_MAX];   /* items in each */
} peer_t;

typedef struct {
    void *ctx;
    gr_trust_t *trust;
    gr_zap_t *zap;
    gr_keypair_t parent_kp;
    gr_keypair_t child_kp;
    gr_keypair_t mallory_kp;
    owner_t owner;
    gr_link_t *link;
    void *owner_router;             /* downward: the parent's ROUTER */
    peer_t peer;
    size_t owner_router_bad;
} world_t;

/* ---- the owner's callbacks ---- */

static int s_load(void *ctx, gr_link_t *link, uint64_t after, size_t max)
{
    owner_t *o = &((world_t *)ctx)->owner;
    size_t visited = 0;
    for (size_t i = 0; i < o->n && visited < max; i++) {
        entry_t *e = &o->entries[i];
        if (e->deleted || e->aborted || e->seq <= after)
            continue;
        gr_link_item_t item = { e->seq, e->frame, e->len };
        int rc = gr_link_emit(link, &item);
        if (rc != 0)
            return rc;
        visited++;
    }
    return (int)visited;
}

static void s_acked(void *ctx, uint64_t seq)
{
    owner_t *o = &((world_t *)ctx)->owner;
    for (size_t i = 0; i < o->n; i++) {
        if (o->entries[i].seq == seq) {
            assert_false(o->entries[i].aborted);
            assert_int_equal(o->entries[i].acked_calls, 0);
            o->entries[i].acked_calls++;
            o->entries[i].deleted = true;
            o->acked++;
            return;
        }
    }
    fail_msg("ack for seq %llu that was never in the outbox", (unsigned long long)seq);
}

static void s_message(void *ctx, gr_link_t *link, const gr_opened_t *opened,
                      const uint8_t *frame, size_t len)
{
    (void)link;
    (void)frame;
    (void)len;
    owner_t *o = &((world_t *)ctx)->owner;
    o->messages++;
    if (opened->body->kind_case == GRIDRELAY__BODY__KIND_ERROR)
        o->errors++;
}

static void s_changed(void *ctx, gr_link_t *link, bool up)
{
    (void)link;
    owner_t *o = &((world_t *)ctx)->owner;
    if (up)
        o->ups++;
    else
        o->downs++;
}

static uint64_t s_next_seq(void *ctx)
{
    return ((world_t *)ctx)->owner.next_seq++;
}

/* ---- helpers ---- */

static uint8_t *s_seal(const gr_keypair_t *kp, uint64_t seq, const Gridrelay__Body *body,
                       size_t *len)
{
    uint8_t *frame = NULL;
    assert_int_equal(gr_envelope_seal(&frame, len, kp, seq, gr_now_ms(), body), 0);
    return frame;
}

/* Appends count sealed items to the owner's outbox. */
static void s_owner_add(owner_t *o, size_t count)
{
    for (size_t k = 0; k < count; k++) {
        assert_true(o->n < ITEM_MAX);
        char text[32];
        snprintf(text, sizeof text, "item-%zu", o->n);
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        Gridrelay__Escalate esc = GRIDRELAY__ESCALATE__INIT;
        Gridrelay__Assign assign = GRIDRELAY__ASSIGN__INIT;
        if (o->item_kind == GRIDRELAY__BODY__KIND_ASSIGN) {
            assign.event_id = text;
            body.kind_case = GRIDRELAY__BODY__KIND_ASSIGN;
            body.assign = &assign;
        } else {
            esc.origin_envelope.data = (uint8_t *)text;
            esc.origin_envelope.len = strlen(text);
            body.kind_case = GRIDRELAY__BODY__KIND_ESCALATE;
            body.escalate = &esc;
        }
        entry_t *e = &o->entries[o->n++];
        e->seq = o->next_seq++;
        if (o->unsigned_v2) {
            size_t blen = 0;
            uint8_t *bytes = gr_body_pack(&body, &blen);
            assert_non_null(bytes);
            assert_int_equal(gr_linkbatch_entry_pack(&e->frame, &e->len, o->kp->pk, e->seq,
                                                     gr_now_ms(), bytes, blen), 0);
            free(bytes);
        } else {
            e->frame = s_seal(o->kp, e->seq, &body, &e->len);
        }
    }
}

static int s_setopt_int(void *socket, int option, int value)
{
    return zmq_setsockopt(socket, option, &value, sizeof value);
}

/* A node's ROUTER: CURVE server, mandatory routing (so a downward link
 * learns "not connected"), handover (a reconnecting peer takes its id
 * back). Binds endpoint, or an ephemeral port for "tcp://127.0.0.1:*". */
static void *s_router_bind(void *ctx, const gr_keypair_t *kp, const char *endpoint, char *bound,
                           size_t bound_len)
{
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    assert_non_null(router);
    assert_int_equal(s_setopt_int(router, ZMQ_LINGER, 0), 0);
    assert_int_equal(s_setopt_int(router, ZMQ_ROUTER_MANDATORY, 1), 0);
    assert_int_equal(s_setopt_int(router, ZMQ_ROUTER_HANDOVER, 1), 0);
    assert_int_equal(gr_curve_server(router, kp), 0);
    if (zmq_bind(router, endpoint) != 0) {
        zmq_close(router);
        return NULL;
    }
    if (bound) {
        size_t size = bound_len;
        assert_int_equal(zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, bound, &size), 0);
    }
    return router;
}

static void s_peer_send(peer_t *p, const uint8_t *route, size_t route_len,
                        const Gridrelay__Body *body)
{
    size_t len = 0;
    uint8_t *frame = NULL;
    if (p->version >= GR_LINK_VERSION) {
        size_t blen = 0;
        uint8_t *bytes = gr_body_pack(body, &blen);
        assert_non_null(bytes);
        assert_int_equal(gr_envelope_seal_version(&frame, &len, p->kp, p->version, p->next_seq++,
                                                  gr_now_ms(), bytes, blen), 0);
        free(bytes);
    } else {
        frame = s_seal(p->kp, p->next_seq++, body, &len);
    }
    if (p->is_router)
        zmq_send(p->socket, route, route_len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(p->socket, frame, len, ZMQ_DONTWAIT);
    free(frame);
}

static void s_peer_ack(peer_t *p, const uint8_t *route, size_t route_len, uint64_t seq,
                       bool duplicate)
{
    Gridrelay__Ack ack = GRIDRELAY__ACK__INIT;
    ack.ref_seq = seq;
    ack.duplicate = duplicate;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_ACK;
    body.ack = &ack;
    s_peer_send(p, route, route_len, &body);
}

/* What a node does with a verified frame: items are committed once per
 * seq and acknowledged every time (a resend gets the original answer). */
static void s_peer_handle(peer_t *p, const uint8_t *route, size_t route_len,
                          const gr_opened_t *opened)
{
    uint64_t seq = opened->envelope->seq;
    switch (opened->body->kind_case) {
    case GRIDRELAY__BODY__KIND_ESCALATE:
    case GRIDRELAY__BODY__KIND_ASSIGN:
        if (p->drop > 0) {
            p->drop--;
            break;
        }
        p->items++;
        if (seq == p->watch_seq && p->n_watch < WATCH_MAX)
            p->watch_ms[p->n_watch++] = gr_now_ms();
        if (p->error_code != GRIDRELAY__ERROR_CODE__ERR_NONE) {
            Gridrelay__Error err = GRIDRELAY__ERROR__INIT;
            err.ref_seq = seq;
            err.code = p->error_code;
            err.message = "refused by the test";
            Gridrelay__Body body = GRIDRELAY__BODY__INIT;
            body.kind_case = GRIDRELAY__BODY__KIND_ERROR;
            body.error = &err;
            s_peer_send(p, route, route_len, &body);
        } else {
            assert_true(seq < ITEM_MAX * 2);
            bool dup = p->seen[seq];
            if (dup) {
                p->dups++;
            } else {
                p->seen[seq] = true;
                p->order[p->n_order++] = seq;
            }
            if (p->hold_acks) {
                assert_true(p->held_tail < ITEM_MAX * 2);
                p->held[p->held_tail].seq = seq;
                p->held[p->held_tail++].dup = dup;
            } else if (p->ack) {
                s_peer_ack(p, route, route_len, seq, dup);
            }
        }
        break;
    case GRIDRELAY__BODY__KIND_HEARTBEAT:
        p->heartbeats++;
        if (p->echo_heartbeat) {
            Gridrelay__Heartbeat hb = GRIDRELAY__HEARTBEAT__INIT;
            hb.node_id = "peer";
            Gridrelay__Body body = GRIDRELAY__BODY__INIT;
            body.kind_case = GRIDRELAY__BODY__KIND_HEARTBEAT;
            body.heartbeat = &hb;
            s_peer_send(p, route, route_len, &body);
        }
        break;
    default:
        break;
    }
}

typedef struct {
    peer_t *p;
    const uint8_t *route;
    size_t route_len;
} s_peer_batch_t;

static void s_peer_batch_item(void *ctx, int rc, uint64_t seq, const gr_opened_t *opened,
                              const uint8_t *frame, size_t len)
{
    (void)seq;
    (void)frame;
    (void)len;
    s_peer_batch_t *x = ctx;
    assert_int_equal(rc, 0);
    s_peer_handle(x->p, x->route, x->route_len, opened);
}

/* A batch frame (link protocol 2): its items one by one, as a node takes
 * them (the test's peer answers each with its own Ack, or holds them). */
static void s_peer_batch(peer_t *p, const uint8_t *route, size_t route_len,
                         const gr_opened_t *opened)
{
    assert_true(p->frames < ITEM_MAX);
    s_peer_batch_t x = { p, route, route_len };
    int n = gr_linkbatch_expand(opened->body->link_batch, p->sender_pk, p->kp->pk, 0, true,
                                s_peer_batch_item, &x);
    assert_true(n > 0);
    p->frame_items[p->frames++] = (size_t)n;
}

/* The slow peer finishes committing up to n held items, in the order it
 * received them. Upward only (the route is the child's). Returns how many
 * acks went out. */
static size_t s_peer_release(peer_t *p, size_t n)
{
    size_t sent = 0;
    for (; sent < n && p->held_head < p->held_tail; sent++, p->held_head++)
        s_peer_ack(p, p->child_route, p->child_route_len, p->held[p->held_head].seq,
                   p->held[p->held_head].dup);
    if (sent > 0)
        p->released_ms = gr_now_ms();
    return sent;
}

static void s_peer_read(peer_t *p)
{
    for (;;) {
        uint8_t route[256];
        int route_len = 0;
        if (p->is_router) {
            route_len = zmq_recv(p->socket, route, sizeof route, ZMQ_DONTWAIT);
            if (route_len < 0)
                return;
            /* The link's routing id: its node id, '/', a random part. */
            assert_true(route_len > (int)strlen(CHILD_ID) &&
                        memcmp(route, CHILD_ID "/", strlen(CHILD_ID) + 1) == 0);
            memcpy(p->child_route, route, (size_t)route_len);
            p->child_route_len = (size_t)route_len;
        }
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, p->socket, p->is_router ? 0 : ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            return;
        }
        gr_opened_t opened;
        if (gr_envelope_open_from(&opened, zmq_msg_data(&msg), zmq_msg_size(&msg), p->sender_pk,
                                  0) != 0) {
            p->bad++;
        } else {
            if (opened.body->kind_case == GRIDRELAY__BODY__KIND_LINK_BATCH)
                s_peer_batch(p, route, (size_t)route_len, &opened);
            else
                s_peer_handle(p, route, (size_t)route_len, &opened);
            gr_opened_clear(&opened);
        }
        zmq_msg_close(&msg);
    }
}

/* Downward: what the parent node does with its ROUTER: verify, then hand
 * the child's frames to the child's link. */
static void s_owner_router_read(world_t *w)
{
    for (;;) {
        uint8_t route[256];
        int route_len = zmq_recv(w->owner_router, route, sizeof route, ZMQ_DONTWAIT);
        if (route_len < 0)
            return;
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        assert_true(zmq_msg_recv(&msg, w->owner_router, 0) >= 0);
        gr_opened_t opened;
        /* Like the daemon: only a connection CURVE-authenticated as the
         * child gives the link its route. */
        char child_hex[GR_PUBLIC_KEY_HEX];
        gr_key_to_hex(child_hex, w->child_kp.pk);
        const char *user = zmq_msg_gets(&msg, "User-Id");
        if (gr_envelope_open_from(&opened, zmq_msg_data(&msg), zmq_msg_size(&msg),
                                  w->child_kp.pk, 0) != 0) {
            w->owner_router_bad++;
        } else {
            if (user && strcmp(user, child_hex) == 0)
                assert_int_equal(gr_link_set_route(w->link, route, (size_t)route_len), 0);
            assert_int_equal(gr_link_on_message(w->link, &opened, zmq_msg_data(&msg),
                                                zmq_msg_size(&msg), gr_now_ms()), 0);
            gr_opened_clear(&opened);
        }
        zmq_msg_close(&msg);
    }
}

/* One turn of the event loop both ends share, waiting at most max_ms. */
static void s_pump(world_t *w, int max_ms)
{
    zmq_pollitem_t items[4];
    int n = 0, i_link = -1, i_router = -1, i_peer = -1, i_zap = -1;
    if (w->link && gr_link_socket(w->link)) {
        items[n] = (zmq_pollitem_t){ gr_link_socket(w->link), 0, ZMQ_POLLIN, 0 };
        i_link = n++;
    }
    if (w->owner_router) {
        items[n] = (zmq_pollitem_t){ w->owner_router, 0, ZMQ_POLLIN, 0 };
        i_router = n++;
    }
    if (w->peer.socket && !w->peer.paused) {
        items[n] = (zmq_pollitem_t){ w->peer.socket, 0, ZMQ_POLLIN, 0 };
        i_peer = n++;
    }
    items[n] = (zmq_pollitem_t){ gr_zap_socket(w->zap), 0, ZMQ_POLLIN, 0 };
    i_zap = n++;
    int timeout = w->link ? gr_link_timeout_ms(w->link, gr_now_ms()) : max_ms;
    assert_true(timeout >= 0);
    if (timeout > max_ms)
        timeout = max_ms;
    assert_true(zmq_poll(items, n, timeout) >= 0);
    if (i_link >= 0 && (items[i_link].revents & ZMQ_POLLIN))
        assert_int_equal(gr_link_on_readable(w->link, gr_now_ms()), 0);
    if (i_router >= 0 && (items[i_router].revents & ZMQ_POLLIN))
        s_owner_router_read(w);
    if (i_peer >= 0 && (items[i_peer].revents & ZMQ_POLLIN))
        s_peer_read(&w->peer);
    if (items[i_zap].revents & ZMQ_POLLIN)
        while (gr_zap_handle(w->zap) == 0) {
        }
    if (w->link)
        assert_int_equal(gr_link_tick(w->link, gr_now_ms()), 0);
}

#define RUN_UNTIL(w, cond, max_ms)                                    \
    do {                                                              \
        uint64_t deadline_ = gr_now_ms() + (max_ms);                  \
        while (!(cond) && gr_now_ms() < deadline_)                    \
            s_pump((w), 10);                                          \
    } while (0)

/* Runs the loop for ms whatever happens (to observe that nothing does). */
static void s_run_for(world_t *w, uint64_t ms)
{
    uint64_t end = gr_now_ms() + ms;
    while (gr_now_ms() < end)
        s_pump(w, 10);
}

/* Runs the loop while the slow peer releases one held ack every
 * interval_ms, until it has released count of them or max_ms passed. */
static void s_run_releasing(world_t *w, uint64_t interval_ms, size_t count, uint64_t max_ms)
{
    uint64_t deadline = gr_now_ms() + max_ms;
    uint64_t next = gr_now_ms() + interval_ms;
    while (count > 0 && gr_now_ms() < deadline) {
        if (gr_now_ms() >= next && s_peer_release(&w->peer, 1) == 1) {
            count--;
            next = gr_now_ms() + interval_ms;
        }
        s_pump(w, 10);
    }
    assert_int_equal(count, 0);
}

static world_t *s_world_new(void)
{
    world_t *w = calloc(1, sizeof *w);
    assert_non_null(w);
    assert_int_equal(gr_keys_init(), 0);
    assert_int_equal(gr_keys_generate(&w->parent_kp), 0);
    assert_int_equal(gr_keys_generate(&w->child_kp), 0);
    assert_int_equal(gr_keys_generate(&w->mallory_kp), 0);
    w->ctx = zmq_ctx_new();
    assert_non_null(w->ctx);
    w->trust = gr_trust_new();
    assert_non_null(w->trust);
    assert_int_equal(gr_trust_add(w->trust, w->child_kp.pk, CHILD_ID, GR_ROLE_NODE), 0);
    assert_int_equal(gr_trust_add(w->trust, w->parent_kp.pk, PARENT_ID, GR_ROLE_NODE), 0);
    w->zap = gr_zap_new(w->ctx, w->trust);
    assert_non_null(w->zap);
    w->owner.next_seq = 1;
    w->peer.next_seq = 1;
    return w;
}

static void s_world_destroy(world_t **w_p)
{
    world_t *w = *w_p;
    gr_link_destroy(&w->link);
    assert_null(w->link);
    if (w->owner_router)
        zmq_close(w->owner_router);
    if (w->peer.socket)
        zmq_close(w->peer.socket);
    gr_zap_destroy(&w->zap);
    gr_trust_destroy(&w->trust);
    zmq_ctx_term(w->ctx);
    for (size_t i = 0; i < w->owner.n; i++)
        free(w->owner.entries[i].frame);
    free(w);
    *w_p = NULL;
}

static gr_link_options_t s_options(world_t *w, size_t window, uint32_t retry_ms,
                                   uint32_t retry_max_ms, uint32_t heartbeat_ms)
{
    gr_link_options_t opt;
    memset(&opt, 0, sizeof opt);
    opt.window = window;
    opt.retry_ms = retry_ms;
    opt.retry_max_ms = retry_max_ms;
    opt.heartbeat_ms = heartbeat_ms;
    opt.callbacks = (gr_link_callbacks_t){ s_load, s_acked, s_message, s_changed, s_next_seq, NULL };
    opt.ctx = w;
    return opt;
}

/* Child with an upward link to a parent ROUTER that the test plays. */
static world_t *s_upward_world(size_t window, uint32_t retry_ms, uint32_t retry_max_ms,
                               uint32_t heartbeat_ms, size_t preload)
{
    world_t *w = s_world_new();
    w->owner.kp = &w->child_kp;
    w->owner.item_kind = GRIDRELAY__BODY__KIND_ESCALATE;
    s_owner_add(&w->owner, preload);
    peer_t *p = &w->peer;
    p->is_router = true;
    p->kp = &w->parent_kp;
    p->sender_pk = w->child_kp.pk;
    p->ack = true;
    p->socket = s_router_bind(w->ctx, &w->parent_kp, "tcp://127.0.0.1:*", p->endpoint,
                              sizeof p->endpoint);
    assert_non_null(p->socket);
    gr_link_options_t opt = s_options(w, window, retry_ms, retry_max_ms, heartbeat_ms);
    opt.peer_id = PARENT_ID;
    opt.peer_pk = w->parent_kp.pk;
    opt.kp = &w->child_kp;
    opt.own_id = CHILD_ID;
    w->link = gr_link_new_upward(w->ctx, p->endpoint, &opt);
    assert_non_null(w->link);
    assert_string_equal(gr_link_peer_id(w->link), PARENT_ID);
    return w;
}

/* An upward link of link protocol 2 (entries stored unsigned, a parent
 * that answers in version 2), window 64; with hold_acks the parent keeps
 * its answers until the test releases them. */
static world_t *s_upward_v2_world(uint32_t heartbeat_ms, bool hold_acks)
{
    world_t *w = s_upward_world(64, 1000, 30000, heartbeat_ms, 0);
    w->owner.unsigned_v2 = true;
    w->peer.hold_acks = hold_acks;
    w->peer.version = GR_LINK_VERSION;
    return w;
}

/* The parent goes away; its state (what it committed) survives, as a
 * node's store does. */
static void s_parent_stop(world_t *w)
{
    zmq_close(w->peer.socket);
    w->peer.socket = NULL;
}

/* The parent comes back on the same port; the old listener closes
 * asynchronously, so binding may need a few turns. */
static void s_parent_start(world_t *w)
{
    uint64_t deadline = gr_now_ms() + 3000;
    while (!(w->peer.socket = s_router_bind(w->ctx, &w->parent_kp, w->peer.endpoint, NULL, 0))) {
        assert_int_equal(zmq_errno(), EADDRINUSE);
        assert_true(gr_now_ms() < deadline);
        s_pump(w, 10);
    }
}

static bool s_writable(void *socket)
{
    int events = 0;
    size_t size = sizeof events;
    assert_int_equal(zmq_getsockopt(socket, ZMQ_EVENTS, &events, &size), 0);
    return (events & ZMQ_POLLOUT) != 0;
}

static gr_link_status_t s_status(const world_t *w)
{
    gr_link_status_t st;
    gr_link_status(w->link, &st);
    return st;
}

/* Every item of the outbox reached the peer once and was acknowledged
 * exactly once; ordered: the peer committed them in outbox order. */
static void s_assert_delivered_as(const world_t *w, bool ordered)
{
    const owner_t *o = &w->owner;
    assert_int_equal(w->peer.n_order, o->n);
    for (size_t i = 0; i < o->n; i++) {
        if (ordered)
            assert_int_equal(w->peer.order[i], o->entries[i].seq);
        assert_true(w->peer.seen[o->entries[i].seq]);
        assert_int_equal(o->entries[i].acked_calls, 1);
    }
    gr_link_status_t st = s_status(w);
    assert_int_equal(st.in_flight, 0);
    assert_int_equal(st.acked_total, o->n);
    assert_int_equal(st.acked_seq, o->entries[o->n - 1].seq);
    assert_int_equal(st.sent_total, o->n);
    /* The peer only ever sees a duplicate because the link resent it. */
    assert_true(w->peer.dups <= st.resent_total);
}

static void s_assert_delivered(const world_t *w)
{
    s_assert_delivered_as(w, true);
}

/* ---- tests ---- */

static void test_upward_delivers_in_order(void **state)
{
    (void)state;
    world_t *w = s_upward_world(32, 1000, 30000, 200, 600);
    assert_non_null(gr_link_socket(w->link));
    RUN_UNTIL(w, w->owner.acked == 600, 10000);
    assert_int_equal(w->owner.acked, 600);
    /* New entries reach the link only through a kick. */
    s_owner_add(&w->owner, 400);
    s_run_for(w, 50);
    assert_int_equal(w->owner.acked, 600);
    gr_link_kick(w->link);
    RUN_UNTIL(w, w->owner.acked == 1000, 10000);
    s_assert_delivered(w);
    assert_int_equal(w->peer.bad, 0);
    gr_link_status_t st = s_status(w);
    assert_true(st.up);
    assert_int_equal(st.rejected_total, 0);
    assert_int_equal(st.refused_total, 0);
    assert_int_equal(w->owner.ups, 1);
    s_world_destroy(&w);
}

/* Entries sent from the owner's write transaction before its commit
 * (gr_link_send_outbox) reach the peer without waiting for a tick; when
 * that commit fails, the link forgets them: the peer's acks for them are
 * not reported, and what the redone transaction wrote goes next. */
static void test_upward_send_before_commit(void **state)
{
    (void)state;
    world_t *w = s_upward_world(32, 1000, 30000, 200, 10);
    RUN_UNTIL(w, w->owner.acked == 10, 10000);
    assert_int_equal(w->owner.acked, 10);
    uint64_t upto = gr_link_loaded_upto(w->link);
    assert_int_equal(upto, w->owner.entries[9].seq);

    /* Sent at once, before anything ticks the link. */
    s_owner_add(&w->owner, 5);
    assert_int_equal(gr_link_send_outbox(w->link, gr_now_ms()), 0);
    assert_int_equal(gr_link_loaded_upto(w->link), w->owner.entries[14].seq);
    for (size_t i = 10; i < 15; i++)
        w->owner.entries[i].aborted = true;
    gr_link_forget_after(w->link, upto);
    assert_int_equal(gr_link_loaded_upto(w->link), upto);
    RUN_UNTIL(w, w->peer.seen[w->owner.entries[14].seq], 5000);
    for (size_t i = 10; i < 15; i++)
        assert_true(w->peer.seen[w->owner.entries[i].seq]);

    /* The redone transaction's entries: delivered and reported; the
     * peer's acks of the forgotten ones were not (s_acked checks). */
    s_owner_add(&w->owner, 5);
    gr_link_kick(w->link);
    RUN_UNTIL(w, w->owner.acked == 15, 10000);
    assert_int_equal(w->owner.acked, 15);
    for (size_t i = 15; i < 20; i++)
        assert_int_equal(w->owner.entries[i].acked_calls, 1);
    for (size_t i = 10; i < 15; i++)
        assert_int_equal(w->owner.entries[i].acked_calls, 0);
    gr_link_status_t st = s_status(w);
    assert_int_equal(st.in_flight, 0);
    s_world_destroy(&w);
}

/* A silent peer (it commits, but no Ack comes back): the oldest item is
 * probed with doubling gaps up to the cap, and only it, since the rest of
 * the window may be waiting in the peer's queue. Progress resets the
 * timeout. */
static void test_upward_backoff(void **state)
{
    (void)state;
    /* Heartbeats every 5 s keep out of the way of the 50..400 ms timers. */
    world_t *w = s_upward_world(8, 50, 400, 5000, 3);
    w->peer.ack = false;
    w->peer.watch_seq = w->owner.entries[0].seq;
    RUN_UNTIL(w, w->peer.n_watch >= 6, 5000);
    assert_true(w->peer.n_watch >= 6);
    /* The link never resends before the interval; the interval doubles up
     * to the cap. The tolerance only covers the receive side's loop turn. */
    const uint64_t expected[5] = { 50, 100, 200, 400, 400 };
    for (int k = 0; k < 5; k++) {
        uint64_t gap = w->peer.watch_ms[k + 1] - w->peer.watch_ms[k];
        assert_true(gap + 25 >= expected[k]);
    }
    assert_true(w->peer.watch_ms[5] - w->peer.watch_ms[4] < 700);  /* capped, not 800 */
    gr_link_status_t st = s_status(w);
    assert_int_equal(st.in_flight, 3);
    assert_int_equal(st.sent_total, 3);
    assert_int_equal(st.resent_total, w->peer.n_watch - 1);  /* the oldest only */
    assert_int_equal(w->peer.items, 3 + st.resent_total);
    assert_int_equal(w->owner.acked, 0);

    /* The peer answers again: its acks of the probes move the window. */
    w->peer.ack = true;
    RUN_UNTIL(w, w->owner.acked == 3, 3000);
    s_assert_delivered(w);

    /* The backed-off interval stays until an answer time is known again
     * (RFC 6298 5.7; the answers to the probes and to the items that were
     * out during the silence say nothing of it): an item answered at once
     * brings it back to retry_ms, and a new silent item is resent after
     * ~50 ms. */
    s_owner_add(&w->owner, 1);
    gr_link_kick(w->link);
    RUN_UNTIL(w, w->owner.acked == 4, 3000);
    assert_int_equal(w->owner.acked, 4);
    w->peer.ack = false;
    s_owner_add(&w->owner, 1);
    w->peer.watch_seq = w->owner.entries[4].seq;
    w->peer.n_watch = 0;
    gr_link_kick(w->link);
    RUN_UNTIL(w, w->peer.n_watch >= 2, 3000);
    assert_true(w->peer.n_watch >= 2);
    assert_true(w->peer.watch_ms[1] - w->peer.watch_ms[0] < 300);  /* not 400 */
    w->peer.ack = true;
    RUN_UNTIL(w, w->owner.acked == 5, 3000);
    s_assert_delivered(w);
    s_world_destroy(&w);
}

/* A peer far behind but acking steadily is making progress, so nothing is
 * resent: here one Ack every 300 ms with a 1 s retry interval, while the
 * youngest item of a full window of 8 waits 2.4 s for its Ack. */
static void test_upward_slow_peer_no_resends(void **state)
{
    (void)state;
    world_t *w = s_upward_world(8, 1000, 30000, 5000, 12);
    w->peer.hold_acks = true;
    RUN_UNTIL(w, w->peer.held_tail == 8, 3000);
    assert_int_equal(w->peer.held_tail, 8);  /* the window is full */
    uint64_t start = gr_now_ms();
    s_run_releasing(w, 300, 12, 10000);
    RUN_UNTIL(w, w->owner.acked == 12, 3000);
    assert_true(gr_now_ms() - start >= 11 * 300);
    s_assert_delivered(w);
    assert_int_equal(s_status(w).resent_total, 0);
    assert_int_equal(w->peer.dups, 0);
    s_world_destroy(&w);
}

/* A peer slower than retry_ms that answers every item: once an answer
 * time is known, the timeout follows it (RFC 6298) and items are not sent
 * again while the peer works through them. Here the link has one item in
 * flight, the peer answers each 450 ms after the previous answer, and
 * retry_ms is 200: with a fixed timeout every item would go twice or more. */
static void test_upward_timeout_follows_answer_time(void **state)
{
    (void)state;
    world_t *w = s_upward_world(1, 200, 5000, 5000, 10);
    w->peer.hold_acks = true;
    /* One held answer every 450 ms (a copy sent again holds its own). */
    uint64_t deadline = gr_now_ms() + 30000, next = gr_now_ms() + 450;
    while (w->owner.acked < 10 && gr_now_ms() < deadline) {
        if (gr_now_ms() >= next && s_peer_release(&w->peer, 1) == 1)
            next = gr_now_ms() + 450;
        s_pump(w, 10);
    }
    assert_int_equal(w->owner.acked, 10);
    s_assert_delivered(w);
    /* The first items go again while no answer time is known (19 resends
     * of 10 items with the fixed timeout of before). */
    assert_true(s_status(w).resent_total <= 5);
    s_world_destroy(&w);
}

/* The resend timer runs from the last progress: a peer that acked
 * steadily and then went quiet is probed retry_ms after its last Ack, not
 * retry_ms after the oldest item was first sent. */
static void test_upward_timer_from_progress(void **state)
{
    (void)state;
    world_t *w = s_upward_world(8, 500, 30000, 5000, 8);
    w->peer.hold_acks = true;
    w->peer.watch_seq = w->owner.entries[3].seq;  /* the oldest after three Acks */
    RUN_UNTIL(w, w->peer.held_tail == 8, 3000);
    assert_int_equal(w->peer.held_tail, 8);
    s_run_releasing(w, 200, 3, 3000);
    /* The link reads the Ack after it went out, so its progress is later. */
    uint64_t last_ack = w->peer.released_ms;
    RUN_UNTIL(w, w->peer.n_watch >= 2, 3000);
    assert_int_equal(w->peer.n_watch, 2);
    /* First sent 600 ms or more before the last Ack. */
    assert_true(w->peer.watch_ms[1] - w->peer.watch_ms[0] >= 1000);
    assert_true(w->peer.watch_ms[1] >= last_ack + 500);
    assert_int_equal(s_status(w).resent_total, 1);  /* the rest is in the queue */

    /* The peer catches up; the probe's Ack is an echo. */
    s_peer_release(&w->peer, ITEM_MAX * 2);
    RUN_UNTIL(w, w->owner.acked == 8, 3000);
    s_assert_delivered(w);
    assert_int_equal(w->peer.dups, 1);
    s_world_destroy(&w);
}

/* Frames lost on a live connection, which the Acks of younger items
 * reveal: the next timeout resends every skipped item with the oldest,
 * rather than one item per timeout. */
static void test_upward_skipped_resent_together(void **state)
{
    (void)state;
    world_t *w = s_upward_world(8, 500, 30000, 5000, 6);
    w->peer.drop = 3;
    uint64_t start = gr_now_ms();
    RUN_UNTIL(w, w->owner.acked == 6, 5000);
    uint64_t took = gr_now_ms() - start;
    s_assert_delivered_as(w, false);
    assert_int_equal(s_status(w).resent_total, 3);
    assert_true(took < 1000);  /* one 500 ms timeout, not three */
    /* The three lost items came after the younger ones, still in order. */
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(w->peer.order[i], w->owner.entries[i + 3].seq);
        assert_int_equal(w->peer.order[i + 3], w->owner.entries[i].seq);
    }
    s_world_destroy(&w);
}

static void test_upward_error_replies(void **state)
{
    (void)state;
    world_t *w = s_upward_world(8, 50, 100, 5000, 2);
    /* A permanent refusal: counted, never dropped. */
    w->peer.error_code = GRIDRELAY__ERROR_CODE__ERR_UNTRUSTED;
    RUN_UNTIL(w, s_status(w).refused_total >= 4, 3000);
    gr_link_status_t st = s_status(w);
    assert_true(st.refused_total >= 4);
    assert_int_equal(st.in_flight, 2);
    assert_int_equal(w->owner.acked, 0);
    assert_true(w->owner.errors >= 4);  /* forwarded, for the owner's log */

    /* A transient refusal: retried, not counted as refused. */
    w->peer.error_code = GRIDRELAY__ERROR_CODE__ERR_STORE_FULL;
    size_t items_before = w->peer.items;
    RUN_UNTIL(w, w->peer.items >= items_before + 6, 3000);
    uint64_t refused = s_status(w).refused_total;
    size_t errors = w->owner.errors;
    RUN_UNTIL(w, w->owner.errors >= errors + 4, 3000);
    assert_int_equal(s_status(w).refused_total, refused);
    assert_int_equal(s_status(w).in_flight, 2);

    /* The peer may stop refusing between the two items of a resend and
     * so commit the second first: order across refusals is the peer's. */
    w->peer.error_code = GRIDRELAY__ERROR_CODE__ERR_NONE;
    RUN_UNTIL(w, w->owner.acked == 2, 3000);
    s_assert_delivered_as(w, false);
    s_world_destroy(&w);
}

static void test_upward_parent_restart(void **state)
{
    (void)state;
    world_t *w = s_upward_world(16, 200, 1000, 100, 1000);
    RUN_UNTIL(w, w->peer.n_order >= 300, 10000);
    assert_true(w->peer.n_order >= 300);
    s_parent_stop(w);
    s_run_for(w, 50);
    s_parent_start(w);
    RUN_UNTIL(w, w->peer.n_order >= 700, 10000);
    assert_true(w->peer.n_order >= 700);
    /* A restart in the middle of the window, with no pause at all. */
    s_parent_stop(w);
    s_parent_start(w);
    RUN_UNTIL(w, w->owner.acked == 1000, 15000);
    s_assert_delivered(w);
    s_world_destroy(&w);
}

/* Frames lost with a connection must be resent before anything newer goes
 * out on the next one, even when no send failed in between (nothing was
 * sent while disconnected) and long before the retry timer would fire. */
static void test_upward_reconnect_resends_first(void **state)
{
    (void)state;
    world_t *w = s_upward_world(64, 5000, 30000, 5000, 5);
    w->peer.paused = true;
    RUN_UNTIL(w, s_status(w).sent_total == 5, 3000);
    assert_int_equal(s_status(w).sent_total, 5);
    assert_int_equal(gr_zap_admitted(w->zap), 1);
    /* The five frames die unread with the parent's socket. */
    s_parent_stop(w);
    s_parent_start(w);
    w->peer.paused = false;
    /* Wait until the DEALER has seen the old connection go and has a new
     * one (with ZMQ_IMMEDIATE a send in between would fail, and that
     * failure alone would trigger the resend). */
    RUN_UNTIL(w, !s_writable(gr_link_socket(w->link)), 3000);
    assert_false(s_writable(gr_link_socket(w->link)));
    RUN_UNTIL(w, s_writable(gr_link_socket(w->link)), 3000);
    assert_true(s_writable(gr_link_socket(w->link)));
    assert_int_equal(gr_zap_admitted(w->zap), 2);
    s_owner_add(&w->owner, 1);
    gr_link_kick(w->link);
    RUN_UNTIL(w, w->owner.acked == 6, 2000);
    s_assert_delivered(w);
    assert_int_equal(s_status(w).resent_total, 5);
    s_world_destroy(&w);
}

static void test_upward_heartbeat_up_down(void **state)
{
    (void)state;
    world_t *w = s_upward_world(8, 1000, 30000, 100, 0);
    w->peer.echo_heartbeat = true;
    RUN_UNTIL(w, w->owner.ups == 1, 3000);
    assert_int_equal(w->owner.ups, 1);
    assert_true(s_status(w).up);
    /* Idle, heartbeats alone keep it up. */
    s_run_for(w, 800);
    assert_int_equal(w->owner.downs, 0);
    assert_true(w->peer.heartbeats >= 5);
    assert_true(w->owner.messages >= 5);  /* the parent's heartbeats are forwarded */

    uint64_t stopped = gr_now_ms();
    s_parent_stop(w);
    RUN_UNTIL(w, w->owner.downs == 1, 3000);
    assert_int_equal(w->owner.downs, 1);
    assert_false(s_status(w).up);
    assert_true(gr_now_ms() - stopped >= 150);  /* 3 x 100 ms after the last contact */

    s_parent_start(w);
    RUN_UNTIL(w, w->owner.ups == 2, 5000);
    assert_int_equal(w->owner.ups, 2);
    assert_true(s_status(w).up);
    assert_true(s_status(w).last_contact_ms >= stopped);
    s_world_destroy(&w);
}

/* One AckBatch acknowledges several items at once, as separate Acks
 * would, and nothing is resent. */
static void test_upward_ack_batch(void **state)
{
    (void)state;
    world_t *w = s_upward_world(8, 1000, 30000, 5000, 6);
    w->peer.hold_acks = true;
    RUN_UNTIL(w, w->peer.held_tail >= 6, 3000);
    assert_int_equal(w->peer.held_tail, 6);
    uint64_t seqs[6];
    for (size_t i = 0; i < 6; i++)
        seqs[i] = w->peer.held[i].seq;
    Gridrelay__AckBatch batch = GRIDRELAY__ACK_BATCH__INIT;
    batch.ref_seqs = seqs;
    batch.n_ref_seqs = 6;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_ACK_BATCH;
    body.ack_batch = &batch;
    s_peer_send(&w->peer, w->peer.child_route, w->peer.child_route_len, &body);
    RUN_UNTIL(w, w->owner.acked == 6, 3000);
    assert_int_equal(w->owner.acked, 6);
    gr_link_status_t st = s_status(w);
    assert_int_equal(st.acked_total, 6);
    assert_int_equal(st.in_flight, 0);
    assert_int_equal(st.resent_total, 0);
    s_world_destroy(&w);
}

/* Link protocol 2: at most two batch frames unanswered. An entry for an
 * idle link goes at once; while two frames wait for their answers, new
 * entries wait too and leave together, as one frame, as soon as one of
 * the two is answered (group commit: no delay when idle, bigger frames
 * under load); nothing is resent, lost or reordered. */
static void test_upward_batches_wait_for_answers(void **state)
{
    (void)state;
    world_t *w = s_upward_v2_world(5000, true);
    peer_t *p = &w->peer;

    /* Connected first, so that no send fails (and counts as a resend). */
    RUN_UNTIL(w, s_writable(gr_link_socket(w->link)), 3000);
    /* Idle: each entry goes at once, in a frame of its own. */
    s_owner_add(&w->owner, 1);
    gr_link_kick(w->link);
    RUN_UNTIL(w, p->frames == 1, 3000);
    assert_int_equal(p->frames, 1);
    s_owner_add(&w->owner, 2);
    gr_link_kick(w->link);
    RUN_UNTIL(w, p->frames == 2, 3000);
    assert_int_equal(p->frame_items[1], 2);
    /* Two frames unanswered: ten more entries wait. */
    for (int k = 0; k < 10; k++) {
        s_owner_add(&w->owner, 1);
        gr_link_kick(w->link);
        s_run_for(w, 10);
    }
    assert_int_equal(p->frames, 2);
    gr_link_status_t st = s_status(w);
    assert_int_equal(st.in_flight, 3);  /* sent; the ten held are not */
    assert_int_equal(st.held_total, 10);
    assert_int_equal(st.sent_total, 3);
    /* The first frame's answer sends all ten, as one frame. */
    assert_int_equal(s_peer_release(p, 1), 1);
    RUN_UNTIL(w, p->frames == 3, 3000);
    assert_int_equal(p->frames, 3);
    assert_int_equal(p->frame_items[2], 10);
    /* Everything answered: delivered once, in order, nothing resent. */
    s_peer_release(p, 12);
    RUN_UNTIL(w, w->owner.acked == 13, 3000);
    s_assert_delivered(w);
    st = s_status(w);
    assert_int_equal(st.resent_total, 0);
    assert_int_equal(st.batches_total, 3);
    assert_int_equal(st.batched_total, 13);
    assert_int_equal(p->dups, 0);
    s_world_destroy(&w);
}

/* A message other than an answer (here a CatchUp), sealed in version 1,
 * reaches a fresh link before any answer did: the parent asked for status
 * in the version its catch-up code used, which says nothing about what it
 * reads. The link keeps speaking 2 and batching; only an answer in
 * version 1 (an older parent's) would turn it back. */
static void test_upward_version1_message_keeps_batching(void **state)
{
    (void)state;
    world_t *w = s_upward_v2_world(200, false);
    peer_t *p = &w->peer;
    /* The link's heartbeat gives the parent its route. */
    RUN_UNTIL(w, p->heartbeats > 0, 3000);
    assert_true(p->heartbeats > 0);

    p->version = 1;
    Gridrelay__CatchUp catch_up = GRIDRELAY__CATCH_UP__INIT;
    catch_up.limit = 10;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_CATCH_UP;
    body.catch_up = &catch_up;
    s_peer_send(p, p->child_route, p->child_route_len, &body);
    RUN_UNTIL(w, w->owner.messages == 1, 3000);
    assert_int_equal(w->owner.messages, 1);
    p->version = GR_LINK_VERSION;

    s_owner_add(&w->owner, 3);
    gr_link_kick(w->link);
    RUN_UNTIL(w, w->owner.acked == 3, 3000);
    assert_int_equal(w->owner.acked, 3);
    gr_link_status_t st = s_status(w);
    assert_int_equal(st.peer_version, GR_LINK_VERSION);
    assert_int_equal(st.batched_total, 3);
    assert_true(p->frames >= 1);
    s_assert_delivered(w);
    s_world_destroy(&w);
}

static void test_upward_rejects_forgeries(void **state)
{
    (void)state;
    world_t *w = s_upward_world(8, 200, 1000, 5000, 2);
    w->peer.ack = false;
    RUN_UNTIL(w, w->peer.items >= 2, 3000);
    assert_true(w->peer.items >= 2);
    peer_t *p = &w->peer;
    const uint8_t *route = p->child_route;
    size_t route_len = p->child_route_len;
    uint64_t first = w->owner.entries[0].seq;

    /* An Ack of a real item, signed by a key that is not the parent's. */
    p->kp = &w->mallory_kp;
    s_peer_ack(p, route, route_len, first, false);
    p->kp = &w->parent_kp;
    /* Not an envelope at all; and a multipart message. */
    zmq_send(p->socket, route, route_len, ZMQ_SNDMORE);
    zmq_send(p->socket, "garbage", 7, 0);
    zmq_send(p->socket, route, route_len, ZMQ_SNDMORE);
    zmq_send(p->socket, "a", 1, ZMQ_SNDMORE);
    zmq_send(p->socket, "b", 1, 0);
    RUN_UNTIL(w, s_status(w).rejected_total == 3, 3000);
    gr_link_status_t st = s_status(w);
    assert_int_equal(st.rejected_total, 3);
    assert_int_equal(st.in_flight, 2);
    assert_int_equal(w->owner.acked, 0);
    assert_false(st.up);  /* forgeries are not contact */

    /* An Ack for a seq never sent is ignored, but it is contact. */
    s_peer_ack(p, route, route_len, 999999, false);
    RUN_UNTIL(w, s_status(w).up, 3000);
    st = s_status(w);
    assert_true(st.up);
    assert_int_equal(st.acked_total, 0);
    assert_int_equal(w->owner.messages, 0);

    p->ack = true;
    RUN_UNTIL(w, w->owner.acked == 2, 3000);
    s_assert_delivered(w);
    s_world_destroy(&w);
}

static void test_downward(void **state)
{
    (void)state;
    world_t *w = s_world_new();
    w->owner.kp = &w->parent_kp;
    w->owner.item_kind = GRIDRELAY__BODY__KIND_ASSIGN;
    s_owner_add(&w->owner, 50);
    char endpoint[256];
    w->owner_router = s_router_bind(w->ctx, &w->parent_kp, "tcp://127.0.0.1:*", endpoint,
                                    sizeof endpoint);
    assert_non_null(w->owner_router);
    gr_link_options_t opt = s_options(w, 16, 300, 1000, 100);
    opt.peer_id = CHILD_ID;
    opt.peer_pk = w->child_kp.pk;
    opt.kp = &w->parent_kp;
    opt.own_id = PARENT_ID;
    w->link = gr_link_new_downward(w->owner_router, &opt);
    assert_non_null(w->link);
    assert_null(gr_link_socket(w->link));

    /* No child connected: everything stays in flight, nothing counts as
     * sent, nothing is lost. */
    s_run_for(w, 400);
    gr_link_status_t st = s_status(w);
    assert_int_equal(st.in_flight, 16);
    assert_int_equal(st.sent_total, 0);
    assert_int_equal(st.acked_total, 0);
    assert_false(st.up);
    assert_int_equal(gr_link_send(w->link, (const uint8_t *)"x", 1), -EHOSTUNREACH);

    /* A frame signed by another key than the child's is refused. */
    Gridrelay__Ack ack = GRIDRELAY__ACK__INIT;
    ack.ref_seq = w->owner.entries[0].seq;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_ACK;
    body.ack = &ack;
    size_t len = 0;
    uint8_t *forged = s_seal(&w->mallory_kp, 1, &body, &len);
    gr_opened_t opened;
    assert_int_equal(gr_envelope_open_from(&opened, forged, len, NULL, 0), 0);
    assert_int_equal(gr_link_on_message(w->link, &opened, forged, len, gr_now_ms()),
                     GR_EUNTRUSTED);
    gr_opened_clear(&opened);
    free(forged);
    assert_int_equal(s_status(w).rejected_total, 1);
    assert_int_equal(w->owner.acked, 0);

    /* The child connects and, like a node, says hello with a heartbeat. */
    peer_t *p = &w->peer;
    p->socket = zmq_socket(w->ctx, ZMQ_DEALER);
    assert_non_null(p->socket);
    p->kp = &w->child_kp;
    p->sender_pk = w->parent_kp.pk;
    p->ack = true;
    p->echo_heartbeat = true;
    assert_int_equal(zmq_setsockopt(p->socket, ZMQ_ROUTING_ID, CHILD_ID, strlen(CHILD_ID)), 0);
    assert_int_equal(s_setopt_int(p->socket, ZMQ_LINGER, 0), 0);
    assert_int_equal(gr_curve_client(p->socket, &w->child_kp, w->parent_kp.pk), 0);
    assert_int_equal(zmq_connect(p->socket, endpoint), 0);
    Gridrelay__Heartbeat hb = GRIDRELAY__HEARTBEAT__INIT;
    hb.node_id = CHILD_ID;
    Gridrelay__Body hello = GRIDRELAY__BODY__INIT;
    hello.kind_case = GRIDRELAY__BODY__KIND_HEARTBEAT;
    hello.heartbeat = &hb;
    s_peer_send(p, NULL, 0, &hello);

    RUN_UNTIL(w, w->owner.acked == 50, 10000);
    s_assert_delivered(w);
    assert_true(s_status(w).up);
    assert_int_equal(w->owner.ups, 1);
    assert_int_equal(w->owner_router_bad, 0);
    assert_int_equal(p->bad, 0);
    /* The parent's own heartbeats reach the child too. */
    RUN_UNTIL(w, p->heartbeats >= 2, 3000);
    assert_true(p->heartbeats >= 2);
    s_world_destroy(&w);
}

static void test_argument_checks(void **state)
{
    (void)state;
    gr_link_destroy(NULL);
    gr_link_t *none = NULL;
    gr_link_destroy(&none);
    assert_null(gr_link_new_downward(NULL, NULL));
    gr_link_options_t opt;
    memset(&opt, 0, sizeof opt);
    int dummy = 0;
    assert_null(gr_link_new_downward(&dummy, &opt));  /* no ids, keys or callbacks */
    assert_int_equal(gr_link_tick(NULL, 0), GR_EINVAL);
    assert_int_equal(gr_link_on_readable(NULL, 0), GR_EINVAL);
    assert_int_equal(gr_link_send(NULL, NULL, 0), GR_EINVAL);
    gr_link_item_t item = { 1, NULL, 0 };
    assert_int_equal(gr_link_emit(NULL, &item), GR_EINVAL);
    gr_link_status_t st;
    gr_link_status(NULL, &st);
    assert_false(st.up);
    assert_null(gr_link_peer_id(NULL));
}

/* Links come and go in one context (a config reload), and a link whose
 * parent is not there holds its items without counting them as sent. */
static void test_upward_lifecycle(void **state)
{
    (void)state;
    world_t *w = s_upward_world(4, 1000, 30000, 1000, 3);
    s_parent_stop(w);
    for (int i = 0; i < 20; i++) {
        gr_link_destroy(&w->link);
        gr_link_options_t opt = s_options(w, 4, 1000, 30000, 1000);
        opt.peer_id = PARENT_ID;
        opt.peer_pk = w->parent_kp.pk;
        opt.kp = &w->child_kp;
        opt.own_id = CHILD_ID;
        w->link = gr_link_new_upward(w->ctx, w->peer.endpoint, &opt);
        assert_non_null(w->link);
        assert_int_equal(gr_link_tick(w->link, gr_now_ms()), 0);
    }
    s_run_for(w, 100);
    gr_link_status_t st = s_status(w);
    assert_int_equal(st.in_flight, 3);
    assert_int_equal(st.sent_total, 0);
    assert_int_equal(gr_link_send(w->link, (const uint8_t *)"x", 1), -EAGAIN);
    assert_true(gr_link_timeout_ms(w->link, gr_now_ms()) <= 100);
    s_world_destroy(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argument_checks),
        cmocka_unit_test(test_upward_delivers_in_order),
        cmocka_unit_test(test_upward_send_before_commit),
        cmocka_unit_test(test_upward_version1_message_keeps_batching),
        cmocka_unit_test(test_upward_backoff),
        cmocka_unit_test(test_upward_slow_peer_no_resends),
        cmocka_unit_test(test_upward_timeout_follows_answer_time),
        cmocka_unit_test(test_upward_timer_from_progress),
        cmocka_unit_test(test_upward_skipped_resent_together),
        cmocka_unit_test(test_upward_error_replies),
        cmocka_unit_test(test_upward_parent_restart),
        cmocka_unit_test(test_upward_reconnect_resends_first),
        cmocka_unit_test(test_upward_heartbeat_up_down),
        cmocka_unit_test(test_upward_ack_batch),
        cmocka_unit_test(test_upward_batches_wait_for_answers),
        cmocka_unit_test(test_upward_rejects_forgeries),
        cmocka_unit_test(test_upward_lifecycle),
        cmocka_unit_test(test_downward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
