#include "tiers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cases.h"
#include "check.h"
#include "client.h"
#include "decide.h"
#include "error.h"
#include "event.h"
#include "hop.h"
#include "log.h"
#include "dispatch.h"
#include "store.pb-c.h"
#include "text.h"
#include "tiers_internal.h"

gr_tiers_t *gr_tiers_new(const gr_config_t *cfg, gr_intake_t *intake)
{
    gr_tiers_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = cfg;
    self->intake = intake;
    return self;
}

void gr_tiers_destroy(gr_tiers_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gr_tiers_t *self = *self_p;
    gr_tiers_effects_clear(self);
    gr_packed_list_t *lists[] = {&self->effects.status, &self->effects.notices};
    for (size_t i = 0; i < 2; i++) {
        free(lists[i]->bodies);
        free(lists[i]->lens);
        free(lists[i]->topics);
    }
    free(self->notice_endpoint);
    free(self);
    *self_p = NULL;
}

static uint64_t s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int gr_tiers_load(gr_tiers_t *self, gr_txn_t *txn)
{
    return gr_store_peer_get(txn, "self", "seq", &self->last_seq);
}

/* Sequences are microsecond timestamps, never below the last one used, so
 * they increase across restarts without a write per envelope; the outbox
 * ones (which peers dedup by) are also persisted, so a clock that steps
 * back cannot reuse one. */
uint64_t gr_tiers_next_seq(gr_tiers_t *self)
{
    uint64_t now = s_now_us();
    self->last_seq = now > self->last_seq ? now : self->last_seq + 1;
    return self->last_seq;
}

gr_effects_t *gr_tiers_effects(gr_tiers_t *self)
{
    return &self->effects;
}

/* Drops the list's entries from keep on. */
static void s_list_truncate(gr_packed_list_t *list, size_t keep)
{
    for (size_t i = keep; i < list->count; i++) {
        free(list->bodies[i]);
        free(list->topics[i]);
    }
    if (keep < list->count)
        list->count = keep;
}

void gr_tiers_effects_clear(gr_tiers_t *self)
{
    s_list_truncate(&self->effects.status, 0);
    s_list_truncate(&self->effects.notices, 0);
    self->effects.kick_all = false;
}

gr_effects_mark_t gr_tiers_effects_mark(const gr_tiers_t *self)
{
    return (gr_effects_mark_t){self->effects.status.count, self->effects.notices.count,
                               self->effects.kick_all};
}

void gr_tiers_effects_rollback(gr_tiers_t *self, const gr_effects_mark_t *mark)
{
    s_list_truncate(&self->effects.status, mark->status);
    s_list_truncate(&self->effects.notices, mark->notices);
    self->effects.kick_all = mark->kick_all;
}

/* Takes body (and topic) into list; on failure they are still the
 * caller's. */
static int s_list_push(gr_packed_list_t *list, uint8_t *body, size_t len, char *topic)
{
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 64;
        uint8_t **bodies = realloc(list->bodies, cap * sizeof *bodies);
        if (!bodies)
            return GR_ENOMEM;
        list->bodies = bodies;
        size_t *lens = realloc(list->lens, cap * sizeof *lens);
        if (!lens)
            return GR_ENOMEM;
        list->lens = lens;
        char **topics = realloc(list->topics, cap * sizeof *topics);
        if (!topics)
            return GR_ENOMEM;
        list->topics = topics;
        list->cap = cap;
    }
    list->bodies[list->count] = body;
    list->lens[list->count] = len;
    list->topics[list->count] = topic;
    list->count++;
    return 0;
}

static uint8_t *s_pack_body(const Gridrelay__Body *body, size_t *len)
{
    *len = gridrelay__body__get_packed_size(body);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (buf)
        gridrelay__body__pack(body, buf);
    return buf;
}

/* Seals body for peer and queues it in the outbox, in this transaction. */
static int s_enqueue(gr_tiers_t *self, gr_txn_t *txn, const char *peer, const Gridrelay__Body *body)
{
    uint64_t seq = gr_tiers_next_seq(self);
    uint8_t *frame = NULL;
    size_t len = 0;
    int rc = gr_envelope_seal(&frame, &len, &self->cfg->keys, seq, gr_now_ms(), body);
    if (rc != 0)
        return rc;
    rc = gr_store_outbox_put(txn, peer, seq, frame, len);
    free(frame);
    if (rc == 0)
        rc = gr_store_peer_put(txn, "self", "seq", seq);
    if (rc == 0)
        self->effects.kick_all = true;
    return rc;
}

int gr_tiers_effect(gr_tiers_t *self, const char *topic, const Gridrelay__Body *body)
{
    size_t len = 0;
    uint8_t *packed = s_pack_body(body, &len);
    char *copy = topic ? strdup(topic) : NULL;
    int rc = packed && (copy || !topic) ? 0 : GR_ENOMEM;
    if (rc == 0)
        rc = s_list_push(topic ? &self->effects.notices : &self->effects.status, packed, len, copy);
    if (rc != 0) {
        free(packed);
        free(copy);
    }
    return rc;
}

/* Appends update to this node's status stream (statuslog, which assigns
 * its node_seq) and keeps it to publish after the commit. */
static int s_stream(gr_tiers_t *self, gr_txn_t *txn, Gridrelay__StatusUpdate *update)
{
    /* The stream exists for the parent: the top tier has nobody to tell,
     * and every put saved there is one per case change at the busiest node. */
    if (!self->cfg->has_parent)
        return 0;
    int rc = gr_store_status_append(txn, update);
    if (rc != 0)
        return rc;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_STATUS_UPDATE;
    body.status_update = update;
    return gr_tiers_effect(self, NULL, &body);
}

/* Records the case's new state in this node's status stream. */
static int s_publish(gr_tiers_t *self, gr_txn_t *txn, const Gridrelay__StoredEvent *rec,
                     uint64_t now_ms)
{
    const Gridrelay__Event *ev = rec->event;
    Gridrelay__StatusUpdate update = GRIDRELAY__STATUS_UPDATE__INIT;
    update.node_id = (char *)self->cfg->node_id;
    update.event_id = ev->id;
    update.status = rec->status;
    update.holder = rec->holder;
    update.category = ev->category;
    update.severity = ev->severity;
    update.title = ev->title;
    update.origin_node = ev->origin_node;
    update.time_ms = now_ms;
    return s_stream(self, txn, &update);
}

