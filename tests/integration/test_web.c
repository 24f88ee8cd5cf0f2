/* The command view (issue 17 part 3) in a real browser: a district, a
 * township and a village gridrelayd, HTTP on the district and the
 * village, and Debian's chromium in headless mode driven over the
 * DevTools protocol (cdp.h). An operator logs in at the district's page,
 * sees cases reported at the village appear (one held at the district
 * with its signed path, one still at the village, seen through the view),
 * resolves one from the page, and the village's store and the village's
 * own page (a viewer, who gets no action buttons) show the result. The
 * JSON API's refusals are checked with curl: 400, 401, 403, 404.
 *
 * GR_SCREENSHOTS=DIR also writes a PNG of every page into DIR
 * (tools/screenshots.sh). Without chromium the test skips (77). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <zmq.h>

#include "cdp.h"
#include "harness.h"
#include "group.h"
#include "tiers_fixture.h"

enum { DIST, TOWN, VILLAGE, N };

#define S_WAIT_MS 30000
#define S_RESULT "culvert cleared (from the web)"

typedef struct {
    harness_node_t nodes[N];
    void *ctx;
    char catalogue[320];
    char culvert[32];       /* escalated to the district: resolved from its page */
    char fire[32];          /* escalated and dispatched to the district's police */
    char dispute[32];       /* kept at the village: the district sees it below */
    cdp_t *browser;
    const char *shots;      /* GR_SCREENSHOTS */
} fx_t;

static fx_t s_fx;

static int s_hash(const char *role, const char *password, char *out, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "echo '%s' | '%s' http-password --role %s", password,
             getenv("GRIDCTL"), role);
    if (harness_run(cmd, out, cap) != 0)
        return -1;
    out[strcspn(out, "\n")] = '\0';
    return strncmp(out, role, strlen(role)) == 0 ? 0 : -1;
}

/* A report at the village by its grid worker, with coordinates; its id
 * into id. */
static int s_report(fx_t *fx, const char *category, const char *severity, const char *title,
                    const char *grid, double lat, double lon, char id[32])
{
    char args[1024], out[4096];
    snprintf(args, sizeof args, "report --json --category %s --severity %s --title '%s' "
             "--grid %s --lat %.6f --lon %.6f", category, severity, title, grid, lat, lon);
    if (node_gridctl(&fx->nodes[VILLAGE], NULL, args, false, out, sizeof out) != 0)
        return -1;
    json_object *obj = json_tokener_parse(out), *v = NULL;
    int rc = obj && json_object_object_get_ex(obj, "id", &v) ? 0 : -1;
    if (rc == 0)
        snprintf(id, 32, "%s", json_object_get_string(v));
    json_object_put(obj);
    return rc;
}

