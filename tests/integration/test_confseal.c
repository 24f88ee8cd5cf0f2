/* Confidential categories in transit (issue 14), through real gridrelayd
 * and gridctl processes: village -> township -> district, where the
 * village's [confidential_seal] seals T.SECRET's personal fields to the
 * district's key. The township stores, escalates and counts the case, but
 * neither its data.mdb (which holds what came in and the outbox it sends
 * up, the link bytes) nor its operators (even one [confidential] names)
 * see the name, phone, address or media link; the district's named
 * operator reads them, its other operator is refused. The view and the
 * status stream carry the case by id and category only, and every listing
 * of it is a read in the access chain (gridctl audit reads). */
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

#include "harness.h"
#include "datakey.h"
#include "keys.h"
#include "store.h"
#include "tiers_fixture.h"

#define S_PHONE "13700001111"
#define S_NAME "Li Sifang"
#define S_ADDR "Courtyard 12 Willow Street"
#define S_URI "https://media.example/li-sifang.jpg"
#define S_TITLE "watch on Li Sifang"
#define S_REPORTER "wang-xiaoli"
#define WAIT_MS 30000

enum { TD, TT, TV, TN };

typedef struct {
    harness_node_t n[TN];
    char catalogue[320];
    char id[32];
} tiers_t;

static tiers_t s_tiers;

static const char *const s_personal[] = {S_PHONE, S_NAME, S_ADDR, S_URI, S_REPORTER};

static int s_setup(void **state)
{
    tiers_t *t = &s_tiers;
    memset(t, 0, sizeof *t);
    static const char *const names[TN] = {"district-s", "town-s", "village-s"};
    if (chain_init_with_key_files(t->n, names, 3,
                                  "[T.SECRET]\nclass = t\nsubclass = t\nname = key person\n"
                                  "authority = district\nconfidential = yes\n",
                                  t->catalogue, sizeof t->catalogue) != 0)
        return -1;
    /* Old-style configs: each reporter key also operates. worker-0 is
     * named for T.SECRET at the district and at the township (which still
     * cannot read it: it never gets the fields), worker-2 is an auditor. */
    char hex[GR_PUBLIC_KEY_HEX], dist[GR_PUBLIC_KEY_HEX];
    harness_node_key_hex(&t->n[TD], dist);
    for (int i = TD; i <= TT; i++) {
        gr_key_to_hex(hex, t->n[i].reporters[2].pk);
        snprintf(t->n[i].sections, sizeof t->n[i].sections,
                 "[confidential]\nT.SECRET = worker-0\n\n[auditors]\nworker-2 = %s\n\n", hex);
    }
    snprintf(t->n[TV].sections, sizeof t->n[TV].sections,
             "[confidential_seal]\nT.SECRET = %s, district-s\n\n", dist);
    static const int parent[TN] = {-1, TD, TT};
    if (nodes_start_tree(t->n, TN, parent) != 0)
        return -1;
    *state = t;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    return nodes_stop_checked(s_tiers.n, TN, s_tiers.catalogue);
}

static int s_ctl(tiers_t *t, int n, int who, const char *args, char *out, size_t cap)
{
    return node_reporter_gridctl(&t->n[n], who, args, out, cap);
}

/* 1 when the node's data.mdb holds text, 0 when not, -1 on error. */
static int s_store_has(const harness_node_t *n, const char *text)
{
    char path[400];
    snprintf(path, sizeof path, "%.300s/store/data.mdb", n->dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 64 << 20;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return -1;
    }
    size_t len = fread(buf, 1, cap, f);
    fclose(f);
    int found = memmem(buf, len, text, strlen(text)) != NULL;
    free(buf);
    return found;
}

static void s_report(tiers_t *t)
{
    char out[4096];
    assert_int_equal(s_ctl(t, TV, 0, "report --category T.SECRET --title '" S_TITLE "' "
                           "--description 'neighbour " S_NAME ", phone " S_PHONE "' "
                           "--address '" S_ADDR "' --grid G-7 --reporter " S_REPORTER " --attach "
                           "0000000000000000000000000000000000000000000000000000000000000000,"
                           S_URI, out, sizeof out), 0);
    out[strcspn(out, " \n")] = '\0';
    assert_int_equal(strlen(out), 26);
    snprintf(t->id, sizeof t->id, "%.26s", out);
}

