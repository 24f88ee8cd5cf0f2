#include "client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "curve.h"
#include "receipt.h"
#include "error.h"

struct gr_client {
    void *ctx;
    int own_ctx;
    void *socket;
    gr_keypair_t kp;
    uint8_t node_pk[GR_PUBLIC_KEY_BYTES];
    int check_node;
    uint64_t next_seq;
    uint32_t version;
    uint32_t verify_every;
    gr_receipt_cache_t cache;
    gr_client_checks_t checks;
};

uint64_t gr_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

gr_client_t *gr_client_new(void *zmq_ctx, const char *endpoint, const gr_keypair_t *kp,
                           const uint8_t *node_pk)
{
    if (!endpoint || !kp)
        return NULL;
    gr_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ctx = zmq_ctx;
    if (!self->ctx) {
        self->ctx = zmq_ctx_new();
        self->own_ctx = 1;
        if (!self->ctx)
            goto fail;
    }
    self->socket = zmq_socket(self->ctx, ZMQ_DEALER);
    if (!self->socket)
        goto fail;
    int linger = 0;  /* a request never answered is retried by the caller */
    int reconnect_max = 1000;
    zmq_setsockopt(self->socket, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(self->socket, ZMQ_RECONNECT_IVL_MAX, &reconnect_max, sizeof reconnect_max);
    /* Nodes only speak CURVE: knowing the node's key is what lets the
     * client both encrypt and be sure it talks to that node. */
    if (node_pk && gr_curve_client(self->socket, kp, node_pk) != 0)
        goto fail;
    if (zmq_connect(self->socket, endpoint) != 0)
        goto fail;
    self->kp = *kp;
    if (node_pk) {
        memcpy(self->node_pk, node_pk, GR_PUBLIC_KEY_BYTES);
        self->check_node = 1;
    }
    self->next_seq = s_now_us();
    self->version = GR_PROTOCOL_VERSION_MAX;
    self->verify_every = 1;
    return self;
fail:
    gr_client_destroy(&self);
    return NULL;
}

void gr_client_destroy(gr_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gr_client_t *self = *self_p;
    if (self->socket)
        zmq_close(self->socket);
    if (self->own_ctx && self->ctx)
        zmq_ctx_term(self->ctx);
    memset(&self->kp, 0, sizeof self->kp);
    free(self);
    *self_p = NULL;
}

uint64_t gr_client_next_seq(const gr_client_t *self)
{
    return self->next_seq;
}

void gr_client_set_seq(gr_client_t *self, uint64_t next)
{
    self->next_seq = next;
}

int gr_client_set_version(gr_client_t *self, uint32_t version)
{
    if (!self || version < GR_PROTOCOL_VERSION || version > GR_PROTOCOL_VERSION_MAX)
        return GR_EINVAL;
    self->version = version;
    return 0;
}

void gr_client_set_verify_every(gr_client_t *self, uint32_t every)
{
    self->verify_every = every ? every : 1;
}

void gr_client_checks(const gr_client_t *self, gr_client_checks_t *out)
{
    *out = self->checks;
}

void *gr_client_socket(gr_client_t *self)
{
    return self->socket;
}

int gr_client_send_raw(gr_client_t *self, const uint8_t *frame, size_t len)
{
    if (!self || (!frame && len))
        return GR_EINVAL;
    return zmq_send(self->socket, frame, len, 0) < 0 ? GR_EIO : 0;
}

/* Seals request with the next seq. */
static int s_seal_next(gr_client_t *self, const Gridrelay__Body *request, uint8_t **frame,
                       size_t *len, uint64_t *seq)
{
    *seq = self->next_seq++;
    size_t body_len = 0;
    uint8_t *body = gr_body_pack(request, &body_len);
    if (!body)
        return GR_ENOMEM;
    int rc = gr_envelope_seal_version(frame, len, &self->kp, self->version, *seq, gr_now_ms(),
                                      body, body_len);
    free(body);
    return rc;
}

int gr_client_seal(gr_client_t *self, const Gridrelay__Body *request, uint64_t *seq_out,
                   uint8_t **frame_out, size_t *frame_len_out)
{
    if (!self || !request || !seq_out || !frame_out || !frame_len_out)
        return GR_EINVAL;
    return s_seal_next(self, request, frame_out, frame_len_out, seq_out);
}

int gr_client_send(gr_client_t *self, const Gridrelay__Body *request, uint64_t *seq_out,
                   uint8_t **frame_out, size_t *frame_len_out)
{
    if (!self || !request)
        return GR_EINVAL;
    uint8_t *frame = NULL;
    size_t len = 0;
    uint64_t seq;
    int rc = s_seal_next(self, request, &frame, &len, &seq);
    if (rc != 0)
        return rc;
    rc = gr_client_send_raw(self, frame, len);
    if (rc == 0 && seq_out)
        *seq_out = seq;
    if (rc == 0 && frame_out) {
        *frame_out = frame;
        if (frame_len_out)
            *frame_len_out = len;
    } else {
        free(frame);
    }
    return rc;
}

int gr_client_recv(gr_client_t *self, gr_opened_t *reply, int timeout_ms)
{
    if (!self || !reply)
        return GR_EINVAL;
    zmq_pollitem_t item = { self->socket, 0, ZMQ_POLLIN, 0 };
    int n = zmq_poll(&item, 1, timeout_ms);
    if (n < 0)
        return GR_EIO;
    if (n == 0)
        return GR_ETIMEOUT;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, self->socket, 0) < 0) {
        zmq_msg_close(&msg);
        return GR_EIO;
    }
    /* A node never sends multipart replies to a DEALER; drain any extra
     * frames so the next receive starts at a message boundary. */
    while (zmq_msg_more(&msg)) {
        zmq_msg_t extra;
        zmq_msg_init(&extra);
        zmq_msg_recv(&extra, self->socket, 0);
        int more = zmq_msg_more(&extra);
        zmq_msg_close(&extra);
        if (!more)
            break;
    }
    bool check = self->checks.replies % self->verify_every == 0;
    uint64_t cached = self->cache.hits;
    int rc = gr_envelope_open_reply(reply, zmq_msg_data(&msg), zmq_msg_size(&msg),
                                    self->check_node ? self->node_pk : NULL, 16u << 20,
                                    &self->cache, check);
    zmq_msg_close(&msg);
    if (rc == 0) {
        self->checks.replies++;
        self->checks.cached += self->cache.hits - cached;
        self->checks.signatures += check && self->cache.hits == cached;
    }
    return rc;
}

