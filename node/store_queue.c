/* Queues in the store: the outbox of sealed envelopes per peer, the due
 * timers, the status log a node publishes, and per-peer link bookkeeping.
 * The contract is in store.h; what this file shares with store.c and
 * store_case.c is in store_internal.h. */
#include "store.h"

#include <limits.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "store_internal.h"

#define S_DUE_KEY_MIN (8 + 1 + 1)
#define S_DUE_KEY_MAX (8 + 1 + GR_EVENT_ID_MAX)
#define S_PEER_FIELD_MAX 64
#define S_PEER_KEY_MAX (S_PEER_MAX + 1 + S_PEER_FIELD_MAX)

/* ---- outbox ---- */

/* peer | 0x00 | seq, for the same reason as timeline keys. */
int gr_store_outbox_key(uint8_t *key, const char *peer, uint64_t seq, size_t *keylen)
{
    if (!peer)
        return GR_EINVAL;
    size_t n = strnlen(peer, S_PEER_MAX + 1);
    if (n == 0 || n > S_PEER_MAX)
        return GR_EINVAL;
    memcpy(key, peer, n);
    key[n] = 0;
    gr_put_u64(key + n + 1, seq);
    *keylen = n + 9;
    return 0;
}

/* The key, and in *plen the length of its peer part. */
static int s_outbox_key(uint8_t *key, const char *peer, uint64_t seq, size_t *plen)
{
    size_t keylen = 0;
    int rc = gr_store_outbox_key(key, peer, seq, &keylen);
    *plen = keylen >= 9 ? keylen - 9 : 0;
    return rc;
}

int gr_store_outbox_put(gr_txn_t *txn, const char *peer, uint64_t seq,
                        const uint8_t *data, size_t len)
{
    uint8_t key[S_OUTBOX_KEY_MAX];
    size_t keylen = 0;
    int rc = !txn || !txn->write || (!data && len) ? GR_EINVAL
                                                   : gr_store_outbox_key(key, peer, seq, &keylen);
    return rc != 0 ? rc
                   : s_put_raw(txn, S_DB_OUTBOX, key, keylen,
                               len ? data : (const uint8_t *)"", len, 0);
}

int gr_store_outbox_del(gr_txn_t *txn, const char *peer, uint64_t seq)
{
    uint8_t key[S_OUTBOX_KEY_MAX];
    size_t keylen = 0;
    int rc = !txn || !txn->write ? GR_EINVAL : gr_store_outbox_key(key, peer, seq, &keylen);
    if (rc != 0)
        return rc;
    MDB_val k = {keylen, key};
    return s_mdb_err(mdb_del(txn->txn, txn->store->dbi[S_DB_OUTBOX], &k, NULL));
}

/* Visits peer's entries from seq `from` on, up to limit (SIZE_MAX = all);
 * with visit NULL it only counts them. */
static int s_outbox_walk(gr_txn_t *txn, const char *peer, uint64_t from, size_t limit,
                         gr_store_outbox_fn visit, void *ctx, uint64_t *count)
{
    uint8_t key[S_OUTBOX_KEY_MAX];
    size_t plen;
    *count = 0;
    int rc = s_outbox_key(key, peer, from, &plen);
    if (rc != 0)
        return rc;
    MDB_cursor *cur;
    rc = s_cursor(txn, S_DB_OUTBOX, &cur);
    if (rc != 0)
        return rc;
    MDB_val k = {plen + 9, key}, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (mrc == MDB_SUCCESS && *count < limit && k.mv_size == plen + 9
           && memcmp(k.mv_data, key, plen + 1) == 0) {
        if (visit && (rc = s_unseal(txn, S_DB_OUTBOX, k.mv_data, k.mv_size, &v)) != 0)
            break;
        if (visit)
            visit(ctx, gr_get_u64((uint8_t *)k.mv_data + plen + 1), v.mv_data, v.mv_size);
        (*count)++;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc != 0)
        return rc;
    return mrc == MDB_SUCCESS || mrc == MDB_NOTFOUND ? 0 : s_mdb_err(mrc);
}

int gr_store_outbox_scan(gr_txn_t *txn, const char *peer, uint64_t after, size_t limit,
                         gr_store_outbox_fn visit, void *ctx)
{
    if (!txn || !visit)
        return GR_EINVAL;
    if (after == UINT64_MAX || limit == 0)
        return 0;
    uint64_t count;
    return s_outbox_walk(txn, peer, after + 1, limit, visit, ctx, &count);
}

/* Counts by walking the peer's entries: O(depth), which stays cheap for
 * the thousands a long outage leaves behind, and can never drift the way a
 * separately kept count could. */
