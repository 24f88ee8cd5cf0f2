#include "peers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "curve.h"
#include "error.h"
#include "clock.h"
#include "linkbatch.h"
#include "log.h"
#include "outbox.h"

#define CATCHUP_LIMIT 500
#define CATCHUP_SAFETY_MS 10000   /* ask even without a gap, in case the last update was lost */
#define CATCHUP_MIN_GAP_MS 200    /* do not flood a child with repeated requests */
#define S_REFUSAL_LOG_MS 60000    /* at most one line a minute per link about refusals */

/* Which link a callback is about. */
typedef struct {
    gr_peers_t *peers;
    const char *outbox;          /* outbox peer name: "parent", "skip" or the child id */
    gr_source_kind_t kind;
    size_t child;                /* index in cfg->children for children */
    gr_link_t *link;
    bool catchup_wanted;
    uint64_t catchup_sent_ms;
    uint64_t refusal_logged_ms;  /* last refusal by the peer said in the log */
    uint64_t refusals_unlogged;  /* refusals since, not said */
    /* The window's loaded_upto before gr_peers_before_commit() sent from
     * the transaction being committed. */
    uint64_t before_commit_upto;
} s_link_ctx_t;

typedef struct {
    const char *outbox;
    uint64_t seq;
    bool dead;          /* refused for good: to the dead letters, not deleted */
    int code;
    char *message;      /* dead: the peer's refusal (owned) */
} s_ack_t;

struct gr_peers {
    void *ctx;
    void *router;
    const gr_config_t *cfg;
    gr_store_t *store;
    gr_engine_t *engine;
    gr_tierlink_t *tierlink;
    s_link_ctx_t up;
    s_link_ctx_t skip;
    s_link_ctx_t *down;          /* one per child */
    void *pub;                   /* status stream to the parent */
    void *sub;                   /* children's status streams */
    char status_endpoint[256];
    gr_inbound_t *inbound;
    size_t n_inbound, cap_inbound;
    s_ack_t *acks;
    size_t n_acks, cap_acks;
    gr_counters_t *counters;     /* refused link batches; may be NULL */
    gr_txn_t *uncommitted;       /* set while gr_peers_before_commit() loads from it */
    bool sent_uncommitted;       /* the upward links sent from a transaction not yet committed */
};

