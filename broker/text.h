/* Text checks for what arrives on the wire.
 *
 * Protobuf `string` fields must hold UTF-8, and protobuf-c neither checks
 * that nor keeps a string's length: it copies the bytes and adds a NUL, so
 * an embedded NUL silently shortens the string ("PS.CRIME\0X" reads as
 * "PS.CRIME"). gr_text_check() walks a serialized message's own bytes,
 * with the message's descriptor, before it is unpacked, and refuses both.
 * It checks only; decoding stays protobuf-c's.
 *
 * Thread safety: pure functions.
 */
#ifndef GR_TEXT_H
#define GR_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Whether the len bytes at s are well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF). NUL bytes pass here. */
bool gr_utf8_valid(const uint8_t *s, size_t len);

/* Checks every string field of the serialized message (data, len) of type
 * desc, in nested messages too (bytes fields are not looked into): valid
 * UTF-8 and no NUL byte. Returns 0, GR_EBADTEXT naming the first bad field
 * in where ("report.event.title: not valid UTF-8"), or GR_EDECODE for
 * bytes that are not a protobuf message at all. where may be NULL. */
int gr_text_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                  char *where, size_t where_len);

/* Copies src into dst (dst_len bytes, always NUL-terminated) cut at a
 * character boundary, so that a truncated valid UTF-8 string stays valid. */
void gr_utf8_copy(char *dst, size_t dst_len, const char *src);

#endif
