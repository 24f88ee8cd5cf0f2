/* The outbox as an operator sees it, and its dead letters.
 *
 * A tier link resends each outbox entry until the peer acknowledges it;
 * an entry the peer refuses for good (broker/link.h,
 * gr_link_error_is_permanent: ERR_FORBIDDEN, ERR_INVALID,
 * ERR_UNKNOWN_CATEGORY, ERR_REPLAY...) would be resent for ever, so the link hands it
 * back and node/peers buries it here: moved to the store's dead letters
 * (kept byte for byte, counted in "outbox.dead", logged). An operator then
 * lists the outbox (OutboxList, `gridctl outbox list`), retries a dead
 * letter after fixing what made the peer refuse it (its body sealed again
 * with a new seq at the end of the peer's outbox: the peer never committed
 * the old one) or drops it (kept, marked with who and when, and a `drop`
 * entry in the case's timeline, hence in the audit ledger, when it is
 * about a case held here).
 *
 * Thread safety: the daemon's main thread only.
 */
#ifndef GR_OUTBOX_H
#define GR_OUTBOX_H

#include <stdint.h>

#include "config.h"
#include "engine.h"
#include "request.h"
#include "store.h"

/* Inside a write transaction: peer's outbox entry seq was refused for good
 * with code and message. Returns 0 (also when the entry is already gone)
 * or the store's error. */
int gr_outbox_bury(gr_txn_t *txn, const char *peer, uint64_t seq, int code,
                   const char *message, uint64_t now_ms);

/* OutboxList (read transaction). */
int gr_outbox_list(const gr_config_t *cfg, const gr_request_t *req);

/* OutboxAction RETRY / DROP (write transaction of the request). */
int gr_outbox_act(gr_engine_t *engine, const gr_config_t *cfg, const gr_request_t *req);

#endif
