#include "merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "check.h"
#include "duplicate.h"
#include "error.h"
#include "event.h"
#include "log.h"

/* A burst (a disaster: thousands of reports in minutes) must not turn each
 * new report into a scan of the whole burst. */
#define S_CANDIDATE_SCAN_MAX 2000

bool gr_merge_is_merged(const Gridrelay__StoredEvent *rec)
{
    return rec && rec->merged_into && *rec->merged_into;
}

/* ---- candidates ---- */

static void s_facts_of(const Gridrelay__Event *ev, gr_duplicate_facts_t *f)
{
    memset(f, 0, sizeof *f);
    f->category = ev->category;
    f->created_ms = ev->created_ms;
    if (ev->location) {
        f->grid_code = ev->location->grid_code;
        f->has_coordinates = ev->location->has_coordinates;
        f->lat = ev->location->lat;
        f->lon = ev->location->lon;
    }
}

typedef struct {
    const gr_duplicate_limits_t *limits;
    gr_duplicate_facts_t report;
    const char *report_id;
    char *out;
    size_t out_len;
    size_t seen;
} s_search_t;

static void s_visit_candidate(void *ctx, const Gridrelay__StoredEvent *rec)
{
    s_search_t *s = ctx;
    s->seen++;
    /* Only a case it could be merged into here: open, held here (an
     * escalated one is merged where it is held), not itself merged. */
    if (s->out[0] || !rec->event || !gr_case_open(rec->status) ||
        rec->status == GRIDRELAY__STATUS__ESCALATED || rec->info_only || gr_merge_is_merged(rec) ||
        strcmp(rec->event->id, s->report_id) == 0)
        return;
    gr_duplicate_facts_t held;
    s_facts_of(rec->event, &held);
    if (gr_duplicate_candidate(s->limits, &s->report, &held))
        snprintf(s->out, s->out_len, "%s", rec->event->id);
}

int gr_merge_find_candidate(const gr_config_t *cfg, gr_txn_t *txn, const Gridrelay__Event *ev,
                            char *out, size_t out_len)
{
    out[0] = '\0';
    if (cfg->merge.window_ms == 0 || !ev || !ev->category || !*ev->category)
        return 0;
    s_search_t s = {.limits = &cfg->merge, .report_id = ev->id ? ev->id : "", .out = out,
                    .out_len = out_len};
    s_facts_of(ev, &s.report);
    /* A case received before the report's window began was created before
     * it too, so the received-time index bounds the search. */
    gr_store_filter_t filter = {.category = ev->category};
    filter.since_ms = ev->created_ms > cfg->merge.window_ms ? ev->created_ms - cfg->merge.window_ms : 0;
    char token[GR_PAGE_TOKEN_MAX] = "", next[GR_PAGE_TOKEN_MAX];
    int rc;
    do {
        rc = gr_store_list(txn, &filter, token, 500, s_visit_candidate, &s, next);
        memcpy(token, next, sizeof token);
    } while (rc == 0 && !out[0] && token[0] && s.seen < S_CANDIDATE_SCAN_MAX);
    return rc;
}

/* ---- merge and unmerge ---- */

static int s_refuse(int rc, char *refusal, size_t len, const char *fmt, const char *a,
                    const char *b)
{
    snprintf(refusal, len, fmt, a, b);
    return rc;
}

/* Why rec (one side of a merge, named what) cannot take part, or 0. */
static int s_unfit(const Gridrelay__StoredEvent *rec, const char *what, char *refusal, size_t len)
{
    const char *id = rec->event->id;
    char buf[200];
    if (rec->info_only)
        return s_refuse(GR_EPERM, refusal, len, "%s %s is an information copy (越级直报): it "
                        "is handled elsewhere", what, id);
    if (!gr_case_open(rec->status)) {
        snprintf(buf, sizeof buf, "%s %s is %s: only open cases are merged", what, id,
                 gr_case_status_name(rec->status));
        return s_refuse(GR_EPERM, refusal, len, "%s%s", buf, "");
    }
    if (rec->status == GRIDRELAY__STATUS__ESCALATED)
        return s_refuse(GR_EPERM, refusal, len, "%s is escalated to %s: merge it there, where it "
                        "is held", id, rec->escalated_to && *rec->escalated_to ? rec->escalated_to
                                                                               : "the parent");
    return 0;
}

