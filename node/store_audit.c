/* The store's audit ledger and the walk that verifies a whole store.
 *
 * Each case's timeline is its own hash chain (store_case.c). A chain alone
 * cannot show that its newest entries, or a whole case, were removed: what
 * is left is still a valid chain. So every entry written is also linked,
 * in commit order, into one node-wide chain, the ledger:
 *   audit        link seq u64 BE -> AuditLink (gridrelay.proto)
 *   audit_index  event id | 0x00 | entry seq u32 BE -> link seq u64 BE
 *   meta "audit_head"  newest link seq u64 BE | its head (32 bytes)
 * From schema 4 on an entry's link is found from its case instead: the
 * case record names its newest entry's link (StoredEvent.ledger_last) and
 * each link the one of the case's entry before (AuditLink.case_prev).
 * audit_index holds the locators of entries linked before that (and those
 * the backfill links). Either locator is checked like the rest, never
 * trusted. docs/PROTOCOL.md 4.8 says what this can and cannot prove. */
#include "store.h"

#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "store_internal.h"

#define S_HEAD_KEY "audit_head"
#define S_HEAD_LEN (8 + S_HASH_LEN)

static size_t s_entry_key(uint8_t *key, const char *id, size_t idlen, uint32_t seq)
{
    memcpy(key, id, idlen);
    key[idlen] = 0;
    gr_put_u32(key + idlen + 1, seq);
    return idlen + 5;
}

