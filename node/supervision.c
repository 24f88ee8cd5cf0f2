#include "supervision.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "engine.h"
#include "confseal.h"
#include "error.h"
#include "supervise.h"

/* router/supervise.h and the wire name the kinds alike. */
#define S_SAME(a, b) _Static_assert((int)(a) == (int)(b), #a " must equal " #b)
S_SAME(GR_OVERDUE_NOT_ACCEPTED, GRIDRELAY__SUPERVISION_ITEM__KIND__NOT_ACCEPTED_IN_TIME);
S_SAME(GR_OVERDUE_NOT_RESOLVED, GRIDRELAY__SUPERVISION_ITEM__KIND__NOT_RESOLVED_IN_TIME);
S_SAME(GR_OVERDUE_NOT_FED_BACK, GRIDRELAY__SUPERVISION_ITEM__KIND__NOT_FED_BACK_IN_TIME);
S_SAME(GR_OVERDUE_TASK, GRIDRELAY__SUPERVISION_ITEM__KIND__TASK_OVERDUE);
S_SAME(GR_OVERDUE_RETURNED, GRIDRELAY__SUPERVISION_ITEM__KIND__RETURNED_TOO_OFTEN);

typedef struct {
    const gr_config_t *cfg;
    gr_txn_t *txn;
    uint64_t now_ms;
    Gridrelay__SupervisionItem *items;
    size_t count;
    size_t cap;
    int rc;
} s_list_t;

/* What one case at one node looks like to the list. */
typedef struct {
    const char *event_id, *category, *title, *node_id, *holder;
    Gridrelay__Status status;
    Gridrelay__Severity severity;
    uint32_t urges, returns;
} s_case_t;

static char *s_dup(const char *s)
{
    return strdup(s ? s : "");
}

static void s_add(s_list_t *l, const s_case_t *c, const gr_supervise_facts_t *facts)
{
    gr_overdue_item_t found[GR_SUPERVISE_MAX_ITEMS];
    size_t n = gr_supervise(facts, &l->cfg->supervision, l->now_ms, found);
    for (size_t i = 0; i < n && l->rc == 0; i++) {
        if (l->count == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 64;
            void *grown = realloc(l->items, cap * sizeof *l->items);
            if (!grown) {
                l->rc = GR_ENOMEM;
                return;
            }
            l->items = grown;
            l->cap = cap;
        }
        Gridrelay__SupervisionItem *it = &l->items[l->count];
        gridrelay__supervision_item__init(it);
        it->kind = (Gridrelay__SupervisionItem__Kind)found[i].kind;
        it->late_ms = found[i].late_ms;
        it->urges = c->urges;
        it->returns = c->returns;
        it->status = c->status;
        it->severity = c->severity;
        it->event_id = s_dup(c->event_id);
        it->category = s_dup(c->category);
        it->title = s_dup(c->title);
        it->node_id = s_dup(c->node_id);
        it->holder = s_dup(c->holder);
        l->count++;
        if (!it->event_id || !it->category || !it->title || !it->node_id || !it->holder)
            l->rc = GR_ENOMEM;
    }
}

/* This node's own cases. */
static void s_visit_case(void *ctx, const Gridrelay__StoredEvent *rec)
{
    s_list_t *l = ctx;
    if (l->rc != 0 || rec->info_only || !rec->event)
        return;
    const Gridrelay__Event *ev = rec->event;
    bool from_below = rec->from_child && *rec->from_child;
    bool fed_back = false;
    if (from_below && rec->status == GRIDRELAY__STATUS__RESOLVED) {
        /* Whether the origin has the result: its own status, in the view. */
        Gridrelay__ViewEntry *origin = NULL;
        if (gr_store_view_get(l->txn, ev->origin_node, ev->id, &origin) == 0) {
            fed_back = origin->update && origin->update->status == GRIDRELAY__STATUS__FED_BACK;
            gridrelay__view_entry__free_unpacked(origin, NULL);
        }
    }
    gr_supervise_facts_t facts = {
        .state = (gr_case_state_t)rec->status,
        .due_ms = gr_engine_due(l->cfg, rec),
        .task_due_ms = rec->task_due_ms,
        .resolved_ms = rec->resolved_ms,
        .returns = rec->returns,
        .from_below = from_below,
        .origin_fed_back = fed_back,
    };
    /* A confidential case is listed by id and category (PROTOCOL.md 12.1). */
    const gr_category_t *cat = gr_catalogue_find(l->cfg->catalogue, ev->category);
    s_case_t c = {ev->id, ev->category, cat && cat->confidential ? GR_CONFSEAL_TITLE : ev->title,
                  l->cfg->node_id, rec->holder, rec->status, ev->severity, rec->urges,
                  rec->returns};
    s_add(l, &c, &facts);
}

