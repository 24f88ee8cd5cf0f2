#include "actions.h"

#include <stdio.h>
#include <string.h>

#include "cases.h"
#include "error.h"

int gr_actions_handle(const gr_actions_t *self, const gr_request_t *req)
{
    const Gridrelay__CaseAction *ca = req->opened->body->case_action;
    uint64_t ref = gr_request_seq(req);
    gr_txn_t *txn = req->txn;
    uint64_t now_ms = req->now_ms;
    Gridrelay__StoredEvent *rec = NULL;
    int rc = gr_store_event_get(txn, ca->event_id, &rec);
    if (rc == GR_ENOTFOUND)
        return gr_reply_error(req->reply, ref, rc, "no such case on this node");
    if (rc != 0)
        return rc;
    const char *who = req->opened->signer->name;
    gr_actor_t actor = {who, req->opened->envelope->signer.data, req->opened->hash};
    const char *text = ca->text && *ca->text ? ca->text : NULL;
    char reason[768];
    char refusal[200] = "";
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
        rc = gr_tierlink_assign_down(self->tierlink, txn, rec, ca->target, text, &actor, now_ms,
                                     refusal, sizeof refusal);
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