/* The newest link: seq 0 and the zero hash while the ledger is empty. */
static int s_head_get(gr_txn_t *txn, bool *present, uint64_t *seq, uint8_t head[S_HASH_LEN])
{
    MDB_val v;
    *present = false;
    *seq = 0;
    memset(head, 0, S_HASH_LEN);
    int rc = s_get(txn, S_DB_META, S_HEAD_KEY, sizeof S_HEAD_KEY - 1, &v);
    if (rc == GR_ENOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (v.mv_size != S_HEAD_LEN)
        return GR_ESTORE;
    *present = true;
    *seq = gr_get_u64(v.mv_data);
    memcpy(head, (uint8_t *)v.mv_data + 8, S_HASH_LEN);
    return 0;
}

int gr_store_audit_head(gr_txn_t *txn, uint64_t *seq, uint8_t head[32])
{
    bool present;
    if (!txn || !seq || !head)
        return GR_EINVAL;
    return s_head_get(txn, &present, seq, head);
}

int gr_store_ledger_append(gr_txn_t *txn, const char *id, size_t idlen, uint32_t entry_seq,
                           const uint8_t entry_hash[S_HASH_LEN], uint64_t case_prev, bool index,
                           uint64_t *link_seq)
{
    bool present;
    uint64_t seq;
    uint8_t prev[S_HASH_LEN], head[S_HASH_LEN];
    int rc = s_head_get(txn, &present, &seq, prev);
    if (rc != 0)
        return rc;
    char idz[GR_EVENT_ID_MAX + 1];
    memcpy(idz, id, idlen);
    idz[idlen] = '\0';
    Gridrelay__AuditLink link = GRIDRELAY__AUDIT_LINK__INIT;
    link.seq = seq + 1;
    link.event_id = idz;
    link.entry_seq = entry_seq;
    link.entry_hash = (ProtobufCBinaryData){S_HASH_LEN, (uint8_t *)entry_hash};
    link.prev = (ProtobufCBinaryData){S_HASH_LEN, prev};
    link.case_prev = case_prev;
    rc = gr_chain_link_hash(head, &link);
    if (rc != 0)
        return rc;
    link.head = (ProtobufCBinaryData){S_HASH_LEN, head};
    uint8_t lkey[8], ekey[S_TIMELINE_KEY_MAX], val[S_HEAD_LEN];
    gr_put_u64(lkey, link.seq);
    rc = s_put_msg(txn, S_DB_AUDIT, lkey, sizeof lkey, &link.base, MDB_NOOVERWRITE);
    if (rc == 0 && index)
        rc = s_put_raw(txn, S_DB_AUDIT_INDEX, ekey, s_entry_key(ekey, id, idlen, entry_seq), lkey,
                       sizeof lkey, MDB_NOOVERWRITE);
    if (rc != 0)
        return rc;
    *link_seq = link.seq;
    gr_put_u64(val, link.seq);
    memcpy(val + 8, head, S_HASH_LEN);
    return s_put_raw(txn, S_DB_META, S_HEAD_KEY, sizeof S_HEAD_KEY - 1, val, sizeof val, 0);
}

/* The case's newest link, in its record: where the walk starts to follow
 * the case's links back (the backfill, after a case's last entry). */
static int s_set_ledger_last(gr_txn_t *txn, const char *id, size_t idlen, uint64_t link_seq)
{
    char idz[GR_EVENT_ID_MAX + 1];
    memcpy(idz, id, idlen);
    idz[idlen] = '\0';
    Gridrelay__StoredEvent *rec = NULL;
    int rc = gr_store_event_get(txn, idz, &rec);
    if (rc == GR_ENOTFOUND)
        return 0;  /* entries without a case: the walk says so */
    if (rc != 0)
        return rc;
    rec->ledger_last = link_seq;
    rc = gr_store_event_update(txn, rec);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    return rc;
}

/* A store written before the ledger: link its entries once, case by case
 * in id order, each case's in its own order, since their commit order is
 * not recorded anywhere; each case's links chained as from schema 4 on. */
int gr_store_ledger_backfill(gr_txn_t *txn)
{
    bool present;
    uint64_t seq;
    uint8_t head[S_HASH_LEN];
    int rc = s_head_get(txn, &present, &seq, head);
    if (rc != 0 || present)
        return rc;
    MDB_cursor *cur;
    rc = s_cursor(txn, S_DB_EVENTS, &cur);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (mrc == MDB_SUCCESS && rc == 0) {
        if (k.mv_size == 0 || k.mv_size > GR_EVENT_ID_MAX) {
            rc = GR_ESTORE;
            break;
        }
        char id[GR_EVENT_ID_MAX + 1];
        size_t idlen = k.mv_size;
        memcpy(id, k.mv_data, idlen);
        id[idlen] = '\0';
        uint64_t case_prev = 0;
        for (uint32_t entry_seq = 1; rc == 0; entry_seq++) {
            MDB_val ev;
            uint8_t *owned = NULL;
            rc = gr_store_entry_get(txn, id, idlen, entry_seq, &ev, &owned);
            if (rc == GR_ENOTFOUND) {
                rc = 0;
                break;
            }
            Gridrelay__TimelineEntry *e =
                rc == 0 ? gridrelay__timeline_entry__unpack(NULL, ev.mv_size, ev.mv_data) : NULL;
            if (rc == 0 && (!e || e->hash.len != S_HASH_LEN))
                rc = GR_ESTORE;
            if (rc == 0)
                rc = gr_store_ledger_append(txn, id, idlen, entry_seq, e->hash.data, case_prev,
                                            false, &case_prev);
            if (e)
                gridrelay__timeline_entry__free_unpacked(e, NULL);
            free(owned);
        }
        if (rc == 0 && case_prev)
            rc = s_set_ledger_last(txn, id, idlen, case_prev);
        if (rc == 0)
            mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc == 0 && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = s_mdb_err(mrc);
    return rc;
}

/* ---- the walk ---- */

enum { S_ALTERED = GRIDRELAY__AUDIT_FAULT__KIND__ALTERED,
       S_INSERTED = GRIDRELAY__AUDIT_FAULT__KIND__INSERTED,
       S_DELETED = GRIDRELAY__AUDIT_FAULT__KIND__DELETED };

/* The link seq audit_index gives the entry, 0 when it has none. */
static int s_index_get(gr_txn_t *txn, const char *id, size_t idlen, uint32_t seq,
                       uint64_t *link_seq)
{
    uint8_t key[S_TIMELINE_KEY_MAX];
    return s_get_u64_or_zero(txn, S_DB_AUDIT_INDEX, key, s_entry_key(key, id, idlen, seq),
                             link_seq);
}

/* Each entry of a case that its chain accepted must be named by its link:
 * an entry the ledger does not know was added. The links are found from
 * the newest entry back, through the case record's ledger_last and each
 * link's case_prev; where that chain ends before entry 1 (entries linked
 * before schema 4), audit_index locates the rest. */
static int s_case_in_ledger(gr_txn_t *txn, gr_chain_fault_t *fault, const char *id,
                            uint64_t ledger_last, const gr_chain_item_t *items, size_t n)
{
    size_t idlen = strlen(id);
    uint64_t next = ledger_last;
    for (size_t i = n; i-- > 0;) {
        uint32_t pos = items[i].key_seq;
        uint64_t lseq = next;
        int rc = lseq ? 0 : s_index_get(txn, id, idlen, pos, &lseq);
        if (rc != 0)
            return rc;
        next = 0;
        MDB_val v;
        uint8_t lkey[8];
        gr_put_u64(lkey, lseq);
        rc = lseq ? s_get(txn, S_DB_AUDIT, lkey, sizeof lkey, &v) : GR_ENOTFOUND;
        if (rc == GR_ENOTFOUND) {
            gr_chain_fault_set(fault, S_INSERTED, id, pos, false,
                               "entry %u is not in the node's ledger: it was added outside "
                               "gridrelayd", pos);
            return 1;
        }
        if (rc != 0)
            return rc;
        Gridrelay__AuditLink *l = gridrelay__audit_link__unpack(NULL, v.mv_size, v.mv_data);
        if (l && l->event_id && strcmp(l->event_id, id) == 0 && l->entry_seq > pos &&
            l->case_prev < lseq) {
            /* A link of an entry newer than those left (the newest removed,
             * the record made to agree): stepped over here, and named as
             * missing by the ledger's walk. */
            next = l->case_prev;
            gridrelay__audit_link__free_unpacked(l, NULL);
            i++;
            continue;
        }
        /* The last 32 bytes of a canonical entry are its hash (field 13 is
         * its last field): the chain check has just shown it canonical. */
        const uint8_t *hash = items[i].data + items[i].len - S_HASH_LEN;
        bool same = l && l->event_id && strcmp(l->event_id, id) == 0 && l->entry_seq == pos
                    && l->entry_hash.len == S_HASH_LEN
                    && memcmp(l->entry_hash.data, hash, S_HASH_LEN) == 0
                    && l->case_prev < lseq;
        if (same)
            next = l->case_prev;
        if (l)
            gridrelay__audit_link__free_unpacked(l, NULL);
        if (!same) {
            gr_chain_fault_set(fault, S_ALTERED, id, pos, false,
                               "entry %u is not the entry ledger link %llu recorded", pos,
                               (unsigned long long)lseq);
            return 1;
        }
    }
    return 0;
}

typedef struct {
    gr_txn_t *txn;
    gr_store_audit_t *result;
    gr_chain_fault_t *fault;
    gr_chain_item_t *items;
    size_t cap;
    uint8_t **copies;           /* opened sealed entries, one per item (or NULL) */
    size_t n_copies;
} s_walk_t;

/* The opened copies of the case just checked (a sealed entry is opened
 * into a buffer that the next read reuses, and a case's entries are
 * checked together). */
static void s_walk_drop_copies(s_walk_t *w)
{
    for (size_t i = 0; i < w->n_copies; i++)
        free(w->copies[i]);
    w->n_copies = 0;
}

static int s_check_one_case(s_walk_t *w, const char *id, size_t n)
{
    Gridrelay__StoredEvent *rec = NULL;
    int rc = gr_store_event_get(w->txn, id, &rec);
    if (rc != 0 && rc != GR_ENOTFOUND && rc != GR_EDECODE)
        return rc;
    if (rc == GR_EDECODE) {
        gr_chain_fault_set(w->fault, S_ALTERED, id, 0, false,
                           "the case record no longer decodes");
        return 1;
    }
    if (!rec) {
        gr_chain_fault_set(w->fault, S_DELETED, id, 0, false,
                           "the case has timeline entries but no case record");
        return 1;
    }
    uint8_t head[S_HASH_LEN];
    rc = gr_chain_check_case(head, w->fault, id, w->items, n, true, rec->timeline_len,
                             rec->last_hash.len == S_HASH_LEN ? rec->last_hash.data : NULL);
    uint64_t ledger_last = rec->ledger_last;
    gridrelay__stored_event__free_unpacked(rec, NULL);
    if (rc == 0)
        rc = s_case_in_ledger(w->txn, w->fault, id, ledger_last, w->items, n);
    w->result->entries += n;
    w->result->cases++;
    return rc;
}

/* Makes room for one more item of the case being gathered. */
static int s_walk_room(s_walk_t *w, size_t n)
{
    if (n < w->cap)
        return 0;
    size_t ncap = w->cap ? w->cap * 2 : 32;
    gr_chain_item_t *ni = realloc(w->items, ncap * sizeof *ni);
    if (!ni)
        return GR_ENOMEM;
    w->items = ni;
    uint8_t **nc = realloc(w->copies, ncap * sizeof *nc);
    if (!nc)
        return GR_ENOMEM;
    w->copies = nc;
    w->cap = ncap;
    return 0;
}

/* Entry 1 of case id from its record (schema 4 on) as item n, when the
 * record holds it: *added 1, else 0 (none there: the chain check finds
 * entry 1 missing, or phase 3 a record without a timeline). */
static int s_walk_first(s_walk_t *w, const char *id, size_t idlen, size_t n, int *added)
{
    *added = 0;
    MDB_val v;
    uint8_t *owned = NULL;
    int rc = s_walk_room(w, n);
    if (rc == 0)
        rc = gr_store_entry_get(w->txn, id, idlen, 1, &v, &owned);
    if (rc == GR_ENOTFOUND || (rc == 0 && !owned))
        return 0;  /* not in the record (a timeline row is read as such) */
    if (rc == GR_EDECODE) {
        gr_chain_fault_set(w->fault, S_ALTERED, id, 0, false, "the case record no longer decodes");
        return 1;
    }
    if (rc != 0)
        return rc;
    w->copies[w->n_copies++] = owned;
    w->items[n] = (gr_chain_item_t){1, owned, v.mv_size};
    *added = 1;
    return 0;
}

/* Orders a record's key against a timeline group's id as the two
 * databases do (bytes, then length: 0x00 ends an id in the timeline). */
static int s_idcmp(const void *a, size_t alen, const void *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/* The case records before id (all that are left with id NULL), which no
 * timeline row names: cases of one entry since schema 4, their entry in
 * the record. Each is checked like a case of the timeline; the events
 * cursor ends past id's own record. */
static int s_walk_lone(s_walk_t *w, MDB_cursor *ecur, int *emrc, const char *id, size_t idlen)
{
    MDB_val k, v;
    int rc = 0;
    while (rc == 0 && *emrc == MDB_SUCCESS) {
        if ((*emrc = mdb_cursor_get(ecur, &k, &v, MDB_GET_CURRENT)) != MDB_SUCCESS)
            break;
        int cmp = id ? s_idcmp(k.mv_data, k.mv_size, id, idlen) : -1;
        if (cmp > 0)
            break;
        if (cmp < 0 && k.mv_size > 0 && k.mv_size <= GR_EVENT_ID_MAX) {
            char lone[GR_EVENT_ID_MAX + 1];
            memcpy(lone, k.mv_data, k.mv_size);
            lone[k.mv_size] = '\0';
            int added = 0;
            rc = s_walk_first(w, lone, k.mv_size, 0, &added);
            if (rc == 0 && added)
                rc = s_check_one_case(w, lone, 1);
            s_walk_drop_copies(w);
        }
        if (rc == 0)
            *emrc = mdb_cursor_get(ecur, &k, &v, MDB_NEXT);
    }
    if (*emrc != MDB_SUCCESS && *emrc != MDB_NOTFOUND && rc == 0)
        rc = s_mdb_err(*emrc);
    return rc;
}

/* Phase 1: every case's chain, case by case in id order: the timeline's
 * groups, merged with the case records that hold entry 1 themselves. */
static int s_walk_cases(s_walk_t *w)
{
    MDB_cursor *cur, *ecur;
    int rc = s_cursor(w->txn, S_DB_TIMELINE, &cur);
    if (rc != 0)
        return rc;
    if ((rc = s_cursor(w->txn, S_DB_EVENTS, &ecur)) != 0) {
        mdb_cursor_close(cur);
        return rc;
    }
    MDB_val ek, ev;
    int emrc = mdb_cursor_get(ecur, &ek, &ev, MDB_FIRST);
    char id[GR_EVENT_ID_MAX + 1] = "";
    size_t n = 0;
    MDB_val k, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    for (;; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *key = k.mv_data;
        bool end = mrc != MDB_SUCCESS;
        if (!end && (k.mv_size < 6 || k.mv_size - 5 > GR_EVENT_ID_MAX || key[k.mv_size - 5])) {
            gr_chain_fault_set(w->fault, S_INSERTED, "", 0, false,
                               "the timeline holds a record whose key is not id | 0 | seq");
            rc = 1;
            break;
        }
        size_t idlen = end ? 0 : k.mv_size - 5;
        bool same = !end && n && strlen(id) == idlen && memcmp(id, key, idlen) == 0;
        if (n && !same) {
            rc = s_check_one_case(w, id, n);
            s_walk_drop_copies(w);
            n = 0;
            if (rc != 0)
                break;
        }
        if (end)
            break;
        if (n == 0) {
            memcpy(id, key, idlen);
            id[idlen] = '\0';
            /* The records before this case, then its own entry 1 when
             * its record holds it (the group starts at entry 2). */
            if ((rc = s_walk_lone(w, ecur, &emrc, id, idlen)) != 0)
                break;
            int added = 0;
            if (gr_get_u32(key + idlen + 1) != 1 && (rc = s_walk_first(w, id, idlen, 0, &added)) != 0)
                break;
            n += (size_t)added;
        }
        if ((rc = s_walk_room(w, n)) != 0)
            break;
        if (gr_datakey_is_sealed(v.mv_data, v.mv_size, NULL)) {
            rc = s_unseal(w->txn, S_DB_TIMELINE, k.mv_data, k.mv_size, &v);
            uint8_t *copy = rc == 0 ? malloc(v.mv_size ? v.mv_size : 1) : NULL;
            if (rc == 0 && !copy)
                rc = GR_ENOMEM;
            if (rc != 0)
                break;
            memcpy(copy, v.mv_data, v.mv_size);
            w->copies[w->n_copies++] = copy;
            v.mv_data = copy;
        }
        w->items[n++] = (gr_chain_item_t){gr_get_u32(key + idlen + 1), v.mv_data, v.mv_size};
    }
    mdb_cursor_close(cur);
    if (rc == 0 && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = s_mdb_err(mrc);
    if (rc == 0)
        rc = s_walk_lone(w, ecur, &emrc, NULL, 0);
    mdb_cursor_close(ecur);
    return rc;
}

static int s_link_entry_check(s_walk_t *w, const Gridrelay__AuditLink *l, const char *id,
                              size_t idlen, int rc, const MDB_val *found);

/* The entry a link names must be there, be the one it names, and be the
 * one whose index points back at this link (not a second link to it). */
static int s_link_entry(s_walk_t *w, const Gridrelay__AuditLink *l)
{
    size_t idlen;
    const char *id = l->event_id;
    if (s_check_id(id, &idlen) != 0) {
        gr_chain_fault_set(w->fault, S_ALTERED, "", l->seq, true,
                           "ledger link %llu names no valid case id", (unsigned long long)l->seq);
        return 1;
    }
    MDB_val v;
    uint8_t *owned = NULL;
    int rc = gr_store_entry_get(w->txn, id, idlen, l->entry_seq, &v, &owned);
    rc = s_link_entry_check(w, l, id, idlen, rc, &v);
    free(owned);
    return rc;
}

/* s_link_entry once the entry was looked up (rc its lookup's result). */
static int s_link_entry_check(s_walk_t *w, const Gridrelay__AuditLink *l, const char *id,
                              size_t idlen, int rc, const MDB_val *found)
{
    MDB_val v = *found;
    if (rc == GR_ENOTFOUND) {
        int held = gr_store_event_exists(w->txn, id);
        if (held < 0)
            return held;
        if (held)
            gr_chain_fault_set(w->fault, S_DELETED, id, l->entry_seq, false,
                               "entry %u is missing: ledger link %llu recorded it", l->entry_seq,
                               (unsigned long long)l->seq);
        else
            gr_chain_fault_set(w->fault, S_DELETED, id, l->entry_seq, false,
                               "the whole case is missing: ledger link %llu recorded its entry %u",
                               (unsigned long long)l->seq, l->entry_seq);
        return 1;
    }
    if (rc != 0)
        return rc;
    uint64_t back;
    rc = s_index_get(w->txn, id, idlen, l->entry_seq, &back);
    if (rc != 0)
        return rc;
    if (v.mv_size < S_HASH_LEN
        || memcmp((uint8_t *)v.mv_data + v.mv_size - S_HASH_LEN, l->entry_hash.data, S_HASH_LEN)) {
        gr_chain_fault_set(w->fault, S_ALTERED, id, l->entry_seq, false,
                           "entry %u is not the entry ledger link %llu recorded", l->entry_seq,
                           (unsigned long long)l->seq);
        return 1;
    }
    /* No locator: linked from schema 4 on, so phase 1 reached this entry
     * through its case's links, one link per entry; that no second link
     * names it shows in the count of links against entries (s_walk). */
    if (back != 0 && back != l->seq) {
        gr_chain_fault_set(w->fault, S_INSERTED, id, l->seq, true,
                           "ledger link %llu names entry %u, which link %llu records",
                           (unsigned long long)l->seq, l->entry_seq, (unsigned long long)back);
        return 1;
    }
    return 0;
}

/* Phase 2: the ledger link by link, then its stored head. */
static int s_walk_ledger(s_walk_t *w, const gr_store_anchor_t *anchor)
{
    MDB_cursor *cur;
    int rc = s_cursor(w->txn, S_DB_AUDIT, &cur);
    if (rc != 0)
        return rc;
    gr_chain_ledger_t walk;
    gr_chain_ledger_init(&walk);
    MDB_val k, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    for (; mrc == MDB_SUCCESS; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8) {
            gr_chain_fault_set(w->fault, S_INSERTED, "", walk.seq + 1, true,
                               "the ledger holds a record whose key is not a link seq");
            rc = 1;
            break;
        }
        Gridrelay__AuditLink *l;
        rc = gr_chain_ledger_next(&walk, &l, w->fault, gr_get_u64(k.mv_data), v.mv_data,
                                  v.mv_size);
        if (rc != 0)
            break;
        rc = s_link_entry(w, l);
        if (rc == 0 && anchor && anchor->seq == l->seq
            && memcmp(anchor->head, l->head.data, S_HASH_LEN) != 0) {
            gr_chain_fault_set(w->fault, S_ALTERED, l->event_id, l->seq, true,
                               "ledger link %llu is not the one anchored: the ledger up to it "
                               "was rewritten", (unsigned long long)l->seq);
            rc = 1;
        }
        gridrelay__audit_link__free_unpacked(l, NULL);
        if (rc != 0)
            break;
    }
    mdb_cursor_close(cur);
    if (rc != 0)
        return rc;
    if (mrc != MDB_NOTFOUND)
        return s_mdb_err(mrc);
    bool present;
    uint64_t seq;
    uint8_t head[S_HASH_LEN];
    rc = s_head_get(w->txn, &present, &seq, head);
    if (rc != 0)
        return rc;
    unsigned long long have = (unsigned long long)walk.seq;
    if (seq > walk.seq) {
        gr_chain_fault_set(w->fault, S_DELETED, "", walk.seq + 1, true,
                           "ledger links %llu to %llu are missing: the ledger's head counts %llu",
                           have + 1, (unsigned long long)seq, (unsigned long long)seq);
        return 1;
    }
    if (seq < walk.seq || memcmp(head, walk.head, S_HASH_LEN) != 0) {
        gr_chain_fault_set(w->fault, seq < walk.seq ? S_INSERTED : S_ALTERED, "", walk.seq, true,
                           "the ledger's stored head (link %llu) is not its newest link %llu",
                           (unsigned long long)seq, have);
        return 1;
    }
    if (anchor && anchor->seq > walk.seq) {
        gr_chain_fault_set(w->fault, S_DELETED, "", walk.seq + 1, true,
                           "the ledger ends at link %llu, before the anchored link %llu", have,
                           (unsigned long long)anchor->seq);
        return 1;
    }
    /* Phase 1 found a link of its own for every entry; a link more names
     * some entry a second time. */
    if (walk.seq > w->result->entries) {
        gr_chain_fault_set(w->fault, S_INSERTED, "", walk.seq, true,
                           "the ledger holds %llu links for %llu timeline entries: a link names "
                           "an entry that another link records", have,
                           (unsigned long long)w->result->entries);
        return 1;
    }
    w->result->links = walk.seq;
    memcpy(w->result->head, walk.head, S_HASH_LEN);
    return 0;
}

/* Phase 3: a case record must have a timeline. One whose entries were
 * removed was named by phase 2 (the ledger knows them); one without any
 * the ledger knows of was added outside gridrelayd. */
static int s_walk_records(s_walk_t *w)
{
    MDB_cursor *cur;
    int rc = s_cursor(w->txn, S_DB_EVENTS, &cur);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    for (; mrc == MDB_SUCCESS; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char id[GR_EVENT_ID_MAX + 1];
        size_t idlen = k.mv_size;
        MDB_val first;
        if (idlen == 0 || idlen > GR_EVENT_ID_MAX) {
            rc = GR_ENOTFOUND;
        } else {
            memcpy(id, k.mv_data, idlen);
            id[idlen] = '\0';
            uint8_t *owned = NULL;
            rc = gr_store_entry_get(w->txn, id, idlen, 1, &first, &owned);
            free(owned);
        }
        if (rc == GR_ENOTFOUND) {
            gr_chain_fault_set(w->fault, S_INSERTED, idlen <= GR_EVENT_ID_MAX ? id : "", 1,
                               false, "a case record without a timeline, and unknown to the "
                               "ledger: it was added outside gridrelayd");
            rc = 1;
        }
        if (rc != 0)
            break;
    }
    mdb_cursor_close(cur);
    if (rc == 0 && mrc != MDB_NOTFOUND)
        rc = s_mdb_err(mrc);
    return rc;
}

int gr_store_audit_verify(gr_txn_t *txn, const gr_store_anchor_t *anchor,
                          gr_store_audit_t *result, gr_chain_fault_t *fault)
{
    if (!txn || !result || !fault)
        return GR_EINVAL;
    memset(result, 0, sizeof *result);
    memset(fault, 0, sizeof *fault);
    s_walk_t w = {txn, result, fault, NULL, 0, NULL, 0};
    int rc = s_walk_cases(&w);
    s_walk_drop_copies(&w);
    free(w.copies);
    free(w.items);
    if (rc == 0)
        rc = s_walk_ledger(&w, anchor);
    if (rc == 0)
        rc = s_walk_records(&w);
    return rc;
}

/* The link of each of a case's n entries (entry i + 1 at lks[i]; NULL
 * where none names it), newest first: through the case record's
 * ledger_last and the links' case_prev, and audit_index where that chain
 * ends (entries linked before schema 4). */
static int s_case_links(gr_txn_t *txn, const char *id, size_t idlen, Gridrelay__AuditLink **lks,
                        size_t n)
{
    Gridrelay__StoredEvent *rec = NULL;
    int rc = gr_store_event_get(txn, id, &rec);
    if (rc != 0 && rc != GR_ENOTFOUND && rc != GR_EDECODE)
        return rc;
    uint64_t next = rec ? rec->ledger_last : 0;
    if (rec)
        gridrelay__stored_event__free_unpacked(rec, NULL);
    for (size_t i = n; i-- > 0;) {
        uint64_t lseq = next;
        next = 0;
        if (!lseq && (rc = s_index_get(txn, id, idlen, (uint32_t)(i + 1), &lseq)) != 0)
            return rc;
        uint8_t lkey[8];
        MDB_val lv;
        gr_put_u64(lkey, lseq);
        if (!lseq || s_get(txn, S_DB_AUDIT, lkey, sizeof lkey, &lv) != 0)
            continue;
        lks[i] = gridrelay__audit_link__unpack(NULL, lv.mv_size, lv.mv_data);
        if (lks[i] && lks[i]->entry_seq == i + 1 && lks[i]->case_prev < lseq)
            next = lks[i]->case_prev;
    }
    return 0;
}

int gr_store_audit_case(gr_txn_t *txn, const char *id, ProtobufCBinaryData **entries,
                        Gridrelay__AuditLink ***links, size_t *n)
{
    size_t idlen;
    if (!entries || !links || !n)
        return GR_EINVAL;
    *entries = NULL;
    *links = NULL;
    *n = 0;
    if (!txn || s_check_id(id, &idlen) != 0)
        return GR_EINVAL;
    uint8_t prefix[S_TIMELINE_KEY_MAX];
    s_entry_key(prefix, id, idlen, 0);
    MDB_cursor *cur;
    int rc = s_cursor(txn, S_DB_TIMELINE, &cur);
    if (rc != 0)
        return rc;
    size_t count = 0, cap = 0;
    ProtobufCBinaryData *ents = NULL;
    Gridrelay__AuditLink **lks = NULL;
    MDB_val k = {idlen + 1, prefix}, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    bool first_row = mrc == MDB_SUCCESS && k.mv_size == idlen + 5
                     && memcmp(k.mv_data, prefix, idlen + 1) == 0
                     && gr_get_u32((uint8_t *)k.mv_data + idlen + 1) == 1;
    MDB_val fv = {0, NULL};
    /* Entry 1 in the record (schema 4 on): first. */
    if (!first_row && (rc = gr_store_entry_get(txn, id, idlen, 1, &fv, NULL)) == GR_ENOTFOUND)
        rc = 0;
    if (rc == 0 && fv.mv_size) {
        cap = 16;
        ents = malloc(cap * sizeof *ents);
        lks = malloc(cap * sizeof *lks);
        if (!ents || !lks)
            rc = GR_ENOMEM;
        else {
            ents[0] = (ProtobufCBinaryData){fv.mv_size, fv.mv_data};
            lks[0] = NULL;
            count = 1;
        }
    }
    while (rc == 0 && mrc == MDB_SUCCESS && k.mv_size == idlen + 5
           && memcmp(k.mv_data, prefix, idlen + 1) == 0) {
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            ProtobufCBinaryData *ne = realloc(ents, cap * sizeof *ne);
            if (ne)
                ents = ne;
            Gridrelay__AuditLink **nl = realloc(lks, cap * sizeof *nl);
            if (nl)
                lks = nl;
            if (!ne || !nl) {
                rc = GR_ENOMEM;
                break;
            }
        }
        uint8_t *copy = s_txn_alloc(txn, v.mv_size ? v.mv_size : 1);
        if (!copy) {
            rc = GR_ENOMEM;
            break;
        }
        /* Opening only shrinks a value: copy has room. */
        if ((rc = s_unseal(txn, S_DB_TIMELINE, k.mv_data, k.mv_size, &v)) != 0)
            break;
        memcpy(copy, v.mv_data, v.mv_size);
        ents[count] = (ProtobufCBinaryData){v.mv_size, copy};
        lks[count] = NULL;
        count++;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc == 0 && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = s_mdb_err(mrc);
    if (rc == 0 && count > 0)
        rc = s_case_links(txn, id, idlen, lks, count);
    if (rc == 0 && count == 0)
        rc = GR_ENOTFOUND;
    if (rc != 0) {
        gr_store_audit_links_free(lks, count);
        free(ents);
        return rc;
    }
    *entries = ents;
    *links = lks;
    *n = count;
    return 0;
}

void gr_store_audit_links_free(Gridrelay__AuditLink **links, size_t n)
{
    if (!links)
        return;
    for (size_t i = 0; i < n; i++)
        if (links[i])
            gridrelay__audit_link__free_unpacked(links[i], NULL);
    free(links);
}
