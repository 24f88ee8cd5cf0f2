/* peerbench_nats.c: three nats-server processes A -> B -> C joined as leaf
 * nodes, a JetStream stream on each sourcing the one below.
 *
 * A (JetStream domain village) is a leaf node of B (township), B a leaf
 * node of C (district), which is how NATS joins an edge server to its hub.
 * Each server has its own JetStream domain, so that each keeps its own
 * JetStream and its API is reachable from the others only under
 * $JS.<domain>.API. Stream VILLAGE on A holds subject bench.village, the
 * one the publisher sends to; TOWNSHIP on B sources VILLAGE through
 * $JS.village.API, DISTRICT on C sources TOWNSHIP through
 * $JS.township.API: each server's JetStream copies from the one below with
 * an internal consumer that resumes after the last sequence it stored, so
 * nothing of ours runs between the tiers. Only VILLAGE has subjects: a
 * second stream on the same subject would store every message twice,
 * since plain messages do cross the leaf links.
 *
 * The publisher on A uses JetStream's asynchronous publish: each message
 * is acknowledged by A's stream once stored (the ack names the stream and
 * its sequence). The subscriber is an ordered consumer of DISTRICT, so a
 * message C stored twice arrives twice, and one C never stored never
 * arrives: the counts are C's store.
 *
 * Two variants: JetStream's default (the file store writes each message
 * to the OS before the ack and fsyncs on a timer: every 60 s in 2.9, 2 min
 * from 2.10), and sync_interval: always on the three servers (an fsync
 * before each ack, what gridrelay does), an option of nats-server 2.10 and
 * later: with an older server that variant is reported as not measured.
 */
#include "peerbench.h"

#include <nats/nats.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S_SUBJECT "bench.village"
#define S_WAIT_S 30          /* how long a server, a leaf link or a client may take */
#define S_ACK_WAIT_MS 30000  /* an async publish not acknowledged by then is a nack */
#define S_MAX_PENDING 20000  /* above the driver's largest window: the driver limits */

static const char *const s_names[3] = { "A", "B", "C" };
static const char *const s_domains[3] = { "village", "township", "district" };
static const char *const s_streams[3] = { "VILLAGE", "TOWNSHIP", "DISTRICT" };

struct pb_chain {
    pb_chain_head_t head;  /* first (peerbench.h): the servers, their client ports */
    pb_tracker_t *t;
    bool always;
    char root[256];
    char conf[3][320];
    int leaf[3];   /* leaf node port of B and C (A accepts none) */
    natsConnection *pub_nc, *sub_nc;
    jsCtx *pub_js, *sub_js;
    natsSubscription *sub;
    atomic_ulong delivered;  /* every message the subscriber got, any phase */
};

static char s_server_path[1024];
static bool s_lib_open;
static int s_always_ok;      /* 0 not probed, 1 sync_interval accepted, -1 not */
static atomic_int s_async_errors;

static int s_find(char *err, size_t cap)
{
    static const char *const fallbacks[] = { "/usr/sbin/nats-server", "/usr/local/bin/nats-server",
                                             NULL };
    const char *path = pb_find_program("NATS_SERVER", "nats-server", fallbacks);
    if (!path) {
        snprintf(err, cap, "nats-server is not installed (run tools/bench.sh, or set NATS_SERVER "
                           "to its path)");
        return -1;
    }
    snprintf(s_server_path, sizeof s_server_path, "%s", path);
    if (!s_lib_open) {
        natsStatus s = nats_Open(-1);
        if (s != NATS_OK) {
            snprintf(err, cap, "nats_Open failed: %s", natsStatus_GetText(s));
            return -1;
        }
        s_lib_open = true;
    }
    return 0;
}

static int s_check(char *err, size_t cap)
{
    return s_find(err, cap);
}

/* Does this nats-server know sync_interval? `nats-server -t` checks a
 * config and exits non-zero on a field it does not know. */
