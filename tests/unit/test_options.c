/* gridctl's table-driven option parser (tools/gridctl/options.c): every
 * kind of row puts its value in its place, bad values and unknown options
 * are usage errors, --help is written from the same rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gridctl.h"

typedef struct {
    const char *name;
    bool flag, seen_ratio;
    uint64_t limit;
    int level;
    double ratio;
    gridctl_strings_t tags;
    int even;
} s_values_t;

static const char *const s_levels[] = { "low", "mid", "high", NULL };

static int s_parse_even(const char *arg, void *place)
{
    int v = atoi(arg);
    if (v % 2)
        return -1;
    *(int *)place = v;
    return 0;
}

static const gridctl_opt_t s_options[] = {
    { .kind = GRIDCTL_OPT_HEADING, .help = "Test options:" },
    { .kind = GRIDCTL_OPT_STRING, .name = "name", .letter = 'N', .arg = "TEXT",
      .offset = offsetof(s_values_t, name), .help = "a name\nover two lines" },
    { .kind = GRIDCTL_OPT_FLAG, .name = "flag", .offset = offsetof(s_values_t, flag),
      .help = "a flag" },
    { .kind = GRIDCTL_OPT_U64, .name = "limit", .arg = "N", .min = 1, .max = 10,
      .offset = offsetof(s_values_t, limit), .help = "1 to 10" },
    { .kind = GRIDCTL_OPT_CHOICE, .name = "level", .arg = "L", .choices = s_levels,
      .offset = offsetof(s_values_t, level), .help = "low, mid or high" },
    { .kind = GRIDCTL_OPT_DOUBLE, .name = "ratio", .arg = "R", .offset = offsetof(s_values_t, ratio),
      .seen = GRIDCTL_SEEN(s_values_t, seen_ratio), .help = "a number" },
    { .kind = GRIDCTL_OPT_LIST, .name = "tag", .arg = "T", .max = 2,
      .offset = offsetof(s_values_t, tags), .help = "twice at most" },
    { .kind = GRIDCTL_OPT_CUSTOM, .name = "even", .arg = "N", .parse = s_parse_even,
      .expect = "an even number", .offset = offsetof(s_values_t, even), .help = "even" },
    { .kind = GRIDCTL_OPT_END },
};

static const gridctl_cmd_t s_cmd = {
    .name = "test",
    .synopsis = "ID [OPTIONS]",
    .about = "Tests the parser.",
    .arguments = "ID    anything\n",
    .options = s_options,
    .connect = true,
    .min_args = 1,
    .max_args = 1,
    .timeout_ms = 9000,
    .examples = "gridctl test x --flag",
};

/* Parses the words of line (split at spaces) against s_cmd. */
static int s_parse(const char *line, s_values_t *v, gridctl_common_t *common, int *first,
                   char **words, char *buf, size_t cap)
{
    snprintf(buf, cap, "test %s", line);
    int argc = 0;
    for (char *w = strtok(buf, " "); w && argc < 31; w = strtok(NULL, " "))
        words[argc++] = w;
    words[argc] = NULL;
    memset(v, 0, sizeof *v);
    /* Messages go to stderr; the test reads only the return codes. */
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    int rc = gridctl_parse(&s_cmd, argc, words, v, common, first);
    fclose(stderr);
    stderr = saved;
    return rc;
}

static void test_every_kind_goes_to_its_place(void **state)
{
    (void)state;
    s_values_t v;
    gridctl_common_t common;
    char *words[32], buf[512];
    int first = 0;
    assert_int_equal(s_parse("-N alice --flag --limit 7 --level high --ratio 0.5 --tag a --tag b "
                             "--even 4 --json --attempts 2 ID",
                             &v, &common, &first, words, buf, sizeof buf), GRIDCTL_OK);
    assert_string_equal(v.name, "alice");
    assert_true(v.flag);
    assert_int_equal(v.limit, 7);
    assert_int_equal(v.level, 2);
    assert_true(v.seen_ratio);
    assert_true(v.ratio == 0.5);
    assert_int_equal(v.tags.n, 2);
    assert_string_equal(v.tags.items[1], "b");
    assert_int_equal(v.even, 4);
    assert_true(common.json);
    assert_int_equal(common.attempts, 2);
    assert_int_equal(common.timeout_ms, 9000);   /* the command's own default */
    assert_string_equal(words[first], "ID");
}

static void test_bad_values_and_words_are_usage_errors(void **state)
{
    (void)state;
    s_values_t v;
    gridctl_common_t common;
    char *words[32], buf[512];
    int first = 0;
    const char *bad[] = {
        "--limit 0 ID", "--limit 11 ID", "--limit x ID", "--level top ID", "--ratio 1x ID",
        "--tag a --tag b --tag c ID", "--even 3 ID", "--bogus ID", "-z ID", "ID --limit",
        "", "ID ID2", "--timeout 0 ID",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(s_parse(bad[i], &v, &common, &first, words, buf, sizeof buf),
                         GRIDCTL_USAGE);
    assert_false(v.seen_ratio);
}

static void test_help_is_written_from_the_rows(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    gridctl_help(&s_cmd, out);
    fclose(out);
    assert_non_null(strstr(text, "Usage: gridctl test ID [OPTIONS]\n"));
    assert_non_null(strstr(text, "Test options:\n"));
    assert_non_null(strstr(text, "  -N, --name TEXT       a name\n"
                                 "                        over two lines\n"));
    assert_non_null(strstr(text, "      --flag            a flag\n"));
    assert_non_null(strstr(text, "  -h, --help            this help\n"));
    assert_non_null(strstr(text, "Connection options:\n"));
    assert_non_null(strstr(text, "--timeout 9000"));
    assert_non_null(strstr(text, "Examples:\n  gridctl test x --flag\n"));
    free(text);

    s_values_t v;
    gridctl_common_t common;
    char *words[32], buf[512];
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w");
    int rc = s_parse("--help", &v, &common, NULL, words, buf, sizeof buf);
    fclose(stdout);
    stdout = saved;
    assert_int_equal(rc, GRIDCTL_HELP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_goes_to_its_place),
        cmocka_unit_test(test_bad_values_and_words_are_usage_errors),
        cmocka_unit_test(test_help_is_written_from_the_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
