/* Daily and zero reports (日报告、零报告) through real processes on a test
 * clock: one district, two townships, four villages with two grid workers
 * each. Some report on time, one late, one never; each is listed right at
 * its village, its township and the district, also when a township was
 * down over the due time (its villages' summaries wait in their outboxes).
 * A restart and a clock that jumps back close no day twice. One village
 * owes its report as a whole (units = node). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <zmq.h>

#include "event_id.h"
#include "harness.h"
#include "group.h"
#include "store_check.h"
#include "tiers_fixture.h"

enum { D, TA, TB, A1, A2, B1, B2, N };

#define HOUR (3600ll * 1000)
#define DAY (24 * HOUR)

typedef struct {
    harness_node_t n[N];
    char clock[320];
    char catalogue[320];
    int64_t base;      /* clock offset that puts the nodes at 09:00 (+08:00) of day 0 */
    char date0[16], date1[16];
    void *ctx;
} fx_t;

static fx_t s_fx;

static void s_date(int64_t day, char *out)
{
    time_t t = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

static int s_setup(void **state)
{
    fx_t *fx = &s_fx;
    const char *names[N] = {"district-d", "town-a", "town-b", "village-a1", "village-a2",
                            "village-b1", "village-b2"};
    const char *tiers[N] = {"district", "township", "township", "village", "village",
                            "village", "village"};
    const int parent[N] = {-1, D, D, TA, TA, TB, TB};
    for (int i = 0; i < N; i++) {
        if (harness_node_init(&fx->n[i], names[i], i >= A1 ? 2 : 1) != 0)
            return -1;
        snprintf(fx->n[i].tier, sizeof fx->n[i].tier, "%s", tiers[i]);
        fx->n[i].status_listen = i < A1;
    }
    /* Day 0 is the day after tomorrow in +08:00 (never behind the real
     * clock: reporters' seqs are real microseconds), 09:00 there. */
    int64_t now = (int64_t)gr_now_ms();
    int64_t day0 = (now + 8 * HOUR) / DAY + 2;
    fx->base = day0 * DAY + 9 * HOUR - 8 * HOUR - now;
    s_date(day0, fx->date0);
    s_date(day0 + 1, fx->date1);
    if (nodes_share_clock_and_catalogue(fx->n, N, fx->base,
                "[DAILY.SAFE]\nclass = ob\nsubclass = grid work\nname = all safe\nauthority = village\n\n"
                "[T.VILLAGE]\nclass = t\nsubclass = t\nname = village matter\nauthority = village\n",
                fx->clock, fx->catalogue) != 0)
        return -1;
    for (int i = 0; i < N; i++) {
        /* village-b1 owes one report as a whole (units = node). */
        snprintf(fx->n[i].sections, sizeof fx->n[i].sections, "%s",
                 i == B1   ? "[daily]\ndue = 18:00\ntimezone = +08:00\nunits = node\n\n"
                 : i >= A1 ? "[daily]\ndue = 18:00\ntimezone = +08:00\n\n"
                           : "[daily]\ndue = 18:00\ntimezone = UTC+8\nunits = none\n\n");
    }
    /* The operators' keys for gridctl: reporter 0 of each node. */
    for (int i = 0; i < N; i++)
        if (fixture_save_key(&fx->n[i].reporters[0], fx->n[i].dir, "reporter0") != 0)
            return -1;
    if (nodes_start_tree(fx->n, N, parent) != 0)
        return -1;
    fx->ctx = zmq_ctx_new();
    *state = fx;
    return fx->ctx ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    return nodes_teardown(s_fx.ctx, s_fx.n, N, s_fx.catalogue);
}

static int s_gridctl(fx_t *fx, int n, const char *args, char *out, size_t cap)
{
    return node_gridctl(&fx->n[n], NULL, args, false, out, cap);
}

/* A report at village n by its worker w; the event id into id. */
static int s_report(fx_t *fx, int n, size_t w, const char *category, char *id)
{
    gr_event_id_new(id, gr_now_ms());
    Gridrelay__Event event = GRIDRELAY__EVENT__INIT;
    event.id = id;
    event.category = (char *)category;
    event.severity = GRIDRELAY__SEVERITY__ROUTINE;
    event.title = (char *)"daily";
    Gridrelay__Report report = GRIDRELAY__REPORT__INIT;
    report.event = &event;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_REPORT;
    body.report = &report;
    gr_client_t *client = harness_client(&fx->n[n], fx->ctx, w);
    if (!client)
        return -1;
    gr_opened_t reply;
    int rc = gr_client_call(client, &body, &reply, 3000, 5);
    gr_client_destroy(&client);
    if (rc != 0)
        return -1;
    rc = reply.body->kind_case == GRIDRELAY__BODY__KIND_ACK ? (int)reply.body->ack->status : -1;
    gr_opened_clear(&reply);
    return rc;
}

/* `gridctl daily --json ARGS` at node n, parsed (NULL on failure). */
static json_object *s_daily(fx_t *fx, int n, const char *args)
{
    static char out[65536];
    char full[512];
    snprintf(full, sizeof full, "daily --json %s", args);
    if (s_gridctl(fx, n, full, out, sizeof out) != 0)
        return NULL;
    if (getenv("GR_TEST_VERBOSE"))
        fprintf(stderr, "%s at %d: %s\n", full, n, out);
    return json_tokener_parse(out);
}

/* The node's entry in a daily page, or NULL. */
static json_object *s_node(json_object *page, const char *node)
{
    json_object *nodes = NULL;
    if (!page || !json_object_object_get_ex(page, "nodes", &nodes))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(nodes); i++) {
        json_object *o = json_object_array_get_idx(nodes, i), *id = NULL;
        if (json_object_object_get_ex(o, "node", &id) &&
            strcmp(json_object_get_string(id), node) == 0)
            return o;
    }
    return NULL;
}

