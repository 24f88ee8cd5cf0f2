/* Roles and scopes through a real gridrelayd and gridctl (issue 14): grid
 * workers, an operator, a viewer, an auditor and two departments, each
 * with its own key. A grid worker reads and lists only its own reports and
 * acts on none; a department reads only the cases it has a task for; a
 * viewer and an auditor act on nothing; every refusal is ERR_FORBIDDEN,
 * counted in rejected_forbidden, and changes nothing. An old-style config
 * (only [reporters]) still starts, says what to change, and its keys still
 * act. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zmq.h>

#include "harness.h"
#include "group.h"
#include "tiers_fixture.h"
#include "keys.h"

/* The people of the node, each a key file in the node's dir. */
enum { W0, W1, W2, OPERATOR, VIEWER, AUDITOR, POLICE, FIRE, N_KEYS };
static const char *const s_key_names[N_KEYS] = {
    "worker-0", "worker-1", "worker-2", "chen", "leader", "audit", "police", "fire",
};

typedef struct {
    harness_node_t node;
    gr_keypair_t keys[N_KEYS];
    char catalogue[320];
    char case_a[32];        /* worker-0's in grid G-1, for the police */
    char case_b[32];        /* worker-1's in grid G-2, for the fire brigade */
} fx_t;

static fx_t s_fx;

static int s_save_key(fx_t *fx, int who)
{
    char sec[400], pub[400], err[256];
    snprintf(sec, sizeof sec, "%.300s/%s.sec", fx->node.dir, s_key_names[who]);
    snprintf(pub, sizeof pub, "%.300s/%s.pub", fx->node.dir, s_key_names[who]);
    return gr_keys_save(&fx->keys[who], sec, pub, err, sizeof err);
}

/* Runs gridctl ARGS signed with who's key; stdout and stderr into out. */
static int s_ctl(fx_t *fx, int who, const char *args, char *out, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "'%s' %s --node %s --key '%.300s/%s.sec' --node-key @%.300s/node.pub 2>&1",
             getenv("GRIDCTL"), args, fx->node.endpoint, fx->node.dir, s_key_names[who],
             fx->node.dir);
    int rc = harness_run(cmd, out, cap);
    if (getenv("GR_TEST_VERBOSE"))
        fprintf(stderr, "[%s] gridctl %s -> %d: %s\n", s_key_names[who], args, rc, out);
    return rc;
}

static uint64_t s_counter(fx_t *fx, const char *name)
{
    char out[8192], pattern[96];
    if (s_ctl(fx, OPERATOR, "stats", out, sizeof out) != 0)
        return UINT64_MAX;
    snprintf(pattern, sizeof pattern, "%s", name);
    const char *at = strstr(out, pattern);
    if (!at)
        return UINT64_MAX;
    at += strlen(pattern);
    at += strspn(at, " :=\t");
    return strtoull(at, NULL, 10);
}

/* Reports as who in grid; the new event id into id. */
static int s_report(fx_t *fx, int who, const char *category, const char *grid, char id[32])
{
    char args[256], out[1024];
    snprintf(args, sizeof args, "report --category %s --grid %s --title 'seen by %s'", category,
             grid, s_key_names[who]);
    int rc = s_ctl(fx, who, args, out, sizeof out);
    if (rc != 0)
        return rc;
    out[strcspn(out, " \n")] = '\0';
    if (strlen(out) != 26)
        return -1;
    snprintf(id, 32, "%.26s", out);
    return 0;
}

typedef struct {
    fx_t *fx;
    const char *id;
    const char *text;
} s_wait_t;

static bool s_shows(void *arg)
{
    s_wait_t *w = arg;
    char args[64], out[16384];
    snprintf(args, sizeof args, "show %s", w->id);
    return s_ctl(w->fx, OPERATOR, args, out, sizeof out) == 0 && strstr(out, w->text);
}

