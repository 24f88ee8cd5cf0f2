#include "cases.h"

#include <stddef.h>

#define S(x) GRIDRELAY__STATUS__##x
#define A(x) GRIDRELAY__ACTION__ACTION_##x
#define N_STATUS (GRIDRELAY__STATUS__RETURNED + 1)
#define N_ACTION (GRIDRELAY__ACTION__ACTION_DROP + 1)

/* Rows: current state; columns: action; cell: next state (0 = refused).
 * Row 0 (no state yet) is where a case is born. */
static const Gridrelay__Status s_next[N_STATUS][N_ACTION] = {
    [0] = {
        [A(REPORT)] = S(REPORTED),
        [A(ASSIGN)] = S(REPORTED),      /* a case handed down arrives new */
        [A(ESCALATE)] = S(REPORTED),    /* a case escalated from below arrives new */
    },
    [S(REPORTED)] = {
        [A(ACCEPT)] = S(ACCEPTED),   [A(ASSIGN)] = S(ASSIGNED),  [A(DISPATCH)] = S(DISPATCHED),
        [A(ESCALATE)] = S(ESCALATED), [A(RESOLVE)] = S(RESOLVED), [A(DEADLINE)] = S(REPORTED),
        [A(URGE)] = S(REPORTED),     [A(PROGRESS)] = S(REPORTED),
        [A(MERGE)] = S(REPORTED),      [A(UNMERGE)] = S(REPORTED), [A(DROP)] = S(REPORTED),
    },
    [S(ACCEPTED)] = {
        [A(ASSIGN)] = S(ASSIGNED),   [A(DISPATCH)] = S(DISPATCHED), [A(ESCALATE)] = S(ESCALATED),
        [A(RESOLVE)] = S(RESOLVED),  [A(PROGRESS)] = S(IN_PROGRESS), [A(DEADLINE)] = S(ACCEPTED),
        [A(URGE)] = S(ACCEPTED),
        [A(MERGE)] = S(ACCEPTED),      [A(UNMERGE)] = S(ACCEPTED), [A(DROP)] = S(ACCEPTED),
    },
    [S(DISPATCHED)] = {
        [A(CLAIM)] = S(IN_PROGRESS), [A(RETURN)] = S(RETURNED),  [A(ESCALATE)] = S(ESCALATED),
        [A(RESOLVE)] = S(RESOLVED),  [A(DEADLINE)] = S(DISPATCHED), [A(URGE)] = S(DISPATCHED),
        [A(PROGRESS)] = S(DISPATCHED), [A(DISPATCH)] = S(DISPATCHED), /* redispatch */
        [A(MERGE)] = S(DISPATCHED),      [A(UNMERGE)] = S(DISPATCHED), [A(DROP)] = S(DISPATCHED),
    },
    [S(ASSIGNED)] = {
        [A(CLAIM)] = S(IN_PROGRESS), [A(RETURN)] = S(RETURNED),  [A(ESCALATE)] = S(ESCALATED),
        [A(RESOLVE)] = S(RESOLVED),  [A(DEADLINE)] = S(ASSIGNED), [A(URGE)] = S(ASSIGNED),
        [A(PROGRESS)] = S(ASSIGNED),
        [A(MERGE)] = S(ASSIGNED),      [A(UNMERGE)] = S(ASSIGNED), [A(DROP)] = S(ASSIGNED),
    },
    [S(IN_PROGRESS)] = {
        [A(RETURN)] = S(RETURNED),   [A(ESCALATE)] = S(ESCALATED), [A(RESOLVE)] = S(RESOLVED),
        [A(PROGRESS)] = S(IN_PROGRESS), [A(DEADLINE)] = S(IN_PROGRESS), [A(URGE)] = S(IN_PROGRESS),
        [A(DISPATCH)] = S(DISPATCHED),
        [A(MERGE)] = S(IN_PROGRESS),      [A(UNMERGE)] = S(IN_PROGRESS), [A(DROP)] = S(IN_PROGRESS),
    },
    [S(RESOLVED)] = {
        [A(FEEDBACK)] = S(FED_BACK), [A(CLOSE)] = S(CLOSED), [A(DROP)] = S(RESOLVED),
    },
    [S(FED_BACK)] = {
        [A(CLOSE)] = S(CLOSED),      [A(DROP)] = S(FED_BACK),
    },
    [S(CLOSED)] = { [A(DROP)] = S(CLOSED) },
    [S(ESCALATED)] = {
        [A(FEEDBACK)] = S(FED_BACK), [A(URGE)] = S(ESCALATED), [A(PROGRESS)] = S(ESCALATED),
        [A(ASSIGN)] = S(REPORTED),   /* the superior hands it back down to handle */
        [A(DROP)] = S(ESCALATED),
    },
    [S(RETURNED)] = {
        [A(ACCEPT)] = S(ACCEPTED),   [A(ASSIGN)] = S(ASSIGNED),  [A(DISPATCH)] = S(DISPATCHED),
        [A(ESCALATE)] = S(ESCALATED), [A(RESOLVE)] = S(RESOLVED), [A(DEADLINE)] = S(RETURNED),
        [A(URGE)] = S(RETURNED),     [A(PROGRESS)] = S(RETURNED),
        [A(MERGE)] = S(RETURNED),      [A(UNMERGE)] = S(RETURNED), [A(DROP)] = S(RETURNED),
    },
};

Gridrelay__Status gr_case_next(Gridrelay__Status from, Gridrelay__Action action)
{
    if ((int)from < 0 || from >= N_STATUS || (int)action <= 0 || action >= N_ACTION)
        return S(STATUS_UNSPECIFIED);
    return s_next[from][action];
}

bool gr_case_open(Gridrelay__Status status)
{
    return status != S(RESOLVED) && status != S(FED_BACK) && status != S(CLOSED) &&
           status != S(STATUS_UNSPECIFIED);
}

static const char *const s_status_names[N_STATUS] = {
    "none", "reported", "accepted", "dispatched", "assigned", "in_progress",
    "resolved", "fed_back", "closed", "escalated", "returned",
};

static const char *const s_action_names[N_ACTION] = {
    "none", "report", "accept", "dispatch", "assign", "claim", "progress", "return",
    "resolve", "feedback", "close", "escalate", "deadline", "urge", "merge", "unmerge",
    "drop",
};

const char *gr_case_status_name(Gridrelay__Status status)
{
    return (int)status >= 0 && status < N_STATUS ? s_status_names[status] : "unknown";
}

const char *gr_case_action_name(Gridrelay__Action action)
{
    return (int)action >= 0 && action < N_ACTION ? s_action_names[action] : "unknown";
}