static int64_t s_int(json_object *o, const char *key)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
}

/* A listed unit's state at node ("" when not listed), and its late_ms. */
static const char *s_unit(json_object *node, const char *unit, int64_t *late_ms)
{
    json_object *listed = NULL;
    if (!node || !json_object_object_get_ex(node, "listed", &listed))
        return "";
    for (size_t i = 0; i < json_object_array_length(listed); i++) {
        json_object *u = json_object_array_get_idx(listed, i), *name = NULL, *st = NULL;
        if (json_object_object_get_ex(u, "unit", &name) &&
            strcmp(json_object_get_string(name), unit) == 0 &&
            json_object_object_get_ex(u, "state", &st)) {
            if (late_ms)
                *late_ms = s_int(u, "late_ms");
            return json_object_get_string(st);
        }
    }
    return "";
}

/* Waits until node n lists `of` for date with field == value. */
typedef struct {
    fx_t *fx;
    int n;
    const char *date, *of, *field;
    int64_t value;
} s_wait_t;

static bool s_has(void *arg)
{
    s_wait_t *w = arg;
    char args[64];
    snprintf(args, sizeof args, "--date %s", w->date);
    json_object *page = s_daily(w->fx, w->n, args);
    bool ok = s_int(s_node(page, w->of), w->field) == w->value;
    json_object_put(page);
    return ok;
}

static bool s_wait(fx_t *fx, int n, const char *date, const char *of, const char *field,
                   int64_t value)
{
    s_wait_t w = {fx, n, date, of, field, value};
    return harness_wait_until(s_has, &w, 30000);
}

typedef struct {
    fx_t *fx;
    const char *id;
} s_view_wait_t;

static bool s_view_has(void *arg)
{
    s_view_wait_t *w = arg;
    static char out[65536];
    return s_gridctl(w->fx, TA, "view --of village-a1 --all", out, sizeof out) == 0 &&
           strstr(out, w->id);
}

static const char *const s_names[N] = {"district-d", "town-a", "town-b", "village-a1",
                                       "village-a2", "village-b1", "village-b2"};

/* Whether the CSV row of unit (its second column) ends with suffix. */
static bool s_row_ends(const char *csv, const char *unit, const char *suffix)
{
    char key[80];
    snprintf(key, sizeof key, ",%s,", unit);
    const char *row = strstr(csv, key);
    if (!row)
        return false;
    const char *end = strchr(row, '\n');
    size_t n = strlen(suffix);
    return end && (size_t)(end - row) >= n && memcmp(end - n, suffix, n) == 0;
}

