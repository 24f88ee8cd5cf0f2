/* The parallel for-loop (node/pool.h): every item exactly once, on more
 * than one thread when asked, many batches in a row, clean shutdown. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
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

static void test_every_item_once(void **state)
{
    (void)state;
    gr_pool_t *pool = gr_pool_new(4);
    assert_non_null(pool);
    assert_int_equal(gr_pool_threads(pool), 4);
    static s_batch_t b;
    for (int round = 0; round < 50; round++) {
        memset(b.hits, 0, sizeof b.hits);
        b.n_seen = 0;
        pthread_mutex_init(&b.lock, NULL);
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
    memset(&b, 0, sizeof b);
    pthread_mutex_init(&b.lock, NULL);
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
    memset(&b, 0, sizeof b);
    pthread_mutex_init(&b.lock, NULL);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_item_once),
        cmocka_unit_test(test_small_batches_stay_on_the_caller),
        cmocka_unit_test(test_one_thread_and_auto),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
