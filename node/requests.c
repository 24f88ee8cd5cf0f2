#include "requests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_log.h"
#include "confseal.h"
#include "actions.h"
#include "audit.h"
#include "outbox.h"
#include "assessment.h"
#include "case_stats.h"
#include "check.h"
#include "client.h"
#include "error.h"
#include "log.h"
#include "queries.h"
#include "report.h"
#include "supervision.h"

struct gr_requests {
    const gr_config_t *cfg;
    gr_counters_t *counters;
    gr_engine_t *engine;
    gr_tierlink_t *tierlink;
    gr_departments_t *departments;
    gr_daily_t *daily;
    gr_peers_t *peers;
    gr_actions_t actions;
    gr_flow_t flow;
    /* While a query runs for a signer that sees only its own cases: the
     * signer and the rule to narrow the answer with (else NULL). */
    const gr_access_who_t *scoped_who;
    const gr_access_rule_t *scoped_rule;
    gr_access_log_t *access_log;    /* reads of confidential cases, refusals */
    bool any_confidential;          /* the catalogue marks some category confidential */
    /* While a read runs: the request and its signer, for what its list
     * shows (s_shown_*). */
    const gr_request_t *reading;
    const gr_access_who_t *reader;
};

/* The case a request names, for the access log ("" when none). */
static const char *s_event_of(const Gridrelay__Body *body)
{
    const char *id = NULL;
    switch (body ? body->kind_case : 0) {
    case GRIDRELAY__BODY__KIND_GET_EVENT:
        id = body->get_event ? body->get_event->event_id : NULL;
        break;
    case GRIDRELAY__BODY__KIND_AUDIT_EXPORT:
        id = body->audit_export ? body->audit_export->event_id : NULL;
        break;
    case GRIDRELAY__BODY__KIND_CASE_ACTION:
        id = body->case_action ? body->case_action->event_id : NULL;
        break;
    case GRIDRELAY__BODY__KIND_TASK_ACTION:
        id = body->task_action ? body->task_action->event_id : NULL;
        break;
    default:
        break;
    }
    return id ? id : "";
}

/* ---- the table ---- */

#define FROM(k) (1u << (k))
#define FROM_CLIENT FROM(GR_FROM_CLIENT)
#define FROM_ANY (FROM(GR_FROM_CLIENT) | FROM(GR_FROM_CHILD) | FROM(GR_FROM_PARENT) | FROM(GR_FROM_SKIP))

/* The access roles (router/access.h), short, for the table. */
#define REPORTER GR_ACCESS_REPORTER
#define OPERATOR GR_ACCESS_OPERATOR
#define VIEWER GR_ACCESS_VIEWER
#define DEPARTMENT GR_ACCESS_DEPARTMENT
#define AUDITOR GR_ACCESS_AUDITOR
#define NODE GR_ACCESS_NODE
/* Who may use it on any case, and who only on the cases in their scope
 * (a reporter: the cases it reported; a department: those it has a task
 * for). */
#define ANY(roles) {(roles), 0}
#define ANY_OWN(any, own) {(any), (own)}

typedef int (*s_handler_fn)(gr_requests_t *self, const gr_request_t *req);

typedef struct {
    Gridrelay__Body__KindCase kind;
    bool write;
    unsigned from;        /* the sources it may come from */
    gr_access_rule_t access;  /* the signer's roles that may send it */
    const char *refusal;  /* who may send it, for a refused source or role */
    s_handler_fn handle;
} s_route_t;

/* A handler that only hands the request to the module that owns its kind:
 * one line of the table's vocabulary each, rather than a function body. */
#define S_HANDLER(name, call)                                        \
    static int name(gr_requests_t *self, const gr_request_t *req)    \
    {                                                                \
        (void)self;                                                  \
        return call;                                                 \
    }

S_HANDLER(s_report, gr_report_handle(self->cfg, self->engine, self->daily, self->counters, req))
S_HANDLER(s_case_action, gr_actions_handle(&self->actions, req))
S_HANDLER(s_task_action, gr_departments_task_action(self->departments, req))
S_HANDLER(s_escalate, gr_tierlink_escalate_in(self->tierlink, req))
S_HANDLER(s_assign, gr_tierlink_assign_in(self->tierlink, req))
S_HANDLER(s_feedback, gr_tierlink_feedback_in(self->tierlink, req))
S_HANDLER(s_supervise, gr_tierlink_supervise_in(self->tierlink, req))
S_HANDLER(s_get_event, gr_query_event(req))
/* The list of a signer that sees only its own cases: see s_scope_admit(). */
static bool s_scope_admit(void *ctx, const Gridrelay__StoredEvent *rec);

