#include "http_view_lists.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cases.h"
#include "clock.h"
#include "error.h"
#include "supervise.h"
#include "wire.h"

#define S_LIST_LIMIT 200
#define S_MAP_PAGE 100
#define S_MAP_MAX 1000
#define S_TASKS_LIMIT 200

/* ---- this node ---- */

static void s_node(gr_http_req_t *req, void *ctx)
{
    (void)ctx;
    const gr_config_t *cfg = gr_http_req_config(req);
    json_object *out = json_object_new_object();
    gr_http_view_str(out, "id", cfg->node_id);
    gr_http_view_str(out, "tier", cfg->tier_name);
    json_object_object_add(out, "level", json_object_new_int(cfg->tier_level));
    gr_http_view_str(out, "parent", cfg->has_parent ? cfg->parent.id : "");
    json_object *children = json_object_new_array();
    for (size_t i = 0; i < cfg->n_children; i++)
        json_object_array_add(children, json_object_new_string(cfg->children[i].id));
    json_object_object_add(out, "children", children);
    json_object *depts = json_object_new_array();
    for (size_t i = 0; i < cfg->n_depts; i++) {
        json_object *d = json_object_new_object();
        gr_http_view_str(d, "code", cfg->depts[i].code);
        gr_http_view_str(d, "name", cfg->depts[i].name);
        json_object_array_add(depts, d);
    }
    json_object_object_add(out, "departments", depts);
    gr_http_view_str(out, "user", gr_http_req_user(req));
    gr_http_view_str(out, "role",
                     gr_http_req_roles(req) & GR_ACCESS_OPERATOR ? "operator" : "viewer");
    gr_http_view_u64(out, "now_ms", gr_clock_now_ms());
    gr_http_reply_json(req, 200, out);
}

/* ---- supervision (督办) ---- */

static void s_supervision(gr_http_req_t *req, void *ctx)
{
    (void)ctx;
    Gridrelay__ListSupervision ls = GRIDRELAY__LIST_SUPERVISION__INIT;
    ls.limit = S_LIST_LIMIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_LIST_SUPERVISION;
    body.list_supervision = &ls;
    gr_opened_t reply = {0};
    if (gr_http_view_call(req, &body, GRIDRELAY__BODY__KIND_SUPERVISION_PAGE, &reply) != 0)
        return;
    const Gridrelay__SupervisionPage *page = reply.body->supervision_page;
    json_object *items = json_object_new_array();
    for (size_t i = 0; i < page->n_items; i++) {
        const Gridrelay__SupervisionItem *it = page->items[i];
        json_object *o = json_object_new_object();
        gr_http_view_str(o, "kind", gr_overdue_name((gr_overdue_t)it->kind));
        gr_http_view_str(o, "id", it->event_id);
        gr_http_view_str(o, "category", it->category);
        gr_http_view_str(o, "title", it->title);
        gr_http_view_str(o, "node", it->node_id);
        gr_http_view_str(o, "holder", it->holder);
        gr_http_view_u64(o, "late_ms", it->late_ms);
        json_object_object_add(o, "urges", json_object_new_int((int)it->urges));
        json_object_object_add(o, "returns", json_object_new_int((int)it->returns));
        gr_http_view_str(o, "status", gr_case_status_name(it->status));
        gr_http_view_str(o, "severity", gr_http_view_severity(it->severity));
        json_object_array_add(items, o);
    }
    json_object *out = json_object_new_object();
    json_object_object_add(out, "items", items);
    json_object_object_add(out, "more", json_object_new_boolean(page->more));
    gr_http_view_u64(out, "now_ms", page->now_ms);
    gr_opened_clear(&reply);
    gr_http_reply_json(req, 200, out);
}

/* ---- daily reports (日报告) ---- */

static const char *s_unit_state(int state)
{
    static const char *const names[] = {"unspecified", "on_time", "late", "missing", "pending"};
    return state >= 0 && state <= 4 ? names[state] : "unknown";
}

static bool s_is_date(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = s ? strptime(s, "%Y-%m-%d", &tm) : NULL;
    return end && !*end && strlen(s) == 10;
}

