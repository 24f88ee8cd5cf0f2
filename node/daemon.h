/* The gridrelayd main loop: one thread owns the sockets and the store.
 *
 * Each turn: poll; drain up to batch_max ready requests; verify each;
 * apply all writes in one LMDB transaction and commit once (group commit:
 * one fsync for the whole batch); answer reads from a read transaction;
 * then send every reply. Nothing is acknowledged before its commit.
 *
 * SIGTERM or SIGINT: the turn in progress completes (its batch commits and
 * its replies go out), then gr_daemon_run() returns 0.
 *
 * SIGHUP: between two turns, the config file is read again and its
 * people's keys and roles replace the old ones (gr_config_reload_people()):
 * a key removed is refused from the next frame on (ERR_UNTRUSTED; a new
 * connection is refused at CURVE), a key added is admitted; nothing else
 * stops. A file that does not load, or that changes other trusted keys,
 * is logged and changes nothing.
 *
 * Thread safety: create, run and destroy from one thread. The signals are
 * blocked in the calling thread (and in ZeroMQ's threads, which inherit
 * the mask) and read through a signalfd.
 */
#ifndef GR_DAEMON_H
#define GR_DAEMON_H

#include <stddef.h>

#include "config.h"

typedef struct gr_daemon gr_daemon_t;

/* Opens the store and binds the request socket. Takes no ownership of cfg,
 * which must outlive the daemon; a SIGHUP changes its trust list. On error
 * returns NULL with a message in err. */
gr_daemon_t *gr_daemon_new(gr_config_t *cfg, char *err, size_t errlen);

/* Runs until SIGTERM/SIGINT. Returns 0 on a clean stop, negative on a fatal
 * error (already logged). */
int gr_daemon_run(gr_daemon_t *self);

/* Closes sockets and store; sets *self_p to NULL. Accepts NULL. */
void gr_daemon_destroy(gr_daemon_t **self_p);

#endif
