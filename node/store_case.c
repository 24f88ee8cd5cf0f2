/* Cases in the store: event records, their hash-chained timelines, and
 * listing by time. The contract is in store.h; what this file shares with
 * store.c and store_queue.c is in store_internal.h. */
#include "store.h"

#include <lmdb.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "store_internal.h"

/* ---- events and timelines ---- */

/* Sets a 32-byte field. When the field already holds 32 bytes the bytes are
 * overwritten in place: a message from protobuf-c's unpack owns that buffer,
 * and swapping the pointer would leak it and later make free_unpacked()
 * free store memory. Otherwise the bytes go to per-transaction memory. */
static int s_set_hash_field(gr_txn_t *txn, ProtobufCBinaryData *field, const uint8_t *src)
{
    if (field->len == S_HASH_LEN && field->data) {
        memmove(field->data, src, S_HASH_LEN);
        return 0;
    }
    uint8_t *copy = s_txn_alloc(txn, S_HASH_LEN);
    if (!copy)
        return GR_ENOMEM;
    memcpy(copy, src, S_HASH_LEN);
    field->data = copy;
    field->len = S_HASH_LEN;
    return 0;
}

int gr_store_event_get(gr_txn_t *txn, const char *id, Gridrelay__StoredEvent **out)
{
    if (!out)
        return GR_EINVAL;
    *out = NULL;
    size_t idlen;
    if (!txn || s_check_id(id, &idlen) != 0)
        return GR_EINVAL;
    MDB_val v;
    int rc = s_get(txn, S_DB_EVENTS, id, idlen, &v);
    if (rc != 0)
        return rc;
    *out = gr_store_record_unpack(&v);
    return *out ? 0 : GR_EDECODE;
}

int gr_store_event_exists(gr_txn_t *txn, const char *id)
{
    size_t idlen;
    if (!txn || s_check_id(id, &idlen) != 0)
        return GR_EINVAL;
    MDB_val v;
    int rc = s_get(txn, S_DB_EVENTS, id, idlen, &v);
    if (rc == GR_ENOTFOUND)
        return 0;
    return rc == 0 ? 1 : rc;
}

/* id | 0x00 | seq: no id contains 0x00, so the entries of "ab" sort apart
 * from those of "abc" and a prefix scan finds exactly one case's history. */
static size_t s_timeline_key(uint8_t *key, const char *id, size_t idlen, uint32_t seq)
{
    memcpy(key, id, idlen);
    key[idlen] = 0;
    gr_put_u32(key + idlen + 1, seq);
    return idlen + 5;
}

/* Chains entry (whose seq is set) after prev, stores it and links it into
 * the node's ledger, after the case's previous link (rec->ledger_last,
 * which then names the new one). NOOVERWRITE: an existing entry at this
 * seq means the caller's record is stale. */
static int s_write_entry(gr_txn_t *txn, Gridrelay__StoredEvent *rec, const char *id, size_t idlen,
                         Gridrelay__TimelineEntry *entry, const uint8_t *prev, bool in_timeline)
{
    int rc = s_set_hash_field(txn, &entry->prev_hash, prev);
    if (rc != 0)
        return rc;
    uint8_t hash[S_HASH_LEN];
    rc = gr_chain_entry_hash(hash, entry, prev);
    if (rc != 0)
        return rc;
    rc = s_set_hash_field(txn, &entry->hash, hash);
    if (rc != 0)
        return rc;
    if (in_timeline) {
        uint8_t key[S_TIMELINE_KEY_MAX];
        size_t keylen = s_timeline_key(key, id, idlen, entry->seq);
        rc = s_put_msg(txn, S_DB_TIMELINE, key, keylen, &entry->base, MDB_NOOVERWRITE);
        if (rc != 0)
            return rc;
    }
    return gr_store_ledger_append(txn, id, idlen, entry->seq, hash, rec->ledger_last, false,
                                  &rec->ledger_last);
}

