/* gridrecoverybench: how gridrelay comes back, and what it keeps.
 *
 *   drain      a village whose township is away while --queued reports
 *              (default 10,000) pile up in its outbox; the township is
 *              away long enough (--offline-seconds, default 40) for the
 *              village's link to back off to its 30 s cap, which is where
 *              a week's outage leaves it. Then the township comes back:
 *              the time until it has stored all of them, and how many of
 *              the acknowledged reports it lacks or holds twice.
 *   restart    a node with --cases stored cases (default 1,000,000,
 *              filled through the store API): the time from starting
 *              gridrelayd to its first answer (GetStats), and to its
 *              first acknowledged report.
 *   catchup    a village whose status log holds --changes status changes
 *              (default 100,000, over --changes / 5 cases; filled through
 *              the store API) and a township that has seen none: the time
 *              from both running until the township's stored status seq
 *              for the village reaches the village's last.
 *   statuslog  --status-changes status changes (default 1,000,000) over
 *              --status-cases cases (default 100,000) appended through the
 *              store API: the status log's entries and the store's size.
 *
 * Not a test: figures for the README. Each mode runs in its own temp
 * dirs, removed after; `--mode all` runs them in the order above.
 */
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bench.h"
#include "bench_fill.h"
#include "event_id.h"
#include "harness.h"
#include "store.h"

#define S_CATEGORY_UP "SS.MASS"     /* district authority: a village escalates it */
#define S_CATEGORY_HERE "SS.DISPUTE"
#define S_SENDERS 4
#define S_WAIT_S 600.0
#define S_TITLE "two households dispute the boundary of a vegetable plot"

static void s_usage(FILE *out)
{
    fprintf(out,
"Usage: gridrecoverybench [--mode all|drain|restart|catchup|statuslog]\n"
"                         [--queued N] [--offline-seconds S] [--cases N]\n"
"                         [--changes N] [--status-changes N] [--status-cases N]\n"
"                         [--json FILE]\n"
"\n"
"How gridrelay recovers: a village's backlog drained after an outage, a\n"
"large store's start-up, a superior's status catch-up, and the status\n"
"log's size after many changes.\n"
"\n"
"  --mode M              which measurement (default all)\n"
"  --queued N            drain: reports queued while the township is away\n"
"                        (default 10000)\n"
"  --offline-seconds S   drain: how long the township stays away after the\n"
"                        last report (default 40: the link's back-off reaches\n"
"                        its 30 s cap, as after a week)\n"
"  --cases N             restart: cases in the store (default 1000000)\n"
"  --changes N           catchup: status changes the township missed, over\n"
"                        N / 5 cases (default 100000)\n"
"  --status-changes N    statuslog: changes appended (default 1000000)\n"
"  --status-cases N      statuslog: over this many cases (default 100000)\n"
"  --json FILE           also write the figures as JSON\n"
"\n"
"Environment: GRIDRELAYD, the gridrelayd binary (default ../node/gridrelayd\n"
"beside this program).\n");
}

/* ---- reports from a few threads ---- */

typedef struct {
    harness_node_t *node;
    void *ctx;
    size_t index;
    size_t count;
    char (*ids)[GR_EVENT_ID_LEN + 1];
    size_t acked;
    size_t failed;
} s_sender_t;

static void *s_send(void *arg)
{
    s_sender_t *s = arg;
    gr_client_t *client = harness_client(s->node, s->ctx, s->index);
    for (size_t i = 0; client && i < s->count; i++) {
        char *id = s->ids[i];
        gr_event_id_new(id, gr_now_ms());
        Gridrelay__Event ev = GRIDRELAY__EVENT__INIT;
        ev.id = id;
        ev.category = S_CATEGORY_UP;
        ev.severity = GRIDRELAY__SEVERITY__URGENT;
        ev.title = S_TITLE;
        ev.reporter = "worker-0001";
        /* A resend is answered from the village's dedup table. */
        if (bench_report_call(client, &ev, 10000, 5) == 1) {
            s->acked++;
        } else {
            s->failed++;
            id[0] = '\0';
        }
    }
    gr_client_destroy(&client);
    return NULL;
}

