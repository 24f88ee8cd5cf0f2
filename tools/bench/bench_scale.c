/* gridbench: one district under many villages.
 *
 * A real gridrelayd district is configured with --scale-links children,
 * each a fresh Ed25519 village key. This process then plays every village
 * at once from one thread: one broker/link.c upward link per village (a
 * CURVE DEALER with the village's key and its node id as routing id,
 * exactly what a village's gridrelayd opens), all polled together. Each
 * link's "outbox" is an array of Escalate frames sealed before the clock
 * starts, so the burst measures the district, not our signing:
 *
 *   Escalate { origin_envelope = a grid worker's signed Report envelope,
 *              hops = [ the village's signed version-2 Hop ],
 *              status_below = REPORTED }
 *
 * stored as a village of link protocol 2 stores it: an unsigned outbox
 * entry, which the link sends in batch frames under one signed Merkle head
 * (docs/PROTOCOL.md 8.3, 8.9). The link keeps at most
 * --scale-window of them unacknowledged, resends the whole window when the
 * oldest has waited 1 s (doubling to 30 s), and takes each Ack (sent by
 * the district after its commit) out of the window, as between real nodes.
 * CatchUp requests are answered with an empty StatusBatch: these villages
 * publish no status.
 *
 * The district's category is SS.MASS (district authority): it is the top
 * tier and keeps every case, so each escalation costs it the reporter's
 * signature, its share of a frame's two (the envelope's and the batch
 * head's), the store writes of a new case, and its share of a signed
 * AckBatch. The village's own hop is covered by the frame it came in.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bench.h"
#include "error.h"
#include "event_id.h"
#include "hop.h"
#include "link.h"
#include "linkbatch.h"

#define S_CATEGORY "SS.MASS"
#define S_CONNECT_MAX_S 120.0
#define S_SEAL_THREADS 2
#define S_ID_MAX 32

typedef struct s_sim s_sim_t;

/* One simulated village: its keys, its sealed outbox, its link. */
typedef struct {
    s_sim_t *sim;
    char id[S_ID_MAX];
    gr_keypair_t kp;            /* the village node's identity */
    gr_keypair_t worker;        /* its grid worker, who signs the reports */
    uint64_t base_seq;          /* seq of outbox item 0; item i has base_seq + i */
    uint8_t **frames;           /* sealed Escalates; freed once the link holds a copy */
    size_t *lens;
    double *first_sent;         /* when each item was handed to the link */
    size_t n;
    size_t acked;
    uint64_t extra_seq;         /* heartbeats and replies: above the outbox range */
    bool released;              /* the burst has started: load hands out items */
    gr_link_t *link;
    double due;                 /* when the link next needs a tick */
} s_village_t;

struct s_sim {
    s_village_t *v;
    size_t n;
    size_t total;
    size_t acked;
    double last_ack;
    double *lat_ms;             /* first hand-over to ack, one per acked item */
    uint64_t refused;           /* Error replies */
    pid_t district;             /* whose RssAnon the burst samples */
};

/* ---- link callbacks ---- */

static int s_load(void *ctx, gr_link_t *link, uint64_t after, size_t max)
{
    s_village_t *v = ctx;
    if (!v->released)
        return 0;
    size_t start = after < v->base_seq ? 0 : (size_t)(after - v->base_seq + 1);
    size_t emitted = 0;
    for (size_t i = start; i < v->n && emitted < max; i++, emitted++) {
        gr_link_item_t item = { v->base_seq + i, v->frames[i], v->lens[i] };
        v->first_sent[i] = bench_now();
        int rc = gr_link_emit(link, &item);
        if (rc != 0)
            return rc;
        /* The link copied it, and never asks for an item twice. */
        free(v->frames[i]);
        v->frames[i] = NULL;
    }
    return (int)emitted;
}

static void s_acked(void *ctx, uint64_t seq)
{
    s_village_t *v = ctx;
    s_sim_t *sim = v->sim;
    if (seq < v->base_seq || seq - v->base_seq >= v->n)
        return;
    double now = bench_now();
    v->acked++;
    sim->lat_ms[sim->acked++] = (now - v->first_sent[seq - v->base_seq]) * 1000;
    sim->last_ack = now;
}

