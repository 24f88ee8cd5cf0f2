/* Hash chains of the audit trail, checked from bytes alone: a case's
 * timeline (each entry names the hash of the one before it) and the node's
 * ledger (every entry the node wrote, of any case, in commit order, each
 * link naming the one before it). docs/PROTOCOL.md 4.2 and 4.8 define the
 * bytes; this module is what the node, `gridctl audit verify --store` and
 * `gridctl audit check` share, so the three cannot disagree.
 *
 * Pure: no store, no clock, no I/O; the caller hands in what it read.
 *
 * Thread safety: reentrant.
 */
#ifndef GR_CHAIN_H
#define GR_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gridrelay.pb-c.h"

#define GR_CHAIN_HASH_LEN 32
#define GR_CHAIN_HASH_HEX (2 * GR_CHAIN_HASH_LEN + 1)

/* The first break found: kind is a GRIDRELAY__AUDIT_FAULT__KIND__* value
 * (0 while none was found); index is the entry's seq in its case or, with
 * in_ledger, the link's seq in the ledger. */
typedef struct {
    int kind;
    char event_id[72];
    uint64_t index;
    bool in_ledger;
    char message[320];
} gr_chain_fault_t;

/* One stored timeline entry: the seq its store key names and its bytes. */
typedef struct {
    uint32_t key_seq;
    const uint8_t *data;
    size_t len;
} gr_chain_item_t;

/* hash = SHA-256(prev ‖ entry's canonical bytes without fields 13, 14).
 * Returns 0 or GR_ENOMEM. */
int gr_chain_entry_hash(uint8_t out[GR_CHAIN_HASH_LEN], const Gridrelay__TimelineEntry *entry,
                        const uint8_t prev[GR_CHAIN_HASH_LEN]);

/* head = SHA-256(link's canonical bytes without field 6). 0 or GR_ENOMEM. */
int gr_chain_link_hash(uint8_t out[GR_CHAIN_HASH_LEN], const Gridrelay__AuditLink *link);

/* Checks one case's entries as stored, in key order: every key seq from 1
 * on present, each entry decoding to its canonical bytes, standing at the
 * place its own seq names, matching its hash and naming the hash before
 * it. With has_record, also that the case record's count and newest hash
 * (the record's timeline_len and last_hash) agree, which is what reveals a
 * deleted or added last entry. head receives the newest entry's hash.
 * Returns 0 when intact, 1 with *fault filled (event_id too), GR_ENOMEM. */
int gr_chain_check_case(uint8_t head[GR_CHAIN_HASH_LEN], gr_chain_fault_t *fault,
                        const char *event_id, const gr_chain_item_t *items, size_t n,
                        bool has_record, uint32_t record_len, const uint8_t *record_last);

/* Walking the ledger link by link: start with gr_chain_ledger_init(). */
typedef struct {
    uint64_t seq;                       /* links accepted so far */
    uint8_t head[GR_CHAIN_HASH_LEN];    /* the newest accepted link's head */
} gr_chain_ledger_t;

void gr_chain_ledger_init(gr_chain_ledger_t *walk);

/* Checks the next stored link (key_seq from its key, its bytes) after the
 * ones already accepted: no link missing before it, canonical bytes, its
 * own seq, its head, and prev naming the head before it. On success *link
 * holds it decoded (free with gridrelay__audit_link__free_unpacked()) and
 * walk moves on. Returns 0, 1 with *fault filled, or GR_ENOMEM. */
int gr_chain_ledger_next(gr_chain_ledger_t *walk, Gridrelay__AuditLink **link,
                         gr_chain_fault_t *fault, uint64_t key_seq, const uint8_t *data,
                         size_t len);

/* Checks one link on its own (a bundle's: its neighbours are not there):
 * canonical bytes aside, the head over its fields and its 32-byte hashes.
 * Returns 0 or 1 with *fault filled. */
int gr_chain_link_check(gr_chain_fault_t *fault, const Gridrelay__AuditLink *link);

/* Fills *fault (kind, case, index, printf-style message). */
void gr_chain_fault_set(gr_chain_fault_t *fault, int kind, const char *event_id,
                        uint64_t index, bool in_ledger, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* The fault's kind as a word: "altered", "inserted", "deleted", "reordered". */
const char *gr_chain_fault_kind_name(int kind);

#endif
