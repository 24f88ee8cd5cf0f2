/* The access log (store.h, "the access log"): a hash chain of its own,
 * apart from the case timelines and their ledger, because a read changes
 * no case. Records are plain: they name staff keys and case ids, no
 * resident. docs/PROTOCOL.md 4.10 has the bytes. */
#include "store.h"

#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "store_internal.h"

/* SHA-256(prev | rec serialized with hash empty). */
static int s_record_hash(uint8_t out[S_HASH_LEN], const Gridrelay__AccessRecord *rec,
                         const uint8_t prev[S_HASH_LEN])
{
    Gridrelay__AccessRecord copy = *rec;
    copy.hash = (ProtobufCBinaryData){0, NULL};
    size_t len = gridrelay__access_record__get_packed_size(&copy);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return GR_ENOMEM;
    gridrelay__access_record__pack(&copy, buf);
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, prev, S_HASH_LEN);
    crypto_hash_sha256_update(&st, buf, len);
    crypto_hash_sha256_final(&st, out);
    free(buf);
    return 0;
}

int gr_store_access_append(gr_txn_t *txn, Gridrelay__AccessRecord *rec)
{
    if (!txn || !txn->write || !rec)
        return GR_EINVAL;
    MDB_cursor *cur;
    int rc = s_cursor(txn, S_DB_ACCESS, &cur);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    uint64_t last = 0;
    uint8_t *prev = s_txn_alloc(txn, 2 * S_HASH_LEN);
    if (!prev) {
        mdb_cursor_close(cur);
        return GR_ENOMEM;
    }
    memset(prev, 0, S_HASH_LEN);
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (mrc == MDB_SUCCESS) {
        Gridrelay__AccessRecord *tail = k.mv_size == 8
            ? gridrelay__access_record__unpack(NULL, v.mv_size, v.mv_data) : NULL;
        if (!tail || tail->hash.len != S_HASH_LEN) {
            if (tail)
                gridrelay__access_record__free_unpacked(tail, NULL);
            mdb_cursor_close(cur);
            return GR_ESTORE;
        }
        last = gr_get_u64(k.mv_data);
        memcpy(prev, tail->hash.data, S_HASH_LEN);
        gridrelay__access_record__free_unpacked(tail, NULL);
    } else if (mrc != MDB_NOTFOUND) {
        mdb_cursor_close(cur);
        return s_mdb_err(mrc);
    }
    mdb_cursor_close(cur);
    rec->seq = last + 1;
    rec->prev_hash = (ProtobufCBinaryData){S_HASH_LEN, prev};
    rc = s_record_hash(prev + S_HASH_LEN, rec, prev);
    if (rc != 0)
        return rc;
    rec->hash = (ProtobufCBinaryData){S_HASH_LEN, prev + S_HASH_LEN};
    uint8_t key[8];
    gr_put_u64(key, rec->seq);
    return s_put_msg(txn, S_DB_ACCESS, key, sizeof key, &rec->base, MDB_APPEND);
}

int gr_store_access_walk(gr_txn_t *txn, gr_store_access_fn visit, void *ctx, uint64_t *total,
                         uint8_t head[32], char *fault, size_t faultlen)
{
    if (!txn || !total || !head)
        return GR_EINVAL;
    *total = 0;
    memset(head, 0, S_HASH_LEN);
    MDB_cursor *cur;
    int rc = s_cursor(txn, S_DB_ACCESS, &cur);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    uint64_t want = 1;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    for (; rc == 0 && mrc == MDB_SUCCESS; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Gridrelay__AccessRecord *rec = gridrelay__access_record__unpack(NULL, v.mv_size,
                                                                        v.mv_data);
        uint8_t hash[S_HASH_LEN];
        const char *why = NULL;
        if (k.mv_size != 8 || gr_get_u64(k.mv_data) != want)
            why = "a record is missing or out of order";
        else if (!rec || rec->seq != want)
            why = "a record no longer decodes or names another seq";
        else if (rec->prev_hash.len != S_HASH_LEN || rec->hash.len != S_HASH_LEN
                 || sodium_memcmp(rec->prev_hash.data, head, S_HASH_LEN) != 0)
            why = "its prev_hash is not the previous record's hash";
        else if ((rc = s_record_hash(hash, rec, head)) == 0
                 && sodium_memcmp(hash, rec->hash.data, S_HASH_LEN) != 0)
            why = "its bytes were changed (hash mismatch)";
        if (rc == 0 && why) {
            snprintf(fault, faultlen, "access record %llu: %s", (unsigned long long)want, why);
            rc = 1;
        } else if (rc == 0) {
            memcpy(head, hash, S_HASH_LEN);
            if (visit)
                visit(ctx, rec);
            (*total)++;
            want++;
        }
        if (rec)
            gridrelay__access_record__free_unpacked(rec, NULL);
    }
    mdb_cursor_close(cur);
    if (rc == 0 && mrc != MDB_NOTFOUND)
        rc = s_mdb_err(mrc);
    return rc;
}

int gr_store_access_get(gr_txn_t *txn, uint64_t seq, Gridrelay__AccessRecord **out)
{
    if (!txn || !out)
        return GR_EINVAL;
    *out = NULL;
    uint8_t key[8];
    gr_put_u64(key, seq);
    MDB_val v;
    int rc = s_get(txn, S_DB_ACCESS, key, sizeof key, &v);
    if (rc != 0)
        return rc;
    *out = gridrelay__access_record__unpack(NULL, v.mv_size, v.mv_data);
    return *out ? 0 : GR_EDECODE;
}