/* Puts rec, with its entry 1 (first_entry) when the caller's copy lacks
 * it: a record written from a message that did not come from the store.
 * The field is set for the put only: the caller's message keeps what it
 * owns (protobuf-c frees an unpacked message's fields). A case written
 * before schema 4 has entry 1 in the timeline and none to carry. */
static int s_put_record(gr_txn_t *txn, Gridrelay__StoredEvent *rec, const char *id, size_t idlen,
                        unsigned flags)
{
    ProtobufCBinaryData kept = rec->first_entry;
    if (rec->first_entry.len == 0 && rec->timeline_len >= 1) {
        uint8_t key[S_TIMELINE_KEY_MAX];
        MDB_val v;
        int rc = s_get(txn, S_DB_TIMELINE, key, s_timeline_key(key, id, idlen, 1), &v);
        if (rc == GR_ENOTFOUND && (rc = gr_store_entry_get(txn, id, idlen, 1, &v, NULL)) == 0)
            rec->first_entry = (ProtobufCBinaryData){v.mv_size, v.mv_data};
        if (rc != 0)
            return rc;
    }
    int rc = gr_store_record_put(txn, rec, id, idlen, flags);
    rec->first_entry = kept;
    return rc;
}

int gr_store_entry_get(gr_txn_t *txn, const char *id, size_t idlen, uint32_t seq, MDB_val *out,
                       uint8_t **owned)
{
    if (owned)
        *owned = NULL;
    uint8_t key[S_TIMELINE_KEY_MAX];
    int rc = s_get(txn, S_DB_TIMELINE, key, s_timeline_key(key, id, idlen, seq), out);
    if (rc != GR_ENOTFOUND || seq != 1)
        return rc;
    MDB_val v;
    if ((rc = s_get(txn, S_DB_EVENTS, id, idlen, &v)) != 0)
        return rc;
    Gridrelay__StoredEvent *rec = gridrelay__stored_event__unpack(NULL, v.mv_size, v.mv_data);
    if (!rec)
        return GR_EDECODE;
    rc = GR_ENOTFOUND;
    size_t flen = rec->first_entry.len;
    uint8_t *copy = !flen ? NULL : owned ? malloc(flen) : s_txn_alloc(txn, flen);
    if (owned)
        *owned = copy;
    if (rec->first_entry.len && !copy)
        rc = GR_ENOMEM;
    if (copy) {
        memcpy(copy, rec->first_entry.data, rec->first_entry.len);
        *out = (MDB_val){rec->first_entry.len, copy};
        rc = 0;
    }
    gridrelay__stored_event__free_unpacked(rec, NULL);
    return rc;
}

int gr_store_event_create(gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                          Gridrelay__TimelineEntry *first)
{
    size_t idlen;
    if (!txn || !txn->write || !rec || !rec->event || !first
        || s_check_id(rec->event->id, &idlen) != 0)
        return GR_EINVAL;
    const char *id = rec->event->id;
    MDB_val v;
    int rc = s_get(txn, S_DB_EVENTS, id, idlen, &v);
    if (rc == 0)
        return GR_EEXIST;
    if (rc != GR_ENOTFOUND)
        return rc;

    static const uint8_t zero[S_HASH_LEN];
    first->seq = 1;
    rec->ledger_last = 0;
    rc = s_write_entry(txn, rec, id, idlen, first, zero, false);
    if (rc != 0)
        return rc;
    /* Entry 1 rides in the record (schema 4): one tree less per case. */
    size_t flen = protobuf_c_message_get_packed_size(&first->base);
    uint8_t *fbytes = s_txn_alloc(txn, flen ? flen : 1);
    if (!fbytes)
        return GR_ENOMEM;
    protobuf_c_message_pack(&first->base, fbytes);
    rec->timeline_len = 1;
    rec->status = first->to_status;
    rec->updated_ms = first->time_ms;
    /* A copy of its own, not first->hash: a later append overwrites
     * last_hash in place and must not change the caller's first entry. */
    rc = s_set_hash_field(txn, &rec->last_hash, first->hash.data);
    if (rc != 0)
        return rc;
    ProtobufCBinaryData kept = rec->first_entry;
    rec->first_entry = (ProtobufCBinaryData){flen, fbytes};
    unsigned flags = MDB_NOOVERWRITE | s_append_flag(txn, S_DB_EVENTS, id, idlen);
    rc = gr_store_record_put(txn, rec, id, idlen, flags);
    rec->first_entry = kept;
    if (rc != 0)
        return rc;
    uint8_t tkey[S_TIME_KEY_MAX];
    gr_put_u64(tkey, rec->received_ms);
    memcpy(tkey + 8, id, idlen);
    return s_put_raw(txn, S_DB_BY_TIME, tkey, 8 + idlen, "", 0, MDB_NOOVERWRITE);
}

