#include "envelope.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "signing.h"
#include "text.h"
#include "wire.h"

/* Builds the signing input in a stack buffer when small (the common case:
 * reports are a few hundred bytes) to keep malloc off the hot path. */
#define SMALL_INPUT 2048

int gr_envelope_seal_bytes(uint8_t **out, size_t *out_len, const gr_keypair_t *kp,
                           uint64_t seq, uint64_t sent_ms, const uint8_t *body_bytes,
                           size_t body_len)
{
    return gr_envelope_seal_version(out, out_len, kp, GR_PROTOCOL_VERSION, seq, sent_ms,
                                    body_bytes, body_len);
}

int gr_envelope_seal_version(uint8_t **out, size_t *out_len, const gr_keypair_t *kp,
                             uint32_t version, uint64_t seq, uint64_t sent_ms,
                             const uint8_t *body_bytes, size_t body_len)
{
    if (!out || !out_len || !kp || (body_len && !body_bytes) || body_len > UINT32_MAX ||
        version < GR_PROTOCOL_VERSION || version > GR_PROTOCOL_VERSION_MAX)
        return GR_EINVAL;
    *out = NULL;
    *out_len = 0;

    size_t in_len = gr_signing_input_len(body_len);
    uint8_t small[SMALL_INPUT];
    uint8_t *input = in_len <= sizeof small ? small : malloc(in_len);
    if (!input)
        return GR_ENOMEM;
    gr_signing_input(input, version, kp->pk, seq, sent_ms, body_bytes, body_len);
    uint8_t sig[GR_SIGNATURE_BYTES];
    int rc = crypto_sign_detached(sig, NULL, input, in_len, kp->sk);
    if (input != small)
        free(input);
    if (rc != 0)
        return GR_EINVAL;

    Gridrelay__Envelope env = GRIDRELAY__ENVELOPE__INIT;
    env.version = version;
    env.signer.data = (uint8_t *)kp->pk;
    env.signer.len = GR_PUBLIC_KEY_BYTES;
    env.seq = seq;
    env.sent_ms = sent_ms;
    env.body.data = (uint8_t *)body_bytes;
    env.body.len = body_len;
    env.signature.data = sig;
    env.signature.len = sizeof sig;

    *out = gr_wire_pack(&env.base, out_len);
    return *out ? 0 : GR_ENOMEM;
}

int gr_envelope_seal(uint8_t **out, size_t *out_len, const gr_keypair_t *kp, uint64_t seq,
                     uint64_t sent_ms, const Gridrelay__Body *body)
{
    return gr_envelope_seal_body_version(out, out_len, kp, GR_PROTOCOL_VERSION, seq, sent_ms,
                                         body);
}

int gr_envelope_seal_body_version(uint8_t **out, size_t *out_len, const gr_keypair_t *kp,
                                  uint32_t version, uint64_t seq, uint64_t sent_ms,
                                  const Gridrelay__Body *body)
{
    if (!body)
        return GR_EINVAL;
    size_t body_len = gridrelay__body__get_packed_size(body);
    uint8_t small[SMALL_INPUT];
    uint8_t *bytes = body_len <= sizeof small ? small : malloc(body_len);
    if (!bytes)
        return GR_ENOMEM;
    gridrelay__body__pack(body, bytes);
    int rc = gr_envelope_seal_version(out, out_len, kp, version, seq, sent_ms, bytes, body_len);
    if (bytes != small)
        free(bytes);
    return rc;
}

static int s_verify(const Gridrelay__Envelope *env)
{
    size_t in_len = gr_signing_input_len(env->body.len);
    uint8_t small[SMALL_INPUT];
    uint8_t *input = in_len <= sizeof small ? small : malloc(in_len);
    if (!input)
        return GR_ENOMEM;
    gr_signing_input(input, env->version, env->signer.data, env->seq, env->sent_ms,
                              env->body.data, env->body.len);
    int ok = crypto_sign_verify_detached(env->signature.data, input, in_len,
                                         env->signer.data) == 0;
    if (input != small)
        free(input);
    return ok ? 0 : GR_ESIGNATURE;
}

/* What an open function checks an envelope against. */
typedef struct {
    const gr_trust_t *trust;          /* the signer must be in it; NULL: not asked */
    const uint8_t *expected_signer;   /* the signer must be this key; NULL: any */
    size_t max_frame;                 /* 0: GR_DEFAULT_MAX_FRAME */
    bool check_signature;             /* verify the signature (or the receipt's) */
    bool receipt_ok;                  /* a version-2 reply may carry a receipt */
    gr_receipt_cache_t *cache;        /* receipts' verified roots, or NULL */
    bool unsigned_ok;                 /* an unsigned envelope is accepted (an item of a
                                         link batch, whose head is signed) */
} s_how_t;

