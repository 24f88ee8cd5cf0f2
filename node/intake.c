#include "intake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "check.h"
#include "client.h"
#include "dispatch.h"
#include "error.h"
#include "event.h"
#include "event_id.h"
#include "log.h"
#include "tiers.h"

#define LIST_DEFAULT 100
#define LIST_MAX 1000

static const char *const s_counter_names[GR_COUNT_MAX] = {
    [GR_COUNT_ACCEPTED] = "accepted",
    [GR_COUNT_DUPLICATE] = "duplicate",
    [GR_COUNT_QUERIES] = "queries",
    [GR_COUNT_REJ_TOO_BIG] = "rejected_too_big",
    [GR_COUNT_REJ_DECODE] = "rejected_decode",
    [GR_COUNT_REJ_VERSION] = "rejected_version",
    [GR_COUNT_REJ_UNTRUSTED] = "rejected_untrusted",
    [GR_COUNT_REJ_SIGNATURE] = "rejected_signature",
    [GR_COUNT_REJ_REPLAY] = "rejected_replay",
    [GR_COUNT_REJ_CATEGORY] = "rejected_category",
    [GR_COUNT_REJ_INVALID] = "rejected_invalid",
    [GR_COUNT_REJ_UNSUPPORTED] = "rejected_unsupported",
    [GR_COUNT_REJ_STORE_FULL] = "rejected_store_full",
    [GR_COUNT_BATCHES] = "batches",
    [GR_COUNT_MAP_GROWN] = "map_grown",
    [GR_COUNT_DEDUP_PRUNED] = "dedup_pruned",
};

const char *gr_counter_name(gr_counter_t counter)
{
    return counter < GR_COUNT_MAX ? s_counter_names[counter] : "?";
}

void gr_reply_clear(gr_reply_t *reply)
{
    if (!reply)
        return;
    free(reply->body);
    reply->body = NULL;
    reply->len = 0;
}

static int s_pack(gr_reply_t *reply, const Gridrelay__Body *body)
{
    size_t len = gridrelay__body__get_packed_size(body);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return GR_ENOMEM;
    gridrelay__body__pack(body, buf);
    gr_reply_clear(reply);
    reply->body = buf;
    reply->len = len;
    reply->acked = false;
    reply->error = 0;
    reply->event_id[0] = '\0';
    return 0;
}

/* The wire code and the counter for each refusal. */
static void s_classify(int code, Gridrelay__ErrorCode *wire, gr_counter_t *counter)
{
    switch (code) {
    case GR_ETOOBIG: *wire = GRIDRELAY__ERROR_CODE__ERR_FRAME_TOO_LARGE; *counter = GR_COUNT_REJ_TOO_BIG; return;
    case GR_EDECODE: *wire = GRIDRELAY__ERROR_CODE__ERR_DECODE; *counter = GR_COUNT_REJ_DECODE; return;
    case GR_EVERSION: *wire = GRIDRELAY__ERROR_CODE__ERR_VERSION; *counter = GR_COUNT_REJ_VERSION; return;
    case GR_EUNTRUSTED: *wire = GRIDRELAY__ERROR_CODE__ERR_UNTRUSTED; *counter = GR_COUNT_REJ_UNTRUSTED; return;
    case GR_ESIGNATURE: *wire = GRIDRELAY__ERROR_CODE__ERR_SIGNATURE; *counter = GR_COUNT_REJ_SIGNATURE; return;
    case GR_EREPLAY: *wire = GRIDRELAY__ERROR_CODE__ERR_REPLAY; *counter = GR_COUNT_REJ_REPLAY; return;
    case GR_ECATEGORY: *wire = GRIDRELAY__ERROR_CODE__ERR_UNKNOWN_CATEGORY; *counter = GR_COUNT_REJ_CATEGORY; return;
    case GR_ENOTFOUND: *wire = GRIDRELAY__ERROR_CODE__ERR_NOT_FOUND; *counter = GR_COUNT_QUERIES; return;
    case GR_EFULL: *wire = GRIDRELAY__ERROR_CODE__ERR_STORE_FULL; *counter = GR_COUNT_REJ_STORE_FULL; return;
    case GR_EUNSUPPORTED: *wire = GRIDRELAY__ERROR_CODE__ERR_UNSUPPORTED; *counter = GR_COUNT_REJ_UNSUPPORTED; return;
    case GR_EPERM: *wire = GRIDRELAY__ERROR_CODE__ERR_FORBIDDEN; *counter = GR_COUNT_REJ_INVALID; return;
    case GR_EINVAL:
    case GR_EBADTEXT: *wire = GRIDRELAY__ERROR_CODE__ERR_INVALID; *counter = GR_COUNT_REJ_INVALID; return;
    default: *wire = GRIDRELAY__ERROR_CODE__ERR_INTERNAL; *counter = GR_COUNT_REJ_INVALID; return;
    }
}

