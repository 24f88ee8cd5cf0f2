/* Globally unique event ids, made where an event is first reported.
 *
 * An id is a ULID: 26 characters of Crockford base32 encoding 48 bits of
 * milliseconds since the epoch followed by 80 random bits (libsodium's
 * CSPRNG). Two nodes or two reporters never need to coordinate, ids sort
 * by creation time, and they are safe in file names and URLs.
 *
 * Thread safety: safe from any thread once sodium_init() has run.
 */
#ifndef GR_EVENT_ID_H
#define GR_EVENT_ID_H

#include <stdbool.h>
#include <stdint.h>

#define GR_EVENT_ID_LEN 26

/* Writes a new id made at now_ms, NUL-terminated, into out. */
void gr_event_id_new(char out[GR_EVENT_ID_LEN + 1], uint64_t now_ms);

/* Whether text is acceptable as an event id on the wire: 1 to 64 bytes of
 * [A-Za-z0-9._-]. Ids made by other software need not be ULIDs. */
bool gr_event_id_valid(const char *text);

#endif
