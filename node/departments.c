#include "departments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "log.h"
#include "task.h"
#include "error.h"


struct gr_departments {
    const gr_config_t *cfg;
    gr_engine_t *engine;
    char *notice_endpoint;    /* where department notices are published */
};

gr_departments_t *gr_departments_new(const gr_config_t *cfg, gr_engine_t *engine)
{
    gr_departments_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = cfg;
    self->engine = engine;
    return self;
}

void gr_departments_destroy(gr_departments_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->notice_endpoint);
    free(*self_p);
    *self_p = NULL;
}

void gr_departments_topic(char *topic, const char *dept)
{
    snprintf(topic, GR_DEPT_TOPIC_MAX, "dept/%s/", dept);
}

int gr_departments_set_notice_endpoint(gr_departments_t *self, const char *endpoint)
{
    char *copy = strdup(endpoint ? endpoint : "");
    if (!copy)
        return GR_ENOMEM;
    free(self->notice_endpoint);
    self->notice_endpoint = copy;
    return 0;
}

/* ---- string lists inside unpacked records (freed by free_unpacked) ---- */

static bool s_has(char *const *list, size_t n, const char *code)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], code) == 0)
            return true;
    return false;
}

static int s_list_add(char ***list, size_t *n, const char *code)
{
    char **grown = realloc(*list, (*n + 1) * sizeof *grown);
    if (!grown)
        return GR_ENOMEM;
    *list = grown;
    if (!(grown[*n] = strdup(code)))
        return GR_ENOMEM;
    (*n)++;
    return 0;
}

static void s_list_remove(char **list, size_t *n, const char *code)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(list[i], code) == 0) {
            free(list[i]);
            memmove(&list[i], &list[i + 1], (*n - i - 1) * sizeof *list);
            (*n)--;
            return;
        }
    }
}

static void s_list_free(char ***list, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*list)[i]);
    free(*list);
    *list = NULL;
    *n = 0;
}

/* ---- routing ---- */

static const char *s_next_candidate(const gr_departments_t *self, const Gridrelay__StoredEvent *rec,
                                    const gr_route_config_t **route_out)
{
    const gr_route_config_t *route = gr_config_route(self->cfg, rec->event->category);
    if (route_out)
        *route_out = route;
    if (!route)
        return NULL;
    const char *candidates[GR_ROUTE_MAX_DEPTS];
    for (size_t i = 0; i < route->n_candidates; i++)
        candidates[i] = route->candidates[i];
    return gr_dept_next(candidates, route->n_candidates, (const char *const *)rec->tried_depts,
                        rec->n_tried_depts);
}

bool gr_departments_untried(const gr_departments_t *self, const Gridrelay__StoredEvent *rec)
{
    return self->cfg->n_routes && !rec->info_only && s_next_candidate(self, rec, NULL) != NULL;
}

/* ---- tasks and notices ---- */

static int s_task_decide(const gr_departments_t *self, const Gridrelay__Task *task,
                         const Gridrelay__StoredEvent *rec, uint64_t now_ms, gr_task_decision_t *d)
{
    gr_tier_t tier = {self->cfg->tier_level, self->cfg->has_parent};
    gr_task_facts_t facts = {
        .severity = (gr_severity_t)rec->event->severity,
        .claimed = task->state == GRIDRELAY__TASK_STATE__TASK_CLAIMED,
        .dispatched_ms = task->dispatched_ms,
        .claimed_ms = task->claimed_ms,
        .urged = task->urged,
        .urged_ms = task->urged_ms,
    };
    return gr_task_decide(d, &tier, &self->cfg->task_deadlines, &facts, now_ms) == 0 ? 0 : GR_EINVAL;
}

/* The newest notice sequence given to dept (0 before the first); kept in
 * the peers database under "dept:<code>", which no node id can be. */
static int s_notice_seq(gr_txn_t *txn, const char *dept, uint64_t *seq, bool next)
{
    char peer[80];
    snprintf(peer, sizeof peer, "dept:%s", dept);
    int rc = gr_store_peer_get(txn, peer, "notice_seq", seq);
    if (rc == 0 && next)
        rc = gr_store_peer_put(txn, peer, "notice_seq", ++*seq);
    return rc;
}

