/* peerbench_amqp.c: three RabbitMQ nodes A -> B -> C joined by shovels.
 *
 * Each node is a rabbitmq-server started by hand (not the system service)
 * with its own node name, ports, data and log dirs and plugin file (only
 * rabbitmq_shovel), against our own epmd on a free port so that nothing
 * of the system's Erlang setup is used or disturbed. A durable queue q on
 * each node; dynamic shovels A.q -> B.q (defined on A) and B.q -> C.q
 * (on B) with ack-mode on-confirm. The publisher uses publisher confirms
 * and persistent messages; the consumer on C acks by hand.
 *
 * The node is exec'd, not forked, by the rabbitmq-server script when
 * RABBITMQ_ALLOW_INPUT is set: the pid we start is the beam.smp process,
 * the one to SIGKILL and to measure. With input allowed, the VM reads its
 * stdin, a pipe we hold: when we die, it sees EOF and halts.
 */
#include "peerbench.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_BOOT_S 120   /* bound on a node's start (it takes 5-20 s) */
#define S_CTL_MS 60000 /* bound on one rabbitmqctl call */
#define S_PREFETCH 1000
#define S_ACK_BATCH 64

static const char *const s_names[3] = { "A", "B", "C" };

struct pb_chain {
    pb_chain_head_t head;        /* first (peerbench.h) */
    pb_tracker_t *t;
    char root[256];
    char dir[3][300];
    char node[3][64];
    int dist[3];
    amqp_connection_state_t pub;
    uint64_t next_tag, low_tag;  /* next delivery tag; lowest unconfirmed */
    struct {
        uint64_t seq;
        bool pending;
    } ring[65536];               /* delivery tag -> seq, in flight */
    pthread_t consumer;
    bool consumer_started;
    volatile int consumer_stop;  /* read by the consumer thread */
    int port_c;
};

/* What every chain shares: our epmd, and a HOME holding the cookie that
 * the nodes and rabbitmqctl use to talk to each other. */
static char s_server[1024], s_ctl[1024], s_epmd[1024];
static char s_home[256];
static int s_epmd_port = -1;
static pb_proc_t s_epmd_proc = { 0, -1, -1, "" };
static char s_env_home[300], s_env_epmd[64], s_env_conf[320];
static char *s_ctl_env[] = { s_env_home, s_env_epmd, s_env_conf, "LC_ALL=C.UTF-8", NULL };

static int s_global_start(char *err, size_t cap);

static int s_check(char *err, size_t cap)
{
    static const char *const server[] = { "/usr/lib/rabbitmq/bin/rabbitmq-server", NULL };
    static const char *const ctl[] = { "/usr/lib/rabbitmq/bin/rabbitmqctl", NULL };
    static const char *const epmd[] = { "/usr/bin/epmd", NULL };
    /* Not the /usr/sbin wrappers: as root they su to the rabbitmq user,
     * whose HOME (and cookie) is not ours. */
    const char *path = pb_find_program("RABBITMQ_SERVER", NULL, server);
    if (!path) {
        snprintf(err, cap, "rabbitmq-server is not installed (run tools/bench.sh, or set "
                           "RABBITMQ_SERVER and RABBITMQCTL to the scripts in its lib dir)");
        return -1;
    }
    snprintf(s_server, sizeof s_server, "%s", path);
    if (!(path = pb_find_program("RABBITMQCTL", NULL, ctl))) {
        snprintf(err, cap, "rabbitmqctl is not installed (run tools/bench.sh)");
        return -1;
    }
    snprintf(s_ctl, sizeof s_ctl, "%s", path);
    if (!(path = pb_find_program("EPMD", "epmd", epmd))) {
        snprintf(err, cap, "epmd (Erlang) is not installed (run tools/bench.sh)");
        return -1;
    }
    snprintf(s_epmd, sizeof s_epmd, "%s", path);
    /* Now, not at the first chain: even `rabbitmqctl version` would start
     * the system's epmd (as a daemon, on port 4369) if ours was not up. */
    return s_global_start(err, cap);
}

