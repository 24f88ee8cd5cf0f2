#include "queries.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "event_id.h"
#include "hop.h"
#include "store.h"
#include "supervision.h"


static int s_get_event(const gr_request_t *req, gr_txn_t *txn, uint64_t ref_seq,
                       const Gridrelay__GetEvent *get, gr_reply_t *reply)
{
    if (!get || !get->event_id || !gr_event_id_valid(get->event_id))
        return gr_reply_error(reply, ref_seq, GR_EINVAL, "event_id missing or malformed");
    Gridrelay__StoredEvent *stored = NULL;
    int rc = gr_store_event_get(txn, get->event_id, &stored);
    if (rc == GR_ENOTFOUND && req && get->below) {
        /* Not held here: a superior sees the tiers below (区级可垂直到底). */
        rc = gr_supervision_show_below(req, get->event_id);
        if (rc != GR_ENOTFOUND)
            return rc;
    }
    if (rc == GR_ENOTFOUND) {
        char why[128];
        snprintf(why, sizeof why, "no event %s on this node", get->event_id);
        return gr_reply_error(reply, ref_seq, rc, why);
    }
    if (rc != 0)
        return rc;
    Gridrelay__TimelineEntry **entries = NULL;
    size_t n = 0;
    rc = gr_store_timeline_get(txn, get->event_id, &entries, &n);
    if (rc != 0 && rc != GR_ENOTFOUND) {
        gridrelay__stored_event__free_unpacked(stored, NULL);
        return rc;
    }
    Gridrelay__EventDetail detail = GRIDRELAY__EVENT_DETAIL__INIT;
    detail.ref_seq = ref_seq;
    detail.event = stored->event;
    detail.status = stored->status;
    detail.received_ms = stored->received_ms;
    detail.updated_ms = stored->updated_ms;
    detail.holder = stored->holder;
    detail.dept = stored->dept;
    detail.co_depts = stored->co_depts;
    detail.n_co_depts = stored->n_co_depts;
    detail.dept_urged = stored->dept_urged;
    detail.result = stored->result;
    detail.merged_into = stored->merged_into;
    detail.merged = stored->merged;
    detail.n_merged = stored->n_merged;
    detail.candidate_of = stored->candidate_of;
    detail.merged_at = stored->merged_at;
    detail.hops = stored->hops;
    detail.n_hops = stored->n_hops;
    uint8_t digest[GR_HOP_DIGEST_BYTES];
    if (stored->origin_envelope.len &&
        gr_hop_origin_digest(digest, stored->origin_envelope.data, stored->origin_envelope.len) == 0) {
        detail.origin_digest.data = digest;
        detail.origin_digest.len = sizeof digest;
    }
    detail.timeline = entries;
    detail.n_timeline = n;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_EVENT_DETAIL;
    body.event_detail = &detail;
    rc = gr_reply_pack(reply, &body);
    gr_store_timeline_free(entries, n);
    gridrelay__stored_event__free_unpacked(stored, NULL);
    return rc;
}

/* Collects one page of summaries; strings are copied because the record
 * passed to the visitor dies after the call. */
typedef struct {
    Gridrelay__EventSummary *items;
    Gridrelay__EventSummary **ptrs;
    size_t count;
    int failed;
    const gr_query_shown_t *shown;
} s_page_t;

static void s_collect(void *ctx, const Gridrelay__StoredEvent *rec)
{
    s_page_t *page = ctx;
    Gridrelay__EventSummary *sum = &page->items[page->count];
    gridrelay__event_summary__init(sum);
    const Gridrelay__Event *ev = rec->event;
    sum->id = strdup(ev && ev->id ? ev->id : "");
    sum->category = strdup(ev && ev->category ? ev->category : "");
    sum->title = strdup(ev && ev->title ? ev->title : "");
    sum->origin_node = strdup(ev && ev->origin_node ? ev->origin_node : "");
    if (!sum->id || !sum->category || !sum->title || !sum->origin_node)
        page->failed = 1;
    sum->severity = ev ? ev->severity : 0;
    sum->status = rec->status;
    sum->received_ms = rec->received_ms;
    sum->updated_ms = rec->updated_ms;
    sum->merged_into = strdup(rec->merged_into ? rec->merged_into : "");
    sum->candidate_of = strdup(rec->candidate_of ? rec->candidate_of : "");
    if (!sum->merged_into || !sum->candidate_of)
        page->failed = 1;
    sum->merged = (uint32_t)rec->n_merged;
    sum->holder = strdup(rec->holder ? rec->holder : "");
    if (!sum->holder)
        page->failed = 1;
    if (ev && ev->location && !(sum->location = gr_message_dup(&ev->location->base)))
        page->failed = 1;
    if (page->shown && page->shown->event && page->shown->event(page->shown->ctx, rec) != 0)
        page->failed = 1;
    page->ptrs[page->count] = sum;
    page->count++;
}