static int s_setup(void **state)
{
    fx_t *fx = &s_fx;
    memset(fx, 0, sizeof *fx);
    if (harness_node_init(&fx->node, "village-roles", 3) != 0)
        return -1;
    harness_node_t *n = &fx->node;
    n->reporters_only = true;
    /* worker-2 is grid G-1's leader: it reads every case of its grid. */
    n->reporter_options[2] = ", grid G-1";
    n->task_listen = true;
    snprintf(fx->catalogue, sizeof fx->catalogue, "%.250s/../catalogue.ini", n->dir);
    if (fixture_write_file(fx->catalogue,
                "[T.POLICE]\nclass = t\nsubclass = t\nname = for the police\nauthority = village\n\n"
                "[T.FIRE]\nclass = t\nsubclass = t\nname = for the fire brigade\n"
                "authority = village\n") != 0)
        return -1;
    memcpy(n->catalogue, fx->catalogue, sizeof fx->catalogue);
    fx->keys[W0] = n->reporters[0];
    fx->keys[W1] = n->reporters[1];
    fx->keys[W2] = n->reporters[2];
    char hex[N_KEYS][GR_PUBLIC_KEY_HEX];
    for (int i = 0; i < N_KEYS; i++) {
        if (i > W2 && gr_keys_generate(&fx->keys[i]) != 0)
            return -1;
        if (s_save_key(fx, i) != 0)
            return -1;
        gr_key_to_hex(hex[i], fx->keys[i].pk);
    }
    snprintf(n->sections, sizeof n->sections,
             "[operators]\nchen = %s\n\n[viewers]\nleader = %s\n\n[auditors]\naudit = %s\n\n"
             "[departments]\npolice = %s, police desk\nfire = %s, fire brigade\n\n"
             "[dispatch]\nT.POLICE = police\nT.FIRE = fire\n\n",
             hex[OPERATOR], hex[VIEWER], hex[AUDITOR], hex[POLICE], hex[FIRE]);
    if (harness_node_start(n) != 0)
        return -1;
    /* Each worker reports one case; each goes to its department. */
    if (s_report(fx, W0, "T.POLICE", "G-1", fx->case_a) != 0 ||
        s_report(fx, W1, "T.FIRE", "G-2", fx->case_b) != 0)
        return -1;
    s_wait_t a = {fx, fx->case_a, "police"}, b = {fx, fx->case_b, "fire"};
    if (!harness_wait_until(s_shows, &a, 20000) || !harness_wait_until(s_shows, &b, 20000))
        return -1;
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    harness_node_cleanup(&s_fx.node);
    return 0;
}

/* A refusal: exit 1 (refused by the node), ERR_FORBIDDEN, one more
 * rejected_forbidden. */
static void s_forbidden(fx_t *fx, int who, const char *args)
{
    char out[4096];
    uint64_t before = s_counter(fx, "rejected_forbidden");
    assert_true(before != UINT64_MAX);
    int rc = s_ctl(fx, who, args, out, sizeof out);
    if (rc != 1 || !strstr(out, "forbidden"))
        fail_msg("[%s] gridctl %s: want exit 1 and forbidden, got %d: %s", s_key_names[who],
                 args, rc, out);
    assert_int_equal(s_counter(fx, "rejected_forbidden"), before + 1);
}

static void s_allowed(fx_t *fx, int who, const char *args, char *out, size_t cap)
{
    int rc = s_ctl(fx, who, args, out, cap);
    if (rc != 0)
        fail_msg("[%s] gridctl %s: want exit 0, got %d: %s", s_key_names[who], args, rc, out);
}

static void test_worker_sees_and_acts_on_its_own_only(void **state)
{
    fx_t *fx = *state;
    char args[128], out[16384];
    /* Its list holds its own report, not the other worker's. */
    s_allowed(fx, W0, "list", out, sizeof out);
    assert_non_null(strstr(out, fx->case_a));
    assert_null(strstr(out, fx->case_b));
    s_allowed(fx, W1, "list", out, sizeof out);
    assert_non_null(strstr(out, fx->case_b));
    assert_null(strstr(out, fx->case_a));
    /* Its own case with its timeline; the other's is forbidden. */
    snprintf(args, sizeof args, "show %s", fx->case_a);
    s_allowed(fx, W0, args, out, sizeof out);
    assert_non_null(strstr(out, "seen by worker-0"));
    s_forbidden(fx, W1, args);
    /* A grid worker resolves, accepts or escalates nothing, its own
     * case included. */
    snprintf(args, sizeof args, "resolve %s --result 'done by a worker'", fx->case_b);
    s_forbidden(fx, W0, args);
    snprintf(args, sizeof args, "resolve %s --result 'done by a worker'", fx->case_a);
    s_forbidden(fx, W0, args);
    snprintf(args, sizeof args, "accept %s", fx->case_b);
    s_forbidden(fx, W0, args);
    snprintf(args, sizeof args, "escalate %s", fx->case_a);
    s_forbidden(fx, W0, args);
    /* Node-wide reads are for operators, viewers and auditors. */
    s_forbidden(fx, W0, "stats");
    s_forbidden(fx, W0, "view");
    s_forbidden(fx, W0, "supervise");
    /* Nothing changed: both cases still with their departments. */
    snprintf(args, sizeof args, "show %s", fx->case_a);
    s_allowed(fx, OPERATOR, args, out, sizeof out);
    assert_null(strstr(out, "done by a worker"));
    assert_null(strstr(out, "resolved"));
}

