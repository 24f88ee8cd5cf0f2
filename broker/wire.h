/* Wire helpers shared by broker/, node/ and tools/: the limits of the
 * protocol's identifiers and tokens, big-endian integers, the id
 * character set, and a message's bytes in a buffer of their own. One copy, so every module agrees on them.
 *
 * Thread safety: pure functions.
 */
#ifndef GR_WIRE_H
#define GR_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <protobuf-c/protobuf-c.h>

/* An event id, node id or department code: 1..64 bytes of [A-Za-z0-9._-]. */
#define GR_EVENT_ID_MAX 64
#define GR_ID_MAX 64
/* A page token as the node hands it out (hex of a store key, or
 * "node/event"), with its terminator. */
#define GR_PAGE_TOKEN_MAX 160
/* A listing's page: this many items when the request says 0, at most
 * GR_LIST_MAX (and one frame). */
#define GR_LIST_DEFAULT 100
#define GR_LIST_MAX 1000

static inline uint8_t *gr_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

static inline uint8_t *gr_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
    return p + 8;
}

/* n bytes of src at p; returns the byte after them. */
static inline uint8_t *gr_put_bytes(uint8_t *p, const void *src, size_t n)
{
    if (n)
        memcpy(p, src, n);
    return p + n;
}

static inline uint32_t gr_get_u32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t gr_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* msg serialized into a new malloc'd buffer of *len bytes (at least one
 * byte is allocated, so an empty message is not NULL); NULL when out of
 * memory. */
static inline uint8_t *gr_wire_pack(const ProtobufCMessage *msg, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(n ? n : 1);
    if (buf) {
        protobuf_c_message_pack(msg, buf);
        *len = n;
    }
    return buf;
}

/* Whether c may appear in an id: [A-Za-z0-9._-]. */
static inline bool gr_id_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

/* Whether the len bytes at text form an id: 1..GR_ID_MAX id characters. */
static inline bool gr_id_valid_n(const char *text, size_t len)
{
    if (!text || len == 0 || len > GR_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!gr_id_char(text[i]))
            return false;
    return true;
}

#endif
