/* Sessions: which key each connection of the node's request ROUTER
 * belongs to, so that the connections of a key removed from the config
 * can be closed (issue 14, key lifecycle).
 *
 * libzmq 4.3 has no call that closes one peer of a bound ROUTER:
 * zmq_disconnect() only undoes the socket's own zmq_connect(), the
 * routing id of a ROUTER peer cannot be dropped, and zmq_disconnect_peer()
 * exists (draft API, 4.3.5 on) for the SERVER socket only. What 4.3 does
 * offer is ZMQ_SRCFD: every received message names the TCP descriptor it
 * came from (zmq_msg_get(3): "allows application to retrieve the remote
 * endpoint via getpeername(2)"), next to the "User-Id" metadata that the
 * ZAP handler set from the CURVE key (broker/curve.h). This module
 * remembers, per descriptor, the key and the peer address of the last
 * message read from it; closing a key's connections is then
 * shutdown(fd, SHUT_RDWR) on each of its descriptors whose peer address
 * is still the one recorded. libzmq's I/O thread sees the end of the
 * stream and drops the connection like any peer that went away (its
 * pipe, routing id and queued replies); the client's DEALER reconnects,
 * and the ZAP handler, reloaded first, refuses the handshake.
 *
 * Caveats:
 * - Only connections that have sent a message are known: one that
 *   completed the CURVE handshake before the revocation and has sent
 *   nothing since is closed when its first message arrives (that message
 *   is refused ERR_UNTRUSTED; the reply may or may not get out first).
 * - The descriptor belongs to libzmq, which may close it at any time and
 *   reuse its number for a new connection; the peer address check
 *   (address and port of the other end) is what keeps a reused number
 *   from closing someone else. The peer address is read again on every
 *   message (one getpeername() per request, well under a microsecond).
 * - Descriptors at or above GR_SESSIONS_MAX_FD are not tracked.
 *
 * Thread safety: the daemon's main thread only.
 */
#ifndef GR_SESSIONS_H
#define GR_SESSIONS_H

#include <stddef.h>

#include "trust.h"

#define GR_SESSIONS_MAX_FD (1 << 20)

typedef struct gr_sessions gr_sessions_t;

/* An empty table; NULL when memory runs out. */
gr_sessions_t *gr_sessions_new(void);

/* Frees the table (closes nothing) and sets *self_p to NULL. Accepts NULL. */
void gr_sessions_destroy(gr_sessions_t **self_p);

/* Records that a message from the connection on fd (ZMQ_SRCFD; negative:
 * not TCP, ignored) was authenticated as user_hex (the message's
 * "User-Id"; NULL or not 64 hex digits: ignored). When that key is not in
 * trust (it was revoked after the connection's handshake), the connection
 * is queued to be closed by gr_sessions_close_pending(). */
void gr_sessions_note(gr_sessions_t *self, int fd, const char *user_hex, const gr_trust_t *trust);

/* Queues every known connection whose key is not in trust (after a
 * reload removed keys). Returns how many were queued. */
size_t gr_sessions_revoke(gr_sessions_t *self, const gr_trust_t *trust);

/* Closes the queued connections (shutdown(2) of both directions, only
 * when the descriptor's peer is still the one recorded) and forgets them.
 * Returns how many were closed. Call after the turn's replies are sent. */
size_t gr_sessions_close_pending(gr_sessions_t *self);

/* Connections currently remembered (for tests and logs). */
size_t gr_sessions_count(const gr_sessions_t *self);

#endif
