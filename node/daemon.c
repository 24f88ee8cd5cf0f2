#include "daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include <zmq.h>

#include "analyst.h"
#include "client.h"
#include "clock.h"
#include "curve.h"
#include "counters.h"
#include "daily.h"
#include "departments.h"
#include "engine.h"
#include "flow.h"
#include "gauges.h"
#include "http.h"
#include "http_metrics.h"
#include "http_open311.h"
#include "http_view.h"
#include "envelope.h"
#include "error.h"
#include "log.h"
#include "notify.h"
#include "notices.h"
#include "peers.h"
#include "pool.h"
#include "reclaim.h"
#include "store.h"
#include "text.h"
#include "requests.h"
#include "sealer.h"
#include "sessions.h"
#include "tierlink.h"
#include "linkbatch.h"

#define MAX_POLL 11
#define S_CURVE_OVERHEAD 64
/* Below this many items a batch is verified on the main thread alone:
 * waking the other threads costs more than a few signature checks. */
#define S_MIN_PARALLEL 4
/* Dedup pruning: records looked at per slice, and how often. */
#define S_PRUNE_VISITS 512
#define S_PRUNE_SLICE_MS 1000
#define S_PRUNE_PASS_MS 60000
/* At most one "filesystem full" log line this often. */
#define S_DISK_FULL_LOG_MS 10000

/* One message of the current batch, from receipt to reply: a request on
 * the ROUTER (from a client or a child) or an inbound item from a link. */
typedef struct {
    bool from_router;
    zmq_msg_t identity;     /* ROUTER peer */
    zmq_msg_t payload;
    bool delimiter;         /* REQ-style peer: echo the empty frame back */
    bool extra_frames;      /* the message had more than one payload frame */
    gr_inbound_t inbound;   /* !from_router */
    int rc;                 /* framing / verification result */
    uint64_t ref_seq;
    gr_opened_t opened;
    gr_source_t source;
    bool consumed;          /* handled by the links (acks, heartbeats) */
    gr_reply_t reply;
    gr_seal_job_t seal;     /* the reply, sealed */
} s_item_t;

typedef struct {
    zmq_msg_t identity;
    bool delimiter;
    uint8_t *frame;
    size_t len;
    uint64_t seq;
    uint8_t signer[GR_PUBLIC_KEY_BYTES];
    const gr_trusted_key_t *trusted;
} s_loose_t;

struct gr_daemon {
    gr_config_t *cfg;       /* its trust list is reloaded on SIGHUP */
    gr_store_t *store;
    void *ctx;
    void *router;
    gr_notices_t *notices;  /* department notices; NULL without task_listen */
    gr_sealer_t sealer;
    gr_zap_t *zap;
    gr_reclaim_t *reclaim;  /* returns closed connections' heap to the OS */
    gr_sessions_t *sessions; /* each ROUTER connection's key, to close revoked ones */
    gr_peers_t *peers;
    gr_counters_t counters;
    gr_engine_t *engine;
    gr_tierlink_t *tierlink;
    gr_departments_t *departments;
    gr_daily_t *daily;
    gr_requests_t *requests;
    gr_flow_t flow;
    gr_pool_t *pool;        /* signature checks and reply signing */
    gr_analyst_t *analyst;  /* long reads: rankings, counts over the store */
    gr_http_t *http;        /* the HTTP face ([http]); NULL when off */
    gr_gauges_t gauges;     /* what the loop measures of itself, for /metrics */
    int sigfd;
    bool stopping;
    bool store_full;
    uint64_t disk_full_logged_ms;  /* last "filesystem full" line */
    uint64_t next_due;      /* earliest timer, 0 = none */
    uint64_t next_prune_ms; /* next slice of dedup pruning */
    uint8_t prune_cursor[GR_DEDUP_KEY_BYTES];
    s_item_t *items;
    size_t count;
    size_t cap;
    /* Items of link batches signed by a key that is not a child's (a
     * node the config names otherwise): each is judged as that key's
     * request, with its own reply; they join the turn after the others. */
    s_loose_t *loose;
    size_t n_loose, cap_loose;
};

/* A long read handed to the analyst: the request moved out of its batch. */
typedef struct {
    gr_requests_t *requests;
    s_item_t item;
    uint64_t now_ms;
} s_slow_t;

static void s_item_release(s_item_t *item);

/* Moves *from into *to (both zeroed or released by the caller after),
 * ZeroMQ messages by zmq_msg_move, the rest by copy; *from is left empty. */
static void s_item_move(s_item_t *to, s_item_t *from)
{
    *to = *from;
    if (from->from_router) {
        zmq_msg_init(&to->identity);
        zmq_msg_init(&to->payload);
        zmq_msg_move(&to->identity, &from->identity);
        zmq_msg_move(&to->payload, &from->payload);
        zmq_msg_close(&from->identity);
        zmq_msg_close(&from->payload);
    }
    memset(from, 0, sizeof *from);
}

/* On the analyst's thread. */
static void s_slow_run(void *job, gr_txn_t *txn)
{
    s_slow_t *slow = job;
    s_item_t *item = &slow->item;
    int rc = GR_ESTORE;
    if (txn)
        rc = gr_requests_run_slow(slow->requests, &(gr_request_t){txn, &item->opened,
                                  &item->source, NULL, 0, slow->now_ms, &item->reply});
    if (rc != 0)
        gr_reply_error(&item->reply, item->ref_seq, rc, txn ? NULL : "store unavailable");
}

static void s_slow_drop(void *job)
{
    s_slow_t *slow = job;
    s_item_release(&slow->item);
    free(slow);
}

static void s_zap_log(void *ctx, const char *line)
{
    (void)ctx;
    gr_log(GR_LOG_WARN, NULL, "%s", line);
}

/* Line 1: the request endpoint; then "status EP" and "tasks EP" for the
 * other endpoints bound, so scripts can `head -1` and tools can look up
 * the rest by name. */
