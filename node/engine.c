#include "engine.h"
#include "linkbatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cases.h"
#include "client.h"
#include "confseal.h"
#include "error.h"
#include "log.h"

/* The statuses the last few changes left, for the Acks of the request
 * that caused them (a request touches one case, and the agenda after it
 * the same one, almost always). */
#define S_RECENT 8

struct gr_engine {
    const gr_config_t *cfg;
    uint64_t last_seq;
    gr_effects_t effects;
    gr_next_t *agenda;
    size_t agenda_head;
    size_t agenda_count;
    size_t agenda_cap;
    struct {
        char event_id[GR_EVENT_ID_MAX + 1];
        int status;
    } recent[S_RECENT];
    size_t recent_next;
};

gr_engine_t *gr_engine_new(const gr_config_t *cfg)
{
    gr_engine_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = cfg;
    return self;
}

void gr_engine_destroy(gr_engine_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gr_engine_t *self = *self_p;
    gr_engine_effects_clear(self);
    gr_packed_list_t *lists[] = {&self->effects.status, &self->effects.notices};
    for (size_t i = 0; i < 2; i++) {
        free(lists[i]->bodies);
        free(lists[i]->lens);
        free(lists[i]->topics);
    }
    free(self->agenda);
    free(self);
    *self_p = NULL;
}

const char *gr_engine_node_id(const gr_engine_t *self)
{
    return self->cfg->node_id;
}

int gr_engine_load(gr_engine_t *self, gr_txn_t *txn)
{
    return gr_store_peer_get(txn, "self", "seq", &self->last_seq);
}

static uint64_t s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Sequences are microsecond timestamps, never below the last one used, so
 * they increase across restarts without a write per envelope; the outbox
 * ones (which peers dedup by) are also persisted, so a clock that steps
 * back cannot reuse one. */
uint64_t gr_engine_next_seq(gr_engine_t *self)
{
    uint64_t now = s_now_us();
    self->last_seq = now > self->last_seq ? now : self->last_seq + 1;
    return self->last_seq;
}

/* ---- effects ---- */

gr_effects_t *gr_engine_effects(gr_engine_t *self)
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

void gr_engine_effects_clear(gr_engine_t *self)
{
    s_list_truncate(&self->effects.status, 0);
    s_list_truncate(&self->effects.notices, 0);
    self->effects.kick_all = false;
    self->agenda_head = self->agenda_count = 0;
    memset(self->recent, 0, sizeof self->recent);
}

gr_engine_mark_t gr_engine_mark(const gr_engine_t *self)
{
    return (gr_engine_mark_t){self->effects.status.count, self->effects.notices.count,
                              self->effects.kick_all, self->agenda_head + self->agenda_count};
}

