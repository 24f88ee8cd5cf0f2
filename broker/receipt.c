#include "receipt.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "signing.h"
#include "wire.h"

static const uint8_t s_leaf_domain[4] = { 'G', 'R', 'l', '2' };
static const uint8_t s_head_domain[4] = { 'G', 'R', 'h', '2' };

/* Inputs up to this size are built on the stack: replies are a few hundred
 * bytes, and this runs once per reply on the node's hot path. */
#define S_SMALL 2048

static int s_hash(uint8_t out[GR_RECEIPT_HASH_BYTES], const uint8_t *in, size_t len)
{
    return crypto_generichash(out, GR_RECEIPT_HASH_BYTES, in, len, NULL, 0) == 0 ? 0 : GR_EINVAL;
}

static void s_node(uint8_t out[GR_RECEIPT_HASH_BYTES], const uint8_t *left, const uint8_t *right)
{
    uint8_t in[1 + 2 * GR_RECEIPT_HASH_BYTES];
    in[0] = 0x01;
    memcpy(in + 1, left, GR_RECEIPT_HASH_BYTES);
    memcpy(in + 1 + GR_RECEIPT_HASH_BYTES, right, GR_RECEIPT_HASH_BYTES);
    s_hash(out, in, sizeof in);
}

int gr_receipt_request_digest(uint8_t out[GR_RECEIPT_HASH_BYTES], const Gridrelay__Envelope *env)
{
    if (!out || !env || env->signer.len != GR_PUBLIC_KEY_BYTES || env->body.len > UINT32_MAX)
        return GR_EINVAL;
    size_t len = gr_signing_input_len(env->body.len);
    uint8_t small[S_SMALL];
    uint8_t *in = len <= sizeof small ? small : malloc(len);
    if (!in)
        return GR_ENOMEM;
    gr_signing_input(in, env->version, env->signer.data, env->seq, env->sent_ms,
                              env->body.data, env->body.len);
    int rc = s_hash(out, in, len);
    if (in != small)
        free(in);
    return rc;
}

int gr_receipt_request_digest_frame(uint8_t out[GR_RECEIPT_HASH_BYTES], const uint8_t *frame,
                                    size_t len)
{
    Gridrelay__Envelope *env = gridrelay__envelope__unpack(NULL, len, frame);
    if (!env)
        return GR_EDECODE;
    int rc = gr_receipt_request_digest(out, env);
    gridrelay__envelope__free_unpacked(env, NULL);
    return rc == GR_EINVAL ? GR_EDECODE : rc;
}

int gr_receipt_leaf(uint8_t out[GR_RECEIPT_HASH_BYTES], const uint8_t signer[GR_PUBLIC_KEY_BYTES],
                    uint64_t seq, uint64_t sent_ms, const uint8_t request[GR_RECEIPT_HASH_BYTES],
                    const uint8_t *body, size_t body_len)
{
    if (!out || !signer || !request || (body_len && !body) || body_len > UINT32_MAX)
        return GR_EINVAL;
    size_t len = 1 + sizeof s_leaf_domain + 4 + GR_PUBLIC_KEY_BYTES + 8 + 8 +
                 GR_RECEIPT_HASH_BYTES + 4 + body_len;
    uint8_t small[S_SMALL];
    uint8_t *in = len <= sizeof small ? small : malloc(len);
    if (!in)
        return GR_ENOMEM;
    uint8_t *p = in;
    *p++ = 0x00;
    p = gr_put_bytes(p, s_leaf_domain, sizeof s_leaf_domain);
    p = gr_put_u32(p, GR_RECEIPT_VERSION);
    p = gr_put_bytes(p, signer, GR_PUBLIC_KEY_BYTES);
    p = gr_put_u64(p, seq);
    p = gr_put_u64(p, sent_ms);
    p = gr_put_bytes(p, request, GR_RECEIPT_HASH_BYTES);
    p = gr_put_u32(p, (uint32_t)body_len);
    gr_put_bytes(p, body, body_len);
    int rc = s_hash(out, in, len);
    if (in != small)
        free(in);
    return rc;
}

void gr_receipt_head_input(uint8_t buf[GR_RECEIPT_HEAD_BYTES],
                           const uint8_t signer[GR_PUBLIC_KEY_BYTES], uint64_t time_ms,
                           uint64_t size, const uint8_t root[GR_RECEIPT_HASH_BYTES])
{
    uint8_t *p = buf;
    memcpy(p, s_head_domain, sizeof s_head_domain);
    p += sizeof s_head_domain;
    memcpy(p, signer, GR_PUBLIC_KEY_BYTES);
    p += GR_PUBLIC_KEY_BYTES;
    p = gr_put_u64(p, time_ms);
    p = gr_put_u64(p, size);
    memcpy(p, root, GR_RECEIPT_HASH_BYTES);
}

