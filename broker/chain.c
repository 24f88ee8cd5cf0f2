#include "chain.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

void gr_chain_fault_set(gr_chain_fault_t *fault, int kind, const char *event_id,
                        uint64_t index, bool in_ledger, const char *fmt, ...)
{
    fault->kind = kind;
    snprintf(fault->event_id, sizeof fault->event_id, "%s", event_id ? event_id : "");
    fault->index = index;
    fault->in_ledger = in_ledger;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fault->message, sizeof fault->message, fmt, ap);
    va_end(ap);
}

const char *gr_chain_fault_kind_name(int kind)
{
    switch (kind) {
    case GRIDRELAY__AUDIT_FAULT__KIND__ALTERED: return "altered";
    case GRIDRELAY__AUDIT_FAULT__KIND__INSERTED: return "inserted";
    case GRIDRELAY__AUDIT_FAULT__KIND__DELETED: return "deleted";
    case GRIDRELAY__AUDIT_FAULT__KIND__REORDERED: return "reordered";
    default: return "unknown";
    }
}

/* SHA-256 over prefix (may be NULL) and msg's encoding. */
static int s_hash_msg(uint8_t out[GR_CHAIN_HASH_LEN], const uint8_t *prefix,
                      const ProtobufCMessage *msg)
{
    uint8_t stack[1024];
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = len <= sizeof stack ? stack : malloc(len);
    if (!buf)
        return GR_ENOMEM;
    protobuf_c_message_pack(msg, buf);
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    if (prefix)
        crypto_hash_sha256_update(&st, prefix, GR_CHAIN_HASH_LEN);
    crypto_hash_sha256_update(&st, buf, len);
    crypto_hash_sha256_final(&st, out);
    if (buf != stack)
        free(buf);
    return 0;
}

/* Works on shallow copies so the caller's message is never touched. */
int gr_chain_entry_hash(uint8_t out[GR_CHAIN_HASH_LEN], const Gridrelay__TimelineEntry *entry,
                        const uint8_t prev[GR_CHAIN_HASH_LEN])
{
    Gridrelay__TimelineEntry bare = *entry;
    bare.hash = (ProtobufCBinaryData){0, NULL};
    bare.signature = (ProtobufCBinaryData){0, NULL};
    return s_hash_msg(out, prev, &bare.base);
}

int gr_chain_link_hash(uint8_t out[GR_CHAIN_HASH_LEN], const Gridrelay__AuditLink *link)
{
    Gridrelay__AuditLink bare = *link;
    bare.head = (ProtobufCBinaryData){0, NULL};
    return s_hash_msg(out, NULL, &bare.base);
}

/* Whether data is exactly msg's encoding: a changed byte that still
 * decodes (an unknown field, a longer varint) is caught here even when
 * the decoded values hash as before. */
static int s_canonical(const ProtobufCMessage *msg, const uint8_t *data, size_t len)
{
    if (protobuf_c_message_get_packed_size(msg) != len)
        return 0;
    uint8_t stack[1024];
    uint8_t *buf = len <= sizeof stack ? stack : malloc(len);
    if (!buf)
        return GR_ENOMEM;
    protobuf_c_message_pack(msg, buf);
    int same = memcmp(buf, data, len) == 0;
    if (buf != stack)
        free(buf);
    return same;
}

static void s_hex(char out[GR_CHAIN_HASH_HEX], const ProtobufCBinaryData *b)
{
    if (b->len != GR_CHAIN_HASH_LEN) {
        snprintf(out, GR_CHAIN_HASH_HEX, "(%zu bytes)", b->len);
        return;
    }
    sodium_bin2hex(out, GR_CHAIN_HASH_HEX, b->data, b->len);
}

enum { S_ALTERED = GRIDRELAY__AUDIT_FAULT__KIND__ALTERED,
       S_INSERTED = GRIDRELAY__AUDIT_FAULT__KIND__INSERTED,
       S_DELETED = GRIDRELAY__AUDIT_FAULT__KIND__DELETED,
       S_REORDERED = GRIDRELAY__AUDIT_FAULT__KIND__REORDERED };