/* The one way a case changes: table check, timeline entry, status stream. */
int gr_tiers_change(gr_tiers_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                    Gridrelay__Action action, const char *actor_name, const uint8_t *actor_pk,
                    const uint8_t *envelope_hash, const char *reason, uint64_t now_ms)
{
    Gridrelay__Status next = gr_case_next(rec->status, action);
    if (next == GRIDRELAY__STATUS__STATUS_UNSPECIFIED)
        return GR_EPERM;
    bool with_depts = next == GRIDRELAY__STATUS__DISPATCHED ||
                      next == GRIDRELAY__STATUS__IN_PROGRESS || next == GRIDRELAY__STATUS__RETURNED;
    if (!with_depts && ((rec->dept && *rec->dept) || rec->n_co_depts)) {
        char why[96];
        snprintf(why, sizeof why, "the case is now %s here", gr_case_status_name(next));
        int rc = gr_dispatch_withdraw_all(self, txn, rec, why);
        if (rc != 0)
            return rc;
    }
    Gridrelay__TimelineEntry entry = GRIDRELAY__TIMELINE_ENTRY__INIT;
    entry.time_ms = now_ms;
    entry.actor.data = (uint8_t *)(actor_pk ? actor_pk : self->cfg->keys.pk);
    entry.actor.len = GR_PUBLIC_KEY_BYTES;
    entry.actor_name = (char *)(actor_name ? actor_name : self->cfg->node_id);
    entry.unit = (char *)self->cfg->node_id;
    entry.action = action;
    entry.from_status = rec->status;
    entry.to_status = next;
    entry.reason = (char *)(reason ? reason : "");
    if (envelope_hash) {
        entry.envelope_hash.data = (uint8_t *)envelope_hash;
        entry.envelope_hash.len = 32;
    }
    Gridrelay__Status before = rec->status;
    int rc = gr_store_event_append(txn, rec, &entry);
    if (rc != 0)
        return rc;
    if (before != next || action == GRIDRELAY__ACTION__ACTION_ASSIGN ||
        action == GRIDRELAY__ACTION__ACTION_DISPATCH)
        rc = s_publish(self, txn, rec, now_ms);
    /* Per-action totals for the node's figures (gridctl stats): how many
     * cases went up, were dispatched, resolved, overdue... */
    char counter[48];
    snprintf(counter, sizeof counter, "action.%s", gr_case_action_name(action));
    if (rc == 0 && !rec->info_only)
        rc = gr_store_counter_add(txn, counter, 1);
    gr_log(GR_LOG_INFO, rec->event->id, "%s: %s -> %s (%s)", gr_case_action_name(action),
           gr_case_status_name(before), gr_case_status_name(next), entry.reason);
    return rc;
}

/* Replaces a string field of an unpacked record (the records tiers
 * change always come from gr_store_event_get(), so they own their strings). */
int gr_tiers_set(char **field, const char *value)
{
    char *copy = strdup(value ? value : "");
    if (!copy)
        return GR_ENOMEM;
    if (*field && *field != protobuf_c_empty_string)
        free(*field);
    *field = copy;
    return 0;
}

static void s_facts(const gr_tiers_t *self, const Gridrelay__StoredEvent *rec, gr_case_facts_t *f)
{
    memset(f, 0, sizeof *f);
    f->severity = (gr_severity_t)rec->event->severity;
    f->state = (gr_case_state_t)rec->status;
    f->received_ms = rec->received_ms;
    f->accepted_ms = rec->accepted_ms;
    f->assigned_down = rec->assigned_by_parent;
    f->returned_from_below = rec->status == GRIDRELAY__STATUS__RETURNED;
    f->assigned_due_ms = rec->assigned_by_parent ? rec->deadline_ms : 0;
    f->untried_left = gr_dispatch_untried(self, rec);
}

static const char *s_peer_for(const gr_tiers_t *self, gr_action_t action)
{
    if (action == GR_ACT_SKIP_LEVEL && self->cfg->has_skip)
        return "skip";
    return "parent";
}

/* Sends the case up: Escalate with the reporter's envelope and this
 * node's signed hop appended to the path. */
static int s_escalate(gr_tiers_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                      const gr_decision_t *d, const char *why, uint64_t now_ms)
{
    const gr_config_t *cfg = self->cfg;
    const char *peer = s_peer_for(self, d->action);
    const char *target = strcmp(peer, "skip") == 0 ? cfg->skip.id : cfg->parent.id;
    Gridrelay__Hop hop = GRIDRELAY__HOP__INIT;
    hop.node_id = (char *)cfg->node_id;
    hop.tier_level = (uint32_t)cfg->tier_level;
    hop.reason = (char *)gr_reason_name(d->reason);
    hop.time_ms = now_ms;
    hop.supervise = d->supervise;
    /* The first hop carries what this node filled in for the reporter. */
    Gridrelay__Resolved resolved;
    if (rec->n_hops == 0) {
        gr_event_resolved_of(&resolved, rec->event);
        hop.resolved = &resolved;
    }
    uint8_t sig[GR_SIGNATURE_BYTES];
    int rc = gr_hop_sign(&hop, rec->event->id, &cfg->keys, sig);
    if (rc != 0)
        return rc;
    Gridrelay__Hop **hops = calloc(rec->n_hops + 1, sizeof *hops);
    if (!hops)
        return GR_ENOMEM;
    if (rec->n_hops)
        memcpy(hops, rec->hops, rec->n_hops * sizeof *hops);
    hops[rec->n_hops] = &hop;
    Gridrelay__Escalate esc = GRIDRELAY__ESCALATE__INIT;
    esc.origin_envelope = rec->origin_envelope;
    esc.hops = hops;
    esc.n_hops = rec->n_hops + 1;
    esc.status_below = rec->status;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_ESCALATE;
    body.escalate = &esc;
    rc = s_enqueue(self, txn, peer, &body);
    if (rc == 0 && d->action == GR_ACT_SKIP_LEVEL && cfg->has_skip && cfg->has_parent) {
        esc.info_only = true;  /* 越级直报: the tier in between still sees it */
        rc = s_enqueue(self, txn, "parent", &body);
    }
    free(hops);
    if (rc != 0)
        return rc;
    char reason[256];
    snprintf(reason, sizeof reason, "escalated to %s: %s%s%s%s", target, gr_reason_name(d->reason),
             d->supervise ? " (督办 supervised)" : "", why ? ": " : "", why ? why : "");
    if (gr_tiers_set(&rec->escalated_to, target) != 0 || gr_tiers_set(&rec->holder, target) != 0)
        return GR_ENOMEM;
    return gr_tiers_change(self, txn, rec, GRIDRELAY__ACTION__ACTION_ESCALATE, NULL, NULL, NULL, reason,
                    now_ms);
}

int gr_tiers_escalate_overdue(gr_tiers_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                              gr_reason_t reason, const char *why, uint64_t now_ms)
{
    gr_decision_t d = {.action = GR_ACT_ESCALATE, .reason = reason, .supervise = true};
    int rc = gr_tiers_change(self, txn, rec, GRIDRELAY__ACTION__ACTION_DEADLINE, NULL, NULL, NULL,
                             why, now_ms);
    return rc != 0 ? rc : s_escalate(self, txn, rec, &d, why, now_ms);
}

