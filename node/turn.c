#include "turn.h"

#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "error.h"
#include "linkbatch.h"
#include "log.h"
#include "receipt.h"
#include "requests.h"
#include "tierlink.h"
#include "text.h"
#include "wire.h"

/* Below this many items a batch is verified on the main thread alone:
 * waking the other threads costs more than a few signature checks. */
#define S_MIN_PARALLEL 4
/* What one turn reads off the request socket at most, in bytes. 1 MiB
 * (about 1,700 escalations) keeps a turn's transaction and its dirty
 * pages small under a burst from a thousand children: against 4 MiB, the
 * same drain time and 80 MiB less peak RSS at the district (gridbench
 * scale, three interleaved pairs); one commit per MiB is still far from
 * the commit rate's limit. */
#define S_TURN_BYTES (1u << 20)

/* An item of a link batch signed by a key that is not a child's (a node
 * the config names otherwise), kept until the turn's other items are
 * classified: it is judged as that key's own request, with its own reply. */
typedef struct {
    zmq_msg_t identity;
    bool delimiter;
    uint8_t *frame;
    size_t len;
    uint64_t seq;
    uint8_t signer[GR_PUBLIC_KEY_BYTES];
    const gr_trusted_key_t *trusted;
} s_loose_t;

struct gr_turn {
    gr_turn_deps_t deps;
    gr_turn_item_t *items;
    size_t count;
    size_t cap;
    s_loose_t *loose;
    size_t n_loose, cap_loose;
    bool checking;          /* gr_turn_read_ahead()'s checks are on the pool */
    bool filled;            /* the ROUTER's reads stopped at S_TURN_BYTES */
};

gr_turn_t *gr_turn_new(const gr_turn_deps_t *deps)
{
    gr_turn_t *self = calloc(1, sizeof *self);
    if (self)
        self->deps = *deps;
    return self;
}

void gr_turn_destroy(gr_turn_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gr_turn_t *self = *self_p;
    if (self->checking)
        gr_pool_wait(self->deps.pool);  /* its threads write into the items */
    for (size_t i = 0; i < self->count; i++)
        gr_turn_item_release(&self->items[i]);
    free(self->items);
    for (size_t k = 0; k < self->n_loose; k++) {
        zmq_msg_close(&self->loose[k].identity);
        free(self->loose[k].frame);
    }
    free(self->loose);
    free(self);
    *self_p = NULL;
}

bool gr_turn_filled(const gr_turn_t *self)
{
    return self->filled;
}

size_t gr_turn_count(const gr_turn_t *self)
{
    return self->count;
}

gr_turn_item_t *gr_turn_item(gr_turn_t *self, size_t i)
{
    return &self->items[i];
}

void gr_turn_item_move(gr_turn_item_t *to, gr_turn_item_t *from)
{
    *to = *from;
    if (from->from_router) {
        zmq_msg_init(&to->identity);
        zmq_msg_init(&to->payload);
        zmq_msg_move(&to->identity, &from->identity);
        zmq_msg_move(&to->payload, &from->payload);
        zmq_msg_close(&from->identity);
        zmq_msg_close(&from->payload);
    }
    memset(from, 0, sizeof *from);
}

void gr_turn_item_release(gr_turn_item_t *item)
{
    free(item->seal.frame);
    gr_reply_clear(&item->reply);
    gr_opened_clear(&item->opened);
    if (item->from_router) {
        zmq_msg_close(&item->identity);
        zmq_msg_close(&item->payload);
    } else {
        free(item->inbound.frame);
    }
    memset(item, 0, sizeof *item);
}

gr_turn_item_t *gr_turn_add(gr_turn_t *self)
{
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 64;
        gr_turn_item_t *items = realloc(self->items, cap * sizeof *items);
        if (!items)
            return NULL;
        self->items = items;
        self->cap = cap;
    }
    gr_turn_item_t *item = &self->items[self->count++];
    memset(item, 0, sizeof *item);
    return item;
}

const uint8_t *gr_turn_item_frame(gr_turn_item_t *item, size_t *len)
{
    if (item->from_router) {
        *len = zmq_msg_size(&item->payload);
        return zmq_msg_data(&item->payload);
    }
    *len = item->inbound.len;
    return item->inbound.frame;
}