static int s_add_id(Gridrelay__StoredEvent *rec, const char *id)
{
    char **grown = realloc(rec->merged, (rec->n_merged + 1) * sizeof *grown);
    if (!grown)
        return GR_ENOMEM;
    rec->merged = grown;
    if (!(grown[rec->n_merged] = strdup(id)))
        return GR_ENOMEM;
    rec->n_merged++;
    return 0;
}

static void s_drop_id(Gridrelay__StoredEvent *rec, const char *id)
{
    for (size_t i = 0; i < rec->n_merged; i++) {
        if (strcmp(rec->merged[i], id) != 0)
            continue;
        free(rec->merged[i]);
        memmove(rec->merged + i, rec->merged + i + 1, (rec->n_merged - i - 1) * sizeof *rec->merged);
        rec->n_merged--;
        return;
    }
}

/* Who merged, where and when: the merge as its node made it. */
typedef struct {
    const char *at;     /* the node that made the merge */
    const char *by;     /* the operator's name there */
    uint64_t when;      /* its time there */
    const char *note;   /* the operator's note, or NULL */
} s_join_t;

/* Sets the merge fields of b and a and writes both timeline entries. */
static int s_join(gr_engine_t *engine, gr_txn_t *txn, Gridrelay__StoredEvent *b,
                  Gridrelay__StoredEvent *a, const s_join_t *join, const gr_actor_t *actor,
                  uint64_t now_ms)
{
    const char *at = join->at, *by = join->by, *note = join->note;
    uint64_t when = join->when;
    if (gr_engine_set(&b->merged_into, a->event->id) != 0 || gr_engine_set(&b->merged_at, at) != 0 ||
        gr_engine_set(&b->merged_by, by) != 0 || s_add_id(a, b->event->id) != 0)
        return GR_ENOMEM;
    b->merged_ms = when;
    bool here = strcmp(at, gr_engine_node_id(engine)) == 0;
    char reason[768];
    snprintf(reason, sizeof reason, "merged into %s (合并) by %s at %s%s%s%s", a->event->id, by, at,
             here ? "" : ", came up with it", note && *note ? ": " : "", note ? note : "");
    int rc = gr_engine_change(engine, txn, b, GRIDRELAY__ACTION__ACTION_MERGE, actor, reason, now_ms);
    if (rc != 0)
        return rc;
    bool named = b->event->reporter && *b->event->reporter;
    snprintf(reason, sizeof reason, "%s (reported %s%s%sat %s) merged into this case (合并) by %s "
             "at %s%s%s", b->event->id, named ? "by " : "", named ? b->event->reporter : "",
             named ? " " : "", b->event->origin_node, by, at, note && *note ? ": " : "",
             note ? note : "");
    return gr_engine_change(engine, txn, a, GRIDRELAY__ACTION__ACTION_MERGE, actor, reason, now_ms);
}

