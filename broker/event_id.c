#include "event_id.h"

#include <sodium.h>
#include <string.h>

static const char s_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void gr_event_id_new(char out[GR_EVENT_ID_LEN + 1], uint64_t now_ms)
{
    uint8_t bytes[16];
    for (int i = 0; i < 6; i++)
        bytes[i] = (uint8_t)(now_ms >> (40 - 8 * i));
    randombytes_buf(bytes + 6, 10);
    /* 128 bits as 26 base32 digits: the first digit carries 3 bits. */
    for (int i = GR_EVENT_ID_LEN - 1, bit = 0; i >= 0; i--, bit += 5) {
        unsigned value = 0;
        for (int b = 0; b < 5; b++) {
            int pos = bit + b;  /* bit position from the least significant end */
            if (pos < 128 && (bytes[15 - pos / 8] >> (pos % 8)) & 1)
                value |= 1u << b;
        }
        out[i] = s_alphabet[value];
    }
    out[GR_EVENT_ID_LEN] = '\0';
}

bool gr_event_id_valid(const char *text)
{
    if (!text)
        return false;
    size_t len = strlen(text);
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}