/* Sends n reports to node from S_SENDERS threads; ids[i] is the i-th
 * acknowledged one's id, or "" when it was not. Returns the acked count. */
static size_t s_send_all(harness_node_t *node, void *ctx, char (*ids)[GR_EVENT_ID_LEN + 1],
                         size_t n)
{
    s_sender_t s[S_SENDERS];
    pthread_t th[S_SENDERS];
    size_t at = 0, acked = 0;
    for (size_t i = 0; i < S_SENDERS; i++) {
        size_t share = n / S_SENDERS + (i < n % S_SENDERS);
        s[i] = (s_sender_t){node, ctx, i, share, ids + at, 0, 0};
        at += share;
        pthread_create(&th[i], NULL, s_send, &s[i]);
    }
    for (size_t i = 0; i < S_SENDERS; i++) {
        pthread_join(th[i], NULL);
        acked += s[i].acked;
    }
    return acked;
}

/* ---- listing what a node holds ---- */

static int s_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The ids s_list() has gathered so far. */
typedef struct {
    char (*ids)[GR_EVENT_ID_LEN + 1];
    size_t n, cap;
} s_listed_t;

/* bench_list_events()' callback: appends id, growing the array by
 * doubling. 0, or -1 when out of memory. */
static int s_listed(void *arg, const char *id)
{
    s_listed_t *l = arg;
    if (l->n == l->cap) {
        void *p = realloc(l->ids, 2 * l->cap * sizeof *l->ids);
        if (!p)
            return -1;
        l->ids = p;
        l->cap *= 2;
    }
    snprintf(l->ids[l->n++], sizeof l->ids[0], "%s", id);
    return 0;
}

/* Every event id node lists (ListEvents pages), sorted, into *out. */
static long s_list(harness_node_t *node, void *ctx, char (**out)[GR_EVENT_ID_LEN + 1])
{
    gr_client_t *client = harness_client(node, ctx, 0);
    if (!client)
        return -1;
    s_listed_t l = {.cap = 4096};
    l.ids = malloc(l.cap * sizeof *l.ids);
    int rc = l.ids ? bench_list_events(client, s_listed, &l) : -1;
    gr_client_destroy(&client);
    if (rc != 0) {
        free(l.ids);
        return -1;
    }
    qsort(l.ids, l.n, sizeof *l.ids, s_cmp);
    *out = l.ids;
    return (long)l.n;
}

/* ---- a township and its village ---- */

/* Sets up (does not start) a township with status listening on and a
 * village below it with `reporters` reporter keys, as drain and catchup
 * measure them. 0, or -1 when either could not be set up. */
static int s_pair_init(harness_node_t *town, harness_node_t *village, size_t reporters)
{
    if (harness_node_init(town, "bench-town", 1) != 0 ||
        harness_node_init(village, "bench-village", reporters) != 0)
        return -1;
    snprintf(town->tier, sizeof town->tier, "township");
    town->status_listen = true;
    harness_add_child(town, village);
    return 0;
}

/* Tears down what s_pair_init() set up, once the measurement's clients
 * are closed: stops both nodes (the village first), ends ctx, removes
 * their directories. Accepts nodes that never started. */
static void s_pair_end(harness_node_t *town, harness_node_t *village, void *ctx)
{
    harness_node_stop(village, SIGTERM);
    harness_node_stop(town, SIGTERM);
    zmq_ctx_term(ctx);
    harness_node_cleanup(village);
    harness_node_cleanup(town);
}

/* ---- drain ---- */

typedef struct {
    double queue_s;        /* sending the reports to the village */
    double drain_s;        /* township started -> it stored them all */
    double first_s;        /* township started -> its first new case */
    size_t acked, stored, lost, duplicated;
} s_drain_t;