/* Starts our epmd and writes the cookie, once. 0 or -1. */
static int s_global_start(char *err, size_t cap)
{
    if (s_epmd_proc.pid > 0 && pb_proc_alive(&s_epmd_proc))
        return 0;
    if (!s_home[0]) {
        if (pb_tempdir(s_home, sizeof s_home, "erlang") != 0) {
            snprintf(err, cap, "cannot create a temp dir: %m");
            return -1;
        }
        unsigned char raw[20];
        char cookie[21], path[300];
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        bool ok = fd >= 0 && read(fd, raw, sizeof raw) == (ssize_t)sizeof raw;
        if (fd >= 0)
            close(fd);
        for (size_t i = 0; i < sizeof raw; i++)
            cookie[i] = (char)('A' + raw[i] % 26);
        cookie[20] = '\0';
        snprintf(path, sizeof path, "%s/.erlang.cookie", s_home);
        /* Erlang refuses a cookie file that others can read. */
        if (!ok || pb_write_file(path, cookie, 0400) != 0) {
            snprintf(err, cap, "cannot write %s", path);
            return -1;
        }
    }
    if ((s_epmd_port = pb_free_port()) < 0) {
        snprintf(err, cap, "no free port for epmd");
        return -1;
    }
    snprintf(s_env_home, sizeof s_env_home, "HOME=%s", s_home);
    snprintf(s_env_epmd, sizeof s_env_epmd, "ERL_EPMD_PORT=%d", s_epmd_port);
    /* A file that does not exist: /etc/rabbitmq/rabbitmq-env.conf is the
     * system service's, not ours. */
    snprintf(s_env_conf, sizeof s_env_conf, "RABBITMQ_CONF_ENV_FILE=%s/none.conf", s_home);
    char port[16], log[320];
    snprintf(port, sizeof port, "%d", s_epmd_port);
    snprintf(log, sizeof log, "%s/epmd.log", s_home);
    char *argv[] = { s_epmd, "-address", "127.0.0.1", "-port", port, NULL };
    if (pb_spawn(&s_epmd_proc, argv, NULL, log, false) != 0) {
        snprintf(err, cap, "cannot start %s: %m", s_epmd);
        return -1;
    }
    double deadline = pb_now() + 10;
    while (!pb_port_open(s_epmd_port)) {
        if (!pb_proc_alive(&s_epmd_proc) || pb_now() > deadline || pb_stopping()) {
            if (!pb_stopping())
                pb_log_tail(log);
            snprintf(err, cap, "epmd did not start");
            return -1;
        }
        poll(NULL, 0, 20);
    }
    return 0;
}

static void s_shutdown(void)
{
    pb_proc_stop(&s_epmd_proc, SIGTERM, 3000);
    pb_remove_tree(s_home);
    s_home[0] = '\0';
}

static const char *s_version(void)
{
    static char version[64];
    char out[512];
    char *argv[] = { s_ctl, "version", NULL };
    if (!version[0] && pb_run(argv, s_ctl_env, S_CTL_MS, out, sizeof out) == 0)
        snprintf(version, sizeof version, "%.*s", (int)strcspn(out, " \n"), out);
    return version;
}

/* Runs rabbitmqctl -n NODE args...; prints its output on failure. */
static int s_ctl_run(pb_chain_t *c, int i, char *const args[], int timeout_ms)
{
    char *argv[16] = { s_ctl, "-n", c->node[i] };
    size_t n = 3;
    while (*args && n < 15)
        argv[n++] = *args++;
    argv[n] = NULL;
    char out[4096];
    int rc = pb_run(argv, s_ctl_env, timeout_ms, out, sizeof out);
    if (rc != 0 && !pb_stopping())
        fprintf(stderr, "gridpeerbench: rabbitmqctl -n %s %s: exit %d\n%s\n", c->node[i], argv[3], rc,
                out);
    return rc;
}

static int s_node_start(pb_chain_t *c, int i)
{
    char env[16][400];
    char *envp[17];
    int n = 0;
#define S_ENV(...) snprintf(env[n], sizeof env[n], __VA_ARGS__), envp[n] = env[n], n++
    S_ENV("%s", s_env_home);
    S_ENV("%s", s_env_epmd);
    S_ENV("LC_ALL=C.UTF-8");
    S_ENV("RABBITMQ_NODENAME=%s", c->node[i]);
    S_ENV("RABBITMQ_NODE_IP_ADDRESS=127.0.0.1");
    S_ENV("RABBITMQ_NODE_PORT=%d", c->head.port[i]);
    S_ENV("RABBITMQ_DIST_PORT=%d", c->dist[i]);
    S_ENV("RABBITMQ_MNESIA_BASE=%s/mnesia", c->dir[i]);
    S_ENV("RABBITMQ_LOG_BASE=%s/log", c->dir[i]);
    S_ENV("RABBITMQ_ENABLED_PLUGINS_FILE=%s/enabled_plugins", c->dir[i]);
    S_ENV("RABBITMQ_CONFIG_FILE=%s/rabbitmq.conf", c->dir[i]);
    S_ENV("RABBITMQ_ADVANCED_CONFIG_FILE=%s/advanced.config", c->dir[i]);
    S_ENV("RABBITMQ_CONF_ENV_FILE=%s/rabbitmq-env.conf", c->dir[i]);
    S_ENV("RABBITMQ_ALLOW_INPUT=1");
    /* -start_epmd false: ours is running; else erlexec forks an
     * `epmd -daemon` that only finds the port taken. */
    S_ENV("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-start_epmd false "
          "-kernel inet_dist_use_interface {127,0,0,1}");
#undef S_ENV
    envp[n] = NULL;
    char log[400];
    snprintf(log, sizeof log, "%s/console.log", c->dir[i]);
    char *argv[] = { s_server, NULL };
    if (pb_spawn(&c->head.broker[i], argv, envp, log, true) != 0) {
        fprintf(stderr, "gridpeerbench: cannot start %s: %m\n", s_server);
        return -1;
    }
    return 0;
}