static int s_setup(void **state)
{
    fx_t *fx = &s_fx;
    memset(fx, 0, sizeof *fx);
    *state = fx;
    fx->shots = getenv("GR_SCREENSHOTS");
    const char *names[N] = {"district-w", "town-w", "village-w"};
    const char *tiers[N] = {"district", "township", "village"};
    for (int i = 0; i < N; i++) {
        if (harness_node_init(&fx->nodes[i], names[i], 1) != 0)
            return -1;
        snprintf(fx->nodes[i].tier, sizeof fx->nodes[i].tier, "%s", tiers[i]);
        fx->nodes[i].status_listen = i != VILLAGE;
    }
    snprintf(fx->catalogue, sizeof fx->catalogue, "%.250s/../catalogue.ini", fx->nodes[DIST].dir);
    if (fixture_write_file(fx->catalogue,
                "[T.VILLAGE]\nclass = test\nsubclass = neighbours\nname = neighbours' dispute\n"
                "authority = village\n\n"
                "[T.DISTRICT]\nclass = test\nsubclass = roads\nname = county road damage\n"
                "authority = district\n\n"
                "[T.FIRE]\nclass = test\nsubclass = fire\nname = fire or smoke\n"
                "severity = urgent\nauthority = district\n\n"
                "[DAILY.SAFE]\nclass = daily\nsubclass = daily\nname = all safe\n"
                "authority = village\n") != 0)
        return -1;
    /* Reporter 0's key file, for gridctl: the village's grid worker. */
    for (int i = 0; i < N; i++) {
        char sec[400], pub[400], err[256];
        memcpy(fx->nodes[i].catalogue, fx->catalogue, sizeof fx->catalogue);
        snprintf(sec, sizeof sec, "%.300s/reporter0.sec", fx->nodes[i].dir);
        snprintf(pub, sizeof pub, "%.300s/reporter0.pub", fx->nodes[i].dir);
        if (gr_keys_save(&fx->nodes[i].reporters[0], sec, pub, err, sizeof err) != 0)
            return -1;
    }
    fx->nodes[DIST].task_listen = true;
    char alice[256], bob[256], police[512], cmd[1024], pub[256];
    snprintf(police, sizeof police, "%.300s/police.sec", fx->nodes[DIST].dir);
    snprintf(cmd, sizeof cmd, "'%s' keygen '%s'", getenv("GRIDCTL"), police);
    if (s_hash("operator", "correct horse", alice, sizeof alice) != 0 ||
        s_hash("viewer", "battery staple", bob, sizeof bob) != 0 ||
        harness_run(cmd, pub, sizeof pub) != 0)
        return -1;
    harness_add_child(&fx->nodes[DIST], &fx->nodes[TOWN]);
    harness_add_child(&fx->nodes[TOWN], &fx->nodes[VILLAGE]);
    char extra[4096];
    snprintf(extra, sizeof extra,
             "[http]\nlisten = 127.0.0.1:0\nthreads = 2\n\n"
             "[http_users]\nalice = %s\nbob = %s\n\n"
             "[departments]\npolice = @%s.pub, Police station\n\n"
             "[dispatch]\nT.FIRE = police\n\n"
             "[deadlines]\nclaim.urgent = 1s\n\n"
             "[daily]\nunits = none\n\n"
             "[map]\n"
             "G-01 = 30.2720 120.1530, 30.2720 120.1600, 30.2765 120.1600, 30.2765 120.1530\n"
             "G-02 = 30.2765 120.1600, 30.2765 120.1660, 30.2810 120.1660, 30.2810 120.1600\n"
             "G-03 = 30.2700 120.1600, 30.2700 120.1660, 30.2765 120.1660, 30.2765 120.1600\n"
             "G-04 = 30.2765 120.1500, 30.2765 120.1600, 30.2830 120.1600, 30.2830 120.1500\n\n",
             alice, bob, police);
    if (harness_node_start_with(&fx->nodes[DIST], extra, 20000) != 0 ||
        !fx->nodes[DIST].http_url[0])
        return -1;
    harness_set_parent(&fx->nodes[TOWN], &fx->nodes[DIST], "parent");
    if (harness_node_start(&fx->nodes[TOWN]) != 0)
        return -1;
    harness_set_parent(&fx->nodes[VILLAGE], &fx->nodes[TOWN], "parent");
    snprintf(extra, sizeof extra, "[http]\nlisten = 127.0.0.1:0\nthreads = 2\n\n"
             "[http_users]\nbob = %s\n\n", bob);
    if (harness_node_start_with(&fx->nodes[VILLAGE], extra, 20000) != 0 ||
        !fx->nodes[VILLAGE].http_url[0])
        return -1;
    fx->ctx = zmq_ctx_new();
    char profile[400], err[256];
    snprintf(profile, sizeof profile, "%.300s/chromium", fx->nodes[DIST].dir);
    if (!(fx->browser = cdp_start(profile, 1280, 860, err, sizeof err))) {
        fprintf(stderr, "browser: %s\n", err);
        return -1;
    }
    *state = fx;
    return fx->ctx ? 0 : -1;
}

static int s_teardown(void **state)
{
    fx_t *fx = *state;
    cdp_stop(&fx->browser);
    return nodes_teardown(fx->ctx, fx->nodes, N, fx->catalogue);
}

/* ---- in the page ---- */