/* Level 0 holds the leaves; level k+1 pairs level k's nodes left to right,
 * a last node without a partner moving up unchanged. That is RFC 9162's
 * tree (split at the largest power of two below n) built bottom-up. */
struct gr_receipt_tree {
    size_t levels;
    size_t count[GR_RECEIPT_MAX_PATH + 1];
    uint8_t (*node[GR_RECEIPT_MAX_PATH + 1])[GR_RECEIPT_HASH_BYTES];
};

gr_receipt_tree_t *gr_receipt_tree_new(const uint8_t (*leaves)[GR_RECEIPT_HASH_BYTES], size_t n)
{
    if (!leaves || n == 0)
        return NULL;
    gr_receipt_tree_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    size_t width = n;
    for (size_t lv = 0;; lv++) {
        self->node[lv] = malloc(width * GR_RECEIPT_HASH_BYTES);
        if (!self->node[lv]) {
            gr_receipt_tree_destroy(&self);
            return NULL;
        }
        self->count[lv] = width;
        self->levels = lv + 1;
        if (lv == 0) {
            memcpy(self->node[0], leaves, n * GR_RECEIPT_HASH_BYTES);
        } else {
            const uint8_t (*below)[GR_RECEIPT_HASH_BYTES] = self->node[lv - 1];
            size_t below_n = self->count[lv - 1];
            for (size_t i = 0; i < width; i++) {
                if (2 * i + 1 < below_n)
                    s_node(self->node[lv][i], below[2 * i], below[2 * i + 1]);
                else
                    memcpy(self->node[lv][i], below[2 * i], GR_RECEIPT_HASH_BYTES);
            }
        }
        if (width == 1)
            break;
        width = (width + 1) / 2;
    }
    return self;
}

void gr_receipt_tree_destroy(gr_receipt_tree_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gr_receipt_tree_t *self = *self_p;
    for (size_t lv = 0; lv < self->levels; lv++)
        free(self->node[lv]);
    free(self);
    *self_p = NULL;
}

const uint8_t *gr_receipt_tree_root(const gr_receipt_tree_t *self)
{
    return self->node[self->levels - 1][0];
}

size_t gr_receipt_tree_path(const gr_receipt_tree_t *self, size_t index,
                            const uint8_t *path[GR_RECEIPT_MAX_PATH])
{
    if (index >= self->count[0])
        return 0;
    size_t n = 0;
    for (size_t lv = 0; lv + 1 < self->levels; lv++) {
        size_t sibling = index ^ 1;
        if (sibling < self->count[lv])
            path[n++] = self->node[lv][sibling];
        index >>= 1;
    }
    return n;
}

