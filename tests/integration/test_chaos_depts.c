/* Department tasks under chaos: a district, a township with two
 * departments (police, safety) and two villages, real processes. Reports
 * flow at both villages; the township dispatches each by category; each
 * department's software (a gr_dept_client in its own thread, as a real
 * department runs it) subscribes, claims and completes (reports back) every
 * task it is given, retrying what got no answer. Meanwhile a driver hits a
 * node every 0.5-3 s (the township every other time), three times in four
 * with SIGKILL and a restart on its store, else SIGSTOP and SIGCONT
 * 0.3-2 s later. Then, with every node up again, the grid must converge,
 * and for every report a village acknowledged:
 *
 *  - the department it was routed to saw the task exactly once (one
 *    GR_DEPT_TASK_ADDED), the other department never;
 *  - the township's timeline holds exactly one dispatch, one claim and one
 *    resolution by that department, and no task is left open in its store;
 *  - the origin village holds it FED_BACK, with the result recorded once;
 *  - every store's timelines verify (store_check).
 *
 * It prints faults survived, tasks, lost, duplicated and the time to
 * converge. The suite runs it for GR_CHAOS_SECONDS (default 30); a long
 * run: build/tests/integration/test_chaos_depts --minutes 10.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <pthread.h>
#include <zmq.h>

#include "dept_client.h"
#include "error.h"
#include "store.h"
#include "tiers_fixture.h"

#define MAX_EVENTS 10000
#define CONVERGE_MS 180000
#define RETRY_MS 300

enum { DISTRICT_N, TOWN_N, VILLAGE_1, VILLAGE_2, N_TIER_NODES };
#define N_VILLAGES 2
enum { POLICE, SAFETY, N_DEPTS };
static const char *const s_codes[N_DEPTS] = { "police", "safety" };
static const char *const s_categories[N_DEPTS] = { "T.POLICE", "T.SAFETY" };

static int s_seconds = 30;

typedef struct {
    harness_node_t nodes[N_TIER_NODES];
    void *ctx;
    char catalogue[320];
} s_grid_t;

typedef struct {
    s_grid_t *g;
    int v;                              /* 0 or 1 */
    char (*ids)[32];
    atomic_int acked;
    atomic_bool gave_up;
    atomic_bool *stop;
} s_reporter_t;

typedef struct {
    s_grid_t *g;
    int dept;
    gr_keypair_t keys;
    atomic_bool *stop;
    /* Written by the department's thread, read by the main thread after
     * it joined: */
    unsigned char *added[N_VILLAGES];   /* GR_DEPT_TASK_ADDED per report */
    unsigned char *done[N_VILLAGES];    /* claimed and completed (or refused: gone) */
    uint64_t *next_try[N_VILLAGES];
    int wrong_dept;                     /* a task of the other department's category */
    int unknown;                        /* a task for no acknowledged report */
    int completed, refused, timeouts;
} s_dept_t;

static bool s_flag(void *arg)
{
    return atomic_load((atomic_bool *)arg);
}

static uint64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int s_parse(const char *id, int *index)
{
    int v, i;
    if (sscanf(id, "cd-%d-%d", &v, &i) != 2 || v < 0 || v >= N_VILLAGES || i < 0 || i >= MAX_EVENTS)
        return -1;
    *index = i;
    return v;
}

static void *s_report_loop(void *arg)
{
    s_reporter_t *r = arg;
    harness_node_t *village = &r->g->nodes[VILLAGE_1 + r->v];
    int n = 0;
    while (!atomic_load(r->stop) && n < MAX_EVENTS) {
        snprintf(r->ids[n], sizeof r->ids[n], "cd-%d-%05d", r->v, n);
        /* Resend until acknowledged (a duplicate answer is an ack too). */
        int tries = 0;
        while (node_report(village, r->g->ctx, r->ids[n], s_categories[n % N_DEPTS], 1) != 0)
            if (++tries == 20) {
                atomic_store(&r->gave_up, true);
                return NULL;
            }
        atomic_store(&r->acked, ++n);
        harness_wait_until(s_flag, r->stop, 200);
    }
    return NULL;
}

static void s_on_task(void *ctx, gr_dept_change_t change, const Gridrelay__Task *task,
                      const char *reason)
{
    (void)reason;
    s_dept_t *d = ctx;
    if (change != GR_DEPT_TASK_ADDED)
        return;
    int i;
    int v = s_parse(task->event_id, &i);
    if (v < 0) {
        d->unknown++;
        return;
    }
    if (i % N_DEPTS != d->dept)
        d->wrong_dept++;
    if (d->added[v][i] < 255)
        d->added[v][i]++;
}

/* The department's software: follows its tasks and works each one off,
 * claim then complete; what got no answer is tried again a little later. */
