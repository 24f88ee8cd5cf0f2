/* gridbench --peers: runs gridpeerbench, the same two-hop chain on stock
 * brokers (mosquitto bridges, RabbitMQ shovels, NATS leaf nodes with
 * JetStream sources, twice: default fsync and sync_interval: always), and
 * sets its figures beside gridrelay's in gridbench's sheet.
 *
 * gridpeerbench stays a separate program: it links the brokers' client
 * libraries, which gridbench and the normal build must not need. This
 * file only runs it and reads the JSON it writes; what each figure means
 * is in gridpeerbench --help. Linked into gridbench, not gridpeerbench.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* In the order of bench_peers_t.sys. */
static const char *const s_names[BENCH_PEERS] = { "mosquitto", "rabbitmq", "nats", "nats_always" };

/* What gridrelay acknowledges when, said as gridpeerbench says it of the
 * brokers (their "durability"). */
static const char s_grid_durability[] =
    "acknowledges a report only after the fsync'd LMDB commit that holds it, at every hop "
    "(village, township, district); each tier link keeps the event in its outbox and resends "
    "it until the next hop has committed it and acknowledged, so a SIGKILL of any node loses "
    "nothing acknowledged; the receiver drops a resend by (signer, seq) and by event id, so a "
    "resend never makes a second case (no duplicates)";

int bench_peers_find(char *path, size_t cap)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    char *slash = n > 0 ? memchr(self, '/', (size_t)n) : NULL;
    if (!slash) {
        fprintf(stderr, "gridbench: --peers: cannot tell which directory gridbench is in\n");
        return -1;
    }
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    snprintf(path, cap, "%s/gridpeerbench", self);
    if (access(path, X_OK) != 0) {
        fprintf(stderr,
                "gridbench: --peers needs %s, which was not built: it is built only where "
                "libmosquitto-dev, librabbitmq-dev or libnats-dev is installed. 'bash "
                "tools/bench.sh' installs them (and the brokers), builds it and runs gridbench "
                "--peers.\n",
                path);
        return -1;
    }
    return 0;
}

/* Runs argv (argv[0] a path) with our stdout and stderr; its exit status,
 * 128 + signal, or -1 when it could not be started. */