/* A reporter whose [reporters] line names a grid reads that grid's cases
 * too, and still acts on none. */
static void test_grid_leader_reads_its_grid(void **state)
{
    fx_t *fx = *state;
    char args[128], out[16384];
    s_allowed(fx, W2, "list", out, sizeof out);
    assert_non_null(strstr(out, fx->case_a));
    assert_null(strstr(out, fx->case_b));
    snprintf(args, sizeof args, "show %s", fx->case_a);
    s_allowed(fx, W2, args, out, sizeof out);
    snprintf(args, sizeof args, "show %s", fx->case_b);
    s_forbidden(fx, W2, args);
    snprintf(args, sizeof args, "accept %s", fx->case_a);
    s_forbidden(fx, W2, args);
}

static void test_department_reads_its_tasks_cases_only(void **state)
{
    fx_t *fx = *state;
    char args[128], out[16384];
    snprintf(args, sizeof args, "show %s", fx->case_a);
    s_allowed(fx, POLICE, args, out, sizeof out);
    assert_non_null(strstr(out, "seen by worker-0"));
    s_forbidden(fx, FIRE, args);
    snprintf(args, sizeof args, "show %s", fx->case_b);
    s_forbidden(fx, POLICE, args);
    s_allowed(fx, FIRE, args, out, sizeof out);
    /* Its list: the cases behind its tasks. */
    s_allowed(fx, POLICE, "list", out, sizeof out);
    assert_non_null(strstr(out, fx->case_a));
    assert_null(strstr(out, fx->case_b));
    /* A department works its tasks (gridctl dept), not the node's cases. */
    snprintf(args, sizeof args, "dispatch %s fire", fx->case_a);
    s_forbidden(fx, POLICE, args);
    s_forbidden(fx, POLICE, "stats");
}

static void test_viewer_and_auditor_read_and_do_not_act(void **state)
{
    fx_t *fx = *state;
    char args[160], out[16384];
    s_allowed(fx, VIEWER, "list", out, sizeof out);
    assert_non_null(strstr(out, fx->case_a));
    assert_non_null(strstr(out, fx->case_b));
    snprintf(args, sizeof args, "show %s", fx->case_b);
    s_allowed(fx, VIEWER, args, out, sizeof out);
    s_allowed(fx, VIEWER, "supervise", out, sizeof out);
    s_allowed(fx, AUDITOR, args, out, sizeof out);
    s_allowed(fx, AUDITOR, "stats", out, sizeof out);
    snprintf(args, sizeof args, "accept %s", fx->case_a);
    s_forbidden(fx, VIEWER, args);
    s_forbidden(fx, AUDITOR, args);
    snprintf(args, sizeof args, "urge %s --note 'from the screen'", fx->case_a);
    s_forbidden(fx, VIEWER, args);
    s_forbidden(fx, VIEWER, "report --category T.POLICE --title 'not a worker'");
    s_forbidden(fx, OPERATOR, "report --category T.POLICE --title 'not a worker'");
    s_forbidden(fx, AUDITOR, "supervise");
    /* The operator acts; the case moves. */
    snprintf(args, sizeof args, "resolve %s --result 'settled by chen'", fx->case_b);
    s_allowed(fx, OPERATOR, args, out, sizeof out);
    s_wait_t w = {fx, fx->case_b, "settled by chen"};
    assert_true(harness_wait_until(s_shows, &w, 20000));
    /* The reporter reads the result of its own report (its feedback). */
    snprintf(args, sizeof args, "show %s", fx->case_b);
    s_allowed(fx, W1, args, out, sizeof out);
    assert_non_null(strstr(out, "settled by chen"));
}