static void s_loose_batch(gr_turn_t *self, gr_turn_item_t *item);

/* Receives one request without blocking. Returns 1 when one was read, 0
 * when none is waiting. Framing: [identity][payload], or from REQ peers
 * [identity][empty][payload]. */
static int s_receive(gr_turn_t *self)
{
    zmq_msg_t identity;
    zmq_msg_init(&identity);
    if (zmq_msg_recv(&identity, self->deps.router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&identity);
        return 0;
    }
    gr_turn_item_t *item = gr_turn_add(self);
    if (!item) {
        zmq_msg_close(&identity);
        return 0;
    }
    item->from_router = true;
    item->identity = identity;
    zmq_msg_init(&item->payload);
    if (!zmq_msg_more(&item->identity) || zmq_msg_recv(&item->payload, self->deps.router, 0) < 0) {
        item->rc = GR_EDECODE;
        return 1;
    }
    /* Whose connection this is; one of a key revoked since its handshake
     * is closed after this turn's replies. */
    gr_sessions_note(self->deps.sessions, zmq_msg_get(&item->payload, ZMQ_SRCFD),
                     zmq_msg_gets(&item->payload, "User-Id"), self->deps.cfg->trust);
    if (zmq_msg_size(&item->payload) == 0 && zmq_msg_more(&item->payload)) {
        item->delimiter = true;
        zmq_msg_close(&item->payload);
        zmq_msg_init(&item->payload);
        if (zmq_msg_recv(&item->payload, self->deps.router, 0) < 0) {
            item->rc = GR_EDECODE;
            return 1;
        }
    }
    if (zmq_msg_more(&item->payload)) {
        int more = 1;
        while (more) {
            zmq_msg_t extra;
            zmq_msg_init(&extra);
            more = zmq_msg_recv(&extra, self->deps.router, 0) >= 0 && zmq_msg_more(&extra);
            zmq_msg_close(&extra);
        }
        item->rc = GR_EDECODE;
        item->extra_frames = true;
    }
    return 1;
}

static void s_refuse(gr_turn_t *self, gr_turn_item_t *item, size_t len)
{
    char why[200];
    switch (item->rc) {
    case GR_ETOOBIG:
        snprintf(why, sizeof why, "frame of %zu bytes exceeds the maximum of %zu", len,
                 self->deps.cfg->max_frame);
        break;
    case GR_EDECODE:
    case GR_EBADTEXT: {
        /* Say what is wrong: the envelope itself, or the body it carries. */
        size_t flen = 0;
        const uint8_t *frame = gr_turn_item_frame(item, &flen);
        Gridrelay__Envelope *env = (item->from_router || item->inbound.batched) &&
                                           !item->extra_frames
                                       ? gridrelay__envelope__unpack(NULL, flen, frame)
                                       : NULL;
        char where[160] = "";
        if (env && item->rc == GR_EBADTEXT)
            gr_text_check(&gridrelay__body__descriptor, env->body.data, env->body.len, where,
                          sizeof where);
        if (item->extra_frames)
            snprintf(why, sizeof why, "a request is one frame (one protobuf Envelope), not several");
        else if (!env)
            snprintf(why, sizeof why, "not a gridrelay envelope (expected one protobuf Envelope frame)");
        else if (item->rc == GR_EBADTEXT)
            snprintf(why, sizeof why, "text field %s", where);
        else if (env->signer.len != 32 || env->signature.len != 64)
            snprintf(why, sizeof why, "the envelope's signer must be 32 bytes and its signature 64");
        else
            snprintf(why, sizeof why, "the envelope is signed, but its body is not a gridrelay Body");
        gridrelay__envelope__free_unpacked(env, NULL);
        break;
    }
    case GR_EVERSION:
        snprintf(why, sizeof why, "protocol version not supported (this node speaks %d to %d)",
                 GR_PROTOCOL_VERSION, GR_PROTOCOL_VERSION_MAX);
        break;
    default:
        snprintf(why, sizeof why, "%s", gr_strerror(item->rc));
    }
    gr_log(GR_LOG_WARN, NULL, "rejected request seq=%llu: %s", (unsigned long long)item->ref_seq, why);
    if (gr_reply_error(&item->reply, item->ref_seq, item->rc, why) != 0)
        gr_log(GR_LOG_ERROR, NULL, "out of memory building an error reply");
    gr_counters_refusal(self->deps.counters, item->rc);
}