static int s_run(char *const argv[])
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execv(argv[0], argv);
        fprintf(stderr, "gridbench: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A number under key, -1 when absent or not a number. */
static double s_num(json_object *obj, const char *key)
{
    json_object *v;
    if (!obj || !json_object_object_get_ex(obj, key, &v) ||
        !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
        return -1;
    return json_object_get_double(v);
}

static void s_str(json_object *obj, const char *key, char *out, size_t cap)
{
    json_object *v;
    if (obj && json_object_object_get_ex(obj, key, &v) && json_object_is_type(v, json_type_string))
        snprintf(out, cap, "%s", json_object_get_string(v));
}

static void s_read_system(json_object *root, bench_peer_t *p)
{
    json_object *sys = NULL, *kill = NULL, *rss = NULL;
    if (!json_object_object_get_ex(root, p->name, &sys)) {
        snprintf(p->error, sizeof p->error, "not in gridpeerbench's output");
        return;
    }
    s_str(sys, "version", p->version, sizeof p->version);
    s_str(sys, "skipped", p->error, sizeof p->error);
    p->skipped = p->error[0] != '\0';
    if (!p->skipped)
        s_str(sys, "error", p->error, sizeof p->error);
    if (p->error[0])
        return;
    s_str(sys, "durability", p->durability, sizeof p->durability);
    p->msgs_per_s = s_num(sys, "msgs_per_s");
    p->p50_ms = s_num(sys, "p50_ms");
    p->p99_ms = s_num(sys, "p99_ms");
    if (json_object_object_get_ex(sys, "kill_run", &kill)) {
        p->kill_acked = s_num(kill, "acked");
        p->kill_received = s_num(kill, "received");
        p->kill_lost = s_num(kill, "lost");
        p->kill_dups = s_num(kill, "duplicates");
    }
    if (json_object_object_get_ex(sys, "peak_rss_kib", &rss)) {
        static const char *const pos[3] = { "A", "B", "C" };
        for (int i = 0; i < 3; i++) {
            double kib = s_num(rss, pos[i]);
            p->rss_mb[i] = kib >= 0 ? kib / 1024 : -1;
        }
    }
    p->measured = true;
}

int bench_peers_run(const char *binary, size_t messages, size_t window, int runs, bench_peers_t *out)
{
    memset(out, 0, sizeof *out);
    out->messages = messages;
    out->window = window;
    out->runs = runs;
    out->rate = 100;  /* gridbench's chain latency rate */
    out->seconds = -1;
    for (int i = 0; i < BENCH_PEERS; i++) {
        bench_peer_t *p = &out->sys[i];
        snprintf(p->name, sizeof p->name, "%s", s_names[i]);
        p->msgs_per_s = p->p50_ms = p->p99_ms = -1;
        p->kill_acked = p->kill_received = p->kill_lost = p->kill_dups = -1;
        p->rss_mb[0] = p->rss_mb[1] = p->rss_mb[2] = -1;
    }
    char json_path[] = "/tmp/gridbench-peers-XXXXXX";
    int fd = mkstemp(json_path);
    if (fd < 0) {
        fprintf(stderr, "gridbench: --peers: cannot make a temp file: %s\n", strerror(errno));
        return -1;
    }
    close(fd);
    char n_msg[32], n_win[32], n_runs[32], n_rate[32];
    snprintf(n_msg, sizeof n_msg, "%zu", messages);
    snprintf(n_win, sizeof n_win, "%zu", window);
    snprintf(n_runs, sizeof n_runs, "%d", runs);
    snprintf(n_rate, sizeof n_rate, "%.0f", out->rate);
    char *argv[] = { (char *)binary, "--messages", n_msg, "--window", n_win, "--runs", n_runs,
                     "--kill-runs", "1", "--rate", n_rate, "--json", json_path, NULL };
    double t0 = bench_now();
    int status = s_run(argv);
    out->seconds = bench_now() - t0;
    if (status != 0)
        fprintf(stderr, "gridbench: gridpeerbench exited with status %d; its figures that are "
                "missing show as \"-\"\n", status);
    json_object *root = json_object_from_file(json_path);
    unlink(json_path);
    if (!root) {
        fprintf(stderr, "gridbench: --peers: gridpeerbench wrote no JSON\n");
        for (int i = 0; i < BENCH_PEERS; i++)
            snprintf(out->sys[i].error, sizeof out->sys[i].error, "gridpeerbench wrote no figures");
        return -1;
    }
    double size = s_num(root, "size");
    out->size = size > 0 ? (size_t)size : 0;
    int rc = status == 0 ? 0 : -1;
    for (int i = 0; i < BENCH_PEERS; i++) {
        s_read_system(root, &out->sys[i]);
        if (!out->sys[i].measured) {
            fprintf(stderr, "gridbench: --peers: %s: %s%s\n", out->sys[i].name,
                    out->sys[i].skipped ? "not measured: " : "", out->sys[i].error);
            if (!out->sys[i].skipped)
                rc = -1;
        }
    }
    json_object_put(root);
    return rc;
}

/* A kill-run count of gridrelay's, -1 when the run failed or was skipped. */
static double s_kill_figure(const bench_kill_t *k, int which)
{
    if (!k)
        return -1;
    switch (which) {
    case 0: return (double)k->acked;
    case 1: return (double)k->received;
    case 2: return (double)k->lost;
    default: return (double)k->duplicates;
    }
}

static void s_sheet_kill(bench_sheet_t *s, const bench_peers_t *peers, const bench_grid_figures_t *g)
{
    static const char *const keys[4] = { "acked", "received", "lost", "duplicates" };
    static const char *const grid_labels[4] = {
        "acknowledged by the village", "received at the district (distinct)",
        "lost (acknowledged, never at the district)", "duplicates (stored twice at the district)",
    };
    static const char *const peer_labels[4] = {
        "acknowledged by A", "received at C (distinct)", "lost (acknowledged, never received)",
        "duplicates (received more than once)",
    };
    for (int f = 0; f < 4; f++) {
        char key[64];
        snprintf(key, sizeof key, "cmp_gridrelay_kill_%s", keys[f]);
        bench_sheet_add(s, key, 0, s_kill_figure(g->kill, f), "kill run, gridrelay: %s", grid_labels[f]);
        for (int i = 0; i < BENCH_PEERS; i++) {
            const bench_peer_t *p = &peers->sys[i];
            double v = f == 0 ? p->kill_acked : f == 1 ? p->kill_received
                       : f == 2 ? p->kill_lost : p->kill_dups;
            snprintf(key, sizeof key, "cmp_%s_kill_%s", p->name, keys[f]);
            bench_sheet_add(s, key, 0, v, "kill run, %s: %s", p->name, peer_labels[f]);
        }
    }
}

void bench_peers_sheet(bench_sheet_t *s, const bench_peers_t *peers, const bench_grid_figures_t *g)
{
    char title[224];
    snprintf(title, sizeof title, "vs stock brokers: the same chain in gridpeerbench (%zu x %zu-byte "
             "msgs, window %zu) [medians of %d run%s]", peers->messages, peers->size, peers->window,
             peers->runs, peers->runs == 1 ? "" : "s");
    bench_sheet_section(s, title);
    bench_sheet_add(s, "cmp_gridrelay_msgs_per_s", 0, g->chain_per_s,
                    "end-to-end/s: gridrelay chain village -> district (32 reporters, %zu reports)",
                    g->chain_events);
    for (int i = 0; i < BENCH_PEERS; i++) {
        const bench_peer_t *p = &peers->sys[i];
        char key[64];
        snprintf(key, sizeof key, "cmp_%s_msgs_per_s", p->name);
        bench_sheet_add(s, key, 0, p->msgs_per_s, "end-to-end/s: %s %s chain A -> C (window %zu)",
                        p->name, p->version, peers->window);
    }
    for (int i = 0; i < BENCH_PEERS; i++) {
        const bench_peer_t *p = &peers->sys[i];
        char key[64];
        snprintf(key, sizeof key, "ratio_gridrelay_chain_over_%s_chain", p->name);
        bench_sheet_add(s, key, 2, bench_ratio(g->chain_per_s, p->msgs_per_s),
                        "ratio: gridrelay chain events/s / %s chain msgs/s", p->name);
    }
    static const char *const q[2] = { "p50", "p99" };
    for (int k = 0; k < 2; k++) {
        char key[64];
        snprintf(key, sizeof key, "cmp_gridrelay_%s_ms", q[k]);
        bench_sheet_add(s, key, 2, k == 0 ? g->p50_ms : g->p99_ms,
                        "latency %s ms at %.0f/s: gridrelay (village report -> district holds it)",
                        q[k], peers->rate);
        for (int i = 0; i < BENCH_PEERS; i++) {
            const bench_peer_t *p = &peers->sys[i];
            snprintf(key, sizeof key, "cmp_%s_%s_ms", p->name, q[k]);
            bench_sheet_add(s, key, 2, k == 0 ? p->p50_ms : p->p99_ms,
                            "latency %s ms at %.0f/s: %s (publish at A -> received at C)", q[k],
                            peers->rate, p->name);
        }
    }
    s_sheet_kill(s, peers, g);
    static const char *const nodes[3] = { "village", "township", "district" };
    static const char *const pos[3] = { "A", "B", "C" };
    for (int n = 0; n < 3; n++) {
        char key[64];
        snprintf(key, sizeof key, "cmp_gridrelay_%s_peak_rss_mb", nodes[n]);
        bench_sheet_add(s, key, 1, g->rss_mb[n], "peak RSS MiB: gridrelayd %s (%s), chain run",
                        nodes[n], pos[n]);
        for (int i = 0; i < BENCH_PEERS; i++) {
            const bench_peer_t *p = &peers->sys[i];
            snprintf(key, sizeof key, "cmp_%s_%c_peak_rss_mb", p->name, "abc"[n]);
            bench_sheet_add(s, key, 1, p->rss_mb[n], "peak RSS MiB: %s broker %s (%s's place)",
                            p->name, pos[n], nodes[n]);
        }
    }
    bench_sheet_note(s, "cmp_gridrelay_durability", "durability, gridrelay", s_grid_durability);
    for (int i = 0; i < BENCH_PEERS; i++) {
        const bench_peer_t *p = &peers->sys[i];
        char key[64], label[64];
        snprintf(key, sizeof key, "cmp_%s_durability", p->name);
        snprintf(label, sizeof label, "durability, %s", p->name);
        bench_sheet_note(s, key, label, p->measured ? p->durability : "-");
        if (!p->measured) {
            /* "skipped": the installed version cannot be set up so; else
             * it failed or was not built. */
            snprintf(key, sizeof key, "cmp_%s_%s", p->name, p->skipped ? "skipped" : "error");
            snprintf(label, sizeof label, "%s: not measured", p->name);
            bench_sheet_note(s, key, label, p->error);
        }
    }
    bench_sheet_add(s, "cmp_peers_run_s", 0, peers->seconds, "gridpeerbench: wall time of every chain, s");
}
