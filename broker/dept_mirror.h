/* The department client's mirror of its open tasks (broker/dept_client.h),
 * and the task notices that change it.
 *
 * A notice is applied only in sequence: one already reflected (by the last
 * listing or an earlier notice) is ignored, one after a gap only sets
 * need_sync, so that the client lists the truth from the node's store.
 * Each change of the mirror is reported once through on_task.
 *
 * Apart from the client so that the notice decoder can be driven without
 * sockets (tests/fuzz/fuzz_notice.c): a zeroed struct is an empty mirror.
 *
 * Thread safety: a mirror belongs to one thread at a time.
 */
#ifndef GR_DEPT_MIRROR_H
#define GR_DEPT_MIRROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gridrelay.pb-c.h"

/* The changes of a department's tasks the mirror reports (dept_client.h
 * says when each comes). */
typedef enum {
    GR_DEPT_TASK_ADDED = 1,
    GR_DEPT_TASK_URGED,
    GR_DEPT_TASK_REMOVED,
} gr_dept_change_t;

/* task (with its event) and reason are valid only during the call. */
typedef void (*gr_dept_task_fn)(void *ctx, gr_dept_change_t change, const Gridrelay__Task *task,
                                const char *reason);

typedef struct {
    Gridrelay__Task **tasks;   /* by event id; each owned */
    size_t count;
    size_t cap;
    uint64_t notice_seq;       /* newest notice reflected */
    bool need_sync;            /* a gap or a lost notice: list again */
    uint64_t reported;         /* changes reported so far */
    gr_dept_task_fn on_task;   /* may be NULL */
    void *ctx;
} gr_dept_mirror_t;

/* Frees every task; the mirror is empty (callback and sequence kept). */
void gr_dept_mirror_clear(gr_dept_mirror_t *self);

/* Index of id, or where it would go (with *found false). */
size_t gr_dept_mirror_find(const gr_dept_mirror_t *self, const char *id, bool *found);

/* Puts a copy of task in the mirror (replacing an older one). Returns 1
 * when it was not there before, 0 when replaced, or GR_ENOMEM. */
int gr_dept_mirror_put(gr_dept_mirror_t *self, const Gridrelay__Task *task);

/* Drops the i-th task (i < count). */
void gr_dept_mirror_drop_at(gr_dept_mirror_t *self, size_t i);

/* Counts a change and tells on_task (reason NULL: ""). */
void gr_dept_mirror_report(gr_dept_mirror_t *self, gr_dept_change_t change,
                           const Gridrelay__Task *task, const char *reason);

/* Applies one notice as it came off the subscription (the frame after the
 * topic): a box made with box_key holding a TaskNotice envelope signed by
 * node_pk. Anything else is ignored. */
void gr_dept_mirror_notice(gr_dept_mirror_t *self, const uint8_t *box, size_t box_len,
                           const uint8_t *box_key, const uint8_t *node_pk);

#endif
