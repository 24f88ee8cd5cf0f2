/* Dead letters against real gridrelayd processes: a village whose
 * catalogue has a category its township's catalogue lacks escalates two
 * reports of it; the township refuses each for good (ERR_UNKNOWN_CATEGORY),
 * so the village's link stops resending them and its outbox shows them as
 * dead letters. One is dropped (recorded in the case's timeline, and the
 * village's audit trail still verifies); the township's catalogue is
 * fixed and it restarts; the other is retried and reaches it. */
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

#define WAIT_MS 20000

static void s_catalogue(const char *path, bool with_new)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "[T.VILLAGE]\nclass = test\nsubclass = test\nname = handled in the village\n"
               "authority = village\n\n"
               "[T.TOWNSHIP]\nclass = test\nsubclass = test\nname = needs the township\n"
               "authority = township\n");
    if (with_new)
        fprintf(f, "\n[T.NEW]\nclass = test\nsubclass = test\nname = a category added below "
                   "first\nauthority = township\n");
    assert_int_equal(fclose(f), 0);
}

typedef struct {
    const char *common;
    const char *args;
    const char *text;
    int times;
} s_says_t;

/* `gridctl ARGS` prints text at least `times` times. */
static bool s_says(void *ctx)
{
    s_says_t *w = ctx;
    if (fixture_sh("%s %s %s 2>&1", fixture_gridctl(), w->args, w->common) != 0)
        return false;
    int n = 0;
    for (const char *p = fixture_out; (p = strstr(p, w->text)) != NULL; p++)
        n++;
    return n >= w->times;
}

/* The PEER/SEQ of the listed item about case id. */
static void s_item_of(const char *listing, const char *id, char *out, size_t cap)
{
    const char *at = strstr(listing, id);
    assert_non_null(at);
    const char *line = at;
    while (line > listing && line[-1] != '\n')
        line--;
    size_t n = strcspn(line, " ");
    assert_true(n > 0 && n < cap);
    memcpy(out, line, n);
    out[n] = '\0';
}

static void test_refused_for_good_is_dead_retried_and_dropped(void **state)
{
    (void)state;
    harness_node_t town, village;
    memset(&town, 0, sizeof town);
    memset(&village, 0, sizeof village);
    assert_int_equal(harness_node_init(&town, "town-outbox", 1), 0);
    assert_int_equal(harness_node_init(&village, "village-outbox", 1), 0);
    snprintf(town.tier, sizeof town.tier, "township");
    town.status_listen = true;
    snprintf(town.catalogue, sizeof town.catalogue, "%s/catalogue.ini", town.dir);
    snprintf(village.catalogue, sizeof village.catalogue, "%s/catalogue.ini", village.dir);
    s_catalogue(town.catalogue, false);
    s_catalogue(village.catalogue, true);
    harness_add_child(&town, &village);
    assert_int_equal(harness_node_start(&town), 0);
    harness_set_parent(&village, &town, "parent");
    assert_int_equal(harness_node_start(&village), 0);
    void *ctx = zmq_ctx_new();
    assert_non_null(ctx);
    char vcommon[1200], tcommon[1200];
    assert_int_equal(node_key_args(&village, vcommon, sizeof vcommon), 0);
    assert_int_equal(node_key_args(&town, tcommon, sizeof tcommon), 0);

    assert_int_equal(node_report(&village, ctx, "dl-keep", "T.NEW", 1), 0);
    assert_int_equal(node_report(&village, ctx, "dl-drop", "T.NEW", 1), 0);
    assert_int_equal(node_report(&village, ctx, "dl-fine", "T.TOWNSHIP", 1), 0);
    s_says_t dead = {vcommon, "outbox list --dead", "unknown_category", 2};
    if (!harness_wait_until(s_says, &dead, WAIT_MS))
        fail_msg("no dead letters at the village: %s", fixture_out);
    /* The good one went through; the two refused ones wait for nobody. */
    s_says_t fine = {tcommon, "show dl-fine", "dl-fine", 1};
    assert_true(harness_wait_until(s_says, &fine, WAIT_MS));
    assert_int_equal(fixture_sh("%s outbox list %s", fixture_gridctl(), vcommon), 0);
    assert_non_null(strstr(fixture_out, "0 waiting, 2 dead"));
    assert_non_null(strstr(fixture_out, "escalate"));
    char keep[320], drop[320];
    s_item_of(fixture_out, "dl-keep", keep, sizeof keep);
    s_item_of(fixture_out, "dl-drop", drop, sizeof drop);
    assert_int_equal(strncmp(keep, "parent/", 7), 0);

    /* An id that names no dead letter is refused. */
    assert_int_equal(fixture_sh("%s outbox retry parent/1 %s 2>&1", fixture_gridctl(), vcommon), 1);
    assert_non_null(strstr(fixture_out, "no dead letter"));

    /* Dropped: kept, marked, and in the case's timeline. */
    assert_int_equal(fixture_sh("%s outbox drop %s --reason 'reported in error' %s", fixture_gridctl(), drop,
                          vcommon), 0);
    assert_int_equal(fixture_sh("%s outbox drop %s %s 2>&1", fixture_gridctl(), drop, vcommon), 1);
    assert_int_equal(fixture_sh("%s show dl-drop %s", fixture_gridctl(), vcommon), 0);
    if (!strstr(fixture_out, "dropped by worker-0: reported in error") || !strstr(fixture_out, "drop"))
        fail_msg("the timeline does not record the drop: %s", fixture_out);
    assert_int_equal(fixture_sh("%s audit verify %s", fixture_gridctl(), vcommon), 0);
    assert_int_equal(fixture_sh("%s outbox list --dead %s", fixture_gridctl(), vcommon), 0);
    assert_non_null(strstr(fixture_out, "dropped"));
    assert_non_null(strstr(fixture_out, "1 dead"));

    /* The township learns the category; the kept letter is retried. */
    assert_int_equal(harness_node_stop(&town, SIGTERM), 0);
    s_catalogue(town.catalogue, true);
    assert_int_equal(harness_node_start(&town), 0);
    assert_int_equal(fixture_sh("%s outbox retry %s %s", fixture_gridctl(), keep, vcommon), 0);
    assert_non_null(strstr(fixture_out, "queued again, case dl-keep"));
    s_says_t held = {tcommon, "show dl-keep", "dl-keep", 1};
    if (!harness_wait_until(s_says, &held, WAIT_MS))
        fail_msg("the retried escalation did not reach the township: %s", fixture_out);
    s_says_t empty = {vcommon, "outbox list", "0 waiting, 0 dead", 1};
    assert_true(harness_wait_until(s_says, &empty, WAIT_MS));
    /* The dropped one stays dropped: never sent again. */
    assert_int_not_equal(fixture_sh("%s show dl-drop %s 2>&1", fixture_gridctl(), tcommon), 0);

    zmq_ctx_term(ctx);
    harness_node_cleanup(&village);
    harness_node_cleanup(&town);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_for_good_is_dead_retried_and_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
