/* Fuzz target: the department client's notice decoder
 * (gr_dept_client_notice in broker/dept_client.c), on a fresh client per
 * input so each input meets an empty mirror. The input is a run of
 * chunks (at most 16), each a 2-byte little-endian length and that many bytes; the
 * first byte's low bit says what a chunk is:
 *   0  a Body, sealed by the node and boxed for the department as the
 *      node publishes it, so the decoder meets fuzzed TaskNotices (in
 *      order, gaps, withdrawals of what is not there...)
 *   1  the box itself, as it came off the subscription */
#include <stdint.h>
#include <stdlib.h>

#include <zmq.h>

#include "curve.h"
#include "dept_client.h"
#include "envelope.h"
#include "fixture.h"

#define S_MAX_CHUNKS 16

static gr_keypair_t s_keys[FX_KEYS];
static uint8_t s_box_key[GR_BOX_KEY_BYTES];
static void *s_ctx;
static size_t s_changes;

static void s_on_task(void *ctx, gr_dept_change_t change, const Gridrelay__Task *task,
                      const char *reason)
{
    (void)ctx;
    (void)change;
    /* Touch what the callback is given, as a department's code would. */
    s_changes += task && task->event_id && reason ? 1 : 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (fx_keys(s_keys) != 0 ||
        gr_box_key(s_box_key, s_keys[FX_DEPT].pk, &s_keys[FX_NODE]) != 0 ||
        !(s_ctx = zmq_ctx_new()))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool raw = data[0] & 1;
    data++;
    size--;
    gr_dept_client_options_t opt = {
        .node_endpoint = "inproc://fuzz-notice-node", .node_pk = s_keys[FX_NODE].pk,
        .keys = &s_keys[FX_DEPT], .zmq_ctx = s_ctx, .on_task = s_on_task,
    };
    char err[256];
    gr_dept_client_t *client = gr_dept_client_new(&opt, err, sizeof err);
    if (!client)
        abort();
    uint64_t seq = 1;
    /* Each chunk costs a signature and its check: a few are enough to
     * reach every order of kinds and sequence numbers. */
    for (int chunks = 0; chunks < S_MAX_CHUNKS && size >= 2; chunks++) {
        size_t n = (size_t)data[0] | (size_t)data[1] << 8;
        data += 2;
        size -= 2;
        if (n > size)
            n = size;
        if (raw) {
            gr_dept_client_notice(client, data, n);
        } else {
            uint8_t *frame = NULL, *box = NULL;
            size_t flen = 0, blen = 0;
            if (gr_envelope_seal_bytes(&frame, &flen, &s_keys[FX_NODE], seq++, 1, data, n) == 0 &&
                gr_box_seal(&box, &blen, frame, flen, s_box_key) == 0)
                gr_dept_client_notice(client, box, blen);
            free(frame);
            free(box);
        }
        /* The mirror as a department reads it. */
        for (size_t i = 0; i < gr_dept_client_task_count(client); i++)
            if (!gr_dept_client_task_at(client, i))
                abort();
        data += n;
        size -= n;
    }
    gr_dept_client_destroy(&client);
    return 0;
}
