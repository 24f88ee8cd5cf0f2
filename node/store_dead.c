/* Dead letters: outbox entries a peer refused for good (broker/link.h,
 * gr_link_error_is_permanent), kept in the `dead` database under the same
 * key as in the outbox (peer | 0x00 | seq u64 BE). The contract is in
 * store.h. */
#include "store.h"

#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "store_internal.h"

/* The key of peer's entry seq, the same in the outbox and here. */
typedef struct {
    uint8_t bytes[S_OUTBOX_KEY_MAX];
    size_t len;
} s_key_t;

/* Checks txn (a write one when write) and builds the key: 0 or GR_EINVAL. */
static int s_key(gr_txn_t *txn, bool write, const char *peer, uint64_t seq, s_key_t *k)
{
    if (!txn || (write && !txn->write))
        return GR_EINVAL;
    return gr_store_outbox_key(k->bytes, peer, seq, &k->len);
}

int gr_store_dead_bury(gr_txn_t *txn, const char *peer, uint64_t seq, int code,
                       const char *message, uint64_t now_ms)
{
    s_key_t k;
    int rc = s_key(txn, true, peer, seq, &k);
    if (rc != 0)
        return rc;
    const uint8_t *key = k.bytes;
    size_t keylen = k.len;
    MDB_val v;
    if ((rc = s_get(txn, S_DB_OUTBOX, key, keylen, &v)) != 0)
        return rc;
    /* A copy: a value points into the map, which the put below may move. */
    uint8_t *copy = malloc(v.mv_size ? v.mv_size : 1);
    if (!copy)
        return GR_ENOMEM;
    memcpy(copy, v.mv_data, v.mv_size);
    Gridrelay__DeadLetter dead = GRIDRELAY__DEAD_LETTER__INIT;
    dead.envelope = (ProtobufCBinaryData){v.mv_size, copy};
    dead.code = (Gridrelay__ErrorCode)code;
    dead.message = (char *)(message ? message : "");
    dead.dead_ms = now_ms;
    rc = s_put_msg(txn, S_DB_DEAD, key, keylen, &dead.base, 0);
    free(copy);
    if (rc == 0)
        rc = s_del(txn, S_DB_OUTBOX, key, keylen);
    return rc;
}

int gr_store_dead_get(gr_txn_t *txn, const char *peer, uint64_t seq,
                      Gridrelay__DeadLetter **out)
{
    if (!out)
        return GR_EINVAL;
    *out = NULL;
    s_key_t k;
    int rc = s_key(txn, false, peer, seq, &k);
    return rc != 0 ? rc : s_get_msg(txn, S_DB_DEAD, k.bytes, k.len,
                                    &gridrelay__dead_letter__descriptor, out);
}

int gr_store_dead_put(gr_txn_t *txn, const char *peer, uint64_t seq,
                      const Gridrelay__DeadLetter *dead)
{
    if (!dead)
        return GR_EINVAL;
    s_key_t k;
    int rc = s_key(txn, true, peer, seq, &k);
    return rc != 0 ? rc : s_put_msg(txn, S_DB_DEAD, k.bytes, k.len, &dead->base, 0);
}

int gr_store_dead_del(gr_txn_t *txn, const char *peer, uint64_t seq)
{
    s_key_t k;
    int rc = s_key(txn, true, peer, seq, &k);
    return rc != 0 ? rc : s_del(txn, S_DB_DEAD, k.bytes, k.len);
}

int gr_store_dead_scan(gr_txn_t *txn, const char *peer, size_t limit, gr_store_dead_fn visit,
                       void *ctx, uint64_t *count)
{
    if (!visit || !count)
        return GR_EINVAL;
    *count = 0;
    s_key_t first;
    int rc = s_key(txn, false, peer, 0, &first);
    if (rc != 0)
        return rc;
    uint8_t *key = first.bytes;
    size_t keylen = first.len;
    size_t plen = keylen - 8;   /* the peer and its 0x00 */
    MDB_cursor *cur;
    if ((rc = s_cursor(txn, S_DB_DEAD, &cur)) != 0)
        return rc;
    MDB_val k = {keylen, key}, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && mrc == MDB_SUCCESS && k.mv_size == keylen &&
           memcmp(k.mv_data, key, plen) == 0) {
        Gridrelay__DeadLetter *dead = gridrelay__dead_letter__unpack(NULL, v.mv_size,
                                                                     v.mv_data);
        if (!dead) {
            rc = GR_EDECODE;
            break;
        }
        if (*count < limit)
            visit(ctx, gr_get_u64((uint8_t *)k.mv_data + plen), dead);
        (*count)++;
        gridrelay__dead_letter__free_unpacked(dead, NULL);
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc == 0 && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = s_mdb_err(mrc);
    return rc;
}
