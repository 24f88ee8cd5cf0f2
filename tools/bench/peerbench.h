/* peerbench.h: what gridpeerbench's driver (peerbench.c) shares with its
 * broker chains (peerbench_mqtt.c, peerbench_amqp.c, peerbench_nats.c).
 *
 * A chain is three brokers A -> B -> C on loopback, a publisher on A and a
 * subscriber on C, each broker a child process with its own temp dir. The
 * driver knows nothing about MQTT, AMQP or NATS: it calls a pb_system_t's
 * functions and reads a pb_tracker_t that the chain feeds with acks (from
 * the publisher) and receipts (from the subscriber).
 *
 * Threads: the tracker may be fed from the client libraries' threads; the
 * pb_system_t functions are called from the main thread only.
 */
#ifndef GR_PEERBENCH_H
#define GR_PEERBENCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Every payload starts with this header (little-endian on this host:
 * publisher and subscriber are the same process): magic, kind, phase,
 * sequence number, send time (CLOCK_MONOTONIC ns). The rest is padding. */
#define PB_HEADER_SIZE 32
#define PB_MAGIC 0x42505247u /* "GRPB" */
#define PB_KIND_DATA 1u
#define PB_KIND_WARM 2u
/* The seq of a warm-up message: it has no slot in the tracker. */
#define PB_SEQ_NONE UINT64_MAX

/* ---- tracker: what was acknowledged, what arrived, how late ---- */

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t phase;     /* messages of other phases are ignored */
    size_t n;           /* data messages in this phase */
    uint8_t *acked;     /* [n] 1 once the edge broker acknowledged it */
    uint16_t *count;    /* [n] receipts at the subscriber (saturates) */
    double *lat_ms;     /* [n] publish-to-receipt of each first receipt */
    size_t n_acked, n_nacked, n_unique, n_received, n_lat;
    double t_first_send, t_last_receipt;
    bool warm_seen;
} pb_tracker_t;

/* Sets up an empty tracker. Returns 0, or -1 if out of memory. */
int pb_tracker_init(pb_tracker_t *t, size_t capacity);
void pb_tracker_destroy(pb_tracker_t *t);
/* Starts a new phase of n (<= capacity) messages: forgets everything
 * recorded so far. Returns the phase id for pb_payload_fill(). */
uint64_t pb_track_phase(pb_tracker_t *t, size_t n);
/* The edge broker acknowledged (or refused, nack) message seq. */
void pb_track_acked(pb_tracker_t *t, uint64_t seq);
void pb_track_nacked(pb_tracker_t *t, uint64_t seq);
/* The subscriber received this payload. Any bytes are accepted: what is
 * not one of ours, or of another phase, is ignored. */
void pb_track_received(pb_tracker_t *t, const void *payload, size_t len);
/* Waits up to timeout_ms for the tracker to change. */
void pb_track_wait(pb_tracker_t *t, int timeout_ms);
/* Writes a header and padding into buf[size] (size >= PB_HEADER_SIZE). */
void pb_payload_fill(void *buf, size_t size, uint64_t phase, uint64_t seq, uint32_t kind);

/* ---- processes: every child is registered, so that a Ctrl-C or any
 * exit path kills it, and each dies with us (PR_SET_PDEATHSIG) ---- */

typedef struct {
    pid_t pid;
    int stdin_fd;  /* write end of the child's stdin, or -1 */
    int status;    /* once reaped: exit code, or 128 + signal */
    char log[512];
} pb_proc_t;

/* Starts argv[0] (a path) with env_extra ("K=V", NULL-terminated, may be
 * NULL) added to our environment, stdout and stderr appended to log_path,
 * in its own process group. With hold_stdin, stdin is a pipe we keep open
 * (an Erlang VM with input allowed halts when it sees EOF: if we die, it
 * dies). Returns 0, or -1 with errno. */
int pb_spawn(pb_proc_t *p, char *const argv[], char *const env_extra[], const char *log_path,
             bool hold_stdin);
/* True while the child runs (reaps it if it exited). */
bool pb_proc_alive(pb_proc_t *p);
/* Sends sig, waits up to timeout_ms for it to exit, then SIGKILLs and
 * reaps. Accepts a process that is not running. */
void pb_proc_stop(pb_proc_t *p, int sig, int timeout_ms);
/* Runs argv to completion within timeout_ms (killed after that), stdout
 * and stderr into out[cap] (may be NULL). Returns the exit status, 124 on
 * timeout, -1 if it could not be started. */
int pb_run(char *const argv[], char *const env_extra[], int timeout_ms, char *out, size_t cap);
/* Prints the last lines of a log to stderr, to explain a failure. */
void pb_log_tail(const char *path);

/* Installs the SIGINT/SIGTERM/SIGHUP handler (kills every child),
 * ignores SIGPIPE and makes us the subreaper of our descendants. 0 or -1. */
