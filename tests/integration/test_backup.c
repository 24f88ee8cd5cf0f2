/* gridctl backup and restore against real gridrelayd processes: a thread
 * reports to a village node without pause while `gridctl backup` copies
 * its store; the backup is restored (a live store is refused) into a new
 * data dir with the same identity, a second gridrelayd starts on it on
 * another port, and every report acknowledged before the backup began is
 * there; the restored audit trail verifies. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <zmq.h>

#include "harness.h"
#include "tiers_fixture.h"

#define MAX_REPORTS 100000

typedef struct {
    harness_node_t *node;
    void *ctx;
    atomic_int acked;       /* reports bk-0 .. bk-(acked-1) are acknowledged */
    atomic_bool stop;
    int failed;
} s_flow_t;

static void *s_reporter(void *arg)
{
    s_flow_t *f = arg;
    for (int i = 0; i < MAX_REPORTS && !atomic_load(&f->stop); i++) {
        char id[32];
        snprintf(id, sizeof id, "bk-%d", i);
        if (node_report(f->node, f->ctx, id, "PS.FIRE-HAZARD", 1) != 0) {
            f->failed++;
            break;
        }
        atomic_store(&f->acked, i + 1);
    }
    return NULL;
}

static bool s_some_acked(void *ctx)
{
    return atomic_load(&((s_flow_t *)ctx)->acked) >= 50;
}

static void test_hot_backup_restored_holds_every_acked_report(void **state)
{
    (void)state;
    harness_node_t node;
    memset(&node, 0, sizeof node);
    assert_int_equal(harness_node_init(&node, "village-backup", 1), 0);
    assert_int_equal(harness_node_start(&node), 0);
    void *ctx = zmq_ctx_new();
    assert_non_null(ctx);

    s_flow_t flow = {.node = &node, .ctx = ctx};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, s_reporter, &flow), 0);
    assert_true(harness_wait_until(s_some_acked, &flow, 20000));
    /* Everything acknowledged up to here must be in the backup. */
    int before = atomic_load(&flow.acked);
    char backup[400], store[400];
    snprintf(backup, sizeof backup, "%s/backup", node.dir);
    snprintf(store, sizeof store, "%s/store", node.dir);
    int rc = fixture_sh("%s backup --store %s %s 2>&1", fixture_gridctl(), store, backup);
    int after = atomic_load(&flow.acked);
    atomic_store(&flow.stop, true);
    pthread_join(th, NULL);
    if (rc != 0)
        fail_msg("backup failed: %s", fixture_out);
    assert_non_null(strstr(fixture_out, "bytes"));
    assert_int_equal(flow.failed, 0);
    /* Reports flowed while it copied. */
    printf("# %d reports acked before the backup, %d by its end\n", before, after);
    /* A second backup into the same place is refused. */
    assert_int_not_equal(fixture_sh("%s backup --store %s %s 2>&1", fixture_gridctl(), store, backup), 0);
    /* The live store is never overwritten. */
    assert_int_equal(fixture_sh("%s restore %s %s 2>&1", fixture_gridctl(), backup, store), 4);
    assert_non_null(strstr(fixture_out, "in use by a running gridrelayd"));

    /* The same node (id and key) in a new directory, on a new port. */
    harness_node_t copy = node;
    char parent[] = "/tmp/gridrelay-restore-XXXXXX";
    assert_non_null(mkdtemp(parent));
    snprintf(copy.dir, sizeof copy.dir, "%s/village-backup", parent);
    assert_int_equal(mkdir(copy.dir, 0700), 0);
    snprintf(copy.config, sizeof copy.config, "%s/node.ini", copy.dir);
    copy.endpoint[0] = '\0';
    copy.pid = 0;
    assert_int_equal(fixture_sh("cp %s/node.sec %s/node.pub %s/", node.dir, node.dir, copy.dir), 0);
    char restored[400];
    snprintf(restored, sizeof restored, "%s/store", copy.dir);
    assert_int_equal(fixture_sh("%s restore %s %s 2>&1", fixture_gridctl(), backup, restored), 0);
    assert_non_null(strstr(fixture_out, "audit: ok"));
    /* Restoring over a store, even a stopped one, is refused. */
    assert_int_equal(fixture_sh("%s restore %s %s 2>&1", fixture_gridctl(), backup, restored), 4);
    assert_non_null(strstr(fixture_out, "holds a store already"));

    assert_int_equal(harness_node_start(&copy), 0);
    assert_string_not_equal(copy.endpoint, node.endpoint);
    for (int i = 0; i < before; i++) {
        char id[32];
        snprintf(id, sizeof id, "bk-%d", i);
        if (node_status(&copy, ctx, id, NULL, 0) != GRIDRELAY__STATUS__REPORTED)
            fail_msg("%s, acknowledged before the backup, is not in the restored node", id);
    }
    assert_int_equal(harness_node_stop(&copy, SIGTERM), 0);
    assert_int_equal(fixture_sh("%s audit verify --store %s 2>&1", fixture_gridctl(), restored), 0);
    assert_non_null(strstr(fixture_out, "ok "));

    zmq_ctx_term(ctx);
    harness_node_cleanup(&copy);
    rmdir(parent);
    harness_node_cleanup(&node);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hot_backup_restored_holds_every_acked_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
