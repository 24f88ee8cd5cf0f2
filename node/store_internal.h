/* Private to node/store*.c: the store's structs, database handles and the
 * small helpers its three source files share. Not part of the public API;
 * nothing outside node/store*.c includes it.
 *
 * The helpers are static inline so each file gets its own copy and none of
 * them becomes an exported symbol of the node library. */
#ifndef GR_STORE_INTERNAL_H
#define GR_STORE_INTERNAL_H

#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#include "datakey.h"
#include "error.h"
#include "store.h"
#include "wire.h"

#define S_HASH_LEN 32
#define S_PEER_MAX 255          /* keeps outbox and peers keys under LMDB's 511-byte limit */
#define S_TIME_KEY_MAX (8 + GR_EVENT_ID_MAX)
#define S_TIMELINE_KEY_MAX (GR_EVENT_ID_MAX + 1 + 4)
#define S_OUTBOX_KEY_MAX (S_PEER_MAX + 1 + 8)

/* An outbox key, peer | 0x00 | seq u64 BE (the outbox and the dead
 * letters share it), into key (S_OUTBOX_KEY_MAX bytes); *keylen is its
 * length. GR_EINVAL for a NULL, empty or too long peer. */
int gr_store_outbox_key(uint8_t *key, const char *peer, uint64_t seq, size_t *keylen);

/* The order is that of s_db_names in store.c. */
enum { S_DB_META, S_DB_EVENTS, S_DB_BY_TIME, S_DB_TIMELINE, S_DB_DEDUP, S_DB_SIGNERS,
       S_DB_OUTBOX, S_DB_DUE, S_DB_STATUSLOG, S_DB_PEERS, S_DB_VIEW, S_DB_TASKS, S_DB_URGES,
       S_DB_AUDIT, S_DB_AUDIT_INDEX, S_DB_DAILY, S_DB_ACCESS, S_DB_DEAD,
       S_DB_STATUS_INDEX, S_DB_COUNT };

struct gr_store {
    MDB_env *env;
    MDB_dbi dbi[S_DB_COUNT];
    size_t map_max;
    int lock_fd;
    const gr_datakey_t *datakey;    /* NULL: values are written plain */
};

/* One allocation owned by a transaction (see s_txn_alloc). */
struct s_alloc {
    struct s_alloc *next;
    uint8_t data[];
};

struct gr_txn {
    MDB_txn *txn;
    gr_store_t *store;
    gr_txn_t *parent;           /* nested: the write transaction it belongs to */
    bool write;
    struct s_alloc *allocs;
    /* Where sealed values are opened (store_seal.c): two buffers used in
     * turn, so a value read stays valid across the next read (not two). */
    uint8_t *plain[2];
    size_t plain_cap[2];
    unsigned plain_next;
};

/* ---- personal data at rest (store_seal.c) ---- */

/* Whether db's values are sealed with the data key: the records that hold
 * people (events, timelines, tasks, outbox, status log, view). Index keys
 * (by_time, due, dedup, ...) stay plain. */
static inline bool s_sealed_db(int db)
{
    return db == S_DB_EVENTS || db == S_DB_TIMELINE || db == S_DB_TASKS || db == S_DB_OUTBOX
           || db == S_DB_STATUSLOG || db == S_DB_VIEW;
}

/* When val (just read from db under key) is a sealed value, opens it into
 * the transaction's buffer and points val there; a plain value is left as
 * it is. GR_EKEY when the store has no data key or lacks the value's key
 * ID, GR_ESIGNATURE when the key does not open it. */
int s_unseal(gr_txn_t *txn, int db, const void *key, size_t keylen, MDB_val *val);

/* Seals, in place, the len bytes at v->mv_data + GR_DATAKEY_HEADER (v was
 * reserved with len + GR_DATAKEY_OVERHEAD bytes). */
int s_seal_reserved(gr_txn_t *txn, int db, const void *key, size_t keylen, MDB_val *v,
                    size_t len);

/* Frees (wiped) the buffers of s_unseal; at the transaction's end. */
void gr_store_txn_plain_free(gr_txn_t *txn);

/* Checks dk (NULL: none configured) against the key checks recorded in
 * meta, refusing with GR_EKEY and a message naming dir and the key file a
 * store sealed with a key dk lacks or does not hold; with write, records
 * the current key's check. Sets self->datakey. */
int gr_store_datakey_attach(gr_store_t *self, MDB_txn *mtxn, const gr_datakey_t *dk,
                            bool write, const char *dir, char *err, size_t errlen);

static inline bool s_sealing(const gr_txn_t *txn, int db)
{
    return txn->store->datakey && s_sealed_db(db);
}

