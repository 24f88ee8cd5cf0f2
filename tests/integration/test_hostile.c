/* Hostile and slow peers against a real gridrelayd: a trusted key that
 * sends garbage as fast as it can, and one that sends requests and never
 * reads a reply (a slow consumer). Neither may slow an honest reporter
 * beyond a stated bound, grow the node's memory without bound, or leak a
 * descriptor; each garbage frame is answered and counted.
 *
 * The bounds, and why:
 *  - an honest report is acknowledged within S_ACK_BOUND_MS while the
 *    garbage flows: the node verifies every frame, but a frame that fails
 *    to decode costs microseconds, not an fsync;
 *  - the slow consumer's replies queue in ZeroMQ up to the node's send
 *    high-water mark per peer (10,000 frames, node/daemon.c); past it they
 *    are dropped (the client resends what it still wants), so the node's
 *    RssAnon grows by at most S_SLOW_GROWTH_KB however long it goes on;
 *  - once both are gone the node holds the descriptors it had before.
 * The memory bound is not checked in the ASan build (its quarantine keeps
 * freed memory on purpose). */
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
#include <sodium.h>
#include <zmq.h>

#include "harness.h"
#include "tiers_fixture.h"

#define S_ACK_BOUND_MS 2000
#define S_HONEST_REPORTS 100
#define S_SLOW_REQUESTS 30000
#define S_SLOW_GROWTH_KB (48 * 1024)

typedef struct {
    harness_node_t node;
    void *ctx;
} s_fixture_t;

static int s_setup(void **state)
{
    s_fixture_t *fx = calloc(1, sizeof *fx);
    if (!fx || harness_node_init(&fx->node, "hostile", 2) != 0 || harness_node_start(&fx->node) != 0)
        return -1;
    fx->ctx = zmq_ctx_new();
    *state = fx;
    return fx->ctx ? 0 : -1;
}

static int s_teardown(void **state)
{
    s_fixture_t *fx = *state;
    harness_node_cleanup(&fx->node);
    zmq_ctx_term(fx->ctx);
    free(fx);
    return 0;
}

static uint64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t s_counter(s_fixture_t *fx, const char *name)
{
    gr_client_t *c = harness_client(&fx->node, fx->ctx, 0);
    assert_non_null(c);
    int64_t value = client_counter(c, name);
    gr_client_destroy(&c);
    assert_true(value >= 0);
    return (uint64_t)value;
}

/* Reports S_HONEST_REPORTS events one after another as reporter 0;
 * returns the slowest acknowledgement in ms (or UINT64_MAX if one got
 * none within the bound). */
static uint64_t s_honest_reports(s_fixture_t *fx, const char *prefix)
{
    gr_client_t *c = harness_client(&fx->node, fx->ctx, 0);
    assert_non_null(c);
    uint64_t slowest = 0;
    for (int i = 0; i < S_HONEST_REPORTS; i++) {
        char id[32];
        snprintf(id, sizeof id, "%s-%03d", prefix, i);
        Gridrelay__Event ev = GRIDRELAY__EVENT__INIT;
        ev.id = id;
        ev.category = "SS.DISPUTE";
        ev.severity = GRIDRELAY__SEVERITY__ROUTINE;
        ev.title = "neighbours argue over a wall";
        Gridrelay__Report report = GRIDRELAY__REPORT__INIT;
        report.event = &ev;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_REPORT;
        body.report = &report;
        gr_opened_t reply;
        uint64_t start = s_now_ms();
        if (gr_client_call(c, &body, &reply, S_ACK_BOUND_MS, 1) != 0) {
            slowest = UINT64_MAX;
            break;
        }
        uint64_t took = s_now_ms() - start;
        bool acked = reply.body->kind_case == GRIDRELAY__BODY__KIND_ACK;
        gr_opened_clear(&reply);
        assert_true(acked);
        if (took > slowest)
            slowest = took;
    }
    gr_client_destroy(&c);
    return slowest;
}

typedef struct {
    s_fixture_t *fx;
    atomic_bool stop;
    atomic_long sent;
} s_flood_t;

/* Reporter 1, trusted and on CURVE, sends random bytes forever and never
 * reads the error replies. */
