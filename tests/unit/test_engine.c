/* Unit tests for node/engine, the case engine: a real config and a real
 * LMDB store in a temp dir, no processes. A case is born and changed only
 * as the lifecycle table allows, every change is one timeline entry and
 * one status update, what needs another module lands on the agenda, and
 * a mark takes a request's effects back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "engine.h"
#include "error.h"
#include "keys.h"
#include "merge.h"
#include "store.h"

typedef struct {
    char dir[64];
    gr_config_t *cfg;
    gr_store_t *store;
    gr_engine_t *engine;
    gr_txn_t *txn;
} fixture_t;

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void s_write(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* A township with a parent, a 1-hour accept deadline for routine cases,
 * and a catalogue of a township matter and a district matter. */
static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->dir, "/tmp/gr-test-engine-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(gr_keys_init(), 0);
    gr_keypair_t node, parent;
    assert_int_equal(gr_keys_generate(&node), 0);
    assert_int_equal(gr_keys_generate(&parent), 0);
    char path[256], pub[256], hex[GR_PUBLIC_KEY_HEX], err[512];
    snprintf(path, sizeof path, "%s/node.sec", f->dir);
    snprintf(pub, sizeof pub, "%s/node.pub", f->dir);
    assert_int_equal(gr_keys_save(&node, path, pub, err, sizeof err), 0);
    gr_key_to_hex(hex, parent.pk);
    s_write(f->dir, "cat.ini",
            "[T.TOWN]\nclass = t\nsubclass = t\nname = township matter\nauthority = township\n"
            "[T.DISTRICT]\nclass = t\nsubclass = t\nname = district matter\nauthority = district\n");
    char ini[2048];
    snprintf(ini, sizeof ini,
             "[node]\nid = town-e\ntier = township\nstore = store\n"
             "listen = tcp://127.0.0.1:7999\nsecret_key = node.sec\ncatalogue = cat.ini\n"
             "[parent]\nid = district-e\nendpoint = tcp://127.0.0.1:7998\nkey = %s\n"
             "[deadlines]\naccept.routine = 1h\n",
             hex);
    s_write(f->dir, "node.ini", ini);
    snprintf(path, sizeof path, "%s/node.ini", f->dir);
    f->cfg = gr_config_load(path, err, sizeof err);
    if (!f->cfg)
        fail_msg("config: %s", err);
    gr_store_options_t opt = {0};
    assert_int_equal(gr_store_open(&f->store, f->cfg->store_path, &opt, err, sizeof err), 0);
    assert_non_null(f->engine = gr_engine_new(f->cfg));
    assert_int_equal(gr_store_begin(f->store, true, &f->txn), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    gr_store_abort(&f->txn);
    gr_engine_destroy(&f->engine);
    assert_null(f->engine);
    gr_store_close(&f->store);
    gr_config_destroy(&f->cfg);
    assert_int_equal(nftw(f->dir, s_rm, 16, FTW_DEPTH | FTW_PHYS), 0);
    free(f);
    return 0;
}

/* Creates case id of category (routine) received at now, and returns it
 * as stored. */
static Gridrelay__StoredEvent *s_create(fixture_t *f, const char *id, const char *category,
                                        uint64_t now)
{
    Gridrelay__Event ev = GRIDRELAY__EVENT__INIT;
    ev.id = (char *)id;
    ev.category = (char *)category;
    ev.severity = GRIDRELAY__SEVERITY__ROUTINE;
    ev.title = "a test case";
    ev.origin_node = "village-e";
    Gridrelay__StoredEvent stored = GRIDRELAY__STORED_EVENT__INIT;
    stored.event = &ev;
    uint8_t pk[32] = {7}, hash[32] = {9};
    gr_actor_t actor = {"worker-1", pk, hash};
    Gridrelay__StoredEvent *rec = NULL;
    assert_int_equal(gr_engine_create(f->engine, f->txn, &stored, &actor,
                                      GRIDRELAY__ACTION__ACTION_REPORT, "reported", now, &rec), 0);
    assert_non_null(rec);
    return rec;
}

