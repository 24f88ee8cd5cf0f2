/* The node's store: one LMDB environment, the single source of truth.
 *
 * Named databases (docs/ARCHITECTURE.md has the key layouts):
 *   meta      schema version, persistent counters ("counter.<name>")
 *   events    event id -> StoredEvent (store.proto)
 *   by_time   received_ms u64 BE | event id -> ""   (listing, paging)
 *   timeline  event id | 0x00 | seq u32 BE -> TimelineEntry
 *   dedup     signer 32 B | seq u64 BE -> DedupRecord
 *   signers   signer 32 B -> highest accepted seq, u64 BE
 *   outbox    peer id | 0x00 | seq u64 BE -> sealed envelope bytes
 *   dead      the same key -> DeadLetter (refused for good; store_dead.c)
 *   due       due_ms u64 BE | kind u8 | event id -> ""   (timers)
 *   statuslog node_seq u64 BE -> StatusUpdate (gridrelay.proto), the newest per case
 *   status_index node id | 0x00 | event id -> node_seq u64 BE of that newest
 *   peers     peer id | 0x00 | field -> u64 BE
 *   audit, audit_index  the node's audit ledger (store_audit.c)
 *   daily     local day u32 BE | node id -> DailySummary (daily reports)
 *
 * due, statuslog and peers came after the first version 1 stores. Adding a
 * database needs no schema bump: every database is opened with MDB_CREATE
 * on open, so a version 1 store written before them simply gains them,
 * empty, the first time this code opens it.
 *
 * Every change of a case goes through gr_store_event_create() or
 * gr_store_event_append(), which write the record and its timeline entry in
 * the caller's transaction, so a case and its history never disagree. The
 * timeline is a hash chain: entry.hash = SHA-256(prev_hash | entry bytes),
 * where entry bytes are the entry serialized with hash and signature empty.
 *
 * Durability: a write transaction is on disk when gr_store_commit() returns
 * 0 (LMDB's default synchronous commit). Callers batch many requests into
 * one transaction (group commit) and acknowledge only after the commit.
 *
 * Map full: any write may return GR_EMAPFULL. The caller then aborts the
 * transaction, calls gr_store_grow() and redoes the whole batch; when the
 * map is at its configured maximum, grow returns GR_EFULL and the node
 * refuses new work while still serving reads.
 *
 * Caveats (from LMDB): one write transaction at a time; a transaction
 * belongs to the thread that began it; no store across fork(); keep read
 * transactions short, since they pin old pages.
 *
 * Thread safety: one gr_store_t may be shared by threads, each with its own
 * transactions. Only one process may open a store (an flock on
 * DIR/gridrelayd.lock); a second gets GR_EIO with a clear message.
 */
#ifndef GR_STORE_H
#define GR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain.h"
#include "datakey.h"
#include "gridrelay.pb-c.h"
#include "store.pb-c.h"
#include "wire.h"

/* 2: the audit ledger is complete and the dead-letter database exists
 * (store.c has the migration from 1). 3: the status log keeps only each
 * case's newest update (the migration from 2 compacts it). 4: a new
 * timeline entry's ledger link is found from its case, not audit_index,
 * and a new case's entry 1 is in its record (nothing is rewritten:
 * store.c, s_migrate_3). 5: a case record that came up in a link batch
 * leaves out what its link proof holds, and gr_store_event_get() and
 * gr_store_list() fill it in (nothing is rewritten: s_migrate_4). 6: a
 * record also leaves out its event where its origin envelope holds it
 * (nothing is rewritten: s_migrate_5). */
#define GR_STORE_SCHEMA_VERSION 6

typedef struct gr_store gr_store_t;
typedef struct gr_txn gr_txn_t;

typedef struct {
    size_t map_size;  /* initial map size in bytes; 0 = 64 MiB */
    size_t map_max;   /* the map never grows past this; 0 = 4 GiB */
    /* The data key ring that seals personal data (node/store_seal.c);
     * NULL = values are written plain. Must outlive the store. */
    const gr_datakey_t *datakey;
} gr_store_options_t;

/* Opens (creating when missing) the store in directory dir. Checks the
 * schema version: a new store is stamped with GR_STORE_SCHEMA_VERSION; a
 * store from a newer version is refused with GR_ESCHEMA and left untouched.
 * On error, *out is NULL and err holds a message naming dir. */