/* The confidential category of a case shown by a list, or NULL. */
static const gr_category_t *s_confidential_category(const gr_requests_t *self, const char *code)
{
    const gr_category_t *cat =
        self->any_confidential && code ? gr_catalogue_find(self->cfg->catalogue, code) : NULL;
    return cat && cat->confidential ? cat : NULL;
}

/* Listing a confidential case is a read of it (issue 14): one access
 * record per case shown. */
static int s_note_listed(gr_requests_t *self, const char *event_id, const gr_category_t *cat,
                         const char *detail)
{
    char roles[96] = "";
    if (self->reader)
        gr_access_roles_text(self->reader->roles, roles, sizeof roles);
    return gr_access_log_note(self->access_log, self->reading,
                              GRIDRELAY__ACCESS_RECORD__KIND__READ, roles, event_id, cat->code,
                              detail);
}

static int s_shown_event(void *ctx, const Gridrelay__StoredEvent *rec)
{
    gr_requests_t *self = ctx;
    const gr_category_t *cat = rec->event ? s_confidential_category(self, rec->event->category)
                                          : NULL;
    return cat && self->reading ? s_note_listed(self, rec->event->id, cat, "listed") : 0;
}

/* The view of the tiers below shows a confidential case by its id,
 * category, state and timings only: its title is withheld from every
 * reader here (a node below that runs older code may still send one), and
 * the listing is audited. */
static int s_shown_view(void *ctx, Gridrelay__StatusUpdate *u)
{
    gr_requests_t *self = ctx;
    const gr_category_t *cat = s_confidential_category(self, u->category);
    if (!cat)
        return 0;
    char *title = strdup(GR_CONFSEAL_TITLE);
    if (!title)
        return GR_ENOMEM;
    if (u->title != protobuf_c_empty_string)
        free(u->title);
    u->title = title;
    return self->reading ? s_note_listed(self, u->event_id, cat, "listed in the view, title withheld")
                         : 0;
}

static int s_list_events(gr_requests_t *self, const gr_request_t *req)
{
    gr_query_shown_t shown = {s_shown_event, NULL, self};
    const gr_query_shown_t *sp = self->any_confidential ? &shown : NULL;
    if (self->scoped_who)
        return gr_query_list(req, s_scope_admit, self, sp);
    return gr_query_list(req, NULL, NULL, sp);
}

static int s_list_view(gr_requests_t *self, const gr_request_t *req)
{
    gr_query_shown_t shown = {NULL, s_shown_view, self};
    return gr_query_view(req, self->any_confidential ? &shown : NULL);
}

S_HANDLER(s_stats, gr_query_stats(self->cfg, self->counters, req))
S_HANDLER(s_links, gr_peers_links_reply(self->peers, req))
S_HANDLER(s_urge, gr_tierlink_urge_in(self->tierlink, req))
S_HANDLER(s_supervision, gr_supervision_list(self->cfg, req))
S_HANDLER(s_daily_summary, gr_daily_summary_in(self->daily, req))
S_HANDLER(s_list_daily, gr_daily_list(self->daily, req))
S_HANDLER(s_list_tasks, gr_departments_list_tasks(self->departments, req))
S_HANDLER(s_outbox_list, gr_outbox_list(self->cfg, req))
S_HANDLER(s_outbox_act, gr_outbox_act(self->engine, self->cfg, req))
S_HANDLER(s_audit_verify, gr_audit_verify(req))
S_HANDLER(s_audit_reads, gr_access_log_query(req))
S_HANDLER(s_audit_export, gr_audit_export(self->cfg, req))

/* Long reads: the analyst's thread runs these (gr_requests_run_slow). */
S_HANDLER(s_ranking, gr_assessment_rank(self->cfg, req))
S_HANDLER(s_case_stats, gr_case_stats(self->cfg, req))
/* Roles: reporters report and read their own cases, operators act on the
 * cases here, viewers read everything here, departments work their tasks
 * and read the cases behind them, auditors read cases, timelines and
 * counters; the tier links (NODE) carry what nodes send each other. */
