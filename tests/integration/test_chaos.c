/* Chaos: reports flow at all four villages of a 1 district / 2 township /
 * 4 village grid while a driver hits a random node every 0.5-3 s, either
 * SIGKILL and a restart on its store, or SIGSTOP and SIGCONT a while later
 * (a hung node); meanwhile the district resolves whatever has reached it.
 * Then every node runs again and the grid must converge:
 *
 *  - every event a village acknowledged is at the district exactly once
 *    (and no other event is), with the reporter's signature on its origin
 *    envelope and a signed path village -> township;
 *  - every resolution made at the district has reached the origin village
 *    (FED_BACK there);
 *  - every timeline's hash chain in every store verifies (topology_stop).
 *
 * It prints faults survived, events acknowledged, lost, duplicated and the
 * time to converge. The suite runs it for GR_CHAOS_SECONDS (default 30);
 * a long run: build/tests/integration/test_chaos --minutes 20.
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

#include "envelope.h"
#include "hop.h"
#include "store.h"
#include "tiers_fixture.h"

#define MAX_EVENTS 20000
#define N_VILLAGES 4
#define CONVERGE_MS 120000

static int s_seconds = 30;

typedef struct {
    topology_t *t;
    int node;                           /* village index in the topology */
    char (*ids)[32];
    atomic_int acked;                   /* ids[0..acked-1] were acknowledged */
    atomic_bool gave_up;                /* a report went unanswered 20 times */
    atomic_bool *stop;
} s_reporter_t;

typedef struct {
    s_reporter_t *reporters;
    topology_t *t;
    atomic_bool *stop;                  /* give up (convergence timed out) */
    atomic_bool *chaos_over;
    atomic_bool finished;               /* everything acknowledged is resolved */
    atomic_int resolved;
    unsigned char *done[N_VILLAGES];    /* resolved at the district, per id */
    int *last_rc[N_VILLAGES];           /* the district's last answer, per id */
} s_resolver_t;

static bool s_flag(void *arg)
{
    return atomic_load((atomic_bool *)arg);
}

static void *s_report_loop(void *arg)
{
    s_reporter_t *r = arg;
    int n = 0;
    while (!atomic_load(r->stop) && n < MAX_EVENTS) {
        snprintf(r->ids[n], sizeof r->ids[n], "cx-%d-%05d", r->node, n);
        /* Resend until acknowledged: a kill between the commit and the
         * ack is answered "duplicate" on the resend, never stored twice.
         * Also after the chaos (every node is up again then), so that no
         * report is left stored without its ack. */
        int tries = 0;
        while (node_report(&r->t->nodes[r->node], r->t->ctx, r->ids[n], "T.DISTRICT", 1) != 0)
            if (++tries == 20) {
                atomic_store(&r->gave_up, true);
                return NULL;
            }
        atomic_store(&r->acked, ++n);
        /* A busy field day, not a flood: about ten reports a second per village. */
        harness_wait_until(s_flag, r->stop, 100);
    }
    return NULL;
}

/* Resolves at the district every acknowledged event that has reached it;
 * runs until the chaos is over and everything acknowledged is resolved. */
static void *s_resolve_loop(void *arg)
{
    s_resolver_t *s = arg;
    harness_node_t *district = &s->t->nodes[DISTRICT];
    for (;;) {
        /* Read before the pass: a pass that began while reports were still
         * being acknowledged may not have seen the last of them. */
        bool over = atomic_load(s->chaos_over);
        bool all = true, progress = false;
        for (int v = 0; v < N_VILLAGES; v++) {
            s_reporter_t *r = &s->reporters[v];
            int acked = atomic_load(&r->acked);
            for (int i = 0; i < acked; i++) {
                if (s->done[v][i])
                    continue;
                int rc = node_action(district, s->t->ctx, r->ids[i],
                                     GRIDRELAY__CASE_ACTION__KIND__RESOLVE, "settled at the district", NULL);
                s->last_rc[v][i] = rc;
                /* RESOLVED now, or FORBIDDEN: resolved before a lost ack. */
                if (rc == GRIDRELAY__STATUS__RESOLVED || rc == GRIDRELAY__STATUS__FED_BACK ||
                    rc == -GRIDRELAY__ERROR_CODE__ERR_FORBIDDEN) {
                    s->done[v][i] = 1;
                    atomic_fetch_add(&s->resolved, 1);
                    progress = true;
                } else {
                    all = false;
                }
            }
        }
        if (all && over) {
            atomic_store(&s->finished, true);
            return NULL;
        }
        /* Nothing new has reached the district: wait a little for more. */
        if (!progress)
            harness_wait_until(s_flag, s->stop, 50);
        if (atomic_load(s->stop))
            return NULL;
    }
}

