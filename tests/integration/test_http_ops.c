/* The HTTP face's operations side (issue 17) through real processes: a
 * township and a village gridrelayd, the village serving HTTPS with a
 * certificate made by openssl at test time, on a test clock, with one
 * department. Driven with curl --cacert:
 *  - TLS: https works with the CA file, a client without it refuses the
 *    self-signed certificate, plain http on the port gets no answer;
 *  - a bad or missing cert/key file stops gridrelayd at start with a
 *    message naming the file and its config line;
 *  - /metrics: an error reply counter for every wire ErrorCode (0
 *    included) that counts a refusal, a dispatched unclaimed task as
 *    queue depth 1 (then claimed 1), the township down -> the village's
 *    outbox oldest age above 0, back to 0 once it is up again;
 *  - under systemd (JOURNAL_STREAM) log lines carry <N> syslog priorities;
 *  - a login expires when the node's clock passes session_ttl: 401;
 *  - Open311 GeoReport v2 in XML (services, a service definition, a new
 *    request, one request, the list, the error form), checked with xmllint
 *    against the spec's element names. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <zmq.h>

#include "gridrelay.pb-c.h"
#include "keys.h"
#include "tiers_fixture.h"
#include "group.h"

#define WAIT_MS 20000
#define S_API_KEY "0123456789abcdef0123456789abcdef"

enum { TOWN, VILLAGE, N };

typedef struct {
    harness_node_t nodes[N];
    void *ctx;
    char catalogue[320];
    char cert[320], key[320];
    char jar[320];
    char dept[400];         /* the roads department's secret key file */
} fx_t;

static fx_t s_fx;

/* curl ARGS (after --cacert) against url+path; the body into out, the
 * status code returned (-1 when curl failed, e.g. TLS refused). */
static int s_curl_at(const char *url, const char *args, const char *path, char *out, size_t cap)
{
    char cmd[4096], buf[65536];
    snprintf(cmd, sizeof cmd, "curl -sS --max-time 20 -w '\\n%%{http_code}' %s '%s%s' 2>&1",
             args, url, path);
    int rc = harness_run(cmd, buf, sizeof buf);
    if (getenv("GR_TEST_VERBOSE"))
        fprintf(stderr, "curl %s %s -> %d:\n%.2000s\n", args, path, rc, buf);
    char *nl = strrchr(buf, '\n');
    if (out && cap)
        snprintf(out, cap, "%s", buf);
    if (rc != 0 || !nl)
        return -1;
    *nl = '\0';
    if (out && cap)
        snprintf(out, cap, "%s", buf);
    return atoi(nl + 1);
}

static int s_curl(const char *args, const char *path, char *out, size_t cap)
{
    char all[2048];
    snprintf(all, sizeof all, "--cacert '%s' %s", s_fx.cert, args);
    return s_curl_at(s_fx.nodes[VILLAGE].http_url, all, path, out, cap);
}

/* The value of the metric line that begins with series ("name{labels}"),
 * -1 when absent. */
static double s_metric(const char *series)
{
    static char out[131072];
    if (s_curl("", "/metrics", out, sizeof out) != 200)
        return -1;
    char want[512];
    snprintf(want, sizeof want, "\n%s ", series);
    const char *p = strstr(out, want);
    return p ? strtod(p + strlen(want), NULL) : -1;
}

typedef struct {
    const char *series;
    double above;
    bool at_most;   /* wait for value <= above instead */
} s_metric_wait_t;

static bool s_metric_holds(void *ctx)
{
    s_metric_wait_t *w = ctx;
    double v = s_metric(w->series);
    return v >= 0 && (w->at_most ? v <= w->above : v > w->above);
}

static bool s_wait_metric(const char *series, double above, bool at_most)
{
    s_metric_wait_t w = {series, above, at_most};
    return harness_wait_until(s_metric_holds, &w, WAIT_MS);
}

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

