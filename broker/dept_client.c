#include "dept_client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client.h"
#include "dept_mirror.h"
#include "curve.h"
#include "envelope.h"
#include "error.h"

#define S_TIMEOUT_DEFAULT 2000
#define S_ATTEMPTS_DEFAULT 3
#define S_RESYNC_DEFAULT 30000
#define S_PAGE 200

struct gr_dept_client {
    gr_dept_client_options_t opt;
    char *node_endpoint;
    char *notice_endpoint;     /* from the options, or learnt from the node */
    uint8_t node_pk[GR_PUBLIC_KEY_BYTES];
    gr_keypair_t keys;
    /* The key the node boxes this department's notices with. */
    uint8_t box_key[GR_BOX_KEY_BYTES];
    void *ctx;
    bool own_ctx;
    gr_client_t *req;
    void *sub;
    void *monitor;
    uint64_t last_sync_ms;
    char code[64];
    gr_dept_mirror_t mirror;   /* the open tasks, and the notice sequence */
};

/* ---- lifecycle ---- */

gr_dept_client_t *gr_dept_client_new(const gr_dept_client_options_t *options, char *err,
                                     size_t errlen)
{
    if (!options || !options->node_endpoint || !options->node_pk || !options->keys) {
        snprintf(err, errlen, "the node's endpoint and key and the department's key are required");
        return NULL;
    }
    gr_dept_client_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->opt = *options;
    if (self->opt.timeout_ms <= 0)
        self->opt.timeout_ms = S_TIMEOUT_DEFAULT;
    if (self->opt.attempts <= 0)
        self->opt.attempts = S_ATTEMPTS_DEFAULT;
    if (self->opt.resync_ms <= 0)
        self->opt.resync_ms = S_RESYNC_DEFAULT;
    memcpy(self->node_pk, options->node_pk, sizeof self->node_pk);
    self->keys = *options->keys;
    if (gr_box_key(self->box_key, self->node_pk, &self->keys) != 0) {
        snprintf(err, errlen, "the node's or the department's key is not usable");
        goto fail;
    }
    self->node_endpoint = strdup(options->node_endpoint);
    self->notice_endpoint = options->notice_endpoint ? strdup(options->notice_endpoint) : NULL;
    self->ctx = options->zmq_ctx;
    if (!self->ctx) {
        self->ctx = zmq_ctx_new();
        self->own_ctx = true;
    }
    if (!self->node_endpoint || (options->notice_endpoint && !self->notice_endpoint) || !self->ctx) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    self->req = gr_client_new(self->ctx, self->node_endpoint, &self->keys, self->node_pk);
    if (!self->req) {
        snprintf(err, errlen, "cannot connect to %s: %s", self->node_endpoint,
                 zmq_strerror(zmq_errno()));
        goto fail;
    }
    self->mirror.need_sync = true;
    self->mirror.on_task = options->on_task;
    self->mirror.ctx = options->ctx;
    return self;
fail:
    gr_dept_client_destroy(&self);
    return NULL;
}

void gr_dept_client_destroy(gr_dept_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gr_dept_client_t *self = *self_p;
    gr_client_destroy(&self->req);
    if (self->sub) {
        if (self->monitor)
            zmq_socket_monitor(self->sub, NULL, 0);
        zmq_close(self->sub);
    }
    if (self->monitor)
        zmq_close(self->monitor);
    if (self->own_ctx && self->ctx)
        zmq_ctx_term(self->ctx);
    gr_dept_mirror_clear(&self->mirror);
    free(self->node_endpoint);
    free(self->notice_endpoint);
    memset(&self->keys, 0, sizeof self->keys);
    sodium_memzero(self->box_key, sizeof self->box_key);
    free(self);
    *self_p = NULL;
}

/* ---- requests ---- */

