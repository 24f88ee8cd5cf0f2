/* Signs again what a fuzzed Escalate or Assign carries: the reporter's
 * origin envelope (by the village reporter's key, keeping its version,
 * seq, time and body) and each hop of an escalation path (the last by the
 * sending child, as the node requires), so that fuzzed events and paths
 * get past their signatures to the checks behind them.
 *
 * Thread safety: reentrant.
 */
#ifndef GR_FUZZ_RESIGN_H
#define GR_FUZZ_RESIGN_H

#include <stddef.h>
#include <stdint.h>

#include "fixture.h"

/* The Body in body (len bytes) signed again into a new malloc'd buffer of
 * *out_len bytes; NULL when it does not decode or carries nothing signed
 * (use it as it is). */
uint8_t *fx_resign_body(const gr_keypair_t keys[FX_KEYS], const uint8_t *body, size_t len,
                        size_t *out_len);

#endif