/* Asks the router what to do with rec now, and does it. */
int gr_tiers_decide(gr_tiers_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec, bool operator_asked,
                    const char *why, uint64_t now_ms)
{
    if (rec->info_only)
        return 0;
    const gr_category_t *cat = gr_catalogue_find(self->cfg->catalogue, rec->event->category);
    if (!cat)
        return 0;  /* catalogue changed since: keep the case, route by hand */
    gr_tier_t tier = { self->cfg->tier_level, self->cfg->has_parent };
    gr_authority_t auth;
    memcpy(auth.level, cat->authority, sizeof auth.level);
    auth.direct = cat->direct;
    gr_case_facts_t facts;
    s_facts(self, rec, &facts);
    facts.operator_escalate = operator_asked;
    gr_decision_t d;
    if (gr_decide(&d, &tier, &auth, &self->cfg->deadlines, &facts, now_ms) != 0)
        return GR_EINVAL;
    switch (d.action) {
    case GR_ACT_ESCALATE:
    case GR_ACT_SKIP_LEVEL:
        if (d.supervise) {
            int rc = gr_tiers_change(self, txn, rec, GRIDRELAY__ACTION__ACTION_DEADLINE, NULL, NULL, NULL,
                              gr_reason_name(d.reason), now_ms);
            if (rc != 0)
                return rc;
        }
        return s_escalate(self, txn, rec, &d, why, now_ms);
    case GR_ACT_KEEP:
        if (d.at_top && d.overdue && d.reason != GR_REASON_NONE) {
            int rc = gr_tiers_change(self, txn, rec, GRIDRELAY__ACTION__ACTION_DEADLINE, NULL, NULL, NULL,
                              "overdue at the top tier: supervise here (督办)", now_ms);
            if (rc != 0)
                return rc;
        }
        if (d.due_ms)
            return gr_store_due_put(txn, d.due_ms, GR_DUE_DEADLINE, rec->event->id);
        return 0;
    case GR_ACT_ASSIGN_DOWN: {
        int rc = gr_dispatch_next(self, txn, rec, now_ms);
        if (rc == GR_ENOTFOUND)
            return 0;  /* the route changed under it: keep, an operator decides */
        /* Dispatched now: decide again for the new state (its timer). */
        return rc != 0 ? rc : gr_tiers_decide(self, txn, rec, false, NULL, now_ms);
    }
    default:
        return 0;
    }
}

int gr_tiers_on_new_case(gr_tiers_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                         uint64_t now_ms)
{
    int rc = s_publish(self, txn, rec, now_ms);
    if (rc != 0)
        return rc;
    gr_log(GR_LOG_INFO, rec->event->id, "new case: %s, %s, from %s", rec->event->category,
           gr_severity_name((gr_severity_t)rec->event->severity),
           rec->from_child && *rec->from_child ? rec->from_child : rec->event->origin_node);
    return gr_tiers_decide(self, txn, rec, false, NULL, now_ms);
}

/* ---- replies ---- */

/* Turns a handler result into the reply: store failures go up (the batch
 * is redone), refusals become Error replies. */
static int s_finish(gr_tiers_t *self, int rc, gr_reply_t *reply, uint64_t ref_seq,
                    const Gridrelay__StoredEvent *rec, const char *refusal)
{
    if (GR_STORE_FATAL(rc))
        return rc;
    if (rc != 0)
        return gr_intake_error(self->intake, reply, ref_seq, rc, refusal);
    return gr_intake_ack(reply, ref_seq, rec ? rec->event->id : "", false,
                 rec ? rec->status : GRIDRELAY__STATUS__STATUS_UNSPECIFIED);
}

/* Sends the result of a case resolved at or above this node to where it
 * came from: down to the child that escalated it, up to a parent that
 * assigned it, and down to a child it was assigned to (which waits for it
 * after handing the case back up), except to from_peer, whose result it
 * is. */
int gr_tiers_propagate_result(gr_tiers_t *self, gr_txn_t *txn, const Gridrelay__StoredEvent *rec,
                              const char *from_peer, uint64_t now_ms)
{
    Gridrelay__Feedback fb = GRIDRELAY__FEEDBACK__INIT;
    fb.event_id = rec->event->id;
    fb.outcome = GRIDRELAY__STATUS__RESOLVED;
    fb.result = rec->result;
    fb.resolved_by = rec->resolved_by;
    fb.resolver = rec->resolver;
    fb.resolved_ms = now_ms;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_FEEDBACK;
    body.feedback = &fb;
    int rc = 0;
    if (rec->from_child && *rec->from_child)
        rc = s_enqueue(self, txn, rec->from_child, &body);
    if (rc == 0 && rec->assigned_by_parent && self->cfg->has_parent &&
        !(from_peer && strcmp(from_peer, self->cfg->parent.id) == 0))
        rc = s_enqueue(self, txn, "parent", &body);
    if (rc == 0 && rec->assigned_to && *rec->assigned_to &&
        (!from_peer || strcmp(from_peer, rec->assigned_to) != 0) &&
        (!rec->from_child || strcmp(rec->from_child, rec->assigned_to) != 0))
        rc = s_enqueue(self, txn, rec->assigned_to, &body);
    return rc;
}

static const gr_peer_config_t *s_child(const gr_tiers_t *self, const char *id)
{
    for (size_t i = 0; i < self->cfg->n_children; i++)
        if (strcmp(self->cfg->children[i].id, id) == 0)
            return &self->cfg->children[i];
    return NULL;
}