static void s_daily(gr_http_req_t *req, void *ctx)
{
    (void)ctx;
    const char *date = gr_http_req_query(req, "date");
    if (date && *date && !s_is_date(date)) {
        gr_http_reply_error(req, GR_HTTP_E_BAD_REQUEST, "date: YYYY-MM-DD");
        return;
    }
    Gridrelay__ListDaily ld = GRIDRELAY__LIST_DAILY__INIT;
    ld.date = (char *)(date ? date : "");
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_LIST_DAILY;
    body.list_daily = &ld;
    gr_opened_t reply = {0};
    if (gr_http_view_call(req, &body, GRIDRELAY__BODY__KIND_DAILY_PAGE, &reply) != 0)
        return;
    const Gridrelay__DailyPage *page = reply.body->daily_page;
    json_object *nodes = json_object_new_array();
    for (size_t i = 0; i < page->n_nodes; i++) {
        const Gridrelay__DailySummary *s = page->nodes[i];
        json_object *o = json_object_new_object();
        gr_http_view_str(o, "node", s->node_id);
        json_object_object_add(o, "tier", json_object_new_int((int)s->tier_level));
        json_object_object_add(o, "closed", json_object_new_boolean(s->closed));
        gr_http_view_u64(o, "due_ms", s->due_ms);
        json_object_object_add(o, "units", json_object_new_int((int)s->units));
        json_object_object_add(o, "on_time", json_object_new_int((int)s->on_time));
        json_object_object_add(o, "late", json_object_new_int((int)s->late));
        json_object_object_add(o, "missing", json_object_new_int((int)s->missing));
        json_object_object_add(o, "pending", json_object_new_int((int)s->pending));
        json_object *units = json_object_new_array();
        for (size_t k = 0; k < s->n_exceptions; k++) {
            const Gridrelay__DailyUnit *u = s->exceptions[k];
            json_object *uo = json_object_new_object();
            gr_http_view_str(uo, "unit", u->unit);
            gr_http_view_str(uo, "state", s_unit_state(u->state));
            gr_http_view_u64(uo, "late_ms", u->late_ms);
            json_object_object_add(uo, "reports", json_object_new_int((int)u->reports));
            json_object_array_add(units, uo);
        }
        json_object_object_add(o, "units_listed", units);
        json_object_array_add(nodes, o);
    }
    json_object *silent = json_object_new_array();
    for (size_t i = 0; i < page->n_silent; i++)
        json_object_array_add(silent, json_object_new_string(page->silent[i]));
    json_object *out = json_object_new_object();
    gr_http_view_str(out, "date", page->date);
    json_object_object_add(out, "nodes", nodes);
    json_object_object_add(out, "silent", silent);
    json_object_object_add(out, "more", json_object_new_boolean(page->more));
    gr_opened_clear(&reply);
    gr_http_reply_json(req, 200, out);
}

/* ---- ranking (考核) ---- */

/* The week (from Monday), month or quarter holding now_ms, in UTC (the
 * node's clock; gridctl rank uses the operator's TZ). */
static int s_period(const char *name, uint64_t now_ms, uint64_t *from, uint64_t *to)
{
    time_t now = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&now, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    struct tm end;
    if (!name || !*name || strcmp(name, "month") == 0) {
        tm.tm_mday = 1;
        end = tm;
        end.tm_mon++;
    } else if (strcmp(name, "quarter") == 0) {
        tm.tm_mday = 1;
        tm.tm_mon -= tm.tm_mon % 3;
        end = tm;
        end.tm_mon += 3;
    } else if (strcmp(name, "week") == 0) {
        tm.tm_mday -= (tm.tm_wday + 6) % 7;
        end = tm;
        end.tm_mday += 7;
    } else {
        return -1;
    }
    *from = (uint64_t)timegm(&tm) * 1000;
    *to = (uint64_t)timegm(&end) * 1000;
    return 0;
}

