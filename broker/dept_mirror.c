#include "dept_mirror.h"

#include <stdlib.h>
#include <string.h>

#include "curve.h"
#include "envelope.h"
#include "error.h"

/* What a notice frame may be: the node's frame limit is configurable up
 * to 16 MiB (node/config.h, max_frame). */
#define S_MAX_FRAME (16u << 20)

void gr_dept_mirror_clear(gr_dept_mirror_t *self)
{
    while (self->count)
        gr_dept_mirror_drop_at(self, self->count - 1);
    free(self->tasks);
    self->tasks = NULL;
    self->cap = 0;
}

size_t gr_dept_mirror_find(const gr_dept_mirror_t *self, const char *id, bool *found)
{
    size_t lo = 0, hi = self->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(self->tasks[mid]->event_id, id);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

int gr_dept_mirror_put(gr_dept_mirror_t *self, const Gridrelay__Task *task)
{
    bool found = false;
    size_t i = gr_dept_mirror_find(self, task->event_id, &found);
    Gridrelay__Task *copy = gr_message_dup(&task->base);
    if (!copy)
        return GR_ENOMEM;
    if (found) {
        gridrelay__task__free_unpacked(self->tasks[i], NULL);
        self->tasks[i] = copy;
        return 0;
    }
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 32;
        Gridrelay__Task **grown = realloc(self->tasks, cap * sizeof *grown);
        if (!grown) {
            gridrelay__task__free_unpacked(copy, NULL);
            return GR_ENOMEM;
        }
        self->tasks = grown;
        self->cap = cap;
    }
    memmove(&self->tasks[i + 1], &self->tasks[i], (self->count - i) * sizeof *self->tasks);
    self->tasks[i] = copy;
    self->count++;
    return 1;
}

void gr_dept_mirror_drop_at(gr_dept_mirror_t *self, size_t i)
{
    gridrelay__task__free_unpacked(self->tasks[i], NULL);
    memmove(&self->tasks[i], &self->tasks[i + 1], (self->count - i - 1) * sizeof *self->tasks);
    self->count--;
}

void gr_dept_mirror_report(gr_dept_mirror_t *self, gr_dept_change_t change,
                           const Gridrelay__Task *task, const char *reason)
{
    self->reported++;
    if (self->on_task)
        self->on_task(self->ctx, change, task, reason ? reason : "");
}

void gr_dept_mirror_notice(gr_dept_mirror_t *self, const uint8_t *box, size_t box_len,
                           const uint8_t *box_key, const uint8_t *node_pk)
{
    uint8_t *frame = NULL;
    size_t len = 0;
    int rc = gr_box_open(&frame, &len, box, box_len, box_key);
    if (rc == GR_ENOMEM)
        self->need_sync = true;  /* the listing brings what this missed */
    gr_opened_t opened;
    if (rc == 0)
        rc = gr_envelope_open_from(&opened, frame, len, node_pk, S_MAX_FRAME);
    free(frame);
    if (rc != 0)
        return;  /* not for this department, or not from our node: ignore */
    const Gridrelay__TaskNotice *n = opened.body->task_notice;
    if (opened.body->kind_case != GRIDRELAY__BODY__KIND_TASK_NOTICE || !n || !n->task ||
        !n->task->event_id || n->seq <= self->notice_seq) {
        gr_opened_clear(&opened);
        return;  /* already reflected by the last listing */
    }
    if (n->seq != self->notice_seq + 1) {
        self->need_sync = true;  /* a gap: fetch the truth from the store */
        gr_opened_clear(&opened);
        return;
    }
    self->notice_seq = n->seq;
    bool found = false;
    size_t i = gr_dept_mirror_find(self, n->task->event_id, &found);
    switch (n->kind) {
    case GRIDRELAY__TASK_NOTICE__KIND__NEW:
    case GRIDRELAY__TASK_NOTICE__KIND__URGED: {
        int rc = gr_dept_mirror_put(self, n->task);
        if (rc < 0) {
            self->need_sync = true;
            break;
        }
        /* NEW is always reported: a task can come back to a department
         * (as lead after being co-handler, after a redispatch). */
        bool urged = n->kind == GRIDRELAY__TASK_NOTICE__KIND__URGED;
        gr_dept_mirror_report(self, urged ? GR_DEPT_TASK_URGED : GR_DEPT_TASK_ADDED, n->task,
                              n->reason);
        break;
    }
    case GRIDRELAY__TASK_NOTICE__KIND__WITHDRAWN:
        if (found) {
            gr_dept_mirror_report(self, GR_DEPT_TASK_REMOVED, n->task, n->reason);
            gr_dept_mirror_drop_at(self, i);
        }
        break;
    default:
        break;
    }
    gr_opened_clear(&opened);
}
