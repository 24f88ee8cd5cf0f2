#include "task.h"

#include <string.h>

/* base + limit * periods, saturating: a far-future deadline must not wrap
 * round to one in the past. */
static uint64_t s_deadline(uint64_t base, uint64_t limit, uint64_t periods)
{
    if (limit != 0 && periods > UINT64_MAX / limit)
        return UINT64_MAX;
    uint64_t span = limit * periods;
    return span > UINT64_MAX - base ? UINT64_MAX : base + span;
}

int gr_task_decide(gr_task_decision_t *out, const gr_tier_t *tier,
                   const gr_task_limits_t *limits, const gr_task_facts_t *facts,
                   uint64_t now_ms)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!out || !tier || !limits || !facts || facts->severity < GR_SEV_ROUTINE ||
        facts->severity > GR_SEV_EXTRA_URGENT)
        return -1;
    uint64_t base = facts->claimed ? facts->claimed_ms : facts->dispatched_ms;
    uint64_t limit = facts->claimed ? limits->complete_within_ms[facts->severity]
                                    : limits->claim_within_ms[facts->severity];
    if (limit == 0)
        return 0;
    uint64_t due = s_deadline(base, limit, (uint64_t)facts->urged + 1);
    uint64_t again = facts->urged_ms ? s_deadline(facts->urged_ms, limit, 1) : 0;
    if (again > due)
        due = again;
    if (now_ms < due) {
        out->due_ms = due;
        return 0;
    }
    out->reason = facts->claimed ? GR_REASON_NOT_RESOLVED_IN_TIME : GR_REASON_NOT_ACCEPTED_IN_TIME;
    if (facts->urged == 0 || !tier->has_parent) {
        out->action = GR_TASK_URGE;
        out->at_top = facts->urged > 0;
        out->due_ms = s_deadline(base, limit, (uint64_t)facts->urged + 2);
        uint64_t next = s_deadline(now_ms, limit, 1);
        if (next > out->due_ms)
            out->due_ms = next;
        return 0;
    }
    out->action = GR_TASK_ESCALATE;
    return 0;
}
