/* peerbench_mqtt.c: three mosquitto brokers A -> B -> C joined by bridges.
 *
 * Each broker runs from its own temp dir with persistence on (autosave
 * every second), `user root` so that the store is written when we run as
 * root, and max_queued_messages 0: with the default (1000) a broker
 * silently drops QoS 1 messages queued for a slow or absent peer, which
 * would be counted as a crash loss when it is a configured limit.
 * TCP_NODELAY is set on broker and clients, as anyone measuring latency
 * would: without it Nagle's algorithm adds delayed-ACK stalls on loopback.
 * Everything else is mosquitto's default (20 in-flight messages per peer).
 */
#include "peerbench.h"

#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <poll.h>

#define S_TOPIC "bench/data"
#define S_WAIT_S 10  /* how long a broker or a client may take to be ready */

static const char *const s_names[3] = { "A", "B", "C" };

struct pb_chain {
    pb_chain_head_t head;      /* first (peerbench.h) */
    pb_tracker_t *t;
    char root[256];
    char conf[3][320];
    struct mosquitto *pub, *sub;
    pthread_mutex_t lock;      /* mid_seq and sub_ready */
    uint64_t mid_seq[65536];   /* MQTT message id -> our seq */
    bool sub_ready;
};

static char s_mosquitto[1024];
static bool s_lib_ready;

static int s_check(char *err, size_t cap)
{
    static const char *const fallbacks[] = { "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", NULL };
    const char *path = pb_find_program("MOSQUITTO", "mosquitto", fallbacks);
    if (!path) {
        snprintf(err, cap, "the mosquitto broker is not installed (run tools/bench.sh, "
                           "or set MOSQUITTO to its path)");
        return -1;
    }
    snprintf(s_mosquitto, sizeof s_mosquitto, "%s", path);
    if (!s_lib_ready) {
        if (mosquitto_lib_init() != MOSQ_ERR_SUCCESS) {
            snprintf(err, cap, "mosquitto_lib_init failed");
            return -1;
        }
        s_lib_ready = true;
    }
    return 0;
}

static const char *s_version(void)
{
    static char version[64];
    char out[512];
    char *argv[] = { s_mosquitto, "-h", NULL };
    /* `mosquitto -h` exits non-zero but prints "mosquitto version X". */
    if (!version[0] && pb_run(argv, NULL, 5000, out, sizeof out) >= 0) {
        const char *v = strstr(out, "version ");
        if (v)
            snprintf(version, sizeof version, "%.*s", (int)strcspn(v + 8, " \n"), v + 8);
    }
    return version;
}

static int s_write_config(pb_chain_t *c, int i)
{
    char dir[300], text[2048];
    snprintf(dir, sizeof dir, "%s/%s", c->root, s_names[i]);
    if (mkdir(dir, 0700) != 0)
        return -1;
    int n = snprintf(text, sizeof text,
                     "# gridpeerbench broker %s\n"
                     "per_listener_settings false\n"
                     "allow_anonymous true\n"
                     "listener %d 127.0.0.1\n"
                     "set_tcp_nodelay true\n"
                     "persistence true\n"
                     "persistence_location %s/\n"
                     "persistence_file mosquitto.db\n"
                     "autosave_interval 1\n"
                     "user root\n"
                     "max_queued_messages 0\n"
                     "log_dest stderr\n"
                     "log_type error\nlog_type warning\nlog_type notice\n",
                     s_names[i], c->head.port[i], dir);
    if (i < 2)
        /* cleansession false: the downstream broker keeps the bridge's
         * session, and this one keeps what it has not delivered yet. */
        snprintf(text + n, sizeof text - (size_t)n,
                 "\nconnection to-%s\n"
                 "address 127.0.0.1:%d\n"
                 "topic bench/# out 1\n"
                 "cleansession false\n"
                 "remote_clientid grbench-bridge-%s\n"
                 "notifications false\n"
                 "restart_timeout 1\n"
                 "bridge_protocol_version mqttv311\n",
                 s_names[i + 1], c->head.port[i + 1], s_names[i]);
    snprintf(c->conf[i], sizeof c->conf[i], "%s/mosquitto.conf", dir);
    return pb_write_file(c->conf[i], text, 0600);
}

