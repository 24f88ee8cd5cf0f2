/* gridpeerbench: stock broker chains measured the way gridbench
 * measures gridrelay's village -> township -> district chain, so the
 * figures can be read side by side.
 *
 * Each chain is three brokers A -> B -> C on loopback (mosquitto joined
 * by bridges; RabbitMQ joined by shovels; NATS servers joined as leaf
 * nodes, each JetStream stream sourcing the one below, once with
 * JetStream's default fsync and once with sync_interval: always), a
 * publisher on A that counts what A acknowledged, and a subscriber on C.
 * Per run, on fresh brokers:
 * end-to-end messages/s (first publish to last receipt) with a bounded
 * number of unacknowledged messages at the edge, then latency at a fixed
 * rate. Then the kill run: B is SIGKILLed once half the messages are
 * acknowledged, restarted on its store, and the subscriber counts what
 * A acknowledged but never arrived, and what arrived twice.
 *
 * This file is the driver; the brokers are in peerbench_mqtt.c,
 * peerbench_amqp.c and peerbench_nats.c, the process handling in
 * peerbench_proc.c.
 */
#include "peerbench.h"

#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_RUNS 9
#define S_LATENCY_S 3     /* the fixed-rate phase lasts this long */
#define S_ACK_STALL_S 60  /* no ack at all for this long: the run failed */
#define S_SILENCE_S 10    /* no receipt for this long: the rest is lost */
#define S_SETTLE_S 3      /* kill run: quiet time for late duplicates */
#define S_RECEIVE_CAP_S 300

/* ---- tracker ---- */

int pb_tracker_init(pb_tracker_t *t, size_t capacity)
{
    memset(t, 0, sizeof *t);
    t->acked = calloc(capacity, 1);
    t->count = calloc(capacity, sizeof *t->count);
    t->lat_ms = calloc(capacity, sizeof *t->lat_ms);
    if (!t->acked || !t->count || !t->lat_ms || pthread_mutex_init(&t->lock, NULL) != 0 ||
        pthread_cond_init(&t->cond, NULL) != 0) {
        free(t->acked);
        free(t->count);
        free(t->lat_ms);
        return -1;
    }
    return 0;
}

void pb_tracker_destroy(pb_tracker_t *t)
{
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t->acked);
    free(t->count);
    free(t->lat_ms);
}

uint64_t pb_track_phase(pb_tracker_t *t, size_t n)
{
    pthread_mutex_lock(&t->lock);
    uint64_t phase = ++t->phase;
    t->n = n;
    memset(t->acked, 0, n);
    memset(t->count, 0, n * sizeof *t->count);
    t->n_acked = t->n_nacked = t->n_unique = t->n_received = t->n_lat = 0;
    t->t_first_send = t->t_last_receipt = 0;
    t->warm_seen = false;
    pthread_mutex_unlock(&t->lock);
    return phase;
}

static void s_track_ack(pb_tracker_t *t, uint64_t seq, bool ok)
{
    if (seq == PB_SEQ_NONE)
        return;
    pthread_mutex_lock(&t->lock);
    if (seq < t->n && !t->acked[seq]) {
        t->acked[seq] = ok ? 1 : 2;
        if (ok)
            t->n_acked++;
        else
            t->n_nacked++;
        pthread_cond_broadcast(&t->cond);
    }
    pthread_mutex_unlock(&t->lock);
}

void pb_track_acked(pb_tracker_t *t, uint64_t seq)
{
    s_track_ack(t, seq, true);
}

void pb_track_nacked(pb_tracker_t *t, uint64_t seq)
{
    s_track_ack(t, seq, false);
}

void pb_payload_fill(void *buf, size_t size, uint64_t phase, uint64_t seq, uint32_t kind)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint32_t magic = PB_MAGIC;
    uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    unsigned char *p = buf;
    memset(p + PB_HEADER_SIZE, 'x', size - PB_HEADER_SIZE);
    memcpy(p, &magic, 4);
    memcpy(p + 4, &kind, 4);
    memcpy(p + 8, &phase, 8);
    memcpy(p + 16, &seq, 8);
    memcpy(p + 24, &ns, 8);
}

