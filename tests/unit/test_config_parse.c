/* Unit tests for the config's parsing primitives (node/config_parse.c) and
 * the section table's lookup (node/config.c), each on its own: the whole
 * load is tests/unit/test_config.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "error.h"

static void t_parse_u64(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_true(gr_cfg_parse_u64("0", &v));
    assert_int_equal(v, 0);
    assert_true(gr_cfg_parse_u64("18446744073709551615", &v));
    assert_true(v == UINT64_MAX);
    assert_false(gr_cfg_parse_u64("18446744073709551616", &v));
    assert_false(gr_cfg_parse_u64("", &v));
    assert_false(gr_cfg_parse_u64("-1", &v));
    assert_false(gr_cfg_parse_u64("+1", &v));
    assert_false(gr_cfg_parse_u64(" 1", &v));
    assert_false(gr_cfg_parse_u64("1 ", &v));
    assert_false(gr_cfg_parse_u64("0x10", &v));
}

static void t_number(void **state)
{
    (void)state;
    char msg[256];
    uint64_t v = 0;
    assert_int_equal(gr_cfg_number("k", "5", 1, 10, &v, msg, sizeof msg), 0);
    assert_int_equal(v, 5);
    assert_int_equal(gr_cfg_number("k", "11", 1, 10, &v, msg, sizeof msg), GR_ECONFIG);
    assert_string_equal(msg, "k = 11: must be between 1 and 10");
    assert_int_equal(gr_cfg_number("k", "x", 1, 10, &v, msg, sizeof msg), GR_ECONFIG);
    assert_string_equal(msg, "k = x: not a number (expected decimal digits)");
}

static void t_duration(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint64_t ms;
    } good[] = { { "0", 0 }, { "500ms", 500 }, { "90s", 90000 }, { "30min", 1800000 },
                 { "2h", 7200000 }, { "7d", 604800000 }, { "2 h", 7200000 }, { "0s", 0 } };
    char msg[256];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint64_t ms = 1;
        assert_int_equal(gr_cfg_duration("d", good[i].text, &ms, msg, sizeof msg), 0);
        assert_true(ms == good[i].ms);
    }
    static const char *const bad[] = { "5", "", "h", "5x", "-1s", "1.5h",
                                       "99999999999999999999999ms", "18446744073709551615d" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t ms = 0;
        assert_int_equal(gr_cfg_duration("d", bad[i], &ms, msg, sizeof msg), GR_ECONFIG);
        assert_non_null(strstr(msg, "not a duration"));
    }
}

static void t_distance(void **state)
{
    (void)state;
    char msg[256];
    double m = 0;
    assert_int_equal(gr_cfg_distance("distance", "300m", &m, msg, sizeof msg), 0);
    assert_true(m == 300.0);
    assert_int_equal(gr_cfg_distance("distance", "2km", &m, msg, sizeof msg), 0);
    assert_true(m == 2000.0);
    assert_int_equal(gr_cfg_distance("distance", "100km", &m, msg, sizeof msg), 0);
    assert_int_equal(gr_cfg_distance("distance", "101km", &m, msg, sizeof msg), GR_ECONFIG);
    assert_non_null(strstr(msg, "at most 100km"));
    assert_int_equal(gr_cfg_distance("distance", "300", &m, msg, sizeof msg), GR_ECONFIG);
    assert_non_null(strstr(msg, "not a distance"));
    assert_int_equal(gr_cfg_distance("distance", "1.5km", &m, msg, sizeof msg), GR_ECONFIG);
}

static void t_ids(void **state)
{
    (void)state;
    char msg[256];
    char long_id[65];
    memset(long_id, 'a', 64);
    long_id[64] = '\0';
    assert_int_equal(gr_cfg_check_id("id", "v1-a.b_c", msg, sizeof msg), 0);
    assert_int_equal(gr_cfg_check_id("id", long_id + 1, msg, sizeof msg), 0);   /* 63 */
    assert_int_equal(gr_cfg_check_id("id", long_id, msg, sizeof msg), GR_ECONFIG);
    assert_int_equal(gr_cfg_check_id("id", "", msg, sizeof msg), GR_ECONFIG);
    assert_int_equal(gr_cfg_check_id("id", "a b", msg, sizeof msg), GR_ECONFIG);
    assert_int_equal(gr_cfg_check_id("id", "张三", msg, sizeof msg), GR_ECONFIG);
    assert_int_equal(gr_cfg_check_reporter_name("张三", msg, sizeof msg), 0);
    assert_int_equal(gr_cfg_check_reporter_name("li-4", msg, sizeof msg), 0);
    assert_int_equal(gr_cfg_check_reporter_name("li 4", msg, sizeof msg), GR_ECONFIG);
    assert_int_equal(gr_cfg_check_reporter_name("li,4", msg, sizeof msg), GR_ECONFIG);
}

