#include "supervise.h"

static bool s_open(gr_case_state_t s)
{
    return s == GR_CASE_REPORTED || s == GR_CASE_ACCEPTED || s == GR_CASE_DISPATCHED ||
           s == GR_CASE_ASSIGNED || s == GR_CASE_IN_PROGRESS || s == GR_CASE_RETURNED;
}

size_t gr_supervise(const gr_supervise_facts_t *f, const gr_supervise_limits_t *limits,
                    uint64_t now_ms, gr_overdue_item_t out[GR_SUPERVISE_MAX_ITEMS])
{
    size_t n = 0;
    if (!f || !limits || !out)
        return 0;
    bool open = s_open(f->state);
    if (open && f->due_ms && now_ms >= f->due_ms)
        out[n++] = (gr_overdue_item_t){f->state == GR_CASE_REPORTED ? GR_OVERDUE_NOT_ACCEPTED
                                                                    : GR_OVERDUE_NOT_RESOLVED,
                                       now_ms - f->due_ms};
    if (open && f->task_due_ms && now_ms >= f->task_due_ms)
        out[n++] = (gr_overdue_item_t){GR_OVERDUE_TASK, now_ms - f->task_due_ms};
    if (f->state == GR_CASE_RESOLVED && f->from_below && !f->origin_fed_back &&
        limits->feedback_within_ms && f->resolved_ms &&
        now_ms >= f->resolved_ms + limits->feedback_within_ms)
        out[n++] = (gr_overdue_item_t){GR_OVERDUE_NOT_FED_BACK,
                                       now_ms - (f->resolved_ms + limits->feedback_within_ms)};
    if (open && limits->max_returns && f->returns > limits->max_returns)
        out[n++] = (gr_overdue_item_t){GR_OVERDUE_RETURNED, 0};
    return n;
}

const char *gr_overdue_name(gr_overdue_t kind)
{
    switch (kind) {
    case GR_OVERDUE_NOT_ACCEPTED: return "not_accepted_in_time";
    case GR_OVERDUE_NOT_RESOLVED: return "not_resolved_in_time";
    case GR_OVERDUE_NOT_FED_BACK: return "not_fed_back_in_time";
    case GR_OVERDUE_TASK: return "task_overdue";
    case GR_OVERDUE_RETURNED: return "returned_too_often";
    default: return "unknown";
    }
}