void pb_track_received(pb_tracker_t *t, const void *payload, size_t len)
{
    double now = pb_now();
    uint32_t magic, kind;
    uint64_t phase, seq, ns;
    const unsigned char *p = payload;
    if (len < PB_HEADER_SIZE)
        return;
    memcpy(&magic, p, 4);
    memcpy(&kind, p + 4, 4);
    memcpy(&phase, p + 8, 8);
    memcpy(&seq, p + 16, 8);
    memcpy(&ns, p + 24, 8);
    pthread_mutex_lock(&t->lock);
    if (magic == PB_MAGIC && phase == t->phase) {
        if (kind == PB_KIND_WARM) {
            t->warm_seen = true;
        } else if (kind == PB_KIND_DATA && seq < t->n) {
            t->n_received++;
            t->t_last_receipt = now;
            if (t->count[seq]++ == 0) {
                t->n_unique++;
                t->lat_ms[t->n_lat++] = (now - (double)ns / 1e9) * 1000;
            }
            if (t->count[seq] == 0)  /* saturate rather than wrap */
                t->count[seq] = UINT16_MAX;
        }
        pthread_cond_broadcast(&t->cond);
    }
    pthread_mutex_unlock(&t->lock);
}

void pb_track_wait(pb_tracker_t *t, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&t->lock);
    pthread_cond_timedwait(&t->cond, &t->lock, &ts);  /* a timeout is the normal way out */
    pthread_mutex_unlock(&t->lock);
}

/* ---- one chain, measured ---- */

typedef struct {
    size_t messages, size;
    int runs, kill_runs, window;
    double rate;
} s_options_t;

typedef struct {
    const char *name;
    const pb_system_t *sys;  /* NULL: not built in */
    bool failed;
    bool skipped;            /* cannot be measured here; error says why */
    char error[512];
    char version[64];
    double msgs_per_s, p50, p99, load_p50, load_p99;  /* medians of runs */
    size_t lost, dups;                                /* throughput runs, summed */
    size_t kill_acked, kill_received, kill_lost, kill_dups;  /* kill runs, summed */
    long rss[3];                                      /* highest of the runs */
    double seconds;
} s_result_t;

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double s_median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, s_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* p50 and p99 of the phase's latencies (-1 when nothing arrived). */
static void s_percentiles(pb_tracker_t *t, double *p50, double *p99)
{
    pthread_mutex_lock(&t->lock);
    size_t n = t->n_lat;
    *p50 = *p99 = -1;
    if (n > 0) {
        qsort(t->lat_ms, n, sizeof *t->lat_ms, s_cmp_double);
        *p50 = t->lat_ms[(size_t)(0.50 * (double)(n - 1) + 0.5)];
        *p99 = t->lat_ms[(size_t)(0.99 * (double)(n - 1) + 0.5)];
    }
    pthread_mutex_unlock(&t->lock);
}

/* Acknowledged and never received; received more than once. */
static void s_count(pb_tracker_t *t, size_t *acked, size_t *received, size_t *lost, size_t *dups)
{
    pthread_mutex_lock(&t->lock);
    *acked = t->n_acked;
    *received = t->n_unique;
    *lost = *dups = 0;
    for (size_t i = 0; i < t->n; i++) {
        *lost += t->acked[i] == 1 && t->count[i] == 0;
        *dups += t->count[i] > 1 ? t->count[i] - 1u : 0;
    }
    pthread_mutex_unlock(&t->lock);
}

static size_t s_answered(pb_tracker_t *t)
{
    pthread_mutex_lock(&t->lock);
    size_t n = t->n_acked + t->n_nacked;
    pthread_mutex_unlock(&t->lock);
    return n;
}

/* Publishes warm-up messages until one reaches C: the links are up. */
static int s_warm_up(const pb_system_t *sys, pb_chain_t *c, pb_tracker_t *t)
{
    unsigned char buf[PB_HEADER_SIZE];
    uint64_t phase = pb_track_phase(t, 0);
    double deadline = pb_now() + 120, next = 0;
    while (pb_now() < deadline && !pb_stopping()) {
        pthread_mutex_lock(&t->lock);
        bool seen = t->warm_seen;
        pthread_mutex_unlock(&t->lock);
        if (seen)
            return 0;
        if (pb_now() >= next) {
            pb_payload_fill(buf, sizeof buf, phase, PB_SEQ_NONE, PB_KIND_WARM);
            if (sys->ops->publish(c, buf, sizeof buf, PB_SEQ_NONE) != 0)
                return -1;
            next = pb_now() + 0.5;
        }
        if (sys->ops->pump(c, 20) != 0)
            return -1;
    }
    fprintf(stderr, "gridpeerbench: %s: nothing crossed the chain within 120 s\n", sys->name);
    return -1;
}

/* Publishes n messages, at most `window` unacknowledged, paced at `rate`
 * per second when rate > 0, and waits for every ack. With kill, B is
 * SIGKILLed and restarted once n/2 are acknowledged. 0 or -1. */