static inline int s_mdb_err(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return 0;
    case MDB_NOTFOUND:
        return GR_ENOTFOUND;
    case MDB_KEYEXIST:
        return GR_EEXIST;
    /* TXN_FULL (too many dirty pages in one transaction) is reported like
     * MAP_FULL so callers have one "abort, grow, redo" path. */
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
        return GR_EMAPFULL;
    case ENOMEM:
        return GR_ENOMEM;
    /* The filesystem is full (or the quota spent): LMDB aborted the
     * transaction, so nothing of it is stored; like a store at its
     * maximum size, new work is refused until there is room again, and
     * unlike it, the next transaction may succeed without a restart. */
    case ENOSPC:
    case EDQUOT:
        return GR_EFULL;
    default:
        return GR_ESTORE;
    }
}

static inline int s_check_id(const char *id, size_t *len)
{
    if (!id)
        return GR_EINVAL;
    size_t n = strnlen(id, GR_EVENT_ID_MAX + 1);
    if (n == 0 || n > GR_EVENT_ID_MAX)
        return GR_EINVAL;
    *len = n;
    return 0;
}

#define S_PAIR_KEY_MAX (GR_EVENT_ID_MAX + 1 + GR_EVENT_ID_MAX)

/* The key of the databases kept per owner and event (view: node id, tasks:
 * department code): first | 0x00 | second. Both are [A-Za-z0-9._-], so
 * the separator keeps one owner's keys together, in event id order, and
 * "town" apart from "town2". With second NULL or "", the owner's prefix
 * (first | 0x00), where a scan starts. key holds S_PAIR_KEY_MAX bytes. */
static inline int s_pair_key(uint8_t *key, const char *first, const char *second, size_t *keylen)
{
    size_t flen = 0, slen = 0;
    if (s_check_id(first, &flen) != 0)
        return GR_EINVAL;
    memcpy(key, first, flen);
    key[flen] = 0;
    *keylen = flen + 1;
    if (!second || !*second)
        return 0;
    if (s_check_id(second, &slen) != 0)
        return GR_EINVAL;
    memcpy(key + flen + 1, second, slen);
    *keylen += slen;
    return 0;
}

/* Memory that lives until the transaction ends: the hashes the store fills
 * into caller's messages must outlive the call, because callers pack those
 * messages into replies before committing. Freed by commit and abort. */
static inline uint8_t *s_txn_alloc(gr_txn_t *txn, size_t size)
{
    struct s_alloc *a = malloc(sizeof *a + size);
    if (!a)
        return NULL;
    a->next = txn->allocs;
    txn->allocs = a;
    return a->data;
}

static inline int s_get(gr_txn_t *txn, int db, const void *key, size_t keylen, MDB_val *val)
{
    MDB_val k = {keylen, (void *)key};
    int rc = s_mdb_err(mdb_get(txn->txn, txn->store->dbi[db], &k, val));
    if (rc == 0 && s_sealed_db(db))
        rc = s_unseal(txn, db, key, keylen, val);
    return rc;
}

/* key's value in db unpacked as a desc message into *out (the caller
 * frees it): 0, GR_ENOTFOUND, GR_EDECODE or the store's error. */
static inline int s_get_msg(gr_txn_t *txn, int db, const void *key, size_t keylen,
                            const ProtobufCMessageDescriptor *desc, void *out)
{
    MDB_val v;
    int rc = s_get(txn, db, key, keylen, &v);
    if (rc != 0)
        return rc;
    ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, v.mv_size, v.mv_data);
    *(ProtobufCMessage **)out = msg;
    return msg ? 0 : GR_EDECODE;
}

/* Packs msg straight into LMDB's page (MDB_RESERVE), saving a copy. */
static inline int s_put_msg(gr_txn_t *txn, int db, const void *key, size_t keylen,
                            const ProtobufCMessage *msg, unsigned flags)
{
    MDB_val k = {keylen, (void *)key};
    size_t len = protobuf_c_message_get_packed_size(msg);
    bool seal = s_sealing(txn, db);
    MDB_val v = {len + (seal ? GR_DATAKEY_OVERHEAD : 0), NULL};
    int rc = mdb_put(txn->txn, txn->store->dbi[db], &k, &v, flags | MDB_RESERVE);
    if (rc != MDB_SUCCESS)
        return s_mdb_err(rc);
    if (!seal) {
        protobuf_c_message_pack(msg, v.mv_data);
        return 0;
    }
    protobuf_c_message_pack(msg, (uint8_t *)v.mv_data + GR_DATAKEY_HEADER);
    return s_seal_reserved(txn, db, key, keylen, &v, len);
}

static inline int s_put_raw(gr_txn_t *txn, int db, const void *key, size_t keylen,
                            const void *data, size_t len, unsigned flags)
{
    MDB_val k = {keylen, (void *)key};
    MDB_val v = {len, (void *)data};
    if (!s_sealing(txn, db) || len == 0)
        return s_mdb_err(mdb_put(txn->txn, txn->store->dbi[db], &k, &v, flags));
    v.mv_size = len + GR_DATAKEY_OVERHEAD;
    int rc = mdb_put(txn->txn, txn->store->dbi[db], &k, &v, flags | MDB_RESERVE);
    if (rc != MDB_SUCCESS)
        return s_mdb_err(rc);
    memcpy((uint8_t *)v.mv_data + GR_DATAKEY_HEADER, data, len);
    return s_seal_reserved(txn, db, key, keylen, &v, len);
}

