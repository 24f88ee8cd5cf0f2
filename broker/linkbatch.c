#include "linkbatch.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "wire.h"

static const uint8_t s_request_domain[4] = { 'G', 'R', 'k', '2' };

void gr_linkbatch_request(uint8_t out[GR_RECEIPT_HASH_BYTES],
                          const uint8_t recipient[GR_PUBLIC_KEY_BYTES])
{
    uint8_t in[sizeof s_request_domain + GR_PUBLIC_KEY_BYTES];
    memcpy(in, s_request_domain, sizeof s_request_domain);
    memcpy(in + sizeof s_request_domain, recipient, GR_PUBLIC_KEY_BYTES);
    crypto_generichash(out, GR_RECEIPT_HASH_BYTES, in, sizeof in, NULL, 0);
}

/* The leaves of items[0..n) from signer to the holder of request, and
 * their tree. NULL when out of memory. */
static gr_receipt_tree_t *s_tree(const uint8_t signer[GR_PUBLIC_KEY_BYTES],
                                 const uint8_t request[GR_RECEIPT_HASH_BYTES],
                                 const gr_linkbatch_item_t *items, size_t n)
{
    uint8_t (*leaves)[GR_RECEIPT_HASH_BYTES] = malloc(n * sizeof *leaves);
    if (!leaves)
        return NULL;
    gr_receipt_tree_t *tree = NULL;
    size_t i = 0;
    for (; i < n; i++)
        if (gr_receipt_leaf(leaves[i], signer, items[i].seq, items[i].sent_ms, request,
                            items[i].body, items[i].body_len) != 0)
            break;
    if (i == n)
        tree = gr_receipt_tree_new((const uint8_t (*)[GR_RECEIPT_HASH_BYTES])leaves, n);
    free(leaves);
    return tree;
}

int gr_linkbatch_seal(uint8_t **out, size_t *out_len, const gr_keypair_t *kp,
                      const uint8_t recipient[GR_PUBLIC_KEY_BYTES], uint64_t seq,
                      uint64_t time_ms, const gr_linkbatch_item_t *items, size_t n)
{
    if (!out || !out_len || !kp || !recipient || !items || n == 0 || n > GR_LINKBATCH_MAX_ITEMS)
        return GR_EINVAL;
    *out = NULL;
    *out_len = 0;
    uint8_t request[GR_RECEIPT_HASH_BYTES];
    gr_linkbatch_request(request, recipient);
    gr_receipt_tree_t *tree = s_tree(kp->pk, request, items, n);
    if (!tree)
        return GR_ENOMEM;
    uint8_t head[GR_RECEIPT_HEAD_BYTES], sig[GR_SIGNATURE_BYTES];
    gr_receipt_head_input(head, kp->pk, time_ms, n, gr_receipt_tree_root(tree));
    gr_receipt_tree_destroy(&tree);
    if (crypto_sign_detached(sig, NULL, head, sizeof head, kp->sk) != 0)
        return GR_EINVAL;
    Gridrelay__LinkItem *li = calloc(n, sizeof *li);
    Gridrelay__LinkItem **lp = calloc(n, sizeof *lp);
    int rc = li && lp ? 0 : GR_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        gridrelay__link_item__init(&li[i]);
        li[i].seq = items[i].seq;
        li[i].sent_ms = items[i].sent_ms;
        li[i].body = (ProtobufCBinaryData){items[i].body_len, (uint8_t *)items[i].body};
        lp[i] = &li[i];
    }
    if (rc == 0) {
        Gridrelay__LinkBatch lb = GRIDRELAY__LINK_BATCH__INIT;
        lb.time_ms = time_ms;
        lb.signature = (ProtobufCBinaryData){sizeof sig, sig};
        lb.items = lp;
        lb.n_items = n;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_LINK_BATCH;
        body.link_batch = &lb;
        size_t len = 0;
        uint8_t *bytes = gr_body_pack(&body, &len);
        rc = bytes ? gr_envelope_seal_version(out, out_len, kp, GR_LINK_VERSION, seq, time_ms,
                                              bytes, len)
                   : GR_ENOMEM;
        free(bytes);
    }
    free(li);
    free(lp);
    return rc;
}

