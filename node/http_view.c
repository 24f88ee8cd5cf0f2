#include "http_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "catalogue.h"
#include "cases.h"
#include "check.h"
#include "clock.h"
#include "error.h"
#include "event_id.h"
#include "hop.h"
#include "wire.h"
#include "http_view_lists.h"
#include "http_web.h"

#define S_CALL_MS 4000
#define S_PAGE 100          /* rows asked per page: well inside a frame */
#define S_MAX_ROWS 1000     /* rows an answer holds at most */
#define S_DAYS 30           /* the live view's default window */

/* ---- names ---- */

static const char *const s_severities[] = {"", "routine", "urgent", "extra_urgent"};

const char *gr_http_view_severity(int severity)
{
    return severity >= 1 && severity <= 3 ? s_severities[severity] : "unspecified";
}

/* "routine", "urgent", "extra_urgent" (or "extra-urgent"): the value,
 * 0 for none given, -1 for a wrong one. */
static int s_parse_severity(const char *text)
{
    if (!text || !*text)
        return 0;
    if (strcmp(text, "extra-urgent") == 0)
        return GRIDRELAY__SEVERITY__EXTRA_URGENT;
    for (int i = 1; i <= 3; i++)
        if (strcmp(text, s_severities[i]) == 0)
            return i;
    return -1;
}

/* A status name as gr_case_status_name() writes it, "open" (every state
 * still needing handling) or none: the value, 0, or -1 for a wrong one. */
#define S_OPEN (-2)
static int s_parse_status(const char *text)
{
    if (!text || !*text)
        return 0;
    if (strcmp(text, "open") == 0)
        return S_OPEN;
    for (int s = GRIDRELAY__STATUS__REPORTED; s <= GRIDRELAY__STATUS__RETURNED; s++)
        if (strcmp(text, gr_case_status_name((Gridrelay__Status)s)) == 0)
            return s;
    return -1;
}

static bool s_status_matches(int want, int status)
{
    return want == 0 || (want == S_OPEN ? gr_case_open((Gridrelay__Status)status) : want == status);
}

json_object *gr_http_view_hex(const void *data, size_t len)
{
    if (!data || !len)
        return NULL;
    char *hex = malloc(len * 2 + 1);
    if (!hex)
        return NULL;
    sodium_bin2hex(hex, len * 2 + 1, data, len);
    json_object *s = json_object_new_string(hex);
    free(hex);
    return s;
}

void gr_http_view_str(json_object *obj, const char *key, const char *value)
{
    json_object_object_add(obj, key, json_object_new_string(value ? value : ""));
}

void gr_http_view_case_fields(json_object *obj, const Gridrelay__EventSummary *e)
{
    gr_http_view_str(obj, "id", e->id);
    gr_http_view_str(obj, "title", e->title);
    gr_http_view_str(obj, "category", e->category);
    gr_http_view_str(obj, "severity", gr_http_view_severity(e->severity));
    gr_http_view_str(obj, "status", gr_case_status_name(e->status));
}

void gr_http_view_u64(json_object *obj, const char *key, uint64_t value)
{
    json_object_object_add(obj, key, json_object_new_int64((int64_t)value));
}

int gr_http_view_call(gr_http_req_t *req, const Gridrelay__Body *body, int want,
                      gr_opened_t *reply)
{
    int rc = gr_http_call(req, body, NULL, reply, S_CALL_MS);
    if (rc != 0 || !reply->body || (int)reply->body->kind_case != want) {
        gr_http_reply_node_error(req, rc ? rc : reply->body ? 0 : GR_EIO, reply);
        gr_opened_clear(reply);
        return -1;
    }
    return 0;
}

/* ---- the live cases ---- */

/* What GET /api/cases asks for. */
typedef struct {
    int status;             /* 0 = any; S_OPEN */
    int severity;           /* 0 = any */
    const char *category;   /* NULL = any */
    bool here, below;       /* which rows */
    const char *node;       /* below: only those held at this node */
    int level;              /* below: only nodes of this tier level; 0 = any */
    uint64_t since;         /* rows changed at or after; 0 = all */
    uint64_t from_ms;       /* cases received (here) or updated (below) since; 0 = all */
} s_filter_t;

