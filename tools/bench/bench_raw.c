/* gridbench: raw ceilings. What the libraries gridrelayd is built on do on
 * this machine with no gridrelay code around them, so every gridrelay
 * figure can be read against them. */
#include <endian.h>
#include <lmdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "bench.h"
#include "curve.h"

#define S_VERIFIES 40000
#define S_SIGNS 20000
#define S_COMMITS 2000
#define S_BATCHED_PUTS 200000
#define S_BATCH 512             /* the node's default batch_max */
#define S_VALUE_BYTES 300
#define S_PACED_RATE 1000         /* the open loop's pace and length (bench.c) */
#define S_PACED_SECONDS 3
#define S_ZMQ_ONEWAY 100000
#define S_ZMQ_RTT 10000

/* ---- Ed25519 ---- */

static double s_verifies_per_s(size_t n)
{
    unsigned char pk[32], sk[64], sig[64], msg[S_VALUE_BYTES];
    crypto_sign_keypair(pk, sk);
    randombytes_buf(msg, sizeof msg);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
    double t0 = bench_now();
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += crypto_sign_verify_detached(sig, msg, sizeof msg, pk) == 0;
    double dt = bench_now() - t0;
    return ok == n ? (double)n / dt : -1;
}

static double s_signs_per_s(size_t n)
{
    unsigned char pk[32], sk[64], sig[64], msg[S_VALUE_BYTES];
    crypto_sign_keypair(pk, sk);
    randombytes_buf(msg, sizeof msg);
    double t0 = bench_now();
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        msg[0] = (unsigned char)i;  /* a different message each time, as in real use */
        ok += crypto_sign_detached(sig, NULL, msg, sizeof msg, sk) == 0;
    }
    double dt = bench_now() - t0;
    return ok == n ? (double)n / dt : -1;
}

/* ---- LMDB ---- */

/* Removes a temp environment's directory and its two files. */
static void s_lmdb_dir_remove(const char *dir)
{
    char path[64];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);
}

/* Each durable commit's time, in ms. */
typedef struct {
    double p50_ms, p99_ms, max_ms;
    size_t over_5ms;
} s_commit_times_t;

/* n puts of S_VALUE_BYTES, `per_commit` per synchronous commit, into a
 * fresh environment in a temp dir. Keys are 16 bytes, a big-endian counter
 * then 8 random bytes: mostly appending, like the node's time-ordered ids.
 * With times, also each durable commit's time: from its begin to its end
 * (the floor of any latency that waits for a commit), or with pace_per_s
 * (commits offered at that rate, each begun no sooner than it is due, as
 * the node's open loop offers reports) from when it was due, so that a
 * commit the disk held up delays the ones queued behind it as it would a
 * node's acks. Returns puts/s, -1 on failure. */
static double s_lmdb_puts_per_s(size_t n, size_t per_commit, double pace_per_s,
                                s_commit_times_t *times)
{
    char dir[] = "/tmp/gridbench-lmdb-XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    MDB_env *env = NULL;
    MDB_dbi dbi = 0;
    double rate = -1;
    double *took = NULL;        /* per commit, ms, when asked */
    char value[S_VALUE_BYTES];
    memset(value, 'v', sizeof value);
    if (mdb_env_create(&env) != 0)
        goto out;
    if (mdb_env_set_mapsize(env, (size_t)1 << 30) != 0 || mdb_env_open(env, dir, 0, 0600) != 0)
        goto out;
    size_t commits = (n + per_commit - 1) / per_commit, done = 0;
    if (times && !(took = calloc(commits ? commits : 1, sizeof *took)))
        goto out;
    double t0 = bench_now();
    for (size_t i = 0; i < n;) {
        MDB_txn *txn;
        double begun = bench_now();
        if (pace_per_s > 0) {
            double due = t0 + (double)done / pace_per_s;
            while (bench_now() < due)
                usleep(100);
            begun = due;
        }
        if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
            goto out;
        if (i == 0 && mdb_dbi_open(txn, NULL, 0, &dbi) != 0) {
            mdb_txn_abort(txn);
            goto out;
        }
        for (size_t k = 0; k < per_commit && i < n; k++, i++) {
            uint8_t key_bytes[16];
            uint64_t be = htobe64(i);
            memcpy(key_bytes, &be, 8);
            randombytes_buf(key_bytes + 8, 8);
            MDB_val key = { sizeof key_bytes, key_bytes }, val = { sizeof value, value };
            if (mdb_put(txn, dbi, &key, &val, 0) != 0) {
                mdb_txn_abort(txn);
                goto out;
            }
        }
        if (mdb_txn_commit(txn) != 0)
            goto out;
        if (done < commits) {
            if (took) {
                took[done] = (bench_now() - begun) * 1000;
                times->over_5ms += took[done] > 5;
            }
            done++;
        }
    }
    rate = (double)n / (bench_now() - t0);
    if (took && done > 0) {
        bench_sort(took, done);
        times->p50_ms = bench_percentile(took, done, 0.50);
        times->p99_ms = bench_percentile(took, done, 0.99);
        times->max_ms = took[done - 1];
    }
out:
    free(took);
    if (env)
        mdb_env_close(env);
    s_lmdb_dir_remove(dir);
    return rate;
}