/* The signature checks of one item: pure (the trust list and the config
 * are read-only), so the pool runs them on every core at once. */
static void s_open_item(void *ctx, size_t i)
{
    gr_turn_t *self = ctx;
    gr_turn_item_t *item = &self->items[i];
    size_t len = 0;
    const uint8_t *frame = gr_turn_item_frame(item, &len);
    if (!item->from_router) {
        item->source = item->inbound.source;
        if (item->inbound.status)
            return;  /* verified on receipt (node/peers.c); applied later */
        if (item->inbound.batched) {
            /* Its batch's head was checked on arrival (node/peers.c): the
             * path, the addressee and the rest, not Ed25519 again. A bad
             * item is refused on its own (s_classify). */
            item->ref_seq = item->inbound.seq;
            item->rc = gr_linkbatch_open_item(&item->opened, frame, len, item->inbound.signer,
                                              self->deps.cfg->keys.pk, self->deps.cfg->max_frame, NULL,
                                              false);
            if (item->rc == 0)
                gr_tierlink_preverify(self->deps.cfg, item->opened.body, &item->pre);
            return;
        }
        const uint8_t *pk = item->source.kind == GR_FROM_SKIP ? self->deps.cfg->skip.pk : self->deps.cfg->parent.pk;
        item->rc = gr_envelope_open_from(&item->opened, frame, len, pk, self->deps.cfg->max_frame);
        if (item->rc != 0)
            item->consumed = true;  /* the link verified it already: cannot happen */
        return;
    }
    if (item->rc == 0)
        item->rc = gr_envelope_open(&item->opened, &item->ref_seq, frame, len, self->deps.cfg->trust,
                                    self->deps.cfg->max_frame);
    /* At the top, an escalation's inner signatures too, here in parallel
     * rather than in its handler on the main thread. */
    if (item->rc == 0)
        gr_tierlink_preverify(self->deps.cfg, item->opened.body, &item->pre);
}

/* s_open_item() over the items from first on. */
typedef struct {
    gr_turn_t *self;
    size_t first;
} s_range_t;

static void s_open_in_range(void *ctx, size_t i)
{
    s_range_t *range = ctx;
    s_open_item(range->self, range->first + i);
}

/* After the checks, on the main thread: refusals, and frames from children
 * that the links consume (acks, heartbeats). */
static void s_classify(gr_turn_t *self, gr_turn_item_t *item, uint64_t now_ms)
{
    size_t len = 0;
    const uint8_t *frame = gr_turn_item_frame(item, &len);
    if (!item->from_router) {
        if (item->inbound.batched && item->rc != 0)
            s_refuse(self, item, len);
        return;
    }
    if (item->rc != 0) {
        s_refuse(self, item, len);
        return;
    }
    const gr_peer_config_t *child = gr_peers_child(self->deps.peers, item->opened.envelope->signer.data);
    if (child) {
        /* Signed by the child is not enough: the connection must be the
         * child's own (its CURVE key, as ZAP admitted it), or anyone could
         * replay its frames to steer its replies and mail elsewhere. */
        const char *user = zmq_msg_gets(&item->payload, "User-Id");
        uint8_t user_pk[GR_PUBLIC_KEY_BYTES];
        /* Either of its keys during a rotation: its outbox sealed with the
         * old one goes out over the connection of the new one. */
        if (!user || gr_key_from_hex(user_pk, user) != 0 || !gr_peer_has_key(child, user_pk)) {
            gr_log(GR_LOG_WARN, NULL, "frame signed by child %s came over another key's "
                   "connection: refused", child->id);
            item->rc = GR_EUNTRUSTED;
            gr_opened_clear(&item->opened);
            s_refuse(self, item, len);
            return;
        }
        gr_peers_child_route(self->deps.peers, child, zmq_msg_data(&item->identity),
                             zmq_msg_size(&item->identity));
        item->source.kind = GR_FROM_CHILD;
        item->source.peer = child->id;
        item->consumed = gr_peers_child_frame(self->deps.peers, child, &item->opened, frame, len, now_ms) == 1;
    } else if (item->opened.body->kind_case == GRIDRELAY__BODY__KIND_LINK_BATCH) {
        s_loose_batch(self, item);
    }
}