static int s_write_endpoint_file(const char *path, const char *endpoint, const char *status,
                                 const char *tasks, const char *http)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return GR_EINVAL;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return GR_EIO;
    int ok = fprintf(f, "%s\n", endpoint) > 0;
    if (status)
        ok = fprintf(f, "status %s\n", status) > 0 && ok;
    if (tasks)
        ok = fprintf(f, "tasks %s\n", tasks) > 0 && ok;
    if (http)
        ok = fprintf(f, "http %s\n", http) > 0 && ok;
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
    /* ZeroMQ applies the cap to the CURVE MESSAGE command, which wraps
     * the frame in 33 bytes (name, nonce, MAC, flags): the allowance keeps
     * every frame up to the documented cap readable, so it gets its
     * ERR_FRAME_TOO_LARGE instead of a dropped connection. */
    hard_cap += S_CURVE_OVERHEAD;
    /* High-water marks are per peer: with a thousand children a large
     * receive mark would let a burst of resends hold gigabytes. Past it,
     * ZeroMQ stops reading that peer's TCP stream, and TCP slows the
     * sender down: backpressure, not loss. Replies beyond the send mark
     * are dropped and the peer resends. */
    int linger = 1000, sndhwm = 10000, rcvhwm = 1000, mandatory = 1;
    zmq_setsockopt(self->router, ZMQ_MAXMSGSIZE, &hard_cap, sizeof hard_cap);
    zmq_setsockopt(self->router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(self->router, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm);
    zmq_setsockopt(self->router, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm);
    /* Downward links must learn "child not connected" instead of having
     * their frames silently dropped. */
    zmq_setsockopt(self->router, ZMQ_ROUTER_MANDATORY, &mandatory, sizeof mandatory);
    if (gr_curve_server(self->router, &self->cfg->keys) != 0 ||
        zmq_bind(self->router, self->cfg->listen) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", self->cfg->listen,
                 zmq_strerror(zmq_errno()));
        return GR_EIO;
    }
    return 0;
}

static int s_announce(gr_daemon_t *self, char *err, size_t errlen)
{
    char endpoint[256];
    size_t len = sizeof endpoint;
    if (zmq_getsockopt(self->router, ZMQ_LAST_ENDPOINT, endpoint, &len) != 0)
        snprintf(endpoint, sizeof endpoint, "%s", self->cfg->listen);
    const char *status = gr_peers_status_endpoint(self->peers);
    const char *tasks = gr_notices_endpoint(self->notices);
    const char *http = self->http ? gr_http_url(self->http) : NULL;
    if (self->cfg->endpoint_file &&
        s_write_endpoint_file(self->cfg->endpoint_file, endpoint, status, tasks, http) != 0) {
        snprintf(err, errlen, "cannot write endpoint file %s: %s", self->cfg->endpoint_file,
                 strerror(errno));
        return GR_EIO;
    }
    gr_log(GR_LOG_NOTICE, NULL, "listening on %s%s%s%s%s%s%s", endpoint,
           status ? ", status on " : "", status ? status : "",
           tasks ? ", department notices on " : "", tasks ? tasks : "",
           http ? ", HTTP on " : "", http ? http : "");
    return 0;
}

static int s_signals(gr_daemon_t *self, char *err, size_t errlen)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
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

static int s_load_state(gr_daemon_t *self)
{
    gr_txn_t *txn = NULL;
    int rc = gr_store_begin(self->store, true, &txn);
    if (rc != 0)
        return rc;
    rc = gr_engine_load(self->engine, txn);
    size_t repaired = 0;
    if (rc == 0)
        rc = gr_flow_repair(&self->flow, txn, gr_clock_now_ms(), &repaired);
    if (rc == 0)
        rc = gr_daily_arm(self->daily, txn, gr_clock_now_ms());
    self->next_due = gr_flow_next_due(txn);
    if (rc == 0)
        rc = gr_store_commit(&txn);
    gr_store_abort(&txn);
    /* What the repair sends is in the outbox and the status log, which the
     * links read when they start. */
    gr_engine_effects_clear(self->engine);
    if (rc == 0 && repaired)
        gr_log(GR_LOG_NOTICE, NULL, "repaired %zu case(s) stored without a severity by an older "
               "version, and routed them again", repaired);
    return rc;
}

static void s_store_gauges(gr_daemon_t *self)
{
    gr_gauges_set(&self->gauges.map_size, gr_store_map_size(self->store));
    gr_gauges_set(&self->gauges.map_used, gr_store_used_size(self->store));
    gr_gauges_set(&self->gauges.map_max, self->cfg->map_max);
    gr_gauges_set(&self->gauges.store_full, self->store_full);
}

/* The HTTP face (node/http.h): a client of this node's own request
 * socket, so it starts once the socket is bound; its routes are the
 * modules' that serve pages and APIs on it. */
static int s_start_http(gr_daemon_t *self, char *err, size_t errlen)
{
    char endpoint[256];
    size_t len = sizeof endpoint;
    if (zmq_getsockopt(self->router, ZMQ_LAST_ENDPOINT, endpoint, &len) != 0)
        snprintf(endpoint, sizeof endpoint, "%s", self->cfg->listen);
    if (!(self->http = gr_http_new(self->cfg, endpoint, err, errlen)))
        return GR_EIO;
    if (gr_http_metrics_register(self->http, &self->gauges) != 0 ||
        gr_http_open311_register(self->http) != 0 ||
        gr_http_view_register(self->http) != 0) {
        snprintf(err, errlen, "[http] cannot register the routes");
        return GR_EIO;
    }
    return gr_http_start(self->http, err, errlen);
}