static int s_send(const pb_system_t *sys, pb_chain_t *c, pb_tracker_t *t, const s_options_t *o,
                  size_t n, double rate, bool kill)
{
    unsigned char *buf = malloc(o->size);
    if (!buf)
        return -1;
    uint64_t phase = pb_track_phase(t, n);
    double start = pb_now();
    bool killed = false;
    int rc = -1;
    for (size_t seq = 0; seq < n; seq++) {
        while (rate > 0 && pb_now() < start + (double)seq / rate)
            if (sys->ops->pump(c, 1) != 0)
                goto out;
        double stall = pb_now();
        size_t answered;
        while (seq - (answered = s_answered(t)) >= (size_t)o->window) {
            if (sys->ops->pump(c, 10) != 0 || pb_stopping() || pb_now() - stall > S_ACK_STALL_S)
                goto out;
            stall = s_answered(t) != answered ? pb_now() : stall;
        }
        pb_payload_fill(buf, o->size, phase, seq, PB_KIND_DATA);
        if (seq == 0) {
            pthread_mutex_lock(&t->lock);
            t->t_first_send = pb_now();
            pthread_mutex_unlock(&t->lock);
        }
        if (sys->ops->publish(c, buf, o->size, seq) != 0 || sys->ops->pump(c, 0) != 0)
            goto out;
        if (kill && !killed && s_answered(t) >= n / 2) {
            printf("gridpeerbench: %s: SIGKILL B at %zu acknowledged, restarting it\n", sys->name,
                   s_answered(t));
            if (sys->ops->crash_middle(c) != 0)
                goto out;
            killed = true;
        }
    }
    double stall = pb_now();
    size_t answered;
    while ((answered = s_answered(t)) < n) {
        if (sys->ops->pump(c, 10) != 0 || pb_stopping() || pb_now() - stall > S_ACK_STALL_S)
            goto out;
        stall = s_answered(t) != answered ? pb_now() : stall;
    }
    rc = 0;
out:
    if (rc != 0 && !pb_stopping())
        fprintf(stderr, "gridpeerbench: %s: publishing failed (%zu of %zu acknowledged)\n", sys->name,
                s_answered(t), n);
    free(buf);
    return rc;
}

/* Waits until every acknowledged message arrived (plus `settle` quiet
 * seconds, for late duplicates) or S_SILENCE_S without any receipt since
 * `since`. */
static void s_receive(const pb_system_t *sys, pb_chain_t *c, pb_tracker_t *t, double since, double settle)
{
    double cap = pb_now() + S_RECEIVE_CAP_S;
    while (pb_now() < cap && !pb_stopping()) {
        pthread_mutex_lock(&t->lock);
        bool all = t->n_unique >= t->n_acked;
        double last = t->t_last_receipt > since ? t->t_last_receipt : since;
        pthread_mutex_unlock(&t->lock);
        double quiet = pb_now() - last;
        if ((all && quiet >= settle) || quiet >= S_SILENCE_S)
            return;
        if (sys->ops->pump(c, 0) != 0)
            return;
        pb_track_wait(t, 50);
    }
}

/* One throughput run's figures: msgs/s, and the latency percentiles (ms)
 * at the fixed rate and under the full load. */
typedef struct {
    double *rate, *p50, *p99, *lp50, *lp99;
} s_run_figures_t;

static int s_throughput_run(const pb_system_t *sys, const s_options_t *o, pb_tracker_t *t, int r,
                            s_result_t *res, const s_run_figures_t *fig)
{
    double *rate = fig->rate, *p50 = fig->p50, *p99 = fig->p99, *lp50 = fig->lp50,
           *lp99 = fig->lp99;
    printf("gridpeerbench: %s run %d/%d: starting A, B, C...\n", sys->name, r + 1, o->runs);
    fflush(stdout);
    pb_chain_t *c = sys->start(t, o->window, res->error, sizeof res->error);
    if (!c)
        return -1;
    int rc = -1;
    snprintf(res->error, sizeof res->error, "the %s chain failed during run %d", sys->name, r + 1);
    if (s_warm_up(sys, c, t) != 0 || s_send(sys, c, t, o, o->messages, 0, false) != 0)
        goto out;
    s_receive(sys, c, t, pb_now(), 0);
    size_t acked, received, lost, dups;
    s_count(t, &acked, &received, &lost, &dups);
    pthread_mutex_lock(&t->lock);
    double span = t->t_last_receipt - t->t_first_send;
    pthread_mutex_unlock(&t->lock);
    *rate = span > 0 ? (double)received / span : 0;
    res->lost += lost + (o->messages - acked);  /* unacked cannot happen without a fault */
    res->dups += dups;
    s_percentiles(t, lp50, lp99);
    size_t n_lat = (size_t)(o->rate * S_LATENCY_S);
    if (s_send(sys, c, t, o, n_lat, o->rate, false) != 0)
        goto out;
    s_receive(sys, c, t, pb_now(), 0);
    s_percentiles(t, p50, p99);
    long rss[3];
    pb_chain_peak_rss(c, rss);
    for (int i = 0; i < 3; i++)
        res->rss[i] = rss[i] > res->rss[i] ? rss[i] : res->rss[i];
    printf("gridpeerbench: %s run %d/%d: %.0f msgs/s, p50 %.2f ms, p99 %.2f ms, lost %zu, dup %zu\n",
           sys->name, r + 1, o->runs, *rate, *p50, *p99, lost, dups);
    rc = 0;
out:
    sys->ops->stop(&c);
    return rc;
}