static uint64_t s_next_seq(void *ctx)
{
    s_village_t *v = ctx;
    return v->base_seq + v->n + v->extra_seq++;
}

/* The district asks each child for its status log; these have none. */
static void s_answer_catchup(s_village_t *v, gr_link_t *link, const gr_opened_t *opened)
{
    Gridrelay__StatusBatch batch = GRIDRELAY__STATUS_BATCH__INIT;
    batch.ref_seq = opened->envelope->seq;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_STATUS_BATCH;
    body.status_batch = &batch;
    uint8_t *frame = NULL;
    size_t len = 0;
    if (gr_envelope_seal(&frame, &len, &v->kp, s_next_seq(v), gr_now_ms(), &body) != 0)
        return;
    /* Not retried: the district asks again. */
    (void)gr_link_send(link, frame, len);
    free(frame);
}

static void s_message(void *ctx, gr_link_t *link, const gr_opened_t *opened, const uint8_t *frame,
                      size_t len)
{
    (void)frame;
    (void)len;
    s_village_t *v = ctx;
    if (opened->body->kind_case == GRIDRELAY__BODY__KIND_CATCH_UP)
        s_answer_catchup(v, link, opened);
    else if (opened->body->kind_case == GRIDRELAY__BODY__KIND_ERROR)
        v->sim->refused++;
}

/* ---- sealing the outboxes before the clock starts ---- */

/* One Escalate as a village's gridrelayd would send it for a report its
 * grid worker made there. Returns 0 or an error code. */
static int s_seal_one(s_village_t *v, size_t i, uint64_t now_ms)
{
    Gridrelay__Body body;
    Gridrelay__Report report;
    Gridrelay__Event event;
    Gridrelay__Location loc;
    char id[GR_EVENT_ID_LEN + 1];
    bench_report_body(&body, &report, &event, &loc, id, S_CATEGORY);
    event.origin_node = v->id;
    event.created_ms = now_ms;
    uint8_t *origin = NULL;
    size_t origin_len = 0;
    int rc = gr_envelope_seal(&origin, &origin_len, &v->worker, v->base_seq + i, now_ms, &body);
    if (rc != 0)
        return rc;
    Gridrelay__Hop hop = GRIDRELAY__HOP__INIT;
    Gridrelay__Hop *hops[1] = { &hop };
    hop.node_id = v->id;
    hop.tier_level = 1;
    hop.reason = "outside_authority";
    hop.time_ms = now_ms;
    uint8_t sig[GR_SIGNATURE_BYTES];
    rc = gr_hop_sign_bound(&hop, id, origin, origin_len, &v->kp, sig);
    if (rc == 0) {
        Gridrelay__Escalate esc = GRIDRELAY__ESCALATE__INIT;
        esc.origin_envelope.data = origin;
        esc.origin_envelope.len = origin_len;
        esc.hops = hops;
        esc.n_hops = 1;
        esc.status_below = GRIDRELAY__STATUS__REPORTED;
        Gridrelay__Body outer = GRIDRELAY__BODY__INIT;
        outer.kind_case = GRIDRELAY__BODY__KIND_ESCALATE;
        outer.escalate = &esc;
        /* An outbox entry as a village of link protocol 2 stores it:
         * unsigned; the link signs the head of each batch frame it sends
         * (PROTOCOL.md 8.9), here on the clock, as a village would. */
        size_t body_len = 0;
        uint8_t *bytes = gr_body_pack(&outer, &body_len);
        rc = bytes ? gr_linkbatch_entry_pack(&v->frames[i], &v->lens[i], v->kp.pk,
                                             v->base_seq + i, now_ms, bytes, body_len)
                   : GR_ENOMEM;
        free(bytes);
    }
    free(origin);
    return rc;
}

typedef struct {
    s_sim_t *sim;
    size_t from, to;            /* villages [from, to) */
    int rc;
} s_sealer_t;

