/* Personal data at rest: the store's values that hold people are sealed
 * with the node's data key (broker/datakey.h) on the way into LMDB and
 * opened on the way out, so a copy of the data dir without the key file
 * shows index keys (times, ids, timers) but no names, phones, places or
 * notes. The contract is in store.h ("data key"); docs/PROTOCOL.md
 * section 12 has the bytes.
 *
 * The additional data of each value is db index u8 | the record's key, so a
 * sealed value copied onto another record does not open. Each key ID the
 * store has used leaves a check value in meta ("datakey.check." | id u32
 * BE: the sealed constant below), so a wrong or incomplete key file is
 * refused when the store opens, not at the first read of a case. */
#include "store.h"

#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datakey.h"
#include "error.h"
#include "store_internal.h"

#define S_CHECK_PREFIX "datakey.check."
#define S_CHECK_PREFIX_LEN (sizeof S_CHECK_PREFIX - 1)
#define S_CHECK_TEXT "gridrelay data key check v1"
#define S_AD_MAX (1 + 512)

static size_t s_ad(uint8_t *ad, int db, const void *key, size_t keylen)
{
    if (keylen > S_AD_MAX - 1)
        keylen = S_AD_MAX - 1;       /* LMDB keys are at most 511 bytes */
    ad[0] = (uint8_t)db;
    memcpy(ad + 1, key, keylen);
    return keylen + 1;
}

int s_unseal(gr_txn_t *txn, int db, const void *key, size_t keylen, MDB_val *val)
{
    if (!gr_datakey_is_sealed(val->mv_data, val->mv_size, NULL))
        return 0;
    if (!txn->store->datakey)
        return GR_EKEY;
    size_t n = val->mv_size - GR_DATAKEY_OVERHEAD;
    unsigned slot = txn->plain_next;
    if (txn->plain_cap[slot] < n + 1) {
        size_t cap = n + 1 < 1024 ? 1024 : (n + 1) * 2;
        uint8_t *p = realloc(txn->plain[slot], cap);
        if (!p)
            return GR_ENOMEM;
        txn->plain[slot] = p;
        txn->plain_cap[slot] = cap;
    }
    uint8_t ad[S_AD_MAX];
    size_t adlen = s_ad(ad, db, key, keylen);
    int rc = gr_datakey_open(txn->store->datakey, txn->plain[slot], val->mv_data, val->mv_size,
                             ad, adlen);
    if (rc != 0)
        return rc;
    txn->plain_next ^= 1;
    val->mv_data = txn->plain[slot];
    val->mv_size = n;
    return 0;
}

int s_seal_reserved(gr_txn_t *txn, int db, const void *key, size_t keylen, MDB_val *v,
                    size_t len)
{
    uint8_t ad[S_AD_MAX];
    size_t adlen = s_ad(ad, db, key, keylen);
    uint8_t *out = v->mv_data;
    return gr_datakey_seal(txn->store->datakey, out, out + GR_DATAKEY_HEADER, len, ad, adlen);
}

void gr_store_txn_plain_free(gr_txn_t *txn)
{
    for (int i = 0; i < 2; i++) {
        if (txn->plain[i])
            sodium_memzero(txn->plain[i], txn->plain_cap[i]);
        free(txn->plain[i]);
        txn->plain[i] = NULL;
    }
}

static size_t s_check_key(uint8_t key[S_CHECK_PREFIX_LEN + 4], uint32_t id)
{
    memcpy(key, S_CHECK_PREFIX, S_CHECK_PREFIX_LEN);
    gr_put_u32(key + S_CHECK_PREFIX_LEN, id);
    return S_CHECK_PREFIX_LEN + 4;
}

