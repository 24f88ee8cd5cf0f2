#include "fixture.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include "clock.h"
#include "envelope.h"
#include "error.h"
#include "flow.h"
#include "reply.h"
#include "seeds.h"

int fx_keys(gr_keypair_t keys[FX_KEYS])
{
    if (gr_keys_init() != 0)
        return GR_EINVAL;
    for (int i = 0; i < FX_KEYS; i++) {
        uint8_t seed[crypto_sign_SEEDBYTES];
        memset(seed, 0x40 + i, sizeof seed);
        if (crypto_sign_seed_keypair(keys[i].pk, keys[i].sk, seed) != 0)
            return GR_EKEY;
    }
    return 0;
}

int fx_write_file(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    return close(fd);
}

int fx_temp_dir(char *dir)
{
    strcpy(dir, "/dev/shm/gr-fuzz-XXXXXX");
    if (mkdtemp(dir))
        return 0;
    strcpy(dir, "/tmp/gr-fuzz-XXXXXX");
    return mkdtemp(dir) ? 0 : GR_EIO;
}

int fx_write_dir(char *dir, const gr_keypair_t keys[FX_KEYS])
{
    if (fx_temp_dir(dir) != 0)
        return GR_EIO;
    char sec[128], pub[128], err[256];
    snprintf(sec, sizeof sec, "%s/node.sec", dir);
    snprintf(pub, sizeof pub, "%s/node.pub", dir);
    int rc = gr_keys_save(&keys[FX_NODE], sec, pub, err, sizeof err);
    if (rc != 0)
        return rc;
    char hex[FX_KEYS][GR_PUBLIC_KEY_HEX];
    for (int i = 0; i < FX_KEYS; i++)
        gr_key_to_hex(hex[i], keys[i].pk);
    char ini[4096];
    int n = snprintf(ini, sizeof ini,
        "[node]\nid = " FX_NODE_ID "\ntier = township\nstore = store\n"
        "listen = tcp://127.0.0.1:*\nsecret_key = node.sec\n"
        "catalogue = " GR_SOURCE_ROOT "/examples/catalogue.ini\n"
        "map_size_mb = 8\nreplay_window = 1000000000\n"
        "[reporters]\nofficer-f = %s\n"
        "[parent]\nid = " FX_PARENT_ID "\nendpoint = tcp://127.0.0.1:9\nkey = %s\n"
        "[children]\n" FX_CHILD_ID " = %s\n" FX_CHILD2_ID " = %s\n"
        "[deadlines]\naccept.routine = 24h\naccept.urgent = 30min\nresolve.routine = 7d\n"
        "claim.routine = 4h\ncomplete.routine = 5d\n"
        "[departments]\npolice = %s, 派出所 police\nsafety = %s, 安监站 safety\n"
        "[dispatch]\nPS.FIRE = safety + police\nPS.CRIME = police, safety\n* = police\n"
        "[supervision]\nmax_returns = 2\nfeedback_within = 24h\n",
        hex[FX_REPORTER], hex[FX_PARENT], hex[FX_CHILD], hex[FX_CHILD2], hex[FX_DEPT],
        hex[FX_DEPT2]);
    if (n < 0 || (size_t)n >= sizeof ini)
        return GR_EINVAL;
    char path[128];
    snprintf(path, sizeof path, "%s/node.ini", dir);
    return fx_write_file(path, (const uint8_t *)ini, (size_t)n) == 0 ? 0 : GR_EIO;
}

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void fx_remove_dir(const char *dir)
{
    if (dir && *dir)
        nftw(dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* The catch-up answers go to a link nobody listens on: the callbacks are
 * never needed, but the link wants them. */
static int s_no_load(void *ctx, gr_link_t *link, uint64_t after, size_t max)
{
    (void)ctx;
    (void)link;
    (void)after;
    (void)max;
    return 0;
}

static void s_no_acked(void *ctx, uint64_t seq)
{
    (void)ctx;
    (void)seq;
}

static void s_no_message(void *ctx, gr_link_t *link, const gr_opened_t *opened,
                         const uint8_t *frame, size_t len)
{
    (void)ctx;
    (void)link;
    (void)opened;
    (void)frame;
    (void)len;
}

static void s_no_changed(void *ctx, gr_link_t *link, bool up)
{
    (void)ctx;
    (void)link;
    (void)up;
}

static uint64_t s_seq(void *ctx)
{
    fx_node_t *node = ctx;
    return gr_engine_next_seq(node->engine);
}

int fx_node_open(fx_node_t *node)
{
    memset(node, 0, sizeof *node);
    int rc = fx_keys(node->keys);
    if (rc == 0)
        rc = fx_write_dir(node->dir, node->keys);
    if (rc != 0)
        return rc;
    char path[128], err[512];
    snprintf(path, sizeof path, "%s/node.ini", node->dir);
    if (!(node->cfg = gr_config_load(path, err, sizeof err))) {
        fprintf(stderr, "fuzz fixture: %s\n", err);
        return GR_EINVAL;
    }
    if (!(node->engine = gr_engine_new(node->cfg)) ||
        !(node->tierlink = gr_tierlink_new(node->cfg, node->engine, &node->counters)) ||
        !(node->departments = gr_departments_new(node->cfg, node->engine)) ||
        !(node->daily = gr_daily_new(node->cfg, node->engine)) ||
        !(node->requests = gr_requests_new(node->cfg, &node->counters, node->engine,
                                           node->tierlink, node->departments, node->daily)))
        return GR_ENOMEM;
    gr_store_options_t opt = { .map_size = node->cfg->map_size, .map_max = node->cfg->map_max };
    if ((rc = gr_store_open(&node->store, node->cfg->store_path, &opt, err, sizeof err)) != 0) {
        fprintf(stderr, "fuzz fixture: %s\n", err);
        return rc;
    }
    gr_txn_t *txn = NULL;
    if ((rc = gr_store_begin(node->store, true, &txn)) != 0)
        return rc;
    rc = gr_engine_load(node->engine, txn);
    if (rc == 0)
        rc = gr_store_commit(&txn);
    gr_store_abort(&txn);
    if (rc != 0)
        return rc;
    int linger = 0;
    if (!(node->zmq_ctx = zmq_ctx_new()) ||
        !(node->router = zmq_socket(node->zmq_ctx, ZMQ_ROUTER)) ||
        zmq_setsockopt(node->router, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(node->router, "tcp://127.0.0.1:*") != 0)
        return GR_EIO;
    if (!(node->peers = gr_peers_new(node->zmq_ctx, node->router, node->cfg, node->store,
                                     node->engine, node->tierlink, err, sizeof err))) {
        fprintf(stderr, "fuzz fixture: %s\n", err);
        return GR_EIO;
    }
    gr_requests_set_peers(node->requests, node->peers);
    gr_link_options_t lo = {
        .peer_id = FX_PARENT_ID, .peer_pk = node->cfg->parent.pk, .kp = &node->cfg->keys,
        .own_id = FX_NODE_ID, .max_frame = node->cfg->max_frame,
        .callbacks = {.load = s_no_load, .acked = s_no_acked, .message = s_no_message,
                      .changed = s_no_changed, .next_seq = s_seq, .dead = NULL},
        .ctx = node,
    };
    if (!(node->parent_link = gr_link_new_upward(node->zmq_ctx, "tcp://127.0.0.1:9", &lo)))
        return GR_EIO;
    node->now_ms = gr_clock_now_ms();
    node->next_seq = node->now_ms * 1000 - 1000000;
    return 0;
}

void fx_node_close(fx_node_t *node)
{
    gr_link_destroy(&node->parent_link);
    gr_peers_destroy(&node->peers);
    if (node->router)
        zmq_close(node->router);
    if (node->zmq_ctx)
        zmq_ctx_term(node->zmq_ctx);
    gr_store_close(&node->store);
    gr_requests_destroy(&node->requests);
    gr_departments_destroy(&node->departments);
    gr_daily_destroy(&node->daily);
    gr_tierlink_destroy(&node->tierlink);
    gr_engine_destroy(&node->engine);
    gr_config_destroy(&node->cfg);
    fx_remove_dir(node->dir);
    memset(node, 0, sizeof *node);
}

fx_key_t fx_from_key(fx_from_t from)
{
    switch (from) {
    case FX_FROM_REPORTER:
        return FX_REPORTER;
    case FX_FROM_DEPT:
        return FX_DEPT;
    case FX_FROM_CHILD:
    case FX_FROM_CHILD_PUB:
        return FX_CHILD;
    default:
        return FX_PARENT;
    }
}

/* Status items the child's link queued, applied as the daemon does. */
static int s_apply_inbound(fx_node_t *node, gr_txn_t *txn)
{
    gr_inbound_t *items = NULL;
    size_t n = gr_peers_take_inbound(node->peers, &items);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && items[i].status)
            rc = gr_peers_apply_status(node->peers, txn, &items[i],
                                       node->now_ms + node->later_ms);
        free(items[i].frame);
    }
    free(items);
    return rc;
}

/* The request's way through the node once its frame is open. */
static int s_dispatch(fx_node_t *node, fx_from_t from, gr_txn_t *txn, gr_opened_t *opened,
                      const uint8_t *frame, size_t len, gr_reply_t *reply)
{
    uint64_t now = node->now_ms + node->later_ms;
    if (node->later_ms) {
        gr_flow_t flow = {node->cfg, node->engine, node->tierlink, node->departments, node->daily};
        int rc = gr_flow_fire_due(&flow, txn, now);
        if (rc != 0)
            return rc;
    }
    gr_source_t source = {GR_FROM_CLIENT, NULL};
    if (from == FX_FROM_CHILD_PUB) {
        /* What the SUB socket queues (a child's status, node/peers.c),
         * applied in the write transaction. */
        if (opened->body->kind_case != GRIDRELAY__BODY__KIND_STATUS_UPDATE &&
            opened->body->kind_case != GRIDRELAY__BODY__KIND_STATUS_BATCH)
            return 0;
        gr_inbound_t item = {(uint8_t *)frame, len, {GR_FROM_CHILD, FX_CHILD_ID}, NULL, true, false, {0}, 0};
        return gr_peers_apply_status(node->peers, txn, &item, now);
    }
    if (from == FX_FROM_CHILD) {
        const gr_peer_config_t *child = gr_peers_child(node->peers, opened->envelope->signer.data);
        if (!child)
            return GR_EINVAL;
        source = (gr_source_t){GR_FROM_CHILD, child->id};
        if (gr_peers_child_frame(node->peers, child, opened, frame, len, now) == 1) {
            int rc = gr_peers_apply_acks(node->peers, txn);
            return rc == 0 ? s_apply_inbound(node, txn) : rc;
        }
    } else if (from == FX_FROM_PARENT) {
        source = (gr_source_t){GR_FROM_PARENT, FX_PARENT_ID};
        switch (opened->body->kind_case) {
        case GRIDRELAY__BODY__KIND_CATCH_UP:
            return gr_peers_answer_catchup(node->peers, txn, opened, node->parent_link);
        case GRIDRELAY__BODY__KIND_HEARTBEAT:
        case GRIDRELAY__BODY__KIND_STATUS_BATCH:
        case GRIDRELAY__BODY__KIND_ERROR:
            return 0;  /* the link reads these itself (node/peers.c) */
        default:
            break;
        }
    }
    gr_request_t req = {txn, opened, &source, frame, len, now, reply, NULL};
    if (gr_requests_is_write(opened))
        return gr_requests_write(node->requests, &req);
    return gr_requests_read(node->requests, &req);
}

/* Whatever an input did, the timelines it may have touched still form a
 * hash chain (the audit trail of every case): a broken one is a finding,
 * reported as the fixture's failure. */
static int s_check_chains(gr_txn_t *txn, const gr_reply_t *reply)
{
    const char *ids[] = {FX_EV_TOWN, FX_EV_UP, FX_EV_ESC, FX_EV_ASSIGN,
                         reply->acked ? reply->event_id : NULL};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        if (!ids[i] || !*ids[i])
            continue;
        int rc = gr_store_timeline_verify(txn, ids[i]);
        if (rc != 0 && rc != GR_ENOTFOUND) {
            fprintf(stderr, "fuzz fixture: the timeline of %s does not verify: %s\n", ids[i],
                    gr_strerror(rc));
            return rc;
        }
    }
    return 0;
}

