#include "flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "error.h"
#include "event.h"
#include "log.h"
#include "merge.h"

/* One request or timer sets off a handful of steps (decide, dispatch,
 * decide again for the new state's timer). A chain far longer than that
 * is a loop between the router and a routing table: stop it, and say so. */
#define S_MAX_STEPS 64

/* The router's decision for rec, carried out. */
static int s_decide(const gr_flow_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                    const gr_next_t *next, uint64_t now_ms)
{
    bool untried = gr_departments_untried(self->departments, rec);
    gr_decision_t d;
    int rc = gr_engine_decide(self->engine, txn, rec, next->operator_asked, untried, now_ms, &d);
    if (rc != 0)
        return rc;
    switch (d.action) {
    case GR_ACT_ESCALATE:
    case GR_ACT_SKIP_LEVEL:
        return gr_tierlink_send_up(self->tierlink, txn, rec, &d, next->why[0] ? next->why : NULL,
                                   now_ms);
    case GR_ACT_ASSIGN_DOWN:
        rc = gr_departments_dispatch_next(self->departments, txn, rec, now_ms);
        if (rc == GR_ENOTFOUND)
            return 0;  /* the route changed under it: keep, an operator decides */
        /* Dispatched now: decide again for the new state (its timer). */
        return rc != 0 ? rc : gr_engine_then_decide(self->engine, rec->event->id, false, NULL);
    default:
        return 0;
    }
}

static int s_step(const gr_flow_t *self, gr_txn_t *txn, const gr_next_t *next, uint64_t now_ms)
{
    Gridrelay__StoredEvent *rec = NULL;
    int rc = gr_store_event_get(txn, next->event_id, &rec);
    if (rc == GR_ENOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    switch (next->kind) {
    case GR_NEXT_DECIDE:
        rc = s_decide(self, txn, rec, next, now_ms);
        break;
    case GR_NEXT_WITHDRAW:
        rc = gr_departments_withdraw_all(self->departments, txn, rec, next->why);
        break;
    case GR_NEXT_RESULT:
        rc = gr_tierlink_send_result(self->tierlink, txn, rec,
                                     next->from_peer[0] ? next->from_peer : NULL, now_ms);
        break;
    case GR_NEXT_MERGED:
        rc = gr_merge_resolve_merged(self->engine, txn, rec, now_ms);
        break;
    case GR_NEXT_URGE:
        rc = gr_departments_urge(self->departments, txn, rec, next->why, now_ms);
        if (rc == GR_ENOTFOUND)
            rc = 0;  /* the department let it go since */
        break;
    case GR_NEXT_OVERDUE: {
        gr_decision_t d = {.action = GR_ACT_ESCALATE, .reason = next->reason, .supervise = true};
        rc = gr_engine_change(self->engine, txn, rec, GRIDRELAY__ACTION__ACTION_DEADLINE, NULL,
                              next->why, now_ms);
        if (rc == 0)
            rc = gr_tierlink_send_up(self->tierlink, txn, rec, &d, next->why, now_ms);
        break;
    }
    }
    gridrelay__stored_event__free_unpacked(rec, NULL);
    return rc;
}

int gr_flow_run(const gr_flow_t *self, gr_txn_t *txn, uint64_t now_ms)
{
    gr_next_t next;
    for (int steps = 0; gr_engine_take_next(self->engine, &next); steps++) {
        if (steps == S_MAX_STEPS) {
            gr_log(GR_LOG_ERROR, next.event_id, "more than %d routing steps for one change: "
                   "stopped (check the [dispatch] table and the catalogue)", S_MAX_STEPS);
            while (gr_engine_take_next(self->engine, &next)) {
            }
            return 0;
        }
        int rc = s_step(self, txn, &next, now_ms);
        if (rc != 0)
            return rc;
    }
    return 0;
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

/* One timer: the router on the case as it is now, or the department
 * task's rules. */
static int s_fire(const gr_flow_t *self, gr_txn_t *txn, const s_due_t *d, uint64_t now_ms)
{
    int rc;
    if (d->kind == GR_DUE_DAILY)
        return gr_daily_fire(self->daily, txn, now_ms);
    if (d->kind != GR_DUE_TASK) {
        rc = gr_engine_then_decide(self->engine, d->id, false, NULL);
    } else {
        Gridrelay__StoredEvent *rec = NULL;
        if ((rc = gr_store_event_get(txn, d->id, &rec)) != 0)
            return rc;
        rc = gr_departments_fire(self->departments, txn, rec, now_ms);
        gridrelay__stored_event__free_unpacked(rec, NULL);
    }
    return rc != 0 ? rc : gr_flow_run(self, txn, now_ms);
}

int gr_flow_fire_due(const gr_flow_t *self, gr_txn_t *txn, uint64_t now_ms)
{
    s_due_batch_t batch = {.count = 0};
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
        gr_engine_mark_t mark = gr_engine_mark(self->engine);
        rc = s_fire(self, mine, d, now_ms);
        if (rc == 0 || rc == GR_EPERM || rc == GR_ENOTFOUND) {
            if ((rc = gr_store_commit(&mine)) != 0)
                return rc;
            continue;
        }
        gr_store_abort(&mine);
        gr_engine_rollback(self->engine, &mark);
        if (rc == GR_EMAPFULL || rc == GR_ENOMEM)
            return rc;
        gr_log(GR_LOG_ERROR, d->id, "timer (kind %u) failed: %s; dropped", d->kind, gr_strerror(rc));
    }
    return 0;
}

uint64_t gr_flow_next_due(gr_txn_t *txn)
{
    uint64_t due = 0;
    return gr_store_due_next(txn, &due) == 0 ? due : 0;
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
static int s_repair_one(const gr_flow_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
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
    rc = gr_engine_change(self->engine, txn, rec, note, NULL, why, now_ms);
    bool unrouted = rec->status == GRIDRELAY__STATUS__REPORTED ||
                    rec->status == GRIDRELAY__STATUS__ACCEPTED ||
                    rec->status == GRIDRELAY__STATUS__RETURNED;
    if (rc == 0 && unrouted)
        rc = gr_engine_then_decide(self->engine, ev->id, false, NULL);
    return rc == 0 ? gr_flow_run(self, txn, now_ms) : rc;
}

int gr_flow_repair(const gr_flow_t *self, gr_txn_t *txn, uint64_t now_ms, size_t *repaired)
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
