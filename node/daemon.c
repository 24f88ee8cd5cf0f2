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
#include "error.h"
#include "log.h"
#include "notify.h"
#include "notices.h"
#include "peers.h"
#include "pool.h"
#include "reclaim.h"
#include "store.h"
#include "requests.h"
#include "sealer.h"
#include "sessions.h"
#include "tierlink.h"
#include "turn.h"

#define MAX_POLL 11
#define S_CURVE_OVERHEAD 64
/* Dedup pruning: records looked at per slice, and how often. */
#define S_PRUNE_VISITS 512
#define S_PRUNE_SLICE_MS 1000
#define S_PRUNE_PASS_MS 60000
/* At most one "filesystem full" log line this often. */
#define S_DISK_FULL_LOG_MS 10000

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
    gr_turn_t *turn;        /* the requests of the turn in progress */
    gr_turn_t *ahead;       /* the next turn's, read during this one's commit */
    bool reload_pending;    /* SIGHUP came while requests were read ahead */
};

/* A long read handed to the analyst: the request moved out of its batch. */
typedef struct {
    gr_requests_t *requests;
    gr_turn_item_t item;
    uint64_t now_ms;
} s_slow_t;


/* On the analyst's thread. */
static void s_slow_run(void *job, gr_txn_t *txn)
{
    s_slow_t *slow = job;
    gr_turn_item_t *item = &slow->item;
    int rc = GR_ESTORE;
    if (txn)
        rc = gr_requests_run_slow(slow->requests, &(gr_request_t){txn, &item->opened,
                                  &item->source, NULL, 0, slow->now_ms, &item->reply, NULL});
    if (rc != 0)
        gr_reply_error(&item->reply, item->ref_seq, rc, txn ? NULL : "store unavailable");
}