static const s_route_t s_routes[] = {
    {GRIDRELAY__BODY__KIND_REPORT, true, FROM_CLIENT, ANY(REPORTER),
     "reports come from reporters", s_report},
    {GRIDRELAY__BODY__KIND_CASE_ACTION, true, FROM_CLIENT, ANY(OPERATOR),
     "case actions come from operators", s_case_action},
    {GRIDRELAY__BODY__KIND_TASK_ACTION, true, FROM_CLIENT, ANY(DEPARTMENT),
     "task actions come from departments", s_task_action},
    {GRIDRELAY__BODY__KIND_ESCALATE, true, FROM(GR_FROM_CHILD), ANY(NODE),
     "only a child node may escalate to this node", s_escalate},
    {GRIDRELAY__BODY__KIND_ASSIGN, true, FROM(GR_FROM_PARENT), ANY(NODE),
     "only the parent assigns cases here", s_assign},
    {GRIDRELAY__BODY__KIND_FEEDBACK, true,
     FROM(GR_FROM_PARENT) | FROM(GR_FROM_SKIP) | FROM(GR_FROM_CHILD), ANY(NODE),
     "feedback comes from the parent, the skip-level ancestor or a child", s_feedback},
    {GRIDRELAY__BODY__KIND_SUPERVISE, true, FROM(GR_FROM_PARENT) | FROM(GR_FROM_SKIP), ANY(NODE),
     "only a superior supervises", s_supervise},
    {GRIDRELAY__BODY__KIND_URGE, true, FROM(GR_FROM_PARENT) | FROM(GR_FROM_SKIP), ANY(NODE),
     "only a superior urges over a tier link (operators: CaseAction URGE)", s_urge},
    {GRIDRELAY__BODY__KIND_GET_EVENT, false, FROM_ANY,
     ANY_OWN(OPERATOR | VIEWER | AUDITOR | NODE, REPORTER | DEPARTMENT),
     "a case is read by operators, viewers and auditors, by the reporter who reported it "
     "and by a department with a task for it", s_get_event},
    {GRIDRELAY__BODY__KIND_LIST_EVENTS, false, FROM_ANY,
     ANY_OWN(OPERATOR | VIEWER | AUDITOR | NODE, REPORTER | DEPARTMENT),
     "cases are listed by operators, viewers and auditors (reporters and departments: "
     "their own)", s_list_events},
    {GRIDRELAY__BODY__KIND_GET_STATS, false, FROM_ANY, ANY(OPERATOR | VIEWER | AUDITOR | NODE),
     "counters are read by operators, viewers and auditors", s_stats},
    {GRIDRELAY__BODY__KIND_LIST_VIEW, false, FROM_ANY, ANY(OPERATOR | VIEWER | NODE),
     "the view of the tiers below is read by operators and viewers", s_list_view},
    {GRIDRELAY__BODY__KIND_GET_LINKS, false, FROM_ANY, ANY(OPERATOR | VIEWER | AUDITOR | NODE),
     "the links are read by operators, viewers and auditors", s_links},
    {GRIDRELAY__BODY__KIND_LIST_TASKS, false, FROM_ANY, ANY(DEPARTMENT | OPERATOR | VIEWER),
     "tasks are listed by departments (their own) and by operators and viewers", s_list_tasks},
    {GRIDRELAY__BODY__KIND_LIST_SUPERVISION, false, FROM_CLIENT, ANY(OPERATOR | VIEWER),
     "the supervision list is for operators and viewers", s_supervision},
    {GRIDRELAY__BODY__KIND_OUTBOX_LIST, false, FROM_CLIENT, ANY(OPERATOR | VIEWER),
     "the outbox is read by operators and viewers", s_outbox_list},
    {GRIDRELAY__BODY__KIND_OUTBOX_ACTION, true, FROM_CLIENT, ANY(OPERATOR),
     "only operators retry or drop dead letters", s_outbox_act},
    {GRIDRELAY__BODY__KIND_AUDIT_VERIFY, false, FROM_CLIENT, ANY(OPERATOR | AUDITOR),
     "audits are for operators and auditors", s_audit_verify},
    {GRIDRELAY__BODY__KIND_AUDIT_EXPORT, false, FROM_CLIENT, ANY(OPERATOR | AUDITOR),
     "audits are for operators and auditors", s_audit_export},
    {GRIDRELAY__BODY__KIND_AUDIT_READS, false, FROM_CLIENT, ANY(AUDITOR),
     "the audit of reads is for auditors", s_audit_reads},
    {GRIDRELAY__BODY__KIND_DAILY_SUMMARY, true, FROM(GR_FROM_CHILD), ANY(NODE),
     "daily summaries come from child nodes", s_daily_summary},
    {GRIDRELAY__BODY__KIND_LIST_DAILY, false, FROM_CLIENT, ANY(OPERATOR | VIEWER),
     "the daily report list is for operators and viewers", s_list_daily},
    {GRIDRELAY__BODY__KIND_GET_RANKING, false, FROM_CLIENT, ANY(OPERATOR | VIEWER | AUDITOR),
     "rankings are for operators, viewers and auditors", s_ranking},
    {GRIDRELAY__BODY__KIND_GET_CASE_STATS, false, FROM_CLIENT, ANY(OPERATOR | VIEWER | AUDITOR),
     "case statistics are for operators, viewers and auditors", s_case_stats},
};

