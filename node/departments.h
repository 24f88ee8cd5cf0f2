/* Departments (分流): the node's side of the departments' protocol. A case
 * kept at this node whose category has a line in the [dispatch] routing
 * table goes to the line's lead department (co-handlers get their own
 * tasks); departments list, claim, note, return and complete their tasks
 * over the node's request socket with their own signed envelopes, and
 * learn of new tasks from notices published on "dept/<code>/".
 *
 * The rules, in one place:
 *  - a department acts only on a task it holds (GR_EPERM otherwise, and
 *    nothing changes); a resent action gets the original answer;
 *  - claim moves the case to in_progress (lead) and starts the complete-by
 *    clock; a second claim is acknowledged as a duplicate;
 *  - the lead's completion resolves the case, withdraws the co-handlers'
 *    tasks and sends the result towards the origin (on the engine's
 *    agenda: node/tierlink sends it); co-handlers' notes, returns and
 *    completions go in the timeline;
 *  - the lead's return (退回) records the department as tried; the router
 *    then picks the next department of the route or, when none is left,
 *    escalates with reason returned_from_below;
 *  - deadlines per task (router/task.h): overdue -> supervision notice and
 *    a flag on the case, overdue again -> escalation with 督办 (agenda).
 *
 * Every change goes through the case engine (engine.h); this module never
 * calls node/tierlink, and node/tierlink never calls it.
 *
 * Thread safety: the daemon's main thread only, inside its transactions.
 */
#ifndef GR_DEPARTMENTS_H
#define GR_DEPARTMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "engine.h"
#include "request.h"

/* Notice topic prefix; the full topic is "dept/<code>/" (codes cannot hold
 * '/', so no department's topic is a prefix of another's). */
#define GR_DEPT_TOPIC_MAX (5 + 64 + 1 + 1)

/* How a DISPATCH timeline entry's reason begins, followed by the lead
 * department's code and a space: node/assessment reads it back to credit
 * each department's turn at a case. */
#define GR_DISPATCH_REASON_PREFIX "dispatched to "

typedef struct gr_departments gr_departments_t;

/* An operator's (re)dispatch: the lead, and the co-handlers that replace
 * the case's (none given: those with open tasks keep them). */
typedef struct {
    const char *lead;
    char *const *co;
    size_t n_co;
    const gr_actor_t *actor;
    const char *why;         /* the operator's text, or NULL */
} gr_dispatch_t;

/* cfg and engine must outlive it. NULL when out of memory. */
gr_departments_t *gr_departments_new(const gr_config_t *cfg, gr_engine_t *engine);
void gr_departments_destroy(gr_departments_t **self_p);

/* Writes the notice topic of dept into topic (GR_DEPT_TOPIC_MAX bytes). */
void gr_departments_topic(char *topic, const char *dept);

/* Where notices are published, as bound (told to departments in
 * TaskList); copied. Returns 0 or GR_ENOMEM. */
int gr_departments_set_notice_endpoint(gr_departments_t *self, const char *endpoint);

/* Whether a department here could take rec now: the routing table has a
 * line for its category with a candidate it has not returned. */
bool gr_departments_untried(const gr_departments_t *self, const Gridrelay__StoredEvent *rec);

/* Gives rec to the next untried department of its route (and the route's
 * co-handlers on a first dispatch). GR_ENOTFOUND when there is none. */
int gr_departments_dispatch_next(gr_departments_t *self, gr_txn_t *txn,
                                 Gridrelay__StoredEvent *rec, uint64_t now_ms);

/* An operator's (re)dispatch. GR_EINVAL (refusal filled) for a code that
 * is not a department here, GR_EPERM when the case's state does not allow
 * it; in both cases nothing was written. */
int gr_departments_dispatch_to(gr_departments_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                               const gr_dispatch_t *dispatch, uint64_t now_ms, char *refusal,
                               size_t refusal_len);

/* Withdraws every open task of rec (lead and co-handlers): deletes them,
 * tells each department, clears rec's department fields and stores it. */
int gr_departments_withdraw_all(gr_departments_t *self, gr_txn_t *txn,
                                Gridrelay__StoredEvent *rec, const char *reason);

/* A superior urged the case the lead department holds (督办): its task
 * counts the notice and the department is told (note: why). The
 * timeline entry is the caller's. GR_ENOTFOUND when no department holds
 * it. */
int gr_departments_urge(gr_departments_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                        const char *note, uint64_t now_ms);

/* The lead task's timer came due. */
int gr_departments_fire(gr_departments_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                        uint64_t now_ms);

/* A TaskAction from a department's key. Returns 0 with req->reply filled,
 * or a store failure. */
int gr_departments_task_action(gr_departments_t *self, const gr_request_t *req);

/* ListTasks from a department's key (req->txn is a read transaction):
 * its open tasks, in event id order, with the events, within half a
 * frame. Returns 0 with a reply or a negative store error. */
int gr_departments_list_tasks(gr_departments_t *self, const gr_request_t *req);

#endif
