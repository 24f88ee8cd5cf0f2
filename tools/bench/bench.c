/* gridbench: what gridrelayd costs, against what the machine allows,
 * measured in one run.
 *
 * Order: raw ceilings (libsodium, LMDB, ZeroMQ with no gridrelay code);
 * --runs runs of one village node under 1..64 concurrent reporters plus an
 * open-loop latency probe, with its peak RSS and disk per event; --runs
 * runs of the 3-tier chain; one kill run of the chain (the township
 * SIGKILLed mid-stream); one scale run (a district under 1,000 simulated
 * villages); with --peers, gridpeerbench's stock broker chains beside
 * them. gridrelay figures are medians of the runs. Prints
 * a table and writes the same figures as JSON (--json FILE). The parts
 * are in bench_*.c (see bench.h).
 */
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

typedef struct {
    int runs;
    long events;
    bench_single_opts_t single;
    bool chain;
    bool kill;
    long kill_events;
    long chain_probes;
    bool peers;
    bool dept;
    bench_dept_opts_t dept_opts;
    bool scale;
    bench_scale_opts_t scale_opts;
    const char *json_path;
} s_opts_t;

static void s_usage(FILE *out)
{
    fprintf(out,
"NAME\n"
"    gridbench - measure gridrelayd against this machine's raw ceilings\n"
"\n"
"SYNOPSIS\n"
"    gridbench [--runs N] [--events N] [--clients LIST] [--level-seconds S]\n"
"              [--no-chain] [--chain-probes N] [--kill-events N] [--no-kill]\n"
"              [--no-dept] [--scale-links N] [--scale-events N] [--scale-window N]\n"
"              [--scale-seconds S] [--no-scale] [--peers] [--v1] [--json FILE]\n"
"\n"
"DESCRIPTION\n"
"    Starts real gridrelayd processes on loopback (each in its own temp dir,\n"
"    on ports the kernel picks) and measures, in one run:\n"
"\n"
"    1. Raw ceilings, with no gridrelay code: Ed25519 verifies/s and signs/s\n"
"       on one core (libsodium, 300-byte messages); LMDB durable commits/s\n"
"       (one 300-byte put per synchronous commit, i.e. one fsync each; and\n"
"       each such commit's time, begin to synced, p50 and p99) and\n"
"       LMDB batched puts/s (512 puts per synchronous commit, 512 being the\n"
"       node's default batch_max); LMDB one-put durable commits offered\n"
"       at 1,000/s for 3 s, the open loop's pace, each timed from when it\n"
"       was due (p99, slowest, and how many were later than 5 ms: the\n"
"       disk's own stalls at that pace, one commit per put where a node\n"
"       commits what waited together); ZeroMQ DEALER -> ROUTER over\n"
"       tcp://127.0.0.1 with messages the size of a sealed Report envelope:\n"
"       messages/s one way (pipelined) and round trips/s (one at a time),\n"
"       each without and with CURVE.\n"
"    2. One village node, durable and verified: for each count in --clients,\n"
"       that many reporters, each in its own thread with its own key, send\n"
"       Reports and wait for each Ack before the next (closed loop). Each\n"
"       level sends --events reports in all, or stops after --level-seconds.\n"
"       Then one reporter sends 1,000 reports/s for 3 s without waiting\n"
"       (open loop). Before the node stops: its peak RSS; after: its store.\n"
"    3. The 3-tier chain village -> township -> district (durable and\n"
"       verified at every hop): 32 village reporters send --events/2 reports\n"
"       of a district matter, timed until the district stored them all;\n"
"       then 300 reports at 100/s, each timed from the village report until\n"
"       the district answers GetEvent for it.\n"
"    4. The kill run, on a fresh chain, as gridpeerbench runs it on the\n"
"       brokers: one village reporter sends --kill-events reports of a\n"
"       district matter as fast as the chain takes them, at most %d\n"
"       unacknowledged (pipelined; one unanswered for 2 s is sent again,\n"
"       which the village answers from its dedup table). Once half are\n"
"       acknowledged by the village, the township is SIGKILLed and started\n"
"       again at once on its store. Then the district is watched until its\n"
"       events_stored reaches what the village acknowledged, or 10 s pass\n"
"       without progress, and its events are listed (ListEvents pages).\n"
"       Runs once.\n"
"    5. Scale: one district configured with --scale-links children, each a\n"
"       fresh village key. gridbench plays every village from ONE thread:\n"
"       one broker/link.c upward link per village (a CURVE DEALER with the\n"
"       village's key and node id), all polled together, as a village's\n"
"       gridrelayd would open it. A burst of --scale-events Escalates\n"
"       (each with a grid worker's signed Report envelope and the village's\n"
"       signed hop, sealed before the clock starts) is spread evenly over\n"
"       the links; each link keeps at most --scale-window unacknowledged\n"
"       and resends as the node's links do (the oldest, after a timeout that\n"
"       follows the district's answer time, at least 1 s, backing off\n"
"       to 30 s, and what the district showed it skipped). Runs once, not\n"
"       --runs times.\n"
"    6. With --peers: gridpeerbench (the same two-hop chain of 300-byte\n"
"       messages through three mosquitto brokers, three RabbitMQ brokers\n"
"       and three NATS servers joined as leaf nodes with JetStream sources,\n"
"       the last twice: JetStream's default fsync, and sync_interval:\n"
"       always where nats-server has it, 2.10 on; with the same SIGKILL\n"
"       of the middle one) is run from this\n"
"       binary's directory with --messages set to --kill-events, --runs to\n"
"       --runs, --window %d and --rate 100; its JSON is read and a\n"
"       comparison section set beside gridrelay's figures: end-to-end\n"
"       msgs/s and their ratios, latency p50/p99 at 100/s, the kill runs,\n"
"       peak RSS per broker and per gridrelayd node, and what each system\n"
"       acknowledges when. gridpeerbench is built with each broker whose\n"
"       client library (libmosquitto-dev, librabbitmq-dev, libnats-dev) is\n"
"       installed: tools/bench.sh installs them, builds, and runs\n"
"       gridbench --peers.\n"
"\n"
"    gridrelay figures in 2 and 3 are medians of --runs runs, each on a\n"
"    fresh node and store; raw figures and the scale run come from this run.\n"
"\n"
"OPTIONS\n"
"    --runs N           runs of 2 and 3 (1..%d; default 3)\n"
"    --events N         reports per reporter level in 2, and twice the\n"
"                       chain's in 3 (>= 1000; default 10000)\n"
"    --clients LIST     comma-separated reporter counts for 2, each 1..%d,\n"
"                       at most %d counts (default 1,4,16,32,64)\n"
"    --level-seconds S  a level of 2 stops sending after S seconds even if\n"
"                       --events were not all sent (default 6), so that a\n"
"                       single synchronous reporter does not dominate the run\n"
"    --no-chain         skip 3\n"
"    --chain-probes N   reports timed at 100/s in 3 (default 300, at least\n"
"                       100), each node's write commits per event counted\n"
"                       over them\n"
"    --kill-events N    reports in the kill run, 4 (>= 1000; default 20000)\n"
"    --no-kill          skip 4\n"
"    --no-dept          skip the departments measurement (a township with 20\n"
"                       departments, each a client thread claiming what it gets:\n"
"                       dispatch-to-claim latency at 100 tasks/s, and reports/s\n"
"                       dispatched vs. stored without a route)\n"
"    --scale-links N    villages in 5 (default 1000)\n"
"    --scale-events N   escalations in the burst of 5 (default 100000)\n"
"    --scale-window N   unacknowledged escalations per village link (default\n"
"                       64; a node's own link window is 256). With the\n"
"                       links' adaptive resend timeout (docs/PROTOCOL.md\n"
"                       8.5) a window this large no longer piles resends up\n"
"                       behind new work (see \"resent\"); 1 measures one\n"
"                       escalation in flight per village.\n"
"    --scale-seconds S  stop waiting for acks after S seconds (default 120);\n"
"                       the figures then cover what was acknowledged\n"
"    --no-scale         skip 5\n"
"    --peers            also run 6 (gridpeerbench must have been built)\n"
"    --v1               the single node's reporters speak protocol version 1\n"
"                       (each Ack signed on its own), as before batched\n"
"                       receipts: to measure an older gridrelayd, or the cost\n"
"                       of per-reply signatures\n"
"    --json FILE        also write every figure as JSON (default bench.json):\n"
"                       one number per key (null when not measured; the\n"
"                       durability lines of --peers are strings), the\n"
"                       table's text for each key under \"labels\", and runs,\n"
"                       events_per_run and total_run_s\n"
"    -h, --help         this text\n"
"\n"
"FIGURES\n"
"    events/s           reports (or escalations) acknowledged per second of\n"
"                       wall time. An Ack is sent only after the LMDB commit\n"
"                       holding the event (durable) and after the node\n"
"                       checked its signature (verified).\n"
"    ack latency        closed loop: from sending a report to receiving its\n"
"                       Ack, every report of the level (p50/p99/p99.9);\n"
"                       open loop: the same at a fixed offered rate.\n"
"    scale latency      per escalation, from the moment its link took it\n"
"                       into the window until its Ack.\n"
"    drain time         from the first escalation handed to a link to the\n"
"                       last Ack (links are all connected before it starts).\n"
"    resent             frames the village links sent again because no Ack\n"
"                       came within their retry time; the district answers\n"
"                       each from its dedup table.\n"
"    per commit         over a closed-loop level: events acknowledged / the\n"
"                       node's write transactions committed (its \"batches\"\n"
"                       counter; each commit is one fsync); 4 KiB pages\n"
"                       written per commit and bytes written per event: the\n"
"                       bytes of the node's write(2) calls (/proc/PID/io\n"
"                       wchar: LMDB's page writes; socket sends are not\n"
"                       writes) / 4,096 / commits, and / events.\n"
"    peak RSS           VmHWM of the gridrelayd process (/proc/PID/status),\n"
"                       read just before it is stopped.\n"
"    disk/event         data.mdb's size / the node's events_stored;\n"
"                       LMDB pages in use (branch + leaf + overflow pages of\n"
"                       every database, read-only open after the node\n"
"                       stopped) x page size / events_stored; and the file's\n"
"                       high-water page (last page + 1) x page size /\n"
"                       events_stored. Events count every case stored,\n"
"                       reports of all levels and the probe included.\n"
"    ratio: A / B       A divided by B, both named in the row.\n"
"    kill run           acked: Acks from the village (after its commit);\n"
"                       received: distinct event ids of the run that the\n"
"                       district lists; lost: acked but not at the district;\n"
"                       duplicates: the district's events_stored minus its\n"
"                       distinct ids (event ids are unique keys of its\n"
"                       store, so a case stored twice can only show there).\n"
"\n"
"ENVIRONMENT\n"
"    GRIDRELAYD         the gridrelayd binary; default ../node/gridrelayd\n"
"                       beside this binary's directory (the build tree).\n"
"    GR_KEEP_TEST_DIRS  keep the nodes' temp dirs (configs, logs, stores).\n"
"\n"
"EXIT STATUS\n"
"    0 all measured; 1 some measurement failed (its figures are \"-\" and\n"
"    null) or the JSON could not be written; 2 usage error.\n"
"\n"
"NOTES\n"
"    Clients, simulated villages and nodes share this machine's cores; on a\n"
"    small machine the client side's own signing and verifying is part of\n"
"    what limits the figures. With defaults the whole run takes a few\n"
"    minutes.\n",
            BENCH_KILL_WINDOW, BENCH_KILL_WINDOW, BENCH_MAX_RUNS, BENCH_MAX_CLIENTS,
            BENCH_MAX_LEVELS);
}

