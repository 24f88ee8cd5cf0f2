#include "assessment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "departments.h"
#include "error.h"

/* ---- units ---- */

typedef struct {
    char name[GR_ID_MAX + 1];
    gr_assess_tally_t tally;
    uint64_t *times;           /* handling times of the resolved cases */
    size_t n_times, cap_times;
    gr_assess_figures_t figures;
    uint64_t daily_on_time, daily_late, daily_missing;
} s_unit_t;

typedef struct {
    const gr_config_t *cfg;
    gr_txn_t *txn;
    uint64_t from_ms, to_ms, cut_ms;
    s_unit_t *units;           /* sorted by name */
    size_t n_units, cap_units;
    size_t last;               /* the unit found last: cases come in runs */
    int rc;
} s_rank_t;

static s_unit_t *s_unit(s_rank_t *r, const char *name)
{
    if (r->last < r->n_units && strcmp(r->units[r->last].name, name) == 0)
        return &r->units[r->last];
    size_t lo = 0, hi = r->n_units;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(r->units[mid].name, name);
        if (c == 0) {
            r->last = mid;
            return &r->units[mid];
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (r->n_units == r->cap_units) {
        size_t cap = r->cap_units ? r->cap_units * 2 : 16;
        s_unit_t *grown = realloc(r->units, cap * sizeof *grown);
        if (!grown)
            return NULL;
        r->units = grown;
        r->cap_units = cap;
    }
    memmove(&r->units[lo + 1], &r->units[lo], (r->n_units - lo) * sizeof *r->units);
    s_unit_t *u = &r->units[lo];
    memset(u, 0, sizeof *u);
    snprintf(u->name, sizeof u->name, "%s", name);
    r->n_units++;
    r->last = lo;
    return u;
}

static void s_add(s_rank_t *r, const char *unit, const gr_assess_case_t *c)
{
    if (r->rc != 0)
        return;
    s_unit_t *u = s_unit(r, unit && *unit ? unit : "?");
    if (!u) {
        r->rc = GR_ENOMEM;
        return;
    }
    uint64_t ms = 0;
    if (!gr_assess_add(&u->tally, c, r->cut_ms, &ms))
        return;
    if (u->n_times == u->cap_times) {
        size_t cap = u->cap_times ? u->cap_times * 2 : 16;
        uint64_t *grown = realloc(u->times, cap * sizeof *grown);
        if (!grown) {
            r->rc = GR_ENOMEM;
            return;
        }
        u->times = grown;
        u->cap_times = cap;
    }
    u->times[u->n_times++] = ms;
}

/* When the reporter's node had the result of a case resolved at `at`: at
 * once when it was reported there, else what the origin last published
 * (its FED_BACK milestone), or this node's own record when it is the
 * origin. 0 when not (yet). */
static uint64_t s_fed_back(s_rank_t *r, const char *event_id, const char *origin,
                           const char *at, uint64_t resolved_ms)
{
    if (!resolved_ms || !origin || !*origin)
        return 0;
    if (strcmp(origin, at) == 0)
        return resolved_ms;
    uint64_t ms = 0;
    if (strcmp(origin, r->cfg->node_id) == 0) {
        Gridrelay__StoredEvent *own = NULL;
        if (gr_store_event_get(r->txn, event_id, &own) == 0) {
            ms = own->fed_back_ms;
            gridrelay__stored_event__free_unpacked(own, NULL);
        }
        return ms;
    }
    Gridrelay__ViewEntry *v = NULL;
    if (gr_store_view_get(r->txn, origin, event_id, &v) == 0) {
        ms = v->update ? v->update->fed_back_ms : 0;
        gridrelay__view_entry__free_unpacked(v, NULL);
    }
    return ms;
}

static bool s_in_period(const s_rank_t *r, uint64_t received_ms)
{
    return received_ms >= r->from_ms && received_ms < r->to_ms;
}

/* The time this node last handed rec on upward, for a case that is still
 * (or was, until its result came back) with a tier above; 0 otherwise. */
static uint64_t s_left(s_rank_t *r, const Gridrelay__StoredEvent *rec)
{
    if (!rec->escalated_to || !*rec->escalated_to || rec->resolved_ms)
        return 0;
    if (rec->status != GRIDRELAY__STATUS__ESCALATED && rec->status != GRIDRELAY__STATUS__FED_BACK &&
        rec->status != GRIDRELAY__STATUS__CLOSED)
        return 0;
    Gridrelay__TimelineEntry **entries = NULL;
    size_t n = 0;
    uint64_t left = 0;
    int rc = gr_store_timeline_get(r->txn, rec->event->id, &entries, &n);
    if (rc != 0) {
        if (rc != GR_ENOTFOUND)
            r->rc = rc;
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (entries[i]->action == GRIDRELAY__ACTION__ACTION_ESCALATE)
            left = entries[i]->time_ms;
    gr_store_timeline_free(entries, n);
    return left;
}

/* This node's own case, as a unit of its own. */
static void s_visit_own(void *ctx, const Gridrelay__StoredEvent *rec)
{
    s_rank_t *r = ctx;
    if (r->rc != 0 || rec->info_only || !rec->event || !s_in_period(r, rec->received_ms))
        return;
    const Gridrelay__Event *ev = rec->event;
    gr_assess_case_t c = {
        .received_ms = rec->received_ms,
        .accepted_ms = rec->accepted_ms,
        .resolved_ms = rec->resolved_ms,
        .returns = rec->returns,
        .urges = rec->urges,
    };
    gr_assess_dues(&r->cfg->deadlines, (gr_severity_t)ev->severity, rec->received_ms,
                   rec->accepted_ms, rec->assigned_by_parent ? rec->deadline_ms : 0,
                   &c.accept_due_ms, &c.resolve_due_ms);
    c.left_ms = s_left(r, rec);
    c.fed_back_ms = s_fed_back(r, ev->id, ev->origin_node, r->cfg->node_id, rec->resolved_ms);
    s_add(r, r->cfg->node_id, &c);
}

/* A case below, at the node that published it. */
static void s_visit_view(void *ctx, const Gridrelay__ViewEntry *entry)
{
    s_rank_t *r = ctx;
    const Gridrelay__StatusUpdate *u = entry->update;
    if (r->rc != 0 || !u || !s_in_period(r, u->received_ms))
        return;
    gr_assess_case_t c = {
        .received_ms = u->received_ms,
        .accept_due_ms = entry->accept_due_ms,
        .accepted_ms = u->accepted_ms,
        .resolve_due_ms = entry->resolve_due_ms,
        .resolved_ms = u->resolved_ms,
        .left_ms = u->resolved_ms ? 0 : entry->left_ms,
        .returns = u->returns,
        .urges = u->urges,
    };
    c.fed_back_ms = s_fed_back(r, u->event_id, u->origin_node, u->node_id, u->resolved_ms);
    s_add(r, u->node_id, &c);
}

/* ---- departments: each lead department's turn at a case, from the
 * timeline (a task leaves the tasks database when it ends) ---- */

typedef struct {
    char dept[GR_ID_MAX + 1];  /* "" while no department leads */
    gr_assess_case_t c;
} s_turn_t;

static void s_turn_end(s_rank_t *r, s_turn_t *t, const Gridrelay__StoredEvent *rec,
                       uint64_t left_ms)
{
    if (!t->dept[0])
        return;
    if (!t->c.resolved_ms)
        t->c.left_ms = left_ms;
    t->c.fed_back_ms = s_fed_back(r, rec->event->id, rec->event->origin_node, r->cfg->node_id,
                                  t->c.resolved_ms);
    s_add(r, t->dept, &t->c);
    t->dept[0] = '\0';
}

/* The lead department a DISPATCH entry names, from the reason
 * node/departments writes ("dispatched to CODE (分流)..."); 0 when found. */
static int s_dispatched_to(const Gridrelay__TimelineEntry *e, char out[GR_ID_MAX + 1])
{
    size_t plen = strlen(GR_DISPATCH_REASON_PREFIX);
    if (!e->reason || strncmp(e->reason, GR_DISPATCH_REASON_PREFIX, plen) != 0)
        return -1;
    const char *code = e->reason + plen;
    size_t len = strcspn(code, " ");
    if (len == 0 || len > GR_ID_MAX)
        return -1;
    memcpy(out, code, len);
    out[len] = '\0';
    return 0;
}

static void s_visit_depts(void *ctx, const Gridrelay__StoredEvent *rec)
{
    s_rank_t *r = ctx;
    if (r->rc != 0 || rec->info_only || !rec->event || !s_in_period(r, rec->received_ms))
        return;
    Gridrelay__TimelineEntry **entries = NULL;
    size_t n = 0;
    int rc = gr_store_timeline_get(r->txn, rec->event->id, &entries, &n);
    if (rc != 0) {
        if (rc != GR_ENOTFOUND)
            r->rc = rc;
        return;
    }
    int sev = rec->event->severity;
    const gr_task_deadlines_t *lim = &r->cfg->task_deadlines;
    uint64_t claim = sev >= 1 && sev < GR_ROUTE_SEV_SLOTS ? lim->claim_within_ms[sev] : 0;
    uint64_t complete = sev >= 1 && sev < GR_ROUTE_SEV_SLOTS ? lim->complete_within_ms[sev] : 0;
    s_turn_t t;
    memset(&t, 0, sizeof t);
    for (size_t i = 0; i < n && r->rc == 0; i++) {
        const Gridrelay__TimelineEntry *e = entries[i];
        bool by_dept = t.dept[0] && e->actor_name && strcmp(e->actor_name, t.dept) == 0;
        char next[GR_ID_MAX + 1];
        switch (e->action) {
        case GRIDRELAY__ACTION__ACTION_DISPATCH:
            if (s_dispatched_to(e, next) != 0)
                break;
            s_turn_end(r, &t, rec, e->time_ms);
            snprintf(t.dept, sizeof t.dept, "%s", next);
            memset(&t.c, 0, sizeof t.c);
            t.c.received_ms = e->time_ms;
            t.c.accept_due_ms = claim ? e->time_ms + claim : 0;
            continue;
        case GRIDRELAY__ACTION__ACTION_CLAIM:
            if (by_dept && !t.c.accepted_ms) {
                t.c.accepted_ms = e->time_ms;
                t.c.resolve_due_ms = complete ? e->time_ms + complete : 0;
            }
            continue;
        case GRIDRELAY__ACTION__ACTION_URGE:
            t.c.urges += t.dept[0] != '\0';
            continue;
        case GRIDRELAY__ACTION__ACTION_RESOLVE:
            if (by_dept)
                t.c.resolved_ms = e->time_ms;
            break;
        case GRIDRELAY__ACTION__ACTION_RETURN:
            t.c.returns += by_dept;
            break;
        default:
            /* Notes and deadline marks leave the task where it is. */
            if (e->to_status == GRIDRELAY__STATUS__DISPATCHED ||
                e->to_status == GRIDRELAY__STATUS__IN_PROGRESS || e->to_status == e->from_status)
                continue;
            break;
        }
        s_turn_end(r, &t, rec, e->time_ms);
    }
    if (r->rc == 0)
        s_turn_end(r, &t, rec, 0);
    gr_store_timeline_free(entries, n);
}

/* ---- the ranking ---- */

static int s_order(const void *a, const void *b)
{
    const s_unit_t *x = a, *y = b;
    int c = gr_assess_order(&x->figures, &y->figures);
    return c ? c : strcmp(x->name, y->name);
}

static void s_rank_free(s_rank_t *r)
{
    for (size_t i = 0; i < r->n_units; i++)
        free(r->units[i].times);
    free(r->units);
}

#define S_DAY_MS 86400000ull

/* A node's daily reports (日报告) of one day, when that day's due time
 * falls in the period and had passed by the cut. */
static int s_visit_daily(void *ctx, const Gridrelay__DailySummary *d)
{
    s_rank_t *r = ctx;
    if (!d->closed || !d->node_id || d->due_ms < r->from_ms || d->due_ms >= r->to_ms ||
        d->due_ms > r->cut_ms)
        return 0;
    s_unit_t *u = s_unit(r, d->node_id);
    if (!u) {
        r->rc = GR_ENOMEM;
        return 1;
    }
    u->daily_on_time += d->on_time;
    u->daily_late += d->late;
    u->daily_missing += d->missing;
    return 0;
}

/* Days are keyed by local date: a day either side of the period's UTC
 * dates covers every zone; the due time decides. */
static int s_collect_daily(s_rank_t *r)
{
    int64_t first = (int64_t)(r->from_ms / S_DAY_MS) - 1;
    int64_t last = (int64_t)((r->to_ms - 1) / S_DAY_MS) + 1;
    /* One walk, not a scan per day: a period of a billion days (any
     * to_ms is accepted) costs what the store holds in it. */
    int rc = gr_store_daily_range(r->txn, first, last, s_visit_daily, r);
    if (rc < 0)
        return rc;
    return r->rc;
}

static int s_collect(s_rank_t *r, Gridrelay__GetRanking__By by)
{
    gr_store_filter_t filter = {.since_ms = r->from_ms, .until_ms = r->to_ms};
    gr_store_visit_fn visit = by == GRIDRELAY__GET_RANKING__BY__DEPARTMENT ? s_visit_depts
                                                                           : s_visit_own;
    char token[GR_PAGE_TOKEN_MAX] = "", next[GR_PAGE_TOKEN_MAX];
    int rc;
    do {
        rc = gr_store_list(r->txn, &filter, token, 1000, visit, r, next);
        memcpy(token, next, sizeof token);
    } while (rc == 0 && r->rc == 0 && token[0]);
    if (rc != 0 || r->rc != 0 || by == GRIDRELAY__GET_RANKING__BY__DEPARTMENT)
        return rc != 0 ? rc : r->rc;
    token[0] = '\0';
    for (;;) {
        rc = gr_store_view_scan(r->txn, NULL, token, 1000, s_visit_view, r, next);
        if (rc < 0 || r->rc != 0 || !next[0])
            break;
        memcpy(token, next, sizeof token);
    }
    if (rc < 0 || r->rc != 0)
        return rc < 0 ? rc : r->rc;
    return s_collect_daily(r);
}

static void s_figures_msg(Gridrelay__UnitFigures *m, const s_unit_t *u, uint32_t rank)
{
    const gr_assess_tally_t *t = &u->figures.tally;
    gridrelay__unit_figures__init(m);
    m->unit = (char *)u->name;
    m->rank = rank;
    m->score = u->figures.score;
    m->received = t->received;
    m->accept_judged = t->accept_judged;
    m->accepted_on_time = t->accept_on_time;
    m->resolve_judged = t->resolve_judged;
    m->resolved_on_time = t->resolve_on_time;
    m->resolved = t->resolved;
    m->first_time = t->first_time;
    m->fed_back = t->fed_back;
    m->overdue = t->overdue;
    m->returns = t->returns;
    m->urges = t->urges;
    m->avg_handling_ms = u->figures.avg_handling_ms;
    m->p90_handling_ms = u->figures.p90_handling_ms;
    m->daily_on_time = u->daily_on_time;
    m->daily_late = u->daily_late;
    m->daily_missing = u->daily_missing;
}

static int s_rank_reply(const gr_config_t *cfg, const gr_request_t *req, s_rank_t *r,
                        const Gridrelay__GetRanking *get)
{
    size_t limit = get->limit ? get->limit : GR_LIST_DEFAULT;
    if (limit > GR_LIST_MAX)
        limit = GR_LIST_MAX;
    size_t first = get->offset < r->n_units ? get->offset : r->n_units;
    size_t n = r->n_units - first < limit ? r->n_units - first : limit;
    Gridrelay__UnitFigures *figs = calloc(n ? n : 1, sizeof *figs);
    Gridrelay__UnitFigures **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    int rc = figs && ptrs ? 0 : GR_ENOMEM;
    /* Within half a frame, like every listing; offset pages on. */
    size_t bytes = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        s_figures_msg(&figs[i], &r->units[first + i], (uint32_t)(first + i + 1));
        bytes += gridrelay__unit_figures__get_packed_size(&figs[i]) + 4;
        if (i > 0 && bytes > cfg->max_frame / 2) {
            n = i;
            break;
        }
        ptrs[i] = &figs[i];
    }
    const gr_assess_weights_t *w = &cfg->assessment;
    Gridrelay__Counter weights[5];
    Gridrelay__Counter *wptrs[5];
    const char *names[5] = {"accept", "resolve", "first_time", "feedback", "overdue"};
    unsigned values[5] = {w->accept, w->resolve, w->first_time, w->feedback, w->overdue};
    for (size_t i = 0; i < 5; i++) {
        gridrelay__counter__init(&weights[i]);
        weights[i].name = (char *)names[i];
        weights[i].value = values[i];
        wptrs[i] = &weights[i];
    }
    if (rc == 0) {
        Gridrelay__Ranking out = GRIDRELAY__RANKING__INIT;
        out.ref_seq = gr_request_seq(req);
        out.node_id = (char *)cfg->node_id;
        out.from_ms = r->from_ms;
        out.to_ms = r->to_ms;
        out.cut_ms = r->cut_ms;
        out.by = get->by ? get->by : GRIDRELAY__GET_RANKING__BY__NODE;
        out.units = ptrs;
        out.n_units = n;
        out.total = (uint32_t)r->n_units;
        out.weights = wptrs;
        out.n_weights = 5;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_RANKING;
        body.ranking = &out;
        rc = gr_reply_pack(req->reply, &body);
    }
    free(figs);
    free(ptrs);
    return rc;
}

int gr_assessment_rank(const gr_config_t *cfg, const gr_request_t *req)
{
    const Gridrelay__GetRanking *get = req->opened->body->get_ranking;
    uint64_t seq = gr_request_seq(req);
    const char *bad = NULL;
    if (!get || get->to_ms <= get->from_ms)
        bad = "to_ms must be after from_ms";
    else if (get->by != GRIDRELAY__GET_RANKING__BY__BY_UNSPECIFIED &&
             get->by != GRIDRELAY__GET_RANKING__BY__NODE &&
             get->by != GRIDRELAY__GET_RANKING__BY__DEPARTMENT)
        bad = "by must be NODE or DEPARTMENT";
    if (bad) {
        return gr_reply_error(req->reply, seq, GR_EINVAL, bad);
    }
    s_rank_t r = {
        .cfg = cfg,
        .txn = req->txn,
        .from_ms = get->from_ms,
        .to_ms = get->to_ms,
        .cut_ms = get->to_ms < req->now_ms ? get->to_ms : req->now_ms,
    };
    int rc = s_collect(&r, get->by);
    if (rc == 0) {
        for (size_t i = 0; i < r.n_units; i++) {
            s_unit_t *u = &r.units[i];
            gr_assess_finish(&u->figures, &u->tally, u->times, u->n_times, &cfg->assessment);
        }
        if (r.n_units)
            qsort(r.units, r.n_units, sizeof *r.units, s_order);
        rc = s_rank_reply(cfg, req, &r, get);
    }
    s_rank_free(&r);
    return rc;
}
