#include "daily_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "day.h"
#include "error.h"

static const char *const s_keys[GR_DAILY_KEY_COUNT] = { "due", "timezone", "units", "category" };

void gr_daily_config_init(gr_daily_config_t *dc)
{
    memset(dc, 0, sizeof *dc);
    dc->due_min = 18 * 60;
    dc->fixed = true;
    snprintf(dc->zone, sizeof dc->zone, "UTC");
    snprintf(dc->category, sizeof dc->category, "DAILY.SAFE");
}

void gr_daily_config_clear(gr_daily_config_t *dc)
{
    free(dc->units);
    dc->units = NULL;
    dc->n_units = 0;
}

static int s_fail(char *msg, size_t msglen, const char *what, const char *value, const char *why)
{
    snprintf(msg, msglen, "%s = %s: %s", what, value, why);
    return GR_ECONFIG;
}

/* A tz database name: letters, digits and "_+-/", no "..", not absolute,
 * and a TZif file under $TZDIR (or /usr/share/zoneinfo): a typo would
 * otherwise leave glibc on UTC without a word. */
static bool s_zone_ok(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len >= 64 || name[0] == '/' || strstr(name, ".."))
        return false;
    if (strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/") != len)
        return false;
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    struct stat st;
    char magic[4] = {0};
    bool ok = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
              fread(magic, 1, sizeof magic, f) == sizeof magic && memcmp(magic, "TZif", 4) == 0;
    fclose(f);
    return ok;
}

/* "zhang, li, wang": names of [reporters] keys, checked once all are read. */
static int s_units(gr_daily_config_t *dc, const char *value, char *msg, size_t msglen)
{
    if (strcmp(value, "reporters") == 0 || strcmp(value, "node") == 0 ||
        strcmp(value, "none") == 0) {
        dc->mode = value[0] == 'r' ? GR_DAILY_UNITS_REPORTERS
                   : value[1] == 'o' && value[2] == 'd' ? GR_DAILY_UNITS_NODE
                                                        : GR_DAILY_UNITS_NONE;
        return 0;
    }
    dc->mode = GR_DAILY_UNITS_LIST;
    const char *p = value;
    while (*p) {
        size_t n = strcspn(p, ",");
        const char *start = p, *end = p + n;
        while (start < end && (*start == ' ' || *start == '\t'))
            start++;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        size_t len = (size_t)(end - start);
        if (len == 0)
            return s_fail(msg, msglen, "units", value, "an empty name in the list (expected "
                          "reporters, node, none, or NAME[, NAME...] of [reporters] keys)");
        if (len > GR_DAILY_NAME_MAX)
            return s_fail(msg, msglen, "units", value, "a name longer than 63 bytes");
        for (size_t i = 0; i < dc->n_units; i++)
            if (strlen(dc->units[i]) == len && memcmp(dc->units[i], start, len) == 0)
                return s_fail(msg, msglen, "units", value, "a name is listed twice");
        if (dc->n_units == GR_DAILY_UNITS_MAX)
            return s_fail(msg, msglen, "units", value, "more than 1000 units");
        void *grown = realloc(dc->units, (dc->n_units + 1) * sizeof *dc->units);
        if (!grown) {
            snprintf(msg, msglen, "out of memory");
            return GR_ENOMEM;
        }
        dc->units = grown;
        memcpy(dc->units[dc->n_units], start, len);
        dc->units[dc->n_units++][len] = '\0';
        p += n;
        if (*p == ',')
            p++;
        if (*p == '\0' && p[-1] == ',')
            return s_fail(msg, msglen, "units", value, "the list ends with ','");
    }
    return 0;
}

int gr_daily_config_key(gr_daily_config_t *dc, const char *key, const char *value, int line,
                        char *msg, size_t msglen)
{
    int k = 0;
    while (k < GR_DAILY_KEY_COUNT && strcmp(s_keys[k], key) != 0)
        k++;
    if (k == GR_DAILY_KEY_COUNT) {
        snprintf(msg, msglen, "unknown key '%s' in [daily] (expected due, timezone, units or "
                 "category)", key);
        return GR_ECONFIG;
    }
    if (dc->line[k] != 0) {
        snprintf(msg, msglen, "duplicate key '%s' in [daily] (first at line %d)", key,
                 dc->line[k]);
        return GR_ECONFIG;
    }
    dc->line[k] = line;
    switch (k) {
    case GR_DAILY_KEY_DUE:
        if (gr_day_time_parse(value, &dc->due_min) != 0)
            return s_fail(msg, msglen, key, value, "not a local time (expected HH:MM, "
                          "00:00 to 23:59)");
        return 0;
    case GR_DAILY_KEY_TIMEZONE:
        if (gr_day_offset_parse(value, &dc->offset_min) == 0) {
            dc->fixed = true;
        } else if (s_zone_ok(value)) {
            dc->fixed = false;
        } else {
            return s_fail(msg, msglen, key, value, "neither a time zone of the tz database "
                          "(e.g. Asia/Shanghai) nor a UTC offset (+08:00, UTC+8, UTC; at "
                          "most 14 hours)");
        }
        snprintf(dc->zone, sizeof dc->zone, "%s", value);
        return 0;
    case GR_DAILY_KEY_UNITS:
        return s_units(dc, value, msg, msglen);
    default:
        if (strlen(value) >= sizeof dc->category || !*value)
            return s_fail(msg, msglen, key, value, "not a category code (1..47 bytes)");
        snprintf(dc->category, sizeof dc->category, "%s", value);
        return 0;
    }
}

int gr_daily_config_finish(const gr_daily_config_t *dc, const gr_trust_t *trust,
                           const gr_catalogue_t *catalogue, char *msg, size_t msglen, int *line)
{
    /* Without [daily] the default item need not exist (a test catalogue). */
    if (dc->enabled && !gr_catalogue_find(catalogue, dc->category)) {
        *line = dc->line[GR_DAILY_KEY_CATEGORY];
        snprintf(msg, msglen, "category = %s: not in the catalogue (the zero-report item, "
                 "e.g. DAILY.SAFE)", dc->category);
        return GR_ECONFIG;
    }
    size_t reporters = 0;
    for (size_t j = 0; j < gr_trust_count(trust); j++)
        reporters += gr_trust_at(trust, j)->role == GR_ROLE_REPORTER;
    if (dc->enabled && dc->mode == GR_DAILY_UNITS_REPORTERS && reporters > GR_DAILY_UNITS_MAX) {
        /* A day's summary lists at most this many; name the units instead. */
        *line = dc->line[GR_DAILY_KEY_UNITS];
        snprintf(msg, msglen, "units = reporters: %zu reporter keys, more than the 1000 units "
                 "a node may track (list the units by name)", reporters);
        return GR_ECONFIG;
    }
    for (size_t i = 0; i < dc->n_units; i++) {
        const gr_trusted_key_t *found = NULL;
        for (size_t j = 0; j < gr_trust_count(trust) && !found; j++) {
            const gr_trusted_key_t *t = gr_trust_at(trust, j);
            if (t->role == GR_ROLE_REPORTER && strcmp(t->name, dc->units[i]) == 0)
                found = t;
        }
        if (!found) {
            *line = dc->line[GR_DAILY_KEY_UNITS];
            snprintf(msg, msglen, "units: '%s' is not a key in [reporters]", dc->units[i]);
            return GR_ECONFIG;
        }
    }
    return 0;
}