/* The config from before roles: [reporters] only. It starts, the log says
 * what to change, --check-config says it too (and still ok), and the key
 * both reports and acts. */
static void test_old_style_config(void **state)
{
    (void)state;
    harness_node_t node;
    assert_int_equal(harness_node_init(&node, "village-old", 1), 0);
    node.reporters_only = true;
    assert_int_equal(harness_node_write_config(&node), 0);
    char cmd[2048], out[8192];
    snprintf(cmd, sizeof cmd, "'%s' --check-config --config '%s' 2>&1", harness_daemon_path(),
             node.config);
    assert_int_equal(harness_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "warning: "));
    assert_non_null(strstr(out, "node.ini:"));
    assert_non_null(strstr(out, "[reporters] without an [operators] section"));
    assert_non_null(strstr(out, ": ok ("));
    assert_int_equal(harness_node_start(&node), 0);
    char log[400];
    snprintf(log, sizeof log, "%s/gridrelayd.log", node.dir);
    snprintf(cmd, sizeof cmd, "grep -c 'keep the old roles, reporter and operator' '%s'", log);
    assert_int_equal(harness_run(cmd, out, sizeof out), 0);

    char sec[400], pub[400], err[256];
    snprintf(sec, sizeof sec, "%.300s/worker.sec", node.dir);
    snprintf(pub, sizeof pub, "%.300s/worker.pub", node.dir);
    assert_int_equal(gr_keys_save(&node.reporters[0], sec, pub, err, sizeof err), 0);
    char base[900];
    snprintf(base, sizeof base, "--node %.120s --key '%.350s' --node-key @%.300s/node.pub",
             node.endpoint, sec, node.dir);
    snprintf(cmd, sizeof cmd, "'%s' report --category PS.FIRE --title 'old style' %s",
             getenv("GRIDCTL"), base);
    assert_int_equal(harness_run(cmd, out, sizeof out), 0);
    char id[32];
    out[strcspn(out, " \n")] = '\0';
    snprintf(id, sizeof id, "%.26s", out);
    assert_int_equal(strlen(out), 26);
    snprintf(cmd, sizeof cmd, "'%s' accept %s %s", getenv("GRIDCTL"), id, base);
    assert_int_equal(harness_run(cmd, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd, "'%s' stats %s", getenv("GRIDCTL"), base);
    assert_int_equal(harness_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "rejected_forbidden"));
    harness_node_cleanup(&node);
}

/* Reports with a client kept open across a reload; the reply's kind, or
 * -1 when no reply came. Err receives the Error's code. */
static int s_client_report_in(gr_client_t *client, const char *title, int *err, int timeout_ms,
                              int attempts)
{
    Gridrelay__Event event = GRIDRELAY__EVENT__INIT;
    event.category = "PS.FIRE";
    event.title = (char *)title;
    char id[32];
    static unsigned n;
    snprintf(id, sizeof id, "REVOKE%020u", ++n);
    event.id = id;
    Gridrelay__Report report = GRIDRELAY__REPORT__INIT;
    report.event = &event;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_REPORT;
    body.report = &report;
    gr_opened_t reply;
    if (gr_client_call(client, &body, &reply, timeout_ms, attempts) != 0)
        return -1;
    int kind = reply.body->kind_case;
    *err = kind == GRIDRELAY__BODY__KIND_ERROR ? (int)reply.body->error->code : 0;
    gr_opened_clear(&reply);
    return kind;
}

static int s_client_report(gr_client_t *client, const char *title, int *err)
{
    return s_client_report_in(client, title, err, 3000, 3);
}

/* A request expected to get no answer: one try, 1 s. */
static int s_client_report_lost(gr_client_t *client, const char *title, int *err)
{
    return s_client_report_in(client, title, err, 1000, 1);
}

typedef struct {
    char path[400];
    const char *text;
} s_log_wait_t;