/* A node's tier level as this node knows it: its own, its children's one
 * below, and every node further down is counted two below (the view says
 * which child relayed an update, not how far it travelled). */
static int s_level_of(const gr_config_t *cfg, const char *node)
{
    if (strcmp(node, cfg->node_id) == 0)
        return cfg->tier_level;
    for (size_t i = 0; i < cfg->n_children; i++)
        if (strcmp(cfg->children[i].id, node) == 0)
            return cfg->tier_level - 1;
    return cfg->tier_level - 2 > 0 ? cfg->tier_level - 2 : 1;
}

/* The filter from the query; false (answered 400) when a value is wrong. */
static bool s_filter(gr_http_req_t *req, s_filter_t *f)
{
    const gr_config_t *cfg = gr_http_req_config(req);
    memset(f, 0, sizeof *f);
    f->here = f->below = true;
    f->status = s_parse_status(gr_http_req_query(req, "status"));
    f->severity = s_parse_severity(gr_http_req_query(req, "severity"));
    const char *cat = gr_http_req_query(req, "category");
    f->category = cat && *cat ? cat : NULL;
    const char *since = gr_http_req_query(req, "since");
    char *end = NULL;
    if (since && *since)
        f->since = strtoull(since, &end, 10);
    /* The live view is the recent days (the store lists oldest first, so
     * without a window a large store would fill the answer with its
     * oldest cases); days=0 lists everything, up to S_MAX_ROWS. */
    const char *days = gr_http_req_query(req, "days");
    char *days_end = NULL;
    unsigned long long n_days = days && *days ? strtoull(days, &days_end, 10) : S_DAYS;
    uint64_t now = gr_clock_now_ms(), span = (uint64_t)n_days * 86400000ull;
    f->from_ms = n_days && span < now ? now - span : 0;
    const char *tier = gr_http_req_query(req, "tier");
    const char *why = NULL;
    if (f->status == -1)
        why = "status: a case state (reported, accepted, ... returned) or open";
    else if (f->severity < 0)
        why = "severity: routine, urgent or extra_urgent";
    else if (f->category && !gr_catalogue_find(cfg->catalogue, f->category) &&
             !strchr(f->category, '*'))
        why = "category: no such category in this node's catalogue";
    else if (since && *since && (!end || *end))
        why = "since: the cursor of an earlier answer (a number)";
    else if (days && *days && (!days_end || *days_end || n_days > 36500))
        why = "days: how many days back (a number; 0 = all)";
    if (!why && tier && *tier && strcmp(tier, "all") != 0) {
        int level = gr_tier_parse(tier);
        if (strcmp(tier, "here") == 0 || strcmp(tier, cfg->node_id) == 0 ||
            level == cfg->tier_level) {
            f->below = false;
        } else if (strcmp(tier, "below") == 0) {
            f->here = false;
        } else if (level > 0 && level < cfg->tier_level) {
            f->here = false;
            f->level = level;
        } else if (level > cfg->tier_level) {
            why = "tier: above this node; a node sees its own tier and the tiers below";
        } else if (gr_check_id(tier, false)) {
            f->here = false;
            f->node = tier;
        } else {
            why = "tier: here, below, all, a tier name or level, or a node id";
        }
    }
    if (why) {
        gr_http_reply_error(req, GR_HTTP_E_BAD_REQUEST, why);
        return false;
    }
    return true;
}

/* A class prefix "PS.*" or a code. */
static bool s_category_matches(const char *want, const char *category)
{
    if (!want)
        return true;
    const char *star = strchr(want, '*');
    if (star)
        return strncmp(category ? category : "", want, (size_t)(star - want)) == 0;
    return category && strcmp(want, category) == 0;
}

