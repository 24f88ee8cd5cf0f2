/* Personal data at rest, through real gridrelayd and gridctl processes
 * (issue 14 part 4): a node with a data key stores a report's reporter,
 * name, phone number, address, media link and an operator's note so that
 * none of them is found in its data.mdb; the same report on a node without
 * a data key is (the control: the search would find it). A restart reads
 * the case back; a wrong key file, a missing data_key and a key file others
 * may read are refused with a message that says which. Rotation: a second
 * key seals the new cases, --rekey moves the old ones to it, the first key
 * is dropped and the store still reads. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "keys.h"

#define S_PHONE "13812345678"
#define S_NAME "Zhang Sanfeng"
#define S_ADDR "Building 7 Lotus Lane"
#define S_URI "https://media.example/evidence-zhang.jpg"
#define S_NOTE "called back on 13987654321"

typedef struct {
    harness_node_t node;
    char key_path[400];
    char id[32];
} fx_t;

static fx_t s_fx;

static int s_ctl(fx_t *fx, bool operator, const char *args, char *out, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "'%s' %s --node %s --key '%.300s/%s' --node-key @%.300s/node.pub 2>&1",
             getenv("GRIDCTL"), args, fx->node.endpoint, fx->node.dir,
             operator ? "chen.sec" : "reporter-0.sec", fx->node.dir);
    int rc = harness_run(cmd, out, cap);
    if (getenv("GR_TEST_VERBOSE"))
        fprintf(stderr, "gridctl %s -> %d: %s\n", args, rc, out);
    return rc;
}

/* Whether the store file holds text anywhere (live or freed pages). */
static int s_store_has(const fx_t *fx, const char *text)
{
    char path[400];
    snprintf(path, sizeof path, "%.300s/store/data.mdb", fx->node.dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 64 << 20, n;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return -1;
    }
    n = fread(buf, 1, cap, f);
    fclose(f);
    int found = memmem(buf, n, text, strlen(text)) != NULL;
    free(buf);
    return found;
}

/* Runs gridrelayd on the node's config (not through the harness) and
 * returns its exit status with its output in out: for refusals at start. */
static int s_daemon(const fx_t *fx, const char *flags, char *out, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "timeout 20 '%s' --config '%s' %s 2>&1", harness_daemon_path(),
             fx->node.config, flags);
    return harness_run(cmd, out, cap);
}

static int s_node_setup(fx_t *fx, const char *name, bool with_key)
{
    memset(fx, 0, sizeof *fx);
    harness_node_t *n = &fx->node;
    if (harness_node_init(n, name, 1) != 0)
        return -1;
    gr_keypair_t op;
    char sec[400], pub[400], err[256], hex[GR_PUBLIC_KEY_HEX], rpub[400];
    snprintf(sec, sizeof sec, "%.300s/chen.sec", n->dir);
    snprintf(pub, sizeof pub, "%.300s/chen.pub", n->dir);
    if (gr_keys_generate(&op) != 0 || gr_keys_save(&op, sec, pub, err, sizeof err) != 0)
        return -1;
    snprintf(sec, sizeof sec, "%.300s/reporter-0.sec", n->dir);
    snprintf(rpub, sizeof rpub, "%.300s/reporter-0.pub", n->dir);
    if (gr_keys_save(&n->reporters[0], sec, rpub, err, sizeof err) != 0)
        return -1;
    gr_key_to_hex(hex, op.pk);
    n->reporters_only = true;
    snprintf(n->sections, sizeof n->sections, "[operators]\nchen = %s\n\n", hex);
    if (with_key) {
        snprintf(fx->key_path, sizeof fx->key_path, "%.300s/node.data", n->dir);
        char cmd[1024], out[512];
        snprintf(cmd, sizeof cmd, "'%s' datakey new '%s'", getenv("GRIDCTL"), fx->key_path);
        if (harness_run(cmd, out, sizeof out) != 0)
            return -1;
        snprintf(n->extra_node, sizeof n->extra_node, "data_key = %s\n", fx->key_path);
    }
    if (harness_node_write_config(n) != 0 || harness_node_start(n) != 0)
        return -1;
    /* A report full of a person, and an operator's note about them. */
    char out[4096];
    if (s_ctl(fx, false, "report --category SS.DISPUTE --title 'fight at the door of " S_NAME "' "
              "--description 'neighbour " S_NAME ", phone " S_PHONE "' --reporter wang-li "
              "--address '" S_ADDR "' --attach "
              "0000000000000000000000000000000000000000000000000000000000000000," S_URI,
              out, sizeof out) != 0)
        return -1;
    out[strcspn(out, " \n")] = '\0';
    if (strlen(out) != 26)
        return -1;
    snprintf(fx->id, sizeof fx->id, "%.26s", out);
    char args[128];
    snprintf(args, sizeof args, "accept %s --note '" S_NOTE "'", fx->id);
    return s_ctl(fx, true, args, out, sizeof out) == 0 ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    harness_node_cleanup(&s_fx.node);
    return 0;
}