static int s_probe_always(char *err, size_t cap)
{
    if (s_always_ok != 0)
        return s_always_ok;
    char dir[256], conf[320], text[600], out[1024];
    if (pb_tempdir(dir, sizeof dir, "nats-probe") != 0) {
        snprintf(err, cap, "cannot create a temp dir: %m");
        return 0;
    }
    snprintf(conf, sizeof conf, "%s/probe.conf", dir);
    snprintf(text, sizeof text,
             "listen: 127.0.0.1:-1\n"
             "jetstream {\n    store_dir: \"%s/jetstream\"\n    sync_interval: always\n}\n", dir);
    int rc = -1;
    if (pb_write_file(conf, text, 0600) == 0) {
        char *argv[] = { s_server_path, "-c", conf, "-t", NULL };
        rc = pb_run(argv, NULL, 10000, out, sizeof out);
    }
    pb_remove_tree(dir);
    if (rc < 0 || rc == 124) {
        snprintf(err, cap, "cannot run %s -t", s_server_path);
        return 0;
    }
    s_always_ok = rc == 0 ? 1 : -1;
    return s_always_ok;
}

static const char *s_version(void)
{
    static char version[64];
    char out[512];
    char *argv[] = { s_server_path, "--version", NULL };
    /* It prints "nats-server: v2.9.10". */
    if (!version[0] && pb_run(argv, NULL, 5000, out, sizeof out) == 0) {
        const char *v = strstr(out, ": v");
        if (v)
            snprintf(version, sizeof version, "%.*s", (int)strcspn(v + 3, " \n"), v + 3);
    }
    return version;
}

static int s_check_always(char *err, size_t cap)
{
    if (s_find(err, cap) != 0)
        return -1;
    int ok = s_probe_always(err, cap);
    if (ok == 0)
        return -1;
    if (ok < 0) {
        snprintf(err, cap, "nats-server %s has no sync_interval (it came in 2.10.0): its JetStream "
                           "file store fsyncs every 60 s, never before an ack, so the variant with "
                           "an fsync before each ack cannot be set up",
                 s_version());
        return PB_UNSUPPORTED;
    }
    return 0;
}

static int s_write_config(pb_chain_t *c, int i)
{
    char dir[300], text[2048];
    snprintf(dir, sizeof dir, "%s/%s", c->root, s_names[i]);
    if (mkdir(dir, 0700) != 0)
        return -1;
    size_t cap = sizeof text;
    int n = snprintf(text, cap,
                     "# gridpeerbench NATS server %s (%s)\n"
                     "server_name: grbench-%s\n"
                     "listen: 127.0.0.1:%d\n"
                     "max_payload: 2097152\n"
                     "jetstream {\n"
                     "    store_dir: \"%s/jetstream\"\n"
                     "    domain: %s\n"
                     "%s"
                     "}\n"
                     "leafnodes {\n",
                     s_names[i], s_domains[i], s_domains[i], c->head.port[i], dir, s_domains[i],
                     c->always ? "    sync_interval: always\n" : "");
    if (n > 0 && (size_t)n < cap && i > 0)
        n += snprintf(text + n, cap - (size_t)n, "    listen: 127.0.0.1:%d\n", c->leaf[i]);
    if (n > 0 && (size_t)n < cap && i < 2)
        n += snprintf(text + n, cap - (size_t)n,
                      "    remotes: [ { urls: [\"nats-leaf://127.0.0.1:%d\"] } ]\n", c->leaf[i + 1]);
    if (n > 0 && (size_t)n < cap)
        n += snprintf(text + n, cap - (size_t)n, "}\n");
    if (n <= 0 || (size_t)n >= cap)
        return -1;
    snprintf(c->conf[i], sizeof c->conf[i], "%s/nats.conf", dir);
    return pb_write_file(c->conf[i], text, 0600);
}

/* Starts server i (returns once it is started, not once it is ready). */
static int s_server_start(pb_chain_t *c, int i)
{
    char log[320];
    snprintf(log, sizeof log, "%s/%s/nats.log", c->root, s_names[i]);
    char *argv[] = { s_server_path, "-c", c->conf[i], NULL };
    if (pb_spawn(&c->head.broker[i], argv, NULL, log, false) != 0) {
        fprintf(stderr, "gridpeerbench: cannot start %s: %m\n", s_server_path);
        return -1;
    }
    return 0;
}

