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

/* What schema 1 wrote: the same cases and timelines, no ledger, no dead
 * letters. */
static void s_make_schema_1(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    s_raw_open(dir, &env, &txn);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_old_store_migrates_newer_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
