/* Requests: the one way a verified request goes through the node.
 *
 * A table maps each body kind to its handler, says whether it writes, and
 * who may send it (the tier link it must come over, the signer's role):
 * the dispatch is data, and the permission rules live in one place. A
 * write runs in its own transaction nested in the batch's: its fields are
 * checked first (node/check), then a resend of an accepted (signer, seq)
 * gets the original answer, a seq outside the replay window is refused,
 * the handler changes the case through the engine, node/flow carries out
 * what the change set off, and (signer, seq) is remembered. A refusal, or
 * a store error the request itself caused, undoes its writes, its effects
 * and its counts (but the refusal's own), and never its neighbours'.
 *
 * Thread safety: the daemon's main thread only.
 */
#ifndef GR_REQUESTS_H
#define GR_REQUESTS_H

#include "access_log.h"
#include <stdbool.h>
#include <stdint.h>

#include "access.h"
#include "config.h"
#include "counters.h"
#include "daily.h"
#include "departments.h"
#include "engine.h"
#include "flow.h"
#include "peers.h"
#include "request.h"
#include "tierlink.h"

/* How far ahead of this node's clock a request's seq may be, in
 * microseconds (seqs are microsecond timestamps, PROTOCOL.md section 5):
 * one accepted seq far in the future would refuse every honest one after
 * it as a replay. */
#define GR_SEQ_AHEAD_US (24ull * 3600 * 1000000)

typedef struct gr_requests gr_requests_t;

/* Every pointer must outlive the table. NULL when out of memory. */
gr_requests_t *gr_requests_new(const gr_config_t *cfg, gr_counters_t *counters,
                               gr_engine_t *engine, gr_tierlink_t *tierlink,
                               gr_departments_t *departments, gr_daily_t *daily);
void gr_requests_destroy(gr_requests_t **self_p);

/* The links, which answer GetLinks: they are made after the table, since
 * they need the request socket. */
void gr_requests_set_peers(gr_requests_t *self, gr_peers_t *peers);

/* The access rule of the request table's row for kind: which roles may
 * send it on any case and which on their own cases only (router/access.h).
 * NULL for a kind the table does not take. For the tests of the matrix. */
const gr_access_rule_t *gr_requests_access_rule(Gridrelay__Body__KindCase kind);

/* Whether the request's body changes state (gr_requests_write()) rather
 * than reads (gr_requests_read()). */
bool gr_requests_is_write(const gr_opened_t *request);

/* A state-changing request in req->txn (the batch's write transaction;
 * the request gets its own nested one). Returns 0 with req->reply filled
 * (Ack or Error) or, when the batch itself must end, GR_EMAPFULL /
 * GR_ENOMEM and no reply: the caller aborts and redoes the batch. */
int gr_requests_write(gr_requests_t *self, const gr_request_t *req);

/* A query in req->txn (a read transaction). Returns 0 with a reply, or a
 * negative store error. */
int gr_requests_read(gr_requests_t *self, const gr_request_t *req);

/* Whether the request is a long read (a ranking, counts over the store)
 * that the analyst thread answers (node/analyst), not the main thread. */
bool gr_requests_is_slow(const gr_opened_t *request);

/* On the main thread, before handing a long read over: its admission
 * (kind, fields, who may ask) and counting. Returns 0 to hand it over, 1
 * when req->reply holds the refusal, or a negative error. req->txn is not
 * used. */
int gr_requests_admit_slow(gr_requests_t *self, const gr_request_t *req);

/* On the analyst's thread: answers an admitted long read in req->txn (its
 * own read transaction). Touches only the config, the store and the reply;
 * an invalid request is answered with an Error (reply->error GR_EINVAL),
 * which the main thread counts. Returns 0 or a negative store error. */
int gr_requests_run_slow(gr_requests_t *self, const gr_request_t *req);

/* The access log the table notes reads of confidential cases and
 * refusals in (node/access_log.h); the daemon commits it each turn. */
gr_access_log_t *gr_requests_access_log(gr_requests_t *self);

#endif