/* Publishes a notice to task->dept after the commit, with the next
 * per-department sequence (persisted, so it survives restarts and a
 * client can tell a gap from a restart). */
static int s_notify(gr_departments_t *self, gr_txn_t *txn, const Gridrelay__Task *task,
                    const Gridrelay__Event *event, Gridrelay__TaskNotice__Kind kind,
                    const char *reason)
{
    uint64_t seq = 0;
    int rc = s_notice_seq(txn, task->dept, &seq, true);
    if (rc != 0)
        return rc;
    Gridrelay__Task copy = *task;
    copy.event = (Gridrelay__Event *)event;
    Gridrelay__TaskNotice notice = GRIDRELAY__TASK_NOTICE__INIT;
    notice.kind = kind;
    notice.seq = seq;
    notice.task = &copy;
    notice.reason = (char *)(reason ? reason : "");
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_TASK_NOTICE;
    body.task_notice = &notice;
    char topic[GR_DEPT_TOPIC_MAX];
    gr_departments_topic(topic, task->dept);
    return gr_engine_notice(self->engine, topic, &body);
}

/* Creates dept's task for rec and tells the department. Only the lead's
 * task carries a timer: the case's deadlines are the lead's. */
static int s_open_task(gr_departments_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                       const char *dept, bool lead, const char *reason, uint64_t now_ms)
{
    Gridrelay__Task task = GRIDRELAY__TASK__INIT;
    task.event_id = rec->event->id;
    task.dept = (char *)dept;
    task.lead = lead;
    task.state = GRIDRELAY__TASK_STATE__TASK_OPEN;
    task.node_id = (char *)self->cfg->node_id;
    task.dispatched_ms = now_ms;
    task.reason = (char *)reason;
    if (lead) {
        task.co_depts = rec->co_depts;
        task.n_co_depts = rec->n_co_depts;
    } else {
        task.lead_dept = rec->dept;
    }
    gr_task_decision_t d = {0};
    int rc = lead ? s_task_decide(self, &task, rec, now_ms, &d) : 0;
    task.due_ms = d.due_ms;
    if (lead)
        rec->task_due_ms = d.due_ms;  /* for the supervision list, here and above */
    if (rc == 0)
        rc = gr_store_task_put(txn, &task);
    if (rc == 0)
        rc = s_notify(self, txn, &task, rec->event, GRIDRELAY__TASK_NOTICE__KIND__NEW, reason);
    if (rc == 0 && d.due_ms)
        rc = gr_store_due_put(txn, d.due_ms, GR_DUE_TASK, rec->event->id);
    return rc;
}

/* Ends dept's task for rec; with notify, tells the department it is
 * withdrawn. A task already gone is fine. */
