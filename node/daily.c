#include "daily_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "error.h"
#include "log.h"

/* router/day speaks its own day states; the casts to and from the wire's
 * DailyUnit.State below rely on their values being equal. */
#define S_SAME(a, b) _Static_assert((int)(a) == (int)(b), #a " must equal " #b)
S_SAME(GR_DAY_ON_TIME, GRIDRELAY__DAILY_UNIT__STATE__ON_TIME);
S_SAME(GR_DAY_LATE, GRIDRELAY__DAILY_UNIT__STATE__LATE);
S_SAME(GR_DAY_MISSING, GRIDRELAY__DAILY_UNIT__STATE__MISSING);
S_SAME(GR_DAY_PENDING, GRIDRELAY__DAILY_UNIT__STATE__PENDING);

/* Days closed in one timer run at most (a clock moved months ahead closes
 * the rest on the next turns). */
#define S_CLOSE_MAX 62
#define S_CLOSED_COUNTER "daily.closed_through"  /* last closed day + 1; 0 = never armed */

static int s_owed_init(gr_daily_t *self);

/* ---- lifecycle ---- */

gr_daily_t *gr_daily_new(const gr_config_t *cfg, gr_engine_t *engine)
{
    gr_daily_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = cfg;
    self->engine = engine;
    const gr_daily_config_t *dc = &cfg->daily;
    /* A node with [daily] but no units (a township that only collects)
     * still closes its days: its empty summary tells the parent it is up. */
    self->tracked = dc->enabled;
    if (self->tracked && s_owed_init(self) != 0) {
        free(self);
        return NULL;
    }
    if (dc->enabled && !dc->fixed) {
        /* localtime_r() reads the zone from TZ; the log writes UTC. */
        char tz[72];
        snprintf(tz, sizeof tz, ":%s", dc->zone);
        if (setenv("TZ", tz, 1) != 0) {
            free(self);
            return NULL;
        }
        tzset();
    }
    return self;
}

void gr_daily_destroy(gr_daily_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->owed);
    free(*self_p);
    *self_p = NULL;
}

bool gr_daily_is_zero(const gr_config_t *cfg, const char *category)
{
    return category && strcmp(category, cfg->daily.category) == 0;
}

/* ---- time ---- */

/* Minutes east of UTC at ms in the node's zone. */
static int s_offset(const gr_daily_t *self, uint64_t ms)
{
    const gr_daily_config_t *dc = &self->cfg->daily;
    if (dc->fixed)
        return dc->offset_min;
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm))
        return 0;
    return (int)(tm.tm_gmtoff / 60);
}

int64_t gr_daily_day_of(const gr_daily_t *self, uint64_t ms)
{
    return gr_day_of(ms, s_offset(self, ms));
}

/* The zone's offset at the due time itself (summer time begins or ends
 * at night, so noon's offset is that of the evening). */
uint64_t gr_daily_due(const gr_daily_t *self, int64_t day)
{
    uint64_t noon = gr_day_due_ms(day, 12 * 60, 0);
    return gr_day_due_ms(day, self->cfg->daily.due_min, s_offset(self, noon));
}

static int64_t s_last_due_day(const gr_daily_t *self, uint64_t now_ms)
{
    int64_t day = gr_daily_day_of(self, now_ms);
    return gr_daily_due(self, day) <= now_ms ? day : day - 1;
}

/* ---- units ---- */

static int s_by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names of the units owing a report here, sorted: looked up for every
 * report and every unit of a summary, so a node of 1,000 units stays fast. */