static json_object *s_row_here(const gr_config_t *cfg, const Gridrelay__EventSummary *e)
{
    json_object *row = json_object_new_object();
    gr_http_view_case_fields(row, e);
    gr_http_view_str(row, "node", cfg->node_id);
    json_object_object_add(row, "tier", json_object_new_int(cfg->tier_level));
    json_object_object_add(row, "here", json_object_new_boolean(1));
    gr_http_view_str(row, "holder", e->holder);
    gr_http_view_str(row, "origin", e->origin_node);
    gr_http_view_u64(row, "received_ms", e->received_ms);
    gr_http_view_u64(row, "updated_ms", e->updated_ms ? e->updated_ms : e->received_ms);
    if (e->merged_into && *e->merged_into)
        gr_http_view_str(row, "merged_into", e->merged_into);
    if (e->candidate_of && *e->candidate_of)
        gr_http_view_str(row, "candidate_of", e->candidate_of);
    return row;
}

static json_object *s_row_below(const gr_config_t *cfg, const Gridrelay__StatusUpdate *u)
{
    json_object *row = json_object_new_object();
    gr_http_view_str(row, "id", u->event_id);
    gr_http_view_str(row, "title", u->title);
    gr_http_view_str(row, "category", u->category);
    gr_http_view_str(row, "severity", gr_http_view_severity(u->severity));
    gr_http_view_str(row, "status", gr_case_status_name(u->status));
    gr_http_view_str(row, "node", u->node_id);
    json_object_object_add(row, "tier", json_object_new_int(s_level_of(cfg, u->node_id)));
    json_object_object_add(row, "here", json_object_new_boolean(0));
    gr_http_view_str(row, "holder", u->dept && *u->dept ? u->dept : u->holder);
    gr_http_view_str(row, "origin", u->origin_node);
    gr_http_view_u64(row, "received_ms", u->received_ms);
    gr_http_view_u64(row, "updated_ms", u->time_ms);
    if (u->via_node && *u->via_node)
        gr_http_view_str(row, "via", u->via_node);
    return row;
}

/* The cases held here, every page up to S_MAX_ROWS, into rows (by id).
 * 0, or -1 when answered with the node's refusal. */
static int s_list_here(gr_http_req_t *req, const s_filter_t *f, json_object *rows, size_t *n)
{
    const gr_config_t *cfg = gr_http_req_config(req);
    char token[GR_PAGE_TOKEN_MAX] = "";
    do {
        Gridrelay__ListEvents list = GRIDRELAY__LIST_EVENTS__INIT;
        list.status = f->status > 0 ? (Gridrelay__Status)f->status : 0;
        list.severity = (Gridrelay__Severity)f->severity;
        list.category = f->category && !strchr(f->category, '*') ? (char *)f->category : "";
        list.limit = S_PAGE;
        list.page_token = token;
        list.since_ms = f->from_ms;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_LIST_EVENTS;
        body.list_events = &list;
        gr_opened_t reply = {0};
        if (gr_http_view_call(req, &body, GRIDRELAY__BODY__KIND_EVENT_PAGE, &reply) != 0)
            return -1;
        const Gridrelay__EventPage *page = reply.body->event_page;
        for (size_t i = 0; i < page->n_events && *n < S_MAX_ROWS; i++) {
            const Gridrelay__EventSummary *e = page->events[i];
            if (!s_status_matches(f->status, e->status) ||
                !s_category_matches(f->category, e->category))
                continue;
            json_object_object_add(rows, e->id, s_row_here(cfg, e));
            (*n)++;
        }
        snprintf(token, sizeof token, "%s", page->next_page_token ? page->next_page_token : "");
        gr_opened_clear(&reply);
    } while (*token && *n < S_MAX_ROWS);
    return 0;
}

/* Two rows of one case: the one held here wins; from below, the newer. */
static bool s_below_wins(json_object *old, const Gridrelay__StatusUpdate *u)
{
    json_object *here = NULL, *t = NULL;
    if (json_object_object_get_ex(old, "here", &here) && json_object_get_boolean(here))
        return false;
    json_object_object_get_ex(old, "updated_ms", &t);
    return u->time_ms >= (uint64_t)json_object_get_int64(t);
}

