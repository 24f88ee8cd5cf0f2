/* Duplicate reports (合并): is a new report a candidate duplicate of an
 * open case, i.e. most likely the same fire or dispute told by another
 * grid worker?
 *
 * Pure, like decide.h: facts and limits in, a yes or no out; no I/O, no
 * clock, no allocation. The node asks it for each open case of the new
 * report's category received within the window (node/merge.c) and links
 * the report to the first that matches; an operator then merges or not
 * (gridctl merge). Being a candidate changes nothing in the lifecycle.
 *
 * Two reports are candidates when all of these hold:
 *  - the same category code (a fire and a dispute at one address are two
 *    incidents);
 *  - created within window_ms of each other, either way (reports arrive
 *    out of order from the field);
 *  - at one place: the same non-empty grid code, or both with coordinates
 *    no more than distance_m apart (great-circle distance, haversine on a
 *    sphere of the Earth's mean radius, 6,371,008.8 m).
 * A window of 0 turns the check off (nothing is a candidate). A distance
 * of 0 leaves only the grid code and identical coordinates.
 *
 * Thread safety: no state; safe from any thread.
 */
#ifndef GR_DUPLICATE_H
#define GR_DUPLICATE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint64_t window_ms;   /* 0 = candidate detection off */
    double distance_m;    /* coordinates this close are one place */
} gr_duplicate_limits_t;

typedef struct {
    const char *category;   /* catalogue code; NULL or "" never matches */
    const char *grid_code;  /* NULL or "" = not given */
    bool has_coordinates;
    double lat, lon;        /* degrees, when has_coordinates */
    uint64_t created_ms;    /* when the reporter made it */
} gr_duplicate_facts_t;

/* Whether report is a candidate duplicate of open_case under limits. */
bool gr_duplicate_candidate(const gr_duplicate_limits_t *limits,
                            const gr_duplicate_facts_t *report,
                            const gr_duplicate_facts_t *open_case);

/* Great-circle distance in metres between two points given in degrees. */
double gr_duplicate_distance_m(double lat1, double lon1, double lat2, double lon2);

#endif