static int s_case_action(gr_tiers_t *self, gr_txn_t *txn, const gr_opened_t *req, uint64_t now_ms,
                         gr_reply_t *reply)
{
    const Gridrelay__CaseAction *ca = req->body->case_action;
    uint64_t ref = req->envelope->seq;
    if (!ca || !ca->event_id || !*ca->event_id)
        return gr_intake_error(self->intake, reply, ref, GR_EINVAL, "case action names no event");
    Gridrelay__StoredEvent *rec = NULL;
    int rc = gr_store_event_get(txn, ca->event_id, &rec);
    if (rc == GR_ENOTFOUND)
        return gr_intake_error(self->intake, reply, ref, rc, "no such case on this node");
    if (rc != 0)
        return rc;
    const char *who = req->signer->name;
    const uint8_t *pk = req->envelope->signer.data;
    const char *text = ca->text && *ca->text ? ca->text : NULL;
    char reason[512];
    char refusal[160] = "";
    switch (ca->kind) {
    case GRIDRELAY__CASE_ACTION__KIND__ACCEPT:
        rec->accepted_ms = now_ms;
        snprintf(reason, sizeof reason, "accepted by %s%s%s", who, text ? ": " : "", text ? text : "");
        rc = gr_tiers_change(self, txn, rec, GRIDRELAY__ACTION__ACTION_ACCEPT, who, pk, req->hash, reason, now_ms);
        if (rc == 0)
            rc = gr_tiers_decide(self, txn, rec, false, NULL, now_ms);
        break;
    case GRIDRELAY__CASE_ACTION__KIND__RESOLVE:
        if (gr_tiers_set(&rec->result, text) != 0 || gr_tiers_set(&rec->resolved_by, self->cfg->node_id) != 0 ||
            gr_tiers_set(&rec->resolver, who) != 0) {
            rc = GR_ENOMEM;
            break;
        }
        snprintf(reason, sizeof reason, "resolved by %s at %s: %s", who, self->cfg->node_id,
                 text ? text : "(no result text)");
        rc = gr_tiers_change(self, txn, rec, GRIDRELAY__ACTION__ACTION_RESOLVE, who, pk, req->hash, reason, now_ms);
        if (rc == 0)
            rc = gr_tiers_propagate_result(self, txn, rec, NULL, now_ms);
        break;
    case GRIDRELAY__CASE_ACTION__KIND__ESCALATE:
        if (!self->cfg->has_parent) {
            rc = GR_EPERM;
            snprintf(refusal, sizeof refusal, "this is the top tier: there is no parent to escalate to");
            break;
        }
        if (!gr_case_open(rec->status) || rec->status == GRIDRELAY__STATUS__ESCALATED) {
            rc = GR_EPERM;
            break;
        }
        snprintf(reason, sizeof reason, "operator %s%s%s", who, text ? ": " : "", text ? text : "");
        rc = gr_tiers_decide(self, txn, rec, true, reason, now_ms);
        break;
    case GRIDRELAY__CASE_ACTION__KIND__ASSIGN: {
        const gr_peer_config_t *child = ca->target ? s_child(self, ca->target) : NULL;
        if (rec->status == GRIDRELAY__STATUS__ESCALATED) {
            /* The table's escalated + assign is the parent handing a case
             * back down; here the parent owns it, not this node's operator. */
            rc = GR_EPERM;
            snprintf(refusal, sizeof refusal, "the case was escalated to %s: it is theirs to assign",
                     rec->escalated_to && *rec->escalated_to ? rec->escalated_to : "the parent");
            break;
        }
        if (!child) {
            rc = GR_EINVAL;
            snprintf(refusal, sizeof refusal, "'%s' is not a child of this node",
                     ca->target ? ca->target : "");
            break;
        }
        uint64_t limit = self->cfg->deadlines.resolve_within_ms[rec->event->severity];
        Gridrelay__Assign as = GRIDRELAY__ASSIGN__INIT;
        as.origin_envelope = rec->origin_envelope;
        as.event_id = rec->event->id;
        as.reason = (char *)(text ? text : "");
        as.deadline_ms = limit ? now_ms + limit : 0;
        as.from_node = (char *)self->cfg->node_id;
        Gridrelay__Resolved resolved;
        gr_event_resolved_of(&resolved, rec->event);
        as.resolved = &resolved;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_ASSIGN;
        body.assign = &as;
        if (gr_tiers_set(&rec->assigned_to, child->id) != 0 || gr_tiers_set(&rec->holder, child->id) != 0) {
            rc = GR_ENOMEM;
            break;
        }
        snprintf(reason, sizeof reason, "assigned to %s by %s (交办)%s%s", child->id, who,
                 text ? ": " : "", text ? text : "");
        rc = gr_tiers_change(self, txn, rec, GRIDRELAY__ACTION__ACTION_ASSIGN, who, pk, req->hash, reason, now_ms);
        if (rc == 0)
            rc = s_enqueue(self, txn, child->id, &body);
        break;
    }
    case GRIDRELAY__CASE_ACTION__KIND__DISPATCH:
        rc = gr_dispatch_to(self, txn, rec, ca->target, ca->co, ca->n_co, who, pk, req->hash, text,
                            now_ms, refusal, sizeof refusal);
        if (rc == 0)
            rc = gr_tiers_decide(self, txn, rec, false, NULL, now_ms);
        break;
    default:
        rc = GR_EINVAL;
        snprintf(refusal, sizeof refusal, "unknown case action %d", (int)ca->kind);
    }
    if (rc == GR_EPERM && !refusal[0])
        snprintf(refusal, sizeof refusal, "not allowed for a case that is %s",
                 gr_case_status_name(rec->status));
    rc = s_finish(self, rc, reply, ref, rec, refusal);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    return rc;
}

/* Opens the reporter's envelope carried inside an Escalate or Assign: its
 * signature must hold whoever forwarded it, its event must pass the checks
 * a report here would, and it gets the values the node that stored it
 * first filled in (resolved), so every tier holds the same event. On
 * failure why says what is wrong. */
static int s_open_origin(gr_tiers_t *self, const ProtobufCBinaryData *origin,
                         const Gridrelay__Resolved *resolved, uint64_t now_ms, gr_opened_t *out,
                         Gridrelay__Event **event, char *why, size_t why_len)
{
    int rc = gr_envelope_open_from(out, origin->data, origin->len, NULL, self->cfg->max_frame);
    if (rc == GR_EBADTEXT) {
        char where[160];
        Gridrelay__Envelope *env = gridrelay__envelope__unpack(NULL, origin->len, origin->data);
        if (env)
            gr_text_check(&gridrelay__body__descriptor, env->body.data, env->body.len, where,
                          sizeof where);
        gridrelay__envelope__free_unpacked(env, NULL);
        snprintf(why, why_len, "the reporter's event: %s", env ? where : "bad text");
        return GR_EINVAL;
    }
    if (rc != 0) {
        snprintf(why, why_len, rc == GR_ESIGNATURE ? "the reporter's signature does not verify"
                                                   : "no valid reporter envelope");
        return rc == GR_ESIGNATURE ? rc : GR_EINVAL;
    }
    if (out->body->kind_case != GRIDRELAY__BODY__KIND_REPORT || !out->body->report->event) {
        gr_opened_clear(out);
        snprintf(why, why_len, "the origin envelope is not a report");
        return GR_EINVAL;
    }
    Gridrelay__Event *ev = out->body->report->event;
    rc = gr_event_check(ev, now_ms, why, why_len);
    if (rc == 0)
        rc = gr_event_resolve(ev, resolved, self->cfg->catalogue, self->cfg->node_id, now_ms, why,
                              why_len);
    if (rc != 0) {
        gr_opened_clear(out);
        return rc;
    }
    *event = ev;
    return 0;
}

/* Creates a case that reached this node from another one. stored carries
 * the event, its origin envelope and the tier fields; the rest is filled
 * here. *out is the record as stored (the caller frees it). */
