/* The parallel for-loop (node/pool.h): every item exactly once, on more
 * than one thread when asked, many batches in a row, clean shutdown; a
 * batch started without waiting runs on the helpers meanwhile, and is
 * finished before any other. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "pool.h"

#define N_ITEMS 10000

typedef struct {
    int hits[N_ITEMS];
    pthread_t seen[8];
    int n_seen;
    pthread_mutex_t lock;
} s_batch_t;

static void s_item(void *ctx, size_t i)
{
    s_batch_t *b = ctx;
    __atomic_add_fetch(&b->hits[i], 1, __ATOMIC_RELAXED);
    pthread_t me = pthread_self();
    pthread_mutex_lock(&b->lock);
    int known = 0;
    for (int k = 0; k < b->n_seen; k++)
        known |= pthread_equal(b->seen[k], me);
    if (!known && b->n_seen < 8)
        b->seen[b->n_seen++] = me;
    pthread_mutex_unlock(&b->lock);
}

/* A batch with no item done yet and nobody seen (its lock made anew). */
static void s_batch_init(s_batch_t *b)
{
    memset(b, 0, sizeof *b);
    pthread_mutex_init(&b->lock, NULL);
}

static void test_every_item_once(void **state)
{
    (void)state;
    gr_pool_t *pool = gr_pool_new(4);
    assert_non_null(pool);
    assert_int_equal(gr_pool_threads(pool), 4);
    static s_batch_t b;
    for (int round = 0; round < 50; round++) {
        s_batch_init(&b);
        gr_pool_run(pool, N_ITEMS, 4, s_item, &b);
        for (size_t i = 0; i < N_ITEMS; i++)
            assert_int_equal(b.hits[i], 1);
        pthread_mutex_destroy(&b.lock);
    }
    gr_pool_destroy(&pool);
    assert_null(pool);
}

static void test_small_batches_stay_on_the_caller(void **state)
{
    (void)state;
    gr_pool_t *pool = gr_pool_new(3);
    assert_non_null(pool);
    static s_batch_t b;
    s_batch_init(&b);
    gr_pool_run(pool, 3, 4, s_item, &b);
    assert_int_equal(b.n_seen, 1);
    assert_true(pthread_equal(b.seen[0], pthread_self()));
    gr_pool_run(pool, 0, 4, s_item, &b);  /* nothing to do */
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(b.hits[i], 1);
    pthread_mutex_destroy(&b.lock);
    gr_pool_destroy(&pool);
}

static void test_one_thread_and_auto(void **state)
{
    (void)state;
    gr_pool_t *pool = gr_pool_new(1);
    assert_non_null(pool);
    assert_int_equal(gr_pool_threads(pool), 1);
    static s_batch_t b;
    s_batch_init(&b);
    gr_pool_run(pool, 100, 1, s_item, &b);
    assert_int_equal(b.n_seen, 1);
    pthread_mutex_destroy(&b.lock);
    gr_pool_destroy(&pool);
    pool = gr_pool_new(0);
    assert_non_null(pool);
    assert_true(gr_pool_threads(pool) >= 1 && gr_pool_threads(pool) <= 8);
    gr_pool_destroy(&pool);
    gr_pool_destroy(&pool);  /* NULL is fine */
    gr_pool_destroy(NULL);
}

static size_t s_done(s_batch_t *b, size_t n)
{
    size_t done = 0;
    for (size_t i = 0; i < n; i++)
        done += __atomic_load_n(&b->hits[i], __ATOMIC_RELAXED) != 0;
    return done;
}

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_started_batch_runs_while_the_caller_waits_elsewhere(void **state)
{
    (void)state;
    gr_pool_t *pool = gr_pool_new(2);
    assert_non_null(pool);
    static s_batch_t b;
    s_batch_init(&b);
    gr_pool_start(pool, N_ITEMS, 4, s_item, &b);
    /* The caller takes no item until it waits: the helper does them all
     * (bounded wait, not a sleep). */
    double until = s_now() + 10;
    while (s_done(&b, N_ITEMS) < N_ITEMS && s_now() < until)
        sched_yield();
    assert_int_equal(s_done(&b, N_ITEMS), N_ITEMS);
    assert_int_equal(b.n_seen, 1);
    assert_false(pthread_equal(b.seen[0], pthread_self()));
    gr_pool_wait(pool);
    gr_pool_wait(pool);  /* nothing started: returns at once */
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_int_equal(b.hits[i], 1);
    pthread_mutex_destroy(&b.lock);
    gr_pool_destroy(&pool);
}

static void test_started_batch_is_finished_before_the_next(void **state)
{
    (void)state;
    gr_pool_t *pool = gr_pool_new(3);
    assert_non_null(pool);
    static s_batch_t first, second;
    s_batch_init(&first);
    s_batch_init(&second);
    gr_pool_start(pool, N_ITEMS, 4, s_item, &first);
    gr_pool_run(pool, N_ITEMS, 4, s_item, &second);
    for (size_t i = 0; i < N_ITEMS; i++) {
        assert_int_equal(first.hits[i], 1);
        assert_int_equal(second.hits[i], 1);
    }
    /* Below min_parallel a started batch waits for gr_pool_wait(), on
     * the caller; destroy finishes one still started. */
    memset(first.hits, 0, sizeof first.hits);
    first.n_seen = 0;
    gr_pool_start(pool, 3, 4, s_item, &first);
    assert_int_equal(s_done(&first, 3), 0);
    gr_pool_wait(pool);
    assert_int_equal(s_done(&first, 3), 3);
    assert_true(pthread_equal(first.seen[0], pthread_self()));
    memset(second.hits, 0, sizeof second.hits);
    gr_pool_start(pool, N_ITEMS, 4, s_item, &second);
    gr_pool_destroy(&pool);
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_int_equal(second.hits[i], 1);
    pthread_mutex_destroy(&first.lock);
    pthread_mutex_destroy(&second.lock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_item_once),
        cmocka_unit_test(test_small_batches_stay_on_the_caller),
        cmocka_unit_test(test_one_thread_and_auto),
        cmocka_unit_test(test_started_batch_runs_while_the_caller_waits_elsewhere),
        cmocka_unit_test(test_started_batch_is_finished_before_the_next),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