/* Calls the node; an Error reply becomes GR_EREFUSED with its text. */
static int s_call(gr_dept_client_t *self, const Gridrelay__Body *request, gr_opened_t *reply,
                  char *err, size_t errlen)
{
    int rc = gr_client_call(self->req, request, reply, self->opt.timeout_ms, self->opt.attempts);
    if (rc == GR_ETIMEOUT) {
        snprintf(err, errlen, "no reply from %s", self->node_endpoint);
        return rc;
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s", gr_strerror(rc));
        return rc;
    }
    if (reply->body->kind_case == GRIDRELAY__BODY__KIND_ERROR) {
        const Gridrelay__Error *e = reply->body->error;
        const ProtobufCEnumValue *code =
            protobuf_c_enum_descriptor_get_value(&gridrelay__error_code__descriptor, e->code);
        snprintf(err, errlen, "%s: %s", code ? code->name : "ERR_UNKNOWN",
                 e->message && *e->message ? e->message : "refused");
        gr_opened_clear(reply);
        return GR_EREFUSED;
    }
    return 0;
}

int gr_dept_client_act(gr_dept_client_t *self, Gridrelay__TaskAction__Kind kind,
                       const char *event_id, const char *text, char *err, size_t errlen)
{
    if (!self || !event_id) {
        snprintf(err, errlen, "no event id");
        return GR_EINVAL;
    }
    Gridrelay__TaskAction action = GRIDRELAY__TASK_ACTION__INIT;
    action.event_id = (char *)event_id;
    action.kind = kind;
    action.text = (char *)(text ? text : "");
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_TASK_ACTION;
    body.task_action = &action;
    gr_opened_t reply;
    int rc = s_call(self, &body, &reply, err, errlen);
    if (rc != 0)
        return rc;
    if (reply.body->kind_case != GRIDRELAY__BODY__KIND_ACK) {
        snprintf(err, errlen, "unexpected reply from the node");
        rc = GR_EDECODE;
    }
    gr_opened_clear(&reply);
    /* Our own completion or return ends the task here at once; the next
     * sync would find it gone anyway. */
    bool found = false;
    size_t i = gr_dept_mirror_find(&self->mirror, event_id, &found);
    if (rc == 0 && found && (kind == GRIDRELAY__TASK_ACTION__KIND__RETURN ||
                             kind == GRIDRELAY__TASK_ACTION__KIND__COMPLETE))
        gr_dept_mirror_drop_at(&self->mirror, i);
    return rc;
}

/* ---- the subscription ---- */

static int s_subscribe(gr_dept_client_t *self, char *err, size_t errlen)
{
    static uint64_t s_monitors;
    uint64_t serial = __atomic_add_fetch(&s_monitors, 1, __ATOMIC_RELAXED);
    char monitor_ep[64], topic[80];
    snprintf(monitor_ep, sizeof monitor_ep, "inproc://gr-dept-monitor-%llu",
             (unsigned long long)serial);
    snprintf(topic, sizeof topic, "dept/%s/", self->code);
    int linger = 0, reconnect_max = 2000;
    if (!(self->sub = zmq_socket(self->ctx, ZMQ_SUB)) ||
        zmq_setsockopt(self->sub, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(self->sub, ZMQ_RECONNECT_IVL_MAX, &reconnect_max, sizeof reconnect_max) != 0 ||
        zmq_setsockopt(self->sub, ZMQ_SUBSCRIBE, topic, strlen(topic)) != 0 ||
        gr_curve_client(self->sub, &self->keys, self->node_pk) != 0 ||
        /* Each completed handshake is a (re)connection: the backlog is
         * fetched then, whatever was published while we were away. */
        zmq_socket_monitor(self->sub, monitor_ep, ZMQ_EVENT_HANDSHAKE_SUCCEEDED) != 0 ||
        !(self->monitor = zmq_socket(self->ctx, ZMQ_PAIR)) ||
        zmq_setsockopt(self->monitor, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(self->monitor, monitor_ep) != 0 ||
        zmq_connect(self->sub, self->notice_endpoint) != 0) {
        snprintf(err, errlen, "cannot subscribe to %s: %s", self->notice_endpoint,
                 zmq_strerror(zmq_errno()));
        return GR_EIO;
    }
    return 0;
}

/* One page of the listing into list (owned copies). */
typedef struct {
    Gridrelay__Task **items;
    size_t count;
    size_t cap;
} s_listing_t;

static void s_listing_clear(s_listing_t *l)
{
    for (size_t i = 0; i < l->count; i++)
        gridrelay__task__free_unpacked(l->items[i], NULL);
    free(l->items);
    memset(l, 0, sizeof *l);
}

static int s_listing_add(s_listing_t *l, const Gridrelay__Task *task)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        Gridrelay__Task **grown = realloc(l->items, cap * sizeof *grown);
        if (!grown)
            return GR_ENOMEM;
        l->items = grown;
        l->cap = cap;
    }
    if (!(l->items[l->count] = gr_message_dup(&task->base)))
        return GR_ENOMEM;
    l->count++;
    return 0;
}

