/* gridbench internals: what the benchmark's parts share.
 *
 * bench.c          options, the order of the measurements, the result sheet
 * bench_util.c     clock, statistics, the sheet (table + JSON), a node's
 *                  peak RSS and its store's size
 * bench_raw.c      raw ceilings: libsodium, LMDB, ZeroMQ, no gridrelay code
 * bench_node.c     real gridrelayd processes: one node under 1..64
 *                  reporters, the 3-tier chain, the chain kill run
 * bench_scale.c    one district under 1,000 simulated villages
 * bench_dept.c     a township with its departments
 * bench_calls.c    the requests several benchmarks make (a report, the
 *                  event listing), where the daemon is, how an option
 *                  loop exits (also linked into gridrankbench and
 *                  gridrecoverybench)
 * bench_peers.c  --peers: runs gridpeerbench (the same chain on
 *                  mosquitto, RabbitMQ and NATS) and sets its figures beside
 *                  gridrelay's
 *
 * Thread safety: the sheet and the node helpers are for the main thread;
 * the workers each measurement starts own their own sockets.
 */
#ifndef GR_BENCH_H
#define GR_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "client.h"
#include "harness.h"

#define BENCH_MAX_RUNS 9
#define BENCH_MAX_LEVELS 8
#define BENCH_MAX_CLIENTS HARNESS_MAX_REPORTERS

/* ---- clock and statistics (bench_util.c) ---- */

/* Monotonic seconds. */
double bench_now(void);

/* Median of v[0..n) (sorts v in place); 0 when n is 0. */
double bench_median(double *v, size_t n);

/* The p-quantile (0..1, nearest rank) of sorted[0..n); 0 when n is 0. */
double bench_percentile(const double *sorted, size_t n, double p);

/* Sorts v[0..n) ascending. */
void bench_sort(double *v, size_t n);

/* a / b, or -1 (the sheet's "not measured") when a is unknown (negative)
 * or b is not positive. */
double bench_ratio(double a, double b);

/* ---- the result sheet: one list of figures for the table and the JSON ---- */

#define BENCH_SHEET_MAX 224
#define BENCH_LABEL_MAX 112
#define BENCH_NOTE_MAX 512

typedef struct {
    char key[64];               /* JSON name; "" for a section heading */
    char label[BENCH_LABEL_MAX];
    double value;
    int decimals;
    bool missing;               /* not measured (skipped or failed): "-" and JSON null */
    char note[BENCH_NOTE_MAX];  /* a text figure instead of a number when not "" */
} bench_row_t;

typedef struct {
    bench_row_t rows[BENCH_SHEET_MAX];
    size_t count;
} bench_sheet_t;

/* Adds a section heading to the table (not to the JSON). */
void bench_sheet_section(bench_sheet_t *sheet, const char *title);

/* Adds one figure; label is printf-style. A negative value means "not
 * measured". Rows beyond BENCH_SHEET_MAX are dropped (with a warning). */
