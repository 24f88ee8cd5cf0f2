#include "sealer.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "curve.h"
#include "envelope.h"

/* Below this many jobs a batch is sealed on the main thread alone: waking
 * the other threads costs more than a few signatures. */
#define S_MIN_PARALLEL 4

typedef struct {
    const gr_keypair_t *keys;
    gr_seal_job_t **jobs;
    uint64_t now_ms;
} s_batch_t;

static void s_seal_one(void *ctx, size_t i)
{
    s_batch_t *b = ctx;
    gr_seal_job_t *job = b->jobs[i];
    job->frame = NULL;
    if (job->receipt) {
        job->leaf_rc = gr_receipt_leaf(job->leaf, b->keys->pk, job->seq, b->now_ms, job->request,
                                       job->body, job->body_len);
        return;
    }
    if (gr_envelope_seal_version(&job->frame, &job->frame_len, b->keys,
                                 job->version ? job->version : GR_PROTOCOL_VERSION, job->seq,
                                 b->now_ms, job->body, job->body_len) != 0) {
        job->frame = NULL;
        return;
    }
    if (!job->box_key)
        return;
    uint8_t *boxed = NULL;
    size_t len = 0;
    if (gr_box_seal(&boxed, &len, job->frame, job->frame_len, job->box_key) != 0)
        boxed = NULL;
    free(job->frame);
    job->frame = boxed;  /* NULL: not sent, never sent in the clear */
    job->frame_len = len;
}

/* The receipt jobs of a run, once their leaves are hashed: one tree, one
 * signature over its head, one frame each with its path. A job whose
 * frame cannot be made is not sent (its client resends). */
static void s_receipts(const gr_sealer_t *self, gr_seal_job_t **jobs, size_t n, uint64_t now_ms)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += jobs[i]->receipt && jobs[i]->leaf_rc == 0;
    if (m == 0)
        return;
    uint8_t (*leaves)[GR_RECEIPT_HASH_BYTES] = malloc(m * sizeof *leaves);
    gr_seal_job_t **in = malloc(m * sizeof *in);
    gr_receipt_tree_t *tree = NULL;
    if (!leaves || !in)
        goto out;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (jobs[i]->receipt && jobs[i]->leaf_rc == 0) {
            memcpy(leaves[k], jobs[i]->leaf, GR_RECEIPT_HASH_BYTES);
            in[k++] = jobs[i];
        }
    if (!(tree = gr_receipt_tree_new((const uint8_t (*)[GR_RECEIPT_HASH_BYTES])leaves, m)))
        goto out;
    const uint8_t *root = gr_receipt_tree_root(tree);
    uint8_t head[GR_RECEIPT_HEAD_BYTES], sig[GR_SIGNATURE_BYTES];
    gr_receipt_head_input(head, self->keys->pk, now_ms, m, root);
    if (crypto_sign_detached(sig, NULL, head, sizeof head, self->keys->sk) != 0)
        goto out;
    for (size_t i = 0; i < m; i++) {
        const uint8_t *path[GR_RECEIPT_MAX_PATH];
        gr_receipt_proof_t proof = {in[i]->request, i, m, now_ms, path, 0, root, sig};
        proof.n_path = gr_receipt_tree_path(tree, i, path);
        if (gr_receipt_pack(&in[i]->frame, &in[i]->frame_len, self->keys->pk, in[i]->seq, now_ms,
                            in[i]->body, in[i]->body_len, &proof) != 0)
            in[i]->frame = NULL;
    }
out:
    gr_receipt_tree_destroy(&tree);
    free(leaves);
    free(in);
}

void gr_sealer_run(const gr_sealer_t *self, gr_seal_job_t **jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        jobs[i]->seq = gr_engine_next_seq(self->engine);
    s_batch_t batch = {self->keys, jobs, gr_now_ms()};
    gr_pool_run(self->pool, n, S_MIN_PARALLEL, s_seal_one, &batch);
    s_receipts(self, jobs, n, batch.now_ms);
}