static const s_route_t *s_route(const Gridrelay__Body *body)
{
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes[0]; i++)
        if (s_routes[i].kind == body->kind_case)
            return &s_routes[i];
    return NULL;
}

const gr_access_rule_t *gr_requests_access_rule(Gridrelay__Body__KindCase kind)
{
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes[0]; i++)
        if (s_routes[i].kind == kind)
            return &s_routes[i].access;
    return NULL;
}

/* The signer as the access check sees it. A node on a tier link is a node
 * whatever else it is; a department's scope is its code. */
static void s_who(const gr_requests_t *self, const gr_request_t *req, gr_access_who_t *who)
{
    const gr_trusted_key_t *signer = req->opened->signer;
    memset(who, 0, sizeof *who);
    /* A tier link's frames are opened against the peer's own key, not
     * the trust list: the link itself says who sent them. */
    if (req->source->kind != GR_FROM_CLIENT) {
        who->roles = GR_ACCESS_NODE;
        return;
    }
    if (!signer)
        return;
    who->key = signer->pk;
    who->roles = signer->access;
    who->name = signer->name;
    if (who->roles & GR_ACCESS_REPORTER)
        who->grid = gr_config_reporter_grid(self->cfg, signer->pk);
    if (signer->role == GR_ROLE_DEPARTMENT) {
        const gr_dept_config_t *dept = gr_config_dept_by_key(self->cfg, signer->pk);
        who->dept = dept ? dept->code : NULL;
    }
}

/* What decides whether rec is in a signer's scope: the key that signed
 * the report (its origin envelope), its grid and the departments with a
 * task. key
 * receives the reporter's key (GR_ACCESS_KEY_BYTES). */
static void s_case_facts(const Gridrelay__StoredEvent *rec, uint8_t key[GR_ACCESS_KEY_BYTES],
                         gr_access_case_t *c)
{
    memset(c, 0, sizeof *c);
    c->lead_dept = rec->dept;
    c->co_depts = rec->co_depts;
    c->n_co_depts = rec->n_co_depts;
    if (rec->event && rec->event->location)
        c->grid = rec->event->location->grid_code;
    Gridrelay__Envelope *env = NULL;
    if (rec->origin_envelope.len)
        env = gridrelay__envelope__unpack(NULL, rec->origin_envelope.len,
                                          rec->origin_envelope.data);
    if (env && env->signer.len == GR_ACCESS_KEY_BYTES) {
        memcpy(key, env->signer.data, GR_ACCESS_KEY_BYTES);
        c->reporter_key = key;
    }
    if (env)
        gridrelay__envelope__free_unpacked(env, NULL);
}

/* The facts of a confidential category (catalogue) and whether who is
 * named for it ([confidential]). */
static void s_confidential_facts(const gr_requests_t *self, const Gridrelay__StoredEvent *rec,
                                 const gr_access_who_t *who, gr_access_case_t *c)
{
    if (!self->any_confidential || !rec->event)
        return;
    const gr_category_t *cat = gr_catalogue_find(self->cfg->catalogue, rec->event->category);
    c->confidential = cat && cat->confidential;
    c->named = c->confidential && (who->roles & GR_ACCESS_OPERATOR) &&
               gr_confidential_config_names(&self->cfg->confidential, cat->code, who->name);
}

static bool s_scope_admit(void *ctx, const Gridrelay__StoredEvent *rec)
{
    const gr_requests_t *self = ctx;
    uint8_t key[GR_ACCESS_KEY_BYTES];
    gr_access_case_t c;
    s_case_facts(rec, key, &c);
    s_confidential_facts(self, rec, self->scoped_who, &c);
    return gr_access_decide(self->scoped_rule, self->scoped_who, &c) == GR_ACCESS_ALLOW;
}

/* A GetEvent of a signer that reads only the cases in its scope: the case
 * must be held here (nothing of the tiers below is in anyone's scope) and
 * be its own. 0 when allowed; 1 with the refusal as the reply; a negative
 * store error. */