static int s_drain(size_t queued, double offline_s, s_drain_t *out)
{
    harness_node_t town, village;
    memset(out, 0, sizeof *out);
    if (s_pair_init(&town, &village, S_SENDERS) != 0)
        return -1;
    int rc = -1;
    void *ctx = zmq_ctx_new();
    char (*ids)[GR_EVENT_ID_LEN + 1] = calloc(queued, sizeof *ids);
    char (*held)[GR_EVENT_ID_LEN + 1] = NULL;
    gr_client_t *tc = NULL;
    if (!ids || harness_node_start(&town) != 0)
        goto out;
    harness_set_parent(&village, &town, "parent");  /* needs the town's endpoints */
    if (harness_node_start(&village) != 0)
        goto out;
    if (harness_node_stop(&town, SIGTERM) != 0)
        goto out;
    double t0 = bench_now();
    out->acked = s_send_all(&village, ctx, ids, queued);
    out->queue_s = bench_now() - t0;
    printf("gridrecoverybench: drain: %zu reports queued at the village in %.1f s; the township "
           "stays away %.0f s more\n", out->acked, out->queue_s, offline_s);
    fflush(stdout);
    struct timespec away = {(time_t)offline_s, (long)((offline_s - (double)(time_t)offline_s) * 1e9)};
    while (nanosleep(&away, &away) != 0) {
    }
    t0 = bench_now();
    if (harness_node_start(&town) != 0)
        goto out;
    tc = harness_client(&town, ctx, 0);
    if (!tc)
        goto out;
    uint64_t stored = 0, last = 0;
    double changed = bench_now();
    while (stored < out->acked && bench_now() - changed < 60) {
        stored = bench_events_stored(tc);
        if (stored && !out->first_s)
            out->first_s = bench_now() - t0;
        if (stored != last) {
            last = stored;
            changed = bench_now();
        }
        poll(NULL, 0, 5);
    }
    out->drain_s = bench_now() - t0;
    out->stored = (size_t)bench_events_stored(tc);
    long n = s_list(&town, ctx, &held);
    if (n < 0)
        goto out;
    /* Acknowledged ids against the township's (sorted, unique) listing;
     * a case stored twice would show as events_stored above the ids. */
    qsort(ids, queued, sizeof *ids, s_cmp);
    for (size_t i = 0; i < queued; i++)
        if (ids[i][0] && !bsearch(ids[i], held, (size_t)n, sizeof *held, s_cmp))
            out->lost++;
    out->duplicated = out->stored > (size_t)n ? out->stored - (size_t)n : 0;
    rc = 0;
out:
    gr_client_destroy(&tc);
    free(ids);
    free(held);
    s_pair_end(&town, &village, ctx);
    return rc;
}

/* ---- filling stores through the store API ---- */

/* The store in dir, opened as every fill opens it; NULL (said) on failure. */
static gr_store_t *s_open(const char *dir)
{
    return bench_fill_open(dir, "gridrecoverybench");
}

/* n cases of the node's own, each with its first timeline entry, spread
 * over the last 90 days, 10,000 per transaction. */
static int s_fill_cases(const char *dir, const char *node_id, size_t n)
{
    gr_store_t *store = s_open(dir);
    if (!store)
        return -1;
    uint64_t now = gr_now_ms(), span = 90ull * 86400 * 1000, step = span / (n ? n : 1);
    int rc = 0;
    gr_txn_t *txn = NULL;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!txn && (rc = gr_store_begin(store, true, &txn)) != 0)
            break;
        uint64_t received = now - span + i * (step ? step : 1);
        char id[GR_EVENT_ID_LEN + 1];
        gr_event_id_new(id, received);
        Gridrelay__Event ev = GRIDRELAY__EVENT__INIT;
        ev.id = id;
        ev.origin_node = (char *)node_id;
        ev.category = S_CATEGORY_HERE;
        ev.severity = GRIDRELAY__SEVERITY__ROUTINE;
        ev.title = S_TITLE;
        ev.created_ms = received;
        Gridrelay__StoredEvent rec = GRIDRELAY__STORED_EVENT__INIT;
        rec.event = &ev;
        rec.received_ms = received;
        rec.status = i % 3 ? GRIDRELAY__STATUS__RESOLVED : GRIDRELAY__STATUS__REPORTED;
        rc = bench_fill_case(txn, &rec, node_id);
        rc = bench_fill_step(&txn, i, rc);
    }
    rc = bench_fill_end(&txn, rc);
    gr_store_close(&store);
    if (rc != 0)
        fprintf(stderr, "gridrecoverybench: filling %s failed (%d)\n", dir, rc);
    return rc;
}