/* The previous hash comes from the stored entry, not from rec->last_hash,
 * so a caller's edit of rec cannot fork the chain. Errors: GR_ENOTFOUND if
 * rec's newest entry is not stored, GR_EEXIST if rec is stale (a newer
 * entry exists). */
int gr_store_event_append(gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                          Gridrelay__TimelineEntry *entry)
{
    size_t idlen;
    if (!txn || !txn->write || !rec || !rec->event || !entry
        || s_check_id(rec->event->id, &idlen) != 0
        || rec->timeline_len == 0 || rec->timeline_len == UINT32_MAX)
        return GR_EINVAL;
    const char *id = rec->event->id;
    MDB_val v;
    int rc = gr_store_entry_get(txn, id, idlen, rec->timeline_len, &v, NULL);
    if (rc != 0)
        return rc;
    Gridrelay__TimelineEntry *last = gridrelay__timeline_entry__unpack(NULL, v.mv_size,
                                                                       v.mv_data);
    if (!last)
        return GR_EDECODE;
    uint8_t prev[S_HASH_LEN];
    bool ok = last->hash.len == S_HASH_LEN;
    if (ok)
        memcpy(prev, last->hash.data, S_HASH_LEN);
    gridrelay__timeline_entry__free_unpacked(last, NULL);
    if (!ok)
        return GR_ESIGNATURE;

    entry->seq = rec->timeline_len + 1;
    rc = s_write_entry(txn, rec, id, idlen, entry, prev, true);
    if (rc != 0)
        return rc;
    if (entry->to_status != GRIDRELAY__STATUS__STATUS_UNSPECIFIED)
        rec->status = entry->to_status;
    rec->updated_ms = entry->time_ms;
    rec->timeline_len = entry->seq;
    rc = s_set_hash_field(txn, &rec->last_hash, entry->hash.data);
    if (rc != 0)
        return rc;
    return s_put_record(txn, rec, id, idlen, 0);
}

void gr_store_timeline_free(Gridrelay__TimelineEntry **entries, size_t n)
{
    if (!entries)
        return;
    for (size_t i = 0; i < n; i++)
        gridrelay__timeline_entry__free_unpacked(entries[i], NULL);
    free(entries);
}

int gr_store_event_update(gr_txn_t *txn, const Gridrelay__StoredEvent *rec)
{
    size_t idlen;
    if (!txn || !txn->write || !rec || !rec->event || s_check_id(rec->event->id, &idlen) != 0 ||
        rec->timeline_len == 0)
        return GR_EINVAL;
    return s_put_record(txn, (Gridrelay__StoredEvent *)rec, rec->event->id, idlen, 0);
}

