/* gridbench: what one gridrelayd node costs, against what the machine
 * allows, measured in one run.
 *
 * Raw ceilings first (libsodium Ed25519 verifies/s on one core, LMDB
 * durable commits/s), then a real gridrelayd process: durable, verified
 * events/s from 4 and 32 concurrent clients, and acknowledgement latency
 * percentiles at a fixed 1,000 events/s. Each gridrelay figure is the
 * median of --runs runs. Prints a table and writes JSON (--json FILE).
 */
#include <getopt.h>
#include <json-c/json.h>
#include <lmdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "event_id.h"
#include "harness.h"

#define MAX_CLIENTS 64
#define MAX_RUNS 9

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

static double s_percentile(double *sorted, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

/* ---- raw ceilings ---- */

static double s_raw_verifies_per_s(size_t n)
{
    unsigned char pk[32], sk[64], sig[64], msg[300];
    crypto_sign_keypair(pk, sk);
    randombytes_buf(msg, sizeof msg);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
    double t0 = s_now();
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += crypto_sign_verify_detached(sig, msg, sizeof msg, pk) == 0;
    double dt = s_now() - t0;
    return ok == n ? (double)n / dt : 0;
}

static double s_raw_commits_per_s(const char *dir, size_t n)
{
    MDB_env *env = NULL;
    MDB_dbi dbi;
    double rate = 0;
    if (mdb_env_create(&env) != 0)
        return 0;
    mdb_env_set_mapsize(env, 64u << 20);
    if (mdb_env_open(env, dir, 0, 0600) != 0)
        goto out;
    char value[300];
    memset(value, 'v', sizeof value);
    double t0 = s_now();
    for (size_t i = 0; i < n; i++) {
        MDB_txn *txn;
        if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
            goto out;
        if (i == 0 && mdb_dbi_open(txn, NULL, 0, &dbi) != 0) {
            mdb_txn_abort(txn);
            goto out;
        }
        uint64_t k = i;
        MDB_val key = { sizeof k, &k }, val = { sizeof value, value };
        if (mdb_put(txn, dbi, &key, &val, 0) != 0 || mdb_txn_commit(txn) != 0)
            goto out;
    }
    rate = (double)n / (s_now() - t0);
out:
    mdb_env_close(env);
    return rate;
}

/* ---- gridrelay ---- */

/* The category every benchmark report uses: a village matter for the
 * single node, a district matter (it climbs two tiers) for the chain. */
static const char *s_category = "SS.DISPUTE";

static void s_report_body(Gridrelay__Body *body, Gridrelay__Report *report, Gridrelay__Event *event,
                          Gridrelay__Location *loc, char *id)
{
    gridrelay__event__init(event);
    gridrelay__location__init(loc);
    gr_event_id_new(id, gr_now_ms());
    event->id = id;
    event->category = (char *)s_category;
    event->severity = GRIDRELAY__SEVERITY__ROUTINE;
    event->title = "two households dispute the boundary of a vegetable plot";
    event->description = "Reported by the grid worker on the morning round; both sides agree to "
                         "mediation by the village committee next Tuesday.";
    event->reporter = "worker-0001";
    loc->grid_code = "G-05";
    loc->address = "No. 3 East Lane";
    event->location = loc;
    gridrelay__report__init(report);
    report->event = event;
    gridrelay__body__init(body);
    body->kind_case = GRIDRELAY__BODY__KIND_REPORT;
    body->report = report;
}

typedef struct {
    harness_node_t *node;
    void *ctx;
    size_t index;
    size_t count;
    size_t acked;
} s_worker_t;

static void *s_worker(void *arg)
{
    s_worker_t *w = arg;
    gr_client_t *client = harness_client(w->node, w->ctx, w->index);
    if (!client)
        return NULL;
    for (size_t i = 0; i < w->count; i++) {
        Gridrelay__Body body;
        Gridrelay__Report report;
        Gridrelay__Event event;
        Gridrelay__Location loc;
        char id[32];
        s_report_body(&body, &report, &event, &loc, id);
        gr_opened_t reply;
        if (gr_client_call(client, &body, &reply, 10000, 3) != 0)
            continue;
        if (reply.body->kind_case == GRIDRELAY__BODY__KIND_ACK)
            w->acked++;
        gr_opened_clear(&reply);
    }
    gr_client_destroy(&client);
    return NULL;
}

/* events/s acknowledged by the node from `clients` synchronous clients. */
static double s_ingest(harness_node_t *node, void *ctx, size_t clients, size_t total)
{
    s_worker_t workers[MAX_CLIENTS];
    pthread_t threads[MAX_CLIENTS];
    double t0 = s_now();
    for (size_t i = 0; i < clients; i++) {
        workers[i] = (s_worker_t){ node, ctx, i, total / clients, 0 };
        pthread_create(&threads[i], NULL, s_worker, &workers[i]);
    }
    size_t acked = 0;
    for (size_t i = 0; i < clients; i++) {
        pthread_join(threads[i], NULL);
        acked += workers[i].acked;
    }
    double dt = s_now() - t0;
    return (double)acked / dt;
}

/* Open loop: one request every 1/rate s, whatever the replies do; latency
 * from send to its ack. Fills p50 and p99 in ms. */
static int s_latency(harness_node_t *node, void *ctx, double rate, double seconds, double *p50,
                     double *p99)
{
    gr_client_t *client = harness_client(node, ctx, 0);
    if (!client)
        return -1;
    size_t n = (size_t)(rate * seconds);
    double *sent = calloc(n, sizeof *sent), *lat = calloc(n, sizeof *lat);
    uint64_t first_seq = gr_client_next_seq(client);
    size_t sent_count = 0, got = 0;
    double start = s_now();
    while (got < n && s_now() - start < seconds + 10) {
        double now = s_now();
        while (sent_count < n && now >= start + (double)sent_count / rate) {
            Gridrelay__Body body;
            Gridrelay__Report report;
            Gridrelay__Event event;
            Gridrelay__Location loc;
            char id[32];
            s_report_body(&body, &report, &event, &loc, id);
            sent[sent_count] = s_now();
            if (gr_client_send(client, &body, NULL, NULL, NULL) != 0)
                break;
            sent_count++;
        }
        double next = start + (double)sent_count / rate;
        int wait_ms = sent_count < n ? (int)((next - s_now()) * 1000) : 100;
        gr_opened_t reply;
        int rc = gr_client_recv(client, &reply, wait_ms < 0 ? 0 : wait_ms);
        if (rc != 0)
            continue;
        uint64_t ref = gr_body_ref_seq(reply.body);
        if (ref >= first_seq && ref - first_seq < n && reply.body->kind_case == GRIDRELAY__BODY__KIND_ACK)
            lat[got++] = (s_now() - sent[ref - first_seq]) * 1000;
        gr_opened_clear(&reply);
    }
    gr_client_destroy(&client);
    int rc = got == n ? 0 : -1;
    if (got > 0) {
        qsort(lat, got, sizeof *lat, s_cmp_double);
        *p50 = s_percentile(lat, got, 0.50);
        *p99 = s_percentile(lat, got, 0.99);
    }
    free(sent);
    free(lat);
    return rc;
}

/* ---- the three-tier chain ---- */

typedef struct {
    harness_node_t village, township, district;
} s_chain_t;

static int s_chain_start(s_chain_t *c)
{
    if (harness_node_init(&c->district, "bench-district", 1) != 0 ||
        harness_node_init(&c->township, "bench-township", 1) != 0 ||
        harness_node_init(&c->village, "bench-village", 32) != 0)
        return -1;
    snprintf(c->district.tier, sizeof c->district.tier, "district");
    snprintf(c->township.tier, sizeof c->township.tier, "township");
    c->district.status_listen = c->township.status_listen = true;
    harness_add_child(&c->district, &c->township);
    harness_add_child(&c->township, &c->village);
    if (harness_node_start(&c->district) != 0)
        return -1;
    harness_set_parent(&c->township, &c->district, "parent");
    if (harness_node_start(&c->township) != 0)
        return -1;
    harness_set_parent(&c->village, &c->township, "parent");
    return harness_node_start(&c->village);
}

static void s_chain_stop(s_chain_t *c)
{
    harness_node_t *nodes[3] = { &c->village, &c->township, &c->district };
    for (int i = 0; i < 3; i++) {
        harness_node_stop(nodes[i], SIGTERM);
        harness_node_cleanup(nodes[i]);
    }
}

/* The district's persistent count of stored events. */
static uint64_t s_stored(gr_client_t *client)
{
    Gridrelay__GetStats get = GRIDRELAY__GET_STATS__INIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_STATS;
    body.get_stats = &get;
    gr_opened_t reply;
    uint64_t value = 0;
    if (gr_client_call(client, &body, &reply, 2000, 3) != 0)
        return 0;
    if (reply.body->kind_case == GRIDRELAY__BODY__KIND_STATS)
        for (size_t i = 0; i < reply.body->stats->n_counters; i++)
            if (strcmp(reply.body->stats->counters[i]->name, "events_stored") == 0)
                value = reply.body->stats->counters[i]->value;
    gr_opened_clear(&reply);
    return value;
}

/* Sustained events/s from 32 village clients until the district has
 * stored all of them (durable and verified at every hop). */
static double s_chain_throughput(s_chain_t *c, void *ctx, size_t total)
{
    gr_client_t *district = harness_client(&c->district, ctx, 0);
    if (!district)
        return 0;
    uint64_t before = s_stored(district);
    total -= total % 32;  /* what 32 clients send in equal shares */
    double t0 = s_now();
    s_ingest(&c->village, ctx, 32, total);
    while (s_stored(district) < before + total && s_now() - t0 < 300)
        poll(NULL, 0, 5);
    double dt = s_now() - t0;
    uint64_t got = s_stored(district) - before;
    gr_client_destroy(&district);
    return (double)got / dt;
}

/* Village -> district latency at about `rate` events/s: each event is
 * reported at the village and the district is asked for it every
 * millisecond until it holds it (so figures include up to ~1 ms of
 * polling granularity). */
static int s_chain_latency(s_chain_t *c, void *ctx, double rate, size_t n, double *p50, double *p99)
{
    gr_client_t *village = harness_client(&c->village, ctx, 0);
    gr_client_t *district = harness_client(&c->district, ctx, 0);
    double *lat = calloc(n, sizeof *lat);
    size_t got = 0;
    double start = s_now();
    for (size_t i = 0; village && district && lat && i < n; i++) {
        while (s_now() < start + (double)i / rate)
            poll(NULL, 0, 1);
        Gridrelay__Body body;
        Gridrelay__Report report;
        Gridrelay__Event event;
        Gridrelay__Location loc;
        char id[32];
        s_report_body(&body, &report, &event, &loc, id);
        double t0 = s_now();
        gr_opened_t reply;
        if (gr_client_call(village, &body, &reply, 5000, 3) != 0)
            continue;
        gr_opened_clear(&reply);
        Gridrelay__GetEvent get = GRIDRELAY__GET_EVENT__INIT;
        get.event_id = id;
        Gridrelay__Body q = GRIDRELAY__BODY__INIT;
        q.kind_case = GRIDRELAY__BODY__KIND_GET_EVENT;
        q.get_event = &get;
        while (s_now() - t0 < 5) {
            if (gr_client_call(district, &q, &reply, 2000, 2) != 0)
                break;
            int found = reply.body->kind_case == GRIDRELAY__BODY__KIND_EVENT_DETAIL;
            gr_opened_clear(&reply);
            if (found) {
                lat[got++] = (s_now() - t0) * 1000;
                break;
            }
            poll(NULL, 0, 1);
        }
    }
    gr_client_destroy(&village);
    gr_client_destroy(&district);
    if (got > 0) {
        qsort(lat, got, sizeof *lat, s_cmp_double);
        *p50 = s_percentile(lat, got, 0.50);
        *p99 = s_percentile(lat, got, 0.99);
    }
    free(lat);
    return got == n ? 0 : -1;
}

static void s_usage(FILE *out)
{
    fprintf(out,
"Usage: gridbench [--runs N] [--events N] [--json FILE]\n"
"\n"
"Measures, in one run on this machine: Ed25519 verifies/s (libsodium, one\n"
"core), LMDB durable commits/s (one fsync'd transaction per write), and a\n"
"real gridrelayd's durable, verified events/s from 4 and 32 concurrent\n"
"clients and its ack latency p50/p99 at 1,000 events/s; then a 3-tier chain\n"
"(village -> township -> district, durable and verified at every hop): its\n"
"sustained events/s and village-to-district latency at 100 events/s.\n"
"gridrelay figures\n"
"are medians of N runs (default 3), each on a fresh store.\n"
"\n"
"  --runs N      runs per gridrelay figure (1..9)\n"
"  --events N    events per ingest run (default 20000)\n"
"  --json FILE   also write the figures as JSON (default bench.json)\n"
"  -h, --help    this help\n"
"\n"
"gridrelayd is taken from $GRIDRELAYD, else from beside this binary's\n"
"build dir (../node/gridrelayd).\n");
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        { "runs", required_argument, NULL, 'r' }, { "events", required_argument, NULL, 'e' },
        { "json", required_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int runs = 3;
    long events = 20000;
    const char *json_path = "bench.json";
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'r': runs = atoi(optarg); break;
        case 'e': events = atol(optarg); break;
        case 'j': json_path = optarg; break;
        case 'h': s_usage(stdout); return 0;
        default: s_usage(stderr); return 2;
        }
    }
    if (runs < 1 || runs > MAX_RUNS || events < 1000) {
        s_usage(stderr);
        return 2;
    }
    if (!getenv("GRIDRELAYD")) {
        char self[4096], path[4200];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0) {
            self[n] = '\0';
            *strrchr(self, '/') = '\0';
            snprintf(path, sizeof path, "%s/../node/gridrelayd", self);
            setenv("GRIDRELAYD", path, 1);
        }
    }
    if (sodium_init() < 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);

    printf("gridbench: raw ceilings...\n");
    double verifies = s_raw_verifies_per_s(40000);
    char raw_dir[] = "/tmp/gridbench-lmdb-XXXXXX";
    if (!mkdtemp(raw_dir))
        return 1;
    double commits = s_raw_commits_per_s(raw_dir, 2000);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", raw_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "gridbench: could not remove %s\n", raw_dir);

    double in4[MAX_RUNS], in32[MAX_RUNS], p50s[MAX_RUNS], p99s[MAX_RUNS];
    for (int r = 0; r < runs; r++) {
        printf("gridbench: gridrelay run %d/%d...\n", r + 1, runs);
        harness_node_t node;
        if (harness_node_init(&node, "bench-village", 32) != 0 || harness_node_start(&node) != 0) {
            fprintf(stderr, "gridbench: cannot start gridrelayd\n");
            return 1;
        }
        void *ctx = zmq_ctx_new();
        in4[r] = s_ingest(&node, ctx, 4, (size_t)events / 4);
        in32[r] = s_ingest(&node, ctx, 32, (size_t)events);
        p50s[r] = p99s[r] = -1;
        if (s_latency(&node, ctx, 1000, 3, &p50s[r], &p99s[r]) != 0)
            fprintf(stderr, "gridbench: some latency probes were not answered\n");
        zmq_ctx_term(ctx);
        harness_node_stop(&node, SIGTERM);
        harness_node_cleanup(&node);
    }
    double chain[MAX_RUNS], c50s[MAX_RUNS], c99s[MAX_RUNS];
    for (int r = 0; r < runs; r++) {
        printf("gridbench: 3-tier chain run %d/%d...\n", r + 1, runs);
        s_chain_t c;
        memset(&c, 0, sizeof c);
        s_category = "SS.MASS";  /* district authority: climbs both tiers */
        if (s_chain_start(&c) != 0) {
            fprintf(stderr, "gridbench: cannot start the chain\n");
            return 1;
        }
        void *ctx = zmq_ctx_new();
        chain[r] = s_chain_throughput(&c, ctx, (size_t)events / 2);
        c50s[r] = c99s[r] = -1;
        if (s_chain_latency(&c, ctx, 100, 300, &c50s[r], &c99s[r]) != 0)
            fprintf(stderr, "gridbench: some chain latency probes did not arrive\n");
        zmq_ctx_term(ctx);
        s_chain_stop(&c);
        s_category = "SS.DISPUTE";
    }
    double mc = s_median(chain, (size_t)runs);
    double c50 = s_median(c50s, (size_t)runs), c99 = s_median(c99s, (size_t)runs);
    double m4 = s_median(in4, (size_t)runs), m32 = s_median(in32, (size_t)runs);
    double p50 = s_median(p50s, (size_t)runs), p99 = s_median(p99s, (size_t)runs);

    printf("\n%-58s %14s\n", "measure (medians of runs where marked)", "value");
    printf("%-58s %14.0f\n", "raw: Ed25519 verifies/s, one core (libsodium)", verifies);
    printf("%-58s %14.0f\n", "raw: LMDB durable commits/s (one fsync per commit)", commits);
    printf("%-58s %14.0f\n", "gridrelay: durable verified events/s, 4 clients [median]", m4);
    printf("%-58s %14.0f\n", "gridrelay: durable verified events/s, 32 clients [median]", m32);
    printf("%-58s %14.2f\n", "gridrelay: ack latency p50 ms at 1,000 events/s [median]", p50);
    printf("%-58s %14.2f\n", "gridrelay: ack latency p99 ms at 1,000 events/s [median]", p99);
    printf("%-58s %14.0f\n", "3-tier chain: sustained events/s village->district [median]", mc);
    printf("%-58s %14.2f\n", "3-tier chain: latency p50 ms at 100 events/s [median]", c50);
    printf("%-58s %14.2f\n", "3-tier chain: latency p99 ms at 100 events/s [median]", c99);
    printf("%-58s %14.2f\n", "ratio: chain events/s / single-node events/s (32 clients)", mc / m32);
    printf("%-58s %14.2f\n", "ratio: events/s (32 clients) / raw verifies/s", m32 / verifies);
    printf("%-58s %14.2f\n", "ratio: events/s (32 clients) / raw durable commits/s", m32 / commits);
    printf("%-58s %14.2f\n", "ratio: events/s (4 clients) / raw durable commits/s", m4 / commits);

    json_object *obj = json_object_new_object();
    json_object_object_add(obj, "runs", json_object_new_int(runs));
    json_object_object_add(obj, "events_per_run", json_object_new_int64(events));
    json_object_object_add(obj, "raw_ed25519_verifies_per_s", json_object_new_double(verifies));
    json_object_object_add(obj, "raw_lmdb_durable_commits_per_s", json_object_new_double(commits));
    json_object_object_add(obj, "events_per_s_4_clients", json_object_new_double(m4));
    json_object_object_add(obj, "events_per_s_32_clients", json_object_new_double(m32));
    json_object_object_add(obj, "ack_p50_ms_at_1000_per_s", json_object_new_double(p50));
    json_object_object_add(obj, "ack_p99_ms_at_1000_per_s", json_object_new_double(p99));
    json_object_object_add(obj, "chain_events_per_s", json_object_new_double(mc));
    json_object_object_add(obj, "chain_p50_ms_at_100_per_s", json_object_new_double(c50));
    json_object_object_add(obj, "chain_p99_ms_at_100_per_s", json_object_new_double(c99));
    json_object_object_add(obj, "ratio_chain_over_single_node", json_object_new_double(mc / m32));
    json_object_object_add(obj, "ratio_events32_over_verifies", json_object_new_double(m32 / verifies));
    json_object_object_add(obj, "ratio_events32_over_commits", json_object_new_double(m32 / commits));
    int rc = json_object_to_file_ext(json_path, obj, JSON_C_TO_STRING_PRETTY) == 0 ? 0 : 1;
    json_object_put(obj);
    printf("\nJSON: %s\n", json_path);
    return rc;
}