static void s_on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
    (void)nc;
    (void)sub;
    /* A few are enough to explain a failure; a flood would hide it. */
    int n = atomic_fetch_add(&s_async_errors, 1);
    if (n < 5)
        fprintf(stderr, "gridpeerbench: nats: %s connection: %s\n", (const char *)closure,
                natsStatus_GetText(err));
}

/* A connection to server i and its JetStream context, with jo (may be
 * NULL) as the context's options. 0, or -1 with err filled. */
static int s_connect(pb_chain_t *c, int i, jsOptions *jo, natsConnection **nc, jsCtx **js, char *err,
                     size_t cap)
{
    char url[64];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", c->head.port[i]);
    natsOptions *opts = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = natsOptions_SetURL(opts, url);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(opts, 5000);
    if (s == NATS_OK)
        s = natsOptions_SetErrorHandler(opts, s_on_async_error, (void *)s_domains[i]);
    *nc = NULL;
    *js = NULL;
    if (s == NATS_OK)
        s = natsConnection_Connect(nc, opts);
    if (s == NATS_OK)
        s = natsConnection_JetStream(js, *nc, jo);
    natsOptions_Destroy(opts);
    if (s != NATS_OK) {
        snprintf(err, cap, "cannot connect to nats-server %s (%s): %s", s_names[i], s_domains[i],
                 natsStatus_GetText(s));
        jsCtx_Destroy(*js);
        natsConnection_Destroy(*nc);
        *nc = NULL;
        *js = NULL;
        return -1;
    }
    return 0;
}

static void s_disconnect(natsConnection **nc, jsCtx **js)
{
    jsCtx_Destroy(*js);
    *js = NULL;
    if (*nc) {
        natsConnection_Close(*nc);
        natsConnection_Destroy(*nc);
    }
    *nc = NULL;
}

/* Waits until server i reaches the JetStream of the domain below it over
 * their leaf link: the source cannot start before. 0 or -1. */
static int s_wait_remote(jsCtx *js, int i, char *err, size_t cap)
{
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Domain = s_domains[i - 1];
    jo.Wait = 1000;
    double deadline = pb_now() + S_WAIT_S;
    natsStatus s = NATS_OK;
    while (pb_now() < deadline && !pb_stopping()) {
        jsAccountInfo *ai = NULL;
        s = js_GetAccountInfo(&ai, js, &jo, NULL);
        jsAccountInfo_Destroy(ai);
        if (s == NATS_OK)
            return 0;
        poll(NULL, 0, 50);
    }
    snprintf(err, cap, "nats-server %s (%s) did not reach the JetStream of %s over the leaf link "
             "within %d s: %s", s_names[i], s_domains[i], s_domains[i - 1], S_WAIT_S,
             natsStatus_GetText(s));
    return -1;
}

/* Creates server i's file stream: VILLAGE on subject bench.village, the
 * others sourcing the stream of the domain below. 0 or -1. */
static int s_add_stream(pb_chain_t *c, int i, char *err, size_t cap)
{
    const char *subjects[1] = { S_SUBJECT };
    char api[64];
    jsExternalStream ext;
    jsStreamSource source;
    jsStreamSource *sources[1] = { &source };
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = s_streams[i];
    sc.Storage = js_FileStorage;
    if (i == 0) {
        sc.Subjects = subjects;
        sc.SubjectsLen = 1;
    } else {
        snprintf(api, sizeof api, "$JS.%s.API", s_domains[i - 1]);
        jsExternalStream_Init(&ext);
        ext.APIPrefix = api;
        /* Empty: the same account on both sides, the server picks the
         * delivery subject. Not NULL: libnats 3.4 copies it unchecked. */
        ext.DeliverPrefix = "";
        jsStreamSource_Init(&source);
        source.Name = s_streams[i - 1];
        source.External = &ext;
        sc.Sources = sources;
        sc.SourcesLen = 1;
    }
    natsConnection *nc;
    jsCtx *js;
    if (s_connect(c, i, NULL, &nc, &js, err, cap) != 0)
        return -1;
    int rc = i > 0 ? s_wait_remote(js, i, err, cap) : 0;
    jsErrCode jerr = 0;
    natsStatus s = rc == 0 ? js_AddStream(NULL, js, &sc, NULL, &jerr) : NATS_OK;
    if (s != NATS_OK) {
        snprintf(err, cap, "cannot create stream %s on %s (%s): %s (JetStream error %d)", s_streams[i],
                 s_names[i], s_domains[i], natsStatus_GetText(s), (int)jerr);
        rc = -1;
    }
    s_disconnect(&nc, &js);
    return rc;
}