/* ---- ZeroMQ ---- */

/* The ROUTER side. Script: a warm-up message is echoed (the connection,
 * and with CURVE the handshake, are done before timing starts); then
 * `oneway` messages are counted and answered with one "done"; then
 * `rtt` messages are echoed one by one. */
typedef struct {
    void *router;
    size_t oneway;
    size_t rtt;
    int rc;
} s_zmq_server_t;

static int s_recv_routed(void *router, zmq_msg_t *id, zmq_msg_t *body)
{
    if (zmq_msg_recv(id, router, 0) < 0 || !zmq_msg_more(id) || zmq_msg_recv(body, router, 0) < 0)
        return -1;
    return 0;
}

static int s_echo(void *router, zmq_msg_t *id, zmq_msg_t *body)
{
    if (zmq_msg_send(id, router, ZMQ_SNDMORE) < 0 || zmq_msg_send(body, router, 0) < 0)
        return -1;
    return 0;
}

static void *s_zmq_server(void *arg)
{
    s_zmq_server_t *s = arg;
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    zmq_msg_init(&body);
    s->rc = -1;
    if (s_recv_routed(s->router, &id, &body) != 0 || s_echo(s->router, &id, &body) != 0)
        goto out;
    for (size_t i = 0; i < s->oneway; i++)
        if (s_recv_routed(s->router, &id, &body) != 0)
            goto out;
    /* id still holds the client's routing id from the last message. */
    if (zmq_msg_send(&id, s->router, ZMQ_SNDMORE) < 0 || zmq_send(s->router, "done", 4, 0) < 0)
        goto out;
    for (size_t i = 0; i < s->rtt; i++)
        if (s_recv_routed(s->router, &id, &body) != 0 || s_echo(s->router, &id, &body) != 0)
            goto out;
    s->rc = 0;
out:
    zmq_msg_close(&id);
    zmq_msg_close(&body);
    return NULL;
}

/* DEALER -> ROUTER over tcp 127.0.0.1 with msg_bytes messages, CURVE or
 * plain: messages/s one way, and round trips/s one at a time. */