static int s_owed_init(gr_daily_t *self)
{
    const gr_daily_config_t *dc = &self->cfg->daily;
    size_t cap = dc->mode == GR_DAILY_UNITS_LIST ? dc->n_units
                 : dc->mode == GR_DAILY_UNITS_NODE ? 1
                                                   : gr_trust_count(self->cfg->trust);
    self->owed = calloc(cap ? cap : 1, sizeof *self->owed);
    if (!self->owed)
        return GR_ENOMEM;
    if (dc->mode == GR_DAILY_UNITS_NODE) {
        self->owed[self->n_owed++] = self->cfg->node_id;
    } else if (dc->mode == GR_DAILY_UNITS_LIST) {
        for (size_t i = 0; i < dc->n_units; i++)
            self->owed[self->n_owed++] = dc->units[i];
    } else if (dc->mode == GR_DAILY_UNITS_REPORTERS) {
        for (size_t i = 0; i < gr_trust_count(self->cfg->trust); i++) {
            const gr_trusted_key_t *t = gr_trust_at(self->cfg->trust, i);
            /* Grid workers owe it; the node's operators, viewers and
             * auditors (people too) do not, unless they also report. */
            if (t->role == GR_ROLE_REPORTER && (t->access & GR_ACCESS_REPORTER))
                self->owed[self->n_owed++] = t->name;
        }
    }
    qsort(self->owed, self->n_owed, sizeof *self->owed, s_by_name);
    return 0;
}

static size_t s_unit_count(const gr_daily_t *self)
{
    return self->n_owed;
}

/* The i-th unit owing a report here (i < s_unit_count()), by name. */
static const char *s_unit_at(const gr_daily_t *self, size_t i)
{
    return self->owed[i];
}

/* The owed unit named name, or NULL. */
static const char *s_owed(const gr_daily_t *self, const char *name)
{
    if (!self->n_owed || !name)
        return NULL;
    const char *const *found = bsearch(&name, self->owed, self->n_owed, sizeof *self->owed,
                                       s_by_name);
    return found ? *found : NULL;
}

/* The unit a report by `who` counts for, or NULL. */
static const char *s_unit_of(const gr_daily_t *self, const char *who)
{
    if (!self->tracked || !who)
        return NULL;
    if (self->cfg->daily.mode == GR_DAILY_UNITS_NODE)
        return self->cfg->node_id;
    return s_owed(self, who);
}

/* ---- the day record ---- */

void gr_daily_day_free(gr_daily_day_t *d)
{
    free(d->units);
    memset(d, 0, sizeof *d);
}

static gr_daily_unit_t *s_day_find(gr_daily_day_t *d, const char *unit)
{
    for (size_t i = 0; i < d->count; i++)
        if (strcmp(d->units[i].unit, unit) == 0)
            return &d->units[i];
    return NULL;
}

static gr_daily_unit_t *s_day_add(gr_daily_day_t *d, const char *unit)
{
    if (d->count == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        gr_daily_unit_t *grown = realloc(d->units, cap * sizeof *grown);
        if (!grown)
            return NULL;
        d->units = grown;
        d->cap = cap;
    }
    gr_daily_unit_t *u = &d->units[d->count++];
    memset(u, 0, sizeof *u);
    snprintf(u->unit, sizeof u->unit, "%s", unit);
    return u;
}

