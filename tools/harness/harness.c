#include "harness.h"

#include "datakey.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *harness_daemon_path(void)
{
    /* A program that runs the daemon under a tool (tools/valgrind.sh):
     * meson sets GRIDRELAYD for each test, so it cannot be overridden. */
    const char *wrapper = getenv("GR_DAEMON_WRAPPER");
    if (wrapper && *wrapper)
        return wrapper;
    const char *path = getenv("GRIDRELAYD");
    return path && *path ? path : "gridrelayd";
}

static uint64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

bool harness_wait_until(bool (*cond)(void *), void *ctx, int timeout_ms)
{
    uint64_t deadline = s_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        if (cond(ctx))
            return true;
        if (s_now_ms() >= deadline)
            return false;
        poll(NULL, 0, 10);  /* the polling step of a bounded wait */
    }
}

int harness_node_write_config(harness_node_t *node)
{
    char hex[GR_PUBLIC_KEY_HEX];
    FILE *f = fopen(node->config, "w");
    if (!f)
        return -1;
    fprintf(f,
            "[node]\n"
            "id = %s\n"
            "tier = %s\n"
            "store = store\n"
            "listen = %s\n"
            "endpoint_file = endpoint\n"
            "secret_key = node.sec\n"
            "%s%s%s",
            strrchr(node->dir, '/') + 1, node->tier[0] ? node->tier : "village",
            node->endpoint[0] ? node->endpoint : "tcp://127.0.0.1:*",
            node->catalogue[0] ? "catalogue = " : "catalogue = " GR_SOURCE_ROOT "/examples/catalogue.ini",
            node->catalogue, "\n");
    if (node->status_listen)
        fprintf(f, "status_listen = %s\n",
                node->status_endpoint[0] ? node->status_endpoint : "tcp://127.0.0.1:*");
    if (node->task_listen)
        fprintf(f, "task_listen = %s\n",
                node->task_endpoint[0] ? node->task_endpoint : "tcp://127.0.0.1:*");
    /* GR_DATA_KEY=1: every node seals its store (the benchmark's A/B of
     * issue 14 part 4, and the suite run that way), unless a test set
     * its own data_key. */
    const char *dk = getenv("GR_DATA_KEY");
    if (dk && *dk && strcmp(dk, "0") != 0 && !strstr(node->extra_node, "data_key")) {
        char path[320], err[512];
        snprintf(path, sizeof path, "%s/harness.data", node->dir);
        if (access(path, F_OK) != 0 && gr_datakey_create_file(path, err, sizeof err) != 0) {
            fclose(f);
            return -1;
        }
        fprintf(f, "data_key = harness.data\n");
    }
    fprintf(f, "%s\n%s\n", node->extra_node, node->sections);
    /* The harness's keys report and act (the least change for the tests
     * that use one key for both); a test of roles lists its own. */
    if (!node->reporters_only) {
        fprintf(f, "[operators]\n");
        for (size_t i = 0; i < node->n_reporters; i++) {
            gr_key_to_hex(hex, node->reporters[i].pk);
            fprintf(f, "worker-%zu = %s\n", i, hex);
        }
    }
    fprintf(f, "[reporters]\n");
    for (size_t i = 0; i < node->n_reporters; i++) {
        gr_key_to_hex(hex, node->reporters[i].pk);
        fprintf(f, "worker-%zu = %s%s\n", i, hex,
                node->reporter_options[i] ? node->reporter_options[i] : "");
    }
    return fclose(f) == 0 ? 0 : -1;
}

int harness_node_init(harness_node_t *node, const char *name, size_t n_reporters)
{
    memset(node, 0, sizeof *node);
    if (gr_keys_init() != 0 || n_reporters > HARNESS_MAX_REPORTERS)
        return -1;
    char tmpl[128];
    snprintf(tmpl, sizeof tmpl, "/tmp/gridrelay-test-XXXXXX");
    if (!mkdtemp(tmpl))
        return -1;
    snprintf(node->dir, sizeof node->dir, "%s/%s", tmpl, name);
    if (mkdir(node->dir, 0700) != 0)
        return -1;
    snprintf(node->config, sizeof node->config, "%s/node.ini", node->dir);
    char sec[320], pub[320], err[256];
    snprintf(sec, sizeof sec, "%s/node.sec", node->dir);
    snprintf(pub, sizeof pub, "%s/node.pub", node->dir);
    if (gr_keys_generate(&node->node_key) != 0 ||
        gr_keys_save(&node->node_key, sec, pub, err, sizeof err) != 0)
        return -1;
    node->n_reporters = n_reporters;
    for (size_t i = 0; i < n_reporters; i++)
        if (gr_keys_generate(&node->reporters[i]) != 0)
            return -1;
    return harness_node_write_config(node);
}

