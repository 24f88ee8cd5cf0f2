/* gridbench: real gridrelayd processes. One village node under 1..64
 * concurrent reporters (closed loop: each reporter sends its next report
 * when the last one was acknowledged), an open-loop latency probe at a
 * fixed rate, the 3-tier chain, and the chain kill run: the township
 * SIGKILLed mid-stream and restarted on its store, then what reached the
 * district counted against what the village acknowledged. */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bench.h"
#include "event_id.h"
#include "wire.h"

/* A village matter for the single node; a district matter (it climbs
 * both tiers) for the chain. */
#define S_VILLAGE_CATEGORY "SS.DISPUTE"
#define S_DISTRICT_CATEGORY "SS.MASS"

uint32_t bench_client_version = GR_PROTOCOL_VERSION_MAX;

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
    bench_report_wrap(body, report, event);
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

/* The reporters' start line: each says it has sealed its reports, then
 * waits for the go. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t ready;
    bool go;
} s_start_t;

static void s_start_wait(s_start_t *st)
{
    pthread_mutex_lock(&st->lock);
    st->ready++;
    pthread_cond_broadcast(&st->cond);
    while (!st->go)
        pthread_cond_wait(&st->cond, &st->lock);
    pthread_mutex_unlock(&st->lock);
}

/* Waits until n reporters are ready, then lets them go. */
static void s_start_go(s_start_t *st, size_t n)
{
    pthread_mutex_lock(&st->lock);
    while (st->ready < n)
        pthread_cond_wait(&st->cond, &st->lock);
    st->go = true;
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->lock);
}

typedef struct {
    harness_node_t *node;
    void *ctx;
    const char *category;
    size_t index;
    size_t count;
    double max_s;
    s_start_t *start;           /* every reporter sealed its reports */
    double *lat_ms;             /* count slots */
    size_t acked;
    gr_client_checks_t checks;
    uint64_t id_base_ms;        /* report k's id carries the time id_base_ms + k */
} s_worker_t;

/* Seals the worker's reports (before the clock: what a reporter's phone
 * did before it reached the node is not the node's cost), waits for the
 * others, then sends each and waits for its Ack. */
static void *s_worker(void *arg)
{
    s_worker_t *w = arg;
    gr_client_t *client = harness_client(w->node, w->ctx, w->index);
    uint8_t **frame = calloc(w->count, sizeof *frame);
    size_t *len = calloc(w->count, sizeof *len);
    uint64_t *seq = calloc(w->count, sizeof *seq);
    size_t sealed = 0;
    if (client && frame && len && seq) {
        gr_client_set_verify_every(client, BENCH_VERIFY_EVERY);
        gr_client_set_version(client, bench_client_version);
        for (; sealed < w->count; sealed++) {
            Gridrelay__Body body;
            Gridrelay__Report report;
            Gridrelay__Event event;
            Gridrelay__Location loc;
            char id[GR_EVENT_ID_LEN + 1];
            bench_report_body(&body, &report, &event, &loc, id, w->category);
            /* Each reporter's k-th report gets the same millisecond, as
             * if made when it is sent (they go out together, one per
             * reporter, in a closed loop). Made at sealing time, a
             * thread's ids would cluster by thread (each seals its whole
             * share in one time slice), and every commit's events would
             * land on pages of their own in each id-keyed database. */
            gr_event_id_new(id, w->id_base_ms + sealed);
            if (gr_client_seal(client, &body, &seq[sealed], &frame[sealed], &len[sealed]) != 0)
                break;
        }
    }
    s_start_wait(w->start);
    double deadline = bench_now() + w->max_s;
    for (size_t i = 0; i < sealed && bench_now() < deadline; i++) {
        gr_opened_t reply;
        double t0 = bench_now();
        if (gr_client_call_raw(client, frame[i], len[i], seq[i], &reply, 10000, 3) != 0)
            continue;
        if (reply.body->kind_case == GRIDRELAY__BODY__KIND_ACK && w->lat_ms)
            w->lat_ms[w->acked++] = (bench_now() - t0) * 1000;
        gr_opened_clear(&reply);
    }
    if (client)
        gr_client_checks(client, &w->checks);
    for (size_t i = 0; i < sealed; i++)
        free(frame[i]);
    free(frame);
    free(len);
    free(seq);
    gr_client_destroy(&client);
    return NULL;
}