int gr_linkbatch_open_item(gr_opened_t *out, const uint8_t *frame, size_t len,
                           const uint8_t signer[GR_PUBLIC_KEY_BYTES],
                           const uint8_t recipient[GR_PUBLIC_KEY_BYTES], size_t max_frame,
                           gr_receipt_cache_t *cache, bool check_signature)
{
    if (!out || !signer || !recipient)
        return GR_EINVAL;
    int rc = gr_envelope_open_reply(out, frame, len, signer, max_frame, cache, check_signature);
    if (rc != 0)
        return rc;
    uint8_t request[GR_RECEIPT_HASH_BYTES];
    gr_linkbatch_request(request, recipient);
    const Gridrelay__ReceiptProof *rp = out->envelope->receipt;
    /* A signed envelope opens above too; an item is in receipt form, and
     * for this recipient. */
    if (!rp) {
        gr_opened_clear(out);
        return GR_EDECODE;
    }
    if (sodium_memcmp(rp->request.data, request, sizeof request) != 0) {
        gr_opened_clear(out);
        return GR_EUNTRUSTED;
    }
    return 0;
}

int gr_linkbatch_expand(const Gridrelay__LinkBatch *batch, const uint8_t signer[GR_PUBLIC_KEY_BYTES],
                        const uint8_t recipient[GR_PUBLIC_KEY_BYTES], size_t max_frame,
                        bool open_items, gr_linkbatch_each_fn each, void *ctx)
{
    if (!batch || !signer || !recipient || !each)
        return GR_EINVAL;
    size_t n = batch->n_items;
    if (n == 0 || n > GR_LINKBATCH_MAX_ITEMS || batch->signature.len != GR_SIGNATURE_BYTES)
        return GR_EDECODE;
    gr_linkbatch_item_t *items = calloc(n, sizeof *items);
    if (!items)
        return GR_ENOMEM;
    for (size_t i = 0; i < n; i++)
        items[i] = (gr_linkbatch_item_t){batch->items[i]->seq, batch->items[i]->sent_ms,
                                         batch->items[i]->body.data, batch->items[i]->body.len};
    uint8_t request[GR_RECEIPT_HASH_BYTES];
    gr_linkbatch_request(request, recipient);
    gr_receipt_tree_t *tree = s_tree(signer, request, items, n);
    int rc = tree ? 0 : GR_ENOMEM;
    const uint8_t *root = tree ? gr_receipt_tree_root(tree) : NULL;
    if (rc == 0) {
        /* The head once for the whole batch: the items' own openings
         * below skip it. */
        uint8_t head[GR_RECEIPT_HEAD_BYTES];
        gr_receipt_head_input(head, signer, batch->time_ms, n, root);
        if (crypto_sign_verify_detached(batch->signature.data, head, sizeof head, signer) != 0)
            rc = GR_ESIGNATURE;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const uint8_t *path[GR_RECEIPT_MAX_PATH];
        gr_receipt_proof_t proof = {request, i, n, batch->time_ms, path, 0, root,
                                    batch->signature.data};
        proof.n_path = gr_receipt_tree_path(tree, i, path);
        uint8_t *frame = NULL;
        size_t len = 0;
        rc = gr_receipt_pack(&frame, &len, signer, items[i].seq, items[i].sent_ms, items[i].body,
                             items[i].body_len, &proof);
        if (rc != 0)
            break;
        gr_opened_t opened;
        int item_rc = open_items ? gr_linkbatch_open_item(&opened, frame, len, signer, recipient,
                                                          max_frame, NULL, false)
                                 : 0;
        each(ctx, item_rc, items[i].seq, open_items && item_rc == 0 ? &opened : NULL, frame, len);
        if (open_items && item_rc == 0)
            gr_opened_clear(&opened);
        free(frame);
    }
    gr_receipt_tree_destroy(&tree);
    free(items);
    return rc == 0 ? (int)n : rc;
}

int gr_linkbatch_entry_pack(uint8_t **out, size_t *out_len,
                            const uint8_t signer[GR_PUBLIC_KEY_BYTES], uint64_t seq,
                            uint64_t sent_ms, const uint8_t *body, size_t body_len)
{
    if (!out || !out_len || !signer || (body_len && !body))
        return GR_EINVAL;
    Gridrelay__Envelope env = GRIDRELAY__ENVELOPE__INIT;
    env.version = GR_LINK_VERSION;
    env.signer = (ProtobufCBinaryData){GR_PUBLIC_KEY_BYTES, (uint8_t *)signer};
    env.seq = seq;
    env.sent_ms = sent_ms;
    env.body = (ProtobufCBinaryData){body_len, (uint8_t *)body};
    *out = gr_wire_pack(&env.base, out_len);
    return *out ? 0 : GR_ENOMEM;
}

bool gr_linkbatch_entry_is_unsigned(const uint8_t *frame, size_t len)
{
    Gridrelay__Envelope *env = gridrelay__envelope__unpack(NULL, len, frame);
    bool yes = env && env->version == GR_LINK_VERSION && env->signature.len == 0 && !env->receipt;
    gridrelay__envelope__free_unpacked(env, NULL);
    return yes;
}