/* The view of the tiers below: each case's newest status at each node. */
static int s_list_below(gr_http_req_t *req, const s_filter_t *f, json_object *rows, size_t *n)
{
    const gr_config_t *cfg = gr_http_req_config(req);
    if (!cfg->n_children)
        return 0;
    char token[GR_PAGE_TOKEN_MAX] = "";
    do {
        Gridrelay__ListView list = GRIDRELAY__LIST_VIEW__INIT;
        list.node_id = f->node ? (char *)f->node : "";
        list.limit = S_PAGE;
        list.page_token = token;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_LIST_VIEW;
        body.list_view = &list;
        gr_opened_t reply = {0};
        if (gr_http_view_call(req, &body, GRIDRELAY__BODY__KIND_VIEW_PAGE, &reply) != 0)
            return -1;
        const Gridrelay__ViewPage *page = reply.body->view_page;
        for (size_t i = 0; i < page->n_updates && *n < S_MAX_ROWS; i++) {
            const Gridrelay__StatusUpdate *u = page->updates[i];
            /* A case is listed once, where it is held: a node below that
             * passed it up says "escalated", and the node it went to (this
             * one, or one below too) has the row. */
            bool passed_up = u->status == GRIDRELAY__STATUS__ESCALATED;
            if (!u->event_id || passed_up || !s_status_matches(f->status, u->status) ||
                !s_category_matches(f->category, u->category) ||
                (f->severity && (int)u->severity != f->severity) || u->time_ms < f->from_ms ||
                (f->level && s_level_of(cfg, u->node_id) != f->level))
                continue;
            json_object *old = NULL;
            if (json_object_object_get_ex(rows, u->event_id, &old) && !s_below_wins(old, u))
                continue;
            if (!old)
                (*n)++;
            json_object_object_add(rows, u->event_id, s_row_below(cfg, u));
        }
        snprintf(token, sizeof token, "%s", page->next_page_token ? page->next_page_token : "");
        gr_opened_clear(&reply);
    } while (*token && *n < S_MAX_ROWS);
    return 0;
}

static int s_newest_first(const void *a, const void *b)
{
    json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b, *vx, *vy;
    json_object_object_get_ex(x, "updated_ms", &vx);
    json_object_object_get_ex(y, "updated_ms", &vy);
    int64_t tx = json_object_get_int64(vx), ty = json_object_get_int64(vy);
    return tx < ty ? 1 : tx > ty ? -1 : 0;
}

static void s_cases(gr_http_req_t *req, void *ctx)
{
    (void)ctx;
    s_filter_t f;
    if (!s_filter(req, &f))
        return;
    json_object *rows = json_object_new_object();
    size_t n = 0;
    if ((f.here && s_list_here(req, &f, rows, &n) != 0) ||
        (f.below && s_list_below(req, &f, rows, &n) != 0)) {
        json_object_put(rows);
        return;
    }
    /* The cursor is the newest change seen: the next poll asks from it
     * (at or after, so two changes in the same millisecond are not lost;
     * the page replaces rows by id). */
    uint64_t cursor = f.since;
    json_object *list = json_object_new_array();
    json_object_object_foreach(rows, id, row) {
        (void)id;
        json_object *t = NULL;
        json_object_object_get_ex(row, "updated_ms", &t);
        uint64_t updated = (uint64_t)json_object_get_int64(t);
        if (updated > cursor)
            cursor = updated;
        if (updated >= f.since)
            json_object_array_add(list, json_object_get(row));
    }
    json_object_array_sort(list, s_newest_first);
    json_object *out = json_object_new_object();
    gr_http_view_str(out, "node", gr_http_req_config(req)->node_id);
    json_object_object_add(out, "cases", list);
    gr_http_view_u64(out, "cursor", cursor);
    json_object_object_add(out, "partial", json_object_new_boolean(n >= S_MAX_ROWS));
    json_object_object_add(out, "changes_only", json_object_new_boolean(f.since > 0));
    json_object_put(rows);
    gr_http_reply_json(req, 200, out);
}