gr_daemon_t *gr_daemon_new(gr_config_t *cfg, char *err, size_t errlen)
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
    if (!(self->sessions = gr_sessions_new()) || !(self->engine = gr_engine_new(cfg)) ||
        !(self->tierlink = gr_tierlink_new(cfg, self->engine, &self->counters)) ||
        !(self->departments = gr_departments_new(cfg, self->engine)) ||
        !(self->daily = gr_daily_new(cfg, self->engine)) ||
        !(self->requests = gr_requests_new(cfg, &self->counters, self->engine, self->tierlink,
                                           self->departments, self->daily))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    self->flow = (gr_flow_t){cfg, self->engine, self->tierlink, self->departments, self->daily};
    if (s_signals(self, err, errlen) != 0)
        goto fail;
    /* After the signal mask: the pool's threads inherit it. */
    if (!(self->pool = gr_pool_new(cfg->threads))) {
        snprintf(err, errlen, "cannot start the verification threads");
        goto fail;
    }
    gr_store_options_t opt = { .map_size = cfg->map_size, .map_max = cfg->map_max,
                               .datakey = cfg->datakey };
    if (gr_store_open(&self->store, cfg->store_path, &opt, err, errlen) != 0)
        goto fail;
    if (s_load_state(self) != 0) {
        snprintf(err, errlen, "cannot read the store's state");
        goto fail;
    }
    /* After the signal mask, like the pool. */
    if (!(self->analyst = gr_analyst_new(self->store, s_slow_run, s_slow_drop))) {
        snprintf(err, errlen, "cannot start the analyst thread");
        goto fail;
    }
    self->ctx = zmq_ctx_new();
    if (!self->ctx) {
        snprintf(err, errlen, "cannot create ZeroMQ context");
        goto fail;
    }
    /* The ZAP handler must exist before the first CURVE handshake. */
    if (!(self->zap = gr_zap_new(self->ctx, cfg->trust))) {
        snprintf(err, errlen, "cannot start the CURVE authentication handler");
        goto fail;
    }
    gr_zap_set_logger(self->zap, s_zap_log, self);
    self->sealer = (gr_sealer_t){&cfg->keys, self->engine, self->pool};
    if (s_bind(self, err, errlen) != 0 ||
        gr_notices_new(&self->notices, self->ctx, cfg, self->departments, err, errlen) != 0)
        goto fail;
    if (!(self->reclaim = gr_reclaim_new(self->ctx, err, errlen)) ||
        gr_reclaim_watch(self->reclaim, self->router, err, errlen) != 0 ||
        (self->notices &&
         gr_reclaim_watch(self->reclaim, gr_notices_socket(self->notices), err, errlen) != 0))
        goto fail;
    if (!(self->peers = gr_peers_new(self->ctx, self->router, cfg, self->store, self->engine,
                                     self->tierlink, err, errlen)))
        goto fail;
    gr_requests_set_peers(self->requests, self->peers);
    gr_peers_set_counters(self->peers, &self->counters);
    s_store_gauges(self);
    if (cfg->http.enabled && s_start_http(self, err, errlen) != 0)
        goto fail;
    if (s_announce(self, err, errlen) != 0)
        goto fail;
    return self;
fail:
    gr_daemon_destroy(&self);
    return NULL;
}

static void s_item_release(s_item_t *item)
{
    free(item->seal.frame);
    gr_reply_clear(&item->reply);
    gr_opened_clear(&item->opened);
    if (item->from_router) {
        zmq_msg_close(&item->identity);
        zmq_msg_close(&item->payload);
    } else {
        free(item->inbound.frame);
    }
    memset(item, 0, sizeof *item);
}

void gr_daemon_destroy(gr_daemon_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gr_daemon_t *self = *self_p;
    gr_http_destroy(&self->http);       /* its handlers wait on this node */
    gr_analyst_destroy(&self->analyst);  /* it reads the store */
    for (size_t i = 0; i < self->count; i++)
        s_item_release(&self->items[i]);
    gr_reclaim_destroy(&self->reclaim);  /* while the sockets it watches are open */
    gr_peers_destroy(&self->peers);
    if (self->router)
        zmq_close(self->router);
    gr_notices_destroy(&self->notices);
    gr_zap_destroy(&self->zap);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    gr_store_close(&self->store);
    gr_requests_destroy(&self->requests);
    gr_departments_destroy(&self->departments);
    gr_daily_destroy(&self->daily);
    gr_tierlink_destroy(&self->tierlink);
    gr_engine_destroy(&self->engine);
    gr_sessions_destroy(&self->sessions);
    gr_pool_destroy(&self->pool);
    if (self->sigfd >= 0)
        close(self->sigfd);
    free(self->items);
    for (size_t k = 0; k < self->n_loose; k++) {
        zmq_msg_close(&self->loose[k].identity);
        free(self->loose[k].frame);
    }
    free(self->loose);
    free(self);
    *self_p = NULL;
}

static s_item_t *s_new_item(gr_daemon_t *self)
{
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 64;
        s_item_t *items = realloc(self->items, cap * sizeof *items);
        if (!items)
            return NULL;
        self->items = items;
        self->cap = cap;
    }
    s_item_t *item = &self->items[self->count++];
    memset(item, 0, sizeof *item);
    return item;
}

static const uint8_t *s_frame(s_item_t *item, size_t *len)
{
    if (item->from_router) {
        *len = zmq_msg_size(&item->payload);
        return zmq_msg_data(&item->payload);
    }
    *len = item->inbound.len;
    return item->inbound.frame;
}

/* Receives one request without blocking. Returns 1 when one was read, 0
 * when none is waiting. Framing: [identity][payload], or from REQ peers
 * [identity][empty][payload]. */
static int s_receive(gr_daemon_t *self)
{
    zmq_msg_t identity;
    zmq_msg_init(&identity);
    if (zmq_msg_recv(&identity, self->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&identity);
        return 0;
    }
    s_item_t *item = s_new_item(self);
    if (!item) {
        zmq_msg_close(&identity);
        return 0;
    }
    item->from_router = true;
    item->identity = identity;
    zmq_msg_init(&item->payload);
    if (!zmq_msg_more(&item->identity) || zmq_msg_recv(&item->payload, self->router, 0) < 0) {
        item->rc = GR_EDECODE;
        return 1;
    }
    /* Whose connection this is; one of a key revoked since its handshake
     * is closed after this turn's replies. */
    gr_sessions_note(self->sessions, zmq_msg_get(&item->payload, ZMQ_SRCFD),
                     zmq_msg_gets(&item->payload, "User-Id"), self->cfg->trust);
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
        int more = 1;
        while (more) {
            zmq_msg_t extra;
            zmq_msg_init(&extra);
            more = zmq_msg_recv(&extra, self->router, 0) >= 0 && zmq_msg_more(&extra);
            zmq_msg_close(&extra);
        }
        item->rc = GR_EDECODE;
        item->extra_frames = true;
    }
    return 1;
}