static void *s_sealer(void *arg)
{
    s_sealer_t *s = arg;
    uint64_t now_ms = gr_now_ms();
    s->rc = 0;
    for (size_t k = s->from; k < s->to && s->rc == 0; k++)
        for (size_t i = 0; i < s->sim->v[k].n && s->rc == 0; i++)
            s->rc = s_seal_one(&s->sim->v[k], i, now_ms);
    return NULL;
}

static int s_seal_all(s_sim_t *sim)
{
    pthread_t threads[S_SEAL_THREADS];
    s_sealer_t sealers[S_SEAL_THREADS];
    size_t started = 0;
    int rc = 0;
    for (size_t t = 0; t < S_SEAL_THREADS; t++) {
        sealers[t] = (s_sealer_t){ sim, sim->n * t / S_SEAL_THREADS,
                                   sim->n * (t + 1) / S_SEAL_THREADS, -1 };
        if (pthread_create(&threads[t], NULL, s_sealer, &sealers[t]) != 0) {
            rc = -1;
            break;
        }
        started++;
    }
    for (size_t t = 0; t < started; t++) {
        pthread_join(threads[t], NULL);
        if (sealers[t].rc != 0)
            rc = -1;
    }
    return rc;
}

/* ---- setup and teardown ---- */

/* Village keys, outbox arrays, and the district's [children] section
 * (returned, malloc'd). NULL on failure. */
static char *s_villages_new(s_sim_t *sim, size_t links, size_t events)
{
    sim->v = calloc(links, sizeof *sim->v);
    sim->lat_ms = calloc(events ? events : 1, sizeof *sim->lat_ms);
    size_t cap = 16 + links * (S_ID_MAX + GR_PUBLIC_KEY_HEX + 8);
    char *children = malloc(cap);
    if (!sim->v || !sim->lat_ms || !children) {
        free(children);
        return NULL;
    }
    sim->n = links;
    sim->total = events;
    size_t off = (size_t)snprintf(children, cap, "\n[children]\n");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* Microsecond sequence numbers, as nodes use: inside the district's
     * replay window. */
    uint64_t base = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    for (size_t k = 0; k < links; k++) {
        s_village_t *v = &sim->v[k];
        v->sim = sim;
        snprintf(v->id, sizeof v->id, "village-%04zu", k);
        v->n = events / links + (k < events % links);
        v->base_seq = base;
        v->frames = calloc(v->n ? v->n : 1, sizeof *v->frames);
        v->lens = calloc(v->n ? v->n : 1, sizeof *v->lens);
        v->first_sent = calloc(v->n ? v->n : 1, sizeof *v->first_sent);
        if (!v->frames || !v->lens || !v->first_sent || gr_keys_generate(&v->kp) != 0 ||
            gr_keys_generate(&v->worker) != 0) {
            free(children);
            return NULL;
        }
        char hex[GR_PUBLIC_KEY_HEX];
        gr_key_to_hex(hex, v->kp.pk);
        off += (size_t)snprintf(children + off, cap - off, "%s = %s\n", v->id, hex);
    }
    return children;
}

static void s_villages_destroy(s_sim_t *sim)
{
    for (size_t k = 0; sim->v && k < sim->n; k++) {
        s_village_t *v = &sim->v[k];
        gr_link_destroy(&v->link);
        for (size_t i = 0; v->frames && i < v->n; i++)
            free(v->frames[i]);
        free(v->frames);
        free(v->lens);
        free(v->first_sent);
        sodium_memzero(&v->kp, sizeof v->kp);
        sodium_memzero(&v->worker, sizeof v->worker);
    }
    free(sim->v);
    free(sim->lat_ms);
    memset(sim, 0, sizeof *sim);
}