int gr_store_timeline_get(gr_txn_t *txn, const char *id,
                          Gridrelay__TimelineEntry ***entries, size_t *n)
{
    if (!entries || !n)
        return GR_EINVAL;
    *entries = NULL;
    *n = 0;
    size_t idlen;
    if (!txn || s_check_id(id, &idlen) != 0)
        return GR_EINVAL;
    uint8_t prefix[S_TIMELINE_KEY_MAX];
    s_timeline_key(prefix, id, idlen, 0);
    MDB_cursor *cur;
    int rc = s_cursor(txn, S_DB_TIMELINE, &cur);
    if (rc != 0)
        return rc;
    Gridrelay__TimelineEntry **list = NULL;
    size_t count = 0, cap = 0;
    MDB_val k = {idlen + 1, prefix}, v;
    int mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    /* Entry 1 from the record unless the timeline holds it (before 4). */
    bool first_there = mrc == MDB_SUCCESS && k.mv_size == idlen + 5
                       && memcmp(k.mv_data, prefix, idlen + 1) == 0
                       && gr_get_u32((uint8_t *)k.mv_data + idlen + 1) == 1;
    if (!first_there) {
        MDB_val fv = {0, NULL};
        rc = gr_store_entry_get(txn, id, idlen, 1, &fv, NULL);
        if (rc != 0 && rc != GR_ENOTFOUND)
            goto fail;
        rc = 0;
        if (fv.mv_size && (list = malloc(8 * sizeof *list)) == NULL) {
            rc = GR_ENOMEM;
            goto fail;
        }
        if (list) {
            cap = 8;
            if (!(list[0] = gridrelay__timeline_entry__unpack(NULL, fv.mv_size, fv.mv_data))) {
                rc = GR_EDECODE;
                goto fail;
            }
            count = 1;
        }
    }
    while (mrc == MDB_SUCCESS && k.mv_size == idlen + 5
           && memcmp(k.mv_data, prefix, idlen + 1) == 0) {
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            Gridrelay__TimelineEntry **nl = realloc(list, ncap * sizeof *nl);
            if (!nl) {
                rc = GR_ENOMEM;
                goto fail;
            }
            list = nl;
            cap = ncap;
        }
        if ((rc = s_unseal(txn, S_DB_TIMELINE, k.mv_data, k.mv_size, &v)) != 0)
            goto fail;
        list[count] = gridrelay__timeline_entry__unpack(NULL, v.mv_size, v.mv_data);
        if (!list[count]) {
            rc = GR_EDECODE;
            goto fail;
        }
        count++;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND) {
        rc = s_mdb_err(mrc);
        goto fail;
    }
    mdb_cursor_close(cur);
    if (count == 0)
        return GR_ENOTFOUND;
    *entries = list;
    *n = count;
    return 0;
fail:
    mdb_cursor_close(cur);
    gr_store_timeline_free(list, count);
    return rc;
}

/* Besides each link, checks the record's timeline_len and last_hash against
 * the newest entry, which is what catches a truncated tail. */
int gr_store_timeline_verify(gr_txn_t *txn, const char *id)
{
    Gridrelay__TimelineEntry **entries;
    size_t n;
    int rc = gr_store_timeline_get(txn, id, &entries, &n);
    if (rc != 0)
        return rc;
    uint8_t prev[S_HASH_LEN] = {0};
    for (size_t i = 0; i < n && rc == 0; i++) {
        const Gridrelay__TimelineEntry *e = entries[i];
        uint8_t hash[S_HASH_LEN];
        if (e->seq != i + 1 || e->prev_hash.len != S_HASH_LEN
            || memcmp(e->prev_hash.data, prev, S_HASH_LEN) != 0
            || e->hash.len != S_HASH_LEN) {
            rc = GR_ESIGNATURE;
            break;
        }
        rc = gr_chain_entry_hash(hash, e, prev);
        if (rc == 0 && memcmp(hash, e->hash.data, S_HASH_LEN) != 0)
            rc = GR_ESIGNATURE;
        memcpy(prev, e->hash.data, S_HASH_LEN);
    }
    if (rc == 0) {
        Gridrelay__StoredEvent *rec;
        rc = gr_store_event_get(txn, id, &rec);
        if (rc == GR_ENOTFOUND)
            rc = GR_ESIGNATURE;
        if (rc == 0) {
            if (rec->timeline_len != n || rec->last_hash.len != S_HASH_LEN
                || memcmp(rec->last_hash.data, prev, S_HASH_LEN) != 0)
                rc = GR_ESIGNATURE;
            gridrelay__stored_event__free_unpacked(rec, NULL);
        }
    }
    gr_store_timeline_free(entries, n);
    return rc;
}