static void s_count_status(void *ctx, const Gridrelay__StatusUpdate *update)
{
    *(uint64_t *)ctx = update->node_seq;
}

/* changes status updates of node_id over cases cases, case i % cases
 * each time, its status walking the lifecycle, 10,000 per transaction.
 * *entries: what the log holds after. */
static int s_fill_status(const char *dir, const char *node_id, size_t changes, size_t cases,
                         size_t *entries)
{
    static const Gridrelay__Status walk[] = {
        GRIDRELAY__STATUS__REPORTED, GRIDRELAY__STATUS__ACCEPTED, GRIDRELAY__STATUS__DISPATCHED,
        GRIDRELAY__STATUS__IN_PROGRESS, GRIDRELAY__STATUS__RESOLVED,
    };
    gr_store_t *store = s_open(dir);
    if (!store)
        return -1;
    char (*ids)[GR_EVENT_ID_LEN + 1] = calloc(cases, sizeof *ids);
    uint64_t now = gr_now_ms();
    for (size_t c = 0; ids && c < cases; c++)
        gr_event_id_new(ids[c], now - cases + c);
    int rc = ids ? 0 : -1;
    gr_txn_t *txn = NULL;
    for (size_t i = 0; i < changes && rc == 0; i++) {
        if (!txn && (rc = gr_store_begin(store, true, &txn)) != 0)
            break;
        size_t c = i % cases, round = i / cases;
        Gridrelay__StatusUpdate u = GRIDRELAY__STATUS_UPDATE__INIT;
        u.node_id = (char *)node_id;
        u.event_id = ids[c];
        u.status = walk[round % (sizeof walk / sizeof *walk)];
        u.holder = (char *)node_id;
        u.category = S_CATEGORY_HERE;
        u.severity = GRIDRELAY__SEVERITY__ROUTINE;
        u.title = S_TITLE;
        u.origin_node = (char *)node_id;
        u.time_ms = now + i;
        u.received_ms = now - cases + c;
        u.due_ms = u.status == GRIDRELAY__STATUS__REPORTED ? now + 3600000 : 0;
        rc = gr_store_status_append(txn, &u);
        rc = bench_fill_step(&txn, i, rc);
    }
    rc = bench_fill_end(&txn, rc);
    size_t count = 0;
    uint64_t seq = 0;
    while (rc == 0 && gr_store_begin(store, false, &txn) == 0) {
        int got = gr_store_status_scan(txn, seq, 100000, s_count_status, &seq);
        gr_store_abort(&txn);
        if (got <= 0) {
            rc = got;
            break;
        }
        count += (size_t)got;
    }
    *entries = count;
    free(ids);
    gr_store_close(&store);
    if (rc != 0)
        fprintf(stderr, "gridrecoverybench: filling %s's status log failed (%d)\n", dir, rc);
    return rc;
}

static const char *s_id_of(const harness_node_t *node)
{
    return strrchr(node->dir, '/') + 1;
}

/* ---- restart ---- */

typedef struct {
    double fill_s;
    double endpoint_s;     /* exec -> the endpoint file written (bound, serving) */
    double answer_s;       /* exec -> the first GetStats answered */
    double report_s;       /* exec -> the first report acknowledged */
    double file_mib;
} s_restart_t;

static bool s_answers(void *arg)
{
    gr_client_t *c = arg;
    Gridrelay__GetStats get = GRIDRELAY__GET_STATS__INIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_STATS;
    body.get_stats = &get;
    gr_opened_t reply;
    if (gr_client_call(c, &body, &reply, 200, 1) != 0)
        return false;
    bool ok = reply.body->kind_case == GRIDRELAY__BODY__KIND_STATS;
    gr_opened_clear(&reply);
    return ok;
}

