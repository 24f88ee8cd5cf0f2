#include "hop.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "wire.h"

#define S_DIGEST GR_HOP_DIGEST_BYTES

static uint8_t *s_put_str(uint8_t *p, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    p = gr_put_u32(p, (uint32_t)n);
    if (n)
        memcpy(p, s, n);
    return p + n;
}

static size_t s_str_len(const char *s)
{
    return 4 + (s ? strlen(s) : 0);
}

/* "GRhop1" | event_id | node_id | reason (each u32 BE length + bytes)
 *          | tier_level u32 BE | time_ms u64 BE | supervise u8
 * and, only when the hop carries resolved values (a first hop):
 *          | 'R' | resolved.event_id | resolved.severity u32 BE
 *          | resolved.origin_node | resolved.created_ms u64 BE
 * so a hop without them signs exactly the bytes it always did. */
/* A version-2 hop starts "GRhop2" | BLAKE2b-256(origin envelope) 32 B
 * instead, then the same fields. digest is NULL for version 1. */
static uint8_t *s_input(const Gridrelay__Hop *hop, const char *event_id, const uint8_t *digest,
                        size_t *len)
{
    const Gridrelay__Resolved *r = hop->resolved;
    size_t n = 6 + (digest ? S_DIGEST : 0) + s_str_len(event_id) + s_str_len(hop->node_id) + s_str_len(hop->reason) + 4 +
               8 + 1;
    if (r)
        n += 1 + s_str_len(r->event_id) + 4 + s_str_len(r->origin_node) + 8;
    uint8_t *buf = malloc(n);
    if (!buf)
        return NULL;
    uint8_t *p = buf;
    memcpy(p, digest ? "GRhop2" : "GRhop1", 6);
    p += 6;
    if (digest) {
        memcpy(p, digest, S_DIGEST);
        p += S_DIGEST;
    }
    p = s_put_str(p, event_id);
    p = s_put_str(p, hop->node_id);
    p = s_put_str(p, hop->reason);
    p = gr_put_u32(p, hop->tier_level);
    p = gr_put_u64(p, hop->time_ms);
    *p++ = hop->supervise ? 1 : 0;
    if (r) {
        *p++ = 'R';
        p = s_put_str(p, r->event_id);
        p = gr_put_u32(p, (uint32_t)r->severity);
        p = s_put_str(p, r->origin_node);
        p = gr_put_u64(p, r->created_ms);
    }
    *len = (size_t)(p - buf);
    return buf;
}

static int s_sign(Gridrelay__Hop *hop, const char *event_id, const uint8_t *digest,
                  const gr_keypair_t *kp, uint8_t sig_buf[GR_SIGNATURE_BYTES])
{
    if (!hop || !event_id || !kp || !sig_buf)
        return GR_EINVAL;
    size_t len = 0;
    uint8_t *input = s_input(hop, event_id, digest, &len);
    if (!input)
        return GR_ENOMEM;
    int rc = crypto_sign_detached(sig_buf, NULL, input, len, kp->sk);
    free(input);
    if (rc != 0)
        return GR_EINVAL;
    hop->signer.data = (uint8_t *)kp->pk;
    hop->signer.len = GR_PUBLIC_KEY_BYTES;
    hop->signature.data = sig_buf;
    hop->signature.len = GR_SIGNATURE_BYTES;
    return 0;
}

static int s_digest(uint8_t out[S_DIGEST], const uint8_t *origin, size_t origin_len)
{
    return crypto_generichash(out, S_DIGEST, origin, origin_len, NULL, 0) == 0 ? 0 : GR_EINVAL;
}

int gr_hop_sign(Gridrelay__Hop *hop, const char *event_id, const gr_keypair_t *kp,
                uint8_t sig_buf[GR_SIGNATURE_BYTES])
{
    if (hop)
        hop->version = 0;
    return s_sign(hop, event_id, NULL, kp, sig_buf);
}

int gr_hop_sign_bound(Gridrelay__Hop *hop, const char *event_id, const uint8_t *origin,
                      size_t origin_len, const gr_keypair_t *kp,
                      uint8_t sig_buf[GR_SIGNATURE_BYTES])
{
    uint8_t digest[S_DIGEST];
    if (!hop || (!origin && origin_len) || s_digest(digest, origin, origin_len) != 0)
        return GR_EINVAL;
    hop->version = GR_HOP_VERSION_BOUND;
    return s_sign(hop, event_id, digest, kp, sig_buf);
}

int gr_hop_origin_digest(uint8_t out[GR_HOP_DIGEST_BYTES], const uint8_t *origin, size_t origin_len)
{
    if (!out || (!origin && origin_len))
        return GR_EINVAL;
    return s_digest(out, origin, origin_len);
}

int gr_hop_verify_digest(const Gridrelay__Hop *hop, const char *event_id,
                         const uint8_t *digest)
{
    if (!hop || !event_id || hop->signer.len != GR_PUBLIC_KEY_BYTES ||
        hop->signature.len != GR_SIGNATURE_BYTES || hop->version > GR_HOP_VERSION_BOUND)
        return GR_EDECODE;
    bool bound = hop->version == GR_HOP_VERSION_BOUND;
    if (bound && !digest)
        return GR_EDECODE;
    size_t len = 0;
    uint8_t *input = s_input(hop, event_id, bound ? digest : NULL, &len);
    if (!input)
        return GR_ENOMEM;
    int ok = crypto_sign_verify_detached(hop->signature.data, input, len, hop->signer.data) == 0;
    free(input);
    return ok ? 0 : GR_ESIGNATURE;
}

int gr_hop_verify_bound(const Gridrelay__Hop *hop, const char *event_id, const uint8_t *origin,
                        size_t origin_len)
{
    uint8_t digest[S_DIGEST];
    bool bound = hop && hop->version == GR_HOP_VERSION_BOUND;
    if (bound && (!origin || s_digest(digest, origin, origin_len) != 0))
        return GR_EDECODE;
    return gr_hop_verify_digest(hop, event_id, bound ? digest : NULL);
}

int gr_hop_verify(const Gridrelay__Hop *hop, const char *event_id)
{
    return gr_hop_verify_bound(hop, event_id, NULL, 0);
}
