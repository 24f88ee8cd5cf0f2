/* Private to broker/link*.c: the link's socket (link_transport.c), on the
 * state of broker/link_state.h. It sends finished frames and reports what
 * the upward socket saw; it calls nothing else of the link.
 *
 * Thread safety: the link's owner's thread only, like the socket.
 */
#ifndef GR_LINK_TRANSPORT_H
#define GR_LINK_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link_state.h"

/* Hands one frame to ZeroMQ without blocking. Returns 0 or -errno; any
 * failure means the frame did not go out, and blocks the link. */
int gr_link_transmit(gr_link_t *self, const uint8_t *data, size_t len);

/* Upward: creates the DEALER and its monitor on zmq_ctx and connects to
 * endpoint. Returns 0 or -1, what was made then freed by destroy. */
int gr_link_transport_open(gr_link_t *self, void *zmq_ctx, const char *endpoint,
                           const gr_link_options_t *opt);

/* Upward: closes the DEALER and the monitor (downward the ROUTER is the
 * owner's, and stays). */
void gr_link_transport_close(gr_link_t *self);

/* Upward: reads the monitor (a disconnect blocks the link, a refused
 * handshake schedules a redial) and redials when due. Returns true when
 * the link is blocked and the DEALER has a live connection again: the
 * window should be resent. Downward: false. */
bool gr_link_transport_back(gr_link_t *self);

/* Sends a heartbeat (link version 2, the next seq). */
void gr_link_transport_heartbeat(gr_link_t *self);

#endif