/* Lists every page; *seq gets the notice sequence of the first page (so
 * any notice after it is applied on top). */
static int s_list_all(gr_dept_client_t *self, s_listing_t *l, uint64_t *seq, char *err, size_t errlen)
{
    char after[64] = "";
    for (bool first = true;; first = false) {
        Gridrelay__ListTasks lt = GRIDRELAY__LIST_TASKS__INIT;
        lt.after_event_id = after;
        lt.limit = S_PAGE;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_LIST_TASKS;
        body.list_tasks = &lt;
        gr_opened_t reply;
        int rc = s_call(self, &body, &reply, err, errlen);
        if (rc != 0)
            return rc;
        const Gridrelay__TaskList *list = reply.body->task_list;
        if (reply.body->kind_case != GRIDRELAY__BODY__KIND_TASK_LIST || !list) {
            gr_opened_clear(&reply);
            snprintf(err, errlen, "unexpected reply from the node");
            return GR_EDECODE;
        }
        if (first) {
            *seq = list->notice_seq;
            snprintf(self->code, sizeof self->code, "%s", list->dept ? list->dept : "");
            if (!self->notice_endpoint && list->notice_endpoint && *list->notice_endpoint)
                self->notice_endpoint = strdup(list->notice_endpoint);
        }
        for (size_t i = 0; rc == 0 && i < list->n_tasks; i++)
            rc = s_listing_add(l, list->tasks[i]);
        bool more = list->more && list->n_tasks > 0;
        if (more)
            snprintf(after, sizeof after, "%s", list->tasks[list->n_tasks - 1]->event_id);
        gr_opened_clear(&reply);
        if (rc != 0 || !more)
            return rc;
    }
}

int gr_dept_client_sync(gr_dept_client_t *self, char *err, size_t errlen)
{
    if (!self)
        return GR_EINVAL;
    s_listing_t l = {0};
    uint64_t seq = 0;
    int rc = s_list_all(self, &l, &seq, err, errlen);
    /* A node without task_listen publishes no notices: the mirror then
     * follows by re-listing every resync period only. */
    if (rc == 0 && !self->sub && self->notice_endpoint)
        rc = s_subscribe(self, err, errlen);
    if (rc != 0) {
        s_listing_clear(&l);
        return rc;
    }
    /* Both lists are in event id order (the node lists by key): one merge
     * finds what is gone (no longer ours) and what is new to us. */
    size_t j = 0;
    for (size_t i = 0; i < self->mirror.count;) {
        int c = j < l.count ? strcmp(self->mirror.tasks[i]->event_id, l.items[j]->event_id) : -1;
        if (c < 0) {
            gr_dept_mirror_report(&self->mirror, GR_DEPT_TASK_REMOVED, self->mirror.tasks[i],
                                  "no longer on the node's list");
            gr_dept_mirror_drop_at(&self->mirror, i);
        } else if (c == 0) {
            i++;
            j++;
        } else {
            j++;  /* listed, not mirrored: added below */
        }
    }
    for (j = 0; rc >= 0 && j < l.count; j++) {
        bool found = false;
        size_t i = gr_dept_mirror_find(&self->mirror, l.items[j]->event_id, &found);
        /* An urge missed while the subscription was down shows as a
         * higher count in the listing. */
        bool urged = found && l.items[j]->urged > self->mirror.tasks[i]->urged;
        rc = gr_dept_mirror_put(&self->mirror, l.items[j]);
        if (rc == 1)
            gr_dept_mirror_report(&self->mirror, GR_DEPT_TASK_ADDED, l.items[j],
                                  l.items[j]->reason);
        else if (rc == 0 && urged)
            gr_dept_mirror_report(&self->mirror, GR_DEPT_TASK_URGED, l.items[j],
                                  "overdue (seen on a re-list)");
    }
    s_listing_clear(&l);
    if (rc < 0) {
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    self->mirror.notice_seq = seq;
    self->mirror.need_sync = false;
    self->last_sync_ms = gr_now_ms();
    return 0;
}

/* Applies one notice frame, boxed for this department (changes are
 * reported as they happen). */
static void s_notice(gr_dept_client_t *self, const uint8_t *box, size_t box_len)
{
    gr_dept_mirror_notice(&self->mirror, box, box_len, self->box_key, self->node_pk);
}

static void s_drain_monitor(gr_dept_client_t *self)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    while (zmq_msg_recv(&msg, self->monitor, ZMQ_DONTWAIT) >= 0) {
        if (!zmq_msg_more(&msg))
            self->mirror.need_sync = true;  /* the last part of one event */
        zmq_msg_close(&msg);
        zmq_msg_init(&msg);
    }
    zmq_msg_close(&msg);
}

