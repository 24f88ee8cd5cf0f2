/* [map] (node/config_map.h): the command view's outlines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config_map.h"
#include "error.h"

static void test_good(void **state)
{
    (void)state;
    gr_map_config_t mc;
    gr_map_config_init(&mc);
    char msg[256] = "";
    assert_int_equal(gr_map_config_key(&mc, "G-01", "30.27 120.15, 30.27 120.16,30.28 120.16", msg,
                                       sizeof msg), 0);
    assert_int_equal(gr_map_config_key(&mc, "village-a1", " -33.9 18.4 , -33.8 18.5, -33.7 18.4 ",
                                       msg, sizeof msg), 0);
    assert_int_equal(mc.n, 2);
    assert_string_equal(mc.outlines[0].name, "G-01");
    assert_int_equal(mc.outlines[0].n, 3);
    assert_true(mc.outlines[0].lat[2] == 30.28 && mc.outlines[0].lon[2] == 120.16);
    assert_true(mc.outlines[1].lat[0] == -33.9 && mc.outlines[1].lon[1] == 18.5);
    gr_map_config_clear(&mc);
    assert_int_equal(mc.n, 0);
    gr_map_config_clear(&mc);   /* twice: nothing left to free */
}

static void test_refused(void **state)
{
    (void)state;
    static const struct { const char *name, *value, *why; } bad[] = {
        {"G 01", "1 1, 2 2, 3 3", "name must be"},
        {"G-01", "1 1, 2 2", "at least 3 corners"},
        {"G-01", "1 1, 2 2, 3", "each corner"},
        {"G-01", "91 1, 2 2, 3 3", "each corner"},
        {"G-01", "1 181, 2 2, 3 3", "each corner"},
        {"G-01", "1 1; 2 2, 3 3", "separated by commas"},
        {"G-01", "1 1, 2 2, 3 3,", "each corner"},
        {"G-01", "nan 1, 2 2, 3 3", "each corner"},
        {"G-01", "", "each corner"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gr_map_config_t mc;
        gr_map_config_init(&mc);
        char msg[256] = "";
        assert_int_equal(gr_map_config_key(&mc, bad[i].name, bad[i].value, msg, sizeof msg),
                         GR_ECONFIG);
        assert_non_null(strstr(msg, "[map] "));
        if (!strstr(msg, bad[i].why))
            fail_msg("'%s = %s': '%s' lacks '%s'", bad[i].name, bad[i].value, msg, bad[i].why);
        assert_int_equal(mc.n, 0);
        gr_map_config_clear(&mc);
    }
    /* A name twice; too many corners; too many outlines. */
    gr_map_config_t mc;
    gr_map_config_init(&mc);
    char msg[256], big[8192] = "";
    assert_int_equal(gr_map_config_key(&mc, "G-01", "1 1, 2 2, 3 3", msg, sizeof msg), 0);
    assert_int_equal(gr_map_config_key(&mc, "G-01", "1 1, 2 2, 3 3", msg, sizeof msg), GR_ECONFIG);
    assert_non_null(strstr(msg, "twice"));
    for (int i = 0; i <= GR_MAP_MAX_POINTS; i++)
        snprintf(big + strlen(big), sizeof big - strlen(big), "%s1 %d", i ? ", " : "", i % 100);
    assert_int_equal(gr_map_config_key(&mc, "G-02", big, msg, sizeof msg), GR_ECONFIG);
    assert_non_null(strstr(msg, "more than 200 corners"));
    for (int i = 1; i < GR_MAP_MAX_OUTLINES; i++) {
        char name[16];
        snprintf(name, sizeof name, "g%d", i);
        assert_int_equal(gr_map_config_key(&mc, name, "1 1, 2 2, 3 3", msg, sizeof msg), 0);
    }
    assert_int_equal(gr_map_config_key(&mc, "one-more", "1 1, 2 2, 3 3", msg, sizeof msg),
                     GR_ECONFIG);
    assert_non_null(strstr(msg, "more than 256"));
    gr_map_config_clear(&mc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