static bool s_log_has(void *arg)
{
    s_log_wait_t *w = arg;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "grep -F -q -- '%s' '%s'", w->text, w->path);
    return harness_run(cmd, NULL, 0) == 0;
}

/* A monitor of sock's disconnects: a PAIR to read its events from. */
static void *s_monitor(void *ctx, void *sock, const char *name)
{
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://mon-%s", name);
    if (zmq_socket_monitor(sock, ep, ZMQ_EVENT_DISCONNECTED) != 0)
        return NULL;
    void *pair = zmq_socket(ctx, ZMQ_PAIR);
    if (pair && zmq_connect(pair, ep) != 0) {
        zmq_close(pair);
        return NULL;
    }
    return pair;
}

/* Number of disconnect events that arrive on mon within timeout_ms (it
 * returns at the first one when want_one). */
static int s_disconnects(void *mon, int timeout_ms, bool want_one)
{
    int n = 0;
    uint64_t end = gr_now_ms() + (uint64_t)timeout_ms;
    for (uint64_t now = gr_now_ms(); now < end; now = gr_now_ms()) {
        zmq_pollitem_t item = {mon, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, (long)(end - now)) <= 0)
            break;
        zmq_msg_t frame;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, mon, 0) < 0)
            break;
        uint16_t event = 0;
        if (zmq_msg_size(&frame) >= 2)
            memcpy(&event, zmq_msg_data(&frame), 2);
        while (zmq_msg_more(&frame) && zmq_msg_recv(&frame, mon, 0) >= 0) {
        }
        zmq_msg_close(&frame);
        if (event == ZMQ_EVENT_DISCONNECTED && ++n && want_one)
            break;
    }
    return n;
}

/* Revoking a key: remove it from the config, SIGHUP. The node keeps
 * running (same process, same links); the revoked key's open connection
 * is closed by the node at once (the client's socket sees the disconnect
 * without sending anything), its reconnection is refused at CURVE, and so
 * a request on it gets no answer; a connection of the key that had sent
 * nothing before the revocation is closed at its first request; every
 * other key's connection stays up and goes on. A broken file on SIGHUP
 * changes nothing. */