void gr_intake_count_refusal(gr_intake_t *self, int code)
{
    Gridrelay__ErrorCode wire;
    gr_counter_t counter;
    s_classify(code, &wire, &counter);
    if (code != 0 && code != GR_ENOTFOUND)
        self->counters[counter]++;
}

int gr_intake_error(gr_intake_t *self, gr_reply_t *reply, uint64_t ref_seq, int code,
                    const char *message)
{
    Gridrelay__Error error = GRIDRELAY__ERROR__INIT;
    gr_counter_t counter;
    s_classify(code, &error.code, &counter);
    gr_intake_count_refusal(self, code);
    error.ref_seq = ref_seq;
    error.message = (char *)(message && *message ? message : gr_strerror(code));
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_ERROR;
    body.error = &error;
    int rc = s_pack(reply, &body);
    if (rc == 0)
        reply->error = code;
    return rc;
}

int gr_intake_ack(gr_reply_t *reply, uint64_t ref_seq, const char *event_id, bool duplicate,
                  int status)
{
    Gridrelay__Ack ack = GRIDRELAY__ACK__INIT;
    ack.ref_seq = ref_seq;
    ack.event_id = (char *)(event_id ? event_id : "");
    ack.duplicate = duplicate;
    ack.status = (Gridrelay__Status)status;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_ACK;
    body.ack = &ack;
    int rc = s_pack(reply, &body);
    if (rc == 0) {
        reply->acked = true;
        snprintf(reply->event_id, sizeof reply->event_id, "%s", ack.event_id);
    }
    return rc;
}

int gr_intake_is_write(const gr_opened_t *request)
{
    switch (request->body->kind_case) {
    case GRIDRELAY__BODY__KIND_REPORT:
    case GRIDRELAY__BODY__KIND_CASE_ACTION:
    case GRIDRELAY__BODY__KIND_ESCALATE:
    case GRIDRELAY__BODY__KIND_ASSIGN:
    case GRIDRELAY__BODY__KIND_FEEDBACK:
    case GRIDRELAY__BODY__KIND_SUPERVISE:
    case GRIDRELAY__BODY__KIND_TASK_ACTION:
        return 1;
    default:
        return 0;
    }
}

/* A new report from a reporter: validate, store, then let the tiers
 * decide what happens to it. */
static int s_report(gr_intake_t *self, gr_txn_t *txn, const gr_opened_t *request,
                    const uint8_t *frame, size_t frame_len, uint64_t now_ms, gr_reply_t *reply)
{
    uint64_t seq = request->envelope->seq;
    Gridrelay__Report *report = request->body->report;
    if (!report || !report->event)
        return gr_intake_error(self, reply, seq, GR_EINVAL, "report carries no event");
    Gridrelay__Event *event = report->event;
    char why[200];
    int rc = gr_event_check(event, now_ms, why, sizeof why);
    if (rc == 0 && event->origin_node && *event->origin_node &&
        strcmp(event->origin_node, self->node_id) != 0) {
        snprintf(why, sizeof why, "origin_node must be empty or this node's id (%s): a report "
                 "is first stored where it is made", self->node_id);
        rc = GR_EINVAL;
    }
    /* Filled in the request itself, so that a redone batch (map grown)
     * keeps the same id. */
    if (rc == 0)
        rc = gr_event_resolve(event, NULL, self->catalogue, self->node_id, now_ms, why, sizeof why);
    if (rc == GR_ENOMEM)
        return rc;
    if (rc != 0)
        return gr_intake_error(self, reply, seq, rc, why);
    rc = gr_store_event_exists(txn, event->id);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        /* The same event under a new (signer, seq): a reporter that lost
         * its ack and restarted. Stored once; this pair is remembered too. */
        self->counters[GR_COUNT_DUPLICATE]++;
        return gr_intake_ack(reply, seq, event->id, true, GRIDRELAY__STATUS__STATUS_UNSPECIFIED);
    }
    Gridrelay__StoredEvent stored = GRIDRELAY__STORED_EVENT__INIT;
    stored.event = event;
    stored.origin_envelope.data = (uint8_t *)frame;
    stored.origin_envelope.len = frame_len;
    char reason[128];
    snprintf(reason, sizeof reason, "reported by %s", request->signer->name);
    rc = gr_intake_create_case(self, txn, &stored, request, request->signer->name,
                               GRIDRELAY__ACTION__ACTION_REPORT, reason, now_ms);
    if (rc != 0)
        return GR_STORE_FATAL(rc) ? rc : gr_intake_error(self, reply, seq, rc, NULL);
    self->counters[GR_COUNT_ACCEPTED]++;
    if (self->tiers) {
        Gridrelay__StoredEvent *rec = NULL;
        if ((rc = gr_store_event_get(txn, event->id, &rec)) != 0)
            return rc;
        rc = gr_tiers_on_new_case(self->tiers, txn, rec, now_ms);
        Gridrelay__Status status = rec->status;
        gridrelay__stored_event__free_unpacked(rec, NULL);
        if (rc != 0)
            return GR_STORE_FATAL(rc) ? rc : gr_intake_error(self, reply, seq, rc, NULL);
        return gr_intake_ack(reply, seq, event->id, false, status);
    }
    return gr_intake_ack(reply, seq, event->id, false, GRIDRELAY__STATUS__REPORTED);
}