static void s_refuse(gr_daemon_t *self, s_item_t *item, size_t len)
{
    char why[200];
    switch (item->rc) {
    case GR_ETOOBIG:
        snprintf(why, sizeof why, "frame of %zu bytes exceeds the maximum of %zu", len,
                 self->cfg->max_frame);
        break;
    case GR_EDECODE:
    case GR_EBADTEXT: {
        /* Say what is wrong: the envelope itself, or the body it carries. */
        size_t flen = 0;
        const uint8_t *frame = s_frame(item, &flen);
        Gridrelay__Envelope *env = (item->from_router || item->inbound.batched) &&
                                           !item->extra_frames
                                       ? gridrelay__envelope__unpack(NULL, flen, frame)
                                       : NULL;
        char where[160] = "";
        if (env && item->rc == GR_EBADTEXT)
            gr_text_check(&gridrelay__body__descriptor, env->body.data, env->body.len, where,
                          sizeof where);
        if (item->extra_frames)
            snprintf(why, sizeof why, "a request is one frame (one protobuf Envelope), not several");
        else if (!env)
            snprintf(why, sizeof why, "not a gridrelay envelope (expected one protobuf Envelope frame)");
        else if (item->rc == GR_EBADTEXT)
            snprintf(why, sizeof why, "text field %s", where);
        else if (env->signer.len != 32 || env->signature.len != 64)
            snprintf(why, sizeof why, "the envelope's signer must be 32 bytes and its signature 64");
        else
            snprintf(why, sizeof why, "the envelope is signed, but its body is not a gridrelay Body");
        gridrelay__envelope__free_unpacked(env, NULL);
        break;
    }
    case GR_EVERSION:
        snprintf(why, sizeof why, "protocol version not supported (this node speaks %d to %d)",
                 GR_PROTOCOL_VERSION, GR_PROTOCOL_VERSION_MAX);
        break;
    default:
        snprintf(why, sizeof why, "%s", gr_strerror(item->rc));
    }
    gr_log(GR_LOG_WARN, NULL, "rejected request seq=%llu: %s", (unsigned long long)item->ref_seq, why);
    if (gr_reply_error(&item->reply, item->ref_seq, item->rc, why) != 0)
        gr_log(GR_LOG_ERROR, NULL, "out of memory building an error reply");
    gr_counters_refusal(&self->counters, item->rc);
}

/* The signature checks of one item: pure (the trust list and the config
 * are read-only), so the pool runs them on every core at once. */
static void s_open_item(void *ctx, size_t i)
{
    gr_daemon_t *self = ctx;
    s_item_t *item = &self->items[i];
    size_t len = 0;
    const uint8_t *frame = s_frame(item, &len);
    if (!item->from_router) {
        item->source = item->inbound.source;
        if (item->inbound.status)
            return;  /* verified on receipt (node/peers.c); applied later */
        if (item->inbound.batched) {
            /* Its batch's head was checked on arrival (node/peers.c): the
             * path, the addressee and the rest, not Ed25519 again. A bad
             * item is refused on its own (s_classify). */
            item->ref_seq = item->inbound.seq;
            item->rc = gr_linkbatch_open_item(&item->opened, frame, len, item->inbound.signer,
                                              self->cfg->keys.pk, self->cfg->max_frame, NULL,
                                              false);
            return;
        }
        const uint8_t *pk = item->source.kind == GR_FROM_SKIP ? self->cfg->skip.pk : self->cfg->parent.pk;
        item->rc = gr_envelope_open_from(&item->opened, frame, len, pk, self->cfg->max_frame);
        if (item->rc != 0)
            item->consumed = true;  /* the link verified it already: cannot happen */
        return;
    }
    if (item->rc == 0)
        item->rc = gr_envelope_open(&item->opened, &item->ref_seq, frame, len, self->cfg->trust,
                                    self->cfg->max_frame);
}

static void s_loose_batch(gr_daemon_t *self, s_item_t *item);

/* After the checks, on the main thread: refusals, and frames from children
 * that the links consume (acks, heartbeats). */
static void s_classify(gr_daemon_t *self, s_item_t *item, uint64_t now_ms)
{
    size_t len = 0;
    const uint8_t *frame = s_frame(item, &len);
    if (!item->from_router) {
        if (item->inbound.batched && item->rc != 0)
            s_refuse(self, item, len);
        return;
    }
    if (item->rc != 0) {
        s_refuse(self, item, len);
        return;
    }
    const gr_peer_config_t *child = gr_peers_child(self->peers, item->opened.envelope->signer.data);
    if (child) {
        /* Signed by the child is not enough: the connection must be the
         * child's own (its CURVE key, as ZAP admitted it), or anyone could
         * replay its frames to steer its replies and mail elsewhere. */
        const char *user = zmq_msg_gets(&item->payload, "User-Id");
        uint8_t user_pk[GR_PUBLIC_KEY_BYTES];
        /* Either of its keys during a rotation: its outbox sealed with the
         * old one goes out over the connection of the new one. */
        if (!user || gr_key_from_hex(user_pk, user) != 0 || !gr_peer_has_key(child, user_pk)) {
            gr_log(GR_LOG_WARN, NULL, "frame signed by child %s came over another key's "
                   "connection: refused", child->id);
            item->rc = GR_EUNTRUSTED;
            gr_opened_clear(&item->opened);
            s_refuse(self, item, len);
            return;
        }
        gr_peers_child_route(self->peers, child, zmq_msg_data(&item->identity),
                             zmq_msg_size(&item->identity));
        item->source.kind = GR_FROM_CHILD;
        item->source.peer = child->id;
        item->consumed = gr_peers_child_frame(self->peers, child, &item->opened, frame, len, now_ms) == 1;
    } else if (item->opened.body->kind_case == GRIDRELAY__BODY__KIND_LINK_BATCH) {
        s_loose_batch(self, item);
    }
}