void gr_engine_rollback(gr_engine_t *self, const gr_engine_mark_t *mark)
{
    s_list_truncate(&self->effects.status, mark->status);
    s_list_truncate(&self->effects.notices, mark->notices);
    self->effects.kick_all = mark->kick_all;
    if (mark->agenda >= self->agenda_head)
        self->agenda_count = mark->agenda - self->agenda_head;
    memset(self->recent, 0, sizeof self->recent);
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

static int s_effect(gr_engine_t *self, const char *topic, const Gridrelay__Body *body)
{
    size_t len = 0;
    uint8_t *packed = gr_body_pack(body, &len);
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

int gr_engine_notice(gr_engine_t *self, const char *topic, const Gridrelay__Body *body)
{
    return topic ? s_effect(self, topic, body) : GR_EINVAL;
}

int gr_engine_enqueue(gr_engine_t *self, gr_txn_t *txn, const char *peer,
                      const Gridrelay__Body *body)
{
    uint64_t seq = gr_engine_next_seq(self);
    uint8_t *frame = NULL;
    size_t len = 0;
    /* Stored unsigned (link protocol 2): the link signs when it sends, one
     * signature per batch of entries (broker/linkbatch.h). */
    size_t body_len = 0;
    uint8_t *bytes = gr_body_pack(body, &body_len);
    if (!bytes)
        return GR_ENOMEM;
    int rc = gr_linkbatch_entry_pack(&frame, &len, self->cfg->keys.pk, seq, gr_now_ms(), bytes,
                                     body_len);
    free(bytes);
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

int gr_engine_stream(gr_engine_t *self, gr_txn_t *txn, Gridrelay__StatusUpdate *update)
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
    return s_effect(self, NULL, &body);
}

static void s_facts(const Gridrelay__StoredEvent *rec, bool untried_left, gr_case_facts_t *f);

uint64_t gr_engine_due(const gr_config_t *cfg, const Gridrelay__StoredEvent *rec)
{
    if (rec->status < GRIDRELAY__STATUS__REPORTED || rec->status > GRIDRELAY__STATUS__RETURNED)
        return 0;
    if (rec->merged_into && *rec->merged_into)
        return 0;  /* merged (合并): the case it joined has the deadlines */
    gr_case_facts_t facts;
    s_facts(rec, false, &facts);
    uint64_t due = gr_deadline_due(&cfg->deadlines, &facts);
    if (gr_case_open(rec->status) && rec->status != GRIDRELAY__STATUS__ESCALATED &&
        facts.assigned_due_ms && (!due || facts.assigned_due_ms < due))
        due = facts.assigned_due_ms;
    return due;
}

/* Records the case's new state in this node's status stream. */
static int s_publish(gr_engine_t *self, gr_txn_t *txn, const Gridrelay__StoredEvent *rec,
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
    /* A confidential case's title stays here: the tiers above see its
     * id, category, state and timings (PROTOCOL.md 12.1). */
    const gr_category_t *cat = gr_catalogue_find(self->cfg->catalogue, ev->category);
    update.title = cat && cat->confidential ? GR_CONFSEAL_TITLE : ev->title;
    update.origin_node = ev->origin_node;
    update.time_ms = now_ms;
    update.received_ms = rec->received_ms;
    update.accepted_ms = rec->accepted_ms;
    update.resolved_ms = rec->resolved_ms;
    update.fed_back_ms = rec->fed_back_ms;
    update.due_ms = gr_engine_due(self->cfg, rec);
    update.returns = rec->returns;
    update.urges = rec->urges;
    update.dept = rec->dept;
    update.task_due_ms = rec->task_due_ms;
    return gr_engine_stream(self, txn, &update);
}

/* ---- the agenda ---- */

int gr_engine_then(gr_engine_t *self, const gr_next_t *next)
{
    size_t end = self->agenda_head + self->agenda_count;
    if (end == self->agenda_cap) {
        if (self->agenda_head > 0) {
            /* Reuse the taken slots at the front before growing. */
            memmove(self->agenda, self->agenda + self->agenda_head,
                    self->agenda_count * sizeof *self->agenda);
            self->agenda_head = 0;
        } else {
            size_t cap = self->agenda_cap ? self->agenda_cap * 2 : 16;
            gr_next_t *grown = realloc(self->agenda, cap * sizeof *grown);
            if (!grown)
                return GR_ENOMEM;
            self->agenda = grown;
            self->agenda_cap = cap;
        }
        end = self->agenda_head + self->agenda_count;
    }
    self->agenda[end] = *next;
    self->agenda_count++;
    return 0;
}

int gr_engine_then_decide(gr_engine_t *self, const char *event_id, bool operator_asked,
                          const char *why)
{
    gr_next_t next = {.kind = GR_NEXT_DECIDE, .operator_asked = operator_asked};
    snprintf(next.event_id, sizeof next.event_id, "%s", event_id);
    snprintf(next.why, sizeof next.why, "%s", why ? why : "");
    return gr_engine_then(self, &next);
}

bool gr_engine_take_next(gr_engine_t *self, gr_next_t *out)
{
    if (self->agenda_count == 0)
        return false;
    *out = self->agenda[self->agenda_head++];
    self->agenda_count--;
    if (self->agenda_count == 0)
        self->agenda_head = 0;
    return true;
}

/* ---- cases ---- */

static void s_remember(gr_engine_t *self, const char *event_id, int status)
{
    for (size_t i = 0; i < S_RECENT; i++) {
        if (strcmp(self->recent[i].event_id, event_id) == 0) {
            self->recent[i].status = status;
            return;
        }
    }
    snprintf(self->recent[self->recent_next].event_id, sizeof self->recent[0].event_id, "%s",
             event_id);
    self->recent[self->recent_next].status = status;
    self->recent_next = (self->recent_next + 1) % S_RECENT;
}

int gr_engine_status_of(const gr_engine_t *self, const char *event_id)
{
    for (size_t i = 0; i < S_RECENT; i++)
        if (self->recent[i].event_id[0] && strcmp(self->recent[i].event_id, event_id) == 0)
            return self->recent[i].status;
    return 0;
}

static void s_entry_actor(const gr_engine_t *self, Gridrelay__TimelineEntry *entry,
                          const gr_actor_t *actor)
{
    entry->actor.data = (uint8_t *)(actor && actor->pk ? actor->pk : self->cfg->keys.pk);
    entry->actor.len = GR_PUBLIC_KEY_BYTES;
    entry->actor_name = (char *)(actor && actor->name ? actor->name : self->cfg->node_id);
    if (actor && actor->envelope_hash) {
        entry->envelope_hash.data = (uint8_t *)actor->envelope_hash;
        entry->envelope_hash.len = 32;
    }
}

int gr_engine_create(gr_engine_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *stored,
                     const gr_actor_t *actor, Gridrelay__Action action, const char *reason,
                     uint64_t now_ms, Gridrelay__StoredEvent **out)
{
    stored->received_ms = now_ms;
    stored->holder = (char *)self->cfg->node_id;
    Gridrelay__TimelineEntry first = GRIDRELAY__TIMELINE_ENTRY__INIT;
    first.time_ms = now_ms;
    s_entry_actor(self, &first, actor);
    first.unit = (char *)self->cfg->node_id;
    first.action = action;
    /* A record with no lifecycle (a zero report) is born closed. */
    first.to_status = stored->status == GRIDRELAY__STATUS__CLOSED
                          ? GRIDRELAY__STATUS__CLOSED
                          : gr_case_next(GRIDRELAY__STATUS__STATUS_UNSPECIFIED, action);
    first.reason = (char *)reason;
    int rc = gr_store_event_create(txn, stored, &first);
    if (rc == 0)
        rc = gr_store_counter_add(txn, "events", 1);
    if (rc == 0)
        s_remember(self, stored->event->id, stored->status);
    if (rc == 0 && out)
        rc = gr_store_event_get(txn, stored->event->id, out);
    return rc;
}

int gr_engine_new_case(gr_engine_t *self, gr_txn_t *txn, const Gridrelay__StoredEvent *rec,
                       uint64_t now_ms)
{
    int rc = s_publish(self, txn, rec, now_ms);
    if (rc != 0)
        return rc;
    /* Debug, not info: a line per case is formatting on every report's
     * path (strftime, vfprintf in the profile); the timeline keeps it. */
    gr_log(GR_LOG_DEBUG, rec->event->id, "new case: %s, %s, from %s", rec->event->category,
           gr_severity_name((gr_severity_t)rec->event->severity),
           rec->from_child && *rec->from_child ? rec->from_child : rec->event->origin_node);
    return rec->info_only ? 0 : gr_engine_then_decide(self, rec->event->id, false, NULL);
}

int gr_engine_change(gr_engine_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                     Gridrelay__Action action, const gr_actor_t *actor, const char *reason,
                     uint64_t now_ms)
{
    Gridrelay__Status next = gr_case_next(rec->status, action);
    if (next == GRIDRELAY__STATUS__STATUS_UNSPECIFIED)
        return GR_EPERM;
    bool with_depts = next == GRIDRELAY__STATUS__DISPATCHED ||
                      next == GRIDRELAY__STATUS__IN_PROGRESS || next == GRIDRELAY__STATUS__RETURNED;
    if (!with_depts && ((rec->dept && *rec->dept) || rec->n_co_depts)) {
        gr_next_t withdraw = {.kind = GR_NEXT_WITHDRAW};
        snprintf(withdraw.event_id, sizeof withdraw.event_id, "%s", rec->event->id);
        snprintf(withdraw.why, sizeof withdraw.why, "the case is now %s here",
                 gr_case_status_name(next));
        int rc = gr_engine_then(self, &withdraw);
        if (rc != 0)
            return rc;
    }
    /* A clock set back (by hours, say) must not date an entry before the
     * one it follows: the timeline is read as a sequence of events in
     * time, and the assessment measures durations between its entries.
     * The entry takes the later of now and the case's last entry
     * (tests/integration/test_clock.c). */
    uint64_t at = now_ms < rec->updated_ms ? rec->updated_ms : now_ms;
    Gridrelay__TimelineEntry entry = GRIDRELAY__TIMELINE_ENTRY__INIT;
    entry.time_ms = at;
    s_entry_actor(self, &entry, actor);
    entry.unit = (char *)self->cfg->node_id;
    entry.action = action;
    entry.from_status = rec->status;
    entry.to_status = next;
    entry.reason = (char *)(reason ? reason : "");
    Gridrelay__Status before = rec->status;
    /* The milestones a superior supervises and assesses by. */
    if (next == GRIDRELAY__STATUS__RESOLVED && before != next)
        rec->resolved_ms = at;
    if (next == GRIDRELAY__STATUS__FED_BACK && before != next)
        rec->fed_back_ms = at;
    if (action == GRIDRELAY__ACTION__ACTION_RETURN)
        rec->returns++;
    if (action == GRIDRELAY__ACTION__ACTION_URGE)
        rec->urges++;
    int rc = gr_store_event_append(txn, rec, &entry);
    if (rc != 0)
        return rc;
    s_remember(self, rec->event->id, next);
    if (rec->n_merged && gr_case_open(before) &&
        (next == GRIDRELAY__STATUS__RESOLVED || next == GRIDRELAY__STATUS__FED_BACK)) {
        gr_next_t merged = {.kind = GR_NEXT_MERGED};
        snprintf(merged.event_id, sizeof merged.event_id, "%s", rec->event->id);
        if ((rc = gr_engine_then(self, &merged)) != 0)
            return rc;
    }
    if (before != next || action == GRIDRELAY__ACTION__ACTION_ASSIGN ||
        action == GRIDRELAY__ACTION__ACTION_DISPATCH || action == GRIDRELAY__ACTION__ACTION_URGE)
        rc = s_publish(self, txn, rec, now_ms);
    /* Per-action totals for the node's figures (gridctl stats): how many
     * cases went up, were dispatched, resolved, overdue... */
    char counter[48];
    snprintf(counter, sizeof counter, "action.%s", gr_case_action_name(action));
    if (rc == 0 && !rec->info_only)
        rc = gr_store_counter_add(txn, counter, 1);
    gr_log(GR_LOG_DEBUG, rec->event->id, "%s: %s -> %s (%s)", gr_case_action_name(action),
           gr_case_status_name(before), gr_case_status_name(next), entry.reason);
    return rc;
}

int gr_engine_set(char **field, const char *value)
{
    char *copy = strdup(value ? value : "");
    if (!copy)
        return GR_ENOMEM;
    if (*field && *field != protobuf_c_empty_string)
        free(*field);
    *field = copy;
    return 0;
}

/* The router speaks its own enums (router/ knows nothing of protobuf);
 * the casts below rely on their values being the wire's. */
#define S_SAME(a, b) _Static_assert((int)(a) == (int)(b), #a " must equal " #b)
S_SAME(GR_SEV_ROUTINE, GRIDRELAY__SEVERITY__ROUTINE);
S_SAME(GR_SEV_URGENT, GRIDRELAY__SEVERITY__URGENT);
S_SAME(GR_SEV_EXTRA_URGENT, GRIDRELAY__SEVERITY__EXTRA_URGENT);
S_SAME(GR_CASE_REPORTED, GRIDRELAY__STATUS__REPORTED);
S_SAME(GR_CASE_ACCEPTED, GRIDRELAY__STATUS__ACCEPTED);
S_SAME(GR_CASE_DISPATCHED, GRIDRELAY__STATUS__DISPATCHED);
S_SAME(GR_CASE_ASSIGNED, GRIDRELAY__STATUS__ASSIGNED);
S_SAME(GR_CASE_IN_PROGRESS, GRIDRELAY__STATUS__IN_PROGRESS);
S_SAME(GR_CASE_RESOLVED, GRIDRELAY__STATUS__RESOLVED);
S_SAME(GR_CASE_FED_BACK, GRIDRELAY__STATUS__FED_BACK);
S_SAME(GR_CASE_CLOSED, GRIDRELAY__STATUS__CLOSED);
S_SAME(GR_CASE_ESCALATED, GRIDRELAY__STATUS__ESCALATED);
S_SAME(GR_CASE_RETURNED, GRIDRELAY__STATUS__RETURNED);
S_SAME(GR_ROUTE_SEV_SLOTS, GR_SEVERITY_LEVELS);

static void s_facts(const Gridrelay__StoredEvent *rec, bool untried_left, gr_case_facts_t *f)
{
    memset(f, 0, sizeof *f);
    f->severity = (gr_severity_t)rec->event->severity;
    f->state = (gr_case_state_t)rec->status;
    f->received_ms = rec->received_ms;
    f->accepted_ms = rec->accepted_ms;
    f->assigned_down = rec->assigned_by_parent;
    f->returned_from_below = rec->status == GRIDRELAY__STATUS__RETURNED;
    f->assigned_due_ms = rec->assigned_by_parent ? rec->deadline_ms : 0;
    f->untried_left = untried_left;
}

int gr_engine_decide(gr_engine_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                     bool operator_asked, bool untried_left, uint64_t now_ms, gr_decision_t *d)
{
    memset(d, 0, sizeof *d);
    /* A report merged into another case has no lifecycle of its own: no
     * timer, no escalation (node/merge.h). */
    if (rec->info_only || (rec->merged_into && *rec->merged_into))
        return 0;
    const gr_category_t *cat = gr_catalogue_find(self->cfg->catalogue, rec->event->category);
    if (!cat)
        return 0;  /* catalogue changed since: keep the case, route by hand */
    gr_tier_t tier = {self->cfg->tier_level, self->cfg->has_parent};
    gr_authority_t auth;
    memcpy(auth.level, cat->authority, sizeof auth.level);
    auth.direct = cat->direct;
    gr_case_facts_t facts;
    s_facts(rec, untried_left, &facts);
    facts.operator_escalate = operator_asked;
    if (gr_decide(d, &tier, &auth, &self->cfg->deadlines, &facts, now_ms) != 0)
        return GR_EINVAL;
    int rc = 0;
    switch (d->action) {
    case GR_ACT_ESCALATE:
    case GR_ACT_SKIP_LEVEL:
        if (d->supervise)
            rc = gr_engine_change(self, txn, rec, GRIDRELAY__ACTION__ACTION_DEADLINE, NULL,
                                  gr_reason_name(d->reason), now_ms);
        return rc;
    case GR_ACT_KEEP:
        if (d->at_top && d->overdue && d->reason != GR_REASON_NONE)
            rc = gr_engine_change(self, txn, rec, GRIDRELAY__ACTION__ACTION_DEADLINE, NULL,
                                  "overdue at the top tier: supervise here (督办)", now_ms);
        if (rc == 0 && d->due_ms)
            rc = gr_store_due_put(txn, d->due_ms, GR_DUE_DEADLINE, rec->event->id);
        return rc;
    default:
        return 0;
    }
}