/* One entry at position pos (1-based) after an entry whose hash is prev. */
static int s_check_entry(gr_chain_fault_t *fault, const char *id, const gr_chain_item_t *items,
                         size_t n, size_t i, uint8_t prev[GR_CHAIN_HASH_LEN])
{
    uint32_t pos = (uint32_t)i + 1;
    const gr_chain_item_t *it = &items[i];
    if (it->key_seq != pos) {
        if (it->key_seq == pos + 1)
            gr_chain_fault_set(fault, S_DELETED, id, pos, false,
                               "entry %u is missing: entry %u follows entry %u", pos,
                               it->key_seq, pos - 1);
        else
            gr_chain_fault_set(fault, S_DELETED, id, pos, false,
                               "entries %u to %u are missing: entry %u follows entry %u", pos,
                               it->key_seq - 1, it->key_seq, pos - 1);
        return 1;
    }
    Gridrelay__TimelineEntry *e = gridrelay__timeline_entry__unpack(NULL, it->len, it->data);
    if (!e) {
        gr_chain_fault_set(fault, S_ALTERED, id, pos, false,
                           "it no longer decodes as a timeline entry");
        return 1;
    }
    int rc = s_canonical(&e->base, it->data, it->len);
    if (rc < 0)
        goto done;
    if (rc == 0) {
        gr_chain_fault_set(fault, S_ALTERED, id, pos, false,
                           "its stored bytes are not its canonical encoding (changed "
                           "in place)");
        rc = 1;
        goto done;
    }
    rc = 1;
    if (e->seq != pos) {
        bool elsewhere = false;
        for (size_t j = 0; j < n; j++)
            elsewhere = elsewhere || (j != i && items[j].key_seq == e->seq);
        if (elsewhere || (e->seq >= 1 && e->seq <= n))
            gr_chain_fault_set(fault, S_REORDERED, id, pos, false,
                               "position %u holds entry %u: the entries are out of order",
                               pos, e->seq);
        else
            gr_chain_fault_set(fault, S_INSERTED, id, pos, false,
                               "position %u holds an entry numbered %u, which belongs nowhere "
                               "in this case", pos, e->seq);
        goto done;
    }
    uint8_t hash[GR_CHAIN_HASH_LEN];
    if (e->prev_hash.len != GR_CHAIN_HASH_LEN || e->hash.len != GR_CHAIN_HASH_LEN) {
        gr_chain_fault_set(fault, S_ALTERED, id, pos, false,
                           "its prev_hash or hash is not 32 bytes");
        goto done;
    }
    rc = gr_chain_entry_hash(hash, e, e->prev_hash.data);
    if (rc != 0)
        goto done;
    rc = 1;
    if (memcmp(hash, e->hash.data, GR_CHAIN_HASH_LEN) != 0) {
        char want[GR_CHAIN_HASH_HEX];
        sodium_bin2hex(want, sizeof want, hash, sizeof hash);
        gr_chain_fault_set(fault, S_ALTERED, id, pos, false,
                           "its contents hash to %s, not to the hash it carries", want);
        goto done;
    }
    if (memcmp(e->prev_hash.data, prev, GR_CHAIN_HASH_LEN) != 0) {
        char got[GR_CHAIN_HASH_HEX];
        s_hex(got, &e->prev_hash);
        gr_chain_fault_set(fault, S_INSERTED, id, pos, false,
                           pos == 1 ? "entry %u names a previous hash %s: it is not a first entry"
                                    : "entry %u does not follow the entry before it: it names "
                                      "%s as previous",
                           pos, got);
        goto done;
    }
    memcpy(prev, e->hash.data, GR_CHAIN_HASH_LEN);
    rc = 0;
done:
    gridrelay__timeline_entry__free_unpacked(e, NULL);
    return rc;
}