/* ---- listing ---- */

static int s_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int s_token_decode(const char *token, uint8_t *key, size_t *keylen)
{
    size_t len = strnlen(token, 2 * S_TIME_KEY_MAX + 1);
    if (len % 2 != 0 || len < 2 * 9 || len > 2 * S_TIME_KEY_MAX)
        return GR_EINVAL;
    for (size_t i = 0; i < len / 2; i++) {
        int hi = s_hexval(token[2 * i]), lo = s_hexval(token[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return GR_EINVAL;
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    *keylen = len / 2;
    return 0;
}

static bool s_matches(const gr_store_filter_t *f, const Gridrelay__StoredEvent *rec)
{
    const char *category = rec->event && rec->event->category ? rec->event->category : "";
    int severity = rec->event ? (int)rec->event->severity : 0;
    if (f->status && (int)rec->status != f->status)
        return false;
    if (f->category && *f->category && strcmp(category, f->category) != 0)
        return false;
    if (f->severity && severity != f->severity)
        return false;
    return !f->admit || f->admit(f->admit_ctx, rec);
}

/* Walks by_time and loads each record to filter it: a selective filter on
 * status/category scans O(events) per page. Fine at a node's scale; add
 * secondary indexes if that stops being true. */
int gr_store_list(gr_txn_t *txn, const gr_store_filter_t *filter, const char *page_token,
                  size_t limit, gr_store_visit_fn visit, void *ctx, char *next_token)
{
    static const gr_store_filter_t any;
    if (!txn || !visit || !next_token || limit == 0)
        return GR_EINVAL;
    next_token[0] = '\0';
    if (!filter)
        filter = &any;
    uint8_t start[S_TIME_KEY_MAX];
    size_t startlen = 0;
    if (page_token && *page_token && s_token_decode(page_token, start, &startlen) != 0)
        return GR_EINVAL;

    MDB_cursor *cur;
    int rc = s_cursor(txn, S_DB_BY_TIME, &cur);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    int mrc;
    uint8_t since[8];
    if (startlen && gr_get_u64(start) >= filter->since_ms) {
        k = (MDB_val){startlen, start};
        mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (mrc == MDB_SUCCESS && k.mv_size == startlen && !memcmp(k.mv_data, start, startlen))
            mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    } else if (filter->since_ms) {
        /* An 8-byte key sorts before every key of that millisecond. */
        gr_put_u64(since, filter->since_ms);
        k = (MDB_val){sizeof since, since};
        mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    } else {
        mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    }

    size_t matched = 0;
    uint8_t last[S_TIME_KEY_MAX];
    size_t lastlen = 0;
    bool more = false;
    while (mrc == MDB_SUCCESS) {
        if (k.mv_size <= 8 || k.mv_size > S_TIME_KEY_MAX) {
            rc = GR_ESTORE;
            break;
        }
        if (filter->until_ms && gr_get_u64(k.mv_data) >= filter->until_ms)
            break;
        if (matched == limit) {
            more = true;
            break;
        }
        MDB_val rv;
        rc = s_get(txn, S_DB_EVENTS, (uint8_t *)k.mv_data + 8, k.mv_size - 8, &rv);
        if (rc != 0) {
            /* by_time and events are written together: a miss is damage. */
            if (rc == GR_ENOTFOUND)
                rc = GR_ESTORE;
            break;
        }
        Gridrelay__StoredEvent *rec = gr_store_record_unpack(&rv);
        if (!rec) {
            rc = GR_EDECODE;
            break;
        }
        if (s_matches(filter, rec)) {
            visit(ctx, rec);
            matched++;
            memcpy(last, k.mv_data, k.mv_size);
            lastlen = k.mv_size;
        }
        gridrelay__stored_event__free_unpacked(rec, NULL);
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc == 0 && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = s_mdb_err(mrc);
    if (rc == 0 && more)
        sodium_bin2hex(next_token, GR_PAGE_TOKEN_MAX, last, lastlen);
    return rc;
}
