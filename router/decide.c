/* Routing decisions. The rules are the ordered table s_rules below, one small
 * function each; what a state means for routing (its name, which clock runs
 * in it) is the table s_states. Adding a state or a rule touches one table. */
#include "decide.h"

#include <string.h>

/* Which deadline runs while a case sits in a state. CLOCK_NONE marks the
 * states in which nothing is left to do here (rule 1). */
typedef enum {
    CLOCK_NONE = 0,
    CLOCK_ACCEPT,
    CLOCK_RESOLVE
} s_clock_t;

typedef struct {
    const char *name;
    s_clock_t clock;
} s_state_info_t;

static const s_state_info_t s_states[] = {
    [GR_CASE_REPORTED] = {"reported", CLOCK_ACCEPT},
    [GR_CASE_ACCEPTED] = {"accepted", CLOCK_RESOLVE},
    [GR_CASE_DISPATCHED] = {"dispatched", CLOCK_RESOLVE},
    [GR_CASE_ASSIGNED] = {"assigned", CLOCK_RESOLVE},
    [GR_CASE_IN_PROGRESS] = {"in_progress", CLOCK_RESOLVE},
    [GR_CASE_RESOLVED] = {"resolved", CLOCK_NONE},
    [GR_CASE_FED_BACK] = {"fed_back", CLOCK_NONE},
    [GR_CASE_CLOSED] = {"closed", CLOCK_NONE},
    [GR_CASE_ESCALATED] = {"escalated", CLOCK_NONE},
    [GR_CASE_RETURNED] = {"returned", CLOCK_RESOLVE},
};

#define S_NSTATES (sizeof s_states / sizeof s_states[0])

static const char *const s_action_names[] = {
    [GR_ACT_NONE] = "none",
    [GR_ACT_KEEP] = "keep",
    [GR_ACT_ESCALATE] = "escalate",
    [GR_ACT_SKIP_LEVEL] = "skip_level",
    [GR_ACT_ASSIGN_DOWN] = "assign_down",
};

static const char *const s_reason_names[] = {
    [GR_REASON_NONE] = "none",
    [GR_REASON_OUTSIDE_AUTHORITY] = "outside_authority",
    [GR_REASON_NOT_ACCEPTED_IN_TIME] = "not_accepted_in_time",
    [GR_REASON_NOT_RESOLVED_IN_TIME] = "not_resolved_in_time",
    [GR_REASON_OPERATOR] = "operator",
    [GR_REASON_RETURNED_FROM_BELOW] = "returned_from_below",
};

static const char *const s_severity_names[] = {
    [GR_SEV_ROUTINE] = "routine",
    [GR_SEV_URGENT] = "urgent",
    [GR_SEV_EXTRA_URGENT] = "extra_urgent",
};

/* Enum values may arrive from a decoded message or a store record, so the
 * lookups take an int and bound it rather than trusting the enum type. */
static const char *s_name(const char *const *names, size_t n, int value)
{
    if (value < 0 || (size_t) value >= n || !names[value])
        return "unknown";
    return names[value];
}

#define S_NAME(table, value) \
    s_name((table), sizeof(table) / sizeof((table)[0]), (int) (value))

const char *gr_action_name(gr_action_t action)
{
    return S_NAME(s_action_names, action);
}

const char *gr_reason_name(gr_reason_t reason)
{
    return S_NAME(s_reason_names, reason);
}

const char *gr_severity_name(gr_severity_t severity)
{
    return S_NAME(s_severity_names, severity);
}

const char *gr_case_state_name(gr_case_state_t state)
{
    int v = (int) state;
    if (v < 0 || (size_t) v >= S_NSTATES || !s_states[v].name)
        return "unknown";
    return s_states[v].name;
}

static bool s_severity_valid(int severity)
{
    return severity >= GR_SEV_ROUTINE && severity <= GR_SEV_EXTRA_URGENT;
}

/* NULL for an unknown state, so callers need one check. */
static const s_state_info_t *s_state_info(int state)
{
    if (state < 0 || (size_t) state >= S_NSTATES || !s_states[state].name)
        return NULL;
    return &s_states[state];
}

