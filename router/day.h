/* The day of daily and zero reports (日报告、零报告): which day a time belongs to,
 * when that day's report is due, and where a unit stands.
 *
 * Pure, like decide.h: times, the zone's offset and the due time in,
 * decisions out; no I/O, no clock, no allocation. A day is a number of
 * local days since 1970-01-01 in the node's zone (offset_min: minutes east
 * of UTC, as at the instant in question; node/daily.c looks it up for
 * zones with summer time). A unit reporting at or before the day's due
 * time is on time, after it (the same day) late; a day whose due time has
 * passed with nothing from the unit makes it missing, before that it is
 * pending. Exactly at the due time counts as on time.
 *
 * Thread safety: no state; safe from any thread.
 */
#ifndef GR_DAY_H
#define GR_DAY_H

#include <stdbool.h>
#include <stdint.h>

/* The values of DailyUnit.State in the wire schema. */
typedef enum {
    GR_DAY_ON_TIME = 1,
    GR_DAY_LATE = 2,
    GR_DAY_MISSING = 3,
    GR_DAY_PENDING = 4,
} gr_day_state_t;

#define GR_DAY_DATE_LEN 10          /* "YYYY-MM-DD" */
#define GR_DAY_OFFSET_MAX (14 * 60) /* UTC-14:00 .. UTC+14:00 */
#define GR_DAY_MS (24ull * 3600 * 1000)

/* The local day of ms (ms since the epoch) at offset_min east of UTC. */
int64_t gr_day_of(uint64_t ms, int offset_min);

/* The instant (ms since the epoch) of local time due_min (minutes after
 * midnight) on day, at offset_min. */
uint64_t gr_day_due_ms(int64_t day, int due_min, int offset_min);

/* The latest day whose due time is at or before now_ms. */
int64_t gr_day_last_due(uint64_t now_ms, int due_min, int offset_min);

/* Writes day as "YYYY-MM-DD" (out: GR_DAY_DATE_LEN + 1 bytes). */
void gr_day_date(int64_t day, char *out);

/* Parses "YYYY-MM-DD" (a real calendar date, years 1970..9999) into *day.
 * Returns 0, or -1 for anything else. */
int gr_day_date_parse(const char *text, int64_t *day);

/* Parses a local time "HH:MM" (00:00..23:59) into minutes after midnight.
 * Returns 0 or -1. */
int gr_day_time_parse(const char *text, int *minutes);

/* Parses a fixed UTC offset: "UTC", "Z", "+08:00", "-05:30", "+0800",
 * "UTC+8", "UTC+08:00" (at most 14 hours either way) into minutes east of
 * UTC. Returns 0, or -1 (then it may be a zone name, node/daily.c). */
int gr_day_offset_parse(const char *text, int *offset_min);

/* Where a unit stands on a day due at due_ms, seen at now_ms: first_ms is
 * its first report that day (0: none). *late_ms (may be NULL) gets how
 * late it was for LATE, else 0. */
gr_day_state_t gr_day_state(uint64_t first_ms, uint64_t due_ms, uint64_t now_ms,
                                uint64_t *late_ms);

/* Counts of one node's day. */
typedef struct {
    uint32_t units, on_time, late, missing, pending;
} gr_day_tally_t;

/* Counts one unit in state. */
void gr_day_tally_add(gr_day_tally_t *tally, gr_day_state_t state);

/* Whether a unit in state is listed in the summary sent up (late and
 * missing are; on time and pending are only counted). */
bool gr_day_is_exception(gr_day_state_t state);

#endif