/* A self-signed certificate for 127.0.0.1 and its key, made now. */
static int s_make_cert(fx_t *fx)
{
    char cmd[2048], out[4096];
    snprintf(fx->cert, sizeof fx->cert, "%.300s/tls.crt", fx->nodes[VILLAGE].dir);
    snprintf(fx->key, sizeof fx->key, "%.300s/tls.key", fx->nodes[VILLAGE].dir);
    snprintf(cmd, sizeof cmd, "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
             "-nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
             "-keyout '%s' -out '%s' 2>&1", fx->key, fx->cert);
    return harness_run(cmd, out, sizeof out);
}

static int s_setup(void **state)
{
    fx_t *fx = &s_fx;
    memset(fx, 0, sizeof *fx);
    if (harness_node_init(&fx->nodes[TOWN], "town-o", 1) != 0 ||
        harness_node_init(&fx->nodes[VILLAGE], "village-o", 1) != 0 || s_make_cert(fx) != 0)
        return -1;
    harness_node_t *town = &fx->nodes[TOWN], *village = &fx->nodes[VILLAGE];
    snprintf(town->tier, sizeof town->tier, "township");
    town->status_listen = true;
    snprintf(fx->catalogue, sizeof fx->catalogue, "%.250s/../catalogue.ini", town->dir);
    if (fixture_write_file(fx->catalogue,
                "[T.ROADS]\nclass = test\nsubclass = road\nname = for the roads desk\n"
                "authority = village\n\n"
                "[T.TOWNSHIP]\nclass = test\nsubclass = up\nname = needs the township\n"
                "authority = township\n") != 0)
        return -1;
    for (int i = 0; i < N; i++)
        memcpy(fx->nodes[i].catalogue, fx->catalogue, sizeof fx->catalogue);

    /* The village's roads department, its key on disk for gridctl dept. */
    gr_keypair_t roads;
    char err[256], sec[400], pub[400];
    snprintf(sec, sizeof sec, "%.300s/roads.sec", village->dir);
    snprintf(pub, sizeof pub, "%.300s/roads.pub", village->dir);
    if (gr_keys_generate(&roads) != 0 || gr_keys_save(&roads, sec, pub, err, sizeof err) != 0)
        return -1;
    village->task_listen = true;
    snprintf(village->clock, sizeof village->clock, "%.300s/clock", village->dir);
    if (harness_clock_set(village->clock, 0) != 0)
        return -1;

    char alice[256];
    if (s_hash("operator", "correct horse", alice, sizeof alice) != 0)
        return -1;
    harness_add_child(town, village);
    if (harness_node_start(town) != 0)
        return -1;
    harness_set_parent(village, town, "parent");
    size_t n = strlen(village->sections);
    snprintf(village->sections + n, sizeof village->sections - n,
             "\n[departments]\nroads = @%s, roads desk\n\n[dispatch]\nT.ROADS = roads\n\n", pub);
    char extra[4096];
    snprintf(extra, sizeof extra,
             "[http]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nsession_ttl = 1min\n\n"
             "[http_users]\nalice = %s\n\n"
             "[open311_clients]\nfixmystreet = " S_API_KEY ":fms-bridge\n\n", fx->cert, fx->key,
             alice);
    if (harness_node_start_with(village, extra, 20000) != 0 ||
        strncmp(village->http_url, "https://", 8) != 0)
        return -1;
    snprintf(fx->dept, sizeof fx->dept, "%s", sec);
    snprintf(fx->jar, sizeof fx->jar, "%.300s/jar.txt", village->dir);
    fx->ctx = zmq_ctx_new();
    *state = fx;
    return fx->ctx ? 0 : -1;
}

static int s_teardown(void **state)
{
    fx_t *fx = *state;
    return nodes_teardown(fx->ctx, fx->nodes, N, fx->catalogue);
}

