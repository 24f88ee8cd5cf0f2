#include "day.h"

#include <stdio.h>
#include <string.h>

static int64_t s_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t gr_day_of(uint64_t ms, int offset_min)
{
    return s_floor_div((int64_t)ms + (int64_t)offset_min * 60000, (int64_t)GR_DAY_MS);
}

uint64_t gr_day_due_ms(int64_t day, int due_min, int offset_min)
{
    int64_t ms = day * (int64_t)GR_DAY_MS + (int64_t)(due_min - offset_min) * 60000;
    return ms > 0 ? (uint64_t)ms : 0;
}

int64_t gr_day_last_due(uint64_t now_ms, int due_min, int offset_min)
{
    int64_t day = gr_day_of(now_ms, offset_min);
    return gr_day_due_ms(day, due_min, offset_min) <= now_ms ? day : day - 1;
}

/* Civil dates from day numbers and back: the proleptic Gregorian
 * algorithms of H. Hinnant ("chrono-compatible low-level date
 * algorithms"), exact for every day, no tables, no libc time zone. */
static void s_civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = s_floor_div(z, 146097);
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t s_days(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = s_floor_div(y, 400);
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void gr_day_date(int64_t day, char *out)
{
    int64_t y;
    unsigned m, d;
    s_civil(day, &y, &m, &d);
    if (y < 0 || y > 9999)
        y = y < 0 ? 0 : 9999;
    /* m is 1..12, d 1..31: two digits each. */
    snprintf(out, GR_DAY_DATE_LEN + 1, "%04d-%02u-%02u", (int)y, m % 100u, d % 100u);
}

/* n decimal digits at text, into *value. */
static bool s_digits(const char *text, int n, int *value)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        v = v * 10 + (text[i] - '0');
    }
    *value = v;
    return true;
}

int gr_day_date_parse(const char *text, int64_t *day)
{
    int y, m, d;
    if (!text || strlen(text) != GR_DAY_DATE_LEN || text[4] != '-' || text[7] != '-' ||
        !s_digits(text, 4, &y) || !s_digits(text + 5, 2, &m) || !s_digits(text + 8, 2, &d) ||
        y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    int64_t n = s_days(y, (unsigned)m, (unsigned)d);
    char back[GR_DAY_DATE_LEN + 1];
    gr_day_date(n, back);
    if (strcmp(back, text) != 0)
        return -1;  /* 2026-02-30 and the like */
    *day = n;
    return 0;
}

int gr_day_time_parse(const char *text, int *minutes)
{
    int h, m;
    if (!text || strlen(text) != 5 || text[2] != ':' || !s_digits(text, 2, &h) ||
        !s_digits(text + 3, 2, &m) || h > 23 || m > 59)
        return -1;
    *minutes = h * 60 + m;
    return 0;
}

int gr_day_offset_parse(const char *text, int *offset_min)
{
    if (!text)
        return -1;
    if (strcmp(text, "UTC") == 0 || strcmp(text, "Z") == 0) {
        *offset_min = 0;
        return 0;
    }
    if (strncmp(text, "UTC", 3) == 0)
        text += 3;
    if (*text != '+' && *text != '-')
        return -1;
    int sign = *text++ == '-' ? -1 : 1;
    size_t len = strlen(text);
    int h = 0, m = 0;
    bool ok;
    if (len == 1 || len == 2)
        ok = s_digits(text, (int)len, &h);
    else if (len == 4)
        ok = s_digits(text, 2, &h) && s_digits(text + 2, 2, &m);
    else if (len == 5)
        ok = text[2] == ':' && s_digits(text, 2, &h) && s_digits(text + 3, 2, &m);
    else
        ok = false;
    if (!ok || m > 59 || h * 60 + m > GR_DAY_OFFSET_MAX)
        return -1;
    *offset_min = sign * (h * 60 + m);
    return 0;
}

gr_day_state_t gr_day_state(uint64_t first_ms, uint64_t due_ms, uint64_t now_ms,
                                uint64_t *late_ms)
{
    if (late_ms)
        *late_ms = 0;
    if (first_ms == 0)
        return now_ms >= due_ms ? GR_DAY_MISSING : GR_DAY_PENDING;
    if (first_ms <= due_ms)
        return GR_DAY_ON_TIME;
    if (late_ms)
        *late_ms = first_ms - due_ms;
    return GR_DAY_LATE;
}

void gr_day_tally_add(gr_day_tally_t *tally, gr_day_state_t state)
{
    tally->units++;
    switch (state) {
    case GR_DAY_ON_TIME: tally->on_time++; break;
    case GR_DAY_LATE: tally->late++; break;
    case GR_DAY_MISSING: tally->missing++; break;
    case GR_DAY_PENDING: tally->pending++; break;
    }
}

bool gr_day_is_exception(gr_day_state_t state)
{
    return state == GR_DAY_LATE || state == GR_DAY_MISSING;
}