static void s_slow_drop(void *job)
{
    s_slow_t *slow = job;
    gr_turn_item_release(&slow->item);
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
    gr_turn_deps_t turn = {cfg, self->router, self->sessions, self->peers, &self->counters,
                           &self->sealer, self->pool};
    if (!(self->turn = gr_turn_new(&turn)) || !(self->ahead = gr_turn_new(&turn))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
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


void gr_daemon_destroy(gr_daemon_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gr_daemon_t *self = *self_p;
    gr_http_destroy(&self->http);       /* its handlers wait on this node */
    gr_analyst_destroy(&self->analyst);  /* it reads the store */
    gr_turn_destroy(&self->turn);
    gr_turn_destroy(&self->ahead);
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
    free(self);
    *self_p = NULL;
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
    for (size_t i = 0; i < gr_turn_count(self->turn) && !writes; i++)
        writes = gr_turn_item_is_write(gr_turn_item(self->turn, i)) || gr_turn_item(self->turn, i)->inbound.status;
    /* An idle turn must not cost an fsync. */
    if (!writes && gr_peers_pending_acks(self->peers) == 0)
        return;
    gr_effects_t *effects = gr_engine_effects(self->engine);
    int rc = self->store_full ? GR_EFULL : 0;
    size_t read_ahead = 0;  /* counted once its commit is done */
    while (rc == 0) {
        gr_counters_t saved = self->counters;
        gr_txn_t *txn = NULL;
        rc = gr_store_begin(self->store, true, &txn);
        if (rc == 0)
            rc = gr_peers_apply_acks(self->peers, txn);
        for (size_t i = 0; rc == 0 && writes && i < gr_turn_count(self->turn); i++) {
            gr_turn_item_t *item = gr_turn_item(self->turn, i);
            size_t len = 0;
            const uint8_t *frame = gr_turn_item_frame(item, &len);
            if (item->inbound.status)
                rc = gr_peers_apply_status(self->peers, txn, &item->inbound, now);
            else if (gr_turn_item_is_write(item))
                rc = gr_requests_write(self->requests, &(gr_request_t){txn, &item->opened,
                                       &item->source, frame, len, now, &item->reply,
                                       &item->pre});
        }
        if (rc == 0 && self->next_due && self->next_due <= now) {
            gr_gauges_timer_lag(&self->gauges, now - self->next_due);
            rc = gr_flow_fire_due(&self->flow, txn, now);
        }
        if (rc == 0)
            rc = s_prune(self, txn, now);
        if (rc == 0) {
            /* The parent stores what goes up while this disk syncs. */
            gr_peers_before_commit(self->peers, txn, effects, now);
            /* While the disk syncs, the next turn's requests have their
             * signatures checked: a verify costs about as much as the rest
             * of a request, and the commit's wait would leave the cores
             * idle. Not while a reload or a stop is waiting for the turns
             * to be empty, nor after a turn that filled its byte budget
             * (gr_turn_filled(): a burst of link batches, little to check
             * per MiB). */
            if (!self->stopping && !self->reload_pending && !gr_turn_filled(self->turn))
                read_ahead += gr_turn_read_ahead(self->ahead);
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            rc = gr_store_commit(&txn);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            if (rc == 0) {
                gr_gauges_commit(&self->gauges, (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000 +
                                                           (t1.tv_nsec - t0.tv_nsec) / 1000));
                self->counters.value[GR_COUNT_BATCHES]++;
                self->counters.value[GR_COUNT_READ_AHEAD] += read_ahead;
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
        gr_peers_commit_failed(self->peers);
        /* The batch is redone from scratch: forget its partial results. */
        self->counters = saved;
        gr_engine_effects_clear(self->engine);
        for (size_t i = 0; i < gr_turn_count(self->turn); i++)
            if (gr_turn_item_is_write(gr_turn_item(self->turn, i)))
                gr_reply_clear(&gr_turn_item(self->turn, i)->reply);
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
    for (size_t i = 0; i < gr_turn_count(self->turn); i++) {
        gr_turn_item_t *item = gr_turn_item(self->turn, i);
        if (gr_turn_item_is_write(item)) {
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
static void s_hand_over(gr_daemon_t *self, gr_turn_item_t *item)
{
    gr_request_t req = {NULL, &item->opened, &item->source, NULL, 0, gr_clock_now_ms(),
                        &item->reply, NULL};
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
    gr_turn_item_move(&slow->item, item);
    rc = gr_analyst_submit(self->analyst, slow);
    if (rc != 0) {
        gr_turn_item_move(item, &slow->item);
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
        gr_turn_item_t *item = gr_turn_add(self->turn);
        if (!item) {
            s_slow_drop(slow);  /* the client resends */
            continue;
        }
        gr_turn_item_move(item, &slow->item);
        free(slow);
        if (item->reply.error)
            gr_counters_refusal(&self->counters, item->reply.error);
    }
}

static void s_answer_reads(gr_daemon_t *self)
{
    gr_txn_t *txn = NULL;
    for (size_t i = 0; i < gr_turn_count(self->turn); i++) {
        gr_turn_item_t *item = gr_turn_item(self->turn, i);
        if (item->rc != 0 || item->consumed || !item->from_router || gr_turn_item_is_write(item))
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
                                  &item->source, NULL, 0, gr_clock_now_ms(), &item->reply, NULL});
        if (rc != 0)
            gr_reply_error(&item->reply, item->ref_seq, rc, NULL);
    }
    gr_store_abort(&txn);
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
            /* Requests read ahead hold pointers into the trust list the
             * reload replaces: it waits for a turn without them. */
            self->reload_pending = true;
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
    if (gr_turn_count(self->turn) > 0)
        return 0;  /* requests read ahead are waiting */
    int timeout = gr_peers_timeout_ms(self->peers, now);
    if (self->next_due) {
        uint64_t case_now = gr_clock_now_ms();
        uint64_t wait = self->next_due > case_now ? self->next_due - case_now : 0;
        if (wait < (uint64_t)timeout)
            timeout = (int)wait;
    }
    return gr_reclaim_timeout_ms(self->reclaim, now, timeout);
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
        if (self->reload_pending && gr_turn_count(self->turn) == 0) {
            self->reload_pending = false;
            s_reload(self);
        }
        if (items[2].revents & ZMQ_POLLIN)
            while (gr_zap_handle(self->zap) == 0) {
            }
        gr_peers_on_poll(self->peers, items + 4, n - 4, now);
        gr_turn_collect(self->turn, now);
        /* Cases live on the node's clock (a test's --clock may move it);
         * the links above on the system's. */
        s_apply_writes(self, gr_clock_now_ms());
        s_answer_reads(self);
        s_take_analysed(self);
        /* Before the replies: a confidential case leaves after its read is on disk. */
        gr_access_log_commit(gr_requests_access_log(self->requests), self->store);
        gr_turn_reply(self->turn);
        gr_turn_t *next = self->ahead;
        self->ahead = self->turn;
        self->turn = next;
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