/* A case below, as its holder last told (its milestones travel with it). */
static void s_visit_view(void *ctx, const Gridrelay__ViewEntry *entry)
{
    s_list_t *l = ctx;
    const Gridrelay__StatusUpdate *u = entry->update;
    if (l->rc != 0 || !u)
        return;
    gr_supervise_facts_t facts = {
        .state = (gr_case_state_t)u->status,
        .due_ms = u->due_ms,
        .task_due_ms = u->task_due_ms,
        .resolved_ms = u->resolved_ms,
        .returns = u->returns,
    };
    s_case_t c = {u->event_id, u->category, u->title, u->node_id,
                  u->dept && *u->dept ? u->dept : u->holder, u->status, u->severity, u->urges,
                  u->returns};
    s_add(l, &c, &facts);
}

static int s_later_first(const void *a, const void *b)
{
    const Gridrelay__SupervisionItem *x = a, *y = b;
    if (x->late_ms != y->late_ms)
        return x->late_ms < y->late_ms ? 1 : -1;
    return strcmp(x->event_id, y->event_id);
}

static void s_free(s_list_t *l)
{
    for (size_t i = 0; i < l->count; i++) {
        free(l->items[i].event_id);
        free(l->items[i].category);
        free(l->items[i].title);
        free(l->items[i].node_id);
        free(l->items[i].holder);
    }
    free(l->items);
}

/* ---- one case below ---- */

typedef struct {
    const char *event_id;
    gr_below_t *out;
    Gridrelay__ViewEntry **entry;
    int rc;
} s_find_t;

static void s_find_visit(void *ctx, const Gridrelay__ViewEntry *entry)
{
    s_find_t *f = ctx;
    const Gridrelay__StatusUpdate *u = entry->update;
    if (f->rc != 0 || !u || !u->event_id || strcmp(u->event_id, f->event_id) != 0)
        return;
    bool open = gr_case_open(u->status) && u->status != GRIDRELAY__STATUS__ESCALATED;
    if (f->out->found && (f->out->open || !open))
        return;
    f->out->found = true;
    f->out->open = open;
    f->out->status = u->status;
    snprintf(f->out->node_id, sizeof f->out->node_id, "%s", u->node_id);
    snprintf(f->out->via_child, sizeof f->out->via_child, "%s", entry->via_child);
    snprintf(f->out->holder, sizeof f->out->holder, "%s", u->dept && *u->dept ? u->dept : u->holder);
    if (f->entry) {
        if (*f->entry)
            gridrelay__view_entry__free_unpacked(*f->entry, NULL);
        if (!(*f->entry = gr_message_dup(&entry->base)))
            f->rc = GR_ENOMEM;
    }
}

int gr_supervision_find_below(gr_txn_t *txn, const char *event_id, gr_below_t *out,
                              Gridrelay__ViewEntry **entry)
{
    memset(out, 0, sizeof *out);
    if (entry)
        *entry = NULL;
    s_find_t f = {event_id, out, entry, 0};
    char token[GR_PAGE_TOKEN_MAX] = "", next[GR_PAGE_TOKEN_MAX];
    for (;;) {
        int rc = gr_store_view_scan(txn, NULL, token, 1000, s_find_visit, &f, next);
        if (rc < 0 || f.rc != 0) {
            if (entry && *entry) {
                gridrelay__view_entry__free_unpacked(*entry, NULL);
                *entry = NULL;
            }
            return rc < 0 ? rc : f.rc;
        }
        if (!next[0])
            return 0;
        memcpy(token, next, sizeof token);
    }
}

typedef struct {
    Gridrelay__TimelineEntry **entries;
    size_t count;
    int rc;
} s_urges_t;