int gr_store_outbox_depth(gr_txn_t *txn, const char *peer, uint64_t *depth)
{
    if (!txn || !depth)
        return GR_EINVAL;
    return s_outbox_walk(txn, peer, 0, SIZE_MAX, NULL, NULL, depth);
}

/* ---- due: timers that survive restarts ---- */

/* due_ms | kind | id: the time comes first and big-endian, so LMDB's byte
 * order is time order and the earliest timer is the first key. The id is
 * unterminated; its length is what remains of the key. */
static int s_due_key(uint8_t *key, uint64_t due_ms, uint8_t kind, const char *event_id,
                     size_t *keylen)
{
    size_t idlen;
    int rc = s_check_id(event_id, &idlen);
    if (rc != 0)
        return rc;
    gr_put_u64(key, due_ms);
    key[8] = kind;
    memcpy(key + 9, event_id, idlen);
    *keylen = 9 + idlen;
    return 0;
}

/* Puts (put) or deletes one timer. */
static int s_due_write(gr_txn_t *txn, uint64_t due_ms, uint8_t kind, const char *event_id,
                       bool put)
{
    if (!txn || !txn->write)
        return GR_EINVAL;
    uint8_t key[S_DUE_KEY_MAX];
    size_t keylen;
    int rc = s_due_key(key, due_ms, kind, event_id, &keylen);
    if (rc != 0)
        return rc;
    return put ? s_put_raw(txn, S_DB_DUE, key, keylen, "", 0, 0) : s_del(txn, S_DB_DUE, key, keylen);
}

int gr_store_due_put(gr_txn_t *txn, uint64_t due_ms, uint8_t kind, const char *event_id)
{
    return s_due_write(txn, due_ms, kind, event_id, true);
}

int gr_store_due_del(gr_txn_t *txn, uint64_t due_ms, uint8_t kind, const char *event_id)
{
    return s_due_write(txn, due_ms, kind, event_id, false);
}

/* Replaces key (*keylen 0 = before the start) with the first stored key
 * after it; GR_ENOTFOUND past the last. The cursor lives for this one
 * lookup and the key is copied out of LMDB's page, so nothing of LMDB's is
 * held between two steps of a scan: the visitor may change the database. */