typedef struct {
    s_reporter_t *reporters;
    topology_t *t;
    int next_v, next_i;                 /* resume point of the scan */
} s_fed_back_t;

static bool s_all_fed_back(void *arg)
{
    s_fed_back_t *f = arg;
    for (; f->next_v < N_VILLAGES; f->next_v++, f->next_i = 0) {
        s_reporter_t *r = &f->reporters[f->next_v];
        int acked = atomic_load(&r->acked);
        for (; f->next_i < acked; f->next_i++)
            if (node_status(&f->t->nodes[r->node], f->t->ctx, r->ids[f->next_i], NULL, 0) !=
                GRIDRELAY__STATUS__FED_BACK)
                return false;
    }
    return true;
}

static uint64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Where the first events that did not converge stand, tier by tier. */
static void s_explain(topology_t *t, s_reporter_t *reporters, const s_resolver_t *resolver)
{
    unsigned char *const *done = resolver->done;
    int shown = 0;
    for (int v = 0; v < N_VILLAGES && shown < 10; v++) {
        s_reporter_t *r = &reporters[v];
        for (int i = 0; i < atomic_load(&r->acked) && shown < 10; i++) {
            int town = r->node < VILLAGE_B1 ? TOWN_A : TOWN_B;
            int at_village = node_status(&t->nodes[r->node], t->ctx, r->ids[i], NULL, 0);
            if (done[v][i] && at_village == GRIDRELAY__STATUS__FED_BACK)
                continue;
            char timeline[2048] = "";
            int at_district = node_status(&t->nodes[DISTRICT], t->ctx, r->ids[i], timeline, sizeof timeline);
            fprintf(stderr, "chaos: %s: resolved %s (district's last answer %d); status village %d, "
                    "township %d, district %d (%s)\n", r->ids[i], done[v][i] ? "yes" : "no",
                    resolver->last_rc[v][i], at_village,
                    node_status(&t->nodes[town], t->ctx, r->ids[i], NULL, 0), at_district, timeline);
            shown++;
        }
    }
    for (int n = 0; n < N_NODES; n++) {
        char cmd[2 * sizeof t->nodes[n].dir + 64];
        snprintf(cmd, sizeof cmd, "echo '--- %s'; tail -n 25 %s/gridrelayd.log >&2", t->nodes[n].dir,
                 t->nodes[n].dir);
        if (system(cmd) != 0)
            fprintf(stderr, "chaos: no log in %s\n", t->nodes[n].dir);
    }
}

/* ---- what the district's store holds ---- */

typedef struct {
    topology_t *t;
    s_reporter_t *reporters;
    unsigned char *seen[N_VILLAGES];
    int unknown, bad_signature, bad_path, duplicated;
} s_audit_t;

static int s_village_of(const char *id, int *index)
{
    int v, i;
    if (sscanf(id, "cx-%d-%d", &v, &i) != 2 || v < VILLAGE_A1 || v >= VILLAGE_A1 + N_VILLAGES ||
        i < 0 || i >= MAX_EVENTS)
        return -1;
    *index = i;
    return v;
}

