/* The tamper-evident audit (gridctl audit) against real gridrelayd
 * processes: a township and a village make the data; the village's data
 * dir is copied once it stops and each copy is tampered with through the
 * LMDB API (a flipped byte, a deleted entry, two entries swapped, the
 * newest entry removed with its record made to agree, a whole case gone):
 * `gridctl audit verify --store` names each, and where. A case's bundle,
 * exported at the township, passes `gridctl audit check`; with one byte
 * changed, or without the village's key among the trusted ones, it fails. */
#include <lmdb.h>
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
#include "store.h"
#include "tiers_fixture.h"

#define WAIT_MS 20000

static char s_out[65536];

static const char *s_gridctl(void)
{
    const char *path = getenv("GRIDCTL");
    return path && *path ? path : "gridctl";
}

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

typedef struct {
    harness_node_t town, village;
    void *ctx;
    char vcommon[1200], tcommon[1200];  /* gridctl's connection options */
    char copies[400];                   /* where the tampered copies go */
} s_world_t;

static void s_write_catalogue(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "[T.VILLAGE]\nclass = test\nsubclass = test\nname = handled in the village\n"
               "authority = village\n\n"
               "[T.TOWNSHIP]\nclass = test\nsubclass = test\nname = needs the township\n"
               "authority = township\n");
    assert_int_equal(fclose(f), 0);
}

/* gridctl's options for node's reporter 0 (an operator there). */
static void s_common(harness_node_t *node, char *out, size_t cap)
{
    char sec[400], pub[400], err[256];
    snprintf(sec, sizeof sec, "%s/operator.sec", node->dir);
    snprintf(pub, sizeof pub, "%s/operator.pub", node->dir);
    assert_int_equal(gr_keys_save(&node->reporters[0], sec, pub, err, sizeof err), 0);
    snprintf(out, cap, "--node %s --key %s --node-key @%s/node.pub", node->endpoint, sec,
             node->dir);
}

static bool s_town_holds(void *ctx)
{
    s_world_t *w = ctx;
    return s_sh("%s show case-up %s >/dev/null 2>&1", s_gridctl(), w->tcommon) == 0;
}

static void s_start(s_world_t *w)
{
    memset(w, 0, sizeof *w);
    assert_int_equal(harness_node_init(&w->town, "town-audit", 1), 0);
    assert_int_equal(harness_node_init(&w->village, "village-audit", 1), 0);
    snprintf(w->town.tier, sizeof w->town.tier, "township");
    w->town.status_listen = true;
    snprintf(w->town.catalogue, sizeof w->town.catalogue, "%s/catalogue.ini", w->town.dir);
    s_write_catalogue(w->town.catalogue);
    memcpy(w->village.catalogue, w->town.catalogue, sizeof w->village.catalogue);
    harness_add_child(&w->town, &w->village);
    assert_int_equal(harness_node_start(&w->town), 0);
    harness_set_parent(&w->village, &w->town, "parent");
    assert_int_equal(harness_node_start(&w->village), 0);
    w->ctx = zmq_ctx_new();
    assert_non_null(w->ctx);
    s_common(&w->village, w->vcommon, sizeof w->vcommon);
    s_common(&w->town, w->tcommon, sizeof w->tcommon);
    snprintf(w->copies, sizeof w->copies, "%s/copies", w->village.dir);

    /* case-a: reported, accepted, resolved at the village; case-b just
     * reported; case-up goes to the township, with the village's hop. */
    harness_node_t *v = &w->village;
    assert_int_equal(node_report(v, w->ctx, "case-a", "T.VILLAGE", 1), 0);
    assert_int_equal(node_report(v, w->ctx, "case-b", "T.VILLAGE", 1), 0);
    assert_int_equal(node_action(v, w->ctx, "case-a", GRIDRELAY__CASE_ACTION__KIND__ACCEPT, "", ""),
                     GRIDRELAY__STATUS__ACCEPTED);
    assert_int_equal(node_action(v, w->ctx, "case-a", GRIDRELAY__CASE_ACTION__KIND__RESOLVE,
                                 "cover replaced", ""),
                     GRIDRELAY__STATUS__RESOLVED);
    assert_int_equal(node_report(v, w->ctx, "case-up", "T.TOWNSHIP", 1), 0);
    assert_true(harness_wait_until(s_town_holds, w, WAIT_MS));
}

static void s_stop(s_world_t *w)
{
    harness_node_cleanup(&w->village);
    harness_node_cleanup(&w->town);
    zmq_ctx_term(w->ctx);
}

/* A copy of the stopped village's data dir, to tamper with. */
static void s_copy(s_world_t *w, const char *name, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s/%s", w->copies, name);
    assert_int_equal(s_sh("mkdir -p %s && cp -a %s/store %s", w->copies, w->village.dir, dir), 0);
}