static int s_restart(size_t cases, s_restart_t *out)
{
    harness_node_t node;
    memset(out, 0, sizeof *out);
    if (harness_node_init(&node, "bench-big", 2) != 0)
        return -1;
    snprintf(node.tier, sizeof node.tier, "district");
    snprintf(node.extra_node, sizeof node.extra_node, "map_size_mb = 8192\nmap_max_mb = 16384\n");
    if (harness_node_write_config(&node) != 0)
        return -1;
    char dir[400];
    snprintf(dir, sizeof dir, "%.300s/store", node.dir);
    /* A node's life starts on an empty store: its one-off start-up work
     * (the repair of cases older versions stranded, flow.c) is done there,
     * not over the million cases filled below. */
    if (harness_node_start(&node) != 0 || harness_node_stop(&node, SIGTERM) != 0) {
        harness_node_cleanup(&node);
        return -1;
    }
    double t0 = bench_now();
    if (s_fill_cases(dir, s_id_of(&node), cases) != 0) {
        harness_node_cleanup(&node);
        return -1;
    }
    out->fill_s = bench_now() - t0;
    bench_disk_t disk;
    if (bench_store_usage(dir, cases, &disk) == 0)
        out->file_mib = disk.file_bytes / (1 << 20);
    printf("gridrecoverybench: restart: %zu cases stored in %.1f s (%.0f MiB)\n", cases,
           out->fill_s, out->file_mib);
    fflush(stdout);
    int rc = -1;
    void *ctx = zmq_ctx_new();
    gr_client_t *c = NULL;
    t0 = bench_now();
    if (harness_node_start_with(&node, NULL, 120000) != 0)
        goto out;
    out->endpoint_s = bench_now() - t0;
    c = harness_client(&node, ctx, 0);
    if (!c || !harness_wait_until(s_answers, c, 120000))
        goto out;
    out->answer_s = bench_now() - t0;
    char id[GR_EVENT_ID_LEN + 1];
    gr_event_id_new(id, gr_now_ms());
    Gridrelay__Event ev = GRIDRELAY__EVENT__INIT;
    ev.id = id;
    ev.category = S_CATEGORY_HERE;
    ev.severity = GRIDRELAY__SEVERITY__ROUTINE;
    ev.title = S_TITLE;
    if (bench_report_call(c, &ev, 60000, 1) == 1)
        out->report_s = bench_now() - t0;
    rc = out->report_s > 0 ? 0 : -1;
out:
    gr_client_destroy(&c);
    harness_node_stop(&node, SIGTERM);
    zmq_ctx_term(ctx);
    harness_node_cleanup(&node);
    return rc;
}

/* ---- catchup ---- */

typedef struct {
    size_t changes, cases, entries;
    uint64_t last_seq;
    double catchup_s;      /* both running -> the township's seq reached last_seq */
} s_catchup_t;

/* The township's stored status seq for child, from GetLinks; 0 on failure. */
static uint64_t s_child_seq(gr_client_t *c, const char *child)
{
    Gridrelay__GetLinks get = GRIDRELAY__GET_LINKS__INIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_LINKS;
    body.get_links = &get;
    gr_opened_t reply;
    uint64_t seq = 0;
    if (gr_client_call(c, &body, &reply, 2000, 1) != 0)
        return 0;
    if (reply.body->kind_case == GRIDRELAY__BODY__KIND_LINKS)
        for (size_t i = 0; i < reply.body->links->n_links; i++)
            if (strcmp(reply.body->links->links[i]->peer, child) == 0)
                seq = reply.body->links->links[i]->status_seq;
    gr_opened_clear(&reply);
    return seq;
}