static bool s_wait(fx_t *fx, const char *fmt, ...)
{
    char js[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(js, sizeof js, fmt, ap);
    va_end(ap);
    bool ok = cdp_wait(fx->browser, js, S_WAIT_MS);
    if (!ok) {
        char text[4096];
        cdp_eval(fx->browser, "document.querySelector('main').innerText", text, sizeof text, 5000);
        fprintf(stderr, "never true: %s\npage:\n%s\n", js, text);
    }
    return ok;
}

static void s_js(fx_t *fx, const char *js)
{
    /* In a block: its declarations stay its own, its last value is the
     * result. */
    char out[1024], block[4096];
    snprintf(block, sizeof block, "{ %s }", js);
    int rc = cdp_eval(fx->browser, block, out, sizeof out, 10000);
    if (rc != 0)
        fprintf(stderr, "js threw: %s\n%s\n", js, out);
    assert_int_equal(rc, 0);
}

static void s_shot(fx_t *fx, const char *name)
{
    if (!fx->shots)
        return;
    char path[600];
    snprintf(path, sizeof path, "%s/%s.png", fx->shots, name);
    assert_int_equal(cdp_screenshot(fx->browser, path), 0);
}

/* Logs in through the page's form at node's URL. */
static void s_page_login(fx_t *fx, int node, const char *user, const char *password)
{
    char url[200], js[512];
    snprintf(url, sizeof url, "%s/", fx->nodes[node].http_url);
    assert_int_equal(cdp_navigate(fx->browser, url, S_WAIT_MS), 0);
    assert_true(s_wait(fx, "!document.querySelector('#login').hidden"));
    if (node == DIST)
        s_shot(fx, "login");
    snprintf(js, sizeof js, "document.querySelector('#login-user').value = '%s';"
             "document.querySelector('#login-password').value = '%s';"
             "document.querySelector('#login-submit').click(); true", user, password);
    s_js(fx, js);
    assert_true(s_wait(fx, "!document.querySelector('#tabs').hidden && "
                           "document.querySelector('#who-name').textContent.startsWith('%s')", user));
}

static void test_district_page(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(s_report(fx, "T.DISTRICT", "routine", "Collapsed culvert on the county road",
                              "G-01", 30.27415, 120.15515, fx->culvert), 0);
    assert_int_equal(s_report(fx, "T.FIRE", "urgent", "Smoke behind the school", "G-02",
                              30.27902, 120.16233, fx->fire), 0);
    assert_int_equal(s_report(fx, "T.VILLAGE", "routine", "Neighbours dispute over a wall",
                              "G-03", 30.27120, 120.15022, fx->dispute), 0);

    /* A few more for the map and the lists (a day's mix, roughly). */
    static const struct { const char *cat, *sev, *title, *grid; double lat, lon; } more[] = {
        {"T.DISTRICT", "routine", "Pothole at the bus stop", "G-01", 30.27533, 120.15811},
        {"T.DISTRICT", "urgent", "Bridge railing broken", "G-02", 30.27688, 120.16012},
        {"T.FIRE", "extra_urgent", "Warehouse fire", "G-04", 30.28131, 120.15377},
        {"T.DISTRICT", "routine", "Street lights out on Elm Road", "G-03", 30.27301, 120.16402},
        {"T.VILLAGE", "routine", "Stray dogs near the market", "G-03", 30.27222, 120.15733},
    };
    char other[32];
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        assert_int_equal(s_report(fx, more[i].cat, more[i].sev, more[i].title, more[i].grid,
                                  more[i].lat, more[i].lon, other), 0);

    s_page_login(fx, DIST, "alice", "correct horse");
    /* The cases appear by themselves (the page polls with its cursor):
     * the two escalated ones held here, the dispute seen below. */
    assert_true(s_wait(fx, "!!document.querySelector('#cases-table tr[data-id=\"%s\"]')",
                       fx->culvert));
    assert_true(s_wait(fx, "!!document.querySelector('#cases-table tr[data-id=\"%s\"]')",
                       fx->fire));
    assert_true(s_wait(fx, "!!document.querySelector('#cases-table tr[data-id=\"%s\"]') && "
                           "document.querySelector('#cases-table tr[data-id=\"%s\"]')"
                           ".textContent.includes('village-w')", fx->dispute, fx->dispute));
    s_shot(fx, "cases");
    /* A filter: only what is held below. */
    s_js(fx, "const t = document.querySelector('#f-tier'); t.value = 'below';"
             "t.dispatchEvent(new Event('change', {bubbles: true})); true");
    assert_true(s_wait(fx, "!!document.querySelector('#cases-table tr[data-id=\"%s\"]') && "
                           "!document.querySelector('#cases-table tr[data-id=\"%s\"]')",
                       fx->dispute, fx->culvert));
    s_js(fx, "const t = document.querySelector('#f-tier'); t.value = '';"
             "t.dispatchEvent(new Event('change', {bubbles: true})); true");

    /* One case: its timeline and its signed path, both hops verified. */
    char js[512];
    snprintf(js, sizeof js, "location.hash = '#case/%s'; true", fx->culvert);
    s_js(fx, js);
    assert_true(s_wait(fx, "document.querySelectorAll('#path-table .ok').length === 2 && "
                           "document.querySelector('#case-status').textContent === 'reported'"));
    assert_true(s_wait(fx, "document.querySelector('#path-table').textContent.includes('village-w')"
                           " && document.querySelector('#path-table').textContent.includes('town-w')"));
    assert_true(s_wait(fx, "!document.querySelector('#case-actions').hidden"));
    /* The operator resolves it from the page. */
    s_js(fx, "document.querySelector('#action-kind').value = 'resolve';"
             "document.querySelector('#action-kind').dispatchEvent(new Event('change'));"
             "document.querySelector('#action-text').value = '" S_RESULT "';"
             "document.querySelector('#action-submit').click(); true");
    assert_true(s_wait(fx, "document.querySelector('#action-result').textContent === "
                           "'resolve: now resolved'"));
    assert_true(s_wait(fx, "document.querySelector('#timeline-table').textContent.includes('web:alice')"));
    s_shot(fx, "case");

    /* The other pages, each with what this grid has. */
    s_js(fx, "location.hash = '#departments'; true");
    assert_true(s_wait(fx, "!!document.querySelector('#departments-list .dept a[href=\"#case/%s\"]')",
                       fx->fire));
    s_shot(fx, "departments");
    s_js(fx, "location.hash = '#supervision'; true");
    /* claim.urgent = 1s: the police task is overdue. */
    assert_true(s_wait(fx, "!!document.querySelector('#supervision-table a[href=\"#case/%s\"]')",
                       fx->fire));
    s_shot(fx, "supervision");
    s_js(fx, "location.hash = '#map'; true");
    /* Every case held here has coordinates: six points. */
    assert_true(s_wait(fx, "document.querySelectorAll('#map-svg circle').length === 6 && "
                           "document.querySelectorAll('#map-svg polygon.outline').length === 4"));
    s_shot(fx, "map");
    s_js(fx, "location.hash = '#daily'; true");
    assert_true(s_wait(fx, "document.querySelector('#daily-date').value.length === 10"));
    s_shot(fx, "daily");
    s_js(fx, "location.hash = '#ranking'; true");
    assert_true(s_wait(fx, "document.querySelector('#ranking-table tbody').textContent.includes('district-w')"));
    s_shot(fx, "ranking");
}

/* The result reached the village: its store, and its page for a viewer. */
static void test_village_sees_it(void **state)
{
    fx_t *fx = *state;
    assert_true(node_wait_timeline(&fx->nodes[VILLAGE], fx->ctx, fx->culvert, S_RESULT, S_WAIT_MS));
    char out[16384], args[128];
    snprintf(args, sizeof args, "show --json %s", fx->culvert);
    assert_int_equal(node_gridctl(&fx->nodes[DIST], NULL, args, false, out, sizeof out), 0);
    assert_non_null(strstr(out, "web:alice"));

    s_page_login(fx, VILLAGE, "bob", "battery staple");
    char js[256];
    snprintf(js, sizeof js, "location.hash = '#case/%s'; true", fx->culvert);
    s_js(fx, js);
    assert_true(s_wait(fx, "['resolved', 'fed_back'].includes("
                           "document.querySelector('#case-status').textContent) && "
                           "document.querySelector('#case-facts').textContent.includes('" S_RESULT "')"));
    /* A viewer gets no action buttons. */
    assert_true(s_wait(fx, "document.querySelector('#case-actions').hidden"));
    s_shot(fx, "village-case");
}

/* ---- the API's refusals, with curl ---- */

static int s_curl(fx_t *fx, const char *args, const char *path, char *out, size_t cap)
{
    char cmd[4096], buf[65536];
    snprintf(cmd, sizeof cmd, "curl -sS --max-time 20 -w '\\n%%{http_code}' %s '%s%s'", args,
             fx->nodes[DIST].http_url, path);
    int rc = harness_run(cmd, buf, sizeof buf);
    char *nl = strrchr(buf, '\n');
    if (rc != 0 || !nl)
        return -1;
    *nl = '\0';
    size_t len = strlen(buf) < cap ? strlen(buf) : cap - 1;
    memcpy(out, buf, len);
    out[len] = '\0';
    return atoi(nl + 1);
}

static void s_login_curl(fx_t *fx, const char *user, const char *password, const char *jar,
                         char csrf[80])
{
    char args[1024], out[4096];
    snprintf(args, sizeof args, "-c '%s' -X POST --data-urlencode user=%s "
             "--data-urlencode 'password=%s'", jar, user, password);
    assert_int_equal(s_curl(fx, args, "/api/login", out, sizeof out), 200);
    json_object *obj = json_tokener_parse(out), *v = NULL;
    assert_true(obj && json_object_object_get_ex(obj, "csrf", &v));
    snprintf(csrf, 80, "%s", json_object_get_string(v));
    json_object_put(obj);
}

static void test_api_refusals(void **state)
{
    fx_t *fx = *state;
    char jar[400], bob_jar[400], csrf[80], bob_csrf[80], args[2048], out[16384];
    snprintf(jar, sizeof jar, "%.300s/alice.jar", fx->nodes[DIST].dir);
    snprintf(bob_jar, sizeof bob_jar, "%.300s/bob.jar", fx->nodes[DIST].dir);
    /* No session: 401; the page itself is public. */
    assert_int_equal(s_curl(fx, "", "/api/cases", out, sizeof out), 401);
    assert_int_equal(s_curl(fx, "", "/", out, sizeof out), 200);
    assert_non_null(strstr(out, "<title>gridrelay command view</title>"));
    assert_int_equal(s_curl(fx, "-D - -o /dev/null", "/app.js", out, sizeof out), 200);
    assert_non_null(strstr(out, "Content-Security-Policy: default-src 'none'"));
    s_login_curl(fx, "alice", "correct horse", jar, csrf);
    s_login_curl(fx, "bob", "battery staple", bob_jar, bob_csrf);

    /* Reads: the filters are checked. */
    snprintf(args, sizeof args, "-b '%s'", jar);
    assert_int_equal(s_curl(fx, args, "/api/cases?status=bogus", out, sizeof out), 400);
    assert_int_equal(s_curl(fx, args, "/api/cases?severity=loud", out, sizeof out), 400);
    assert_int_equal(s_curl(fx, args, "/api/cases?tier=city", out, sizeof out), 400);
    assert_int_equal(s_curl(fx, args, "/api/cases?since=yesterday", out, sizeof out), 400);
    assert_int_equal(s_curl(fx, args, "/api/cases?days=-1", out, sizeof out), 400);
    assert_int_equal(s_curl(fx, args, "/api/cases?days=0&tier=here&status=open", out, sizeof out),
                     200);
    assert_non_null(strstr(out, "Smoke behind the school"));
    assert_null(strstr(out, "Collapsed culvert"));     /* resolved: not open */
    assert_int_equal(s_curl(fx, args, "/api/ranking?period=decade", out, sizeof out), 400);
    assert_int_equal(s_curl(fx, args, "/api/daily?date=07-12-2026", out, sizeof out), 400);
    assert_int_equal(s_curl(fx, args, "/api/cases/not-an-id", out, sizeof out), 404);
    assert_int_equal(s_curl(fx, args, "/api/cases/01ZZZZZZZZZZZZZZZZZZZZZZZZ", out, sizeof out), 404);
    /* The polling cursor: from the newest change on, nothing new. */
    assert_int_equal(s_curl(fx, args, "/api/cases", out, sizeof out), 200);
    json_object *obj = json_tokener_parse(out), *cursor = NULL, *cases = NULL;
    assert_true(obj && json_object_object_get_ex(obj, "cursor", &cursor));
    char path[128];
    snprintf(path, sizeof path, "/api/cases?since=%lld",
             (long long)json_object_get_int64(cursor) + 1);
    json_object_put(obj);
    assert_int_equal(s_curl(fx, args, path, out, sizeof out), 200);
    obj = json_tokener_parse(out);
    assert_true(obj && json_object_object_get_ex(obj, "cases", &cases));
    assert_int_equal(json_object_array_length(cases), 0);
    json_object_put(obj);

    /* Actions: CSRF, the operator role, the body, the case. */
    char url[128];
    snprintf(url, sizeof url, "/api/cases/%s/actions", fx->fire);
    snprintf(args, sizeof args, "-b '%s' -X POST -H 'Content-Type: application/json' "
             "-d '{\"action\":\"accept\"}'", jar);
    assert_int_equal(s_curl(fx, args, url, out, sizeof out), 403);
    assert_non_null(strstr(out, "\"csrf\""));
    snprintf(args, sizeof args, "-b '%s' -H 'X-CSRF-Token: %s' -X POST "
             "-H 'Content-Type: application/json' -d '{\"action\":\"accept\"}'", bob_jar, bob_csrf);
    assert_int_equal(s_curl(fx, args, url, out, sizeof out), 403);
    assert_non_null(strstr(out, "operator"));
    const struct { const char *body; int status; } bad[] = {
        {"not json", 400},
        {"[1,2]", 400},
        {"{\"action\":\"explode\"}", 400},
        {"{\"action\":\"assign\"}", 400},
        {"{\"action\":\"resolve\",\"text\":7}", 400},
        {"{\"action\":\"dispatch\",\"target\":\"police\",\"co\":\"x\"}", 400},
        {"{\"action\":\"assign\",\"target\":\"no-such-child\"}", 0},   /* the node refuses */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(args, sizeof args, "-b '%s' -H 'X-CSRF-Token: %s' -X POST "
                 "-H 'Content-Type: application/json' -d '%s'", jar, csrf, bad[i].body);
        int status = s_curl(fx, args, url, out, sizeof out);
        if (bad[i].status)
            assert_int_equal(status, bad[i].status);
        else
            assert_true(status >= 400 && status < 500);
        assert_non_null(strstr(out, "\"error\""));
    }
    snprintf(args, sizeof args, "-b '%s' -H 'X-CSRF-Token: %s' -X POST "
             "-H 'Content-Type: application/json' -d '{\"action\":\"accept\"}'", jar, csrf);
    assert_int_equal(s_curl(fx, args, "/api/cases/01ZZZZZZZZZZZZZZZZZZZZZZZZ/actions", out,
                            sizeof out), 404);
    assert_int_equal(s_curl(fx, args, "/api/cases/x/y", out, sizeof out), 404);
    /* A good one through curl: the urge reaches the police (a task notice). */
    snprintf(args, sizeof args, "-b '%s' -H 'X-CSRF-Token: %s' -X POST "
             "-H 'Content-Type: application/json' -d '{\"action\":\"urge\",\"text\":\"by noon\"}'",
             jar, csrf);
    assert_int_equal(s_curl(fx, args, url, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"by\":\"alice\""));
}

int main(void)
{
    if (!cdp_browser()) {
        fprintf(stderr, "no chromium (tools/install-deps.sh installs it): skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_district_page),
        cmocka_unit_test(test_village_sees_it),
        cmocka_unit_test(test_api_refusals),
    };
    return GROUP_RUN(tests, s_setup, s_teardown);
}