static void test_daily_reports_on_time_late_and_missing_at_every_tier(void **state)
{
    fx_t *fx = *state;
    char id[GR_EVENT_ID_LEN + 1], zero[GR_EVENT_ID_LEN + 1], real[GR_EVENT_ID_LEN + 1];
    char args[128], out[65536];
    snprintf(args, sizeof args, "--date %s", fx->date0);

    /* 09:00: a zero report and a real report at village-a1 ... */
    assert_int_equal(s_report(fx, A1, 0, "DAILY.SAFE", zero), GRIDRELAY__STATUS__CLOSED);
    assert_int_equal(s_report(fx, A1, 1, "T.VILLAGE", real), GRIDRELAY__STATUS__REPORTED);
    /* ... one of two at village-a2 (worker-1 will be late), both at b1,
     * one at b2 (worker-1 never reports). */
    assert_int_equal(s_report(fx, A2, 0, "DAILY.SAFE", id), GRIDRELAY__STATUS__CLOSED);
    assert_int_equal(s_report(fx, B1, 0, "DAILY.SAFE", id), GRIDRELAY__STATUS__CLOSED);
    assert_int_equal(s_report(fx, B1, 1, "DAILY.SAFE", id), GRIDRELAY__STATUS__CLOSED);
    assert_int_equal(s_report(fx, B2, 0, "DAILY.SAFE", id), GRIDRELAY__STATUS__CLOSED);

    /* The zero report is stored and signed, but no case: closed at once,
     * one timeline entry, nothing in the township's view. */
    char timeline[4096];
    assert_int_equal(node_status(&fx->n[A1], fx->ctx, zero, timeline, sizeof timeline),
                     GRIDRELAY__STATUS__CLOSED);
    assert_non_null(strstr(timeline, "zero report"));
    assert_null(strstr(strstr(timeline, " | ") + 3, " | "));
    assert_int_equal(s_gridctl(fx, A1, "stats", out, sizeof out), 0);
    assert_non_null(strstr(out, "zero_reports"));
    /* The township sees the real case in its view, never the zero report. */
    s_view_wait_t vw = {fx, real};
    assert_true(harness_wait_until(s_view_has, &vw, 30000));
    assert_int_equal(s_gridctl(fx, TA, "view --of village-a1 --all", out, sizeof out), 0);
    assert_null(strstr(out, zero));

    /* Before the due time: on time and pending, the day open. */
    json_object *page = s_daily(fx, A2, args);
    json_object *a2 = s_node(page, "village-a2");
    assert_non_null(a2);
    assert_int_equal(s_int(a2, "on_time"), 1);
    assert_int_equal(s_int(a2, "pending"), 1);
    assert_string_equal(s_unit(a2, "worker-1", NULL), "pending");
    json_object_put(page);

    /* town-b is down over the due time; 18:30 comes. */
    assert_int_equal(harness_node_stop(&fx->n[TB], SIGTERM), 0);
    assert_int_equal(harness_clock_set(fx->clock, fx->base + 9 * HOUR + 30 * 60 * 1000), 0);
    assert_true(s_wait(fx, D, fx->date0, "village-a2", "missing", 1));
    page = s_daily(fx, D, args);
    assert_string_equal(s_unit(s_node(page, "village-a2"), "worker-1", NULL), "missing");
    assert_null(s_node(page, "village-b2"));
    /* town-b sent nothing for the day: named as such. */
    assert_non_null(strstr(json_object_to_json_string_ext(page, JSON_C_TO_STRING_PLAIN),
                           "\"no_summary\":[\"town-b\"]"));
    json_object_put(page);

    /* village-a2's worker-1 reports half an hour late: late, not missing. */
    assert_int_equal(s_report(fx, A2, 1, "DAILY.SAFE", id), GRIDRELAY__STATUS__CLOSED);
    assert_true(s_wait(fx, D, fx->date0, "village-a2", "late", 1));
    page = s_daily(fx, D, args);
    a2 = s_node(page, "village-a2");
    int64_t late = 0;
    assert_string_equal(s_unit(a2, "worker-1", &late), "late");
    assert_int_equal(s_int(a2, "missing"), 0);
    assert_true(late >= 30 * 60 * 1000 && late < 40 * 60 * 1000);
    assert_string_equal(s_unit(a2, "worker-0", NULL), "");  /* on time: counted, not listed */
    json_object_put(page);

    /* town-b is back: its villages' summaries arrive, and go on up. */
    assert_int_equal(harness_node_start(&fx->n[TB]), 0);
    assert_true(s_wait(fx, D, fx->date0, "village-b2", "missing", 1));
    assert_true(s_wait(fx, D, fx->date0, "village-b1", "on_time", 1));

    /* Each unit right at every tier. */
    const struct {
        int at, village;
        const char *unit, *state;
    } want[] = {
        {A1, A1, "worker-0", "on_time"}, {A1, A1, "worker-1", "on_time"},
        {A2, A2, "worker-0", "on_time"}, {A2, A2, "worker-1", "late"},
        {B2, B2, "worker-0", "on_time"}, {B2, B2, "worker-1", "missing"},
        {TA, A2, "worker-1", "late"},    {TA, A1, "worker-1", ""},
        {TB, B2, "worker-1", "missing"}, {TB, B1, "village-b1", ""},
        {B1, B1, "village-b1", "on_time"}, {B1, B1, "worker-0", ""},
        {D, A2, "worker-1", "late"},     {D, B2, "worker-1", "missing"},
        {D, B1, "worker-1", ""},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        if (want[i].at == TB)
            assert_true(s_wait(fx, TB, fx->date0, s_names[want[i].village], "closed", 1));
        page = s_daily(fx, want[i].at, args);
        json_object *node = s_node(page, s_names[want[i].village]);
        assert_non_null(node);
        assert_string_equal(s_unit(node, want[i].unit, NULL), want[i].state);
        json_object_put(page);
    }
    /* The district's sums over the villages: 7 units (village-b1 is one),
     * 5 on time, 1 late, 1 missing. */
    page = s_daily(fx, D, args);
    int64_t sum[4] = {0};
    for (int v = A1; v <= B2; v++) {
        json_object *node = s_node(page, s_names[v]);
        sum[0] += s_int(node, "units");
        sum[1] += s_int(node, "on_time");
        sum[2] += s_int(node, "late");
        sum[3] += s_int(node, "missing");
        assert_int_equal(s_int(node, "version"), v == A2 ? 2 : 1);  /* closed once; a2 changed once */
    }
    assert_int_equal(sum[0], 7);
    assert_int_equal(sum[1], 5);
    assert_int_equal(sum[2], 1);
    assert_int_equal(sum[3], 1);
    assert_non_null(s_node(page, "town-a"));  /* the townships' own (empty) days */
    json_object_put(page);

    /* The district's ranking of that day carries each village's daily
     * reports (on time, late, missing: the CSV's last three columns). */
    snprintf(args, sizeof args, "rank --from %s --to %s --csv", fx->date0, fx->date0);
    assert_int_equal(s_gridctl(fx, D, args, out, sizeof out), 0);
    assert_non_null(strstr(out, ",daily_on_time,daily_late,daily_missing\n"));
    assert_true(s_row_ends(out, "village-a2", ",1,1,0"));
    assert_true(s_row_ends(out, "village-b2", ",1,0,1"));
    assert_true(s_row_ends(out, "village-a1", ",2,0,0"));

    /* --missing, --tier-below, --csv and the text table at the district. */
    snprintf(args, sizeof args, "daily --date %s --missing --csv", fx->date0);
    assert_int_equal(s_gridctl(fx, D, args, out, sizeof out), 0);
    assert_non_null(strstr(out, "date,node,tier,unit,state,late_ms,first_report,reports,event_id\n"));
    char line[128];
    snprintf(line, sizeof line, "%s,village-b2,1,worker-1,missing,0,,0,\n", fx->date0);
    assert_non_null(strstr(out, line));
    assert_null(strstr(out, ",late,"));
    snprintf(args, sizeof args, "daily --date %s --tier-below 1 --json", fx->date0);
    assert_int_equal(s_gridctl(fx, D, args, out, sizeof out), 0);
    assert_non_null(strstr(out, "town-b"));
    assert_null(strstr(out, "village-b2"));
    snprintf(args, sizeof args, "daily --date %s", fx->date0);
    assert_int_equal(s_gridctl(fx, D, args, out, sizeof out), 0);
    assert_non_null(strstr(out, "village-b2"));
    assert_non_null(strstr(out, "missing"));
    assert_int_equal(s_gridctl(fx, D, "daily --date 2026-02-30", out, sizeof out), 1);

    /* kill -9 of a village, the clock back before the due time and on
     * again: the day is not closed twice (its version stays 1). */
    assert_int_equal(harness_node_stop(&fx->n[A1], SIGKILL), 128 + SIGKILL);
    assert_int_equal(harness_clock_set(fx->clock, fx->base + 8 * HOUR), 0);
    assert_int_equal(harness_node_start(&fx->n[A1]), 0);
    assert_int_equal(harness_clock_set(fx->clock, fx->base + 9 * HOUR + 45 * 60 * 1000), 0);
    assert_int_equal(s_report(fx, A1, 0, "DAILY.SAFE", id), GRIDRELAY__STATUS__CLOSED);
    snprintf(args, sizeof args, "--date %s", fx->date0);
    page = s_daily(fx, A1, args);
    json_object *a1 = s_node(page, "village-a1");
    assert_int_equal(s_int(a1, "version"), 1);
    assert_int_equal(s_int(a1, "on_time"), 2);
    json_object_put(page);

    /* The next day's due time: every unit that did not report is missing
     * there, at every tier (the timer was armed again). */
    assert_int_equal(harness_clock_set(fx->clock, fx->base + DAY + 9 * HOUR + 30 * 60 * 1000), 0);
    for (int v = A1; v <= B2; v++)
        assert_true(s_wait(fx, D, fx->date1, s_names[v], "missing", v == B1 ? 1 : 2));
    snprintf(args, sizeof args, "--date %s", fx->date0);
    page = s_daily(fx, D, args);
    assert_int_equal(s_int(s_node(page, "village-a1"), "version"), 1);
    json_object_put(page);
}