/* `clients` reporters send `total` reports between them, each waiting for
 * its ack before the next, until done or max_s has passed. The clock
 * starts once every reporter has sealed its reports. */
static int s_ingest(harness_node_t *node, void *ctx, const char *category, size_t clients,
                    size_t total, double max_s, bench_level_t *out)
{
    s_worker_t workers[BENCH_MAX_CLIENTS];
    pthread_t threads[BENCH_MAX_CLIENTS];
    size_t started = 0, per = total / clients ? total / clients : 1;
    out->clients = clients;
    out->events_per_s = out->p50_ms = out->p99_ms = out->p999_ms = -1;
    out->gen_cpu_s = out->node_cpu_s = out->verified_share = -1;
    out->commits = out->write_bytes = out->node_main_cpu_s = -1;
    out->events = 0;
    s_start_t start = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false };
    uint64_t id_base_ms = gr_now_ms();
    for (size_t i = 0; i < clients; i++) {
        workers[i] = (s_worker_t){ node, ctx, category, i, per, max_s, &start,
                                   calloc(per, sizeof(double)), 0, { 0 }, id_base_ms };
        if (!workers[i].lat_ms || pthread_create(&threads[i], NULL, s_worker, &workers[i]) != 0) {
            free(workers[i].lat_ms);
            break;
        }
        started++;
    }
    /* The node's commits and disk writes: read around the level by a
     * client of its own (GetStats is a read: no commit of its own). */
    gr_client_t *stats = harness_client(node, ctx, 0);
    double commits0 = stats ? (double)bench_counter(stats, "batches") : -1;
    double wb0 = bench_proc_write_bytes(node->pid);
    s_start_go(&start, started);
    double t0 = bench_now();
    double gen0 = bench_self_cpu_s(), node0 = bench_proc_cpu_s(node->pid);
    double main0 = bench_main_thread_cpu_s(node->pid);
    size_t acked = 0;
    gr_client_checks_t checks = { 0 };
    for (size_t i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
        acked += workers[i].acked;
        checks.replies += workers[i].checks.replies;
        checks.signatures += workers[i].checks.signatures;
        checks.cached += workers[i].checks.cached;
    }
    double dt = bench_now() - t0;
    double gen1 = bench_self_cpu_s(), node1 = bench_proc_cpu_s(node->pid);
    double main1 = bench_main_thread_cpu_s(node->pid);
    if (main0 >= 0 && main1 >= 0)
        out->node_main_cpu_s = main1 - main0;
    if (gen0 >= 0 && gen1 >= 0)
        out->gen_cpu_s = gen1 - gen0;
    if (node0 >= 0 && node1 >= 0)
        out->node_cpu_s = node1 - node0;
    double wb1 = bench_proc_write_bytes(node->pid);
    double commits1 = stats ? (double)bench_counter(stats, "batches") : -1;
    gr_client_destroy(&stats);
    out->commits = commits0 >= 0 && commits1 >= commits0 ? commits1 - commits0 : -1;
    out->write_bytes = wb0 >= 0 && wb1 >= wb0 ? wb1 - wb0 : -1;
    if (checks.replies)
        out->verified_share = (double)(checks.signatures + checks.cached) / (double)checks.replies;
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
    if (client)
        gr_client_set_version(client, bench_client_version);
    size_t n = (size_t)(rate * seconds);
    double *sent = calloc(n, sizeof *sent), *lat = calloc(n, sizeof *lat);
    if (!client || !sent || !lat || n == 0) {
        gr_client_destroy(&client);
        free(sent);
        free(lat);
        return -1;
    }
    /* One round trip first: the connection's CURVE handshake is not part
     * of what a report costs (unwarmed, it held the first dozen reports
     * ~15 ms and so set the p99 on its own). */
    if (bench_events_stored(client) == 0)
        fprintf(stderr, "gridbench: the open-loop probe's warm-up request got no answer\n");
    /* Sealed before the clock, like the closed loop's; every reply's
     * signature is checked (at 1,000/s the client is not the limit). */
    uint64_t first_seq = gr_client_next_seq(client);
    uint8_t **frame = calloc(n, sizeof *frame);
    size_t *flen = calloc(n, sizeof *flen);
    size_t sealed = 0;
    for (; frame && flen && sealed < n; sealed++) {
        Gridrelay__Body body;
        Gridrelay__Report report;
        Gridrelay__Event event;
        Gridrelay__Location loc;
        char id[GR_EVENT_ID_LEN + 1];
        uint64_t seq = 0;
        bench_report_body(&body, &report, &event, &loc, id, S_VILLAGE_CATEGORY);
        if (gr_client_seal(client, &body, &seq, &frame[sealed], &flen[sealed]) != 0)
            break;
    }
    size_t sent_count = 0, got = 0;
    double start = bench_now();
    while (got < n && bench_now() - start < seconds + 10) {
        double now = bench_now();
        while (sent_count < sealed && now >= start + (double)sent_count / rate) {
            sent[sent_count] = bench_now();
            if (gr_client_send_raw(client, frame[sent_count], flen[sent_count]) != 0)
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
    for (size_t i = 0; i < sealed; i++)
        free(frame[i]);
    free(frame);
    free(flen);
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
        out->level[i] = (bench_level_t){ o->levels[i], -1, -1, -1, -1, 0, -1, -1, -1, -1, -1, -1 };
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

/* What the chain's nodes have done so far: CPU, commits, link counters. */
typedef struct {
    double cpu[3];              /* village, township, district */
    uint64_t commits[3];
    double wchar[3], disk[3];
    bench_link_counts_t up[2];  /* the village's and the township's parent links */
    double gen_cpu;
} s_chain_mark_t;

static void s_chain_mark(s_chain_t *c, gr_client_t *const *clients, s_chain_mark_t *m)
{
    const harness_node_t *nodes[3] = { &c->village, &c->township, &c->district };
    m->gen_cpu = bench_self_cpu_s();
    for (int i = 0; i < 3; i++) {
        m->cpu[i] = bench_proc_cpu_s(nodes[i]->pid);
        bench_proc_io(nodes[i]->pid, &m->wchar[i], &m->disk[i]);
        m->commits[i] = clients[i] ? bench_counter(clients[i], "batches") : 0;
    }
    for (int i = 0; i < 2; i++)
        if (!clients[i] || bench_link_counts(clients[i], "parent", &m->up[i]) != 0)
            memset(&m->up[i], 0, sizeof m->up[i]);
}

/* Per 1,000 events, or -1 when either side is missing. */
static double s_per_1k(double before, double after, uint64_t events)
{
    if (before < 0 || after < 0 || events == 0)
        return -1;
    return (after - before) * 1000.0 / (double)events;
}

/* Sustained events/s from 32 village clients until the district has
 * stored all of them (durable and verified at every hop), with what each
 * node spent on them (out's per-1,000 figures). */
static double s_chain_throughput(s_chain_t *c, void *ctx, size_t total, bench_chain_t *out)
{
    gr_client_t *clients[3] = { harness_client(&c->village, ctx, 0),
                                harness_client(&c->township, ctx, 0),
                                harness_client(&c->district, ctx, 0) };
    gr_client_t *district = clients[2];
    double rate = -1;
    if (!district)
        goto out;
    s_chain_mark_t m0, m1;
    s_chain_mark(c, clients, &m0);
    uint64_t before = bench_events_stored(district);
    total -= total % 32;  /* what 32 clients send in equal shares */
    double t0 = bench_now();
    bench_level_t level;
    s_ingest(&c->village, ctx, S_DISTRICT_CATEGORY, 32, total, 300, &level);
    while (bench_events_stored(district) < before + level.events && bench_now() - t0 < 300)
        poll(NULL, 0, 5);
    double dt = bench_now() - t0;
    uint64_t got = bench_events_stored(district) - before;
    rate = (double)got / dt;
    s_chain_mark(c, clients, &m1);
    out->gen_cpu_per_1k = s_per_1k(m0.gen_cpu, m1.gen_cpu, got);
    for (int i = 0; i < 3; i++) {
        out->cpu_per_1k[i] = s_per_1k(m0.cpu[i], m1.cpu[i], got);
        out->commits_per_1k[i] = clients[i] ? s_per_1k((double)m0.commits[i], (double)m1.commits[i], got)
                                            : -1;
        double w = s_per_1k(m0.wchar[i], m1.wchar[i], got);
        out->wchar_per_event[i] = w < 0 ? -1 : w / 1000;
        double d = s_per_1k(m0.disk[i], m1.disk[i], got);
        out->disk_per_event[i] = d < 0 ? -1 : d / 1000;
        uint64_t commits = m1.commits[i] - m0.commits[i];
        out->pages_per_commit[i] = w >= 0 && commits ? w / 1000 * (double)got / 4096 / (double)commits
                                                     : -1;
    }
    for (int i = 0; i < 2; i++) {
        uint64_t frames = m1.up[i].batches - m0.up[i].batches;
        uint64_t items = m1.up[i].batched - m0.up[i].batched;
        out->entries_per_frame[i] = frames ? (double)items / (double)frames : -1;
        out->resent_per_1k[i] = s_per_1k((double)m0.up[i].resent, (double)m1.up[i].resent, got);
    }
out:
    for (int i = 0; i < 3; i++)
        gr_client_destroy(&clients[i]);
    return rate;
}

/* Village -> district latency at about `rate` events/s: each event is
 * reported at the village and the district is asked for it every
 * millisecond until it holds it (so figures include up to ~1 ms of
 * polling granularity). */
static int s_chain_latency(s_chain_t *c, void *ctx, double rate, size_t n, bench_chain_t *out)
{
    gr_client_t *village = harness_client(&c->village, ctx, 0);
    gr_client_t *township = harness_client(&c->township, ctx, 0);
    gr_client_t *district = harness_client(&c->district, ctx, 0);
    gr_client_t *nodes[3] = { village, township, district };
    uint64_t commits0[3] = { 0, 0, 0 };
    for (int k = 0; k < 3; k++)
        commits0[k] = nodes[k] ? bench_counter(nodes[k], "batches") : 0;
    double *lat = calloc(n, sizeof *lat);
    size_t got = 0;
    /* Both connections' handshakes before the clock, as in the open loop. */
    if (village && district && (bench_events_stored(village) == 0 || bench_events_stored(district) == 0))
        fprintf(stderr, "gridbench: a chain latency warm-up request got no answer\n");
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
    for (int k = 0; k < 3; k++)
        if (nodes[k] && got > 0)
            out->probe_commits[k] = (double)(bench_counter(nodes[k], "batches") - commits0[k]) /
                                    (double)got;
    gr_client_destroy(&village);
    gr_client_destroy(&township);
    gr_client_destroy(&district);
    if (got > 0) {
        bench_sort(lat, got);
        out->p50_ms = bench_percentile(lat, got, 0.50);
        out->p99_ms = bench_percentile(lat, got, 0.99);
    }
    free(lat);
    return got == n ? 0 : -1;
}

int bench_chain_run(size_t events, size_t probes, bench_chain_t *out)
{
    out->events_per_s = out->p50_ms = out->p99_ms = out->gen_cpu_per_1k = -1;
    for (int i = 0; i < 3; i++) {
        out->rss_kb[i] = out->probe_commits[i] = -1;
        out->cpu_per_1k[i] = out->commits_per_1k[i] = -1;
        out->wchar_per_event[i] = out->disk_per_event[i] = out->pages_per_commit[i] = -1;
    }
    for (int i = 0; i < 2; i++)
        out->entries_per_frame[i] = out->resent_per_1k[i] = -1;
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
    out->events_per_s = s_chain_throughput(&c, ctx, events, out);
    if (s_chain_latency(&c, ctx, 100, probes, out) != 0)
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

/* ---- the chain kill run: SIGKILL the township mid-stream ---- */

#define S_KILL_RESEND_S 2.0   /* a report unanswered this long is sent again */
#define S_KILL_STALL_S 60.0   /* no answer at all this long: the run failed */
#define S_KILL_QUIET_S 10.0   /* the district still this long: the rest is lost */

typedef struct {
    char id[GR_EVENT_ID_LEN + 1];
    uint8_t *frame;             /* sealed, for a resend; freed once answered */
    size_t len;
    double sent_at;
    bool answered;
    bool acked;
} s_slot_t;

/* Kills the township and starts it again on its own store and config at
 * once (the endpoints stay the same, so both links reconnect by
 * themselves). */
static int s_kill_township(s_chain_t *c, bench_kill_t *out)
{
    printf("gridbench: kill run: SIGKILL the township at %llu acknowledged, restarting it\n",
           (unsigned long long)out->acked);
    double t = bench_now();
    out->killed_at = out->acked;
    if (harness_node_stop(&c->township, SIGKILL) != 128 + SIGKILL) {
        fprintf(stderr, "gridbench: kill run: the township did not die of SIGKILL\n");
        return -1;
    }
    if (harness_node_start(&c->township) != 0) {
        fprintf(stderr, "gridbench: kill run: the township did not restart; see %s\n", c->township.dir);
        return -1;
    }
    out->restart_s = bench_now() - t;
    return 0;
}

/* Sends every report with at most `window` unanswered, resending any that
 * waited S_KILL_RESEND_S (the village answers a resend from its dedup
 * table, so this can neither lose nor duplicate), and kills the township
 * once half are acknowledged. 0, or -1 when the village stopped
 * answering. */
static int s_kill_send(s_chain_t *c, void *ctx, s_slot_t *slot, size_t n, size_t window,
                       bench_kill_t *out)
{
    gr_client_t *client = harness_client(&c->village, ctx, 0);
    if (!client)
        return -1;
    uint64_t first = gr_client_next_seq(client);
    size_t next = 0, answered = 0, oldest = 0;
    double progress = bench_now(), scanned = bench_now();
    bool killed = false;
    int rc = -1;
    while (answered < n) {
        while (next < n && next - answered < window) {
            Gridrelay__Body body;
            Gridrelay__Report report;
            Gridrelay__Event event;
            Gridrelay__Location loc;
            uint64_t seq = 0;
            bench_report_body(&body, &report, &event, &loc, slot[next].id, S_DISTRICT_CATEGORY);
            if (gr_client_send(client, &body, &seq, &slot[next].frame, &slot[next].len) != 0)
                goto out;
            /* Replies are matched by seq - first: the client numbers
             * requests consecutively. */
            if (seq != first + next) {
                fprintf(stderr, "gridbench: kill run: the client skipped a sequence number\n");
                goto out;
            }
            slot[next++].sent_at = bench_now();
            out->sent++;
        }
        gr_opened_t reply;
        if (gr_client_recv(client, &reply, 20) == 0) {
            uint64_t ref = gr_body_ref_seq(reply.body);
            s_slot_t *s = ref >= first && ref - first < next ? &slot[ref - first] : NULL;
            if (s && !s->answered) {
                s->answered = true;
                s->acked = reply.body->kind_case == GRIDRELAY__BODY__KIND_ACK;
                free(s->frame);
                s->frame = NULL;
                answered++;
                if (s->acked)
                    out->acked++;
                else
                    out->refused++;
                progress = bench_now();
            }
            gr_opened_clear(&reply);
        }
        if (!killed && out->acked >= n / 2) {
            if (s_kill_township(c, out) != 0)
                goto out;
            killed = true;
        }
        double now = bench_now();
        if (now - progress > S_KILL_STALL_S) {
            fprintf(stderr, "gridbench: kill run: the village answered nothing for %.0f s\n",
                    S_KILL_STALL_S);
            goto out;
        }
        if (now - scanned < 0.5)
            continue;
        scanned = now;
        while (oldest < next && slot[oldest].answered)
            oldest++;
        for (size_t i = oldest; i < next; i++)
            if (!slot[i].answered && now - slot[i].sent_at > S_KILL_RESEND_S) {
                if (gr_client_send_raw(client, slot[i].frame, slot[i].len) != 0)
                    goto out;
                slot[i].sent_at = now;
                out->resent++;
            }
    }
    rc = 0;
out:
    gr_client_destroy(&client);
    return rc;
}

/* Waits until the district's events_stored reaches what the village
 * acknowledged, or stays still for S_KILL_QUIET_S. The links resend with
 * a back-off, so progress comes in steps after the restart; the quiet
 * limit is what declares the rest lost. */
static void s_kill_wait(gr_client_t *district, double t0, bench_kill_t *out)
{
    uint64_t last = 0;
    double changed = bench_now();
    for (;;) {
        uint64_t stored = bench_events_stored(district);  /* 0: no answer, or none yet */
        double now = bench_now();
        if (stored != 0 && stored != last) {
            last = stored;
            changed = now;
        }
        if (last >= out->acked) {
            out->complete = true;
            out->total_s = now - t0;
            return;
        }
        if (now - changed >= S_KILL_QUIET_S) {
            out->total_s = changed - t0;
            return;
        }
        poll(NULL, 0, 20);  /* the polling step of a bounded wait */
    }
}

typedef struct {
    char (*ids)[GR_EVENT_ID_LEN + 1];
    size_t count, cap;
} s_ids_t;

static int s_ids_push(s_ids_t *v, const char *id)
{
    if (v->count == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 4096;
        void *p = realloc(v->ids, cap * sizeof *v->ids);
        if (!p)
            return -1;
        v->ids = p;
        v->cap = cap;
    }
    snprintf(v->ids[v->count++], sizeof v->ids[0], "%s", id);
    return 0;
}

static int s_id_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* bench_list_events()' callback: one more id the district holds. */
static int s_kill_listed(void *arg, const char *id)
{
    return s_ids_push(arg, id);
}

/* Every event id the district holds, through ListEvents pages as an
 * operator would list them. 0 or -1. */
static int s_kill_list(gr_client_t *district, s_ids_t *out)
{
    return bench_list_events(district, s_kill_listed, out);
}

/* Compares what the village acknowledged with what the district lists.
 * Event ids are unique keys of the district's store, so the listing
 * cannot show a duplicate; a case stored twice would show as
 * events_stored above the number of distinct ids, and that is what is
 * checked. 0 or -1. */
static int s_kill_count(gr_client_t *district, const s_slot_t *slot, size_t n, bench_kill_t *out)
{
    s_ids_t held = { 0 }, sent = { 0 };
    int rc = -1;
    out->district_stored = bench_events_stored(district);
    if (s_kill_list(district, &held) != 0) {
        fprintf(stderr, "gridbench: kill run: cannot list the district's events\n");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (slot[i].id[0] && s_ids_push(&sent, slot[i].id) != 0)
            goto out;
    out->listed = held.count;
    if (held.count)
        qsort(held.ids, held.count, sizeof *held.ids, s_id_cmp);
    if (sent.count)
        qsort(sent.ids, sent.count, sizeof *sent.ids, s_id_cmp);
    size_t distinct = 0;
    for (size_t i = 0; i < held.count; i++) {
        if (i > 0 && strcmp(held.ids[i], held.ids[i - 1]) == 0)
            continue;
        distinct++;
        if (sent.count && bsearch(held.ids[i], sent.ids, sent.count, sizeof *sent.ids, s_id_cmp))
            out->received++;
    }
    for (size_t i = 0; i < n; i++)
        if (slot[i].acked &&
            !(held.count && bsearch(slot[i].id, held.ids, held.count, sizeof *held.ids, s_id_cmp)))
            out->lost++;
    uint64_t listed_twice = held.count - distinct;
    if (out->district_stored >= distinct) {
        out->duplicates = (int64_t)(out->district_stored - distinct + listed_twice);
        if (out->duplicates > 0)
            fprintf(stderr, "gridbench: kill run: the district's events_stored (%llu) exceeds its "
                    "distinct event ids (%zu): counted as duplicates\n",
                    (unsigned long long)out->district_stored, distinct);
    } else {
        fprintf(stderr, "gridbench: kill run: the district lists %zu distinct ids but its "
                "events_stored is %llu: duplicates unknown\n", distinct,
                (unsigned long long)out->district_stored);
    }
    rc = 0;
out:
    free(held.ids);
    free(sent.ids);
    return rc;
}

int bench_kill_run(size_t events, size_t window, bench_kill_t *out)
{
    memset(out, 0, sizeof *out);
    out->duplicates = -1;
    out->restart_s = out->send_s = out->total_s = -1;
    s_chain_t c;
    memset(&c, 0, sizeof c);
    void *ctx = NULL;
    gr_client_t *district = NULL;
    s_slot_t *slot = calloc(events, sizeof *slot);
    int rc = -1;
    if (!slot)
        goto out;
    if (s_chain_start(&c) != 0) {
        fprintf(stderr, "gridbench: kill run: cannot start the chain\n");
        goto out;
    }
    if (!(ctx = zmq_ctx_new()) || !(district = harness_client(&c.district, ctx, 0)))
        goto out;
    double t0 = bench_now();
    if (s_kill_send(&c, ctx, slot, events, window, out) != 0)
        goto out;
    out->send_s = bench_now() - t0;
    s_kill_wait(district, t0, out);
    if (s_kill_count(district, slot, events, out) != 0)
        goto out;
    printf("gridbench: kill run: acked %llu, received %llu, lost %llu, duplicates %lld, %.1f s%s\n",
           (unsigned long long)out->acked, (unsigned long long)out->received,
           (unsigned long long)out->lost, (long long)out->duplicates, out->total_s,
           out->complete ? "" : " (the district stopped making progress)");
    rc = 0;
out:
    gr_client_destroy(&district);
    if (ctx)
        zmq_ctx_term(ctx);
    s_chain_stop(&c);
    for (size_t i = 0; slot && i < events; i++)
        free(slot[i].frame);
    free(slot);
    return rc;
}
