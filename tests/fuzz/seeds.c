#include "seeds.h"

#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "error.h"
#include "event.h"
#include "hop.h"

static void s_event(Gridrelay__Event *ev, const char *id, const char *category,
                    const char *origin, uint64_t now_ms)
{
    gridrelay__event__init(ev);
    ev->id = (char *)id;
    ev->category = (char *)category;
    ev->severity = GRIDRELAY__SEVERITY__ROUTINE;
    ev->title = "fuzz seed case";
    ev->description = "a case the fuzz fixture starts from";
    ev->reporter = "officer-f";
    ev->origin_node = (char *)origin;
    ev->created_ms = now_ms - 60000;
}

/* A report of ev signed by kp, as a tier link carries it. */
static int s_origin(ProtobufCBinaryData *out, const gr_keypair_t *kp, Gridrelay__Event *ev,
                    uint64_t now_ms)
{
    Gridrelay__Report report = GRIDRELAY__REPORT__INIT;
    report.event = ev;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_REPORT;
    body.report = &report;
    return gr_envelope_seal(&out->data, &out->len, kp, now_ms * 1000 - 5000000, now_ms - 5000,
                            &body);
}

static int s_report(const gr_keypair_t *keys, uint64_t now_ms, fx_emit_fn fn, void *ctx,
                    const char *id, const char *category)
{
    (void)keys;
    Gridrelay__Event ev;
    s_event(&ev, id, category, NULL, now_ms);
    Gridrelay__Report report = GRIDRELAY__REPORT__INIT;
    report.event = &ev;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_REPORT;
    body.report = &report;
    return fn(ctx, FX_FROM_REPORTER, &body);
}

/* village-f1 escalates a case its reporter made, with its signed hop. */
static int s_escalate(const gr_keypair_t *keys, uint64_t now_ms, fx_emit_fn fn, void *ctx)
{
    Gridrelay__Event ev;
    s_event(&ev, FX_EV_ESC, "PS.CRIME", FX_CHILD_ID, now_ms);
    Gridrelay__Escalate esc = GRIDRELAY__ESCALATE__INIT;
    int rc = s_origin(&esc.origin_envelope, &keys[FX_VREPORTER], &ev, now_ms);
    if (rc != 0)
        return rc;
    Gridrelay__Resolved resolved;
    gr_event_resolved_of(&resolved, &ev);
    resolved.severity = GRIDRELAY__SEVERITY__ROUTINE;
    Gridrelay__Hop hop = GRIDRELAY__HOP__INIT;
    hop.node_id = FX_CHILD_ID;
    hop.tier_level = 1;
    hop.reason = "outside_authority";
    hop.time_ms = now_ms - 1000;
    hop.resolved = &resolved;
    uint8_t sig[GR_SIGNATURE_BYTES];
    Gridrelay__Hop *hops[] = {&hop};
    if ((rc = gr_hop_sign(&hop, FX_EV_ESC, &keys[FX_CHILD], sig)) == 0) {
        esc.hops = hops;
        esc.n_hops = 1;
        esc.status_below = GRIDRELAY__STATUS__REPORTED;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_ESCALATE;
        body.escalate = &esc;
        rc = fn(ctx, FX_FROM_CHILD, &body);
    }
    free(esc.origin_envelope.data);
    return rc;
}

/* district-f assigns down a case reported there. */
static int s_assign(const gr_keypair_t *keys, uint64_t now_ms, fx_emit_fn fn, void *ctx)
{
    Gridrelay__Event ev;
    s_event(&ev, FX_EV_ASSIGN, "PS.CRIME", FX_PARENT_ID, now_ms);
    Gridrelay__Assign as = GRIDRELAY__ASSIGN__INIT;
    int rc = s_origin(&as.origin_envelope, &keys[FX_STRANGER], &ev, now_ms);
    if (rc != 0)
        return rc;
    Gridrelay__Resolved resolved;
    gr_event_resolved_of(&resolved, &ev);
    resolved.severity = GRIDRELAY__SEVERITY__ROUTINE;
    as.event_id = FX_EV_ASSIGN;
    as.reason = "交办: the township's police station handles it";
    as.deadline_ms = now_ms + 86400000;
    as.from_node = FX_PARENT_ID;
    as.resolved = &resolved;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_ASSIGN;
    body.assign = &as;
    rc = fn(ctx, FX_FROM_PARENT, &body);
    free(as.origin_envelope.data);
    return rc;
}