static int s_end_task(gr_departments_t *self, gr_txn_t *txn, const Gridrelay__StoredEvent *rec,
                      const char *dept, bool notify, const char *reason)
{
    Gridrelay__Task *task = NULL;
    int rc = gr_store_task_get(txn, dept, rec->event->id, &task);
    if (rc == GR_ENOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    rc = gr_store_task_del(txn, dept, rec->event->id);
    if (rc == 0 && notify)
        rc = s_notify(self, txn, task, rec->event, GRIDRELAY__TASK_NOTICE__KIND__WITHDRAWN, reason);
    gridrelay__task__free_unpacked(task, NULL);
    return rc;
}

int gr_departments_withdraw_all(gr_departments_t *self, gr_txn_t *txn,
                                Gridrelay__StoredEvent *rec, const char *reason)
{
    if (!(rec->dept && *rec->dept) && rec->n_co_depts == 0)
        return 0;
    int rc = 0;
    rec->task_due_ms = 0;
    if (rec->dept && *rec->dept) {
        rc = s_end_task(self, txn, rec, rec->dept, true, reason);
        if (rc == 0)
            rc = gr_engine_set(&rec->dept, "");
    }
    for (size_t i = 0; rc == 0 && i < rec->n_co_depts; i++)
        rc = s_end_task(self, txn, rec, rec->co_depts[i], true, reason);
    if (rc == 0)
        s_list_free(&rec->co_depts, &rec->n_co_depts);
    return rc == 0 ? gr_store_event_update(txn, rec) : rc;
}

/* Co-handlers that stay through a redispatch learn the new lead. */
static int s_set_lead(gr_txn_t *txn, const Gridrelay__StoredEvent *rec, const char *dept,
                      const char *lead)
{
    Gridrelay__Task *task = NULL;
    int rc = gr_store_task_get(txn, dept, rec->event->id, &task);
    if (rc == GR_ENOTFOUND)
        return 0;
    if (rc == 0)
        rc = gr_engine_set(&task->lead_dept, lead);
    if (rc == 0)
        rc = gr_store_task_put(txn, task);
    gridrelay__task__free_unpacked(task, NULL);
    return rc;
}

/* Gives rec to dispatch->lead; with replace, dispatch's co-handlers
 * replace the case's, else those with open tasks keep them. The caller
 * checked that the case may be dispatched in its state. */
static int s_dispatch(gr_departments_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                      const gr_dispatch_t *dispatch, bool replace, uint64_t now_ms)
{
    const char *lead = dispatch->lead;
    size_t nco = replace ? dispatch->n_co : 0;
    int rc = 0;
    if (rec->dept && *rec->dept)
        rc = s_end_task(self, txn, rec, rec->dept, true, "redispatched");
    for (size_t i = 0; rc == 0 && replace && i < rec->n_co_depts; i++)
        rc = s_end_task(self, txn, rec, rec->co_depts[i], true, "co-handlers changed");
    if (rc != 0)
        return rc;
    if (replace) {
        s_list_free(&rec->co_depts, &rec->n_co_depts);
        for (size_t i = 0; i < nco; i++)
            if ((rc = s_list_add(&rec->co_depts, &rec->n_co_depts, dispatch->co[i])) != 0)
                return rc;
    } else if (s_has(rec->co_depts, rec->n_co_depts, lead)) {
        /* A co-handler becomes the lead: one task per department. */
        if ((rc = s_end_task(self, txn, rec, lead, true, "you now lead this case")) != 0)
            return rc;
        s_list_remove(rec->co_depts, &rec->n_co_depts, lead);
    }
    if (!rec->accepted_ms)
        rec->accepted_ms = now_ms;  /* 分流 is the node taking the case on */
    rec->dept_urged = 0;
    if (gr_engine_set(&rec->dept, lead) != 0 || gr_engine_set(&rec->holder, lead) != 0)
        return GR_ENOMEM;
    char reason[512];
    size_t n = (size_t)snprintf(reason, sizeof reason, GR_DISPATCH_REASON_PREFIX "%s (分流)", lead);
    for (size_t i = 0; i < nco && n < sizeof reason; i++)
        n += (size_t)snprintf(reason + n, sizeof reason - n, "%s%s", i ? ", " : "; co-handled by ",
                              dispatch->co[i]);
    if (dispatch->why && *dispatch->why && n < sizeof reason)
        snprintf(reason + n, sizeof reason - n, ": %s", dispatch->why);
    /* The tasks first, so that the change records (and tells the tiers
     * above) the lead task's deadline with it. */
    rc = s_open_task(self, txn, rec, lead, true, reason, now_ms);
    for (size_t i = 0; rc == 0 && i < nco; i++)
        rc = s_open_task(self, txn, rec, dispatch->co[i], false, reason, now_ms);
    for (size_t i = 0; rc == 0 && !replace && i < rec->n_co_depts; i++)
        rc = s_set_lead(txn, rec, rec->co_depts[i], lead);
    if (rc == 0)
        rc = gr_engine_change(self->engine, txn, rec, GRIDRELAY__ACTION__ACTION_DISPATCH,
                              dispatch->actor, reason, now_ms);
    return rc;
}

int gr_departments_dispatch_next(gr_departments_t *self, gr_txn_t *txn,
                                 Gridrelay__StoredEvent *rec, uint64_t now_ms)
{
    const gr_route_config_t *route = NULL;
    const char *lead = s_next_candidate(self, rec, &route);
    if (!lead || !gr_case_next(rec->status, GRIDRELAY__ACTION__ACTION_DISPATCH))
        return GR_ENOTFOUND;
    char why[160];
    gr_dispatch_t dispatch = {.lead = lead, .why = why};
    if (rec->n_tried_depts) {
        snprintf(why, sizeof why, "next department for %s after %s returned it",
                 rec->event->category, rec->tried_depts[rec->n_tried_depts - 1]);
        return s_dispatch(self, txn, rec, &dispatch, false, now_ms);
    }
    /* First dispatch: the route's co-handlers join (any the lead is not). */
    char *co[GR_ROUTE_MAX_DEPTS];
    size_t nco = 0;
    for (size_t i = 0; i < route->n_co; i++)
        if (strcmp(route->co[i], lead) != 0)
            co[nco++] = (char *)route->co[i];
    snprintf(why, sizeof why, "routing table: %s -> %s", route->match, lead);
    dispatch.co = co;
    dispatch.n_co = nco;
    return s_dispatch(self, txn, rec, &dispatch, true, now_ms);
}

int gr_departments_dispatch_to(gr_departments_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                               const gr_dispatch_t *dispatch, uint64_t now_ms, char *refusal,
                               size_t refusal_len)
{
    const char *lead = dispatch->lead;
    if (!lead || !gr_config_dept(self->cfg, lead)) {
        snprintf(refusal, refusal_len, "'%s' is not a department of this node", lead ? lead : "");
        return GR_EINVAL;
    }
    if (dispatch->n_co > GR_ROUTE_MAX_DEPTS) {
        snprintf(refusal, refusal_len, "at most %d co-handling departments", GR_ROUTE_MAX_DEPTS);
        return GR_EINVAL;
    }
    char *const *co = dispatch->co;
    for (size_t i = 0; i < dispatch->n_co; i++) {
        if (!gr_config_dept(self->cfg, co[i]) || strcmp(co[i], lead) == 0 || s_has(co, i, co[i])) {
            snprintf(refusal, refusal_len, "co-handler '%s' is not a department of this node, "
                     "is the lead, or is named twice", co[i]);
            return GR_EINVAL;
        }
    }
    if (!gr_case_next(rec->status, GRIDRELAY__ACTION__ACTION_DISPATCH))
        return GR_EPERM;  /* before any write: a refusal changes nothing */
    const char *who = dispatch->actor && dispatch->actor->name ? dispatch->actor->name
                                                                : self->cfg->node_id;
    char text[512];
    snprintf(text, sizeof text, "by %s%s%s", who, dispatch->why && *dispatch->why ? ": " : "",
             dispatch->why ? dispatch->why : "");
    gr_dispatch_t with_text = *dispatch;
    with_text.why = text;
    return s_dispatch(self, txn, rec, &with_text, dispatch->n_co > 0, now_ms);
}

/* ---- a department's actions ---- */

/* The department that acted, in the timeline. */
static gr_actor_t s_actor(const gr_request_t *req, const char *dept)
{
    return (gr_actor_t){dept, req->opened->envelope->signer.data, req->opened->hash};
}

/* The lead department's action on the case. */
static int s_lead_action(gr_departments_t *self, const gr_request_t *req,
                         Gridrelay__StoredEvent *rec, Gridrelay__Task *task)
{
    const Gridrelay__TaskAction *ta = req->opened->body->task_action;
    gr_txn_t *txn = req->txn;
    uint64_t now_ms = req->now_ms;
    const char *dept = task->dept;
    gr_actor_t actor = s_actor(req, dept);
    const char *text = ta->text && *ta->text ? ta->text : NULL;
    char reason[768];
    int rc;
    switch (ta->kind) {
    case GRIDRELAY__TASK_ACTION__KIND__CLAIM: {
        task->state = GRIDRELAY__TASK_STATE__TASK_CLAIMED;
        task->claimed_ms = now_ms;
        task->urged = 0;
        task->urged_ms = 0;
        gr_task_decision_t d;
        if ((rc = s_task_decide(self, task, rec, now_ms, &d)) != 0)
            return rc;
        task->due_ms = d.due_ms;
        rec->task_due_ms = d.due_ms;
        snprintf(reason, sizeof reason, "claimed by %s (签收)%s%s", dept, text ? ": " : "",
                 text ? text : "");
        rc = gr_engine_change(self->engine, txn, rec, GRIDRELAY__ACTION__ACTION_CLAIM, &actor,
                              reason, now_ms);
        if (rc == 0)
            rc = gr_store_task_put(txn, task);
        if (rc == 0 && d.due_ms)
            rc = gr_store_due_put(txn, d.due_ms, GR_DUE_TASK, rec->event->id);
        return rc;
    }
    case GRIDRELAY__TASK_ACTION__KIND__RETURN:
        rec->task_due_ms = 0;
        if ((rc = s_end_task(self, txn, rec, dept, true, "you returned it")) != 0 ||
            (rc = s_list_add(&rec->tried_depts, &rec->n_tried_depts, dept)) != 0 ||
            (rc = gr_engine_set(&rec->dept, "")) != 0 ||
            (rc = gr_engine_set(&rec->holder, self->cfg->node_id)) != 0)
            return rc;
        snprintf(reason, sizeof reason, "returned by %s (退回): %s", dept, text);
        rc = gr_engine_change(self->engine, txn, rec, GRIDRELAY__ACTION__ACTION_RETURN, &actor,
                              reason, now_ms);
        /* The router picks the next department, or sends the case up. */
        return rc != 0 ? rc : gr_engine_then_decide(self->engine, rec->event->id, false, NULL);
    case GRIDRELAY__TASK_ACTION__KIND__COMPLETE: {
        rec->task_due_ms = 0;
        if ((rc = s_end_task(self, txn, rec, dept, true, "you completed it")) != 0 ||
            (rc = gr_engine_set(&rec->dept, "")) != 0 || (rc = gr_engine_set(&rec->result, text)) != 0 ||
            (rc = gr_engine_set(&rec->resolved_by, self->cfg->node_id)) != 0 ||
            (rc = gr_engine_set(&rec->resolver, dept)) != 0)
            return rc;
        snprintf(reason, sizeof reason, "resolved by %s at %s (办结): %s", dept, self->cfg->node_id,
                 text);
        /* Leaving the departments' hands withdraws the co-handlers' tasks. */
        rc = gr_engine_change(self->engine, txn, rec, GRIDRELAY__ACTION__ACTION_RESOLVE, &actor,
                              reason, now_ms);
        gr_next_t result = {.kind = GR_NEXT_RESULT};
        snprintf(result.event_id, sizeof result.event_id, "%s", rec->event->id);
        return rc != 0 ? rc : gr_engine_then(self->engine, &result);
    }
    default:  /* NOTE; the kind was checked (node/check) */
        snprintf(reason, sizeof reason, "progress from %s: %s", dept, text);
        return gr_engine_change(self->engine, txn, rec, GRIDRELAY__ACTION__ACTION_PROGRESS, &actor,
                                reason, now_ms);
    }
}

/* A co-handler's action: its share of the work, kept in the timeline. */
static int s_co_action(gr_departments_t *self, const gr_request_t *req,
                       Gridrelay__StoredEvent *rec, Gridrelay__Task *task)
{
    const Gridrelay__TaskAction *ta = req->opened->body->task_action;
    gr_txn_t *txn = req->txn;
    const char *dept = task->dept;
    const char *text = ta->text && *ta->text ? ta->text : "";
    char reason[768];
    int rc = 0;
    switch (ta->kind) {
    case GRIDRELAY__TASK_ACTION__KIND__CLAIM:
        task->state = GRIDRELAY__TASK_STATE__TASK_CLAIMED;
        task->claimed_ms = req->now_ms;
        rc = gr_store_task_put(txn, task);
        snprintf(reason, sizeof reason, "co-handler %s claimed its part%s%s", dept, *text ? ": " : "", text);
        break;
    case GRIDRELAY__TASK_ACTION__KIND__RETURN:
    case GRIDRELAY__TASK_ACTION__KIND__COMPLETE:
        /* Every end of a task is told, so each of the department's
         * watchers (not only the one that acted) drops it at once. */
        rc = s_end_task(self, txn, rec, dept, true,
                        ta->kind == GRIDRELAY__TASK_ACTION__KIND__RETURN ? "you returned your part"
                                                                          : "you completed your part");
        s_list_remove(rec->co_depts, &rec->n_co_depts, dept);
        snprintf(reason, sizeof reason, "co-handler %s %s its part: %s", dept,
                 ta->kind == GRIDRELAY__TASK_ACTION__KIND__RETURN ? "returned" : "completed", text);
        break;
    default:  /* NOTE */
        snprintf(reason, sizeof reason, "co-handler %s: %s", dept, text);
        break;
    }
    if (rc != 0)
        return rc;
    gr_actor_t actor = s_actor(req, dept);
    return gr_engine_change(self->engine, txn, rec, GRIDRELAY__ACTION__ACTION_PROGRESS, &actor,
                            reason, req->now_ms);
}

/* The lifecycle action a department's action amounts to, to check it
 * against the case's state before anything is written. */
static Gridrelay__Action s_case_action_of(const Gridrelay__Task *task, Gridrelay__TaskAction__Kind kind)
{
    if (!task->lead || kind == GRIDRELAY__TASK_ACTION__KIND__NOTE)
        return GRIDRELAY__ACTION__ACTION_PROGRESS;
    switch (kind) {
    case GRIDRELAY__TASK_ACTION__KIND__CLAIM: return GRIDRELAY__ACTION__ACTION_CLAIM;
    case GRIDRELAY__TASK_ACTION__KIND__RETURN: return GRIDRELAY__ACTION__ACTION_RETURN;
    case GRIDRELAY__TASK_ACTION__KIND__COMPLETE: return GRIDRELAY__ACTION__ACTION_RESOLVE;
    default: return GRIDRELAY__ACTION__ACTION_UNSPECIFIED;
    }
}

int gr_departments_task_action(gr_departments_t *self, const gr_request_t *req)
{
    const Gridrelay__TaskAction *ta = req->opened->body->task_action;
    uint64_t ref = gr_request_seq(req);
    const char *dept = req->opened->signer->name;
    if (ta->kind != GRIDRELAY__TASK_ACTION__KIND__CLAIM && (!ta->text || !*ta->text))
        return gr_reply_error(req->reply, ref, GR_EINVAL,
                              "a note, return or completion needs its text (progress, reason, result)");
    Gridrelay__Task *task = NULL;
    int rc = gr_store_task_get(req->txn, dept, ta->event_id, &task);
    if (rc == GR_ENOTFOUND) {
        gr_log(GR_LOG_WARN, ta->event_id, "department %s acted on a task it does not hold", dept);
        return gr_reply_error(req->reply, ref, GR_EPERM,
                              "no open task of this department for that case");
    }
    if (rc != 0)
        return rc;
    Gridrelay__StoredEvent *rec = NULL;
    if ((rc = gr_store_event_get(req->txn, ta->event_id, &rec)) != 0) {
        gridrelay__task__free_unpacked(task, NULL);
        return rc == GR_ENOTFOUND ? GR_ESTORE : rc;  /* a task without its case: damage */
    }
    if (ta->kind == GRIDRELAY__TASK_ACTION__KIND__CLAIM &&
        task->state == GRIDRELAY__TASK_STATE__TASK_CLAIMED) {
        rc = gr_reply_ack(req->reply, ref, rec->event->id, true, rec->status);  /* same answer */
    } else if (!gr_case_next(rec->status, s_case_action_of(task, ta->kind))) {
        rc = gr_reply_error(req->reply, ref, GR_EPERM, "not allowed in the case's state");
    } else {
        rc = task->lead ? s_lead_action(self, req, rec, task) : s_co_action(self, req, rec, task);
        /* Store failures go up (the request is undone); refusals are answers. */
        if (rc == 0)
            rc = gr_reply_ack(req->reply, ref, rec->event->id, false, rec->status);
        else if (rc != GR_EMAPFULL && rc != GR_ESTORE && rc != GR_ENOMEM)
            rc = gr_reply_error(req->reply, ref, rc, NULL);
    }
    gridrelay__task__free_unpacked(task, NULL);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    return rc;
}

/* ---- supervision ---- */

int gr_departments_urge(gr_departments_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                        const char *note, uint64_t now_ms)
{
    if (!rec->dept || !*rec->dept)
        return GR_ENOTFOUND;
    Gridrelay__Task *task = NULL;
    int rc = gr_store_task_get(txn, rec->dept, rec->event->id, &task);
    if (rc != 0)
        return rc;
    task->urged++;
    task->urged_ms = now_ms;
    rec->dept_urged++;
    if ((rc = gr_store_task_put(txn, task)) == 0 && (rc = gr_store_event_update(txn, rec)) == 0)
        rc = s_notify(self, txn, task, rec->event, GRIDRELAY__TASK_NOTICE__KIND__URGED, note);
    gridrelay__task__free_unpacked(task, NULL);
    return rc;
}

/* ---- timers ---- */

int gr_departments_fire(gr_departments_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                        uint64_t now_ms)
{
    if (!rec->dept || !*rec->dept)
        return 0;  /* the case left the departments since */
    Gridrelay__Task *task = NULL;
    int rc = gr_store_task_get(txn, rec->dept, rec->event->id, &task);
    if (rc == GR_ENOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    gr_task_decision_t d;
    char why[256];
    const char *phase = task->state == GRIDRELAY__TASK_STATE__TASK_CLAIMED ? "completed" : "claimed";
    if ((rc = s_task_decide(self, task, rec, now_ms, &d)) != 0)
        goto out;
    switch (d.action) {
    case GR_TASK_WAIT:
        if (d.due_ms)
            rc = gr_store_due_put(txn, d.due_ms, GR_DUE_TASK, rec->event->id);
        break;
    case GR_TASK_URGE:
        /* The case keeps the phase's first deadline: how late the
         * department is does not shrink with every notice. */
        task->urged++;
        task->urged_ms = now_ms;
        task->due_ms = d.due_ms;
        rec->dept_urged++;
        snprintf(why, sizeof why, "%s has not %s the task in time: supervision notice %u (督办)",
                 task->dept, phase, task->urged);
        if ((rc = gr_store_task_put(txn, task)) == 0 &&
            (rc = gr_engine_change(self->engine, txn, rec, GRIDRELAY__ACTION__ACTION_URGE, NULL,
                                   why, now_ms)) == 0 &&
            (rc = s_notify(self, txn, task, rec->event, GRIDRELAY__TASK_NOTICE__KIND__URGED, why)) == 0 &&
            d.due_ms)
            rc = gr_store_due_put(txn, d.due_ms, GR_DUE_TASK, rec->event->id);
        break;
    case GR_TASK_ESCALATE: {
        gr_next_t overdue = {.kind = GR_NEXT_OVERDUE, .reason = d.reason};
        snprintf(overdue.event_id, sizeof overdue.event_id, "%s", rec->event->id);
        snprintf(overdue.why, sizeof overdue.why,
                 "%s has still not %s the task after a supervision notice", task->dept, phase);
        rc = gr_engine_then(self->engine, &overdue);
        break;
    }
    }
out:
    gridrelay__task__free_unpacked(task, NULL);
    return rc;
}

/* ---- ListTasks ---- */

typedef struct {
    gr_txn_t *txn;
    Gridrelay__Task **tasks;
    size_t count;
    size_t limit;
    size_t bytes;
    size_t budget;
    bool more;
    bool hide_confidential;     /* an operator's or viewer's listing */
    const gr_catalogue_t *catalogue;
    int rc;
} s_listing_t;

/* Copies task with its event into the listing (records read from LMDB die
 * with the visit, so each is repacked into a Task of its own). */
static int s_list_visit(void *ctx, const Gridrelay__Task *task)
{
    s_listing_t *l = ctx;
    if (l->count == l->limit) {
        l->more = true;
        return 1;
    }
    Gridrelay__StoredEvent *rec = NULL;
    int rc = gr_store_event_get(l->txn, task->event_id, &rec);
    if (rc != 0) {
        l->rc = rc;
        return 1;
    }
    const gr_category_t *cat = l->hide_confidential && rec->event
        ? gr_catalogue_find(l->catalogue, rec->event->category) : NULL;
    if (cat && cat->confidential) {
        gridrelay__stored_event__free_unpacked(rec, NULL);
        return 0;
    }
    Gridrelay__Task full = *task;
    full.event = rec->event;
    size_t len = gridrelay__task__get_packed_size(&full);
    if (l->count > 0 && l->bytes + len > l->budget) {
        gridrelay__stored_event__free_unpacked(rec, NULL);
        l->more = true;
        return 1;
    }
    Gridrelay__Task *copy = gr_message_dup(&full.base);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    if (!copy) {
        l->rc = GR_ENOMEM;
        return 1;
    }
    l->tasks[l->count++] = copy;
    l->bytes += len;
    return 0;
}

int gr_departments_list_tasks(gr_departments_t *self, const gr_request_t *req)
{
    const Gridrelay__ListTasks *lt = req->opened->body->list_tasks;
    const char *dept = req->opened->signer->name;
    uint64_t ref = gr_request_seq(req);
    gr_txn_t *txn = req->txn;
    gr_reply_t *reply = req->reply;
    /* A department lists its own queue; an operator or viewer (the command
     * view) names one of this node's departments, and sees no confidential
     * case in it ([confidential] names operators per case, not per queue). */
    bool own = req->opened->signer->access & GR_ACCESS_DEPARTMENT;
    if (!own) {
        const gr_dept_config_t *d = lt && lt->dept && *lt->dept
            ? gr_config_dept(self->cfg, lt->dept) : NULL;
        if (!d)
            return gr_reply_error(reply, ref, GR_ENOTFOUND,
                                  "list_tasks.dept names no department of this node");
        dept = d->code;
    }
    size_t limit = lt && lt->limit ? lt->limit : GR_LIST_DEFAULT;
    if (limit > GR_LIST_MAX)
        limit = GR_LIST_MAX;
    s_listing_t l = {.txn = txn, .limit = limit, .budget = self->cfg->max_frame / 2,
                     .hide_confidential = !own, .catalogue = self->cfg->catalogue};
    if (!(l.tasks = calloc(limit, sizeof *l.tasks)))
        return GR_ENOMEM;
    int rc = gr_store_task_scan(txn, dept, lt ? lt->after_event_id : NULL, limit + 1, s_list_visit, &l);
    if (rc == GR_EINVAL) {
        rc = gr_reply_error(reply, ref, GR_EINVAL, "after_event_id is not an event id");
        goto out;
    }
    if (rc < 0 || (rc = l.rc) != 0)
        goto out;
    Gridrelay__TaskList list = GRIDRELAY__TASK_LIST__INIT;
    if ((rc = s_notice_seq(txn, dept, &list.notice_seq, false)) != 0)
        goto out;
    list.ref_seq = ref;
    list.dept = (char *)dept;
    list.tasks = l.tasks;
    list.n_tasks = l.count;
    list.more = l.more;
    list.notice_endpoint = self->notice_endpoint ? self->notice_endpoint : "";
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_TASK_LIST;
    body.task_list = &list;
    rc = gr_reply_pack(reply, &body);
out:
    for (size_t i = 0; i < l.count; i++)
        gridrelay__task__free_unpacked(l.tasks[i], NULL);
    free(l.tasks);
    return rc;
}