static void test_tls(void **state)
{
    fx_t *fx = *state;
    char out[8192], plain[160];
    assert_int_equal(s_curl("", "/healthz", out, sizeof out), 200);
    assert_string_equal(out, "ok\n");
    /* Without the CA file the self-signed certificate is refused. */
    assert_int_equal(s_curl_at(fx->nodes[VILLAGE].http_url, "", "/healthz", out, sizeof out), -1);
    assert_non_null(strstr(out, "certificate"));
    /* Plain HTTP on the TLS port gets no HTTP answer. */
    snprintf(plain, sizeof plain, "http://%s", fx->nodes[VILLAGE].http_url + 8);
    assert_true(s_curl_at(plain, "", "/healthz", out, sizeof out) <= 0);
    /* The session cookie is Secure over HTTPS. */
    char args[1024];
    snprintf(args, sizeof args, "-D - -o /dev/null -X POST --data-urlencode user=alice "
             "--data-urlencode 'password=correct horse'");
    assert_int_equal(s_curl(args, "/api/login", out, sizeof out), 200);
    assert_non_null(strstr(out, "; Secure"));
}

/* gridrelayd with [http] cert and key as given must stop at start with a
 * message holding each of want. */
static void s_start_refused_env(const char *env, const char *cert, const char *key,
                                const char *want1, const char *want2)
{
    harness_node_t node;
    assert_int_equal(harness_node_init(&node, "bad-tls", 1), 0);
    assert_int_equal(harness_node_write_config(&node), 0);
    FILE *f = fopen(node.config, "a");
    assert_non_null(f);
    fprintf(f, "\n[http]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\n", cert, key);
    assert_int_equal(fclose(f), 0);
    char cmd[2048], out[8192];
    snprintf(cmd, sizeof cmd, "%s timeout 60 '%s' --config '%s' 2>&1; echo \"exit=$?\"", env,
             harness_daemon_path(), node.config);
    assert_int_equal(harness_run(cmd, out, sizeof out), 0);
    if (getenv("GR_TEST_VERBOSE"))
        fprintf(stderr, "%s\n", out);
    assert_non_null(strstr(out, "exit=1"));
    assert_non_null(strstr(out, want1));
    assert_non_null(strstr(out, want2));
    /* --check-config (the unit's ExecStartPre) says the same. */
    snprintf(cmd, sizeof cmd, "timeout 60 '%s' --check-config --config '%s' 2>&1; "
             "echo \"exit=$?\"", harness_daemon_path(), node.config);
    assert_int_equal(harness_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "exit=1"));
    assert_non_null(strstr(out, "gridrelayd: [http] "));
    if (!*env)
        assert_non_null(strstr(out, want2));
    harness_node_cleanup(&node);
}

static void s_start_refused(const char *cert, const char *key, const char *want1,
                            const char *want2)
{
    s_start_refused_env("", cert, key, want1, want2);
}

static void test_bad_tls_files_stop_the_start(void **state)
{
    fx_t *fx = *state;
    char garbage[400], missing[400];
    snprintf(garbage, sizeof garbage, "%.300s/garbage.pem", fx->nodes[VILLAGE].dir);
    snprintf(missing, sizeof missing, "%.300s/missing.pem", fx->nodes[VILLAGE].dir);
    assert_int_equal(fixture_write_file(garbage, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n"
                                      "-----END CERTIFICATE-----\n"), 0);
    s_start_refused(missing, fx->key, "[http] cert = ", "cannot open it");
    s_start_refused(garbage, fx->key, "[http] cert = ", "not usable for HTTPS");
    /* Under systemd (JOURNAL_STREAM set) each line starts with its syslog
     * priority for journald (SyslogLevelPrefix): <3> for an error. */
    s_start_refused_env("JOURNAL_STREAM=9:1234", garbage, fx->key,
                        "<3>ERROR  node=bad-tls cannot start",
                        "cannot start: [http] cert = ");
    s_start_refused(fx->cert, garbage, "[http] key = ", "not usable for HTTPS");
    /* A key that is not the certificate's. */
    char other[400], cmd[1024], out[2048];
    snprintf(other, sizeof other, "%.300s/other.key", fx->nodes[VILLAGE].dir);
    snprintf(cmd, sizeof cmd, "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 "
             "-out '%s' 2>&1", other);
    assert_int_equal(harness_run(cmd, out, sizeof out), 0);
    s_start_refused(fx->cert, other, "[http] key = ", "not usable for HTTPS");
}

