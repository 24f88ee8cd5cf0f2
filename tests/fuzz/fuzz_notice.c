/* Fuzz target: the department client's notice decoder
 * (gr_dept_mirror_notice in broker/dept_mirror.c, what the client runs on
 * every frame of its subscription), on an empty mirror per input. The
 * input is a run of chunks (at most 16), each a 2-byte little-endian
 * length and that many bytes; the first byte's low bit says what a chunk
 * is:
 *   0  a Body, sealed by the node and boxed for the department as the
 *      node publishes it, so the decoder meets fuzzed TaskNotices (in
 *      order, gaps, withdrawals of what is not there...)
 *   1  the box itself, as it came off the subscription */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "curve.h"
#include "dept_mirror.h"
#include "envelope.h"
#include "fixture.h"

#define S_MAX_CHUNKS 16

static gr_keypair_t s_keys[FX_KEYS];
static uint8_t s_box_key[GR_BOX_KEY_BYTES];

static void s_on_task(void *ctx, gr_dept_change_t change, const Gridrelay__Task *task,
                      const char *reason)
{
    size_t *changes = ctx;
    (void)change;
    /* Touch what the callback is given, as a department's code would. */
    if (!task || !task->event_id || !reason)
        abort();
    (*changes)++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (fx_keys(s_keys) != 0 ||
        gr_box_key(s_box_key, s_keys[FX_DEPT].pk, &s_keys[FX_NODE]) != 0)
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
    size_t changes = 0;
    gr_dept_mirror_t mirror = {.on_task = s_on_task, .ctx = &changes};
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
            gr_dept_mirror_notice(&mirror, data, n, s_box_key, s_keys[FX_NODE].pk);
        } else {
            uint8_t *frame = NULL, *box = NULL;
            size_t flen = 0, blen = 0;
            if (gr_envelope_seal_bytes(&frame, &flen, &s_keys[FX_NODE], seq++, 1, data, n) == 0 &&
                gr_box_seal(&box, &blen, frame, flen, s_box_key) == 0)
                gr_dept_mirror_notice(&mirror, box, blen, s_box_key, s_keys[FX_NODE].pk);
            free(frame);
            free(box);
        }
        /* The mirror stays in event id order, each task once. */
        for (size_t i = 1; i < mirror.count; i++)
            if (strcmp(mirror.tasks[i - 1]->event_id, mirror.tasks[i]->event_id) >= 0)
                abort();
        data += n;
        size -= n;
    }
    if (mirror.reported != changes)
        abort();
    gr_dept_mirror_clear(&mirror);
    return 0;
}