static bool s_is_write(const s_item_t *item)
{
    return item->rc == 0 && !item->consumed && !item->inbound.status && item->opened.body &&
           gr_requests_is_write(&item->opened);
}

/* A slice of dedup pruning rides along with a write transaction made
 * anyway: a bounded number of records per second while there is work,
 * then a pause of up to a minute once the whole table has been seen. An idle node writes
 * nothing, and so adds nothing to prune. */
static int s_prune(gr_daemon_t *self, gr_txn_t *txn, uint64_t now)
{
    if (now < self->next_prune_ms)
        return 0;
    bool wrapped = false;
    int n = gr_store_dedup_prune(txn, self->cfg->replay_window, S_PRUNE_VISITS, self->prune_cursor,
                                 &wrapped);
    if (n < 0)
        return n;
    self->counters.value[GR_COUNT_DEDUP_PRUNED] += (uint64_t)n;
    /* A full pass again once records can have aged out of the window
     * (sequences are microseconds), between a second and a minute. */
    uint64_t pass_ms = self->cfg->replay_window / 1000;
    if (pass_ms < S_PRUNE_SLICE_MS)
        pass_ms = S_PRUNE_SLICE_MS;
    if (pass_ms > S_PRUNE_PASS_MS)
        pass_ms = S_PRUNE_PASS_MS;
    self->next_prune_ms = now + (wrapped ? pass_ms : S_PRUNE_SLICE_MS);
    return 0;
}

/* Applies every change of the turn in one transaction: acks of outbox
 * entries, status from children, requests, due timers. Nothing is
 * acknowledged unless the commit succeeded. */
static void s_apply_writes(gr_daemon_t *self, uint64_t now)
{
    bool writes = self->next_due && self->next_due <= now;
    for (size_t i = 0; i < self->count && !writes; i++)
        writes = s_is_write(&self->items[i]) || self->items[i].inbound.status;
    /* An idle turn must not cost an fsync. */
    if (!writes && gr_peers_pending_acks(self->peers) == 0)
        return;
    gr_effects_t *effects = gr_engine_effects(self->engine);
    int rc = self->store_full ? GR_EFULL : 0;
    while (rc == 0) {
        gr_counters_t saved = self->counters;
        gr_txn_t *txn = NULL;
        rc = gr_store_begin(self->store, true, &txn);
        if (rc == 0)
            rc = gr_peers_apply_acks(self->peers, txn);
        for (size_t i = 0; rc == 0 && writes && i < self->count; i++) {
            s_item_t *item = &self->items[i];
            size_t len = 0;
            const uint8_t *frame = s_frame(item, &len);
            if (item->inbound.status)
                rc = gr_peers_apply_status(self->peers, txn, &item->inbound, now);
            else if (s_is_write(item))
                rc = gr_requests_write(self->requests, &(gr_request_t){txn, &item->opened,
                                       &item->source, frame, len, now, &item->reply});
        }
        if (rc == 0 && self->next_due && self->next_due <= now) {
            gr_gauges_timer_lag(&self->gauges, now - self->next_due);
            rc = gr_flow_fire_due(&self->flow, txn, now);
        }
        if (rc == 0)
            rc = s_prune(self, txn, now);
        if (rc == 0) {
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            rc = gr_store_commit(&txn);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            if (rc == 0) {
                gr_gauges_commit(&self->gauges, (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000 +
                                                           (t1.tv_nsec - t0.tv_nsec) / 1000));
                self->counters.value[GR_COUNT_BATCHES]++;
                gr_peers_after_commit(self->peers, effects, now);
                gr_notices_publish(self->notices, &self->sealer, effects);
                gr_engine_effects_clear(self->engine);
                if (gr_store_begin(self->store, false, &txn) == 0) {
                    self->next_due = gr_flow_next_due(txn);
                    gr_store_abort(&txn);
                }
                return;
            }
        }
        gr_store_abort(&txn);
        /* The batch is redone from scratch: forget its partial results. */
        self->counters = saved;
        gr_engine_effects_clear(self->engine);
        for (size_t i = 0; i < self->count; i++)
            if (s_is_write(&self->items[i]))
                gr_reply_clear(&self->items[i].reply);
        if (rc != GR_EMAPFULL)
            break;
        gr_analyst_pause(self->analyst);  /* LMDB: no transaction open in a grow */
        rc = gr_store_grow(self->store);
        gr_analyst_resume(self->analyst);
        if (rc == 0) {
            self->counters.value[GR_COUNT_MAP_GROWN]++;
            gr_log(GR_LOG_NOTICE, NULL, "store map grown to %zu MiB",
                   gr_store_map_size(self->store) >> 20);
        } else {
            self->store_full = true;
            gr_log(GR_LOG_ERROR, NULL,
                   "store is full at map_max_mb = %zu: refusing new work, still serving "
                   "queries; raise map_max_mb and restart", self->cfg->map_max >> 20);
        }
    }
    if (rc != GR_EFULL)
        gr_log(GR_LOG_ERROR, NULL, "write batch failed: %s", gr_strerror(rc));
    else if (!self->store_full && gr_now_ms() - self->disk_full_logged_ms >= S_DISK_FULL_LOG_MS) {
        /* The filesystem, not the map: every batch tries again. */
        self->disk_full_logged_ms = gr_now_ms();
        gr_log(GR_LOG_ERROR, NULL, "store's filesystem is full: refusing new work, still "
               "serving queries; work is taken again as soon as there is room");
    }
    for (size_t i = 0; i < self->count; i++) {
        s_item_t *item = &self->items[i];
        if (s_is_write(item)) {
            int code = rc == GR_EFULL ? GR_EFULL : GR_ESTORE;
            gr_reply_error(&item->reply, item->opened.envelope->seq, code,
                           code == GR_EFULL ? "store full: node refuses new work"
                                            : "store error: nothing stored, retry later");
            gr_counters_refusal(&self->counters, code);
        }
    }
}

