/* The node's HTTP face (issue 17) through real processes: a township and
 * a village gridrelayd, the village with [http] on a free port, driven
 * with curl. Logins (right, wrong, none, expired-cookie-less), the CSRF
 * check on every POST, the body limit, JSON errors with their status
 * codes, /healthz, /readyz and /metrics; Open311 GeoReport v2 intake and
 * its spec errors, a request becoming a case that escalates
 * village -> township like any report. */
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

#include "harness.h"
#include "group.h"
#include "tiers_fixture.h"

#define S_API_KEY "0123456789abcdef0123456789abcdef"

enum { TOWN, VILLAGE, N };

typedef struct {
    harness_node_t nodes[N];
    void *ctx;
    char catalogue[320];
    char jar[320];          /* curl's cookie jar: alice's session */
    char csrf[80];
} fx_t;

static fx_t s_fx;

/* curl ARGS against the village's HTTP face at path; the body into out,
 * the status code returned (-1 when curl failed). */
static int s_curl(const char *args, const char *path, char *out, size_t cap)
{
    char cmd[4096], buf[65536];
    snprintf(cmd, sizeof cmd, "curl -sS --max-time 20 -w '\\n%%{http_code}' %s '%s%s'", args,
             s_fx.nodes[VILLAGE].http_url, path);
    int rc = harness_run(cmd, buf, sizeof buf);
    if (getenv("GR_TEST_VERBOSE"))
        fprintf(stderr, "curl %s %s -> %d:\n%s\n", args, path, rc, buf);
    char *nl = strrchr(buf, '\n');
    if (rc != 0 || !nl)
        return -1;
    *nl = '\0';
    snprintf(out, cap, "%s", buf);
    return atoi(nl + 1);
}

