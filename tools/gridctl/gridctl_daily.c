/* gridctl daily: the day's daily reports (日报告、零报告) of every unit at
 * this node and below it. */
#include <stddef.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gridctl.h"

typedef struct {
    const char *date;
    bool missing, csv, below_limited;
    uint64_t tier_below;
} s_daily_values_t;

static const gridctl_opt_t s_daily_options[] = {
    { .kind = GRIDCTL_OPT_STRING, .name = "date", .arg = "D",
      .offset = offsetof(s_daily_values_t, date),
      .help = "the day, YYYY-MM-DD in the nodes' [daily] timezone\n(default: today at this node)" },
    { .kind = GRIDCTL_OPT_FLAG, .name = "missing", .offset = offsetof(s_daily_values_t, missing),
      .help = "list only the units missing that day" },
    { .kind = GRIDCTL_OPT_U64, .name = "tier-below", .arg = "N", .max = 16,
      .offset = offsetof(s_daily_values_t, tier_below),
      .seen = GRIDCTL_SEEN(s_daily_values_t, below_limited),
      .help = "only nodes at most N tiers below this one (0: this\n"
              "node only; default: every tier below; at most 16)" },
    { .kind = GRIDCTL_OPT_FLAG, .name = "csv", .offset = offsetof(s_daily_values_t, csv),
      .help = "one line per unit listed: date,node,tier,unit,state,\n"
              "late_ms,first_report,reports,event_id" },
    { .kind = GRIDCTL_OPT_END },
};

static const gridctl_cmd_t s_daily_cmd = {
    .name = "daily",
    .synopsis = "[--date YYYY-MM-DD] [--missing] [--tier-below N] [--json|--csv] [OPTIONS]",
    .about =
"Shows the daily reports of one day: for this node, every unit that owes one\n"
"([daily] units: grid worker keys, or the node as one unit) with its state;\n"
"for each node below it, what that node's summary says: its counts and its\n"
"late and missing units by name (units on time below this node are counted,\n"
"not listed, so that a district receives one small summary per node a day).\n"
"\n"
"States: on_time (reported by the due time), late (reported after it the same\n"
"day; how late is shown), missing (nothing, and the due time has passed),\n"
"pending (nothing yet, not yet due). Any report by the unit counts, a zero\n"
"report (DAILY.SAFE, 'all safe') or a real one. A late report clears\n"
"'missing' and stays counted as late. A node's day is closed when its due time\n"
"passes; its summary then travels up the tier links (kept in the outbox over\n"
"outages), and again whenever a late report changes it. Children listed as\n"
"'no summary' sent nothing for a day that is due: down, or not tracking.\n",
    .options = s_daily_options,
    .connect = true,
    .examples = "gridctl daily --missing\ngridctl daily --date 2026-12-01 --tier-below 1 --csv",
};

static const char *s_state(int state)
{
    switch (state) {
    case GRIDRELAY__DAILY_UNIT__STATE__ON_TIME: return "on_time";
    case GRIDRELAY__DAILY_UNIT__STATE__LATE: return "late";
    case GRIDRELAY__DAILY_UNIT__STATE__MISSING: return "missing";
    case GRIDRELAY__DAILY_UNIT__STATE__PENDING: return "pending";
    default: return "unknown";
    }
}

static void s_hms(char *out, size_t cap, uint64_t ms)
{
    uint64_t s = ms / 1000;
    snprintf(out, cap, "%02llu:%02llu:%02llu", (unsigned long long)(s / 3600),
             (unsigned long long)(s % 3600 / 60), (unsigned long long)(s % 60));
}

static void s_print_json(const Gridrelay__DailyPage *page)
{
    json_object *root = json_object_new_object();
    json_object_object_add(root, "date", json_object_new_string(page->date));
    json_object_object_add(root, "now_ms", json_object_new_int64((int64_t)page->now_ms));
    json_object *nodes = json_object_new_array();
    for (size_t i = 0; i < page->n_nodes; i++) {
        const Gridrelay__DailySummary *s = page->nodes[i];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "node", json_object_new_string(s->node_id));
        json_object_object_add(o, "tier_level", json_object_new_int((int)s->tier_level));
        json_object_object_add(o, "version", json_object_new_int64(s->version));
        json_object_object_add(o, "closed", json_object_new_boolean(s->closed));
        json_object_object_add(o, "due_ms", json_object_new_int64((int64_t)s->due_ms));
        json_object_object_add(o, "units", json_object_new_int64(s->units));
        json_object_object_add(o, "on_time", json_object_new_int64(s->on_time));
        json_object_object_add(o, "late", json_object_new_int64(s->late));
        json_object_object_add(o, "missing", json_object_new_int64(s->missing));
        json_object_object_add(o, "pending", json_object_new_int64(s->pending));
        json_object *units = json_object_new_array();
        for (size_t j = 0; j < s->n_exceptions; j++) {
            const Gridrelay__DailyUnit *u = s->exceptions[j];
            json_object *x = json_object_new_object();
            json_object_object_add(x, "unit", json_object_new_string(u->unit));
            json_object_object_add(x, "state", json_object_new_string(s_state(u->state)));
            json_object_object_add(x, "late_ms", json_object_new_int64((int64_t)u->late_ms));
            json_object_object_add(x, "first_ms", json_object_new_int64((int64_t)u->first_ms));
            json_object_object_add(x, "reports", json_object_new_int64(u->reports));
            json_object_object_add(x, "event_id", json_object_new_string(u->event_id));
            json_object_array_add(units, x);
        }
        json_object_object_add(o, "listed", units);
        json_object_array_add(nodes, o);
    }
    json_object_object_add(root, "nodes", nodes);
    json_object *silent = json_object_new_array();
    for (size_t i = 0; i < page->n_silent; i++)
        json_object_array_add(silent, json_object_new_string(page->silent[i]));
    json_object_object_add(root, "no_summary", silent);
    json_object_object_add(root, "more", json_object_new_boolean(page->more));
    gridctl_print_json(root);
}