static void s_drain_notices(gr_dept_client_t *self)
{
    for (;;) {
        zmq_msg_t topic, frame;
        zmq_msg_init(&topic);
        if (zmq_msg_recv(&topic, self->sub, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&topic);
            return;
        }
        bool more = zmq_msg_more(&topic);
        zmq_msg_close(&topic);
        if (!more)
            continue;
        zmq_msg_init(&frame);
        if (zmq_msg_recv(&frame, self->sub, ZMQ_DONTWAIT) >= 0)
            s_notice(self, zmq_msg_data(&frame), zmq_msg_size(&frame));
        while (zmq_msg_more(&frame)) {  /* a foreign multi-part message */
            zmq_msg_close(&frame);
            zmq_msg_init(&frame);
            if (zmq_msg_recv(&frame, self->sub, ZMQ_DONTWAIT) < 0)
                break;
        }
        zmq_msg_close(&frame);
    }
}

size_t gr_dept_client_poll_items(gr_dept_client_t *self, zmq_pollitem_t *items, size_t max)
{
    if (!self || !self->sub || max < 2)
        return 0;
    items[0] = (zmq_pollitem_t){self->sub, 0, ZMQ_POLLIN, 0};
    items[1] = (zmq_pollitem_t){self->monitor, 0, ZMQ_POLLIN, 0};
    return 2;
}

int gr_dept_client_timeout_ms(gr_dept_client_t *self)
{
    if (!self || self->mirror.need_sync)
        return 0;
    uint64_t due = self->last_sync_ms + (uint64_t)self->opt.resync_ms, now = gr_now_ms();
    return now >= due ? 0 : (int)(due - now);
}

int gr_dept_client_process(gr_dept_client_t *self, int timeout_ms)
{
    if (!self)
        return GR_EINVAL;
    uint64_t before = self->mirror.reported;
    if (self->sub) {
        zmq_pollitem_t items[2];
        gr_dept_client_poll_items(self, items, 2);
        int wait = gr_dept_client_timeout_ms(self);
        if (timeout_ms < wait)
            wait = timeout_ms;
        if (zmq_poll(items, 2, wait) < 0 && zmq_errno() != EINTR)
            return GR_EIO;
        s_drain_monitor(self);
        s_drain_notices(self);
    }
    if (self->mirror.need_sync || gr_dept_client_timeout_ms(self) == 0) {
        char err[256];
        int rc = gr_dept_client_sync(self, err, sizeof err);
        if (rc != 0)
            return rc;
    }
    uint64_t changes = self->mirror.reported - before;
    return changes > INT32_MAX ? INT32_MAX : (int)changes;
}

size_t gr_dept_client_task_count(const gr_dept_client_t *self)
{
    return self ? self->mirror.count : 0;
}

const Gridrelay__Task *gr_dept_client_task_at(const gr_dept_client_t *self, size_t i)
{
    return self && i < self->mirror.count ? self->mirror.tasks[i] : NULL;
}

const char *gr_dept_client_code(const gr_dept_client_t *self)
{
    return self ? self->code : "";
}
