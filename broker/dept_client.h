/* The department client: the library a functional department's software
 * (公安, 安监, 交通, 民政...) uses to take its tasks from a gridrelayd node.
 *
 * It keeps a mirror of the department's open tasks on the node. Notices
 * published by the node (PUB/SUB, topic "dept/<code>/") are only a
 * doorbell: on the first sync, on every (re)connection of the
 * subscription, on a gap in the notice sequence and every resync interval
 * the client lists its open tasks from the node's store, so a department
 * that was offline, slow or late misses nothing. Each change of the mirror
 * is reported once through the callback:
 *
 *   GR_DEPT_TASK_ADDED      a task is yours (dispatched now, or found on a
 *                           sync: the backlog after a reconnect); also when
 *                           one you hold is given to you again
 *   GR_DEPT_TASK_URGED      督办: the node says your task is overdue
 *   GR_DEPT_TASK_REMOVED    no longer yours (withdrawn, redispatched, the
 *                           case closed or went up; gone on a sync)
 *
 * Actions (claim, note, return, complete) go over a DEALER request
 * channel as envelopes signed with the department's own key, resent on
 * silence (the node answers a resend with the original result).
 *
 * Use from another program's event loop: add the items of
 * gr_dept_client_poll_items() to its zmq_poll() set, and call
 * gr_dept_client_process(self, 0) when one is readable and at least every
 * gr_dept_client_timeout_ms().
 *
 * Thread safety: a client belongs to one thread at a time.
 */
#ifndef GR_DEPT_CLIENT_H
#define GR_DEPT_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "dept_mirror.h"
#include "gridrelay.pb-c.h"
#include "keys.h"

typedef struct gr_dept_client gr_dept_client_t;

typedef struct {
    const char *node_endpoint;    /* the node's request endpoint (required) */
    const uint8_t *node_pk;       /* the node's Ed25519 key (required: CURVE and
                                   * reply signatures) */
    const gr_keypair_t *keys;     /* the department's key (required) */
    const char *notice_endpoint;  /* NULL: the one the node reports in its
                                   * task list (fine on loopback and LANs;
                                   * set it when the node binds 0.0.0.0) */
    void *zmq_ctx;                /* NULL: the client makes its own */
    int timeout_ms;               /* per request attempt; 0 = 2000 */
    int attempts;                 /* 0 = 3 */
    int resync_ms;                /* full re-list period; 0 = 30000 */
    gr_dept_task_fn on_task;      /* may be NULL */
    void *ctx;                    /* passed to on_task */
} gr_dept_client_options_t;

/* Creates a client; nothing is sent yet. Returns NULL (with the reason in
 * err) on a missing option or a bad endpoint. */
gr_dept_client_t *gr_dept_client_new(const gr_dept_client_options_t *options, char *err,
                                     size_t errlen);

/* Closes everything, sets *self_p to NULL. Accepts NULL. */
void gr_dept_client_destroy(gr_dept_client_t **self_p);

/* Lists every open task from the node (all pages), updates the mirror and
 * reports its changes; the first call also subscribes to the notices.
 * A node that publishes no notices (no task_listen) is followed by
 * re-listing every resync period only.
 * Returns 0, GR_ETIMEOUT when the node did not answer, GR_EREFUSED when it
 * refused (err gives the wire code and why, e.g. "ERR_FORBIDDEN: only
 * departments list tasks"). */
int gr_dept_client_sync(gr_dept_client_t *self, char *err, size_t errlen);

/* Handles what is pending, waiting at most timeout_ms (0 = do not wait)
 * for notices: reports changes, resyncs on a gap, a reconnect or when the
 * resync period passed. Returns the number of changes reported, or a
 * negative code (a failed resync: it is tried again next time). */
int gr_dept_client_process(gr_dept_client_t *self, int timeout_ms);

/* Fills up to max poll items (2 are needed: notices and the subscription
 * monitor) and returns how many. */
size_t gr_dept_client_poll_items(gr_dept_client_t *self, zmq_pollitem_t *items, size_t max);

/* Milliseconds until the client wants gr_dept_client_process() called
 * even if nothing is readable (the resync period). */
int gr_dept_client_timeout_ms(gr_dept_client_t *self);

/* Acts on one of the department's tasks: claim (签收), note, return (退回,
 * text = the reason, required) or complete (办结, text = the result).
 * Returns 0 when the node acknowledged (a duplicate claim too), GR_EREFUSED
 * with the node's code and reason in err ("ERR_FORBIDDEN: no open task of
 * this department for that case"),
 * GR_ETIMEOUT when it did not answer. */
int gr_dept_client_act(gr_dept_client_t *self, Gridrelay__TaskAction__Kind kind,
                       const char *event_id, const char *text, char *err, size_t errlen);

/* The open tasks in the mirror, and the i-th in event id order (NULL when
 * out of range); valid until the next call into the client. */
size_t gr_dept_client_task_count(const gr_dept_client_t *self);
const Gridrelay__Task *gr_dept_client_task_at(const gr_dept_client_t *self, size_t i);

/* The department code the node knows this key by (after a sync), "" before. */
const char *gr_dept_client_code(const gr_dept_client_t *self);

#endif
