#include "group.h"

/* One group at a time in a test program, so the teardown to wrap can be
 * held here rather than in the state cmocka passes around. */
static CMFixtureFunction s_teardown;
static int s_teardown_rc;

static int s_counted_teardown(void **state)
{
    s_teardown_rc = s_teardown(state);
    return s_teardown_rc;
}

int group_run(const char *name, const struct CMUnitTest *tests, size_t n,
              CMFixtureFunction setup, CMFixtureFunction teardown)
{
    s_teardown = teardown;
    s_teardown_rc = 0;
    int failed = _cmocka_run_group_tests(name, tests, n, setup,
                                         teardown ? s_counted_teardown : NULL);
    return failed + (s_teardown_rc != 0);
}