static int s_due_step(gr_txn_t *txn, uint8_t *key, size_t *keylen)
{
    MDB_cursor *cur;
    int rc = s_cursor(txn, S_DB_DUE, &cur);
    if (rc != 0)
        return rc;
    MDB_val k = {*keylen, key}, v;
    int mrc;
    if (*keylen == 0) {
        mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    } else {
        mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (mrc == MDB_SUCCESS && k.mv_size == *keylen && memcmp(k.mv_data, key, *keylen) == 0)
            mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (mrc != MDB_SUCCESS)
        rc = s_mdb_err(mrc);
    else if (k.mv_size < S_DUE_KEY_MIN || k.mv_size > S_DUE_KEY_MAX)
        rc = GR_ESTORE;
    if (rc == 0) {
        memcpy(key, k.mv_data, k.mv_size);
        *keylen = k.mv_size;
    }
    mdb_cursor_close(cur);
    return rc;
}

/* One O(log n) lookup per visited timer rather than one cursor walk: the
 * price of letting the visitor delete (or re-arm) timers as it goes. */
int gr_store_due_scan(gr_txn_t *txn, uint64_t now_ms, size_t limit, gr_store_due_fn visit,
                      void *ctx)
{
    if (!txn || !visit)
        return GR_EINVAL;
    if (limit > INT_MAX)
        limit = INT_MAX;
    uint8_t key[S_DUE_KEY_MAX];
    size_t keylen = 0, n = 0;
    while (n < limit) {
        int rc = s_due_step(txn, key, &keylen);
        if (rc == GR_ENOTFOUND)
            break;
        if (rc != 0)
            return rc;
        uint64_t due_ms = gr_get_u64(key);
        if (due_ms > now_ms)
            break;
        char id[GR_EVENT_ID_MAX + 1];
        memcpy(id, key + 9, keylen - 9);
        id[keylen - 9] = '\0';
        visit(ctx, due_ms, key[8], id);
        n++;
    }
    return (int)n;
}

int gr_store_due_next(gr_txn_t *txn, uint64_t *due_ms)
{
    if (!txn || !due_ms)
        return GR_EINVAL;
    *due_ms = 0;
    uint8_t key[S_DUE_KEY_MAX];
    size_t keylen = 0;
    int rc = s_due_step(txn, key, &keylen);
    if (rc == 0)
        *due_ms = gr_get_u64(key);
    return rc;
}

/* ---- statuslog: what this node publishes ---- */

int gr_store_status_last(gr_txn_t *txn, uint64_t *seq)
{
    if (!txn || !seq)
        return GR_EINVAL;
    *seq = 0;
    MDB_cursor *cur;
    int rc = s_cursor(txn, S_DB_STATUSLOG, &cur);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (mrc == MDB_SUCCESS && k.mv_size != 8)
        rc = GR_ESTORE;
    else if (mrc == MDB_SUCCESS)
        *seq = gr_get_u64(k.mv_data);
    else if (mrc != MDB_NOTFOUND)
        rc = s_mdb_err(mrc);
    mdb_cursor_close(cur);
    return rc;
}

/* The next seq comes from the last key rather than a counter of its own,
 * so the two can never disagree, and a log that lost its tail in an
 * aborted transaction carries on from what is really there. MDB_APPEND:
 * the key is the largest by construction, and appending skips the search.
 * The newest update of a case is never the one deleted, so the last key
 * stays the highest seq ever given. */
int gr_store_status_append(gr_txn_t *txn, Gridrelay__StatusUpdate *update)
{
    if (!txn || !txn->write || !update)
        return GR_EINVAL;
    uint8_t ckey[S_PAIR_KEY_MAX];
    size_t clen = 0;
    if (!update->event_id || !*update->event_id ||
        s_pair_key(ckey, update->node_id, update->event_id, &clen) != 0)
        return GR_EINVAL;
    uint64_t last;
    int rc = gr_store_status_last(txn, &last);
    if (rc != 0)
        return rc;
    if (last == UINT64_MAX)
        return GR_EFULL;
    uint64_t older = 0;
    if ((rc = s_get_u64_or_zero(txn, S_DB_STATUS_INDEX, ckey, clen, &older)) != 0)
        return rc;
    uint8_t key[8];
    if (older) {
        /* Superseded: what it told a view moves into the new one. */
        gr_put_u64(key, older);
        MDB_val v;
        rc = s_get(txn, S_DB_STATUSLOG, key, sizeof key, &v);
        if (rc == 0) {
            Gridrelay__StatusUpdate *old = gridrelay__status_update__unpack(NULL, v.mv_size,
                                                                            v.mv_data);
            if (!old)
                return GR_EDECODE;
            gr_status_prior_fold(update, old);
            gridrelay__status_update__free_unpacked(old, NULL);
            rc = s_del(txn, S_DB_STATUSLOG, key, sizeof key);
        }
        if (rc != 0 && rc != GR_ENOTFOUND)
            return rc;
    }
    uint64_t given = update->node_seq;
    update->node_seq = last + 1;
    gr_put_u64(key, update->node_seq);
    rc = s_put_msg(txn, S_DB_STATUSLOG, key, sizeof key, &update->base, MDB_APPEND);
    if (rc == 0)
        rc = s_put_raw(txn, S_DB_STATUS_INDEX, ckey, clen, key, sizeof key, 0);
    if (rc != 0)
        update->node_seq = given;
    return rc;
}

/* Walks the whole log once, oldest first, doing to each update what
 * gr_store_status_append does to a new one: the case's older update is
 * folded into it (rewritten in place) and deleted, and the index points at
 * it. So a compacted old log holds exactly what appending its updates one
 * by one would have left. */
int gr_store_status_compact_all(gr_txn_t *txn)
{
    MDB_cursor *cur;
    int rc = s_cursor(txn, S_DB_STATUSLOG, &cur);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0 && mrc == MDB_SUCCESS) {
        if (k.mv_size != 8) {
            rc = GR_ESTORE;
            break;
        }
        uint8_t key[8];
        memcpy(key, k.mv_data, sizeof key);
        if ((rc = s_unseal(txn, S_DB_STATUSLOG, key, sizeof key, &v)) != 0)
            break;
        Gridrelay__StatusUpdate *u = gridrelay__status_update__unpack(NULL, v.mv_size, v.mv_data);
        if (!u) {
            rc = GR_EDECODE;
            break;
        }
        uint8_t ckey[S_PAIR_KEY_MAX];
        size_t clen = 0;
        uint64_t older = 0;
        if (s_pair_key(ckey, u->node_id, u->event_id, &clen) != 0)
            rc = GR_ESTORE;
        else
            rc = s_get_u64_or_zero(txn, S_DB_STATUS_INDEX, ckey, clen, &older);
        if (rc == 0 && older) {
            uint8_t okey[8];
            MDB_val ov;
            gr_put_u64(okey, older);
            Gridrelay__StatusUpdate *old = NULL;
            if ((rc = s_get(txn, S_DB_STATUSLOG, okey, sizeof okey, &ov)) == 0 &&
                !(old = gridrelay__status_update__unpack(NULL, ov.mv_size, ov.mv_data)))
                rc = GR_EDECODE;
            if (rc == 0) {
                gr_status_prior_fold(u, old);
                rc = s_put_msg(txn, S_DB_STATUSLOG, key, sizeof key, &u->base, 0);
            }
            if (old)
                gridrelay__status_update__free_unpacked(old, NULL);
            if (rc == 0)
                rc = s_del(txn, S_DB_STATUSLOG, okey, sizeof okey);
        }
        if (rc == 0)
            rc = s_put_raw(txn, S_DB_STATUS_INDEX, ckey, clen, key, sizeof key, 0);
        gridrelay__status_update__free_unpacked(u, NULL);
        if (rc != 0)
            break;
        /* The writes may have moved the cursor's page: find this key
         * afresh and step past it. */
        MDB_val at = {sizeof key, key};
        mrc = mdb_cursor_get(cur, &at, &v, MDB_SET_KEY);
        if (mrc == MDB_SUCCESS)
            mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc == 0 && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = s_mdb_err(mrc);
    return rc;
}

int gr_store_status_scan(gr_txn_t *txn, uint64_t after_seq, size_t limit,
                         gr_store_status_fn visit, void *ctx)
{
    if (!txn || !visit)
        return GR_EINVAL;
    if (after_seq == UINT64_MAX || limit == 0)
        return 0;
    if (limit > INT_MAX)
        limit = INT_MAX;
    MDB_cursor *cur;
    int rc = s_cursor(txn, S_DB_STATUSLOG, &cur);
    if (rc != 0)
        return rc;
    uint8_t key[8];
    gr_put_u64(key, after_seq + 1);
    MDB_val k = {sizeof key, key}, v;
    size_t n = 0;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (mrc == MDB_SUCCESS && n < limit) {
        if (k.mv_size != 8) {
            rc = GR_ESTORE;
            break;
        }
        if ((rc = s_unseal(txn, S_DB_STATUSLOG, k.mv_data, k.mv_size, &v)) != 0)
            break;
        Gridrelay__StatusUpdate *update = gridrelay__status_update__unpack(NULL, v.mv_size,
                                                                           v.mv_data);
        if (!update) {
            rc = GR_EDECODE;
            break;
        }
        visit(ctx, update);
        gridrelay__status_update__free_unpacked(update, NULL);
        n++;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc == 0 && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = s_mdb_err(mrc);
    return rc != 0 ? rc : (int)n;
}

/* ---- peers: per-peer link bookkeeping ---- */

/* peer | 0x00 | field: neither contains 0x00, so the first zero byte
 * splits the key one way only and peer "ab" never meets peer "a". */
static int s_peer_key(uint8_t *key, const char *peer, const char *field, size_t *keylen)
{
    if (!peer || !field)
        return GR_EINVAL;
    size_t plen = strnlen(peer, S_PEER_MAX + 1);
    size_t flen = strnlen(field, S_PEER_FIELD_MAX + 1);
    if (plen == 0 || plen > S_PEER_MAX || flen == 0 || flen > S_PEER_FIELD_MAX)
        return GR_EINVAL;
    memcpy(key, peer, plen);
    key[plen] = 0;
    memcpy(key + plen + 1, field, flen);
    *keylen = plen + 1 + flen;
    return 0;
}

int gr_store_peer_get(gr_txn_t *txn, const char *peer, const char *field, uint64_t *value)
{
    if (!txn || !value)
        return GR_EINVAL;
    *value = 0;
    uint8_t key[S_PEER_KEY_MAX];
    size_t keylen;
    int rc = s_peer_key(key, peer, field, &keylen);
    if (rc != 0)
        return rc;
    return s_get_u64_or_zero(txn, S_DB_PEERS, key, keylen, value);
}

int gr_store_peer_put(gr_txn_t *txn, const char *peer, const char *field, uint64_t value)
{
    uint8_t key[S_PEER_KEY_MAX];
    size_t keylen = 0;
    int rc = !txn || !txn->write ? GR_EINVAL : s_peer_key(key, peer, field, &keylen);
    if (rc != 0)
        return rc;
    uint8_t be[8];
    gr_put_u64(be, value);
    return s_put_raw(txn, S_DB_PEERS, key, keylen, be, sizeof be, 0);
}
