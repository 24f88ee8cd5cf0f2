/* The daily database: each node's day of daily reports (日报告), this
 * node's own and the summaries of the nodes below it. */
#include "store_internal.h"

/* Key: day u32 BE | node id; days sort in order, a day's nodes by id. */
static int s_daily_key(uint8_t *key, int64_t day, const char *node_id, size_t *keylen)
{
    size_t idlen;
    if (day < 0 || day > UINT32_MAX || s_check_id(node_id, &idlen) != 0)
        return GR_EINVAL;
    gr_put_u32(key, (uint32_t)day);
    memcpy(key + 4, node_id, idlen);
    *keylen = 4 + idlen;
    return 0;
}

int gr_store_daily_put(gr_txn_t *txn, int64_t day, const char *node_id,
                       const Gridrelay__DailySummary *summary)
{
    if (!txn || !txn->write || !summary)
        return GR_EINVAL;
    uint8_t key[4 + GR_EVENT_ID_MAX];
    size_t keylen = 0;
    int rc = s_daily_key(key, day, node_id, &keylen);
    return rc != 0 ? rc : s_put_msg(txn, S_DB_DAILY, key, keylen, &summary->base, 0);
}

int gr_store_daily_get(gr_txn_t *txn, int64_t day, const char *node_id,
                       Gridrelay__DailySummary **out)
{
    if (!out)
        return GR_EINVAL;
    *out = NULL;
    if (!txn)
        return GR_EINVAL;
    uint8_t key[4 + GR_EVENT_ID_MAX];
    size_t keylen = 0;
    int rc = s_daily_key(key, day, node_id, &keylen);
    MDB_val v;
    if (rc != 0 || (rc = s_get(txn, S_DB_DAILY, key, keylen, &v)) != 0)
        return rc;
    *out = gridrelay__daily_summary__unpack(NULL, v.mv_size, v.mv_data);
    return *out ? 0 : GR_EDECODE;
}

int gr_store_daily_scan(gr_txn_t *txn, int64_t day, gr_store_daily_fn visit, void *ctx)
{
    if (!txn || !visit || day < 0 || day > UINT32_MAX)
        return GR_EINVAL;
    return gr_store_daily_range(txn, day, day, visit, ctx);
}

int gr_store_daily_range(gr_txn_t *txn, int64_t first, int64_t last, gr_store_daily_fn visit,
                         void *ctx)
{
    if (!txn || !visit)
        return GR_EINVAL;
    if (first < 0)
        first = 0;
    if (last > UINT32_MAX)
        last = UINT32_MAX;
    if (first > last)
        return 0;
    uint8_t start[4];
    gr_put_u32(start, (uint32_t)first);
    MDB_cursor *cur = NULL;
    int rc = s_cursor(txn, S_DB_DAILY, &cur);
    if (rc != 0)
        return rc;
    /* One cursor walk over the summaries held, however long the span:
     * the cost is what is stored in it, not the number of days. */
    MDB_val k = { sizeof start, start }, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    int count = 0;
    for (; mrc == MDB_SUCCESS; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size <= sizeof start || gr_get_u32(k.mv_data) > (uint64_t)last)
            break;
        Gridrelay__DailySummary *s = gridrelay__daily_summary__unpack(NULL, v.mv_size, v.mv_data);
        if (!s) {
            rc = GR_ESTORE;
            break;
        }
        rc = visit(ctx, s);
        gridrelay__daily_summary__free_unpacked(s, NULL);
        if (rc != 0)
            break;
        count++;
    }
    if (rc == 0 && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = s_mdb_err(mrc);
    mdb_cursor_close(cur);
    return rc < 0 ? rc : count;
}
