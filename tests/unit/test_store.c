/* Unit tests for node/store: real LMDB in a fresh temp dir per test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "store.h"

typedef struct {
    char dir[64];
    gr_store_t *store;
} fixture_t;

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->dir, "/tmp/gr-test-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char err[256];
    assert_int_equal(gr_store_open(&f->store, f->dir, NULL, err, sizeof err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    gr_store_close(&f->store);
    assert_null(f->store);
    assert_int_equal(nftw(f->dir, s_rm, 16, FTW_DEPTH | FTW_PHYS), 0);
    free(f);
    return 0;
}

static void s_reopen(fixture_t *f)
{
    char err[256];
    gr_store_close(&f->store);
    assert_int_equal(gr_store_open(&f->store, f->dir, NULL, err, sizeof err), 0);
}

/* ---- building records ---- */

typedef struct {
    char id[32];
    char category[16];
    Gridrelay__Event event;
    Gridrelay__StoredEvent rec;
    Gridrelay__TimelineEntry first;
} test_event_t;

static void s_make(test_event_t *t, const char *id, const char *category, int severity,
                   uint64_t received_ms)
{
    Gridrelay__Event ev = GRIDRELAY__EVENT__INIT;
    Gridrelay__StoredEvent rec = GRIDRELAY__STORED_EVENT__INIT;
    Gridrelay__TimelineEntry first = GRIDRELAY__TIMELINE_ENTRY__INIT;
    snprintf(t->id, sizeof t->id, "%s", id);
    snprintf(t->category, sizeof t->category, "%s", category);
    t->event = ev;
    t->event.id = t->id;
    t->event.category = t->category;
    t->event.severity = severity;
    t->event.title = "well cover missing";
    t->event.created_ms = received_ms - 5;
    t->rec = rec;
    t->rec.event = &t->event;
    t->rec.received_ms = received_ms;
    t->first = first;
    t->first.time_ms = received_ms;
    t->first.action = GRIDRELAY__ACTION__ACTION_REPORT;
    t->first.to_status = GRIDRELAY__STATUS__REPORTED;
    t->first.actor_name = "worker-7";
    t->first.reason = "reported";
}

static void s_store(gr_store_t *store, test_event_t *t)
{
    gr_txn_t *txn;
    assert_int_equal(gr_store_begin(store, true, &txn), 0);
    assert_int_equal(gr_store_event_create(txn, &t->rec, &t->first), 0);
    assert_int_equal(gr_store_commit(&txn), 0);
    assert_null(txn);
}

/* Appends one entry to a stored event the way the daemon does: get, change,
 * append, then free the unpacked record (ASan checks that is safe). */
static void s_append(gr_store_t *store, const char *id, Gridrelay__Action action,
                     Gridrelay__Status to, uint64_t time_ms, const char *reason)
{
    gr_txn_t *txn;
    Gridrelay__StoredEvent *rec;
    Gridrelay__TimelineEntry entry = GRIDRELAY__TIMELINE_ENTRY__INIT;
    entry.time_ms = time_ms;
    entry.action = action;
    entry.to_status = to;
    entry.reason = (char *)reason;
    assert_int_equal(gr_store_begin(store, true, &txn), 0);
    assert_int_equal(gr_store_event_get(txn, id, &rec), 0);
    entry.from_status = rec->status;
    uint32_t before = rec->timeline_len;
    assert_int_equal(gr_store_event_append(txn, rec, &entry), 0);
    assert_int_equal(entry.seq, before + 1);
    assert_int_equal(rec->timeline_len, before + 1);
    assert_memory_equal(rec->last_hash.data, entry.hash.data, 32);
    /* The filled fields must survive packing within the transaction. */
    size_t len = gridrelay__timeline_entry__get_packed_size(&entry);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    assert_int_equal(gridrelay__timeline_entry__pack(&entry, buf), len);
    free(buf);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    assert_int_equal(gr_store_commit(&txn), 0);
}

/* Opens the store's env directly (the store must be closed) and gives a
 * write txn plus the named db. */
