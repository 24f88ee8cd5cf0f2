/* Queries: what a node answers from a read transaction, after the batch's
 * commit so that a reader sees its own writes. GetEvent (the case and its
 * whole timeline), ListEvents (summaries, paged), ListView (the newest
 * status of each descendant's case, paged) and GetStats (counters).
 *
 * Each fills req->reply and returns 0, or a negative store error.
 *
 * Thread safety: the daemon's main thread only.
 */
#ifndef GR_QUERIES_H
#define GR_QUERIES_H

#include <stdbool.h>

#include "config.h"
#include "counters.h"
#include "request.h"

/* What a list reply shows, seen before the reply is packed (the request
 * table audits confidential cases and withholds their titles, issue 14):
 * event for each case of a ListEvents page, view for each update of a
 * ListView page (it may change the copy it is given). Each returns 0 or
 * GR_ENOMEM; either may be NULL. */
typedef struct {
    int (*event)(void *ctx, const Gridrelay__StoredEvent *rec);
    int (*view)(void *ctx, Gridrelay__StatusUpdate *update);
    void *ctx;
} gr_query_shown_t;

int gr_query_event(const gr_request_t *req);
/* admit (may be NULL) narrows the list to the cases it returns true for:
 * the cases in the signer's scope, which the request table decides.
 * shown may be NULL. */
int gr_query_list(const gr_request_t *req, bool (*admit)(void *ctx, const Gridrelay__StoredEvent *rec),
                  void *admit_ctx, const gr_query_shown_t *shown);
int gr_query_view(const gr_request_t *req, const gr_query_shown_t *shown);
int gr_query_stats(const gr_config_t *cfg, const gr_counters_t *counters, const gr_request_t *req);

#endif
