/* The [daily] section of a node's config: who owes a daily report (日报告,
 * a zero report 零报告 when nothing happened) at this node, and by which
 * local time.
 *
 *   [daily]
 *   due = 18:00                 ; local time the day's report is due (default 18:00)
 *   timezone = Asia/Shanghai    ; a tz database name, or a fixed offset
 *                               ; (+08:00, UTC+8, UTC); default UTC
 *   units = reporters           ; who owes it: every [reporters] key (the default),
 *                               ; a list "zhang, li" of [reporters] names, "node"
 *                               ; (the node as one unit: any reporter's report
 *                               ; counts) or "none" (a township that only collects)
 *   category = DAILY.SAFE       ; the catalogue's zero-report item (default DAILY.SAFE)
 *
 * A node without [daily] owes nothing and fires no daily timer; it still
 * keeps and passes up the summaries of the nodes below it, and a report of
 * the zero-report category is still recorded without a case lifecycle.
 *
 * Thread safety: filled once while the config loads, then read-only.
 */
#ifndef GR_DAILY_CONFIG_H
#define GR_DAILY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "catalogue.h"
#include "trust.h"

typedef enum {
    GR_DAILY_UNITS_REPORTERS = 0,  /* every reporter key */
    GR_DAILY_UNITS_LIST,           /* the keys named in units */
    GR_DAILY_UNITS_NODE,           /* the node itself, as one unit */
    GR_DAILY_UNITS_NONE,           /* nobody here */
} gr_daily_units_t;

enum { GR_DAILY_KEY_DUE, GR_DAILY_KEY_TIMEZONE, GR_DAILY_KEY_UNITS, GR_DAILY_KEY_CATEGORY,
       GR_DAILY_KEY_COUNT };

#define GR_DAILY_UNITS_MAX 1000
#define GR_DAILY_NAME_MAX 63

typedef struct {
    bool enabled;               /* the config has a [daily] section */
    int due_min;                /* minutes after local midnight */
    bool fixed;                 /* offset_min applies; else zone names a tz database zone */
    int offset_min;             /* minutes east of UTC */
    char zone[64];
    char category[48];
    gr_daily_units_t mode;
    char (*units)[GR_DAILY_NAME_MAX + 1];  /* GR_DAILY_UNITS_LIST: the names, in file order */
    size_t n_units;
    int line[GR_DAILY_KEY_COUNT];          /* where each key was, 0 = not given */
} gr_daily_config_t;

/* The defaults: 18:00 UTC, every reporter, DAILY.SAFE, not enabled. */
void gr_daily_config_init(gr_daily_config_t *dc);

/* One key of [daily] at line. Returns 0, or GR_ECONFIG / GR_ENOMEM with
 * what is wrong in msg (without "FILE:LINE: ", which the caller adds). */
int gr_daily_config_key(gr_daily_config_t *dc, const char *key, const char *value, int line,
                        char *msg, size_t msglen);

/* The checks that need the whole file: every unit named a reporter key,
 * the category in the catalogue. Returns 0, or GR_ECONFIG with msg and
 * *line (the key concerned). */
int gr_daily_config_finish(const gr_daily_config_t *dc, const gr_trust_t *trust,
                           const gr_catalogue_t *catalogue, char *msg, size_t msglen, int *line);

/* Frees the unit list. */
void gr_daily_config_clear(gr_daily_config_t *dc);

#endif
