#include "text.h"

#include <stdio.h>
#include <string.h>

#include "error.h"

/* Deeper nesting than any gridrelay message has is refused: a crafted
 * frame must not walk the stack. */
#define S_MAX_DEPTH 16

bool gr_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;  /* a continuation byte first, 0xC0/0xC1, or above 0xF4 */
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

void gr_utf8_copy(char *dst, size_t dst_len, const char *src)
{
    if (!dst || dst_len == 0)
        return;
    size_t n = src ? strlen(src) : 0;
    if (n >= dst_len) {
        n = dst_len - 1;
        /* Back off continuation bytes to the start of the cut character. */
        while (n > 0 && ((uint8_t)src[n] & 0xC0) == 0x80)
            n--;
    }
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

static int s_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p == end)
            return GR_EDECODE;
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return GR_EDECODE;
}

static void s_name(char *where, size_t where_len, const char *path, const char *field,
                   const char *what)
{
    if (where && where_len)
        snprintf(where, where_len, "%s%s%s: %s", path, *path ? "." : "", field, what);
}

static int s_walk(const ProtobufCMessageDescriptor *desc, const uint8_t *p, const uint8_t *end,
                  int depth, const char *path, char *where, size_t where_len)
{
    if (depth > S_MAX_DEPTH)
        return GR_EDECODE;
    while (p < end) {
        uint64_t tag;
        if (s_varint(&p, end, &tag) != 0)
            return GR_EDECODE;
        uint32_t number = (uint32_t)(tag >> 3);
        uint64_t len;
        switch (tag & 7) {
        case 0:
            if (s_varint(&p, end, &len) != 0)
                return GR_EDECODE;
            continue;
        case 1:
            if (end - p < 8)
                return GR_EDECODE;
            p += 8;
            continue;
        case 5:
            if (end - p < 4)
                return GR_EDECODE;
            p += 4;
            continue;
        case 2:
            break;
        default:
            return GR_EDECODE;  /* groups: not in proto3, and protobuf-c refuses them too */
        }
        if (s_varint(&p, end, &len) != 0 || len > (uint64_t)(end - p))
            return GR_EDECODE;
        const uint8_t *value = p;
        p += len;
        const ProtobufCFieldDescriptor *field =
            number ? protobuf_c_message_descriptor_get_field(desc, number) : NULL;
        if (!field)
            continue;  /* unknown fields are kept opaque */
        if (field->type == PROTOBUF_C_TYPE_STRING) {
            if (memchr(value, 0, len)) {
                s_name(where, where_len, path, field->name, "holds a NUL byte");
                return GR_EBADTEXT;
            }
            if (!gr_utf8_valid(value, len)) {
                s_name(where, where_len, path, field->name, "not valid UTF-8");
                return GR_EBADTEXT;
            }
        } else if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", field->name);
            int rc = s_walk(field->descriptor, value, value + len, depth + 1, sub, where,
                            where_len);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

int gr_text_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                  char *where, size_t where_len)
{
    if (where && where_len)
        where[0] = '\0';
    if (!desc || (!data && len))
        return GR_EINVAL;
    /* An empty message has no strings; and protobuf-c gives an empty bytes
     * field as NULL, to which not even 0 may be added (C11 6.5.6). */
    if (len == 0)
        return 0;
    return s_walk(desc, data, data + len, 0, "", where, where_len);
}