static inline int s_del(gr_txn_t *txn, int db, const void *key, size_t keylen)
{
    MDB_val k = {keylen, (void *)key};
    return s_mdb_err(mdb_del(txn->txn, txn->store->dbi[db], &k, NULL));
}

/* Reads a u64 BE value; a missing key reads as 0 (counters, highest seqs,
 * peer bookkeeping all start there). A value of another size is damage. */
static inline int s_get_u64_or_zero(gr_txn_t *txn, int db, const void *key, size_t keylen,
                                    uint64_t *value)
{
    MDB_val v;
    *value = 0;
    int rc = s_get(txn, db, key, keylen, &v);
    if (rc == GR_ENOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (v.mv_size != 8)
        return GR_ESTORE;
    *value = gr_get_u64(v.mv_data);
    return 0;
}

static inline int s_cursor(gr_txn_t *txn, int db, MDB_cursor **cur)
{
    return s_mdb_err(mdb_cursor_open(txn->txn, txn->store->dbi[db], cur));
}

/* A case record as read from events: with what its stored bytes left out
 * because its link proof or origin envelope holds it put back in, so a
 * reader never sees StoredEvent.in_link_proof or .filled set. NULL when
 * the bytes do not decode, or say something is held that is not
 * (store_record.c). */
Gridrelay__StoredEvent *gr_store_record_unpack(const MDB_val *v);

/* Packs rec into events under id without what its link proof or origin
 * envelope holds byte for byte (store_record.c). The caller's message is
 * left as it was. */
int gr_store_record_put(gr_txn_t *txn, Gridrelay__StoredEvent *rec, const char *id, size_t idlen,
                        unsigned flags);

/* MDB_APPEND when key sorts after every key in db, else 0. A put at the
 * end of a full page splits it in two and leaves the first half alone for
 * good, so keys that come in order (event ids begin with their time)
 * would fill the pages of a tree of large records to one record fewer
 * than they hold (one of two for a case that came up a tier); appended,
 * the full page stays full and the new key starts the next. */
static inline unsigned s_append_flag(gr_txn_t *txn, int db, const void *key, size_t keylen)
{
    MDB_cursor *cur;
    if (s_cursor(txn, db, &cur) != 0)
        return 0;
    MDB_val last, data, k = {keylen, (void *)key};
    int mrc = mdb_cursor_get(cur, &last, &data, MDB_LAST);
    unsigned flag = 0;
    if (mrc == MDB_NOTFOUND || (mrc == MDB_SUCCESS &&
                                mdb_cmp(txn->txn, txn->store->dbi[db], &k, &last) > 0))
        flag = MDB_APPEND;
    mdb_cursor_close(cur);
    return flag;
}

/* A case's timeline entry seq as stored (canonical bytes, opened when
 * sealed) into *out: entry 1 from the case record's first_entry (schema 4
 * on) or the timeline database (before), a later one from the timeline
 * database. With owned NULL, entry 1 from a record is copied to memory the
 * transaction frees at its end; otherwise to malloc'd memory put in *owned
 * for the caller to free (a walk over every case), *owned NULL when none
 * was needed. GR_ENOTFOUND when there is none (store_case.c). */
int gr_store_entry_get(gr_txn_t *txn, const char *id, size_t idlen, uint32_t seq, MDB_val *out,
                       uint8_t **owned);

/* Links a timeline entry just written into the node's ledger
 * (store_audit.c): every timeline write calls it in the same transaction.
 * case_prev is the link seq of the case's previous entry (0 for entry 1,
 * or when that entry was linked before schema 4); *link_seq receives the
 * new link's seq, which the case record keeps (StoredEvent.ledger_last).
 * With index, the entry's audit_index locator is written too (the layout
 * of schema 1-3, which the ledger backfill writes); from schema 4 on the
 * case's links chain back through case_prev instead: one B-tree less per
 * timeline entry, and one whose inserts follow event ids, not time. */
int gr_store_ledger_append(gr_txn_t *txn, const char *id, size_t idlen, uint32_t entry_seq,
                           const uint8_t entry_hash[S_HASH_LEN], uint64_t case_prev, bool index,
                           uint64_t *link_seq);

/* Links every entry of a store written before the ledger existed, once
 * (a no-op when the ledger has a head). */
int gr_store_ledger_backfill(gr_txn_t *txn);

/* Compacts a status log written before compaction (schema 2 -> 3): keeps
 * each case's newest update, folding the older ones into it, and indexes
 * it (store_queue.c). */
int gr_store_status_compact_all(gr_txn_t *txn);

#endif