static int s_scope_get(const gr_requests_t *self, const gr_access_rule_t *rule,
                       const gr_access_who_t *who, bool allowed, const gr_request_t *req,
                       const char *id, const char **text, int *code)
{
    if (!id || !*id)
        return 0;   /* the request says what is missing */
    Gridrelay__StoredEvent *rec = NULL;
    int rc = gr_store_event_get(req->txn, id, &rec);
    if ((rc == GR_ENOTFOUND || rc == GR_EINVAL) && allowed)
        return 0;   /* its role may: the handler says what is missing (or looks below) */
    if (rc == GR_ENOTFOUND || rc == GR_EINVAL) {
        *code = rc == GR_EINVAL ? GR_EINVAL : GR_ENOTFOUND;
        *text = rc == GR_EINVAL ? "event_id missing or malformed"
                                : "no such event on this node";
        return 1;
    }
    if (rc != 0)
        return rc;
    uint8_t key[GR_ACCESS_KEY_BYTES];
    gr_access_case_t c;
    s_case_facts(rec, key, &c);
    s_confidential_facts(self, rec, who, &c);
    gr_access_t decision = gr_access_decide(rule, who, &c);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    if (decision == GR_ACCESS_ALLOW)
        return 0;
    *code = GR_EPERM;
    *text = c.confidential
        ? "a confidential case: read and handled only by the operators [confidential] names "
          "for its category, its reporter and the departments with a task for it"
        : "not your case: a reporter reads the cases it reported, a department the cases "
          "it has a task for";
    return 1;
}

/* Requests about one case held here whose category may be confidential. */
static bool s_names_case(Gridrelay__Body__KindCase kind)
{
    return kind == GRIDRELAY__BODY__KIND_GET_EVENT || kind == GRIDRELAY__BODY__KIND_CASE_ACTION ||
           kind == GRIDRELAY__BODY__KIND_AUDIT_EXPORT || kind == GRIDRELAY__BODY__KIND_TASK_ACTION;
}

/* Whether the signer's roles and scope allow the request: 0 when they
 * do (self->scoped_* set when a list must be narrowed to the signer's
 * cases), 1 with *code and *text when not, or a negative store error. */
static int s_access(gr_requests_t *self, const s_route_t *route, const gr_request_t *req,
                    gr_access_who_t *who, const char **text, int *code)
{
    s_who(self, req, who);
    gr_access_t decision = gr_access_decide(&route->access, who, NULL);
    if (decision == GR_ACCESS_DENY) {
        *code = GR_EPERM;
        *text = route->refusal;
        return 1;
    }
    /* A confidential case is closed further than its role lets in: the
     * case's own facts decide (router/access.h). */
    if (self->any_confidential && s_names_case(route->kind))
        return s_scope_get(self, &route->access, who, decision == GR_ACCESS_ALLOW, req,
                           s_event_of(req->opened->body), text, code);
    if (self->any_confidential && route->kind == GRIDRELAY__BODY__KIND_LIST_EVENTS) {
        self->scoped_who = who;
        self->scoped_rule = &route->access;
        return 0;
    }
    if (decision == GR_ACCESS_ALLOW)
        return 0;
    if (route->kind == GRIDRELAY__BODY__KIND_GET_EVENT)
        return s_scope_get(self, &route->access, who, false, req,
                           s_event_of(req->opened->body), text, code);
    if (route->kind == GRIDRELAY__BODY__KIND_LIST_EVENTS) {
        self->scoped_who = who;
        self->scoped_rule = &route->access;
        return 0;
    }
    /* Only the two kinds above know how to honour a scope: a row that
     * scopes another kind is refused rather than let through unchecked. */
    *code = GR_EPERM;
    *text = route->refusal;
    return 1;
}

/* ---- on behalf of someone ---- */

/* A request the node's own key signed on behalf of someone (Body.on_behalf:
 * its HTTP face, node/http) goes through the same table as that person:
 * the signer the checks and the handlers see is a copy of the node's entry
 * named after them ("web:alice" is the actor the timeline records) with
 * their roles (router/access gr_access_delegated()). The envelope, its
 * hash and the key stay the node's, so the trail shows who signed and for
 * whom. Returns 0 when the request is no such thing (req as it is), 1 when
 * *inner is the request to run, 2 when it was refused (on_behalf from
 * another key, or someone the config does not name; counted, the refusal
 * in the reply), or a negative error. */
typedef struct {
    gr_request_t req;
    gr_opened_t opened;
    gr_trusted_key_t signer;
} s_delegated_t;

static int s_delegate(gr_requests_t *self, const gr_request_t *req, s_delegated_t *out)
{
    const char *on_behalf = req->opened->body ? req->opened->body->on_behalf : NULL;
    if (!on_behalf || !*on_behalf)
        return 0;
    const gr_trusted_key_t *signer = req->opened->signer;
    bool own = req->source->kind == GR_FROM_CLIENT && signer &&
               memcmp(signer->pk, self->cfg->keys.pk, GR_PUBLIC_KEY_BYTES) == 0;
    unsigned roles = 0;
    out->signer = own ? *signer : (gr_trusted_key_t){0};
    const char *why = NULL;
    if (!own)
        why = "on_behalf is for the node's own HTTP face: no other key signs for someone else";
    else if (gr_http_config_delegate(&self->cfg->http, on_behalf, &roles, out->signer.name,
                                     sizeof out->signer.name) != 0)
        why = "on_behalf names no [http_users] user or [open311_clients] client of this node";
    if (why) {
        int rc = gr_reply_error(req->reply, gr_request_seq(req), GR_EPERM, why);
        if (rc != 0)
            return rc;
        self->counters->value[GR_COUNT_REJ_FORBIDDEN]++;
        gr_log(GR_LOG_WARN, NULL, "request seq=%llu on behalf of '%s' refused: %s",
               (unsigned long long)gr_request_seq(req), on_behalf, why);
        return 2;
    }
    out->signer.access = gr_access_delegated(roles);
    out->opened = *req->opened;
    out->opened.signer = &out->signer;
    out->req = *req;
    out->req.opened = &out->opened;
    return 1;
}

