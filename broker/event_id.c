#include "event_id.h"

#include <sodium.h>
#include <string.h>

#include "wire.h"

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
    return text && gr_id_valid_n(text, strnlen(text, GR_ID_MAX + 1));
}