static void s_audit_event(void *ctx, const Gridrelay__StoredEvent *rec)
{
    s_audit_t *a = ctx;
    int i;
    int v = s_village_of(rec->event->id, &i);
    if (v < 0 || i >= atomic_load(&a->reporters[v - VILLAGE_A1].acked)) {
        fprintf(stderr, "chaos: the district holds %s, which no village acknowledged\n", rec->event->id);
        a->unknown++;
        return;
    }
    if (a->seen[v - VILLAGE_A1][i]++)
        a->duplicated++;
    const harness_node_t *village = &a->t->nodes[v];
    gr_opened_t origin;
    if (gr_envelope_open_from(&origin, rec->origin_envelope.data, rec->origin_envelope.len,
                              village->reporters[0].pk, 0) != 0) {
        fprintf(stderr, "chaos: %s: origin signature does not verify\n", rec->event->id);
        a->bad_signature++;
        return;
    }
    gr_opened_clear(&origin);
    /* Village, then its township: each hop signed by that node. */
    const harness_node_t *path[2] = { village, &a->t->nodes[v < VILLAGE_B1 ? TOWN_A : TOWN_B] };
    bool ok = rec->n_hops == 2;
    for (size_t h = 0; ok && h < 2; h++)
        ok = gr_hop_verify_bound(rec->hops[h], rec->event->id, rec->origin_envelope.data,
                                 rec->origin_envelope.len) == 0 && rec->hops[h]->signer.len == 32 &&
             memcmp(rec->hops[h]->signer.data, path[h]->node_key.pk, 32) == 0;
    if (!ok) {
        fprintf(stderr, "chaos: %s: the signed path is not village -> township\n", rec->event->id);
        a->bad_path++;
    }
}

static int s_audit_district(s_audit_t *a)
{
    char dir[400], err[512];
    snprintf(dir, sizeof dir, "%s/store", a->t->nodes[DISTRICT].dir);
    gr_store_t *store = NULL;
    gr_store_options_t opt = {0};
    if (gr_store_open(&store, dir, &opt, err, sizeof err) != 0) {
        fprintf(stderr, "chaos: %s\n", err);
        return -1;
    }
    gr_txn_t *txn = NULL;
    int rc = gr_store_begin(store, false, &txn);
    char token[GR_PAGE_TOKEN_MAX] = "", next[GR_PAGE_TOKEN_MAX];
    while (rc == 0) {
        rc = gr_store_list(txn, NULL, token, 500, s_audit_event, a, next);
        if (rc != 0 || !next[0])
            break;
        memcpy(token, next, sizeof token);
    }
    gr_store_abort(&txn);
    gr_store_close(&store);
    return rc;
}

/* ---- the run ---- */