static int s_catchup(size_t changes, s_catchup_t *out)
{
    harness_node_t town, village;
    memset(out, 0, sizeof *out);
    out->changes = changes;
    out->cases = changes / 5 ? changes / 5 : 1;
    if (s_pair_init(&town, &village, 1) != 0)
        return -1;
    int rc = -1;
    void *ctx = zmq_ctx_new();
    gr_client_t *tc = NULL;
    char dir[400];
    snprintf(dir, sizeof dir, "%.300s/store", village.dir);
    if (harness_node_write_config(&village) != 0 ||
        s_fill_status(dir, s_id_of(&village), changes, out->cases, &out->entries) != 0)
        goto out;
    gr_store_t *store = s_open(dir);
    gr_txn_t *txn = NULL;
    if (!store || gr_store_begin(store, false, &txn) != 0 ||
        gr_store_status_last(txn, &out->last_seq) != 0) {
        gr_store_abort(&txn);
        gr_store_close(&store);
        goto out;
    }
    gr_store_abort(&txn);
    gr_store_close(&store);
    printf("gridrecoverybench: catchup: the village's status log: %zu changes over %zu cases, "
           "%zu entries, last seq %llu\n", changes, out->cases, out->entries,
           (unsigned long long)out->last_seq);
    fflush(stdout);
    if (harness_node_start(&town) != 0)
        goto out;
    harness_set_parent(&village, &town, "parent");
    if (harness_node_start(&village) != 0)
        goto out;
    double t0 = bench_now();
    tc = harness_client(&town, ctx, 0);
    if (!tc)
        goto out;
    uint64_t seq = 0, last = 0;
    double changed = bench_now();
    while (seq < out->last_seq && bench_now() - changed < 60) {
        seq = s_child_seq(tc, s_id_of(&village));
        if (seq != last) {
            last = seq;
            changed = bench_now();
        }
        poll(NULL, 0, 5);
    }
    out->catchup_s = bench_now() - t0;
    rc = seq >= out->last_seq ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "gridrecoverybench: catchup: stalled at seq %llu of %llu\n",
                (unsigned long long)seq, (unsigned long long)out->last_seq);
out:
    gr_client_destroy(&tc);
    s_pair_end(&town, &village, ctx);
    return rc;
}

/* ---- statuslog ---- */

typedef struct {
    size_t changes, cases, entries;
    double fill_s;
    bench_disk_t disk;
} s_statuslog_t;

