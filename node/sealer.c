#include "sealer.h"

#include <stdlib.h>

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
    if (gr_envelope_seal_bytes(&job->frame, &job->frame_len, b->keys, job->seq, b->now_ms,
                               job->body, job->body_len) != 0) {
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

void gr_sealer_run(const gr_sealer_t *self, gr_seal_job_t **jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        jobs[i]->seq = gr_engine_next_seq(self->engine);
    s_batch_t batch = {self->keys, jobs, gr_now_ms()};
    gr_pool_run(self->pool, n, S_MIN_PARALLEL, s_seal_one, &batch);
}