static int s_create_forwarded(gr_tiers_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *stored,
                              Gridrelay__Action action, const gr_opened_t *req, const char *from,
                              const char *reason, uint64_t now_ms, Gridrelay__StoredEvent **out)
{
    int rc = gr_intake_create_case(self->intake, txn, stored, req, from, action, reason, now_ms);
    if (rc != 0)
        return rc;
    return gr_store_event_get(txn, stored->event->id, out);
}

/* An Escalate for a case this node already holds (rec, which this frees):
 * a resend (acknowledged as a duplicate), or the child this node assigned
 * it to giving it back up (its deadline passed, or it cannot handle it):
 * then the case is returned here (退回) and decided again. */
static int s_escalated_back(gr_tiers_t *self, gr_txn_t *txn, const gr_opened_t *req,
                            const gr_source_t *source, Gridrelay__StoredEvent *rec,
                            const Gridrelay__Hop *last, uint64_t now_ms, gr_reply_t *reply)
{
    uint64_t ref = req->envelope->seq;
    int rc;
    bool handed_back = rec->status == GRIDRELAY__STATUS__ASSIGNED && rec->assigned_to &&
                       strcmp(rec->assigned_to, source->peer) == 0;
    if (!handed_back) {
        rc = gr_intake_ack(reply, ref, rec->event->id, true, rec->status);
        gridrelay__stored_event__free_unpacked(rec, NULL);
        return rc;
    }
    char reason[512];
    snprintf(reason, sizeof reason, "returned by %s (退回): %s%s", source->peer, last->reason,
             last->supervise ? " (督办 supervised)" : "");
    if ((rc = gr_tiers_set(&rec->holder, self->cfg->node_id)) == 0)
        rc = gr_tiers_change(self, txn, rec, GRIDRELAY__ACTION__ACTION_RETURN, source->peer,
                             req->envelope->signer.data, req->hash, reason, now_ms);
    if (rc == 0)
        rc = gr_tiers_decide(self, txn, rec, false, NULL, now_ms);
    rc = s_finish(self, rc, reply, ref, rec, NULL);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    return rc;
}

static int s_escalate_in(gr_tiers_t *self, gr_txn_t *txn, const gr_opened_t *req,
                         const gr_source_t *source, uint64_t now_ms, gr_reply_t *reply)
{
    const Gridrelay__Escalate *esc = req->body->escalate;
    uint64_t ref = req->envelope->seq;
    if (source->kind != GR_FROM_CHILD)
        return gr_intake_error(self->intake, reply, ref, GR_EPERM, "only a child node may escalate to this node");
    if (!esc || esc->n_hops == 0)
        return gr_intake_error(self->intake, reply, ref, GR_EINVAL, "escalation without a path");
    /* The first hop is the node that stored the event first: what it
     * filled in comes with it (a node from before Resolved sent none, and
     * its hop still names the origin). */
    const Gridrelay__Hop *first = esc->hops[0];
    Gridrelay__Resolved fallback = GRIDRELAY__RESOLVED__INIT;
    fallback.origin_node = first->node_id;
    gr_opened_t origin;
    Gridrelay__Event *event = NULL;
    char why[200];
    int rc = s_open_origin(self, &esc->origin_envelope, first->resolved ? first->resolved : &fallback,
                           now_ms, &origin, &event, why, sizeof why);
    if (rc != 0)
        return GR_STORE_FATAL(rc) ? rc : gr_intake_error(self->intake, reply, ref, rc, why);
    /* The last hop is the sender's own, and every earlier one must verify.
     * The last one's signature is not checked here: the envelope, whose
     * signature by the same key was checked on receipt, covers the hop
     * byte for byte, so a second check proves nothing to this node (an
     * Ed25519 verify per escalation and tier, on a path that is CPU-bound
     * at 2 cores). The tier above checks it like every earlier hop. */
    const Gridrelay__Hop *last = esc->hops[esc->n_hops - 1];
    rc = last->signer.len == GR_PUBLIC_KEY_BYTES &&
                     last->signature.len == GR_SIGNATURE_BYTES &&
                     memcmp(last->signer.data, req->envelope->signer.data, GR_PUBLIC_KEY_BYTES) == 0
                 ? 0
                 : GR_ESIGNATURE;
    for (size_t i = 0; i + 1 < esc->n_hops && rc == 0; i++)
        rc = gr_hop_verify(esc->hops[i], event->id);
    if (rc != 0) {
        gr_opened_clear(&origin);
        return gr_intake_error(self->intake, reply, ref, GR_ESIGNATURE, "a hop signature does not verify");
    }
    Gridrelay__StoredEvent *held = NULL;
    rc = gr_store_event_get(txn, event->id, &held);
    if (rc == 0) {
        gr_opened_clear(&origin);
        return s_escalated_back(self, txn, req, source, held, last, now_ms, reply);
    }
    if (rc != GR_ENOTFOUND) {
        gr_opened_clear(&origin);
        return rc;
    }
    /* The path, oldest first, for the timeline. */
    char reason[1024];
    size_t n = (size_t)snprintf(reason, sizeof reason, "%s from %s; path: reported by %s at %s",
                                esc->info_only ? "information copy" : "escalated", source->peer,
                                origin.signer ? origin.signer->name : *event->reporter ? event->reporter : "a grid worker",
                                event->origin_node);
    for (size_t i = 0; i < esc->n_hops && n < sizeof reason; i++)
        n += (size_t)snprintf(reason + n, sizeof reason - n, " -> %s (%s%s)", esc->hops[i]->node_id,
                              esc->hops[i]->reason, esc->hops[i]->supervise ? ", 督办" : "");
    Gridrelay__StoredEvent stored = GRIDRELAY__STORED_EVENT__INIT;
    stored.event = (Gridrelay__Event *)event;
    stored.origin_envelope = esc->origin_envelope;
    stored.from_child = (char *)source->peer;
    stored.hops = esc->hops;
    stored.n_hops = esc->n_hops;
    stored.supervised = last->supervise;
    stored.info_only = esc->info_only;
    Gridrelay__StoredEvent *rec = NULL;
    rc = s_create_forwarded(self, txn, &stored, GRIDRELAY__ACTION__ACTION_ESCALATE, req, source->peer,
                            reason, now_ms, &rec);
    gr_opened_clear(&origin);
    if (rc != 0)
        return GR_STORE_FATAL(rc) ? rc : gr_intake_error(self->intake, reply, ref, rc, NULL);
    if (rc == 0 && esc->info_only) {
        char note[256];
        snprintf(note, sizeof note, "reported straight to %s (越级直报); kept here for information",
                 self->cfg->has_parent ? self->cfg->parent.id : "the tier above");
        rc = gr_tiers_change(self, txn, rec, GRIDRELAY__ACTION__ACTION_ESCALATE, NULL, NULL, NULL, note, now_ms);
    } else if (rc == 0) {
        rc = gr_tiers_on_new_case(self, txn, rec, now_ms);
    }
    if (rc == 0 && last->supervise) {
        Gridrelay__Supervise sv = GRIDRELAY__SUPERVISE__INIT;
        sv.event_id = rec->event->id;
        sv.by_node = (char *)self->cfg->node_id;
        sv.reason = last->reason;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_SUPERVISE;
        body.supervise = &sv;
        rc = s_enqueue(self, txn, source->peer, &body);
    }
    rc = s_finish(self, rc, reply, ref, rec, NULL);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    return rc;
}

