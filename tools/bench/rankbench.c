/* gridrankbench: a monthly ranking (gridctl rank) over a large store, and
 * what it costs the node's ingest while it runs.
 *
 * Fills a district node's store through the store API (fast: no network,
 * one transaction per 10,000 records) with --cases cases over 90 days:
 * --own-percent of them the district's own (with a timeline entry each),
 * the rest its view of --units villages below (status updates with their
 * milestones, as the status stream leaves them). Then starts gridrelayd
 * on that store and, with --reporters reporters sending reports as fast as
 * they are acknowledged: ranks the middle 30 days with nothing else
 * going on, measures the ingest rate for --idle-seconds alone, then ranks the middle 30 days --rankings times (GetRanking by
 * node, each timed) while the reporters go on, and the ingest rate during
 * those rankings; last, one count by category over everything.
 *
 * Not a test: figures for the README. Runs in a temp dir, removed after.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "bench.h"
#include "bench_fill.h"
#include "event_id.h"
#include "harness.h"
#include "store.h"

#define DAY_MS (86400ull * 1000)
#define H_MS (3600ull * 1000)
#define MAX_REPORTERS 16

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void s_wait(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void s_usage(FILE *out)
{
    fprintf(out,
"Usage: gridrankbench [--cases N] [--units N] [--own-percent P] [--reporters N]\n"
"                     [--idle-seconds S] [--rankings N]\n"
"\n"
"Ranks a month of a district's store of N cases (default 1000000) and\n"
"measures the node's ingest rate while the ranking runs against the rate\n"
"without it, in the same run.\n"
"\n"
"  --cases N         cases stored before the node starts (default 1000000)\n"
"  --units N         villages below the district the view's cases belong to\n"
"                    (default 300)\n"
"  --own-percent P   share of the cases that are the district's own, with a\n"
"                    timeline (default 10)\n"
"  --reporters N     reporters sending while measuring (1..%d, default 4)\n"
"  --idle-seconds S  ingest alone before the rankings (default 5)\n"
"  --rankings N      rankings run one after another while ingesting\n"
"                    (default 3)\n"
"\n"
"Environment: GRIDRELAYD, the gridrelayd binary (default ../node/gridrelayd\n"
"beside this program).\n",
            MAX_REPORTERS);
}

/* ---- filling the store ---- */

static const char *const s_categories[] = {"SS.DISPUTE", "PS.FIRE", "OM.RENTAL", "EP.WASTE"};

/* A deterministic spread of milestones: most accepted and resolved in
 * time, some late, some still open. */
static void s_milestones(uint64_t i, uint64_t received, uint64_t *accepted, uint64_t *resolved)
{
    uint64_t r = i * 2654435761u;
    *accepted = received + (r % 7 == 0 ? 2 * H_MS : (r % 50) * 60000);
    *resolved = r % 10 == 0 ? 0 : *accepted + (r % 48 + 1) * H_MS;
}

static int s_fill(const char *store_dir, const char *node_id, uint64_t cases, unsigned units,
                  unsigned own_percent, uint64_t start_ms)
{
    gr_store_t *store = bench_fill_open(store_dir, "gridrankbench");
    if (!store)
        return -1;
    uint64_t step = 90 * DAY_MS / (cases ? cases : 1);
    int rc = 0;
    gr_txn_t *txn = NULL;
    for (uint64_t i = 0; i < cases && rc == 0; i++) {
        if (!txn && (rc = gr_store_begin(store, true, &txn)) != 0)
            break;
        uint64_t received = start_ms + i * (step ? step : 1);
        uint64_t accepted, resolved;
        s_milestones(i, received, &accepted, &resolved);
        char id[GR_EVENT_ID_LEN + 1];
        gr_event_id_new(id, received);
        const char *category = s_categories[i % 4];
        char village[32];
        snprintf(village, sizeof village, "village-%03u", (unsigned)(i / 7 % units));
        if (i % 100 < own_percent) {
            Gridrelay__Event ev = GRIDRELAY__EVENT__INIT;
            ev.id = id;
            ev.origin_node = (char *)node_id;
            ev.category = (char *)category;
            ev.severity = GRIDRELAY__SEVERITY__ROUTINE;
            ev.title = "two households dispute the boundary of a vegetable plot";
            ev.created_ms = received;
            Gridrelay__StoredEvent rec = GRIDRELAY__STORED_EVENT__INIT;
            rec.event = &ev;
            rec.received_ms = received;
            rec.accepted_ms = accepted;
            rec.resolved_ms = resolved;
            rc = bench_fill_case(txn, &rec, node_id);
        } else {
            Gridrelay__StatusUpdate u = GRIDRELAY__STATUS_UPDATE__INIT;
            u.node_id = village;
            u.event_id = id;
            u.status = resolved ? GRIDRELAY__STATUS__RESOLVED : GRIDRELAY__STATUS__ACCEPTED;
            u.holder = village;
            u.category = (char *)category;
            u.severity = GRIDRELAY__SEVERITY__ROUTINE;
            u.title = "two households dispute the boundary of a vegetable plot";
            u.origin_node = village;
            u.time_ms = resolved ? resolved : accepted;
            u.received_ms = received;
            u.accepted_ms = accepted;
            u.resolved_ms = resolved;
            u.returns = (uint32_t)(i % 13 == 0);
            Gridrelay__ViewEntry e = GRIDRELAY__VIEW_ENTRY__INIT;
            e.update = &u;
            e.via_child = village;
            e.received_ms = u.time_ms;
            e.accept_due_ms = received + H_MS;
            e.resolve_due_ms = accepted + 24 * H_MS;
            rc = gr_store_view_put(txn, village, id, &e);
        }
        rc = bench_fill_step(&txn, (size_t)i, rc);
    }
    rc = bench_fill_end(&txn, rc);
    gr_store_close(&store);
    if (rc != 0)
        fprintf(stderr, "gridrankbench: filling the store failed (%d)\n", rc);
    return rc;
}

