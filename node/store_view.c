/* The view database: a superior's picture of its descendants' cases. */
#include <stdio.h>

#include "store_internal.h"

/* Checks txn (a write one when write) and builds a view entry's key (both
 * ids are required): 0 or GR_EINVAL. */
static int s_view_key(gr_txn_t *txn, bool write, uint8_t *key, const char *node_id,
                      const char *event_id, size_t *keylen)
{
    if (!txn || (write && !txn->write) || !event_id || !*event_id)
        return GR_EINVAL;
    return s_pair_key(key, node_id, event_id, keylen);
}

int gr_store_view_put(gr_txn_t *txn, const char *node_id, const char *event_id,
                      const Gridrelay__ViewEntry *entry)
{
    if (!entry)
        return GR_EINVAL;
    uint8_t key[S_PAIR_KEY_MAX];
    size_t keylen = 0;
    int rc = s_view_key(txn, true, key, node_id, event_id, &keylen);
    return rc != 0 ? rc : s_put_msg(txn, S_DB_VIEW, key, keylen, &entry->base, 0);
}

int gr_store_view_get(gr_txn_t *txn, const char *node_id, const char *event_id,
                      Gridrelay__ViewEntry **out)
{
    if (!out)
        return GR_EINVAL;
    *out = NULL;
    uint8_t key[S_PAIR_KEY_MAX];
    size_t keylen = 0;
    int rc = s_view_key(txn, false, key, node_id, event_id, &keylen);
    return rc != 0 ? rc
                   : s_get_msg(txn, S_DB_VIEW, key, keylen, &gridrelay__view_entry__descriptor, out);
}

/* Page tokens are "node/event", readable and within GR_PAGE_TOKEN_MAX. */
static int s_token_key(const char *token, uint8_t *key, size_t *keylen)
{
    char node[GR_EVENT_ID_MAX + 1];
    const char *slash = strchr(token, '/');
    if (!slash || (size_t)(slash - token) > GR_EVENT_ID_MAX)
        return GR_EINVAL;
    memcpy(node, token, (size_t)(slash - token));
    node[slash - token] = '\0';
    return slash[1] ? s_pair_key(key, node, slash + 1, keylen) : GR_EINVAL;
}

int gr_store_view_scan(gr_txn_t *txn, const char *node_id, const char *page_token, size_t limit,
                       gr_store_view_fn visit, void *ctx, char *next_token)
{
    if (!txn || !visit || !next_token)
        return GR_EINVAL;
    next_token[0] = '\0';
    uint8_t start[S_PAIR_KEY_MAX];
    size_t startlen = 0, prefixlen = 0;
    bool after = false;
    if (page_token && *page_token) {
        if (s_token_key(page_token, start, &startlen) != 0)
            return GR_EINVAL;
        after = true;
    } else if (node_id && *node_id) {
        if (s_pair_key(start, node_id, NULL, &startlen) != 0)
            return GR_EINVAL;
    }
    if (node_id && *node_id && s_check_id(node_id, &prefixlen) != 0)
        return GR_EINVAL;
    MDB_cursor *cur = NULL;
    int rc = s_cursor(txn, S_DB_VIEW, &cur);
    if (rc != 0)
        return rc;
    MDB_val k = { startlen, start }, v;
    int mrc = startlen ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    if (mrc == MDB_SUCCESS && after && k.mv_size == startlen && memcmp(k.mv_data, start, startlen) == 0)
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    size_t count = 0;
    bool more = false;
    rc = 0;
    for (; mrc == MDB_SUCCESS; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *key = k.mv_data;
        if (prefixlen && (k.mv_size <= prefixlen || memcmp(key, node_id, prefixlen) != 0 ||
                          key[prefixlen] != 0))
            break;
        if (count == limit) {
            more = true;  /* the token names the last one visited */
            break;
        }
        if ((rc = s_unseal(txn, S_DB_VIEW, k.mv_data, k.mv_size, &v)) != 0)
            break;
        Gridrelay__ViewEntry *entry = gridrelay__view_entry__unpack(NULL, v.mv_size, v.mv_data);
        if (!entry) {
            rc = GR_ESTORE;
            break;
        }
        visit(ctx, entry);
        gridrelay__view_entry__free_unpacked(entry, NULL);
        count++;
        const char *sep = memchr(key, 0, k.mv_size);
        if (sep) {
            size_t nlen = (size_t)(sep - (const char *)key);
            snprintf(next_token, GR_PAGE_TOKEN_MAX, "%.*s/%.*s", (int)nlen, (const char *)key,
                     (int)(k.mv_size - nlen - 1), sep + 1);
        }
    }
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = s_mdb_err(mrc);
    if (!more)
        next_token[0] = '\0';
    mdb_cursor_close(cur);
    return rc < 0 ? rc : (int)count;
}

/* ---- urges sent for cases held below ---- */

/* Key: event id | 0x00 | seq u32 BE (from 1). */
static int s_urge_key(uint8_t *key, const char *event_id, uint32_t seq, size_t *keylen)
{
    size_t idlen;
    if (s_check_id(event_id, &idlen) != 0)
        return GR_EINVAL;
    memcpy(key, event_id, idlen);
    key[idlen] = 0;
    gr_put_u32(key + idlen + 1, seq);
    *keylen = idlen + 5;
    return 0;
}