typedef struct {
    harness_node_t *node;
    char path[320];
} s_endpoint_wait_t;

/* The endpoint file: the request endpoint on the first line, then
 * "status EP", "tasks EP" and "http URL" lines for the endpoints that are
 * bound. */
static bool s_endpoint_ready(void *ctx)
{
    s_endpoint_wait_t *w = ctx;
    FILE *f = fopen(w->path, "r");
    if (!f)
        return false;
    char line[128] = "", endpoint[128] = "", status[128] = "", tasks[128] = "";
    for (int n = 0; fgets(line, sizeof line, f); n++) {
        line[strcspn(line, "\n")] = '\0';
        if (n == 0)
            snprintf(endpoint, sizeof endpoint, "%s", line);
        else if (strncmp(line, "status ", 7) == 0)
            snprintf(status, sizeof status, "%.120s", line + 7);
        else if (strncmp(line, "tasks ", 6) == 0)
            snprintf(tasks, sizeof tasks, "%.120s", line + 6);
        else if (strncmp(line, "http ", 5) == 0)
            snprintf(w->node->http_url, sizeof w->node->http_url, "%.120s", line + 5);
    }
    fclose(f);
    if (!endpoint[0] || (w->node->status_listen && !status[0]) ||
        (w->node->task_listen && !tasks[0]))
        return false;
    snprintf(w->node->endpoint, sizeof w->node->endpoint, "%s", endpoint);
    if (status[0])
        snprintf(w->node->status_endpoint, sizeof w->node->status_endpoint, "%s", status);
    if (tasks[0])
        snprintf(w->node->task_endpoint, sizeof w->node->task_endpoint, "%s", tasks);
    return true;
}

int harness_node_start_with(harness_node_t *node, const char *extra, int timeout_ms)
{
    s_endpoint_wait_t w = { .node = node };
    snprintf(w.path, sizeof w.path, "%s/endpoint", node->dir);
    unlink(w.path);
    if (harness_node_write_config(node) != 0)
        return -1;
    if (extra) {
        FILE *f = fopen(node->config, "a");
        if (!f)
            return -1;
        /* A new section header ends [reporters], which is written last. */
        bool ok = fputs(extra, f) >= 0;
        if (fclose(f) != 0 || !ok)
            return -1;
    }
    char log_path[320];
    snprintf(log_path, sizeof log_path, "%s/gridrelayd.log", node->dir);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* A test that fails jumps past its cleanup: its nodes must die
         * with it, not hold its output open until meson's timeout. (The
         * signal follows the thread that forked, so nodes are started
         * from the main thread only.) */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(127);
        FILE *log = fopen(log_path, "a");
        if (log)
            dup2(fileno(log), STDERR_FILENO);
        if (node->clock[0])
            execl(harness_daemon_path(), "gridrelayd", "--config", node->config, "--clock",
                  node->clock, (char *)NULL);
        else
            execl(harness_daemon_path(), "gridrelayd", "--config", node->config, (char *)NULL);
        _exit(127);
    }
    node->pid = pid;
    if (!harness_wait_until(s_endpoint_ready, &w, timeout_ms)) {
        fprintf(stderr, "harness: %s did not start; see %s\n", node->dir, log_path);
        harness_node_stop(node, SIGKILL);
        return -1;
    }
    return 0;
}

int harness_node_start(harness_node_t *node)
{
    return harness_node_start_with(node, NULL, 10000);
}

int harness_node_stop(harness_node_t *node, int sig)
{
    if (node->pid <= 0)
        return -1;
    kill(node->pid, sig);
    uint64_t deadline = s_now_ms() + 10000;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(node->pid, &status, WNOHANG);
        if (r == node->pid)
            break;
        if (r < 0 || s_now_ms() >= deadline) {
            kill(node->pid, SIGKILL);
            waitpid(node->pid, &status, 0);
            node->pid = 0;
            return -1;
        }
        poll(NULL, 0, 5);
    }
    node->pid = 0;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

