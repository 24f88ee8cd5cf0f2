#include "daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <zmq.h>

#include "client.h"
#include "envelope.h"
#include "error.h"
#include "intake.h"
#include "log.h"
#include "store.h"

/* One request of the current batch, from receipt to reply. */
typedef struct {
    zmq_msg_t identity;
    zmq_msg_t payload;
    bool delimiter;     /* REQ-style peer: echo the empty frame back */
    int rc;             /* framing / verification result */
    uint64_t ref_seq;
    gr_opened_t opened;
    gr_reply_t reply;
} s_item_t;

struct gr_daemon {
    const gr_config_t *cfg;
    gr_store_t *store;
    void *ctx;
    void *router;
    int sigfd;
    bool stopping;
    bool store_full;
    uint64_t reply_seq;
    gr_intake_t intake;
    s_item_t *items;
    size_t count;
};

static int s_write_endpoint_file(const char *path, const char *endpoint)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return GR_EINVAL;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return GR_EIO;
    int ok = fprintf(f, "%s\n", endpoint) > 0;
    ok = (fclose(f) == 0) && ok;
    /* rename() makes the file appear whole: a watcher never reads half. */
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return GR_EIO;
    }
    return 0;
}

static int s_bind(gr_daemon_t *self, char *err, size_t errlen)
{
    self->router = zmq_socket(self->ctx, ZMQ_ROUTER);
    if (!self->router) {
        snprintf(err, errlen, "cannot create socket: %s", zmq_strerror(zmq_errno()));
        return GR_EIO;
    }
    /* Frames above max_frame get an error reply; far larger ones would only
     * cost memory, so ZeroMQ drops those connections before reading them. */
    int64_t hard_cap = (int64_t)self->cfg->max_frame * 16;
    if (hard_cap < (1 << 20))
        hard_cap = 1 << 20;
    int linger = 1000;
    int hwm = 100000;
    zmq_setsockopt(self->router, ZMQ_MAXMSGSIZE, &hard_cap, sizeof hard_cap);
    zmq_setsockopt(self->router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(self->router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(self->router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (zmq_bind(self->router, self->cfg->listen) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", self->cfg->listen,
                 zmq_strerror(zmq_errno()));
        return GR_EIO;
    }
    char endpoint[256];
    size_t len = sizeof endpoint;
    if (zmq_getsockopt(self->router, ZMQ_LAST_ENDPOINT, endpoint, &len) != 0)
        snprintf(endpoint, sizeof endpoint, "%s", self->cfg->listen);
    if (self->cfg->endpoint_file && s_write_endpoint_file(self->cfg->endpoint_file, endpoint) != 0) {
        snprintf(err, errlen, "cannot write endpoint file %s: %s", self->cfg->endpoint_file,
                 strerror(errno));
        return GR_EIO;
    }
    gr_log(GR_LOG_NOTICE, NULL, "listening on %s", endpoint);
    return 0;
}

static int s_signals(gr_daemon_t *self, char *err, size_t errlen)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    /* Blocked before ZeroMQ starts its threads, which inherit the mask, so
     * the signals can only arrive through the signalfd. */
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0 ||
        (self->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        snprintf(err, errlen, "cannot set up signal handling: %s", strerror(errno));
        return GR_EIO;
    }
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

gr_daemon_t *gr_daemon_new(const gr_config_t *cfg, char *err, size_t errlen)
{
    if (!cfg)
        return NULL;
    gr_daemon_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    self->sigfd = -1;
    self->intake.node_id = cfg->node_id;
    self->intake.catalogue = cfg->catalogue;
    self->intake.replay_window = cfg->replay_window;
    self->reply_seq = gr_now_ms() * 1000;
    self->items = calloc(cfg->batch_max, sizeof *self->items);
    if (!self->items) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (s_signals(self, err, errlen) != 0)
        goto fail;
    gr_store_options_t opt = { .map_size = cfg->map_size, .map_max = cfg->map_max };
    if (gr_store_open(&self->store, cfg->store_path, &opt, err, errlen) != 0)
        goto fail;
    self->ctx = zmq_ctx_new();
    if (!self->ctx) {
        snprintf(err, errlen, "cannot create ZeroMQ context");
        goto fail;
    }
    if (s_bind(self, err, errlen) != 0)
        goto fail;
    return self;
fail:
    gr_daemon_destroy(&self);
    return NULL;
}

void gr_daemon_destroy(gr_daemon_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gr_daemon_t *self = *self_p;
    if (self->router)
        zmq_close(self->router);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    gr_store_close(&self->store);
    if (self->sigfd >= 0)
        close(self->sigfd);
    free(self->items);
    free(self);
    *self_p = NULL;
}

static void s_drain_extra(void *socket, zmq_msg_t *last)
{
    while (zmq_msg_more(last)) {
        zmq_msg_close(last);
        zmq_msg_init(last);
        if (zmq_msg_recv(last, socket, 0) < 0)
            break;
    }
}

/* Receives one request without blocking. Returns 1 when one was read, 0
 * when none is waiting. Framing: [identity][payload], or from REQ peers
 * [identity][empty][payload]. */
static int s_receive(gr_daemon_t *self, s_item_t *item)
{
    memset(item, 0, sizeof *item);
    zmq_msg_init(&item->identity);
    zmq_msg_init(&item->payload);
    if (zmq_msg_recv(&item->identity, self->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&item->identity);
        zmq_msg_close(&item->payload);
        return 0;
    }
    if (!zmq_msg_more(&item->identity) || zmq_msg_recv(&item->payload, self->router, 0) < 0) {
        item->rc = GR_EDECODE;
        return 1;
    }
    if (zmq_msg_size(&item->payload) == 0 && zmq_msg_more(&item->payload)) {
        item->delimiter = true;
        zmq_msg_close(&item->payload);
        zmq_msg_init(&item->payload);
        if (zmq_msg_recv(&item->payload, self->router, 0) < 0) {
            item->rc = GR_EDECODE;
            return 1;
        }
    }
    if (zmq_msg_more(&item->payload)) {
        zmq_msg_t extra;
        zmq_msg_init(&extra);
        zmq_msg_recv(&extra, self->router, 0);
        s_drain_extra(self->router, &extra);
        zmq_msg_close(&extra);
        item->rc = GR_EDECODE;
    }
    return 1;
}

static void s_verify(gr_daemon_t *self, s_item_t *item)
{
    if (item->rc == 0)
        item->rc = gr_envelope_open(&item->opened, &item->ref_seq, zmq_msg_data(&item->payload),
                                    zmq_msg_size(&item->payload), self->cfg->trust,
                                    self->cfg->max_frame);
    if (item->rc == 0)
        return;
    char why[160];
    switch (item->rc) {
    case GR_ETOOBIG:
        snprintf(why, sizeof why, "frame of %zu bytes exceeds the maximum of %zu",
                 zmq_msg_size(&item->payload), self->cfg->max_frame);
        break;
    case GR_EDECODE:
        snprintf(why, sizeof why, "not a gridrelay envelope (expected one protobuf Envelope frame)");
        break;
    case GR_EVERSION:
        snprintf(why, sizeof why, "protocol version not supported (this node speaks %d)",
                 GR_PROTOCOL_VERSION);
        break;
    default:
        snprintf(why, sizeof why, "%s", gr_strerror(item->rc));
    }
    gr_log(GR_LOG_WARN, NULL, "rejected request seq=%llu: %s", (unsigned long long)item->ref_seq,
           why);
    if (gr_intake_error(&self->intake, &item->reply, item->ref_seq, item->rc, why) != 0)
        gr_log(GR_LOG_ERROR, NULL, "out of memory building an error reply");
}

/* Applies every write of the batch in one transaction. Store trouble that
 * a retry cannot fix becomes an error reply for each write; nothing is
 * acknowledged unless the commit succeeded. */
static void s_apply_writes(gr_daemon_t *self)
{
    size_t writes = 0;
    for (size_t i = 0; i < self->count; i++)
        if (self->items[i].rc == 0 && gr_intake_is_write(&self->items[i].opened))
            writes++;
    if (writes == 0)
        return;
    int rc = self->store_full ? GR_EFULL : 0;
    while (rc == 0) {
        uint64_t saved[GR_COUNT_MAX];
        memcpy(saved, self->intake.counters, sizeof saved);
        uint64_t now = gr_now_ms();
        gr_txn_t *txn = NULL;
        rc = gr_store_begin(self->store, true, &txn);
        for (size_t i = 0; rc == 0 && i < self->count; i++) {
            s_item_t *item = &self->items[i];
            if (item->rc == 0 && gr_intake_is_write(&item->opened))
                rc = gr_intake_report(&self->intake, txn, &item->opened,
                                      zmq_msg_data(&item->payload), zmq_msg_size(&item->payload),
                                      now, &item->reply);
        }
        if (rc == 0) {
            rc = gr_store_commit(&txn);
            if (rc == 0) {
                self->intake.counters[GR_COUNT_BATCHES]++;
                return;
            }
        }
        gr_store_abort(&txn);
        /* The batch is redone from scratch: forget its partial results. */
        memcpy(self->intake.counters, saved, sizeof saved);
        for (size_t i = 0; i < self->count; i++)
            if (self->items[i].rc == 0 && gr_intake_is_write(&self->items[i].opened))
                gr_reply_clear(&self->items[i].reply);
        if (rc != GR_EMAPFULL)
            break;
        rc = gr_store_grow(self->store);
        if (rc == 0) {
            self->intake.counters[GR_COUNT_MAP_GROWN]++;
            gr_log(GR_LOG_NOTICE, NULL, "store map grown to %zu MiB",
                   gr_store_map_size(self->store) >> 20);
        } else {
            self->store_full = true;
            gr_log(GR_LOG_ERROR, NULL,
                   "store is full at map_max_mb = %zu: refusing new reports, still serving "
                   "queries; raise map_max_mb and restart", self->cfg->map_max >> 20);
        }
    }
    for (size_t i = 0; i < self->count; i++) {
        s_item_t *item = &self->items[i];
        if (item->rc == 0 && gr_intake_is_write(&item->opened)) {
            const char *why = rc == GR_EFULL ? "store full: node refuses new reports"
                                             : "store error: report not stored, retry later";
            if (rc != GR_EFULL)
                gr_log(GR_LOG_ERROR, NULL, "write batch failed: %s", gr_strerror(rc));
            gr_intake_error(&self->intake, &item->reply, item->opened.envelope->seq,
                            rc == GR_EFULL ? GR_EFULL : GR_ESTORE, why);
        }
    }
}

static void s_answer_reads(gr_daemon_t *self)
{
    gr_txn_t *txn = NULL;
    for (size_t i = 0; i < self->count; i++) {
        s_item_t *item = &self->items[i];
        if (item->rc != 0 || gr_intake_is_write(&item->opened))
            continue;
        if (!txn && gr_store_begin(self->store, false, &txn) != 0) {
            gr_intake_error(&self->intake, &item->reply, item->ref_seq, GR_ESTORE,
                            "store unavailable");
            continue;
        }
        int rc = gr_intake_query(&self->intake, txn, &item->opened, &item->reply);
        if (rc != 0)
            gr_intake_error(&self->intake, &item->reply, item->ref_seq, rc, NULL);
    }
    gr_store_abort(&txn);
}

static void s_send_replies(gr_daemon_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        s_item_t *item = &self->items[i];
        uint8_t *frame = NULL;
        size_t len = 0;
        if (item->reply.body &&
            gr_envelope_seal_bytes(&frame, &len, &self->cfg->keys, self->reply_seq++, gr_now_ms(),
                                   item->reply.body, item->reply.len) == 0) {
            /* ROUTER drops replies to peers that went away: they resend. */
            zmq_msg_send(&item->identity, self->router, ZMQ_SNDMORE | ZMQ_DONTWAIT);
            if (item->delimiter)
                zmq_send(self->router, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
            zmq_send(self->router, frame, len, ZMQ_DONTWAIT);
            free(frame);
        }
        gr_reply_clear(&item->reply);
        gr_opened_clear(&item->opened);
        zmq_msg_close(&item->identity);
        zmq_msg_close(&item->payload);
    }
    self->count = 0;
}

static void s_read_signal(gr_daemon_t *self)
{
    struct signalfd_siginfo info;
    while (read(self->sigfd, &info, sizeof info) == (ssize_t)sizeof info) {
        gr_log(GR_LOG_NOTICE, NULL, "received %s: finishing in-flight work",
               strsignal((int)info.ssi_signo));
        self->stopping = true;
    }
}

int gr_daemon_run(gr_daemon_t *self)
{
    gr_log(GR_LOG_NOTICE, NULL, "gridrelayd %s started: tier %s (level %d), %zu trusted keys, "
           "%zu categories", GR_VERSION, self->cfg->tier_name, self->cfg->tier_level,
           gr_trust_count(self->cfg->trust), gr_catalogue_count(self->cfg->catalogue));
    while (!self->stopping) {
        zmq_pollitem_t items[2] = {
            { self->router, 0, ZMQ_POLLIN, 0 },
            { NULL, self->sigfd, ZMQ_POLLIN, 0 },
        };
        if (zmq_poll(items, 2, -1) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            gr_log(GR_LOG_ERROR, NULL, "poll failed: %s", zmq_strerror(zmq_errno()));
            return GR_EIO;
        }
        if (items[1].revents & ZMQ_POLLIN)
            s_read_signal(self);
        while (self->count < self->cfg->batch_max && s_receive(self, &self->items[self->count]))
            self->count++;
        if (self->count == 0)
            continue;
        for (size_t i = 0; i < self->count; i++)
            s_verify(self, &self->items[i]);
        s_apply_writes(self);
        s_answer_reads(self);
        s_send_replies(self);
    }
    gr_log(GR_LOG_NOTICE, NULL, "stopped cleanly");
    return 0;
}