static int s_merge(gr_engine_t *engine, gr_txn_t *txn, Gridrelay__StoredEvent *b,
                   const Gridrelay__CaseAction *ca, const gr_actor_t *actor, uint64_t now_ms,
                   char *refusal, size_t len)
{
    const char *into = ca->target;
    if (strcmp(into, b->event->id) == 0)
        return s_refuse(GR_EINVAL, refusal, len, "a case cannot be merged into itself (%s)%s", into, "");
    if (gr_merge_is_merged(b))
        return s_refuse(GR_EPERM, refusal, len, "%s is already merged into %s: unmerge it first",
                        b->event->id, b->merged_into);
    if (b->n_merged)
        return s_refuse(GR_EPERM, refusal, len, "reports are merged into %s: merge them into "
                        "the other case one by one, or merge the other case into %s",
                        b->event->id, b->event->id);
    int rc = s_unfit(b, "case", refusal, len);
    if (rc != 0)
        return rc;
    /* A child node holds an assigned case: taking it back needs the
     * child, so the operator merges the other way round. */
    if (b->status == GRIDRELAY__STATUS__ASSIGNED)
        return s_refuse(GR_EPERM, refusal, len, "%s is assigned to %s: merge the other case "
                        "into it instead", b->event->id, b->holder);
    Gridrelay__StoredEvent *a = NULL;
    rc = gr_store_event_get(txn, into, &a);
    if (rc == GR_ENOTFOUND)
        return s_refuse(GR_ENOTFOUND, refusal, len, "no case %s on this node to merge into%s", into, "");
    if (rc != 0)
        return rc;
    if (gr_merge_is_merged(a))
        rc = s_refuse(GR_EPERM, refusal, len, "%s is itself merged into %s: merge into that one",
                      into, a->merged_into);
    else if (strcmp(a->event->category, b->event->category) != 0)
        rc = s_refuse(GR_EINVAL, refusal, len, "the categories differ (%s, %s): one incident has "
                      "one category", b->event->category, a->event->category);
    else if (a->n_merged >= GR_CHECK_MERGED_MAX)
        rc = s_refuse(GR_EPERM, refusal, len, "%s has %s reports merged into it already, the most "
                      "one case takes", into, "32");
    else
        rc = s_unfit(a, "case", refusal, len);
    bool with_depts = (b->dept && *b->dept) || b->n_co_depts;
    if (rc == 0 && with_depts && gr_engine_set(&b->holder, gr_engine_node_id(engine)) != 0)
        rc = GR_ENOMEM;
    if (rc == 0)
        rc = s_join(engine, txn, b, a,
                    &(s_join_t){ gr_engine_node_id(engine), actor->name, now_ms, ca->text }, actor,
                    now_ms);
    /* Departments working on it stop: the case it joined is handled, and
     * they are told their task is withdrawn. */
    if (rc == 0 && with_depts) {
        gr_next_t withdraw = {.kind = GR_NEXT_WITHDRAW};
        snprintf(withdraw.event_id, sizeof withdraw.event_id, "%s", b->event->id);
        snprintf(withdraw.why, sizeof withdraw.why, "merged into %s (合并)", a->event->id);
        rc = gr_engine_then(engine, &withdraw);
    }
    gridrelay__stored_event__free_unpacked(a, NULL);
    return rc;
}

