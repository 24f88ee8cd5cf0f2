#include "duplicate.h"

#include <math.h>
#include <string.h>

#define S_EARTH_RADIUS_M 6371008.8
#define S_PI 3.14159265358979323846

static double s_rad(double deg)
{
    return deg * S_PI / 180.0;
}

double gr_duplicate_distance_m(double lat1, double lon1, double lat2, double lon2)
{
    double dlat = s_rad(lat2 - lat1), dlon = s_rad(lon2 - lon1);
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(s_rad(lat1)) * cos(s_rad(lat2)) * sin(dlon / 2) * sin(dlon / 2);
    /* Rounding can push a just above 1 for antipodal points. */
    if (a > 1.0)
        a = 1.0;
    return 2.0 * S_EARTH_RADIUS_M * asin(sqrt(a));
}

static bool s_set(const char *s)
{
    return s && *s;
}

bool gr_duplicate_candidate(const gr_duplicate_limits_t *limits,
                            const gr_duplicate_facts_t *report,
                            const gr_duplicate_facts_t *open_case)
{
    if (!limits || !report || !open_case || limits->window_ms == 0)
        return false;
    if (!s_set(report->category) || !s_set(open_case->category) ||
        strcmp(report->category, open_case->category) != 0)
        return false;
    uint64_t a = report->created_ms, b = open_case->created_ms;
    if ((a > b ? a - b : b - a) > limits->window_ms)
        return false;
    if (s_set(report->grid_code) && s_set(open_case->grid_code) &&
        strcmp(report->grid_code, open_case->grid_code) == 0)
        return true;
    if (!report->has_coordinates || !open_case->has_coordinates)
        return false;
    return gr_duplicate_distance_m(report->lat, report->lon, open_case->lat, open_case->lon) <=
           limits->distance_m;
}