static void test_error_codes_all_listed_and_counted(void **state)
{
    fx_t *fx = *state;
    /* Every wire code is there, 0 included. */
    const ProtobufCEnumDescriptor *codes = &gridrelay__error_code__descriptor;
    for (unsigned i = 0; i < codes->n_values; i++) {
        if (codes->values[i].value == 0)
            continue;
        char series[160];
        snprintf(series, sizeof series, "gridrelay_error_replies_total{code=\"%s\"}",
                 codes->values[i].name);
        assert_true(s_metric(series) >= 0);
    }
    /* A case the node does not hold: ERR_NOT_FOUND counted. */
    const char *series = "gridrelay_error_replies_total{code=\"ERR_NOT_FOUND\"}";
    double before = s_metric(series);
    assert_int_equal(node_status(&fx->nodes[VILLAGE], fx->ctx, "no-such-case", NULL, 0), 0);
    assert_true(s_wait_metric(series, before, false));
    /* The rest of the set. */
    assert_true(s_wait_metric("gridrelay_link_up{peer=\"town-o\",role=\"parent\"}", 0.5, false));
    char out[131072];
    assert_int_equal(s_curl("", "/metrics", out, sizeof out), 200);
    assert_non_null(strstr(out, "# TYPE gridrelay_commit_seconds histogram\n"));
    assert_non_null(strstr(out, "\ngridrelay_timer_lag_seconds "));
    assert_non_null(strstr(out, "\ngridrelay_store_used_bytes "));
    assert_non_null(strstr(out, "\ngridrelay_store_map_bytes "));
    assert_non_null(strstr(out, "\ngridrelay_link_outbox_oldest_age_seconds{peer=\"town-o\""));
}

static void test_dept_queue_depth(void **state)
{
    fx_t *fx = *state;
    assert_true(s_metric("gridrelay_dept_queue_depth{dept=\"roads\",state=\"open\"}") == 0);
    assert_int_equal(node_report(&fx->nodes[VILLAGE], fx->ctx, "pothole-1", "T.ROADS", 1), 0);
    assert_true(s_wait_metric("gridrelay_dept_queue_depth{dept=\"roads\",state=\"open\"}", 0.5,
                              false));
    assert_true(s_metric("gridrelay_dept_queue_depth{dept=\"roads\",state=\"open\"}") == 1);
    assert_true(s_metric("gridrelay_dept_queue_depth{dept=\"roads\",state=\"claimed\"}") == 0);
    /* The department claims it: open 0, claimed 1. */
    char out[4096];
    assert_int_equal(node_gridctl(&fx->nodes[VILLAGE], fx->dept, "dept claim pothole-1", true, out,
                                  sizeof out), 0);
    assert_true(s_wait_metric("gridrelay_dept_queue_depth{dept=\"roads\",state=\"claimed\"}", 0.5,
                              false));
    assert_true(s_metric("gridrelay_dept_queue_depth{dept=\"roads\",state=\"open\"}") == 0);
}