/* The seq of one of our payloads, PB_SEQ_NONE for anything else. */
static uint64_t s_seq_of(const char *data, int len)
{
    uint32_t magic, kind;
    uint64_t seq;
    if (!data || len < PB_HEADER_SIZE)
        return PB_SEQ_NONE;
    memcpy(&magic, data, 4);
    memcpy(&kind, data + 4, 4);
    memcpy(&seq, data + 16, 8);
    return magic == PB_MAGIC && kind == PB_KIND_DATA ? seq : PB_SEQ_NONE;
}

/* The library's thread: A's stream stored the message (pa), or refused
 * it or did not answer within S_ACK_WAIT_MS (pae). */
static void s_on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    (void)js;
    pb_chain_t *c = closure;
    uint64_t seq = s_seq_of(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
    if (pa && !pae)
        pb_track_acked(c->t, seq);
    else
        pb_track_nacked(c->t, seq);
    natsMsg_Destroy(msg);
}

static void s_on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    pb_chain_t *c = closure;
    atomic_fetch_add(&c->delivered, 1);
    pb_track_received(c->t, natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg));
    natsMsg_Destroy(msg);
}

/* The subscriber should have got every message DISTRICT holds; says so
 * when it did not (within 2 s), since the counts are read as C's. */
static void s_check_delivered(pb_chain_t *c)
{
    jsStreamInfo *si = NULL;
    if (!c->sub_js || js_GetStreamInfo(&si, c->sub_js, s_streams[2], NULL, NULL) != NATS_OK)
        return;
    uint64_t stored = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    double deadline = pb_now() + 2;
    while (atomic_load(&c->delivered) < stored && pb_now() < deadline && !pb_stopping())
        poll(NULL, 0, 20);
    unsigned long delivered = atomic_load(&c->delivered);
    if (delivered != stored)
        fprintf(stderr, "gridpeerbench: nats: stream %s on C holds %llu messages, its consumer "
                "delivered %lu\n", s_streams[2], (unsigned long long)stored, delivered);
}

static void s_stop(pb_chain_t **c_p)
{
    pb_chain_t *c = *c_p;
    if (!c)
        return;
    if (pb_proc_alive(&c->head.broker[2]))
        s_check_delivered(c);
    if (c->sub) {
        natsSubscription_Unsubscribe(c->sub);
        natsSubscription_Destroy(c->sub);
        c->sub = NULL;
    }
    s_disconnect(&c->sub_nc, &c->sub_js);
    s_disconnect(&c->pub_nc, &c->pub_js);
    for (int i = 0; i < 3; i++)
        if (c->head.broker[i].pid > 0)
            kill(c->head.broker[i].pid, SIGTERM);
    for (int i = 0; i < 3; i++)
        pb_proc_stop(&c->head.broker[i], SIGTERM, 10000);
    pb_remove_tree(c->root);
    free(c);
    *c_p = NULL;
}