static void test_sealed_to_the_district(void **state)
{
    tiers_t *t = *state;
    char out[16384], args[256];
    s_report(t);
    snprintf(args, sizeof args, "show %s", t->id);
    /* The district opens the box: its named operator reads every field. */
    assert_true(node_wait_gridctl_says(&t->n[TD], args, S_PHONE, WAIT_MS));
    assert_int_equal(s_ctl(t, TD, 0, args, out, sizeof out), 0);
    for (size_t i = 0; i < sizeof s_personal / sizeof *s_personal; i++)
        if (!strstr(out, s_personal[i]))
            fail_msg("the district's operator does not see \"%s\": %s", s_personal[i], out);
    assert_non_null(strstr(out, S_TITLE));
    /* ... and its other operator is refused. */
    assert_int_equal(s_ctl(t, TD, 1, args, out, sizeof out), 1);
    assert_non_null(strstr(out, "forbidden"));
    assert_null(strstr(out, S_PHONE));

    /* The township holds and counts it, escalated on. */
    assert_true(node_wait_gridctl_says(&t->n[TT], args, "Status    escalated", WAIT_MS));
    assert_int_equal(s_ctl(t, TT, 0, "stats", out, sizeof out), 0);
    const char *at = strstr(out, "cases_escalate");
    assert_non_null(at);
    at += strlen("cases_escalate");
    assert_int_equal(strtoull(at + strspn(at, " :=\t"), NULL, 10), 1);
    /* Its operator that [confidential] names reads the case, without a
     * person in it: the township never had the fields. */
    assert_int_equal(s_ctl(t, TT, 0, args, out, sizeof out), 0);
    assert_non_null(strstr(out, "T.SECRET"));
    assert_non_null(strstr(out, "G-7"));
    assert_non_null(strstr(out, "sealed to district-s"));
    for (size_t i = 0; i < sizeof s_personal / sizeof *s_personal; i++)
        if (strstr(out, s_personal[i]))
            fail_msg("the township shows \"%s\": %s", s_personal[i], out);
    assert_null(strstr(out, S_TITLE));
    /* Its other operator is refused. */
    assert_int_equal(s_ctl(t, TT, 1, args, out, sizeof out), 1);
    assert_non_null(strstr(out, "forbidden"));

    /* The view at both tiers above: id and category, the title withheld. */
    assert_true(node_wait_gridctl_says(&t->n[TT], "view", t->id, WAIT_MS));
    assert_int_equal(s_ctl(t, TT, 1, "view", out, sizeof out), 0);
    assert_non_null(strstr(out, "T.SECRET"));
    assert_null(strstr(out, S_TITLE));
    assert_true(node_wait_gridctl_says(&t->n[TD], "view", t->id, WAIT_MS));
    assert_int_equal(s_ctl(t, TD, 0, "view", out, sizeof out), 0);
    assert_null(strstr(out, S_TITLE));

    /* The district's named operator lists it with its title; the other
     * operator's list leaves it out. Listing it is a read, audited. */
    assert_int_equal(s_ctl(t, TD, 0, "list", out, sizeof out), 0);
    assert_non_null(strstr(out, t->id));
    assert_int_equal(s_ctl(t, TD, 1, "list", out, sizeof out), 0);
    assert_null(strstr(out, t->id));
    snprintf(args, sizeof args, "audit reads --case %s", t->id);
    assert_int_equal(s_ctl(t, TD, 2, args, out, sizeof out), 0);
    assert_non_null(strstr(out, "list_events"));
    assert_non_null(strstr(out, "list_view"));
    assert_non_null(strstr(out, "get_event"));
    assert_non_null(strstr(out, "chain ok"));
    assert_int_equal(s_ctl(t, TT, 2, args, out, sizeof out), 0);
    assert_non_null(strstr(out, "list_view"));
    assert_non_null(strstr(out, "chain ok"));

    /* On disk: the township's store (the case as it came, the status it
     * got, the outbox it sent up: the bytes of its links) holds no person;
     * the district's and the village's do (the control that the search
     * would find them), unless the suite runs with every store sealed at
     * rest (GR_DATA_KEY=1: the harness gives each node a data key). */
    const char *dk = getenv("GR_DATA_KEY");
    int readable = dk && *dk && strcmp(dk, "0") != 0 ? 0 : 1;
    for (int i = 0; i < TN; i++)
        assert_int_equal(harness_node_stop(&t->n[i], SIGTERM), 0);
    for (size_t i = 0; i < sizeof s_personal / sizeof *s_personal; i++) {
        if (s_store_has(&t->n[TT], s_personal[i]) != 0)
            fail_msg("the township's data.mdb holds \"%s\"", s_personal[i]);
        assert_int_equal(s_store_has(&t->n[TD], s_personal[i]), readable);
        assert_int_equal(s_store_has(&t->n[TV], s_personal[i]), readable);
    }
    assert_int_equal(s_store_has(&t->n[TT], S_TITLE), 0);
    assert_int_equal(s_store_has(&t->n[TT], t->id), 1);
    for (int i = 0; i < TN; i++)
        assert_int_equal(harness_node_start(&t->n[i]), 0);
}