static void s_ranking(gr_http_req_t *req, void *ctx)
{
    (void)ctx;
    const char *by = gr_http_req_query(req, "by");
    Gridrelay__GetRanking gr = GRIDRELAY__GET_RANKING__INIT;
    if (s_period(gr_http_req_query(req, "period"), gr_clock_now_ms(), &gr.from_ms, &gr.to_ms) != 0) {
        gr_http_reply_error(req, GR_HTTP_E_BAD_REQUEST, "period: week, month or quarter");
        return;
    }
    if (by && *by && strcmp(by, "node") != 0 && strcmp(by, "department") != 0) {
        gr_http_reply_error(req, GR_HTTP_E_BAD_REQUEST, "by: node or department");
        return;
    }
    gr.by = by && strcmp(by, "department") == 0 ? GRIDRELAY__GET_RANKING__BY__DEPARTMENT
                                                : GRIDRELAY__GET_RANKING__BY__NODE;
    gr.limit = S_LIST_LIMIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_RANKING;
    body.get_ranking = &gr;
    gr_opened_t reply = {0};
    if (gr_http_view_call(req, &body, GRIDRELAY__BODY__KIND_RANKING, &reply) != 0)
        return;
    const Gridrelay__Ranking *r = reply.body->ranking;
    json_object *units = json_object_new_array();
    for (size_t i = 0; i < r->n_units; i++) {
        const Gridrelay__UnitFigures *u = r->units[i];
        json_object *o = json_object_new_object();
        gr_http_view_str(o, "unit", u->unit);
        json_object_object_add(o, "rank", json_object_new_int((int)u->rank));
        json_object_object_add(o, "score", json_object_new_double(u->score));
        gr_http_view_u64(o, "received", u->received);
        gr_http_view_u64(o, "accept_judged", u->accept_judged);
        gr_http_view_u64(o, "accepted_on_time", u->accepted_on_time);
        gr_http_view_u64(o, "resolve_judged", u->resolve_judged);
        gr_http_view_u64(o, "resolved_on_time", u->resolved_on_time);
        gr_http_view_u64(o, "resolved", u->resolved);
        gr_http_view_u64(o, "first_time", u->first_time);
        gr_http_view_u64(o, "fed_back", u->fed_back);
        gr_http_view_u64(o, "overdue", u->overdue);
        gr_http_view_u64(o, "returns", u->returns);
        gr_http_view_u64(o, "urges", u->urges);
        gr_http_view_u64(o, "avg_handling_ms", u->avg_handling_ms);
        gr_http_view_u64(o, "daily_on_time", u->daily_on_time);
        gr_http_view_u64(o, "daily_late", u->daily_late);
        gr_http_view_u64(o, "daily_missing", u->daily_missing);
        json_object_array_add(units, o);
    }
    json_object *out = json_object_new_object();
    gr_http_view_u64(out, "from_ms", r->from_ms);
    gr_http_view_u64(out, "to_ms", r->to_ms);
    gr_http_view_str(out, "by", by && *by ? by : "node");
    json_object_object_add(out, "units", units);
    json_object_object_add(out, "total", json_object_new_int((int)r->total));
    gr_opened_clear(&reply);
    gr_http_reply_json(req, 200, out);
}

/* ---- department queues ---- */

static json_object *s_task(const Gridrelay__Task *t)
{
    json_object *o = json_object_new_object();
    gr_http_view_str(o, "id", t->event_id);
    json_object_object_add(o, "lead", json_object_new_boolean(t->lead));
    gr_http_view_str(o, "state", t->state == GRIDRELAY__TASK_STATE__TASK_CLAIMED ? "claimed"
                                                                              : "open");
    gr_http_view_str(o, "title", t->event ? t->event->title : "");
    gr_http_view_str(o, "category", t->event ? t->event->category : "");
    gr_http_view_str(o, "severity", gr_http_view_severity(t->event ? t->event->severity : 0));
    gr_http_view_u64(o, "dispatched_ms", t->dispatched_ms);
    gr_http_view_u64(o, "claimed_ms", t->claimed_ms);
    gr_http_view_u64(o, "due_ms", t->due_ms);
    json_object_object_add(o, "urged", json_object_new_int((int)t->urged));
    gr_http_view_str(o, "reason", t->reason);
    return o;
}

static void s_departments(gr_http_req_t *req, void *ctx)
{
    (void)ctx;
    const gr_config_t *cfg = gr_http_req_config(req);
    json_object *depts = json_object_new_array();
    for (size_t i = 0; i < cfg->n_depts; i++) {
        Gridrelay__ListTasks lt = GRIDRELAY__LIST_TASKS__INIT;
        lt.dept = (char *)cfg->depts[i].code;
        lt.limit = S_TASKS_LIMIT;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_LIST_TASKS;
        body.list_tasks = &lt;
        gr_opened_t reply = {0};
        if (gr_http_view_call(req, &body, GRIDRELAY__BODY__KIND_TASK_LIST, &reply) != 0) {
            json_object_put(depts);
            return;
        }
        const Gridrelay__TaskList *list = reply.body->task_list;
        json_object *d = json_object_new_object(), *tasks = json_object_new_array();
        gr_http_view_str(d, "code", cfg->depts[i].code);
        gr_http_view_str(d, "name", cfg->depts[i].name);
        unsigned open = 0, claimed = 0;
        for (size_t k = 0; k < list->n_tasks; k++) {
            json_object_array_add(tasks, s_task(list->tasks[k]));
            if (list->tasks[k]->state == GRIDRELAY__TASK_STATE__TASK_CLAIMED)
                claimed++;
            else
                open++;
        }
        json_object_object_add(d, "open", json_object_new_int((int)open));
        json_object_object_add(d, "claimed", json_object_new_int((int)claimed));
        json_object_object_add(d, "more", json_object_new_boolean(list->more));
        json_object_object_add(d, "tasks", tasks);
        json_object_array_add(depts, d);
        gr_opened_clear(&reply);
    }
    json_object *out = json_object_new_object();
    json_object_object_add(out, "departments", depts);
    gr_http_reply_json(req, 200, out);
}

/* ---- map points ---- */