/* ---- lifecycle ---- */

gr_requests_t *gr_requests_new(const gr_config_t *cfg, gr_counters_t *counters,
                               gr_engine_t *engine, gr_tierlink_t *tierlink,
                               gr_departments_t *departments, gr_daily_t *daily)
{
    gr_requests_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = cfg;
    self->counters = counters;
    self->engine = engine;
    self->tierlink = tierlink;
    self->departments = departments;
    self->daily = daily;
    self->actions = (gr_actions_t){cfg, engine, tierlink, departments};
    self->flow = (gr_flow_t){cfg, engine, tierlink, departments, daily};
    self->access_log = gr_access_log_new();
    for (size_t i = 0; i < gr_catalogue_count(cfg->catalogue); i++)
        if (gr_catalogue_at(cfg->catalogue, i)->confidential)
            self->any_confidential = true;
    if (!self->access_log)
        gr_requests_destroy(&self);
    return self;
}

void gr_requests_destroy(gr_requests_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gr_access_log_destroy(&(*self_p)->access_log);
    free(*self_p);
    *self_p = NULL;
}

gr_access_log_t *gr_requests_access_log(gr_requests_t *self)
{
    return self->access_log;
}

void gr_requests_set_peers(gr_requests_t *self, gr_peers_t *peers)
{
    self->peers = peers;
}

bool gr_requests_is_write(const gr_opened_t *request)
{
    const s_route_t *route = s_route(request->body);
    return route && route->write;
}

/* ---- writes ---- */

/* Whether the request's own record is the event it stored: a Report that
 * made a new case. Its resend (same signer and seq, so the same event id)
 * finds the event and is answered Ack { duplicate } as a dedup record
 * would answer it, so no (signer, seq) record is written: one B-tree less
 * per report, and the one whose inserts go to a leaf per signer rather
 * than to the tail (PROTOCOL.md 5). */
static bool s_event_is_dedup(const s_route_t *route, const gr_reply_t *reply)
{
    return route->handle == s_report && reply->acked && !reply->duplicate;
}

/* The request itself, in its own nested transaction: dedup, replay
 * window, the handler and what it set off, and remembering (signer, seq)
 * once accepted. */
static int s_write_one(gr_requests_t *self, const s_route_t *route, const gr_request_t *req)
{
    const Gridrelay__Envelope *env = req->opened->envelope;
    const uint8_t *signer = env->signer.data;
    uint64_t seq = env->seq;
    gr_reply_t *reply = req->reply;

    /* A resend of something already accepted gets the original answer. */
    Gridrelay__DedupRecord *seen = NULL;
    int rc = gr_store_dedup_get(req->txn, signer, seq, &seen);
    if (rc == 0) {
        self->counters->value[GR_COUNT_DUPLICATE]++;
        rc = gr_reply_ack(reply, seq, seen->event_id, true, GRIDRELAY__STATUS__STATUS_UNSPECIFIED);
        gridrelay__dedup_record__free_unpacked(seen, NULL);
        return rc;
    }
    if (rc != GR_ENOTFOUND)
        return rc;
    uint64_t highest = 0;
    if ((rc = gr_store_signer_get(req->txn, signer, &highest)) != 0)
        return rc;
    if (seq > req->now_ms * 1000 + GR_SEQ_AHEAD_US) {
        /* Accepting it would lock the signer out until its clock reaches
         * the seq: refused, and said why. */
        return gr_reply_error(reply, seq, GR_EINVAL,
                              "seq is more than a day ahead of this node's clock (seqs are "
                              "microseconds since the epoch): check the sender's clock");
    }
    uint64_t window = self->cfg->replay_window;
    if (highest >= window && seq <= highest - window) {
        char why[160];
        snprintf(why, sizeof why, "seq %llu is older than the replay window (newest seen %llu)",
                 (unsigned long long)seq, (unsigned long long)highest);
        return gr_reply_error(reply, seq, GR_EREPLAY, why);
    }
    if ((rc = route->handle(self, req)) != 0 || !reply->acked)
        return rc;  /* refused: nothing remembered, a resend is judged again */
    if ((rc = gr_flow_run(&self->flow, req->txn, req->now_ms)) != 0)
        return rc;
    /* The Ack tells where the case stands after all it set off. */
    char event_id[GR_EVENT_ID_MAX + 1];
    memcpy(event_id, reply->event_id, sizeof event_id);
    int status = reply->duplicate ? 0 : gr_engine_status_of(self->engine, event_id);
    if (status && (rc = gr_reply_ack(reply, seq, event_id, false, status)) != 0)
        return rc;
    if (!s_event_is_dedup(route, reply)) {
        Gridrelay__DedupRecord record = GRIDRELAY__DEDUP_RECORD__INIT;
        record.event_id = reply->event_id;
        record.stored_ms = req->now_ms;
        if ((rc = gr_store_dedup_put(req->txn, signer, seq, &record)) != 0)
            return rc;
    }
    return gr_store_signer_bump(req->txn, signer, seq);
}