int pb_signals_install(void);
/* Kills and reaps every registered child, then every other process
 * reparented to us, and reaps the zombies: the last step before exit. */
void pb_kill_all(void);

/* ---- small helpers ---- */

double pb_now(void);                 /* CLOCK_MONOTONIC seconds */
bool pb_stopping(void);              /* SIGINT/SIGTERM/SIGHUP received */
int pb_free_port(void);              /* a free TCP port on 127.0.0.1, or -1 */
bool pb_port_open(int port);         /* something accepts on 127.0.0.1:port */
long pb_peak_rss_kib(pid_t pid);     /* VmHWM, or -1 */
/* Waits until p accepts on 127.0.0.1:port, polling every poll_ms, until
 * deadline (pb_now() seconds). Returns 0, or -1 when p died, the deadline
 * passed or we are stopping (then p's log tail is printed, unless
 * stopping). */
int pb_wait_port(pb_proc_t *p, int port, double deadline, int poll_ms);
/* Creates /tmp/gridpeerbench-<name>-XXXXXX into out. 0 or -1. */
int pb_tempdir(char *out, size_t cap, const char *name);
/* Removes a tree (unless GR_KEEP_TEST_DIRS is set). */
void pb_remove_tree(const char *path);
/* Finds an executable: $env_name if set, else name in PATH (unless name
 * is NULL), else the fallbacks. Returns a static buffer, or NULL. */
const char *pb_find_program(const char *env_name, const char *name, const char *const *fallbacks);
/* Writes text to path. 0 or -1. */
int pb_write_file(const char *path, const char *text, int mode);

/* ---- a broker chain ---- */

typedef struct pb_chain pb_chain_t;

/* What is the same in every chain: A, B, C and their client ports. Each
 * system's struct pb_chain has it as its first member, `head`, so that the
 * driver reaches it through the opaque pb_chain_t (a pointer to a struct,
 * converted, points to its first member) and does here, once, what does
 * not depend on the broker. */
typedef struct {
    pb_proc_t broker[3];
    int port[3];
} pb_chain_head_t;

/* c's head (see pb_chain_head_t). */
pb_chain_head_t *pb_chain_head(pb_chain_t *c);
/* Whether B runs and accepts on its port again. */
bool pb_chain_middle_up(pb_chain_t *c);
/* Peak RSS of A, B, C in KiB (-1 for one not running or unreadable). */
void pb_chain_peak_rss(pb_chain_t *c, long out[3]);

/* What a started chain does: one table for each kind of chain, which the
 * systems that start that kind share (nats and nats_always). */
typedef struct {
    /* Sends one payload to A; its ack goes to pb_track_acked(seq). */
    int (*publish)(pb_chain_t *c, const void *buf, size_t len, uint64_t seq);
    /* Processes acks, waiting up to timeout_ms for one. 0, or -1 if the
     * publisher's connection is gone. */
    int (*pump)(pb_chain_t *c, int timeout_ms);
    /* SIGKILLs B, then restarts it on its store and config; returns once
     * it is started, not once it is ready (pb_chain_middle_up() tells).
     * 0, or -1 when either step failed (said on stderr). */
    int (*crash_middle)(pb_chain_t *c);
    /* Tears everything down and removes the temp dirs; accepts NULL. */
    void (*stop)(pb_chain_t **c_p);
} pb_chain_ops_t;

/* What check() returns when the system cannot be measured with what is
 * installed (a setting the installed version does not have): not a
 * failure, the report says why and shows no figures. */
#define PB_UNSUPPORTED 1

typedef struct {
    const char *name;        /* "mosquitto", "rabbitmq", "nats", "nats_always" */
    const char *durability;  /* when it acks, what survives a SIGKILL */
    /* Checks the binaries and the settings the chain needs; writes why
     * into err unless it returns 0. 0, -1 (missing, broken) or
     * PB_UNSUPPORTED. */
    int (*check)(char *err, size_t cap);
    /* The broker's version, for the report ("" if unknown). */
    const char *(*version)(void);
    /* Starts A, B, C, the links between them, a subscriber on C feeding
     * t, and a publisher on A allowed `window` unacknowledged messages.
     * Returns NULL with err filled on failure (everything started is
     * torn down). */
    pb_chain_t *(*start)(pb_tracker_t *t, int window, char *err, size_t cap);
    /* What the chain start() returned does. */
    const pb_chain_ops_t *ops;
    /* Releases what is shared between chains (RabbitMQ's epmd). */
    void (*shutdown)(void);
} pb_system_t;

/* Each is linked in only where its client library was found at build
 * time (tools/meson.build defines PB_HAVE_MOSQUITTO, PB_HAVE_RABBITMQ,
 * PB_HAVE_NATS). */
extern const pb_system_t pb_mosquitto;
extern const pb_system_t pb_rabbitmq;
/* NATS with JetStream's default fsync, and with sync_interval: always. */
extern const pb_system_t pb_nats;
extern const pb_system_t pb_nats_always;

#endif
