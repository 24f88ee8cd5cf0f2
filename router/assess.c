#include "assess.h"

#include <stdlib.h>
#include <string.h>

static uint64_t s_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t s_cap(uint64_t due, uint64_t cap)
{
    return cap && (!due || cap < due) ? cap : due;
}

void gr_assess_dues(const gr_deadlines_t *deadlines, gr_severity_t severity,
                    uint64_t received_ms, uint64_t accepted_ms, uint64_t assigned_due_ms,
                    uint64_t *accept_due_ms, uint64_t *resolve_due_ms)
{
    uint64_t accept = 0, resolve = 0;
    if (deadlines && severity >= 1 && severity < GR_ROUTE_SEV_SLOTS) {
        uint64_t a = deadlines->accept_within_ms[severity];
        uint64_t r = deadlines->resolve_within_ms[severity];
        accept = a ? s_add(received_ms, a) : 0;
        resolve = r ? s_add(accepted_ms ? accepted_ms : received_ms, r) : 0;
    }
    *accept_due_ms = s_cap(accept, assigned_due_ms);
    *resolve_due_ms = s_cap(resolve, assigned_due_ms);
}

/* Judges one step: 1 on time, 0 late, -1 not judged (yet). */
static int s_step(uint64_t done_ms, uint64_t due_ms, uint64_t held_until)
{
    if (done_ms)
        return !due_ms || done_ms < due_ms;
    return due_ms && due_ms <= held_until ? 0 : -1;
}

bool gr_assess_add(gr_assess_tally_t *t, const gr_assess_case_t *c, uint64_t cut_ms,
                   uint64_t *handling_ms)
{
    uint64_t resolved = c->resolved_ms && c->resolved_ms <= cut_ms ? c->resolved_ms : 0;
    uint64_t taken = c->accepted_ms ? c->accepted_ms : resolved;
    if (taken > cut_ms)
        taken = 0;
    uint64_t held_until = c->left_ms && c->left_ms < cut_ms ? c->left_ms : cut_ms;
    t->received++;
    t->returns += c->returns;
    t->urges += c->urges;
    int accept = s_step(taken, c->accept_due_ms, held_until);
    int resolve = s_step(resolved, c->resolve_due_ms, held_until);
    if (accept >= 0) {
        t->accept_judged++;
        t->accept_on_time += (uint64_t)accept;
    }
    if (resolve >= 0) {
        t->resolve_judged++;
        t->resolve_on_time += (uint64_t)resolve;
    }
    if (accept == 0 || resolve == 0)
        t->overdue++;
    if (!resolved)
        return false;
    t->resolved++;
    t->first_time += c->returns == 0;
    t->fed_back += c->fed_back_ms && c->fed_back_ms <= cut_ms;
    *handling_ms = resolved > c->received_ms ? resolved - c->received_ms : 0;
    t->handling_sum_ms += *handling_ms;
    return true;
}

static int s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double s_pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

void gr_assess_finish(gr_assess_figures_t *out, const gr_assess_tally_t *t, uint64_t *handling_ms,
                      size_t n, const gr_assess_weights_t *w)
{
    memset(out, 0, sizeof *out);
    out->tally = *t;
    out->accept_pct = s_pct(t->accept_on_time, t->accept_judged);
    out->resolve_pct = s_pct(t->resolve_on_time, t->resolve_judged);
    out->first_time_pct = s_pct(t->first_time, t->resolved);
    out->feedback_pct = s_pct(t->fed_back, t->resolved);
    out->overdue_pct = s_pct(t->overdue, t->received);
    if (n) {
        qsort(handling_ms, n, sizeof *handling_ms, s_cmp_u64);
        uint64_t sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += handling_ms[i];
        out->avg_handling_ms = sum / n;
        out->p90_handling_ms = handling_ms[(n * 9 + 9) / 10 - 1];
    }
    struct {
        unsigned weight;
        bool judged;
        double pct;
    } parts[] = {
        {w->accept, t->accept_judged > 0, out->accept_pct},
        {w->resolve, t->resolve_judged > 0, out->resolve_pct},
        {w->first_time, t->resolved > 0, out->first_time_pct},
        {w->feedback, t->resolved > 0, out->feedback_pct},
        {w->overdue, t->received > 0, 100.0 - out->overdue_pct},
    };
    double sum = 0;
    unsigned weights = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        if (!parts[i].judged || !parts[i].weight)
            continue;
        sum += parts[i].weight * parts[i].pct;
        weights += parts[i].weight;
    }
    out->score = weights ? sum / weights : 0.0;
}

int gr_assess_order(const gr_assess_figures_t *a, const gr_assess_figures_t *b)
{
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->tally.received != b->tally.received)
        return a->tally.received > b->tally.received ? -1 : 1;
    return 0;
}