/* With GR_FUZZ_VERBOSE set (reproducing one input): what became of it. */
static void s_explain(fx_from_t from, const gr_opened_t *opened, int rc, const gr_reply_t *reply)
{
    Gridrelay__Body *answer =
        reply->body ? gridrelay__body__unpack(NULL, reply->len, reply->body) : NULL;
    const char *text = !answer ? "no reply"
                       : answer->kind_case == GRIDRELAY__BODY__KIND_ERROR && answer->error
                           ? answer->error->message
                           : reply->acked ? "acked" : "answered";
    fprintf(stderr, "fuzz: from %d, body kind %d: rc %d, %s\n", (int)from,
            (int)opened->body->kind_case, rc, text ? text : "");
    gridrelay__body__free_unpacked(answer, NULL);
}

int fx_node_run(fx_node_t *node, fx_from_t from, uint64_t seq, const uint8_t *body, size_t len,
                bool commit, bool *acked)
{
    if (acked)
        *acked = false;
    if (!seq)
        seq = commit ? ++node->next_seq : node->now_ms * 1000;
    uint8_t *frame = NULL;
    size_t flen = 0;
    const gr_keypair_t *kp = &node->keys[fx_from_key(from)];
    int rc = gr_envelope_seal_bytes(&frame, &flen, kp, seq, node->now_ms, body, len);
    if (rc != 0)
        return rc;
    gr_opened_t opened = {0};
    if (from == FX_FROM_PARENT)
        rc = gr_envelope_open_from(&opened, frame, flen, node->cfg->parent.pk, node->cfg->max_frame);
    else
        rc = gr_envelope_open(&opened, NULL, frame, flen, node->cfg->trust, node->cfg->max_frame);
    if (rc != 0) {
        free(frame);
        return 0;  /* refused at the door, as the daemon would */
    }
    gr_txn_t *txn = NULL;
    gr_counters_t saved = node->counters;
    gr_engine_mark_t mark = gr_engine_mark(node->engine);
    gr_reply_t reply = {0};
    rc = gr_store_begin(node->store, true, &txn);
    if (rc == 0)
        rc = s_dispatch(node, from, txn, &opened, frame, flen, &reply);
    if (acked)
        *acked = rc == 0 && reply.acked;
    int broken = rc == 0 && !commit ? s_check_chains(txn, &reply) : 0;
    if (getenv("GR_FUZZ_VERBOSE"))
        s_explain(from, &opened, rc, &reply);
    if (rc == 0 && commit) {
        rc = gr_store_commit(&txn);
    } else {
        gr_store_abort(&txn);
        gr_engine_rollback(node->engine, &mark);
        node->counters = saved;
        if (!commit)
            rc = 0;  /* a refusal or a request's store error is an answer */
    }
    gr_engine_effects_clear(node->engine);
    gr_reply_clear(&reply);
    gr_opened_clear(&opened);
    free(frame);
    return broken ? broken : rc;
}

int fx_node_run_body(fx_node_t *node, fx_from_t from, const Gridrelay__Body *body, bool commit,
                     bool *acked)
{
    size_t len = 0;
    uint8_t *bytes = gr_body_pack(body, &len);
    if (!bytes)
        return GR_ENOMEM;
    int rc = fx_node_run(node, from, 0, bytes, len, commit, acked);
    free(bytes);
    return rc;
}