static int s_kill_run(const pb_system_t *sys, const s_options_t *o, pb_tracker_t *t, int k,
                      s_result_t *res)
{
    printf("gridpeerbench: %s kill run %d/%d: starting A, B, C...\n", sys->name, k + 1, o->kill_runs);
    fflush(stdout);
    pb_chain_t *c = sys->start(t, o->window, res->error, sizeof res->error);
    if (!c)
        return -1;
    int rc = -1;
    snprintf(res->error, sizeof res->error, "the %s chain failed during kill run %d", sys->name, k + 1);
    if (s_warm_up(sys, c, t) != 0 || s_send(sys, c, t, o, o->messages, 0, true) != 0)
        goto out;
    double deadline = pb_now() + 180;
    while (!pb_chain_middle_up(c)) {
        if (pb_now() > deadline || pb_stopping()) {
            snprintf(res->error, sizeof res->error, "%s: B did not come back within 180 s", sys->name);
            goto out;
        }
        pb_track_wait(t, 100);
    }
    s_receive(sys, c, t, pb_now(), S_SETTLE_S);
    size_t acked, received, lost, dups;
    s_count(t, &acked, &received, &lost, &dups);
    res->kill_acked += acked;
    res->kill_received += received;
    res->kill_lost += lost;
    res->kill_dups += dups;
    printf("gridpeerbench: %s kill run %d/%d: acked %zu, received %zu, lost %zu, duplicates %zu\n",
           sys->name, k + 1, o->kill_runs, acked, received, lost, dups);
    rc = 0;
out:
    sys->ops->stop(&c);
    return rc;
}

/* Measures one system into res. 0, -1 with res->error, or
 * PB_UNSUPPORTED with the reason in res->error. */
static int s_measure(const pb_system_t *sys, const s_options_t *o, s_result_t *res)
{
    double t0 = pb_now();
    res->sys = sys;
    res->rss[0] = res->rss[1] = res->rss[2] = -1;
    int checked = sys->check(res->error, sizeof res->error);
    if (checked != 0) {
        if (checked == PB_UNSUPPORTED)  /* the version says why, often */
            snprintf(res->version, sizeof res->version, "%s", sys->version());
        sys->shutdown();
        return checked == PB_UNSUPPORTED ? PB_UNSUPPORTED : -1;
    }
    snprintf(res->version, sizeof res->version, "%s", sys->version());
    size_t cap = o->messages > (size_t)(o->rate * S_LATENCY_S) ? o->messages : (size_t)(o->rate * S_LATENCY_S);
    pb_tracker_t t;
    if (pb_tracker_init(&t, cap) != 0) {
        snprintf(res->error, sizeof res->error, "out of memory");
        sys->shutdown();
        return -1;
    }
    double rate[MAX_RUNS], p50[MAX_RUNS], p99[MAX_RUNS], lp50[MAX_RUNS], lp99[MAX_RUNS];
    int rc = 0;
    for (int r = 0; r < o->runs && rc == 0; r++)
        rc = s_throughput_run(sys, o, &t, r, res,
                              &(s_run_figures_t){ &rate[r], &p50[r], &p99[r], &lp50[r], &lp99[r] });
    for (int k = 0; k < o->kill_runs && rc == 0; k++)
        rc = s_kill_run(sys, o, &t, k, res);
    sys->shutdown();
    pb_tracker_destroy(&t);
    if (rc == 0) {
        size_t n = (size_t)o->runs;
        res->msgs_per_s = s_median(rate, n);
        res->p50 = s_median(p50, n);
        res->p99 = s_median(p99, n);
        res->load_p50 = s_median(lp50, n);
        res->load_p99 = s_median(lp99, n);
    }
    res->seconds = pb_now() - t0;
    return rc;
}

/* ---- output ---- */