/* The village's outbox entries for its parent, checked for people. */
typedef struct {
    size_t n, with_person, with_id;
    const char *id;
} s_outbox_scan_t;

static void s_visit_outbox(void *ctx, uint64_t seq, const uint8_t *data, size_t len)
{
    (void)seq;
    s_outbox_scan_t *scan = ctx;
    scan->n++;
    for (size_t i = 0; i < sizeof s_personal / sizeof *s_personal; i++)
        if (memmem(data, len, s_personal[i], strlen(s_personal[i])))
            scan->with_person++;
    if (memmem(data, len, scan->id, strlen(scan->id)))
        scan->with_id++;
}

/* The bytes the village sends up: with the township down, the Escalate
 * waits in the village's outbox exactly as it will go on the link. */
static void test_link_bytes_hold_no_person(void **state)
{
    tiers_t *t = *state;
    harness_node_t *village = &t->n[TV];
    char args[256], err[512], dir[400], keypath[420];
    assert_int_equal(harness_node_stop(&t->n[TT], SIGTERM), 0);
    s_report(t);
    snprintf(args, sizeof args, "show %s", t->id);
    assert_true(node_wait_gridctl_says(village, args, "Status    escalated", WAIT_MS));
    assert_int_equal(harness_node_stop(village, SIGTERM), 0);
    snprintf(dir, sizeof dir, "%.300s/store", village->dir);
    gr_store_options_t opt = {0};
    gr_datakey_t *dk = NULL;  /* the suite run with GR_DATA_KEY=1 seals every store */
    snprintf(keypath, sizeof keypath, "%.300s/harness.data", village->dir);
    if (access(keypath, F_OK) == 0)
        assert_int_equal(gr_datakey_load(&dk, keypath, err, sizeof err), 0);
    opt.datakey = dk;
    gr_store_t *store = NULL;
    assert_int_equal(gr_store_open(&store, dir, &opt, err, sizeof err), 0);
    gr_txn_t *txn = NULL;
    assert_int_equal(gr_store_begin(store, false, &txn), 0);
    s_outbox_scan_t scan = {0, 0, 0, t->id};
    assert_int_equal(gr_store_outbox_scan(txn, "parent", 0, 100, s_visit_outbox, &scan), 0);
    gr_store_abort(&txn);
    gr_store_close(&store);
    gr_datakey_destroy(&dk);
    assert_int_equal(scan.n, 1);
    assert_int_equal(scan.with_id, 1);
    assert_int_equal(scan.with_person, 0);
    assert_int_equal(harness_node_start(village), 0);
    assert_int_equal(harness_node_start(&t->n[TT]), 0);
    /* And it still arrives, readable at the district. */
    assert_true(node_wait_gridctl_says(&t->n[TD], args, S_PHONE, WAIT_MS));
}

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

static void s_report_id(tiers_t *t, char id[32])
{
    s_report(t);
    memcpy(id, t->id, 32);
}

typedef struct {
    harness_node_t *node;
    void *ctx;
} s_refusals_t;

static bool s_refused_some(void *arg)
{
    s_refusals_t *r = arg;
    return node_counter(r->node, r->ctx, "rejected_signature") >= 1;
}

/* The district rotates its own key (README, "Rotating a node's own
 * key"), with cases sealed to its old key queued in the township's
 * outbox and a village that still seals to the old key: with the old key
 * as previous_secret_key the district opens them all; once the village
 * has the new key, new cases are sealed to it. */