static void test_create_and_change(void **state)
{
    fixture_t *f = *state;
    Gridrelay__StoredEvent *rec = s_create(f, "E1", "T.TOWN", 1000);
    assert_int_equal(rec->status, GRIDRELAY__STATUS__REPORTED);
    assert_string_equal(rec->holder, "town-e");
    assert_int_equal(rec->timeline_len, 1);
    assert_int_equal(gr_engine_status_of(f->engine, "E1"), GRIDRELAY__STATUS__REPORTED);
    uint64_t events = 0;
    assert_int_equal(gr_store_counter_get(f->txn, "events", &events), 0);
    assert_int_equal(events, 1);

    /* Announced, and decided next (on the agenda). */
    assert_int_equal(gr_engine_new_case(f->engine, f->txn, rec, 1000), 0);
    assert_int_equal(gr_engine_effects(f->engine)->status.count, 1);
    gr_next_t next;
    assert_true(gr_engine_take_next(f->engine, &next));
    assert_int_equal(next.kind, GR_NEXT_DECIDE);
    assert_string_equal(next.event_id, "E1");
    assert_false(gr_engine_take_next(f->engine, &next));

    /* A change the table allows: one more entry, one more update, the
     * action counted. */
    assert_int_equal(gr_engine_change(f->engine, f->txn, rec, GRIDRELAY__ACTION__ACTION_ACCEPT, NULL,
                                      "accepted", 2000), 0);
    assert_int_equal(rec->status, GRIDRELAY__STATUS__ACCEPTED);
    assert_int_equal(rec->timeline_len, 2);
    assert_int_equal(gr_engine_effects(f->engine)->status.count, 2);
    uint64_t accepts = 0;
    assert_int_equal(gr_store_counter_get(f->txn, "action.accept", &accepts), 0);
    assert_int_equal(accepts, 1);
    /* One it does not: refused, nothing written. */
    assert_int_equal(gr_engine_change(f->engine, f->txn, rec, GRIDRELAY__ACTION__ACTION_FEEDBACK,
                                      NULL, "no", 3000), GR_EPERM);
    assert_int_equal(rec->timeline_len, 2);
    assert_int_equal(gr_store_timeline_verify(f->txn, "E1"), 0);
    gridrelay__stored_event__free_unpacked(rec, NULL);
}

static void test_leaving_the_departments_ends_their_tasks(void **state)
{
    fixture_t *f = *state;
    Gridrelay__StoredEvent *rec = s_create(f, "E2", "T.TOWN", 1000);
    assert_int_equal(gr_engine_set(&rec->dept, "police"), 0);
    assert_int_equal(gr_engine_change(f->engine, f->txn, rec, GRIDRELAY__ACTION__ACTION_DISPATCH, NULL,
                                      "dispatched", 1100), 0);
    gr_next_t next;
    assert_false(gr_engine_take_next(f->engine, &next));  /* still theirs */
    assert_int_equal(gr_engine_change(f->engine, f->txn, rec, GRIDRELAY__ACTION__ACTION_RESOLVE, NULL,
                                      "resolved", 1200), 0);
    assert_true(gr_engine_take_next(f->engine, &next));
    assert_int_equal(next.kind, GR_NEXT_WITHDRAW);
    assert_string_equal(next.event_id, "E2");
    assert_non_null(strstr(next.why, "resolved"));
    gridrelay__stored_event__free_unpacked(rec, NULL);
}

static void test_decide_keeps_with_a_timer_or_says_send_it_up(void **state)
{
    fixture_t *f = *state;
    gr_decision_t d;
    /* A township matter: kept, re-checked at its accept deadline. */
    Gridrelay__StoredEvent *rec = s_create(f, "E3", "T.TOWN", 1000);
    assert_int_equal(gr_engine_decide(f->engine, f->txn, rec, false, false, 1000, &d), 0);
    assert_int_equal(d.action, GR_ACT_KEEP);
    assert_int_equal(d.due_ms, 1000 + 3600 * 1000);
    uint64_t due = 0;
    assert_int_equal(gr_store_due_next(f->txn, &due), 0);
    assert_int_equal(due, 1000 + 3600 * 1000);
    /* Past the deadline: up with 督办, the deadline entry already written. */
    assert_int_equal(gr_engine_decide(f->engine, f->txn, rec, false, false, 1000 + 3600 * 1000, &d), 0);
    assert_int_equal(d.action, GR_ACT_ESCALATE);
    assert_true(d.supervise);
    assert_int_equal(rec->timeline_len, 2);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    /* A district matter: up at once; no timer, no entry. */
    rec = s_create(f, "E4", "T.DISTRICT", 1000);
    assert_int_equal(gr_engine_decide(f->engine, f->txn, rec, false, false, 1000, &d), 0);
    assert_int_equal(d.action, GR_ACT_ESCALATE);
    assert_int_equal(d.reason, GR_REASON_OUTSIDE_AUTHORITY);
    assert_int_equal(rec->timeline_len, 1);
    /* An information copy is never routed. */
    rec->info_only = true;
    assert_int_equal(gr_engine_decide(f->engine, f->txn, rec, true, false, 1000, &d), 0);
    assert_int_equal(d.action, GR_ACT_NONE);
    gridrelay__stored_event__free_unpacked(rec, NULL);
}