static const char *const s_personal[] = {S_PHONE, S_NAME, S_ADDR, S_URI, "13987654321",
                                         "wang-li"};

static void test_without_a_data_key_the_store_shows_people(void **state)
{
    (void)state;
    fx_t *fx = &s_fx;
    assert_int_equal(s_node_setup(fx, "village-plain", false), 0);
    assert_int_equal(harness_node_stop(&fx->node, SIGTERM), 0);
    /* The control: the search finds what a data key hides. */
    assert_int_equal(s_store_has(fx, S_PHONE), 1);
    assert_int_equal(s_store_has(fx, S_NAME), 1);
}

static void test_sealed_store_shows_no_person_and_reads_back(void **state)
{
    (void)state;
    fx_t *fx = &s_fx;
    assert_int_equal(s_node_setup(fx, "village-sealed", true), 0);
    assert_int_equal(harness_node_stop(&fx->node, SIGTERM), 0);
    for (size_t i = 0; i < sizeof s_personal / sizeof *s_personal; i++)
        if (s_store_has(fx, s_personal[i]) != 0)
            fail_msg("data.mdb holds \"%s\"", s_personal[i]);
    /* Ids and timings stay in plain: a case can still be found. */
    assert_int_equal(s_store_has(fx, fx->id), 1);

    /* A restart reads it all back. */
    assert_int_equal(harness_node_start(&fx->node), 0);
    char args[64], out[16384];
    snprintf(args, sizeof args, "show %s", fx->id);
    assert_int_equal(s_ctl(fx, true, args, out, sizeof out), 0);
    assert_non_null(strstr(out, S_PHONE));
    assert_non_null(strstr(out, S_NOTE));
    assert_int_equal(harness_node_stop(&fx->node, SIGTERM), 0);

    /* The audit walk opens the sealed timelines too. */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' audit verify --store '%.300s/store' --data-key '%s' 2>&1",
             getenv("GRIDCTL"), fx->node.dir, fx->key_path);
    assert_int_equal(harness_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "ok 2 entries"));
    snprintf(cmd, sizeof cmd, "'%s' audit verify --store '%.300s/store' 2>&1", getenv("GRIDCTL"),
             fx->node.dir);
    assert_int_not_equal(harness_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "set data_key"));
}

static void test_wrong_missing_or_open_key_is_refused(void **state)
{
    (void)state;
    fx_t *fx = &s_fx;
    assert_int_equal(s_node_setup(fx, "village-wrong", true), 0);
    assert_int_equal(harness_node_stop(&fx->node, SIGTERM), 0);
    char out[4096], cmd[4096], saved[450];
    snprintf(saved, sizeof saved, "%s.saved", fx->key_path);
    assert_int_equal(rename(fx->key_path, saved), 0);

    /* Another key under the same ID. */
    snprintf(cmd, sizeof cmd, "'%s' datakey new '%s'", getenv("GRIDCTL"), fx->key_path);
    assert_int_equal(harness_run(cmd, out, sizeof out), 0);
    assert_int_equal(s_daemon(fx, "", out, sizeof out), 1);
    if (!strstr(out, "key 1 does not open store") || !strstr(out, "wrong key file"))
        fail_msg("wrong key: %s", out);

    /* No data_key at all. */
    fx->node.extra_node[0] = '\0';
    assert_int_equal(harness_node_write_config(&fx->node), 0);
    assert_int_equal(s_daemon(fx, "", out, sizeof out), 1);
    if (!strstr(out, "sealed with data key 1: set data_key"))
        fail_msg("no key: %s", out);

    /* The right key, readable by others. */
    assert_int_equal(rename(saved, fx->key_path), 0);
    snprintf(fx->node.extra_node, sizeof fx->node.extra_node, "data_key = %s\n", fx->key_path);
    assert_int_equal(harness_node_write_config(&fx->node), 0);
    assert_int_equal(chmod(fx->key_path, 0644), 0);
    assert_int_equal(s_daemon(fx, "--check-config", out, sizeof out), 1);
    if (!strstr(out, "accessible by group or others"))
        fail_msg("mode 0644: %s", out);
    assert_int_equal(chmod(fx->key_path, 0600), 0);
    assert_int_equal(harness_node_start(&fx->node), 0);
    char args[64];
    snprintf(args, sizeof args, "show %s", fx->id);
    assert_int_equal(s_ctl(fx, true, args, out, sizeof out), 0);
    assert_non_null(strstr(out, S_PHONE));
}

