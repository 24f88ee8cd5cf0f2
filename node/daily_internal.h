/* Private to node/daily.c and node/daily_list.c: the daily module's
 * state, the day record and the summary builder they share.
 *
 * Thread safety: the daemon's main thread only.
 */
#ifndef GR_DAILY_INTERNAL_H
#define GR_DAILY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daily.h"
#include "day.h"
#include "wire.h"

/* Summaries a parent keeps from one child and passes on are limited by
 * the frame; this many exceptions fit with room to spare. */
#define GR_DAILY_EXCEPTIONS_MAX 1000

struct gr_daily {
    const gr_config_t *cfg;
    gr_engine_t *engine;
    bool tracked;   /* a [daily] section: days are closed here */
    const char **owed;  /* the units owing a report here, by name (into cfg) */
    size_t n_owed;
    char date[GR_DAY_DATE_LEN + 1];  /* of the summary being built */
};

/* One unit's day, as this node keeps it. */
typedef struct {
    char unit[GR_DAILY_NAME_MAX + 1];
    gr_day_state_t state;
    uint64_t first_ms, late_ms;
    uint32_t reports;
    char event_id[GR_EVENT_ID_MAX + 1];
} gr_daily_unit_t;

/* This node's record of one day: the units that reported or were found
 * missing. */
typedef struct {
    gr_daily_unit_t *units;
    size_t count, cap;
    uint32_t version;
    bool closed;
} gr_daily_day_t;

/* The local day of ms, and the due instant of day, in the node's zone. */
int64_t gr_daily_day_of(const gr_daily_t *self, uint64_t ms);
uint64_t gr_daily_due(const gr_daily_t *self, int64_t day);

/* This node's own record of day into d (empty when none yet); free it
 * with gr_daily_day_free(). */
int gr_daily_day_load(const gr_daily_t *self, gr_txn_t *txn, int64_t day, gr_daily_day_t *d);
void gr_daily_day_free(gr_daily_day_t *d);

/* Which units a summary lists. */
typedef enum {
    GR_DAILY_EVERY = 0,     /* every owed unit, and any recorded since dropped */
    GR_DAILY_UP,            /* the late and missing ones, for the parent */
    GR_DAILY_MISSING,       /* only the missing ones */
} gr_daily_pick_t;

/* A summary of d into out, whose arrays (*units, *ptrs) the caller frees;
 * out->date points into self until the next call. The units pick says;
 * the counts are of the owed units, those not in d pending before the due
 * time and missing after it. */
int gr_daily_summary(gr_daily_t *self, const gr_daily_day_t *d, int64_t day, uint64_t now_ms,
                     gr_daily_pick_t pick, Gridrelay__DailySummary *out,
                     Gridrelay__DailyUnit **units, Gridrelay__DailyUnit ***ptrs);

#endif