static void s_remove_tree(const char *path)
{
    DIR *dir = opendir(path);
    if (dir) {
        struct dirent *entry;
        while ((entry = readdir(dir))) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
                continue;
            char child[1024];
            snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
            struct stat st;
            if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
                s_remove_tree(child);
            else
                unlink(child);
        }
        closedir(dir);
    }
    rmdir(path);
}

void harness_node_cleanup(harness_node_t *node)
{
    if (node->pid > 0)
        harness_node_stop(node, SIGKILL);
    if (!node->dir[0])
        return;
    if (getenv("GR_KEEP_TEST_DIRS"))
        return;
    char parent[256];
    snprintf(parent, sizeof parent, "%s", node->dir);
    char *slash = strrchr(parent, '/');
    if (slash)
        *slash = '\0';
    s_remove_tree(parent);
}

void harness_node_key_hex(const harness_node_t *node, char out[GR_PUBLIC_KEY_HEX])
{
    gr_key_to_hex(out, node->node_key.pk);
}

void harness_add_child(harness_node_t *parent, const harness_node_t *child)
{
    char hex[GR_PUBLIC_KEY_HEX];
    harness_node_key_hex(child, hex);
    size_t n = strlen(parent->sections);
    if (!strstr(parent->sections, "[children]\n"))
        n += (size_t)snprintf(parent->sections + n, sizeof parent->sections - n, "[children]\n");
    snprintf(parent->sections + n, sizeof parent->sections - n, "%s = %s\n",
             strrchr(child->dir, '/') + 1, hex);
}

void harness_set_parent(harness_node_t *child, const harness_node_t *parent, const char *section)
{
    char hex[GR_PUBLIC_KEY_HEX];
    harness_node_key_hex(parent, hex);
    /* Sections go first so that a [children] list stays last. */
    char rest[sizeof child->sections];
    snprintf(rest, sizeof rest, "%s", child->sections);
    int n = snprintf(child->sections, sizeof child->sections, "[%s]\nid = %s\nendpoint = %s\n",
                     section ? section : "parent", strrchr(parent->dir, '/') + 1, parent->endpoint);
    if (parent->status_endpoint[0] && (!section || strcmp(section, "parent") == 0))
        n += snprintf(child->sections + n, sizeof child->sections - (size_t)n,
                      "status_endpoint = %s\n", parent->status_endpoint);
    snprintf(child->sections + n, sizeof child->sections - (size_t)n, "key = %s\n\n%s", hex, rest);
}

gr_client_t *harness_client(harness_node_t *node, void *zmq_ctx, size_t reporter)
{
    if (reporter >= node->n_reporters || !node->endpoint[0])
        return NULL;
    return gr_client_new(zmq_ctx, node->endpoint, &node->reporters[reporter], node->node_key.pk);
}

int harness_memory(pid_t pid, harness_memory_t *out)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    harness_memory_t m = { -1, -1, -1, -1, 0 };
    while (fgets(line, sizeof line, f)) {
        sscanf(line, "VmRSS: %ld", &m.rss_kb);
        sscanf(line, "RssAnon: %ld", &m.anon_kb);
        sscanf(line, "RssFile: %ld", &m.file_kb);
        sscanf(line, "VmHWM: %ld", &m.hwm_kb);
    }
    fclose(f);
    if (m.rss_kb < 0 || m.anon_kb < 0 || m.file_kb < 0 || m.hwm_kb < 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *dir = opendir(path);
    if (!dir)
        return -1;
    for (struct dirent *e; (e = readdir(dir));)
        m.fds += e->d_name[0] != '.';
    closedir(dir);
    *out = m;
    return 0;
}

int harness_run(const char *command, char *out, size_t cap)
{
    FILE *p = popen(command, "r");
    if (!p)
        return -1;
    size_t n = 0;
    if (out && cap) {
        n = fread(out, 1, cap - 1, p);
        out[n] = '\0';
    } else {
        char sink[4096];
        while (fread(sink, 1, sizeof sink, p) > 0) {
        }
    }
    int status = pclose(p);
    if (status < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int harness_clock_set(const char *path, int64_t offset_ms)
{
    char tmp[400];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -1;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int ok = fprintf(f, "%lld\n", (long long)offset_ms) > 0;
    ok = fclose(f) == 0 && ok;
    /* rename(): a node never reads half a number. */
    return ok && rename(tmp, path) == 0 ? 0 : -1;
}