static void test_outbox_oldest_age(void **state)
{
    fx_t *fx = *state;
    const char *age = "gridrelay_link_outbox_oldest_age_seconds{peer=\"town-o\",role=\"parent\"}";
    const char *depth = "gridrelay_link_outbox_depth{peer=\"town-o\",role=\"parent\"}";
    assert_true(s_wait_metric(depth, 0, true));
    assert_true(s_metric(age) == 0);
    /* The township down: what escalates waits, and ages. */
    assert_int_equal(harness_node_stop(&fx->nodes[TOWN], SIGTERM), 0);
    assert_int_equal(node_report(&fx->nodes[VILLAGE], fx->ctx, "bridge-1", "T.TOWNSHIP", 1), 0);
    assert_true(s_wait_metric(depth, 0.5, false));
    assert_true(s_wait_metric(age, 0.2, false));
    double first = s_metric(age);
    assert_true(s_wait_metric(age, first, false));   /* it grows */
    /* Back up: delivered, nothing waits. */
    assert_int_equal(harness_node_start(&fx->nodes[TOWN]), 0);
    assert_true(node_wait_status(&fx->nodes[TOWN], fx->ctx, "bridge-1", 1 /* REPORTED */, WAIT_MS));
    assert_true(s_wait_metric(depth, 0, true));
    assert_true(s_metric(age) == 0);
}

/* The answer that ended the wait: the first 401 says why. */
static char s_gone_answer[4096];

static bool s_session_gone(void *ctx)
{
    return s_curl(ctx, "/api/session", s_gone_answer, sizeof s_gone_answer) == 401;
}

/* xmllint --xpath 'string(XPATH)' on the document xml: into out; 0 when
 * xmllint parsed it. */
static int s_xpath(const char *xml, const char *xpath, char *out, size_t cap)
{
    char path[400], cmd[1024];
    snprintf(path, sizeof path, "%.300s/answer.xml", s_fx.nodes[VILLAGE].dir);
    if (fixture_write_file(path, xml) != 0)
        return -1;
    int len = snprintf(cmd, sizeof cmd,
                       "xmllint --noout '%s' 2>&1 && xmllint --xpath 'string(%s)' '%s'", path,
                       xpath, path);
    if (len < 0 || (size_t)len >= sizeof cmd)
        return -1;  /* a cut command would ask another question */
    int rc = harness_run(cmd, out, cap);
    out[strcspn(out, "\n")] = '\0';
    return rc;
}

static void test_open311_xml(void **state)
{
    (void)state;
    char out[16384], v[512], path[256];
    assert_int_equal(s_curl("", "/open311/v2/services.xml", out, sizeof out), 200);
    assert_int_equal(s_xpath(out, "/services/service[service_code=\"T.TOWNSHIP\"]/service_name",
                             v, sizeof v), 0);
    assert_string_equal(v, "needs the township");
    assert_int_equal(s_xpath(out, "/services/service[service_code=\"T.ROADS\"]/type", v,
                             sizeof v), 0);
    assert_string_equal(v, "realtime");
    assert_int_equal(s_xpath(out, "/services/service[1]/metadata", v, sizeof v), 0);
    assert_string_equal(v, "false");
    assert_int_equal(s_curl("", "/open311/v2/services/T.ROADS.xml", out, sizeof out), 200);
    assert_int_equal(s_xpath(out, "/service_definition/service_code", v, sizeof v), 0);
    assert_string_equal(v, "T.ROADS");
    assert_int_equal(s_xpath(out, "count(/service_definition/attributes)", v, sizeof v), 0);
    assert_string_equal(v, "1");

    /* The error form: <errors><error><code/><description/></error></errors>. */
    assert_int_equal(s_curl("", "/open311/v2/services/NOPE.xml", out, sizeof out), 404);
    assert_int_equal(s_xpath(out, "/errors/error/code", v, sizeof v), 0);
    assert_string_equal(v, "404");
    assert_int_equal(s_curl("-d api_key=wrongwrongwrongwrong -d service_code=T.ROADS -d lat=30.5 "
                            "-d long=114.3", "/open311/v2/requests.xml", out, sizeof out), 403);
    assert_int_equal(s_xpath(out, "/errors/error/code", v, sizeof v), 0);
    assert_string_equal(v, "403");
    assert_int_equal(s_xpath(out, "string-length(/errors/error/description) > 0", v, sizeof v), 0);
    assert_string_equal(v, "true");

    /* A new request, answered in XML, then read back one and in the list. */
    assert_int_equal(s_curl("-d api_key=" S_API_KEY " -d service_code=T.ROADS -d lat=30.5 "
                            "-d long=114.25 --data-urlencode 'description=sign down'",
                            "/open311/v2/requests.xml", out, sizeof out), 201);
    char id[64];
    assert_int_equal(s_xpath(out, "/service_requests/request/service_request_id", id, sizeof id),
                     0);
    assert_int_equal(strlen(id), 26);
    snprintf(path, sizeof path, "/open311/v2/requests/%s.xml", id);
    assert_int_equal(s_curl("", path, out, sizeof out), 200);
    assert_int_equal(s_xpath(out, "/service_requests/request/status", v, sizeof v), 0);
    assert_string_equal(v, "open");
    assert_int_equal(s_xpath(out, "/service_requests/request/service_code", v, sizeof v), 0);
    assert_string_equal(v, "T.ROADS");
    assert_int_equal(s_xpath(out, "/service_requests/request/lat", v, sizeof v), 0);
    assert_string_equal(v, "30.5");
    assert_int_equal(s_xpath(out, "substring(/service_requests/request/requested_datetime, 1, 2)",
                             v, sizeof v), 0);
    assert_string_equal(v, "20");
    assert_int_equal(s_xpath(out, "count(/service_requests/request/agency_responsible)", v,
                             sizeof v), 0);
    assert_string_equal(v, "1");
    assert_int_equal(s_curl("", "/open311/v2/requests.xml?status=open", out, sizeof out), 200);
    char xpath[200];
    snprintf(xpath, sizeof xpath, "count(/service_requests/request[service_request_id=\"%s\"])",
             id);
    assert_int_equal(s_xpath(out, xpath, v, sizeof v), 0);
    assert_string_equal(v, "1");
    /* JSON stays as it was. */
    snprintf(path, sizeof path, "/open311/v2/requests/%s.json", id);
    assert_int_equal(s_curl("", path, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"status\":\"open\""));
}