int gr_store_open(gr_store_t **out, const char *dir, const gr_store_options_t *opt,
                  char *err, size_t errlen) __attribute__((warn_unused_result));

/* A consistent hot copy of the store in store_dir (which a running node
 * may be writing) into dest_dir, missing or empty: LMDB's mdb_env_copy2
 * with MDB_CP_COMPACT from one read transaction, then synced. *bytes (may
 * be NULL) gets the copy's size. The store is opened read-only and
 * without the node's lock (gr_store_open_readonly). Returns 0, GR_EIO
 * (dest holds a store, or a file error), GR_ESCHEMA, GR_ESTORE; err says
 * why. Why this and not a request to the node: store_backup.c. */
int gr_store_backup(const char *store_dir, const char *dest_dir, size_t *bytes, char *err,
                    size_t errlen) __attribute__((warn_unused_result));

/* Restores a backup made by gr_store_backup into store_dir, a new data
 * directory: refused (GR_EIO, nothing changed) when a node holds its lock
 * or it already has a store. The copy appears under its name only once
 * whole and synced. Returns 0 or GR_EIO; err says why. */
int gr_store_restore(const char *backup_dir, const char *store_dir, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Opens an existing store for reading only (MDB_RDONLY), without the
 * node's flock, so a copy of a data dir, or a running node's, can be
 * audited: no write transaction can be begun. A store that lacks one of
 * this version's databases (written by an older gridrelayd that never
 * opened it since) is refused with GR_ESCHEMA. */
