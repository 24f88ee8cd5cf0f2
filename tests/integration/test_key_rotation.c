/* Rotating a node's own key (issue 14, key lifecycle), following the
 * README's procedure step by step on real processes: township town-b gets
 * a new key while its outbox holds escalations for a district that is
 * down, and its villages hold reports for it. The district first trusts
 * the new key with the old one as "previous", town-b restarts on the new
 * key, its villages take the new [parent] key; every queued escalation
 * then reaches the district exactly once; once town-b's outbox is empty
 * the district drops the old key, which is refused from then on. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <zmq.h>

#include "tiers_fixture.h"

#define WAIT_MS 60000

static topology_t s_topology;

/* Replaces the first from in text (cap bytes) with to; -1 when absent. */
static int s_replace(char *text, size_t cap, const char *from, const char *to)
{
    char *at = strstr(text, from);
    if (!at)
        return -1;
    char rest[8192];
    snprintf(rest, sizeof rest, "%s", at + strlen(from));
    size_t head = (size_t)(at - text);
    snprintf(at, cap - head, "%s%s", to, rest);
    return 0;
}

static void s_report_many(topology_t *t, int node, const char *prefix, int n)
{
    char id[32];
    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof id, "%s-%02d", prefix, i);
        assert_int_equal(topology_report(t, node, id, "T.DISTRICT", 2), 0);
    }
}

static void s_wait_all(topology_t *t, int node, const char *prefix, int n, int status)
{
    char id[32];
    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof id, "%s-%02d", prefix, i);
        assert_true(topology_wait_status(t, node, id, status, WAIT_MS));
    }
}

typedef struct {
    harness_node_t *node;
} s_outbox_t;

/* town-b's link to the district has nothing left in its outbox. */
static bool s_outbox_empty(void *arg)
{
    s_outbox_t *o = arg;
    char out[8192];
    if (node_gridctl(o->node, NULL, "status", false, out, sizeof out) != 0)
        return false;
    if (getenv("GR_TEST_VERBOSE"))
        fprintf(stderr, "%s\n", out);
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        char peer[64], role[16], up[8];
        unsigned long long depth = 1;
        if (sscanf(line, "%63s %15s %7s", peer, role, up) == 3 && strcmp(peer, "district") == 0) {
            /* LAST CONTACT is "never" or "N.N s ago": the depth follows it. */
            const char *ago = strstr(line, "ago");
            const char *never = strstr(line, "never");
            const char *after = ago ? ago + 3 : never ? never + 5 : NULL;
            return after && sscanf(after, "%llu", &depth) == 1 && depth == 0;
        }
    }
    return false;
}

static void test_rotate_a_township_key(void **state)
{
    (void)state;
    topology_t *t = &s_topology;
    assert_int_equal(topology_start(t, 0), 0);
    harness_node_t *district = &t->nodes[DISTRICT], *town = &t->nodes[TOWN_B];
    char old_hex[GR_PUBLIC_KEY_HEX], new_hex[GR_PUBLIC_KEY_HEX], with_previous[200];
    harness_node_key_hex(town, old_hex);

    /* Before: the district is down, town-b's outbox holds escalations. */
    assert_int_equal(harness_node_stop(district, SIGTERM), 0);
    s_report_many(t, VILLAGE_B1, "queued", 20);
    s_wait_all(t, TOWN_B, "queued", 20, GRIDRELAY__STATUS__ESCALATED);

    /* 1. town-b's new key, made on its machine. */
    gr_keypair_t old_key = town->node_key, new_key;
    assert_int_equal(gr_keys_generate(&new_key), 0);
    gr_key_to_hex(new_hex, new_key.pk);
    /* 2. The district trusts both (restart; its outbox survives it). */
    snprintf(with_previous, sizeof with_previous, "%s, previous %s", new_hex, old_hex);
    assert_int_equal(s_replace(district->sections, sizeof district->sections, old_hex,
                               with_previous), 0);
    assert_int_equal(harness_node_write_config(district), 0);
    /* 3. town-b restarts on the new key (its store, its outbox). */
    assert_int_equal(harness_node_stop(town, SIGTERM), 0);
    char sec[400], pub[400], err[256];
    snprintf(sec, sizeof sec, "%s/node.sec", town->dir);
    snprintf(pub, sizeof pub, "%s/node.sec.pub", town->dir);
    unlink(sec);
    unlink(pub);
    snprintf(pub, sizeof pub, "%s/node.pub", town->dir);
    unlink(pub);
    assert_int_equal(gr_keys_save(&new_key, sec, pub, err, sizeof err), 0);
    town->node_key = new_key;
    assert_int_equal(harness_node_start(town), 0);
    /* Meanwhile the villages still know the old key: they queue. */
    s_report_many(t, VILLAGE_B1, "waiting", 10);
    /* 4. Each child of town-b takes the new [parent] key and restarts. */
    for (int v = VILLAGE_B1; v <= VILLAGE_B2; v++) {
        harness_node_t *village = &t->nodes[v];
        assert_int_equal(harness_node_stop(village, SIGTERM), 0);
        assert_int_equal(s_replace(village->sections, sizeof village->sections, old_hex, new_hex), 0);
        assert_int_equal(harness_node_write_config(village), 0);
        assert_int_equal(harness_node_start(village), 0);
    }
    assert_int_equal(harness_node_start(district), 0);
    s_report_many(t, VILLAGE_B2, "after", 10);

    /* Everything arrives: the old-key outbox, the villages' backlog, new. */
    s_wait_all(t, DISTRICT, "queued", 20, GRIDRELAY__STATUS__REPORTED);
    s_wait_all(t, DISTRICT, "waiting", 10, GRIDRELAY__STATUS__REPORTED);
    s_wait_all(t, DISTRICT, "after", 10, GRIDRELAY__STATUS__REPORTED);

    /* 5. Once town-b's outbox to the district is empty, the old key goes. */
    char r_sec[400], r_pub[400];
    snprintf(r_sec, sizeof r_sec, "%.300s/reporter0.sec", town->dir);
    snprintf(r_pub, sizeof r_pub, "%.300s/reporter0.pub", town->dir);
    assert_int_equal(gr_keys_save(&town->reporters[0], r_sec, r_pub, err, sizeof err), 0);
    s_outbox_t o = {town};
    assert_true(harness_wait_until(s_outbox_empty, &o, WAIT_MS));
    assert_int_equal(harness_node_stop(district, SIGTERM), 0);
    assert_int_equal(s_replace(district->sections, sizeof district->sections, with_previous,
                               new_hex), 0);
    assert_int_equal(harness_node_write_config(district), 0);
    assert_int_equal(harness_node_start(district), 0);
    s_report_many(t, VILLAGE_B1, "later", 5);
    s_wait_all(t, DISTRICT, "later", 5, GRIDRELAY__STATUS__REPORTED);

    /* The old key gets no answer at the district any more. */
    gr_client_t *stale = gr_client_new(t->ctx, district->endpoint, &old_key, district->node_key.pk);
    assert_non_null(stale);
    Gridrelay__GetStats get = GRIDRELAY__GET_STATS__INIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_STATS;
    body.get_stats = &get;
    gr_opened_t reply;
    assert_int_not_equal(gr_client_call(stale, &body, &reply, 1000, 1), 0);
    gr_client_destroy(&stale);

    /* Each event once at the district, every store consistent. */
    assert_int_equal(node_counter(district, t->ctx, "events_stored"), 45);
    assert_int_equal(topology_stop(t), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rotate_a_township_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
