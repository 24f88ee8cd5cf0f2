/* A three-tier topology of real gridrelayd processes for the tier tests:
 * one district, two townships, four villages (two under each township),
 * with a small catalogue whose authority levels are known to the tests. */
#ifndef GR_TIERS_FIXTURE_H
#define GR_TIERS_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "harness.h"

enum { DISTRICT, TOWN_A, TOWN_B, VILLAGE_A1, VILLAGE_A2, VILLAGE_B1, VILLAGE_B2, N_NODES };

typedef struct {
    harness_node_t nodes[N_NODES];
    void *ctx;
    char catalogue[320];
} topology_t;

/* Builds and starts the topology. village_accept_ms: the villages' accept
 * deadline for routine cases (0 = none). Returns 0 or -1. */
int topology_start(topology_t *t, uint64_t village_accept_ms);

/* Stops every node (SIGTERM), checks what each store holds (store_check.h)
 * and removes the directories. Returns 0, or -1 when a store held a bad
 * case. */
int topology_stop(topology_t *t);

/* The same against any started node, with a ZeroMQ context ctx: */
int node_report(harness_node_t *node, void *ctx, const char *id, const char *category, int severity);
/* The same Report over client (the caller's key): gr_client_call()'s
 * result, *reply set on 0 (the caller clears it). */
int client_report(gr_client_t *client, const char *id, const char *category, int severity,
                  gr_opened_t *reply);
int node_action(harness_node_t *node, void *ctx, const char *id, int kind, const char *text,
                const char *target);
int node_status(harness_node_t *node, void *ctx, const char *id, char *timeline, size_t cap);
bool node_wait_status(harness_node_t *node, void *ctx, const char *id, int status, int timeout_ms);
/* The value of one of the node's counters (GetStats), or -1 without a reply. */
int64_t node_counter(harness_node_t *node, void *ctx, const char *name);

/* The counter name of GetStats over client: its value, or -1 when the
 * call fails or the node has no such counter. */
int64_t client_counter(gr_client_t *client, const char *name);
bool node_wait_timeline(harness_node_t *node, void *ctx, const char *id, const char *text,
                        int timeout_ms);

/* Stops nodes[n-1] .. nodes[0] (SIGTERM; children before parents when
 * they were started parents first), checks each store (store_check.h)
 * against catalogue and removes the directories. 0, or -1 when a store
 * held a bad case. */
int nodes_stop_checked(harness_node_t *nodes, int n, const char *catalogue);

/* A test group's teardown: nodes_stop_checked(), then the ZeroMQ context
 * (NULL for none) terminated. Returns what nodes_stop_checked() does. */
int nodes_teardown(void *ctx, harness_node_t *nodes, int n, const char *catalogue);

/* One fault of a chaos run on node: three times in four a SIGKILL and a
 * restart at once on its store, else a hang (SIGSTOP, 0.3-2 s, SIGCONT);
 * counted in *kills or *hangs. Returns 0, or -1 when the node could not be
 * killed, started or signalled. */
int fixture_fault(harness_node_t *node, int *kills, int *hangs);

/* Runs `gridctl ARGS` against node, signed by key_file (NULL: the node's
 * reporter 0), with TZ=UTC (tests read and write dates in UTC). Its stdout
 * goes into out, and its stderr too with with_stderr. Returns gridctl's
 * exit status (-1 when it could not run); GR_TEST_VERBOSE prints each. */
int node_gridctl(const harness_node_t *node, const char *key_file, const char *args,
                 bool with_stderr, char *out, size_t cap);

/* Waits (bounded) until `gridctl ARGS` at node (as reporter 0) exits 0
 * with text in its output. */
bool node_wait_gridctl_says(const harness_node_t *node, const char *args, const char *text,
                            int timeout_ms);

/* What the last fixture_sh() command printed. */
extern char fixture_out[65536];

/* Writes text to path (created or truncated). 0, or -1. */
int fixture_write_file(const char *path, const char *text);

/* Runs the shell command made of fmt (harness_run), its stdout (and its
 * stderr where the command redirects it) into fixture_out. Returns its exit
 * status, -1 when it could not run. */
int fixture_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The gridctl under test: $GRIDCTL (meson sets it), else gridctl on PATH. */
const char *fixture_gridctl(void);

/* Writes node's reporter 0 key pair to DIR/operator.sec and .pub (the
 * node's config names it with every role the test gave it) and puts the
 * gridctl connection options for it into out: "--node EP --key FILE
 * --node-key @DIR/node.pub". Returns 0 or -1. */
int node_key_args(const harness_node_t *node, char *out, size_t cap);

/* Inits node (harness_node_init) as a tier with the given number of
 * reporters, and writes each reporter's key pair to DIR/reporterN.sec and
 * .pub so gridctl can act as any of them (node_reporter_gridctl). Returns
 * 0 or -1. */
int node_init_with_key_files(harness_node_t *node, const char *name, const char *tier,
                             int reporters);

/* node_gridctl() signed by reporter r's key file (node_init_with_key_files). */
int node_reporter_gridctl(const harness_node_t *node, int r, const char *args, char *out,
                          size_t cap);

