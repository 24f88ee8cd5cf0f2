/* Department dispatch, measured: one township node with N departments
 * connected (each a gr_dept_client in its own thread, claiming every task
 * the moment its notice arrives), reports fed at a light fixed rate.
 *
 * dispatch-to-claim latency: from the reporter's ack (the report and its
 * dispatch were committed together) to the department's claim being
 * acknowledged (committed too). Both ends are in this process, on one
 * monotonic clock.
 *
 * Dispatch throughput: closed-loop reports from 16 reporters, once for a
 * category routed to a department (stored + dispatched + notice) and once
 * for a category with no route (stored only), in the same run on the same
 * node, so their ratio is what dispatching costs the node.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "bench.h"
#include "dept_client.h"
#include "event_id.h"

#define S_MAX_DEPTS 64
#define S_REPORTERS 16

typedef struct {
    size_t n_tasks;
    double *ack_at;             /* per task index: reporter's ack, monotonic s */
    double *claimed_at;         /* per task index: claim acked */
    int claiming;               /* off for the throughput phase */
    int stop;
} s_shared_t;

typedef struct {
    s_shared_t *shared;
    harness_node_t *node;
    void *ctx;
    gr_keypair_t keys;
    gr_dept_client_t *client;
    char pending[256][GR_EVENT_ID_LEN + 1];
    size_t n_pending;
    long claims;
    int ready;
} s_dept_t;

static void s_on_task(void *ctx, gr_dept_change_t change, const Gridrelay__Task *task,
                      const char *reason)
{
    (void)reason;
    s_dept_t *d = ctx;
    /* Claims are sent after the callback: the client is not re-entrant. */
    if (change == GR_DEPT_TASK_ADDED && d->n_pending < 256)
        snprintf(d->pending[d->n_pending++], sizeof d->pending[0], "%s", task->event_id);
}

/* Task index from the title "bench-task-N"; -1 for others. */
static long s_index_of(const gr_dept_client_t *client, const char *event_id)
{
    for (size_t i = 0; i < gr_dept_client_task_count(client); i++) {
        const Gridrelay__Task *t = gr_dept_client_task_at(client, i);
        if (strcmp(t->event_id, event_id) == 0 && t->event && t->event->title)
            return strncmp(t->event->title, "bench-task-", 11) == 0 ? atol(t->event->title + 11) : -1;
    }
    return -1;
}

static void *s_dept_thread(void *arg)
{
    s_dept_t *d = arg;
    char err[256];
    if (gr_dept_client_sync(d->client, err, sizeof err) != 0) {
        fprintf(stderr, "gridbench: department sync failed: %s\n", err);
        __atomic_store_n(&d->ready, -1, __ATOMIC_RELEASE);
        return NULL;
    }
    __atomic_store_n(&d->ready, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&d->shared->stop, __ATOMIC_ACQUIRE)) {
        if (gr_dept_client_process(d->client, 20) < 0)
            continue;
        bool claiming = __atomic_load_n(&d->shared->claiming, __ATOMIC_ACQUIRE);
        for (size_t i = 0; claiming && i < d->n_pending; i++) {
            long index = s_index_of(d->client, d->pending[i]);
            if (gr_dept_client_act(d->client, GRIDRELAY__TASK_ACTION__KIND__CLAIM, d->pending[i], NULL,
                                   err, sizeof err) == 0) {
                d->claims++;
                if (index >= 0 && (size_t)index < d->shared->n_tasks)
                    d->shared->claimed_at[index] = bench_now();
            }
        }
        d->n_pending = 0;
    }
    return NULL;
}

static int s_write_catalogue(const char *path, size_t depts)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (size_t i = 0; i <= depts; i++)  /* the last one has no route */
        fprintf(f, "[B.%02zu]\nclass = bench\nsubclass = bench\nname = bench %zu\nauthority = township\n\n",
                i, i);
    return fclose(f) == 0 ? 0 : -1;
}

