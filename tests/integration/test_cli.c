/* gridctl and gridrelayd as an operator uses them: help texts, exit codes,
 * config checking, key safety, JSON output, clean shutdown. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "harness.h"

static const char *s_gridctl(void)
{
    const char *path = getenv("GRIDCTL");
    return path && *path ? path : "gridctl";
}

static char s_out[65536];

/* Runs a shell command built from fmt; returns its exit status, output in
 * s_out. */
static int s_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int s_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return harness_run(cmd, s_out, sizeof s_out);
}

/* Occurrences of needle in s_out. */
static size_t s_count(const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s_out, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The value of "next_page" in s_out (a JSON listing) into token. */
static void s_next_page(char *token, size_t len)
{
    const char *p = strstr(s_out, "\"next_page\":\"");
    assert_non_null(p);
    p += strlen("\"next_page\":\"");
    size_t n = strcspn(p, "\"");
    assert_true(n < len);
    memcpy(token, p, n);
    token[n] = '\0';
}

static void test_help_and_usage_exit_codes(void **state)
{
    (void)state;
    const char *commands[] = { "keygen", "report", "list", "show", "stats" };
    assert_int_equal(s_sh("%s --help", s_gridctl()), 0);
    assert_non_null(strstr(s_out, "Exit status"));
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        assert_int_equal(s_sh("%s %s --help", s_gridctl(), commands[i]), 0);
        assert_non_null(strstr(s_out, "Usage: gridctl"));
    }
    assert_int_equal(s_sh("%s --help", harness_daemon_path()), 0);
    assert_non_null(strstr(s_out, "--check-config"));
    assert_int_equal(s_sh("%s frobnicate 2>/dev/null", s_gridctl()), 2);
    assert_int_equal(s_sh("%s report --title x 2>/dev/null", s_gridctl()), 2);
    assert_int_equal(s_sh("%s 2>/dev/null", harness_daemon_path()), 2);
}