static void test_recipient_rotates_its_key(void **state)
{
    tiers_t *t = *state;
    harness_node_t *d = &t->n[TD], *town = &t->n[TT], *village = &t->n[TV];
    char queued[3][32], late[32], fresh[32], args[256], err[256];
    assert_int_equal(harness_node_stop(d, SIGTERM), 0);
    for (int i = 0; i < 3; i++) {
        s_report_id(t, queued[i]);
        snprintf(args, sizeof args, "show %s", queued[i]);
        assert_true(node_wait_gridctl_says(town, args, "Status    escalated", WAIT_MS));
    }
    /* 1. The district's new key; the old one kept as previous. */
    char old_hex[GR_PUBLIC_KEY_HEX], new_hex[GR_PUBLIC_KEY_HEX], sec[400], pub[400];
    gr_keypair_t new_key;
    harness_node_key_hex(d, old_hex);
    assert_int_equal(gr_keys_generate(&new_key), 0);
    gr_key_to_hex(new_hex, new_key.pk);
    snprintf(sec, sizeof sec, "%.300s/node-old.sec", d->dir);
    snprintf(pub, sizeof pub, "%.300s/node-old.pub", d->dir);
    assert_int_equal(gr_keys_save(&d->node_key, sec, pub, err, sizeof err), 0);
    char previous[480];
    snprintf(previous, sizeof previous, "previous_secret_key = %s\n", sec);
    snprintf(sec, sizeof sec, "%.300s/node.sec", d->dir);
    snprintf(pub, sizeof pub, "%.300s/node.pub", d->dir);
    unlink(sec);
    unlink(pub);
    assert_int_equal(gr_keys_save(&new_key, sec, pub, err, sizeof err), 0);
    d->node_key = new_key;
    assert_int_equal(harness_node_write_config(d), 0);
    assert_int_equal(harness_node_start(d), 0);
    /* 2. The township takes the new [parent] key; its outbox survives. */
    assert_int_equal(harness_node_stop(town, SIGTERM), 0);
    assert_int_equal(s_replace(town->sections, sizeof town->sections, old_hex, new_hex), 0);
    assert_int_equal(harness_node_write_config(town), 0);
    assert_int_equal(harness_node_start(town), 0);
    /* Started without the old key, the district cannot open what is
     * sealed to it: refused (ERR_SIGNATURE, counted), nothing stored, and
     * the township keeps it in its outbox and retries. */
    s_refusals_t r = {d, zmq_ctx_new()};
    assert_non_null(r.ctx);
    assert_true(harness_wait_until(s_refused_some, &r, WAIT_MS));
    char out[4096];
    snprintf(args, sizeof args, "show %s", queued[0]);
    assert_int_equal(s_ctl(t, TD, 0, args, out, sizeof out), 1);
    assert_non_null(strstr(out, "no event"));
    /* With the old key as previous_secret_key, they arrive. */
    assert_int_equal(harness_node_stop(d, SIGTERM), 0);
    snprintf(d->extra_node, sizeof d->extra_node, "%s", previous);
    assert_int_equal(harness_node_write_config(d), 0);
    assert_int_equal(harness_node_start(d), 0);
    /* The queued cases, sealed to the old key, open at the district. */
    for (int i = 0; i < 3; i++) {
        snprintf(args, sizeof args, "show %s", queued[i]);
        assert_true(node_wait_gridctl_says(d, args, S_PHONE, WAIT_MS));
    }
    /* 3. The village still seals to the old key: opened all the same. */
    s_report_id(t, late);
    snprintf(args, sizeof args, "show %s", late);
    assert_true(node_wait_gridctl_says(d, args, S_PHONE, WAIT_MS));
    /* 4. The village takes the new key for [confidential_seal]. */
    assert_int_equal(harness_node_stop(village, SIGTERM), 0);
    assert_int_equal(s_replace(village->sections, sizeof village->sections, old_hex, new_hex), 0);
    assert_int_equal(harness_node_write_config(village), 0);
    assert_int_equal(harness_node_start(village), 0);
    s_report_id(t, fresh);
    snprintf(args, sizeof args, "show %s", fresh);
    assert_true(node_wait_gridctl_says(d, args, S_PHONE, WAIT_MS));
    /* 5. Nothing sealed to the old key is left on the way: the district
     * drops it, and still reads every case (stored opened). */
    assert_int_equal(harness_node_stop(d, SIGTERM), 0);
    d->extra_node[0] = '\0';
    assert_int_equal(harness_node_write_config(d), 0);
    assert_int_equal(harness_node_start(d), 0);
    snprintf(args, sizeof args, "show %s", queued[0]);
    assert_true(node_wait_gridctl_says(d, args, S_PHONE, WAIT_MS));
    /* The township never held a person. */
    assert_int_equal(harness_node_stop(town, SIGTERM), 0);
    for (size_t i = 0; i < sizeof s_personal / sizeof *s_personal; i++)
        if (s_store_has(town, s_personal[i]) != 0)
            fail_msg("the township's data.mdb holds \"%s\"", s_personal[i]);
    assert_int_equal(harness_node_start(town), 0);
    zmq_ctx_term(r.ctx);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (gr_keys_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sealed_to_the_district, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_recipient_rotates_its_key, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_link_bytes_hold_no_person, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