static int s_assign_in(gr_tiers_t *self, gr_txn_t *txn, const gr_opened_t *req,
                       const gr_source_t *source, uint64_t now_ms, gr_reply_t *reply)
{
    const Gridrelay__Assign *as = req->body->assign;
    uint64_t ref = req->envelope->seq;
    if (source->kind != GR_FROM_PARENT)
        return gr_intake_error(self->intake, reply, ref, GR_EPERM, "only the parent assigns cases here");
    if (!as)
        return gr_intake_error(self->intake, reply, ref, GR_EINVAL, "empty assignment");
    Gridrelay__Resolved fallback = GRIDRELAY__RESOLVED__INIT;
    fallback.event_id = as->event_id;
    fallback.origin_node = as->from_node;
    gr_opened_t origin;
    Gridrelay__Event *event = NULL;
    char why[200];
    int rc = s_open_origin(self, &as->origin_envelope, as->resolved ? as->resolved : &fallback,
                           now_ms, &origin, &event, why, sizeof why);
    if (rc != 0)
        return GR_STORE_FATAL(rc) ? rc : gr_intake_error(self->intake, reply, ref, rc, why);
    char reason[512];
    snprintf(reason, sizeof reason, "assigned by %s (交办)%s%s", source->peer,
             as->reason && *as->reason ? ": " : "", as->reason ? as->reason : "");
    Gridrelay__StoredEvent *rec = NULL;
    rc = gr_store_event_get(txn, event->id, &rec);
    if (rc == 0) {
        /* A case this node escalated comes back down to be handled here. */
        rec->assigned_by_parent = true;
        rec->deadline_ms = as->deadline_ms;
        if (gr_tiers_set(&rec->holder, self->cfg->node_id) != 0) {
            gr_opened_clear(&origin);
            gridrelay__stored_event__free_unpacked(rec, NULL);
            return GR_ENOMEM;
        }
        rc = gr_tiers_change(self, txn, rec, GRIDRELAY__ACTION__ACTION_ASSIGN, source->peer, req->envelope->signer.data,
                      req->hash, reason, now_ms);
        if (rc == GR_EPERM) {  /* already handled here: the assignment is a duplicate */
            gr_opened_clear(&origin);
            rc = gr_intake_ack(reply, ref, rec->event->id, true, rec->status);
            gridrelay__stored_event__free_unpacked(rec, NULL);
            return rc;
        }
    } else if (rc == GR_ENOTFOUND) {
        Gridrelay__StoredEvent stored = GRIDRELAY__STORED_EVENT__INIT;
        stored.event = (Gridrelay__Event *)event;
        stored.origin_envelope = as->origin_envelope;
        stored.assigned_by_parent = true;
        stored.deadline_ms = as->deadline_ms;
        rc = s_create_forwarded(self, txn, &stored, GRIDRELAY__ACTION__ACTION_ASSIGN, req,
                                source->peer, reason, now_ms, &rec);
    }
    gr_opened_clear(&origin);
    if (rc == 0)
        rc = gr_tiers_on_new_case(self, txn, rec, now_ms);
    if (rc == 0 && as->deadline_ms)
        rc = gr_store_due_put(txn, as->deadline_ms, GR_DUE_DEADLINE, rec->event->id);
    rc = s_finish(self, rc, reply, ref, rec, NULL);
    if (rec)
        gridrelay__stored_event__free_unpacked(rec, NULL);
    return rc;
}

/* The result of a case: from the parent for one this node escalated, or
 * from a child for one this node assigned down. */
static int s_feedback_in(gr_tiers_t *self, gr_txn_t *txn, const gr_opened_t *req,
                         const gr_source_t *source, uint64_t now_ms, gr_reply_t *reply)
{
    const Gridrelay__Feedback *fb = req->body->feedback;
    uint64_t ref = req->envelope->seq;
    if (source->kind == GR_FROM_CLIENT)
        return gr_intake_error(self->intake, reply, ref, GR_EPERM,
                               "feedback comes from the parent, the skip-level ancestor or a child");
    Gridrelay__StoredEvent *rec = NULL;
    int rc = gr_store_event_get(txn, fb->event_id, &rec);
    if (rc == GR_ENOTFOUND) {
        /* Nothing to update, and refusing would make the sender retry for
         * ever: acknowledge and say so in the log. */
        gr_log(GR_LOG_WARN, fb->event_id, "feedback from %s for a case this node does not hold",
               source->peer ? source->peer : "?");
        return gr_intake_ack(reply, ref, fb->event_id, true, GRIDRELAY__STATUS__STATUS_UNSPECIFIED);
    }
    if (rc != 0)
        return rc;
    bool from_above = source->kind == GR_FROM_PARENT || source->kind == GR_FROM_SKIP;
    /* The outcome of a case a child reported past this node (越级直报),
     * passed on by that child so the information copy learns it too. */
    bool info_outcome = rec->info_only && source->kind == GR_FROM_CHILD && rec->from_child &&
                        strcmp(rec->from_child, source->peer) == 0 &&
                        rec->status == GRIDRELAY__STATUS__ESCALATED;
    /* The parent resolved, itself, a case it had handed down here: this
     * copy is resolved with its result. */
    bool taken_back = source->kind == GR_FROM_PARENT && rec->assigned_by_parent &&
                      gr_case_open(rec->status) && rec->status != GRIDRELAY__STATUS__ESCALATED;
    bool expected = from_above ? rec->status == GRIDRELAY__STATUS__ESCALATED || taken_back
                               : info_outcome ||
                                 (source->kind == GR_FROM_CHILD && rec->assigned_to &&
                                  strcmp(rec->assigned_to, source->peer) == 0 &&
                                  gr_case_open(rec->status));
    if (!expected) {  /* a resend after the case moved on */
        rc = gr_intake_ack(reply, ref, rec->event->id, true, rec->status);
        gridrelay__stored_event__free_unpacked(rec, NULL);
        return rc;
    }
    if (gr_tiers_set(&rec->result, fb->result) != 0 || gr_tiers_set(&rec->resolved_by, fb->resolved_by) != 0 ||
        gr_tiers_set(&rec->resolver, fb->resolver) != 0 || gr_tiers_set(&rec->holder, fb->resolved_by) != 0) {
        gridrelay__stored_event__free_unpacked(rec, NULL);
        return GR_ENOMEM;
    }
    char reason[512];
    snprintf(reason, sizeof reason, "result from %s: resolved by %s at %s: %s",
             source->peer, fb->resolver && *fb->resolver ? fb->resolver : "?", fb->resolved_by,
             fb->result && *fb->result ? fb->result : "(no result text)");
    rc = gr_tiers_change(self, txn, rec,
                         (from_above && !taken_back) || info_outcome ? GRIDRELAY__ACTION__ACTION_FEEDBACK
                                                                     : GRIDRELAY__ACTION__ACTION_RESOLVE,
                         source->peer, req->envelope->signer.data, req->hash, reason, now_ms);
    /* Down every hop to the origin; up when this node was assigned it. An
     * information copy is the end of its line. */
    if (rc == 0 && !info_outcome)
        rc = gr_tiers_propagate_result(self, txn, rec, source->peer, now_ms);
    /* A case this node reported past its parent: the parent holds an
     * information copy, and learns the outcome from here. */
    if (rc == 0 && source->kind == GR_FROM_SKIP && self->cfg->has_parent) {
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_FEEDBACK;
        body.feedback = (Gridrelay__Feedback *)fb;
        rc = s_enqueue(self, txn, "parent", &body);
    }
    rc = s_finish(self, rc, reply, ref, rec, NULL);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    return rc;
}

