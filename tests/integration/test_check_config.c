/* `gridrelayd --check-config` on configs an operator (or an attacker with
 * write access to a key directory) can get wrong: each must end within a
 * bounded wait with exit status 1 and "FILE:LINE: reason" on stderr; a key
 * path naming a FIFO used to hang it for ever in open(). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "keys.h"

#define S_CHECK_TIMEOUT_MS 10000

typedef struct {
    char dir[256];
    char config[320];
    gr_keypair_t node;
    char node_hex[GR_PUBLIC_KEY_HEX];
    char worker_hex[GR_PUBLIC_KEY_HEX];
} fixture_t;

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (!f || gr_keys_init() != 0)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/gridrelay-checkcfg-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->config, sizeof f->config, "%s/node.ini", f->dir);
    char sec[320], pub[320], err[256];
    snprintf(sec, sizeof sec, "%s/node.sec", f->dir);
    snprintf(pub, sizeof pub, "%s/node.pub", f->dir);
    gr_keypair_t worker;
    if (gr_keys_generate(&f->node) != 0 || gr_keys_save(&f->node, sec, pub, err, sizeof err) != 0 ||
        gr_keys_generate(&worker) != 0)
        return -1;
    gr_key_to_hex(f->node_hex, f->node.pk);
    gr_key_to_hex(f->worker_hex, worker.pk);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    nftw(f->dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* [node] on lines 1-8 (endpoint_file on line 7), [reporters] on line 9,
 * worker-0 on line 10; `more` starts on line 11. */
static void s_write_config(const fixture_t *f, const char *endpoint_file, const char *more)
{
    FILE *file = fopen(f->config, "w");
    assert_non_null(file);
    fprintf(file,
            "[node]\n"
            "id = village-check\n"
            "tier = village\n"
            "store = store\n"
            "listen = tcp://127.0.0.1:*\n"
            "secret_key = node.sec\n"
            "endpoint_file = %s\n"
            "catalogue = " GR_SOURCE_ROOT "/examples/catalogue.ini\n"
            "[reporters]\n"
            "worker-0 = %s\n"
            "%s",
            endpoint_file, f->worker_hex, more);
    assert_int_equal(fclose(file), 0);
}

typedef struct {
    pid_t pid;
    int status;
} s_child_t;

static bool s_exited(void *ctx)
{
    s_child_t *c = ctx;
    return waitpid(c->pid, &c->status, WNOHANG) == c->pid;
}

/* Runs gridrelayd --check-config on the fixture's config, stderr into
 * err (cap bytes); fails the test if it has not ended within
 * S_CHECK_TIMEOUT_MS. Returns its exit status. */
static int s_check_config(const fixture_t *f, char *err, size_t cap)
{
    char err_path[320];
    snprintf(err_path, sizeof err_path, "%s/check.err", f->dir);
    s_child_t child = { 0 };
    child.pid = fork();
    assert_true(child.pid >= 0);
    if (child.pid == 0) {
        int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd < 0 || null < 0 || dup2(fd, 2) < 0 || dup2(null, 1) < 0 || dup2(null, 0) < 0)
            _exit(127);
        execl(harness_daemon_path(), "gridrelayd", "--check-config", "--config", f->config,
              (char *)NULL);
        _exit(127);
    }
    if (!harness_wait_until(s_exited, &child, S_CHECK_TIMEOUT_MS)) {
        kill(child.pid, SIGKILL);
        waitpid(child.pid, NULL, 0);
        fail_msg("gridrelayd --check-config still running after %d ms", S_CHECK_TIMEOUT_MS);
    }
    FILE *file = fopen(err_path, "r");
    assert_non_null(file);
    size_t n = fread(err, 1, cap - 1, file);
    err[n] = '\0';
    fclose(file);
    assert_true(WIFEXITED(child.status));
    return WEXITSTATUS(child.status);
}

/* Asserts exit status 1 and "gridrelayd: CONFIG:LINE: ...want..." on stderr. */
static void s_assert_refused(const fixture_t *f, int line, const char *want)
{
    char err[2048], prefix[400];
    int rc = s_check_config(f, err, sizeof err);
    snprintf(prefix, sizeof prefix, "gridrelayd: %s:%d: ", f->config, line);
    if (rc != 1 || strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, want))
        fail_msg("exit %d, stderr \"%s\"; want exit 1, prefix \"%s\" and \"%s\"", rc, err,
                 prefix, want);
}

static void test_valid_config_passes(void **state)
{
    fixture_t *f = *state;
    s_write_config(f, "endpoint", "");
    char err[2048];
    int rc = s_check_config(f, err, sizeof err);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, err);
}

static void test_fifo_as_reporter_key_is_refused_at_once(void **state)
{
    fixture_t *f = *state;
    char fifo[320];
    snprintf(fifo, sizeof fifo, "%s/li.pub", f->dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    s_write_config(f, "endpoint", "li = @li.pub\n");
    s_assert_refused(f, 11, "li.pub: not a regular file (a FIFO)");
}

static void test_fifo_as_secret_key_is_refused_at_once(void **state)
{
    fixture_t *f = *state;
    char sec[320];
    snprintf(sec, sizeof sec, "%s/node.sec", f->dir);
    assert_int_equal(unlink(sec), 0);
    assert_int_equal(mkfifo(sec, 0600), 0);
    s_write_config(f, "endpoint", "");
    s_assert_refused(f, 6, "node.sec: not a regular file (a FIFO)");
}

static void test_own_key_as_reporter_is_refused(void **state)
{
    fixture_t *f = *state;
    s_write_config(f, "endpoint", "self = @node.pub\n");
    s_assert_refused(f, 11, "self: this is the node's own public key (secret_key at line 6)");
}

static void test_own_key_as_child_is_refused(void **state)
{
    fixture_t *f = *state;
    char more[256];
    snprintf(more, sizeof more, "[children]\nvillage-b = %s\n", f->node_hex);
    s_write_config(f, "endpoint", more);
    s_assert_refused(f, 12, "village-b: this is the node's own public key");
}

static void test_all_zero_key_is_refused(void **state)
{
    fixture_t *f = *state;
    s_write_config(f, "endpoint",
                   "zero = 0000000000000000000000000000000000000000000000000000000000000000\n");
    s_assert_refused(f, 11, "not a usable Ed25519 public key");
}

static void test_endpoint_file_in_missing_directory_is_refused(void **state)
{
    fixture_t *f = *state;
    s_write_config(f, "no/such/dir/endpoint", "");
    s_assert_refused(f, 7, "endpoint_file: directory");
    s_assert_refused(f, 7, "no/such/dir: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid_config_passes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_fifo_as_reporter_key_is_refused_at_once, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_fifo_as_secret_key_is_refused_at_once, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_own_key_as_reporter_is_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_own_key_as_child_is_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_all_zero_key_is_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_endpoint_file_in_missing_directory_is_refused,
                                        s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