/* ---- one case ---- */

static json_object *s_timeline(const Gridrelay__EventDetail *d)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < d->n_timeline; i++) {
        const Gridrelay__TimelineEntry *t = d->timeline[i];
        json_object *e = json_object_new_object();
        json_object_object_add(e, "seq", json_object_new_int((int)t->seq));
        gr_http_view_u64(e, "time_ms", t->time_ms);
        gr_http_view_str(e, "actor", t->actor_name);
        gr_http_view_str(e, "unit", t->unit);
        gr_http_view_str(e, "action", gr_case_action_name(t->action));
        gr_http_view_str(e, "from", gr_case_status_name(t->from_status));
        gr_http_view_str(e, "to", gr_case_status_name(t->to_status));
        gr_http_view_str(e, "reason", t->reason);
        if (t->deadline_ms)
            gr_http_view_u64(e, "deadline_ms", t->deadline_ms);
        json_object_object_add(e, "hash", gr_http_view_hex(t->hash.data, t->hash.len));
        json_object_array_add(arr, e);
    }
    return arr;
}

/* The signed path, each hop checked against its signer here (the node
 * checked them when the case arrived; the page shows the proof again). */
static json_object *s_hops(const Gridrelay__EventDetail *d)
{
    json_object *arr = json_object_new_array();
    const uint8_t *digest =
        d->origin_digest.len == GR_HOP_DIGEST_BYTES ? d->origin_digest.data : NULL;
    for (size_t i = 0; i < d->n_hops; i++) {
        const Gridrelay__Hop *h = d->hops[i];
        json_object *e = json_object_new_object();
        gr_http_view_str(e, "node", h->node_id);
        json_object_object_add(e, "tier", json_object_new_int((int)h->tier_level));
        gr_http_view_str(e, "reason", h->reason);
        gr_http_view_u64(e, "time_ms", h->time_ms);
        json_object_object_add(e, "supervise", json_object_new_boolean(h->supervise));
        json_object_object_add(e, "signer", gr_http_view_hex(h->signer.data, h->signer.len));
        json_object_object_add(e, "signature",
                               gr_http_view_hex(h->signature.data, h->signature.len));
        json_object_object_add(e, "verified",
                               json_object_new_boolean(gr_hop_verify_digest(h, d->event->id, digest) == 0));
        json_object_array_add(arr, e);
    }
    return arr;
}

static json_object *s_strings(char **items, size_t n)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(arr, json_object_new_string(items[i] ? items[i] : ""));
    return arr;
}

static json_object *s_detail(const gr_config_t *cfg, const Gridrelay__EventDetail *d)
{
    const Gridrelay__Event *ev = d->event;
    json_object *out = json_object_new_object();
    gr_http_view_str(out, "id", ev->id);
    gr_http_view_str(out, "title", ev->title);
    gr_http_view_str(out, "description", ev->description);
    gr_http_view_str(out, "category", ev->category);
    const gr_category_t *c = gr_catalogue_find(cfg->catalogue, ev->category);
    gr_http_view_str(out, "category_name", c ? c->name : "");
    gr_http_view_str(out, "severity", gr_http_view_severity(ev->severity));
    gr_http_view_str(out, "status", gr_case_status_name(d->status));
    gr_http_view_str(out, "origin", ev->origin_node);
    gr_http_view_str(out, "reporter", ev->reporter);
    gr_http_view_u64(out, "created_ms", ev->created_ms);
    gr_http_view_u64(out, "received_ms", d->received_ms);
    gr_http_view_u64(out, "updated_ms", d->updated_ms);
    gr_http_view_str(out, "holder", d->holder);
    gr_http_view_str(out, "dept", d->dept);
    json_object_object_add(out, "co_depts", s_strings(d->co_depts, d->n_co_depts));
    gr_http_view_str(out, "result", d->result);
    json_object_object_add(out, "below", json_object_new_boolean(d->below));
    gr_http_view_str(out, "held_at", d->below ? d->held_at : cfg->node_id);
    gr_http_view_str(out, "merged_into", d->merged_into);
    json_object_object_add(out, "merged", s_strings(d->merged, d->n_merged));
    gr_http_view_str(out, "candidate_of", d->candidate_of);
    const Gridrelay__Location *loc = ev->location;
    json_object *where = json_object_new_object();
    gr_http_view_str(where, "grid", loc ? loc->grid_code : "");
    gr_http_view_str(where, "address", loc ? loc->address : "");
    if (loc && loc->has_coordinates) {
        json_object_object_add(where, "lat", json_object_new_double(loc->lat));
        json_object_object_add(where, "lon", json_object_new_double(loc->lon));
    }
    json_object_object_add(out, "location", where);
    json_object_object_add(out, "timeline", s_timeline(d));
    json_object_object_add(out, "path", s_hops(d));
    return out;
}