static void s_row_f(const char *label, const s_result_t *res, size_t n, int prec, double (*get)(const s_result_t *))
{
    printf("%-48s", label);
    for (size_t i = 0; i < n; i++) {
        if (res[i].failed || res[i].skipped)
            printf(" %18s", res[i].failed ? "failed" : "n/a");
        else
            printf(" %18.*f", prec, get(&res[i]));
    }
    printf("\n");
}

static void s_row_z(const char *label, const s_result_t *res, size_t n, size_t (*get)(const s_result_t *))
{
    printf("%-48s", label);
    for (size_t i = 0; i < n; i++) {
        if (res[i].failed || res[i].skipped)
            printf(" %18s", res[i].failed ? "failed" : "n/a");
        else
            printf(" %18zu", get(&res[i]));
    }
    printf("\n");
}

static double s_get_rate(const s_result_t *r) { return r->msgs_per_s; }
static double s_get_p50(const s_result_t *r) { return r->p50; }
static double s_get_p99(const s_result_t *r) { return r->p99; }
static double s_get_lp50(const s_result_t *r) { return r->load_p50; }
static double s_get_lp99(const s_result_t *r) { return r->load_p99; }
static double s_get_seconds(const s_result_t *r) { return r->seconds; }
static double s_get_rss_a(const s_result_t *r) { return (double)r->rss[0] / 1024; }
static double s_get_rss_b(const s_result_t *r) { return (double)r->rss[1] / 1024; }
static double s_get_rss_c(const s_result_t *r) { return (double)r->rss[2] / 1024; }
static size_t s_get_lost(const s_result_t *r) { return r->lost; }
static size_t s_get_dups(const s_result_t *r) { return r->dups; }
static size_t s_get_k_acked(const s_result_t *r) { return r->kill_acked; }
static size_t s_get_k_received(const s_result_t *r) { return r->kill_received; }
static size_t s_get_k_lost(const s_result_t *r) { return r->kill_lost; }
static size_t s_get_k_dups(const s_result_t *r) { return r->kill_dups; }

static void s_print_table(const s_options_t *o, const s_result_t *res, size_t n)
{
    char label[96];
    printf("\ngridpeerbench: %zu messages of %zu bytes, at most %d unacknowledged at A; "
           "medians of %d run%s\n\n",
           o->messages, o->size, o->window, o->runs, o->runs == 1 ? "" : "s");
    printf("%-48s", "measure");
    for (size_t i = 0; i < n; i++) {
        char head[96];
        snprintf(head, sizeof head, "%s %s", res[i].name, res[i].version);
        printf(" %18s", head);
    }
    printf("\n");
    s_row_f("end-to-end msgs/s, A -> C [median]", res, n, 0, s_get_rate);
    snprintf(label, sizeof label, "latency p50 ms at %.0f msgs/s [median]", o->rate);
    s_row_f(label, res, n, 2, s_get_p50);
    snprintf(label, sizeof label, "latency p99 ms at %.0f msgs/s [median]", o->rate);
    s_row_f(label, res, n, 2, s_get_p99);
    s_row_f("latency p50 ms in the throughput run [median]", res, n, 2, s_get_lp50);
    s_row_f("latency p99 ms in the throughput run [median]", res, n, 2, s_get_lp99);
    s_row_z("throughput runs: lost (all runs)", res, n, s_get_lost);
    s_row_z("throughput runs: duplicates (all runs)", res, n, s_get_dups);
    if (o->kill_runs > 0) {
        const char *runs = o->kill_runs > 1 ? "kill runs (sum)" : "kill run";
        snprintf(label, sizeof label, "%s: acknowledged by A", runs);
        s_row_z(label, res, n, s_get_k_acked);
        snprintf(label, sizeof label, "%s: received at C (distinct)", runs);
        s_row_z(label, res, n, s_get_k_received);
        snprintf(label, sizeof label, "%s: lost (acked, never received)", runs);
        s_row_z(label, res, n, s_get_k_lost);
        snprintf(label, sizeof label, "%s: duplicates", runs);
        s_row_z(label, res, n, s_get_k_dups);
    }
    s_row_f("peak RSS of A, MiB (VmHWM)", res, n, 1, s_get_rss_a);
    s_row_f("peak RSS of B, MiB", res, n, 1, s_get_rss_b);
    s_row_f("peak RSS of C, MiB", res, n, 1, s_get_rss_c);
    s_row_f("wall time of all its runs, s", res, n, 0, s_get_seconds);
    printf("\n");
    for (size_t i = 0; i < n; i++)
        if (res[i].failed)
            printf("%s: FAILED: %s\n", res[i].name, res[i].error);
        else if (res[i].skipped)
            printf("%s: not measured: %s\n", res[i].name, res[i].error);
        else
            printf("%s: %s.\n", res[i].name, res[i].sys->durability);
}