uint64_t gr_body_ref_seq(const Gridrelay__Body *body)
{
    /* Every reply kind names the request it answers in a uint64 field
     * called ref_seq: found through the descriptors, so a reply kind added
     * to the schema is matched without a list here to forget. */
    if (!body || body->kind_case == GRIDRELAY__BODY__KIND__NOT_SET)
        return 0;
    const ProtobufCFieldDescriptor *kind =
        protobuf_c_message_descriptor_get_field(&gridrelay__body__descriptor, body->kind_case);
    if (!kind || kind->type != PROTOBUF_C_TYPE_MESSAGE)
        return 0;
    const ProtobufCMessage *reply = *(ProtobufCMessage *const *)((const char *)body + kind->offset);
    if (!reply)
        return 0;
    const ProtobufCFieldDescriptor *ref =
        protobuf_c_message_descriptor_get_field_by_name(reply->descriptor, "ref_seq");
    if (!ref || ref->type != PROTOBUF_C_TYPE_UINT64 || ref->label == PROTOBUF_C_LABEL_REPEATED)
        return 0;
    return *(const uint64_t *)((const char *)reply + ref->offset);
}

static uint64_t s_deadline_left(uint64_t deadline_ms)
{
    uint64_t now = gr_now_ms();
    return now >= deadline_ms ? 0 : deadline_ms - now;
}

