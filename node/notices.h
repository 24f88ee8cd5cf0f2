/* Notices: the PUB socket departments subscribe to for their task notices
 * (node/departments makes them), and the publishing of each after the
 * commit that made it true.
 *
 * The socket is CURVE like every socket, and in the departments' ZAP
 * domain: the notices name every department's cases, so only department
 * keys may listen. ZeroMQ does not tell a PUB who subscribed to what, so
 * any admitted department could subscribe to another's topic: each notice
 * is therefore boxed with a key only this node and its department share
 * (crypto_box, precomputed per department at start).
 *
 * Thread safety: the daemon's main thread only.
 */
#ifndef GR_NOTICES_H
#define GR_NOTICES_H

#include <stddef.h>

#include "config.h"
#include "departments.h"
#include "engine.h"
#include "sealer.h"

typedef struct gr_notices gr_notices_t;

/* Binds cfg->task_listen and derives each department's box key; tells
 * departments the endpoint bound. *out is NULL (and 0 returned) when the
 * node has no task_listen. On error a message goes into err. */
int gr_notices_new(gr_notices_t **out, void *zmq_ctx, const gr_config_t *cfg,
                   gr_departments_t *departments, char *err, size_t errlen);
void gr_notices_destroy(gr_notices_t **self_p);

/* The PUB socket (to watch its connections: node/reclaim). */
void *gr_notices_socket(gr_notices_t *self);

/* The bound endpoint (for the endpoint file). */
const char *gr_notices_endpoint(const gr_notices_t *self);

/* After the commit: each notice of effects as [topic][signed envelope,
 * boxed for the department], sent in order. A department that misses one
 * (absent, slow) sees the gap in the notice sequence, or reconnects, and
 * lists its tasks from the store. */
void gr_notices_publish(gr_notices_t *self, const gr_sealer_t *sealer, const gr_effects_t *effects);

#endif
