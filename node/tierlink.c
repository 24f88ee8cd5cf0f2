#include "tierlink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "check.h"
#include "confseal.h"
#include "error.h"
#include "event.h"
#include "hop.h"
#include "log.h"
#include "merge.h"
#include "supervision.h"
#include "text.h"

struct gr_tierlink {
    const gr_config_t *cfg;
    gr_engine_t *engine;
    gr_counters_t *counters;
};

gr_tierlink_t *gr_tierlink_new(const gr_config_t *cfg, gr_engine_t *engine,
                               gr_counters_t *counters)
{
    gr_tierlink_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = cfg;
    self->engine = engine;
    self->counters = counters;
    return self;
}

void gr_tierlink_destroy(gr_tierlink_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

/* Turns a handler's result into its reply: a store failure goes up (the
 * request is undone), a refusal becomes an Error, success an Ack. */
static int s_finish(int rc, const gr_request_t *req, const Gridrelay__StoredEvent *rec,
                    const char *refusal)
{
    if (rc == GR_EMAPFULL || rc == GR_ESTORE || rc == GR_ENOMEM)
        return rc;
    if (rc != 0)
        return gr_reply_error(req->reply, gr_request_seq(req), rc, refusal);
    return gr_reply_ack(req->reply, gr_request_seq(req), rec ? rec->event->id : "", false,
                        rec ? rec->status : GRIDRELAY__STATUS__STATUS_UNSPECIFIED);
}

/* The node that signed a request from another node, in the timeline. */
static gr_actor_t s_peer_actor(const gr_request_t *req)
{
    return (gr_actor_t){req->source->peer, req->opened->envelope->signer.data, req->opened->hash};
}

/* ---- going up ---- */

int gr_tierlink_send_up(gr_tierlink_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                        const gr_decision_t *d, const char *why, uint64_t now_ms)
{
    const gr_config_t *cfg = self->cfg;
    bool skip = d->action == GR_ACT_SKIP_LEVEL && cfg->has_skip;
    const char *peer = skip ? "skip" : "parent";
    const char *target = skip ? cfg->skip.id : cfg->parent.id;
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
    /* A confidential case sealed here goes up without its people (confseal.h). */
    ProtobufCBinaryData up = rec->sealed_origin.len ? rec->sealed_origin : rec->origin_envelope;
    uint8_t sig[GR_SIGNATURE_BYTES];
    /* Version 2: the hop binds the bytes of the origin envelope that goes up
     * (the sealed one for a confidential case), not only the id (PROTOCOL.md
     * 8.3), so every tier above checks it against what it received. */
    int rc = gr_hop_sign_bound(&hop, rec->event->id, up.data, up.len, &cfg->keys, sig);
    if (rc != 0)
        return rc;
    Gridrelay__Hop **hops = calloc(rec->n_hops + 1, sizeof *hops);
    if (!hops)
        return GR_ENOMEM;
    if (rec->n_hops)
        memcpy(hops, rec->hops, rec->n_hops * sizeof *hops);
    hops[rec->n_hops] = &hop;
    Gridrelay__Escalate esc = GRIDRELAY__ESCALATE__INIT;
    esc.origin_envelope = up;
    esc.hops = hops;
    esc.n_hops = rec->n_hops + 1;
    esc.status_below = rec->status;
    /* The reports merged into it go up with it (合并). */
    gr_merge_riders_t riders;
    memset(&riders, 0, sizeof riders);
    rc = gr_merge_riders_collect(txn, rec, &riders);
    esc.merged = riders.items;
    esc.n_merged = riders.n;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_ESCALATE;
    body.escalate = &esc;
    if (rc == 0)
        rc = gr_engine_enqueue(self->engine, txn, peer, &body);
    if (rc == 0 && skip && cfg->has_parent) {
        esc.info_only = true;  /* 越级直报: the tier in between still sees it */
        rc = gr_engine_enqueue(self->engine, txn, "parent", &body);
    }
    free(hops);
    if (rc == 0)
        rc = gr_merge_riders_sent(self->engine, txn, &riders, rec->event->id, target, now_ms);
    gr_merge_riders_clear(&riders);
    if (rc != 0)
        return rc;
    char reason[512];
    snprintf(reason, sizeof reason, "escalated to %s: %s%s%s%s", target, gr_reason_name(d->reason),
             d->supervise ? " (督办 supervised)" : "", why && *why ? ": " : "", why ? why : "");
    if (gr_engine_set(&rec->escalated_to, target) != 0 || gr_engine_set(&rec->holder, target) != 0)
        return GR_ENOMEM;
    return gr_engine_change(self->engine, txn, rec, GRIDRELAY__ACTION__ACTION_ESCALATE, NULL,
                            reason, now_ms);
}

/* ---- going down ---- */

static const gr_peer_config_t *s_child(const gr_tierlink_t *self, const char *id)
{
    for (size_t i = 0; id && i < self->cfg->n_children; i++)
        if (strcmp(self->cfg->children[i].id, id) == 0)
            return &self->cfg->children[i];
    return NULL;
}

int gr_tierlink_assign_down(gr_tierlink_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                            const gr_assignment_t *assignment, uint64_t now_ms, char *refusal,
                            size_t refusal_len)
{
    const char *child_id = assignment->child;
    const char *text = assignment->text;
    const gr_actor_t *actor = assignment->actor;
    if (rec->status == GRIDRELAY__STATUS__ESCALATED) {
        /* The table's escalated + assign is the parent handing a case back
         * down; here the parent owns it, not this node's operator. */
        snprintf(refusal, refusal_len, "the case was escalated to %s: it is theirs to assign",
                 rec->escalated_to && *rec->escalated_to ? rec->escalated_to : "the parent");
        return GR_EPERM;
    }
    const gr_peer_config_t *child = s_child(self, child_id);
    if (!child) {
        /* An id (node/check), so naming it is safe. */
        snprintf(refusal, refusal_len, "'%s' is not a child of this node", child_id ? child_id : "");
        return GR_EINVAL;
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
    if (gr_engine_set(&rec->assigned_to, child->id) != 0 || gr_engine_set(&rec->holder, child->id) != 0)
        return GR_ENOMEM;
    char reason[768];
    snprintf(reason, sizeof reason, "assigned to %s by %s (交办)%s%s", child->id,
             actor && actor->name ? actor->name : self->cfg->node_id, text ? ": " : "",
             text ? text : "");
    int rc = gr_engine_change(self->engine, txn, rec, GRIDRELAY__ACTION__ACTION_ASSIGN, actor,
                              reason, now_ms);
    return rc != 0 ? rc : gr_engine_enqueue(self->engine, txn, child->id, &body);
}

int gr_tierlink_send_result(gr_tierlink_t *self, gr_txn_t *txn, const Gridrelay__StoredEvent *rec,
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
        rc = gr_engine_enqueue(self->engine, txn, rec->from_child, &body);
    if (rc == 0 && rec->assigned_by_parent && self->cfg->has_parent &&
        !(from_peer && strcmp(from_peer, self->cfg->parent.id) == 0))
        rc = gr_engine_enqueue(self->engine, txn, "parent", &body);
    /* A child it was assigned to waits for it after handing the case back. */
    if (rc == 0 && rec->assigned_to && *rec->assigned_to &&
        (!from_peer || strcmp(from_peer, rec->assigned_to) != 0) &&
        (!rec->from_child || strcmp(rec->from_child, rec->assigned_to) != 0))
        rc = gr_engine_enqueue(self->engine, txn, rec->assigned_to, &body);
    return rc;
}

/* ---- coming in ---- */

/* The reporter's envelope a forwarded case carries, opened. */
typedef struct {
    gr_opened_t opened;
    Gridrelay__Event *event;     /* in opened, with the resolved values filled in */
    char why[200];               /* what is wrong, on failure */
} s_origin_t;

/* Where this node checks the Ed25519 signatures inside what a child
 * forwards (the reporter's envelope, the earlier hops): at the top only.
 * The node that stored the event first checked the reporter's signature,
 * and the child's own signed hop, checked with the envelope on receipt,
 * makes the child answerable for what it forwards; the top checks every
 * signature again, so a forged origin is still refused there and the hop
 * names the node at fault (docs/PROTOCOL.md, "Where signatures are
 * checked"). A middle tier saves an Ed25519 verify per case and hop. */
static bool s_checks_inner_signatures(const gr_tierlink_t *self)
{
    return !self->cfg->has_parent;
}

/* Opens the reporter's envelope carried inside an Escalate or Assign: its
 * signature must hold whoever forwarded it (unless verify is false: see
 * s_checks_inner_signatures), its event must pass the checks
 * a report here would, and it gets the values the node that stored it
 * first filled in (resolved; from a node older than Resolved, none came,
 * and the id and origin node the message names stand in), so every tier
 * holds the same event. */
static int s_open_origin(gr_tierlink_t *self, const ProtobufCBinaryData *origin,
                         const Gridrelay__Resolved *resolved, const char *fallback_id,
                         const char *fallback_origin, uint64_t now_ms, bool verify,
                         s_origin_t *o)
{
    Gridrelay__Resolved fallback = GRIDRELAY__RESOLVED__INIT;
    fallback.event_id = (char *)fallback_id;
    fallback.origin_node = (char *)fallback_origin;
    if (!resolved)
        resolved = &fallback;
    gr_opened_t *out = &o->opened;
    char *why = o->why;
    size_t why_len = sizeof o->why;
    int rc = verify ? gr_envelope_open_from(out, origin->data, origin->len, NULL,
                                            self->cfg->max_frame)
                    : gr_envelope_open_vouched(out, origin->data, origin->len,
                                               self->cfg->max_frame);
    if (rc == GR_EBADTEXT) {
        char where[160] = "bad text";
        Gridrelay__Envelope *env = gridrelay__envelope__unpack(NULL, origin->len, origin->data);
        if (env)
            gr_text_check(&gridrelay__body__descriptor, env->body.data, env->body.len, where,
                          sizeof where);
        gridrelay__envelope__free_unpacked(env, NULL);
        snprintf(why, why_len, "the reporter's event: %s", where);
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
    if (rc == 0)    /* sealed to this node: its people come out of the box (confseal.h) */
        rc = gr_confseal_open(self->cfg, out, resolved, now_ms, why, why_len);
    if (rc != 0) {
        gr_opened_clear(out);
        return rc;
    }
    o->event = out->body->report->event;
    return 0;
}

/* An Escalate for a case this node already holds (rec): a resend
 * (acknowledged as a duplicate), or the child this node assigned it to
 * giving it back up (its deadline passed, or it cannot handle it): then
 * the case is returned here (退回) and decided again. */
static int s_escalated_back(gr_tierlink_t *self, const gr_request_t *req,
                            Gridrelay__StoredEvent *rec, const Gridrelay__Hop *last)
{
    const char *peer = req->source->peer;
    bool handed_back = rec->status == GRIDRELAY__STATUS__ASSIGNED && rec->assigned_to &&
                       strcmp(rec->assigned_to, peer) == 0;
    if (!handed_back)
        return gr_reply_ack(req->reply, gr_request_seq(req), rec->event->id, true, rec->status);
    char reason[512];
    snprintf(reason, sizeof reason, "returned by %s (退回): %s%s", peer, last->reason,
             last->supervise ? " (督办 supervised)" : "");
    gr_actor_t actor = s_peer_actor(req);
    int rc = gr_engine_set(&rec->holder, self->cfg->node_id);
    if (rc == 0)
        rc = gr_engine_change(self->engine, req->txn, rec, GRIDRELAY__ACTION__ACTION_RETURN, &actor,
                              reason, req->now_ms);
    if (rc == 0)
        rc = gr_engine_then_decide(self->engine, rec->event->id, false, NULL);
    return s_finish(rc, req, rec, NULL);
}

/* Checks the path of an escalation: the last hop is the sender's own, and
 * every earlier one must verify. The last one's signature is not checked
 * here: the envelope, whose signature by the same key was checked on
 * receipt, covers the hop byte for byte, so a second check proves nothing
 * to this node (an Ed25519 verify per escalation and tier, on a path that
 * is CPU-bound at 2 cores). The tier above checks it like every earlier
 * hop. */
static bool s_hop_well_formed(const Gridrelay__Hop *hop)
{
    return hop->signer.len == GR_PUBLIC_KEY_BYTES && hop->signature.len == GR_SIGNATURE_BYTES &&
           hop->version <= GR_HOP_VERSION_BOUND;
}

static int s_check_path(const Gridrelay__Escalate *esc, const uint8_t *sender,
                        const gr_peer_config_t *child, const char *event_id, bool verify)
{
    const Gridrelay__Hop *last = esc->hops[esc->n_hops - 1];
    /* The sender's own hop: by the envelope's key or, during a rotation
     * (an entry queued under the child's previous key and sent, signed
     * at send time, under its new one: broker/linkbatch.h), by the other
     * key this node has for that child. */
    if (!s_hop_well_formed(last) ||
        (memcmp(last->signer.data, sender, GR_PUBLIC_KEY_BYTES) != 0 &&
         !(child && gr_peer_has_key(child, sender) && gr_peer_has_key(child, last->signer.data))))
        return GR_ESIGNATURE;
    for (size_t i = 0; i + 1 < esc->n_hops; i++)
        if (verify ? gr_hop_verify_bound(esc->hops[i], event_id, esc->origin_envelope.data,
                                         esc->origin_envelope.len) != 0
                   : !s_hop_well_formed(esc->hops[i]))
            return GR_ESIGNATURE;
    return 0;
}

/* The path, oldest first, for the timeline. */
static void s_path_text(char *out, size_t cap, const Gridrelay__Escalate *esc, const char *from,
                        const char *reporter, const char *origin)
{
    size_t n = (size_t)snprintf(out, cap, "%s from %s; path: reported by %s at %s",
                                esc->info_only ? "information copy" : "escalated", from, reporter,
                                origin);
    for (size_t i = 0; i < esc->n_hops && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, " -> %s (%s%s)", esc->hops[i]->node_id,
                              esc->hops[i]->reason, esc->hops[i]->supervise ? ", 督办" : "");
}

/* A report merged into the escalated case into below (合并), riding up in
 * its Escalate: stored here merged into it, with the reporter's envelope
 * checked as for any escalation. It gets no result of its own from here
 * (no from_child): the node that merged it resolves it with into's result.
 * A report this node already holds is left as it is. */
static int s_merged_in(gr_tierlink_t *self, const gr_request_t *req, Gridrelay__StoredEvent *into,
                       const Gridrelay__MergedReport *m)
{
    s_origin_t o;
    const char *fallback_origin = m->n_hops ? m->hops[0]->node_id : m->merged_at;
    bool verify = s_checks_inner_signatures(self);
    int rc = s_open_origin(self, &m->origin_envelope, m->resolved, NULL, fallback_origin,
                           req->now_ms, verify, &o);
    if (rc != 0) {
        /* Refusing the whole escalation for one bad rider would strand the
         * case it rode with: it is left out, and said so. */
        gr_log(GR_LOG_WARN, into->event->id, "merged report from %s left out: %s",
               req->source->peer, o.why);
        self->counters->value[GR_COUNT_REJ_INVALID]++;
        return rc == GR_ENOMEM ? rc : 0;
    }
    for (size_t i = 0; i < m->n_hops; i++) {
        if (verify ? gr_hop_verify_bound(m->hops[i], o.event->id, m->origin_envelope.data,
                                         m->origin_envelope.len) != 0
                   : !s_hop_well_formed(m->hops[i])) {
            gr_log(GR_LOG_WARN, into->event->id, "merged report %s from %s left out: a hop "
                   "signature does not verify", o.event->id, req->source->peer);
            self->counters->value[GR_COUNT_REJ_INVALID]++;
            gr_opened_clear(&o.opened);
            return 0;
        }
    }
    rc = gr_store_event_exists(req->txn, o.event->id);
    if (rc != 0) {
        if (rc == 1)
            gr_log(GR_LOG_INFO, into->event->id, "merged report %s is held here already: left "
                   "as it is", o.event->id);
        gr_opened_clear(&o.opened);
        return rc < 0 ? rc : 0;
    }
    char reason[512];
    snprintf(reason, sizeof reason, "came up from %s with %s, merged into it at %s (合并); "
             "reported by %s at %s", req->source->peer, into->event->id, m->merged_at,
             *o.event->reporter ? o.event->reporter : "a grid worker", o.event->origin_node);
    Gridrelay__StoredEvent stored = GRIDRELAY__STORED_EVENT__INIT;
    stored.event = o.event;
    stored.origin_envelope = m->origin_envelope;
    stored.hops = m->hops;
    stored.n_hops = m->n_hops;
    stored.merged_into = into->event->id;
    Gridrelay__StoredEvent *rec = NULL;
    gr_actor_t actor = s_peer_actor(req);
    rc = gr_engine_create(self->engine, req->txn, &stored, &actor, GRIDRELAY__ACTION__ACTION_ESCALATE,
                          reason, req->now_ms, &rec);
    gr_opened_clear(&o.opened);
    if (rc == 0)
        rc = gr_merge_join_from_below(self->engine, req->txn, rec, into, m, &actor, req->now_ms);
    if (rc == 0)
        rc = gr_engine_new_case(self->engine, req->txn, rec, req->now_ms);
    if (rec)
        gridrelay__stored_event__free_unpacked(rec, NULL);
    return rc;
}

void gr_tierlink_preverify(const gr_config_t *cfg, const Gridrelay__Body *body,
                           gr_preverified_t *out)
{
    memset(out, 0, sizeof *out);
    if (cfg->has_parent || !body || body->kind_case != GRIDRELAY__BODY__KIND_ESCALATE ||
        !body->escalate || body->escalate->n_hops == 0)
        return;
    const Gridrelay__Escalate *esc = body->escalate;
    gr_opened_t origin;
    if (gr_envelope_open_from(&origin, esc->origin_envelope.data, esc->origin_envelope.len, NULL,
                              cfg->max_frame) != 0)
        return;
    out->origin_ok = true;
    /* The id the hops sign: the reporter's, or the one the first node gave
     * it (s_open_origin resolves it so; the handler compares before it
     * relies on this). */
    const char *id = origin.body->kind_case == GRIDRELAY__BODY__KIND_REPORT &&
                             origin.body->report->event
                         ? origin.body->report->event->id
                         : NULL;
    if ((!id || !*id) && esc->hops[0]->resolved)
        id = esc->hops[0]->resolved->event_id;
    bool ok = id && *id && strlen(id) <= GR_EVENT_ID_MAX;
    for (size_t i = 0; ok && i + 1 < esc->n_hops; i++)
        ok = gr_hop_verify_bound(esc->hops[i], id, esc->origin_envelope.data,
                                 esc->origin_envelope.len) == 0;
    if (ok) {
        out->hops_ok = true;
        snprintf(out->hops_event_id, sizeof out->hops_event_id, "%s", id);
    }
    gr_opened_clear(&origin);
}

int gr_tierlink_escalate_in(gr_tierlink_t *self, const gr_request_t *req)
{
    const Gridrelay__Escalate *esc = req->opened->body->escalate;
    const char *peer = req->source->peer;
    uint64_t ref = gr_request_seq(req);
    /* The first hop is the node that stored the event first: what it
     * filled in comes with it. */
    const Gridrelay__Hop *first = esc->hops[0];
    s_origin_t o;
    bool verify = s_checks_inner_signatures(self);
    const gr_preverified_t *pre = req->pre;
    int rc = s_open_origin(self, &esc->origin_envelope, first->resolved, NULL, first->node_id,
                           req->now_ms, verify && !(pre && pre->origin_ok), &o);
    if (rc != 0)
        return rc == GR_ENOMEM ? rc : gr_reply_error(req->reply, ref, rc, o.why);
    gr_opened_t origin = o.opened;
    Gridrelay__Event *event = o.event;
    bool hops_done = pre && pre->hops_ok && strcmp(pre->hops_event_id, event->id) == 0;
    if (s_check_path(esc, req->opened->envelope->signer.data, s_child(self, req->source->peer),
                     event->id, verify && !hops_done) != 0) {
        gr_opened_clear(&origin);
        return gr_reply_error(req->reply, ref, GR_ESIGNATURE, "a hop signature does not verify");
    }
    Gridrelay__StoredEvent *held = NULL;
    rc = gr_store_event_get(req->txn, event->id, &held);
    if (rc == 0) {
        gr_opened_clear(&origin);
        rc = s_escalated_back(self, req, held, esc->hops[esc->n_hops - 1]);
        gridrelay__stored_event__free_unpacked(held, NULL);
        return rc;
    }
    if (rc != GR_ENOTFOUND) {
        gr_opened_clear(&origin);
        return rc;
    }
    char reason[1024];
    s_path_text(reason, sizeof reason, esc, peer,
                origin.signer ? origin.signer->name : *event->reporter ? event->reporter : "a grid worker",
                event->origin_node);
    const Gridrelay__Hop *last = esc->hops[esc->n_hops - 1];
    char candidate[GR_EVENT_ID_MAX + 1] = "";
    if (!esc->info_only &&
        (rc = gr_merge_find_candidate(self->cfg, req->txn, event, candidate, sizeof candidate)) != 0) {
        gr_opened_clear(&origin);
        return rc;
    }
    if (*candidate)
        snprintf(reason + strlen(reason), sizeof reason - strlen(reason),
                 "; candidate duplicate of %s", candidate);
    Gridrelay__StoredEvent stored = GRIDRELAY__STORED_EVENT__INIT;
    stored.event = event;
    stored.candidate_of = candidate;
    stored.origin_envelope = esc->origin_envelope;
    /* Came in a link batch: the item with its path and the child's signed
     * root is the lasting proof that the child forwarded this case
     * (PROTOCOL.md 8.9); a signed frame of its own is not kept, as before. */
    if (req->opened->envelope->receipt && req->frame)
        stored.link_proof = (ProtobufCBinaryData){req->frame_len, (uint8_t *)req->frame};
    stored.from_child = (char *)peer;
    stored.hops = esc->hops;
    stored.n_hops = esc->n_hops;
    stored.supervised = last->supervise;
    stored.info_only = esc->info_only;
    Gridrelay__StoredEvent *rec = NULL;
    gr_actor_t actor = s_peer_actor(req);
    rc = gr_engine_create(self->engine, req->txn, &stored, &actor, GRIDRELAY__ACTION__ACTION_ESCALATE,
                          reason, req->now_ms, &rec);
    gr_opened_clear(&origin);
    if (rc != 0)
        return s_finish(rc, req, NULL, NULL);
    if (esc->info_only) {
        char note[256];
        snprintf(note, sizeof note, "reported straight to %s (越级直报); kept here for information",
                 self->cfg->has_parent ? self->cfg->parent.id : "the tier above");
        rc = gr_engine_change(self->engine, req->txn, rec, GRIDRELAY__ACTION__ACTION_ESCALATE, NULL,
                              note, req->now_ms);
    } else {
        rc = gr_engine_new_case(self->engine, req->txn, rec, req->now_ms);
    }
    for (size_t i = 0; rc == 0 && !esc->info_only && i < esc->n_merged; i++)
        rc = s_merged_in(self, req, rec, esc->merged[i]);
    if (rc == 0 && last->supervise) {
        Gridrelay__Supervise sv = GRIDRELAY__SUPERVISE__INIT;
        sv.event_id = rec->event->id;
        sv.by_node = (char *)self->cfg->node_id;
        sv.reason = last->reason;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_SUPERVISE;
        body.supervise = &sv;
        rc = gr_engine_enqueue(self->engine, req->txn, peer, &body);
    }
    rc = s_finish(rc, req, rec, NULL);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    return rc;
}

int gr_tierlink_assign_in(gr_tierlink_t *self, const gr_request_t *req)
{
    const Gridrelay__Assign *as = req->opened->body->assign;
    const char *peer = req->source->peer;
    uint64_t ref = gr_request_seq(req);
    s_origin_t o;
    /* Verified at every tier: assignments are few, and the child acts on
     * them at once (PROTOCOL.md 8.3, "Where signatures are checked"). */
    int rc = s_open_origin(self, &as->origin_envelope, as->resolved, as->event_id, as->from_node,
                           req->now_ms, true, &o);
    if (rc != 0)
        return rc == GR_ENOMEM ? rc : gr_reply_error(req->reply, ref, rc, o.why);
    gr_opened_t origin = o.opened;
    Gridrelay__Event *event = o.event;
    char reason[512];
    snprintf(reason, sizeof reason, "assigned by %s (交办)%s%s", peer,
             as->reason && *as->reason ? ": " : "", as->reason ? as->reason : "");
    gr_actor_t actor = s_peer_actor(req);
    Gridrelay__StoredEvent *rec = NULL;
    rc = gr_store_event_get(req->txn, event->id, &rec);
    if (rc == 0) {
        /* A case this node escalated comes back down to be handled here. */
        rec->assigned_by_parent = true;
        rec->deadline_ms = as->deadline_ms;
        rc = gr_engine_set(&rec->holder, self->cfg->node_id);
        if (rc == 0)
            rc = gr_engine_change(self->engine, req->txn, rec, GRIDRELAY__ACTION__ACTION_ASSIGN,
                                  &actor, reason, req->now_ms);
        if (rc == GR_EPERM) {  /* already handled here: the assignment is a duplicate */
            gr_opened_clear(&origin);
            rc = gr_reply_ack(req->reply, ref, rec->event->id, true, rec->status);
            gridrelay__stored_event__free_unpacked(rec, NULL);
            return rc;
        }
    } else if (rc == GR_ENOTFOUND) {
        Gridrelay__StoredEvent stored = GRIDRELAY__STORED_EVENT__INIT;
        stored.event = event;
        stored.origin_envelope = as->origin_envelope;
        stored.assigned_by_parent = true;
        stored.deadline_ms = as->deadline_ms;
        rc = gr_engine_create(self->engine, req->txn, &stored, &actor,
                              GRIDRELAY__ACTION__ACTION_ASSIGN, reason, req->now_ms, &rec);
    }
    gr_opened_clear(&origin);
    if (rc == 0)
        rc = gr_engine_new_case(self->engine, req->txn, rec, req->now_ms);
    if (rc == 0 && as->deadline_ms)
        rc = gr_store_due_put(req->txn, as->deadline_ms, GR_DUE_DEADLINE, rec->event->id);
    rc = s_finish(rc, req, rec, NULL);
    if (rec)
        gridrelay__stored_event__free_unpacked(rec, NULL);
    return rc;
}

/* The result of a case: from the parent for one this node escalated, or
 * from a child for one this node assigned down. */
int gr_tierlink_feedback_in(gr_tierlink_t *self, const gr_request_t *req)
{
    const Gridrelay__Feedback *fb = req->opened->body->feedback;
    const gr_source_t *source = req->source;
    uint64_t ref = gr_request_seq(req);
    Gridrelay__StoredEvent *rec = NULL;
    int rc = gr_store_event_get(req->txn, fb->event_id, &rec);
    if (rc == GR_ENOTFOUND) {
        /* Nothing to update, and refusing would make the sender retry for
         * ever: acknowledge and say so in the log. */
        gr_log(GR_LOG_WARN, fb->event_id, "feedback from %s for a case this node does not hold",
               source->peer ? source->peer : "?");
        return gr_reply_ack(req->reply, ref, fb->event_id, true, GRIDRELAY__STATUS__STATUS_UNSPECIFIED);
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
        rc = gr_reply_ack(req->reply, ref, rec->event->id, true, rec->status);
        gridrelay__stored_event__free_unpacked(rec, NULL);
        return rc;
    }
    if (gr_engine_set(&rec->result, fb->result) != 0 ||
        gr_engine_set(&rec->resolved_by, fb->resolved_by) != 0 ||
        gr_engine_set(&rec->resolver, fb->resolver) != 0 ||
        gr_engine_set(&rec->holder, fb->resolved_by) != 0) {
        gridrelay__stored_event__free_unpacked(rec, NULL);
        return GR_ENOMEM;
    }
    char reason[512];
    snprintf(reason, sizeof reason, "result from %s: resolved by %s at %s: %s", source->peer,
             fb->resolver && *fb->resolver ? fb->resolver : "?", fb->resolved_by,
             fb->result && *fb->result ? fb->result : "(no result text)");
    gr_actor_t actor = s_peer_actor(req);
    rc = gr_engine_change(self->engine, req->txn, rec,
                          (from_above && !taken_back) || info_outcome ? GRIDRELAY__ACTION__ACTION_FEEDBACK
                                                                      : GRIDRELAY__ACTION__ACTION_RESOLVE,
                          &actor, reason, req->now_ms);
    /* Down every hop to the origin; up when this node was assigned it. An
     * information copy is the end of its line. */
    if (rc == 0 && !info_outcome)
        rc = gr_tierlink_send_result(self, req->txn, rec, source->peer, req->now_ms);
    /* A case this node reported past its parent: the parent holds an
     * information copy, and learns the outcome from here. */
    if (rc == 0 && source->kind == GR_FROM_SKIP && self->cfg->has_parent) {
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_FEEDBACK;
        body.feedback = (Gridrelay__Feedback *)fb;
        rc = gr_engine_enqueue(self->engine, req->txn, "parent", &body);
    }
    rc = s_finish(rc, req, rec, NULL);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    return rc;
}

int gr_tierlink_supervise_in(gr_tierlink_t *self, const gr_request_t *req)
{
    const Gridrelay__Supervise *sv = req->opened->body->supervise;
    Gridrelay__StoredEvent *rec = NULL;
    int rc = gr_store_event_get(req->txn, sv->event_id, &rec);
    if (rc == GR_ENOTFOUND)
        return gr_reply_ack(req->reply, gr_request_seq(req), sv->event_id, true,
                            GRIDRELAY__STATUS__STATUS_UNSPECIFIED);
    if (rc != 0)
        return rc;
    char reason[512];
    snprintf(reason, sizeof reason, "taken over by %s (督办): %s", sv->by_node, sv->reason);
    gr_actor_t actor = s_peer_actor(req);
    rc = gr_engine_change(self->engine, req->txn, rec, GRIDRELAY__ACTION__ACTION_URGE, &actor,
                          reason, req->now_ms);
    if (rc == GR_EPERM)  /* a closed case: the notice is still acknowledged */
        rc = 0;
    rc = s_finish(rc, req, rec, NULL);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    return rc;
}

/* ---- supervision (督办) of cases held below ---- */

int gr_tierlink_urge_down(gr_tierlink_t *self, gr_txn_t *txn, const char *peer,
                          const Gridrelay__Urge *urge)
{
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_URGE;
    body.urge = (Gridrelay__Urge *)urge;
    return gr_engine_enqueue(self->engine, txn, peer, &body);
}

int gr_tierlink_urge_in(gr_tierlink_t *self, const gr_request_t *req)
{
    const Gridrelay__Urge *urge = req->opened->body->urge;
    uint64_t ref = gr_request_seq(req);
    Gridrelay__StoredEvent *rec = NULL;
    int rc = gr_store_event_get(req->txn, urge->event_id, &rec);
    if (rc == GR_ENOTFOUND) {
        /* Not here: pass it on to where the view says it is, or say so. */
        gr_below_t below;
        if ((rc = gr_supervision_find_below(req->txn, urge->event_id, &below, NULL)) != 0)
            return rc;
        if (below.found && below.open)
            rc = gr_tierlink_urge_down(self, req->txn, below.via_child, urge);
        else
            gr_log(GR_LOG_WARN, urge->event_id, "urge from %s for a case not held here or below",
                   req->source->peer);
        return rc != 0 ? rc : gr_reply_ack(req->reply, ref, urge->event_id, false,
                                           GRIDRELAY__STATUS__STATUS_UNSPECIFIED);
    }
    if (rc != 0)
        return rc;
    char reason[768];
    snprintf(reason, sizeof reason, "urged by %s at %s (督办)%s%s", *urge->by ? urge->by : "an operator",
             urge->by_node, *urge->note ? ": " : "", urge->note);
    gr_actor_t actor = s_peer_actor(req);
    rc = gr_engine_change(self->engine, req->txn, rec, GRIDRELAY__ACTION__ACTION_URGE, &actor,
                          reason, req->now_ms);
    if (rc == GR_EPERM) {
        /* Closed here since: the notice is still acknowledged. */
        gr_log(GR_LOG_INFO, rec->event->id, "urge from %s for a case that is %s here",
               req->source->peer, gr_case_status_name(rec->status));
        rc = 0;
    } else if (rc == 0 && rec->status == GRIDRELAY__STATUS__ASSIGNED && rec->assigned_to &&
               *rec->assigned_to) {
        rc = gr_tierlink_urge_down(self, req->txn, rec->assigned_to, urge);
    } else if (rc == 0 && rec->dept && *rec->dept) {
        gr_next_t next = {.kind = GR_NEXT_URGE};
        snprintf(next.event_id, sizeof next.event_id, "%s", rec->event->id);
        gr_utf8_copy(next.why, sizeof next.why, reason);
        rc = gr_engine_then(self->engine, &next);
    }
    rc = s_finish(rc, req, rec, NULL);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    return rc;
}

/* ---- status from children ---- */

int gr_tierlink_child_status_seq(gr_tierlink_t *self, gr_txn_t *txn, const char *child,
                                 uint64_t *seq)
{
    (void)self;
    return gr_store_peer_get(txn, child, "status_seq", seq);
}

/* What assessment needs of a case's earlier updates, which the newest
 * one replaces: the deadline it had while reported (acceptance) and once
 * taken on (resolution), and when it was handed on upward. */
static int s_view_history(gr_txn_t *txn, const Gridrelay__StatusUpdate *update,
                          Gridrelay__ViewEntry *entry)
{
    Gridrelay__ViewEntry *before = NULL;
    int rc = gr_store_view_get(txn, update->node_id, update->event_id, &before);
    if (rc != 0 && rc != GR_ENOTFOUND)
        return rc;
    if (before) {
        entry->accept_due_ms = before->accept_due_ms;
        entry->resolve_due_ms = before->resolve_due_ms;
        entry->left_ms = before->left_ms;
        gridrelay__view_entry__free_unpacked(before, NULL);
    }
    gr_status_prior_seed(update, entry);  /* what a compacted log folded in */
    switch (update->status) {
    case GRIDRELAY__STATUS__REPORTED:
        if (update->due_ms)
            entry->accept_due_ms = update->due_ms;
        break;
    case GRIDRELAY__STATUS__ACCEPTED:
    case GRIDRELAY__STATUS__DISPATCHED:
    case GRIDRELAY__STATUS__ASSIGNED:
    case GRIDRELAY__STATUS__IN_PROGRESS:
    case GRIDRELAY__STATUS__RETURNED:
        if (update->due_ms)
            entry->resolve_due_ms = update->due_ms;
        break;
    case GRIDRELAY__STATUS__ESCALATED:
        if (!entry->left_ms)
            entry->left_ms = update->time_ms;
        break;
    default:
        break;
    }
    return 0;
}

int gr_tierlink_status_in(gr_tierlink_t *self, gr_txn_t *txn, const char *child,
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
        self->counters->value[GR_COUNT_REJ_INVALID]++;
        gr_log(GR_LOG_WARN, NULL, "status update %llu from %s refused: %s",
               (unsigned long long)update->node_seq, child, why);
        return gr_store_peer_put(txn, child, "status_seq", update->node_seq);
    }
    Gridrelay__ViewEntry entry = GRIDRELAY__VIEW_ENTRY__INIT;
    entry.update = (Gridrelay__StatusUpdate *)update;
    entry.via_child = (char *)child;
    entry.received_ms = now_ms;
    if ((rc = s_view_history(txn, update, &entry)) != 0 ||
        (rc = gr_store_view_put(txn, update->node_id, update->event_id, &entry)) != 0 ||
        (rc = gr_store_peer_put(txn, child, "status_seq", update->node_seq)) != 0)
        return rc;
    /* Relayed upward in this node's own stream, so the top sees every tier. */
    Gridrelay__StatusUpdate relay = *update;
    relay.node_seq = 0;
    relay.via_node = (char *)self->cfg->node_id;
    return gr_engine_stream(self->engine, txn, &relay);
}