/* A long read goes to the analyst once admitted (the main thread counts
 * it); its reply comes back through s_take_analysed(). */
static void s_hand_over(gr_daemon_t *self, s_item_t *item)
{
    gr_request_t req = {NULL, &item->opened, &item->source, NULL, 0, gr_clock_now_ms(),
                        &item->reply};
    int rc = gr_requests_admit_slow(self->requests, &req);
    if (rc != 0) {
        if (rc < 0)
            gr_reply_error(&item->reply, item->ref_seq, rc, NULL);
        return;
    }
    s_slow_t *slow = calloc(1, sizeof *slow);
    if (!slow) {
        gr_reply_error(&item->reply, item->ref_seq, GR_ENOMEM, NULL);
        return;
    }
    slow->requests = self->requests;
    slow->now_ms = req.now_ms;
    s_item_move(&slow->item, item);
    rc = gr_analyst_submit(self->analyst, slow);
    if (rc != 0) {
        s_item_move(item, &slow->item);
        free(slow);
        gr_reply_error(&item->reply, item->ref_seq, GR_EFULL,
                       "too many long queries waiting: ask again later");
    }
}

/* The analyst's finished jobs join this turn's replies. */
static void s_take_analysed(gr_daemon_t *self)
{
    void *jobs[16];
    size_t n = gr_analyst_take(self->analyst, jobs, sizeof jobs / sizeof jobs[0]);
    for (size_t i = 0; i < n; i++) {
        s_slow_t *slow = jobs[i];
        s_item_t *item = s_new_item(self);
        if (!item) {
            s_slow_drop(slow);  /* the client resends */
            continue;
        }
        s_item_move(item, &slow->item);
        free(slow);
        if (item->reply.error)
            gr_counters_refusal(&self->counters, item->reply.error);
    }
}

static void s_answer_reads(gr_daemon_t *self)
{
    gr_txn_t *txn = NULL;
    for (size_t i = 0; i < self->count; i++) {
        s_item_t *item = &self->items[i];
        if (item->rc != 0 || item->consumed || !item->from_router || s_is_write(item))
            continue;
        if (gr_requests_is_slow(&item->opened)) {
            s_hand_over(self, item);
            continue;
        }
        if (!txn && gr_store_begin(self->store, false, &txn) != 0) {
            gr_reply_error(&item->reply, item->ref_seq, GR_ESTORE, "store unavailable");
            continue;
        }
        int rc = gr_requests_read(self->requests, &(gr_request_t){txn, &item->opened,
                                  &item->source, NULL, 0, gr_clock_now_ms(), &item->reply});
        if (rc != 0)
            gr_reply_error(&item->reply, item->ref_seq, rc, NULL);
    }
    gr_store_abort(&txn);
}

/* An Ack for a message of a tier link (from a child on the ROUTER, or
 * from the parent or skip ancestor over a link). */
static bool s_is_link_ack(const s_item_t *item)
{
    return item->rc == 0 && item->reply.body && item->reply.acked && item->opened.envelope &&
           ((item->from_router && item->source.kind == GR_FROM_CHILD) ||
            (!item->from_router && item->inbound.reply_link));
}

static bool s_same_peer(const s_item_t *a, const s_item_t *b)
{
    if (a->from_router != b->from_router)
        return false;
    if (!a->from_router)
        return a->inbound.reply_link == b->inbound.reply_link;
    size_t n = zmq_msg_size((zmq_msg_t *)&a->identity);
    return n == zmq_msg_size((zmq_msg_t *)&b->identity) &&
           memcmp(zmq_msg_data((zmq_msg_t *)&a->identity), zmq_msg_data((zmq_msg_t *)&b->identity),
                  n) == 0;
}

/* The Acks of one turn for one tier-link peer go as one AckBatch in the
 * first one's place: one signature (and one check at the other end) per
 * commit and peer instead of per message. */
static void s_batch_link_acks(gr_daemon_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        s_item_t *first = &self->items[i];
        if (!s_is_link_ack(first))
            continue;
        size_t n = 1;
        for (size_t j = i + 1; j < self->count; j++)
            n += s_is_link_ack(&self->items[j]) && s_same_peer(first, &self->items[j]);
        if (n < 2)
            continue;
        uint64_t *seqs = malloc(n * sizeof *seqs);
        if (!seqs)
            continue;  /* out of memory: the Acks go one by one */
        size_t k = 0;
        seqs[k++] = first->opened.envelope->seq;
        for (size_t j = i + 1; j < self->count; j++)
            if (s_is_link_ack(&self->items[j]) && s_same_peer(first, &self->items[j]))
                seqs[k++] = self->items[j].opened.envelope->seq;
        Gridrelay__AckBatch batch = GRIDRELAY__ACK_BATCH__INIT;
        batch.ref_seqs = seqs;
        batch.n_ref_seqs = n;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_ACK_BATCH;
        body.ack_batch = &batch;
        gr_reply_t packed = {0};
        if (gr_reply_pack(&packed, &body) == 0) {
            for (size_t j = i + 1; j < self->count; j++)
                if (s_is_link_ack(&self->items[j]) && s_same_peer(first, &self->items[j]))
                    gr_reply_clear(&self->items[j].reply);
            gr_reply_clear(&first->reply);
            first->reply = packed;
        }
        free(seqs);
    }
}