static json_object *s_json_system(const s_options_t *o, const s_result_t *r)
{
    json_object *obj = json_object_new_object();
    json_object_object_add(obj, "version", json_object_new_string(r->version));
    if (r->failed || r->skipped) {
        json_object_object_add(obj, r->failed ? "error" : "skipped", json_object_new_string(r->error));
        return obj;
    }
    json_object_object_add(obj, "msgs_per_s", json_object_new_double(r->msgs_per_s));
    json_object_object_add(obj, "p50_ms", json_object_new_double(r->p50));
    json_object_object_add(obj, "p99_ms", json_object_new_double(r->p99));
    json_object_object_add(obj, "loaded_p50_ms", json_object_new_double(r->load_p50));
    json_object_object_add(obj, "loaded_p99_ms", json_object_new_double(r->load_p99));
    json_object *tput = json_object_new_object();
    json_object_object_add(tput, "lost", json_object_new_int64((int64_t)r->lost));
    json_object_object_add(tput, "duplicates", json_object_new_int64((int64_t)r->dups));
    json_object_object_add(obj, "throughput_runs", tput);
    if (o->kill_runs > 0) {
        json_object *kill = json_object_new_object();
        json_object_object_add(kill, "runs", json_object_new_int(o->kill_runs));
        json_object_object_add(kill, "acked", json_object_new_int64((int64_t)r->kill_acked));
        json_object_object_add(kill, "received", json_object_new_int64((int64_t)r->kill_received));
        json_object_object_add(kill, "lost", json_object_new_int64((int64_t)r->kill_lost));
        json_object_object_add(kill, "duplicates", json_object_new_int64((int64_t)r->kill_dups));
        json_object_object_add(obj, "kill_run", kill);
    }
    json_object *rss = json_object_new_object();
    static const char *const names[3] = { "A", "B", "C" };
    for (int i = 0; i < 3; i++)
        json_object_object_add(rss, names[i], json_object_new_int64(r->rss[i]));
    json_object_object_add(obj, "peak_rss_kib", rss);
    json_object_object_add(obj, "durability", json_object_new_string(r->sys->durability));
    json_object_object_add(obj, "seconds", json_object_new_double(r->seconds));
    return obj;
}

static int s_write_json(const char *path, const s_options_t *o, const s_result_t *res, size_t n)
{
    json_object *obj = json_object_new_object();
    json_object_object_add(obj, "messages", json_object_new_int64((int64_t)o->messages));
    json_object_object_add(obj, "size", json_object_new_int64((int64_t)o->size));
    json_object_object_add(obj, "runs", json_object_new_int(o->runs));
    json_object_object_add(obj, "kill_runs", json_object_new_int(o->kill_runs));
    json_object_object_add(obj, "window", json_object_new_int(o->window));
    json_object_object_add(obj, "latency_rate", json_object_new_double(o->rate));
    for (size_t i = 0; i < n; i++)
        json_object_object_add(obj, res[i].name, s_json_system(o, &res[i]));
    int rc = json_object_to_file_ext(path, obj, JSON_C_TO_STRING_PRETTY) == 0 ? 0 : -1;
    json_object_put(obj);
    if (rc != 0)
        fprintf(stderr, "gridpeerbench: cannot write %s\n", path);
    return rc;
}

