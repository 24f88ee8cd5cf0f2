/* Operators' case actions at this node (CaseAction): accept (受理),
 * resolve (办结), escalate (上报), assign down to a child (交办) and
 * dispatch to a department (分流). Each is one change through the case
 * engine, then what follows: the router asked again, the result sent back,
 * the case sent down or to its departments.
 *
 * Thread safety: the daemon's main thread only.
 */
#ifndef GR_ACTIONS_H
#define GR_ACTIONS_H

#include "config.h"
#include "departments.h"
#include "engine.h"
#include "request.h"
#include "tierlink.h"

typedef struct {
    const gr_config_t *cfg;
    gr_engine_t *engine;
    gr_tierlink_t *tierlink;
    gr_departments_t *departments;
} gr_actions_t;

/* A CaseAction (its fields checked by node/check, its signer by the
 * request table). Returns 0 with req->reply filled, or a store failure. */
int gr_actions_handle(const gr_actions_t *self, const gr_request_t *req);

#endif
