/* After a test: what a stopped node's store holds must make sense. Every
 * case has a category its catalogue knows and a severity of 1..3 (a case
 * without them was stranded: the router cannot route it), and every
 * timeline's hash chain holds, and so does the whole store as `gridctl
 * audit verify --store` walks it (every entry in the node's ledger). */
#ifndef GR_STORE_CHECK_H
#define GR_STORE_CHECK_H

#include "harness.h"

/* Opens node's store (node stopped) and checks every case against the
 * catalogue file. Returns the number of bad cases (each printed to
 * stderr), or -1 when the store or catalogue cannot be opened. */
int store_check(const harness_node_t *node, const char *catalogue_path);

#endif