static void test_mark_takes_effects_and_agenda_back(void **state)
{
    fixture_t *f = *state;
    Gridrelay__StoredEvent *rec = s_create(f, "E5", "T.TOWN", 1000);
    assert_int_equal(gr_engine_new_case(f->engine, f->txn, rec, 1000), 0);
    gr_engine_mark_t mark = gr_engine_mark(f->engine);
    size_t status = gr_engine_effects(f->engine)->status.count;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_STATS;
    Gridrelay__GetStats gs = GRIDRELAY__GET_STATS__INIT;
    body.get_stats = &gs;
    assert_int_equal(gr_engine_enqueue(f->engine, f->txn, "parent", &body), 0);
    assert_true(gr_engine_effects(f->engine)->kick_all);
    assert_int_equal(gr_engine_notice(f->engine, "dept/police/", &body), 0);
    assert_int_equal(gr_engine_then_decide(f->engine, "E5", true, "an operator asked"), 0);
    assert_int_equal(gr_engine_change(f->engine, f->txn, rec, GRIDRELAY__ACTION__ACTION_ACCEPT, NULL,
                                      "accepted", 2000), 0);
    gr_engine_rollback(f->engine, &mark);
    gr_effects_t *e = gr_engine_effects(f->engine);
    assert_int_equal(e->status.count, status);
    assert_int_equal(e->notices.count, 0);
    assert_false(e->kick_all);
    gr_next_t next;
    assert_true(gr_engine_take_next(f->engine, &next));  /* new_case's decide stays */
    assert_false(next.operator_asked);
    assert_false(gr_engine_take_next(f->engine, &next));
    assert_int_equal(gr_engine_status_of(f->engine, "E5"), 0);
    gridrelay__stored_event__free_unpacked(rec, NULL);
}

/* 合并: a merged case is never routed and has no deadline; resolving the
 * case it joined resolves it (its result on the agenda); refusals change
 * nothing. */
static void test_merged_case_follows_the_case_it_joined(void **state)
{
    fixture_t *f = *state;
    Gridrelay__StoredEvent *a = s_create(f, "M1", "T.TOWN", 1000);
    Gridrelay__StoredEvent *b = s_create(f, "M2", "T.TOWN", 1100);
    Gridrelay__StoredEvent *c = s_create(f, "M3", "T.DISTRICT", 1200);
    uint8_t pk[32] = {5}, hash[32] = {6};
    gr_actor_t op = {"operator-1", pk, hash};
    Gridrelay__CaseAction ca = GRIDRELAY__CASE_ACTION__INIT;
    ca.event_id = "M2";
    ca.kind = GRIDRELAY__CASE_ACTION__KIND__MERGE;
    char refusal[200];
    /* Refused: into itself, across categories, an unknown case. */
    ca.target = "M2";
    assert_int_equal(gr_merge_action(f->engine, f->txn, b, &ca, &op, 1500, refusal, sizeof refusal),
                     GR_EINVAL);
    ca.target = "M3";
    assert_int_equal(gr_merge_action(f->engine, f->txn, b, &ca, &op, 1500, refusal, sizeof refusal),
                     GR_EINVAL);
    assert_non_null(strstr(refusal, "categories differ"));
    ca.target = "M9";
    assert_int_equal(gr_merge_action(f->engine, f->txn, b, &ca, &op, 1500, refusal, sizeof refusal),
                     GR_ENOTFOUND);
    assert_int_equal(b->timeline_len, 1);
    ca.target = "M1";
    ca.text = "one fire";
    assert_int_equal(gr_merge_action(f->engine, f->txn, b, &ca, &op, 1500, refusal, sizeof refusal), 0);
    assert_true(gr_merge_is_merged(b));
    assert_string_equal(b->merged_into, "M1");
    assert_string_equal(b->merged_at, "town-e");
    assert_int_equal(b->timeline_len, 2);
    gridrelay__stored_event__free_unpacked(a, NULL);
    assert_int_equal(gr_store_event_get(f->txn, "M1", &a), 0);
    assert_int_equal(a->n_merged, 1);
    assert_string_equal(a->merged[0], "M2");
    assert_int_equal(a->timeline_len, 2);
    assert_int_equal(gr_store_timeline_verify(f->txn, "M1"), 0);
    assert_int_equal(gr_store_timeline_verify(f->txn, "M2"), 0);

    /* No lifecycle of its own: long past its accept deadline, nothing. */
    gr_decision_t d;
    assert_int_equal(gr_engine_decide(f->engine, f->txn, b, false, false, 10 * 3600 * 1000, &d), 0);
    assert_int_equal(d.action, GR_ACT_NONE);
    assert_true(gr_engine_due(f->cfg, b) == 0);
    assert_true(gr_engine_due(f->cfg, a) != 0);

    /* Resolving the case it joined: the merged one follows, its result
     * sent where it came from. */
    gr_engine_effects_clear(f->engine);
    assert_int_equal(gr_engine_set(&a->result, "fire out"), 0);
    assert_int_equal(gr_engine_change(f->engine, f->txn, a, GRIDRELAY__ACTION__ACTION_RESOLVE, NULL,
                                      "resolved", 2000), 0);
    gr_next_t next;
    assert_true(gr_engine_take_next(f->engine, &next));
    assert_int_equal(next.kind, GR_NEXT_MERGED);
    assert_string_equal(next.event_id, "M1");
    assert_int_equal(gr_merge_resolve_merged(f->engine, f->txn, a, 2000), 0);
    assert_true(gr_engine_take_next(f->engine, &next));
    assert_int_equal(next.kind, GR_NEXT_RESULT);
    assert_string_equal(next.event_id, "M2");
    assert_false(gr_engine_take_next(f->engine, &next));
    gridrelay__stored_event__free_unpacked(b, NULL);
    assert_int_equal(gr_store_event_get(f->txn, "M2", &b), 0);
    assert_int_equal(b->status, GRIDRELAY__STATUS__RESOLVED);
    assert_string_equal(b->result, "fire out");
    /* Once: a second pass finds it resolved. */
    assert_int_equal(gr_merge_resolve_merged(f->engine, f->txn, a, 2100), 0);
    assert_false(gr_engine_take_next(f->engine, &next));
    /* Nothing is merged into a resolved case, and a resolved one is not
     * unmerged. */
    ca.event_id = "M3";
    ca.target = "M1";
    assert_int_equal(gr_engine_set(&c->event->category, "T.TOWN"), 0);  /* same category */
    assert_int_equal(gr_merge_action(f->engine, f->txn, c, &ca, &op, 2200, refusal, sizeof refusal),
                     GR_EPERM);
    assert_non_null(strstr(refusal, "only open cases are merged"));
    ca.kind = GRIDRELAY__CASE_ACTION__KIND__UNMERGE;
    assert_int_equal(gr_merge_action(f->engine, f->txn, b, &ca, &op, 2200, refusal, sizeof refusal),
                     GR_EPERM);
    gridrelay__stored_event__free_unpacked(a, NULL);
    gridrelay__stored_event__free_unpacked(b, NULL);
    gridrelay__stored_event__free_unpacked(c, NULL);
}