static int s_unmerge(gr_engine_t *engine, gr_txn_t *txn, Gridrelay__StoredEvent *b,
                     const Gridrelay__CaseAction *ca, const gr_actor_t *actor, uint64_t now_ms,
                     char *refusal, size_t len)
{
    const char *here = gr_engine_node_id(engine);
    if (!gr_merge_is_merged(b))
        return s_refuse(GR_EPERM, refusal, len, "%s is not merged into another case%s",
                        b->event->id, "");
    if (strcmp(b->merged_at, here) != 0)
        return s_refuse(GR_EPERM, refusal, len, "%s was merged at %s and came up merged: unmerge "
                        "it there", b->event->id, b->merged_at);
    int rc = s_unfit(b, "case", refusal, len);
    if (rc != 0)
        return rc;
    Gridrelay__StoredEvent *a = NULL;
    rc = gr_store_event_get(txn, b->merged_into, &a);
    if (rc == GR_ENOTFOUND)
        rc = 0;  /* the case it joined is gone: b is free all the same */
    if (rc != 0)
        return rc;
    if (a && a->status == GRIDRELAY__STATUS__ESCALATED) {
        /* It went up with a: the tier above holds it merged, and its
         * result comes back with a's. */
        rc = s_refuse(GR_EPERM, refusal, len, "%s went up with %s, which is escalated: its "
                      "result comes back with that case's", b->event->id, a->event->id);
        gridrelay__stored_event__free_unpacked(a, NULL);
        return rc;
    }
    const char *note = ca->text && *ca->text ? ca->text : NULL;
    char reason[768];
    snprintf(reason, sizeof reason, "unmerged from %s by %s: a case of its own again%s%s",
             b->merged_into, actor->name, note ? ": " : "", note ? note : "");
    if (gr_engine_set(&b->merged_into, "") != 0 || gr_engine_set(&b->merged_at, "") != 0 ||
        gr_engine_set(&b->merged_by, "") != 0)
        rc = GR_ENOMEM;
    b->merged_ms = 0;
    if (rc == 0)
        rc = gr_engine_change(engine, txn, b, GRIDRELAY__ACTION__ACTION_UNMERGE, actor, reason, now_ms);
    if (rc == 0 && a) {
        s_drop_id(a, b->event->id);
        snprintf(reason, sizeof reason, "%s unmerged from this case by %s%s%s", b->event->id,
                 actor->name, note ? ": " : "", note ? note : "");
        rc = gr_engine_change(engine, txn, a, GRIDRELAY__ACTION__ACTION_UNMERGE, actor, reason, now_ms);
    }
    /* Its own lifecycle again: the router decides now (an overdue case
     * goes up at once). */
    if (rc == 0)
        rc = gr_engine_then_decide(engine, b->event->id, false, NULL);
    if (a)
        gridrelay__stored_event__free_unpacked(a, NULL);
    return rc;
}

int gr_merge_action(gr_engine_t *engine, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                    const Gridrelay__CaseAction *ca, const gr_actor_t *actor, uint64_t now_ms,
                    char *refusal, size_t refusal_len)
{
    if (ca->kind == GRIDRELAY__CASE_ACTION__KIND__MERGE)
        return s_merge(engine, txn, rec, ca, actor, now_ms, refusal, refusal_len);
    return s_unmerge(engine, txn, rec, ca, actor, now_ms, refusal, refusal_len);
}

int gr_merge_join_from_below(gr_engine_t *engine, gr_txn_t *txn, Gridrelay__StoredEvent *merged,
                             Gridrelay__StoredEvent *into, const Gridrelay__MergedReport *m,
                             const gr_actor_t *actor, uint64_t now_ms)
{
    const s_join_t join = { m->merged_at, *m->merged_by ? m->merged_by : "?", m->merged_ms, NULL };
    return s_join(engine, txn, merged, into, &join, actor, now_ms);
}

/* ---- the surviving case resolved ---- */

int gr_merge_resolve_merged(gr_engine_t *engine, gr_txn_t *txn, const Gridrelay__StoredEvent *rec,
                            uint64_t now_ms)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < rec->n_merged; i++) {
        Gridrelay__StoredEvent *b = NULL;
        rc = gr_store_event_get(txn, rec->merged[i], &b);
        if (rc == GR_ENOTFOUND) {
            rc = 0;
            continue;
        }
        if (rc != 0)
            break;
        if (gr_merge_is_merged(b) && strcmp(b->merged_into, rec->event->id) == 0 &&
            gr_case_open(b->status) && b->status != GRIDRELAY__STATUS__ESCALATED) {
            char reason[768];
            snprintf(reason, sizeof reason, "resolved with %s, which it is merged into (合并): "
                     "resolved by %s at %s: %s", rec->event->id,
                     rec->resolver && *rec->resolver ? rec->resolver : "?",
                     rec->resolved_by && *rec->resolved_by ? rec->resolved_by : "?",
                     rec->result && *rec->result ? rec->result : "(no result text)");
            if (gr_engine_set(&b->result, rec->result) != 0 ||
                gr_engine_set(&b->resolved_by, rec->resolved_by) != 0 ||
                gr_engine_set(&b->resolver, rec->resolver) != 0)
                rc = GR_ENOMEM;
            if (rc == 0)
                rc = gr_engine_change(engine, txn, b, GRIDRELAY__ACTION__ACTION_RESOLVE, NULL,
                                      reason, now_ms);
            /* Its own way back: down to its origin, as any result. */
            if (rc == 0) {
                gr_next_t next = {.kind = GR_NEXT_RESULT};
                snprintf(next.event_id, sizeof next.event_id, "%s", b->event->id);
                rc = gr_engine_then(engine, &next);
            }
        }
        gridrelay__stored_event__free_unpacked(b, NULL);
    }
    return rc;
}