/* Waits until node i accepts AMQP connections, then until rabbitmqctl
 * says it has fully booted (plugins included). */
static int s_node_wait(pb_chain_t *c, int i, char *err, size_t cap)
{
    double deadline = pb_now() + S_BOOT_S;
    if (pb_wait_port(&c->head.broker[i], c->head.port[i], deadline, 100) != 0) {
        snprintf(err, cap, "RabbitMQ node %s did not start within %d s (logs in %s)", c->node[i],
                 S_BOOT_S, c->dir[i]);
        return -1;
    }
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", (int)(deadline - pb_now()) + 1);
    char *args[] = { "await_startup", "--timeout", timeout, NULL };
    if (s_ctl_run(c, i, args, S_CTL_MS + S_BOOT_S * 1000) != 0) {
        snprintf(err, cap, "rabbitmqctl await_startup failed for %s", c->node[i]);
        return -1;
    }
    return 0;
}

/* An AMQP connection to node i with channel 1 open. NULL on failure. */
static amqp_connection_state_t s_connect(pb_chain_t *c, int i)
{
    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *sock = conn ? amqp_tcp_socket_new(conn) : NULL;
    struct timeval tv = { 5, 0 };
    if (!sock ||
        amqp_socket_open_noblock(sock, "127.0.0.1", c->head.port[i], &tv) != AMQP_STATUS_OK)
        goto fail;
    amqp_rpc_reply_t r = amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest");
    if (r.reply_type != AMQP_RESPONSE_NORMAL || !amqp_channel_open(conn, 1) ||
        amqp_get_rpc_reply(conn).reply_type != AMQP_RESPONSE_NORMAL)
        goto fail;
    return conn;
fail:
    if (conn)
        amqp_destroy_connection(conn);
    return NULL;
}

/* Closes politely when the broker is there; the replies are not checked
 * because the connection is going away either way. Accepts NULL. */
