/* [map]: the outlines the command view's map draws under its report
 * points (node/http_view.h), one line per grid or village:
 *
 *   [map]
 *   G-01 = 30.2700 120.1500, 30.2700 120.1580, 30.2760 120.1580, 30.2760 120.1500
 *   village-a1 = 30.265 120.145, 30.285 120.145, 30.285 120.170
 *
 * The name is an id (a grid code, a node id); the value is a polygon of
 * 3 to GR_MAP_MAX_POINTS "LAT LON" corners in decimal degrees (WGS 84,
 * like the reports' coordinates), separated by commas. The page draws
 * them offline: nothing is fetched. Optional; without it the map is the
 * points over their bounding box.
 *
 * Thread safety: loaded once, then read only.
 */
#ifndef GR_CONFIG_MAP_H
#define GR_CONFIG_MAP_H

#include <stddef.h>

#define GR_MAP_MAX_OUTLINES 256
#define GR_MAP_MAX_POINTS 200

typedef struct {
    char name[64];
    double *lat, *lon;      /* n corners */
    size_t n;
} gr_map_outline_t;

typedef struct {
    gr_map_outline_t *outlines;
    size_t n;
} gr_map_config_t;

void gr_map_config_init(gr_map_config_t *mc);
void gr_map_config_clear(gr_map_config_t *mc);

/* One [map] line: name = polygon. 0, or GR_ECONFIG with the reason in
 * msg ("[map] G-01: ..."): a name that is no id or appears twice, fewer
 * than 3 or more than GR_MAP_MAX_POINTS corners, a corner that is not two
 * numbers or lies outside -90..90 / -180..180, more than
 * GR_MAP_MAX_OUTLINES lines; GR_ENOMEM. */
int gr_map_config_key(gr_map_config_t *mc, const char *name, const char *value, char *msg,
                      size_t msglen);

#endif
