#include "actions.h"

#include <stdio.h>
#include <string.h>

#include "cases.h"
#include "error.h"
#include "log.h"
#include "merge.h"
#include "supervision.h"

/* An urge (督办通知) for a case held below this node, which the node does
 * not hold itself: it goes down the way the view says, and is recorded
 * here in the urge log. */
static int s_urge_below(const gr_actions_t *self, const gr_request_t *req, const gr_actor_t *actor,
                        const Gridrelay__Urge *urge)
{
    const Gridrelay__CaseAction *ca = req->opened->body->case_action;
    uint64_t ref = gr_request_seq(req);
    gr_below_t below;
    int rc = gr_supervision_find_below(req->txn, ca->event_id, &below, NULL);
    if (rc != 0)
        return rc;
    if (!below.found)
        return gr_reply_error(req->reply, ref, GR_ENOTFOUND, "no such case here or below");
    if (!below.open) {
        char why[160];
        snprintf(why, sizeof why, "the case is %s at %s: nothing to urge",
                 gr_case_status_name(below.status), below.node_id);
        return gr_reply_error(req->reply, ref, GR_EPERM, why);
    }
    if ((rc = gr_tierlink_urge_down(self->tierlink, req->txn, below.via_child, urge)) != 0)
        return rc;
    char reason[768];
    snprintf(reason, sizeof reason, "urged %s at %s (督办)%s%s", below.holder, below.node_id,
             *urge->note ? ": " : "", urge->note);
    Gridrelay__TimelineEntry entry = GRIDRELAY__TIMELINE_ENTRY__INIT;
    entry.time_ms = req->now_ms;
    entry.actor.data = (uint8_t *)actor->pk;
    entry.actor.len = GR_PUBLIC_KEY_BYTES;
    entry.actor_name = (char *)actor->name;
    entry.unit = (char *)self->cfg->node_id;
    entry.action = GRIDRELAY__ACTION__ACTION_URGE;
    entry.reason = reason;
    entry.envelope_hash.data = (uint8_t *)actor->envelope_hash;
    entry.envelope_hash.len = 32;
    if ((rc = gr_store_urge_put(req->txn, ca->event_id, &entry)) != 0)
        return rc;
    gr_log(GR_LOG_INFO, ca->event_id, "%s, sent down through %s", reason, below.via_child);
    return gr_reply_ack(req->reply, ref, ca->event_id, false, below.status);
}

/* An urge at this node: to the department holding the case, or down to the
 * child it was assigned to, or (not held here) down to where it is. */
static int s_urge(const gr_actions_t *self, const gr_request_t *req, Gridrelay__StoredEvent *rec,
                  const gr_actor_t *actor, char *refusal, size_t refusal_len)
{
    const Gridrelay__CaseAction *ca = req->opened->body->case_action;
    Gridrelay__Urge urge = GRIDRELAY__URGE__INIT;
    urge.event_id = ca->event_id;
    urge.by_node = (char *)self->cfg->node_id;
    urge.by = (char *)actor->name;
    urge.note = ca->text;
    urge.time_ms = req->now_ms;
    if (!rec)
        return s_urge_below(self, req, actor, &urge);
    bool assigned = rec->status == GRIDRELAY__STATUS__ASSIGNED && rec->assigned_to && *rec->assigned_to;
    bool with_dept = rec->dept && *rec->dept && gr_case_open(rec->status);
    if (!assigned && !with_dept) {
        if (rec->status == GRIDRELAY__STATUS__ESCALATED)
            snprintf(refusal, refusal_len, "the case was escalated to %s: it is held above, not below",
                     rec->escalated_to && *rec->escalated_to ? rec->escalated_to : "the parent");
        else if (!gr_case_open(rec->status))
            snprintf(refusal, refusal_len, "the case is %s here: nothing to urge",
                     gr_case_status_name(rec->status));
        else
            snprintf(refusal, refusal_len, "the case is held here, at %s, not below: accept, "
                     "dispatch or assign it", self->cfg->node_id);
        return GR_EPERM;
    }
    char reason[768];
    snprintf(reason, sizeof reason, "urged %s (督办)%s%s", assigned ? rec->assigned_to : rec->dept,
             *urge.note ? ": " : "", urge.note);
    int rc = gr_engine_change(self->engine, req->txn, rec, GRIDRELAY__ACTION__ACTION_URGE, actor,
                              reason, req->now_ms);
    if (rc == 0)
        rc = assigned ? gr_tierlink_urge_down(self->tierlink, req->txn, rec->assigned_to, &urge)
                      : gr_departments_urge(self->departments, req->txn, rec, reason, req->now_ms);
    return rc;
}

