/* Harness for the integration tests and the benchmark: real gridrelayd
 * processes on loopback, each in its own temp dir, on ports the kernel
 * picked, with bounded waits only.
 *
 * Thread safety: the harness functions are for the caller's main thread;
 * clients made from harness keys may run in other threads.
 */
#ifndef GR_HARNESS_H
#define GR_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "client.h"
#include "keys.h"

#define HARNESS_MAX_REPORTERS 64

typedef struct {
    char dir[256];              /* the node's temp dir */
    char config[320];
    char endpoint[128];         /* bound endpoint, once started */
    pid_t pid;                  /* 0 when not running */
    gr_keypair_t node_key;
    gr_keypair_t reporters[HARNESS_MAX_REPORTERS];
    size_t n_reporters;
    char extra_node[1024];      /* extra lines for [node] (e.g. "map_max_mb = 1\n") */
    char tier[16];              /* default "village" */
    bool status_listen;         /* bind a status endpoint for children */
    char status_endpoint[128];  /* bound status endpoint, once started */
    bool task_listen;           /* bind the departments' notice endpoint */
    char task_endpoint[128];    /* bound notice endpoint, once started */
    char sections[4096];        /* extra sections: [parent], [children], [deadlines]... */
    char catalogue[320];        /* catalogue file; default: the shipped example */
    /* The reporter keys go in [reporters] only, not in [operators] as
     * well: without an [operators] section in sections, the config is
     * the old style (reporter+operator, with a warning). */
    bool reporters_only;
    /* Appended to reporter i's [reporters] line when set (", grid G-1"). */
    const char *reporter_options[HARNESS_MAX_REPORTERS];
    char http_url[128];         /* "http://127.0.0.1:PORT" once started, when [http] is on */
    char clock[320];            /* a --clock file (harness_clock_set()); "" = the system clock */
} harness_node_t;

/* Path of the gridrelayd binary: $GRIDRELAYD, set by meson for each test
 * ($GR_DAEMON_WRAPPER instead when set, e.g. a script running it under
 * valgrind). */
const char *harness_daemon_path(void);

/* Makes a temp dir, a node key and n_reporters reporter keys, and writes a
 * config using the shipped example catalogue. Returns 0 or -1. */
int harness_node_init(harness_node_t *node, const char *name, size_t n_reporters);

/* Rewrites the config (after changing extra_node or the endpoint). */
int harness_node_write_config(harness_node_t *node);

/* Starts gridrelayd and waits (bounded) until it has bound its endpoint.
 * The first start listens on tcp://127.0.0.1:*; later starts reuse the
 * endpoint of the first, so clients reconnect to the same address. The
 * node is killed when the calling thread ends (so a failed test leaves no
 * daemon behind): call it from the main thread. */
int harness_node_start(harness_node_t *node);

/* The same, with extra appended to the config (e.g. a [children] section
 * too long for sections) and a start-up wait of timeout_ms. */
int harness_node_start_with(harness_node_t *node, const char *extra, int timeout_ms);

/* Sends sig and waits (bounded, 10 s) for the process to end; returns its
 * exit status (or 128+signal), -1 on timeout. */
int harness_node_stop(harness_node_t *node, int sig);

/* Stops the node if running and removes its directory. */
void harness_node_cleanup(harness_node_t *node);

/* Names child's key in parent's [children] (before the parent starts).
 * [children] is kept as the last of parent->sections. */
void harness_add_child(harness_node_t *parent, const harness_node_t *child);

/* Writes a [parent] (or, with section "skip", a [skip]) section naming
 * parent's endpoints into child->sections: the parent must be started. */
void harness_set_parent(harness_node_t *child, const harness_node_t *parent, const char *section);

/* Hex of a node's public key, for config sections. */
void harness_node_key_hex(const harness_node_t *node, char out[GR_PUBLIC_KEY_HEX]);

/* A client for reporter i (i < n_reporters) to this node. */
gr_client_t *harness_client(harness_node_t *node, void *zmq_ctx, size_t reporter);

/* Waits until cond(ctx) is true, checking every 10 ms, for at most
 * timeout_ms. Returns true when the condition held. */
bool harness_wait_until(bool (*cond)(void *), void *ctx, int timeout_ms);

/* Writes offset_ms into the clock file at path (atomically): every node
 * started with it as its clock sees time moved by that much. 0 or -1. */
int harness_clock_set(const char *path, int64_t offset_ms);

/* A running process's memory and descriptors, from /proc/PID. */
typedef struct {
    long rss_kb, anon_kb, file_kb, hwm_kb;  /* VmRSS, RssAnon, RssFile, VmHWM */
    int fds;                                /* open file descriptors */
} harness_memory_t;

/* Reads pid's figures into *out. Returns 0, or -1 when /proc has none. */
int harness_memory(pid_t pid, harness_memory_t *out);

/* Runs a command line through /bin/sh, capturing stdout into out (NUL
 * terminated, truncated to cap). Returns the exit status, -1 on failure. */
int harness_run(const char *command, char *out, size_t cap);

#endif