static uint64_t s_add_saturating(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

uint64_t gr_deadline_due(const gr_deadlines_t *deadlines,
                         const gr_case_facts_t *facts)
{
    if (!deadlines || !facts || !s_severity_valid((int) facts->severity))
        return 0;
    const s_state_info_t *info = s_state_info((int) facts->state);
    if (!info)
        return 0;

    uint64_t within, start;
    switch (info->clock) {
    case CLOCK_ACCEPT:
        within = deadlines->accept_within_ms[facts->severity];
        start = facts->received_ms;
        break;
    case CLOCK_RESOLVE:
        within = deadlines->resolve_within_ms[facts->severity];
        /* A case can reach a resolve-clock state without an acceptance of
         * its own here (e.g. assigned down and worked at once); the time it
         * arrived is then the fairest start. */
        start = facts->accepted_ms ? facts->accepted_ms : facts->received_ms;
        break;
    default:
        return 0;
    }
    uint64_t own = within ? s_add_saturating(start, within) : 0;
    uint64_t assigned = facts->assigned_due_ms;
    if (assigned && (own == 0 || assigned < own))
        return assigned;  /* the parent's 交办 limit comes first */
    return own;
}

bool gr_overdue(const gr_deadlines_t *deadlines, const gr_case_facts_t *facts,
                uint64_t now_ms)
{
    uint64_t due = gr_deadline_due(deadlines, facts);
    return due != 0 && now_ms >= due;
}

/* Everything a rule looks at, gathered once. */
typedef struct {
    const gr_tier_t *tier;
    const gr_authority_t *authority;
    const gr_case_facts_t *facts;
    const s_state_info_t *state;
    uint64_t due;       /* gr_deadline_due(), 0 = none */
    bool overdue;
} s_ctx_t;

/* A rule returns true when it fired and has written out->action and
 * out->reason; the first one that fires decides. */
typedef bool (*s_rule_fn)(const s_ctx_t *ctx, gr_decision_t *out);

/* Sends the case up for reason, or keeps it with at_top set when there is
 * nobody above to send it to. */
static bool s_go_up(const s_ctx_t *ctx, gr_decision_t *out, gr_reason_t reason)
{
    out->reason = reason;
    if (ctx->tier->has_parent) {
        out->action = GR_ACT_ESCALATE;
    } else {
        out->action = GR_ACT_KEEP;
        out->at_top = true;
    }
    return true;
}

/* Rule 1: finished here, or the parent owns it now. */
static bool s_rule_finished(const s_ctx_t *ctx, gr_decision_t *out)
{
    if (ctx->state->clock != CLOCK_NONE)
        return false;
    out->action = GR_ACT_NONE;
    return true;
}

/* Rule 2. */
static bool s_rule_operator(const s_ctx_t *ctx, gr_decision_t *out)
{
    if (!ctx->facts->operator_escalate)
        return false;
    return s_go_up(ctx, out, GR_REASON_OPERATOR);
}

/* Rule 3. A case the parent handed down stays: the parent chose this tier,
 * and if it really cannot be handled here the way back is a return. At the
 * top there is no higher authority to defer to. */
static bool s_rule_authority(const s_ctx_t *ctx, gr_decision_t *out)
{
    const gr_tier_t *tier = ctx->tier;
    int needed = ctx->authority->level[ctx->facts->severity];

    if (!tier->has_parent || ctx->facts->assigned_down || needed <= tier->level)
        return false;
    out->reason = GR_REASON_OUTSIDE_AUTHORITY;
    out->action = ctx->authority->direct && tier->level == 1 && needed >= 3
                      ? GR_ACT_SKIP_LEVEL
                      : GR_ACT_ESCALATE;
    return true;
}

/* Rule 4. */
static bool s_rule_returned_exhausted(const s_ctx_t *ctx, gr_decision_t *out)
{
    if (!ctx->facts->returned_from_below || ctx->facts->untried_left)
        return false;
    return s_go_up(ctx, out, GR_REASON_RETURNED_FROM_BELOW);
}

/* Rule 5. */
static bool s_rule_deadline(const s_ctx_t *ctx, gr_decision_t *out)
{
    if (!ctx->overdue)
        return false;
    out->supervise = true;
    return s_go_up(ctx, out,
                   ctx->state->clock == CLOCK_ACCEPT
                       ? GR_REASON_NOT_ACCEPTED_IN_TIME
                       : GR_REASON_NOT_RESOLVED_IN_TIME);
}

/* Rule 6: returned with someone left to try, or new here and a
 * department takes its category (分流). */
static bool s_rule_dispatch(const s_ctx_t *ctx, gr_decision_t *out)
{
    const gr_case_facts_t *f = ctx->facts;
    bool fresh = f->untried_left &&
                 (f->state == GR_CASE_REPORTED || f->state == GR_CASE_ACCEPTED);
    if (!f->returned_from_below && !fresh)
        return false;
    out->action = GR_ACT_ASSIGN_DOWN;
    return true;
}

/* Rule 7: always fires, so the table never runs off its end. */
static bool s_rule_keep(const s_ctx_t *ctx, gr_decision_t *out)
{
    (void) ctx;
    out->action = GR_ACT_KEEP;
    return true;
}

static const s_rule_fn s_rules[] = {
    s_rule_finished,
    s_rule_operator,
    s_rule_authority,
    s_rule_returned_exhausted,
    s_rule_deadline,
    s_rule_dispatch,
    s_rule_keep,
};

int gr_decide(gr_decision_t *out, const gr_tier_t *tier,
              const gr_authority_t *authority, const gr_deadlines_t *deadlines,
              const gr_case_facts_t *facts, uint64_t now_ms)
{
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    if (!tier || !authority || !deadlines || !facts || tier->level < 1
        || !s_severity_valid((int) facts->severity))
        return -1;

    s_ctx_t ctx = {
        .tier = tier,
        .authority = authority,
        .facts = facts,
        .state = s_state_info((int) facts->state),
    };
    if (!ctx.state || authority->level[facts->severity] < 1)
        return -1;
    ctx.due = gr_deadline_due(deadlines, facts);
    ctx.overdue = ctx.due != 0 && now_ms >= ctx.due;

    for (size_t i = 0; i < sizeof s_rules / sizeof s_rules[0]; i++) {
        if (s_rules[i](&ctx, out))
            break;
    }

    /* Finished cases carry no deadline, so overdue is false for them. */
    out->overdue = ctx.overdue;
    /* Only a case still here needs its timer; one that left is the
     * receiver's to time. */
    if ((out->action == GR_ACT_KEEP || out->action == GR_ACT_ASSIGN_DOWN)
        && ctx.due > now_ms)
        out->due_ms = ctx.due;
    return 0;
}

const char *gr_dept_next(const char *const *candidates, size_t ncandidates,
                         const char *const *tried, size_t ntried)
{
    if (!candidates)
        return NULL;
    for (size_t i = 0; i < ncandidates; i++) {
        const char *code = candidates[i];
        if (!code)
            continue;
        bool seen = false;
        for (size_t j = 0; tried && j < ntried && !seen; j++)
            seen = tried[j] && strcmp(tried[j], code) == 0;
        if (!seen)
            return code;
    }
    return NULL;
}