int gr_chain_check_case(uint8_t head[GR_CHAIN_HASH_LEN], gr_chain_fault_t *fault,
                        const char *event_id, const gr_chain_item_t *items, size_t n,
                        bool has_record, uint32_t record_len, const uint8_t *record_last)
{
    uint8_t prev[GR_CHAIN_HASH_LEN] = {0};
    for (size_t i = 0; i < n; i++) {
        int rc = s_check_entry(fault, event_id, items, n, i, prev);
        if (rc != 0)
            return rc;
    }
    memcpy(head, prev, GR_CHAIN_HASH_LEN);
    if (!has_record)
        return 0;
    if (record_len > n) {
        gr_chain_fault_set(fault, S_DELETED, event_id, n + 1, false,
                           n + 1 == record_len
                               ? "entry %zu is missing: the case record counts %u entries"
                               : "entries %zu on are missing: the case record counts %u entries",
                           n + 1, record_len);
        return 1;
    }
    if (record_len < n) {
        gr_chain_fault_set(fault, S_INSERTED, event_id, (uint64_t)record_len + 1, false,
                           "entry %u is one the case record does not count (it counts %u)",
                           record_len + 1, record_len);
        return 1;
    }
    if (!record_last || memcmp(record_last, prev, GR_CHAIN_HASH_LEN) != 0) {
        gr_chain_fault_set(fault, S_ALTERED, event_id, n, false,
                           "entry %zu is not the newest entry the case record names "
                           "(its last_hash differs)", n);
        return 1;
    }
    return 0;
}

void gr_chain_ledger_init(gr_chain_ledger_t *walk)
{
    walk->seq = 0;
    memset(walk->head, 0, sizeof walk->head);
}

int gr_chain_link_check(gr_chain_fault_t *fault, const Gridrelay__AuditLink *link)
{
    const char *id = link->event_id;
    if (link->head.len != GR_CHAIN_HASH_LEN || link->prev.len != GR_CHAIN_HASH_LEN
        || link->entry_hash.len != GR_CHAIN_HASH_LEN) {
        gr_chain_fault_set(fault, S_ALTERED, id, link->seq, true,
                           "ledger link %llu: a hash is not 32 bytes",
                           (unsigned long long)link->seq);
        return 1;
    }
    uint8_t head[GR_CHAIN_HASH_LEN];
    if (gr_chain_link_hash(head, link) != 0)
        return GR_ENOMEM;
    if (memcmp(head, link->head.data, GR_CHAIN_HASH_LEN) != 0) {
        gr_chain_fault_set(fault, S_ALTERED, id, link->seq, true,
                           "ledger link %llu: its contents do not match its head",
                           (unsigned long long)link->seq);
        return 1;
    }
    return 0;
}

int gr_chain_ledger_next(gr_chain_ledger_t *walk, Gridrelay__AuditLink **link,
                         gr_chain_fault_t *fault, uint64_t key_seq, const uint8_t *data,
                         size_t len)
{
    *link = NULL;
    unsigned long long want = (unsigned long long)walk->seq + 1;
    if (key_seq != want) {
        gr_chain_fault_set(fault, S_DELETED, "", want, true,
                           key_seq == want + 1
                               ? "ledger link %llu is missing: link %llu follows link %llu"
                               : "ledger links %llu on are missing: link %llu follows link %llu",
                           want, (unsigned long long)key_seq, want - 1);
        return 1;
    }
    Gridrelay__AuditLink *l = gridrelay__audit_link__unpack(NULL, len, data);
    if (!l) {
        gr_chain_fault_set(fault, S_ALTERED, "", want, true,
                           "ledger link %llu no longer decodes", want);
        return 1;
    }
    int rc = s_canonical(&l->base, data, len);
    if (rc == 0) {
        gr_chain_fault_set(fault, S_ALTERED, l->event_id, want, true,
                           "ledger link %llu: its stored bytes are not its canonical encoding",
                           want);
        rc = 1;
    } else if (rc > 0 && l->seq != want) {
        gr_chain_fault_set(fault, S_REORDERED, l->event_id, want, true,
                           "ledger position %llu holds link %llu: the links are out of order",
                           want, (unsigned long long)l->seq);
        rc = 1;
    } else if (rc > 0) {
        rc = gr_chain_link_check(fault, l);
        if (rc == 0 && memcmp(l->prev.data, walk->head, GR_CHAIN_HASH_LEN) != 0) {
            gr_chain_fault_set(fault, S_INSERTED, l->event_id, want, true,
                               "ledger link %llu does not follow link %llu", want, want - 1);
            rc = 1;
        }
    }
    if (rc != 0) {
        gridrelay__audit_link__free_unpacked(l, NULL);
        return rc;
    }
    walk->seq = want;
    memcpy(walk->head, l->head.data, GR_CHAIN_HASH_LEN);
    *link = l;
    return 0;
}