int gr_intake_create_case(const gr_intake_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *stored,
                          const gr_opened_t *request, const char *actor_name,
                          Gridrelay__Action action, const char *reason, uint64_t now_ms)
{
    stored->received_ms = now_ms;
    stored->holder = (char *)self->node_id;
    Gridrelay__TimelineEntry first = GRIDRELAY__TIMELINE_ENTRY__INIT;
    first.time_ms = now_ms;
    first.actor = request->envelope->signer;
    first.actor_name = (char *)actor_name;
    first.unit = (char *)self->node_id;
    first.action = action;
    first.to_status = gr_case_next(GRIDRELAY__STATUS__STATUS_UNSPECIFIED, action);
    first.reason = (char *)reason;
    first.envelope_hash.data = (uint8_t *)request->hash;
    first.envelope_hash.len = sizeof request->hash;
    int rc = gr_store_event_create(txn, stored, &first);
    if (rc == 0)
        rc = gr_store_counter_add(txn, "events", 1);
    return rc;
}

/* The request itself, in its own nested transaction: dedup, replay
 * window, the handler, and remembering (signer, seq) once accepted. */
static int s_write_one(gr_intake_t *self, gr_txn_t *txn, const gr_opened_t *request,
                       const gr_source_t *source, const uint8_t *frame, size_t frame_len,
                       uint64_t now_ms, gr_reply_t *reply)
{
    const Gridrelay__Envelope *env = request->envelope;
    const uint8_t *signer = env->signer.data;
    uint64_t seq = env->seq;

    /* A resend of something already accepted gets the original answer. */
    Gridrelay__DedupRecord *seen = NULL;
    int rc = gr_store_dedup_get(txn, signer, seq, &seen);
    if (rc == 0) {
        self->counters[GR_COUNT_DUPLICATE]++;
        rc = gr_intake_ack(reply, seq, seen->event_id, true, GRIDRELAY__STATUS__STATUS_UNSPECIFIED);
        gridrelay__dedup_record__free_unpacked(seen, NULL);
        return rc;
    }
    if (rc != GR_ENOTFOUND)
        return rc;
    uint64_t highest = 0;
    if ((rc = gr_store_signer_get(txn, signer, &highest)) != 0)
        return rc;
    if (seq > now_ms * 1000 + GR_SEQ_AHEAD_US) {
        /* Accepting it would lock the signer out until its clock reaches
         * the seq: refused, and said why. */
        return gr_intake_error(self, reply, seq, GR_EINVAL,
                               "seq is more than a day ahead of this node's clock (seqs are "
                               "microseconds since the epoch): check the sender's clock");
    }
    if (highest >= self->replay_window && seq <= highest - self->replay_window) {
        char why[160];
        snprintf(why, sizeof why, "seq %llu is older than the replay window (newest seen %llu)",
                 (unsigned long long)seq, (unsigned long long)highest);
        return gr_intake_error(self, reply, seq, GR_EREPLAY, why);
    }
    if (request->body->kind_case == GRIDRELAY__BODY__KIND_REPORT) {
        if (source->kind != GR_FROM_CLIENT || request->signer->role != GR_ROLE_REPORTER)
            return gr_intake_error(self, reply, seq, GR_EPERM, "reports come from reporters");
        rc = s_report(self, txn, request, frame, frame_len, now_ms, reply);
    } else if (self->tiers) {
        rc = gr_tiers_handle(self->tiers, txn, request, source, now_ms, reply);
    } else {
        rc = gr_intake_error(self, reply, seq, GR_EUNSUPPORTED, "message kind not handled here");
    }
    if (rc != 0 || !reply->acked)
        return rc;  /* refused: nothing remembered, a resend is judged again */
    Gridrelay__DedupRecord record = GRIDRELAY__DEDUP_RECORD__INIT;
    record.event_id = reply->event_id;
    record.stored_ms = now_ms;
    if ((rc = gr_store_dedup_put(txn, signer, seq, &record)) != 0 ||
        (rc = gr_store_signer_bump(txn, signer, seq)) != 0)
        return rc;
    return 0;
}

