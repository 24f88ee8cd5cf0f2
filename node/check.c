#include "check.h"

#include <stdio.h>
#include <string.h>

#include "daily.h"
#include "error.h"
#include "event.h"
#include "event_id.h"
#include "wire.h"

bool gr_check_id(const char *s, bool optional)
{
    if (!s || !*s)
        return optional;
    return gr_event_id_valid(s);
}

/* Each failed check says which field, never what it held. */
static int s_fail(char *why, size_t why_len, const char *field, const char *what)
{
    snprintf(why, why_len, "%s %s", field, what);
    return GR_EINVAL;
}

#define S_ID "must be 1..64 characters of [A-Za-z0-9._-]"
#define S_ID_OR_EMPTY "must be empty or 1..64 characters of [A-Za-z0-9._-]"

static int s_id(const char *s, bool optional, const char *field, char *why, size_t why_len)
{
    return gr_check_id(s, optional) ? 0 : s_fail(why, why_len, field, optional ? S_ID_OR_EMPTY : S_ID);
}

static int s_text(const char *s, size_t max, const char *field, char *why, size_t why_len)
{
    if (s && strlen(s) > max) {
        char what[64];
        snprintf(what, sizeof what, "is longer than %zu bytes", max);
        return s_fail(why, why_len, field, what);
    }
    return 0;
}

static int s_token(const char *s, const char *field, char *why, size_t why_len)
{
    return s_text(s, GR_PAGE_TOKEN_MAX - 1, field, why, why_len);
}

static bool s_status_ok(int status)
{
    return status >= GRIDRELAY__STATUS__STATUS_UNSPECIFIED && status <= GRIDRELAY__STATUS__RETURNED;
}

static bool s_severity_ok(int severity)
{
    return severity >= GRIDRELAY__SEVERITY__SEVERITY_UNSPECIFIED &&
           severity <= GRIDRELAY__SEVERITY__EXTRA_URGENT;
}

static int s_case_action(const Gridrelay__CaseAction *ca, char *why, size_t why_len)
{
    int rc;
    if (!ca)
        return s_fail(why, why_len, "case_action", "is empty");
    if ((rc = s_id(ca->event_id, false, "case_action.event_id", why, why_len)) != 0)
        return rc;
    if (ca->kind < GRIDRELAY__CASE_ACTION__KIND__ACCEPT ||
        ca->kind > GRIDRELAY__CASE_ACTION__KIND__UNMERGE)
        return s_fail(why, why_len, "case_action.kind", "is not a known action");
    if ((rc = s_text(ca->text, GR_CHECK_TEXT_MAX, "case_action.text", why, why_len)) != 0 ||
        (rc = s_id(ca->target, true, "case_action.target", why, why_len)) != 0)
        return rc;
    if (ca->kind == GRIDRELAY__CASE_ACTION__KIND__MERGE && !*ca->target)
        return s_fail(why, why_len, "case_action.target", "must name the case to merge into");
    if (ca->n_co > 16)
        return s_fail(why, why_len, "case_action.co", "names more than 16 departments");
    for (size_t i = 0; i < ca->n_co; i++)
        if ((rc = s_id(ca->co[i], false, "case_action.co", why, why_len)) != 0)
            return rc;
    return 0;
}

static int s_task_action(const Gridrelay__TaskAction *ta, char *why, size_t why_len)
{
    int rc;
    if (!ta)
        return s_fail(why, why_len, "task_action", "is empty");
    if ((rc = s_id(ta->event_id, false, "task_action.event_id", why, why_len)) != 0)
        return rc;
    if (ta->kind < GRIDRELAY__TASK_ACTION__KIND__CLAIM ||
        ta->kind > GRIDRELAY__TASK_ACTION__KIND__COMPLETE)
        return s_fail(why, why_len, "task_action.kind", "is not a known action");
    return s_text(ta->text, GR_CHECK_TEXT_MAX, "task_action.text", why, why_len);
}

static int s_resolved(const Gridrelay__Resolved *r, const char *field, char *why, size_t why_len)
{
    if (!r)
        return 0;
    if (!gr_check_id(r->event_id, true) || !gr_check_id(r->origin_node, true) ||
        !s_severity_ok(r->severity))
        return s_fail(why, why_len, field, "holds a malformed id or severity");
    return 0;
}