static void *s_dept_loop(void *arg)
{
    s_dept_t *d = arg;
    harness_node_t *town = &d->g->nodes[TOWN_N];
    gr_dept_client_options_t opt = {
        .node_endpoint = town->endpoint,
        .node_pk = town->node_key.pk,
        .keys = &d->keys,
        .zmq_ctx = d->g->ctx,
        .timeout_ms = 1000,
        .attempts = 2,
        .resync_ms = 2000,
        .on_task = s_on_task,
        .ctx = d,
    };
    char err[256];
    gr_dept_client_t *client = gr_dept_client_new(&opt, err, sizeof err);
    if (!client) {
        fprintf(stderr, "chaos-depts: %s: %s\n", s_codes[d->dept], err);
        return NULL;
    }
    while (!atomic_load(d->stop) && gr_dept_client_sync(client, err, sizeof err) != 0) {
    }
    while (!atomic_load(d->stop)) {
        gr_dept_client_process(client, 50);
        /* The mirror's pointers last until the next call: ids first. */
        char ids[64][32];
        size_t n = 0;
        for (size_t t = 0; t < gr_dept_client_task_count(client) && n < 64; t++) {
            const Gridrelay__Task *task = gr_dept_client_task_at(client, t);
            int i = 0;
            int v = s_parse(task->event_id, &i);
            if (v >= 0 && !d->done[v][i] && s_now_ms() >= d->next_try[v][i])
                snprintf(ids[n++], sizeof ids[0], "%s", task->event_id);
        }
        for (size_t k = 0; k < n && !atomic_load(d->stop); k++) {
            int i = 0;
            int v = s_parse(ids[k], &i);
            int rc = gr_dept_client_act(client, GRIDRELAY__TASK_ACTION__KIND__CLAIM, ids[k],
                                        "on our way", err, sizeof err);
            if (rc == 0)
                rc = gr_dept_client_act(client, GRIDRELAY__TASK_ACTION__KIND__COMPLETE, ids[k],
                                        "handled by the department", err, sizeof err);
            if (rc == 0) {
                d->completed++;
                d->done[v][i] = 1;
            } else if (rc == GR_EREFUSED) {
                /* No open task any more: an earlier complete whose answer
                 * was lost. The timeline check below tells. */
                d->refused++;
                d->done[v][i] = 1;
            } else {
                d->timeouts++;
                d->next_try[v][i] = s_now_ms() + RETRY_MS;
            }
        }
    }
    gr_dept_client_destroy(&client);
    return NULL;
}

static int s_write_catalogue(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (int i = 0; i < N_DEPTS; i++)
        fprintf(f, "[%s]\nclass = test\nsubclass = test\nname = %s\nauthority = township\n\n",
                s_categories[i], s_categories[i]);
    return fclose(f) == 0 ? 0 : -1;
}

static int s_grid_start(s_grid_t *g, s_dept_t *depts)
{
    const char *names[N_TIER_NODES] = { "district", "township", "village-1", "village-2" };
    const char *tiers[N_TIER_NODES] = { "district", "township", "village", "village" };
    if (nodes_init_tiers(g->nodes, N_TIER_NODES, names, tiers, 1) != 0)
        return -1;
    snprintf(g->catalogue, sizeof g->catalogue, "%.250s/../catalogue.ini", g->nodes[DISTRICT_N].dir);
    if (s_write_catalogue(g->catalogue) != 0)
        return -1;
    for (int i = 0; i < N_TIER_NODES; i++)
        memcpy(g->nodes[i].catalogue, g->catalogue, sizeof g->catalogue);
    harness_node_t *town = &g->nodes[TOWN_N];
    town->task_listen = true;
    size_t n = (size_t)snprintf(town->sections, sizeof town->sections, "[departments]\n");
    for (int i = 0; i < N_DEPTS; i++) {
        char hex[GR_PUBLIC_KEY_HEX];
        if (gr_keys_generate(&depts[i].keys) != 0)
            return -1;
        gr_key_to_hex(hex, depts[i].keys.pk);
        n += (size_t)snprintf(town->sections + n, sizeof town->sections - n, "%s = %s, %s desk\n",
                              s_codes[i], hex, s_codes[i]);
    }
    n += (size_t)snprintf(town->sections + n, sizeof town->sections - n, "\n[dispatch]\n");
    for (int i = 0; i < N_DEPTS; i++)
        n += (size_t)snprintf(town->sections + n, sizeof town->sections - n, "%s = %s\n",
                              s_categories[i], s_codes[i]);
    snprintf(town->sections + n, sizeof town->sections - n, "\n");
    const int parent[N_TIER_NODES] = { -1, DISTRICT_N, TOWN_N, TOWN_N };
    if (nodes_start_tree(g->nodes, N_TIER_NODES, parent) != 0)
        return -1;
    return (g->ctx = zmq_ctx_new()) ? 0 : -1;
}

