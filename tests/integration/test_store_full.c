/* A node whose store reaches its configured maximum refuses new reports
 * with a clear error, keeps serving reads, loses nothing it acknowledged,
 * and takes work again once restarted with a larger limit. */
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
#include "tiers_fixture.h"

#define MAX_REPORTS 20000

static void test_full_store_refuses_work_and_keeps_serving_reads(void **state)
{
    (void)state;
    harness_node_t node;
    assert_int_equal(harness_node_init(&node, "village-full", 1), 0);
    snprintf(node.extra_node, sizeof node.extra_node, "map_size_mb = 1\nmap_max_mb = 2\n");
    assert_int_equal(harness_node_start(&node), 0);
    void *ctx = zmq_ctx_new();
    gr_client_t *client = harness_client(&node, ctx, 0);
    assert_non_null(client);

    char description[2048];
    memset(description, 'x', sizeof description - 1);
    description[sizeof description - 1] = '\0';
    int code = 0;
    char id[32];
    int acked = client_fill_store(client, "full", MAX_REPORTS, &code, id);
    assert_int_equal(code, GRIDRELAY__ERROR_CODE__ERR_STORE_FULL);
    assert_true(acked > 100);  /* the map grew from 1 MiB before giving up */

    /* Reads still work, and everything acknowledged is there. */
    for (int i = 0; i < acked; i++) {
        snprintf(id, sizeof id, "full-%05d", i);
        assert_int_equal(client_get_kind(client, id), GRIDRELAY__BODY__KIND_EVENT_DETAIL);
    }
    gr_client_destroy(&client);
    assert_int_equal(harness_node_stop(&node, SIGTERM), 0);

    /* With room again, the node accepts work and kept every event. */
    snprintf(node.extra_node, sizeof node.extra_node, "map_size_mb = 1\nmap_max_mb = 16\n");
    assert_int_equal(harness_node_start(&node), 0);
    client = harness_client(&node, ctx, 0);
    snprintf(id, sizeof id, "full-%05d", acked);
    assert_int_equal(client_service_report(client, id, description), 0);
    snprintf(id, sizeof id, "full-%05d", 0);
    assert_int_equal(client_get_kind(client, id), GRIDRELAY__BODY__KIND_EVENT_DETAIL);
    gr_client_destroy(&client);
    zmq_ctx_term(ctx);
    assert_int_equal(harness_node_stop(&node, SIGTERM), 0);
    harness_node_cleanup(&node);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_store_refuses_work_and_keeps_serving_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