static void s_print_csv(const Gridrelay__DailyPage *page)
{
    printf("date,node,tier,unit,state,late_ms,first_report,reports,event_id\n");
    for (size_t i = 0; i < page->n_nodes; i++) {
        const Gridrelay__DailySummary *s = page->nodes[i];
        for (size_t j = 0; j < s->n_exceptions; j++) {
            const Gridrelay__DailyUnit *u = s->exceptions[j];
            char first[32] = "";
            if (u->first_ms)
                gridctl_format_time(first, u->first_ms);
            /* Names and ids are [A-Za-z0-9._-] or config names without
             * commas (a [reporters] name cannot hold one: INI keys). */
            printf("%s,%s,%u,%s,%s,%llu,%s,%u,%s\n", s->date, s->node_id, s->tier_level, u->unit,
                   s_state(u->state), (unsigned long long)u->late_ms, first, u->reports,
                   u->event_id);
        }
    }
}

static void s_print_text(const Gridrelay__DailyPage *page)
{
    printf("Daily reports of %s\n\n", page->date);
    if (page->n_nodes == 0 && page->n_silent == 0) {
        printf("no daily reports tracked here or below for that day\n");
        return;
    }
    printf("%-20s %4s %6s %8s %5s %8s %8s  %s\n", "NODE", "TIER", "UNITS", "ON_TIME", "LATE",
           "MISSING", "PENDING", "DAY");
    for (size_t i = 0; i < page->n_nodes; i++) {
        const Gridrelay__DailySummary *s = page->nodes[i];
        char due[32];
        gridctl_format_time(due, s->due_ms);
        printf("%-20s %4u %6u %8u %5u %8u %8u  %s (due %s)\n", s->node_id, s->tier_level, s->units,
               s->on_time, s->late, s->missing, s->pending, s->closed ? "closed" : "open", due);
    }
    for (size_t i = 0; i < page->n_silent; i++)
        printf("%-20s %4s %6s %8s %5s %8s %8s  no summary\n", page->silent[i], "-", "-", "-",
               "-", "-", "-");
    bool header = false;
    for (size_t i = 0; i < page->n_nodes; i++) {
        const Gridrelay__DailySummary *s = page->nodes[i];
        for (size_t j = 0; j < s->n_exceptions; j++) {
            const Gridrelay__DailyUnit *u = s->exceptions[j];
            if (!header) {
                printf("\n%-20s %-20s %-8s %-9s %-24s %s\n", "UNIT", "NODE", "STATE", "LATE",
                       "FIRST REPORT", "REPORTS");
                header = true;
            }
            char late[32] = "-", first[32] = "-";
            if (u->state == GRIDRELAY__DAILY_UNIT__STATE__LATE)
                s_hms(late, sizeof late, u->late_ms);
            if (u->first_ms)
                gridctl_format_time(first, u->first_ms);
            printf("%-20s %-20s %-8s %-9s %-24s %u\n", u->unit, s->node_id, s_state(u->state),
                   late, first, u->reports);
        }
    }
    if (page->more)
        printf("\n(more nodes than fit one reply: narrow with --tier-below)\n");
}

int gridctl_daily(int argc, char **argv)
{
    gridctl_common_t common;
    s_daily_values_t v;
    memset(&v, 0, sizeof v);
    int rc = gridctl_parse(&s_daily_cmd, argc, argv, &v, &common, NULL);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
    if (v.csv && common.json)
        return gridctl_usage_error(&s_daily_cmd, "--csv or --json, not both");
    Gridrelay__ListDaily ask = GRIDRELAY__LIST_DAILY__INIT;
    if (v.date)
        ask.date = (char *)v.date;
    ask.missing_only = v.missing;
    ask.below_limited = v.below_limited;
    ask.tier_below = (uint32_t)v.tier_below;
    bool csv = v.csv;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_LIST_DAILY;
    body.list_daily = &ask;
    gr_opened_t reply;
    rc = gridctl_call_for(&common, &body, GRIDRELAY__BODY__KIND_DAILY_PAGE, &reply);
    if (rc != GRIDCTL_OK)
        return rc;
    if (common.json)
        s_print_json(reply.body->daily_page);
    else if (csv)
        s_print_csv(reply.body->daily_page);
    else
        s_print_text(reply.body->daily_page);
    gr_opened_clear(&reply);
    return GRIDCTL_OK;
}