/* The checks shared by the open functions, in the documented order. */
static int s_open(gr_opened_t *out, uint64_t *ref_seq_out, const uint8_t *frame, size_t len,
                  const s_how_t *how)
{
    const gr_trust_t *trust = how->trust;
    const uint8_t *expected_signer = how->expected_signer;
    size_t max_frame = how->max_frame;
    bool check_signature = how->check_signature, receipt_ok = how->receipt_ok;
    gr_receipt_cache_t *cache = how->cache;
    bool unsigned_ok = how->unsigned_ok;
    if (ref_seq_out)
        *ref_seq_out = 0;
    if (!out || (!frame && len))
        return GR_EINVAL;
    memset(out, 0, sizeof *out);
    if (max_frame == 0)
        max_frame = GR_DEFAULT_MAX_FRAME;
    if (len > max_frame)
        return GR_ETOOBIG;

    Gridrelay__Envelope *env = gridrelay__envelope__unpack(NULL, len, frame);
    if (!env)
        return GR_EDECODE;
    if (ref_seq_out)
        *ref_seq_out = env->seq;
    int rc = 0;
    /* A receipt stands in for the signature of a version-2 reply only; a
     * request (and anything a node relays) carries its own. */
    bool receipt = env->receipt && receipt_ok && env->version == GR_RECEIPT_VERSION;
    if (env->version < GR_PROTOCOL_VERSION || env->version > GR_PROTOCOL_VERSION_MAX)
        rc = GR_EVERSION;
    else if (env->signer.len != GR_PUBLIC_KEY_BYTES ||
             (!receipt && (env->receipt || (env->signature.len != GR_SIGNATURE_BYTES &&
                                            !(unsigned_ok && env->signature.len == 0)))))
        rc = GR_EDECODE;
    else if (trust && !(out->signer = gr_trust_find(trust, env->signer.data)))
        rc = GR_EUNTRUSTED;
    else if (expected_signer &&
             memcmp(expected_signer, env->signer.data, GR_PUBLIC_KEY_BYTES) != 0)
        rc = GR_EUNTRUSTED;
    else if (receipt)
        rc = gr_receipt_verify(env, cache, check_signature);
    else if (check_signature)
        rc = s_verify(env);
    /* Before unpacking: protobuf-c would keep invalid UTF-8 and cut a
     * string at an embedded NUL without a word. */
    if (rc == 0)
        rc = gr_text_check(&gridrelay__body__descriptor, env->body.data, env->body.len, NULL, 0);
    if (rc == 0) {
        out->body = gridrelay__body__unpack(NULL, env->body.len, env->body.data);
        if (!out->body)
            rc = GR_EDECODE;
    }
    if (rc != 0) {
        gridrelay__envelope__free_unpacked(env, NULL);
        out->signer = NULL;
        return rc;
    }
    out->envelope = env;
    return 0;
}

void gr_opened_hash(gr_opened_t *opened, const uint8_t *frame, size_t len)
{
    crypto_hash_sha256(opened->hash, frame, len);
}

int gr_envelope_open(gr_opened_t *out, uint64_t *ref_seq_out, const uint8_t *frame, size_t len,
                     const gr_trust_t *trust, size_t max_frame)
{
    if (!trust) {
        if (ref_seq_out)
            *ref_seq_out = 0;
        if (out)
            memset(out, 0, sizeof *out);
        return GR_EINVAL;
    }
    return s_open(out, ref_seq_out, frame, len,
                  &(s_how_t){ .trust = trust, .max_frame = max_frame, .check_signature = true });
}

int gr_envelope_open_from(gr_opened_t *out, const uint8_t *frame, size_t len,
                          const uint8_t *node_pk, size_t max_frame)
{
    return s_open(out, NULL, frame, len,
                  &(s_how_t){ .expected_signer = node_pk, .max_frame = max_frame,
                              .check_signature = true });
}

int gr_envelope_open_reply(gr_opened_t *out, const uint8_t *frame, size_t len,
                           const uint8_t *node_pk, size_t max_frame, gr_receipt_cache_t *cache,
                           bool check_signature)
{
    return s_open(out, NULL, frame, len,
                  &(s_how_t){ .expected_signer = node_pk, .max_frame = max_frame,
                              .check_signature = check_signature, .receipt_ok = true,
                              .cache = cache });
}

int gr_envelope_open_vouched(gr_opened_t *out, const uint8_t *frame, size_t len,
                             size_t max_frame)
{
    return s_open(out, NULL, frame, len, &(s_how_t){ .max_frame = max_frame });
}

int gr_envelope_reopen(gr_opened_t *out, const uint8_t *frame, size_t len, const uint8_t *signer,
                       size_t max_frame)
{
    if (!signer) {
        if (out)
            memset(out, 0, sizeof *out);
        return GR_EINVAL;
    }
    return s_open(out, NULL, frame, len,
                  &(s_how_t){ .expected_signer = signer, .max_frame = max_frame,
                              .unsigned_ok = true });
}

void gr_opened_clear(gr_opened_t *opened)
{
    if (!opened)
        return;
    if (opened->body)
        gridrelay__body__free_unpacked(opened->body, NULL);
    if (opened->envelope)
        gridrelay__envelope__free_unpacked(opened->envelope, NULL);
    memset(opened, 0, sizeof *opened);
}

uint8_t *gr_body_pack(const Gridrelay__Body *body, size_t *len)
{
    return gr_wire_pack(&body->base, len);
}

void *gr_message_dup(const ProtobufCMessage *msg)
{
    size_t len = 0;
    uint8_t *buf = gr_wire_pack(msg, &len);
    if (!buf)
        return NULL;
    ProtobufCMessage *copy = protobuf_c_message_unpack(msg->descriptor, NULL, len, buf);
    free(buf);
    return copy;
}