static int s_node_init(harness_node_t *node, s_dept_t *depts, size_t n)
{
    if (harness_node_init(node, "township", S_REPORTERS) != 0)
        return -1;
    snprintf(node->tier, sizeof node->tier, "township");
    node->task_listen = true;
    snprintf(node->catalogue, sizeof node->catalogue, "%.250s/../bench-catalogue.ini", node->dir);
    if (s_write_catalogue(node->catalogue, n) != 0)
        return -1;
    size_t len = (size_t)snprintf(node->sections, sizeof node->sections, "[departments]\n");
    for (size_t i = 0; i < n && len < sizeof node->sections; i++) {
        char hex[GR_PUBLIC_KEY_HEX];
        if (gr_keys_generate(&depts[i].keys) != 0)
            return -1;
        gr_key_to_hex(hex, depts[i].keys.pk);
        len += (size_t)snprintf(node->sections + len, sizeof node->sections - len, "d%02zu = %s\n", i, hex);
    }
    len += (size_t)snprintf(node->sections + len, sizeof node->sections - len, "\n[dispatch]\n");
    for (size_t i = 0; i < n && len < sizeof node->sections; i++)
        len += (size_t)snprintf(node->sections + len, sizeof node->sections - len, "B.%02zu = d%02zu\n", i, i);
    return len < sizeof node->sections ? 0 : -1;
}

/* Sends one report and waits for its ack; returns 0 when acked. */
static int s_report(gr_client_t *client, const char *category, long index)
{
    Gridrelay__Body body;
    Gridrelay__Report report;
    Gridrelay__Event event;
    Gridrelay__Location loc;
    char id[GR_EVENT_ID_LEN + 1], title[48];
    bench_report_body(&body, &report, &event, &loc, id, category);
    snprintf(title, sizeof title, "bench-task-%ld", index);
    event.title = title;
    gr_opened_t reply;
    if (gr_client_call(client, &body, &reply, 5000, 3) != 0)
        return -1;
    int rc = reply.body->kind_case == GRIDRELAY__BODY__KIND_ACK ? 0 : -1;
    gr_opened_clear(&reply);
    return rc;
}

typedef struct {
    harness_node_t *node;
    void *ctx;
    size_t reporter;
    const char *category;
    size_t count;
    size_t done;
} s_feed_t;

static void *s_feed_thread(void *arg)
{
    s_feed_t *f = arg;
    gr_client_t *client = harness_client(f->node, f->ctx, f->reporter);
    for (size_t i = 0; client && i < f->count; i++)
        f->done += s_report(client, f->category, -1) == 0;
    gr_client_destroy(&client);
    return NULL;
}

/* Closed-loop reports/s for category from S_REPORTERS reporters. */
static double s_throughput(harness_node_t *node, void *ctx, const char *category, size_t total)
{
    s_feed_t feeds[S_REPORTERS];
    pthread_t threads[S_REPORTERS];
    double t0 = bench_now();
    size_t started = 0;
    for (size_t i = 0; i < S_REPORTERS; i++) {
        feeds[i] = (s_feed_t){node, ctx, i, category, total / S_REPORTERS, 0};
        if (pthread_create(&threads[i], NULL, s_feed_thread, &feeds[i]) == 0)
            started++;
        else
            break;
    }
    size_t done = 0;
    for (size_t i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
        done += feeds[i].done;
    }
    double dt = bench_now() - t0;
    return done && started == S_REPORTERS ? (double)done / dt : -1;
}

static bool s_all_claimed(void *arg)
{
    s_shared_t *s = arg;
    for (size_t i = 0; i < s->n_tasks; i++)
        if (s->claimed_at[i] == 0)
            return false;
    return true;
}

static bool s_depts_ready(void *arg)
{
    s_dept_t **d = arg;
    for (size_t i = 0; d[i]; i++)
        if (__atomic_load_n(&d[i]->ready, __ATOMIC_ACQUIRE) == 0)
            return false;
    return true;
}