static int s_zmq(bool curve, size_t msg_bytes, double *msgs_per_s, double *rtt_per_s)
{
    *msgs_per_s = *rtt_per_s = -1;
    void *ctx = zmq_ctx_new();
    if (!ctx)
        return -1;
    int rc = -1, linger = 0, timeout = 10000;
    void *router = zmq_socket(ctx, ZMQ_ROUTER), *dealer = zmq_socket(ctx, ZMQ_DEALER);
    uint8_t *msg = calloc(1, msg_bytes);
    char endpoint[128];
    size_t ep_len = sizeof endpoint;
    gr_keypair_t server_kp, client_kp;
    pthread_t thread;
    s_zmq_server_t server = { router, S_ZMQ_ONEWAY, S_ZMQ_RTT, -1 };
    bool started = false;
    if (!router || !dealer || !msg)
        goto out;
    randombytes_buf(msg, msg_bytes);
    /* A receive that waits 10 s means the pair is broken: give up. */
    if (zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(router, ZMQ_RCVTIMEO, &timeout, sizeof timeout) != 0 ||
        zmq_setsockopt(dealer, ZMQ_RCVTIMEO, &timeout, sizeof timeout) != 0)
        goto out;
    /* No ZAP handler in this context: the CURVE server admits any client
     * that knows its key (broker/curve.h), which is all a ceiling needs. */
    if (curve && (gr_keys_generate(&server_kp) != 0 || gr_keys_generate(&client_kp) != 0 ||
                  gr_curve_server(router, &server_kp) != 0 ||
                  gr_curve_client(dealer, &client_kp, server_kp.pk) != 0))
        goto out;
    if (zmq_bind(router, "tcp://127.0.0.1:*") != 0 ||
        zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &ep_len) != 0 ||
        zmq_connect(dealer, endpoint) != 0)
        goto out;
    if (pthread_create(&thread, NULL, s_zmq_server, &server) != 0)
        goto out;
    started = true;
    char reply[16];
    if (zmq_send(dealer, msg, msg_bytes, 0) < 0 || zmq_recv(dealer, msg, msg_bytes, 0) < 0)
        goto out;
    double t0 = bench_now();
    for (size_t i = 0; i < S_ZMQ_ONEWAY; i++)
        if (zmq_send(dealer, msg, msg_bytes, 0) < 0)
            goto out;
    if (zmq_recv(dealer, reply, sizeof reply, 0) != 4)
        goto out;
    *msgs_per_s = S_ZMQ_ONEWAY / (bench_now() - t0);
    t0 = bench_now();
    for (size_t i = 0; i < S_ZMQ_RTT; i++)
        if (zmq_send(dealer, msg, msg_bytes, 0) < 0 || zmq_recv(dealer, msg, msg_bytes, 0) < 0)
            goto out;
    *rtt_per_s = S_ZMQ_RTT / (bench_now() - t0);
    rc = 0;
out:
    if (started) {
        /* On failure the server gives up within its receive timeout. */
        pthread_join(thread, NULL);
        if (server.rc != 0)
            rc = -1;
    }
    if (dealer)
        zmq_close(dealer);
    if (router)
        zmq_close(router);
    zmq_ctx_term(ctx);
    free(msg);
    sodium_memzero(&server_kp, sizeof server_kp);
    sodium_memzero(&client_kp, sizeof client_kp);
    return rc;
}

int bench_raw_run(bench_raw_t *out, size_t msg_bytes)
{
    memset(out, 0, sizeof *out);
    out->batch_puts = S_BATCH;
    out->msg_bytes = msg_bytes;
    out->verifies_per_s = s_verifies_per_s(S_VERIFIES);
    out->signs_per_s = s_signs_per_s(S_SIGNS);
    s_commit_times_t times = { -1, -1, -1, 0 };
    out->commits_per_s = s_lmdb_puts_per_s(S_COMMITS, 1, 0, &times);
    out->commit_p50_ms = times.p50_ms;
    out->commit_p99_ms = times.p99_ms;
    out->batched_puts_per_s = s_lmdb_puts_per_s(S_BATCHED_PUTS, S_BATCH, 0, NULL);
    out->paced_rate = S_PACED_RATE;
    out->paced_s = S_PACED_SECONDS;
    s_commit_times_t paced = { -1, -1, -1, 0 };
    double paced_rc = s_lmdb_puts_per_s((size_t)(S_PACED_RATE * S_PACED_SECONDS), 1, S_PACED_RATE,
                                        &paced);
    out->paced_commit_p99_ms = paced.p99_ms;
    out->paced_commit_max_ms = paced.max_ms;
    out->paced_commits_over_5ms = paced.over_5ms;
    int rc = 0;
    if (s_zmq(false, msg_bytes, &out->zmq_msgs_per_s, &out->zmq_rtt_per_s) != 0)
        rc = -1;
    if (s_zmq(true, msg_bytes, &out->zmq_curve_msgs_per_s, &out->zmq_curve_rtt_per_s) != 0)
        rc = -1;
    if (out->verifies_per_s < 0 || out->signs_per_s < 0 || out->commits_per_s < 0 ||
        out->batched_puts_per_s < 0 || paced_rc < 0)
        rc = -1;
    return rc;
}