bool gr_turn_item_is_write(const gr_turn_item_t *item)
{
    return item->rc == 0 && !item->consumed && !item->inbound.status && item->opened.body &&
           gr_requests_is_write(&item->opened);
}

/* An Ack for a message of a tier link (from a child on the ROUTER, or
 * from the parent or skip ancestor over a link). */
static bool s_is_link_ack(const gr_turn_item_t *item)
{
    return item->rc == 0 && item->reply.body && item->reply.acked && item->opened.envelope &&
           ((item->from_router && item->source.kind == GR_FROM_CHILD) ||
            (!item->from_router && item->inbound.reply_link));
}

static bool s_same_peer(const gr_turn_item_t *a, const gr_turn_item_t *b)
{
    if (a->from_router != b->from_router)
        return false;
    if (!a->from_router)
        return a->inbound.reply_link == b->inbound.reply_link;
    size_t n = zmq_msg_size((zmq_msg_t *)&a->identity);
    return n == zmq_msg_size((zmq_msg_t *)&b->identity) &&
           memcmp(zmq_msg_data((zmq_msg_t *)&a->identity), zmq_msg_data((zmq_msg_t *)&b->identity),
                  n) == 0;
}

/* The Acks of one turn for one tier-link peer go as one AckBatch in the
 * first one's place: one signature (and one check at the other end) per
 * commit and peer instead of per message. */
static void s_batch_link_acks(gr_turn_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        gr_turn_item_t *first = &self->items[i];
        if (!s_is_link_ack(first))
            continue;
        size_t n = 1;
        for (size_t j = i + 1; j < self->count; j++)
            n += s_is_link_ack(&self->items[j]) && s_same_peer(first, &self->items[j]);
        if (n < 2)
            continue;
        uint64_t *seqs = malloc(n * sizeof *seqs);
        if (!seqs)
            continue;  /* out of memory: the Acks go one by one */
        size_t k = 0;
        seqs[k++] = first->opened.envelope->seq;
        for (size_t j = i + 1; j < self->count; j++)
            if (s_is_link_ack(&self->items[j]) && s_same_peer(first, &self->items[j]))
                seqs[k++] = self->items[j].opened.envelope->seq;
        Gridrelay__AckBatch batch = GRIDRELAY__ACK_BATCH__INIT;
        batch.ref_seqs = seqs;
        batch.n_ref_seqs = n;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_ACK_BATCH;
        body.ack_batch = &batch;
        gr_reply_t packed = {0};
        if (gr_reply_pack(&packed, &body) == 0) {
            for (size_t j = i + 1; j < self->count; j++)
                if (s_is_link_ack(&self->items[j]) && s_same_peer(first, &self->items[j]))
                    gr_reply_clear(&self->items[j].reply);
            gr_reply_clear(&first->reply);
            first->reply = packed;
        }
        free(seqs);
    }
}