static Gridrelay__StatusUpdate s_update(uint64_t seq, const char *id, uint64_t now_ms)
{
    Gridrelay__StatusUpdate u = GRIDRELAY__STATUS_UPDATE__INIT;
    u.node_id = FX_CHILD_ID;
    u.node_seq = seq;
    u.event_id = (char *)id;
    u.status = GRIDRELAY__STATUS__ACCEPTED;
    u.holder = FX_CHILD_ID;
    u.category = "PS.FIRE";
    u.severity = GRIDRELAY__SEVERITY__ROUTINE;
    u.title = "a village case";
    u.origin_node = FX_CHILD_ID;
    u.time_ms = now_ms - 2000;
    u.received_ms = now_ms - 3000;
    u.accepted_ms = now_ms - 2000;
    u.due_ms = now_ms + 3600000;
    return u;
}

int fx_seed_setup(const gr_keypair_t keys[FX_KEYS], uint64_t now_ms, fx_emit_fn fn, void *ctx)
{
    int rc = s_report(keys, now_ms, fn, ctx, FX_EV_TOWN, "PS.CRIME");
    if (rc == 0)
        rc = s_report(keys, now_ms, fn, ctx, FX_EV_UP, "PS.EPIDEMIC");
    if (rc == 0)
        rc = s_escalate(keys, now_ms, fn, ctx);
    if (rc == 0)
        rc = s_assign(keys, now_ms, fn, ctx);
    if (rc == 0) {
        Gridrelay__StatusUpdate u = s_update(1, "ev-village", now_ms);
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_STATUS_UPDATE;
        body.status_update = &u;
        rc = fn(ctx, FX_FROM_CHILD_PUB, &body);
    }
    return rc;
}

static int s_case_action(fx_emit_fn fn, void *ctx, const char *id, Gridrelay__CaseAction__Kind kind,
                         const char *text, const char *target)
{
    Gridrelay__CaseAction ca = GRIDRELAY__CASE_ACTION__INIT;
    ca.event_id = (char *)id;
    ca.kind = kind;
    ca.text = (char *)text;
    ca.target = (char *)target;
    char *co[] = {"safety"};
    if (kind == GRIDRELAY__CASE_ACTION__KIND__DISPATCH) {
        ca.co = co;
        ca.n_co = 1;
    }
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_CASE_ACTION;
    body.case_action = &ca;
    return fn(ctx, FX_FROM_REPORTER, &body);
}

static int s_task_action(fx_emit_fn fn, void *ctx, const char *id, Gridrelay__TaskAction__Kind kind,
                         const char *text)
{
    Gridrelay__TaskAction ta = GRIDRELAY__TASK_ACTION__INIT;
    ta.event_id = (char *)id;
    ta.kind = kind;
    ta.text = (char *)text;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_TASK_ACTION;
    body.task_action = &ta;
    return fn(ctx, FX_FROM_DEPT, &body);
}