static void s_disconnect(amqp_connection_state_t *conn_p)
{
    if (!*conn_p)
        return;
    amqp_channel_close(*conn_p, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(*conn_p, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(*conn_p);
    *conn_p = NULL;
}

static int s_declare_queue(pb_chain_t *c, int i)
{
    amqp_connection_state_t conn = s_connect(c, i);
    if (!conn)
        return -1;
    bool ok = amqp_queue_declare(conn, 1, amqp_cstring_bytes("q"), 0, 1, 0, 0, amqp_empty_table) &&
              amqp_get_rpc_reply(conn).reply_type == AMQP_RESPONSE_NORMAL;
    s_disconnect(&conn);
    return ok ? 0 : -1;
}

/* The dynamic shovel from node i's q to node i+1's q, defined on i. */
static int s_shovel(pb_chain_t *c, int i)
{
    char name[32], json[512];
    snprintf(name, sizeof name, "%s-to-%s", s_names[i], s_names[i + 1]);
    snprintf(json, sizeof json,
             "{\"src-protocol\": \"amqp091\", \"src-uri\": \"amqp://\", \"src-queue\": \"q\", "
             "\"dest-protocol\": \"amqp091\", \"dest-uri\": \"amqp://guest:guest@127.0.0.1:%d\", "
             "\"dest-queue\": \"q\", \"ack-mode\": \"on-confirm\", \"reconnect-delay\": 1}",
             c->head.port[i + 1]);
    char *args[] = { "set_parameter", "shovel", name, json, NULL };
    return s_ctl_run(c, i, args, S_CTL_MS);
}

static void *s_consumer(void *arg)
{
    pb_chain_t *c = arg;
    amqp_connection_state_t conn = s_connect(c, 2);
    if (!conn)
        return NULL;
    if (!amqp_basic_qos(conn, 1, 0, S_PREFETCH, 0) ||
        !amqp_basic_consume(conn, 1, amqp_cstring_bytes("q"), amqp_empty_bytes, 0, 0, 0, amqp_empty_table) ||
        amqp_get_rpc_reply(conn).reply_type != AMQP_RESPONSE_NORMAL) {
        fprintf(stderr, "gridpeerbench: cannot consume from q on C\n");
        s_disconnect(&conn);
        return NULL;
    }
    uint64_t last_tag = 0;
    int unacked = 0;
    while (!c->consumer_stop) {
        amqp_maybe_release_buffers(conn);
        amqp_envelope_t env;
        struct timeval tv = { 0, 100000 };
        amqp_rpc_reply_t r = amqp_consume_message(conn, &env, &tv, 0);
        if (r.reply_type == AMQP_RESPONSE_NORMAL) {
            pb_track_received(c->t, env.message.body.bytes, env.message.body.len);
            last_tag = env.delivery_tag;
            amqp_destroy_envelope(&env);
            unacked++;
        } else if (r.reply_type != AMQP_RESPONSE_LIBRARY_EXCEPTION ||
                   r.library_error != AMQP_STATUS_TIMEOUT) {
            fprintf(stderr, "gridpeerbench: the consumer on C lost its connection\n");
            break;
        }
        /* Acks in batches, and when idle: the consumer is not the broker
         * being tested, and one ack per message would cost it CPU. */
        if (unacked >= S_ACK_BATCH || (unacked > 0 && r.reply_type != AMQP_RESPONSE_NORMAL)) {
            if (amqp_basic_ack(conn, 1, last_tag, 1) != AMQP_STATUS_OK)
                break;
            unacked = 0;
        }
    }
    s_disconnect(&conn);
    return NULL;
}

static void s_stop(pb_chain_t **c_p)
{
    pb_chain_t *c = *c_p;
    if (!c)
        return;
    if (c->consumer_started) {
        c->consumer_stop = 1;
        pthread_join(c->consumer, NULL);
    }
    s_disconnect(&c->pub);
    /* All three shut down at once: each takes a few seconds. */
    for (int i = 0; i < 3; i++)
        if (c->head.broker[i].pid > 0)
            kill(c->head.broker[i].pid, SIGTERM);
    for (int i = 0; i < 3; i++)
        pb_proc_stop(&c->head.broker[i], SIGTERM, 20000);
    pb_remove_tree(c->root);
    free(c);
    *c_p = NULL;
}

static pb_chain_t *s_start(pb_tracker_t *t, int window, char *err, size_t cap)
{
    (void)window;  /* the driver keeps the window; confirms are unlimited */
    if (s_global_start(err, cap) != 0)
        return NULL;
    pb_chain_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    c->t = t;
    c->next_tag = c->low_tag = 1;
    if (pb_tempdir(c->root, sizeof c->root, "rabbitmq") != 0) {
        snprintf(err, cap, "cannot create a temp dir: %m");
        free(c);
        return NULL;
    }
    snprintf(err, cap, "cannot configure the nodes in %s", c->root);
    for (int i = 0; i < 3; i++) {
        char path[400];
        snprintf(c->dir[i], sizeof c->dir[i], "%s/%s", c->root, s_names[i]);
        snprintf(c->node[i], sizeof c->node[i], "grbench%d@localhost", i + 1);
        if ((c->head.port[i] = pb_free_port()) < 0 || (c->dist[i] = pb_free_port()) < 0 ||
            mkdir(c->dir[i], 0700) != 0)
            goto fail;
        snprintf(path, sizeof path, "%s/enabled_plugins", c->dir[i]);
        if (pb_write_file(path, "[rabbitmq_shovel].\n", 0600) != 0)
            goto fail;
        snprintf(path, sizeof path, "%s/rabbitmq.conf", c->dir[i]);
        if (pb_write_file(path, "# gridpeerbench: defaults, listener set by environment\n", 0600) != 0)
            goto fail;
    }
    /* The three boot in parallel: most of a boot is waiting on itself. */
    for (int i = 0; i < 3; i++)
        if (s_node_start(c, i) != 0)
            goto fail;
    for (int i = 0; i < 3; i++)
        if (s_node_wait(c, i, err, cap) != 0)
            goto fail;
    snprintf(err, cap, "cannot declare the durable queues");
    for (int i = 0; i < 3; i++)
        if (s_declare_queue(c, i) != 0)
            goto fail;
    snprintf(err, cap, "rabbitmqctl set_parameter shovel failed");
    if (s_shovel(c, 0) != 0 || s_shovel(c, 1) != 0)
        goto fail;
    snprintf(err, cap, "cannot connect the publisher to A");
    if (!(c->pub = s_connect(c, 0)) || !amqp_confirm_select(c->pub, 1) ||
        amqp_get_rpc_reply(c->pub).reply_type != AMQP_RESPONSE_NORMAL)
        goto fail;
    snprintf(err, cap, "cannot start the consumer thread");
    if (pthread_create(&c->consumer, NULL, s_consumer, c) != 0)
        goto fail;
    c->consumer_started = true;
    return c;
fail:
    s_stop(&c);
    return NULL;
}

static int s_publish(pb_chain_t *c, const void *buf, size_t len, uint64_t seq)
{
    amqp_basic_properties_t props;
    memset(&props, 0, sizeof props);
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.delivery_mode = 2;  /* persistent */
    amqp_bytes_t body = { len, (void *)buf };
    if (amqp_basic_publish(c->pub, 1, amqp_empty_bytes, amqp_cstring_bytes("q"), 0, 0, &props, body) !=
        AMQP_STATUS_OK)
        return -1;
    uint64_t tag = c->next_tag++;
    c->ring[tag & 0xffff].seq = seq;
    c->ring[tag & 0xffff].pending = true;
    return 0;
}

/* Confirms (or nacks) tag, or every tag up to it with multiple. */
static void s_confirm(pb_chain_t *c, uint64_t tag, bool multiple, bool ok)
{
    uint64_t from = multiple ? c->low_tag : tag;
    for (uint64_t t = from; t <= tag && t < c->next_tag; t++) {
        if (!c->ring[t & 0xffff].pending)
            continue;
        c->ring[t & 0xffff].pending = false;
        if (ok)
            pb_track_acked(c->t, c->ring[t & 0xffff].seq);
        else
            pb_track_nacked(c->t, c->ring[t & 0xffff].seq);
    }
    while (c->low_tag < c->next_tag && !c->ring[c->low_tag & 0xffff].pending)
        c->low_tag++;
}

static int s_pump(pb_chain_t *c, int timeout_ms)
{
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    amqp_maybe_release_buffers(c->pub);
    for (;;) {
        amqp_frame_t frame;
        int rc = amqp_simple_wait_frame_noblock(c->pub, &frame, &tv);
        if (rc == AMQP_STATUS_TIMEOUT)
            return 0;
        if (rc != AMQP_STATUS_OK)
            return -1;
        tv = (struct timeval){ 0, 0 };  /* then drain what is already here */
        if (frame.frame_type != AMQP_FRAME_METHOD)
            continue;
        amqp_method_number_t id = frame.payload.method.id;
        if (id == AMQP_BASIC_ACK_METHOD) {
            amqp_basic_ack_t *ack = frame.payload.method.decoded;
            s_confirm(c, ack->delivery_tag, ack->multiple, true);
        } else if (id == AMQP_BASIC_NACK_METHOD) {
            amqp_basic_nack_t *nack = frame.payload.method.decoded;
            s_confirm(c, nack->delivery_tag, nack->multiple, false);
        } else if (id == AMQP_CHANNEL_CLOSE_METHOD || id == AMQP_CONNECTION_CLOSE_METHOD) {
            return -1;
        }
    }
}

/* B restarts on the same node dir, so on its durable queue. */
static int s_crash_middle(pb_chain_t *c)
{
    char path[64], comm[64] = "";
    snprintf(path, sizeof path, "/proc/%d/comm", (int)c->head.broker[1].pid);
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(comm, sizeof comm, f))
            comm[0] = '\0';
        fclose(f);
    }
    /* The whole point is to kill the VM itself, not a wrapper script. */
    if (strncmp(comm, "beam", 4) != 0) {
        fprintf(stderr, "gridpeerbench: pid %d of B is '%s', not beam.smp\n",
                (int)c->head.broker[1].pid, comm);
        return -1;
    }
    pb_proc_stop(&c->head.broker[1], SIGKILL, 10000);
    return s_node_start(c, 1);
}

static const pb_chain_ops_t s_ops = {
    .publish = s_publish,
    .pump = s_pump,
    .crash_middle = s_crash_middle,
    .stop = s_stop,
};

const pb_system_t pb_rabbitmq = {
    .name = "rabbitmq",
    .durability = "with publisher confirms, confirms a persistent message to a durable queue after "
                  "it is fsync'd; the shovels (ack-mode on-confirm) ack upstream only after the "
                  "downstream confirm, so a SIGKILL loses nothing confirmed, and redelivery of "
                  "what was in flight can duplicate",
    .check = s_check,
    .version = s_version,
    .start = s_start,
    .ops = &s_ops,
    .shutdown = s_shutdown,
};