void gr_turn_reply(gr_turn_t *self)
{
    s_batch_link_acks(self);
    gr_seal_job_t **jobs = calloc(self->count ? self->count : 1, sizeof *jobs);
    size_t n = 0;
    for (size_t i = 0; jobs && i < self->count; i++) {
        gr_turn_item_t *item = &self->items[i];
        if (item->reply.body) {
            item->seal.body = item->reply.body;
            item->seal.body_len = item->reply.len;
            /* A client that spoke version 2 takes a batched receipt: the
             * turn's replies to such clients share one signature. */
            const Gridrelay__Envelope *env = item->opened.envelope;
            item->seal.receipt = item->from_router && item->source.kind == GR_FROM_CLIENT &&
                                 env && env->version == GR_RECEIPT_VERSION && !env->receipt &&
                                 gr_receipt_request_digest(item->seal.request, env) == 0;
            /* A tier-link peer hears back in the version it spoke. */
            if (!item->seal.receipt && env && env->version == GR_LINK_VERSION &&
                (item->source.kind != GR_FROM_CLIENT || env->receipt))
                item->seal.version = GR_LINK_VERSION;
            jobs[n++] = &item->seal;
        }
    }
    /* Out of memory: no reply goes out; every peer resends. */
    if (jobs)
        gr_sealer_run(self->deps.sealer, jobs, n);
    free(jobs);
    for (size_t i = 0; i < self->count; i++) {
        gr_turn_item_t *item = &self->items[i];
        const uint8_t *frame = item->seal.frame;
        size_t len = item->seal.frame_len;
        if (frame && item->reply.error)
            gr_counters_error_reply(self->deps.counters, gr_reply_wire_code(item->reply.error));
        if (frame) {
            if (item->from_router) {
                /* A peer that went away gets nothing: it resends. */
                if (zmq_msg_send(&item->identity, self->deps.router, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) {
                    if (item->delimiter)
                        zmq_send(self->deps.router, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
                    zmq_send(self->deps.router, frame, len, ZMQ_DONTWAIT);
                }
            } else if (item->inbound.reply_link) {
                gr_link_send(item->inbound.reply_link, frame, len);
            }
        }
        gr_turn_item_release(item);
    }
    self->count = 0;
    self->filled = false;
}

static void s_collect_inbound(gr_turn_t *self)
{
    gr_inbound_t *inbound = NULL;
    size_t n = gr_peers_take_inbound(self->deps.peers, &inbound);
    for (size_t i = 0; i < n; i++) {
        gr_turn_item_t *item = gr_turn_add(self);
        if (!item) {
            free(inbound[i].frame);  /* the peer resends what is not acked */
            continue;
        }
        item->inbound = inbound[i];
    }
    free(inbound);
}

static void s_collect_router(gr_turn_t *self)
{
    /* At most batch_max requests, and at most S_TURN_BYTES of them: a
     * link batch frame holds up to 256 escalations, so a thousand children
     * bursting at once would otherwise bring hundreds of thousands of
     * items into one turn (and one transaction), all of them in memory.
     * Those read ahead count. */
    size_t router_count = 0, bytes = 0;
    for (size_t i = 0; i < self->count; i++)
        if (self->items[i].from_router) {
            router_count++;
            bytes += zmq_msg_size(&self->items[i].payload);
        }
    while (router_count < self->deps.cfg->batch_max && bytes < S_TURN_BYTES && s_receive(self)) {
        router_count++;
        bytes += zmq_msg_size(&self->items[self->count - 1].payload);
    }
    self->filled = bytes >= S_TURN_BYTES;
}

/* The items of link batches sent this turn (queued while their frames
 * were classified) join this turn, after them: the children's through
 * node/peers, the others' from s_loose. */
static void s_collect_batched(gr_turn_t *self, uint64_t now)
{
    size_t first = self->count;
    s_collect_inbound(self);
    s_range_t range = {self, first};
    gr_pool_run(self->deps.pool, self->count - first, S_MIN_PARALLEL, s_open_in_range, &range);
    for (size_t i = first; i < self->count; i++)
        s_classify(self, &self->items[i], now);
    for (size_t k = 0; k < self->n_loose; k++) {
        s_loose_t *l = &self->loose[k];
        gr_turn_item_t *item = gr_turn_add(self);
        if (!item) {
            zmq_msg_close(&l->identity);
            free(l->frame);
            continue;  /* out of memory: the sender resends */
        }
        item->from_router = true;
        zmq_msg_init(&item->identity);
        zmq_msg_move(&item->identity, &l->identity);
        zmq_msg_close(&l->identity);
        item->delimiter = l->delimiter;
        item->ref_seq = l->seq;
        if (zmq_msg_init_size(&item->payload, l->len) == 0) {
            memcpy(zmq_msg_data(&item->payload), l->frame, l->len);
            item->rc = gr_linkbatch_open_item(&item->opened, l->frame, l->len, l->signer,
                                              self->deps.cfg->keys.pk, self->deps.cfg->max_frame, NULL,
                                              false);
        } else {
            zmq_msg_init(&item->payload);
            item->rc = GR_ENOMEM;
        }
        item->opened.signer = item->rc == 0 ? l->trusted : NULL;
        free(l->frame);
        if (item->rc != 0)
            s_refuse(self, item, l->len);
    }
    self->n_loose = 0;
}

typedef struct {
    gr_turn_t *self;
    gr_turn_item_t *batch;
} s_loose_ctx_t;

static void s_loose_item(void *ctx, int rc, uint64_t seq, const gr_opened_t *opened,
                         const uint8_t *frame, size_t len)
{
    (void)rc;
    (void)opened;
    s_loose_ctx_t *x = ctx;
    gr_turn_t *self = x->self;
    if (self->n_loose == self->cap_loose) {
        size_t cap = self->cap_loose ? self->cap_loose * 2 : 16;
        s_loose_t *p = realloc(self->loose, cap * sizeof *p);
        if (!p)
            return;
        self->loose = p;
        self->cap_loose = cap;
    }
    s_loose_t *l = &self->loose[self->n_loose];
    if (!(l->frame = malloc(len ? len : 1)))
        return;
    memcpy(l->frame, frame, len);
    l->len = len;
    l->seq = seq;
    l->delimiter = x->batch->delimiter;
    memcpy(l->signer, x->batch->opened.envelope->signer.data, GR_PUBLIC_KEY_BYTES);
    l->trusted = x->batch->opened.signer;
    zmq_msg_init(&l->identity);
    if (zmq_msg_copy(&l->identity, &x->batch->identity) != 0) {
        zmq_msg_close(&l->identity);
        free(l->frame);
        return;
    }
    self->n_loose++;
}

/* A link batch on the request socket from a key that is not a child's:
 * every item is judged as that key's own request (a village whose key the
 * township has as a reporter gets ERR_FORBIDDEN for each escalation, as it
 * would one by one). A head that does not verify refuses the whole batch,
 * with no reply: no item can be told good from bad. */
static void s_loose_batch(gr_turn_t *self, gr_turn_item_t *item)
{
    item->consumed = true;
    s_loose_ctx_t x = {self, item};
    int n = gr_linkbatch_expand(item->opened.body->link_batch, item->opened.envelope->signer.data,
                                self->deps.cfg->keys.pk, self->deps.cfg->max_frame, false,
                                s_loose_item, &x);
    if (n < 0) {
        gr_counters_refusal(self->deps.counters, n == GR_ESIGNATURE ? GR_ESIGNATURE : GR_EDECODE);
        gr_log(GR_LOG_WARN, NULL, "link batch from %s refused: %s", item->opened.signer->name,
               n == GR_ESIGNATURE ? "its signed root does not match its items"
                                  : "not a well-formed batch");
    }
}

size_t gr_turn_read_ahead(gr_turn_t *self)
{
    if (self->checking || self->count > 0)
        return 0;
    s_collect_router(self);
    if (self->count == 0)
        return 0;
    gr_pool_start(self->deps.pool, self->count, S_MIN_PARALLEL, s_open_item, self);
    self->checking = true;
    return self->count;
}

void gr_turn_collect(gr_turn_t *self, uint64_t now_ms)
{
    /* Requests read ahead were checked meanwhile; the rest now. */
    size_t first = self->count;
    if (self->checking) {
        gr_pool_wait(self->deps.pool);
        self->checking = false;
    }
    s_collect_router(self);
    s_collect_inbound(self);
    s_range_t range = {self, first};
    gr_pool_run(self->deps.pool, self->count - first, S_MIN_PARALLEL, s_open_in_range, &range);
    for (size_t i = 0; i < self->count; i++)
        s_classify(self, &self->items[i], now_ms);
    s_collect_batched(self, now_ms);
    /* The requests that write name their envelope in the timeline. */
    for (size_t i = 0; i < self->count; i++) {
        gr_turn_item_t *item = &self->items[i];
        if (gr_turn_item_is_write(item)) {
            size_t len = 0;
            const uint8_t *frame = gr_turn_item_frame(item, &len);
            gr_opened_hash(&item->opened, frame, len);
        }
    }
}
