/* gridctl rank: the units ranked by their assessment figures (考核); and
 * gridctl stats --by: case counts over time. Both from the node's store. */
#include <stddef.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gridctl.h"

/* ---- periods, in gridctl's local time zone (TZ) ---- */

typedef enum { P_DAY, P_WEEK, P_MONTH, P_QUARTER } s_period_t;

static uint64_t s_ms(struct tm *tm)
{
    tm->tm_hour = tm->tm_min = tm->tm_sec = 0;
    tm->tm_isdst = -1;
    time_t t = mktime(tm);
    return t < 0 ? 0 : (uint64_t)t * 1000;
}

/* YYYY-MM-DD, YYYY-MM (day 1) or YYYY-Qn (first month of quarter n) into
 * tm; -1 when malformed. */
static int s_parse_date(const char *text, struct tm *tm)
{
    memset(tm, 0, sizeof *tm);
    int y, m = 1, d = 1, q;
    char tail;
    if (sscanf(text, "%4d-Q%1d%c", &y, &q, &tail) == 2 && q >= 1 && q <= 4)
        m = 3 * (q - 1) + 1;
    else if (!(sscanf(text, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3 ||
               (sscanf(text, "%4d-%2d%c", &y, &m, &tail) == 2)))
        return -1;
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    tm->tm_year = y - 1900;
    tm->tm_mon = m - 1;
    tm->tm_mday = d;
    struct tm check = *tm;
    s_ms(&check);
    return check.tm_mday == d && check.tm_mon == m - 1 ? 0 : -1;
}

/* The period of kind p containing `at` (now when NULL): [*from, *to). */
static int s_period(s_period_t p, const char *at, uint64_t *from, uint64_t *to)
{
    struct tm tm;
    if (at) {
        if (s_parse_date(at, &tm) != 0)
            return -1;
    } else {
        time_t now = time(NULL);
        localtime_r(&now, &tm);
    }
    struct tm end = tm;
    switch (p) {
    case P_DAY:
        end.tm_mday++;
        break;
    case P_WEEK: {
        struct tm norm = tm;
        s_ms(&norm);  /* fills tm_wday */
        tm.tm_mday -= (norm.tm_wday + 6) % 7;  /* back to Monday */
        end = tm;
        end.tm_mday += 7;
        break;
    }
    case P_MONTH:
        tm.tm_mday = 1;
        end = tm;
        end.tm_mon++;
        break;
    case P_QUARTER:
        tm.tm_mday = 1;
        tm.tm_mon -= tm.tm_mon % 3;
        end = tm;
        end.tm_mon += 3;
        break;
    }
    *from = s_ms(&tm);
    *to = s_ms(&end);
    return *from < *to ? 0 : -1;
}

/* --from D --to D: both days included. */
static int s_range(const char *from_text, const char *to_text, uint64_t *from, uint64_t *to)
{
    struct tm a, b;
    if (s_parse_date(from_text, &a) != 0 || s_parse_date(to_text, &b) != 0)
        return -1;
    b.tm_mday++;
    *from = s_ms(&a);
    *to = s_ms(&b);
    return *from < *to ? 0 : -1;
}

/* ---- rank ---- */

static const char *const s_period_words[] = { "day", "week", "month", "quarter", NULL };
static const char *const s_by_words[] = { "node", "department", NULL };

typedef struct {
    int period, by;
    bool has_period, csv;
    const char *at, *from, *to;
} s_rank_values_t;

static const gridctl_opt_t s_rank_options[] = {
    { .kind = GRIDCTL_OPT_CHOICE, .name = "period", .arg = "P", .choices = s_period_words,
      .offset = offsetof(s_rank_values_t, period), .seen = GRIDCTL_SEEN(s_rank_values_t, has_period),
      .help = "day, week (Monday to Sunday), month (default) or\nquarter" },
    { .kind = GRIDCTL_OPT_STRING, .name = "at", .arg = "DATE", .offset = offsetof(s_rank_values_t, at),
      .help = "the period containing DATE: YYYY-MM-DD, YYYY-MM or\nYYYY-Qn (default: today)" },
    { .kind = GRIDCTL_OPT_STRING, .name = "from", .arg = "DATE",
      .offset = offsetof(s_rank_values_t, from),
      .help = "instead of --period: from DATE (with --to)" },
    { .kind = GRIDCTL_OPT_STRING, .name = "to", .arg = "DATE", .offset = offsetof(s_rank_values_t, to),
      .help = "to DATE, both days included" },
    { .kind = GRIDCTL_OPT_CHOICE, .name = "by", .arg = "node|department", .choices = s_by_words,
      .offset = offsetof(s_rank_values_t, by), .help = "what to rank (default: node)" },
    { .kind = GRIDCTL_OPT_FLAG, .name = "csv", .offset = offsetof(s_rank_values_t, csv),
      .help = "one line per unit, comma-separated, with a header" },
    { .kind = GRIDCTL_OPT_END },
};

static const gridctl_cmd_t s_rank_cmd = {
    .name = "rank",
    .synopsis = "[--period P] [--at DATE] [--by node|department] [--csv] [OPTIONS]\n"
                "--from DATE --to DATE [--by node|department] [--csv] [OPTIONS]",
    .about =
"Ranks the units by their assessment figures (考核) for the cases they\n"
"received in a period: this node and every node below it whose status it\n"
"receives (--by node, the default), or this node's departments (--by\n"
"department, each lead department's turns at its cases). For each unit:\n"
"cases received, accepted on time %, resolved on time %, first-time\n"
"resolution % (resolved with no return), feedback rate (resolved cases\n"
"whose reporter's node has the result), overdue cases, returns, urges\n"
"received, average and p90 handling time (received to resolved, hours) and\n"
"the composite score (0-100) with the node's [assessment] weights; the\n"
"highest score first. Figures are judged as of the period's end (or now,\n"
"when earlier), so a past period gives the same figures every time.\n"
"By node, also each node's daily reports (日报告) over the days whose due\n"
"time falls in the period: on time, late and missing (DAILY_OK, DAILY_LATE,\n"
"DAILY_MISS); they are shown beside the score, not part of it.\n"
,
    .options = s_rank_options,
    .connect = true,
    .timeout_ms = 30000,   /* a month of a large district takes a while */
    .attempts = 2,
    .examples = "gridctl rank --period week --at 2026-12-01\n"
                "TZ=Asia/Shanghai gridctl rank --by department \\\n"
                "    --from 2026-11-01 --to 2026-11-30 --csv",
    .notes =
"Dates are days in gridctl's local time zone (set TZ, e.g. TZ=Asia/Shanghai).\n"
"--json prints one object: node, by, from, to, as_of, weights and units (each\n"
"with the figures above and the counts behind every rate). A node answers\n"
"the ranking beside its main loop; a large district's month takes seconds,\n"
"so this command waits 30000 ms per attempt unless --timeout says otherwise.\n"
,
};

static double s_pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static json_object *s_json_1(double v)
{
    char text[32];
    snprintf(text, sizeof text, "%.1f", v);
    return json_object_new_double_s(v, text);
}

static void s_json_u(json_object *o, const char *key, uint64_t v)
{
    json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

static json_object *s_unit_json(const Gridrelay__UnitFigures *u)
{
    json_object *o = json_object_new_object();
    s_json_u(o, "rank", u->rank);
    json_object_object_add(o, "unit", json_object_new_string(u->unit));
    json_object_object_add(o, "score", s_json_1(u->score));
    s_json_u(o, "received", u->received);
    json_object_object_add(o, "accepted_on_time_pct", s_json_1(s_pct(u->accepted_on_time, u->accept_judged)));
    json_object_object_add(o, "resolved_on_time_pct", s_json_1(s_pct(u->resolved_on_time, u->resolve_judged)));
    json_object_object_add(o, "first_time_pct", s_json_1(s_pct(u->first_time, u->resolved)));
    json_object_object_add(o, "feedback_pct", s_json_1(s_pct(u->fed_back, u->resolved)));
    s_json_u(o, "overdue", u->overdue);
    s_json_u(o, "returns", u->returns);
    s_json_u(o, "urges", u->urges);
    json_object_object_add(o, "avg_handling_h", s_json_1((double)u->avg_handling_ms / 3600000.0));
    json_object_object_add(o, "p90_handling_h", s_json_1((double)u->p90_handling_ms / 3600000.0));
    s_json_u(o, "accept_judged", u->accept_judged);
    s_json_u(o, "accepted_on_time", u->accepted_on_time);
    s_json_u(o, "resolve_judged", u->resolve_judged);
    s_json_u(o, "resolved_on_time", u->resolved_on_time);
    s_json_u(o, "resolved", u->resolved);
    s_json_u(o, "first_time", u->first_time);
    s_json_u(o, "fed_back", u->fed_back);
    s_json_u(o, "avg_handling_ms", u->avg_handling_ms);
    s_json_u(o, "p90_handling_ms", u->p90_handling_ms);
    s_json_u(o, "daily_on_time", u->daily_on_time);
    s_json_u(o, "daily_late", u->daily_late);
    s_json_u(o, "daily_missing", u->daily_missing);
    return o;
}

static const char s_csv_header[] =
    "rank,unit,score,received,accepted_on_time_pct,resolved_on_time_pct,first_time_pct,"
    "feedback_pct,overdue,returns,urges,avg_handling_h,p90_handling_h,accept_judged,"
    "accepted_on_time,resolve_judged,resolved_on_time,resolved,first_time,fed_back,"
    "daily_on_time,daily_late,daily_missing\n";

static void s_unit_csv(const Gridrelay__UnitFigures *u)
{
    printf("%u,%s,%.1f,%llu,%.1f,%.1f,%.1f,%.1f,%llu,%llu,%llu,%.1f,%.1f,%llu,%llu,%llu,%llu,"
           "%llu,%llu,%llu,%llu,%llu,%llu\n",
           u->rank, u->unit, u->score, (unsigned long long)u->received,
           s_pct(u->accepted_on_time, u->accept_judged), s_pct(u->resolved_on_time, u->resolve_judged),
           s_pct(u->first_time, u->resolved), s_pct(u->fed_back, u->resolved),
           (unsigned long long)u->overdue, (unsigned long long)u->returns,
           (unsigned long long)u->urges, (double)u->avg_handling_ms / 3600000.0,
           (double)u->p90_handling_ms / 3600000.0, (unsigned long long)u->accept_judged,
           (unsigned long long)u->accepted_on_time, (unsigned long long)u->resolve_judged,
           (unsigned long long)u->resolved_on_time, (unsigned long long)u->resolved,
           (unsigned long long)u->first_time, (unsigned long long)u->fed_back,
           (unsigned long long)u->daily_on_time, (unsigned long long)u->daily_late,
           (unsigned long long)u->daily_missing);
}

/* A share for the table: "-" where nothing was there to judge, so a unit
 * with no case due is not shown as failing every one (the CSV and JSON
 * keep the number and the counts it came from). */
typedef struct {
    char text[16];
} s_pct_text_t;

static s_pct_text_t s_pct_text(uint64_t part, uint64_t whole)
{
    s_pct_text_t t;
    if (whole)
        snprintf(t.text, sizeof t.text, "%.1f", s_pct(part, whole));
    else
        snprintf(t.text, sizeof t.text, "-");
    return t;
}

static void s_unit_text(const Gridrelay__UnitFigures *u)
{
    printf("%4u  %-20s %6.1f %8llu %7s %8s %6s %9s %7llu %7llu %5llu %7.1f %7.1f %8llu %10llu "
           "%10llu\n",
           u->rank, u->unit, u->score, (unsigned long long)u->received,
           s_pct_text(u->accepted_on_time, u->accept_judged).text,
           s_pct_text(u->resolved_on_time, u->resolve_judged).text,
           s_pct_text(u->first_time, u->resolved).text, s_pct_text(u->fed_back, u->resolved).text,
           (unsigned long long)u->overdue, (unsigned long long)u->returns,
           (unsigned long long)u->urges, (double)u->avg_handling_ms / 3600000.0,
           (double)u->p90_handling_ms / 3600000.0, (unsigned long long)u->daily_on_time,
           (unsigned long long)u->daily_late, (unsigned long long)u->daily_missing);
}

typedef enum { OUT_TEXT, OUT_JSON, OUT_CSV } s_out_t;

int gridctl_rank(int argc, char **argv)
{
    gridctl_common_t common;
    s_rank_values_t v;
    memset(&v, 0, sizeof v);
    v.period = P_MONTH;
    int rc = gridctl_parse(&s_rank_cmd, argc, argv, &v, &common, NULL);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
    s_period_t period = (s_period_t)v.period;
    bool has_period = v.has_period, csv = v.csv;
    const char *at = v.at, *from_text = v.from, *to_text = v.to;
    Gridrelay__GetRanking__By by = v.by ? GRIDRELAY__GET_RANKING__BY__DEPARTMENT
                                        : GRIDRELAY__GET_RANKING__BY__NODE;
    uint64_t from = 0, to = 0;
    bool range = from_text || to_text;
    if ((range && (!from_text || !to_text || has_period || at)) || (csv && common.json))
        return gridctl_usage_error(&s_rank_cmd, csv && common.json ? "--csv or --json, not both"
                                   : "--from and --to go together, without --period or --at");
    if (range ? s_range(from_text, to_text, &from, &to) != 0 : s_period(period, at, &from, &to) != 0) {
        fprintf(stderr, "gridctl rank: bad date (YYYY-MM-DD, YYYY-MM or YYYY-Qn), or --to before --from\n");
        return GRIDCTL_USAGE;
    }
    s_out_t out = csv ? OUT_CSV : common.json ? OUT_JSON : OUT_TEXT;
    json_object *root = NULL, *units = NULL;
    uint32_t offset = 0, total = 0;
    do {
        Gridrelay__GetRanking get = GRIDRELAY__GET_RANKING__INIT;
        get.from_ms = from;
        get.to_ms = to;
        get.by = by;
        get.offset = offset;
        get.limit = 1000;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_GET_RANKING;
        body.get_ranking = &get;
        gr_opened_t reply;
        if ((rc = gridctl_call_for(&common, &body, GRIDRELAY__BODY__KIND_RANKING, &reply)) !=
            GRIDCTL_OK)
            break;
        const Gridrelay__Ranking *r = reply.body->ranking;
        if (r->n_units == 0 && offset < r->total) {
            gr_opened_clear(&reply);
            rc = GRIDCTL_REFUSED;
            break;
        }
        total = r->total;
        if (offset == 0) {
            char f[32], t[32], c[32];
            gridctl_format_time(f, r->from_ms);
            gridctl_format_time(t, r->to_ms);
            gridctl_format_time(c, r->cut_ms);
            if (out == OUT_JSON) {
                root = json_object_new_object();
                units = json_object_new_array();
                json_object_object_add(root, "node", json_object_new_string(r->node_id));
                json_object_object_add(root, "by", json_object_new_string(
                    r->by == GRIDRELAY__GET_RANKING__BY__DEPARTMENT ? "department" : "node"));
                json_object_object_add(root, "from", json_object_new_string(f));
                json_object_object_add(root, "to", json_object_new_string(t));
                json_object_object_add(root, "as_of", json_object_new_string(c));
                json_object *w = json_object_new_object();
                for (size_t i = 0; i < r->n_weights; i++)
                    s_json_u(w, r->weights[i]->name, r->weights[i]->value);
                json_object_object_add(root, "weights", w);
                json_object_object_add(root, "units", units);
            } else if (out == OUT_CSV) {
                fputs(s_csv_header, stdout);
            } else {
                printf("ranking at %s, cases received %s to %s, as of %s\n", r->node_id, f, t, c);
                printf("%4s  %-20s %6s %8s %7s %8s %6s %9s %7s %7s %5s %7s %7s %8s %10s %10s\n",
                       "RANK", "UNIT", "SCORE", "RECEIVED", "ACCEPT%", "RESOLVE%", "FIRST%",
                       "FEEDBACK%", "OVERDUE", "RETURNS", "URGES", "AVG_H", "P90_H", "DAILY_OK",
                       "DAILY_LATE", "DAILY_MISS");
            }
        }
        for (size_t i = 0; i < r->n_units; i++) {
            if (out == OUT_JSON)
                json_object_array_add(units, s_unit_json(r->units[i]));
            else if (out == OUT_CSV)
                s_unit_csv(r->units[i]);
            else
                s_unit_text(r->units[i]);
        }
        offset += (uint32_t)r->n_units;
        gr_opened_clear(&reply);
    } while (offset < total);
    if (root) {
        if (rc == GRIDCTL_OK)
            gridctl_print_json(root);
    } else if (rc == GRIDCTL_OK && out == OUT_TEXT && total == 0) {
        printf("no cases received in the period\n");
    }
    return rc;
}

/* ---- stats --by ---- */

static const char *const s_stats_keys[] = { "category", "severity", "status", "tier", "day",
                                             "week", NULL };

typedef struct {
    int by;
    bool has_by, csv;
    const char *from, *to;
} s_stats_values_t;

static const gridctl_opt_t s_stats_options[] = {
    { .kind = GRIDCTL_OPT_CHOICE, .name = "by", .arg = "KEY", .choices = s_stats_keys,
      .offset = offsetof(s_stats_values_t, by), .seen = GRIDCTL_SEEN(s_stats_values_t, has_by),
      .help = "what to count by (required): category, severity,\nstatus, tier, day or week" },
    { .kind = GRIDCTL_OPT_STRING, .name = "from", .arg = "DATE",
      .offset = offsetof(s_stats_values_t, from),
      .help = "YYYY-MM-DD (or YYYY-MM, YYYY-Qn: its first day)" },
    { .kind = GRIDCTL_OPT_STRING, .name = "to", .arg = "DATE", .offset = offsetof(s_stats_values_t, to),
      .help = "the last day counted" },
    { .kind = GRIDCTL_OPT_FLAG, .name = "csv", .offset = offsetof(s_stats_values_t, csv),
      .help = "key,count lines with a header" },
    { .kind = GRIDCTL_OPT_END },
};

static const gridctl_cmd_t s_stats_cmd = {
    .name = "stats",
    .synopsis = "--by KEY [--from DATE] [--to DATE] [--csv] [OPTIONS]",
    .about =
"Counts the cases received from DATE to DATE (both included; default: all)\n"
"by category, severity, status, tier level (1 village/community, 2\n"
"township, 3 district...), day or ISO week (YYYY-Www) of receipt, from what\n"
"the node stores: its own cases and its view of the tiers below, each case\n"
"counted once where it is held now (not where it passed through). Without\n"
"--by, 'gridctl stats' shows the node's counters.\n",
    .options = s_stats_options,
    .connect = true,
    .timeout_ms = 30000,
    .attempts = 2,
    .examples = "gridctl stats --by category --from 2026-11-01 --to 2026-11-30\n"
                "gridctl stats --by week --csv",
    .notes = "Dates and days are in gridctl's local time zone (TZ).\n",
};

int gridctl_case_stats(int argc, char **argv)
{
    static const char *const keys[] = {"", "category", "severity", "status", "tier", "day", "week"};
    gridctl_common_t common;
    s_stats_values_t v;
    memset(&v, 0, sizeof v);
    int rc = gridctl_parse(&s_stats_cmd, argc, argv, &v, &common, NULL);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
    if (!v.has_by || (v.csv && common.json))
        return gridctl_usage_error(&s_stats_cmd, v.has_by ? "--csv or --json, not both"
                                                          : "--by is required");
    int by = v.by + 1;   /* keys[] below starts with the unset key */
    bool csv = v.csv;
    const char *from_text = v.from, *to_text = v.to;
    uint64_t from = 0, to = 0, ignore;
    struct tm tm;
    if ((from_text && (s_parse_date(from_text, &tm) != 0 || (from = s_ms(&tm)) == 0)) ||
        (to_text && s_range(to_text, to_text, &ignore, &to) != 0) || (to && to <= from)) {
        fprintf(stderr, "gridctl stats: bad date (YYYY-MM-DD), or --to before --from\n");
        return GRIDCTL_USAGE;
    }
    time_t now = time(NULL);
    struct tm local;
    localtime_r(&now, &local);
    Gridrelay__GetCaseStats get = GRIDRELAY__GET_CASE_STATS__INIT;
    get.by = (Gridrelay__GetCaseStats__By)by;
    get.from_ms = from;
    get.to_ms = to;
    get.utc_offset_min = (int32_t)(local.tm_gmtoff / 60);
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_CASE_STATS;
    body.get_case_stats = &get;
    gr_opened_t reply;
    rc = gridctl_call_for(&common, &body, GRIDRELAY__BODY__KIND_CASE_STATS, &reply);
    if (rc != GRIDCTL_OK)
        return rc;
    const Gridrelay__CaseStats *s = reply.body->case_stats;
    if (common.json) {
        json_object *root = json_object_new_object();
        json_object *b = json_object_new_object();
        json_object_object_add(root, "node", json_object_new_string(s->node_id));
        json_object_object_add(root, "by", json_object_new_string(keys[by]));
        for (size_t i = 0; i < s->n_buckets; i++)
            s_json_u(b, s->buckets[i]->name, s->buckets[i]->value);
        json_object_object_add(root, "counts", b);
        s_json_u(root, "total", s->total);
        json_object_object_add(root, "more", json_object_new_boolean(s->more));
        gridctl_print_json(root);
    } else {
        if (csv)
            printf("%s,count\n", keys[by]);
        else
            printf("%-24s %10s\n", keys[by], "COUNT");
        for (size_t i = 0; i < s->n_buckets; i++) {
            unsigned long long n = (unsigned long long)s->buckets[i]->value;
            if (csv)
                printf("%s,%llu\n", s->buckets[i]->name, n);
            else
                printf("%-24s %10llu\n", s->buckets[i]->name, n);
        }
        if (!csv)
            printf("%-24s %10llu\n", "total", (unsigned long long)s->total);
        if (s->more)
            fprintf(stderr, "(more buckets than one reply holds: narrow --from/--to)\n");
    }
    gr_opened_clear(&reply);
    return GRIDCTL_OK;
}