static int s_case_actions(fx_emit_fn fn, void *ctx)
{
    const char *ids[] = {FX_EV_TOWN, FX_EV_ESC, FX_EV_ASSIGN};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof ids / sizeof ids[0]; i++) {
        rc = s_case_action(fn, ctx, ids[i], GRIDRELAY__CASE_ACTION__KIND__ACCEPT, "受理", NULL);
        if (rc == 0)
            rc = s_case_action(fn, ctx, ids[i], GRIDRELAY__CASE_ACTION__KIND__RESOLVE,
                               "办结: handled", NULL);
        if (rc == 0)
            rc = s_case_action(fn, ctx, ids[i], GRIDRELAY__CASE_ACTION__KIND__ESCALATE,
                               "beyond us", NULL);
        if (rc == 0)
            rc = s_case_action(fn, ctx, ids[i], GRIDRELAY__CASE_ACTION__KIND__ASSIGN, "交办",
                               FX_CHILD2_ID);
        if (rc == 0)
            rc = s_case_action(fn, ctx, ids[i], GRIDRELAY__CASE_ACTION__KIND__DISPATCH, "分流",
                               "police");
        if (rc == 0)
            rc = s_case_action(fn, ctx, ids[i], GRIDRELAY__CASE_ACTION__KIND__URGE, "督办", NULL);
    }
    const char *tasks[] = {FX_EV_TOWN, FX_EV_ESC, FX_EV_ASSIGN};
    for (size_t i = 0; rc == 0 && i < sizeof tasks / sizeof tasks[0]; i++) {
        rc = s_task_action(fn, ctx, tasks[i], GRIDRELAY__TASK_ACTION__KIND__CLAIM, NULL);
        if (rc == 0)
            rc = s_task_action(fn, ctx, tasks[i], GRIDRELAY__TASK_ACTION__KIND__NOTE, "on site");
        if (rc == 0)
            rc = s_task_action(fn, ctx, tasks[i], GRIDRELAY__TASK_ACTION__KIND__RETURN, "not ours");
        if (rc == 0)
            rc = s_task_action(fn, ctx, tasks[i], GRIDRELAY__TASK_ACTION__KIND__COMPLETE, "done");
    }
    return rc;
}

/* What the parent and the child send over the tier links. */
static int s_links(fx_emit_fn fn, void *ctx, uint64_t now_ms)
{
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    Gridrelay__Feedback fb = GRIDRELAY__FEEDBACK__INIT;
    fb.event_id = FX_EV_UP;
    fb.outcome = GRIDRELAY__STATUS__RESOLVED;
    fb.result = "the district handled it";
    fb.resolved_by = FX_PARENT_ID;
    fb.resolver = "duty officer";
    fb.resolved_ms = now_ms - 1000;
    body.kind_case = GRIDRELAY__BODY__KIND_FEEDBACK;
    body.feedback = &fb;
    int rc = fn(ctx, FX_FROM_PARENT, &body);
    Gridrelay__Supervise sv = GRIDRELAY__SUPERVISE__INIT;
    sv.event_id = FX_EV_ESC;
    sv.by_node = FX_PARENT_ID;
    sv.reason = "not_accepted_in_time";
    body.kind_case = GRIDRELAY__BODY__KIND_SUPERVISE;
    body.supervise = &sv;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_PARENT, &body);
    Gridrelay__Urge urge = GRIDRELAY__URGE__INIT;
    urge.event_id = FX_EV_ASSIGN;
    urge.by_node = FX_PARENT_ID;
    urge.by = "duty officer";
    urge.note = "督办: overdue";
    urge.time_ms = now_ms - 500;
    body.kind_case = GRIDRELAY__BODY__KIND_URGE;
    body.urge = &urge;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_PARENT, &body);
    Gridrelay__CatchUp cu = GRIDRELAY__CATCH_UP__INIT;
    cu.since_seq = 0;
    cu.limit = 10;
    body.kind_case = GRIDRELAY__BODY__KIND_CATCH_UP;
    body.catch_up = &cu;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_PARENT, &body);
    /* The child's catch-up answer, its stream, and its link's own traffic. */
    Gridrelay__StatusUpdate u1 = s_update(2, "ev-village", now_ms);
    Gridrelay__StatusUpdate u2 = s_update(3, "ev-village2", now_ms);
    Gridrelay__StatusUpdate *ups[] = {&u1, &u2};
    Gridrelay__StatusBatch sb = GRIDRELAY__STATUS_BATCH__INIT;
    sb.ref_seq = 1;
    sb.updates = ups;
    sb.n_updates = 2;
    body.kind_case = GRIDRELAY__BODY__KIND_STATUS_BATCH;
    body.status_batch = &sb;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_CHILD, &body);
    body.kind_case = GRIDRELAY__BODY__KIND_STATUS_UPDATE;
    body.status_update = &u1;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_CHILD_PUB, &body);
    Gridrelay__Heartbeat hb = GRIDRELAY__HEARTBEAT__INIT;
    hb.node_id = FX_CHILD_ID;
    hb.status_seq = 3;
    body.kind_case = GRIDRELAY__BODY__KIND_HEARTBEAT;
    body.heartbeat = &hb;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_CHILD, &body);
    Gridrelay__Ack ack = GRIDRELAY__ACK__INIT;
    ack.ref_seq = 1;
    ack.event_id = FX_EV_ESC;
    body.kind_case = GRIDRELAY__BODY__KIND_ACK;
    body.ack = &ack;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_CHILD, &body);
    uint64_t seqs[] = {1, 2, 3};
    Gridrelay__AckBatch ab = GRIDRELAY__ACK_BATCH__INIT;
    ab.ref_seqs = seqs;
    ab.n_ref_seqs = 3;
    body.kind_case = GRIDRELAY__BODY__KIND_ACK_BATCH;
    body.ack_batch = &ab;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_CHILD, &body);
    return rc;
}

