#include "config_map.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"
#include "error.h"

void gr_map_config_init(gr_map_config_t *mc)
{
    memset(mc, 0, sizeof *mc);
}

void gr_map_config_clear(gr_map_config_t *mc)
{
    for (size_t i = 0; i < mc->n; i++) {
        free(mc->outlines[i].lat);
        free(mc->outlines[i].lon);
    }
    free(mc->outlines);
    memset(mc, 0, sizeof *mc);
}

static int s_fail(char *msg, size_t msglen, const char *name, const char *why)
{
    snprintf(msg, msglen, "[map] %.63s: %s", name, why);
    return GR_ECONFIG;
}

/* A number of the corner list at *p, moving *p past it. */
static int s_number(const char **p, double lo, double hi, double *out)
{
    while (**p == ' ' || **p == '\t')
        (*p)++;
    char *end = NULL;
    errno = 0;
    double v = strtod(*p, &end);
    if (end == *p || errno || !isfinite(v) || v < lo || v > hi)
        return -1;
    *p = end;
    *out = v;
    return 0;
}

int gr_map_config_key(gr_map_config_t *mc, const char *name, const char *value, char *msg,
                      size_t msglen)
{
    if (!gr_id_valid_n(name, strlen(name)))
        return s_fail(msg, msglen, name, "the name must be 1..64 characters of [A-Za-z0-9._-] "
                                         "(a grid code or node id)");
    for (size_t i = 0; i < mc->n; i++)
        if (strcmp(mc->outlines[i].name, name) == 0)
            return s_fail(msg, msglen, name, "appears twice");
    if (mc->n == GR_MAP_MAX_OUTLINES)
        return s_fail(msg, msglen, name, "more than 256 outlines");
    double lat[GR_MAP_MAX_POINTS], lon[GR_MAP_MAX_POINTS];
    size_t n = 0;
    const char *p = value;
    for (;;) {
        if (n == GR_MAP_MAX_POINTS)
            return s_fail(msg, msglen, name, "more than 200 corners");
        if (s_number(&p, -90, 90, &lat[n]) != 0 || s_number(&p, -180, 180, &lon[n]) != 0)
            return s_fail(msg, msglen, name, "each corner is 'LAT LON' in decimal degrees "
                                             "(-90..90, -180..180), corners separated by commas");
        n++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        if (*p++ != ',')
            return s_fail(msg, msglen, name, "corners are separated by commas");
    }
    if (n < 3)
        return s_fail(msg, msglen, name, "an outline needs at least 3 corners");
    gr_map_outline_t *more = realloc(mc->outlines, (mc->n + 1) * sizeof *more);
    if (!more)
        return GR_ENOMEM;
    mc->outlines = more;
    gr_map_outline_t *o = &mc->outlines[mc->n];
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s", name);
    if (!(o->lat = malloc(n * sizeof *o->lat)) || !(o->lon = malloc(n * sizeof *o->lon))) {
        free(o->lat);
        return GR_ENOMEM;
    }
    memcpy(o->lat, lat, n * sizeof *lat);
    memcpy(o->lon, lon, n * sizeof *lon);
    o->n = n;
    mc->n++;
    return 0;
}
