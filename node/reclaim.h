/* Reclaim: hands the heap that closed connections leave behind back to the
 * operating system.
 *
 * Every connection to a bound socket costs ZeroMQ about 40 KiB of heap in
 * its I/O thread (pipes, CURVE state, stream buffers), and ZeroMQ frees all
 * of it when the connection closes. glibc keeps the freed pages, though:
 * it returns memory only from the top of a heap, and the next flood lands
 * on other pages, so each flood of short connections left the node larger
 * (1,000 clients at once: 40, 63, 77, 86, 92 MiB resident after rounds 1-5,
 * levelling off near 100 MiB). This module watches the sockets'
 * disconnects (zmq_socket_monitor) and, once they stop for a moment, calls
 * malloc_trim(0), which returns the free pages of every arena (about 1-3 ms
 * after a 1,000-connection flood). Resident memory then falls back to the
 * node's working set after each flood instead of ratcheting up.
 *
 * Caveats: glibc only (malloc_trim). A trim runs RECLAIM_QUIET_MS after the
 * last disconnect, or RECLAIM_MAX_DELAY_MS after the first one not yet
 * trimmed for, whichever is earlier, so that steady churn is trimmed too.
 *
 * Thread safety: the daemon's main thread only.
 */
#ifndef GR_RECLAIM_H
#define GR_RECLAIM_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#define GR_RECLAIM_QUIET_MS 500
#define GR_RECLAIM_MAX_DELAY_MS 5000
/* Sockets one reclaimer watches: the request ROUTER and the notice PUB. */
#define GR_RECLAIM_MAX_SOCKETS 2

typedef struct gr_reclaim gr_reclaim_t;

/* A reclaimer on zmq_ctx with no socket watched yet. NULL with a reason in
 * err (errlen bytes) when its socket cannot be made. */
gr_reclaim_t *gr_reclaim_new(void *zmq_ctx, char *err, size_t errlen);

/* Stops watching, closes the monitor sockets and sets *self_p to NULL.
 * Accepts NULL. Call while the watched sockets are still open: libzmq would
 * block its I/O thread on an event for a monitor nobody reads. */
void gr_reclaim_destroy(gr_reclaim_t **self_p);

/* Watches socket's disconnects (of connections it accepted), from now on.
 * Returns 0, GR_EINVAL for more than GR_RECLAIM_MAX_SOCKETS sockets, or
 * GR_EIO with a reason in err. */
int gr_reclaim_watch(gr_reclaim_t *self, void *socket, char *err, size_t errlen);

/* Adds the monitor sockets to items (at most max), to poll for ZMQ_POLLIN
 * in the main loop so that a disconnect wakes it; returns how many. */
size_t gr_reclaim_poll_items(gr_reclaim_t *self, zmq_pollitem_t *items, size_t max);

/* timeout_ms (-1 = none) shortened so that the loop wakes when a trim is
 * due. */
int gr_reclaim_timeout_ms(const gr_reclaim_t *self, uint64_t now_ms, int timeout_ms);

/* Reads the disconnects that arrived (without blocking) and trims when one
 * is due. Call once per loop turn, whatever the poll returned. */
void gr_reclaim_tick(gr_reclaim_t *self, uint64_t now_ms);

#endif
