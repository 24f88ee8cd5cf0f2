/* node/daily.c, continued: what an operator reads (ListDaily) and the
 * field checks of the daily messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daily_internal.h"
#include "error.h"
#include "event_id.h"

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
    int64_t day = gr_daily_day_of(self, req->now_ms);
    if (ask->date && *ask->date && gr_day_date_parse(ask->date, &day) != 0)
        return gr_reply_error(req->reply, ref, GR_EINVAL, "date must be YYYY-MM-DD");
    s_page_t page = {.self = self, .ask = ask};
    size_t frame = self->cfg->max_frame ? self->cfg->max_frame : 65536;
    page.budget = frame > 4096 ? frame - 4096 : frame / 2;
    /* This node's own day, every unit (or only the missing). */
    gr_daily_day_t d;
    Gridrelay__DailySummary own;
    Gridrelay__DailyUnit *units = NULL, **ptrs = NULL;
    bool has_own = self->tracked;
    int rc = has_own ? gr_daily_day_load(self, req->txn, day, &d) : 0;
    if (rc != 0)
        return rc;
    if (has_own) {
        rc = gr_daily_summary(self, &d, day, req->now_ms,
                              ask->missing_only ? GR_DAILY_MISSING : GR_DAILY_EVERY, &own, &units, &ptrs);
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
        uint64_t due = gr_daily_due(self, day);
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
        gr_daily_day_free(&d);
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
    if (s->n_exceptions > GR_DAILY_EXCEPTIONS_MAX || s->units > GR_DAILY_UNITS_MAX ||
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