int gr_store_open_readonly(gr_store_t **out, const char *dir, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Data key (personal data at rest, node/store_seal.c). The values of
 * events, timeline, tasks, outbox, statuslog and view are sealed with the
 * ring's current key when opts->datakey is set and opened on every read
 * (a plain value, written before, reads as it is and is sealed when next
 * rewritten). gr_store_open() refuses with GR_EKEY, and a message naming
 * the store and the key file: a store that has sealed values but no key
 * configured, a ring that lacks a key ID the store used, a key that does
 * not open the store's check value (a wrong file). */

/* The same checks for a store opened read-only: dk (NULL: none) is used
 * for every read after. dir only names the store in err. */
int gr_store_use_datakey(gr_store_t *self, const gr_datakey_t *dk, const char *dir, char *err,
                         size_t errlen) __attribute__((warn_unused_result));

/* Seals every value not under the ring's current key with it (plain ones
 * and those of older keys), batch values per write transaction, then
 * forgets the older keys' checks, so the older keys may be dropped from the
 * file (gridctl datakey drop). No other transaction may be open (run on a
 * stopped node: gridrelayd --rekey). *rewritten: how many values. */
int gr_store_rekey(gr_store_t *self, size_t batch, uint64_t *rewritten, char *err,
                   size_t errlen) __attribute__((warn_unused_result));

/* Closes the store and sets *self_p to NULL. Accepts NULL. No transaction
 * may be open. */
void gr_store_close(gr_store_t **self_p);

/* Current map size in bytes. */
size_t gr_store_map_size(const gr_store_t *self);

/* Bytes of the map in use (up to the last page written), for /metrics.
 * Any thread. */
size_t gr_store_used_size(const gr_store_t *self);

/* Doubles the map (capped at map_max). No transaction may be open in this
 * process. Returns 0, or GR_EFULL when already at map_max. */
int gr_store_grow(gr_store_t *self);

/* Begins a read (write=false) or write transaction. */
int gr_store_begin(gr_store_t *self, bool write, gr_txn_t **txn_out)
    __attribute__((warn_unused_result));

/* Begins a transaction nested in the write transaction parent: what it
 * writes becomes part of parent when it commits, and vanishes when it is
 * aborted, so one request's writes can be undone without its neighbours'.
 * parent may not be used until the nested one ends. */
int gr_store_begin_nested(gr_txn_t *parent, gr_txn_t **txn_out)
    __attribute__((warn_unused_result));

/* Commits durably and frees the transaction (*txn_p = NULL) whatever the
 * outcome. For a read transaction this just ends it; for a nested one it
 * hands the writes to its parent (nothing is on disk before the parent's
 * commit). */
int gr_store_commit(gr_txn_t **txn_p) __attribute__((warn_unused_result));

/* Discards the transaction; accepts NULL or *txn_p == NULL. */
void gr_store_abort(gr_txn_t **txn_p);

/* ---- replay state ---- */

/* Highest seq accepted from signer, 0 when none. */
int gr_store_signer_get(gr_txn_t *txn, const uint8_t signer[32], uint64_t *highest);
/* Records seq as the signer's highest when it is higher than the stored one. */
int gr_store_signer_bump(gr_txn_t *txn, const uint8_t signer[32], uint64_t seq);

/* An operator's way out for a signer locked out by one far-future seq:
 * sets its highest accepted seq to highest (in the past of its honest
 * sequences, so they are accepted again, but recent enough that frames
 * older than the replay window stay refused) and deletes its dedup
 * records above highest. *dropped (may be NULL) is how many. Needs a write
 * transaction. */
int gr_store_signer_reset(gr_txn_t *txn, const uint8_t signer[32], uint64_t highest,
                          size_t *dropped);

/* ---- dedup: what an accepted (signer, seq) produced ---- */

/* Returns 0 and a record the caller frees with
 * gridrelay__dedup_record__free_unpacked(rec, NULL), or GR_ENOTFOUND. */
int gr_store_dedup_get(gr_txn_t *txn, const uint8_t signer[32], uint64_t seq,
                       Gridrelay__DedupRecord **out);
int gr_store_dedup_put(gr_txn_t *txn, const uint8_t signer[32], uint64_t seq,
                       const Gridrelay__DedupRecord *rec);

#define GR_DEDUP_KEY_BYTES 40

/* Deletes dedup records the replay window already refuses (seq at or
 * below the signer's newest seq minus window): a resend that old gets
 * ERR_REPLAY whether or not its record is kept, so the records need not
 * live for ever. Visits at most max_visits records from cursor (all zero
 * bytes = the start), leaves cursor at the first record not visited, and
 * sets *wrapped when it reached the end (cursor is then back at the start).
 * Needs a write transaction. Returns the number deleted, or a negative
 * code. */
int gr_store_dedup_prune(gr_txn_t *txn, uint64_t window, size_t max_visits,
                         uint8_t cursor[GR_DEDUP_KEY_BYTES], bool *wrapped);

/* ---- events and their timelines ---- */

/* Returns 0 and a record the caller frees with
 * gridrelay__stored_event__free_unpacked(rec, NULL), or GR_ENOTFOUND. */
int gr_store_event_get(gr_txn_t *txn, const char *id, Gridrelay__StoredEvent **out);

/* 1 when an event with this id is stored, 0 when not, negative on error. */
int gr_store_event_exists(gr_txn_t *txn, const char *id);

/* Stores a new case: rec (whose event->id must be set and unused, else
 * GR_EEXIST) with first as timeline entry 1. Fills first->seq, prev_hash
 * (32 zero bytes) and hash, and rec->timeline_len, last_hash, status (from
 * first->to_status) and updated_ms (first->time_ms). The byte fields it
 * fills point into storage owned by the store until the transaction ends. */
int gr_store_event_create(gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                          Gridrelay__TimelineEntry *first);

/* Appends entry to rec's timeline and stores rec changed accordingly
 * (status = entry->to_status when that is set, updated_ms, timeline_len,
 * last_hash). rec must be the current record (from gr_store_event_get() in
 * this transaction, possibly modified by the caller). */
int gr_store_event_append(gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                          Gridrelay__TimelineEntry *entry);

/* Stores rec (the current record, from gr_store_event_get() in this
 * transaction) with fields changed that are bookkeeping, not history (a
 * department's working fields after its tasks ended): no timeline entry.
 * Every change of the case's state goes through gr_store_event_append(). */
int gr_store_event_update(gr_txn_t *txn, const Gridrelay__StoredEvent *rec);

/* Loads the whole timeline of id, oldest first. On success *entries is an
 * array of *n entries freed with gr_store_timeline_free(). GR_ENOTFOUND when
 * the event has no timeline. */
int gr_store_timeline_get(gr_txn_t *txn, const char *id,
                          Gridrelay__TimelineEntry ***entries, size_t *n);
void gr_store_timeline_free(Gridrelay__TimelineEntry **entries, size_t n);

/* Recomputes the hash chain of id's timeline. Returns 0 when every link
 * holds, GR_ESIGNATURE at the first broken one. */
int gr_store_timeline_verify(gr_txn_t *txn, const char *id);

/* ---- the access log: reads of confidential cases, refusals ---- */

/* Appends rec as the newest record of the access chain (key: seq u64 BE):
 * fills rec->seq, prev_hash and hash (storage owned by the transaction).
 * Needs a write transaction. */
int gr_store_access_append(gr_txn_t *txn, Gridrelay__AccessRecord *rec);

/* Walks the whole access chain oldest first, checking each link, and
 * calls visit (may be NULL) with each record that holds. Returns 0 with
 * *total and head (zeros when empty) when every link holds; 1 with the
 * first break described in fault (faultlen bytes); or a GR_E* code. */
/* Record seq (the caller frees it with
 * gridrelay__access_record__free_unpacked), or GR_ENOTFOUND. */
int gr_store_access_get(gr_txn_t *txn, uint64_t seq, Gridrelay__AccessRecord **out);

typedef void (*gr_store_access_fn)(void *ctx, const Gridrelay__AccessRecord *rec);
int gr_store_access_walk(gr_txn_t *txn, gr_store_access_fn visit, void *ctx, uint64_t *total,
                         uint8_t head[32], char *fault, size_t faultlen);

/* ---- audit ---- */

/* What the walk saw when everything held. */
typedef struct {
    uint64_t entries;     /* timeline entries, of every case */
    uint64_t cases;
    uint64_t links;       /* ledger links (equal to entries when intact) */
    uint8_t head[32];     /* the ledger's newest head, zeros when empty */
} gr_store_audit_t;

/* A ledger head recorded earlier (from a verify, a bundle): link seq's
 * head must still be head. */
typedef struct {
    uint64_t seq;
    uint8_t head[32];
} gr_store_anchor_t;

/* Verifies the whole store: every case's chain against its record, every
 * entry against the ledger, the ledger's chain, the entry each link names,
 * the ledger's stored head (and the anchor, when not NULL), and that every
 * case record has a timeline. Returns 0 when all holds (*result filled),
 * 1 with the first break in *fault (cases in id order first, then the
 * ledger in link order, then the records), or a GR_E*
 * error when the store cannot be read. Works in any transaction. */
int gr_store_audit_verify(gr_txn_t *txn, const gr_store_anchor_t *anchor,
                          gr_store_audit_t *result, gr_chain_fault_t *fault);

/* The ledger's newest link seq and head (0 and zeros when empty). */
int gr_store_audit_head(gr_txn_t *txn, uint64_t *seq, uint8_t head[32]);

/* One case's timeline entries exactly as stored (the bytes live until txn
 * ends) and, for each, its ledger link (NULL when it has none). Free the
 * arrays with free() and gr_store_audit_links_free(). GR_ENOTFOUND when
 * the case has no entries. */
int gr_store_audit_case(gr_txn_t *txn, const char *id, ProtobufCBinaryData **entries,
                        Gridrelay__AuditLink ***links, size_t *n);
void gr_store_audit_links_free(Gridrelay__AuditLink **links, size_t n);

/* ---- listing ---- */

typedef struct {
    int status;            /* Gridrelay__Status, 0 = any */
    const char *category;  /* NULL or "" = any */
    int severity;          /* Gridrelay__Severity, 0 = any */
    uint64_t since_ms;     /* received at or after; 0 = no bound */
    uint64_t until_ms;     /* received before; 0 = no bound */
    /* When set, only the records it returns true for match: the request
     * table's scope check (a reporter lists its own reports). */
    bool (*admit)(void *ctx, const Gridrelay__StoredEvent *rec);
    void *admit_ctx;
} gr_store_filter_t;

/* Called once per matching event, oldest first; rec is only valid during
 * the call. */
typedef void (*gr_store_visit_fn)(void *ctx, const Gridrelay__StoredEvent *rec);

/* Visits up to limit events matching filter, starting after page_token
 * (NULL or "" = from the start). When more may follow, next_token (at least
 * GR_PAGE_TOKEN_MAX bytes) receives the token for the next page, else "".
 * A malformed token is GR_EINVAL. */
int gr_store_list(gr_txn_t *txn, const gr_store_filter_t *filter, const char *page_token,
                  size_t limit, gr_store_visit_fn visit, void *ctx, char *next_token);

/* ---- persistent counters ---- */

int gr_store_counter_add(gr_txn_t *txn, const char *name, uint64_t delta);
/* 0 when the counter was never set. */
int gr_store_counter_get(gr_txn_t *txn, const char *name, uint64_t *value);

/* ---- outbox: sealed envelopes waiting for a peer's ack (tier links) ---- */

int gr_store_outbox_put(gr_txn_t *txn, const char *peer, uint64_t seq,
                        const uint8_t *data, size_t len);
int gr_store_outbox_del(gr_txn_t *txn, const char *peer, uint64_t seq);
/* Calls visit for up to limit entries of peer with seq > after, in seq
 * order; data is valid only during the call. */
typedef void (*gr_store_outbox_fn)(void *ctx, uint64_t seq, const uint8_t *data, size_t len);
int gr_store_outbox_scan(gr_txn_t *txn, const char *peer, uint64_t after, size_t limit,
                         gr_store_outbox_fn visit, void *ctx);
/* Number of entries waiting for peer. */
int gr_store_outbox_depth(gr_txn_t *txn, const char *peer, uint64_t *depth);

/* ---- dead letters: outbox entries a peer refused for good (store_dead.c) ----
 *
 * Same key as the outbox. Nothing here sends anything: node/outbox.c
 * decides what a retry or a drop means. */

/* Moves peer's outbox entry seq to the dead letters, with the peer's
 * refusal (code: a Gridrelay__ErrorCode). GR_ENOTFOUND when the outbox has
 * no such entry (already buried, or acknowledged). Needs a write txn. */
int gr_store_dead_bury(gr_txn_t *txn, const char *peer, uint64_t seq, int code,
                       const char *message, uint64_t now_ms);
/* The dead letter, unpacked (the caller frees it), or GR_ENOTFOUND. */
int gr_store_dead_get(gr_txn_t *txn, const char *peer, uint64_t seq,
                      Gridrelay__DeadLetter **out);
int gr_store_dead_put(gr_txn_t *txn, const char *peer, uint64_t seq,
                      const Gridrelay__DeadLetter *dead);
int gr_store_dead_del(gr_txn_t *txn, const char *peer, uint64_t seq);
/* Visits the first limit dead letters of peer in seq order (dead valid only
 * during the call) and counts all of them into *count. */
typedef void (*gr_store_dead_fn)(void *ctx, uint64_t seq, const Gridrelay__DeadLetter *dead);
int gr_store_dead_scan(gr_txn_t *txn, const char *peer, size_t limit, gr_store_dead_fn visit,
                       void *ctx, uint64_t *count);

/* ---- due: timers that survive restarts ----
 *
 * A timer is the triple (due_ms, kind, event id); kind is the caller's
 * (deadline, reminder...). Storing the same triple twice keeps one timer.
 * event_id must be 1..GR_EVENT_ID_MAX bytes, else GR_EINVAL. */

/* Arms a timer. Needs a write transaction. */
int gr_store_due_put(gr_txn_t *txn, uint64_t due_ms, uint8_t kind, const char *event_id);

/* Disarms a timer. GR_ENOTFOUND when no such timer is stored. Needs a
 * write transaction. */
int gr_store_due_del(gr_txn_t *txn, uint64_t due_ms, uint8_t kind, const char *event_id);

/* event_id is valid only during the call. */
typedef void (*gr_store_due_fn)(void *ctx, uint64_t due_ms, uint8_t kind,
                                const char *event_id);

/* Visits, earliest first (ties by kind, then id bytes), up to limit timers
 * with due_ms <= now_ms. Returns the number visited (0..limit, capped at
 * INT_MAX) or a negative GR_E* code. It does not delete them.
 *
 * The visitor may change the due database in txn, in particular delete the
 * timer it is given: the scan holds no cursor across the call and resumes
 * after the key it last visited. So in a write transaction one may delete
 * during the visit or collect first and delete after. A timer the visitor
 * arms with a key after the current one and due_ms <= now_ms is visited by
 * this same scan (limit bounds that). */
int gr_store_due_scan(gr_txn_t *txn, uint64_t now_ms, size_t limit, gr_store_due_fn visit,
                      void *ctx);

/* Earliest due time of any timer, whether past or future; GR_ENOTFOUND
 * (and *due_ms = 0) when none is armed. */
int gr_store_due_next(gr_txn_t *txn, uint64_t *due_ms);

/* ---- statuslog: the updates this node publishes, kept for catch-up by
 * its parent (the Clone pattern: live updates plus a replayable log) ---- */

/* Appends update with node_seq = last + 1 (the first is 1), setting
 * update->node_seq before storing it; on error node_seq is left as the
 * caller gave it. The seq is derived from the stored log, so it survives
 * restarts. Needs a write transaction; update->node_id and event_id must
 * be valid ids (GR_EINVAL).
 *
 * Compaction: the log keeps one update per case (node_id, event_id). The
 * case's older update, if any, is deleted, and what it told a view is
 * folded into update's prior_* fields first (gr_status_prior_fold), so
 * the log's entries are bounded by cases, not changes, and a catch-up
 * from it (missing seqs are superseded ones, StatusBatch.compacted) gives
 * a superior the same view as the whole stream would have. */
int gr_store_status_append(gr_txn_t *txn, Gridrelay__StatusUpdate *update);

/* Highest node_seq in the log, 0 when the log is empty. */
int gr_store_status_last(gr_txn_t *txn, uint64_t *seq);

/* update is valid only during the call. */
typedef void (*gr_store_status_fn)(void *ctx, const Gridrelay__StatusUpdate *update);

/* Visits up to limit updates with node_seq > after_seq, in seq order.
 * Returns the number visited (capped at INT_MAX) or a negative GR_E* code
 * (GR_EDECODE for an entry that does not unpack). The visitor must not
 * write to the status log in txn while the scan runs. */
int gr_store_status_scan(gr_txn_t *txn, uint64_t after_seq, size_t limit,
                         gr_store_status_fn visit, void *ctx);

/* ---- peers: per-peer link bookkeeping (e.g. the highest status seq seen
 * from a child, the next outbox seq) ----
 *
 * peer is 1..255 bytes and field 1..64 bytes, else GR_EINVAL. Peers whose
 * ids prefix one another ("town", "town2") keep separate values. */

/* The value of (peer, field), 0 when it was never set. */
int gr_store_peer_get(gr_txn_t *txn, const char *peer, const char *field, uint64_t *value);

/* Sets (peer, field) to value. Needs a write transaction. */
int gr_store_peer_put(gr_txn_t *txn, const char *peer, const char *field, uint64_t value);

/* ---- view: the newest status of each descendant's case ---- */

/* Folds what old (an update of the same case that next supersedes) told a
 * view into next's prior_* fields; a prior_* already set in next (by the
 * descendant that compacted it first) knows more and is kept. */
void gr_status_prior_fold(Gridrelay__StatusUpdate *next, const Gridrelay__StatusUpdate *old);

/* Seeds a view entry being built for update with update's prior_* fields
 * (the ones set), before update's own status applies to it. */
void gr_status_prior_seed(const Gridrelay__StatusUpdate *update, Gridrelay__ViewEntry *entry);

/* Stores entry as the view of (node_id, event_id), replacing the one
 * before. Key: node id | 0x00 | event id. */
int gr_store_view_put(gr_txn_t *txn, const char *node_id, const char *event_id,
                      const Gridrelay__ViewEntry *entry);

/* The view of (node_id, event_id) into *out (free with
 * gridrelay__view_entry__free_unpacked()), or GR_ENOTFOUND. */
int gr_store_view_get(gr_txn_t *txn, const char *node_id, const char *event_id,
                      Gridrelay__ViewEntry **out);

/* Called for each entry; entry is valid only during the call. */
typedef void (*gr_store_view_fn)(void *ctx, const Gridrelay__ViewEntry *entry);

/* Visits up to limit entries in key order, only node_id's when it is not
 * NULL or "", starting after page_token (NULL or "" = from the start).
 * next_token (GR_PAGE_TOKEN_MAX bytes) receives the token of the next
 * page, "" on the last. Returns the number visited or a negative code;
 * GR_EINVAL for a malformed token. */
int gr_store_view_scan(gr_txn_t *txn, const char *node_id, const char *page_token, size_t limit,
                       gr_store_view_fn visit, void *ctx, char *next_token);

/* Every case the store knows of: the events this node holds (gr_store_list
 * with filter, NULL for all) to own, then every view entry (the tiers
 * below) to view, a page of 1,000 at a time, until the end or until a
 * visitor sets *stop (an int of ctx's) non-zero. Returns 0 or a negative
 * store code. */
int gr_store_walk_all(gr_txn_t *txn, const gr_store_filter_t *filter, gr_store_visit_fn own,
                      gr_store_view_fn view, void *ctx, const int *stop);

/* ---- urges: the supervision notices this node sent for cases it does not
 * hold (held below it), so that they are on record at both ends ----
 *
 * Key: event id | 0x00 | seq u32 BE, from 1, in the order sent. */

/* Appends entry (an ACTION_URGE entry; its seq is set here). */
int gr_store_urge_put(gr_txn_t *txn, const char *event_id, Gridrelay__TimelineEntry *entry);

/* Called for each urge of event_id, oldest first; entry is valid only
 * during the call. */
typedef void (*gr_store_urge_fn)(void *ctx, const Gridrelay__TimelineEntry *entry);
int gr_store_urge_scan(gr_txn_t *txn, const char *event_id, gr_store_urge_fn visit, void *ctx);

/* ---- daily: each node's day of daily reports (日报告): this node's own
 * units, and the newest summary of each node below ----
 *
 * Key: local day u32 BE (days since 1970-01-01 in the node's zone) | node id. */

int gr_store_daily_put(gr_txn_t *txn, int64_t day, const char *node_id,
                       const Gridrelay__DailySummary *summary);

/* *out (free with gridrelay__daily_summary__free_unpacked()), or GR_ENOTFOUND. */
int gr_store_daily_get(gr_txn_t *txn, int64_t day, const char *node_id,
                       Gridrelay__DailySummary **out);

/* Called for each node's summary of day, by node id; summary is valid only
 * during the call; a non-zero return stops the scan and is returned.
 * Returns the number visited, or a negative error. */
typedef int (*gr_store_daily_fn)(void *ctx, const Gridrelay__DailySummary *summary);
int gr_store_daily_scan(gr_txn_t *txn, int64_t day, gr_store_daily_fn visit, void *ctx);

/* The same for every day from first to last (inclusive, clamped to the
 * days a key can hold), in day order: one cursor walk, so its cost is the
 * summaries stored in the span, not the span's length. */
int gr_store_daily_range(gr_txn_t *txn, int64_t first, int64_t last, gr_store_daily_fn visit,
                         void *ctx);

/* ---- tasks: the departments' open tasks ----
 *
 * Key: department code | 0x00 | event id, so one department's tasks are
 * together, in event id order (ULIDs: oldest report first). A task leaves
 * this database when it ends (completed, returned, withdrawn); the case
 * timeline keeps its history. */

/* Stores task under (task->dept, task->event_id), replacing the one
 * before. task->event is not stored (the events database has it): pass it
 * NULL or it is dropped. GR_EINVAL for a bad code or id. */
int gr_store_task_put(gr_txn_t *txn, const Gridrelay__Task *task);

/* The task of dept for event_id, unpacked into *out (free with
 * gridrelay__task__free_unpacked()). GR_ENOTFOUND when there is none. */
int gr_store_task_get(gr_txn_t *txn, const char *dept, const char *event_id,
                      Gridrelay__Task **out);

/* Removes it; GR_ENOTFOUND when there was none. */
int gr_store_task_del(gr_txn_t *txn, const char *dept, const char *event_id);

/* Called for each task (valid only during the call); returns 0 to go on,
 * anything else to stop before counting this one. */
typedef int (*gr_store_task_fn)(void *ctx, const Gridrelay__Task *task);

/* Visits dept's tasks in event id order, after after_event_id (NULL or ""
 * = from the first), up to limit. Returns the number visited, or a
 * negative code (GR_EDECODE for a damaged record). The visitor must not
 * write to the tasks database. */
int gr_store_task_scan(gr_txn_t *txn, const char *dept, const char *after_event_id,
                       size_t limit, gr_store_task_fn visit, void *ctx);

#endif