/* What ends the whole batch rather than one request: the map must grow
 * (the batch is redone), or memory ran out. Any other failure belongs to
 * the request that caused it. */
static bool s_batch_fatal(int rc)
{
    return rc == GR_EMAPFULL || rc == GR_ENOMEM;
}

/* Whether the request may go on: a known kind of the right sort, from a
 * source and signer the table allows, with well-formed fields, about a
 * case in the signer's scope. When not, the refusal is the reply (and
 * counted) and 1 is returned; a negative code when even that failed. who
 * receives the signer as the access check saw it. */
static int s_admit(gr_requests_t *self, const s_route_t *route, bool write, const gr_request_t *req,
                   gr_access_who_t *who)
{
    uint64_t seq = gr_request_seq(req);
    char why[200];
    int code = 0;
    const char *text = NULL;
    bool forbidden = false;
    self->scoped_who = NULL;
    self->scoped_rule = NULL;
    if (write && seq == 0) {
        code = GR_EINVAL;
        text = "seq must be at least 1";
    } else if (!route || route->write != write) {
        code = GR_EUNSUPPORTED;
        text = write ? "not a state-changing message"
                     : "message kind not accepted by a node's request socket";
    } else if (gr_check_body(req->opened->body, req->now_ms, why, sizeof why) != 0) {
        code = GR_EINVAL;
        text = why;
    } else if (!(route->from & FROM(req->source->kind))) {
        code = GR_EPERM;
        text = route->refusal;
        forbidden = true;
    } else {
        int rc = s_access(self, route, req, who, &text, &code);
        if (rc <= 0)
            return rc;
        forbidden = code == GR_EPERM;
    }
    char refusal[400];
    if (forbidden && req->source->kind == GR_FROM_CLIENT && (route->from & FROM_CLIENT)) {
        /* A person or a department: say which roles its key holds. */
        char roles[96];
        gr_access_roles_text(who->roles, roles, sizeof roles);
        snprintf(refusal, sizeof refusal, "this key's roles (%s) do not allow it: %s", roles, text);
        text = refusal;
    }
    int rc = gr_reply_error(req->reply, seq, code, text);
    if (rc != 0)
        return rc;
    if (forbidden) {
        self->counters->value[GR_COUNT_REJ_FORBIDDEN]++;
        char roles[96];
        gr_access_roles_text(who->roles, roles, sizeof roles);
        if ((rc = gr_access_log_note(self->access_log, req,
                                     GRIDRELAY__ACCESS_RECORD__KIND__REFUSED, roles,
                                     s_event_of(req->opened->body), NULL, text)) != 0)
            return rc;
    } else
        gr_counters_refusal(self->counters, code);
    return 1;
}

/* The way in for a write or a read: the request as delegated (on behalf
 * of a web user, *req_p then points into *delegated) and admitted by its
 * route. Returns 1 when it goes on to its handler (*route_p and *who set),
 * 0 when it is answered already (refused, or the delegation's own answer),
 * or a negative store error. */
static int s_enter(gr_requests_t *self, const gr_request_t **req_p, bool write,
                   s_delegated_t *delegated, const s_route_t **route_p, gr_access_who_t *who)
{
    int rc = s_delegate(self, *req_p, delegated);
    if (rc < 0 || rc == 2)
        return rc < 0 ? rc : 0;
    if (rc == 1)
        *req_p = &delegated->req;
    *route_p = s_route((*req_p)->opened->body);
    memset(who, 0, sizeof *who);
    rc = s_admit(self, *route_p, write, *req_p, who);
    return rc < 0 ? rc : rc == 0;
}