/* ---- riding up ---- */

int gr_merge_riders_collect(gr_txn_t *txn, const Gridrelay__StoredEvent *rec,
                            gr_merge_riders_t *r)
{
    if (rec->n_merged == 0)
        return 0;
    size_t cap = rec->n_merged;
    r->items = calloc(cap, sizeof *r->items);
    r->storage = calloc(cap, sizeof *r->storage);
    r->resolved = calloc(cap, sizeof *r->resolved);
    r->recs = calloc(cap, sizeof *r->recs);
    if (!r->items || !r->storage || !r->resolved || !r->recs)
        return GR_ENOMEM;
    for (size_t i = 0; i < rec->n_merged; i++) {
        Gridrelay__StoredEvent *b = NULL;
        int rc = gr_store_event_get(txn, rec->merged[i], &b);
        if (rc == GR_ENOTFOUND)
            continue;
        if (rc != 0)
            return rc;
        bool rides = gr_merge_is_merged(b) && strcmp(b->merged_into, rec->event->id) == 0 &&
                     gr_case_open(b->status) && r->n < GR_CHECK_MERGED_MAX;
        if (!rides) {
            gridrelay__stored_event__free_unpacked(b, NULL);
            continue;
        }
        Gridrelay__MergedReport *m = &r->storage[r->n];
        gridrelay__merged_report__init(m);
        /* A confidential report sealed here rides without its people. */
        m->origin_envelope = b->sealed_origin.len ? b->sealed_origin : b->origin_envelope;
        /* What the node that first stored it filled in: its first hop
         * carries that when it came from below, else it is this node. */
        if (b->n_hops && b->hops[0]->resolved) {
            m->resolved = b->hops[0]->resolved;
        } else {
            gr_event_resolved_of(&r->resolved[r->n], b->event);
            m->resolved = &r->resolved[r->n];
        }
        m->hops = b->hops;
        m->n_hops = b->n_hops;
        m->merged_at = b->merged_at;
        m->merged_by = b->merged_by;
        m->merged_ms = b->merged_ms;
        r->recs[r->n] = b;
        r->items[r->n] = m;
        r->n++;
    }
    return 0;
}

int gr_merge_riders_sent(gr_engine_t *engine, gr_txn_t *txn, gr_merge_riders_t *r,
                         const char *into, const char *target, uint64_t now_ms)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r->n; i++) {
        char reason[256];
        snprintf(reason, sizeof reason, "went up to %s with %s, merged into it (合并)", target, into);
        rc = gr_engine_change(engine, txn, r->recs[i], GRIDRELAY__ACTION__ACTION_MERGE, NULL,
                              reason, now_ms);
    }
    return rc;
}

void gr_merge_riders_clear(gr_merge_riders_t *r)
{
    for (size_t i = 0; r->recs && i < r->n; i++)
        gridrelay__stored_event__free_unpacked(r->recs[i], NULL);
    free(r->items);
    free(r->storage);
    free(r->resolved);
    free(r->recs);
    memset(r, 0, sizeof *r);
}