static void s_raw_begin(const char *dir, const char *db, MDB_env **env, MDB_txn **txn,
                        MDB_dbi *dbi)
{
    assert_int_equal(mdb_env_create(env), 0);
    assert_int_equal(mdb_env_set_maxdbs(*env, 24), 0);
    assert_int_equal(mdb_env_open(*env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(*env, NULL, 0, txn), 0);
    assert_int_equal(mdb_dbi_open(*txn, db, 0, dbi), 0);
}

static void s_raw_put_version(const char *dir, uint32_t version)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    s_raw_begin(dir, "meta", &env, &txn, &dbi);
    uint8_t be[4] = {(uint8_t)(version >> 24), (uint8_t)(version >> 16),
                     (uint8_t)(version >> 8), (uint8_t)version};
    MDB_val k = {strlen("schema_version"), "schema_version"}, v = {4, be};
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* ---- tests ---- */

static void test_create_get(void **state)
{
    fixture_t *f = *state;
    test_event_t t;
    s_make(&t, "01HZY0000000000000000000AA", "safety.fire", GRIDRELAY__SEVERITY__URGENT,
           1700000000000);
    gr_txn_t *txn;
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    assert_int_equal(gr_store_event_exists(txn, t.id), 0);
    assert_int_equal(gr_store_event_create(txn, &t.rec, &t.first), 0);
    assert_int_equal(t.first.seq, 1);
    assert_int_equal(t.first.prev_hash.len, 32);
    static const uint8_t zero[32];
    assert_memory_equal(t.first.prev_hash.data, zero, 32);
    assert_int_equal(t.first.hash.len, 32);
    assert_int_equal(t.rec.timeline_len, 1);
    assert_int_equal(t.rec.status, GRIDRELAY__STATUS__REPORTED);
    assert_int_equal(t.rec.updated_ms, 1700000000000);
    assert_memory_equal(t.rec.last_hash.data, t.first.hash.data, 32);
    /* Reads in the same write transaction see the new case. */
    assert_int_equal(gr_store_event_exists(txn, t.id), 1);
    assert_int_equal(gr_store_commit(&txn), 0);

    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    Gridrelay__StoredEvent *got;
    assert_int_equal(gr_store_event_get(txn, t.id, &got), 0);
    assert_string_equal(got->event->id, t.id);
    assert_string_equal(got->event->category, "safety.fire");
    assert_string_equal(got->event->title, "well cover missing");
    assert_int_equal(got->event->severity, GRIDRELAY__SEVERITY__URGENT);
    assert_int_equal(got->status, GRIDRELAY__STATUS__REPORTED);
    assert_int_equal(got->received_ms, 1700000000000);
    assert_int_equal(got->timeline_len, 1);
    Gridrelay__TimelineEntry **entries;
    size_t n;
    assert_int_equal(gr_store_timeline_get(txn, t.id, &entries, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(entries[0]->seq, 1);
    assert_string_equal(entries[0]->reason, "reported");
    assert_memory_equal(entries[0]->hash.data, got->last_hash.data, 32);
    gr_store_timeline_free(entries, n);
    gridrelay__stored_event__free_unpacked(got, NULL);
    assert_int_equal(gr_store_timeline_verify(txn, t.id), 0);
    assert_int_equal(gr_store_event_get(txn, "nope", &got), GR_ENOTFOUND);
    assert_null(got);
    assert_int_equal(gr_store_timeline_get(txn, "nope", &entries, &n), GR_ENOTFOUND);
    assert_int_equal(gr_store_commit(&txn), 0);
}

static void test_timeline_chain(void **state)
{
    fixture_t *f = *state;
    test_event_t t, other;
    s_make(&t, "case-a", "order.dispute", GRIDRELAY__SEVERITY__ROUTINE, 1000);
    /* An id that t's id prefixes: its entries must never join t's timeline. */
    s_make(&other, "case-ab", "order.dispute", GRIDRELAY__SEVERITY__ROUTINE, 1001);
    s_store(f->store, &t);
    s_store(f->store, &other);
    s_append(f->store, t.id, GRIDRELAY__ACTION__ACTION_ACCEPT, GRIDRELAY__STATUS__ACCEPTED,
             2000, "accepted");
    s_append(f->store, t.id, GRIDRELAY__ACTION__ACTION_URGE,
             GRIDRELAY__STATUS__STATUS_UNSPECIFIED, 3000, "urged");
    s_append(f->store, t.id, GRIDRELAY__ACTION__ACTION_RESOLVE, GRIDRELAY__STATUS__RESOLVED,
             4000, "resolved");

    gr_txn_t *txn;
    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    Gridrelay__TimelineEntry **e;
    size_t n;
    assert_int_equal(gr_store_timeline_get(txn, t.id, &e, &n), 0);
    assert_int_equal(n, 4);
    static const uint8_t zero[32];
    assert_memory_equal(e[0]->prev_hash.data, zero, 32);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(e[i]->seq, i + 1);
        if (i > 0)
            assert_memory_equal(e[i]->prev_hash.data, e[i - 1]->hash.data, 32);
    }
    assert_string_equal(e[3]->reason, "resolved");
    Gridrelay__StoredEvent *rec;
    assert_int_equal(gr_store_event_get(txn, t.id, &rec), 0);
    /* The URGE entry set no status, so RESOLVED comes from the last one. */
    assert_int_equal(rec->status, GRIDRELAY__STATUS__RESOLVED);
    assert_int_equal(rec->updated_ms, 4000);
    assert_int_equal(rec->timeline_len, 4);
    assert_memory_equal(rec->last_hash.data, e[3]->hash.data, 32);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    gr_store_timeline_free(e, n);
    assert_int_equal(gr_store_timeline_verify(txn, t.id), 0);
    assert_int_equal(gr_store_timeline_verify(txn, other.id), 0);
    assert_int_equal(gr_store_timeline_get(txn, other.id, &e, &n), 0);
    assert_int_equal(n, 1);
    gr_store_timeline_free(e, n);
    assert_int_equal(gr_store_commit(&txn), 0);

    /* Tamper with entry 2 behind the store's back. */
    gr_store_close(&f->store);
    MDB_env *env;
    MDB_txn *raw;
    MDB_dbi dbi;
    s_raw_begin(f->dir, "timeline", &env, &raw, &dbi);
    uint8_t key[16];
    memcpy(key, "case-a", 6);
    memcpy(key + 6, "\0\0\0\0\2", 5);
    MDB_val k = {11, key}, v;
    assert_int_equal(mdb_get(raw, dbi, &k, &v), 0);
    Gridrelay__TimelineEntry *entry = gridrelay__timeline_entry__unpack(NULL, v.mv_size,
                                                                        v.mv_data);
    assert_non_null(entry);
    free(entry->reason);
    entry->reason = strdup("never accepted");
    assert_non_null(entry->reason);
    uint8_t buf[512];
    v.mv_size = gridrelay__timeline_entry__pack(entry, buf);
    v.mv_data = buf;
    gridrelay__timeline_entry__free_unpacked(entry, NULL);
    assert_int_equal(mdb_put(raw, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(raw), 0);
    mdb_env_close(env);

    s_reopen(f);
    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    assert_int_equal(gr_store_timeline_verify(txn, t.id), GR_ESIGNATURE);
    assert_int_equal(gr_store_timeline_verify(txn, other.id), 0);
    gr_store_abort(&txn);
    assert_null(txn);
}

/* The test vector of docs/PROTOCOL.md section 4.2: a first timeline entry
 * with fixed values, the canonical bytes its hash covers, and the hash, as
 * an implementation in another language must compute them from what the
 * node stores and sends. The constants are printed in PROTOCOL.md: a change
 * here is a change of the protocol. */
static const char s_vector_event_id[] = "01HZY0000000000000000000TV";
static const char s_vector_input_hex[] =
    "0801"                                                               /* 1 seq 1 */
    "1080d095ffbc31"                                                     /* 2 time_ms */
    "1a200102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20" /* 3 actor */
    "2208776f726b65722d37"                                               /* 4 actor_name */
    "2a027631"                                                           /* 5 unit */
    "3001"                                                               /* 6 action */
    "4001"                                                               /* 8 to_status */
    "4a147265706f7274656420627920776f726b65722d37"                       /* 9 reason */
    "5a202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40" /* 11 envelope_hash */
    "62200000000000000000000000000000000000000000000000000000000000000000"; /* 12 prev_hash */
static const char s_vector_hash_hex[] =
    "14e9398f7b2305f13849e5df7a6291dfb809ef89f9758e7d836ecb7db43eb05c";

static void test_timeline_hash_vector(void **state)
{
    fixture_t *f = *state;
    uint8_t actor[32], envelope_hash[32];
    for (int i = 0; i < 32; i++) {
        actor[i] = (uint8_t)(0x01 + i);
        envelope_hash[i] = (uint8_t)(0x21 + i);
    }
    Gridrelay__Event ev = GRIDRELAY__EVENT__INIT;
    ev.id = (char *)s_vector_event_id;
    ev.category = "safety.fire";
    ev.title = "well cover missing";
    Gridrelay__StoredEvent rec = GRIDRELAY__STORED_EVENT__INIT;
    rec.event = &ev;
    rec.received_ms = 1700000000000;
    Gridrelay__TimelineEntry first = GRIDRELAY__TIMELINE_ENTRY__INIT;
    first.time_ms = 1700000000000;
    first.actor.data = actor;
    first.actor.len = sizeof actor;
    first.actor_name = "worker-7";
    first.unit = "v1";
    first.action = GRIDRELAY__ACTION__ACTION_REPORT;
    first.to_status = GRIDRELAY__STATUS__REPORTED;
    first.reason = "reported by worker-7";
    first.envelope_hash.data = envelope_hash;
    first.envelope_hash.len = sizeof envelope_hash;
    gr_txn_t *txn;
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    assert_int_equal(gr_store_event_create(txn, &rec, &first), 0);
    char hex[2 * 256 + 1];
    assert_int_equal(first.hash.len, 32);
    sodium_bin2hex(hex, sizeof hex, first.hash.data, 32);
    assert_string_equal(hex, s_vector_hash_hex);
    assert_int_equal(gr_store_commit(&txn), 0);

    /* The input, from the entry as the node hands it out (GetEvent's
     * timeline), with hash and signature taken away. */
    Gridrelay__TimelineEntry **entries;
    size_t n;
    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    assert_int_equal(gr_store_timeline_get(txn, s_vector_event_id, &entries, &n), 0);
    assert_int_equal(n, 1);
    Gridrelay__TimelineEntry bare = *entries[0];
    bare.hash.data = NULL;
    bare.hash.len = 0;
    bare.signature.data = NULL;
    bare.signature.len = 0;
    uint8_t input[256];
    size_t len = gridrelay__timeline_entry__get_packed_size(&bare);
    assert_true(len <= sizeof input);
    assert_int_equal(gridrelay__timeline_entry__pack(&bare, input), len);
    sodium_bin2hex(hex, sizeof hex, input, len);
    assert_string_equal(hex, s_vector_input_hex);
    assert_int_equal(gr_store_timeline_verify(txn, s_vector_event_id), 0);
    gr_store_timeline_free(entries, n);
    gr_store_abort(&txn);

    /* The same without protobuf-c: SHA-256(prev_hash | input). */
    uint8_t zero[32] = {0}, digest[32];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, zero, sizeof zero);
    crypto_hash_sha256_update(&st, input, len);
    crypto_hash_sha256_final(&st, digest);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    assert_string_equal(hex, s_vector_hash_hex);

    /* The stored bytes are the input followed by field 13 (hash): removing
     * fields 13 and 14 from what is stored gives the input back. Entry 1
     * is stored in its case record (first_entry, schema 4 on). */
    gr_store_close(&f->store);
    MDB_env *env;
    MDB_txn *raw;
    MDB_dbi dbi;
    s_raw_begin(f->dir, "events", &env, &raw, &dbi);
    MDB_val k = {strlen(s_vector_event_id), (void *)s_vector_event_id}, v;
    assert_int_equal(mdb_get(raw, dbi, &k, &v), 0);
    Gridrelay__StoredEvent *stored = gridrelay__stored_event__unpack(NULL, v.mv_size, v.mv_data);
    assert_non_null(stored);
    v = (MDB_val){stored->first_entry.len, stored->first_entry.data};
    assert_int_equal(v.mv_size, len + 2 + 32);
    assert_memory_equal(v.mv_data, input, len);
    const uint8_t *tail = (const uint8_t *)v.mv_data + len;
    assert_int_equal(tail[0], 0x6a);  /* field 13, length-delimited */
    assert_int_equal(tail[1], 32);
    assert_memory_equal(tail + 2, digest, 32);
    gridrelay__stored_event__free_unpacked(stored, NULL);
    mdb_txn_abort(raw);
    mdb_env_close(env);
    s_reopen(f);
}

static void test_append_same_txn(void **state)
{
    fixture_t *f = *state;
    test_event_t t;
    s_make(&t, "case-b", "services.water", GRIDRELAY__SEVERITY__ROUTINE, 5000);
    gr_txn_t *txn;
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    assert_int_equal(gr_store_event_create(txn, &t.rec, &t.first), 0);
    uint8_t first_hash[32];
    memcpy(first_hash, t.first.hash.data, 32);
    Gridrelay__TimelineEntry accept = GRIDRELAY__TIMELINE_ENTRY__INIT;
    accept.time_ms = 5001;
    accept.to_status = GRIDRELAY__STATUS__ACCEPTED;
    assert_int_equal(gr_store_event_append(txn, &t.rec, &accept), 0);
    /* Appending must not change what create filled into the first entry. */
    assert_memory_equal(t.first.hash.data, first_hash, 32);
    assert_memory_equal(accept.prev_hash.data, first_hash, 32);
    assert_int_equal(t.rec.timeline_len, 2);
    /* A stale record (timeline_len 1 again) would fork the chain. */
    Gridrelay__StoredEvent stale = t.rec;
    stale.timeline_len = 1;
    Gridrelay__TimelineEntry fork = GRIDRELAY__TIMELINE_ENTRY__INIT;
    assert_int_equal(gr_store_event_append(txn, &stale, &fork), GR_EEXIST);
    gr_store_abort(&txn);

    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    s_make(&t, "case-b", "services.water", GRIDRELAY__SEVERITY__ROUTINE, 5000);
    assert_int_equal(gr_store_event_create(txn, &t.rec, &t.first), 0);
    accept = (Gridrelay__TimelineEntry)GRIDRELAY__TIMELINE_ENTRY__INIT;
    accept.time_ms = 5001;
    assert_int_equal(gr_store_event_append(txn, &t.rec, &accept), 0);
    assert_int_equal(gr_store_commit(&txn), 0);
    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    assert_int_equal(gr_store_timeline_verify(txn, "case-b"), 0);
    assert_int_equal(gr_store_commit(&txn), 0);
}

static void test_create_exists(void **state)
{
    fixture_t *f = *state;
    test_event_t t, again;
    s_make(&t, "dup-1", "safety.fire", GRIDRELAY__SEVERITY__URGENT, 100);
    s_store(f->store, &t);
    s_make(&again, "dup-1", "other", GRIDRELAY__SEVERITY__ROUTINE, 200);
    gr_txn_t *txn;
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    assert_int_equal(gr_store_event_create(txn, &again.rec, &again.first), GR_EEXIST);
    assert_int_equal(again.first.seq, 0);  /* untouched */
    again.event.id = "";
    assert_int_equal(gr_store_event_create(txn, &again.rec, &again.first), GR_EINVAL);
    char longid[GR_EVENT_ID_MAX + 2];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    again.event.id = longid;
    assert_int_equal(gr_store_event_create(txn, &again.rec, &again.first), GR_EINVAL);
    assert_int_equal(gr_store_commit(&txn), 0);
    /* Writes in a read transaction are refused. */
    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    s_make(&again, "ro-1", "x", 1, 300);
    assert_int_equal(gr_store_event_create(txn, &again.rec, &again.first), GR_EINVAL);
    assert_int_equal(gr_store_commit(&txn), 0);
}

static void test_dedup(void **state)
{
    fixture_t *f = *state;
    uint8_t signer[32];
    memset(signer, 0x5a, sizeof signer);
    gr_txn_t *txn;
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    Gridrelay__DedupRecord rec = GRIDRELAY__DEDUP_RECORD__INIT;
    rec.event_id = "ev-9";
    rec.stored_ms = 42;
    assert_int_equal(gr_store_dedup_put(txn, signer, 7, &rec), 0);
    assert_int_equal(gr_store_commit(&txn), 0);

    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    Gridrelay__DedupRecord *got;
    assert_int_equal(gr_store_dedup_get(txn, signer, 7, &got), 0);
    assert_string_equal(got->event_id, "ev-9");
    assert_int_equal(got->stored_ms, 42);
    gridrelay__dedup_record__free_unpacked(got, NULL);
    assert_int_equal(gr_store_dedup_get(txn, signer, 8, &got), GR_ENOTFOUND);
    assert_null(got);
    signer[0] ^= 1;
    assert_int_equal(gr_store_dedup_get(txn, signer, 7, &got), GR_ENOTFOUND);
    assert_int_equal(gr_store_commit(&txn), 0);
}

static void test_signer_bump(void **state)
{
    fixture_t *f = *state;
    uint8_t a[32], b[32];
    memset(a, 1, sizeof a);
    memset(b, 2, sizeof b);
    gr_txn_t *txn;
    uint64_t hi;
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    assert_int_equal(gr_store_signer_get(txn, a, &hi), 0);
    assert_int_equal(hi, 0);
    assert_int_equal(gr_store_signer_bump(txn, a, 10), 0);
    assert_int_equal(gr_store_signer_bump(txn, a, 5), 0);
    assert_int_equal(gr_store_signer_get(txn, a, &hi), 0);
    assert_int_equal(hi, 10);
    assert_int_equal(gr_store_signer_bump(txn, a, 11), 0);
    assert_int_equal(gr_store_signer_bump(txn, b, 3), 0);
    assert_int_equal(gr_store_commit(&txn), 0);
    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    assert_int_equal(gr_store_signer_get(txn, a, &hi), 0);
    assert_int_equal(hi, 11);
    assert_int_equal(gr_store_signer_get(txn, b, &hi), 0);
    assert_int_equal(hi, 3);
    assert_int_equal(gr_store_commit(&txn), 0);
}

/* A nested transaction's writes join its parent on commit and vanish on
 * abort, its neighbours' untouched; nothing is durable before the outer
 * commit. */
static void test_nested(void **state)
{
    fixture_t *f = *state;
    gr_txn_t *txn = NULL, *a = NULL, *b = NULL;
    uint64_t v = 0;
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    assert_int_equal(gr_store_counter_add(txn, "outer", 1), 0);
    assert_int_equal(gr_store_begin_nested(txn, &a), 0);
    assert_int_equal(gr_store_counter_add(a, "kept", 5), 0);
    assert_int_equal(gr_store_commit(&a), 0);
    assert_null(a);
    assert_int_equal(gr_store_begin_nested(txn, &b), 0);
    assert_int_equal(gr_store_counter_add(b, "undone", 7), 0);
    assert_int_equal(gr_store_counter_add(b, "kept", 100), 0);
    gr_store_abort(&b);
    assert_null(b);
    assert_int_equal(gr_store_counter_get(txn, "kept", &v), 0);
    assert_int_equal(v, 5);
    assert_int_equal(gr_store_counter_get(txn, "undone", &v), 0);
    assert_int_equal(v, 0);
    /* A read transaction cannot be a parent. */
    gr_txn_t *r = NULL;
    assert_int_equal(gr_store_commit(&txn), 0);
    assert_int_equal(gr_store_begin(f->store, false, &r), 0);
    assert_int_equal(gr_store_begin_nested(r, &a), GR_EINVAL);
    assert_int_equal(gr_store_counter_get(r, "kept", &v), 0);
    assert_int_equal(v, 5);
    assert_int_equal(gr_store_counter_get(r, "outer", &v), 0);
    assert_int_equal(v, 1);
    gr_store_abort(&r);
    /* An outer abort takes the committed nested writes with it. */
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    assert_int_equal(gr_store_begin_nested(txn, &a), 0);
    assert_int_equal(gr_store_counter_add(a, "lost", 1), 0);
    assert_int_equal(gr_store_commit(&a), 0);
    gr_store_abort(&txn);
    assert_int_equal(gr_store_begin(f->store, false, &r), 0);
    assert_int_equal(gr_store_counter_get(r, "lost", &v), 0);
    assert_int_equal(v, 0);
    gr_store_abort(&r);
}

/* A signer locked out by a far-future seq is let in again: its highest
 * seq is set back, and only the records above it go. */
static void test_signer_reset(void **state)
{
    fixture_t *f = *state;
    uint8_t a[32], b[32];
    memset(a, 1, sizeof a);
    memset(b, 2, sizeof b);
    gr_txn_t *txn;
    Gridrelay__DedupRecord rec = GRIDRELAY__DEDUP_RECORD__INIT;
    rec.event_id = "ev";
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    uint64_t seqs[] = {100, 200, UINT64_MAX - 1};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(gr_store_dedup_put(txn, a, seqs[i], &rec), 0);
        assert_int_equal(gr_store_dedup_put(txn, b, seqs[i], &rec), 0);
        assert_int_equal(gr_store_signer_bump(txn, a, seqs[i]), 0);
    }
    size_t dropped = 0;
    assert_int_equal(gr_store_signer_reset(txn, a, 150, &dropped), 0);
    assert_int_equal(dropped, 2);
    uint64_t hi = 0;
    assert_int_equal(gr_store_signer_get(txn, a, &hi), 0);
    assert_int_equal(hi, 150);
    Gridrelay__DedupRecord *got = NULL;
    assert_int_equal(gr_store_dedup_get(txn, a, 100, &got), 0);
    gridrelay__dedup_record__free_unpacked(got, NULL);
    assert_int_equal(gr_store_dedup_get(txn, a, 200, &got), GR_ENOTFOUND);
    assert_int_equal(gr_store_dedup_get(txn, a, UINT64_MAX - 1, &got), GR_ENOTFOUND);
    /* Another signer's records are not touched. */
    assert_int_equal(gr_store_dedup_get(txn, b, UINT64_MAX - 1, &got), 0);
    gridrelay__dedup_record__free_unpacked(got, NULL);
    assert_int_equal(gr_store_commit(&txn), 0);
}

static void test_reopen(void **state)
{
    fixture_t *f = *state;
    test_event_t t;
    s_make(&t, "persist-1", "safety.fire", GRIDRELAY__SEVERITY__EXTRA_URGENT, 777);
    s_store(f->store, &t);
    s_append(f->store, t.id, GRIDRELAY__ACTION__ACTION_ACCEPT, GRIDRELAY__STATUS__ACCEPTED,
             778, "ok");
    gr_txn_t *txn;
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    assert_int_equal(gr_store_counter_add(txn, "events", 3), 0);
    assert_int_equal(gr_store_commit(&txn), 0);
    /* An aborted write leaves nothing behind. */
    test_event_t lost;
    s_make(&lost, "lost-1", "x", 1, 1);
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    assert_int_equal(gr_store_event_create(txn, &lost.rec, &lost.first), 0);
    gr_store_abort(&txn);

    s_reopen(f);
    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    Gridrelay__StoredEvent *rec;
    assert_int_equal(gr_store_event_get(txn, "persist-1", &rec), 0);
    assert_int_equal(rec->status, GRIDRELAY__STATUS__ACCEPTED);
    assert_int_equal(rec->timeline_len, 2);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    assert_int_equal(gr_store_timeline_verify(txn, "persist-1"), 0);
    assert_int_equal(gr_store_event_exists(txn, "lost-1"), 0);
    uint64_t v;
    assert_int_equal(gr_store_counter_get(txn, "events", &v), 0);
    assert_int_equal(v, 3);
    assert_int_equal(gr_store_commit(&txn), 0);
}

/* The ledger: every entry of every case linked in commit order, checked
 * read-only; a whole case removed is found; a store written before the
 * ledger is linked when the node opens it. */
static void s_audit(const char *dir, int want, gr_store_audit_t *result, gr_chain_fault_t *fault)
{
    gr_store_t *ro = NULL;
    char err[256];
    assert_int_equal(gr_store_open_readonly(&ro, dir, err, sizeof err), 0);
    gr_txn_t *txn;
    assert_int_equal(gr_store_begin(ro, false, &txn), 0);
    assert_int_equal(gr_store_audit_verify(txn, NULL, result, fault), want);
    gr_store_abort(&txn);
    /* A reader cannot write. */
    assert_int_not_equal(gr_store_begin(ro, true, &txn), 0);
    gr_store_close(&ro);
}

static void test_audit_ledger(void **state)
{
    fixture_t *f = *state;
    test_event_t a, b;
    s_make(&a, "audit-a", "safety.fire", 1, 100);
    s_make(&b, "audit-b", "safety.fire", 1, 101);
    s_store(f->store, &a);
    s_store(f->store, &b);
    s_append(f->store, a.id, GRIDRELAY__ACTION__ACTION_ACCEPT, GRIDRELAY__STATUS__ACCEPTED, 102,
             "ok");
    gr_txn_t *txn;
    uint64_t seq;
    uint8_t head[32];
    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    assert_int_equal(gr_store_audit_head(txn, &seq, head), 0);
    assert_int_equal(seq, 3);
    ProtobufCBinaryData *entries;
    Gridrelay__AuditLink **links;
    size_t n;
    assert_int_equal(gr_store_audit_case(txn, a.id, &entries, &links, &n), 0);
    assert_int_equal(n, 2);
    /* Case a's entries are links 1 and 3: b's first came between them. */
    assert_non_null(links[0]);
    assert_non_null(links[1]);
    assert_int_equal(links[0]->seq, 1);
    assert_int_equal(links[1]->seq, 3);
    assert_memory_equal(links[1]->head.data, head, 32);
    free(entries);
    gr_store_audit_links_free(links, n);
    gr_store_abort(&txn);
    gr_store_close(&f->store);

    gr_store_audit_t result;
    gr_chain_fault_t fault;
    s_audit(f->dir, 0, &result, &fault);
    assert_int_equal(result.entries, 3);
    assert_int_equal(result.cases, 2);
    assert_int_equal(result.links, 3);
    assert_memory_equal(result.head, head, 32);

    /* A record of a case nobody reported, with no timeline (not even an
     * entry 1 of its own). */
    MDB_env *env;
    MDB_txn *raw;
    MDB_dbi dbi;
    MDB_val k = {7, "audit-a"}, v;
    s_raw_begin(f->dir, "events", &env, &raw, &dbi);
    assert_int_equal(mdb_get(raw, dbi, &k, &v), 0);
    Gridrelay__StoredEvent *fake = gridrelay__stored_event__unpack(NULL, v.mv_size, v.mv_data);
    assert_non_null(fake);
    free(fake->first_entry.data);
    fake->first_entry = (ProtobufCBinaryData){0, NULL};
    fake->ledger_last = 0;
    uint8_t packed[4096];
    assert_true(gridrelay__stored_event__get_packed_size(fake) <= sizeof packed);
    v = (MDB_val){gridrelay__stored_event__pack(fake, packed), packed};
    gridrelay__stored_event__free_unpacked(fake, NULL);
    k = (MDB_val){7, "audit-z"};
    assert_int_equal(mdb_put(raw, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(raw), 0);
    mdb_env_close(env);
    s_audit(f->dir, 1, &result, &fault);
    assert_int_equal(fault.kind, GRIDRELAY__AUDIT_FAULT__KIND__INSERTED);
    assert_string_equal(fault.event_id, "audit-z");
    s_raw_begin(f->dir, "events", &env, &raw, &dbi);
    assert_int_equal(mdb_del(raw, dbi, &k, NULL), 0);
    assert_int_equal(mdb_txn_commit(raw), 0);
    mdb_env_close(env);

    /* Case b removed entirely: its record (which holds its one entry),
     * its listing. */
    s_raw_begin(f->dir, "events", &env, &raw, &dbi);
    k = (MDB_val){7, "audit-b"};
    assert_int_equal(mdb_del(raw, dbi, &k, NULL), 0);
    assert_int_equal(mdb_txn_commit(raw), 0);
    mdb_env_close(env);
    s_audit(f->dir, 1, &result, &fault);
    assert_int_equal(fault.kind, GRIDRELAY__AUDIT_FAULT__KIND__DELETED);
    assert_string_equal(fault.event_id, "audit-b");
    assert_non_null(strstr(fault.message, "whole case"));

    /* A store from before the ledger: none of it, no head. */
    s_raw_begin(f->dir, "audit", &env, &raw, &dbi);
    assert_int_equal(mdb_drop(raw, dbi, 0), 0);
    assert_int_equal(mdb_dbi_open(raw, "audit_index", 0, &dbi), 0);
    assert_int_equal(mdb_drop(raw, dbi, 0), 0);
    assert_int_equal(mdb_dbi_open(raw, "meta", 0, &dbi), 0);
    k = (MDB_val){10, "audit_head"};
    assert_int_equal(mdb_del(raw, dbi, &k, NULL), 0);
    assert_int_equal(mdb_txn_commit(raw), 0);
    mdb_env_close(env);
    s_audit(f->dir, 1, &result, &fault);
    assert_int_equal(fault.kind, GRIDRELAY__AUDIT_FAULT__KIND__INSERTED);
    /* ... which was schema version 1: opening it migrates, linking it. */
    s_raw_put_version(f->dir, 1);
    char err[256];
    assert_int_equal(gr_store_open(&f->store, f->dir, NULL, err, sizeof err), 0);
    gr_store_close(&f->store);
    s_audit(f->dir, 0, &result, &fault);
    assert_int_equal(result.entries, 2);
    assert_int_equal(result.links, 2);
    assert_int_equal(gr_store_open(&f->store, f->dir, NULL, err, sizeof err), 0);
}

static void test_schema_newer(void **state)
{
    fixture_t *f = *state;
    gr_store_close(&f->store);
    s_raw_put_version(f->dir, 99);
    char err[256];
    assert_int_equal(gr_store_open(&f->store, f->dir, NULL, err, sizeof err), GR_ESCHEMA);
    assert_null(f->store);
    assert_non_null(strstr(err, "99"));
    assert_non_null(strstr(err, f->dir));
    assert_non_null(strstr(err, "upgrade"));

    /* Refused means untouched: the version is still 99. */
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    s_raw_begin(f->dir, "meta", &env, &txn, &dbi);
    MDB_val k = {strlen("schema_version"), "schema_version"}, v;
    assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
    assert_int_equal(v.mv_size, 4);
    assert_int_equal(((uint8_t *)v.mv_data)[3], 99);
    mdb_txn_abort(txn);
    mdb_env_close(env);

    /* An older version with no migration path is refused too. */
    s_raw_put_version(f->dir, 0);
    assert_int_equal(gr_store_open(&f->store, f->dir, NULL, err, sizeof err), GR_ESCHEMA);
    assert_non_null(strstr(err, "migrate"));

    s_raw_put_version(f->dir, GR_STORE_SCHEMA_VERSION);
    assert_int_equal(gr_store_open(&f->store, f->dir, NULL, err, sizeof err), 0);
}

static void test_open_twice(void **state)
{
    fixture_t *f = *state;
    gr_store_t *second = NULL;
    char err[256];
    assert_int_equal(gr_store_open(&second, f->dir, NULL, err, sizeof err), GR_EIO);
    assert_null(second);
    assert_non_null(strstr(err, "in use by another process"));
    /* After the first closes, the directory opens again. */
    gr_store_close(&f->store);
    assert_int_equal(gr_store_open(&f->store, f->dir, NULL, err, sizeof err), 0);
}

static void test_open_creates_dir(void **state)
{
    fixture_t *f = *state;
    char sub[128], err[256];
    snprintf(sub, sizeof sub, "%s/a/b", f->dir);
    gr_store_t *s = NULL;
    assert_int_equal(gr_store_open(&s, sub, NULL, err, sizeof err), 0);
    assert_int_equal(gr_store_map_size(s), 64u << 20);
    gr_store_close(&s);
    assert_null(s);
    gr_store_close(&s);  /* accepts NULL */
    struct stat st;
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
}

#define BATCH 20

static void test_map_growth(void **state)
{
    fixture_t *f = *state;
    /* A directory of its own: the fixture's store was made at 64 MiB. */
    gr_store_close(&f->store);
    char dir[128], err[256];
    snprintf(dir, sizeof dir, "%s/grow", f->dir);
    gr_store_options_t opt = {.map_size = 1u << 20, .map_max = 4u << 20};
    assert_int_equal(gr_store_open(&f->store, dir, &opt, err, sizeof err), 0);
    assert_int_equal(gr_store_map_size(f->store), 1u << 20);

    char desc[2000];
    memset(desc, 'd', sizeof desc - 1);
    desc[sizeof desc - 1] = '\0';
    int batches = 0, grows = 0;
    bool full = false;
    while (!full) {
        gr_txn_t *txn;
        assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
        int rc = 0;
        for (int i = 0; i < BATCH && rc == 0; i++) {
            test_event_t t;
            char id[32];
            snprintf(id, sizeof id, "grow-%04d-%02d", batches, i);
            s_make(&t, id, "load", GRIDRELAY__SEVERITY__ROUTINE, 10000 + batches);
            t.event.description = desc;
            rc = gr_store_event_create(txn, &t.rec, &t.first);
        }
        if (rc == 0)
            rc = gr_store_commit(&txn);
        else
            gr_store_abort(&txn);
        assert_null(txn);
        if (rc == 0) {
            batches++;
            continue;
        }
        assert_int_equal(rc, GR_EMAPFULL);
        rc = gr_store_grow(f->store);
        if (rc == GR_EFULL) {
            full = true;
        } else {
            assert_int_equal(rc, 0);
            grows++;
        }
    }
    assert_int_equal(grows, 2);  /* 1 -> 2 -> 4 MiB */
    assert_int_equal(gr_store_map_size(f->store), 4u << 20);
    assert_true(batches > 0);

    /* Everything committed is intact and reads still work. */
    gr_txn_t *txn;
    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    for (int b = 0; b < batches; b++) {
        for (int i = 0; i < BATCH; i++) {
            char id[32];
            snprintf(id, sizeof id, "grow-%04d-%02d", b, i);
            Gridrelay__StoredEvent *rec;
            assert_int_equal(gr_store_event_get(txn, id, &rec), 0);
            assert_string_equal(rec->event->description, desc);
            gridrelay__stored_event__free_unpacked(rec, NULL);
        }
    }
    char id[32];
    snprintf(id, sizeof id, "grow-%04d-%02d", batches, 0);
    assert_int_equal(gr_store_event_exists(txn, id), 0);
    assert_int_equal(gr_store_commit(&txn), 0);

    /* The grown size persists across a reopen with the small option. */
    gr_store_close(&f->store);
    assert_int_equal(gr_store_open(&f->store, dir, &opt, err, sizeof err), 0);
    assert_int_equal(gr_store_map_size(f->store), 4u << 20);
    assert_int_equal(gr_store_grow(f->store), GR_EFULL);
    /* A bigger configured start wins over the recorded size. */
    gr_store_close(&f->store);
    opt.map_size = opt.map_max = 8u << 20;
    assert_int_equal(gr_store_open(&f->store, dir, &opt, err, sizeof err), 0);
    assert_int_equal(gr_store_map_size(f->store), 8u << 20);
}

typedef struct {
    char ids[64][32];
    size_t n;
} seen_t;

static void s_collect(void *ctx, const Gridrelay__StoredEvent *rec)
{
    seen_t *seen = ctx;
    assert_true(seen->n < 64);
    snprintf(seen->ids[seen->n++], sizeof seen->ids[0], "%s", rec->event->id);
}

static size_t s_list_all(gr_txn_t *txn, const gr_store_filter_t *filter, size_t limit,
                         seen_t *seen, size_t *pages)
{
    char token[GR_PAGE_TOKEN_MAX] = "";
    *pages = 0;
    seen->n = 0;
    do {
        char next[GR_PAGE_TOKEN_MAX];
        size_t before = seen->n;
        assert_int_equal(gr_store_list(txn, filter, token, limit, s_collect, seen, next), 0);
        assert_true(seen->n - before <= limit);
        (*pages)++;
        strcpy(token, next);
    } while (token[0]);
    return seen->n;
}

static void test_list(void **state)
{
    fixture_t *f = *state;
    gr_txn_t *txn;
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    /* 25 events; ev-i received at 1000 + 10*i, every 5th urgent, odd ones
     * "fire", every 3rd later accepted. Inserted out of time order. */
    for (int k = 0; k < 25; k++) {
        int i = (k * 7) % 25;
        test_event_t t;
        char id[16];
        snprintf(id, sizeof id, "ev-%02d", i);
        s_make(&t, id, i % 2 ? "fire" : "water",
               i % 5 == 0 ? GRIDRELAY__SEVERITY__URGENT : GRIDRELAY__SEVERITY__ROUTINE,
               1000 + 10 * (uint64_t)i);
        assert_int_equal(gr_store_event_create(txn, &t.rec, &t.first), 0);
        if (i % 3 == 0) {
            Gridrelay__TimelineEntry e = GRIDRELAY__TIMELINE_ENTRY__INIT;
            e.to_status = GRIDRELAY__STATUS__ACCEPTED;
            e.time_ms = 5000;
            assert_int_equal(gr_store_event_append(txn, &t.rec, &e), 0);
        }
    }
    assert_int_equal(gr_store_commit(&txn), 0);

    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    seen_t seen;
    size_t pages;
    gr_store_filter_t any = {0};
    assert_int_equal(s_list_all(txn, &any, 10, &seen, &pages), 25);
    assert_int_equal(pages, 3);
    for (int i = 0; i < 25; i++) {
        char id[16];
        snprintf(id, sizeof id, "ev-%02d", i);
        assert_string_equal(seen.ids[i], id);  /* oldest first, no gaps or repeats */
    }
    /* Exactly one full page: no token, since nothing follows. */
    assert_int_equal(s_list_all(txn, NULL, 25, &seen, &pages), 25);
    assert_int_equal(pages, 1);

    gr_store_filter_t fire = {.category = "fire"};
    assert_int_equal(s_list_all(txn, &fire, 4, &seen, &pages), 12);
    for (size_t j = 0; j < seen.n; j++)
        assert_int_equal(atoi(seen.ids[j] + 3) % 2, 1);

    gr_store_filter_t urgent = {.severity = GRIDRELAY__SEVERITY__URGENT};
    assert_int_equal(s_list_all(txn, &urgent, 2, &seen, &pages), 5);
    assert_string_equal(seen.ids[4], "ev-20");

    gr_store_filter_t accepted = {.status = GRIDRELAY__STATUS__ACCEPTED};
    assert_int_equal(s_list_all(txn, &accepted, 3, &seen, &pages), 9);
    gr_store_filter_t reported = {.status = GRIDRELAY__STATUS__REPORTED};
    assert_int_equal(s_list_all(txn, &reported, 100, &seen, &pages), 16);

    /* [1050, 1100): ev-05 .. ev-09. */
    gr_store_filter_t range = {.since_ms = 1050, .until_ms = 1100};
    assert_int_equal(s_list_all(txn, &range, 5, &seen, &pages), 5);
    assert_int_equal(pages, 1);
    assert_string_equal(seen.ids[0], "ev-05");
    assert_string_equal(seen.ids[4], "ev-09");
    assert_int_equal(s_list_all(txn, &range, 2, &seen, &pages), 5);
    assert_int_equal(pages, 3);

    gr_store_filter_t combo = {.category = "fire", .severity = GRIDRELAY__SEVERITY__URGENT,
                               .since_ms = 1100};
    assert_int_equal(s_list_all(txn, &combo, 10, &seen, &pages), 1);
    assert_string_equal(seen.ids[0], "ev-15");

    char next[GR_PAGE_TOKEN_MAX];
    seen.n = 0;
    assert_int_equal(gr_store_list(txn, NULL, "xyz", 10, s_collect, &seen, next), GR_EINVAL);
    assert_int_equal(gr_store_list(txn, NULL, "00", 10, s_collect, &seen, next), GR_EINVAL);
    assert_int_equal(gr_store_list(txn, NULL, "00000000000003e8zz", 10, s_collect, &seen,
                                   next), GR_EINVAL);
    assert_int_equal(seen.n, 0);
    assert_int_equal(gr_store_commit(&txn), 0);
}

static void test_counters(void **state)
{
    fixture_t *f = *state;
    gr_txn_t *txn;
    uint64_t v = 99;
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    assert_int_equal(gr_store_counter_get(txn, "accepted", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(gr_store_counter_add(txn, "accepted", 1), 0);
    assert_int_equal(gr_store_counter_add(txn, "accepted", 41), 0);
    assert_int_equal(gr_store_counter_add(txn, "rejected", 2), 0);
    assert_int_equal(gr_store_counter_add(txn, "", 2), GR_EINVAL);
    assert_int_equal(gr_store_commit(&txn), 0);
    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    assert_int_equal(gr_store_counter_get(txn, "accepted", &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(gr_store_counter_get(txn, "rejected", &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(gr_store_counter_add(txn, "accepted", 1), GR_EINVAL);
    assert_int_equal(gr_store_commit(&txn), 0);
}

typedef struct {
    uint64_t seqs[16];
    size_t n;
} scan_t;

static void s_scan(void *ctx, uint64_t seq, const uint8_t *data, size_t len)
{
    scan_t *s = ctx;
    char want[32];
    snprintf(want, sizeof want, "env-%llu", (unsigned long long)seq);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(data, want, len);
    assert_true(s->n < 16);
    s->seqs[s->n++] = seq;
}

static void test_outbox(void **state)
{
    fixture_t *f = *state;
    gr_txn_t *txn;
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    /* "town" prefixes "town2": their queues must stay apart. */
    for (uint64_t seq = 1; seq <= 5; seq++) {
        char data[32];
        int len = snprintf(data, sizeof data, "env-%llu", (unsigned long long)seq);
        assert_int_equal(gr_store_outbox_put(txn, "town", seq, (uint8_t *)data, len), 0);
    }
    assert_int_equal(gr_store_outbox_put(txn, "town2", 300, (const uint8_t *)"env-300", 7), 0);
    assert_int_equal(gr_store_outbox_put(txn, "", 1, (const uint8_t *)"x", 1), GR_EINVAL);
    assert_int_equal(gr_store_commit(&txn), 0);

    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    uint64_t depth;
    assert_int_equal(gr_store_outbox_depth(txn, "town", &depth), 0);
    assert_int_equal(depth, 5);
    assert_int_equal(gr_store_outbox_depth(txn, "town2", &depth), 0);
    assert_int_equal(depth, 1);
    assert_int_equal(gr_store_outbox_depth(txn, "district", &depth), 0);
    assert_int_equal(depth, 0);
    scan_t s = {0};
    assert_int_equal(gr_store_outbox_scan(txn, "town", 0, 100, s_scan, &s), 0);
    assert_int_equal(s.n, 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(s.seqs[i], i + 1);
    s.n = 0;
    assert_int_equal(gr_store_outbox_scan(txn, "town", 2, 2, s_scan, &s), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.seqs[0], 3);
    assert_int_equal(s.seqs[1], 4);
    assert_int_equal(gr_store_outbox_del(txn, "town", 1), 0);
    assert_int_equal(gr_store_outbox_del(txn, "town", 3), 0);
    assert_int_equal(gr_store_outbox_del(txn, "town", 3), GR_ENOTFOUND);
    assert_int_equal(gr_store_commit(&txn), 0);

    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    assert_int_equal(gr_store_outbox_depth(txn, "town", &depth), 0);
    assert_int_equal(depth, 3);
    s.n = 0;
    assert_int_equal(gr_store_outbox_scan(txn, "town", 0, 100, s_scan, &s), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.seqs[0], 2);
    assert_int_equal(s.seqs[1], 4);
    assert_int_equal(s.seqs[2], 5);
    s.n = 0;
    assert_int_equal(gr_store_outbox_scan(txn, "town2", 0, 100, s_scan, &s), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.seqs[0], 300);
    assert_int_equal(gr_store_commit(&txn), 0);
}

/* ---- due timers ---- */

typedef struct {
    uint64_t due[16];
    uint8_t kind[16];
    char id[16][GR_EVENT_ID_MAX + 1];
    size_t n;
    gr_txn_t *del_txn;  /* when set, the visitor deletes what it is given */
} due_seen_t;

static void s_due_visit(void *ctx, uint64_t due_ms, uint8_t kind, const char *event_id)
{
    due_seen_t *s = ctx;
    assert_true(s->n < 16);
    s->due[s->n] = due_ms;
    s->kind[s->n] = kind;
    snprintf(s->id[s->n], sizeof s->id[0], "%s", event_id);
    s->n++;
    if (s->del_txn)
        assert_int_equal(gr_store_due_del(s->del_txn, due_ms, kind, event_id), 0);
}

static void s_due_expect(const due_seen_t *s, size_t i, uint64_t due, uint8_t kind,
                         const char *id)
{
    assert_true(i < s->n);
    assert_int_equal(s->due[i], due);
    assert_int_equal(s->kind[i], kind);
    assert_string_equal(s->id[i], id);
}

static void test_due(void **state)
{
    fixture_t *f = *state;
    gr_txn_t *txn;
    uint64_t next = 0;
    char long_id[GR_EVENT_ID_MAX + 2];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';

    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    assert_int_equal(gr_store_due_next(txn, &next), GR_ENOTFOUND);
    assert_int_equal(gr_store_due_put(txn, 100, 2, "case-a"), 0);
    assert_int_equal(gr_store_due_put(txn, 100, 1, "case-ab"), 0);
    assert_int_equal(gr_store_due_put(txn, 100, 1, "case-a"), 0);
    assert_int_equal(gr_store_due_put(txn, 100, 1, "case-a"), 0);  /* same timer: one */
    assert_int_equal(gr_store_due_put(txn, 256, 1, "case-c"), 0);  /* BE order, not LE */
    assert_int_equal(gr_store_due_put(txn, 50, 1, "case-b"), 0);
    assert_int_equal(gr_store_due_put(txn, 99, 3, "case-d"), 0);
    assert_int_equal(gr_store_due_put(txn, 1, 1, ""), GR_EINVAL);
    assert_int_equal(gr_store_due_put(txn, 1, 1, long_id), GR_EINVAL);
    assert_int_equal(gr_store_due_put(txn, 1, 1, NULL), GR_EINVAL);
    assert_int_equal(gr_store_commit(&txn), 0);

    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    assert_int_equal(gr_store_due_put(txn, 1, 1, "case-z"), GR_EINVAL);
    assert_int_equal(gr_store_due_next(txn, &next), 0);
    assert_int_equal(next, 50);
    due_seen_t s = {0};
    assert_int_equal(gr_store_due_scan(txn, 49, 100, s_due_visit, &s), 0);
    assert_int_equal(s.n, 0);
    /* due_ms == now is due; now - 1 is not. */
    assert_int_equal(gr_store_due_scan(txn, 99, 100, s_due_visit, &s), 2);
    s_due_expect(&s, 0, 50, 1, "case-b");
    s_due_expect(&s, 1, 99, 3, "case-d");
    memset(&s, 0, sizeof s);
    assert_int_equal(gr_store_due_scan(txn, 100, 100, s_due_visit, &s), 5);
    s_due_expect(&s, 0, 50, 1, "case-b");
    s_due_expect(&s, 1, 99, 3, "case-d");
    s_due_expect(&s, 2, 100, 1, "case-a");
    s_due_expect(&s, 3, 100, 1, "case-ab");
    s_due_expect(&s, 4, 100, 2, "case-a");
    memset(&s, 0, sizeof s);
    assert_int_equal(gr_store_due_scan(txn, 100, 2, s_due_visit, &s), 2);
    s_due_expect(&s, 1, 99, 3, "case-d");
    memset(&s, 0, sizeof s);
    assert_int_equal(gr_store_due_scan(txn, 100, 0, s_due_visit, &s), 0);
    assert_int_equal(gr_store_due_scan(txn, UINT64_MAX, 100, s_due_visit, &s), 6);
    s_due_expect(&s, 5, 256, 1, "case-c");
    assert_int_equal(gr_store_due_scan(txn, 100, 100, NULL, NULL), GR_EINVAL);
    assert_int_equal(gr_store_commit(&txn), 0);

    /* Delete: exact triple only. */
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    assert_int_equal(gr_store_due_del(txn, 99, 1, "case-d"), GR_ENOTFOUND);
    assert_int_equal(gr_store_due_del(txn, 98, 3, "case-d"), GR_ENOTFOUND);
    assert_int_equal(gr_store_due_del(txn, 99, 3, "case-"), GR_ENOTFOUND);
    assert_int_equal(gr_store_due_del(txn, 99, 3, "case-d"), 0);
    assert_int_equal(gr_store_due_del(txn, 99, 3, "case-d"), GR_ENOTFOUND);
    /* Deleting each timer from inside the visit, in the same transaction. */
    memset(&s, 0, sizeof s);
    s.del_txn = txn;
    assert_int_equal(gr_store_due_scan(txn, 100, 100, s_due_visit, &s), 4);
    s_due_expect(&s, 0, 50, 1, "case-b");
    s_due_expect(&s, 3, 100, 2, "case-a");
    memset(&s, 0, sizeof s);
    assert_int_equal(gr_store_due_scan(txn, 100, 100, s_due_visit, &s), 0);
    assert_int_equal(gr_store_due_next(txn, &next), 0);
    assert_int_equal(next, 256);
    assert_int_equal(gr_store_due_put(txn, 300, 4, "case-e"), 0);
    assert_int_equal(gr_store_commit(&txn), 0);

    /* Timers survive a restart. */
    s_reopen(f);
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    assert_int_equal(gr_store_due_next(txn, &next), 0);
    assert_int_equal(next, 256);
    memset(&s, 0, sizeof s);
    assert_int_equal(gr_store_due_scan(txn, 1000, 100, s_due_visit, &s), 2);
    s_due_expect(&s, 0, 256, 1, "case-c");
    s_due_expect(&s, 1, 300, 4, "case-e");
    /* Collect, then delete: the other way to consume what a scan found. */
    for (size_t i = 0; i < s.n; i++)
        assert_int_equal(gr_store_due_del(txn, s.due[i], s.kind[i], s.id[i]), 0);
    assert_int_equal(gr_store_due_next(txn, &next), GR_ENOTFOUND);
    assert_int_equal(next, 0);
    assert_int_equal(gr_store_commit(&txn), 0);
}

/* ---- status log ---- */

typedef struct {
    uint64_t seq[16];
    char event[16][32];
    size_t n;
} status_seen_t;

static void s_status_visit(void *ctx, const Gridrelay__StatusUpdate *update)
{
    status_seen_t *s = ctx;
    assert_true(s->n < 16);
    s->seq[s->n] = update->node_seq;
    snprintf(s->event[s->n], sizeof s->event[0], "%s", update->event_id);
    s->n++;
}

static void s_status_add(gr_txn_t *txn, const char *event_id, uint64_t want_seq)
{
    Gridrelay__StatusUpdate u = GRIDRELAY__STATUS_UPDATE__INIT;
    u.node_id = "village-1";
    u.node_seq = 77;  /* ignored: the store assigns it */
    u.event_id = (char *)event_id;
    u.status = GRIDRELAY__STATUS__REPORTED;
    u.time_ms = 1000 + want_seq;
    assert_int_equal(gr_store_status_append(txn, &u), 0);
    assert_int_equal(u.node_seq, want_seq);
}

static void s_status_put(gr_txn_t *txn, const char *event_id, Gridrelay__Status st,
                         uint64_t due_ms, uint64_t time_ms, uint64_t want_seq)
{
    Gridrelay__StatusUpdate u = GRIDRELAY__STATUS_UPDATE__INIT;
    u.node_id = "village-1";
    u.event_id = (char *)event_id;
    u.status = st;
    u.due_ms = due_ms;
    u.time_ms = time_ms;
    assert_int_equal(gr_store_status_append(txn, &u), 0);
    assert_int_equal(u.node_seq, want_seq);
}

/* What a case's five updates leave in a compacted log: its newest, at the
 * newest seq, carrying what the older ones told a view. */
static void s_check_compacted(gr_txn_t *txn)
{
    status_seen_t s = {0};
    assert_int_equal(gr_store_status_scan(txn, 0, 100, s_status_visit, &s), 2);
    assert_int_equal(s.seq[0], 2);
    assert_string_equal(s.event[0], "ev-b");
    assert_int_equal(s.seq[1], 5);
    assert_string_equal(s.event[1], "ev-a");
    uint64_t last = 0;
    assert_int_equal(gr_store_status_last(txn, &last), 0);
    assert_int_equal(last, 5);
}

typedef struct {
    Gridrelay__StatusUpdate got;
    int n;
} status_one_t;

static void s_status_keep_a(void *ctx, const Gridrelay__StatusUpdate *update)
{
    status_one_t *o = ctx;
    if (strcmp(update->event_id, "ev-a") != 0)
        return;
    o->got.status = update->status;
    o->got.prior_accept_due_ms = update->prior_accept_due_ms;
    o->got.prior_resolve_due_ms = update->prior_resolve_due_ms;
    o->got.prior_left_ms = update->prior_left_ms;
    o->n++;
}

static void s_check_priors(gr_txn_t *txn)
{
    status_one_t o = {GRIDRELAY__STATUS_UPDATE__INIT, 0};
    assert_true(gr_store_status_scan(txn, 0, 100, s_status_keep_a, &o) >= 0);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.got.status, GRIDRELAY__STATUS__RESOLVED);
    assert_int_equal(o.got.prior_accept_due_ms, 500);
    assert_int_equal(o.got.prior_resolve_due_ms, 900);
    assert_int_equal(o.got.prior_left_ms, 1234);
}

static void s_put_a_b(gr_txn_t *txn)
{
    s_status_put(txn, "ev-a", GRIDRELAY__STATUS__REPORTED, 500, 1000, 1);
    s_status_put(txn, "ev-b", GRIDRELAY__STATUS__REPORTED, 0, 1001, 2);
    s_status_put(txn, "ev-a", GRIDRELAY__STATUS__ACCEPTED, 900, 1002, 3);
    s_status_put(txn, "ev-a", GRIDRELAY__STATUS__ESCALATED, 0, 1234, 4);
    s_status_put(txn, "ev-a", GRIDRELAY__STATUS__RESOLVED, 0, 2000, 5);
}

static void test_statuslog_compaction(void **state)
{
    fixture_t *f = *state;
    gr_txn_t *txn;
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    s_put_a_b(txn);
    s_check_compacted(txn);
    s_check_priors(txn);
    assert_int_equal(gr_store_commit(&txn), 0);
    s_reopen(f);
    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    s_check_compacted(txn);
    gr_store_abort(&txn);

    /* A schema 2 store kept all five: opening it compacts it to the same. */
    gr_store_close(&f->store);
    MDB_env *env;
    MDB_txn *raw;
    MDB_dbi log, index;
    s_raw_begin(f->dir, "statuslog", &env, &raw, &log);
    assert_int_equal(mdb_dbi_open(raw, "status_index", 0, &index), 0);
    assert_int_equal(mdb_drop(raw, log, 0), 0);
    assert_int_equal(mdb_drop(raw, index, 0), 0);
    const char *ids[] = {"ev-a", "ev-b", "ev-a", "ev-a", "ev-a"};
    Gridrelay__Status sts[] = {GRIDRELAY__STATUS__REPORTED, GRIDRELAY__STATUS__REPORTED,
                               GRIDRELAY__STATUS__ACCEPTED, GRIDRELAY__STATUS__ESCALATED,
                               GRIDRELAY__STATUS__RESOLVED};
    uint64_t dues[] = {500, 0, 900, 0, 0}, times[] = {1000, 1001, 1002, 1234, 2000};
    for (uint64_t i = 0; i < 5; i++) {
        Gridrelay__StatusUpdate u = GRIDRELAY__STATUS_UPDATE__INIT;
        u.node_id = "village-1";
        u.node_seq = i + 1;
        u.event_id = (char *)ids[i];
        u.status = sts[i];
        u.due_ms = dues[i];
        u.time_ms = times[i];
        uint8_t buf[256], key[8];
        size_t len = gridrelay__status_update__pack(&u, buf);
        for (int b = 0; b < 8; b++)
            key[b] = (uint8_t)((i + 1) >> (56 - 8 * b));
        MDB_val k = {8, key}, v = {len, buf};
        assert_int_equal(mdb_put(raw, log, &k, &v, MDB_APPEND), 0);
    }
    assert_int_equal(mdb_txn_commit(raw), 0);
    mdb_env_close(env);
    s_raw_put_version(f->dir, 2);
    char err[256];
    assert_int_equal(gr_store_open(&f->store, f->dir, NULL, err, sizeof err), 0);
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    s_check_compacted(txn);
    s_check_priors(txn);
    /* ... and indexed: the next update of ev-b replaces seq 2. */
    s_status_put(txn, "ev-b", GRIDRELAY__STATUS__ACCEPTED, 0, 3000, 6);
    status_seen_t s = {0};
    assert_int_equal(gr_store_status_scan(txn, 0, 100, s_status_visit, &s), 2);
    assert_int_equal(s.seq[0], 5);
    assert_int_equal(s.seq[1], 6);
    assert_int_equal(gr_store_commit(&txn), 0);
}

static void test_statuslog(void **state)
{
    fixture_t *f = *state;
    gr_txn_t *txn;
    uint64_t last = 99;
    status_seen_t s = {0};

    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    assert_int_equal(gr_store_status_last(txn, &last), 0);
    assert_int_equal(last, 0);
    assert_int_equal(gr_store_status_scan(txn, 0, 100, s_status_visit, &s), 0);
    s_status_add(txn, "ev-1", 1);
    s_status_add(txn, "ev-2", 2);
    s_status_add(txn, "ev-3", 3);
    assert_int_equal(gr_store_status_last(txn, &last), 0);
    assert_int_equal(last, 3);
    assert_int_equal(gr_store_status_append(txn, NULL), GR_EINVAL);
    assert_int_equal(gr_store_commit(&txn), 0);

    /* An aborted append leaves no hole: the next one reuses its seq. */
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    s_status_add(txn, "ev-lost", 4);
    gr_store_abort(&txn);

    s_reopen(f);
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    assert_int_equal(gr_store_status_last(txn, &last), 0);
    assert_int_equal(last, 3);
    s_status_add(txn, "ev-4", 4);
    assert_int_equal(gr_store_commit(&txn), 0);

    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    Gridrelay__StatusUpdate u = GRIDRELAY__STATUS_UPDATE__INIT;
    assert_int_equal(gr_store_status_append(txn, &u), GR_EINVAL);
    assert_int_equal(gr_store_status_scan(txn, 0, 100, s_status_visit, &s), 4);
    for (size_t i = 0; i < 4; i++) {
        char want[32];
        snprintf(want, sizeof want, "ev-%zu", i + 1);
        assert_int_equal(s.seq[i], i + 1);
        assert_string_equal(s.event[i], want);
    }
    memset(&s, 0, sizeof s);
    assert_int_equal(gr_store_status_scan(txn, 2, 1, s_status_visit, &s), 1);
    assert_int_equal(s.seq[0], 3);
    memset(&s, 0, sizeof s);
    assert_int_equal(gr_store_status_scan(txn, 2, 100, s_status_visit, &s), 2);
    assert_int_equal(s.seq[0], 3);
    assert_int_equal(s.seq[1], 4);
    memset(&s, 0, sizeof s);
    assert_int_equal(gr_store_status_scan(txn, 4, 100, s_status_visit, &s), 0);
    assert_int_equal(gr_store_status_scan(txn, UINT64_MAX, 100, s_status_visit, &s), 0);
    assert_int_equal(gr_store_status_scan(txn, 0, 0, s_status_visit, &s), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(gr_store_status_scan(txn, 0, 1, NULL, NULL), GR_EINVAL);
    assert_int_equal(gr_store_commit(&txn), 0);
}

/* ---- peers ---- */

static void test_peers(void **state)
{
    fixture_t *f = *state;
    gr_txn_t *txn;
    uint64_t v = 99;
    char long_field[66];
    memset(long_field, 'f', sizeof long_field - 1);
    long_field[sizeof long_field - 1] = '\0';

    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    assert_int_equal(gr_store_peer_get(txn, "town", "status_seq", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(gr_store_peer_put(txn, "town", "status_seq", 7), 0);
    assert_int_equal(gr_store_peer_put(txn, "town", "outbox_seq", 3), 0);
    assert_int_equal(gr_store_peer_put(txn, "town2", "status_seq", 9), 0);
    /* "a" | 0 | "bx" and "ab" | 0 | "x" are different keys. */
    assert_int_equal(gr_store_peer_put(txn, "a", "bx", 1), 0);
    assert_int_equal(gr_store_peer_put(txn, "ab", "x", 2), 0);
    assert_int_equal(gr_store_peer_put(txn, "town", "status_seq", 8), 0);  /* overwrite */
    assert_int_equal(gr_store_peer_put(txn, "", "status_seq", 1), GR_EINVAL);
    assert_int_equal(gr_store_peer_put(txn, "town", "", 1), GR_EINVAL);
    assert_int_equal(gr_store_peer_put(txn, "town", long_field, 1), GR_EINVAL);
    assert_int_equal(gr_store_peer_put(txn, NULL, "status_seq", 1), GR_EINVAL);
    assert_int_equal(gr_store_peer_get(txn, "town", NULL, &v), GR_EINVAL);
    assert_int_equal(gr_store_commit(&txn), 0);

    s_reopen(f);
    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    assert_int_equal(gr_store_peer_put(txn, "town", "status_seq", 1), GR_EINVAL);
    assert_int_equal(gr_store_peer_get(txn, "town", "status_seq", &v), 0);
    assert_int_equal(v, 8);
    assert_int_equal(gr_store_peer_get(txn, "town", "outbox_seq", &v), 0);
    assert_int_equal(v, 3);
    assert_int_equal(gr_store_peer_get(txn, "town2", "status_seq", &v), 0);
    assert_int_equal(v, 9);
    assert_int_equal(gr_store_peer_get(txn, "town2", "outbox_seq", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(gr_store_peer_get(txn, "tow", "status_seq", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(gr_store_peer_get(txn, "a", "bx", &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(gr_store_peer_get(txn, "ab", "x", &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(gr_store_commit(&txn), 0);
}

typedef struct {
    char ids[16][32];
    size_t count;
    size_t stop_after;      /* stop the scan at this many (0 = never) */
} s_task_visit_t;

static int s_visit_task(void *ctx, const Gridrelay__Task *task)
{
    s_task_visit_t *v = ctx;
    if (v->stop_after && v->count == v->stop_after)
        return 1;
    snprintf(v->ids[v->count++], sizeof v->ids[0], "%s:%s", task->dept, task->event_id);
    return 0;
}

static void s_put_task(gr_txn_t *txn, const char *dept, const char *id, bool lead)
{
    Gridrelay__Event event = GRIDRELAY__EVENT__INIT;
    event.id = (char *)id;
    Gridrelay__Task task = GRIDRELAY__TASK__INIT;
    task.dept = (char *)dept;
    task.event_id = (char *)id;
    task.lead = lead;
    task.event = &event;  /* not stored: the events database has it */
    task.state = GRIDRELAY__TASK_STATE__TASK_OPEN;
    assert_int_equal(gr_store_task_put(txn, &task), 0);
}

static void test_tasks(void **state)
{
    fixture_t *f = *state;
    gr_txn_t *txn;
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    /* "police" must not see "police2"'s tasks: the key separator. */
    s_put_task(txn, "police", "E2", true);
    s_put_task(txn, "police", "E1", false);
    s_put_task(txn, "police", "E3", true);
    s_put_task(txn, "police2", "E0", true);
    s_put_task(txn, "fire", "E9", true);
    Gridrelay__Task bad = GRIDRELAY__TASK__INIT;
    bad.dept = "";
    bad.event_id = "E1";
    assert_int_equal(gr_store_task_put(txn, &bad), GR_EINVAL);
    bad.dept = "police";
    bad.event_id = "";
    assert_int_equal(gr_store_task_put(txn, &bad), GR_EINVAL);
    assert_int_equal(gr_store_commit(&txn), 0);

    s_reopen(f);
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    Gridrelay__Task *got = NULL;
    assert_int_equal(gr_store_task_get(txn, "police", "E2", &got), 0);
    assert_true(got->lead);
    assert_null(got->event);
    gridrelay__task__free_unpacked(got, NULL);
    assert_int_equal(gr_store_task_get(txn, "fire", "E2", &got), GR_ENOTFOUND);
    assert_null(got);

    s_task_visit_t v = {.count = 0};
    assert_int_equal(gr_store_task_scan(txn, "police", NULL, 10, s_visit_task, &v), 3);
    assert_string_equal(v.ids[0], "police:E1");
    assert_string_equal(v.ids[1], "police:E2");
    assert_string_equal(v.ids[2], "police:E3");
    /* Paging: strictly after the token, bounded by limit. */
    memset(&v, 0, sizeof v);
    assert_int_equal(gr_store_task_scan(txn, "police", "E1", 1, s_visit_task, &v), 1);
    assert_string_equal(v.ids[0], "police:E2");
    memset(&v, 0, sizeof v);
    assert_int_equal(gr_store_task_scan(txn, "police", "E3", 10, s_visit_task, &v), 0);
    /* The visitor may stop early; the stopped one is not counted. */
    memset(&v, 0, sizeof v);
    v.stop_after = 2;
    assert_int_equal(gr_store_task_scan(txn, "police", NULL, 10, s_visit_task, &v), 2);
    memset(&v, 0, sizeof v);
    assert_int_equal(gr_store_task_scan(txn, "nobody", NULL, 10, s_visit_task, &v), 0);
    assert_int_equal(gr_store_task_scan(txn, "", NULL, 10, s_visit_task, &v), GR_EINVAL);

    assert_int_equal(gr_store_task_del(txn, "police", "E2"), 0);
    assert_int_equal(gr_store_task_del(txn, "police", "E2"), GR_ENOTFOUND);
    memset(&v, 0, sizeof v);
    assert_int_equal(gr_store_task_scan(txn, "police", NULL, 10, s_visit_task, &v), 2);
    assert_int_equal(gr_store_commit(&txn), 0);
}

static void test_dedup_prune(void **state)
{
    fixture_t *f = *state;
    uint8_t a[32], b[32];
    memset(a, 0xaa, sizeof a);
    memset(b, 0xbb, sizeof b);
    Gridrelay__DedupRecord rec = GRIDRELAY__DEDUP_RECORD__INIT;
    rec.event_id = "E1";
    gr_txn_t *txn;
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    const uint64_t a_seqs[] = {100, 500, 800, 801, 1000};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(gr_store_dedup_put(txn, a, a_seqs[i], &rec), 0);
        assert_int_equal(gr_store_signer_bump(txn, a, a_seqs[i]), 0);
    }
    assert_int_equal(gr_store_dedup_put(txn, b, 10, &rec), 0);
    assert_int_equal(gr_store_dedup_put(txn, b, 50, &rec), 0);
    assert_int_equal(gr_store_signer_bump(txn, b, 50), 0);
    assert_int_equal(gr_store_commit(&txn), 0);

    /* Window 200: A's records at or below 1000 - 200 go; B's newest (50)
     * is inside the window, so all of B's stay. Two at a time. */
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    uint8_t cursor[GR_DEDUP_KEY_BYTES] = {0};
    bool wrapped = false;
    int deleted = 0, calls = 0;
    while (!wrapped && calls < 10) {
        int n = gr_store_dedup_prune(txn, 200, 2, cursor, &wrapped);
        assert_true(n >= 0);
        deleted += n;
        calls++;
    }
    assert_true(wrapped);
    assert_int_equal(deleted, 3);
    assert_int_equal(gr_store_dedup_prune(txn, 0, 2, cursor, &wrapped), GR_EINVAL);
    assert_int_equal(gr_store_commit(&txn), 0);

    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    Gridrelay__DedupRecord *got = NULL;
    const struct { const uint8_t *signer; uint64_t seq; bool kept; } want[] = {
        {a, 100, false}, {a, 500, false}, {a, 800, false}, {a, 801, true}, {a, 1000, true},
        {b, 10, true}, {b, 50, true},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int rc = gr_store_dedup_get(txn, want[i].signer, want[i].seq, &got);
        assert_int_equal(rc, want[i].kept ? 0 : GR_ENOTFOUND);
        if (got)
            gridrelay__dedup_record__free_unpacked(got, NULL);
        got = NULL;
    }
    gr_store_abort(&txn);
    /* A read transaction may not prune. */
    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    assert_int_equal(gr_store_dedup_prune(txn, 200, 2, cursor, &wrapped), GR_EINVAL);
    gr_store_abort(&txn);
}

/* ---- a record's link proof holds its origin and hops (schema 5) ---- */

/* Packs an Escalate of origin and hops into a link-batch item as a
 * child's link would send it: a version-2 Envelope with a ReceiptProof. */
static uint8_t *s_link_item(const ProtobufCBinaryData *origin, Gridrelay__Hop **hops, size_t n_hops,
                            size_t *len)
{
    Gridrelay__Escalate esc = GRIDRELAY__ESCALATE__INIT;
    esc.origin_envelope = *origin;
    esc.hops = hops;
    esc.n_hops = n_hops;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_ESCALATE;
    body.escalate = &esc;
    size_t blen = gridrelay__body__get_packed_size(&body);
    uint8_t *bbytes = malloc(blen);
    assert_non_null(bbytes);
    gridrelay__body__pack(&body, bbytes);
    uint8_t signer[32], root[32], sig[64];
    memset(signer, 7, sizeof signer);
    memset(root, 8, sizeof root);
    memset(sig, 9, sizeof sig);
    Gridrelay__ReceiptProof proof = GRIDRELAY__RECEIPT_PROOF__INIT;
    proof.size = 1;
    proof.root = (ProtobufCBinaryData){sizeof root, root};
    proof.signature = (ProtobufCBinaryData){sizeof sig, sig};
    Gridrelay__Envelope env = GRIDRELAY__ENVELOPE__INIT;
    env.version = 2;
    env.signer = (ProtobufCBinaryData){sizeof signer, signer};
    env.seq = 41;
    env.body = (ProtobufCBinaryData){blen, bbytes};
    env.receipt = &proof;
    *len = gridrelay__envelope__get_packed_size(&env);
    uint8_t *out = malloc(*len);
    assert_non_null(out);
    gridrelay__envelope__pack(&env, out);
    free(bbytes);
    return out;
}

static uint8_t *s_packed_record(const Gridrelay__StoredEvent *rec, size_t *len)
{
    *len = gridrelay__stored_event__get_packed_size(rec);
    uint8_t *out = malloc(*len ? *len : 1);
    assert_non_null(out);
    gridrelay__stored_event__pack(rec, out);
    return out;
}

/* The record's raw bytes in events, unpacked as they lie. */
static Gridrelay__StoredEvent *s_raw_record(const char *dir, const char *id, size_t *raw_len)
{
    MDB_env *env;
    MDB_txn *raw;
    MDB_dbi dbi;
    s_raw_begin(dir, "events", &env, &raw, &dbi);
    MDB_val k = {strlen(id), (void *)id}, v;
    assert_int_equal(mdb_get(raw, dbi, &k, &v), 0);
    *raw_len = v.mv_size;
    Gridrelay__StoredEvent *rec = gridrelay__stored_event__unpack(NULL, v.mv_size, v.mv_data);
    assert_non_null(rec);
    mdb_txn_abort(raw);
    mdb_env_close(env);
    return rec;
}

/* Writes rec's bytes as they are under its id, behind the store's back
 * (the store closed), reopens it, and checks that a read refuses the
 * record as undecodable rather than giving back a case without what the
 * record says something else holds. */
static void s_assert_broken_record_refused(fixture_t *f, const char *id,
                                           const Gridrelay__StoredEvent *rec)
{
    MDB_env *env;
    MDB_txn *wtxn;
    MDB_dbi dbi;
    s_raw_begin(f->dir, "events", &env, &wtxn, &dbi);
    size_t blen;
    uint8_t *bbytes = s_packed_record(rec, &blen);
    MDB_val k = {strlen(id), (void *)id}, v = {blen, bbytes};
    assert_int_equal(mdb_put(wtxn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(wtxn), 0);
    mdb_env_close(env);
    free(bbytes);
    s_reopen(f);
    gr_txn_t *txn;
    Gridrelay__StoredEvent *got = NULL;
    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    assert_int_equal(gr_store_event_get(txn, id, &got), GR_EDECODE);
    assert_null(got);
    gr_store_abort(&txn);
}

static void test_link_proof_holds_origin_and_hops(void **state)
{
    fixture_t *f = *state;
    uint8_t origin_bytes[600];
    for (size_t i = 0; i < sizeof origin_bytes; i++)
        origin_bytes[i] = (uint8_t)(i * 31 + 5);
    ProtobufCBinaryData origin = {sizeof origin_bytes, origin_bytes};
    uint8_t hop_sig[64];
    memset(hop_sig, 3, sizeof hop_sig);
    Gridrelay__Hop hop = GRIDRELAY__HOP__INIT;
    hop.node_id = "village-1";
    hop.tier_level = 1;
    hop.reason = "outside_authority";
    hop.time_ms = 1700000000123;
    hop.signature = (ProtobufCBinaryData){sizeof hop_sig, hop_sig};
    hop.version = 2;
    Gridrelay__Hop *hops[] = {&hop};
    size_t item_len = 0;
    uint8_t *item = s_link_item(&origin, hops, 1, &item_len);

    /* Came up in a link batch: the proof holds both, byte for byte. */
    test_event_t up, other;
    s_make(&up, "01HZY00000000000000000LP01", "SS.DISPUTE", 1, 1700000000200);
    up.rec.origin_envelope = origin;
    up.rec.hops = hops;
    up.rec.n_hops = 1;
    up.rec.link_proof = (ProtobufCBinaryData){item_len, item};
    up.rec.from_child = "village-1";
    s_store(f->store, &up);
    /* The same case, but its own origin differs from the proof's: kept. */
    uint8_t other_bytes[sizeof origin_bytes];
    memcpy(other_bytes, origin_bytes, sizeof other_bytes);
    other_bytes[17] ^= 1;
    s_make(&other, "01HZY00000000000000000LP02", "SS.DISPUTE", 1, 1700000000300);
    other.rec.origin_envelope = (ProtobufCBinaryData){sizeof other_bytes, other_bytes};
    other.rec.hops = hops;
    other.rec.n_hops = 1;
    other.rec.link_proof = (ProtobufCBinaryData){item_len, item};
    s_store(f->store, &other);

    /* A reader is given the record whole, and an update keeps it so. */
    gr_txn_t *txn;
    Gridrelay__StoredEvent *rec = NULL;
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    assert_int_equal(gr_store_event_get(txn, up.id, &rec), 0);
    assert_int_equal(rec->in_link_proof, 0);
    assert_int_equal(rec->origin_envelope.len, sizeof origin_bytes);
    assert_memory_equal(rec->origin_envelope.data, origin_bytes, sizeof origin_bytes);
    assert_int_equal(rec->n_hops, 1);
    assert_string_equal(rec->hops[0]->node_id, "village-1");
    assert_memory_equal(rec->hops[0]->signature.data, hop_sig, sizeof hop_sig);
    rec->urges = 2;
    assert_int_equal(gr_store_event_update(txn, rec), 0);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    assert_int_equal(gr_store_commit(&txn), 0);
    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    assert_int_equal(gr_store_event_get(txn, up.id, &rec), 0);
    assert_int_equal(rec->urges, 2);
    /* What the proof gave back is what was written, byte for byte. */
    assert_int_equal(rec->link_proof.len, item_len);
    assert_memory_equal(rec->link_proof.data, item, item_len);
    assert_string_equal(rec->from_child, "village-1");
    size_t hop_len = gridrelay__hop__get_packed_size(&hop);
    assert_int_equal(gridrelay__hop__get_packed_size(rec->hops[0]), hop_len);
    uint8_t a[512], b[512];
    assert_true(hop_len <= sizeof a);
    gridrelay__hop__pack(&hop, a);
    gridrelay__hop__pack(rec->hops[0], b);
    assert_memory_equal(a, b, hop_len);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    gr_store_filter_t all = {0};
    seen_t seen;
    size_t pages;
    assert_int_equal(s_list_all(txn, &all, 10, &seen, &pages), 2);
    gr_store_abort(&txn);

    /* On disk: once, in the proof. */
    gr_store_close(&f->store);
    size_t raw_len = 0, other_len = 0;
    Gridrelay__StoredEvent *raw = s_raw_record(f->dir, up.id, &raw_len);
    assert_int_equal(raw->in_link_proof, 3);
    assert_int_equal(raw->origin_envelope.len, 0);
    assert_int_equal(raw->n_hops, 0);
    gridrelay__stored_event__free_unpacked(raw, NULL);
    raw = s_raw_record(f->dir, other.id, &other_len);
    assert_int_equal(raw->in_link_proof, 2);  /* the hops only */
    assert_int_equal(raw->origin_envelope.len, sizeof other_bytes);
    gridrelay__stored_event__free_unpacked(raw, NULL);
    assert_true(other_len > raw_len + sizeof origin_bytes - 64);  /* the origin, nearly all of it */

    /* A record whose proof does not hold what it says it left out: a
     * decode error, never a case without its origin. */
    test_event_t broken;
    s_make(&broken, "01HZY00000000000000000LP03", "SS.DISPUTE", 1, 1700000000400);
    broken.rec.in_link_proof = 1;
    broken.rec.link_proof = (ProtobufCBinaryData){3, (uint8_t *)"bad"};
    s_assert_broken_record_refused(f, broken.id, &broken.rec);
    free(item);
}

/* ---- the origin envelope holds the event (schema 6) ---- */

/* event as a reporter sends it: a signed-looking Envelope whose Body is a
 * Report of it. */
static uint8_t *s_report_envelope(Gridrelay__Event *event, size_t *len)
{
    Gridrelay__Report report = GRIDRELAY__REPORT__INIT;
    report.event = event;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_REPORT;
    body.report = &report;
    size_t blen = gridrelay__body__get_packed_size(&body);
    uint8_t *bbytes = malloc(blen);
    assert_non_null(bbytes);
    gridrelay__body__pack(&body, bbytes);
    uint8_t signer[32], sig[64];
    memset(signer, 5, sizeof signer);
    memset(sig, 6, sizeof sig);
    Gridrelay__Envelope env = GRIDRELAY__ENVELOPE__INIT;
    env.version = 1;
    env.signer = (ProtobufCBinaryData){sizeof signer, signer};
    env.seq = 9;
    env.body = (ProtobufCBinaryData){blen, bbytes};
    env.signature = (ProtobufCBinaryData){sizeof sig, sig};
    *len = gridrelay__envelope__get_packed_size(&env);
    uint8_t *out = malloc(*len);
    assert_non_null(out);
    gridrelay__envelope__pack(&env, out);
    free(bbytes);
    return out;
}

static void s_assert_same_event(const Gridrelay__Event *a, const Gridrelay__Event *b)
{
    size_t la = gridrelay__event__get_packed_size(a);
    assert_int_equal(gridrelay__event__get_packed_size(b), la);
    uint8_t *x = malloc(2 * la + 1);
    assert_non_null(x);
    gridrelay__event__pack(a, x);
    gridrelay__event__pack(b, x + la);
    assert_memory_equal(x, x + la, la);
    free(x);
}

static void test_origin_holds_event(void **state)
{
    fixture_t *f = *state;
    test_event_t held, changed;
    s_make(&held, "01HZY00000000000000000EV01", "SS.DISPUTE", 2, 1700000000200);
    held.event.description = "two households dispute a boundary";
    /* The reporter left the origin node and creation time to the node. */
    uint64_t created_ms = held.event.created_ms;
    held.event.created_ms = 0;
    size_t olen;
    uint8_t *origin = s_report_envelope(&held.event, &olen);
    held.event.origin_node = "village-9";
    held.event.created_ms = created_ms;
    held.rec.origin_envelope = (ProtobufCBinaryData){olen, origin};
    s_store(f->store, &held);
    /* The same origin, but the record's event was changed since: kept. */
    s_make(&changed, "01HZY00000000000000000EV02", "SS.DISPUTE", 2, 1700000000300);
    changed.event.description = "two households dispute a boundary";
    size_t clen;
    uint8_t *corigin = s_report_envelope(&changed.event, &clen);
    changed.rec.origin_envelope = (ProtobufCBinaryData){clen, corigin};
    changed.event.severity = 3;
    s_store(f->store, &changed);

    /* A reader is given the event back, byte for byte, in a get and a list;
     * an update keeps it so. */
    gr_txn_t *txn;
    Gridrelay__StoredEvent *rec = NULL;
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    assert_int_equal(gr_store_event_get(txn, held.id, &rec), 0);
    assert_non_null(rec->event);
    assert_int_equal(rec->in_link_proof, 0);
    assert_null(rec->filled);
    s_assert_same_event(rec->event, &held.event);
    assert_int_equal(rec->origin_envelope.len, olen);
    rec->urges = 1;
    assert_int_equal(gr_store_event_update(txn, rec), 0);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    assert_int_equal(gr_store_event_get(txn, changed.id, &rec), 0);
    assert_int_equal(rec->event->severity, 3);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    assert_int_equal(gr_store_commit(&txn), 0);
    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    assert_int_equal(gr_store_event_get(txn, held.id, &rec), 0);
    assert_int_equal(rec->urges, 1);
    s_assert_same_event(rec->event, &held.event);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    gr_store_filter_t all = {0};
    seen_t seen;
    size_t pages;
    assert_int_equal(s_list_all(txn, &all, 10, &seen, &pages), 2);
    gr_store_abort(&txn);

    /* On disk: once, in the origin. */
    gr_store_close(&f->store);
    size_t raw_len = 0, changed_len = 0;
    Gridrelay__StoredEvent *raw = s_raw_record(f->dir, held.id, &raw_len);
    assert_int_equal(raw->in_link_proof, 4);
    assert_null(raw->event);
    assert_non_null(raw->filled);
    assert_string_equal(raw->filled->origin_node, "village-9");
    assert_int_equal(raw->filled->created_ms, created_ms);
    assert_string_equal(raw->filled->event_id, "");
    assert_int_equal(raw->filled->severity, 0);
    gridrelay__stored_event__free_unpacked(raw, NULL);
    raw = s_raw_record(f->dir, changed.id, &changed_len);
    assert_int_equal(raw->in_link_proof, 0);
    assert_non_null(raw->event);
    gridrelay__stored_event__free_unpacked(raw, NULL);
    /* less what it says the node filled in */
    assert_true(changed_len + 40 > raw_len + gridrelay__event__get_packed_size(&held.event));

    /* A record that says its origin holds the event, whose origin does not
     * decode: a decode error, never a case without its event. */
    test_event_t broken;
    s_make(&broken, "01HZY00000000000000000EV03", "SS.DISPUTE", 1, 1700000000400);
    broken.rec.event = NULL;  /* left out: the origin is said to hold it */
    broken.rec.in_link_proof = 4;
    broken.rec.origin_envelope = (ProtobufCBinaryData){3, (uint8_t *)"bad"};
    s_assert_broken_record_refused(f, broken.id, &broken.rec);
    free(origin);
    free(corigin);
}

/* ---- ids that come in order fill the records' pages (MDB_APPEND) ---- */

static void test_ordered_ids_fill_pages(void **state)
{
    fixture_t *f = *state;
    /* Records of which two fit a leaf: put in id order, each at the end,
     * they would fill leaves one apiece without MDB_APPEND. */
    char note[1500];
    memset(note, 'n', sizeof note - 1);
    note[sizeof note - 1] = '\0';
    enum { N = 60 };
    for (int i = 0; i < N; i++) {
        test_event_t t;
        char id[32];
        snprintf(id, sizeof id, "01HZY000000000000000AP%04d", i);
        s_make(&t, id, "SS.DISPUTE", 1, 1700000000000 + (uint64_t)i);
        t.rec.result = note;
        s_store(f->store, &t);
    }
    /* One out of order lands where it belongs: an ordinary put. */
    test_event_t early;
    s_make(&early, "01HZY000000000000000AP0000x", "SS.DISPUTE", 1, 1700000000100);
    s_store(f->store, &early);
    gr_store_close(&f->store);
    MDB_env *env;
    MDB_txn *raw;
    MDB_dbi dbi;
    s_raw_begin(f->dir, "events", &env, &raw, &dbi);
    MDB_stat st;
    assert_int_equal(mdb_stat(raw, dbi, &st), 0);
    assert_int_equal(st.ms_entries, N + 1);
    assert_true(st.ms_leaf_pages <= N / 2 + 2);
    mdb_txn_abort(raw);
    mdb_env_close(env);
    s_reopen(f);
    gr_txn_t *txn;
    assert_int_equal(gr_store_begin(f->store, false, &txn), 0);
    assert_int_equal(gr_store_event_exists(txn, early.id), 1);
    assert_int_equal(gr_store_event_exists(txn, "01HZY000000000000000AP0059"), 1);
    gr_store_abort(&txn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeline_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeline_hash_vector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_same_txn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_exists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signer_bump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signer_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_ledger, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_newer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_creates_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_growth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_proof_holds_origin_and_hops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_origin_holds_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ordered_ids_fill_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_due, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statuslog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statuslog_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tasks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_prune, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