/* Writes text as one catalogue file beside nodes[0]'s dir, its path into
 * path, and makes it the catalogue of all n nodes. Returns 0 or -1. */
int nodes_share_catalogue(harness_node_t *nodes, int n, const char *text, char *path,
                          size_t cap);

/* Sends one routine service request (category SV.REQUEST) with id and
 * description through client. Returns 0 when acknowledged, the Error
 * reply's code, or -1 without a reply. */
int client_service_report(gr_client_t *client, const char *id, const char *description);

/* Sends service requests PREFIX-00000, PREFIX-00001 ... (2 KiB of
 * description each) until one is not acknowledged or max were. Returns
 * how many were acknowledged; *code is the refusal's (0 when max were
 * acknowledged), last_id the id of the one refused. */
int client_fill_store(gr_client_t *client, const char *prefix, int max, int *code,
                      char last_id[32]);

/* GetEvent id through client: the reply's Body kind, or -1 without one. */
int client_get_kind(gr_client_t *client, const char *id);

/* Submits a report at node n as its reporter 0; returns 0 when acked. */
int topology_report(topology_t *t, int n, const char *id, const char *category, int severity);

/* Runs an operator action at node n; returns the Ack's status, or -Error code. */
int topology_action(topology_t *t, int n, const char *id, int kind, const char *text,
                    const char *target);

/* The case's status at node n (0 when the node does not hold it); when
 * timeline is not NULL, every entry's reason is appended to it. */
int topology_status(topology_t *t, int n, const char *id, char *timeline, size_t cap);

/* Waits (bounded) until node n holds id with the given status. */
bool topology_wait_status(topology_t *t, int n, const char *id, int status, int timeout_ms);

/* Waits (bounded) until the case's timeline at node n mentions text. */
bool topology_wait_timeline(topology_t *t, int n, const char *id, const char *text, int timeout_ms);

/* Gives nodes[0..n-1] one test clock and one catalogue, both files beside
 * nodes[0]'s dir (DIR/../clock and DIR/../catalogue.ini): sets the clock to
 * offset_ms (harness_clock_set), writes catalogue_text as the catalogue and
 * names both in every node. Their paths go into clock and catalogue, each
 * as large as a node's (harness_node_t.clock, .catalogue). Returns 0 or -1. */
int nodes_share_clock_and_catalogue(harness_node_t *nodes, int n, int64_t offset_ms,
                                    const char *catalogue_text, char *clock, char *catalogue);

/* Writes key pair kp to DIR/NAME.sec and DIR/NAME.pub, the files gridctl
 * reads a key from (node_gridctl's key_file is DIR/NAME.sec). 0 or -1. */
int fixture_save_key(const gr_keypair_t *kp, const char *dir, const char *name);

/* Starts nodes[0..n-1] as a tree: parent[i] is the index of node i's
 * parent, -1 for a root, and every parent comes before its children.
 * Names each child in its parent's config (harness_add_child), then starts
 * the nodes in index order, each child with a [parent] section naming its
 * started parent (harness_set_parent). Returns 0, or -1 when a node did
 * not start (the nodes started stay up for the teardown). */
int nodes_start_tree(harness_node_t *nodes, int n, const int parent[]);

/* Inits nodes[0..2] as a chain district -> township -> village with the
 * given names (node_init_with_key_files: `reporters` each, their key
 * files written), the district and township with a status listener, and
 * makes catalogue_text the catalogue of all three (nodes_share_catalogue:
 * its path into catalogue, cap bytes). Start them with nodes_start_tree().
 * Returns 0 or -1. */
int chain_init_with_key_files(harness_node_t nodes[3], const char *const names[3], int reporters,
                              const char *catalogue_text, char *catalogue, size_t cap);

/* Counts, over every page of node's view of child_id (ListView through
 * reporter 0, ctx its ZeroMQ context), the entries whose event id starts
 * with prefix and, when status >= 0, whose status is status. A call that
 * fails ends the count with the pages read so far. Returns the count, or
 * -1 when no client could be made. */
int node_count_view(harness_node_t *node, void *ctx, const char *child_id, const char *prefix,
                    int status);

/* Inits nodes[0..n-1] (harness_node_init, `reporters` reporters each) with
 * names[i] and tiers[i], every node that is not a village with a status
 * listener. Returns 0 or -1. */
int nodes_init_tiers(harness_node_t *nodes, int n, const char *const names[],
                     const char *const tiers[], int reporters);

/* Starts node (harness_node_start), then makes a ZeroMQ context into *ctx
 * and a client for the node's reporter 0 into *client. Returns 0, or -1
 * when one of them failed (what was made stays for
 * node_stop_with_client()). */
int node_start_with_client(harness_node_t *node, void **ctx, gr_client_t **client);

/* Undoes node_start_with_client(): destroys *client, terminates *ctx
 * (either may be NULL) and stops node with SIGTERM. Returns what
 * harness_node_stop() does: 0 when the node exited cleanly. */
int node_stop_with_client(harness_node_t *node, void **ctx, gr_client_t **client);

#endif