static void s_case(gr_http_req_t *req, void *ctx)
{
    (void)ctx;
    const char *id = gr_http_req_tail(req);
    if (!gr_event_id_valid(id)) {
        gr_http_reply_error(req, GR_HTTP_E_NOT_FOUND, "no such case: /api/cases/{26-character id}");
        return;
    }
    Gridrelay__GetEvent get = GRIDRELAY__GET_EVENT__INIT;
    get.event_id = (char *)id;
    get.below = true;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_EVENT;
    body.get_event = &get;
    gr_opened_t reply = {0};
    if (gr_http_view_call(req, &body, GRIDRELAY__BODY__KIND_EVENT_DETAIL, &reply) != 0)
        return;
    if (!reply.body->event_detail->event) {
        gr_opened_clear(&reply);
        gr_http_reply_error(req, GR_HTTP_E_NODE_REFUSED, "the node sent a case without its event");
        return;
    }
    gr_http_reply_json(req, 200, s_detail(gr_http_req_config(req), reply.body->event_detail));
    gr_opened_clear(&reply);
}

/* ---- actions ---- */

static const struct {
    const char *name;
    Gridrelay__CaseAction__Kind kind;
    const char *needs_target;   /* NULL: no target */
} s_actions[] = {
    {"accept", GRIDRELAY__CASE_ACTION__KIND__ACCEPT, NULL},
    {"resolve", GRIDRELAY__CASE_ACTION__KIND__RESOLVE, NULL},
    {"escalate", GRIDRELAY__CASE_ACTION__KIND__ESCALATE, NULL},
    {"assign", GRIDRELAY__CASE_ACTION__KIND__ASSIGN, "assign needs target: a child node's id"},
    {"dispatch", GRIDRELAY__CASE_ACTION__KIND__DISPATCH, "dispatch needs target: a department code"},
    {"urge", GRIDRELAY__CASE_ACTION__KIND__URGE, NULL},
};
#define S_N_ACTIONS (sizeof s_actions / sizeof s_actions[0])
#define S_MAX_CO 16

/* The string at key, NULL when absent; *bad when present but no string. */
static const char *s_json_string(json_object *obj, const char *key, bool *bad)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
        return NULL;
    if (!json_object_is_type(v, json_type_string)) {
        *bad = true;
        return NULL;
    }
    return json_object_get_string(v);
}

