/* The day of daily reports (router/day.h): local days across the date
 * line and midnight, the due instant, on time / late / missing / pending
 * at each boundary millisecond, and the parsers of dates, times and UTC
 * offsets, bad input included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "day.h"

#define HOUR (3600ull * 1000)
#define MIN (60ull * 1000)

static void test_days_in_zones(void **state)
{
    (void)state;
    assert_int_equal(gr_day_of(0, 0), 0);
    assert_int_equal(gr_day_of(GR_DAY_MS - 1, 0), 0);
    assert_int_equal(gr_day_of(GR_DAY_MS, 0), 1);
    /* 16:00 UTC is midnight in +08:00. */
    assert_int_equal(gr_day_of(16 * HOUR - 1, 480), 0);
    assert_int_equal(gr_day_of(16 * HOUR, 480), 1);
    /* West of UTC: 04:59 UTC on day 1 is still day 0 at -05:00. */
    assert_int_equal(gr_day_of(GR_DAY_MS + 5 * HOUR - 1, -300), 0);
    assert_int_equal(gr_day_of(GR_DAY_MS + 5 * HOUR, -300), 1);
    /* Before the epoch in local time: day -1, not 0. */
    assert_int_equal(gr_day_of(HOUR, -300), -1);
}

static void test_due_and_last_due(void **state)
{
    (void)state;
    int64_t day = 20000;
    uint64_t due = gr_day_due_ms(day, 18 * 60, 480);
    assert_true(due == (uint64_t)day * GR_DAY_MS + 10 * HOUR);  /* 18:00 +08:00 = 10:00 UTC */
    assert_int_equal(gr_day_of(due, 480), day);
    assert_int_equal(gr_day_last_due(due - 1, 18 * 60, 480), day - 1);
    assert_int_equal(gr_day_last_due(due, 18 * 60, 480), day);
    assert_int_equal(gr_day_last_due(due + 6 * HOUR - 1, 18 * 60, 480), day);  /* 23:59 */
    assert_int_equal(gr_day_last_due(due + 6 * HOUR, 18 * 60, 480), day);      /* next 00:00 */
    /* A due time of 00:00 is due the moment the day begins. */
    uint64_t midnight = gr_day_due_ms(day, 0, 480);
    assert_int_equal(gr_day_last_due(midnight, 0, 480), day);
    assert_int_equal(gr_day_last_due(midnight - 1, 0, 480), day - 1);
}

static void test_states_at_the_boundaries(void **state)
{
    (void)state;
    uint64_t due = 1000000, late = 99;
    assert_int_equal(gr_day_state(0, due, due - 1, &late), GR_DAY_PENDING);
    assert_true(late == 0);
    assert_int_equal(gr_day_state(0, due, due, &late), GR_DAY_MISSING);
    assert_int_equal(gr_day_state(due - 5000, due, due + HOUR, &late), GR_DAY_ON_TIME);
    assert_int_equal(gr_day_state(due, due, due, &late), GR_DAY_ON_TIME);
    assert_true(late == 0);
    assert_int_equal(gr_day_state(due + 1, due, due + 1, &late), GR_DAY_LATE);
    assert_true(late == 1);
    assert_int_equal(gr_day_state(due + 42 * MIN, due, due + 2 * HOUR, NULL), GR_DAY_LATE);
    assert_false(gr_day_is_exception(GR_DAY_ON_TIME));
    assert_false(gr_day_is_exception(GR_DAY_PENDING));
    assert_true(gr_day_is_exception(GR_DAY_LATE));
    assert_true(gr_day_is_exception(GR_DAY_MISSING));
    gr_day_tally_t t = {0};
    gr_day_tally_add(&t, GR_DAY_ON_TIME);
    gr_day_tally_add(&t, GR_DAY_ON_TIME);
    gr_day_tally_add(&t, GR_DAY_LATE);
    gr_day_tally_add(&t, GR_DAY_MISSING);
    gr_day_tally_add(&t, GR_DAY_PENDING);
    assert_int_equal(t.units, 5);
    assert_int_equal(t.on_time, 2);
    assert_int_equal(t.late, 1);
    assert_int_equal(t.missing, 1);
    assert_int_equal(t.pending, 1);
}

static void test_dates(void **state)
{
    (void)state;
    char out[GR_DAY_DATE_LEN + 1];
    gr_day_date(0, out);
    assert_string_equal(out, "1970-01-01");
    gr_day_date(10957, out);
    assert_string_equal(out, "2000-01-01");
    gr_day_date(11016, out);
    assert_string_equal(out, "2000-02-29");
    int64_t day = -1;
    assert_int_equal(gr_day_date_parse("2000-03-01", &day), 0);
    assert_int_equal(day, 11017);
    assert_int_equal(gr_day_date_parse("2026-12-07", &day), 0);
    gr_day_date(day, out);
    assert_string_equal(out, "2026-12-07");
    assert_int_equal(gr_day_date_parse("2024-02-29", &day), 0);
    /* Every day of four centuries goes there and back. */
    for (int64_t d = 0; d < 146097; d += 7) {
        int64_t back = -1;
        gr_day_date(d, out);
        assert_int_equal(gr_day_date_parse(out, &back), 0);
        assert_int_equal(back, d);
    }
    static const char *const bad[] = {
        "2023-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "2026-1-01", "2026/01/01",
        "1969-12-31", "20260101", "2026-01-01 ", "", "abcd-ef-gh", "2026-01-0x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(gr_day_date_parse(bad[i], &day), -1);
    assert_int_equal(gr_day_date_parse(NULL, &day), -1);
}

static void test_times_and_offsets(void **state)
{
    (void)state;
    int m = -1;
    assert_int_equal(gr_day_time_parse("00:00", &m), 0);
    assert_int_equal(m, 0);
    assert_int_equal(gr_day_time_parse("18:00", &m), 0);
    assert_int_equal(m, 1080);
    assert_int_equal(gr_day_time_parse("23:59", &m), 0);
    assert_int_equal(m, 1439);
    static const char *const bad_times[] = {"24:00", "7:00", "18:60", "18.00", "1800", "", "-1:00"};
    for (size_t i = 0; i < sizeof bad_times / sizeof *bad_times; i++)
        assert_int_equal(gr_day_time_parse(bad_times[i], &m), -1);
    static const struct {
        const char *text;
        int minutes;
    } good[] = {
        {"UTC", 0}, {"Z", 0}, {"+08:00", 480}, {"UTC+8", 480}, {"UTC+08:00", 480},
        {"+0800", 480}, {"-05:30", -330}, {"+14:00", 840}, {"-14:00", -840}, {"+0", 0},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        assert_int_equal(gr_day_offset_parse(good[i].text, &m), 0);
        assert_int_equal(m, good[i].minutes);
    }
    static const char *const bad[] = {
        "+15:00", "+14:01", "08:00", "UTC8", "+8:00", "+08:60", "+123", "Asia/Shanghai", "",
        "UTC+", "+08:00x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(gr_day_offset_parse(bad[i], &m), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days_in_zones),
        cmocka_unit_test(test_due_and_last_due),
        cmocka_unit_test(test_states_at_the_boundaries),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_times_and_offsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