static void s_page_free(s_page_t *page)
{
    for (size_t i = 0; i < page->count; i++) {
        free(page->items[i].id);
        free(page->items[i].category);
        free(page->items[i].title);
        free(page->items[i].origin_node);
        free(page->items[i].merged_into);
        free(page->items[i].candidate_of);
        free(page->items[i].holder);
        if (page->items[i].location)
            gridrelay__location__free_unpacked(page->items[i].location, NULL);
    }
    free(page->items);
    free(page->ptrs);
}

static int s_list(gr_txn_t *txn, uint64_t ref_seq, const Gridrelay__ListEvents *list,
                  bool (*admit)(void *, const Gridrelay__StoredEvent *), void *admit_ctx,
                  const gr_query_shown_t *shown, gr_reply_t *reply)
{
    if (!list)
        return gr_reply_error(reply, ref_seq, GR_EINVAL, "list request is empty");
    size_t limit = list->limit ? list->limit : GR_LIST_DEFAULT;
    if (limit > GR_LIST_MAX)
        limit = GR_LIST_MAX;
    gr_store_filter_t filter = {
        .status = list->status,
        .category = list->category,
        .severity = list->severity,
        .since_ms = list->since_ms,
        .until_ms = list->until_ms,
        .admit = admit,
        .admit_ctx = admit_ctx,
    };
    s_page_t page = { calloc(limit, sizeof *page.items), calloc(limit, sizeof *page.ptrs), 0, 0,
                      shown };
    if (!page.items || !page.ptrs) {
        s_page_free(&page);
        return GR_ENOMEM;
    }
    char next[GR_PAGE_TOKEN_MAX];
    int rc = gr_store_list(txn, &filter, list->page_token, limit, s_collect, &page, next);
    if (rc == 0 && page.failed)
        rc = GR_ENOMEM;
    if (rc == GR_EINVAL) {
        s_page_free(&page);
        return gr_reply_error(reply, ref_seq, rc, "malformed page_token");
    }
    if (rc == 0) {
        Gridrelay__EventPage out = GRIDRELAY__EVENT_PAGE__INIT;
        out.ref_seq = ref_seq;
        out.events = page.ptrs;
        out.n_events = page.count;
        out.next_page_token = next;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_EVENT_PAGE;
        body.event_page = &out;
        rc = gr_reply_pack(reply, &body);
    }
    s_page_free(&page);
    return rc;
}

/* Persistent totals of case changes at this node, kept by the engine as
 * "action.<name>" store counters; shown as "cases_<name>". */
static const char *const s_case_totals[] = {
    "accept", "dispatch", "claim", "return", "resolve", "feedback", "escalate", "assign",
    "deadline", "urge",
};
#define N_CASE_TOTALS (sizeof s_case_totals / sizeof s_case_totals[0])

/* One department's task, counted in its queue by state. */
static int s_queue_count(void *ctx, const Gridrelay__Task *task)
{
    Gridrelay__DeptQueue *q = ctx;
    if (task->state == GRIDRELAY__TASK_STATE__TASK_CLAIMED)
        q->claimed++;
    else
        q->open++;
    return 0;
}

static int s_stats(const gr_config_t *cfg, const gr_counters_t *totals, gr_txn_t *txn,
                   uint64_t ref_seq, gr_reply_t *reply)
{
    Gridrelay__Counter counters[GR_COUNT_MAX + 1 + N_CASE_TOTALS];
    Gridrelay__Counter *ptrs[GR_COUNT_MAX + 1 + N_CASE_TOTALS];
    char names[N_CASE_TOTALS][32];
    size_t n = 0;
    uint64_t stored = 0;
    int rc = gr_store_counter_get(txn, "events", &stored);
    if (rc != 0)
        return rc;
    gridrelay__counter__init(&counters[n]);
    counters[n].name = "events_stored";
    counters[n].value = stored;
    ptrs[n] = &counters[n];
    n++;
    for (size_t i = 0; i < N_CASE_TOTALS; i++, n++) {
        char key[48];
        snprintf(key, sizeof key, "action.%s", s_case_totals[i]);
        snprintf(names[i], sizeof names[i], "cases_%s", s_case_totals[i]);
        gridrelay__counter__init(&counters[n]);
        counters[n].name = names[i];
        if ((rc = gr_store_counter_get(txn, key, &counters[n].value)) != 0)
            return rc;
        ptrs[n] = &counters[n];
    }
    for (int i = 0; i < GR_COUNT_MAX; i++, n++) {
        gridrelay__counter__init(&counters[n]);
        counters[n].name = (char *)gr_counter_name((gr_counter_t)i);
        counters[n].value = totals->value[i];
        ptrs[n] = &counters[n];
    }
    Gridrelay__Stats stats = GRIDRELAY__STATS__INIT;
    stats.ref_seq = ref_seq;
    stats.node_id = (char *)cfg->node_id;
    stats.counters = ptrs;
    stats.n_counters = n;
    /* Every wire ErrorCode, 0 included, so a scrape sees each one. */
    const ProtobufCEnumDescriptor *codes = &gridrelay__error_code__descriptor;
    size_t n_codes = codes->n_values, n_depts = cfg->n_depts;
    Gridrelay__Counter *errors = calloc(n_codes ? n_codes : 1, sizeof *errors);
    Gridrelay__Counter **error_ptrs = calloc(n_codes ? n_codes : 1, sizeof *error_ptrs);
    Gridrelay__DeptQueue *queues = calloc(n_depts ? n_depts : 1, sizeof *queues);
    Gridrelay__DeptQueue **queue_ptrs = calloc(n_depts ? n_depts : 1, sizeof *queue_ptrs);
    rc = errors && error_ptrs && queues && queue_ptrs ? 0 : GR_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n_codes; i++) {
        int code = codes->values[i].value;
        if (code <= 0)
            continue;   /* ERR_NONE */
        gridrelay__counter__init(&errors[stats.n_error_replies]);
        errors[stats.n_error_replies].name = (char *)codes->values[i].name;
        errors[stats.n_error_replies].value =
            totals->error_replies[code < GR_COUNT_ERROR_CODES ? code : GR_COUNT_ERROR_CODES - 1];
        error_ptrs[stats.n_error_replies] = &errors[stats.n_error_replies];
        stats.n_error_replies++;
    }
    stats.error_replies = error_ptrs;
    for (size_t i = 0; rc == 0 && i < n_depts; i++) {
        gridrelay__dept_queue__init(&queues[i]);
        queues[i].dept = cfg->depts[i].code;
        int visited = gr_store_task_scan(txn, cfg->depts[i].code, NULL, SIZE_MAX, s_queue_count,
                                         &queues[i]);
        rc = visited < 0 ? visited : 0;
        queue_ptrs[i] = &queues[i];
    }
    stats.dept_queues = queue_ptrs;
    stats.n_dept_queues = rc == 0 ? n_depts : 0;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_STATS;
    body.stats = &stats;
    if (rc == 0)
        rc = gr_reply_pack(reply, &body);
    free(errors);
    free(error_ptrs);
    free(queues);
    free(queue_ptrs);
    return rc;
}