typedef struct {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi timeline, events, by_time;
} s_raw_t;

static void s_raw_open(s_raw_t *r, const char *dir)
{
    assert_int_equal(mdb_env_create(&r->env), 0);
    assert_int_equal(mdb_env_set_maxdbs(r->env, 32), 0);
    assert_int_equal(mdb_env_open(r->env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(r->env, NULL, 0, &r->txn), 0);
    assert_int_equal(mdb_dbi_open(r->txn, "timeline", 0, &r->timeline), 0);
    assert_int_equal(mdb_dbi_open(r->txn, "events", 0, &r->events), 0);
    assert_int_equal(mdb_dbi_open(r->txn, "by_time", 0, &r->by_time), 0);
}

static void s_raw_close(s_raw_t *r)
{
    assert_int_equal(mdb_txn_commit(r->txn), 0);
    mdb_env_close(r->env);
}

static MDB_val s_key(uint8_t *buf, const char *id, uint32_t seq)
{
    size_t n = strlen(id);
    memcpy(buf, id, n);
    buf[n] = 0;
    buf[n + 1] = (uint8_t)(seq >> 24);
    buf[n + 2] = (uint8_t)(seq >> 16);
    buf[n + 3] = (uint8_t)(seq >> 8);
    buf[n + 4] = (uint8_t)seq;
    return (MDB_val){n + 5, buf};
}

/* A copy of entry seq of id, in buf (its length returned). */
static size_t s_entry(s_raw_t *r, const char *id, uint32_t seq, uint8_t *buf, size_t cap)
{
    uint8_t kb[80];
    MDB_val k = s_key(kb, id, seq), v;
    assert_int_equal(mdb_get(r->txn, r->timeline, &k, &v), 0);
    assert_true(v.mv_size <= cap);
    memcpy(buf, v.mv_data, v.mv_size);
    return v.mv_size;
}

static void s_put_entry(s_raw_t *r, const char *id, uint32_t seq, const uint8_t *buf, size_t len)
{
    uint8_t kb[80];
    MDB_val k = s_key(kb, id, seq), v = {len, (void *)buf};
    assert_int_equal(mdb_put(r->txn, r->timeline, &k, &v, 0), 0);
}

static void s_del_entry(s_raw_t *r, const char *id, uint32_t seq)
{
    uint8_t kb[80];
    MDB_val k = s_key(kb, id, seq);
    assert_int_equal(mdb_del(r->txn, r->timeline, &k, NULL), 0);
}

/* Runs verify --store on dir: its exit status, output in s_out. */
static int s_verify(const char *dir)
{
    return s_sh("%s audit verify --store %s 2>&1", s_gridctl(), dir);
}

static void test_verify_finds_and_places_each_tampering(void **state)
{
    (void)state;
    s_world_t w;
    s_start(&w);

    /* Asked of the running node; the same walk offline afterwards. */
    assert_int_equal(s_sh("%s audit verify %s", s_gridctl(), w.vcommon), 0);
    assert_non_null(strstr(s_out, "ok "));
    char online[512];
    assert_true(strlen(s_out) < sizeof online);
    memcpy(online, s_out, strlen(s_out) + 1);
    /* Read-only beside the running node, then on its stopped store. */
    char dir[600];
    snprintf(dir, sizeof dir, "%s/store", w.village.dir);
    assert_int_equal(s_verify(dir), 0);
    assert_string_equal(s_out, online);
    assert_int_equal(harness_node_stop(&w.village, SIGTERM), 0);
    assert_int_equal(s_verify(dir), 0);
    assert_string_equal(s_out, online);
    unsigned long long entries = 0;
    char head[65];
    assert_int_equal(sscanf(s_out, "ok %llu entries, head %64s", &entries, head), 2);
    assert_true(entries >= 6);
    /* The head is an anchor: the ledger still has it. */
    assert_int_equal(s_sh("%s audit verify --store %s --anchor %llu:%s", s_gridctl(), dir,
                          entries, head), 0);

    s_raw_t r;
    uint8_t e2[4096], e3[4096];
    size_t n2, n3;

    /* One byte of case-a's entry 2 flipped (in its reason text). */
    s_copy(&w, "flip", dir, sizeof dir);
    s_raw_open(&r, dir);
    n2 = s_entry(&r, "case-a", 2, e2, sizeof e2);
    e2[n2 / 2] ^= 0x01;
    s_put_entry(&r, "case-a", 2, e2, n2);
    s_raw_close(&r);
    assert_int_equal(s_verify(dir), 5);
    assert_non_null(strstr(s_out, "altered: case case-a, entry 2:"));

    /* Entry 2 deleted. */
    s_copy(&w, "delete", dir, sizeof dir);
    s_raw_open(&r, dir);
    s_del_entry(&r, "case-a", 2);
    s_raw_close(&r);
    assert_int_equal(s_verify(dir), 5);
    assert_non_null(strstr(s_out, "deleted: case case-a, entry 2: entry 2 is missing"));

    /* Entries 2 and 3 swapped. */
    s_copy(&w, "swap", dir, sizeof dir);
    s_raw_open(&r, dir);
    n2 = s_entry(&r, "case-a", 2, e2, sizeof e2);
    n3 = s_entry(&r, "case-a", 3, e3, sizeof e3);
    s_put_entry(&r, "case-a", 2, e3, n3);
    s_put_entry(&r, "case-a", 3, e2, n2);
    s_raw_close(&r);
    assert_int_equal(s_verify(dir), 5);
    assert_non_null(strstr(s_out, "reordered: case case-a, entry 2: position 2 holds entry 3"));

    /* The newest entry removed and the case record made to agree: the
     * case's own chain is whole again; the ledger still names it. */
    s_copy(&w, "tail", dir, sizeof dir);
    s_raw_open(&r, dir);
    MDB_val k = {6, "case-a"}, v;
    assert_int_equal(mdb_get(r.txn, r.events, &k, &v), 0);
    Gridrelay__StoredEvent *rec = gridrelay__stored_event__unpack(NULL, v.mv_size, v.mv_data);
    assert_non_null(rec);
    uint32_t last = rec->timeline_len;
    assert_true(last >= 3);
    n2 = s_entry(&r, "case-a", last - 1, e2, sizeof e2);
    Gridrelay__TimelineEntry *prev = gridrelay__timeline_entry__unpack(NULL, n2, e2);
    assert_non_null(prev);
    rec->timeline_len = last - 1;
    memcpy(rec->last_hash.data, prev->hash.data, 32);
    uint8_t packed[8192];
    size_t plen = gridrelay__stored_event__pack(rec, packed);
    v = (MDB_val){plen, packed};
    assert_int_equal(mdb_put(r.txn, r.events, &k, &v, 0), 0);
    s_del_entry(&r, "case-a", last);
    gridrelay__timeline_entry__free_unpacked(prev, NULL);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    s_raw_close(&r);
    assert_int_equal(s_verify(dir), 5);
    char want[128];
    snprintf(want, sizeof want, "deleted: case case-a, entry %u: entry %u is missing: ledger link",
             last, last);
    assert_non_null(strstr(s_out, want));

    /* case-b gone entirely: its record, its entries, its listing. */
    s_copy(&w, "case", dir, sizeof dir);
    s_raw_open(&r, dir);
    k = (MDB_val){6, "case-b"};
    assert_int_equal(mdb_del(r.txn, r.events, &k, NULL), 0);
    for (uint32_t seq = 1; seq < 64; seq++) {
        uint8_t kb[80];
        MDB_val ek = s_key(kb, "case-b", seq);
        if (mdb_del(r.txn, r.timeline, &ek, NULL) != 0)
            break;
    }
    s_raw_close(&r);
    assert_int_equal(s_verify(dir), 5);
    assert_non_null(strstr(s_out, "deleted: case case-b, entry 1: the whole case is missing"));

    /* Not a store: a clear local error. */
    assert_int_equal(s_sh("%s audit verify --store %s/nowhere 2>&1", s_gridctl(), w.copies), 4);
    s_stop(&w);
}

static void test_bundle_checks_anywhere(void **state)
{
    (void)state;
    s_world_t w;
    s_start(&w);
    char bundle[600], keys[600], townkeys[600];
    snprintf(bundle, sizeof bundle, "%s/case-up.bundle", w.town.dir);
    snprintf(keys, sizeof keys, "%s/trusted.keys", w.town.dir);
    snprintf(townkeys, sizeof townkeys, "%s/town-only.keys", w.town.dir);
    char town_hex[GR_PUBLIC_KEY_HEX], village_hex[GR_PUBLIC_KEY_HEX], rep_hex[GR_PUBLIC_KEY_HEX];
    harness_node_key_hex(&w.town, town_hex);
    harness_node_key_hex(&w.village, village_hex);
    gr_key_to_hex(rep_hex, w.village.reporters[0].pk);
    FILE *f = fopen(keys, "w");
    assert_non_null(f);
    fprintf(f, "# who signs what in a township's case\n%s town-audit\n%s village-audit\n"
               "%s worker-1\n", town_hex, village_hex, rep_hex);
    assert_int_equal(fclose(f), 0);
    f = fopen(townkeys, "w");
    assert_non_null(f);
    fprintf(f, "%s town-audit\n%s worker-1\n", town_hex, rep_hex);
    assert_int_equal(fclose(f), 0);

    /* Exported at the township: its copy of the case, with the hop. */
    assert_int_equal(s_sh("%s audit export case-up %s --output %s 2>&1", s_gridctl(), w.tcommon,
                          bundle), 0);
    assert_non_null(strstr(s_out, "case case-up:"));
    assert_int_equal(s_sh("%s audit export case-up %s > %s", s_gridctl(), w.tcommon, bundle), 0);
    char vbundle[600];
    snprintf(vbundle, sizeof vbundle, "%s/case-up.village.bundle", w.town.dir);
    assert_int_equal(s_sh("%s audit export case-up %s > %s", s_gridctl(), w.vcommon, vbundle), 0);
    /* Refusals: a case the node does not hold, an id that is not one. */
    assert_int_equal(s_sh("%s audit export no-such-case %s --output /dev/null 2>&1",
                          s_gridctl(), w.tcommon), 1);
    assert_non_null(strstr(s_out, "not_found: no event no-such-case"));
    assert_int_equal(s_sh("%s audit export 'no such case' %s --output /dev/null 2>&1",
                          s_gridctl(), w.tcommon), 1);
    assert_non_null(strstr(s_out, "audit_export.event_id"));
    /* Counted with the node's other refusals. */
    assert_int_equal(s_sh("%s stats %s --json", s_gridctl(), w.tcommon), 0);
    assert_non_null(strstr(s_out, "\"rejected_invalid\":1"));
    /* Everything stopped: the check needs nothing but the file and keys. */
    assert_int_equal(harness_node_stop(&w.village, SIGTERM), 0);
    assert_int_equal(harness_node_stop(&w.town, SIGTERM), 0);
    assert_int_equal(s_sh("%s audit check %s --trust %s", s_gridctl(), bundle, keys), 0);
    assert_non_null(strstr(s_out, "node signature ok, signed by town-audit"));
    assert_non_null(strstr(s_out, "origin envelope: signature ok, signed by worker-1"));
    assert_non_null(strstr(s_out, "hop 1: village-audit passed it on"));
    assert_non_null(strstr(s_out, "signed by village-audit"));
    assert_non_null(strstr(s_out, "chain ok"));
    assert_non_null(strstr(s_out, "\nok: "));
    assert_int_equal(s_sh("%s audit check %s --trust %s --json", s_gridctl(), bundle, keys), 0);
    assert_non_null(strstr(s_out, "{\"ok\":true"));
    /* Both nodes' timelines of the case: the village's says it went up. */
    assert_int_equal(s_sh("%s audit check %s %s --trust %s", s_gridctl(), vbundle, bundle, keys),
                     0);
    assert_non_null(strstr(s_out, "case case-up at node village-audit"));
    assert_non_null(strstr(s_out, "case case-up at node town-audit"));

    /* The village's key not trusted: its hop cannot be vouched for. */
    assert_int_equal(s_sh("%s audit check %s --trust %s", s_gridctl(), bundle, townkeys), 5);
    assert_non_null(strstr(s_out, "FAIL: hop 1"));

    /* A byte changed anywhere (eight places across the file) fails it. */
    FILE *in = fopen(bundle, "rb");
    assert_non_null(in);
    static uint8_t data[65536];
    size_t len = fread(data, 1, sizeof data, in);
    fclose(in);
    assert_true(len > 100 && len < sizeof data);
    char altered[600];
    snprintf(altered, sizeof altered, "%s/altered.bundle", w.town.dir);
    for (size_t at = 0; at < len; at += len / 7) {
        data[at] ^= 0x20;
        FILE *out = fopen(altered, "wb");
        assert_non_null(out);
        assert_int_equal(fwrite(data, 1, len, out), len);
        assert_int_equal(fclose(out), 0);
        data[at] ^= 0x20;
        assert_int_equal(s_sh("%s audit check %s --trust %s", s_gridctl(), altered, keys), 5);
        assert_non_null(strstr(s_out, "FAIL: "));
    }

    /* Bad input: no trusted keys, a key file that is none. */
    assert_int_equal(s_sh("%s audit check %s 2>&1", s_gridctl(), bundle), 2);
    assert_int_equal(s_sh("%s audit check %s --trust %s 2>&1", s_gridctl(), bundle, bundle), 2);
    assert_int_equal(s_sh("%s audit --help", s_gridctl()), 0);
    assert_non_null(strstr(s_out, "Usage: gridctl audit verify"));
    s_stop(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_finds_and_places_each_tampering),
        cmocka_unit_test(test_bundle_checks_anywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