void bench_sheet_add(bench_sheet_t *sheet, const char *key, int decimals, double value,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Adds a text figure (e.g. what a system acknowledges when): printed
 * wrapped under its label, a JSON string under key. text is copied
 * (truncated to BENCH_NOTE_MAX - 1 bytes). */
void bench_sheet_note(bench_sheet_t *sheet, const char *key, const char *label, const char *text);

/* The table on out. */
void bench_sheet_print(const bench_sheet_t *sheet, FILE *out);

/* Writes every figure as one JSON object (key: value, null when not
 * measured; "labels": key: label) with runs and events_per_run. Returns 0
 * or -1. */
int bench_sheet_write_json(const bench_sheet_t *sheet, const char *path, int runs, long events);

/* ---- a node's resources (bench_util.c) ---- */

/* Peak resident set (VmHWM, kB) of a running process; -1 when unreadable. */
long bench_peak_rss_kb(pid_t pid);
/* A kB field of a running process's /proc status ("RssAnon", "VmRSS"...),
 * named without its colon; -1 when unreadable. */
long bench_status_kb(pid_t pid, const char *field);

typedef struct {
    uint64_t events;            /* events the node stored (its events_stored) */
    double file_bytes;          /* size of data.mdb */
    double used_bytes;          /* pages in use by every database x page size */
    double high_bytes;          /* (last page number + 1) x page size */
} bench_disk_t;

/* Measures the LMDB store in store_dir of a node that has stopped: the
 * data file's size and, from a read-only open, the pages in use (branch,
 * leaf and overflow pages of the main and every named database) and the
 * high-water page. Returns 0 or -1. */
int bench_store_usage(const char *store_dir, uint64_t events, bench_disk_t *out);

/* The node's persistent events_stored counter (GetStats); 0 on failure. */
uint64_t bench_events_stored(gr_client_t *client);

/* The GetStats counter called name (e.g. "batches": write transactions
 * committed); 0 on failure or when the node has none of that name. */
uint64_t bench_counter(gr_client_t *client, const char *name);

/* A link's counters as GetLinks shows them (LinkInfo). */
typedef struct {
    uint64_t sent;              /* outbox entries sent, first copies */
    uint64_t resent;
    uint64_t batches;           /* batch frames sent (link protocol 2) */
    uint64_t batched;           /* entries sent in them, copies included */
} bench_link_counts_t;

/* The counters of the node's link with role ("parent", "skip", "child":
 * the first of that role). Returns 0, or -1 (no answer, no such link). */
int bench_link_counts(gr_client_t *client, const char *role, bench_link_counts_t *out);

/* ---- requests to a node, the daemon, the options (bench_calls.c) ---- */

/* Makes body a Report of event (initialises body and report); the body
 * points into both, which must outlive it. */
void bench_report_wrap(Gridrelay__Body *body, Gridrelay__Report *report, Gridrelay__Event *event);

/* Sends event as a Report through client (timeout_ms per try, tries
 * tries). Returns 1 when the node acknowledged it, 0 when it answered
 * otherwise, -1 when the call failed (no answer). */
int bench_report_call(gr_client_t *client, Gridrelay__Event *event, int timeout_ms, int tries);

/* Every event id the node holds, through ListEvents pages of 1,000 as an
 * operator would list them: on_id(arg, id) for each, in the node's order;
 * a non-zero return stops the listing. 0, or -1 when a call failed, a
 * page was not one or on_id refused. */
int bench_list_events(gr_client_t *client, int (*on_id)(void *arg, const char *id), void *arg);

/* Sets GRIDRELAYD to the daemon beside this program
 * (<dir>/../node/gridrelayd) unless it is set already, so that a build
 * tree's benchmarks find its node. */
void bench_default_daemon(void);

/* How a benchmark's option loop ends on --help or a bad option: usage(f)
 * on stdout and 0 for help, on stderr and 2 (a usage error) otherwise.
 * Returns what main() returns. */
int bench_usage_exit(void (*usage)(FILE *out), bool help);

/* ---- raw ceilings (bench_raw.c) ---- */

typedef struct {
    double verifies_per_s;      /* Ed25519 verifies/s, one core */
    double signs_per_s;         /* Ed25519 signs/s, one core */
    double commits_per_s;       /* LMDB: one put + one durable commit */
    double commit_p50_ms;       /* the same: begin to durable, per commit */
    double commit_p99_ms;
    double batched_puts_per_s;  /* LMDB: batch_puts puts per durable commit */
    /* LMDB: one-put durable commits offered at paced_rate/s for paced_s s,
     * latency from when each was due (the open loop's floor). */
    double paced_rate, paced_s;
    double paced_commit_p99_ms;
    double paced_commit_max_ms;
    size_t paced_commits_over_5ms;
    size_t batch_puts;
    size_t msg_bytes;           /* ZeroMQ message size (a Report envelope) */
    double zmq_msgs_per_s;      /* DEALER -> ROUTER, tcp loopback, plain */
    double zmq_rtt_per_s;       /* DEALER <-> ROUTER round trips/s, plain */
    double zmq_curve_msgs_per_s;
    double zmq_curve_rtt_per_s;
} bench_raw_t;

/* Runs every raw measurement; a failed one is left at -1. Returns 0 when
 * all succeeded, -1 otherwise. */
int bench_raw_run(bench_raw_t *out, size_t msg_bytes);

/* ---- gridrelay: one node, the chain (bench_node.c) ---- */

/* Size of a sealed benchmark Report envelope, as a client sends it. */
size_t bench_report_envelope_size(void);

/* Fills a Report body for category; id receives a fresh ULID. The body
 * points into the other arguments, which must outlive it. */
void bench_report_body(Gridrelay__Body *body, Gridrelay__Report *report, Gridrelay__Event *event,
                       Gridrelay__Location *loc, char *id, const char *category);

typedef struct {
    size_t clients;
    double events_per_s;
    double p50_ms, p99_ms, p999_ms;     /* ack latency, closed loop */
    size_t events;                      /* acknowledged */
    /* CPU seconds (user + system) over the level: the generator (this
     * process: the reporters' threads) and the node (/proc/PID/stat), so
     * a reader sees whose cost the figure is. */
    double gen_cpu_s, node_cpu_s;
    double verified_share;              /* replies whose signature was checked */
    /* The node's write transactions committed over the level ("batches")
     * and the bytes it wrote (/proc/PID/io wchar): pages
     * per commit and commits per event; -1 when not read. */
    double commits, write_bytes;
    double node_main_cpu_s;             /* the node's main thread alone */
} bench_level_t;

/* Reporters check the Ed25519 signature of one reply in this many (every
 * reply's receipt path is checked): the generator must not be what limits
 * the node it measures. */
#define BENCH_VERIFY_EVERY 16

/* The protocol version the single node's reporters speak (--v1: 1). */
extern uint32_t bench_client_version;

/* CPU seconds (user + system) of process pid so far, from /proc/PID/stat;
 * -1 when unreadable. */
double bench_proc_cpu_s(pid_t pid);

/* CPU seconds (user + system) of process pid's main thread so far (its
 * task pid): gridrelayd's serial part, which bounds its events/s; -1 when
 * unreadable. */
double bench_main_thread_cpu_s(pid_t pid);

/* CPU seconds (user + system) of this process so far. */
double bench_self_cpu_s(void);

/* Bytes process pid handed to write/pwrite so far (wchar: for a node,
 * LMDB's page writes plus a few log lines and wake-ups; not its socket
 * sends), and bytes it caused to be written to storage (write_bytes), from
 * /proc/PID/io. Returns 0, or -1 when unreadable (fields then -1). */
int bench_proc_io(pid_t pid, double *wchar, double *write_bytes);
/* Bytes process pid passed to write system calls so far (wchar of
 * /proc/PID/io): for gridrelayd, LMDB's page writes (whole 4 KiB pages and
 * the meta page) and its few log lines; ZeroMQ's socket sends are not
 * counted (send(2) is not a write). write_bytes is not used: this
 * machine's ext4 counts there several times what was written. -1 when
 * unreadable. */
double bench_proc_write_bytes(pid_t pid);

typedef struct {
    size_t levels[BENCH_MAX_LEVELS];    /* concurrent reporters per level */
    size_t n_levels;
    size_t events;                      /* per level */
    double level_max_s;                 /* a level stops sending after this */
    double open_rate;                   /* open-loop latency probe, events/s */
    double open_s;                      /* ... for this long */
} bench_single_opts_t;

typedef struct {
    bench_level_t level[BENCH_MAX_LEVELS];
    double open_p50_ms, open_p99_ms;
    long rss_kb;
    bench_disk_t disk;
} bench_single_t;

/* One run on a fresh node: each level in turn, then the open-loop probe,
 * then the node's peak RSS and store size. Returns 0, -1 when the node
 * could not start (figures that failed are -1). */
int bench_single_run(const bench_single_opts_t *opts, bench_single_t *out);

typedef struct {
    double events_per_s;        /* sustained, village -> district stored */
    double p50_ms, p99_ms;      /* village report to district holding it, 100/s */
    double probe_commits[3];    /* each node's commits per probe event (100/s) */
    long rss_kb[3];             /* village, township, district */
    /* Over the throughput part, per 1,000 events the district stored:
     * each node's CPU seconds (user + system, /proc/PID/stat), its write
     * transactions committed (the "batches" counter), and the generator's
     * own CPU seconds (this process: the 32 reporters and the district's
     * GetStats polling). */
    double cpu_per_1k[3];
    double commits_per_1k[3];
    double gen_cpu_per_1k;
    /* Mean outbox entries per batch frame on the village -> township and
     * township -> district links (their parent links' batched / batches),
     * and the entries resent per 1,000 events on each. */
    double entries_per_frame[2];
    double resent_per_1k[2];
    /* Per event: bytes each node wrote with write/pwrite (LMDB's dirty
     * pages, 4 KiB each) and to storage; and 4 KiB pages per commit. */
    double wchar_per_event[3];
    double disk_per_event[3];
    double pages_per_commit[3];
} bench_chain_t;

/* One run of the 3-tier chain with `events` reports at the village, then
 * `probes` reports at 100/s timed to the district. */
int bench_chain_run(size_t events, size_t probes, bench_chain_t *out);

/* The kill run's reporter keeps this many reports unacknowledged, as
 * gridpeerbench's publisher does by default (--window 32). */
#define BENCH_KILL_WINDOW 32

typedef struct {
    uint64_t sent;              /* reports sent (each once, resends not counted) */
    uint64_t acked;             /* Acks from the village */
    uint64_t refused;           /* Error replies from the village */
    uint64_t resent;            /* resends by the reporter (no answer within 2 s) */
    uint64_t killed_at;         /* acknowledged when the township was killed */
    uint64_t received;          /* distinct ids of ours the district holds */
    uint64_t lost;              /* acknowledged, not held by the district */
    int64_t duplicates;         /* stored twice at the district; -1 unknown */
    uint64_t district_stored;   /* the district's events_stored afterwards */
    uint64_t listed;            /* rows of the district's ListEvents pages */
    bool complete;              /* the district held every acknowledged one in time */
    double restart_s;           /* SIGKILL sent -> the township listening again */
    double send_s;              /* first report -> last village answer */
    double total_s;             /* first report -> the district held them all
                                 * (or its last progress, when it never did) */
} bench_kill_t;

/* The kill run on a fresh 3-tier chain: one village reporter sends
 * `events` district-matter reports, at most `window` unacknowledged; once
 * events/2 are acknowledged the township is SIGKILLed and restarted at
 * once on its store. Then waits until the district holds every
 * acknowledged report or made no progress for 10 s, lists the district's
 * events and counts what was lost and duplicated. Returns 0, or -1 when
 * the chain could not be started or driven (figures not reached stay 0
 * or -1). */
int bench_kill_run(size_t events, size_t window, bench_kill_t *out);

/* ---- the scale test (bench_scale.c) ---- */

typedef struct {
    size_t links;               /* villages, one CURVE DEALER each */
    size_t events;              /* escalations in the burst */
    size_t window;              /* unacknowledged per link */
    double max_s;               /* give up draining after this */
} bench_scale_opts_t;

typedef struct {
    double keygen_s;            /* making the village keys and the config */
    double seal_s;              /* signing every frame before the burst */
    double connect_s;           /* until every link had heard the district */
    double drain_s;             /* first send to last ack */
    double events_per_s;        /* acked / drain_s */
    uint64_t acked;
    uint64_t stored;            /* the district's events_stored afterwards */
    uint64_t resent;            /* frames the links sent again */
    uint64_t batches;           /* batch frames the links sent (linkbatch.h) */
    uint64_t batched;           /* entries sent in them */
    size_t links_v1;            /* links that ended speaking link protocol 1 */
    uint64_t refused;           /* Error replies to escalations */
    double ack_p50_ms, ack_p99_ms;  /* first transmission to ack, per escalation */
    size_t frame_bytes;         /* mean Escalate frame size */
    long rss_kb;                /* the district's peak RSS */
    long anon_kb;               /* the district's largest RssAnon seen during
                                 * the burst (sampled every 100 ms): its own
                                 * memory, without the store's mapped pages */
    long sim_rss_kb;            /* this process's peak RSS (the simulator) */
    bench_disk_t disk;
} bench_scale_t;

/* Starts a district with opts->links children, drives the burst, stops it.
 * Returns 0, or -1 (figures not reached are -1 or 0). */
int bench_scale_run(const bench_scale_opts_t *opts, bench_scale_t *out);

/* ---- departments (bench_dept.c) ---- */

typedef struct {
    size_t depts;               /* departments connected (one thread each) */
    size_t tasks;               /* light-load tasks for the latency */
    double rate;                /* ... reported at this rate, per second */
    size_t throughput_events;   /* closed-loop reports, routed and not */
} bench_dept_opts_t;

typedef struct {
    double claim_p50_ms, claim_p99_ms;  /* reporter's ack -> claim acked */
    size_t claimed;
    double dispatch_per_s;      /* reports/s to a routed category (stored + dispatched) */
    double plain_per_s;         /* reports/s to an unrouted one, same node, same run */
    long rss_kb;                /* the township's peak RSS */
} bench_dept_t;

/* One township with opts->depts departments: dispatch-to-claim latency at
 * a light load, then dispatch throughput against plain intake. Returns 0,
 * -1 when something could not be measured (those figures are -1). */
int bench_dept_run(const bench_dept_opts_t *opts, bench_dept_t *out);

/* ---- the same chain on stock brokers (bench_peers.c) ---- */

/* mosquitto, rabbitmq, nats (JetStream's default fsync), nats_always
 * (sync_interval: always). */
#define BENCH_PEERS 4

typedef struct {
    char name[16];              /* "mosquitto", "rabbitmq", "nats", "nats_always" */
    bool measured;              /* false: error says why */
    bool skipped;               /* cannot be measured with what is installed */
    char version[48];
    char error[256];
    char durability[BENCH_NOTE_MAX];
    double msgs_per_s;          /* end-to-end A -> C, median of its runs */
    double p50_ms, p99_ms;      /* at its fixed rate, medians */
    double kill_acked, kill_received, kill_lost, kill_dups;
    double rss_mb[3];           /* peak RSS of A, B, C */
} bench_peer_t;

typedef struct {
    bench_peer_t sys[BENCH_PEERS]; /* in the order of BENCH_PEERS */
    size_t messages;            /* per throughput and kill run */
    size_t size;                /* payload bytes */
    size_t window;              /* unacknowledged at A, at most */
    int runs;
    double rate;                /* the latency phase, msgs/s */
    double seconds;             /* gridpeerbench's wall time */
} bench_peers_t;

/* gridrelay's own figures that the comparison sets beside the peers'
 * (-1 when not measured). */
typedef struct {
    double chain_per_s;         /* chain throughput, median */
    size_t chain_events;        /* reports per chain throughput run */
    double p50_ms, p99_ms;      /* chain latency at 100/s, medians */
    double rss_mb[3];           /* village, township, district, medians */
    const bench_kill_t *kill;   /* NULL when the kill run was skipped */
} bench_grid_figures_t;

/* Finds gridpeerbench in this program's directory; path receives it.
 * Returns 0, or -1 with the reason (and what to do) on stderr. */
int bench_peers_find(char *path, size_t cap);

/* Runs gridpeerbench (its progress goes to our stdout) with `messages`
 * per run, `runs` runs, at most `window` unacknowledged and --json into a
 * temp file, then reads that file into out. Returns 0 when every system
 * was measured or skipped (cannot be measured with what is installed),
 * -1 otherwise (out says which were; the reasons are on stderr). */
int bench_peers_run(const char *binary, size_t messages, size_t window, int runs, bench_peers_t *out);

/* Adds the comparison section: throughput, the ratios, latency, the kill
 * runs, peak RSS and each system's durability, gridrelay first. */
void bench_peers_sheet(bench_sheet_t *sheet, const bench_peers_t *peers,
                       const bench_grid_figures_t *grid);

#endif
