/* Fuzz target: every body the node accepts, through its real request
 * handling. The first byte says who sends it (byte % 5, fixture.h,
 * fx_from_t: the reporter, a department, the child over its link or its
 * status stream, the parent) and when (byte / 5 % 4: now, or 31 minutes,
 * 25 hours or 8 days later, once the deadlines due by then have fired:
 * overdue cases, tasks and feedback), and byte / 20 % 2 whether the
 * reporter's envelope and the hops an Escalate or Assign carries are
 * signed again (resign.h), so that fuzzed events and paths inside them
 * get past their own signatures; the rest is the Body, sealed in a correctly signed
 * envelope from that trusted key, so the input gets past the signature
 * to the field checks, the request table's permissions, the handlers
 * (reports, case and task actions, escalations with their signed path,
 * assignments, feedback, supervision, urges, status batches, catch-up,
 * every query) and what they set off, on a real LMDB store holding the
 * fixture's cases (seeds.h). Each input's writes are undone, so every
 * input meets the same store. */
#include <stdint.h>
#include <stdlib.h>

#include "fixture.h"
#include "log.h"
#include "resign.h"
#include "seeds.h"

static fx_node_t s_node;

static void s_close(void)
{
    fx_node_close(&s_node);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    gr_log_init("fuzz", GR_LOG_ERROR);
    if (fx_node_open(&s_node) != 0 || fx_node_seed(&s_node) != 0)
        abort();
    atexit(s_close);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const uint64_t later[] = {0, 31 * 60000ull, 25 * 3600000ull, 8 * 86400000ull};
    fx_from_t from = (fx_from_t)(data[0] % FX_FROM_COUNT);
    s_node.later_ms = later[data[0] / FX_FROM_COUNT % 4];
    uint8_t *resigned = NULL;
    size_t len = 0;
    if (data[0] / (FX_FROM_COUNT * 4) % 2)
        resigned = fx_resign_body(s_node.keys, data + 1, size - 1, &len);
    int rc = resigned ? fx_node_run(&s_node, from, 0, resigned, len, false, NULL)
                      : fx_node_run(&s_node, from, 0, data + 1, size - 1, false, NULL);
    free(resigned);
    if (rc != 0)
        abort();  /* the fixture itself failed: not an answer */
    return 0;
}