typedef struct {
    gr_store_urge_fn visit;
    void *ctx;
    uint32_t last;
    int rc;
} s_urge_walk_t;

static int s_urge_walk(gr_txn_t *txn, const char *event_id, s_urge_walk_t *w)
{
    uint8_t key[GR_EVENT_ID_MAX + 5];
    size_t keylen = 0;
    int rc = s_urge_key(key, event_id, 0, &keylen);
    if (rc != 0)
        return rc;
    size_t prefix = keylen - 4;
    MDB_cursor *cur = NULL;
    if ((rc = s_cursor(txn, S_DB_URGES, &cur)) != 0)
        return rc;
    MDB_val k = {keylen, key}, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (mrc == MDB_SUCCESS && k.mv_size == prefix + 4 && memcmp(k.mv_data, key, prefix) == 0) {
        w->last = gr_get_u32((const uint8_t *)k.mv_data + prefix);
        if (w->visit) {
            Gridrelay__TimelineEntry *e = gridrelay__timeline_entry__unpack(NULL, v.mv_size, v.mv_data);
            if (!e) {
                mdb_cursor_close(cur);
                return GR_EDECODE;
            }
            w->visit(w->ctx, e);
            gridrelay__timeline_entry__free_unpacked(e, NULL);
        }
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return mrc == MDB_SUCCESS || mrc == MDB_NOTFOUND ? 0 : s_mdb_err(mrc);
}

int gr_store_urge_put(gr_txn_t *txn, const char *event_id, Gridrelay__TimelineEntry *entry)
{
    if (!txn || !txn->write || !entry)
        return GR_EINVAL;
    s_urge_walk_t w = {0};
    int rc = s_urge_walk(txn, event_id, &w);
    if (rc != 0)
        return rc;
    entry->seq = w.last + 1;
    uint8_t key[GR_EVENT_ID_MAX + 5];
    size_t keylen = 0;
    if ((rc = s_urge_key(key, event_id, entry->seq, &keylen)) != 0)
        return rc;
    return s_put_msg(txn, S_DB_URGES, key, keylen, &entry->base, 0);
}

int gr_store_urge_scan(gr_txn_t *txn, const char *event_id, gr_store_urge_fn visit, void *ctx)
{
    if (!txn || !visit)
        return GR_EINVAL;
    s_urge_walk_t w = {visit, ctx, 0, 0};
    return s_urge_walk(txn, event_id, &w);
}

int gr_store_walk_all(gr_txn_t *txn, const gr_store_filter_t *filter, gr_store_visit_fn own,
                      gr_store_view_fn view, void *ctx, const int *stop)
{
    if (!txn || !own || !view || !stop)
        return GR_EINVAL;
    char token[GR_PAGE_TOKEN_MAX] = "", next[GR_PAGE_TOKEN_MAX];
    int rc;
    do {
        rc = gr_store_list(txn, filter, token, 1000, own, ctx, next);
        memcpy(token, next, sizeof token);
    } while (rc == 0 && *stop == 0 && token[0]);
    token[0] = '\0';
    while (rc >= 0 && *stop == 0) {
        rc = gr_store_view_scan(txn, NULL, token, 1000, view, ctx, next);
        if (rc < 0 || !next[0])
            break;
        memcpy(token, next, sizeof token);
    }
    return rc > 0 ? 0 : rc;
}

/* ---- what a superseded status update leaves in its successor ---- */

/* The same three rules as the view's history (node/tierlink.c): the last
 * reported deadline, the last deadline once taken on, the first time the
 * case left upward. */
static bool s_taken_on(Gridrelay__Status st)
{
    return st == GRIDRELAY__STATUS__ACCEPTED || st == GRIDRELAY__STATUS__DISPATCHED ||
           st == GRIDRELAY__STATUS__ASSIGNED || st == GRIDRELAY__STATUS__IN_PROGRESS ||
           st == GRIDRELAY__STATUS__RETURNED;
}

void gr_status_prior_fold(Gridrelay__StatusUpdate *next, const Gridrelay__StatusUpdate *old)
{
    if (!next->prior_accept_due_ms)
        next->prior_accept_due_ms = old->status == GRIDRELAY__STATUS__REPORTED && old->due_ms
                                        ? old->due_ms : old->prior_accept_due_ms;
    if (!next->prior_resolve_due_ms)
        next->prior_resolve_due_ms = s_taken_on(old->status) && old->due_ms
                                         ? old->due_ms : old->prior_resolve_due_ms;
    if (!next->prior_left_ms)
        next->prior_left_ms = old->prior_left_ms ? old->prior_left_ms
                              : old->status == GRIDRELAY__STATUS__ESCALATED ? old->time_ms : 0;
}

void gr_status_prior_seed(const Gridrelay__StatusUpdate *update, Gridrelay__ViewEntry *entry)
{
    if (update->prior_accept_due_ms)
        entry->accept_due_ms = update->prior_accept_due_ms;
    if (update->prior_resolve_due_ms)
        entry->resolve_due_ms = update->prior_resolve_due_ms;
    if (update->prior_left_ms && !entry->left_ms)
        entry->left_ms = update->prior_left_ms;
}