int bench_dept_run(const bench_dept_opts_t *o, bench_dept_t *out)
{
    memset(out, 0, sizeof *out);
    out->claim_p50_ms = out->claim_p99_ms = out->dispatch_per_s = out->plain_per_s = -1;
    out->rss_kb = -1;
    size_t n = o->depts < S_MAX_DEPTS ? o->depts : S_MAX_DEPTS;
    static s_dept_t depts[S_MAX_DEPTS];
    s_dept_t *ready_list[S_MAX_DEPTS + 1] = {0};
    pthread_t threads[S_MAX_DEPTS];
    size_t started = 0;
    harness_node_t node;
    memset(&node, 0, sizeof node);
    s_shared_t shared = {.n_tasks = o->tasks, .claiming = 1};
    shared.ack_at = calloc(o->tasks, sizeof *shared.ack_at);
    shared.claimed_at = calloc(o->tasks, sizeof *shared.claimed_at);
    double *lat = calloc(o->tasks, sizeof *lat);
    void *ctx = zmq_ctx_new();
    int rc = -1;
    memset(depts, 0, sizeof depts);
    if (!shared.ack_at || !shared.claimed_at || !lat || !ctx || s_node_init(&node, depts, n) != 0 ||
        harness_node_start(&node) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        depts[i].shared = &shared;
        gr_dept_client_options_t opt = {
            .node_endpoint = node.endpoint, .node_pk = node.node_key.pk, .keys = &depts[i].keys,
            .zmq_ctx = ctx, .on_task = s_on_task, .ctx = &depts[i],
        };
        char err[256];
        if (!(depts[i].client = gr_dept_client_new(&opt, err, sizeof err)) ||
            pthread_create(&threads[i], NULL, s_dept_thread, &depts[i]) != 0)
            goto stop;
        ready_list[started++] = &depts[i];
    }
    if (!harness_wait_until(s_depts_ready, ready_list, 20000))
        goto stop;
    for (size_t i = 0; i < n; i++)
        if (depts[i].ready < 0)
            goto stop;

    /* Light load: one report every interval, round robin over the
     * departments' categories, each waited for (so the reporter's ack time
     * is when the dispatch became durable). */
    gr_client_t *reporter = harness_client(&node, ctx, 0);
    double interval = o->rate > 0 ? 1.0 / o->rate : 0.005;
    double next = bench_now();
    for (size_t i = 0; reporter && i < o->tasks; i++) {
        while (bench_now() < next)
            usleep(200);
        next += interval;
        char category[16];
        snprintf(category, sizeof category, "B.%02zu", i % n);
        if (s_report(reporter, category, (long)i) == 0)
            shared.ack_at[i] = bench_now();
    }
    gr_client_destroy(&reporter);
    harness_wait_until(s_all_claimed, &shared, 30000);
    size_t m = 0;
    for (size_t i = 0; i < o->tasks; i++)
        if (shared.ack_at[i] > 0 && shared.claimed_at[i] > 0)
            lat[m++] = (shared.claimed_at[i] - shared.ack_at[i]) * 1000.0;
    if (m) {
        bench_sort(lat, m);
        out->claim_p50_ms = bench_percentile(lat, m, 0.50);
        out->claim_p99_ms = bench_percentile(lat, m, 0.99);
    }
    out->claimed = m;

    /* Throughput, same node, same run: dispatched vs. stored only. The
     * departments stop claiming, so only dispatching is measured. */
    __atomic_store_n(&shared.claiming, 0, __ATOMIC_RELEASE);
    char routed[16], plain[16];
    snprintf(routed, sizeof routed, "B.%02zu", (size_t)0);
    snprintf(plain, sizeof plain, "B.%02zu", n);
    out->dispatch_per_s = s_throughput(&node, ctx, routed, o->throughput_events);
    out->plain_per_s = s_throughput(&node, ctx, plain, o->throughput_events);
    out->rss_kb = bench_peak_rss_kb(node.pid);
    rc = m == o->tasks ? 0 : -1;
stop:
    __atomic_store_n(&shared.stop, 1, __ATOMIC_RELEASE);
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    for (size_t i = 0; i < n; i++)
        gr_dept_client_destroy(&depts[i].client);
out:
    if (node.dir[0])
        harness_node_cleanup(&node);
    if (ctx)
        zmq_ctx_term(ctx);
    free(shared.ack_at);
    free(shared.claimed_at);
    free(lat);
    return rc;
}