static void s_usage(FILE *out)
{
    fprintf(out,
"NAME\n"
"    gridpeerbench - measure stock broker chains the way gridbench\n"
"    measures gridrelay's three-tier chain\n"
"\n"
"SYNOPSIS\n"
"    gridpeerbench [--messages N] [--size BYTES] [--runs R] [--kill-runs K]\n"
"                  [--window W] [--rate R]\n"
"                  [--only mosquitto|rabbitmq|nats|nats_always]\n"
"                  [--json FILE]\n"
"\n"
"DESCRIPTION\n"
"    Starts three brokers A -> B -> C on 127.0.0.1, each a separate process\n"
"    with its own temp dir and free ports, and measures the chain:\n"
"\n"
"    mosquitto  bridges A->B and B->C, QoS 1, persistence with\n"
"               autosave_interval 1; a libmosquitto publisher on A (QoS 1,\n"
"               a PUBACK counts as acknowledged) and a QoS 1 subscriber\n"
"               with clean_session false on C.\n"
"    rabbitmq   durable queue q on each node, dynamic shovels A.q -> B.q and\n"
"               B.q -> C.q with ack-mode on-confirm; a librabbitmq publisher\n"
"               on A with publisher confirms and persistent messages, and a\n"
"               consumer on C with manual acks.\n"
"    nats       nats-server A (JetStream domain village) a leaf node of B\n"
"               (township), B a leaf node of C (district); a file stream on\n"
"               each, B's sourcing A's and C's sourcing B's across the\n"
"               domains ($JS.<domain>.API); a libnats publisher on A with\n"
"               JetStream publish acks, and an ordered consumer of C's stream.\n"
"    nats_always  the same with sync_interval: always on the three servers\n"
"               (an fsync before each ack); needs nats-server 2.10 or later,\n"
"               else it is reported as not measured.\n"
"\n"
"    Settings are the packages' defaults except: mosquitto\n"
"    max_queued_messages 0 (the default, 1000, silently drops QoS 1\n"
"    messages queued for a slow peer), set_tcp_nodelay true and bridge\n"
"    restart_timeout 1; RabbitMQ shovels reconnect-delay 1; NATS\n"
"    max_payload 2 MiB (so that --size 1048576 fits).\n"
"\n"
"    Each run starts fresh brokers and measures end-to-end msgs/s (first\n"
"    publish to last receipt) with at most W messages unacknowledged by A,\n"
"    then latency at a fixed rate for %d s (the send time travels in the\n"
"    payload). The kill run SIGKILLs B once N/2 messages are acknowledged,\n"
"    restarts it on its store at once and counts, at C, what A acknowledged\n"
"    but never arrived (after %d s without any receipt) and what arrived\n"
"    more than once. Peak RSS is VmHWM of each broker process (for RabbitMQ\n"
"    the beam.smp VM). Throughput and latency are medians of R runs.\n"
"\n"
"OPTIONS\n"
"    --messages N   messages per throughput and kill run (default 20000)\n"
"    --size BYTES   payload size, %d..1048576 (default 300)\n"
"    --runs R       throughput/latency runs per system, 1..%d (default 3)\n"
"    --kill-runs K  kill runs per system, 0..%d (default 1)\n"
"    --window W     messages unacknowledged by A at most, 1..10000\n"
"                   (default 32: gridbench's chain runs 32 synchronous\n"
"                   clients)\n"
"    --rate R       msgs/s of the latency phase (default 100, as gridbench's\n"
"                   chain latency)\n"
"    --only NAME    measure only that system\n"
"    --json FILE    also write the figures as JSON to FILE\n"
"    -h, --help     this help\n"
"\n"
"ENVIRONMENT\n"
"    MOSQUITTO, RABBITMQ_SERVER, RABBITMQCTL, EPMD, NATS_SERVER   paths of\n"
"        the programs (defaults: mosquitto and nats-server in PATH or\n"
"        /usr/sbin; /usr/lib/rabbitmq/bin/; epmd in PATH). The system\n"
"        services are never used.\n"
"    GR_KEEP_TEST_DIRS   keep the brokers' temp dirs (/tmp/gridpeerbench-*)\n"
"\n"
"EXIT STATUS\n"
"    0 all measured (a system that cannot be measured with what is\n"
"    installed, or was not built in, is reported as not measured, with\n"
"    the reason); 1 a broker could not start or a run failed (the\n"
"    message says why; when a broker is missing, run tools/bench.sh, which\n"
"    installs them all, builds this and runs it through gridbench --peers);\n"
"    2 usage; 130 interrupted. Every\n"
"    broker started is stopped before exit, also on Ctrl-C.\n",
            S_LATENCY_S, S_SILENCE_S, PB_HEADER_SIZE, MAX_RUNS, MAX_RUNS);
}