static void s_act(gr_http_req_t *req, const char *id, json_object *in)
{
    bool bad = false;
    const char *name = s_json_string(in, "action", &bad);
    const char *text = s_json_string(in, "text", &bad);
    const char *target = s_json_string(in, "target", &bad);
    size_t i = 0;
    while (name && i < S_N_ACTIONS && strcmp(s_actions[i].name, name) != 0)
        i++;
    json_object *co = NULL;
    json_object_object_get_ex(in, "co", &co);
    char *co_items[S_MAX_CO];
    size_t n_co = 0;
    const char *why = NULL;
    if (bad)
        why = "action, text and target are strings";
    else if (!name || i == S_N_ACTIONS)
        why = "action: accept, escalate, assign, dispatch, resolve or urge";
    else if (s_actions[i].needs_target && (!target || !*target))
        why = s_actions[i].needs_target;
    else if (co && (!json_object_is_type(co, json_type_array) ||
                    json_object_array_length(co) > S_MAX_CO))
        why = "co: an array of at most 16 department codes";
    for (size_t k = 0; !why && co && k < json_object_array_length(co); k++) {
        json_object *item = json_object_array_get_idx(co, k);
        if (!json_object_is_type(item, json_type_string))
            why = "co: an array of department codes (strings)";
        else
            co_items[n_co++] = (char *)json_object_get_string(item);
    }
    if (why) {
        gr_http_reply_error(req, GR_HTTP_E_BAD_REQUEST, why);
        return;
    }
    Gridrelay__CaseAction ca = GRIDRELAY__CASE_ACTION__INIT;
    ca.event_id = (char *)id;
    ca.kind = s_actions[i].kind;
    ca.text = (char *)(text ? text : "");
    ca.target = (char *)(s_actions[i].needs_target && target ? target : "");
    ca.co = co_items;
    ca.n_co = s_actions[i].kind == GRIDRELAY__CASE_ACTION__KIND__DISPATCH ? n_co : 0;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_CASE_ACTION;
    body.case_action = &ca;
    gr_opened_t reply = {0};
    if (gr_http_view_call(req, &body, GRIDRELAY__BODY__KIND_ACK, &reply) != 0)
        return;
    json_object *out = json_object_new_object();
    gr_http_view_str(out, "id", reply.body->ack->event_id);
    gr_http_view_str(out, "action", name);
    gr_http_view_str(out, "status", gr_case_status_name(reply.body->ack->status));
    gr_http_view_str(out, "by", gr_http_req_user(req));
    json_object_object_add(out, "duplicate", json_object_new_boolean(reply.body->ack->duplicate));
    gr_opened_clear(&reply);
    gr_http_reply_json(req, 200, out);
}

static void s_action(gr_http_req_t *req, void *ctx)
{
    (void)ctx;
    const char *tail = gr_http_req_tail(req);
    const char *slash = strchr(tail, '/');
    char id[GR_EVENT_ID_LEN + 1];
    size_t id_len = slash ? (size_t)(slash - tail) : 0;
    if (!slash || strcmp(slash, "/actions") != 0 || id_len != GR_EVENT_ID_LEN) {
        gr_http_reply_error(req, GR_HTTP_E_NOT_FOUND, "actions are POST /api/cases/{id}/actions");
        return;
    }
    memcpy(id, tail, id_len);
    id[id_len] = '\0';
    if (!gr_event_id_valid(id)) {
        gr_http_reply_error(req, GR_HTTP_E_NOT_FOUND, "no such case: the id is malformed");
        return;
    }
    size_t len = 0;
    const char *text = gr_http_req_body(req, &len);
    json_object *in = len ? json_tokener_parse(text) : NULL;
    if (!in || !json_object_is_type(in, json_type_object))
        gr_http_reply_error(req, GR_HTTP_E_BAD_REQUEST,
                            "the body is a JSON object: {\"action\": ..., \"text\": ...}");
    else
        s_act(req, id, in);
    json_object_put(in);
}

int gr_http_view_register(gr_http_t *http)
{
    int rc;
    if ((rc = gr_http_route(http, "GET", "/api/cases", GR_HTTP_VIEWER, s_cases, NULL)) != 0 ||
        (rc = gr_http_route(http, "GET", "/api/cases/*", GR_HTTP_VIEWER, s_case, NULL)) != 0 ||
        (rc = gr_http_route(http, "POST", "/api/cases/*", GR_HTTP_OPERATOR, s_action, NULL)) != 0 ||
        (rc = gr_http_view_lists_register(http)) != 0)
        return rc;
    return gr_http_web_register(http);
}