/* Starts broker i and waits (bounded) until it accepts connections. */
static int s_broker_start(pb_chain_t *c, int i, char *err, size_t cap)
{
    char log[320];
    snprintf(log, sizeof log, "%s/%s/mosquitto.log", c->root, s_names[i]);
    char *argv[] = { s_mosquitto, "-c", c->conf[i], NULL };
    if (pb_spawn(&c->head.broker[i], argv, NULL, log, false) != 0) {
        snprintf(err, cap, "cannot start %s: %m", s_mosquitto);
        return -1;
    }
    return 0;
}

static int s_broker_wait(pb_chain_t *c, int i, char *err, size_t cap)
{
    if (pb_wait_port(&c->head.broker[i], c->head.port[i], pb_now() + S_WAIT_S, 20) != 0) {
        snprintf(err, cap, "mosquitto %s did not start on port %d (log: %s)", s_names[i],
                 c->head.port[i], c->head.broker[i].log);
        return -1;
    }
    return 0;
}

static void s_on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)obj;
    if (rc == 0)
        mosquitto_subscribe(mosq, NULL, "bench/#", 1);  /* failure: sub_ready stays false */
}

static void s_on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *granted)
{
    (void)mosq;
    (void)mid;
    pb_chain_t *c = obj;
    pthread_mutex_lock(&c->lock);
    c->sub_ready = n == 1 && granted[0] == 1;
    pthread_mutex_unlock(&c->lock);
}

static void s_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    (void)mosq;
    pb_chain_t *c = obj;
    pb_track_received(c->t, msg->payload, (size_t)msg->payloadlen);
}

static void s_on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    (void)mosq;
    pb_chain_t *c = obj;
    pthread_mutex_lock(&c->lock);
    uint64_t seq = c->mid_seq[mid & 0xffff];
    pthread_mutex_unlock(&c->lock);
    pb_track_acked(c->t, seq);
}

/* A threaded client on broker i. NULL on failure. */
static struct mosquitto *s_client(pb_chain_t *c, int i, const char *id, bool clean, int window)
{
    struct mosquitto *m = mosquitto_new(id, clean, c);
    if (!m)
        return NULL;
    if (mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1) != MOSQ_ERR_SUCCESS ||
        (window > 0 && mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, window) != MOSQ_ERR_SUCCESS)) {
        mosquitto_destroy(m);
        return NULL;
    }
    mosquitto_connect_callback_set(m, clean ? NULL : s_on_connect);
    mosquitto_subscribe_callback_set(m, s_on_subscribe);
    mosquitto_message_callback_set(m, s_on_message);
    mosquitto_publish_callback_set(m, s_on_publish);
    if (mosquitto_connect(m, "127.0.0.1", c->head.port[i], 30) != MOSQ_ERR_SUCCESS ||
        mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS) {
        mosquitto_destroy(m);
        return NULL;
    }
    return m;
}

/* Disconnects (best effort: the broker may be gone), stops the network
 * thread, frees. Accepts NULL. */
static void s_client_destroy(struct mosquitto **m_p)
{
    if (!*m_p)
        return;
    mosquitto_disconnect(*m_p);
    mosquitto_loop_stop(*m_p, false);
    mosquitto_destroy(*m_p);
    *m_p = NULL;
}

static void s_stop(pb_chain_t **c_p)
{
    pb_chain_t *c = *c_p;
    if (!c)
        return;
    s_client_destroy(&c->pub);
    s_client_destroy(&c->sub);
    for (int i = 0; i < 3; i++)
        pb_proc_stop(&c->head.broker[i], SIGTERM, 5000);
    pb_remove_tree(c->root);
    pthread_mutex_destroy(&c->lock);
    free(c);
    *c_p = NULL;
}

