#include "case_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cases.h"
#include "error.h"

/* Buckets beyond this are left out (the reply says more). */
#define S_BUCKETS_MAX 1000

typedef struct {
    char key[GR_ID_MAX + 1];
    uint64_t count;
} s_bucket_t;

typedef struct {
    const gr_config_t *cfg;
    Gridrelay__GetCaseStats__By by;
    uint64_t from_ms, to_ms;
    int64_t offset_s;
    s_bucket_t *buckets;       /* sorted by key */
    size_t n, cap;
    uint64_t total;
    int rc;
} s_stats_t;

static void s_count(s_stats_t *s, const char *key)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s->buckets[mid].key, key);
        if (c == 0) {
            s->buckets[mid].count++;
            return;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        s_bucket_t *grown = realloc(s->buckets, cap * sizeof *grown);
        if (!grown) {
            s->rc = GR_ENOMEM;
            return;
        }
        s->buckets = grown;
        s->cap = cap;
    }
    memmove(&s->buckets[lo + 1], &s->buckets[lo], (s->n - lo) * sizeof *s->buckets);
    snprintf(s->buckets[lo].key, sizeof s->buckets[lo].key, "%s", key);
    s->buckets[lo].count = 1;
    s->n++;
}

static const char *s_severity(Gridrelay__Severity sev)
{
    switch (sev) {
    case GRIDRELAY__SEVERITY__ROUTINE: return "routine";
    case GRIDRELAY__SEVERITY__URGENT: return "urgent";
    case GRIDRELAY__SEVERITY__EXTRA_URGENT: return "extra_urgent";
    default: return "unspecified";
    }
}

/* One case: its key under s->by. */
static void s_case(s_stats_t *s, uint64_t received_ms, const char *category,
                   Gridrelay__Severity sev, Gridrelay__Status status, int tier)
{
    if (s->rc != 0 || received_ms < s->from_ms || (s->to_ms && received_ms >= s->to_ms))
        return;
    char key[GR_ID_MAX + 1];
    time_t t = (time_t)((int64_t)(received_ms / 1000) + s->offset_s);
    struct tm tm;
    switch (s->by) {
    case GRIDRELAY__GET_CASE_STATS__BY__CATEGORY:
        snprintf(key, sizeof key, "%s", category && *category ? category : "?");
        break;
    case GRIDRELAY__GET_CASE_STATS__BY__SEVERITY:
        snprintf(key, sizeof key, "%s", s_severity(sev));
        break;
    case GRIDRELAY__GET_CASE_STATS__BY__STATUS:
        snprintf(key, sizeof key, "%s", gr_case_status_name(status));
        break;
    case GRIDRELAY__GET_CASE_STATS__BY__TIER:
        snprintf(key, sizeof key, "%d", tier);
        break;
    case GRIDRELAY__GET_CASE_STATS__BY__DAY:
    case GRIDRELAY__GET_CASE_STATS__BY__WEEK:
        if (!gmtime_r(&t, &tm) ||
            strftime(key, sizeof key, s->by == GRIDRELAY__GET_CASE_STATS__BY__DAY ? "%Y-%m-%d"
                                                                                  : "%G-W%V",
                     &tm) == 0)
            snprintf(key, sizeof key, "?");
        break;
    default:
        return;
    }
    s_count(s, key);
    s->total++;
}

static void s_visit_own(void *ctx, const Gridrelay__StoredEvent *rec)
{
    s_stats_t *s = ctx;
    if (rec->info_only || !rec->event)
        return;
    s_case(s, rec->received_ms, rec->event->category, rec->event->severity, rec->status,
           s->cfg->tier_level);
}

static void s_visit_view(void *ctx, const Gridrelay__ViewEntry *entry)
{
    s_stats_t *s = ctx;
    const Gridrelay__StatusUpdate *u = entry->update;
    if (!u || entry->left_ms || u->status == GRIDRELAY__STATUS__ESCALATED)
        return;  /* handed on: counted where it went */
    /* The view does not carry tier levels: a child is one below, any
     * other descendant at least two (exact in a three-tier tree). */
    bool child = entry->via_child && u->node_id && strcmp(entry->via_child, u->node_id) == 0;
    int tier = s->cfg->tier_level - (child ? 1 : 2);
    s_case(s, u->received_ms, u->category, u->severity, u->status, tier < 1 ? 1 : tier);
}

static int s_reply(const gr_config_t *cfg, const gr_request_t *req, const s_stats_t *s)
{
    size_t n = s->n < S_BUCKETS_MAX ? s->n : S_BUCKETS_MAX;
    Gridrelay__Counter *items = calloc(n ? n : 1, sizeof *items);
    Gridrelay__Counter **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    int rc = items && ptrs ? 0 : GR_ENOMEM;
    size_t bytes = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        gridrelay__counter__init(&items[i]);
        items[i].name = (char *)s->buckets[i].key;
        items[i].value = s->buckets[i].count;
        bytes += gridrelay__counter__get_packed_size(&items[i]) + 4;
        if (bytes > cfg->max_frame / 2) {
            n = i;
            break;
        }
        ptrs[i] = &items[i];
    }
    if (rc == 0) {
        Gridrelay__CaseStats out = GRIDRELAY__CASE_STATS__INIT;
        out.ref_seq = gr_request_seq(req);
        out.node_id = (char *)cfg->node_id;
        out.by = s->by;
        out.buckets = ptrs;
        out.n_buckets = n;
        out.total = s->total;
        out.more = n < s->n;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_CASE_STATS;
        body.case_stats = &out;
        rc = gr_reply_pack(req->reply, &body);
    }
    free(items);
    free(ptrs);
    return rc;
}

int gr_case_stats(const gr_config_t *cfg, const gr_request_t *req)
{
    const Gridrelay__GetCaseStats *get = req->opened->body->get_case_stats;
    const char *bad = NULL;
    if (!get || get->by < GRIDRELAY__GET_CASE_STATS__BY__CATEGORY ||
        get->by > GRIDRELAY__GET_CASE_STATS__BY__WEEK)
        bad = "by must be CATEGORY, SEVERITY, STATUS, TIER, DAY or WEEK";
    else if (get->to_ms && get->to_ms <= get->from_ms)
        bad = "to_ms must be after from_ms";
    else if (get->utc_offset_min < -840 || get->utc_offset_min > 840)
        bad = "utc_offset_min must be within -840..840";
    if (bad) {
        return gr_reply_error(req->reply, gr_request_seq(req), GR_EINVAL, bad);
    }
    s_stats_t s = {
        .cfg = cfg,
        .by = get->by,
        .from_ms = get->from_ms,
        .to_ms = get->to_ms,
        .offset_s = (int64_t)get->utc_offset_min * 60,
    };
    gr_store_filter_t filter = {.since_ms = get->from_ms, .until_ms = get->to_ms};
    int rc = gr_store_walk_all(req->txn, &filter, s_visit_own, s_visit_view, &s, &s.rc);
    if (rc == 0)
        rc = s.rc;
    if (rc == 0)
        rc = s_reply(cfg, req, &s);
    free(s.buckets);
    return rc;
}