static void test_sighup_revokes_a_key(void **state)
{
    (void)state;
    harness_node_t node;
    assert_int_equal(harness_node_init(&node, "village-revoke", 2), 0);
    assert_int_equal(harness_node_start(&node), 0);
    pid_t pid = node.pid;
    void *ctx = zmq_ctx_new();
    assert_non_null(ctx);
    gr_client_t *kept = harness_client(&node, ctx, 0);
    gr_client_t *other = harness_client(&node, ctx, 1);
    gr_client_t *idle = harness_client(&node, ctx, 0);  /* worker-0 too, silent until revoked */
    assert_non_null(kept);
    assert_non_null(other);
    assert_non_null(idle);
    void *kept_mon = s_monitor(ctx, gr_client_socket(kept), "kept");
    void *other_mon = s_monitor(ctx, gr_client_socket(other), "other");
    void *idle_mon = s_monitor(ctx, gr_client_socket(idle), "idle");
    assert_non_null(kept_mon);
    assert_non_null(other_mon);
    assert_non_null(idle_mon);
    int err = 0;
    assert_int_equal(s_client_report(kept, "before the revocation", &err),
                     GRIDRELAY__BODY__KIND_ACK);
    assert_int_equal(s_client_report(other, "before the revocation", &err),
                     GRIDRELAY__BODY__KIND_ACK);

    /* worker-0 leaves: the config lists worker-1 only. */
    gr_keypair_t revoked = node.reporters[0];
    node.reporters[0] = node.reporters[1];
    node.n_reporters = 1;
    assert_int_equal(harness_node_write_config(&node), 0);
    assert_int_equal(kill(pid, SIGHUP), 0);
    s_log_wait_t w = {.text = "SIGHUP: reloaded the people"};
    snprintf(w.path, sizeof w.path, "%s/gridrelayd.log", node.dir);
    assert_true(harness_wait_until(s_log_has, &w, 20000));
    /* worker-1's key is now written as worker-0: a new name. */
    w.text = "0 added, 1 revoked, 1 with new roles, names or grids";
    assert_true(s_log_has(&w));
    w.text = "trusted keys; 1 connection(s) of revoked keys closed";
    assert_true(s_log_has(&w));

    /* The node closed worker-0's connection: its socket sees it go, with
     * nothing sent; reconnecting is refused, so a request gets no answer. */
    assert_int_equal(s_disconnects(kept_mon, 10000, true), 1);
    assert_int_equal(s_client_report_lost(kept, "after the revocation", &err), -1);
    assert_int_equal(s_client_report(other, "after the revocation", &err),
                     GRIDRELAY__BODY__KIND_ACK);
    /* The silent connection: its first request is refused and closes it. */
    assert_int_equal(gr_client_send_raw(idle, (const uint8_t *)"x", 1), 0);
    assert_int_equal(s_disconnects(idle_mon, 10000, true), 1);
    w.text = "closed 1 connection(s) of revoked keys";
    assert_true(harness_wait_until(s_log_has, &w, 10000));
    gr_opened_t late;  /* the refusal of "x" may have got out before the close */
    if (gr_client_recv(idle, &late, 200) == 0) {
        assert_int_equal(late.body->kind_case, GRIDRELAY__BODY__KIND_ERROR);
        gr_opened_clear(&late);
    }
    assert_int_equal(s_client_report_lost(idle, "after the revocation", &err), -1);
    gr_client_t *fresh = harness_client(&node, ctx, 0);  /* worker-1 now */
    assert_non_null(fresh);
    assert_int_equal(s_client_report(fresh, "a new connection", &err), GRIDRELAY__BODY__KIND_ACK);
    gr_client_destroy(&fresh);

    /* A new connection of the revoked key is not even answered. */
    char sec[400], pub[400], kerr[256], cmd[2048], out[4096];
    snprintf(sec, sizeof sec, "%.300s/revoked.sec", node.dir);
    snprintf(pub, sizeof pub, "%.300s/revoked.pub", node.dir);
    assert_int_equal(gr_keys_save(&revoked, sec, pub, kerr, sizeof kerr), 0);
    snprintf(cmd, sizeof cmd, "'%s' list --node %s --key '%s' --node-key @%.300s/node.pub "
             "--timeout 500 --attempts 1 2>&1", getenv("GRIDCTL"), node.endpoint, sec, node.dir);
    assert_int_equal(harness_run(cmd, out, sizeof out), 3);

    /* A file that no longer loads: logged, nothing changes. */
    FILE *f = fopen(node.config, "a");
    assert_non_null(f);
    fputs("[operators]\nbroken line without a value\n", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(kill(pid, SIGHUP), 0);
    w.text = "SIGHUP: config not reloaded, the trusted keys are as they were";
    assert_true(harness_wait_until(s_log_has, &w, 20000));
    assert_int_equal(s_client_report(other, "after a bad reload", &err),
                     GRIDRELAY__BODY__KIND_ACK);
    assert_int_equal(s_client_report_lost(kept, "still revoked", &err), -1);
    assert_int_equal(node.pid, pid);
    assert_int_equal(kill(pid, 0), 0);
    /* worker-1's connection was never touched. */
    assert_int_equal(s_disconnects(other_mon, 0, false), 0);

    zmq_close(kept_mon);
    zmq_close(other_mon);
    zmq_close(idle_mon);
    gr_client_destroy(&idle);
    gr_client_destroy(&kept);
    gr_client_destroy(&other);
    zmq_ctx_term(ctx);
    assert_int_equal(harness_node_stop(&node, SIGTERM), 0);
    harness_node_cleanup(&node);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worker_sees_and_acts_on_its_own_only),
        cmocka_unit_test(test_grid_leader_reads_its_grid),
        cmocka_unit_test(test_department_reads_its_tasks_cases_only),
        cmocka_unit_test(test_viewer_and_auditor_read_and_do_not_act),
    };
    const struct CMUnitTest old[] = {
        cmocka_unit_test(test_old_style_config),
        cmocka_unit_test(test_sighup_revokes_a_key),
    };
    int failed = GROUP_RUN(tests, s_setup, s_teardown);
    return failed + cmocka_run_group_tests(old, NULL, NULL);
}