/* "1,4,16" into levels; false when malformed or out of range. */
static bool s_parse_levels(const char *text, bench_single_opts_t *single)
{
    single->n_levels = 0;
    const char *p = text;
    while (*p) {
        char *end = NULL;
        long n = strtol(p, &end, 10);
        if (end == p || n < 1 || n > BENCH_MAX_CLIENTS || single->n_levels == BENCH_MAX_LEVELS)
            return false;
        single->levels[single->n_levels++] = (size_t)n;
        if (*end == ',')
            end++;
        else if (*end)
            return false;
        p = end;
    }
    return single->n_levels > 0;
}

static bool s_parse_size(const char *text, long min, long max, long *out)
{
    char *end = NULL;
    long n = strtol(text, &end, 10);
    if (end == text || *end || n < min || n > max)
        return false;
    *out = n;
    return true;
}

/* Returns 0 to go on, or the exit status. */
static int s_parse(int argc, char **argv, s_opts_t *o)
{
    enum { O_CLIENTS = 256, O_LEVEL_S, O_NO_CHAIN, O_KILL_EVENTS, O_NO_KILL, O_NO_DEPT, O_LINKS,
           O_SCALE_EVENTS, O_WINDOW, O_SCALE_S, O_NO_SCALE, O_PEERS, O_V1, O_PROBES };
    static const struct option options[] = {
        { "runs", required_argument, NULL, 'r' },
        { "events", required_argument, NULL, 'e' },
        { "clients", required_argument, NULL, O_CLIENTS },
        { "level-seconds", required_argument, NULL, O_LEVEL_S },
        { "no-chain", no_argument, NULL, O_NO_CHAIN },
        { "chain-probes", required_argument, NULL, O_PROBES },
        { "kill-events", required_argument, NULL, O_KILL_EVENTS },
        { "no-kill", no_argument, NULL, O_NO_KILL },
        { "no-dept", no_argument, NULL, O_NO_DEPT },
        { "scale-links", required_argument, NULL, O_LINKS },
        { "scale-events", required_argument, NULL, O_SCALE_EVENTS },
        { "scale-window", required_argument, NULL, O_WINDOW },
        { "scale-seconds", required_argument, NULL, O_SCALE_S },
        { "no-scale", no_argument, NULL, O_NO_SCALE },
        { "peers", no_argument, NULL, O_PEERS },
        { "v1", no_argument, NULL, O_V1 },
        { "json", required_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    memset(o, 0, sizeof *o);
    o->runs = 3;
    o->events = 10000;
    o->chain = o->kill = o->scale = o->dept = true;
    o->kill_events = 20000;
    o->chain_probes = 300;
    o->dept_opts = (bench_dept_opts_t){ 20, 400, 100, 4000 };
    o->json_path = "bench.json";
    o->single.level_max_s = 6;
    o->single.open_rate = 1000;
    o->single.open_s = 3;
    o->scale_opts = (bench_scale_opts_t){ 1000, 100000, 64, 120 };
    if (!s_parse_levels("1,4,16,32,64", &o->single))
        return 2;
    int opt;
    long n = 0;
    bool ok = true;
    while (ok && (opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'r': ok = s_parse_size(optarg, 1, BENCH_MAX_RUNS, &n); o->runs = (int)n; break;
        case 'e': ok = s_parse_size(optarg, 1000, 100000000, &o->events); break;
        case O_CLIENTS: ok = s_parse_levels(optarg, &o->single); break;
        case O_LEVEL_S: ok = s_parse_size(optarg, 1, 3600, &n); o->single.level_max_s = (double)n; break;
        case O_NO_CHAIN: o->chain = false; break;
        case O_PROBES: ok = s_parse_size(optarg, 100, 1000000, &o->chain_probes); break;
        case O_KILL_EVENTS: ok = s_parse_size(optarg, 1000, 10000000, &o->kill_events); break;
        case O_NO_KILL: o->kill = false; break;
        case O_NO_DEPT: o->dept = false; break;
        case O_LINKS: ok = s_parse_size(optarg, 1, 100000, &n); o->scale_opts.links = (size_t)n; break;
        case O_SCALE_EVENTS:
            ok = s_parse_size(optarg, 1, 100000000, &n);
            o->scale_opts.events = (size_t)n;
            break;
        case O_WINDOW: ok = s_parse_size(optarg, 1, 65536, &n); o->scale_opts.window = (size_t)n; break;
        case O_SCALE_S: ok = s_parse_size(optarg, 1, 86400, &n); o->scale_opts.max_s = (double)n; break;
        case O_NO_SCALE: o->scale = false; break;
        case O_PEERS: o->peers = true; break;
        case O_V1: bench_client_version = 1; break;
        case 'j': o->json_path = optarg; break;
        case 'h': s_usage(stdout); return 3;
        default: ok = false;
        }
    }
    if (!ok || optind < argc) {
        fprintf(stderr, "gridbench: bad arguments; see gridbench --help\n");
        return 2;
    }
    o->single.events = (size_t)o->events;
    return 0;
}

/* Median of the runs that measured something (>= 0); -1 when none did. */
static double s_med(const double *v, int runs)
{
    double ok[BENCH_MAX_RUNS];
    size_t n = 0;
    for (int r = 0; r < runs; r++)
        if (v[r] >= 0)
            ok[n++] = v[r];
    return n ? bench_median(ok, n) : -1;
}

static const char *s_who(size_t reporters)
{
    return reporters == 1 ? "reporter" : "reporters";
}

static double s_mb(long kb)
{
    return kb >= 0 ? (double)kb / 1024 : -1;
}

static void s_sheet_raw(bench_sheet_t *s, const bench_raw_t *raw)
{
    bench_sheet_section(s, "raw ceilings (this machine, no gridrelay code)");
    bench_sheet_add(s, "raw_ed25519_verifies_per_s", 0, raw->verifies_per_s,
                    "raw: Ed25519 verifies/s, one core (libsodium)");
    bench_sheet_add(s, "raw_ed25519_signs_per_s", 0, raw->signs_per_s,
                    "raw: Ed25519 signs/s, one core (libsodium)");
    bench_sheet_add(s, "raw_lmdb_durable_commits_per_s", 0, raw->commits_per_s,
                    "raw: LMDB durable commits/s (one put, one fsync'd commit)");
    bench_sheet_add(s, "raw_lmdb_commit_p50_ms", 2, raw->commit_p50_ms,
                    "raw: LMDB durable commit, begin to synced, p50 ms");
    bench_sheet_add(s, "raw_lmdb_commit_p99_ms", 2, raw->commit_p99_ms,
                    "raw: LMDB durable commit, begin to synced, p99 ms");
    bench_sheet_add(s, "raw_lmdb_batched_puts_per_s", 0, raw->batched_puts_per_s,
                    "raw: LMDB puts/s, %zu puts per durable commit", raw->batch_puts);
    bench_sheet_add(s, "raw_lmdb_paced_commit_p99_ms", 2, raw->paced_commit_p99_ms,
                    "raw: LMDB durable commits offered at %.0f/s for %.0f s, from due, p99 ms",
                    raw->paced_rate, raw->paced_s);
    bench_sheet_add(s, "raw_lmdb_paced_commit_max_ms", 2, raw->paced_commit_max_ms,
                    "raw: the same, slowest, ms");
    bench_sheet_add(s, "raw_lmdb_paced_commits_over_5ms", 0, (double)raw->paced_commits_over_5ms,
                    "raw: the same, commits later than 5 ms");
    bench_sheet_add(s, "raw_zmq_msg_bytes", 0, (double)raw->msg_bytes,
                    "raw: ZeroMQ message size (a sealed Report envelope), bytes");
    bench_sheet_add(s, "raw_zmq_msgs_per_s", 0, raw->zmq_msgs_per_s,
                    "raw: ZeroMQ DEALER->ROUTER tcp loopback msgs/s, one way, plain");
    bench_sheet_add(s, "raw_zmq_curve_msgs_per_s", 0, raw->zmq_curve_msgs_per_s,
                    "raw: ZeroMQ DEALER->ROUTER tcp loopback msgs/s, one way, CURVE");
    bench_sheet_add(s, "raw_zmq_round_trips_per_s", 0, raw->zmq_rtt_per_s,
                    "raw: ZeroMQ DEALER<->ROUTER round trips/s, one at a time, plain");
    bench_sheet_add(s, "raw_zmq_curve_round_trips_per_s", 0, raw->zmq_curve_rtt_per_s,
                    "raw: ZeroMQ DEALER<->ROUTER round trips/s, one at a time, CURVE");
}

/* The medians of the single-node runs; rate[i] is level i's median. */
static void s_sheet_single(bench_sheet_t *s, const s_opts_t *o, const bench_single_t *runs,
                           double *rate)
{
    char title[128];
    snprintf(title, sizeof title, "one gridrelayd node, durable + verified [median of %d runs]",
             o->runs);
    bench_sheet_section(s, title);
    double v[BENCH_MAX_RUNS];
    for (size_t i = 0; i < o->single.n_levels; i++) {
        size_t c = o->single.levels[i];
        char key[64];
        for (int r = 0; r < o->runs; r++)
            v[r] = runs[r].level[i].events_per_s;
        rate[i] = s_med(v, o->runs);
        snprintf(key, sizeof key, "events_per_s_%zu_clients", c);
        bench_sheet_add(s, key, 0, rate[i], "gridrelay: events/s, %zu concurrent reporter%s", c,
                        c == 1 ? "" : "s");
        static const char *const names[3] = { "p50", "p99", "p999" };
        for (int q = 0; q < 3; q++) {
            for (int r = 0; r < o->runs; r++)
                v[r] = q == 0 ? runs[r].level[i].p50_ms
                       : q == 1 ? runs[r].level[i].p99_ms : runs[r].level[i].p999_ms;
            snprintf(key, sizeof key, "ack_%s_ms_%zu_clients", names[q], c);
            bench_sheet_add(s, key, 2, s_med(v, o->runs), "gridrelay: ack latency %s ms, %zu reporter%s",
                            names[q], c, c == 1 ? "" : "s");
        }
        /* Whose cost the figure is: the node's CPU and the generator's
         * (reports sealed before the clock, 1 reply in BENCH_VERIFY_EVERY
         * signature-checked), both per 1,000 events. */
        static const char *const who[2] = { "node", "generator" };
        for (int k = 0; k < 2; k++) {
            for (int r = 0; r < o->runs; r++) {
                const bench_level_t *l = &runs[r].level[i];
                double cpu = k == 0 ? l->node_cpu_s : l->gen_cpu_s;
                v[r] = bench_ratio(cpu * 1000.0, (double)l->events);
            }
            snprintf(key, sizeof key, "%s_cpu_s_per_1000_%zu_clients", who[k], c);
            bench_sheet_add(s, key, 3, s_med(v, o->runs),
                            "%s: CPU s per 1,000 events (user+sys), %zu reporter%s",
                            k == 0 ? "gridrelay: node" : "gridbench: generator", c,
                            c == 1 ? "" : "s");
        }
        for (int r = 0; r < o->runs; r++) {
            const bench_level_t *l = &runs[r].level[i];
            v[r] = bench_ratio(l->node_main_cpu_s * 1000.0, (double)l->events);
        }
        snprintf(key, sizeof key, "node_main_cpu_s_per_1000_%zu_clients", c);
        bench_sheet_add(s, key, 3, s_med(v, o->runs),
                        "gridrelay: node main thread (serial part): CPU s per 1,000 events, %zu reporter%s",
                        c, c == 1 ? "" : "s");
        /* What bounds the level: events per commit (each commit one
         * fsync) and pages written per commit (the bytes of its write(2) calls / 4,096). */
        for (int r = 0; r < o->runs; r++) {
            const bench_level_t *l = &runs[r].level[i];
            v[r] = l->commits > 0 && l->events ? (double)l->events / l->commits : -1;
        }
        snprintf(key, sizeof key, "node_events_per_commit_%zu_clients", c);
        bench_sheet_add(s, key, 1, s_med(v, o->runs),
                        "gridrelay: node: events per commit (one fsync each), %zu reporter%s", c,
                        c == 1 ? "" : "s");
        for (int r = 0; r < o->runs; r++)
            v[r] = bench_ratio(runs[r].level[i].write_bytes / 4096.0, runs[r].level[i].commits);
        snprintf(key, sizeof key, "node_pages_per_commit_%zu_clients", c);
        bench_sheet_add(s, key, 1, s_med(v, o->runs),
                        "gridrelay: node: 4 KiB pages written per commit (write(2) bytes / 4,096), %zu reporter%s",
                        c, c == 1 ? "" : "s");
        for (int r = 0; r < o->runs; r++) {
            const bench_level_t *l = &runs[r].level[i];
            v[r] = bench_ratio(l->write_bytes, (double)l->events);
        }
        snprintf(key, sizeof key, "node_written_bytes_per_event_%zu_clients", c);
        bench_sheet_add(s, key, 0, s_med(v, o->runs),
                        "gridrelay: node: bytes written per event (write(2), /proc/PID/io wchar), %zu reporter%s", c,
                        c == 1 ? "" : "s");
        for (int r = 0; r < o->runs; r++)
            v[r] = runs[r].level[i].verified_share;
        snprintf(key, sizeof key, "acks_signature_checked_share_%zu_clients", c);
        bench_sheet_add(s, key, 3, s_med(v, o->runs),
                        "gridbench: share of acks signature-checked (sample 1 in %d; "
                        "reports sealed before the clock), %zu reporter%s", BENCH_VERIFY_EVERY, c,
                        c == 1 ? "" : "s");
    }
    for (int r = 0; r < o->runs; r++)
        v[r] = runs[r].open_p50_ms;
    bench_sheet_add(s, "ack_p50_ms_at_1000_per_s", 2, s_med(v, o->runs),
                    "gridrelay: ack latency p50 ms, open loop at %.0f events/s", o->single.open_rate);
    for (int r = 0; r < o->runs; r++)
        v[r] = runs[r].open_p99_ms;
    bench_sheet_add(s, "ack_p99_ms_at_1000_per_s", 2, s_med(v, o->runs),
                    "gridrelay: ack latency p99 ms, open loop at %.0f events/s", o->single.open_rate);
    for (int r = 0; r < o->runs; r++)
        v[r] = s_mb(runs[r].rss_kb);
    bench_sheet_add(s, "node_peak_rss_mb", 1, s_med(v, o->runs), "gridrelay: node peak RSS, MiB (VmHWM)");
    for (int r = 0; r < o->runs; r++)
        v[r] = runs[r].disk.events ? (double)runs[r].disk.events : -1;
    bench_sheet_add(s, "node_events_stored", 0, s_med(v, o->runs), "gridrelay: events stored per run");
    for (int r = 0; r < o->runs; r++)
        v[r] = bench_ratio(runs[r].disk.file_bytes, (double)runs[r].disk.events);
    bench_sheet_add(s, "node_disk_bytes_per_event", 0, s_med(v, o->runs),
                    "gridrelay: disk bytes/event (data.mdb size / events stored)");
    for (int r = 0; r < o->runs; r++)
        v[r] = bench_ratio(runs[r].disk.used_bytes, (double)runs[r].disk.events);
    bench_sheet_add(s, "node_lmdb_used_bytes_per_event", 0, s_med(v, o->runs),
                    "gridrelay: LMDB pages in use x page size / events stored");
    for (int r = 0; r < o->runs; r++)
        v[r] = bench_ratio(runs[r].disk.high_bytes, (double)runs[r].disk.events);
    bench_sheet_add(s, "node_lmdb_highwater_bytes_per_event", 0, s_med(v, o->runs),
                    "gridrelay: LMDB (last page + 1) x page size / events stored");
}

/* The chain's medians; g receives them for the comparison with the
 * peers. */
static void s_sheet_chain(bench_sheet_t *s, const s_opts_t *o, const bench_chain_t *runs,
                          bench_grid_figures_t *g)
{
    char title[128];
    snprintf(title, sizeof title, "3-tier chain village -> township -> district [median of %d runs]",
             o->runs);
    bench_sheet_section(s, title);
    double v[BENCH_MAX_RUNS];
    for (int r = 0; r < o->runs; r++)
        v[r] = runs[r].events_per_s;
    g->chain_per_s = s_med(v, o->runs);
    g->chain_events = (size_t)o->events / 2;
    bench_sheet_add(s, "chain_events_per_s", 0, g->chain_per_s,
                    "chain: sustained events/s, village -> district stored");
    for (int r = 0; r < o->runs; r++)
        v[r] = runs[r].p50_ms;
    g->p50_ms = s_med(v, o->runs);
    bench_sheet_add(s, "chain_p50_ms_at_100_per_s", 2, g->p50_ms,
                    "chain: village-to-district latency p50 ms at 100 events/s");
    for (int r = 0; r < o->runs; r++)
        v[r] = runs[r].p99_ms;
    g->p99_ms = s_med(v, o->runs);
    bench_sheet_add(s, "chain_p99_ms_at_100_per_s", 2, g->p99_ms,
                    "chain: village-to-district latency p99 ms at 100 events/s");
    static const char *const names[3] = { "village", "township", "district" };
    for (int n = 0; n < 3; n++) {
        char key[64];
        for (int r = 0; r < o->runs; r++)
            v[r] = runs[r].probe_commits[n];
        snprintf(key, sizeof key, "chain_%s_commits_per_event_at_100_per_s", names[n]);
        bench_sheet_add(s, key, 2, s_med(v, o->runs),
                        "chain: %s node write commits per event at 100 events/s", names[n]);
        for (int r = 0; r < o->runs; r++)
            v[r] = runs[r].cpu_per_1k[n];
        snprintf(key, sizeof key, "chain_%s_cpu_s_per_1k", names[n]);
        bench_sheet_add(s, key, 3, s_med(v, o->runs),
                        "chain: %s node CPU s (user+sys) per 1,000 events", names[n]);
        for (int r = 0; r < o->runs; r++)
            v[r] = runs[r].commits_per_1k[n];
        snprintf(key, sizeof key, "chain_%s_commits_per_1k", names[n]);
        bench_sheet_add(s, key, 0, s_med(v, o->runs),
                        "chain: %s node write commits per 1,000 events", names[n]);
        for (int r = 0; r < o->runs; r++)
            v[r] = runs[r].wchar_per_event[n];
        snprintf(key, sizeof key, "chain_%s_written_bytes_per_event", names[n]);
        bench_sheet_add(s, key, 0, s_med(v, o->runs),
                        "chain: %s node bytes written (write/pwrite: LMDB pages) per event", names[n]);
        for (int r = 0; r < o->runs; r++)
            v[r] = runs[r].pages_per_commit[n];
        snprintf(key, sizeof key, "chain_%s_pages_per_commit", names[n]);
        bench_sheet_add(s, key, 1, s_med(v, o->runs),
                        "chain: %s node 4 KiB pages written per commit", names[n]);
        for (int r = 0; r < o->runs; r++)
            v[r] = runs[r].disk_per_event[n];
        snprintf(key, sizeof key, "chain_%s_disk_bytes_per_event", names[n]);
        bench_sheet_add(s, key, 0, s_med(v, o->runs),
                        "chain: %s node bytes to storage (/proc io write_bytes) per event", names[n]);
    }
    for (int r = 0; r < o->runs; r++)
        v[r] = runs[r].gen_cpu_per_1k;
    bench_sheet_add(s, "chain_generator_cpu_s_per_1k", 3, s_med(v, o->runs),
                    "chain: generator (32 reporters + polling) CPU s per 1,000 events");
    static const char *const links[2] = { "village_township", "township_district" };
    for (int n = 0; n < 2; n++) {
        char key[64];
        for (int r = 0; r < o->runs; r++)
            v[r] = runs[r].entries_per_frame[n];
        snprintf(key, sizeof key, "chain_%s_entries_per_frame", links[n]);
        bench_sheet_add(s, key, 2, s_med(v, o->runs), "chain: %s link, mean entries per batch frame",
                        links[n]);
        for (int r = 0; r < o->runs; r++)
            v[r] = runs[r].resent_per_1k[n];
        snprintf(key, sizeof key, "chain_%s_resent_per_1k", links[n]);
        bench_sheet_add(s, key, 1, s_med(v, o->runs), "chain: %s link, entries resent per 1,000 events",
                        links[n]);
    }
    for (int n = 0; n < 3; n++) {
        char key[64];
        for (int r = 0; r < o->runs; r++)
            v[r] = s_mb(runs[r].rss_kb[n]);
        snprintf(key, sizeof key, "chain_%s_peak_rss_mb", names[n]);
        g->rss_mb[n] = s_med(v, o->runs);
        bench_sheet_add(s, key, 1, g->rss_mb[n], "chain: %s node peak RSS, MiB (VmHWM)", names[n]);
    }
}

/* A count, or "not measured" when the run failed before counting. */
static double s_count(bool ok, uint64_t n)
{
    return ok ? (double)n : -1;
}

static void s_sheet_kill(bench_sheet_t *s, const s_opts_t *o, const bench_kill_t *k, bool ok)
{
    char title[192];
    snprintf(title, sizeof title, "chain kill run: %ld reports, window %d, township SIGKILLed at "
             "half acked, restarted on its store [one run]", o->kill_events, BENCH_KILL_WINDOW);
    bench_sheet_section(s, title);
    bench_sheet_add(s, "kill_acked", 0, s_count(ok, k->acked), "kill run: reports acknowledged by the village");
    bench_sheet_add(s, "kill_received", 0, s_count(ok, k->received),
                    "kill run: received at the district (distinct event ids)");
    bench_sheet_add(s, "kill_lost", 0, s_count(ok, k->lost),
                    "kill run: lost (acknowledged by the village, not at the district)");
    bench_sheet_add(s, "kill_duplicates", 0, ok ? (double)k->duplicates : -1,
                    "kill run: duplicates (district events_stored - distinct ids)");
    bench_sheet_add(s, "kill_district_events_stored", 0, s_count(ok, k->district_stored),
                    "kill run: district events_stored afterwards");
    bench_sheet_add(s, "kill_refused", 0, s_count(ok, k->refused), "kill run: Error replies from the village");
    bench_sheet_add(s, "kill_resent", 0, s_count(ok, k->resent),
                    "kill run: reports resent by the reporter (no answer within 2 s)");
    bench_sheet_add(s, "kill_killed_at", 0, s_count(ok, k->killed_at),
                    "kill run: acknowledged when the township was killed");
    bench_sheet_add(s, "kill_restart_s", 2, k->restart_s,
                    "kill run: SIGKILL sent -> township listening again, s");
    bench_sheet_add(s, "kill_send_s", 1, k->send_s, "kill run: first report -> last village ack, s");
    bench_sheet_add(s, "kill_total_s", 1, k->total_s, k->complete
                    ? "kill run: first report -> district holds every acknowledged one, s"
                    : "kill run: first report -> district's last progress (never held all), s");
}

static void s_sheet_dept(bench_sheet_t *s, const s_opts_t *o, const bench_dept_t *runs)
{
    char title[160];
    snprintf(title, sizeof title, "departments: one township, %zu departments connected "
             "[median of %d runs]", o->dept_opts.depts, o->runs);
    bench_sheet_section(s, title);
    double v[BENCH_MAX_RUNS], w[BENCH_MAX_RUNS];
    for (int r = 0; r < o->runs; r++)
        v[r] = runs[r].claim_p50_ms;
    bench_sheet_add(s, "dept_claim_p50_ms", 2, s_med(v, o->runs),
                    "dispatch-to-claim p50 ms (report acked -> claim acked, %.0f tasks/s)",
                    o->dept_opts.rate);
    for (int r = 0; r < o->runs; r++)
        v[r] = runs[r].claim_p99_ms;
    bench_sheet_add(s, "dept_claim_p99_ms", 2, s_med(v, o->runs),
                    "dispatch-to-claim p99 ms (report acked -> claim acked, %.0f tasks/s)",
                    o->dept_opts.rate);
    for (int r = 0; r < o->runs; r++) {
        v[r] = runs[r].dispatch_per_s;
        w[r] = runs[r].plain_per_s;
    }
    double routed = s_med(v, o->runs), plain = s_med(w, o->runs);
    bench_sheet_add(s, "dept_dispatch_per_s", 0, routed,
                    "reports/s dispatched durably to a department (16 reporters)");
    bench_sheet_add(s, "dept_plain_per_s", 0, plain,
                    "reports/s stored without a route, same node (16 reporters)");
    bench_sheet_add(s, "ratio_dispatch_over_plain", 2, bench_ratio(routed, plain),
                    "ratio: dispatched reports/s / unrouted reports/s (same node, same run)");
    for (int r = 0; r < o->runs; r++)
        v[r] = s_mb(runs[r].rss_kb);
    bench_sheet_add(s, "dept_township_peak_rss_mb", 1, s_med(v, o->runs),
                    "departments: township peak RSS, MiB (VmHWM)");
}

static void s_sheet_scale(bench_sheet_t *s, const bench_scale_opts_t *o, const bench_scale_t *sc)
{
    char title[160];
    snprintf(title, sizeof title, "scale: one district, %zu village links from one thread, "
             "burst of %zu escalations, window %zu [one run]", o->links, o->events, o->window);
    bench_sheet_section(s, title);
    bench_sheet_add(s, "scale_links", 0, (double)o->links, "scale: village links (CURVE DEALERs)");
    bench_sheet_add(s, "scale_events", 0, (double)o->events, "scale: escalations in the burst");
    bench_sheet_add(s, "scale_window", 0, (double)o->window, "scale: unacknowledged per link, at most");
    bench_sheet_add(s, "scale_frame_bytes", 0, (double)sc->frame_bytes,
                    "scale: Escalate frame size, bytes (mean)");
    bench_sheet_add(s, "scale_setup_s", 2, sc->keygen_s, "scale: making %zu village keys, s", o->links);
    bench_sheet_add(s, "scale_seal_s", 2, sc->seal_s,
                    "scale: sealing the burst before the clock (2 signatures each: report, hop), s");
    bench_sheet_add(s, "scale_connect_s", 2, sc->connect_s,
                    "scale: until every link heard the district, s");
    bench_sheet_add(s, "scale_drain_s", 2, sc->drain_s, "scale: drain time, first send to last ack, s");
    bench_sheet_add(s, "scale_events_per_s", 0, sc->events_per_s, "scale: escalations/s (acked / drain time)");
    bench_sheet_add(s, "scale_acked", 0, (double)sc->acked, "scale: escalations acknowledged");
    bench_sheet_add(s, "scale_stored", 0, (double)sc->stored, "scale: district events_stored afterwards");
    bench_sheet_add(s, "scale_resent", 0, (double)sc->resent, "scale: frames resent by the links (no ack in time)");
    bench_sheet_add(s, "scale_entries_per_batch", 1,
                    bench_ratio((double)sc->batched, (double)sc->batches),
                    "scale: entries per batch frame (mean)");
    uint64_t copies = sc->acked + sc->resent;
    bench_sheet_add(s, "scale_entries_unbatched", 0,
                    copies > sc->batched ? (double)(copies - sc->batched) : 0,
                    "scale: entries sent signed one by one (not in a batch frame)");
    bench_sheet_add(s, "scale_links_v1", 0, (double)sc->links_v1,
                    "scale: links that ended at link protocol 1 (the district answered as 1)");
    bench_sheet_add(s, "scale_errors", 0, (double)sc->refused, "scale: Error replies to the villages");
    bench_sheet_add(s, "scale_ack_p50_ms", 1, sc->ack_p50_ms, "scale: taken into a window -> acked, p50 ms");
    bench_sheet_add(s, "scale_ack_p99_ms", 1, sc->ack_p99_ms, "scale: taken into a window -> acked, p99 ms");
    bench_sheet_add(s, "scale_district_peak_rss_mb", 1, s_mb(sc->rss_kb),
                    "scale: district peak RSS, MiB (VmHWM)");
    bench_sheet_add(s, "scale_district_peak_anon_mb", 1, s_mb(sc->anon_kb),
                    "scale: district RssAnon at most, MiB (its own memory, without the store's map)");
    bench_sheet_add(s, "scale_gridbench_peak_rss_mb", 1, s_mb(sc->sim_rss_kb),
                    "scale: gridbench's own peak RSS so far, MiB (holds the simulator)");
    bench_sheet_add(s, "scale_district_disk_bytes_per_event", 0,
                    bench_ratio(sc->disk.file_bytes, (double)sc->disk.events),
                    "scale: district disk bytes/event (data.mdb size / events stored)");
    bench_sheet_add(s, "scale_district_lmdb_used_bytes_per_event", 0,
                    bench_ratio(sc->disk.used_bytes, (double)sc->disk.events),
                    "scale: district LMDB pages in use x page size / events stored");
}

int main(int argc, char **argv)
{
    s_opts_t o;
    int rc = s_parse(argc, argv, &o);
    if (rc != 0)
        return rc == 3 ? 0 : rc;
    double t_start = bench_now();
    bench_default_daemon();
    /* Before minutes of measuring: --peers without gridpeerbench would
     * only fail at the end. */
    char peer_path[4200] = "";
    if (o.peers && bench_peers_find(peer_path, sizeof peer_path) != 0)
        return 1;
    if (sodium_init() < 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    int status = 0;

    printf("gridbench: raw ceilings...\n");
    bench_raw_t raw;
    if (bench_raw_run(&raw, bench_report_envelope_size()) != 0) {
        fprintf(stderr, "gridbench: a raw measurement failed\n");
        status = 1;
    }
    static bench_single_t single[BENCH_MAX_RUNS];
    for (int r = 0; r < o.runs; r++) {
        printf("gridbench: single node run %d/%d...\n", r + 1, o.runs);
        if (bench_single_run(&o.single, &single[r]) != 0)
            status = 1;
    }
    bench_chain_t chain[BENCH_MAX_RUNS];
    for (int r = 0; o.chain && r < o.runs; r++) {
        printf("gridbench: 3-tier chain run %d/%d...\n", r + 1, o.runs);
        if (bench_chain_run((size_t)o.events / 2, (size_t)o.chain_probes, &chain[r]) != 0)
            status = 1;
    }
    bench_kill_t kill;
    bool kill_ok = false;
    if (o.kill) {
        printf("gridbench: chain kill run: %ld reports, the township killed at half...\n",
               o.kill_events);
        kill_ok = bench_kill_run((size_t)o.kill_events, BENCH_KILL_WINDOW, &kill) == 0;
        if (!kill_ok)
            status = 1;
    }
    bench_dept_t dept[BENCH_MAX_RUNS];
    for (int r = 0; o.dept && r < o.runs; r++) {
        printf("gridbench: departments run %d/%d: %zu departments...\n", r + 1, o.runs,
               o.dept_opts.depts);
        if (bench_dept_run(&o.dept_opts, &dept[r]) != 0)
            status = 1;
    }
    bench_scale_t scale;
    if (o.scale) {
        printf("gridbench: scale run: %zu village links, %zu escalations...\n", o.scale_opts.links,
               o.scale_opts.events);
        if (bench_scale_run(&o.scale_opts, &scale) != 0)
            status = 1;
    }

    /* Last, so that the brokers (RabbitMQ's VM above all) are not
     * running while gridrelay is measured. */
    bench_peers_t peers;
    if (o.peers) {
        printf("gridbench: gridpeerbench: %ld messages, %d runs...\n", o.kill_events, o.runs);
        if (bench_peers_run(peer_path, (size_t)o.kill_events, BENCH_KILL_WINDOW, o.runs, &peers) != 0)
            status = 1;
    }

    static bench_sheet_t sheet;
    double rate[BENCH_MAX_LEVELS];
    bench_grid_figures_t grid = { -1, (size_t)o.events / 2, -1, -1, { -1, -1, -1 },
                                  o.kill ? &kill : NULL };
    s_sheet_raw(&sheet, &raw);
    s_sheet_single(&sheet, &o, single, rate);
    if (o.chain)
        s_sheet_chain(&sheet, &o, chain, &grid);
    if (o.kill)
        s_sheet_kill(&sheet, &o, &kill, kill_ok);
    if (!kill_ok)
        grid.kill = NULL;
    if (o.dept)
        s_sheet_dept(&sheet, &o, dept);
    if (o.scale)
        s_sheet_scale(&sheet, &o.scale_opts, &scale);

    if (o.peers)
        bench_peers_sheet(&sheet, &peers, &grid);

    /* Ratios against the first and the busiest levels. */
    bench_sheet_section(&sheet, "ratios (A / B, both named)");
    size_t lo = 0, hi = 0;
    for (size_t i = 0; i < o.single.n_levels; i++) {
        if (o.single.levels[i] < o.single.levels[lo])
            lo = i;
        if (o.single.levels[i] > o.single.levels[hi])
            hi = i;
    }
    size_t c_lo = o.single.levels[lo], c_hi = o.single.levels[hi];
    bench_sheet_add(&sheet, "ratio_events_max_clients_over_commits", 2, bench_ratio(rate[hi], raw.commits_per_s),
                    "ratio: node events/s (%zu %s) / raw LMDB durable commits/s", c_hi, s_who(c_hi));
    if (lo != hi)
        bench_sheet_add(&sheet, "ratio_events_min_clients_over_commits", 2,
                        bench_ratio(rate[lo], raw.commits_per_s),
                        "ratio: node events/s (%zu reporter%s) / raw LMDB durable commits/s", c_lo,
                        c_lo == 1 ? "" : "s");
    bench_sheet_add(&sheet, "ratio_events_max_clients_over_batched_puts", 4,
                    bench_ratio(rate[hi], raw.batched_puts_per_s),
                    "ratio: node events/s (%zu %s) / raw LMDB batched puts/s", c_hi, s_who(c_hi));
    double open_p99[BENCH_MAX_RUNS];
    for (int r = 0; r < o.runs; r++)
        open_p99[r] = single[r].open_p99_ms;
    bench_sheet_add(&sheet, "ratio_open_p99_over_paced_commit_p99", 1,
                    bench_ratio(s_med(open_p99, o.runs), raw.paced_commit_p99_ms),
                    "ratio: node ack p99 ms, open loop at %.0f/s / raw LMDB commits at that "
                    "pace, p99 ms", o.single.open_rate);
    bench_sheet_add(&sheet, "ratio_events_max_clients_over_verifies", 2, bench_ratio(rate[hi], raw.verifies_per_s),
                    "ratio: node events/s (%zu %s) / raw Ed25519 verifies/s", c_hi, s_who(c_hi));
    bench_sheet_add(&sheet, "ratio_events_max_clients_over_signs", 2, bench_ratio(rate[hi], raw.signs_per_s),
                    "ratio: node events/s (%zu %s) / raw Ed25519 signs/s", c_hi, s_who(c_hi));
    bench_sheet_add(&sheet, "ratio_events_max_clients_over_zmq_curve", 3,
                    bench_ratio(rate[hi], raw.zmq_curve_msgs_per_s),
                    "ratio: node events/s (%zu %s) / raw ZeroMQ CURVE msgs/s one way", c_hi, s_who(c_hi));
    if (o.chain) {
        bench_sheet_add(&sheet, "ratio_chain_over_single_node", 2, bench_ratio(grid.chain_per_s, rate[hi]),
                        "ratio: chain events/s / node events/s (%zu %s)", c_hi, s_who(c_hi));
        /* An event at 100/s waits for the district's durable commit; the
         * village's and the township's run while the tier above works on
         * it (PROTOCOL.md 8.5), and their tails still show. */
        bench_sheet_add(&sheet, "ratio_chain_p99_over_commit_p99", 1,
                        bench_ratio(grid.p99_ms, raw.commit_p99_ms),
                        "ratio: chain p99 ms at 100/s / raw LMDB durable commit p99 ms");
    }
    if (o.scale) {
        bench_sheet_add(&sheet, "ratio_scale_over_single_node", 2, bench_ratio(scale.events_per_s, rate[hi]),
                        "ratio: scale escalations/s / node events/s (%zu %s)", c_hi, s_who(c_hi));
        bench_sheet_add(&sheet, "ratio_scale_verifies_over_raw_verifies", 2,
                        bench_ratio(scale.events_per_s, raw.verifies_per_s),
                        "ratio: scale escalations/s x 1 verify each (the reporter's; a batch "
                        "frame's two are shared by its items) / raw Ed25519 verifies/s");
    }
    double total_s = bench_now() - t_start;
    bench_sheet_add(&sheet, "total_run_s", 1, total_s, "gridbench: total run time, s");

    bench_sheet_print(&sheet, stdout);
    if (bench_sheet_write_json(&sheet, o.json_path, o.runs, o.events) != 0) {
        fprintf(stderr, "gridbench: cannot write %s\n", o.json_path);
        status = 1;
    }
    printf("\nJSON: %s\n", o.json_path);
    return status;
}
