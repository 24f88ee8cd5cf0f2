/* Dispatch (分流): the node's side of the departments' protocol. A case
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
 *    tasks and sends the result towards the origin (tier links);
 *    co-handlers' notes, returns and completions go in the timeline;
 *  - the lead's return (退回) records the department as tried; the router
 *    then picks the next department of the route or, when none is left,
 *    escalates with reason returned_from_below;
 *  - deadlines per task (router/task.h): overdue -> supervision notice and
 *    a flag on the case, overdue again -> escalation.
 *
 * Thread safety: the daemon's main thread only, inside its transactions.
 */
#ifndef GR_DISPATCH_H
#define GR_DISPATCH_H

#include <stdint.h>

#include "intake.h"
#include "store.h"
#include "tiers.h"

/* Notice topic prefix; the full topic is "dept/<code>/" (codes cannot hold
 * '/', so no department's topic is a prefix of another's). */
#define GR_DISPATCH_TOPIC_MAX (5 + 64 + 1 + 1)

/* Writes the notice topic of dept into topic (GR_DISPATCH_TOPIC_MAX
 * bytes). */
void gr_dispatch_topic(char *topic, const char *dept);

/* A TaskAction from a department's key. Returns 0 with a reply (Ack or
 * Error), or a store failure (the batch is redone). */
int gr_dispatch_task_action(gr_tiers_t *self, gr_txn_t *txn, const gr_opened_t *request,
                            uint64_t now_ms, gr_reply_t *reply);

/* ListTasks from a department's key: its open tasks, in event id order,
 * with the events, within half a frame. Returns 0 with a reply or a
 * negative store error. */
int gr_dispatch_list_tasks(gr_tiers_t *self, gr_txn_t *txn, const gr_opened_t *request,
                           gr_reply_t *reply);

/* Where notices are published, as bound (told to departments in
 * TaskList); copied. Returns 0 or GR_ENOMEM. */
int gr_dispatch_set_notice_endpoint(gr_tiers_t *self, const char *endpoint);

#endif