int gr_store_datakey_attach(gr_store_t *self, MDB_txn *mtxn, const gr_datakey_t *dk,
                            bool write, const char *dir, char *err, size_t errlen)
{
    MDB_cursor *cur;
    int mrc = mdb_cursor_open(mtxn, self->dbi[S_DB_META], &cur);
    if (mrc != MDB_SUCCESS)
        return s_mdb_err(mrc);
    MDB_val k = {S_CHECK_PREFIX_LEN, (void *)S_CHECK_PREFIX}, v;
    bool have_current = false;
    int rc = 0;
    mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && mrc == MDB_SUCCESS && k.mv_size == S_CHECK_PREFIX_LEN + 4
           && memcmp(k.mv_data, S_CHECK_PREFIX, S_CHECK_PREFIX_LEN) == 0) {
        uint32_t id = gr_get_u32((uint8_t *)k.mv_data + S_CHECK_PREFIX_LEN);
        uint8_t plain[sizeof S_CHECK_TEXT];
        if (!dk) {
            snprintf(err, errlen, "store %s holds personal data sealed with data key %u: set "
                     "data_key in [node] to its key file", dir, (unsigned)id);
            rc = GR_EKEY;
        } else if (!gr_datakey_has(dk, id)) {
            snprintf(err, errlen, "data_key %s lacks key %u, which sealed data in store %s "
                     "(drop a key only after gridrelayd --rekey)", gr_datakey_path(dk),
                     (unsigned)id, dir);
            rc = GR_EKEY;
        } else if (v.mv_size != sizeof S_CHECK_TEXT - 1 + GR_DATAKEY_OVERHEAD
                   || gr_datakey_open(dk, plain, v.mv_data, v.mv_size, k.mv_data, k.mv_size)
                          != 0
                   || memcmp(plain, S_CHECK_TEXT, sizeof S_CHECK_TEXT - 1) != 0) {
            snprintf(err, errlen, "data_key %s: key %u does not open store %s (wrong key "
                     "file?)", gr_datakey_path(dk), (unsigned)id, dir);
            rc = GR_EKEY;
        }
        if (dk && id == gr_datakey_current(dk))
            have_current = true;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc != 0)
        return rc;
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        return s_mdb_err(mrc);
    if (dk && !have_current && write) {
        uint8_t key[S_CHECK_PREFIX_LEN + 4];
        uint8_t val[sizeof S_CHECK_TEXT - 1 + GR_DATAKEY_OVERHEAD];
        size_t keylen = s_check_key(key, gr_datakey_current(dk));
        rc = gr_datakey_seal(dk, val, (const uint8_t *)S_CHECK_TEXT, sizeof S_CHECK_TEXT - 1,
                             key, keylen);
        MDB_val mk = {keylen, key}, mv = {sizeof val, val};
        if (rc == 0)
            rc = s_mdb_err(mdb_put(mtxn, self->dbi[S_DB_META], &mk, &mv, 0));
        if (rc != 0) {
            snprintf(err, errlen, "store %s: recording data key %u: %s", dir,
                     (unsigned)gr_datakey_current(dk), gr_strerror(rc));
            return rc;
        }
    }
    self->datakey = dk;
    return 0;
}

int gr_store_use_datakey(gr_store_t *self, const gr_datakey_t *dk, const char *dir, char *err,
                         size_t errlen)
{
    if (!self)
        return GR_EINVAL;
    MDB_txn *mtxn = NULL;
    int mrc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &mtxn);
    if (mrc != MDB_SUCCESS)
        return s_mdb_err(mrc);
    int rc = gr_store_datakey_attach(self, mtxn, dk, false, dir, err, errlen);
    mdb_txn_abort(mtxn);
    return rc;
}

/* ---- rekey ---- */

static const int s_sealed_dbs[] = {S_DB_EVENTS, S_DB_TIMELINE, S_DB_TASKS, S_DB_OUTBOX,
                                   S_DB_STATUSLOG, S_DB_VIEW};

/* Rewrites up to max values of db from *from on (key bytes, *fromlen; 0 =
 * the start) that are plain or sealed with another key than the current
 * one. Leaves *from at the first key not visited, *done when db ended. */