static int s_links_open(s_sim_t *sim, void *ctx, harness_node_t *district, size_t window)
{
    const char *district_id = strrchr(district->dir, '/') + 1;
    for (size_t k = 0; k < sim->n; k++) {
        s_village_t *v = &sim->v[k];
        gr_link_options_t opt;
        memset(&opt, 0, sizeof opt);
        opt.peer_id = district_id;
        opt.peer_pk = district->node_key.pk;
        opt.kp = &v->kp;
        opt.own_id = v->id;
        opt.window = window;
        opt.callbacks.load = s_load;
        opt.callbacks.acked = s_acked;
        opt.callbacks.message = s_message;
        opt.callbacks.next_seq = s_next_seq;
        opt.ctx = v;
        if (!(v->link = gr_link_new_upward(ctx, district->endpoint, &opt))) {
            fprintf(stderr, "gridbench: cannot open link %zu: %s\n", k, zmq_strerror(zmq_errno()));
            return -1;
        }
    }
    return 0;
}

/* ---- the event loop: every link, one thread ---- */

/* Polls every link's DEALER once (at most until the nearest link timer)
 * and services what is ready: readable links, then links whose timer is
 * due. Returns 0, or -1 when zmq_poll fails. */
static int s_turn(s_sim_t *sim, zmq_pollitem_t *items)
{
    double now = bench_now(), next = now + 0.1;
    for (size_t k = 0; k < sim->n; k++)
        if (sim->v[k].due < next)
            next = sim->v[k].due;
    int timeout = next > now ? (int)((next - now) * 1000) : 0;
    if (zmq_poll(items, (int)sim->n, timeout) < 0 && zmq_errno() != EINTR)
        return -1;
    now = bench_now();
    uint64_t now_ms = gr_now_ms();
    for (size_t k = 0; k < sim->n; k++) {
        s_village_t *v = &sim->v[k];
        bool readable = items[k].revents & ZMQ_POLLIN;
        if (readable && gr_link_on_readable(v->link, now_ms) != 0)
            fprintf(stderr, "gridbench: link %s: socket error\n", v->id);
        /* A read may have opened the window: tick at once to refill it. */
        if (readable || v->due <= now) {
            if (gr_link_tick(v->link, now_ms) != 0)
                fprintf(stderr, "gridbench: link %s: loading failed\n", v->id);
            v->due = now + gr_link_timeout_ms(v->link, now_ms) / 1000.0;
        }
    }
    return 0;
}

static size_t s_links_up(const s_sim_t *sim)
{
    size_t up = 0;
    for (size_t k = 0; k < sim->n; k++) {
        gr_link_status_t st;
        gr_link_status(sim->v[k].link, &st);
        up += st.up;
    }
    return up;
}

static int s_burst(s_sim_t *sim, const bench_scale_opts_t *o, bench_scale_t *out)
{
    zmq_pollitem_t *items = calloc(sim->n, sizeof *items);
    if (!items)
        return -1;
    for (size_t k = 0; k < sim->n; k++)
        items[k] = (zmq_pollitem_t){ gr_link_socket(sim->v[k].link), 0, ZMQ_POLLIN, 0 };
    int rc = -1;
    /* Every link up (it heard the district) before the clock starts:
     * 1,000 CURVE handshakes are not what the burst measures. */
    double t0 = bench_now();
    size_t up = 0;
    while ((up = s_links_up(sim)) < sim->n && bench_now() - t0 < S_CONNECT_MAX_S)
        if (s_turn(sim, items) != 0)
            goto out;
    out->connect_s = bench_now() - t0;
    if (up < sim->n) {
        fprintf(stderr, "gridbench: only %zu of %zu links came up\n", up, sim->n);
        goto out;
    }
    double start = bench_now();
    for (size_t k = 0; k < sim->n; k++) {
        sim->v[k].released = true;
        gr_link_kick(sim->v[k].link);
        sim->v[k].due = start;
    }
    double sampled = 0;
    while (sim->acked < sim->total && bench_now() - start < o->max_s) {
        if (s_turn(sim, items) != 0)
            goto out;
        /* VmHWM counts the store's pages that the district's map has
         * touched; what it holds itself shows only in RssAnon, which
         * Linux keeps no peak of. */
        if (bench_now() - sampled >= 0.1) {
            sampled = bench_now();
            long anon = bench_status_kb(sim->district, "RssAnon");
            if (anon > out->anon_kb)
                out->anon_kb = anon;
        }
    }
    if (sim->acked < sim->total)
        fprintf(stderr, "gridbench: %zu of %zu escalations acknowledged after %.0f s\n",
                sim->acked, sim->total, o->max_s);
    out->acked = sim->acked;
    out->drain_s = sim->acked ? sim->last_ack - start : -1;
    out->events_per_s = sim->acked ? (double)sim->acked / out->drain_s : -1;
    rc = 0;
out:
    free(items);
    return rc;
}

