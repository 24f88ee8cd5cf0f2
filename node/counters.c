#include "counters.h"

#include "error.h"

static const char *const s_names[GR_COUNT_MAX] = {
    [GR_COUNT_ACCEPTED] = "accepted",
    [GR_COUNT_DUPLICATE] = "duplicate",
    [GR_COUNT_QUERIES] = "queries",
    [GR_COUNT_REJ_TOO_BIG] = "rejected_too_big",
    [GR_COUNT_REJ_DECODE] = "rejected_decode",
    [GR_COUNT_REJ_VERSION] = "rejected_version",
    [GR_COUNT_REJ_UNTRUSTED] = "rejected_untrusted",
    [GR_COUNT_REJ_SIGNATURE] = "rejected_signature",
    [GR_COUNT_REJ_REPLAY] = "rejected_replay",
    [GR_COUNT_REJ_CATEGORY] = "rejected_category",
    [GR_COUNT_REJ_INVALID] = "rejected_invalid",
    [GR_COUNT_REJ_UNSUPPORTED] = "rejected_unsupported",
    [GR_COUNT_REJ_STORE_FULL] = "rejected_store_full",
    [GR_COUNT_REJ_FORBIDDEN] = "rejected_forbidden",
    [GR_COUNT_BATCHES] = "batches",
    [GR_COUNT_MAP_GROWN] = "map_grown",
    [GR_COUNT_DEDUP_PRUNED] = "dedup_pruned",
    [GR_COUNT_ZERO_REPORTS] = "zero_reports",
    [GR_COUNT_READ_AHEAD] = "read_ahead",
};

const char *gr_counter_name(gr_counter_t counter)
{
    return counter < GR_COUNT_MAX ? s_names[counter] : "?";
}

void gr_counters_refusal(gr_counters_t *self, int code)
{
    gr_counter_t counter;
    switch (code) {
    case 0:
    case GR_ENOTFOUND: return;
    case GR_ETOOBIG: counter = GR_COUNT_REJ_TOO_BIG; break;
    case GR_EDECODE: counter = GR_COUNT_REJ_DECODE; break;
    case GR_EVERSION: counter = GR_COUNT_REJ_VERSION; break;
    case GR_EUNTRUSTED: counter = GR_COUNT_REJ_UNTRUSTED; break;
    case GR_ESIGNATURE: counter = GR_COUNT_REJ_SIGNATURE; break;
    case GR_EREPLAY: counter = GR_COUNT_REJ_REPLAY; break;
    case GR_ECATEGORY: counter = GR_COUNT_REJ_CATEGORY; break;
    case GR_EFULL: counter = GR_COUNT_REJ_STORE_FULL; break;
    case GR_EUNSUPPORTED: counter = GR_COUNT_REJ_UNSUPPORTED; break;
    /* GR_EPERM here is a case in the wrong state for the step; a signer
     * whose roles or scope forbid the request is counted by the request
     * table as GR_COUNT_REJ_FORBIDDEN. */
    default: counter = GR_COUNT_REJ_INVALID; break;  /* invalid, not now, internal */
    }
    self->value[counter]++;
}

void gr_counters_error_reply(gr_counters_t *self, int wire_code)
{
    if (wire_code <= 0)
        return;
    self->error_replies[wire_code < GR_COUNT_ERROR_CODES ? wire_code : GR_COUNT_ERROR_CODES - 1]++;
}
