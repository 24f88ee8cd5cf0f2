/* The requests every fuzz run starts from: what sets up the fixture's
 * store (committed before fuzzing), and one valid request of every kind
 * the node accepts (the seed corpus, written by gen_seeds at build time).
 *
 * Thread safety: no shared state.
 */
#ifndef GR_FUZZ_SEEDS_H
#define GR_FUZZ_SEEDS_H

#include <stdint.h>

#include "fixture.h"
#include "gridrelay.pb-c.h"

/* The fixture's cases (event ids). */
#define FX_EV_TOWN "ev-town"      /* reported at town-f, handled there */
#define FX_EV_UP "ev-up"          /* reported at town-f, escalated to district-f */
#define FX_EV_ESC "ev-esc"        /* escalated from village-f1 */
#define FX_EV_ASSIGN "ev-assign"  /* assigned down by district-f */

/* Called for each request; returns 0 to go on. */
typedef int (*fx_emit_fn)(void *ctx, fx_from_t from, const Gridrelay__Body *body);

/* The requests that make the fixture's cases, in order. */
int fx_seed_setup(const gr_keypair_t keys[FX_KEYS], uint64_t now_ms, fx_emit_fn fn, void *ctx);

/* One of every other request kind, on the cases the setup made. */
int fx_seed_requests(const gr_keypair_t keys[FX_KEYS], uint64_t now_ms, fx_emit_fn fn, void *ctx);

/* Commits the setup requests into node's store. Returns 0 or an error. */
int fx_node_seed(fx_node_t *node);

#endif