/* Unmerge: both timelines, the router asked again at once. */
static void test_unmerge_asks_the_router_again(void **state)
{
    fixture_t *f = *state;
    Gridrelay__StoredEvent *a = s_create(f, "U1", "T.TOWN", 1000);
    Gridrelay__StoredEvent *b = s_create(f, "U2", "T.TOWN", 1100);
    uint8_t pk[32] = {5}, hash[32] = {6};
    gr_actor_t op = {"operator-1", pk, hash};
    Gridrelay__CaseAction ca = GRIDRELAY__CASE_ACTION__INIT;
    ca.event_id = "U2";
    ca.kind = GRIDRELAY__CASE_ACTION__KIND__MERGE;
    ca.target = "U1";
    char refusal[200];
    assert_int_equal(gr_merge_action(f->engine, f->txn, b, &ca, &op, 1500, refusal, sizeof refusal), 0);
    /* Merged already: refused; into a merged one: refused. */
    assert_int_equal(gr_merge_action(f->engine, f->txn, b, &ca, &op, 1500, refusal, sizeof refusal),
                     GR_EPERM);
    assert_non_null(strstr(refusal, "already merged"));
    gr_engine_effects_clear(f->engine);
    ca.kind = GRIDRELAY__CASE_ACTION__KIND__UNMERGE;
    ca.target = "";
    ca.text = "two fires";
    assert_int_equal(gr_merge_action(f->engine, f->txn, b, &ca, &op, 1600, refusal, sizeof refusal), 0);
    assert_false(gr_merge_is_merged(b));
    assert_int_equal(b->timeline_len, 3);
    gr_next_t next;
    assert_true(gr_engine_take_next(f->engine, &next));
    assert_int_equal(next.kind, GR_NEXT_DECIDE);
    assert_string_equal(next.event_id, "U2");
    gridrelay__stored_event__free_unpacked(a, NULL);
    assert_int_equal(gr_store_event_get(f->txn, "U1", &a), 0);
    assert_int_equal(a->n_merged, 0);
    assert_int_equal(a->timeline_len, 3);
    gridrelay__stored_event__free_unpacked(a, NULL);
    gridrelay__stored_event__free_unpacked(b, NULL);
}

static void test_sequences_only_increase(void **state)
{
    fixture_t *f = *state;
    uint64_t last = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t seq = gr_engine_next_seq(f->engine);
        assert_true(seq > last);
        last = seq;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leaving_the_departments_ends_their_tasks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decide_keeps_with_a_timer_or_says_send_it_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mark_takes_effects_and_agenda_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merged_case_follows_the_case_it_joined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmerge_asks_the_router_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequences_only_increase, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
