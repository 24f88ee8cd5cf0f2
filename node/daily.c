#include "daily.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "day.h"
#include "error.h"
#include "event_id.h"
#include "log.h"
#include "wire.h"

/* Days closed in one timer run at most (a clock moved months ahead closes
 * the rest on the next turns). */
#define S_CLOSE_MAX 62
/* Summaries a parent keeps from one child and passes on are limited by
 * the frame; this many exceptions fit with room to spare. */
#define S_EXCEPTIONS_MAX 1000
#define S_CLOSED_COUNTER "daily.closed_through"  /* last closed day + 1; 0 = never armed */

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
} s_unit_t;

typedef struct {
    s_unit_t *units;
    size_t count, cap;
    uint32_t version;
    bool closed;
} s_day_t;

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

static int64_t s_day_of(const gr_daily_t *self, uint64_t ms)
{
    return gr_day_of(ms, s_offset(self, ms));
}

/* The zone's offset at the due time itself (summer time begins or ends
 * at night, so noon's offset is that of the evening). */
static uint64_t s_due(const gr_daily_t *self, int64_t day)
{
    uint64_t noon = gr_day_due_ms(day, 12 * 60, 0);
    return gr_day_due_ms(day, self->cfg->daily.due_min, s_offset(self, noon));
}

static int64_t s_last_due_day(const gr_daily_t *self, uint64_t now_ms)
{
    int64_t day = s_day_of(self, now_ms);
    return s_due(self, day) <= now_ms ? day : day - 1;
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
            if (t->role == GR_ROLE_REPORTER)
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

static void s_day_free(s_day_t *d)
{
    free(d->units);
    memset(d, 0, sizeof *d);
}

static s_unit_t *s_day_find(s_day_t *d, const char *unit)
{
    for (size_t i = 0; i < d->count; i++)
        if (strcmp(d->units[i].unit, unit) == 0)
            return &d->units[i];
    return NULL;
}

static s_unit_t *s_day_add(s_day_t *d, const char *unit)
{
    if (d->count == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        s_unit_t *grown = realloc(d->units, cap * sizeof *grown);
        if (!grown)
            return NULL;
        d->units = grown;
        d->cap = cap;
    }
    s_unit_t *u = &d->units[d->count++];
    memset(u, 0, sizeof *u);
    snprintf(u->unit, sizeof u->unit, "%s", unit);
    return u;
}

/* This node's own record of day into d (empty when none yet). */
static int s_day_load(const gr_daily_t *self, gr_txn_t *txn, int64_t day, s_day_t *d)
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
        s_unit_t *u = s_day_add(d, in->unit);
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
        s_day_free(d);
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
static int s_summary(gr_daily_t *self, const s_day_t *d, int64_t day, uint64_t now_ms,
                     bool up, bool missing_only, Gridrelay__DailySummary *out,
                     Gridrelay__DailyUnit **units, Gridrelay__DailyUnit ***ptrs)
{
    gridrelay__daily_summary__init(out);
    out->node_id = (char *)self->cfg->node_id;
    out->date = (char *)self->date;  /* of the last call: one summary at a time */
    gr_day_date(day, self->date);
    out->tier_level = (uint32_t)self->cfg->tier_level;
    out->version = d->version;
    out->closed = d->closed;
    out->due_ms = s_due(self, day);
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
        const s_unit_t *u = s_day_find((s_day_t *)d, name);
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
static int s_day_save(gr_daily_t *self, gr_txn_t *txn, const s_day_t *d, int64_t day,
                      uint64_t now_ms, bool send)
{
    Gridrelay__DailySummary s;
    Gridrelay__DailyUnit *units = NULL, **ptrs = NULL;
    int rc = s_summary(self, d, day, now_ms, false, false, &s, &units, &ptrs);
    if (rc != 0)
        return rc;
    size_t kept = 0;
    for (size_t i = 0; i < s.n_exceptions; i++)
        if (s_day_find((s_day_t *)d, s.exceptions[i]->unit))
            s.exceptions[kept++] = s.exceptions[i];
    s.n_exceptions = kept;
    rc = gr_store_daily_put(txn, day, self->cfg->node_id, &s);
    free(units);
    free(ptrs);
    if (rc != 0 || !send)
        return rc;
    rc = s_summary(self, d, day, now_ms, true, false, &s, &units, &ptrs);
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
    int64_t day = s_day_of(self, now_ms);
    uint64_t due = s_due(self, day);
    s_day_t d;
    int rc = s_day_load(self, txn, day, &d);
    if (rc != 0)
        return rc;
    s_unit_t *u = s_day_find(&d, unit);
    if (!u && !(u = s_day_add(&d, unit))) {
        s_day_free(&d);
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
    s_day_free(&d);
    return rc;
}

/* The day's due time passed: units with nothing are missing, the day is
 * closed and its summary goes up. */
static int s_close(gr_daily_t *self, gr_txn_t *txn, int64_t day, uint64_t now_ms)
{
    s_day_t d;
    int rc = s_day_load(self, txn, day, &d);
    if (rc != 0)
        return rc;
    size_t owed = s_unit_count(self);
    for (size_t i = 0; rc == 0 && i < owed; i++) {
        const char *name = s_unit_at(self, i);
        if (s_day_find(&d, name))
            continue;
        s_unit_t *u = s_day_add(&d, name);
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
    s_day_free(&d);
    return rc;
}

static int s_arm_next(gr_daily_t *self, gr_txn_t *txn, int64_t closed_through)
{
    return gr_store_due_put(txn, s_due(self, closed_through + 1), GR_DUE_DAILY, "daily");
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

/* ---- the list ---- */

typedef struct {
    const gr_daily_t *self;
    const Gridrelay__ListDaily *ask;
    Gridrelay__DailySummary **nodes;
    size_t count, cap;
    size_t bytes, budget;
    bool more;
    int failed;
} s_page_t;

/* Keeps a copy of a summary from below (filtered for --missing). */
static int s_page_visit(void *ctx, const Gridrelay__DailySummary *s)
{
    s_page_t *p = ctx;
    if (strcmp(s->node_id, p->self->cfg->node_id) == 0)
        return 0;
    int depth = p->self->cfg->tier_level - (int)s->tier_level;
    if (p->ask->below_limited && depth > (int)p->ask->tier_below)
        return 0;
    size_t size = gridrelay__daily_summary__get_packed_size(s);
    if (p->bytes + size > p->budget) {
        p->more = true;
        return 0;
    }
    uint8_t *buf = malloc(size ? size : 1);
    Gridrelay__DailySummary *copy = NULL;
    if (buf) {
        gridrelay__daily_summary__pack(s, buf);
        copy = gridrelay__daily_summary__unpack(NULL, size, buf);
        free(buf);
    }
    if (!copy || (p->count == p->cap && !(p->nodes = realloc(p->nodes, (p->cap = p->cap ? p->cap * 2 : 16) * sizeof *p->nodes)))) {
        if (copy)
            gridrelay__daily_summary__free_unpacked(copy, NULL);
        p->failed = GR_ENOMEM;
        return GR_ENOMEM;
    }
    if (p->ask->missing_only) {
        size_t kept = 0;
        for (size_t i = 0; i < copy->n_exceptions; i++) {
            if (copy->exceptions[i]->state == GRIDRELAY__DAILY_UNIT__STATE__MISSING)
                copy->exceptions[kept++] = copy->exceptions[i];
            else
                gridrelay__daily_unit__free_unpacked(copy->exceptions[i], NULL);
        }
        copy->n_exceptions = kept;
    }
    p->nodes[p->count++] = copy;
    p->bytes += size;
    return 0;
}

/* Lower tiers first is not what an operator reads: nearest tier first,
 * then by node id (the scan's order). */
static int s_by_tier(const void *a, const void *b)
{
    const Gridrelay__DailySummary *x = *(Gridrelay__DailySummary *const *)a;
    const Gridrelay__DailySummary *y = *(Gridrelay__DailySummary *const *)b;
    if (x->tier_level != y->tier_level)
        return x->tier_level > y->tier_level ? -1 : 1;
    return strcmp(x->node_id, y->node_id);
}

int gr_daily_list(gr_daily_t *self, const gr_request_t *req)
{
    const Gridrelay__ListDaily *ask = req->opened->body->list_daily;
    uint64_t ref = gr_request_seq(req);
    int64_t day = s_day_of(self, req->now_ms);
    if (ask->date && *ask->date && gr_day_date_parse(ask->date, &day) != 0)
        return gr_reply_error(req->reply, ref, GR_EINVAL, "date must be YYYY-MM-DD");
    s_page_t page = {.self = self, .ask = ask};
    size_t frame = self->cfg->max_frame ? self->cfg->max_frame : 65536;
    page.budget = frame > 4096 ? frame - 4096 : frame / 2;
    /* This node's own day, every unit (or only the missing). */
    s_day_t d;
    Gridrelay__DailySummary own;
    Gridrelay__DailyUnit *units = NULL, **ptrs = NULL;
    bool has_own = self->tracked;
    int rc = has_own ? s_day_load(self, req->txn, day, &d) : 0;
    if (rc != 0)
        return rc;
    if (has_own) {
        rc = s_summary(self, &d, day, req->now_ms, false, ask->missing_only, &own, &units, &ptrs);
        if (rc == 0)
            page.bytes = gridrelay__daily_summary__get_packed_size(&own);
    }
    if (rc == 0 && (!ask->below_limited || ask->tier_below > 0)) {
        int n = gr_store_daily_scan(req->txn, day, s_page_visit, &page);
        rc = n < 0 ? n : page.failed;
    }
    Gridrelay__DailySummary **all = NULL;
    char **silent = NULL;
    size_t n_silent = 0;
    if (rc == 0) {
        if (page.count)  /* qsort() takes no NULL array, even empty */
            qsort(page.nodes, page.count, sizeof *page.nodes, s_by_tier);
        all = calloc(page.count + 1, sizeof *all);
        silent = calloc(self->cfg->n_children + 1, sizeof *silent);
        if (!all || !silent)
            rc = GR_ENOMEM;
    }
    if (rc == 0) {
        size_t n = 0;
        if (has_own)
            all[n++] = &own;
        for (size_t i = 0; i < page.count; i++)
            all[n++] = page.nodes[i];
        /* Children of the next tier down that sent nothing for a day
         * already due: down, or not tracking daily reports. */
        uint64_t due = s_due(self, day);
        for (size_t i = 0; req->now_ms >= due && i < self->cfg->n_children; i++) {
            const char *child = self->cfg->children[i].id;
            bool seen = false;
            for (size_t j = 0; j < page.count && !seen; j++)
                seen = strcmp(page.nodes[j]->node_id, child) == 0;
            Gridrelay__DailySummary *held = NULL;
            if (!seen && gr_store_daily_get(req->txn, day, child, &held) == 0) {
                seen = true;  /* held, only not listed (tier_below, the frame) */
                gridrelay__daily_summary__free_unpacked(held, NULL);
            }
            if (!seen && (!ask->below_limited || ask->tier_below > 0))
                silent[n_silent++] = (char *)child;
        }
        char date[GR_DAY_DATE_LEN + 1];
        gr_day_date(day, date);
        Gridrelay__DailyPage out = GRIDRELAY__DAILY_PAGE__INIT;
        out.ref_seq = ref;
        out.date = date;
        out.nodes = all;
        out.n_nodes = n;
        out.now_ms = req->now_ms;
        out.more = page.more;
        out.missing_children = (uint32_t)n_silent;
        out.silent = silent;
        out.n_silent = n_silent;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_DAILY_PAGE;
        body.daily_page = &out;
        rc = gr_reply_pack(req->reply, &body);
    }
    free(all);
    free(silent);
    for (size_t i = 0; i < page.count; i++)
        gridrelay__daily_summary__free_unpacked(page.nodes[i], NULL);
    free(page.nodes);
    free(units);
    free(ptrs);
    if (has_own)
        s_day_free(&d);
    return rc;
}

/* ---- field checks ---- */

static int s_bad(char *why, size_t why_len, const char *field, const char *what)
{
    snprintf(why, why_len, "%s %s", field, what);
    return GR_EINVAL;
}

static bool s_name_ok(const char *s, size_t max)
{
    return s && *s && strlen(s) <= max;
}

int gr_daily_check(const Gridrelay__Body *body, char *why, size_t why_len)
{
    int64_t day;
    if (body->kind_case == GRIDRELAY__BODY__KIND_LIST_DAILY) {
        const Gridrelay__ListDaily *l = body->list_daily;
        if (l && l->date && *l->date && gr_day_date_parse(l->date, &day) != 0)
            return s_bad(why, why_len, "list_daily.date", "must be YYYY-MM-DD");
        if (l && l->tier_below > 16)
            return s_bad(why, why_len, "list_daily.tier_below", "must be 0..16");
        return 0;
    }
    const Gridrelay__DailySummary *s = body->daily_summary;
    if (!s)
        return s_bad(why, why_len, "daily_summary", "is empty");
    if (!gr_event_id_valid(s->node_id))
        return s_bad(why, why_len, "daily_summary.node_id", "must be 1..64 characters of "
                     "[A-Za-z0-9._-]");
    if (gr_day_date_parse(s->date, &day) != 0)
        return s_bad(why, why_len, "daily_summary.date", "must be YYYY-MM-DD");
    if (s->tier_level < 1 || s->tier_level > 16 || s->version == 0)
        return s_bad(why, why_len, "daily_summary", "needs a tier_level 1..16 and a version");
    if (s->n_exceptions > S_EXCEPTIONS_MAX || s->units > GR_DAILY_UNITS_MAX ||
        (uint64_t)s->on_time + s->late + s->missing + s->pending != s->units ||
        s->n_exceptions > (size_t)s->late + s->missing)
        return s_bad(why, why_len, "daily_summary", "counts do not add up (units = on_time + "
                     "late + missing + pending, at most 1000; exceptions at most late + "
                     "missing)");
    for (size_t i = 0; i < s->n_exceptions; i++) {
        const Gridrelay__DailyUnit *u = s->exceptions[i];
        if (!s_name_ok(u->unit, GR_DAILY_NAME_MAX) ||
            (u->state != GRIDRELAY__DAILY_UNIT__STATE__LATE &&
             u->state != GRIDRELAY__DAILY_UNIT__STATE__MISSING) ||
            (u->event_id && *u->event_id && !gr_event_id_valid(u->event_id)))
            return s_bad(why, why_len, "daily_summary.exceptions", "each names a unit (1..63 "
                         "bytes), late or missing, with a valid event id or none");
    }
    return 0;
}