/* Sends summary to node `to` signed by kp; returns the Error code, 0 for an Ack. */
static int s_send_summary(fx_t *fx, int to, const gr_keypair_t *kp, Gridrelay__DailySummary *summary)
{
    gr_client_t *client = gr_client_new(fx->ctx, fx->n[to].endpoint, kp, fx->n[to].node_key.pk);
    if (!client)
        return -1;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_DAILY_SUMMARY;
    body.daily_summary = summary;
    gr_opened_t reply;
    int rc = gr_client_call(client, &body, &reply, 3000, 5);
    gr_client_destroy(&client);
    if (rc != 0)
        return -1;
    rc = reply.body->kind_case == GRIDRELAY__BODY__KIND_ERROR ? (int)reply.body->error->code : 0;
    gr_opened_clear(&reply);
    return rc;
}

/* Bad summaries are refused with a clear error and counted, and change
 * nothing stored: one a child sends for its sibling, one with a date that
 * does not exist, one whose counts do not add up, one from a reporter. */
static void test_bad_daily_summaries_change_nothing(void **state)
{
    fx_t *fx = *state;
    char args[64], out[65536];
    snprintf(args, sizeof args, "--date %s", fx->date0);
    json_object *before = s_daily(fx, TA, args);
    assert_non_null(s_node(before, "village-a2"));
    Gridrelay__DailySummary s = GRIDRELAY__DAILY_SUMMARY__INIT;
    s.node_id = (char *)"village-a2";
    s.date = fx->date0;
    s.tier_level = 1;
    s.version = 99;
    s.closed = true;
    s.units = 2;
    s.on_time = 2;
    /* village-a1 over its own link, speaking for village-a2. */
    assert_int_equal(s_send_summary(fx, TA, &fx->n[A1].node_key, &s),
                     GRIDRELAY__ERROR_CODE__ERR_FORBIDDEN);
    s.node_id = (char *)"village-a1";
    s.date = (char *)"2026-02-30";
    assert_int_equal(s_send_summary(fx, TA, &fx->n[A1].node_key, &s),
                     GRIDRELAY__ERROR_CODE__ERR_INVALID);
    s.date = fx->date0;
    s.late = 1;
    assert_int_equal(s_send_summary(fx, TA, &fx->n[A1].node_key, &s),
                     GRIDRELAY__ERROR_CODE__ERR_INVALID);
    s.late = 0;
    assert_int_equal(s_send_summary(fx, TA, &fx->n[TA].reporters[0], &s),
                     GRIDRELAY__ERROR_CODE__ERR_FORBIDDEN);
    json_object *after = s_daily(fx, TA, args);
    assert_string_equal(json_object_to_json_string_ext(s_node(before, "village-a1"), JSON_C_TO_STRING_PLAIN),
                        json_object_to_json_string_ext(s_node(after, "village-a1"), JSON_C_TO_STRING_PLAIN));
    assert_string_equal(json_object_to_json_string_ext(s_node(before, "village-a2"), JSON_C_TO_STRING_PLAIN),
                        json_object_to_json_string_ext(s_node(after, "village-a2"), JSON_C_TO_STRING_PLAIN));
    json_object_put(before);
    json_object_put(after);
    assert_int_equal(s_gridctl(fx, TA, "stats --json", out, sizeof out), 0);
    if (!strstr(out, "\"rejected_invalid\":3") || !strstr(out, "\"rejected_forbidden\":1"))
        fail_msg("counters: %s", out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daily_reports_on_time_late_and_missing_at_every_tier),
        cmocka_unit_test(test_bad_daily_summaries_change_nothing),
    };
    return GROUP_RUN(tests, s_setup, s_teardown);
}