static void s_send_replies(gr_daemon_t *self)
{
    s_batch_link_acks(self);
    gr_seal_job_t **jobs = calloc(self->count ? self->count : 1, sizeof *jobs);
    size_t n = 0;
    for (size_t i = 0; jobs && i < self->count; i++) {
        s_item_t *item = &self->items[i];
        if (item->reply.body) {
            item->seal.body = item->reply.body;
            item->seal.body_len = item->reply.len;
            /* A client that spoke version 2 takes a batched receipt: the
             * turn's replies to such clients share one signature. */
            const Gridrelay__Envelope *env = item->opened.envelope;
            item->seal.receipt = item->from_router && item->source.kind == GR_FROM_CLIENT &&
                                 env && env->version == GR_RECEIPT_VERSION && !env->receipt &&
                                 gr_receipt_request_digest(item->seal.request, env) == 0;
            /* A tier-link peer hears back in the version it spoke. */
            if (!item->seal.receipt && env && env->version == GR_LINK_VERSION &&
                (item->source.kind != GR_FROM_CLIENT || env->receipt))
                item->seal.version = GR_LINK_VERSION;
            jobs[n++] = &item->seal;
        }
    }
    /* Out of memory: no reply goes out; every peer resends. */
    if (jobs)
        gr_sealer_run(&self->sealer, jobs, n);
    free(jobs);
    for (size_t i = 0; i < self->count; i++) {
        s_item_t *item = &self->items[i];
        const uint8_t *frame = item->seal.frame;
        size_t len = item->seal.frame_len;
        if (frame && item->reply.error)
            gr_counters_error_reply(&self->counters, gr_reply_wire_code(item->reply.error));
        if (frame) {
            if (item->from_router) {
                /* A peer that went away gets nothing: it resends. */
                if (zmq_msg_send(&item->identity, self->router, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) {
                    if (item->delimiter)
                        zmq_send(self->router, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
                    zmq_send(self->router, frame, len, ZMQ_DONTWAIT);
                }
            } else if (item->inbound.reply_link) {
                gr_link_send(item->inbound.reply_link, frame, len);
            }
        }
        s_item_release(item);
    }
    self->count = 0;
}

/* SIGHUP: the people's keys again from the config file. Runs between
 * two turns, when no opened request points into the old trust list. */
static void s_reload(gr_daemon_t *self)
{
    char err[1024] = "";
    gr_config_reload_t summary;
    int rc = gr_config_reload_people(self->cfg, &summary, err, sizeof err);
    if (rc != 0) {
        gr_log(GR_LOG_ERROR, NULL, "SIGHUP: config not reloaded, the trusted keys are as they "
               "were: %s", err);
        return;
    }
    /* The CURVE handshake admits by the same list: new connections of a
     * revoked key are refused from now on. */
    rc = gr_zap_reload(self->zap, self->cfg->trust);
    if (rc != 0)
        gr_log(GR_LOG_ERROR, NULL, "SIGHUP: the CURVE handler kept its old key list (%s): new "
               "connections of added keys are refused until a restart", gr_strerror(rc));
    /* ... and the connections revoked keys already had are closed. */
    gr_sessions_revoke(self->sessions, self->cfg->trust);
    size_t closed = gr_sessions_close_pending(self->sessions);
    gr_log(GR_LOG_NOTICE, NULL, "SIGHUP: reloaded the people's keys from %s: %zu added, %zu "
           "revoked, %zu with new roles, names or grids; %zu trusted keys; %zu connection(s) of "
           "revoked keys closed", self->cfg->path, summary.added, summary.removed,
           summary.changed, gr_trust_count(self->cfg->trust), closed);
    if (self->cfg->warning[0])
        gr_log(GR_LOG_WARN, NULL, "%s", self->cfg->warning);
}

static void s_read_signal(gr_daemon_t *self)
{
    struct signalfd_siginfo info;
    while (read(self->sigfd, &info, sizeof info) == (ssize_t)sizeof info) {
        if (info.ssi_signo == SIGHUP) {
            s_reload(self);
            continue;
        }
        gr_log(GR_LOG_NOTICE, NULL, "received %s: finishing in-flight work",
               strsignal((int)info.ssi_signo));
        gr_notify_stopping();
        self->stopping = true;
    }
}

static int s_poll_timeout(gr_daemon_t *self, uint64_t now)
{
    int timeout = gr_peers_timeout_ms(self->peers, now);
    if (self->next_due) {
        uint64_t case_now = gr_clock_now_ms();
        uint64_t wait = self->next_due > case_now ? self->next_due - case_now : 0;
        if (wait < (uint64_t)timeout)
            timeout = (int)wait;
    }
    return gr_reclaim_timeout_ms(self->reclaim, now, timeout);
}

static void s_collect_inbound(gr_daemon_t *self)
{
    gr_inbound_t *inbound = NULL;
    size_t n = gr_peers_take_inbound(self->peers, &inbound);
    for (size_t i = 0; i < n; i++) {
        s_item_t *item = s_new_item(self);
        if (!item) {
            free(inbound[i].frame);  /* the peer resends what is not acked */
            continue;
        }
        item->inbound = inbound[i];
    }
    free(inbound);
}

static void s_collect(gr_daemon_t *self)
{
    size_t router_count = 0;
    while (router_count < self->cfg->batch_max && s_receive(self))
        router_count++;
    s_collect_inbound(self);
}

/* The items of link batches sent this turn (queued while their frames
 * were classified) join this turn, after them: the children's through
 * node/peers, the others' from s_loose. */
static void s_collect_batched(gr_daemon_t *self, uint64_t now)
{
    size_t first = self->count;
    s_collect_inbound(self);
    for (size_t i = first; i < self->count; i++) {
        s_open_item(self, i);
        s_classify(self, &self->items[i], now);
    }
    for (size_t k = 0; k < self->n_loose; k++) {
        s_loose_t *l = &self->loose[k];
        s_item_t *item = s_new_item(self);
        if (!item) {
            zmq_msg_close(&l->identity);
            free(l->frame);
            continue;  /* out of memory: the sender resends */
        }
        item->from_router = true;
        zmq_msg_init(&item->identity);
        zmq_msg_move(&item->identity, &l->identity);
        zmq_msg_close(&l->identity);
        item->delimiter = l->delimiter;
        item->ref_seq = l->seq;
        if (zmq_msg_init_size(&item->payload, l->len) == 0) {
            memcpy(zmq_msg_data(&item->payload), l->frame, l->len);
            item->rc = gr_linkbatch_open_item(&item->opened, l->frame, l->len, l->signer,
                                              self->cfg->keys.pk, self->cfg->max_frame, NULL,
                                              false);
        } else {
            zmq_msg_init(&item->payload);
            item->rc = GR_ENOMEM;
        }
        item->opened.signer = item->rc == 0 ? l->trusted : NULL;
        free(l->frame);
        if (item->rc != 0)
            s_refuse(self, item, l->len);
    }
    self->n_loose = 0;
}

typedef struct {
    gr_daemon_t *self;
    s_item_t *batch;
} s_loose_ctx_t;

static void s_loose_item(void *ctx, int rc, uint64_t seq, const gr_opened_t *opened,
                         const uint8_t *frame, size_t len)
{
    (void)rc;
    (void)opened;
    s_loose_ctx_t *x = ctx;
    gr_daemon_t *self = x->self;
    if (self->n_loose == self->cap_loose) {
        size_t cap = self->cap_loose ? self->cap_loose * 2 : 16;
        s_loose_t *p = realloc(self->loose, cap * sizeof *p);
        if (!p)
            return;
        self->loose = p;
        self->cap_loose = cap;
    }
    s_loose_t *l = &self->loose[self->n_loose];
    if (!(l->frame = malloc(len ? len : 1)))
        return;
    memcpy(l->frame, frame, len);
    l->len = len;
    l->seq = seq;
    l->delimiter = x->batch->delimiter;
    memcpy(l->signer, x->batch->opened.envelope->signer.data, GR_PUBLIC_KEY_BYTES);
    l->trusted = x->batch->opened.signer;
    zmq_msg_init(&l->identity);
    if (zmq_msg_copy(&l->identity, &x->batch->identity) != 0) {
        zmq_msg_close(&l->identity);
        free(l->frame);
        return;
    }
    self->n_loose++;
}

/* A link batch on the request socket from a key that is not a child's:
 * every item is judged as that key's own request (a village whose key the
 * township has as a reporter gets ERR_FORBIDDEN for each escalation, as it
 * would one by one). A head that does not verify refuses the whole batch,
 * with no reply: no item can be told good from bad. */
static void s_loose_batch(gr_daemon_t *self, s_item_t *item)
{
    item->consumed = true;
    s_loose_ctx_t x = {self, item};
    int n = gr_linkbatch_expand(item->opened.body->link_batch, item->opened.envelope->signer.data,
                                self->cfg->keys.pk, self->cfg->max_frame, s_loose_item, &x);
    if (n < 0) {
        gr_counters_refusal(&self->counters, n == GR_ESIGNATURE ? GR_ESIGNATURE : GR_EDECODE);
        gr_log(GR_LOG_WARN, NULL, "link batch from %s refused: %s", item->opened.signer->name,
               n == GR_ESIGNATURE ? "its signed root does not match its items"
                                  : "not a well-formed batch");
    }
}

int gr_daemon_run(gr_daemon_t *self)
{
    gr_log(GR_LOG_NOTICE, NULL, "gridrelayd %s started: tier %s (level %d), %zu trusted keys, "
           "%zu categories, parent %s, %zu children", GR_VERSION, self->cfg->tier_name,
           self->cfg->tier_level, gr_trust_count(self->cfg->trust),
           gr_catalogue_count(self->cfg->catalogue), self->cfg->has_parent ? self->cfg->parent.id : "none",
           self->cfg->n_children);
    gr_notify_ready(self->cfg->node_id);
    while (!self->stopping) {
        gr_notify_watchdog(gr_now_ms());
        zmq_pollitem_t items[MAX_POLL] = {
            { self->router, 0, ZMQ_POLLIN, 0 },
            { NULL, self->sigfd, ZMQ_POLLIN, 0 },
            { gr_zap_socket(self->zap), 0, ZMQ_POLLIN, 0 },
            { NULL, gr_analyst_fd(self->analyst), ZMQ_POLLIN, 0 },
        };
        size_t n = 4 + gr_peers_poll_items(self->peers, items + 4,
                                           MAX_POLL - 4 - GR_RECLAIM_MAX_SOCKETS);
        size_t n_all = n + gr_reclaim_poll_items(self->reclaim, items + n, MAX_POLL - n);
        uint64_t now = gr_now_ms();
        if (zmq_poll(items, (int)n_all, s_poll_timeout(self, now)) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            gr_log(GR_LOG_ERROR, NULL, "poll failed: %s", zmq_strerror(zmq_errno()));
            return GR_EIO;
        }
        now = gr_now_ms();
        if (items[1].revents & ZMQ_POLLIN)
            s_read_signal(self);
        if (items[2].revents & ZMQ_POLLIN)
            while (gr_zap_handle(self->zap) == 0) {
            }
        gr_peers_on_poll(self->peers, items + 4, n - 4, now);
        s_collect(self);
        gr_pool_run(self->pool, self->count, S_MIN_PARALLEL, s_open_item, self);
        for (size_t i = 0; i < self->count; i++)
            s_classify(self, &self->items[i], now);
        s_collect_batched(self, now);
        /* Cases live on the node's clock (a test's --clock may move it);
         * the links above on the system's. */
        s_apply_writes(self, gr_clock_now_ms());
        s_answer_reads(self);
        s_take_analysed(self);
        /* Before the replies: a confidential case leaves after its read is on disk. */
        gr_access_log_commit(gr_requests_access_log(self->requests), self->store);
        s_send_replies(self);
        size_t closed = gr_sessions_close_pending(self->sessions);
        if (closed)
            gr_log(GR_LOG_NOTICE, NULL, "closed %zu connection(s) of revoked keys", closed);
        gr_peers_tick(self->peers, gr_now_ms());
        gr_reclaim_tick(self->reclaim, gr_now_ms());
        if (self->http) {
            s_store_gauges(self);
            gr_gauges_set(&self->gauges.turn_ms, gr_now_ms());
        }
    }
    gr_log(GR_LOG_NOTICE, NULL, "stopped cleanly");
    return 0;
}