static int s_statuslog(size_t changes, size_t cases, s_statuslog_t *out)
{
    memset(out, 0, sizeof *out);
    out->changes = changes;
    out->cases = cases;
    char dir[] = "/tmp/gridrecoverybench-XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    double t0 = bench_now();
    int rc = s_fill_status(dir, "village-1", changes, cases, &out->entries);
    out->fill_s = bench_now() - t0;
    if (rc == 0)
        rc = bench_store_usage(dir, changes, &out->disk);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "gridrecoverybench: could not remove %s\n", dir);
    return rc;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"mode", required_argument, NULL, 'm'},
        {"queued", required_argument, NULL, 'q'},
        {"offline-seconds", required_argument, NULL, 'o'},
        {"cases", required_argument, NULL, 'c'},
        {"changes", required_argument, NULL, 'g'},
        {"status-changes", required_argument, NULL, 's'},
        {"status-cases", required_argument, NULL, 'k'},
        {"json", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *mode = "all", *json = NULL;
    unsigned long long queued = 10000, cases = 1000000, changes = 100000, st_changes = 1000000,
                       st_cases = 100000;
    double offline_s = 40;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        char *end = NULL;
        switch (opt) {
        case 'm': mode = optarg; end = optarg + strlen(optarg); break;
        case 'j': json = optarg; end = optarg + strlen(optarg); break;
        case 'q': queued = strtoull(optarg, &end, 10); break;
        case 'o': offline_s = strtod(optarg, &end); break;
        case 'c': cases = strtoull(optarg, &end, 10); break;
        case 'g': changes = strtoull(optarg, &end, 10); break;
        case 's': st_changes = strtoull(optarg, &end, 10); break;
        case 'k': st_cases = strtoull(optarg, &end, 10); break;
        default:
            return bench_usage_exit(s_usage, opt == 'h');
        }
        if (!end || *end)
            return bench_usage_exit(s_usage, false);
    }
    bool all = strcmp(mode, "all") == 0;
    bool m_drain = all || strcmp(mode, "drain") == 0, m_restart = all || strcmp(mode, "restart") == 0,
         m_catchup = all || strcmp(mode, "catchup") == 0,
         m_status = all || strcmp(mode, "statuslog") == 0;
    if (!(m_drain || m_restart || m_catchup || m_status) || queued < 1 || cases < 1 ||
        changes < 1 || st_changes < 1 || st_cases < 1 || st_cases > st_changes || offline_s < 0) {
        s_usage(stderr);
        return 2;
    }
    /* The daemon beside this binary, as gridbench finds it. */
    bench_default_daemon();
    bench_sheet_t *sheet = calloc(1, sizeof *sheet);
    if (!sheet)
        return 1;
    int failed = 0;
    if (m_drain) {
        s_drain_t d;
        bench_sheet_section(sheet, "village backlog after an outage");
        if (s_drain(queued, offline_s, &d) != 0) {
            fprintf(stderr, "gridrecoverybench: drain failed\n");
            failed++;
        } else {
            bench_sheet_add(sheet, "drain_s", 2, d.drain_s,
                            "drain: %zu queued reports, township back -> all stored, s", d.acked);
            bench_sheet_add(sheet, "drain_first_s", 2, d.first_s,
                            "drain: township back -> its first case, s");
            bench_sheet_add(sheet, "drain_per_s", 0, d.drain_s > 0 ? (double)d.acked / d.drain_s : -1,
                            "drain: reports/s");
            bench_sheet_add(sheet, "drain_lost", 0, (double)d.lost, "drain: acknowledged, not stored");
            bench_sheet_add(sheet, "drain_duplicated", 0, (double)d.duplicated,
                            "drain: stored twice");
        }
    }
    if (m_restart) {
        s_restart_t r;
        bench_sheet_section(sheet, "start-up of a large store");
        if (s_restart(cases, &r) != 0) {
            fprintf(stderr, "gridrecoverybench: restart failed\n");
            failed++;
        } else {
            bench_sheet_add(sheet, "restart_endpoint_s", 3, r.endpoint_s,
                            "restart: %llu cases (%.0f MiB): exec -> listening, s", cases, r.file_mib);
            bench_sheet_add(sheet, "restart_answer_s", 3, r.answer_s,
                            "restart: exec -> first answer, s");
            bench_sheet_add(sheet, "restart_report_s", 3, r.report_s,
                            "restart: exec -> first report acknowledged, s");
        }
    }
    if (m_catchup) {
        s_catchup_t c;
        bench_sheet_section(sheet, "status catch-up");
        if (s_catchup(changes, &c) != 0) {
            fprintf(stderr, "gridrecoverybench: catchup failed\n");
            failed++;
        } else {
            bench_sheet_add(sheet, "catchup_s", 2, c.catchup_s,
                            "catch-up: %zu changes over %zu cases missed (%zu log entries): time, s",
                            c.changes, c.cases, c.entries);
            bench_sheet_add(sheet, "catchup_changes_per_s", 0,
                            c.catchup_s > 0 ? (double)c.changes / c.catchup_s : -1,
                            "catch-up: missed changes covered per second");
        }
    }
    if (m_status) {
        s_statuslog_t l;
        bench_sheet_section(sheet, "status log");
        if (s_statuslog(st_changes, st_cases, &l) != 0) {
            fprintf(stderr, "gridrecoverybench: statuslog failed\n");
            failed++;
        } else {
            bench_sheet_add(sheet, "statuslog_entries", 0, (double)l.entries,
                            "status log: %zu changes over %zu cases: entries kept", l.changes,
                            l.cases);
            bench_sheet_add(sheet, "statuslog_file_mib", 1, l.disk.file_bytes / (1 << 20),
                            "status log: data.mdb, MiB");
            bench_sheet_add(sheet, "statuslog_used_mib", 1, l.disk.used_bytes / (1 << 20),
                            "status log: pages in use, MiB");
            bench_sheet_add(sheet, "statuslog_fill_s", 1, l.fill_s,
                            "status log: appending them (10,000 per commit), s");
        }
    }
    bench_sheet_print(sheet, stdout);
    if (json && bench_sheet_write_json(sheet, json, 1, 0) != 0)
        failed++;
    free(sheet);
    return failed ? 1 : 0;
}