/* Sends within timeout_ms: a DEALER with no usable connection (the node
 * down, or its ZAP handler refusing our key) would otherwise block a
 * synchronous caller for ever. GR_ETIMEOUT when it could not be sent. */
static int s_send_within(gr_client_t *self, const uint8_t *frame, size_t len, int timeout_ms)
{
    zmq_pollitem_t item = { self->socket, 0, ZMQ_POLLOUT, 0 };
    int n = zmq_poll(&item, 1, timeout_ms);
    if (n < 0)
        return GR_EIO;
    if (n == 0)
        return GR_ETIMEOUT;
    if (zmq_send(self->socket, frame, len, ZMQ_DONTWAIT) < 0)
        return zmq_errno() == EAGAIN ? GR_ETIMEOUT : GR_EIO;
    return 0;
}

/* A receipt must name the request it answers: a node's signed statement
 * about another request, even with our seq, is not our answer. */
static bool s_answers(const gr_opened_t *got, const uint8_t digest[GR_RECEIPT_HASH_BYTES])
{
    const Gridrelay__ReceiptProof *rp = got->envelope->receipt;
    if (got->envelope->version != GR_RECEIPT_VERSION || !rp)
        return true;
    return rp->request.len == GR_RECEIPT_HASH_BYTES &&
           memcmp(rp->request.data, digest, GR_RECEIPT_HASH_BYTES) == 0;
}

int gr_client_call(gr_client_t *self, const Gridrelay__Body *request, gr_opened_t *reply,
                   int timeout_ms, int attempts)
{
    if (!reply || timeout_ms <= 0 || attempts <= 0)
        return GR_EINVAL;
    uint8_t *frame = NULL;
    size_t len = 0;
    uint64_t seq = 0;
    int rc = gr_client_seal(self, request, &seq, &frame, &len);
    if (rc == 0)
        rc = gr_client_call_raw(self, frame, len, seq, reply, timeout_ms, attempts);
    free(frame);
    return rc;
}

int gr_client_call_raw(gr_client_t *self, const uint8_t *frame, size_t len, uint64_t seq,
                       gr_opened_t *reply, int timeout_ms, int attempts)
{
    if (!self || !frame || !reply || timeout_ms <= 0 || attempts <= 0)
        return GR_EINVAL;
    uint8_t digest[GR_RECEIPT_HASH_BYTES];
    int rc = gr_receipt_request_digest_frame(digest, frame, len);
    if (rc != 0)
        return rc;
    rc = GR_ETIMEOUT;
    for (int attempt = 0; attempt < attempts && rc == GR_ETIMEOUT; attempt++) {
        uint64_t deadline = gr_now_ms() + (uint64_t)timeout_ms;
        rc = s_send_within(self, frame, len, timeout_ms);
        if (rc == GR_EIO)
            break;
        if (rc == GR_ETIMEOUT)
            continue;  /* not even sent: the whole attempt went by */
        rc = GR_ETIMEOUT;
        for (;;) {
            uint64_t left = s_deadline_left(deadline);
            if (left == 0)
                break;
            gr_opened_t got;
            int r = gr_client_recv(self, &got, (int)left);
            if (r == GR_ETIMEOUT)
                break;
            if (r != 0)
                continue;  /* a forged or damaged reply: ignore it, keep waiting */
            /* ref_seq 0 is an Error for a frame the node could not even
             * decode (too large, malformed): for a synchronous caller it
             * can only be the answer to this request. */
            uint64_t ref = gr_body_ref_seq(got.body);
            if ((ref == seq || (ref == 0 && got.body->kind_case == GRIDRELAY__BODY__KIND_ERROR)) &&
                s_answers(&got, digest)) {
                *reply = got;
                rc = 0;
                break;
            }
            gr_opened_clear(&got);  /* a late answer to an earlier request */
        }
    }
    return rc;
}