static int s_escalate(const Gridrelay__Escalate *esc, char *why, size_t why_len)
{
    if (!esc)
        return s_fail(why, why_len, "escalate", "is empty");
    if (esc->n_hops == 0 || esc->n_hops > GR_CHECK_HOPS_MAX)
        return s_fail(why, why_len, "escalate.hops", "must hold 1..16 hops");
    if (!s_status_ok(esc->status_below))
        return s_fail(why, why_len, "escalate.status_below", "is not a known status");
    for (size_t i = 0; i < esc->n_hops; i++) {
        const Gridrelay__Hop *hop = esc->hops[i];
        int rc;
        if ((rc = s_id(hop->node_id, false, "escalate.hops.node_id", why, why_len)) != 0 ||
            (rc = s_text(hop->reason, 64, "escalate.hops.reason", why, why_len)) != 0 ||
            (rc = s_resolved(hop->resolved, "escalate.hops.resolved", why, why_len)) != 0)
            return rc;
        if (hop->resolved && i != 0)
            return s_fail(why, why_len, "escalate.hops.resolved", "may only be in the first hop");
    }
    if (esc->n_merged > GR_CHECK_MERGED_MAX)
        return s_fail(why, why_len, "escalate.merged", "holds more than 32 merged reports");
    for (size_t i = 0; i < esc->n_merged; i++) {
        const Gridrelay__MergedReport *m = esc->merged[i];
        int rc;
        if (m->origin_envelope.len == 0)
            return s_fail(why, why_len, "escalate.merged.origin_envelope", "is empty");
        if (m->n_hops > GR_CHECK_HOPS_MAX)
            return s_fail(why, why_len, "escalate.merged.hops", "holds more than 16 hops");
        if ((rc = s_id(m->merged_at, false, "escalate.merged.merged_at", why, why_len)) != 0 ||
            (rc = s_text(m->merged_by, 64, "escalate.merged.merged_by", why, why_len)) != 0 ||
            (rc = s_resolved(m->resolved, "escalate.merged.resolved", why, why_len)) != 0)
            return rc;
        for (size_t j = 0; j < m->n_hops; j++)
            if ((rc = s_id(m->hops[j]->node_id, false, "escalate.merged.hops.node_id", why,
                           why_len)) != 0 ||
                (rc = s_text(m->hops[j]->reason, 64, "escalate.merged.hops.reason", why,
                             why_len)) != 0)
                return rc;
    }
    return 0;
}

static int s_assign(const Gridrelay__Assign *as, char *why, size_t why_len)
{
    int rc;
    if (!as)
        return s_fail(why, why_len, "assign", "is empty");
    if ((rc = s_id(as->event_id, true, "assign.event_id", why, why_len)) != 0 ||
        (rc = s_id(as->from_node, true, "assign.from_node", why, why_len)) != 0 ||
        (rc = s_text(as->reason, GR_CHECK_TEXT_MAX, "assign.reason", why, why_len)) != 0)
        return rc;
    return s_resolved(as->resolved, "assign.resolved", why, why_len);
}

static int s_feedback(const Gridrelay__Feedback *fb, char *why, size_t why_len)
{
    int rc;
    if (!fb)
        return s_fail(why, why_len, "feedback", "is empty");
    if ((rc = s_id(fb->event_id, false, "feedback.event_id", why, why_len)) != 0 ||
        (rc = s_id(fb->resolved_by, true, "feedback.resolved_by", why, why_len)) != 0 ||
        (rc = s_text(fb->resolver, GR_EVENT_FIELD_MAX, "feedback.resolver", why, why_len)) != 0 ||
        (rc = s_text(fb->result, GR_CHECK_TEXT_MAX, "feedback.result", why, why_len)) != 0)
        return rc;
    if (!s_status_ok(fb->outcome))
        return s_fail(why, why_len, "feedback.outcome", "is not a known status");
    return 0;
}

static int s_supervise(const Gridrelay__Supervise *sv, char *why, size_t why_len)
{
    int rc;
    if (!sv)
        return s_fail(why, why_len, "supervise", "is empty");
    if ((rc = s_id(sv->event_id, false, "supervise.event_id", why, why_len)) != 0 ||
        (rc = s_id(sv->by_node, true, "supervise.by_node", why, why_len)) != 0)
        return rc;
    return s_text(sv->reason, GR_CHECK_TEXT_MAX, "supervise.reason", why, why_len);
}