static int s_grow(void **array, size_t *cap, size_t count, size_t size)
{
    if (count < *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 64;
    void *p = realloc(*array, n * size);
    if (!p)
        return GR_ENOMEM;
    *array = p;
    *cap = n;
    return 0;
}

static int s_queue(gr_peers_t *self, const uint8_t *frame, size_t len, gr_source_kind_t kind,
                   const char *peer, gr_link_t *reply_link, bool status)
{
    if (s_grow((void **)&self->inbound, &self->cap_inbound, self->n_inbound, sizeof *self->inbound) != 0)
        return GR_ENOMEM;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return GR_ENOMEM;
    memcpy(copy, frame, len);
    gr_inbound_t *item = &self->inbound[self->n_inbound++];
    item->frame = copy;
    item->len = len;
    item->source.kind = kind;
    item->source.peer = peer;
    item->reply_link = reply_link;
    item->status = status;
    item->batched = false;
    return 0;
}

typedef struct {
    gr_peers_t *self;
    s_link_ctx_t *lc;
    const uint8_t *signer;
    int rc;
} s_expand_t;

/* One item of a link batch: queued like a frame of its own, good or bad
 * (a bad one is refused with its own Error by the daemon, the others of
 * the batch go on). */
static void s_batch_item(void *ctx, int rc, uint64_t seq, const gr_opened_t *opened,
                         const uint8_t *frame, size_t len)
{
    (void)rc;
    (void)opened;
    s_expand_t *x = ctx;
    if (x->rc != 0)
        return;
    x->rc = s_queue(x->self, frame, len, x->lc->kind, gr_link_peer_id(x->lc->link), x->lc->link,
                    false);
    if (x->rc == 0) {
        gr_inbound_t *item = &x->self->inbound[x->self->n_inbound - 1];
        item->batched = true;
        memcpy(item->signer, x->signer, GR_PUBLIC_KEY_BYTES);
        item->seq = seq;
    }
}

/* A link batch from the peer of lc (its envelope verified): the head's
 * signature is checked once here, then every item joins the inbound
 * queue. A head that does not verify (an item is not what the peer
 * signed) refuses the whole batch: no item can be told good from bad, and
 * the peer resends them. */
static void s_expand(gr_peers_t *self, s_link_ctx_t *lc, const gr_opened_t *opened)
{
    s_expand_t x = {self, lc, opened->envelope->signer.data, 0};
    int n = gr_linkbatch_expand(opened->body->link_batch, x.signer, self->cfg->keys.pk,
                                self->cfg->max_frame, false, s_batch_item, &x);
    if (n < 0) {
        if (self->counters)
            self->counters->value[n == GR_ESIGNATURE ? GR_COUNT_REJ_SIGNATURE
                                                     : GR_COUNT_REJ_DECODE]++;
        gr_log(GR_LOG_WARN, NULL, "link batch from %s refused: %s", lc->outbox,
               n == GR_ESIGNATURE ? "its signed root does not match its items"
                                  : "not a well-formed batch");
    } else if (x.rc != 0) {
        gr_log(GR_LOG_ERROR, NULL, "out of memory queueing a batch from %s", lc->outbox);
    }
}

/* ---- link callbacks ---- */

static void s_emit_visit(void *ctx, uint64_t seq, const uint8_t *data, size_t len)
{
    gr_link_item_t item = { seq, data, len };
    if (gr_link_emit(ctx, &item) != 0)
        gr_log(GR_LOG_ERROR, NULL, "out of memory loading the outbox");
}

static int s_load(void *ctx, gr_link_t *link, uint64_t after, size_t max)
{
    s_link_ctx_t *lc = ctx;
    if (lc->peers->uncommitted)
        return gr_store_outbox_scan(lc->peers->uncommitted, lc->outbox, after, max, s_emit_visit,
                                    link);
    gr_txn_t *txn = NULL;
    int rc = gr_store_begin(lc->peers->store, false, &txn);
    if (rc != 0)
        return rc;
    rc = gr_store_outbox_scan(txn, lc->outbox, after, max, s_emit_visit, link);
    gr_store_abort(&txn);
    return rc;
}

static void s_acked(void *ctx, uint64_t seq)
{
    s_link_ctx_t *lc = ctx;
    gr_peers_t *self = lc->peers;
    if (s_grow((void **)&self->acks, &self->cap_acks, self->n_acks, sizeof *self->acks) != 0) {
        /* Not deleting is safe: the entry is resent and deduplicated. */
        gr_log(GR_LOG_ERROR, NULL, "out of memory recording an ack from %s", lc->outbox);
        return;
    }
    self->acks[self->n_acks++] = (s_ack_t){ lc->outbox, seq, false, 0, NULL };
}

/* Buried in the next write transaction (node/outbox.h), like an ack. */
static void s_dead(void *ctx, uint64_t seq, int code, const char *message)
{
    s_link_ctx_t *lc = ctx;
    gr_peers_t *self = lc->peers;
    char *copy = strdup(message);
    if (!copy ||
        s_grow((void **)&self->acks, &self->cap_acks, self->n_acks, sizeof *self->acks) != 0) {
        /* Left in the outbox: it is loaded and refused again after a restart. */
        free(copy);
        gr_log(GR_LOG_ERROR, NULL, "out of memory recording a dead letter from %s", lc->outbox);
        return;
    }
    self->acks[self->n_acks++] = (s_ack_t){ lc->outbox, seq, true, code, copy };
}

static void s_changed(void *ctx, gr_link_t *link, bool up)
{
    s_link_ctx_t *lc = ctx;
    gr_log(up ? GR_LOG_NOTICE : GR_LOG_WARN, NULL, "link to %s %s is %s", lc->outbox,
           gr_link_peer_id(link), up ? "up" : "down");
    if (up && lc->kind == GR_FROM_CHILD)
        lc->catchup_wanted = true;
}

static uint64_t s_next_seq(void *ctx)
{
    s_link_ctx_t *lc = ctx;
    return gr_engine_next_seq(lc->peers->engine);
}

/* Seals body with this node's key and sends it on link, outside the outbox,
 * in the version the peer speaks: a version-2 child that heard a version-1
 * CatchUp from us before any answer would take us for a version-1 parent
 * and send its escalations one signature each (gr_link_window_answer()). */
static int s_send_body(gr_peers_t *self, gr_link_t *link, const Gridrelay__Body *body)
{
    uint8_t *frame = NULL;
    size_t len = 0;
    int rc = gr_envelope_seal_body_version(&frame, &len, &self->cfg->keys,
                                           gr_link_peer_version(link),
                                           gr_engine_next_seq(self->engine), gr_now_ms(), body);
    if (rc != 0)
        return rc;
    rc = gr_link_send(link, frame, len);
    free(frame);
    return rc;
}

/* A message of ours the peer refused: kept in the outbox and retried with
 * backoff (nothing acknowledged is dropped), so the operator must hear of
 * it; but a window of refused messages retried every few seconds must
 * not flood the log: one line a minute per link, saying how many more. */
static void s_log_refusal(s_link_ctx_t *lc, const Gridrelay__Error *error)
{
    uint64_t now = gr_now_ms();
    if (lc->refusal_logged_ms && now - lc->refusal_logged_ms < S_REFUSAL_LOG_MS) {
        lc->refusals_unlogged++;
        return;
    }
    const ProtobufCEnumValue *code =
        protobuf_c_enum_descriptor_get_value(&gridrelay__error_code__descriptor, (int)error->code);
    char more[64] = "";
    if (lc->refusals_unlogged)
        snprintf(more, sizeof more, " (%llu more refusals since the last report)",
                 (unsigned long long)lc->refusals_unlogged);
    gr_log(GR_LOG_WARN, NULL, "%s refused our message seq=%llu: %s: %s; kept and retried with "
           "backoff%s", lc->outbox, (unsigned long long)error->ref_seq, code ? code->name : "?",
           error->message ? error->message : "", more);
    lc->refusal_logged_ms = now;
    lc->refusals_unlogged = 0;
}

static void s_message(void *ctx, gr_link_t *link, const gr_opened_t *opened, const uint8_t *frame,
                      size_t len)
{
    s_link_ctx_t *lc = ctx;
    gr_peers_t *self = lc->peers;
    switch (opened->body->kind_case) {
    case GRIDRELAY__BODY__KIND_HEARTBEAT:
        break;  /* contact is all it says */
    case GRIDRELAY__BODY__KIND_STATUS_BATCH:
        break;  /* a child's catch-up answer: queued by gr_peers_child_frame */
    case GRIDRELAY__BODY__KIND_CATCH_UP: {
        gr_txn_t *txn = NULL;
        if (gr_store_begin(self->store, false, &txn) == 0) {
            if (gr_peers_answer_catchup(self, txn, opened, link) != 0)
                gr_log(GR_LOG_WARN, NULL, "could not answer a catch-up request from %s", lc->outbox);
            gr_store_abort(&txn);
        }
        break;
    }
    case GRIDRELAY__BODY__KIND_LINK_BATCH:
        s_expand(self, lc, opened);
        break;
    case GRIDRELAY__BODY__KIND_ERROR:
        /* A refusal for good is logged when it is buried (node/outbox.c). */
        if (opened->body->error && !gr_link_error_is_permanent(opened->body->error->code))
            s_log_refusal(lc, opened->body->error);
        break;
    default:
        /* Everything else is a request of the link's peer (assignments,
         * feedback, supervision, urges, and kinds to come): the request
         * table judges it (node/requests.c) and refuses, with a reply,
         * what this peer may not send, so nothing is dropped unseen. */
        if (s_queue(self, frame, len, lc->kind, gr_link_peer_id(link), link, false) != 0)
            gr_log(GR_LOG_ERROR, NULL, "out of memory queueing a message from %s", lc->outbox);
        break;
    }
}

static int s_link_options(gr_peers_t *self, s_link_ctx_t *lc, const gr_peer_config_t *peer,
                          gr_link_options_t *opt)
{
    memset(opt, 0, sizeof *opt);
    lc->peers = self;
    opt->peer_id = peer->id;
    opt->peer_pk = peer->pk;
    opt->kp = &self->cfg->keys;
    opt->own_id = self->cfg->node_id;
    opt->max_frame = self->cfg->max_frame;
    opt->callbacks.load = s_load;
    opt->callbacks.acked = s_acked;
    opt->callbacks.dead = s_dead;
    opt->callbacks.message = s_message;
    opt->callbacks.changed = s_changed;
    opt->callbacks.next_seq = s_next_seq;
    opt->ctx = lc;
    return 0;
}

/* ---- setup ---- */

static int s_status_sockets(gr_peers_t *self, char *err, size_t errlen)
{
    const gr_config_t *cfg = self->cfg;
    if (cfg->status_listen && cfg->n_children > 0) {
        self->sub = zmq_socket(self->ctx, ZMQ_SUB);
        if (!self->sub || gr_curve_server(self->sub, &cfg->keys) != 0 ||
            zmq_setsockopt(self->sub, ZMQ_SUBSCRIBE, "", 0) != 0 ||
            zmq_bind(self->sub, cfg->status_listen) != 0) {
            snprintf(err, errlen, "cannot listen for status on %s: %s", cfg->status_listen,
                     zmq_strerror(zmq_errno()));
            return GR_EIO;
        }
        size_t len = sizeof self->status_endpoint;
        if (zmq_getsockopt(self->sub, ZMQ_LAST_ENDPOINT, self->status_endpoint, &len) != 0)
            snprintf(self->status_endpoint, sizeof self->status_endpoint, "%s", cfg->status_listen);
    }
    if (cfg->has_parent && cfg->parent.status_endpoint) {
        self->pub = zmq_socket(self->ctx, ZMQ_PUB);
        int linger = 0;
        if (!self->pub || zmq_setsockopt(self->pub, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
            gr_curve_client(self->pub, &cfg->keys, cfg->parent.pk) != 0 ||
            zmq_connect(self->pub, cfg->parent.status_endpoint) != 0) {
            snprintf(err, errlen, "cannot connect the status stream to %s: %s",
                     cfg->parent.status_endpoint, zmq_strerror(zmq_errno()));
            return GR_EIO;
        }
    }
    return 0;
}

void gr_peers_set_counters(gr_peers_t *self, gr_counters_t *counters)
{
    self->counters = counters;
}

gr_peers_t *gr_peers_new(void *zmq_ctx, void *router, const gr_config_t *cfg, gr_store_t *store,
                         gr_engine_t *engine, gr_tierlink_t *tierlink, char *err, size_t errlen)
{
    gr_peers_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ctx = zmq_ctx;
    self->router = router;
    self->cfg = cfg;
    self->store = store;
    self->engine = engine;
    self->tierlink = tierlink;
    gr_link_options_t opt;
    if (cfg->has_parent) {
        self->up.outbox = "parent";
        self->up.kind = GR_FROM_PARENT;
        s_link_options(self, &self->up, &cfg->parent, &opt);
        if (!(self->up.link = gr_link_new_upward(zmq_ctx, cfg->parent.endpoint, &opt))) {
            snprintf(err, errlen, "cannot set up the link to parent %s at %s", cfg->parent.id,
                     cfg->parent.endpoint);
            goto fail;
        }
    }
    if (cfg->has_skip) {
        self->skip.outbox = "skip";
        self->skip.kind = GR_FROM_SKIP;
        s_link_options(self, &self->skip, &cfg->skip, &opt);
        if (!(self->skip.link = gr_link_new_upward(zmq_ctx, cfg->skip.endpoint, &opt))) {
            snprintf(err, errlen, "cannot set up the skip-level link to %s at %s", cfg->skip.id,
                     cfg->skip.endpoint);
            goto fail;
        }
    }
    if (cfg->n_children) {
        self->down = calloc(cfg->n_children, sizeof *self->down);
        if (!self->down)
            goto fail;
    }
    for (size_t i = 0; i < cfg->n_children; i++) {
        s_link_ctx_t *lc = &self->down[i];
        lc->outbox = cfg->children[i].id;
        lc->kind = GR_FROM_CHILD;
        lc->child = i;
        lc->catchup_wanted = true;  /* after a restart, fetch what was missed */
        s_link_options(self, lc, &cfg->children[i], &opt);
        if (!(lc->link = gr_link_new_downward(router, &opt))) {
            snprintf(err, errlen, "cannot set up the link to child %s", cfg->children[i].id);
            goto fail;
        }
    }
    if (s_status_sockets(self, err, errlen) != 0)
        goto fail;
    return self;
fail:
    gr_peers_destroy(&self);
    return NULL;
}

void gr_peers_destroy(gr_peers_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gr_peers_t *self = *self_p;
    gr_link_destroy(&self->up.link);
    gr_link_destroy(&self->skip.link);
    for (size_t i = 0; self->down && i < self->cfg->n_children; i++)
        gr_link_destroy(&self->down[i].link);
    free(self->down);
    if (self->pub)
        zmq_close(self->pub);
    if (self->sub)
        zmq_close(self->sub);
    for (size_t i = 0; i < self->n_inbound; i++)
        free(self->inbound[i].frame);
    free(self->inbound);
    for (size_t i = 0; i < self->n_acks; i++)
        free(self->acks[i].message);
    free(self->acks);
    free(self);
    *self_p = NULL;
}

const char *gr_peers_status_endpoint(const gr_peers_t *self)
{
    return self->status_endpoint[0] ? self->status_endpoint : NULL;
}

/* ---- polling ---- */

size_t gr_peers_poll_items(gr_peers_t *self, zmq_pollitem_t *items, size_t max)
{
    size_t n = 0;
    void *sockets[3] = {
        self->up.link ? gr_link_socket(self->up.link) : NULL,
        self->skip.link ? gr_link_socket(self->skip.link) : NULL,
        self->sub,
    };
    for (size_t i = 0; i < 3 && n < max; i++)
        if (sockets[i])
            items[n++] = (zmq_pollitem_t){ sockets[i], 0, ZMQ_POLLIN, 0 };
    return n;
}

const gr_peer_config_t *gr_peers_child(const gr_peers_t *self, const uint8_t pk[GR_PUBLIC_KEY_BYTES])
{
    for (size_t i = 0; i < self->cfg->n_children; i++)
        if (gr_peer_has_key(&self->cfg->children[i], pk))
            return &self->cfg->children[i];
    return NULL;
}

static s_link_ctx_t *s_down(gr_peers_t *self, const gr_peer_config_t *child)
{
    return &self->down[child - self->cfg->children];
}

/* Drains the children's status stream. Frames are verified here so that a
 * stranger's junk never reaches the write transaction. */
static void s_read_status(gr_peers_t *self)
{
    for (int i = 0; i < 1000; i++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, self->sub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            return;
        }
        gr_opened_t opened;
        const uint8_t *data = zmq_msg_data(&msg);
        size_t len = zmq_msg_size(&msg);
        int rc = gr_envelope_open(&opened, NULL, data, len, self->cfg->trust, self->cfg->max_frame);
        const gr_peer_config_t *child = rc == 0 ? gr_peers_child(self, opened.envelope->signer.data) : NULL;
        if (child && (opened.body->kind_case == GRIDRELAY__BODY__KIND_STATUS_BATCH ||
                      opened.body->kind_case == GRIDRELAY__BODY__KIND_STATUS_UPDATE)) {
            if (s_queue(self, data, len, GR_FROM_CHILD, child->id, NULL, true) != 0)
                gr_log(GR_LOG_ERROR, NULL, "out of memory queueing status from %s", child->id);
        } else {
            gr_log(GR_LOG_WARN, NULL, "dropped a status frame that is not a child's update (%s)",
                   rc ? gr_strerror(rc) : "wrong signer or kind");
        }
        gr_opened_clear(&opened);
        zmq_msg_close(&msg);
    }
}

void gr_peers_on_poll(gr_peers_t *self, const zmq_pollitem_t *items, size_t n, uint64_t now_ms)
{
    for (size_t i = 0; i < n; i++) {
        if (!(items[i].revents & ZMQ_POLLIN))
            continue;
        if (self->up.link && items[i].socket == gr_link_socket(self->up.link))
            gr_link_on_readable(self->up.link, now_ms);
        else if (self->skip.link && items[i].socket == gr_link_socket(self->skip.link))
            gr_link_on_readable(self->skip.link, now_ms);
        else if (self->sub && items[i].socket == self->sub)
            s_read_status(self);
    }
}

size_t gr_peers_take_inbound(gr_peers_t *self, gr_inbound_t **items)
{
    size_t n = self->n_inbound;
    *items = self->inbound;
    self->inbound = NULL;
    self->n_inbound = self->cap_inbound = 0;
    return n;
}

void gr_peers_child_route(gr_peers_t *self, const gr_peer_config_t *child, const void *id,
                          size_t len)
{
    if (gr_link_set_route(s_down(self, child)->link, id, len) != 0)
        gr_log(GR_LOG_WARN, NULL, "child %s: unusable routing id (%zu bytes)", child->id, len);
}

int gr_peers_child_frame(gr_peers_t *self, const gr_peer_config_t *child, const gr_opened_t *opened,
                         const uint8_t *frame, size_t len, uint64_t now_ms)
{
    s_link_ctx_t *lc = s_down(self, child);
    switch (opened->body->kind_case) {
    case GRIDRELAY__BODY__KIND_ACK:
    case GRIDRELAY__BODY__KIND_ACK_BATCH:
    case GRIDRELAY__BODY__KIND_HEARTBEAT:
    case GRIDRELAY__BODY__KIND_ERROR:
    case GRIDRELAY__BODY__KIND_LINK_BATCH:  /* its items are queued as inbound */
        gr_link_on_message(lc->link, opened, frame, len, now_ms);
        return 1;
    case GRIDRELAY__BODY__KIND_STATUS_BATCH:
        gr_link_on_message(lc->link, opened, frame, len, now_ms);
        if (s_queue(self, frame, len, GR_FROM_CHILD, child->id, NULL, true) != 0)
            gr_log(GR_LOG_ERROR, NULL, "out of memory queueing catch-up from %s", child->id);
        return 1;
    default:
        return 0;
    }
}

/* ---- inside the write transaction ---- */

size_t gr_peers_pending_acks(const gr_peers_t *self)
{
    return self->n_acks;
}

int gr_peers_apply_acks(gr_peers_t *self, gr_txn_t *txn)
{
    for (size_t i = 0; i < self->n_acks; i++) {
        const s_ack_t *a = &self->acks[i];
        int rc = a->dead ? gr_outbox_bury(txn, a->outbox, a->seq, a->code, a->message,
                                          gr_now_ms())
                         : gr_store_outbox_del(txn, a->outbox, a->seq);
        if (rc != 0 && rc != GR_ENOTFOUND)
            return rc;
    }
    return 0;
}

static const gr_peer_config_t *s_child_by_id(const gr_peers_t *self, const char *id)
{
    for (size_t i = 0; i < self->cfg->n_children; i++)
        if (strcmp(self->cfg->children[i].id, id) == 0)
            return &self->cfg->children[i];
    return NULL;
}

/* In a catch-up answer from a compacted log, the seqs missing before an
 * update were superseded by later updates of their cases, which the
 * answer (or the next one) carries: no gap, so the child's stored seq
 * moves up to just before it. The answer lists the child's log after
 * since_seq, and the stored seq is at least since_seq, so every seq
 * skipped here is one the log no longer holds. */
static int s_skip_superseded(gr_txn_t *txn, const char *child, uint64_t seq)
{
    uint64_t last = 0;
    int rc = gr_store_peer_get(txn, child, "status_seq", &last);
    if (rc == 0 && seq > last + 1)
        rc = gr_store_peer_put(txn, child, "status_seq", seq - 1);
    return rc;
}

int gr_peers_apply_status(gr_peers_t *self, gr_txn_t *txn, const gr_inbound_t *item, uint64_t now_ms)
{
    const gr_peer_config_t *child = s_child_by_id(self, item->source.peer);
    if (!child)
        return 0;
    s_link_ctx_t *lc = s_down(self, child);
    /* Verified on receipt (the status SUB, or the ROUTER for catch-up
     * answers): the signature is not checked twice. */
    gr_opened_t opened;
    /* Signed by the child's key, or by its previous one (a rotation). */
    if (gr_envelope_reopen(&opened, item->frame, item->len, child->pk, self->cfg->max_frame) != 0 &&
        (!child->has_previous || gr_envelope_reopen(&opened, item->frame, item->len,
                                                    child->previous_pk, self->cfg->max_frame) != 0))
        return 0;
    Gridrelay__StatusUpdate *single[1];
    Gridrelay__StatusUpdate **updates = single;
    size_t n = 0;
    bool more = false, compacted = false;
    if (opened.body->kind_case == GRIDRELAY__BODY__KIND_STATUS_UPDATE) {
        single[0] = opened.body->status_update;
        n = 1;
    } else if (opened.body->kind_case == GRIDRELAY__BODY__KIND_STATUS_BATCH) {
        updates = opened.body->status_batch->updates;
        n = opened.body->status_batch->n_updates;
        more = opened.body->status_batch->more;
        /* Only a catch-up answer (ref_seq set) reads the child's log. */
        compacted = opened.body->status_batch->compacted && opened.body->status_batch->ref_seq;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (compacted && (rc = s_skip_superseded(txn, child->id, updates[i]->node_seq)) != 0)
            break;
        rc = gr_tierlink_status_in(self->tierlink, txn, child->id, updates[i], now_ms);
        if (rc == 1) {  /* a gap: fetch from what is stored */
            lc->catchup_wanted = true;
            rc = 0;
            break;
        }
        if (rc != 0)
            break;
    }
    if (more)
        lc->catchup_wanted = true;
    /* An answer that says more is progress, not a request gone unanswered:
     * the next page is asked for after this commit, not 200 ms on (a
     * 100,000-update catch-up took 23 s at one page per tick). */
    if (more && opened.body->kind_case == GRIDRELAY__BODY__KIND_STATUS_BATCH &&
        opened.body->status_batch->ref_seq)
        lc->catchup_sent_ms = 0;
    gr_opened_clear(&opened);
    return rc;
}

typedef struct {
    Gridrelay__StatusUpdate **updates;
    size_t count;
    size_t cap;
    size_t bytes;
    size_t budget;   /* the answer must fit the parent's frame limit */
    int failed;
} s_batch_t;

static void s_collect_status(void *ctx, const Gridrelay__StatusUpdate *update)
{
    s_batch_t *b = ctx;
    if (b->count == b->cap)
        return;
    /* A deep copy: update only lives during the visit. */
    size_t len = gridrelay__status_update__get_packed_size(update);
    if (b->count > 0 && b->bytes + len + 8 > b->budget) {
        b->cap = b->count;  /* the rest goes in the next batch (more = true) */
        return;
    }
    b->bytes += len + 8;
    b->updates[b->count] = gr_message_dup(&update->base);
    if (!b->updates[b->count])
        b->failed = 1;
    else
        b->count++;
}

int gr_peers_answer_catchup(gr_peers_t *self, gr_txn_t *txn, const gr_opened_t *request,
                            gr_link_t *reply_link)
{
    const Gridrelay__CatchUp *cu = request->body->catch_up;
    size_t limit = cu && cu->limit && cu->limit < CATCHUP_LIMIT ? cu->limit : CATCHUP_LIMIT;
    s_batch_t batch = { calloc(limit, sizeof(Gridrelay__StatusUpdate *)), 0, limit, 0,
                        self->cfg->max_frame / 2, 0 };
    if (!batch.updates)
        return GR_ENOMEM;
    int rc = gr_store_status_scan(txn, cu ? cu->since_seq : 0, limit, s_collect_status, &batch);
    if (rc >= 0 && !batch.failed) {
        uint64_t last = 0;
        rc = gr_store_status_last(txn, &last);
        Gridrelay__StatusBatch out = GRIDRELAY__STATUS_BATCH__INIT;
        out.ref_seq = request->envelope->seq;
        out.updates = batch.updates;
        out.n_updates = batch.count;
        out.more = batch.count > 0 && batch.updates[batch.count - 1]->node_seq < last;
        out.compacted = true;  /* the store's log keeps one update per case */
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_STATUS_BATCH;
        body.status_batch = &out;
        if (rc == 0)
            rc = s_send_body(self, reply_link, &body);
    } else if (rc >= 0) {
        rc = GR_ENOMEM;
    }
    for (size_t i = 0; i < batch.count; i++)
        gridrelay__status_update__free_unpacked(batch.updates[i], NULL);
    free(batch.updates);
    return rc < 0 ? rc : 0;
}

/* ---- after commit ---- */

static void s_request_catchups(gr_peers_t *self, uint64_t now_ms)
{
    gr_txn_t *txn = NULL;
    for (size_t i = 0; i < self->cfg->n_children; i++) {
        s_link_ctx_t *lc = &self->down[i];
        if (!lc->catchup_wanted && now_ms - lc->catchup_sent_ms < CATCHUP_SAFETY_MS)
            continue;
        if (now_ms - lc->catchup_sent_ms < CATCHUP_MIN_GAP_MS)
            continue;
        if (!txn && gr_store_begin(self->store, false, &txn) != 0)
            return;
        uint64_t since = 0;
        if (gr_tierlink_child_status_seq(self->tierlink, txn, lc->outbox, &since) != 0)
            continue;
        Gridrelay__CatchUp cu = GRIDRELAY__CATCH_UP__INIT;
        cu.since_seq = since;
        cu.limit = CATCHUP_LIMIT;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_CATCH_UP;
        body.catch_up = &cu;
        lc->catchup_sent_ms = now_ms;
        /* Unreachable child: fine, it is asked again when its link is up. */
        if (s_send_body(self, lc->link, &body) == 0)
            lc->catchup_wanted = false;
    }
    gr_store_abort(&txn);
}

/* Seals updates[0..n) as one StatusBatch and publishes it. Dropped when
 * the parent is away (or on a failure): its catch-up fetches them. */
static void s_publish_batch(gr_peers_t *self, Gridrelay__StatusUpdate **updates, size_t n,
                            uint64_t now_ms)
{
    Gridrelay__StatusBatch batch = GRIDRELAY__STATUS_BATCH__INIT;
    batch.updates = updates;
    batch.n_updates = n;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_STATUS_BATCH;
    body.status_batch = &batch;
    uint8_t *frame = NULL;
    size_t len = 0;
    if (gr_envelope_seal(&frame, &len, &self->cfg->keys, gr_engine_next_seq(self->engine), now_ms,
                         &body) != 0)
        return;
    zmq_send(self->pub, frame, len, ZMQ_DONTWAIT);
    free(frame);
}

/* One signed envelope per commit (split at half a frame, like catch-up
 * answers) instead of one per update: each side pays one signature for
 * the whole batch, not one per case change. */
static void s_publish_status(gr_peers_t *self, const gr_packed_list_t *status, uint64_t now_ms)
{
    if (!self->pub || status->count == 0)
        return;
    Gridrelay__Body **bodies = calloc(status->count, sizeof *bodies);
    Gridrelay__StatusUpdate **updates = calloc(status->count, sizeof *updates);
    size_t budget = self->cfg->max_frame / 2, bytes = 0, n = 0;
    for (size_t i = 0; bodies && updates && i < status->count; i++) {
        bodies[i] = gridrelay__body__unpack(NULL, status->lens[i], status->bodies[i]);
        if (!bodies[i] || bodies[i]->kind_case != GRIDRELAY__BODY__KIND_STATUS_UPDATE)
            continue;
        size_t size = status->lens[i] + 8;  /* the update and its field header */
        if (n > 0 && bytes + size > budget) {
            s_publish_batch(self, updates, n, now_ms);
            n = bytes = 0;
        }
        updates[n++] = bodies[i]->status_update;
        bytes += size;
    }
    if (n > 0)
        s_publish_batch(self, updates, n, now_ms);
    for (size_t i = 0; bodies && i < status->count; i++)
        if (bodies[i])
            gridrelay__body__free_unpacked(bodies[i], NULL);
    free(bodies);
    free(updates);
}

static void s_acks_clear(gr_peers_t *self)
{
    for (size_t i = 0; i < self->n_acks; i++)
        free(self->acks[i].message);
    self->n_acks = 0;
}

/* The links upward: what a report's way to the top waits on. */
static s_link_ctx_t *s_upward(gr_peers_t *self, size_t i)
{
    s_link_ctx_t *up[2] = { &self->up, &self->skip };
    return i < 2 && up[i]->link ? up[i] : NULL;
}

void gr_peers_before_commit(gr_peers_t *self, gr_txn_t *txn, const gr_effects_t *effects,
                            uint64_t now_ms)
{
    if (!effects || !effects->kick_all)
        return;
    self->uncommitted = txn;
    self->sent_uncommitted = true;
    for (size_t i = 0; i < 2; i++) {
        s_link_ctx_t *lc = s_upward(self, i);
        if (!lc)
            continue;
        lc->before_commit_upto = gr_link_loaded_upto(lc->link);
        if (gr_link_send_outbox(lc->link, now_ms) != 0)
            gr_link_forget_after(lc->link, lc->before_commit_upto);  /* sent after commit */
    }
    self->uncommitted = NULL;
}

void gr_peers_commit_failed(gr_peers_t *self)
{
    for (size_t i = 0; self->sent_uncommitted && i < 2; i++) {
        s_link_ctx_t *lc = s_upward(self, i);
        if (lc)
            gr_link_forget_after(lc->link, lc->before_commit_upto);
    }
    self->sent_uncommitted = false;
}

void gr_peers_after_commit(gr_peers_t *self, const gr_effects_t *effects, uint64_t now_ms)
{
    self->sent_uncommitted = false;
    s_acks_clear(self);
    if (effects)
        s_publish_status(self, &effects->status, now_ms);
    if (effects && effects->kick_all) {
        if (self->up.link)
            gr_link_kick(self->up.link);
        if (self->skip.link)
            gr_link_kick(self->skip.link);
        for (size_t i = 0; i < self->cfg->n_children; i++)
            gr_link_kick(self->down[i].link);
    }
    s_request_catchups(self, now_ms);
}

void gr_peers_tick(gr_peers_t *self, uint64_t now_ms)
{
    s_request_catchups(self, now_ms);
    if (self->up.link)
        gr_link_tick(self->up.link, now_ms);
    if (self->skip.link)
        gr_link_tick(self->skip.link, now_ms);
    for (size_t i = 0; i < self->cfg->n_children; i++)
        gr_link_tick(self->down[i].link, now_ms);
}

int gr_peers_timeout_ms(const gr_peers_t *self, uint64_t now_ms)
{
    int timeout = 1000;
    const gr_link_t *links[2] = { self->up.link, self->skip.link };
    for (size_t i = 0; i < 2; i++)
        if (links[i]) {
            int t = gr_link_timeout_ms(links[i], now_ms);
            timeout = t < timeout ? t : timeout;
        }
    for (size_t i = 0; i < self->cfg->n_children; i++) {
        int t = gr_link_timeout_ms(self->down[i].link, now_ms);
        timeout = t < timeout ? t : timeout;
    }
    return timeout < 0 ? 0 : timeout;
}

/* The first (oldest) outbox entry's envelope time: what a scrape shows
 * as the outbox's oldest age. The frame is the node's own, sealed when it
 * was queued, so it is only decoded, not verified again. */
static void s_oldest(void *ctx, uint64_t seq, const uint8_t *data, size_t len)
{
    (void)seq;
    uint64_t *sent_ms = ctx;
    Gridrelay__Envelope *env = gridrelay__envelope__unpack(NULL, len, data);
    *sent_ms = env && env->sent_ms ? env->sent_ms : 1;  /* undecodable: still waiting */
    gridrelay__envelope__free_unpacked(env, NULL);
}

size_t gr_peers_status(gr_peers_t *self, gr_txn_t *txn, gr_peer_status_t *out, size_t max)
{
    size_t n = 0;
    s_link_ctx_t *all[2] = { self->cfg->has_parent ? &self->up : NULL,
                             self->cfg->has_skip ? &self->skip : NULL };
    for (size_t i = 0; i < 2 + self->cfg->n_children && n < max; i++) {
        s_link_ctx_t *lc = i < 2 ? all[i] : &self->down[i - 2];
        if (!lc || !lc->link)
            continue;
        gr_peer_status_t *st = &out[n++];
        memset(st, 0, sizeof *st);
        snprintf(st->peer, sizeof st->peer, "%s", gr_link_peer_id(lc->link));
        st->role = lc->kind == GR_FROM_PARENT ? "parent" : lc->kind == GR_FROM_SKIP ? "skip" : "child";
        gr_link_status(lc->link, &st->link);
        if (gr_store_outbox_depth(txn, lc->outbox, &st->outbox_depth) != 0)
            st->outbox_depth = 0;
        if (st->outbox_depth &&
            gr_store_outbox_scan(txn, lc->outbox, 0, 1, s_oldest, &st->outbox_oldest_ms) != 0)
            st->outbox_oldest_ms = 0;
        if (lc->kind == GR_FROM_CHILD && gr_tierlink_child_status_seq(self->tierlink, txn, lc->outbox, &st->status_seq) != 0)
            st->status_seq = 0;
    }
    return n;
}

int gr_peers_links_reply(gr_peers_t *self, const gr_request_t *req)
{
    size_t max = 2 + self->cfg->n_children;  /* parent, skip, every child */
    gr_peer_status_t *st = calloc(max, sizeof *st);
    Gridrelay__LinkInfo *infos = calloc(max, sizeof *infos);
    Gridrelay__LinkInfo **ptrs = calloc(max, sizeof *ptrs);
    int rc = GR_ENOMEM;
    if (!st || !infos || !ptrs)
        goto out;
    size_t n = gr_peers_status(self, req->txn, st, max);
    for (size_t i = 0; i < n; i++) {
        gridrelay__link_info__init(&infos[i]);
        infos[i].peer = st[i].peer;
        infos[i].role = (char *)st[i].role;
        infos[i].up = st[i].link.up;
        infos[i].last_contact_ms = st[i].link.last_contact_ms;
        infos[i].outbox_depth = st[i].outbox_depth;
        infos[i].outbox_oldest_ms = st[i].outbox_oldest_ms;
        infos[i].in_flight = st[i].link.in_flight;
        infos[i].status_seq = st[i].status_seq;
        infos[i].resent = st[i].link.resent_total;
        infos[i].refused = st[i].link.refused_total;
        infos[i].version = st[i].link.peer_version;
        infos[i].sent = st[i].link.sent_total;
        infos[i].batches = st[i].link.batches_total;
        infos[i].batched = st[i].link.batched_total;
        infos[i].held = st[i].link.held_total;
        ptrs[i] = &infos[i];
    }
    Gridrelay__Links links = GRIDRELAY__LINKS__INIT;
    links.ref_seq = gr_request_seq(req);
    links.node_id = (char *)self->cfg->node_id;
    links.links = ptrs;
    links.n_links = n;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_LINKS;
    body.links = &links;
    rc = gr_reply_pack(req->reply, &body);
out:
    free(st);
    free(infos);
    free(ptrs);
    return rc;
}