/* The string at key of the JSON object text, into out ("" when absent). */
static void s_json_str(const char *text, const char *key, char *out, size_t cap)
{
    out[0] = '\0';
    json_object *obj = json_tokener_parse(text), *v = NULL;
    if (obj && json_object_object_get_ex(obj, key, &v))
        snprintf(out, cap, "%s", json_object_get_string(v));
    json_object_put(obj);
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

static int s_setup(void **state)
{
    fx_t *fx = &s_fx;
    memset(fx, 0, sizeof *fx);
    if (harness_node_init(&fx->nodes[TOWN], "town-h", 1) != 0 ||
        harness_node_init(&fx->nodes[VILLAGE], "village-h", 1) != 0)
        return -1;
    snprintf(fx->nodes[TOWN].tier, sizeof fx->nodes[TOWN].tier, "township");
    fx->nodes[TOWN].status_listen = true;
    snprintf(fx->catalogue, sizeof fx->catalogue, "%.250s/../catalogue.ini", fx->nodes[TOWN].dir);
    if (fixture_write_file(fx->catalogue,
                "[T.VILLAGE]\nclass = test\nsubclass = test\nname = handled in the village\n"
                "authority = village\n\n"
                "[T.TOWNSHIP]\nclass = test\nsubclass = road\nname = needs the township\n"
                "authority = township\n") != 0)
        return -1;
    for (int i = 0; i < N; i++)
        memcpy(fx->nodes[i].catalogue, fx->catalogue, sizeof fx->catalogue);
    char alice[256], bob[256];
    if (s_hash("operator", "correct horse", alice, sizeof alice) != 0 ||
        s_hash("viewer", "battery staple", bob, sizeof bob) != 0)
        return -1;
    harness_add_child(&fx->nodes[TOWN], &fx->nodes[VILLAGE]);
    if (harness_node_start(&fx->nodes[TOWN]) != 0)
        return -1;
    harness_set_parent(&fx->nodes[VILLAGE], &fx->nodes[TOWN], "parent");
    char extra[2048];
    snprintf(extra, sizeof extra,
             "[http]\nlisten = 127.0.0.1:0\nmax_body = 2048\nthreads = 2\n\n"
             "[http_users]\nalice = %s\nbob = %s\n\n"
             "[open311_clients]\nfixmystreet = " S_API_KEY ":fms-bridge\n\n",
             alice, bob);
    if (harness_node_start_with(&fx->nodes[VILLAGE], extra, 20000) != 0 ||
        !fx->nodes[VILLAGE].http_url[0])
        return -1;
    snprintf(fx->jar, sizeof fx->jar, "%.300s/jar.txt", fx->nodes[VILLAGE].dir);
    fx->ctx = zmq_ctx_new();
    *state = fx;
    return fx->ctx ? 0 : -1;
}

static int s_teardown(void **state)
{
    fx_t *fx = *state;
    return nodes_teardown(fx->ctx, fx->nodes, N, fx->catalogue);
}

/* alice's login: the cookie into the jar, the CSRF token into fx->csrf. */
static void s_login(fx_t *fx)
{
    char args[1024], out[4096];
    snprintf(args, sizeof args, "-c '%s' -X POST --data-urlencode user=alice "
             "--data-urlencode 'password=correct horse'", fx->jar);
    assert_int_equal(s_curl(args, "/api/login", out, sizeof out), 200);
    s_json_str(out, "csrf", fx->csrf, sizeof fx->csrf);
    assert_int_equal(strlen(fx->csrf), 64);
    char role[32];
    s_json_str(out, "role", role, sizeof role);
    assert_string_equal(role, "operator");
}

static void test_health(void **state)
{
    (void)state;
    char out[4096];
    assert_int_equal(s_curl("", "/healthz", out, sizeof out), 200);
    assert_int_equal(s_curl("", "/readyz", out, sizeof out), 200);
    assert_non_null(strstr(out, "ready"));
}

static void test_login_and_refusals(void **state)
{
    fx_t *fx = *state;
    char out[8192], args[1024], code[64];

    /* Wrong password and unknown user: the same 401, JSON. */
    assert_int_equal(s_curl("-X POST -d user=alice -d password=wrong", "/api/login", out,
                            sizeof out), 401);
    s_json_str(out, "code", code, sizeof code);
    assert_string_equal(code, "login_failed");
    assert_int_equal(s_curl("-X POST -d user=mallory -d password=wrong", "/api/login", out,
                            sizeof out), 401);
    /* A login needs both fields. */
    assert_int_equal(s_curl("-X POST -d user=alice", "/api/login", out, sizeof out), 400);
    s_json_str(out, "code", code, sizeof code);
    assert_string_equal(code, "bad_request");

    /* No session: 401 login_required. */
    assert_int_equal(s_curl("", "/api/session", out, sizeof out), 401);
    s_json_str(out, "code", code, sizeof code);
    assert_string_equal(code, "login_required");
    /* A made-up cookie is no session either. */
    assert_int_equal(s_curl("-b gr_session=0123456789abcdef", "/api/session", out, sizeof out),
                     401);

    s_login(fx);
    /* The cookie is HttpOnly and SameSite=Strict, with an expiry. */
    char jar[4096];
    FILE *f = fopen(fx->jar, "r");
    assert_non_null(f);
    size_t n = fread(jar, 1, sizeof jar - 1, f);
    fclose(f);
    jar[n] = '\0';
    assert_non_null(strstr(jar, "#HttpOnly_"));
    snprintf(args, sizeof args, "-D - -o /dev/null -X POST --data-urlencode user=bob "
             "--data-urlencode 'password=battery staple'");
    assert_int_equal(s_curl(args, "/api/login", out, sizeof out), 200);
    assert_non_null(strstr(out, "HttpOnly"));
    assert_non_null(strstr(out, "SameSite=Strict"));
    assert_non_null(strstr(out, "Max-Age="));

    snprintf(args, sizeof args, "-b '%s'", fx->jar);
    assert_int_equal(s_curl(args, "/api/session", out, sizeof out), 200);
    char user[64];
    s_json_str(out, "user", user, sizeof user);
    assert_string_equal(user, "alice");

    /* A POST with the session but no CSRF token, or a wrong one: 403. */
    snprintf(args, sizeof args, "-b '%s' -X POST -d x=1", fx->jar);
    assert_int_equal(s_curl(args, "/api/logout", out, sizeof out), 403);
    s_json_str(out, "code", code, sizeof code);
    assert_string_equal(code, "csrf");
    snprintf(args, sizeof args, "-b '%s' -X POST -H 'X-CSRF-Token: %064d' -d x=1", fx->jar, 7);
    assert_int_equal(s_curl(args, "/api/logout", out, sizeof out), 403);

    /* A body above max_body (2048 here): 413, announced or not. */
    char big[3100], big_path[400];
    memcpy(big, "user=alice&password=", 20);
    memset(big + 20, 'a', 3000);
    big[3020] = '\0';
    snprintf(big_path, sizeof big_path, "%.300s/big.txt", fx->nodes[VILLAGE].dir);
    assert_int_equal(fixture_write_file(big_path, big), 0);
    snprintf(args, sizeof args, "-X POST --data-binary '@%s'", big_path);
    assert_int_equal(s_curl(args, "/api/login", out, sizeof out), 413);
    s_json_str(out, "code", code, sizeof code);
    assert_string_equal(code, "body_too_large");
    snprintf(args, sizeof args, "-X POST -H 'Transfer-Encoding: chunked' --data-binary '@%s'",
             big_path);
    assert_int_equal(s_curl(args, "/api/login", out, sizeof out), 413);

    /* No such resource, and a method the route does not take. */
    assert_int_equal(s_curl("", "/no/such/thing", out, sizeof out), 404);
    s_json_str(out, "code", code, sizeof code);
    assert_string_equal(code, "not_found");
    assert_int_equal(s_curl("-X POST -d a=b", "/healthz", out, sizeof out), 405);
    assert_int_equal(s_curl("", "/api/login", out, sizeof out), 405);

    /* The refusals are counted. */
    assert_int_equal(s_curl("", "/metrics", out, sizeof out), 200);
    assert_non_null(strstr(out, "gridrelay_http_refused_total{code=\"csrf\"} 2\n"));
    assert_non_null(strstr(out, "gridrelay_http_refused_total{code=\"login_failed\"} 2\n"));
    assert_non_null(strstr(out, "gridrelay_http_refused_total{code=\"body_too_large\"} 2\n"));

    /* Logout with the token ends the session. */
    snprintf(args, sizeof args, "-b '%s' -X POST -H 'X-CSRF-Token: %s' -d x=1", fx->jar,
             fx->csrf);
    assert_int_equal(s_curl(args, "/api/logout", out, sizeof out), 200);
    snprintf(args, sizeof args, "-b '%s'", fx->jar);
    assert_int_equal(s_curl(args, "/api/session", out, sizeof out), 401);
}

static void test_metrics(void **state)
{
    (void)state;
    char out[65536];
    assert_int_equal(s_curl("", "/metrics", out, sizeof out), 200);
    assert_non_null(strstr(out, "gridrelay_up 1\n"));
    assert_non_null(strstr(out, "# TYPE gridrelay_commit_seconds histogram\n"));
    assert_non_null(strstr(out, "gridrelay_commit_seconds_bucket{le=\"+Inf\"} "));
    assert_non_null(strstr(out, "gridrelay_store_used_bytes "));
    assert_non_null(strstr(out, "gridrelay_link_up{peer=\"town-h\",role=\"parent\"} "));
    assert_non_null(strstr(out, "gridrelay_link_outbox_depth{peer=\"town-h\""));
    assert_non_null(strstr(out, "gridrelay_events_stored_total "));
    assert_non_null(strstr(out, "gridrelay_cases_escalate_total "));
}

static void test_open311(void **state)
{
    fx_t *fx = *state;
    char out[16384], args[1024], id[64];
    assert_int_equal(s_curl("", "/open311/v2/services.json", out, sizeof out), 200);
    assert_non_null(strstr(out, "\"service_code\":\"T.TOWNSHIP\""));
    assert_int_equal(s_curl("", "/open311/v2/services/T.TOWNSHIP.json", out, sizeof out), 200);
    assert_int_equal(s_curl("", "/open311/v2/services/NOPE.json", out, sizeof out), 404);

    /* The spec's three errors, in its form. */
    assert_int_equal(s_curl("-d api_key=wrongwrongwrongwrong -d service_code=T.TOWNSHIP "
                            "-d lat=30.5 -d long=114.3", "/open311/v2/requests.json", out,
                            sizeof out), 403);
    assert_non_null(strstr(out, "[{\"code\":403,\"description\":"));
    assert_int_equal(s_curl("-d api_key=" S_API_KEY " -d service_code=NOPE -d lat=30.5 "
                            "-d long=114.3", "/open311/v2/requests.json", out, sizeof out), 400);
    assert_non_null(strstr(out, "[{\"code\":400,\"description\":"));
    assert_int_equal(s_curl("-d api_key=" S_API_KEY " -d service_code=T.TOWNSHIP",
                            "/open311/v2/requests.json", out, sizeof out), 400);
    assert_non_null(strstr(out, "location"));

    /* A request becomes a case and escalates village -> township. */
    assert_int_equal(s_curl("-d api_key=" S_API_KEY " -d service_code=T.TOWNSHIP -d lat=30.5 "
                            "-d long=114.25 --data-urlencode 'description=pothole on the bridge' "
                            "--data-urlencode media_url=http://example.org/p.jpg",
                            "/open311/v2/requests.json", out, sizeof out), 201);
    json_object *arr = json_tokener_parse(out), *r = NULL, *v = NULL;
    assert_non_null(arr);
    r = json_object_array_get_idx(arr, 0);
    assert_true(json_object_object_get_ex(r, "service_request_id", &v));
    snprintf(id, sizeof id, "%s", json_object_get_string(v));
    json_object_put(arr);
    assert_int_equal(strlen(id), 26);
    assert_true(node_wait_status(&fx->nodes[TOWN], fx->ctx, id, 1 /* REPORTED */, 20000));
    char timeline[4096] = "";
    node_status(&fx->nodes[VILLAGE], fx->ctx, id, timeline, sizeof timeline);
    assert_non_null(strstr(timeline, "fms-bridge"));

    snprintf(args, sizeof args, "/open311/v2/requests/%s.json", id);
    assert_int_equal(s_curl("", args, out, sizeof out), 200);
    assert_non_null(strstr(out, "\"status\":\"open\""));
    assert_non_null(strstr(out, "\"media_url\":\"http://example.org/p.jpg\""));
    assert_non_null(strstr(out, "\"lat\":30.5"));
    assert_non_null(strstr(out, "\"requested_datetime\":\"20"));
    assert_non_null(strstr(out, "\"agency_responsible\":"));
    assert_int_equal(s_curl("", "/open311/v2/requests/01NOSUCHREQUEST0000000000.json", out,
                            sizeof out), 404);
    assert_int_equal(s_curl("", "/open311/v2/requests.json?status=open", out, sizeof out), 200);
    assert_non_null(strstr(out, id));
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_login_and_refusals),
        cmocka_unit_test(test_open311),
        cmocka_unit_test(test_metrics),
    };
    return GROUP_RUN(tests, s_setup, s_teardown);
}
