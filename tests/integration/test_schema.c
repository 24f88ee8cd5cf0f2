/* The store's schema version against real gridrelayd processes.
 *
 * A node writes a store; the test then turns it into what the previous
 * layout (schema 1) looked like, through the LMDB API: no audit ledger
 * (audit, audit_index and the audit_head key gone), no dead-letter
 * database, schema_version 1. Started again, gridrelayd migrates it: the
 * version is 2, `gridctl audit verify --store` finds every timeline entry
 * linked, and the cases are all there. A store stamped with a newer
 * version is refused with a clear message and left as it was. */
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

#include "chain.h"
#include "harness.h"
#include "store.h"
#include "tiers_fixture.h"

static const char *s_env(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

static void s_raw_open(const char *dir, MDB_env **env, MDB_txn **txn)
{
    assert_int_equal(mdb_env_create(env), 0);
    assert_int_equal(mdb_env_set_maxdbs(*env, 24), 0);
    assert_int_equal(mdb_env_open(*env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(*env, NULL, 0, txn), 0);
}

static void s_put_version(MDB_txn *txn, uint32_t version)
{
    MDB_dbi meta;
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    uint8_t be[4] = {(uint8_t)(version >> 24), (uint8_t)(version >> 16),
                     (uint8_t)(version >> 8), (uint8_t)version};
    MDB_val k = {strlen("schema_version"), "schema_version"}, v = {4, be};
    assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
}

static uint32_t s_get_version(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    s_raw_open(dir, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    MDB_val k = {strlen("schema_version"), "schema_version"}, v;
    assert_int_equal(mdb_get(txn, meta, &k, &v), 0);
    assert_int_equal(v.mv_size, 4);
    const uint8_t *b = v.mv_data;
    uint32_t version = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return version;
}

/* A record to write back once its cursor is closed: a put under a cursor
 * must not take the key from the page it changes. */
#define S_MAX_RECORDS 64
typedef struct {
    uint8_t key[80];
    size_t klen;
    uint8_t val[4096];
    size_t vlen;
} s_rec_t;

static void s_put_all(MDB_txn *txn, MDB_dbi dbi, const s_rec_t *recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        MDB_val k = {recs[i].klen, (void *)recs[i].key}, v = {recs[i].vlen, (void *)recs[i].val};
        assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    }
}

/* Case records as written before schema 4: entry 1 in the timeline (not
 * the record's first_entry), no ledger_last. */
static void s_records_before_4(MDB_txn *txn)
{
    s_rec_t *cases = calloc(S_MAX_RECORDS, sizeof *cases);
    s_rec_t *firsts = calloc(S_MAX_RECORDS, sizeof *firsts);
    size_t n = 0;
    assert_non_null(cases);
    assert_non_null(firsts);
    MDB_dbi events, timeline;
    assert_int_equal(mdb_dbi_open(txn, "events", 0, &events), 0);
    assert_int_equal(mdb_dbi_open(txn, "timeline", 0, &timeline), 0);
    MDB_cursor *cur;
    MDB_val k, v;
    assert_int_equal(mdb_cursor_open(txn, events, &cur), 0);
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Gridrelay__StoredEvent *rec = gridrelay__stored_event__unpack(NULL, v.mv_size, v.mv_data);
        assert_non_null(rec);
        assert_true(n < S_MAX_RECORDS);
        assert_true(rec->ledger_last > 0);
        assert_true(rec->first_entry.len > 0 && rec->first_entry.len <= sizeof firsts[0].val);
        s_rec_t *f = &firsts[n];
        memcpy(f->key, k.mv_data, k.mv_size);
        memcpy(f->key + k.mv_size, "\0\0\0\0\1", 5);
        f->klen = k.mv_size + 5;
        memcpy(f->val, rec->first_entry.data, rec->first_entry.len);
        f->vlen = rec->first_entry.len;
        free(rec->first_entry.data);
        rec->first_entry = (ProtobufCBinaryData){0, NULL};
        rec->ledger_last = 0;
        assert_true(gridrelay__stored_event__get_packed_size(rec) <= sizeof cases[0].val);
        s_rec_t *r = &cases[n++];
        r->klen = k.mv_size;
        memcpy(r->key, k.mv_data, k.mv_size);
        r->vlen = gridrelay__stored_event__pack(rec, r->val);
        gridrelay__stored_event__free_unpacked(rec, NULL);
    }
    mdb_cursor_close(cur);
    s_put_all(txn, events, cases, n);
    s_put_all(txn, timeline, firsts, n);
    free(cases);
    free(firsts);
}

/* What schema 1 wrote: the same cases and timelines, no ledger, no dead
 * letters. */
static void s_make_schema_1(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    s_raw_open(dir, &env, &txn);
    s_records_before_4(txn);
    const char *gone[] = {"audit", "audit_index", "dead"};
    for (size_t i = 0; i < sizeof gone / sizeof *gone; i++) {
        assert_int_equal(mdb_dbi_open(txn, gone[i], 0, &dbi), 0);
        assert_int_equal(mdb_drop(txn, dbi, 1), 0);
    }
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    MDB_val k = {strlen("audit_head"), "audit_head"};
    assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
    s_put_version(txn, 1);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void test_old_store_migrates_newer_is_refused(void **state)
{
    (void)state;
    harness_node_t node;
    memset(&node, 0, sizeof node);
    assert_int_equal(harness_node_init(&node, "village-schema", 1), 0);
    assert_int_equal(harness_node_start(&node), 0);
    void *ctx = zmq_ctx_new();
    assert_non_null(ctx);
    const char *ids[] = {"schema-a", "schema-b", "schema-c"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(node_report(&node, ctx, ids[i], "PS.FIRE-HAZARD", 1), 0);
    assert_int_equal(node_action(&node, ctx, "schema-a", GRIDRELAY__CASE_ACTION__KIND__ACCEPT,
                                 "", ""), GRIDRELAY__STATUS__ACCEPTED);
    assert_int_equal(harness_node_stop(&node, SIGTERM), 0);

    char store[400];
    snprintf(store, sizeof store, "%s/store", node.dir);
    assert_int_equal(s_get_version(store), GR_STORE_SCHEMA_VERSION);
    s_make_schema_1(store);
    /* A reader of this version does not take it as it is ... */
    const char *gridctl = s_env("GRIDCTL", "gridctl");
    assert_int_not_equal(fixture_sh("%s audit verify --store %s 2>&1", gridctl, store), 0);

    /* ... the daemon migrates it. */
    assert_int_equal(harness_node_start(&node), 0);
    for (size_t i = 0; i < 3; i++)
        assert_true(node_wait_status(&node, ctx, ids[i],
                                     i == 0 ? GRIDRELAY__STATUS__ACCEPTED
                                            : GRIDRELAY__STATUS__REPORTED, 5000));
    assert_int_equal(fixture_sh("%s audit verify --store %s 2>&1", gridctl, store), 0);
    /* 3 reports and an accept: four entries, every one linked again. */
    assert_non_null(strstr(fixture_out, "4 entries"));
    assert_int_equal(harness_node_stop(&node, SIGTERM), 0);
    assert_int_equal(s_get_version(store), GR_STORE_SCHEMA_VERSION);

    /* A store from a newer gridrelayd: refused, named, untouched. */
    MDB_env *env;
    MDB_txn *txn;
    s_raw_open(store, &env, &txn);
    s_put_version(txn, GR_STORE_SCHEMA_VERSION + 1);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    int rc = fixture_sh("%s --config %s 2>&1", s_env("GRIDRELAYD", "gridrelayd"), node.config);
    assert_int_equal(rc, 1);
    char want[128];
    snprintf(want, sizeof want, "has schema version %u; this gridrelayd supports up to %u",
             GR_STORE_SCHEMA_VERSION + 1, GR_STORE_SCHEMA_VERSION);
    if (!strstr(fixture_out, want) || !strstr(fixture_out, "upgrade gridrelayd"))
        fail_msg("gridrelayd said: %s", fixture_out);
    assert_int_equal(s_get_version(store), GR_STORE_SCHEMA_VERSION + 1);

    zmq_ctx_term(ctx);
    harness_node_cleanup(&node);
}

/* What schema 3 wrote: every entry's link found through audit_index, no
 * case chain of links (AuditLink.case_prev, StoredEvent.ledger_last), and
 * entry 1 in the timeline. The ledger is rewritten so: each link without
 * case_prev, its head hashed again after the previous one; a locator per
 * entry; the case records as before 4; schema_version 3. */
static void s_make_schema_3(const char *dir)
{
    s_rec_t *links = calloc(S_MAX_RECORDS, sizeof *links);
    size_t n_links = 0;
    assert_non_null(links);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi audit, index, meta;
    s_raw_open(dir, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "audit", 0, &audit), 0);
    assert_int_equal(mdb_dbi_open(txn, "audit_index", 0, &index), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    MDB_cursor *cur;
    assert_int_equal(mdb_cursor_open(txn, audit, &cur), 0);
    uint8_t prev[32] = {0}, head[32];
    uint64_t seq = 0;
    MDB_val k, v;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Gridrelay__AuditLink *l = gridrelay__audit_link__unpack(NULL, v.mv_size, v.mv_data);
        assert_non_null(l);
        seq = l->seq;
        /* In place: the buffers are the unpacked message's own. */
        assert_int_equal(l->prev.len, 32);
        assert_int_equal(l->head.len, 32);
        l->case_prev = 0;
        memcpy(l->prev.data, prev, 32);
        assert_int_equal(gr_chain_link_hash(head, l), 0);
        memcpy(l->head.data, head, 32);
        assert_true(n_links < S_MAX_RECORDS);
        s_rec_t *r = &links[n_links++];
        r->klen = k.mv_size;
        memcpy(r->key, k.mv_data, k.mv_size);
        r->vlen = gridrelay__audit_link__pack(l, r->val);
        uint8_t ikey[80], lkey[8];
        size_t idlen = strlen(l->event_id);
        memcpy(ikey, l->event_id, idlen);
        ikey[idlen] = 0;
        for (int b = 0; b < 4; b++)
            ikey[idlen + 1 + b] = (uint8_t)(l->entry_seq >> (24 - 8 * b));
        for (int b = 0; b < 8; b++)
            lkey[b] = (uint8_t)(seq >> (56 - 8 * b));
        MDB_val ik = {idlen + 5, ikey}, iv = {8, lkey};
        assert_int_equal(mdb_put(txn, index, &ik, &iv, 0), 0);
        memcpy(prev, head, 32);
        gridrelay__audit_link__free_unpacked(l, NULL);
    }
    mdb_cursor_close(cur);
    s_put_all(txn, audit, links, n_links);
    free(links);
    uint8_t hv[40];
    for (int b = 0; b < 8; b++)
        hv[b] = (uint8_t)(seq >> (56 - 8 * b));
    memcpy(hv + 8, prev, 32);
    MDB_val hk = {strlen("audit_head"), "audit_head"}, hvv = {sizeof hv, hv};
    assert_int_equal(mdb_put(txn, meta, &hk, &hvv, 0), 0);
    s_records_before_4(txn);
    s_put_version(txn, 3);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* A store of schema 3 (links located by audit_index) opens; its cases take
 * new entries, linked the schema 4 way after the old ones; the walk checks
 * both kinds, and still finds an old entry taken away. */
static void test_schema_3_store_opens_and_verifies(void **state)
{
    (void)state;
    harness_node_t node;
    memset(&node, 0, sizeof node);
    assert_int_equal(harness_node_init(&node, "village-schema3", 1), 0);
    assert_int_equal(harness_node_start(&node), 0);
    void *ctx = zmq_ctx_new();
    assert_non_null(ctx);
    const char *ids[] = {"s3-a", "s3-b"};
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(node_report(&node, ctx, ids[i], "PS.FIRE-HAZARD", 1), 0);
    assert_int_equal(harness_node_stop(&node, SIGTERM), 0);
    char store[400];
    snprintf(store, sizeof store, "%s/store", node.dir);
    s_make_schema_3(store);
    const char *gridctl = s_env("GRIDCTL", "gridctl");
    if (fixture_sh("%s audit verify --store %s 2>&1", gridctl, store) != 0)
        fail_msg("gridctl said: %s", fixture_out);

    assert_int_equal(harness_node_start(&node), 0);
    assert_int_equal(node_action(&node, ctx, "s3-a", GRIDRELAY__CASE_ACTION__KIND__ACCEPT, "", ""),
                     GRIDRELAY__STATUS__ACCEPTED);
    assert_int_equal(node_report(&node, ctx, "s3-c", "PS.FIRE-HAZARD", 1), 0);
    assert_int_equal(harness_node_stop(&node, SIGTERM), 0);
    assert_int_equal(s_get_version(store), GR_STORE_SCHEMA_VERSION);
    assert_int_equal(fixture_sh("%s audit verify --store %s 2>&1", gridctl, store), 0);
    /* Two old entries, s3-a's second (after its old first) and s3-c's. */
    if (!strstr(fixture_out, "4 entries"))
        fail_msg("gridctl said: %s", fixture_out);
    /* s3-a's first entry (located by audit_index) taken away: found. */
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi timeline;
    s_raw_open(store, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "timeline", 0, &timeline), 0);
    uint8_t tkey[9] = {'s', '3', '-', 'a', 0, 0, 0, 0, 1};
    MDB_val tk = {sizeof tkey, tkey};
    assert_int_equal(mdb_del(txn, timeline, &tk, NULL), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    assert_int_equal(fixture_sh("%s audit verify --store %s 2>&1", gridctl, store), 5);

    zmq_ctx_term(ctx);
    harness_node_cleanup(&node);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_old_store_migrates_newer_is_refused),
        cmocka_unit_test(test_schema_3_store_opens_and_verifies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