int gr_actions_handle(const gr_actions_t *self, const gr_request_t *req)
{
    const Gridrelay__CaseAction *ca = req->opened->body->case_action;
    uint64_t ref = gr_request_seq(req);
    gr_txn_t *txn = req->txn;
    uint64_t now_ms = req->now_ms;
    Gridrelay__StoredEvent *rec = NULL;
    int rc = gr_store_event_get(txn, ca->event_id, &rec);
    if (rc == GR_ENOTFOUND && ca->kind == GRIDRELAY__CASE_ACTION__KIND__URGE) {
        gr_actor_t actor = {req->opened->signer->name, req->opened->envelope->signer.data,
                            req->opened->hash};
        char refusal[200] = "";
        rc = s_urge(self, req, NULL, &actor, refusal, sizeof refusal);
        return rc;
    }
    if (rc == GR_ENOTFOUND)
        return gr_reply_error(req->reply, ref, rc, "no such case on this node");
    if (rc != 0)
        return rc;
    const char *who = req->opened->signer->name;
    gr_actor_t actor = {who, req->opened->envelope->signer.data, req->opened->hash};
    const char *text = ca->text && *ca->text ? ca->text : NULL;
    char reason[768];
    char refusal[200] = "";
    bool own_action = ca->kind != GRIDRELAY__CASE_ACTION__KIND__URGE &&
                      ca->kind != GRIDRELAY__CASE_ACTION__KIND__MERGE &&
                      ca->kind != GRIDRELAY__CASE_ACTION__KIND__UNMERGE;
    if (own_action && gr_merge_is_merged(rec) && gr_case_open(rec->status)) {
        /* Its lifecycle is the case it joined (合并). */
        snprintf(refusal, sizeof refusal, "%s is merged into %s: act on that case, or unmerge "
                 "this one first", rec->event->id, rec->merged_into);
        rc = gr_reply_error(req->reply, ref, GR_EPERM, refusal);
        gridrelay__stored_event__free_unpacked(rec, NULL);
        return rc;
    }
    switch (ca->kind) {
    case GRIDRELAY__CASE_ACTION__KIND__ACCEPT:
        rec->accepted_ms = now_ms;
        snprintf(reason, sizeof reason, "accepted by %s%s%s", who, text ? ": " : "", text ? text : "");
        rc = gr_engine_change(self->engine, txn, rec, GRIDRELAY__ACTION__ACTION_ACCEPT, &actor,
                              reason, now_ms);
        if (rc == 0)
            rc = gr_engine_then_decide(self->engine, rec->event->id, false, NULL);
        break;
    case GRIDRELAY__CASE_ACTION__KIND__RESOLVE:
        if (gr_engine_set(&rec->result, text) != 0 ||
            gr_engine_set(&rec->resolved_by, self->cfg->node_id) != 0 ||
            gr_engine_set(&rec->resolver, who) != 0) {
            rc = GR_ENOMEM;
            break;
        }
        snprintf(reason, sizeof reason, "resolved by %s at %s: %s", who, self->cfg->node_id,
                 text ? text : "(no result text)");
        rc = gr_engine_change(self->engine, txn, rec, GRIDRELAY__ACTION__ACTION_RESOLVE, &actor,
                              reason, now_ms);
        if (rc == 0)
            rc = gr_tierlink_send_result(self->tierlink, txn, rec, NULL, now_ms);
        break;
    case GRIDRELAY__CASE_ACTION__KIND__ESCALATE:
        if (!self->cfg->has_parent) {
            rc = GR_EPERM;
            snprintf(refusal, sizeof refusal, "this is the top tier: there is no parent to escalate to");
        } else if (!gr_case_open(rec->status) || rec->status == GRIDRELAY__STATUS__ESCALATED) {
            rc = GR_EPERM;
        } else {
            snprintf(reason, sizeof reason, "operator %s%s%s", who, text ? ": " : "", text ? text : "");
            rc = gr_engine_then_decide(self->engine, rec->event->id, true, reason);
        }
        break;
    case GRIDRELAY__CASE_ACTION__KIND__ASSIGN:
        rc = gr_tierlink_assign_down(self->tierlink, txn, rec,
                                     &(gr_assignment_t){ca->target, text, &actor}, now_ms,
                                     refusal, sizeof refusal);
        break;
    case GRIDRELAY__CASE_ACTION__KIND__URGE:
        rc = s_urge(self, req, rec, &actor, refusal, sizeof refusal);
        break;
    case GRIDRELAY__CASE_ACTION__KIND__MERGE:
    case GRIDRELAY__CASE_ACTION__KIND__UNMERGE:
        rc = gr_merge_action(self->engine, txn, rec, ca, &actor, now_ms, refusal, sizeof refusal);
        break;
    default: {  /* DISPATCH; the kind was checked (node/check) */
        gr_dispatch_t dispatch = {.lead = ca->target, .co = ca->co, .n_co = ca->n_co,
                                  .actor = &actor, .why = text};
        rc = gr_departments_dispatch_to(self->departments, txn, rec, &dispatch, now_ms, refusal,
                                        sizeof refusal);
        if (rc == 0)
            rc = gr_engine_then_decide(self->engine, rec->event->id, false, NULL);
        break;
    }
    }
    if (rc == GR_EPERM && !refusal[0])
        snprintf(refusal, sizeof refusal, "not allowed for a case that is %s",
                 gr_case_status_name(rec->status));
    if (rc == 0)
        rc = gr_reply_ack(req->reply, ref, rec->event->id, false, rec->status);
    else if (rc != GR_EMAPFULL && rc != GR_ESTORE && rc != GR_ENOMEM)
        rc = gr_reply_error(req->reply, ref, rc, refusal);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    return rc;
}