static void test_session_expires(void **state)
{
    fx_t *fx = *state;
    char args[1024], out[4096], code[64] = "";
    snprintf(args, sizeof args, "-c '%s' -X POST --data-urlencode user=alice "
             "--data-urlencode 'password=correct horse'", fx->jar);
    assert_int_equal(s_curl(args, "/api/login", out, sizeof out), 200);
    snprintf(args, sizeof args, "-b '%s'", fx->jar);
    assert_int_equal(s_curl(args, "/api/session", out, sizeof out), 200);
    /* session_ttl is 1min: the node's clock two minutes on. */
    assert_int_equal(harness_clock_set(fx->nodes[VILLAGE].clock, 2 * 60 * 1000), 0);
    /* The node rereads its clock file now and then: polled, bounded. */
    bool expired = harness_wait_until(s_session_gone, args, WAIT_MS);
    snprintf(out, sizeof out, "%s", s_gone_answer);
    /* Gone for good: the next request is refused too. */
    int st = s_curl(args, "/api/session", NULL, 0);
    assert_true(expired);
    assert_int_equal(st, 401);
    json_object *obj = json_tokener_parse(out), *v = NULL;
    if (obj && json_object_object_get_ex(obj, "code", &v))
        snprintf(code, sizeof code, "%s", json_object_get_string(v));
    assert_string_equal(code, "login_required");
    assert_true(json_object_object_get_ex(obj, "error", &v));
    assert_non_null(strstr(json_object_get_string(v), "expired"));
    json_object_put(obj);
    assert_int_equal(harness_clock_set(fx->nodes[VILLAGE].clock, 0), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_bad_tls_files_stop_the_start),
        cmocka_unit_test(test_error_codes_all_listed_and_counted),
        cmocka_unit_test(test_dept_queue_depth),
        cmocka_unit_test(test_open311_xml),
        cmocka_unit_test(test_outbox_oldest_age),
        cmocka_unit_test(test_session_expires),
    };
    return GROUP_RUN(tests, s_setup, s_teardown);
}
