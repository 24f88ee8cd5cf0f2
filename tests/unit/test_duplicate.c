/* Unit tests for router/duplicate: the candidate-duplicate decision. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "duplicate.h"

#define H (3600ull * 1000)

static const gr_duplicate_limits_t s_limits = {.window_ms = 2 * H, .distance_m = 300.0};

static gr_duplicate_facts_t s_fire(const char *grid, double lat, double lon, uint64_t created)
{
    gr_duplicate_facts_t f = {.category = "PS.FIRE", .grid_code = grid, .has_coordinates = true,
                              .lat = lat, .lon = lon, .created_ms = created};
    return f;
}

/* One degree of latitude is 111,195 m on the mean sphere; Paris-London is
 * about 343.5 km. */
static void test_distance(void **state)
{
    (void)state;
    assert_true(gr_duplicate_distance_m(30.0, 120.0, 30.0, 120.0) == 0.0);
    double one = gr_duplicate_distance_m(0.0, 0.0, 1.0, 0.0);
    assert_true(one > 111194.0 && one < 111196.0);
    double pl = gr_duplicate_distance_m(48.8566, 2.3522, 51.5074, -0.1278);
    assert_true(pl > 343000.0 && pl < 344000.0);
    /* Antipodes: half the circumference, no NaN from rounding. */
    double half = gr_duplicate_distance_m(0.0, 0.0, 0.0, 180.0);
    assert_true(half > 20015000.0 && half < 20016000.0);
}

static void test_same_grid(void **state)
{
    (void)state;
    gr_duplicate_facts_t a = s_fire("G-01", 30.0, 120.0, 10 * H);
    gr_duplicate_facts_t b = s_fire("G-01", 31.0, 121.0, 10 * H + 60000);
    assert_true(gr_duplicate_candidate(&s_limits, &b, &a));
    b.has_coordinates = false;
    assert_true(gr_duplicate_candidate(&s_limits, &b, &a));
    /* Different grid codes and far apart: two incidents. */
    b = s_fire("G-02", 31.0, 121.0, 10 * H);
    assert_false(gr_duplicate_candidate(&s_limits, &b, &a));
    /* Empty grid codes are not equal to each other. */
    a = s_fire("", 30.0, 120.0, 10 * H);
    b = s_fire("", 31.0, 121.0, 10 * H);
    assert_false(gr_duplicate_candidate(&s_limits, &b, &a));
}

/* 0.0027 degrees of latitude is about 300.2 m, 0.0026 about 289 m. */
static void test_distance_limit(void **state)
{
    (void)state;
    gr_duplicate_facts_t a = s_fire("G-01", 30.0, 120.0, 10 * H);
    gr_duplicate_facts_t near = s_fire("G-02", 30.0026, 120.0, 10 * H);
    gr_duplicate_facts_t far = s_fire("G-02", 30.0027, 120.0, 10 * H);
    assert_true(gr_duplicate_candidate(&s_limits, &near, &a));
    assert_false(gr_duplicate_candidate(&s_limits, &far, &a));
    near.has_coordinates = false;
    assert_false(gr_duplicate_candidate(&s_limits, &near, &a));
    gr_duplicate_limits_t zero = {.window_ms = 2 * H, .distance_m = 0.0};
    gr_duplicate_facts_t same = s_fire("G-02", 30.0, 120.0, 10 * H);
    assert_true(gr_duplicate_candidate(&zero, &same, &a));
    assert_false(gr_duplicate_candidate(&zero, &near, &a));
}

static void test_window(void **state)
{
    (void)state;
    gr_duplicate_facts_t a = s_fire("G-01", 30.0, 120.0, 10 * H);
    gr_duplicate_facts_t b = s_fire("G-01", 30.0, 120.0, 12 * H);      /* exactly 2 h later */
    assert_true(gr_duplicate_candidate(&s_limits, &b, &a));
    b.created_ms = 12 * H + 1;
    assert_false(gr_duplicate_candidate(&s_limits, &b, &a));
    b.created_ms = 8 * H;                                              /* 2 h earlier */
    assert_true(gr_duplicate_candidate(&s_limits, &b, &a));
    b.created_ms = 8 * H - 1;
    assert_false(gr_duplicate_candidate(&s_limits, &b, &a));
    gr_duplicate_limits_t off = {.window_ms = 0, .distance_m = 300.0};
    b.created_ms = 10 * H;
    assert_false(gr_duplicate_candidate(&off, &b, &a));
}

static void test_category(void **state)
{
    (void)state;
    gr_duplicate_facts_t a = s_fire("G-01", 30.0, 120.0, 10 * H);
    gr_duplicate_facts_t b = a;
    b.category = "SS.DISPUTE";
    assert_false(gr_duplicate_candidate(&s_limits, &b, &a));
    b.category = NULL;
    assert_false(gr_duplicate_candidate(&s_limits, &b, &a));
    b.category = "";
    a.category = "";
    assert_false(gr_duplicate_candidate(&s_limits, &b, &a));
    assert_false(gr_duplicate_candidate(NULL, &b, &a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distance),      cmocka_unit_test(test_same_grid),
        cmocka_unit_test(test_distance_limit), cmocka_unit_test(test_window),
        cmocka_unit_test(test_category),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