static int s_supervise_in(gr_tiers_t *self, gr_txn_t *txn, const gr_opened_t *req,
                          const gr_source_t *source, uint64_t now_ms, gr_reply_t *reply)
{
    const Gridrelay__Supervise *sv = req->body->supervise;
    uint64_t ref = req->envelope->seq;
    if (source->kind != GR_FROM_PARENT && source->kind != GR_FROM_SKIP)
        return gr_intake_error(self->intake, reply, ref, GR_EPERM, "only a superior supervises");
    Gridrelay__StoredEvent *rec = NULL;
    int rc = gr_store_event_get(txn, sv && sv->event_id ? sv->event_id : "", &rec);
    if (rc == GR_ENOTFOUND || rc == GR_EINVAL)
        return gr_intake_ack(reply, ref, sv && sv->event_id ? sv->event_id : "", true,
                     GRIDRELAY__STATUS__STATUS_UNSPECIFIED);
    if (rc != 0)
        return rc;
    char reason[256];
    snprintf(reason, sizeof reason, "taken over by %s (督办): %s", sv->by_node, sv->reason);
    rc = gr_tiers_change(self, txn, rec, GRIDRELAY__ACTION__ACTION_URGE, source->peer,
                  req->envelope->signer.data, req->hash, reason, now_ms);
    if (rc == GR_EPERM)  /* a closed case: the notice is still acknowledged */
        rc = 0;
    rc = s_finish(self, rc, reply, ref, rec, NULL);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    return rc;
}

int gr_tiers_handle(gr_tiers_t *self, gr_txn_t *txn, const gr_opened_t *request,
                    const gr_source_t *source, uint64_t now_ms, gr_reply_t *reply)
{
    uint64_t ref = request->envelope->seq;
    switch (request->body->kind_case) {
    case GRIDRELAY__BODY__KIND_CASE_ACTION:
        if (source->kind != GR_FROM_CLIENT || request->signer->role != GR_ROLE_REPORTER)
            return gr_intake_error(self->intake, reply, ref, GR_EPERM, "case actions come from operators");
        return s_case_action(self, txn, request, now_ms, reply);
    case GRIDRELAY__BODY__KIND_ESCALATE:
        return s_escalate_in(self, txn, request, source, now_ms, reply);
    case GRIDRELAY__BODY__KIND_ASSIGN:
        return s_assign_in(self, txn, request, source, now_ms, reply);
    case GRIDRELAY__BODY__KIND_FEEDBACK:
        return s_feedback_in(self, txn, request, source, now_ms, reply);
    case GRIDRELAY__BODY__KIND_SUPERVISE:
        return s_supervise_in(self, txn, request, source, now_ms, reply);
    case GRIDRELAY__BODY__KIND_TASK_ACTION:
        if (source->kind != GR_FROM_CLIENT || request->signer->role != GR_ROLE_DEPARTMENT)
            return gr_intake_error(self->intake, reply, ref, GR_EPERM, "task actions come from departments");
        return gr_dispatch_task_action(self, txn, request, now_ms, reply);
    default:
        return gr_intake_error(self->intake, reply, ref, GR_EUNSUPPORTED, "not a state-changing message");
    }
}

/* ---- repair of cases stranded by earlier versions ---- */

typedef struct {
    char (*ids)[GR_EVENT_ID_MAX + 1];
    size_t count;
    size_t cap;
    int failed;
} s_id_list_t;

/* A case with no severity: stored by a version that forgot the default
 * above the origin, which the router then refused to route. */
static void s_collect_stranded(void *ctx, const Gridrelay__StoredEvent *rec)
{
    s_id_list_t *l = ctx;
    if (!rec->event || rec->event->severity != GRIDRELAY__SEVERITY__SEVERITY_UNSPECIFIED)
        return;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        void *grown = realloc(l->ids, cap * sizeof *l->ids);
        if (!grown) {
            l->failed = 1;
            return;
        }
        l->ids = grown;
        l->cap = cap;
    }
    snprintf(l->ids[l->count++], sizeof l->ids[0], "%s", rec->event->id);
}

/* Gives one stranded case the values every tier now derives for it, says
 * so in its timeline, and routes it as it should have been. */
static int s_repair_one(gr_tiers_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                        uint64_t now_ms)
{
    Gridrelay__Event *ev = rec->event;
    const Gridrelay__Resolved *first = rec->n_hops ? rec->hops[0]->resolved : NULL;
    Gridrelay__Resolved fallback = GRIDRELAY__RESOLVED__INIT;
    if (!first && rec->n_hops)
        fallback.origin_node = rec->hops[0]->node_id;
    char why[200];
    int rc = gr_event_resolve(ev, first ? first : &fallback, self->cfg->catalogue,
                              self->cfg->node_id, now_ms, why, sizeof why);
    if (rc != 0) {
        gr_log(GR_LOG_WARN, ev->id, "stranded case left as it is: %s", why);
        return rc == GR_ENOMEM ? rc : 0;
    }
    Gridrelay__Action note = GRIDRELAY__ACTION__ACTION_PROGRESS;
    if (gr_case_next(rec->status, note) != rec->status)
        note = GRIDRELAY__ACTION__ACTION_DEADLINE;
    if (gr_case_next(rec->status, note) != rec->status)
        return 0;  /* resolved, fed back or closed: nothing left to route */
    snprintf(why, sizeof why, "severity was missing (stored by an older version): %s, the "
             "category's default; routed again", gr_severity_name((gr_severity_t)ev->severity));
    rc = gr_tiers_change(self, txn, rec, note, NULL, NULL, NULL, why, now_ms);
    bool unrouted = rec->status == GRIDRELAY__STATUS__REPORTED ||
                    rec->status == GRIDRELAY__STATUS__ACCEPTED ||
                    rec->status == GRIDRELAY__STATUS__RETURNED;
    if (rc == 0 && unrouted)
        rc = gr_tiers_decide(self, txn, rec, false, NULL, now_ms);
    return rc;
}