/* What ends the whole batch rather than one request: the map must grow
 * (the batch is redone), or memory ran out. Any other failure belongs to
 * the request that caused it. */
static bool s_batch_fatal(int rc)
{
    return rc == GR_EMAPFULL || rc == GR_ENOMEM;
}

int gr_intake_write(gr_intake_t *self, gr_txn_t *txn, const gr_opened_t *request,
                    const gr_source_t *source, const uint8_t *frame, size_t frame_len,
                    uint64_t now_ms, gr_reply_t *reply)
{
    uint64_t seq = request->envelope->seq;
    if (seq == 0)
        return gr_intake_error(self, reply, seq, GR_EINVAL, "seq must be at least 1");
    char why[200];
    if (gr_check_body(request->body, now_ms, why, sizeof why) != 0)
        return gr_intake_error(self, reply, seq, GR_EINVAL, why);
    /* Each request is applied in a transaction of its own inside the
     * batch's: a refusal, or a store error this request caused (found
     * after some of its writes), undoes exactly its writes and effects,
     * and its neighbours commit as if it had never come. */
    gr_txn_t *mine = NULL;
    int rc = gr_store_begin_nested(txn, &mine);
    if (rc != 0)
        return rc;
    uint64_t saved[GR_COUNT_MAX];
    memcpy(saved, self->counters, sizeof saved);
    gr_effects_mark_t mark = self->tiers ? gr_tiers_effects_mark(self->tiers) : (gr_effects_mark_t){0};
    rc = s_write_one(self, mine, request, source, frame, frame_len, now_ms, reply);
    if (rc == 0 && reply->acked)
        return gr_store_commit(&mine);
    gr_store_abort(&mine);
    if (self->tiers)
        gr_tiers_effects_rollback(self->tiers, &mark);
    memcpy(self->counters, saved, sizeof saved);
    if (s_batch_fatal(rc))
        return rc;
    if (rc != 0) {
        gr_log(GR_LOG_WARN, NULL, "request seq=%llu could not be applied: %s; nothing of it stored",
               (unsigned long long)seq, gr_strerror(rc));
        return gr_intake_error(self, reply, seq, rc == GR_EINVAL ? GR_EINVAL : GR_ESTORE,
                               rc == GR_EINVAL ? "a field of the request is out of range"
                                               : "store error: nothing stored, retry later");
    }
    gr_intake_count_refusal(self, reply->error);
    return 0;
}

static int s_get_event(gr_intake_t *self, gr_txn_t *txn, uint64_t ref_seq,
                       const Gridrelay__GetEvent *get, gr_reply_t *reply)
{
    if (!get || !get->event_id || !gr_event_id_valid(get->event_id))
        return gr_intake_error(self, reply, ref_seq, GR_EINVAL, "event_id missing or malformed");
    Gridrelay__StoredEvent *stored = NULL;
    int rc = gr_store_event_get(txn, get->event_id, &stored);
    if (rc == GR_ENOTFOUND) {
        char why[128];
        snprintf(why, sizeof why, "no event %s on this node", get->event_id);
        return gr_intake_error(self, reply, ref_seq, rc, why);
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
    detail.timeline = entries;
    detail.n_timeline = n;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_EVENT_DETAIL;
    body.event_detail = &detail;
    rc = s_pack(reply, &body);
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
    }
    free(page->items);
    free(page->ptrs);
}

static int s_list(gr_intake_t *self, gr_txn_t *txn, uint64_t ref_seq,
                  const Gridrelay__ListEvents *list, gr_reply_t *reply)
{
    if (!list)
        return gr_intake_error(self, reply, ref_seq, GR_EINVAL, "list request is empty");
    size_t limit = list->limit ? list->limit : LIST_DEFAULT;
    if (limit > LIST_MAX)
        limit = LIST_MAX;
    gr_store_filter_t filter = {
        .status = list->status,
        .category = list->category,
        .severity = list->severity,
        .since_ms = list->since_ms,
        .until_ms = list->until_ms,
    };
    s_page_t page = { calloc(limit, sizeof *page.items), calloc(limit, sizeof *page.ptrs), 0, 0 };
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
        return gr_intake_error(self, reply, ref_seq, rc, "malformed page_token");
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
        rc = s_pack(reply, &body);
    }
    s_page_free(&page);
    return rc;
}