int gr_requests_write(gr_requests_t *self, const gr_request_t *req)
{
    s_delegated_t delegated;
    const s_route_t *route = NULL;
    gr_access_who_t who;
    int rc = s_enter(self, &req, true, &delegated, &route, &who);
    self->scoped_who = NULL;    /* writes have no list to narrow */
    self->scoped_rule = NULL;
    if (rc <= 0)
        return rc;
    /* Each request is applied in a transaction of its own inside the
     * batch's: a refusal, or a store error this request caused (found
     * after some of its writes), undoes exactly its writes and effects,
     * and its neighbours commit as if it had never come. */
    gr_txn_t *mine = NULL;
    if ((rc = gr_store_begin_nested(req->txn, &mine)) != 0)
        return rc;
    gr_counters_t saved = *self->counters;
    gr_engine_mark_t mark = gr_engine_mark(self->engine);
    gr_request_t inner = *req;
    inner.txn = mine;
    rc = s_write_one(self, route, &inner);
    if (rc == 0 && req->reply->acked)
        return gr_store_commit(&mine);
    gr_store_abort(&mine);
    gr_engine_rollback(self->engine, &mark);
    *self->counters = saved;
    if (s_batch_fatal(rc))
        return rc;
    if (rc != 0) {
        uint64_t seq = gr_request_seq(req);
        gr_log(GR_LOG_WARN, NULL, "request seq=%llu could not be applied: %s; nothing of it stored",
               (unsigned long long)seq, gr_strerror(rc));
        int code = rc == GR_EINVAL ? GR_EINVAL : GR_ESTORE;
        if ((rc = gr_reply_error(req->reply, seq, code,
                                 code == GR_EINVAL ? "a field of the request is out of range"
                                                   : "store error: nothing stored, retry later")) != 0)
            return rc;
    }
    gr_counters_refusal(self->counters, req->reply->error);
    return 0;
}

/* ---- reads ---- */

/* A read that showed a confidential case (its record, timeline or
 * evidence) is noted for the access log before the reply leaves. */
static int s_audit_read(gr_requests_t *self, const gr_request_t *req, const gr_access_who_t *who)
{
    const Gridrelay__Body *body = req->opened->body;
    if (body->kind_case != GRIDRELAY__BODY__KIND_GET_EVENT
        && body->kind_case != GRIDRELAY__BODY__KIND_AUDIT_EXPORT)
        return 0;
    const char *id = s_event_of(body);
    Gridrelay__StoredEvent *rec = NULL;
    if (!id || gr_store_event_get(req->txn, id, &rec) != 0)
        return 0;   /* not held here: nothing of it was shown */
    const gr_category_t *cat = rec->event ? gr_catalogue_find(self->cfg->catalogue,
                                                              rec->event->category) : NULL;
    int rc = 0;
    if (cat && cat->confidential) {
        char roles[96];
        gr_access_roles_text(who->roles, roles, sizeof roles);
        rc = gr_access_log_note(self->access_log, req, GRIDRELAY__ACCESS_RECORD__KIND__READ,
                                roles, id, cat->code, NULL);
    }
    gridrelay__stored_event__free_unpacked(rec, NULL);
    return rc;
}

int gr_requests_read(gr_requests_t *self, const gr_request_t *req)
{
    s_delegated_t delegated;
    const s_route_t *route = NULL;
    gr_access_who_t who;
    int rc = s_enter(self, &req, false, &delegated, &route, &who);
    if (rc <= 0)
        return rc;
    self->counters->value[GR_COUNT_QUERIES]++;
    self->reading = req;
    self->reader = &who;
    rc = route->handle(self, req);
    self->reading = NULL;
    self->reader = NULL;
    self->scoped_who = NULL;
    self->scoped_rule = NULL;
    if (rc == 0 && !req->reply->error)
        rc = s_audit_read(self, req, &who);
    return rc;
}

bool gr_requests_is_slow(const gr_opened_t *request)
{
    Gridrelay__Body__KindCase kind = request->body ? request->body->kind_case : 0;
    return kind == GRIDRELAY__BODY__KIND_GET_RANKING || kind == GRIDRELAY__BODY__KIND_GET_CASE_STATS;
}

int gr_requests_admit_slow(gr_requests_t *self, const gr_request_t *req)
{
    s_delegated_t delegated;
    const s_route_t *route = NULL;
    gr_access_who_t who;
    int rc = s_enter(self, &req, false, &delegated, &route, &who);
    if (rc <= 0)
        return rc < 0 ? rc : 1;
    self->counters->value[GR_COUNT_QUERIES]++;
    return 0;
}

int gr_requests_run_slow(gr_requests_t *self, const gr_request_t *req)
{
    return s_route(req->opened->body)->handle(self, req);
}