static void test_rotation_rekey_and_drop(void **state)
{
    (void)state;
    fx_t *fx = &s_fx;
    assert_int_equal(s_node_setup(fx, "village-rotate", true), 0);
    assert_int_equal(harness_node_stop(&fx->node, SIGTERM), 0);
    char out[16384], cmd[4096], args[128];
    snprintf(cmd, sizeof cmd, "'%s' datakey rotate '%s'", getenv("GRIDCTL"), fx->key_path);
    assert_int_equal(harness_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "data key 2 added"));

    /* Both keys read; the new one seals what is written now. */
    assert_int_equal(harness_node_start(&fx->node), 0);
    snprintf(args, sizeof args, "resolve %s --result 'met " S_NAME " again'", fx->id);
    assert_int_equal(s_ctl(fx, true, args, out, sizeof out), 0);
    assert_int_equal(harness_node_stop(&fx->node, SIGTERM), 0);

    /* Dropping key 1 before the rekey: refused at start, store untouched. */
    snprintf(cmd, sizeof cmd, "cp -p '%s' '%s.both' && '%s' datakey drop '%s' 1",
             fx->key_path, fx->key_path, getenv("GRIDCTL"), fx->key_path);
    assert_int_equal(harness_run(cmd, out, sizeof out), 0);
    assert_int_equal(s_daemon(fx, "", out, sizeof out), 1);
    if (!strstr(out, "lacks key 1"))
        fail_msg("dropped too early: %s", out);
    snprintf(cmd, sizeof cmd, "mv '%s.both' '%s'", fx->key_path, fx->key_path);
    assert_int_equal(harness_run(cmd, out, sizeof out), 0);

    /* The rekey moves every value to key 2; then key 1 may go. */
    assert_int_equal(s_daemon(fx, "--rekey", out, sizeof out), 0);
    if (!strstr(out, "sealed with data key 2"))
        fail_msg("rekey: %s", out);
    snprintf(cmd, sizeof cmd, "'%s' datakey drop '%s' 1 && '%s' datakey list '%s'",
             getenv("GRIDCTL"), fx->key_path, getenv("GRIDCTL"), fx->key_path);
    assert_int_equal(harness_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "2 current"));
    assert_null(strstr(out, "\n1\n"));
    assert_int_equal(harness_node_start(&fx->node), 0);
    snprintf(args, sizeof args, "show %s", fx->id);
    assert_int_equal(s_ctl(fx, true, args, out, sizeof out), 0);
    assert_non_null(strstr(out, S_PHONE));
    assert_non_null(strstr(out, "met " S_NAME " again"));
    assert_int_equal(harness_node_stop(&fx->node, SIGTERM), 0);
    for (size_t i = 0; i < sizeof s_personal / sizeof *s_personal; i++)
        if (s_store_has(fx, s_personal[i]) != 0)
            fail_msg("data.mdb holds \"%s\"", s_personal[i]);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    /* This test gives its nodes their data keys (or none) itself. */
    unsetenv("GR_DATA_KEY");
    if (gr_keys_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_without_a_data_key_the_store_shows_people, s_teardown),
        cmocka_unit_test_teardown(test_sealed_store_shows_no_person_and_reads_back, s_teardown),
        cmocka_unit_test_teardown(test_wrong_missing_or_open_key_is_refused, s_teardown),
        cmocka_unit_test_teardown(test_rotation_rekey_and_drop, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
