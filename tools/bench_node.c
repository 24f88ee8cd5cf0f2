/* gridbench: real gridrelayd processes. One village node under 1..64
 * concurrent reporters (closed loop: each reporter sends its next report
 * when the last one was acknowledged), an open-loop latency probe at a
 * fixed rate, and the 3-tier chain. */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bench.h"
#include "event_id.h"

/* A village matter for the single node; a district matter (it climbs
 * both tiers) for the chain. */
#define S_VILLAGE_CATEGORY "SS.DISPUTE"
#define S_DISTRICT_CATEGORY "SS.MASS"

void bench_report_body(Gridrelay__Body *body, Gridrelay__Report *report, Gridrelay__Event *event,
                       Gridrelay__Location *loc, char *id, const char *category)
{
    gridrelay__event__init(event);
    gridrelay__location__init(loc);
    gr_event_id_new(id, gr_now_ms());
    event->id = id;
    event->category = (char *)category;
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

size_t bench_report_envelope_size(void)
{
    Gridrelay__Body body;
    Gridrelay__Report report;
    Gridrelay__Event event;
    Gridrelay__Location loc;
    char id[GR_EVENT_ID_LEN + 1];
    gr_keypair_t kp;
    if (gr_keys_generate(&kp) != 0)
        return 0;
    bench_report_body(&body, &report, &event, &loc, id, S_VILLAGE_CATEGORY);
    uint8_t *frame = NULL;
    size_t len = 0;
    if (gr_envelope_seal(&frame, &len, &kp, gr_now_ms() * 1000, gr_now_ms(), &body) != 0)
        len = 0;
    free(frame);
    return len;
}

/* ---- closed loop: throughput and ack latency for N reporters ---- */

typedef struct {
    harness_node_t *node;
    void *ctx;
    const char *category;
    size_t index;
    size_t count;
    double deadline;
    double *lat_ms;             /* count slots */
    size_t acked;
} s_worker_t;

static void *s_worker(void *arg)
{
    s_worker_t *w = arg;
    gr_client_t *client = harness_client(w->node, w->ctx, w->index);
    if (!client)
        return NULL;
    for (size_t i = 0; i < w->count && bench_now() < w->deadline; i++) {
        Gridrelay__Body body;
        Gridrelay__Report report;
        Gridrelay__Event event;
        Gridrelay__Location loc;
        char id[GR_EVENT_ID_LEN + 1];
        bench_report_body(&body, &report, &event, &loc, id, w->category);
        gr_opened_t reply;
        double t0 = bench_now();
        if (gr_client_call(client, &body, &reply, 10000, 3) != 0)
            continue;
        if (reply.body->kind_case == GRIDRELAY__BODY__KIND_ACK && w->lat_ms)
            w->lat_ms[w->acked++] = (bench_now() - t0) * 1000;
        gr_opened_clear(&reply);
    }
    gr_client_destroy(&client);
    return NULL;
}

/* `clients` reporters send `total` reports between them, each waiting for
 * its ack before the next, until done or max_s has passed. */
static int s_ingest(harness_node_t *node, void *ctx, const char *category, size_t clients,
                    size_t total, double max_s, bench_level_t *out)
{
    s_worker_t workers[BENCH_MAX_CLIENTS];
    pthread_t threads[BENCH_MAX_CLIENTS];
    size_t started = 0, per = total / clients ? total / clients : 1;
    out->clients = clients;
    out->events_per_s = out->p50_ms = out->p99_ms = out->p999_ms = -1;
    out->events = 0;
    double t0 = bench_now();
    for (size_t i = 0; i < clients; i++) {
        workers[i] = (s_worker_t){ node, ctx, category, i, per, t0 + max_s,
                                   calloc(per, sizeof(double)), 0 };
        if (!workers[i].lat_ms || pthread_create(&threads[i], NULL, s_worker, &workers[i]) != 0) {
            free(workers[i].lat_ms);
            break;
        }
        started++;
    }
    size_t acked = 0;
    for (size_t i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
        acked += workers[i].acked;
    }
    double dt = bench_now() - t0;
    double *lat = calloc(acked ? acked : 1, sizeof *lat);
    size_t n = 0;
    for (size_t i = 0; i < started; i++) {
        if (lat)
            for (size_t k = 0; k < workers[i].acked; k++)
                lat[n++] = workers[i].lat_ms[k];
        free(workers[i].lat_ms);
    }
    if (started < clients || !lat) {
        free(lat);
        return -1;
    }
    bench_sort(lat, n);
    out->events = acked;
    out->events_per_s = (double)acked / dt;
    if (n > 0) {
        out->p50_ms = bench_percentile(lat, n, 0.50);
        out->p99_ms = bench_percentile(lat, n, 0.99);
        out->p999_ms = bench_percentile(lat, n, 0.999);
    }
    free(lat);
    return 0;
}

/* Open loop: one request every 1/rate s, whatever the replies do; latency
 * from send to its ack. */
static int s_open_latency(harness_node_t *node, void *ctx, double rate, double seconds, double *p50,
                          double *p99)
{
    gr_client_t *client = harness_client(node, ctx, 0);
    size_t n = (size_t)(rate * seconds);
    double *sent = calloc(n, sizeof *sent), *lat = calloc(n, sizeof *lat);
    if (!client || !sent || !lat || n == 0) {
        gr_client_destroy(&client);
        free(sent);
        free(lat);
        return -1;
    }
    uint64_t first_seq = gr_client_next_seq(client);
    size_t sent_count = 0, got = 0;
    double start = bench_now();
    while (got < n && bench_now() - start < seconds + 10) {
        double now = bench_now();
        while (sent_count < n && now >= start + (double)sent_count / rate) {
            Gridrelay__Body body;
            Gridrelay__Report report;
            Gridrelay__Event event;
            Gridrelay__Location loc;
            char id[GR_EVENT_ID_LEN + 1];
            bench_report_body(&body, &report, &event, &loc, id, S_VILLAGE_CATEGORY);
            sent[sent_count] = bench_now();
            if (gr_client_send(client, &body, NULL, NULL, NULL) != 0)
                break;
            sent_count++;
        }
        double next = start + (double)sent_count / rate;
        int wait_ms = sent_count < n ? (int)((next - bench_now()) * 1000) : 100;
        gr_opened_t reply;
        if (gr_client_recv(client, &reply, wait_ms < 0 ? 0 : wait_ms) != 0)
            continue;
        uint64_t ref = gr_body_ref_seq(reply.body);
        if (ref >= first_seq && ref - first_seq < sent_count &&
            reply.body->kind_case == GRIDRELAY__BODY__KIND_ACK)
            lat[got++] = (bench_now() - sent[ref - first_seq]) * 1000;
        gr_opened_clear(&reply);
    }
    gr_client_destroy(&client);
    if (got > 0) {
        bench_sort(lat, got);
        *p50 = bench_percentile(lat, got, 0.50);
        *p99 = bench_percentile(lat, got, 0.99);
    }
    free(sent);
    free(lat);
    return got == n ? 0 : -1;
}

int bench_single_run(const bench_single_opts_t *o, bench_single_t *out)
{
    memset(out, 0, sizeof *out);
    out->open_p50_ms = out->open_p99_ms = -1;
    out->rss_kb = -1;
    out->disk.file_bytes = out->disk.used_bytes = out->disk.high_bytes = -1;
    size_t reporters = 1;
    for (size_t i = 0; i < o->n_levels; i++) {
        out->level[i] = (bench_level_t){ o->levels[i], -1, -1, -1, -1, 0 };
        if (o->levels[i] > reporters)
            reporters = o->levels[i];
    }
    harness_node_t node;
    if (harness_node_init(&node, "bench-village", reporters) != 0 || harness_node_start(&node) != 0) {
        fprintf(stderr, "gridbench: cannot start gridrelayd\n");
        harness_node_cleanup(&node);
        return -1;
    }
    void *ctx = zmq_ctx_new();
    int rc = ctx ? 0 : -1;
    for (size_t i = 0; ctx && i < o->n_levels; i++)
        if (s_ingest(&node, ctx, S_VILLAGE_CATEGORY, o->levels[i], o->events, o->level_max_s,
                     &out->level[i]) != 0) {
            fprintf(stderr, "gridbench: the %zu-reporter level failed\n", o->levels[i]);
            rc = -1;
        }
    if (ctx && s_open_latency(&node, ctx, o->open_rate, o->open_s, &out->open_p50_ms,
                              &out->open_p99_ms) != 0)
        fprintf(stderr, "gridbench: some open-loop latency probes were not answered\n");
    uint64_t stored = 0;
    gr_client_t *client = ctx ? harness_client(&node, ctx, 0) : NULL;
    if (client)
        stored = bench_events_stored(client);
    gr_client_destroy(&client);
    /* VmHWM must be read while the process exists. */
    out->rss_kb = bench_peak_rss_kb(node.pid);
    if (ctx)
        zmq_ctx_term(ctx);
    if (harness_node_stop(&node, SIGTERM) != 0)
        fprintf(stderr, "gridbench: gridrelayd did not stop cleanly\n");
    char store[300];
    snprintf(store, sizeof store, "%s/store", node.dir);
    if (bench_store_usage(store, stored, &out->disk) != 0)
        fprintf(stderr, "gridbench: cannot measure the store in %s\n", store);
    harness_node_cleanup(&node);
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
        if (nodes[i]->pid > 0 && harness_node_stop(nodes[i], SIGTERM) != 0)
            fprintf(stderr, "gridbench: a chain node did not stop cleanly\n");
        harness_node_cleanup(nodes[i]);
    }
}