/* ---- reporters ---- */

typedef struct {
    harness_node_t *node;
    void *ctx;
    size_t index;
    atomic_bool *stop;
    atomic_ulong *acked;
} s_reporter_t;

static void *s_reporter(void *arg)
{
    s_reporter_t *r = arg;
    gr_client_t *client = harness_client(r->node, r->ctx, r->index);
    if (!client)
        return NULL;
    while (!atomic_load(r->stop)) {
        char id[GR_EVENT_ID_LEN + 1];
        gr_event_id_new(id, gr_now_ms());
        Gridrelay__Event ev = GRIDRELAY__EVENT__INIT;
        ev.id = id;
        ev.category = "SS.DISPUTE";
        ev.severity = GRIDRELAY__SEVERITY__ROUTINE;
        ev.title = "two households dispute the boundary of a vegetable plot";
        ev.reporter = "worker-0001";
        if (bench_report_call(client, &ev, 10000, 3) == 1)
            atomic_fetch_add(r->acked, 1);
    }
    gr_client_destroy(&client);
    return NULL;
}

/* One timed request from reporter slot `who`; returns seconds or -1. */
static double s_timed(harness_node_t *node, void *ctx, size_t who, const Gridrelay__Body *body,
                      Gridrelay__Body__KindCase want, uint32_t *units)
{
    gr_client_t *client = harness_client(node, ctx, who);
    if (!client)
        return -1;
    gr_opened_t reply;
    double t0 = s_now();
    int rc = gr_client_call(client, body, &reply, 600000, 1);
    double t = s_now() - t0;
    if (rc == 0) {
        if (reply.body->kind_case != want)
            t = -1;
        else if (units && want == GRIDRELAY__BODY__KIND_RANKING)
            *units = reply.body->ranking->total;
        gr_opened_clear(&reply);
    }
    gr_client_destroy(&client);
    return rc == 0 ? t : -1;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"cases", required_argument, NULL, 'c'},    {"units", required_argument, NULL, 'u'},
        {"own-percent", required_argument, NULL, 'o'}, {"reporters", required_argument, NULL, 'r'},
        {"idle-seconds", required_argument, NULL, 'i'}, {"rankings", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    unsigned long long cases = 1000000;
    unsigned long units = 300, own = 10, reporters = 4, rankings = 3;
    double idle_s = 5;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        char *end = NULL;
        switch (opt) {
        case 'c': cases = strtoull(optarg, &end, 10); break;
        case 'u': units = strtoul(optarg, &end, 10); break;
        case 'o': own = strtoul(optarg, &end, 10); break;
        case 'r': reporters = strtoul(optarg, &end, 10); break;
        case 'i': idle_s = strtod(optarg, &end); break;
        case 'k': rankings = strtoul(optarg, &end, 10); break;
        default:
            return bench_usage_exit(s_usage, opt == 'h');
        }
        if (!end || *end)
            return bench_usage_exit(s_usage, false);
    }
    if (cases < 1 || units < 1 || units > 999 || own > 100 || reporters < 1 ||
        reporters > MAX_REPORTERS - 1 || idle_s <= 0 || rankings < 1 || rankings > 100) {
        s_usage(stderr);
        return 2;
    }
    bench_default_daemon();
    harness_node_t node;
    if (harness_node_init(&node, "district-rank", reporters + 1) != 0)
        return 1;
    snprintf(node.tier, sizeof node.tier, "district");
    snprintf(node.extra_node, sizeof node.extra_node, "map_size_mb = 8192\nmap_max_mb = 16384\n");
    if (harness_node_write_config(&node) != 0)
        return 1;
    char store_dir[400];
    snprintf(store_dir, sizeof store_dir, "%.300s/store", node.dir);
    uint64_t now = gr_now_ms();
    uint64_t start = now - 91 * DAY_MS;
    double t0 = s_now();
    if (s_fill(store_dir, strrchr(node.dir, '/') + 1, cases, (unsigned)units, (unsigned)own,
               start) != 0) {
        harness_node_cleanup(&node);
        return 1;
    }
    double fill_s = s_now() - t0;
    if (harness_node_start(&node) != 0) {
        harness_node_cleanup(&node);
        return 1;
    }
    void *ctx = zmq_ctx_new();
    /* The month in the middle of the 90 days. */
    Gridrelay__GetRanking get = GRIDRELAY__GET_RANKING__INIT;
    get.from_ms = start + 30 * DAY_MS;
    get.to_ms = start + 60 * DAY_MS;
    get.limit = 1000;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_RANKING;
    body.get_ranking = &get;
    uint32_t ranked = 0;
    /* Once with nothing else going on (the first also warms the page cache). */
    double alone_s = s_timed(&node, ctx, 0, &body, GRIDRELAY__BODY__KIND_RANKING, &ranked);
    alone_s = s_timed(&node, ctx, 0, &body, GRIDRELAY__BODY__KIND_RANKING, &ranked);
    atomic_bool stop = false;
    atomic_ulong acked = 0;
    pthread_t threads[MAX_REPORTERS];
    s_reporter_t rs[MAX_REPORTERS];
    for (size_t i = 0; i < reporters; i++) {
        rs[i] = (s_reporter_t){&node, ctx, i + 1, &stop, &acked};
        pthread_create(&threads[i], NULL, s_reporter, &rs[i]);
    }
    /* Ingest alone (after a second to warm up). */
    s_wait(1);
    unsigned long a0 = atomic_load(&acked);
    double i0 = s_now();
    s_wait(idle_s);
    double idle_rate = (double)(atomic_load(&acked) - a0) / (s_now() - i0);

    /* Again, while the reporters go on. */
    double times[100];
    a0 = atomic_load(&acked);
    double r0 = s_now();
    for (unsigned long k = 0; k < rankings; k++) {
        times[k] = s_timed(&node, ctx, 0, &body, GRIDRELAY__BODY__KIND_RANKING, &ranked);
    }
    double during_rate = (double)(atomic_load(&acked) - a0) / (s_now() - r0);
    Gridrelay__GetCaseStats gs = GRIDRELAY__GET_CASE_STATS__INIT;
    gs.by = GRIDRELAY__GET_CASE_STATS__BY__CATEGORY;
    Gridrelay__Body sbody = GRIDRELAY__BODY__INIT;
    sbody.kind_case = GRIDRELAY__BODY__KIND_GET_CASE_STATS;
    sbody.get_case_stats = &gs;
    double stats_s = s_timed(&node, ctx, 0, &sbody, GRIDRELAY__BODY__KIND_CASE_STATS, NULL);
    atomic_store(&stop, true);
    for (size_t i = 0; i < reporters; i++)
        pthread_join(threads[i], NULL);
    zmq_ctx_term(ctx);
    harness_node_stop(&node, SIGTERM);
    harness_node_cleanup(&node);

    double sorted[100];
    memcpy(sorted, times, rankings * sizeof *times);
    for (size_t i = 1; i < rankings; i++)
        for (size_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
            double t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    bool ok = sorted[0] >= 0 && stats_s >= 0 && alone_s >= 0;
    printf("gridrankbench: %llu cases (%lu%% the district's own, the rest from %lu villages), "
           "filled in %.1f s\n", cases, own, units, fill_s);
    printf("  monthly ranking by node, %u units: %.2f s alone; while ingesting median %.2f s, "
           "min %.2f s, max %.2f s (%lu runs)\n",
           ranked, alone_s, sorted[rankings / 2], sorted[0], sorted[rankings - 1], rankings);
    printf("  count by category over all cases: %.2f s\n", stats_s);
    printf("  ingest, %lu reporters: %.0f reports/s alone, %.0f reports/s while ranking (%.0f%%)\n",
           reporters, idle_rate, during_rate, idle_rate > 0 ? 100 * during_rate / idle_rate : 0);
    printf("{\"cases\":%llu,\"units\":%u,\"ranking_alone_s\":%.3f,\"ranking_s\":%.3f,\"stats_s\":%.3f,"
           "\"ingest_idle_per_s\":%.0f,\"ingest_ranking_per_s\":%.0f}\n",
           cases, ranked, alone_s, sorted[rankings / 2], stats_s, idle_rate, during_rate);
    return ok ? 0 : 1;
}