int gr_tiers_repair(gr_tiers_t *self, gr_txn_t *txn, uint64_t now_ms, size_t *repaired)
{
    *repaired = 0;
    uint64_t done = 0;
    int rc = gr_store_counter_get(txn, "repair.resolved_v1", &done);
    if (rc != 0 || done)
        return rc;
    s_id_list_t list = {0};
    char token[GR_PAGE_TOKEN_MAX] = "", next[GR_PAGE_TOKEN_MAX];
    do {
        rc = gr_store_list(txn, NULL, token, 1000, s_collect_stranded, &list, next);
        memcpy(token, next, sizeof token);
    } while (rc == 0 && !list.failed && token[0]);
    if (rc == 0 && list.failed)
        rc = GR_ENOMEM;
    for (size_t i = 0; rc == 0 && i < list.count; i++) {
        Gridrelay__StoredEvent *rec = NULL;
        if ((rc = gr_store_event_get(txn, list.ids[i], &rec)) != 0)
            break;
        rc = s_repair_one(self, txn, rec, now_ms);
        gridrelay__stored_event__free_unpacked(rec, NULL);
        if (rc == 0)
            (*repaired)++;
    }
    free(list.ids);
    if (rc == 0)
        rc = gr_store_counter_add(txn, "repair.resolved_v1", 1);
    return rc;
}

/* ---- timers ---- */

typedef struct {
    uint64_t due_ms;
    uint8_t kind;
    char id[GR_EVENT_ID_MAX + 1];
} s_due_t;

typedef struct {
    s_due_t items[256];
    size_t count;
} s_due_batch_t;

static void s_collect_due(void *ctx, uint64_t due_ms, uint8_t kind, const char *event_id)
{
    s_due_batch_t *b = ctx;
    if (b->count == sizeof b->items / sizeof b->items[0])
        return;
    s_due_t *d = &b->items[b->count++];
    d->due_ms = due_ms;
    d->kind = kind;
    snprintf(d->id, sizeof d->id, "%s", event_id);
}

int gr_tiers_fire_due(gr_tiers_t *self, gr_txn_t *txn, uint64_t now_ms)
{
    s_due_batch_t batch = { .count = 0 };
    int rc = gr_store_due_scan(txn, now_ms, sizeof batch.items / sizeof batch.items[0],
                               s_collect_due, &batch);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < batch.count; i++) {
        s_due_t *d = &batch.items[i];
        if ((rc = gr_store_due_del(txn, d->due_ms, d->kind, d->id)) != 0 && rc != GR_ENOTFOUND)
            return rc;
        /* Each timer in its own nested transaction: one that fails (a
         * damaged record) is logged and dropped, instead of failing the
         * batch every turn from now on. */
        gr_txn_t *mine = NULL;
        if ((rc = gr_store_begin_nested(txn, &mine)) != 0)
            return rc;
        gr_effects_mark_t mark = gr_tiers_effects_mark(self);
        Gridrelay__StoredEvent *rec = NULL;
        rc = gr_store_event_get(mine, d->id, &rec);
        if (rc == 0) {
            /* The router re-checks the case as it is now: a timer for a
             * case that moved on simply finds nothing to do. */
            rc = d->kind == GR_DUE_TASK ? gr_dispatch_fire(self, mine, rec, now_ms)
                                        : gr_tiers_decide(self, mine, rec, false, NULL, now_ms);
            gridrelay__stored_event__free_unpacked(rec, NULL);
        }
        if (rc == 0 || rc == GR_EPERM || rc == GR_ENOTFOUND) {
            if ((rc = gr_store_commit(&mine)) != 0)
                return rc;
            continue;
        }
        gr_store_abort(&mine);
        gr_tiers_effects_rollback(self, &mark);
        if (rc == GR_EMAPFULL || rc == GR_ENOMEM)
            return rc;
        gr_log(GR_LOG_ERROR, d->id, "timer (kind %u) failed: %s; dropped", d->kind, gr_strerror(rc));
    }
    return 0;
}

uint64_t gr_tiers_next_due(gr_tiers_t *self, gr_txn_t *txn)
{
    (void)self;
    uint64_t due = 0;
    return gr_store_due_next(txn, &due) == 0 ? due : 0;
}

/* ---- status from children ---- */

int gr_tiers_child_status_seq(gr_tiers_t *self, gr_txn_t *txn, const char *child, uint64_t *seq)
{
    (void)self;
    return gr_store_peer_get(txn, child, "status_seq", seq);
}

int gr_tiers_status_in(gr_tiers_t *self, gr_txn_t *txn, const char *child,
                       const Gridrelay__StatusUpdate *update, uint64_t now_ms)
{
    uint64_t last = 0;
    int rc = gr_store_peer_get(txn, child, "status_seq", &last);
    if (rc != 0)
        return rc;
    if (update->node_seq <= last)
        return 0;  /* already have it (live copy and catch-up overlap) */
    if (update->node_seq != last + 1)
        return 1;  /* a gap: the caller fetches from last + 1 */
    char why[160];
    if (gr_check_status_update(update, why, sizeof why) != 0) {
        /* Passed over, so the child's stream goes on past it; nothing of
         * it is stored. */
        self->intake->counters[GR_COUNT_REJ_INVALID]++;
        gr_log(GR_LOG_WARN, NULL, "status update %llu from %s refused: %s",
               (unsigned long long)update->node_seq, child, why);
        return gr_store_peer_put(txn, child, "status_seq", update->node_seq);
    }
    Gridrelay__ViewEntry entry = GRIDRELAY__VIEW_ENTRY__INIT;
    entry.update = (Gridrelay__StatusUpdate *)update;
    entry.via_child = (char *)child;
    entry.received_ms = now_ms;
    if ((rc = gr_store_view_put(txn, update->node_id, update->event_id, &entry)) != 0 ||
        (rc = gr_store_peer_put(txn, child, "status_seq", update->node_seq)) != 0)
        return rc;
    /* Relayed upward in this node's own stream, so the top sees every tier. */
    Gridrelay__StatusUpdate relay = *update;
    relay.node_seq = 0;
    relay.via_node = (char *)self->cfg->node_id;
    return s_stream(self, txn, &relay);
}