static pb_chain_t *s_start_chain(pb_tracker_t *t, bool always, char *err, size_t cap)
{
    pb_chain_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    c->t = t;
    c->always = always;
    atomic_init(&c->delivered, 0);
    if (pb_tempdir(c->root, sizeof c->root, always ? "nats-always" : "nats") != 0) {
        snprintf(err, cap, "cannot create a temp dir: %m");
        free(c);
        return NULL;
    }
    snprintf(err, cap, "cannot configure the servers in %s", c->root);
    for (int i = 0; i < 3; i++)
        if ((c->head.port[i] = pb_free_port()) < 0 || (i > 0 && (c->leaf[i] = pb_free_port()) < 0))
            goto fail;
    for (int i = 0; i < 3; i++)
        if (s_write_config(c, i) != 0)
            goto fail;
    /* C first, so that each leaf finds its hub on its first attempt. */
    for (int i = 2; i >= 0; i--) {
        if (s_server_start(c, i) != 0)
            goto fail;
        if (pb_wait_port(&c->head.broker[i], c->head.port[i], pb_now() + S_WAIT_S, 20) != 0) {
            snprintf(err, cap, "nats-server %s did not start on port %d (log: %s)", s_names[i],
                     c->head.port[i], c->head.broker[i].log);
            goto fail;
        }
    }
    for (int i = 0; i < 3; i++)
        if (s_add_stream(c, i, err, cap) != 0)
            goto fail;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = s_streams[2];
    so.Ordered = true;
    if (s_connect(c, 2, NULL, &c->sub_nc, &c->sub_js, err, cap) != 0)
        goto fail;
    natsStatus s = js_Subscribe(&c->sub, c->sub_js, S_SUBJECT, s_on_msg, c, NULL, &so, NULL);
    if (s != NATS_OK) {
        snprintf(err, cap, "cannot consume stream %s on C: %s", s_streams[2], natsStatus_GetText(s));
        goto fail;
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = S_MAX_PENDING;
    jo.PublishAsync.AckHandler = s_on_ack;
    jo.PublishAsync.AckHandlerClosure = c;
    if (s_connect(c, 0, &jo, &c->pub_nc, &c->pub_js, err, cap) != 0)
        goto fail;
    return c;
fail:
    s_stop(&c);
    return NULL;
}

static pb_chain_t *s_start(pb_tracker_t *t, int window, char *err, size_t cap)
{
    (void)window;  /* the driver keeps the window */
    return s_start_chain(t, false, err, cap);
}

static pb_chain_t *s_start_always(pb_tracker_t *t, int window, char *err, size_t cap)
{
    (void)window;
    return s_start_chain(t, true, err, cap);
}

static int s_publish(pb_chain_t *c, const void *buf, size_t len, uint64_t seq)
{
    (void)seq;  /* it is in the payload, where the ack handler reads it */
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = S_ACK_WAIT_MS;
    return js_PublishAsync(c->pub_js, S_SUBJECT, buf, (int)len, &po) == NATS_OK ? 0 : -1;
}

static int s_pump(pb_chain_t *c, int timeout_ms)
{
    /* The library's threads do the work; acks arrive via the tracker. */
    pb_track_wait(c->t, timeout_ms);
    return natsConnection_IsClosed(c->pub_nc) ? -1 : 0;
}

/* B restarts on the same config, so on its JetStream store. */
static int s_crash_middle(pb_chain_t *c)
{
    pb_proc_stop(&c->head.broker[1], SIGKILL, 5000);
    return s_server_start(c, 1);
}

static void s_shutdown(void)
{
    /* And wait, so that the next variant can open the library again. */
    if (s_lib_open)
        nats_CloseAndWait(5000);
    s_lib_open = false;
}

/* Both variants start the same kind of chain. */
static const pb_chain_ops_t s_ops = {
    .publish = s_publish,
    .pump = s_pump,
    .crash_middle = s_crash_middle,
    .stop = s_stop,
};

const pb_system_t pb_nats = {
    .name = "nats",
    .durability = "acknowledges a JetStream publish once the message is written to the stream's "
                  "file, that is to the OS, and fsyncs every 60 s (nats-server 2.9; 2 min from "
                  "2.10): a SIGKILL loses nothing acknowledged, an OS crash or power cut can lose "
                  "up to the last minute; each tier's stream sources the one below and resumes "
                  "after the last sequence it stored",
    .check = s_check,
    .version = s_version,
    .start = s_start,
    .ops = &s_ops,
    .shutdown = s_shutdown,
};

const pb_system_t pb_nats_always = {
    .name = "nats_always",
    .durability = "with sync_interval: always, fsyncs each message before acknowledging it, at "
                  "every tier's stream; each stream sources the one below and resumes after the "
                  "last sequence it stored",
    .check = s_check_always,
    .version = s_version,
    .start = s_start_always,
    .ops = &s_ops,
    .shutdown = s_shutdown,
};
