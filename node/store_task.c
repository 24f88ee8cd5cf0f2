/* The tasks database: what each department has to do. */
#include "store_internal.h"

/* Checks txn (a write one when write) and builds the task's key (dept,
 * event_id; both required): 0 or GR_EINVAL. */
static int s_task_key(gr_txn_t *txn, bool write, const char *dept, const char *event_id,
                      uint8_t key[S_PAIR_KEY_MAX], size_t *keylen)
{
    if (!txn || (write && !txn->write) || !event_id || !*event_id)
        return GR_EINVAL;
    return s_pair_key(key, dept, event_id, keylen);
}

int gr_store_task_put(gr_txn_t *txn, const Gridrelay__Task *task)
{
    if (!task)
        return GR_EINVAL;
    uint8_t key[S_PAIR_KEY_MAX];
    size_t keylen = 0;
    int rc = s_task_key(txn, true, task->dept, task->event_id, key, &keylen);
    if (rc != 0)
        return rc;
    Gridrelay__Task copy = *task;
    copy.event = NULL;
    return s_put_msg(txn, S_DB_TASKS, key, keylen, &copy.base, 0);
}

int gr_store_task_get(gr_txn_t *txn, const char *dept, const char *event_id,
                      Gridrelay__Task **out)
{
    if (!out)
        return GR_EINVAL;
    *out = NULL;
    uint8_t key[S_PAIR_KEY_MAX];
    size_t keylen = 0;
    int rc = s_task_key(txn, false, dept, event_id, key, &keylen);
    return rc != 0 ? rc : s_get_msg(txn, S_DB_TASKS, key, keylen, &gridrelay__task__descriptor, out);
}

int gr_store_task_del(gr_txn_t *txn, const char *dept, const char *event_id)
{
    uint8_t key[S_PAIR_KEY_MAX];
    size_t keylen = 0;
    int rc = s_task_key(txn, true, dept, event_id, key, &keylen);
    return rc != 0 ? rc : s_del(txn, S_DB_TASKS, key, keylen);
}

int gr_store_task_scan(gr_txn_t *txn, const char *dept, const char *after_event_id,
                       size_t limit, gr_store_task_fn visit, void *ctx)
{
    if (!txn || !visit)
        return GR_EINVAL;
    uint8_t start[S_PAIR_KEY_MAX];
    size_t startlen = 0;
    int rc = s_pair_key(start, dept, after_event_id, &startlen);
    if (rc != 0)
        return rc;
    size_t prefixlen = strlen(dept) + 1;  /* code and its 0x00 */
    MDB_cursor *cur = NULL;
    if ((rc = s_cursor(txn, S_DB_TASKS, &cur)) != 0)
        return rc;
    MDB_val k = {startlen, start}, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (mrc == MDB_SUCCESS && startlen > prefixlen && k.mv_size == startlen &&
        memcmp(k.mv_data, start, startlen) == 0)
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);  /* strictly after the token */
    size_t count = 0;
    for (; mrc == MDB_SUCCESS && count < limit; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size <= prefixlen || memcmp(k.mv_data, start, prefixlen) != 0)
            break;
        if ((rc = s_unseal(txn, S_DB_TASKS, k.mv_data, k.mv_size, &v)) != 0)
            break;
        Gridrelay__Task *task = gridrelay__task__unpack(NULL, v.mv_size, v.mv_data);
        if (!task) {
            rc = GR_EDECODE;
            break;
        }
        int stop = visit(ctx, task);
        gridrelay__task__free_unpacked(task, NULL);
        if (stop)
            break;
        count++;
    }
    if (rc == 0 && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = s_mdb_err(mrc);
    mdb_cursor_close(cur);
    return rc < 0 ? rc : (int)(count > INT32_MAX ? INT32_MAX : count);
}