/* Persistent totals of case changes at this node, kept by tiers.c as
 * "action.<name>" store counters; shown as "cases_<name>". */
static const char *const s_case_totals[] = {
    "accept", "dispatch", "claim", "return", "resolve", "feedback", "escalate", "assign",
    "deadline", "urge",
};
#define N_CASE_TOTALS (sizeof s_case_totals / sizeof s_case_totals[0])

static int s_stats(gr_intake_t *self, gr_txn_t *txn, uint64_t ref_seq, gr_reply_t *reply)
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
        counters[n].name = (char *)s_counter_names[i];
        counters[n].value = self->counters[i];
        ptrs[n] = &counters[n];
    }
    Gridrelay__Stats stats = GRIDRELAY__STATS__INIT;
    stats.ref_seq = ref_seq;
    stats.node_id = (char *)self->node_id;
    stats.counters = ptrs;
    stats.n_counters = n;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_STATS;
    body.stats = &stats;
    return s_pack(reply, &body);
}

/* Deep copies of the view's updates for one page (entries die after the
 * visit). */
typedef struct {
    Gridrelay__StatusUpdate **updates;
    size_t count;
    int failed;
} s_view_page_t;

static void s_collect_view(void *ctx, const Gridrelay__ViewEntry *entry)
{
    s_view_page_t *page = ctx;
    if (!entry->update)
        return;
    Gridrelay__StatusUpdate *copy = gr_message_dup(&entry->update->base);
    if (!copy)
        page->failed = 1;
    else
        page->updates[page->count++] = copy;
}

static int s_view(gr_intake_t *self, gr_txn_t *txn, uint64_t ref_seq, const Gridrelay__ListView *list,
                  gr_reply_t *reply)
{
    size_t limit = list && list->limit ? list->limit : LIST_DEFAULT;
    if (limit > LIST_MAX)
        limit = LIST_MAX;
    s_view_page_t page = { calloc(limit, sizeof(Gridrelay__StatusUpdate *)), 0, 0 };
    if (!page.updates)
        return GR_ENOMEM;
    char next[GR_PAGE_TOKEN_MAX];
    int rc = gr_store_view_scan(txn, list ? list->node_id : NULL, list ? list->page_token : NULL, limit,
                                s_collect_view, &page, next);
    if (rc == GR_EINVAL) {
        rc = gr_intake_error(self, reply, ref_seq, rc, "malformed node id or page_token");
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
        rc = s_pack(reply, &body);
    }
    for (size_t i = 0; i < page.count; i++)
        gridrelay__status_update__free_unpacked(page.updates[i], NULL);
    free(page.updates);
    return rc;
}

int gr_intake_query(gr_intake_t *self, gr_txn_t *txn, const gr_opened_t *request,
                    gr_reply_t *reply)
{
    uint64_t ref_seq = request->envelope->seq;
    const Gridrelay__Body *body = request->body;
    char why[200];
    if (gr_check_body(body, gr_now_ms(), why, sizeof why) != 0)
        return gr_intake_error(self, reply, ref_seq, GR_EINVAL, why);
    self->counters[GR_COUNT_QUERIES]++;
    switch (body->kind_case) {
    case GRIDRELAY__BODY__KIND_GET_EVENT:
        return s_get_event(self, txn, ref_seq, body->get_event, reply);
    case GRIDRELAY__BODY__KIND_LIST_EVENTS:
        return s_list(self, txn, ref_seq, body->list_events, reply);
    case GRIDRELAY__BODY__KIND_GET_STATS:
        return s_stats(self, txn, ref_seq, reply);
    case GRIDRELAY__BODY__KIND_LIST_VIEW:
        return s_view(self, txn, ref_seq, body->list_view, reply);
    case GRIDRELAY__BODY__KIND_LIST_TASKS:
        if (request->signer->role != GR_ROLE_DEPARTMENT || !self->tiers)
            return gr_intake_error(self, reply, ref_seq, GR_EPERM, "only departments list tasks");
        return gr_dispatch_list_tasks(self->tiers, txn, request, reply);
    default:
        self->counters[GR_COUNT_QUERIES]--;
        return gr_intake_error(self, reply, ref_seq, GR_EUNSUPPORTED,
                               "message kind not accepted by a node's request socket");
    }
}
