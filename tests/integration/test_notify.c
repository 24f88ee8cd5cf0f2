/* systemd's readiness protocol with a real gridrelayd: the test binds a
 * unix datagram socket, starts the node with NOTIFY_SOCKET naming it, and
 * reads READY=1 only once the node's endpoint is bound (its endpoint file
 * written, a client answered); SIGTERM brings STOPPING=1. Skipped (77)
 * in a build without libsystemd. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>
#include <zmq.h>

#include "harness.h"
#include "tiers_fixture.h"

/* Waits (bounded) for a datagram holding text; copies it into out. */
static bool s_receive(int fd, const char *text, char *out, size_t cap, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = recv(fd, out, cap - 1, 0);
        if (n <= 0)
            continue;
        out[n] = '\0';
        if (strstr(out, text))
            return true;
    }
    return false;
}

static void test_ready_after_bind_and_stopping_on_sigterm(void **state)
{
    (void)state;
    harness_node_t node;
    memset(&node, 0, sizeof node);
    assert_int_equal(harness_node_init(&node, "village-notify", 1), 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%.90s/notify.sock", node.dir);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(setenv("NOTIFY_SOCKET", addr.sun_path, 1), 0);
    /* harness_node_start returns once the endpoint file names the bound
     * endpoint; READY=1 must not come before that file exists. */
    assert_int_equal(harness_node_start(&node), 0);
    unsetenv("NOTIFY_SOCKET");
    char msg[512];
    assert_true(s_receive(fd, "READY=1", msg, sizeof msg, 10000));
    assert_non_null(strstr(msg, "STATUS=village-notify"));
    char path[400];
    snprintf(path, sizeof path, "%s/endpoint", node.dir);
    assert_int_equal(access(path, F_OK), 0);
    void *ctx = zmq_ctx_new();
    assert_int_equal(node_report(&node, ctx, "notify-1", "PS.FIRE-HAZARD", 1), 0);
    zmq_ctx_term(ctx);

    assert_int_equal(kill(node.pid, SIGTERM), 0);
    assert_true(s_receive(fd, "STOPPING=1", msg, sizeof msg, 10000));
    assert_int_equal(harness_node_stop(&node, SIGTERM), 0);
    close(fd);
    harness_node_cleanup(&node);
}

int main(void)
{
#ifndef GR_HAVE_SYSTEMD
    return 77;
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_after_bind_and_stopping_on_sigterm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
