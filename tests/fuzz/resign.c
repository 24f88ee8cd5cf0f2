#include "resign.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "envelope.h"
#include "signing.h"
#include "hop.h"

/* Replaces a bytes field of an unpacked message (which owns its data)
 * with a copy of n bytes. */
static bool s_set_bytes(ProtobufCBinaryData *field, const uint8_t *data, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        return false;
    memcpy(copy, data, n);
    free(field->data);
    field->data = copy;
    field->len = n;
    return true;
}

/* Signs the origin envelope again; its event id goes into id (may stay
 * ""). */
static bool s_origin(const gr_keypair_t *kp, ProtobufCBinaryData *origin, char *id, size_t id_len)
{
    Gridrelay__Envelope *env = gridrelay__envelope__unpack(NULL, origin->len, origin->data);
    if (!env)
        return false;
    Gridrelay__Body *body = gridrelay__body__unpack(NULL, env->body.len, env->body.data);
    if (body && body->kind_case == GRIDRELAY__BODY__KIND_REPORT && body->report &&
        body->report->event && body->report->event->id)
        snprintf(id, id_len, "%s", body->report->event->id);
    gridrelay__body__free_unpacked(body, NULL);
    size_t n = gr_signing_input_len(env->body.len);
    uint8_t *input = malloc(n);
    uint8_t sig[GR_SIGNATURE_BYTES];
    bool ok = input != NULL;
    if (ok) {
        gr_signing_input(input, env->version, kp->pk, env->seq, env->sent_ms,
                                  env->body.data, env->body.len);
        ok = crypto_sign_detached(sig, NULL, input, n, kp->sk) == 0 &&
             s_set_bytes(&env->signer, kp->pk, GR_PUBLIC_KEY_BYTES) &&
             s_set_bytes(&env->signature, sig, sizeof sig);
    }
    free(input);
    size_t len = ok ? gridrelay__envelope__get_packed_size(env) : 0;
    uint8_t *packed = ok ? malloc(len ? len : 1) : NULL;
    if (packed) {
        gridrelay__envelope__pack(env, packed);
        free(origin->data);
        origin->data = packed;
        origin->len = len;
    }
    gridrelay__envelope__free_unpacked(env, NULL);
    return packed != NULL;
}

/* Signs hop again with kp for event id. */
static bool s_hop(Gridrelay__Hop *hop, const char *id, const gr_keypair_t *kp)
{
    ProtobufCBinaryData signer = hop->signer, signature = hop->signature;
    uint8_t sig[GR_SIGNATURE_BYTES];
    if (gr_hop_sign(hop, id, kp, sig) != 0)
        return false;
    /* gr_hop_sign points the fields at kp and sig: own copies, so the
     * message can be freed as unpacked. */
    hop->signer = signer;
    hop->signature = signature;
    return s_set_bytes(&hop->signer, kp->pk, GR_PUBLIC_KEY_BYTES) &&
           s_set_bytes(&hop->signature, sig, sizeof sig);
}

uint8_t *fx_resign_body(const gr_keypair_t keys[FX_KEYS], const uint8_t *body, size_t len,
                        size_t *out_len)
{
    Gridrelay__Body *b = gridrelay__body__unpack(NULL, len, body);
    if (!b)
        return NULL;
    ProtobufCBinaryData *origin = NULL;
    Gridrelay__Escalate *esc = NULL;
    if (b->kind_case == GRIDRELAY__BODY__KIND_ESCALATE && b->escalate) {
        esc = b->escalate;
        origin = &esc->origin_envelope;
    } else if (b->kind_case == GRIDRELAY__BODY__KIND_ASSIGN && b->assign) {
        origin = &b->assign->origin_envelope;
    }
    char id[128] = "";
    bool ok = origin && origin->len && s_origin(&keys[FX_VREPORTER], origin, id, sizeof id);
    if (ok && esc && !*id && esc->n_hops && esc->hops[0]->resolved &&
        esc->hops[0]->resolved->event_id)
        snprintf(id, sizeof id, "%s", esc->hops[0]->resolved->event_id);
    for (size_t i = 0; ok && esc && i < esc->n_hops; i++)
        ok = s_hop(esc->hops[i], id, &keys[i + 1 == esc->n_hops ? FX_CHILD : FX_CHILD2]);
    uint8_t *out = NULL;
    if (ok) {
        *out_len = gridrelay__body__get_packed_size(b);
        if ((out = malloc(*out_len ? *out_len : 1)))
            gridrelay__body__pack(b, out);
    }
    gridrelay__body__free_unpacked(b, NULL);
    return out;
}
