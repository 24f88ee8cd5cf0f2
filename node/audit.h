/* Audit requests (docs/PROTOCOL.md 4.8): AuditVerify walks the whole store
 * (every case's chain and the node's ledger, store_audit.c) and answers an
 * AuditReport; AuditExport answers one case's evidence as an AuditBundle,
 * which the node's reply envelope signs.
 *
 * Each fills req->reply and returns 0, or a negative store error. Both
 * run in the request's read transaction, so the writer is never blocked;
 * a verify is O(entries) for the whole store.
 *
 * Thread safety: the caller's thread, with its own transaction.
 */
#ifndef GR_AUDIT_H
#define GR_AUDIT_H

#include "config.h"
#include "request.h"

int gr_audit_verify(const gr_request_t *req);
int gr_audit_export(const gr_config_t *cfg, const gr_request_t *req);

#endif