static pb_chain_t *s_start(pb_tracker_t *t, int window, char *err, size_t cap)
{
    pb_chain_t *c = calloc(1, sizeof *c);
    if (!c || pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    c->t = t;
    if (pb_tempdir(c->root, sizeof c->root, "mosquitto") != 0) {
        snprintf(err, cap, "cannot create a temp dir: %m");
        free(c);
        return NULL;
    }
    snprintf(err, cap, "cannot configure the brokers in %s", c->root);
    for (int i = 0; i < 3; i++)
        if ((c->head.port[i] = pb_free_port()) < 0)
            goto fail;
    for (int i = 0; i < 3; i++)
        if (s_write_config(c, i) != 0)
            goto fail;
    /* C first, so that each bridge finds its peer on its first attempt. */
    for (int i = 2; i >= 0; i--)
        if (s_broker_start(c, i, err, cap) != 0 || s_broker_wait(c, i, err, cap) != 0)
            goto fail;
    snprintf(err, cap, "cannot connect the clients");
    if (!(c->sub = s_client(c, 2, "grbench-sub", false, 0)) ||
        !(c->pub = s_client(c, 0, "grbench-pub", true, window)))
        goto fail;
    double deadline = pb_now() + S_WAIT_S;
    for (;;) {
        pthread_mutex_lock(&c->lock);
        bool ready = c->sub_ready;
        pthread_mutex_unlock(&c->lock);
        if (ready)
            return c;
        if (pb_now() > deadline || pb_stopping()) {
            snprintf(err, cap, "the subscriber on C got no SUBACK within %d s", S_WAIT_S);
            goto fail;
        }
        poll(NULL, 0, 10);
    }
fail:
    s_stop(&c);
    return NULL;
}

static int s_publish(pb_chain_t *c, const void *buf, size_t len, uint64_t seq)
{
    int mid = 0;
    /* Held across the publish so that a PUBACK racing back before the map
     * is written cannot be lost: libmosquitto calls on_publish holding
     * only its callback mutex, which mosquitto_publish() never takes. */
    pthread_mutex_lock(&c->lock);
    int rc = mosquitto_publish(c->pub, &mid, S_TOPIC, (int)len, buf, 1, false);
    /* NO_CONN: queued, sent when the client reconnects by itself. */
    if (rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN)
        c->mid_seq[mid & 0xffff] = seq;
    pthread_mutex_unlock(&c->lock);
    return rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN ? 0 : -1;
}

static int s_pump(pb_chain_t *c, int timeout_ms)
{
    /* libmosquitto's thread does the work; acks arrive via the tracker. */
    pb_track_wait(c->t, timeout_ms);
    return 0;
}

/* B restarts on the same config, so on the store it autosaved. */
static int s_crash_middle(pb_chain_t *c)
{
    pb_proc_stop(&c->head.broker[1], SIGKILL, 5000);
    /* Room for the message with the broker's whole path in it. */
    char err[sizeof s_mosquitto + 64];
    if (s_broker_start(c, 1, err, sizeof err) != 0) {
        fprintf(stderr, "gridpeerbench: %s\n", err);
        return -1;
    }
    return 0;
}

static const pb_chain_ops_t s_ops = {
    .publish = s_publish,
    .pump = s_pump,
    .crash_middle = s_crash_middle,
    .stop = s_stop,
};

static void s_shutdown(void)
{
    if (s_lib_ready)
        mosquitto_lib_cleanup();
    s_lib_ready = false;
}

const pb_system_t pb_mosquitto = {
    .name = "mosquitto",
    .durability = "PUBACKs a QoS 1 message once it is in memory; the store is written every "
                  "autosave_interval (1 s here), so a SIGKILL loses what arrived since the last "
                  "save (a bridge's PUBACK upstream does not wait for the save), and redelivery of "
                  "what was saved but not yet acknowledged downstream duplicates",
    .check = s_check,
    .version = s_version,
    .start = s_start,
    .ops = &s_ops,
    .shutdown = s_shutdown,
};
