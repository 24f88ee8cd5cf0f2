/* The supervision list (督办): everything overdue at this node and below
 * it, for the operator who urges the holders (gridctl supervise). This
 * node's cases are judged from its store; the tiers below from its view,
 * whose status updates carry every case's milestones. The judgement
 * itself is router/supervise (pure).
 *
 * Cost: one pass over this node's cases and one over its view, in one
 * read transaction (readers never hold up the writer).
 *
 * Thread safety: the daemon's main thread only.
 */
#ifndef GR_SUPERVISION_H
#define GR_SUPERVISION_H

#include <stdbool.h>

#include "config.h"
#include "request.h"

/* Where a case this node does not hold stands below it, from the view. */
typedef struct {
    bool found;
    bool open;                       /* still being handled there */
    char node_id[GR_ID_MAX + 1];     /* the node holding it */
    char via_child[GR_ID_MAX + 1];   /* the child that relayed it: the way down */
    char holder[GR_ID_MAX + 1];      /* the node or department holding it there */
    Gridrelay__Status status;
} gr_below_t;

/* Looks event_id up in the view (a walk over the whole view: an
 * operator's action, not a hot path): the node holding it open wins over
 * the copies of tiers it passed through, else the latest closed one.
 * With entry not NULL, *entry gets a copy of that view entry (free with
 * gridrelay__view_entry__free_unpacked(); NULL when not found). */
int gr_supervision_find_below(gr_txn_t *txn, const char *event_id, gr_below_t *out,
                              Gridrelay__ViewEntry **entry);

/* GetEvent for a case not held here (req->txn a read transaction): an
 * EventDetail marked below, from what the tier holding it last told, with
 * the urges this node sent for it as its timeline. GR_ENOTFOUND when the
 * view does not know it either. */
int gr_supervision_show_below(const gr_request_t *req, const char *event_id);

/* ListSupervision (req->txn a read transaction): fills req->reply with a
 * SupervisionPage, most overdue first. Returns 0 or a store error. */
int gr_supervision_list(const gr_config_t *cfg, const gr_request_t *req);

#endif
