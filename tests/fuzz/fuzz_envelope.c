/* Fuzz target: opening a frame (broker/envelope.c), whose checks run in
 * order: size, envelope decode, version, trusted signer, signature, the
 * body's text, body decode. The first byte picks the way in:
 *   0  the frame as it came, against the node's trust list
 *   1  the frame as a reply from any signer (gr_envelope_open_from)
 *   2  the frame decoded, signed again by a trusted key with its own
 *      version, seq, time and body, then opened: so what follows the
 *      signature check (version, text, body decode) meets fuzzed bytes
 *   3  as 2, then the daemon's second decode (gr_envelope_reopen) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "envelope.h"
#include "signing.h"
#include "error.h"
#include "fixture.h"
#include "text.h"

static gr_keypair_t s_keys[FX_KEYS];
static gr_trust_t *s_trust;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (fx_keys(s_keys) != 0 || !(s_trust = gr_trust_new()) ||
        gr_trust_add(s_trust, s_keys[FX_REPORTER].pk, "officer-f", GR_ROLE_REPORTER) != 0 ||
        gr_trust_add(s_trust, s_keys[FX_CHILD].pk, FX_CHILD_ID, GR_ROLE_NODE) != 0 ||
        gr_trust_add(s_trust, s_keys[FX_DEPT].pk, "police", GR_ROLE_DEPARTMENT) != 0)
        abort();
    return 0;
}

/* The input's envelope signed again by the reporter; NULL when it does
 * not decode. */
static uint8_t *s_resign(const uint8_t *data, size_t size, size_t *len)
{
    Gridrelay__Envelope *env = gridrelay__envelope__unpack(NULL, size, data);
    if (!env)
        return NULL;
    const gr_keypair_t *kp = &s_keys[FX_REPORTER];
    size_t n = gr_signing_input_len(env->body.len);
    uint8_t *input = malloc(n);
    uint8_t sig[GR_SIGNATURE_BYTES];
    uint8_t *out = NULL;
    if (input) {
        gr_signing_input(input, env->version, kp->pk, env->seq, env->sent_ms,
                                  env->body.data, env->body.len);
        crypto_sign_detached(sig, NULL, input, n, kp->sk);
        free(input);
        Gridrelay__Envelope copy = *env;
        copy.signer = (ProtobufCBinaryData){GR_PUBLIC_KEY_BYTES, (uint8_t *)kp->pk};
        copy.signature = (ProtobufCBinaryData){GR_SIGNATURE_BYTES, sig};
        *len = gridrelay__envelope__get_packed_size(&copy);
        if ((out = malloc(*len ? *len : 1)))
            gridrelay__envelope__pack(&copy, out);
    }
    gridrelay__envelope__free_unpacked(env, NULL);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] % 4;
    data++;
    size--;
    gr_opened_t opened;
    uint64_t ref = 0;
    if (mode == 0) {
        if (gr_envelope_open(&opened, &ref, data, size, s_trust, 0) == 0)
            gr_opened_clear(&opened);
        return 0;
    }
    if (mode == 1) {
        if (gr_envelope_open_from(&opened, data, size, NULL, 0) == 0)
            gr_opened_clear(&opened);
        return 0;
    }
    size_t len = 0;
    uint8_t *frame = s_resign(data, size, &len);
    if (!frame)
        return 0;
    int rc = gr_envelope_open(&opened, &ref, frame, len, s_trust, 0);
    if (rc == 0) {
        gr_opened_clear(&opened);
        if (mode == 3 &&
            gr_envelope_reopen(&opened, frame, len, s_keys[FX_REPORTER].pk, 0) == 0)
            gr_opened_clear(&opened);
    } else if (rc == GR_EBADTEXT) {
        /* What the daemon does to say which field is bad. */
        Gridrelay__Envelope *env = gridrelay__envelope__unpack(NULL, len, frame);
        char where[160];
        if (env)
            gr_text_check(&gridrelay__body__descriptor, env->body.data, env->body.len, where,
                          sizeof where);
        gridrelay__envelope__free_unpacked(env, NULL);
    }
    free(frame);
    return 0;
}