/* Every query, from where it is allowed. */
static int s_queries(fx_emit_fn fn, void *ctx)
{
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    Gridrelay__GetEvent ge = GRIDRELAY__GET_EVENT__INIT;
    ge.event_id = FX_EV_TOWN;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_EVENT;
    body.get_event = &ge;
    int rc = fn(ctx, FX_FROM_REPORTER, &body);
    ge.event_id = "ev-village";
    ge.below = true;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_REPORTER, &body);
    Gridrelay__ListEvents le = GRIDRELAY__LIST_EVENTS__INIT;
    le.limit = 2;
    body.kind_case = GRIDRELAY__BODY__KIND_LIST_EVENTS;
    body.list_events = &le;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_REPORTER, &body);
    Gridrelay__GetStats gs = GRIDRELAY__GET_STATS__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_STATS;
    body.get_stats = &gs;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_REPORTER, &body);
    Gridrelay__ListView lv = GRIDRELAY__LIST_VIEW__INIT;
    lv.node_id = FX_CHILD_ID;
    body.kind_case = GRIDRELAY__BODY__KIND_LIST_VIEW;
    body.list_view = &lv;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_PARENT, &body);
    Gridrelay__GetLinks gl = GRIDRELAY__GET_LINKS__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_LINKS;
    body.get_links = &gl;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_REPORTER, &body);
    Gridrelay__ListTasks lt = GRIDRELAY__LIST_TASKS__INIT;
    lt.limit = 1;
    body.kind_case = GRIDRELAY__BODY__KIND_LIST_TASKS;
    body.list_tasks = &lt;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_DEPT, &body);
    Gridrelay__ListSupervision ls = GRIDRELAY__LIST_SUPERVISION__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_LIST_SUPERVISION;
    body.list_supervision = &ls;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_REPORTER, &body);
    return rc;
}

/* Daily reports, rankings and statistics, merges, audits and the
 * supervision list: one valid body of each, from where it is allowed. */