int gr_check_status_update(const Gridrelay__StatusUpdate *u, char *why, size_t why_len)
{
    int rc;
    if ((rc = s_id(u->node_id, false, "status_update.node_id", why, why_len)) != 0 ||
        (rc = s_id(u->event_id, false, "status_update.event_id", why, why_len)) != 0 ||
        (rc = s_id(u->holder, true, "status_update.holder", why, why_len)) != 0 ||
        (rc = s_id(u->category, true, "status_update.category", why, why_len)) != 0 ||
        (rc = s_id(u->origin_node, true, "status_update.origin_node", why, why_len)) != 0 ||
        (rc = s_id(u->via_node, true, "status_update.via_node", why, why_len)) != 0 ||
        (rc = s_text(u->title, GR_EVENT_TITLE_MAX, "status_update.title", why, why_len)) != 0)
        return rc;
    if (!s_status_ok(u->status) || !s_severity_ok(u->severity))
        return s_fail(why, why_len, "status_update", "holds an unknown status or severity");
    return 0;
}

static int s_list_events(const Gridrelay__ListEvents *le, char *why, size_t why_len)
{
    int rc;
    if (!le)
        return 0;
    if ((rc = s_id(le->category, true, "list_events.category", why, why_len)) != 0 ||
        (rc = s_token(le->page_token, "list_events.page_token", why, why_len)) != 0)
        return rc;
    if (!s_status_ok(le->status) || !s_severity_ok(le->severity))
        return s_fail(why, why_len, "list_events", "filters on an unknown status or severity");
    return 0;
}

int gr_check_body(const Gridrelay__Body *body, uint64_t now_ms, char *why, size_t why_len)
{
    int rc;
    switch (body->kind_case) {
    case GRIDRELAY__BODY__KIND_REPORT:
        return gr_event_check(body->report ? body->report->event : NULL, now_ms, why, why_len);
    case GRIDRELAY__BODY__KIND_CASE_ACTION:
        return s_case_action(body->case_action, why, why_len);
    case GRIDRELAY__BODY__KIND_TASK_ACTION:
        return s_task_action(body->task_action, why, why_len);
    case GRIDRELAY__BODY__KIND_ESCALATE:
        return s_escalate(body->escalate, why, why_len);
    case GRIDRELAY__BODY__KIND_ASSIGN:
        return s_assign(body->assign, why, why_len);
    case GRIDRELAY__BODY__KIND_FEEDBACK:
        return s_feedback(body->feedback, why, why_len);
    case GRIDRELAY__BODY__KIND_SUPERVISE:
        return s_supervise(body->supervise, why, why_len);
    case GRIDRELAY__BODY__KIND_GET_EVENT:
        return s_id(body->get_event ? body->get_event->event_id : NULL, false, "get_event.event_id",
                    why, why_len);
    case GRIDRELAY__BODY__KIND_LIST_EVENTS:
        return s_list_events(body->list_events, why, why_len);
    case GRIDRELAY__BODY__KIND_LIST_VIEW:
        if (!body->list_view)
            return 0;
        if ((rc = s_id(body->list_view->node_id, true, "list_view.node_id", why, why_len)) != 0)
            return rc;
        return s_token(body->list_view->page_token, "list_view.page_token", why, why_len);
    case GRIDRELAY__BODY__KIND_LIST_TASKS:
        if (!body->list_tasks)
            return 0;
        if ((rc = s_id(body->list_tasks->after_event_id, true, "list_tasks.after_event_id", why,
                       why_len)) != 0)
            return rc;
        return s_id(body->list_tasks->dept, true, "list_tasks.dept", why, why_len);
    case GRIDRELAY__BODY__KIND_URGE: {
        const Gridrelay__Urge *u = body->urge;
        if (!u)
            return s_fail(why, why_len, "urge", "is empty");
        if ((rc = s_id(u->event_id, false, "urge.event_id", why, why_len)) != 0 ||
            (rc = s_id(u->by_node, false, "urge.by_node", why, why_len)) != 0 ||
            (rc = s_text(u->by, GR_EVENT_FIELD_MAX, "urge.by", why, why_len)) != 0)
            return rc;
        return s_text(u->note, GR_CHECK_TEXT_MAX, "urge.note", why, why_len);
    }
    case GRIDRELAY__BODY__KIND_AUDIT_EXPORT:
        return s_id(body->audit_export ? body->audit_export->event_id : NULL, false,
                    "audit_export.event_id", why, why_len);
    case GRIDRELAY__BODY__KIND_LIST_DAILY:
    case GRIDRELAY__BODY__KIND_DAILY_SUMMARY:
        return gr_daily_check(body, why, why_len);
    case GRIDRELAY__BODY__KIND_HEARTBEAT:
        return body->heartbeat ? s_id(body->heartbeat->node_id, true, "heartbeat.node_id", why,
                                      why_len)
                               : 0;
    default:
        return 0;  /* no fields to check, or a kind the node refuses anyway */
    }
}