int bench_scale_run(const bench_scale_opts_t *o, bench_scale_t *out)
{
    memset(out, 0, sizeof *out);
    out->keygen_s = out->seal_s = out->connect_s = out->drain_s = out->events_per_s = -1;
    out->ack_p50_ms = out->ack_p99_ms = -1;
    out->rss_kb = out->anon_kb = out->sim_rss_kb = -1;
    out->disk.file_bytes = out->disk.used_bytes = out->disk.high_bytes = -1;
    if (o->links == 0 || o->events == 0)
        return -1;
    s_sim_t sim;
    memset(&sim, 0, sizeof sim);
    harness_node_t district;
    void *ctx = NULL;
    int rc = -1;
    double t0 = bench_now();
    char *children = s_villages_new(&sim, o->links, o->events);
    if (harness_node_init(&district, "bench-scale-district", 1) != 0 || !children)
        goto out;
    snprintf(district.tier, sizeof district.tier, "district");
    out->keygen_s = bench_now() - t0;
    t0 = bench_now();
    if (s_seal_all(&sim) != 0)
        goto out;
    out->seal_s = bench_now() - t0;
    size_t bytes = 0;
    for (size_t k = 0; k < sim.n; k++)
        for (size_t i = 0; i < sim.v[k].n; i++)
            bytes += sim.v[k].lens[i];
    out->frame_bytes = bytes / o->events;
    if (harness_node_start_with(&district, children, 30000) != 0)
        goto out;
    /* Three sockets per link (the DEALER, the monitor PAIR libzmq makes
     * inside it, and the link's PAIR reading that), far beyond libzmq's
     * default limit of 1,023 per context. */
    if (!(ctx = zmq_ctx_new()) || zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, (int)(3 * o->links + 64)) != 0)
        goto out;
    sim.district = district.pid;
    if (s_links_open(&sim, ctx, &district, o->window) != 0 || s_burst(&sim, o, out) != 0)
        goto out;
    for (size_t k = 0; k < sim.n; k++) {
        gr_link_status_t st;
        gr_link_status(sim.v[k].link, &st);
        out->resent += st.resent_total;
        out->batches += st.batches_total;
        out->batched += st.batched_total;
        out->links_v1 += st.peer_version < GR_LINK_VERSION;
    }
    out->refused = sim.refused;
    bench_sort(sim.lat_ms, sim.acked);
    out->ack_p50_ms = bench_percentile(sim.lat_ms, sim.acked, 0.50);
    out->ack_p99_ms = bench_percentile(sim.lat_ms, sim.acked, 0.99);
    gr_client_t *client = harness_client(&district, ctx, 0);
    if (client)
        out->stored = bench_events_stored(client);
    gr_client_destroy(&client);
    out->rss_kb = bench_peak_rss_kb(district.pid);
    out->sim_rss_kb = bench_peak_rss_kb(getpid());
    rc = 0;
out:
    s_villages_destroy(&sim);
    if (ctx)
        zmq_ctx_term(ctx);
    free(children);
    if (district.pid > 0 && harness_node_stop(&district, SIGTERM) != 0)
        fprintf(stderr, "gridbench: the district did not stop cleanly\n");
    char store[300];
    snprintf(store, sizeof store, "%s/store", district.dir);
    if (rc == 0 && bench_store_usage(store, out->stored, &out->disk) != 0)
        fprintf(stderr, "gridbench: cannot measure the store in %s\n", store);
    harness_node_cleanup(&district);
    return rc;
}