static void test_check_config_and_key_safety(void **state)
{
    (void)state;
    harness_node_t node;
    assert_int_equal(harness_node_init(&node, "village-cli", 1), 0);
    assert_int_equal(s_sh("%s --check-config --config %s", harness_daemon_path(), node.config), 0);
    assert_non_null(strstr(s_out, "ok"));

    /* A typo is an error naming file and line. */
    snprintf(node.extra_node, sizeof node.extra_node, "max_frme = 1000\n");
    assert_int_equal(harness_node_write_config(&node), 0);
    assert_int_equal(s_sh("%s --check-config --config %s 2>&1", harness_daemon_path(), node.config), 1);
    assert_non_null(strstr(s_out, "node.ini:"));
    assert_non_null(strstr(s_out, "max_frme"));
    node.extra_node[0] = '\0';

    /* A secret key others can read is refused at start. */
    char key[400];
    snprintf(key, sizeof key, "%s/node.sec", node.dir);
    assert_int_equal(chmod(key, 0644), 0);
    assert_int_equal(harness_node_write_config(&node), 0);
    assert_int_equal(s_sh("%s --config %s 2>&1", harness_daemon_path(), node.config), 1);
    assert_non_null(strstr(s_out, "chmod 600"));
    assert_int_equal(chmod(key, 0600), 0);

    /* keygen writes 0600 and never overwrites. */
    char fresh[400];
    snprintf(fresh, sizeof fresh, "%s/fresh.sec", node.dir);
    assert_int_equal(s_sh("%s keygen %s", s_gridctl(), fresh), 0);
    assert_int_equal(strlen(s_out), 65);
    struct stat st;
    assert_int_equal(stat(fresh, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(s_sh("%s keygen %s 2>&1", s_gridctl(), fresh), 4);
    assert_non_null(strstr(s_out, "refusing to overwrite"));
    harness_node_cleanup(&node);
}

static void test_report_list_show_stats_through_gridctl(void **state)
{
    (void)state;
    harness_node_t node;
    assert_int_equal(harness_node_init(&node, "village-ctl", 1), 0);
    /* gridctl reads the reporter key from a file: write reporter 0's. */
    char sec[400], pub[400], err[256];
    snprintf(sec, sizeof sec, "%s/worker.sec", node.dir);
    snprintf(pub, sizeof pub, "%s/worker.pub", node.dir);
    assert_int_equal(gr_keys_save(&node.reporters[0], sec, pub, err, sizeof err), 0);
    assert_int_equal(harness_node_start(&node), 0);
    char common[1024];
    snprintf(common, sizeof common, "--node %s --key %s --node-key @%s/node.pub", node.endpoint,
             sec, node.dir);

    assert_int_equal(s_sh("%s report %s --category PS.FIRE --title 'smoke behind the school' "
                          "--severity urgent --grid G-07 --address 'No. 3 lane' --lat 31.2 --lon 121.4 "
                          "--tag school --attach %064d,https://media.example/1.jpg,image/jpeg",
                          s_gridctl(), common, 0), 0);
    char id[64];
    snprintf(id, sizeof id, "%.26s", s_out);
    assert_int_equal(strlen(id), 26);

    /* The same --id again is stored once. */
    assert_int_equal(s_sh("%s report %s --json --id %s --category PS.FIRE --title again",
                          s_gridctl(), common, id), 0);
    assert_non_null(strstr(s_out, "\"duplicate\":true"));

    assert_int_equal(s_sh("%s report %s --category NOPE --title x 2>&1", s_gridctl(), common), 1);
    assert_non_null(strstr(s_out, "unknown_category"));

    assert_int_equal(s_sh("%s list %s --json --severity urgent", s_gridctl(), common), 0);
    assert_non_null(strstr(s_out, id));
    assert_int_equal(s_sh("%s list %s --json --severity routine", s_gridctl(), common), 0);
    assert_null(strstr(s_out, id));

    /* Pages: 5 events, 2 a page. One page and its token; the next page
     * from the token; --all follows every page. */
    for (int i = 0; i < 4; i++)
        assert_int_equal(s_sh("%s report %s --category SS.DISPUTE --title 'boundary %d'", s_gridctl(),
                              common, i), 0);
    char token[256];
    assert_int_equal(s_sh("%s list %s --json --limit 2", s_gridctl(), common), 0);
    assert_int_equal(s_count("\"id\":"), 2);
    s_next_page(token, sizeof token);
    assert_true(token[0] != '\0');
    assert_int_equal(s_sh("%s list %s --json --limit 2 --page '%s'", s_gridctl(), common, token), 0);
    assert_int_equal(s_count("\"id\":"), 2);
    assert_int_equal(s_sh("%s list %s --json --limit 2 --all", s_gridctl(), common), 0);
    assert_int_equal(s_count("\"id\":"), 5);
    s_next_page(token, sizeof token);
    assert_string_equal(token, "");
    assert_int_equal(s_sh("%s list %s --limit 2 --all", s_gridctl(), common), 0);
    assert_non_null(strstr(s_out, "(5 events)"));

    assert_int_equal(s_sh("%s show %s --json %s", s_gridctl(), common, id), 0);
    assert_non_null(strstr(s_out, "\"timeline\""));
    assert_non_null(strstr(s_out, "\"action\""));
    assert_non_null(strstr(s_out, "\"report\""));
    assert_non_null(strstr(s_out, "smoke behind the school"));
    assert_int_equal(s_sh("%s show %s %s", s_gridctl(), common, id), 0);
    assert_non_null(strstr(s_out, "Timeline"));
    assert_int_equal(s_sh("%s show %s NOSUCH 2>&1", s_gridctl(), common), 1);
    assert_non_null(strstr(s_out, "not_found"));

    assert_int_equal(s_sh("%s stats %s --json", s_gridctl(), common), 0);
    assert_non_null(strstr(s_out, "\"events_stored\":5"));

    /* SIGTERM: a clean stop, said in the log. */
    assert_int_equal(harness_node_stop(&node, SIGTERM), 0);
    assert_int_equal(s_sh("grep -c 'stopped cleanly' %s/gridrelayd.log", node.dir), 0);

    /* Nobody answering: exit 3, distinct from a refusal. */
    assert_int_equal(s_sh("%s stats %s --timeout 200 --attempts 2 2>/dev/null", s_gridctl(), common), 3);
    harness_node_cleanup(&node);
}

/* A township with two departments, driven only through gridctl: the
 * department's own commands and the operator's dispatch. */
static void test_departments_through_gridctl(void **state)
{
    (void)state;
    harness_node_t node;
    assert_int_equal(harness_node_init(&node, "township-ctl", 1), 0);
    snprintf(node.tier, sizeof node.tier, "township");
    node.task_listen = true;
    char err[256], path[400], pub[400];
    const char *depts[] = { "police", "civil" };
    size_t n = (size_t)snprintf(node.sections, sizeof node.sections, "[departments]\n");
    for (size_t i = 0; i < 2; i++) {
        gr_keypair_t kp;
        assert_int_equal(gr_keys_generate(&kp), 0);
        snprintf(path, sizeof path, "%s/%s.sec", node.dir, depts[i]);
        snprintf(pub, sizeof pub, "%s/%s.pub", node.dir, depts[i]);
        assert_int_equal(gr_keys_save(&kp, path, pub, err, sizeof err), 0);
        n += (size_t)snprintf(node.sections + n, sizeof node.sections - n, "%s = @%s, %s desk\n",
                              depts[i], pub, depts[i]);
    }
    snprintf(node.sections + n, sizeof node.sections - n, "\n[dispatch]\nPS.FIRE = police\n");
    snprintf(path, sizeof path, "%s/operator.sec", node.dir);
    snprintf(pub, sizeof pub, "%s/operator.pub", node.dir);
    assert_int_equal(gr_keys_save(&node.reporters[0], path, pub, err, sizeof err), 0);
    assert_int_equal(harness_node_start(&node), 0);
    char op[1024], police[1024], civil[1024];
    snprintf(op, sizeof op, "--node %s --key %s/operator.sec --node-key @%s/node.pub", node.endpoint,
             node.dir, node.dir);
    snprintf(police, sizeof police, "--node %s --key %s/police.sec --node-key @%s/node.pub",
             node.endpoint, node.dir, node.dir);
    snprintf(civil, sizeof civil, "--node %s --key %s/civil.sec --node-key @%s/node.pub",
             node.endpoint, node.dir, node.dir);

    assert_int_equal(s_sh("%s dept --help", s_gridctl()), 0);
    assert_non_null(strstr(s_out, "Usage: gridctl dept"));
    assert_int_equal(s_sh("%s dispatch --help", s_gridctl()), 0);

    /* The department watches; a report is routed to it. */
    assert_int_equal(s_sh("%s dept watch %s --json --count 1 --timeout-ms 15000 > %s/watch.out & W=$!; "
                          "%s report %s --category PS.FIRE --title 'smoke at the mill' > %s/id && wait $W",
                          s_gridctl(), police, node.dir, s_gridctl(), op, node.dir), 0);
    assert_int_equal(s_sh("cat %s/id", node.dir), 0);
    char id[64];
    snprintf(id, sizeof id, "%.26s", s_out);
    assert_int_equal(s_sh("cat %s/watch.out", node.dir), 0);
    assert_non_null(strstr(s_out, id));
    assert_non_null(strstr(s_out, "\"change\":\"added\""));
    assert_int_equal(s_sh("%s dept tasks %s --json", s_gridctl(), police), 0);
    assert_non_null(strstr(s_out, id));

    /* Another department's task: refused, exit 1, with the reason. */
    assert_int_equal(s_sh("%s dept claim %s %s 2>&1", s_gridctl(), civil, id), 1);
    assert_non_null(strstr(s_out, "FORBIDDEN"));

    assert_int_equal(s_sh("%s dept claim %s %s --note 'crew leaving'", s_gridctl(), police, id), 0);
    assert_int_equal(s_sh("%s dept note %s %s 'hoses out'", s_gridctl(), police, id), 0);
    assert_int_equal(s_sh("%s dept complete %s %s 'fire out, no injuries'", s_gridctl(), police, id), 0);
    assert_int_equal(s_sh("%s show %s %s --json", s_gridctl(), op, id), 0);
    assert_non_null(strstr(s_out, "\"status\":\"resolved\""));
    assert_non_null(strstr(s_out, "fire out, no injuries"));

    /* The operator dispatches by hand, with a co-handler. */
    assert_int_equal(s_sh("%s report %s --category SS.DISPUTE --title 'quarrel at the market'",
                          s_gridctl(), op), 0);
    snprintf(id, sizeof id, "%.26s", s_out);
    assert_int_equal(s_sh("%s dispatch %s %s civil --co police --reason 'needs both'", s_gridctl(), op,
                          id), 0);
    assert_int_equal(s_sh("%s dept tasks %s --json", s_gridctl(), civil), 0);
    assert_non_null(strstr(s_out, id));
    assert_int_equal(s_sh("%s dept tasks %s --json", s_gridctl(), police), 0);
    assert_non_null(strstr(s_out, id));
    assert_int_equal(s_sh("%s dispatch %s %s nosuch 2>&1", s_gridctl(), op, id), 1);
    /* A department key may not act as an operator. */
    assert_int_equal(s_sh("%s dispatch %s %s police 2>&1", s_gridctl(), civil, id), 1);
    /* No children, so the view of lower tiers is empty. */
    assert_int_equal(s_sh("%s view %s --all --json", s_gridctl(), op), 0);
    assert_non_null(strstr(s_out, "\"cases\":[]"));
    assert_int_equal(s_sh("%s view %s", s_gridctl(), op), 0);
    assert_non_null(strstr(s_out, "(0 cases)"));
    assert_int_equal(harness_node_stop(&node, SIGTERM), 0);
    harness_node_cleanup(&node);
}

static void test_one_store_one_daemon(void **state)
{
    (void)state;
    harness_node_t node;
    assert_int_equal(harness_node_init(&node, "village-lock", 1), 0);
    assert_int_equal(harness_node_start(&node), 0);
    assert_int_equal(s_sh("%s --config %s 2>&1", harness_daemon_path(), node.config), 1);
    assert_non_null(strstr(s_out, "in use"));
    assert_int_equal(harness_node_stop(&node, SIGTERM), 0);
    harness_node_cleanup(&node);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_usage_exit_codes),
        cmocka_unit_test(test_check_config_and_key_safety),
        cmocka_unit_test(test_report_list_show_stats_through_gridctl),
        cmocka_unit_test(test_departments_through_gridctl),
        cmocka_unit_test(test_one_store_one_daemon),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