static int s_rekey_db(gr_txn_t *txn, int db, uint8_t *from, size_t *fromlen, size_t max,
                      uint64_t *rewritten, bool *done)
{
    MDB_cursor *cur;
    int rc = s_cursor(txn, db, &cur);
    if (rc != 0)
        return rc;
    uint32_t current = gr_datakey_current(txn->store->datakey);
    MDB_val k = {*fromlen, from}, v;
    int mrc = mdb_cursor_get(cur, &k, &v, *fromlen ? MDB_SET_RANGE : MDB_FIRST);
    size_t visited = 0;
    *done = false;
    while (rc == 0 && mrc == MDB_SUCCESS) {
        if (visited == max) {
            memcpy(from, k.mv_data, k.mv_size);
            *fromlen = k.mv_size;
            break;
        }
        visited++;
        uint32_t id = 0;
        if (v.mv_size && (!gr_datakey_is_sealed(v.mv_data, v.mv_size, &id) || id != current)) {
            uint8_t key[512];
            size_t keylen = k.mv_size;
            memcpy(key, k.mv_data, keylen);
            rc = s_unseal(txn, db, key, keylen, &v);
            if (rc == 0) {
                MDB_val out = {v.mv_size + GR_DATAKEY_OVERHEAD, malloc(v.mv_size
                                                                       + GR_DATAKEY_OVERHEAD)};
                MDB_val mk = {keylen, key};
                rc = out.mv_data ? 0 : GR_ENOMEM;
                if (rc == 0)
                    memcpy((uint8_t *)out.mv_data + GR_DATAKEY_HEADER, v.mv_data, v.mv_size);
                if (rc == 0)
                    rc = s_seal_reserved(txn, db, key, keylen, &out, v.mv_size);
                if (rc == 0)
                    rc = s_mdb_err(mdb_cursor_put(cur, &mk, &out, MDB_CURRENT));
                free(out.mv_data);
                if (rc == 0)
                    (*rewritten)++;
            }
        }
        if (rc == 0)
            mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc != 0)
        return rc;
    if (mrc == MDB_NOTFOUND) {
        *done = true;
        *fromlen = 0;
        return 0;
    }
    return mrc == MDB_SUCCESS ? 0 : s_mdb_err(mrc);
}

int gr_store_rekey(gr_store_t *self, size_t batch, uint64_t *rewritten, char *err,
                   size_t errlen)
{
    if (!self || !rewritten || batch == 0)
        return GR_EINVAL;
    *rewritten = 0;
    if (!self->datakey) {
        snprintf(err, errlen, "no data_key configured: nothing to seal with");
        return GR_EKEY;
    }
    uint8_t from[512];
    size_t fromlen = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof s_sealed_dbs / sizeof s_sealed_dbs[0];) {
        gr_txn_t *txn = NULL;
        bool done = false;
        rc = gr_store_begin(self, true, &txn);
        if (rc == 0)
            rc = s_rekey_db(txn, s_sealed_dbs[i], from, &fromlen, batch, rewritten, &done);
        if (rc == 0)
            rc = gr_store_commit(&txn);
        gr_store_abort(&txn);
        if (rc == GR_EMAPFULL)
            rc = gr_store_grow(self);
        else if (rc == 0 && done)
            i++;
    }
    /* Every value is now under the current key: the others' checks go, so
     * their keys may be dropped from the file. */
    gr_txn_t *txn = NULL;
    if (rc == 0)
        rc = gr_store_begin(self, true, &txn);
    for (size_t i = 0; rc == 0 && i < gr_datakey_count(self->datakey); i++) {
        uint32_t id = gr_datakey_id_at(self->datakey, i);
        if (id == gr_datakey_current(self->datakey))
            continue;
        uint8_t key[S_CHECK_PREFIX_LEN + 4];
        size_t keylen = s_check_key(key, id);
        rc = s_del(txn, S_DB_META, key, keylen);
        if (rc == GR_ENOTFOUND)
            rc = 0;
    }
    if (rc == 0)
        rc = gr_store_commit(&txn);
    gr_store_abort(&txn);
    if (rc != 0)
        snprintf(err, errlen, "rekey: %s", gr_strerror(rc));
    return rc;
}
