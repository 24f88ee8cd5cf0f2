/* Runs a cmocka group whose teardown's result counts.
 *
 * cmocka 1.1 (Debian 12's libcmocka 1.1.5) prints "GROUP TEARDOWN" when a
 * group's teardown returns non-zero but leaves it out of the count it
 * returns, so a test whose teardown finds a bad store (store_check.h)
 * would still exit 0. group_run() adds that failure to the count. */
#ifndef GR_TEST_GROUP_H
#define GR_TEST_GROUP_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

int group_run(const char *name, const struct CMUnitTest *tests, size_t n,
              CMFixtureFunction setup, CMFixtureFunction teardown);

/* As cmocka_run_group_tests(). */
#define GROUP_RUN(tests, setup, teardown) \
    group_run(#tests, tests, sizeof(tests) / sizeof((tests)[0]), setup, teardown)

#endif