static void *s_garbage_loop(void *arg)
{
    s_flood_t *f = arg;
    gr_client_t *c = harness_client(&f->fx->node, f->fx->ctx, 1);
    if (!c)
        return NULL;
    uint8_t frame[2048];
    while (!atomic_load(&f->stop)) {
        size_t len = 1 + randombytes_uniform(sizeof frame);
        randombytes_buf(frame, len);
        if (gr_client_send_raw(c, frame, len) == 0)
            atomic_fetch_add(&f->sent, 1);
    }
    gr_client_destroy(&c);
    return NULL;
}

typedef struct {
    pid_t pid;
    int fds;
} s_fds_t;

static bool s_fds_back(void *arg)
{
    s_fds_t *f = arg;
    harness_memory_t m;
    return harness_memory(f->pid, &m) == 0 && m.fds <= f->fds;
}

static void test_garbage_forever_slows_no_one(void **state)
{
    s_fixture_t *fx = *state;
    /* Warm up, then the baseline. */
    assert_true(s_honest_reports(fx, "calm") < S_ACK_BOUND_MS);
    harness_memory_t before;
    assert_int_equal(harness_memory(fx->node.pid, &before), 0);
    uint64_t decode_before = s_counter(fx, "rejected_decode");

    s_flood_t flood = { .fx = fx };
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, s_garbage_loop, &flood), 0);
    uint64_t slowest = s_honest_reports(fx, "amid-garbage");
    atomic_store(&flood.stop, true);
    pthread_join(thread, NULL);
    uint64_t rejected = s_counter(fx, "rejected_decode") - decode_before;
    harness_memory_t after;
    assert_int_equal(harness_memory(fx->node.pid, &after), 0);
    printf("hostile: %ld garbage frames sent, %llu rejected as undecodable; honest ack at most %llu ms; "
           "RssAnon %ld -> %ld KiB\n", atomic_load(&flood.sent), (unsigned long long)rejected,
           (unsigned long long)slowest, before.anon_kb, after.anon_kb);
    assert_true(slowest < S_ACK_BOUND_MS);
    assert_true(atomic_load(&flood.sent) > 0);
    assert_true(rejected > 0);
    /* Every descriptor the flood's connection took is given back. */
    s_fds_t fds = { fx->node.pid, before.fds };
    assert_true(harness_wait_until(s_fds_back, &fds, 10000));
}

static void test_slow_consumer_memory_is_bounded(void **state)
{
    s_fixture_t *fx = *state;
    harness_memory_t before;
    assert_int_equal(harness_memory(fx->node.pid, &before), 0);
    /* Requests as fast as ZeroMQ takes them; no reply is ever read. */
    gr_client_t *slow = harness_client(&fx->node, fx->ctx, 1);
    assert_non_null(slow);
    Gridrelay__GetStats get = GRIDRELAY__GET_STATS__INIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_STATS;
    body.get_stats = &get;
    int dontwait_fail = 0;
    for (int i = 0; i < S_SLOW_REQUESTS; i++)
        if (gr_client_send(slow, &body, NULL, NULL, NULL) != 0)
            dontwait_fail++;
    /* The node answers an honest reporter meanwhile. */
    uint64_t slowest = s_honest_reports(fx, "beside-slow");
    harness_memory_t during;
    assert_int_equal(harness_memory(fx->node.pid, &during), 0);
    gr_client_destroy(&slow);
    printf("hostile: slow consumer sent %d requests, read none; honest ack at most %llu ms; "
           "RssAnon %ld -> %ld KiB (bound +%d KiB), HWM %ld KiB\n", S_SLOW_REQUESTS - dontwait_fail,
           (unsigned long long)slowest, before.anon_kb, during.anon_kb, S_SLOW_GROWTH_KB,
           during.hwm_kb);
    assert_true(slowest < S_ACK_BOUND_MS);
#if !defined(__SANITIZE_ADDRESS__)
    /* ASan keeps freed memory in quarantine: there the figure means nothing. */
    assert_true(during.anon_kb - before.anon_kb < S_SLOW_GROWTH_KB);
#endif
    s_fds_t fds = { fx->node.pid, before.fds };
    assert_true(harness_wait_until(s_fds_back, &fds, 10000));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_garbage_forever_slows_no_one, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_slow_consumer_memory_is_bounded, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