/* Deep copies of the view's updates for one page (entries die after the
 * visit). */
typedef struct {
    Gridrelay__StatusUpdate **updates;
    size_t count;
    int failed;
    const gr_query_shown_t *shown;
} s_view_page_t;

static void s_collect_view(void *ctx, const Gridrelay__ViewEntry *entry)
{
    s_view_page_t *page = ctx;
    if (!entry->update)
        return;
    Gridrelay__StatusUpdate *copy = gr_message_dup(&entry->update->base);
    if (!copy) {
        page->failed = 1;
        return;
    }
    page->updates[page->count++] = copy;
    if (page->shown && page->shown->view && page->shown->view(page->shown->ctx, copy) != 0)
        page->failed = 1;
}

static int s_view(gr_txn_t *txn, uint64_t ref_seq, const Gridrelay__ListView *list,
                  const gr_query_shown_t *shown, gr_reply_t *reply)
{
    size_t limit = list && list->limit ? list->limit : GR_LIST_DEFAULT;
    if (limit > GR_LIST_MAX)
        limit = GR_LIST_MAX;
    s_view_page_t page = { calloc(limit, sizeof(Gridrelay__StatusUpdate *)), 0, 0, shown };
    if (!page.updates)
        return GR_ENOMEM;
    char next[GR_PAGE_TOKEN_MAX];
    int rc = gr_store_view_scan(txn, list ? list->node_id : NULL, list ? list->page_token : NULL, limit,
                                s_collect_view, &page, next);
    if (rc == GR_EINVAL) {
        rc = gr_reply_error(reply, ref_seq, rc, "malformed node id or page_token");
    } else if (rc >= 0 && page.failed) {
        rc = GR_ENOMEM;
    } else if (rc >= 0) {
        Gridrelay__ViewPage out = GRIDRELAY__VIEW_PAGE__INIT;
        out.ref_seq = ref_seq;
        out.updates = page.updates;
        out.n_updates = page.count;
        out.next_page_token = next;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_VIEW_PAGE;
        body.view_page = &out;
        rc = gr_reply_pack(reply, &body);
    }
    for (size_t i = 0; i < page.count; i++)
        gridrelay__status_update__free_unpacked(page.updates[i], NULL);
    free(page.updates);
    return rc;
}

int gr_query_event(const gr_request_t *req)
{
    return s_get_event(req, req->txn, gr_request_seq(req), req->opened->body->get_event, req->reply);
}

int gr_query_list(const gr_request_t *req, bool (*admit)(void *ctx, const Gridrelay__StoredEvent *rec),
                  void *admit_ctx, const gr_query_shown_t *shown)
{
    return s_list(req->txn, gr_request_seq(req), req->opened->body->list_events, admit, admit_ctx,
                  shown, req->reply);
}

int gr_query_view(const gr_request_t *req, const gr_query_shown_t *shown)
{
    return s_view(req->txn, gr_request_seq(req), req->opened->body->list_view, shown, req->reply);
}

int gr_query_stats(const gr_config_t *cfg, const gr_counters_t *counters, const gr_request_t *req)
{
    return s_stats(cfg, counters, req->txn, gr_request_seq(req), req->reply);
}