static void s_collect_urge(void *ctx, const Gridrelay__TimelineEntry *e)
{
    s_urges_t *u = ctx;
    void *grown = realloc(u->entries, (u->count + 1) * sizeof *u->entries);
    Gridrelay__TimelineEntry *copy = grown ? gr_message_dup(&e->base) : NULL;
    if (grown)
        u->entries = grown;
    if (!copy) {
        u->rc = GR_ENOMEM;
        return;
    }
    u->entries[u->count++] = copy;
}

int gr_supervision_show_below(const gr_request_t *req, const char *event_id)
{
    gr_below_t below;
    Gridrelay__ViewEntry *entry = NULL;
    int rc = gr_supervision_find_below(req->txn, event_id, &below, &entry);
    if (rc != 0)
        return rc;
    if (!below.found || !entry || !entry->update)
        return GR_ENOTFOUND;
    const Gridrelay__StatusUpdate *up = entry->update;
    s_urges_t urges = {0};
    rc = gr_store_urge_scan(req->txn, event_id, s_collect_urge, &urges);
    if (rc == 0)
        rc = urges.rc;
    if (rc == 0) {
        Gridrelay__Event ev = GRIDRELAY__EVENT__INIT;
        ev.id = up->event_id;
        ev.category = up->category;
        ev.title = up->title;
        ev.origin_node = up->origin_node;
        ev.severity = up->severity;
        Gridrelay__EventDetail d = GRIDRELAY__EVENT_DETAIL__INIT;
        d.ref_seq = gr_request_seq(req);
        d.event = &ev;
        d.status = up->status;
        d.received_ms = up->received_ms;
        d.updated_ms = up->time_ms;
        d.holder = (char *)below.holder;
        d.dept = up->dept;
        d.below = true;
        d.held_at = up->node_id;
        d.timeline = urges.entries;
        d.n_timeline = urges.count;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_EVENT_DETAIL;
        body.event_detail = &d;
        rc = gr_reply_pack(req->reply, &body);
    }
    for (size_t i = 0; i < urges.count; i++)
        gridrelay__timeline_entry__free_unpacked(urges.entries[i], NULL);
    free(urges.entries);
    gridrelay__view_entry__free_unpacked(entry, NULL);
    return rc;
}

/* ---- the list ---- */

int gr_supervision_list(const gr_config_t *cfg, const gr_request_t *req)
{
    const Gridrelay__ListSupervision *ls = req->opened->body->list_supervision;
    size_t limit = ls && ls->limit ? ls->limit : GR_LIST_DEFAULT;
    if (limit > GR_LIST_MAX)
        limit = GR_LIST_MAX;
    s_list_t l = {.cfg = cfg, .txn = req->txn, .now_ms = req->now_ms};
    int rc = gr_store_walk_all(req->txn, NULL, s_visit_case, s_visit_view, &l, &l.rc);
    if (rc == 0)
        rc = l.rc;
    if (rc == 0) {
        if (l.count)
            qsort(l.items, l.count, sizeof *l.items, s_later_first);
        size_t n = l.count < limit ? l.count : limit;
        Gridrelay__SupervisionItem **ptrs = calloc(n ? n : 1, sizeof *ptrs);
        if (!ptrs) {
            rc = GR_ENOMEM;
        } else {
            /* Within half a frame, like every listing: the most overdue
             * come first, and `more` says there were others. */
            size_t bytes = 0, budget = cfg->max_frame / 2;
            for (size_t i = 0; i < n; i++) {
                bytes += gridrelay__supervision_item__get_packed_size(&l.items[i]) + 4;
                if (i > 0 && bytes > budget) {
                    n = i;
                    break;
                }
                ptrs[i] = &l.items[i];
            }
            Gridrelay__SupervisionPage page = GRIDRELAY__SUPERVISION_PAGE__INIT;
            page.ref_seq = gr_request_seq(req);
            page.items = ptrs;
            page.n_items = n;
            page.more = l.count > n;
            page.now_ms = req->now_ms;
            Gridrelay__Body body = GRIDRELAY__BODY__INIT;
            body.kind_case = GRIDRELAY__BODY__KIND_SUPERVISION_PAGE;
            body.supervision_page = &page;
            rc = gr_reply_pack(req->reply, &body);
            free(ptrs);
        }
    }
    s_free(&l);
    return rc;
}