typedef struct {
    s_grid_t *g;
    s_reporter_t *reporters;
    int next_v, next_i;                 /* resume point of the scan */
} s_fed_back_t;

static bool s_all_fed_back(void *arg)
{
    s_fed_back_t *f = arg;
    for (; f->next_v < N_VILLAGES; f->next_v++, f->next_i = 0) {
        s_reporter_t *r = &f->reporters[f->next_v];
        for (; f->next_i < atomic_load(&r->acked); f->next_i++)
            if (node_status(&f->g->nodes[VILLAGE_1 + r->v], f->g->ctx, r->ids[f->next_i], NULL, 0) !=
                GRIDRELAY__STATUS__FED_BACK)
                return false;
    }
    return true;
}

static size_t s_count(const char *haystack, const char *needle)
{
    size_t n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static int s_count_task(void *ctx, const Gridrelay__Task *task)
{
    (void)task;
    (*(int *)ctx)++;
    return 0;
}

/* Open tasks left in the township's store (it is stopped). */
static int s_open_tasks(s_grid_t *g)
{
    char dir[400], err[512];
    snprintf(dir, sizeof dir, "%s/store", g->nodes[TOWN_N].dir);
    gr_store_t *store = NULL;
    gr_store_options_t opt = {0};
    if (gr_store_open(&store, dir, &opt, err, sizeof err) != 0) {
        fprintf(stderr, "chaos-depts: %s\n", err);
        return -1;
    }
    gr_txn_t *txn = NULL;
    int open = 0;
    if (gr_store_begin(store, false, &txn) != 0)
        open = -1;
    for (int d = 0; open >= 0 && d < N_DEPTS; d++)
        if (gr_store_task_scan(txn, s_codes[d], NULL, 100000, s_count_task, &open) < 0)
            open = -1;
    gr_store_abort(&txn);
    gr_store_close(&store);
    return open;
}

static void test_department_tasks_survive_chaos(void **state)
{
    (void)state;
    static s_grid_t g;
    static s_dept_t depts[N_DEPTS];
    assert_int_equal(s_grid_start(&g, depts), 0);
    srand((unsigned)time(NULL));

    atomic_bool stop_reports = false, stop_depts = false, never = false;
    s_reporter_t reporters[N_VILLAGES];
    pthread_t report_threads[N_VILLAGES], dept_threads[N_DEPTS];
    for (int d = 0; d < N_DEPTS; d++) {
        depts[d].g = &g;
        depts[d].dept = d;
        depts[d].stop = &stop_depts;
        for (int v = 0; v < N_VILLAGES; v++) {
            depts[d].added[v] = calloc(MAX_EVENTS, 1);
            depts[d].done[v] = calloc(MAX_EVENTS, 1);
            depts[d].next_try[v] = calloc(MAX_EVENTS, sizeof *depts[d].next_try[v]);
            assert_non_null(depts[d].added[v]);
            assert_non_null(depts[d].done[v]);
            assert_non_null(depts[d].next_try[v]);
        }
        assert_int_equal(pthread_create(&dept_threads[d], NULL, s_dept_loop, &depts[d]), 0);
    }
    for (int v = 0; v < N_VILLAGES; v++) {
        reporters[v] = (s_reporter_t){ .g = &g, .v = v, .stop = &stop_reports };
        reporters[v].ids = calloc(MAX_EVENTS, sizeof *reporters[v].ids);
        assert_non_null(reporters[v].ids);
        assert_int_equal(pthread_create(&report_threads[v], NULL, s_report_loop, &reporters[v]), 0);
    }

    /* The faults, on the main thread (harness.h): the township, where the
     * departments work, every other time. */
    int kills = 0, hangs = 0, town_faults = 0;
    uint64_t end = s_now_ms() + (uint64_t)s_seconds * 1000u;
    while (s_now_ms() < end) {
        harness_wait_until(s_flag, &never, 500 + rand() % 2500);
        int n = rand() % 2 ? TOWN_N : rand() % N_TIER_NODES;
        town_faults += n == TOWN_N;
        assert_int_equal(fixture_fault(&g.nodes[n], &kills, &hangs), 0);
    }
    atomic_store(&stop_reports, true);
    for (int v = 0; v < N_VILLAGES; v++)
        pthread_join(report_threads[v], NULL);
    uint64_t calm = s_now_ms();

    /* Converge: every report worked off and its result back at its village. */
    int acked = 0;
    bool gave_up = false;
    for (int v = 0; v < N_VILLAGES; v++) {
        acked += atomic_load(&reporters[v].acked);
        gave_up |= atomic_load(&reporters[v].gave_up);
    }
    s_fed_back_t fed = { .g = &g, .reporters = reporters };
    bool converged = harness_wait_until(s_all_fed_back, &fed, CONVERGE_MS);
    uint64_t converge_ms = s_now_ms() - calm;
    atomic_store(&stop_depts, true);
    for (int d = 0; d < N_DEPTS; d++)
        pthread_join(dept_threads[d], NULL);

    /* Exactly once, in the departments' view and in the timelines. */
    int lost = 0, dup_tasks = 0, dup_reports = 0, bad = 0, completed = 0, refused = 0;
    for (int d = 0; d < N_DEPTS; d++) {
        completed += depts[d].completed;
        refused += depts[d].refused;
        bad += depts[d].wrong_dept + depts[d].unknown;
    }
    static char timeline[65536];
    for (int v = 0; v < N_VILLAGES; v++)
        for (int i = 0; i < atomic_load(&reporters[v].acked); i++) {
            const char *id = reporters[v].ids[i];
            int d = i % N_DEPTS;
            unsigned seen = depts[d].added[v][i];
            if (seen == 0 || depts[1 - d].added[v][i] != 0) {
                fprintf(stderr, "chaos-depts: %s: seen %u times by %s, %u by %s\n", id, seen,
                        s_codes[d], depts[1 - d].added[v][i], s_codes[1 - d]);
                if (seen == 0)
                    lost++;
                else
                    bad++;
            }
            dup_tasks += seen > 1;
            char want[96];
            timeline[0] = '\0';
            node_status(&g.nodes[TOWN_N], g.ctx, id, timeline, sizeof timeline);
            size_t counts[3];
            snprintf(want, sizeof want, "dispatched to %s", s_codes[d]);
            counts[0] = s_count(timeline, want);
            snprintf(want, sizeof want, "claimed by %s", s_codes[d]);
            counts[1] = s_count(timeline, want);
            snprintf(want, sizeof want, "resolved by %s at", s_codes[d]);
            counts[2] = s_count(timeline, want);
            timeline[0] = '\0';
            node_status(&g.nodes[VILLAGE_1 + v], g.ctx, id, timeline, sizeof timeline);
            size_t back = s_count(timeline, want);
            if (counts[0] != 1 || counts[1] != 1 || counts[2] != 1 || back != 1) {
                fprintf(stderr, "chaos-depts: %s: township: %zu dispatches, %zu claims, %zu "
                        "resolutions; village: %zu results\n", id, counts[0], counts[1],
                        counts[2], back);
                if (counts[0] == 0 || counts[2] == 0 || back == 0)
                    lost++;
                else
                    dup_reports++;
            }
        }
    assert_int_equal(harness_node_stop(&g.nodes[TOWN_N], SIGTERM), 0);
    int open = s_open_tasks(&g);
    printf("chaos-depts: %d s, %d faults survived (%d kills, %d hangs; %d at the township); "
           "%d reports acknowledged, %d tasks completed (%d answers lost and found done); "
           "%d lost, %d tasks seen twice, %d reports back doubled, %d misrouted, %d tasks left "
           "open; %s in %.1f s\n",
           s_seconds, kills + hangs, kills, hangs, town_faults, acked, completed, refused, lost,
           dup_tasks, dup_reports, bad, open, converged ? "converged" : "NOT converged",
           (double)converge_ms / 1000.0);
    fflush(stdout);
    for (int v = 0; v < N_VILLAGES; v++) {
        free(reporters[v].ids);
        for (int d = 0; d < N_DEPTS; d++) {
            free(depts[d].added[v]);
            free(depts[d].done[v]);
            free(depts[d].next_try[v]);
        }
    }
    assert_false(gave_up);
    assert_true(converged);
    assert_true(acked > 0);
    assert_int_equal(lost, 0);
    assert_int_equal(dup_tasks, 0);
    assert_int_equal(dup_reports, 0);
    assert_int_equal(bad, 0);
    assert_int_equal(open, 0);
    zmq_ctx_term(g.ctx);
    assert_int_equal(nodes_stop_checked(g.nodes, N_TIER_NODES, g.catalogue), 0);
}

int main(int argc, char **argv)
{
    const char *env = getenv("GR_CHAOS_SECONDS");
    if (env && atoi(env) > 0)
        s_seconds = atoi(env);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: test_chaos_depts [--minutes N]  (or GR_CHAOS_SECONDS=N; GRIDRELAYD, "
                   "GRIDCTL name the binaries)\n");
            return 0;
        }
        if (i + 1 < argc && strcmp(argv[i], "--minutes") == 0 && atoi(argv[i + 1]) > 0)
            s_seconds = atoi(argv[i + 1]) * 60;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_department_tasks_survive_chaos),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
