/* The audit of reads (issue 14 part 5): every read of a confidential
 * case (catalogue: confidential = yes) and every refused request
 * (ERR_FORBIDDEN) becomes an AccessRecord in the store's access chain
 * (store.h, "the access log"; docs/PROTOCOL.md 4.10), and AuditReads
 * answers an auditor's `gridctl audit reads`.
 *
 * Reads are answered in a read transaction, so what they note waits here,
 * in memory, until gr_access_log_commit(), which the daemon calls once a
 * turn before the turn's replies leave: a reply that reveals a
 * confidential case is sent after its record is on disk (when that commit
 * fails the records stay pending, and the failure is logged).
 *
 * Thread safety: the main thread only.
 */
#ifndef GR_ACCESS_LOG_H
#define GR_ACCESS_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "request.h"
#include "store.h"

typedef struct gr_access_log gr_access_log_t;

gr_access_log_t *gr_access_log_new(void);
void gr_access_log_destroy(gr_access_log_t **self_p);

/* Notes one record for request req (its signer, seq, kind and time):
 * kind GRIDRELAY__ACCESS_RECORD__KIND__READ or __REFUSED. The same
 * (signer, seq, event_id) noted twice (a write batch redone after the map
 * grew) is kept once; a list notes one record per case it shows. Returns 0 or GR_ENOMEM. */
int gr_access_log_note(gr_access_log_t *self, const gr_request_t *req, int kind,
                       const char *roles, const char *event_id, const char *category,
                       const char *detail);

/* Records waiting for gr_access_log_commit(). */
size_t gr_access_log_pending(const gr_access_log_t *self);

/* Writes the pending records in one write transaction of their own and
 * commits it. 0 (nothing pending included), or the store's error (the
 * records stay pending). No other transaction may be open in this
 * thread. */
int gr_access_log_commit(gr_access_log_t *self, gr_store_t *store);

/* The AuditReads handler: the matching records (newest last, at most
 * limit) with the whole chain's verdict, as an AccessLog reply. */
int gr_access_log_query(const gr_request_t *req);

#endif
