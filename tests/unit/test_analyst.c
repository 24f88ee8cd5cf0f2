/* The analyst thread (node/analyst): jobs run in order, each with a read
 * transaction of its own that sees the store; a pause keeps the next job
 * from starting, so the map can grow; destroy drops what never ran; the
 * queue is bounded. */
#include <ftw.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "analyst.h"
#include "error.h"

typedef struct {
    int id;
    bool ran;
    bool had_txn;
    uint64_t seen;       /* counter "answer" as the job's transaction read it */
} s_job_t;

static int s_dropped;

static void s_run(void *arg, gr_txn_t *txn)
{
    s_job_t *job = arg;
    job->ran = true;
    job->had_txn = txn != NULL;
    if (txn && gr_store_counter_get(txn, "answer", &job->seen) != 0)
        job->seen = UINT64_MAX;
}

static void s_drop(void *arg)
{
    (void)arg;
    s_dropped++;
}

typedef struct {
    char dir[64];
    gr_store_t *store;
} fixture_t;

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->dir, "/tmp/gr-test-analyst-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char err[256];
    assert_int_equal(gr_store_open(&f->store, f->dir, NULL, err, sizeof err), 0);
    gr_txn_t *txn = NULL;
    assert_int_equal(gr_store_begin(f->store, true, &txn), 0);
    assert_int_equal(gr_store_counter_add(txn, "answer", 42), 0);
    assert_int_equal(gr_store_commit(&txn), 0);
    s_dropped = 0;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    gr_store_close(&f->store);
    assert_int_equal(nftw(f->dir, s_rm, 16, FTW_DEPTH | FTW_PHYS), 0);
    free(f);
    return 0;
}

/* Takes finished jobs until n have come back, waiting (bounded) on the fd. */
static void s_take_all(gr_analyst_t *a, void **out, size_t n)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd p = {gr_analyst_fd(a), POLLIN, 0};
        assert_int_equal(poll(&p, 1, 20000), 1);
        got += gr_analyst_take(a, out + got, n - got);
    }
}

static void test_jobs_run_in_order_with_their_own_transaction(void **state)
{
    fixture_t *f = *state;
    gr_analyst_t *a = gr_analyst_new(f->store, s_run, s_drop);
    assert_non_null(a);
    s_job_t jobs[3] = {{.id = 0}, {.id = 1}, {.id = 2}};
    for (int i = 0; i < 3; i++)
        assert_int_equal(gr_analyst_submit(a, &jobs[i]), 0);
    void *done[3];
    s_take_all(a, done, 3);
    for (int i = 0; i < 3; i++) {
        assert_ptr_equal(done[i], &jobs[i]);
        assert_true(jobs[i].ran && jobs[i].had_txn);
        assert_int_equal(jobs[i].seen, 42);
    }
    gr_analyst_destroy(&a);
    assert_null(a);
    assert_int_equal(s_dropped, 0);
    gr_analyst_destroy(&a);  /* NULL is fine */
}

static void test_pause_lets_the_map_grow(void **state)
{
    fixture_t *f = *state;
    gr_analyst_t *a = gr_analyst_new(f->store, s_run, s_drop);
    assert_non_null(a);
    gr_analyst_pause(a);
    s_job_t job = {.id = 7};
    assert_int_equal(gr_analyst_submit(a, &job), 0);
    /* No job can be running, so no transaction is open: LMDB may resize. */
    size_t before = gr_store_map_size(f->store);
    assert_int_equal(gr_store_grow(f->store), 0);
    assert_true(gr_store_map_size(f->store) > before);
    assert_false(job.ran);
    gr_analyst_resume(a);
    void *done[1];
    s_take_all(a, done, 1);
    assert_ptr_equal(done[0], &job);
    assert_int_equal(job.seen, 42);
    gr_analyst_destroy(&a);
}

static void test_destroy_drops_what_never_ran_and_the_queue_is_bounded(void **state)
{
    fixture_t *f = *state;
    gr_analyst_t *a = gr_analyst_new(f->store, s_run, s_drop);
    assert_non_null(a);
    gr_analyst_pause(a);
    static s_job_t jobs[GR_ANALYST_QUEUE_MAX + 1];
    for (int i = 0; i < GR_ANALYST_QUEUE_MAX; i++)
        assert_int_equal(gr_analyst_submit(a, &jobs[i]), 0);
    assert_int_equal(gr_analyst_submit(a, &jobs[GR_ANALYST_QUEUE_MAX]), GR_EFULL);
    gr_analyst_destroy(&a);
    assert_int_equal(s_dropped, GR_ANALYST_QUEUE_MAX);
    for (int i = 0; i <= GR_ANALYST_QUEUE_MAX; i++)
        assert_false(jobs[i].ran);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_jobs_run_in_order_with_their_own_transaction, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pause_lets_the_map_grow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_drops_what_never_ran_and_the_queue_is_bounded,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