static void test_chaos_converges_with_nothing_lost(void **state)
{
    (void)state;
    static topology_t t;
    assert_int_equal(topology_start(&t, 0), 0);
    srand((unsigned)time(NULL));

    atomic_bool stop_reports = false, stop_resolver = false, chaos_over = false;
    s_reporter_t reporters[N_VILLAGES];
    pthread_t report_threads[N_VILLAGES], resolve_thread;
    s_resolver_t resolver = { .reporters = reporters, .t = &t, .stop = &stop_resolver,
                              .chaos_over = &chaos_over, .finished = false };
    for (int v = 0; v < N_VILLAGES; v++) {
        reporters[v] = (s_reporter_t){ .t = &t, .node = VILLAGE_A1 + v, .stop = &stop_reports };
        reporters[v].ids = calloc(MAX_EVENTS, sizeof *reporters[v].ids);
        resolver.done[v] = calloc(MAX_EVENTS, 1);
        resolver.last_rc[v] = calloc(MAX_EVENTS, sizeof *resolver.last_rc[v]);
        assert_non_null(resolver.last_rc[v]);
        assert_non_null(reporters[v].ids);
        assert_non_null(resolver.done[v]);
        assert_int_equal(pthread_create(&report_threads[v], NULL, s_report_loop, &reporters[v]), 0);
    }
    assert_int_equal(pthread_create(&resolve_thread, NULL, s_resolve_loop, &resolver), 0);

    /* The faults. Restarts happen here, on the main thread (harness.h). */
    int kills = 0, hangs = 0;
    uint64_t end = s_now_ms() + (uint64_t)s_seconds * 1000u;
    atomic_bool never = false;
    while (s_now_ms() < end) {
        /* The next fault in 0.5-3 s: a bounded wait on nothing. */
        harness_wait_until(s_flag, &never, 500 + rand() % 2500);
        assert_int_equal(fixture_fault(&t.nodes[rand() % N_NODES], &kills, &hangs), 0);
    }
    atomic_store(&stop_reports, true);
    for (int v = 0; v < N_VILLAGES; v++)
        pthread_join(report_threads[v], NULL);
    atomic_store(&chaos_over, true);
    uint64_t calm = s_now_ms();

    /* Converge: everything resolved at the district and fed back. */
    int acked = 0;
    bool gave_up = false;
    for (int v = 0; v < N_VILLAGES; v++) {
        acked += atomic_load(&reporters[v].acked);
        gave_up |= atomic_load(&reporters[v].gave_up);
    }
    bool resolved = harness_wait_until(s_flag, &resolver.finished, CONVERGE_MS);
    atomic_store(&stop_resolver, true);
    pthread_join(resolve_thread, NULL);
    s_fed_back_t fed = { .reporters = reporters, .t = &t };
    bool converged = resolved && harness_wait_until(s_all_fed_back, &fed, CONVERGE_MS);
    uint64_t converge_ms = s_now_ms() - calm;
    if (!converged)
        s_explain(&t, reporters, &resolver);

    assert_int_equal(harness_node_stop(&t.nodes[DISTRICT], SIGTERM), 0);
    s_audit_t audit = { .t = &t, .reporters = reporters };
    for (int v = 0; v < N_VILLAGES; v++) {
        audit.seen[v] = calloc(MAX_EVENTS, 1);
        assert_non_null(audit.seen[v]);
    }
    assert_int_equal(s_audit_district(&audit), 0);
    int lost = 0;
    for (int v = 0; v < N_VILLAGES; v++)
        for (int i = 0; i < atomic_load(&reporters[v].acked); i++)
            if (!audit.seen[v][i]) {
                fprintf(stderr, "chaos: %s was acknowledged but is not at the district\n",
                        reporters[v].ids[i]);
                lost++;
            }
    printf("chaos: %d s, %d faults survived (%d kills, %d hangs); %d events acknowledged, "
           "%d resolved at the district; %d lost, %d duplicated, %d unknown, %d bad signatures, "
           "%d bad paths; %s in %.1f s\n",
           s_seconds, kills + hangs, kills, hangs, acked, atomic_load(&resolver.resolved), lost,
           audit.duplicated, audit.unknown, audit.bad_signature, audit.bad_path,
           converged ? "converged" : "NOT converged", (double)converge_ms / 1000.0);
    fflush(stdout);
    for (int v = 0; v < N_VILLAGES; v++) {
        free(reporters[v].ids);
        free(resolver.done[v]);
        free(resolver.last_rc[v]);
        free(audit.seen[v]);
    }

    assert_false(gave_up);
    assert_true(converged);
    assert_true(acked > 0);
    assert_int_equal(lost, 0);
    assert_int_equal(audit.duplicated, 0);
    assert_int_equal(audit.unknown, 0);
    assert_int_equal(audit.bad_signature, 0);
    assert_int_equal(audit.bad_path, 0);
    /* Every other store: its timelines' hash chains verify. */
    assert_int_equal(topology_stop(&t), 0);
}

int main(int argc, char **argv)
{
    const char *env = getenv("GR_CHAOS_SECONDS");
    if (env && atoi(env) > 0)
        s_seconds = atoi(env);
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--minutes") == 0 && atoi(argv[i + 1]) > 0)
            s_seconds = atoi(argv[i + 1]) * 60;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chaos_converges_with_nothing_lost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