static bool s_parse_long(const char *text, long min, long max, long *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Every system, in the order of the report; sys is NULL for one whose
 * client library was not found at build time. */
static const struct {
    const char *name;
    const char *library;  /* the Debian package it was built without */
    const pb_system_t *sys;
} s_systems[] = {
#ifdef PB_HAVE_MOSQUITTO
    { "mosquitto", "libmosquitto-dev", &pb_mosquitto },
#else
    { "mosquitto", "libmosquitto-dev", NULL },
#endif
#ifdef PB_HAVE_RABBITMQ
    { "rabbitmq", "librabbitmq-dev", &pb_rabbitmq },
#else
    { "rabbitmq", "librabbitmq-dev", NULL },
#endif
#ifdef PB_HAVE_NATS
    { "nats", "libnats-dev", &pb_nats },
    { "nats_always", "libnats-dev", &pb_nats_always },
#else
    { "nats", "libnats-dev", NULL },
    { "nats_always", "libnats-dev", NULL },
#endif
};
#define S_N_SYSTEMS (sizeof s_systems / sizeof s_systems[0])

static bool s_known_system(const char *name)
{
    for (size_t i = 0; i < S_N_SYSTEMS; i++)
        if (strcmp(name, s_systems[i].name) == 0)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        { "messages", required_argument, NULL, 'm' }, { "size", required_argument, NULL, 's' },
        { "runs", required_argument, NULL, 'r' },     { "kill-runs", required_argument, NULL, 'k' },
        { "window", required_argument, NULL, 'w' },   { "rate", required_argument, NULL, 'R' },
        { "only", required_argument, NULL, 'o' },     { "json", required_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
    };
    s_options_t o = { .messages = 20000, .size = 300, .runs = 3, .kill_runs = 1, .window = 32, .rate = 100 };
    const char *json_path = NULL, *only = NULL;
    int opt, idx = 0;
    long v = 0;
    bool ok = true;
    while ((opt = getopt_long(argc, argv, "h", options, &idx)) != -1) {
        switch (opt) {
        case 'm': ok &= s_parse_long(optarg, 100, 10000000, &v); o.messages = (size_t)v; break;
        case 's': ok &= s_parse_long(optarg, PB_HEADER_SIZE, 1 << 20, &v); o.size = (size_t)v; break;
        case 'r': ok &= s_parse_long(optarg, 1, MAX_RUNS, &v); o.runs = (int)v; break;
        case 'k': ok &= s_parse_long(optarg, 0, MAX_RUNS, &v); o.kill_runs = (int)v; break;
        case 'w': ok &= s_parse_long(optarg, 1, 10000, &v); o.window = (int)v; break;
        case 'R': ok &= s_parse_long(optarg, 1, 100000, &v); o.rate = (double)v; break;
        case 'o': only = optarg; break;
        case 'j': json_path = optarg; break;
        case 'h': s_usage(stdout); return 0;
        default: ok = false; break;
        }
        if (!ok) {
            if (opt != '?')  /* getopt already named a bad option */
                fprintf(stderr, "gridpeerbench: bad value for --%s: %s\n", options[idx].name, optarg);
            fprintf(stderr, "usage: gridpeerbench [--messages N] [--size BYTES] [--runs R] [--kill-runs K]\n"
                            "       [--window W] [--rate R] [--only mosquitto|rabbitmq|nats|nats_always]\n"
                            "       [--json FILE] (--help for details)\n");
            return 2;
        }
    }
    if (optind < argc || (only && !s_known_system(only))) {
        fprintf(stderr, "gridpeerbench: --only takes mosquitto, rabbitmq, nats or nats_always, and no "
                        "other arguments are accepted (--help for details)\n");
        return 2;
    }
    if (pb_signals_install() != 0) {
        perror("gridpeerbench: sigaction");
        return 1;
    }
    s_result_t res[S_N_SYSTEMS];
    size_t n = 0;
    int rc = 0;
    memset(res, 0, sizeof res);
    for (size_t i = 0; i < S_N_SYSTEMS && !pb_stopping(); i++) {
        if (only && strcmp(only, s_systems[i].name) != 0)
            continue;
        s_result_t *r = &res[n++];
        r->name = s_systems[i].name;
        if (!s_systems[i].sys) {
            r->skipped = true;
            snprintf(r->error, sizeof r->error, "gridpeerbench was built without %s (tools/bench.sh "
                     "installs it)", s_systems[i].library);
            fprintf(stderr, "gridpeerbench: %s: not measured: %s\n", r->name, r->error);
            continue;
        }
        int measured = s_measure(s_systems[i].sys, &o, r);
        if (measured == PB_UNSUPPORTED) {
            r->skipped = true;
            fprintf(stderr, "gridpeerbench: %s: not measured: %s\n", r->name, r->error);
        } else if (measured != 0) {
            r->failed = true;
            rc = 1;
            if (!pb_stopping())
                fprintf(stderr, "gridpeerbench: %s: %s\n", r->name, r->error);
        }
    }
    pb_kill_all();  /* nothing should be left; this makes sure */
    if (pb_stopping()) {
        fprintf(stderr, "gridpeerbench: interrupted; every broker was stopped\n");
        return 130;
    }
    size_t measured = 0;
    for (size_t i = 0; i < n; i++)
        measured += !res[i].failed && !res[i].skipped;
    if (measured > 0)  /* else the reasons are already on stderr */
        s_print_table(&o, res, n);
    if (json_path) {
        if (s_write_json(json_path, &o, res, n) != 0)
            rc = 1;
        else
            printf("\nJSON: %s\n", json_path);
    }
    return rc;
}