static void t_endpoint(void **state)
{
    (void)state;
    char msg[256];
    char *out = NULL;
    assert_int_equal(gr_cfg_endpoint("listen", "tcp://127.0.0.1:*", true, &out, msg,
                                     sizeof msg), 0);
    assert_string_equal(out, "tcp://127.0.0.1:*");
    free(out);
    out = NULL;
    assert_int_equal(gr_cfg_endpoint("endpoint", "tcp://127.0.0.1:*", false, &out, msg,
                                     sizeof msg), GR_ECONFIG);
    assert_null(out);
    assert_int_equal(gr_cfg_endpoint("endpoint", "ipc:///tmp/x", false, &out, msg, sizeof msg),
                     0);
    free(out);
    out = NULL;
    static const char *const bad[] = { "127.0.0.1:7000", "tcp://", "tcp://host",
                                       "tcp://:7000", "tcp://h:0", "tcp://h:65536",
                                       "tcp://h :1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(gr_cfg_endpoint("listen", bad[i], true, &out, msg, sizeof msg),
                         GR_ECONFIG);
        assert_null(out);
    }
}

static void t_path(void **state)
{
    (void)state;
    char msg[256];
    char dir[] = "/etc/gridrelay";
    gr_cfg_load_t load = { .dir = dir };
    char *out = NULL;
    assert_int_equal(gr_cfg_path(&load, "store", "var/store", &out, msg, sizeof msg), 0);
    assert_string_equal(out, "/etc/gridrelay/var/store");
    free(out);
    assert_int_equal(gr_cfg_path(&load, "store", "/srv/s", &out, msg, sizeof msg), 0);
    assert_string_equal(out, "/srv/s");
    free(out);
    assert_int_equal(gr_cfg_path(&load, "store", "", &out, msg, sizeof msg), GR_ECONFIG);
    assert_string_equal(msg, "store: must not be empty");
}

static void t_section_key(void **state)
{
    (void)state;
    static const char *const keys[] = { "a", "b", "c" };
    int lines[3] = { 0 };
    char msg[256];
    assert_int_equal(gr_cfg_section_key("s", keys, 3, lines, "b", 4, msg, sizeof msg), 1);
    assert_int_equal(lines[1], 4);
    assert_int_equal(gr_cfg_section_key("s", keys, 3, lines, "b", 9, msg, sizeof msg), -1);
    assert_string_equal(msg, "duplicate key 'b' in [s] (first at line 4)");
    assert_int_equal(gr_cfg_section_key("s", keys, 3, lines, "d", 9, msg, sizeof msg), -1);
    assert_string_equal(msg, "unknown key 'd' in [s] (expected a, b or c)");
}

static void t_split_key(void **state)
{
    (void)state;
    char key[16];
    char msg[256];
    const char *rest = "x";
    assert_int_equal(gr_cfg_split_key("n", "abc  ", key, sizeof key, &rest, msg, sizeof msg),
                     0);
    assert_string_equal(key, "abc");
    assert_null(rest);
    assert_int_equal(gr_cfg_split_key("n", "abc\t,  grid g1", key, sizeof key, &rest, msg,
                                      sizeof msg), 0);
    assert_string_equal(key, "abc");
    assert_string_equal(rest, "grid g1");
    assert_int_equal(gr_cfg_split_key("n", "0123456789abcdef", key, sizeof key, &rest, msg,
                                      sizeof msg), GR_ECONFIG);
    assert_non_null(strstr(msg, "key too long"));
}

static void t_sections(void **state)
{
    (void)state;
    assert_string_equal(gr_cfg_section_name(S_NODE), "node");
    assert_string_equal(gr_cfg_section_name(S_ASSESSMENT), "assessment");
    assert_string_equal(gr_cfg_section_name(S_COUNT), "");
    assert_string_equal(gr_cfg_section_name(-1), "");
    /* Every row of the table is filled: a name for each S_ value. */
    for (int s = 0; s < S_COUNT; s++)
        assert_true(strlen(gr_cfg_section_name(s)) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_parse_u64),   cmocka_unit_test(t_number),
        cmocka_unit_test(t_duration),    cmocka_unit_test(t_distance),
        cmocka_unit_test(t_ids),         cmocka_unit_test(t_endpoint),
        cmocka_unit_test(t_path),        cmocka_unit_test(t_section_key),
        cmocka_unit_test(t_split_key),   cmocka_unit_test(t_sections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