static void s_map(gr_http_req_t *req, void *ctx)
{
    (void)ctx;
    json_object *points = json_object_new_array();
    double min_lat = 90, max_lat = -90, min_lon = 180, max_lon = -180;
    size_t n = 0;
    char token[GR_PAGE_TOKEN_MAX] = "";
    do {
        Gridrelay__ListEvents list = GRIDRELAY__LIST_EVENTS__INIT;
        list.limit = S_MAP_PAGE;
        list.page_token = token;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_LIST_EVENTS;
        body.list_events = &list;
        gr_opened_t reply = {0};
        if (gr_http_view_call(req, &body, GRIDRELAY__BODY__KIND_EVENT_PAGE, &reply) != 0) {
            json_object_put(points);
            return;
        }
        const Gridrelay__EventPage *page = reply.body->event_page;
        for (size_t i = 0; i < page->n_events && n < S_MAP_MAX; i++) {
            const Gridrelay__EventSummary *e = page->events[i];
            const Gridrelay__Location *loc = e->location;
            if (!loc || !loc->has_coordinates)
                continue;
            json_object *p = json_object_new_object();
            gr_http_view_case_fields(p, e);
            gr_http_view_str(p, "grid", loc->grid_code);
            json_object_object_add(p, "lat", json_object_new_double(loc->lat));
            json_object_object_add(p, "lon", json_object_new_double(loc->lon));
            json_object_object_add(p, "open", json_object_new_boolean(gr_case_open(e->status)));
            json_object_array_add(points, p);
            min_lat = loc->lat < min_lat ? loc->lat : min_lat;
            max_lat = loc->lat > max_lat ? loc->lat : max_lat;
            min_lon = loc->lon < min_lon ? loc->lon : min_lon;
            max_lon = loc->lon > max_lon ? loc->lon : max_lon;
            n++;
        }
        snprintf(token, sizeof token, "%s", page->next_page_token ? page->next_page_token : "");
        gr_opened_clear(&reply);
    } while (*token && n < S_MAP_MAX);
    /* The outlines of [map], under the points; the box holds both. */
    const gr_map_config_t *mc = &gr_http_req_config(req)->map;
    json_object *outlines = json_object_new_array();
    for (size_t i = 0; i < mc->n; i++) {
        const gr_map_outline_t *o = &mc->outlines[i];
        json_object *obj = json_object_new_object(), *corners = json_object_new_array();
        gr_http_view_str(obj, "name", o->name);
        for (size_t k = 0; k < o->n; k++) {
            json_object *c = json_object_new_array();
            json_object_array_add(c, json_object_new_double(o->lat[k]));
            json_object_array_add(c, json_object_new_double(o->lon[k]));
            json_object_array_add(corners, c);
            min_lat = o->lat[k] < min_lat ? o->lat[k] : min_lat;
            max_lat = o->lat[k] > max_lat ? o->lat[k] : max_lat;
            min_lon = o->lon[k] < min_lon ? o->lon[k] : min_lon;
            max_lon = o->lon[k] > max_lon ? o->lon[k] : max_lon;
        }
        json_object_object_add(obj, "corners", corners);
        json_object_array_add(outlines, obj);
    }
    json_object *out = json_object_new_object();
    json_object_object_add(out, "points", points);
    json_object_object_add(out, "outlines", outlines);
    if (n || mc->n) {
        json_object *box = json_object_new_object();
        json_object_object_add(box, "min_lat", json_object_new_double(min_lat));
        json_object_object_add(box, "max_lat", json_object_new_double(max_lat));
        json_object_object_add(box, "min_lon", json_object_new_double(min_lon));
        json_object_object_add(box, "max_lon", json_object_new_double(max_lon));
        json_object_object_add(out, "bbox", box);
    }
    json_object_object_add(out, "partial", json_object_new_boolean(n >= S_MAP_MAX));
    gr_http_reply_json(req, 200, out);
}

int gr_http_view_lists_register(gr_http_t *http)
{
    int rc;
    if ((rc = gr_http_route(http, "GET", "/api/node", GR_HTTP_VIEWER, s_node, NULL)) != 0 ||
        (rc = gr_http_route(http, "GET", "/api/supervision", GR_HTTP_VIEWER, s_supervision,
                            NULL)) != 0 ||
        (rc = gr_http_route(http, "GET", "/api/daily", GR_HTTP_VIEWER, s_daily, NULL)) != 0 ||
        (rc = gr_http_route(http, "GET", "/api/ranking", GR_HTTP_VIEWER, s_ranking, NULL)) != 0 ||
        (rc = gr_http_route(http, "GET", "/api/departments", GR_HTTP_VIEWER, s_departments,
                            NULL)) != 0)
        return rc;
    return gr_http_route(http, "GET", "/api/map", GR_HTTP_VIEWER, s_map, NULL);
}