/* Sustained events/s from 32 village clients until the district has
 * stored all of them (durable and verified at every hop). */
static double s_chain_throughput(s_chain_t *c, void *ctx, size_t total)
{
    gr_client_t *district = harness_client(&c->district, ctx, 0);
    if (!district)
        return -1;
    uint64_t before = bench_events_stored(district);
    total -= total % 32;  /* what 32 clients send in equal shares */
    double t0 = bench_now();
    bench_level_t level;
    s_ingest(&c->village, ctx, S_DISTRICT_CATEGORY, 32, total, 300, &level);
    while (bench_events_stored(district) < before + level.events && bench_now() - t0 < 300)
        poll(NULL, 0, 5);
    double dt = bench_now() - t0;
    uint64_t got = bench_events_stored(district) - before;
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
    double start = bench_now();
    for (size_t i = 0; village && district && lat && i < n; i++) {
        while (bench_now() < start + (double)i / rate)
            poll(NULL, 0, 1);
        Gridrelay__Body body;
        Gridrelay__Report report;
        Gridrelay__Event event;
        Gridrelay__Location loc;
        char id[GR_EVENT_ID_LEN + 1];
        bench_report_body(&body, &report, &event, &loc, id, S_DISTRICT_CATEGORY);
        double t0 = bench_now();
        gr_opened_t reply;
        if (gr_client_call(village, &body, &reply, 5000, 3) != 0)
            continue;
        gr_opened_clear(&reply);
        Gridrelay__GetEvent get = GRIDRELAY__GET_EVENT__INIT;
        get.event_id = id;
        Gridrelay__Body q = GRIDRELAY__BODY__INIT;
        q.kind_case = GRIDRELAY__BODY__KIND_GET_EVENT;
        q.get_event = &get;
        while (bench_now() - t0 < 5) {
            if (gr_client_call(district, &q, &reply, 2000, 2) != 0)
                break;
            int found = reply.body->kind_case == GRIDRELAY__BODY__KIND_EVENT_DETAIL;
            gr_opened_clear(&reply);
            if (found) {
                lat[got++] = (bench_now() - t0) * 1000;
                break;
            }
            poll(NULL, 0, 1);
        }
    }
    gr_client_destroy(&village);
    gr_client_destroy(&district);
    if (got > 0) {
        bench_sort(lat, got);
        *p50 = bench_percentile(lat, got, 0.50);
        *p99 = bench_percentile(lat, got, 0.99);
    }
    free(lat);
    return got == n ? 0 : -1;
}

int bench_chain_run(size_t events, bench_chain_t *out)
{
    out->events_per_s = out->p50_ms = out->p99_ms = -1;
    out->rss_kb[0] = out->rss_kb[1] = out->rss_kb[2] = -1;
    s_chain_t c;
    memset(&c, 0, sizeof c);
    void *ctx = NULL;
    int rc = -1;
    if (s_chain_start(&c) != 0) {
        fprintf(stderr, "gridbench: cannot start the chain\n");
        goto out;
    }
    if (!(ctx = zmq_ctx_new()))
        goto out;
    out->events_per_s = s_chain_throughput(&c, ctx, events);
    if (s_chain_latency(&c, ctx, 100, 300, &out->p50_ms, &out->p99_ms) != 0)
        fprintf(stderr, "gridbench: some chain latency probes did not arrive\n");
    out->rss_kb[0] = bench_peak_rss_kb(c.village.pid);
    out->rss_kb[1] = bench_peak_rss_kb(c.township.pid);
    out->rss_kb[2] = bench_peak_rss_kb(c.district.pid);
    rc = 0;
out:
    if (ctx)
        zmq_ctx_term(ctx);
    s_chain_stop(&c);
    return rc;
}