int gr_receipt_root_from_path(uint8_t root[GR_RECEIPT_HASH_BYTES],
                              const uint8_t leaf[GR_RECEIPT_HASH_BYTES], uint64_t index,
                              uint64_t size, const uint8_t *const *path, size_t n)
{
    if (index >= size || n > GR_RECEIPT_MAX_PATH)
        return GR_ESIGNATURE;
    uint64_t fn = index, sn = size - 1;
    uint8_t r[GR_RECEIPT_HASH_BYTES];
    memcpy(r, leaf, sizeof r);
    for (size_t i = 0; i < n; i++) {
        if (sn == 0)
            return GR_ESIGNATURE;
        if ((fn & 1) || fn == sn) {
            s_node(r, path[i], r);
            /* A node promoted unchanged at the levels above has no
             * sibling there: skip them. */
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            s_node(r, r, path[i]);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0)
        return GR_ESIGNATURE;
    memcpy(root, r, sizeof r);
    return 0;
}

static bool s_cached(const gr_receipt_cache_t *cache, const uint8_t digest[GR_RECEIPT_HASH_BYTES])
{
    for (size_t i = 0; cache && i < GR_RECEIPT_CACHE_SLOTS; i++)
        if (cache->used[i] && sodium_memcmp(cache->digest[i], digest, GR_RECEIPT_HASH_BYTES) == 0)
            return true;
    return false;
}

static void s_remember(gr_receipt_cache_t *cache, const uint8_t digest[GR_RECEIPT_HASH_BYTES])
{
    if (!cache)
        return;
    memcpy(cache->digest[cache->next], digest, GR_RECEIPT_HASH_BYTES);
    cache->used[cache->next] = true;
    cache->next = (cache->next + 1) % GR_RECEIPT_CACHE_SLOTS;
}

int gr_receipt_verify(const Gridrelay__Envelope *env, gr_receipt_cache_t *cache,
                      bool check_signature)
{
    if (!env)
        return GR_EINVAL;
    const Gridrelay__ReceiptProof *rp = env->receipt;
    if (!rp || env->signature.len != 0 || env->signer.len != GR_PUBLIC_KEY_BYTES ||
        rp->request.len != GR_RECEIPT_HASH_BYTES || rp->root.len != GR_RECEIPT_HASH_BYTES ||
        rp->signature.len != GR_SIGNATURE_BYTES || rp->n_path > GR_RECEIPT_MAX_PATH)
        return GR_EDECODE;
    const uint8_t *path[GR_RECEIPT_MAX_PATH];
    for (size_t i = 0; i < rp->n_path; i++) {
        if (rp->path[i].len != GR_RECEIPT_HASH_BYTES)
            return GR_EDECODE;
        path[i] = rp->path[i].data;
    }
    uint8_t leaf[GR_RECEIPT_HASH_BYTES], root[GR_RECEIPT_HASH_BYTES];
    int rc = gr_receipt_leaf(leaf, env->signer.data, env->seq, env->sent_ms, rp->request.data,
                             env->body.data, env->body.len);
    if (rc != 0)
        return rc;
    rc = gr_receipt_root_from_path(root, leaf, rp->index, rp->size, path, rp->n_path);
    if (rc != 0)
        return rc;
    if (sodium_memcmp(root, rp->root.data, sizeof root) != 0)
        return GR_ESIGNATURE;
    if (!check_signature)
        return 0;
    uint8_t head[GR_RECEIPT_HEAD_BYTES + GR_SIGNATURE_BYTES];
    gr_receipt_head_input(head, env->signer.data, rp->time_ms, rp->size, root);
    memcpy(head + GR_RECEIPT_HEAD_BYTES, rp->signature.data, GR_SIGNATURE_BYTES);
    /* The cache is keyed by the head and its signature together: a head
     * seen with a good signature proves nothing for another signature. */
    uint8_t digest[GR_RECEIPT_HASH_BYTES];
    s_hash(digest, head, sizeof head);
    if (s_cached(cache, digest)) {
        cache->hits++;
        return 0;
    }
    if (crypto_sign_verify_detached(rp->signature.data, head, GR_RECEIPT_HEAD_BYTES,
                                    env->signer.data) != 0)
        return GR_ESIGNATURE;
    if (cache)
        cache->verified++;
    s_remember(cache, digest);
    return 0;
}

int gr_receipt_pack(uint8_t **out, size_t *out_len, const uint8_t signer[GR_PUBLIC_KEY_BYTES],
                    uint64_t seq, uint64_t sent_ms, const uint8_t *body, size_t body_len,
                    const gr_receipt_proof_t *proof)
{
    if (!out || !out_len || !signer || !proof || (body_len && !body) ||
        proof->n_path > GR_RECEIPT_MAX_PATH || !proof->request || !proof->root ||
        !proof->signature)
        return GR_EINVAL;
    *out = NULL;
    *out_len = 0;
    ProtobufCBinaryData path[GR_RECEIPT_MAX_PATH];
    for (size_t i = 0; i < proof->n_path; i++)
        path[i] = (ProtobufCBinaryData){GR_RECEIPT_HASH_BYTES, (uint8_t *)proof->path[i]};
    Gridrelay__ReceiptProof rp = GRIDRELAY__RECEIPT_PROOF__INIT;
    rp.request = (ProtobufCBinaryData){GR_RECEIPT_HASH_BYTES, (uint8_t *)proof->request};
    rp.index = proof->index;
    rp.size = proof->size;
    rp.path = path;
    rp.n_path = proof->n_path;
    rp.time_ms = proof->time_ms;
    rp.root = (ProtobufCBinaryData){GR_RECEIPT_HASH_BYTES, (uint8_t *)proof->root};
    rp.signature = (ProtobufCBinaryData){GR_SIGNATURE_BYTES, (uint8_t *)proof->signature};
    Gridrelay__Envelope env = GRIDRELAY__ENVELOPE__INIT;
    env.version = GR_RECEIPT_VERSION;
    env.signer = (ProtobufCBinaryData){GR_PUBLIC_KEY_BYTES, (uint8_t *)signer};
    env.seq = seq;
    env.sent_ms = sent_ms;
    env.body = (ProtobufCBinaryData){body_len, (uint8_t *)body};
    env.receipt = &rp;
    *out = gr_wire_pack(&env.base, out_len);
    return *out ? 0 : GR_ENOMEM;
}
