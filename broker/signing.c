#include "signing.h"

#include "wire.h"

static const uint8_t s_domain[4] = { 'G', 'R', 'v', '1' };

size_t gr_signing_input_len(size_t body_len)
{
    return sizeof s_domain + 4 + GR_PUBLIC_KEY_BYTES + 8 + 8 + 4 + body_len;
}

void gr_signing_input(uint8_t *buf, uint32_t version, const uint8_t signer[GR_PUBLIC_KEY_BYTES],
                      uint64_t seq, uint64_t sent_ms, const uint8_t *body, size_t body_len)
{
    uint8_t *p = gr_put_bytes(buf, s_domain, sizeof s_domain);
    p = gr_put_u32(p, version);
    p = gr_put_bytes(p, signer, GR_PUBLIC_KEY_BYTES);
    p = gr_put_u64(p, seq);
    p = gr_put_u64(p, sent_ms);
    p = gr_put_u32(p, (uint32_t)body_len);
    gr_put_bytes(p, body, body_len);
}