static int s_governance(fx_emit_fn fn, void *ctx, uint64_t now_ms)
{
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    /* 合并 and its undoing. */
    int rc = s_case_action(fn, ctx, FX_EV_ESC, GRIDRELAY__CASE_ACTION__KIND__MERGE, "one fire",
                           FX_EV_TOWN);
    if (rc == 0)
        rc = s_case_action(fn, ctx, FX_EV_ESC, GRIDRELAY__CASE_ACTION__KIND__UNMERGE,
                           "a second fire", NULL);
    /* A child's daily summary, with a late and a missing unit. */
    Gridrelay__DailyUnit late = GRIDRELAY__DAILY_UNIT__INIT, missing = GRIDRELAY__DAILY_UNIT__INIT;
    late.unit = "worker-zhang";
    late.state = GRIDRELAY__DAILY_UNIT__STATE__LATE;
    late.first_ms = now_ms - 60000;
    missing.unit = "worker-li";
    missing.state = GRIDRELAY__DAILY_UNIT__STATE__MISSING;
    Gridrelay__DailyUnit *exceptions[] = {&late, &missing};
    Gridrelay__DailySummary ds = GRIDRELAY__DAILY_SUMMARY__INIT;
    ds.node_id = FX_CHILD_ID;
    ds.date = "2026-12-06";
    ds.tier_level = 1;
    ds.version = 2;
    ds.closed = true;
    ds.due_ms = now_ms - 3600000;
    ds.units = 10;
    ds.on_time = 8;
    ds.late = 1;
    ds.missing = 1;
    ds.exceptions = exceptions;
    ds.n_exceptions = 2;
    body.kind_case = GRIDRELAY__BODY__KIND_DAILY_SUMMARY;
    body.daily_summary = &ds;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_CHILD, &body);
    Gridrelay__ListDaily ld = GRIDRELAY__LIST_DAILY__INIT;
    ld.date = "2026-12-06";
    ld.missing_only = true;
    ld.below_limited = true;
    ld.tier_below = 1;
    body.kind_case = GRIDRELAY__BODY__KIND_LIST_DAILY;
    body.list_daily = &ld;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_REPORTER, &body);
    /* 考核: a ranking by node and by department, counts by category and week. */
    Gridrelay__GetRanking gr = GRIDRELAY__GET_RANKING__INIT;
    gr.from_ms = now_ms - 30ull * 86400000;
    gr.to_ms = now_ms;
    gr.by = GRIDRELAY__GET_RANKING__BY__NODE;
    gr.limit = 10;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_RANKING;
    body.get_ranking = &gr;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_REPORTER, &body);
    gr.by = GRIDRELAY__GET_RANKING__BY__DEPARTMENT;
    gr.offset = 1;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_REPORTER, &body);
    Gridrelay__GetCaseStats cs = GRIDRELAY__GET_CASE_STATS__INIT;
    cs.by = GRIDRELAY__GET_CASE_STATS__BY__CATEGORY;
    cs.from_ms = now_ms - 7ull * 86400000;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_CASE_STATS;
    body.get_case_stats = &cs;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_REPORTER, &body);
    cs.by = GRIDRELAY__GET_CASE_STATS__BY__WEEK;
    cs.utc_offset_min = 480;
    cs.to_ms = now_ms;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_REPORTER, &body);
    /* The audit: the node's own walk, and one case's evidence. */
    Gridrelay__AuditVerify av = GRIDRELAY__AUDIT_VERIFY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_AUDIT_VERIFY;
    body.audit_verify = &av;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_REPORTER, &body);
    Gridrelay__AuditExport ae = GRIDRELAY__AUDIT_EXPORT__INIT;
    ae.event_id = FX_EV_TOWN;
    body.kind_case = GRIDRELAY__BODY__KIND_AUDIT_EXPORT;
    body.audit_export = &ae;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_REPORTER, &body);
    /* 督办: the list from the parent too, and an urge of a department task. */
    Gridrelay__ListSupervision ls = GRIDRELAY__LIST_SUPERVISION__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_LIST_SUPERVISION;
    body.list_supervision = &ls;
    if (rc == 0)
        rc = fn(ctx, FX_FROM_PARENT, &body);
    if (rc == 0)
        rc = s_case_action(fn, ctx, FX_EV_TOWN, GRIDRELAY__CASE_ACTION__KIND__URGE,
                           "督办: report back by noon", "police");
    return rc;
}

int fx_seed_requests(const gr_keypair_t keys[FX_KEYS], uint64_t now_ms, fx_emit_fn fn, void *ctx)
{
    (void)keys;
    int rc = s_case_actions(fn, ctx);
    if (rc == 0)
        rc = s_links(fn, ctx, now_ms);
    if (rc == 0)
        rc = s_queries(fn, ctx);
    if (rc == 0)
        rc = s_governance(fn, ctx, now_ms);
    return rc;
}

static int s_commit(void *ctx, fx_from_t from, const Gridrelay__Body *body)
{
    fx_node_t *node = ctx;
    bool acked = false;
    int rc = fx_node_run_body(node, from, body, true, &acked);
    /* A status update has no reply: its commit is its acceptance. */
    if (rc == 0 && !acked && from != FX_FROM_CHILD_PUB)
        return GR_EINVAL;
    return rc;
}

int fx_node_seed(fx_node_t *node)
{
    return fx_seed_setup(node->keys, node->now_ms, s_commit, node);
}