/* This node's own record of day into d (empty when none yet). */
int gr_daily_day_load(const gr_daily_t *self, gr_txn_t *txn, int64_t day, gr_daily_day_t *d)
{
    memset(d, 0, sizeof *d);
    Gridrelay__DailySummary *s = NULL;
    int rc = gr_store_daily_get(txn, day, self->cfg->node_id, &s);
    if (rc == GR_ENOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    d->version = s->version;
    d->closed = s->closed;
    for (size_t i = 0; rc == 0 && i < s->n_exceptions; i++) {
        const Gridrelay__DailyUnit *in = s->exceptions[i];
        gr_daily_unit_t *u = s_day_add(d, in->unit);
        if (!u) {
            rc = GR_ENOMEM;
            break;
        }
        u->state = (gr_day_state_t)in->state;
        u->first_ms = in->first_ms;
        u->late_ms = in->late_ms;
        u->reports = in->reports;
        snprintf(u->event_id, sizeof u->event_id, "%s", in->event_id);
    }
    gridrelay__daily_summary__free_unpacked(s, NULL);
    if (rc != 0)
        gr_daily_day_free(d);
    return rc;
}

static int s_by_unit(const void *a, const void *b)
{
    return strcmp((*(Gridrelay__DailyUnit *const *)a)->unit, (*(Gridrelay__DailyUnit *const *)b)->unit);
}

/* A summary of d (its units array is the caller's to free): every unit,
 * or (up) only the late and missing ones. The counts are of the units
 * owing a report; those not in d are pending before the due time and
 * missing after it. */
int gr_daily_summary(gr_daily_t *self, const gr_daily_day_t *d, int64_t day, uint64_t now_ms,
                     gr_daily_pick_t pick, Gridrelay__DailySummary *out,
                     Gridrelay__DailyUnit **units, Gridrelay__DailyUnit ***ptrs)
{
    bool up = pick == GR_DAILY_UP, missing_only = pick == GR_DAILY_MISSING;
    gridrelay__daily_summary__init(out);
    out->node_id = (char *)self->cfg->node_id;
    out->date = (char *)self->date;  /* of the last call: one summary at a time */
    gr_day_date(day, self->date);
    out->tier_level = (uint32_t)self->cfg->tier_level;
    out->version = d->version;
    out->closed = d->closed;
    out->due_ms = gr_daily_due(self, day);
    size_t owed = s_unit_count(self);
    size_t cap = owed + d->count;
    *units = calloc(cap ? cap : 1, sizeof **units);
    *ptrs = calloc(cap ? cap : 1, sizeof **ptrs);
    if (!*units || !*ptrs) {
        free(*units);
        free(*ptrs);
        return GR_ENOMEM;
    }
    gr_day_tally_t tally = {0};
    size_t n = 0;
    /* Owed units first, then any recorded since dropped from the config
     * (still shown here: they did report). */
    for (size_t i = 0; i < owed + d->count; i++) {
        const char *name = i < owed ? s_unit_at(self, i) : d->units[i - owed].unit;
        const gr_daily_unit_t *u = s_day_find((gr_daily_day_t *)d, name);
        /* Recorded ones that are owed were counted above; one dropped
         * from the config since is shown here, and never sent up. */
        if (i >= owed && (s_owed(self, name) || up))
            continue;
        gr_day_state_t state = u ? u->state : gr_day_state(0, out->due_ms, now_ms, NULL);
        if (i < owed)
            gr_day_tally_add(&tally, state);
        if ((up && !gr_day_is_exception(state)) || (missing_only && state != GR_DAY_MISSING))
            continue;
        Gridrelay__DailyUnit *w = &(*units)[n];
        gridrelay__daily_unit__init(w);
        w->unit = (char *)name;
        w->state = (Gridrelay__DailyUnit__State)state;
        if (u) {
            w->first_ms = u->first_ms;
            w->late_ms = u->late_ms;
            w->reports = u->reports;
            /* The report's id means nothing above (a zero report is
             * nowhere else): kept here, not sent, so 1,000 units fit. */
            w->event_id = (char *)(up ? "" : u->event_id);
        }
        (*ptrs)[n] = w;
        n++;
    }
    qsort(*ptrs, n, sizeof **ptrs, s_by_unit);
    out->units = tally.units;
    out->on_time = tally.on_time;
    out->late = tally.late;
    out->missing = tally.missing;
    out->pending = tally.pending;
    out->exceptions = *ptrs;
    out->n_exceptions = n;
    return 0;
}

static int s_send_up(gr_daily_t *self, gr_txn_t *txn, Gridrelay__DailySummary *s)
{
    if (!self->cfg->has_parent)
        return 0;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_DAILY_SUMMARY;
    body.daily_summary = s;
    return gr_engine_enqueue(self->engine, txn, "parent", &body);
}

/* Stores d as day's record here (only the units recorded: the others
 * follow from the config) and, when send, its summary goes up. */
static int s_day_save(gr_daily_t *self, gr_txn_t *txn, const gr_daily_day_t *d, int64_t day,
                      uint64_t now_ms, bool send)
{
    Gridrelay__DailySummary s;
    Gridrelay__DailyUnit *units = NULL, **ptrs = NULL;
    int rc = gr_daily_summary(self, d, day, now_ms, GR_DAILY_EVERY, &s, &units, &ptrs);
    if (rc != 0)
        return rc;
    size_t kept = 0;
    for (size_t i = 0; i < s.n_exceptions; i++)
        if (s_day_find((gr_daily_day_t *)d, s.exceptions[i]->unit))
            s.exceptions[kept++] = s.exceptions[i];
    s.n_exceptions = kept;
    rc = gr_store_daily_put(txn, day, self->cfg->node_id, &s);
    free(units);
    free(ptrs);
    if (rc != 0 || !send)
        return rc;
    rc = gr_daily_summary(self, d, day, now_ms, GR_DAILY_UP, &s, &units, &ptrs);
    /* Names that would not fit the parent's frame are left out (the last
     * in name order); the counts stay exact. */
    size_t frame = self->cfg->max_frame ? self->cfg->max_frame : 65536;
    while (rc == 0 && s.n_exceptions &&
           gridrelay__daily_summary__get_packed_size(&s) + 512 > frame)
        s.n_exceptions--;
    if (rc == 0)
        rc = s_send_up(self, txn, &s);
    free(units);
    free(ptrs);
    return rc;
}

/* ---- reports and the timer ---- */

int gr_daily_report(gr_daily_t *self, gr_txn_t *txn, const char *who, const char *event_id,
                    uint64_t now_ms)
{
    const char *unit = s_unit_of(self, who);
    if (!unit)
        return 0;
    int64_t day = gr_daily_day_of(self, now_ms);
    uint64_t due = gr_daily_due(self, day);
    gr_daily_day_t d;
    int rc = gr_daily_day_load(self, txn, day, &d);
    if (rc != 0)
        return rc;
    gr_daily_unit_t *u = s_day_find(&d, unit);
    if (!u && !(u = s_day_add(&d, unit))) {
        gr_daily_day_free(&d);
        return GR_ENOMEM;
    }
    bool first = u->first_ms == 0;
    if (first) {
        /* Its first report that day (also one after the day was closed
         * with the unit missing): on time or late, no longer missing. */
        u->first_ms = now_ms;
        u->state = gr_day_state(now_ms, due, now_ms, &u->late_ms);
        snprintf(u->event_id, sizeof u->event_id, "%s", event_id);
    }
    u->reports++;
    /* A closed day's summary is sent again when a unit's state changed; a
     * second report that day is only counted here. */
    bool send = first && d.closed;
    if (send)
        d.version++;
    rc = s_day_save(self, txn, &d, day, now_ms, send);
    gr_daily_day_free(&d);
    return rc;
}

/* The day's due time passed: units with nothing are missing, the day is
 * closed and its summary goes up. */
static int s_close(gr_daily_t *self, gr_txn_t *txn, int64_t day, uint64_t now_ms)
{
    gr_daily_day_t d;
    int rc = gr_daily_day_load(self, txn, day, &d);
    if (rc != 0)
        return rc;
    size_t owed = s_unit_count(self);
    for (size_t i = 0; rc == 0 && i < owed; i++) {
        const char *name = s_unit_at(self, i);
        if (s_day_find(&d, name))
            continue;
        gr_daily_unit_t *u = s_day_add(&d, name);
        if (!u)
            rc = GR_ENOMEM;
        else
            u->state = GR_DAY_MISSING;
    }
    d.closed = true;
    d.version++;
    if (rc == 0)
        rc = s_day_save(self, txn, &d, day, now_ms, true);
    if (rc == 0) {
        char date[GR_DAY_DATE_LEN + 1];
        gr_day_date(day, date);
        size_t missing = 0;
        for (size_t i = 0; i < d.count; i++)
            missing += d.units[i].state == GR_DAY_MISSING;
        gr_log(missing ? GR_LOG_NOTICE : GR_LOG_INFO, NULL, "daily reports of %s closed: "
               "%zu unit(s), %zu missing", date, owed, missing);
    }
    gr_daily_day_free(&d);
    return rc;
}

static int s_arm_next(gr_daily_t *self, gr_txn_t *txn, int64_t closed_through)
{
    return gr_store_due_put(txn, gr_daily_due(self, closed_through + 1), GR_DUE_DAILY, "daily");
}

int gr_daily_arm(gr_daily_t *self, gr_txn_t *txn, uint64_t now_ms)
{
    if (!self->tracked)
        return 0;
    uint64_t through = 0;
    int rc = gr_store_counter_get(txn, S_CLOSED_COUNTER, &through);
    if (rc != 0)
        return rc;
    if (through == 0) {
        /* First start with [daily]: days whose due time already passed
         * were never tracked, so they are not judged. */
        int64_t last = s_last_due_day(self, now_ms);
        through = (uint64_t)(last + 1);
        if ((rc = gr_store_counter_add(txn, S_CLOSED_COUNTER, through)) != 0)
            return rc;
    }
    /* Armed again at every start: a put of the same timer is a no-op, and
     * one left by an earlier due time finds nothing to close. */
    return s_arm_next(self, txn, (int64_t)through - 1);
}

int gr_daily_fire(gr_daily_t *self, gr_txn_t *txn, uint64_t now_ms)
{
    if (!self->tracked)
        return 0;
    uint64_t through = 0;
    int rc = gr_store_counter_get(txn, S_CLOSED_COUNTER, &through);
    if (rc != 0 || through == 0)
        return rc;
    int64_t closed = (int64_t)through - 1, last = s_last_due_day(self, now_ms);
    int64_t upto = last > closed + S_CLOSE_MAX ? closed + S_CLOSE_MAX : last;
    for (int64_t day = closed + 1; rc == 0 && day <= upto; day++)
        rc = s_close(self, txn, day, now_ms);
    if (rc == 0 && upto > closed)
        rc = gr_store_counter_add(txn, S_CLOSED_COUNTER, (uint64_t)(upto - closed));
    if (rc != 0)
        return rc;
    /* A clock that went back leaves closed days closed; days still due
     * (more than S_CLOSE_MAX passed at once) fire again at once. */
    int64_t through_now = upto > closed ? upto : closed;
    return s_arm_next(self, txn, through_now);
}

/* ---- summaries from below ---- */

int gr_daily_summary_in(gr_daily_t *self, const gr_request_t *req)
{
    const Gridrelay__DailySummary *in = req->opened->body->daily_summary;
    uint64_t ref = gr_request_seq(req);
    int64_t day = 0;
    gr_day_date_parse(in->date, &day);  /* checked in node/check */
    /* A child passes on its own summary and those of the nodes below it,
     * never one of this tier or above, nor another child's. */
    int level = self->cfg->tier_level;
    if ((int)in->tier_level >= level ||
        ((int)in->tier_level == level - 1 && strcmp(in->node_id, req->source->peer) != 0) ||
        strcmp(in->node_id, self->cfg->node_id) == 0)
        return gr_reply_error(req->reply, ref, GR_EPERM, "a daily summary from a child is its "
                              "own or one of the tiers below it");
    Gridrelay__DailySummary *held = NULL;
    int rc = gr_store_daily_get(req->txn, day, in->node_id, &held);
    if (rc != 0 && rc != GR_ENOTFOUND)
        return rc;
    bool newer = !held || in->version > held->version;
    if (held)
        gridrelay__daily_summary__free_unpacked(held, NULL);
    if (newer) {
        rc = gr_store_daily_put(req->txn, day, in->node_id, in);
        if (rc == 0)
            rc = s_send_up(self, req->txn, (Gridrelay__DailySummary *)in);
        if (rc != 0)
            return rc;
        gr_log(GR_LOG_INFO, NULL, "daily summary %s v%u from %s: %u unit(s), %u late, %u "
               "missing", in->date, in->version, in->node_id, in->units, in->late, in->missing);
    }
    return gr_reply_ack(req->reply, ref, "", !newer, GRIDRELAY__STATUS__STATUS_UNSPECIFIED);
}
