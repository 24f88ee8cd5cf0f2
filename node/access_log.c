/* The audit of reads; the contract is in access_log.h. */
#include "access_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "reply.h"

#define S_LIMIT_MAX 1000

typedef struct {
    Gridrelay__AccessRecord rec;
    uint8_t actor[32];
    uint64_t env_seq;
    char *strings[6];       /* actor_name, roles, request, event_id, category, detail */
} s_pending_t;

struct gr_access_log {
    s_pending_t *items;
    size_t n, cap;
};

gr_access_log_t *gr_access_log_new(void)
{
    return calloc(1, sizeof(gr_access_log_t));
}

static void s_clear(gr_access_log_t *self)
{
    for (size_t i = 0; i < self->n; i++)
        for (int j = 0; j < 6; j++)
            free(self->items[i].strings[j]);
    self->n = 0;
}

void gr_access_log_destroy(gr_access_log_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_clear(*self_p);
    free((*self_p)->items);
    free(*self_p);
    *self_p = NULL;
}

/* The body kind's field name ("get_event"), from protobuf-c's descriptor. */
static const char *s_kind_name(const Gridrelay__Body *body)
{
    if (!body)
        return "";
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&gridrelay__body__descriptor,
                                                (unsigned)body->kind_case);
    return f ? f->name : "";
}

int gr_access_log_note(gr_access_log_t *self, const gr_request_t *req, int kind,
                       const char *roles, const char *event_id, const char *category,
                       const char *detail)
{
    const Gridrelay__Envelope *env = req->opened->envelope;
    const uint8_t *signer = env && env->signer.len == 32 ? env->signer.data : NULL;
    uint64_t seq = env ? env->seq : 0;
    for (size_t i = 0; signer && i < self->n; i++)
        if (self->items[i].env_seq == seq && self->items[i].rec.kind == (unsigned)kind
            && memcmp(self->items[i].actor, signer, 32) == 0
            && strcmp(self->items[i].strings[3], event_id ? event_id : "") == 0)
            return 0;
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        s_pending_t *p = realloc(self->items, cap * sizeof *p);
        if (!p)
            return GR_ENOMEM;
        self->items = p;
        self->cap = cap;
    }
    s_pending_t *p = &self->items[self->n];
    memset(p, 0, sizeof *p);
    gridrelay__access_record__init(&p->rec);
    const gr_trusted_key_t *who = req->opened->signer;
    const char *texts[6] = {who ? who->name : "", roles ? roles : "",
                            s_kind_name(req->opened->body), event_id ? event_id : "",
                            category ? category : "", detail ? detail : ""};
    for (int j = 0; j < 6; j++) {
        p->strings[j] = strdup(texts[j]);
        if (!p->strings[j]) {
            for (int i = 0; i < j; i++)
                free(p->strings[i]);
            return GR_ENOMEM;
        }
    }
    if (signer)
        memcpy(p->actor, signer, 32);
    p->env_seq = seq;
    p->rec.time_ms = req->now_ms;
    p->rec.kind = (Gridrelay__AccessRecord__Kind)kind;
    self->n++;
    return 0;
}

size_t gr_access_log_pending(const gr_access_log_t *self)
{
    return self ? self->n : 0;
}

int gr_access_log_commit(gr_access_log_t *self, gr_store_t *store)
{
    if (!self || self->n == 0)
        return 0;
    gr_txn_t *txn = NULL;
    int rc = gr_store_begin(store, true, &txn);
    for (size_t i = 0; rc == 0 && i < self->n; i++) {
        s_pending_t *p = &self->items[i];
        p->rec.actor = (ProtobufCBinaryData){32, p->actor};
        p->rec.actor_name = p->strings[0];
        p->rec.roles = p->strings[1];
        p->rec.request = p->strings[2];
        p->rec.event_id = p->strings[3];
        p->rec.category = p->strings[4];
        p->rec.detail = p->strings[5];
        rc = gr_store_access_append(txn, &p->rec);
    }
    if (rc == 0)
        rc = gr_store_commit(&txn);
    gr_store_abort(&txn);
    if (rc != 0) {
        gr_log(GR_LOG_ERROR, NULL, "access log: %zu records not written yet: %s", self->n,
               gr_strerror(rc));
        return rc;
    }
    s_clear(self);
    return 0;
}

/* ---- AuditReads ---- */

typedef struct {
    const Gridrelay__AuditReads *ask;
    uint64_t *seqs;         /* the newest `limit` matches, a ring */
    size_t limit, seen;
    int err;
} s_query_t;

static void s_match(void *ctx, const Gridrelay__AccessRecord *rec)
{
    s_query_t *q = ctx;
    const Gridrelay__AuditReads *a = q->ask;
    if (a->event_id && *a->event_id && strcmp(a->event_id, rec->event_id) != 0)
        return;
    if (a->actor.len && (rec->actor.len != a->actor.len
                         || memcmp(rec->actor.data, a->actor.data, a->actor.len) != 0))
        return;
    if (rec->time_ms < a->since_ms)
        return;
    q->seqs[q->seen % q->limit] = rec->seq;
    q->seen++;
}

int gr_access_log_query(const gr_request_t *req)
{
    uint64_t ref_seq = gr_request_seq(req);
    const Gridrelay__AuditReads *ask = req->opened->body->audit_reads;
    if (!ask)
        return gr_reply_error(req->reply, ref_seq, GR_EINVAL, "audit_reads missing");
    if (ask->actor.len != 0 && ask->actor.len != 32)
        return gr_reply_error(req->reply, ref_seq, GR_EINVAL,
                              "audit_reads.actor must be a 32-byte public key or empty");
    s_query_t q = {ask, NULL, ask->limit && ask->limit < S_LIMIT_MAX ? ask->limit : S_LIMIT_MAX,
                   0, 0};
    q.seqs = calloc(q.limit, sizeof *q.seqs);
    if (!q.seqs)
        return GR_ENOMEM;
    uint64_t total = 0;
    uint8_t head[32];
    char fault[160] = "";
    int rc = gr_store_access_walk(req->txn, s_match, &q, &total, head, fault, sizeof fault);
    if (rc < 0) {
        free(q.seqs);
        return rc;
    }
    size_t n = q.seen < q.limit ? q.seen : q.limit;
    Gridrelay__AccessRecord **recs = calloc(n ? n : 1, sizeof *recs);
    if (!recs) {
        free(q.seqs);
        return GR_ENOMEM;
    }
    int grc = 0;
    size_t got = 0;
    for (size_t i = 0; grc == 0 && i < n; i++) {
        size_t at = q.seen <= q.limit ? i : (q.seen + i) % q.limit;
        grc = gr_store_access_get(req->txn, q.seqs[at], &recs[got]);
        if (grc == 0)
            got++;
    }
    Gridrelay__AccessLog out = GRIDRELAY__ACCESS_LOG__INIT;
    out.ref_seq = ref_seq;
    out.records = recs;
    out.n_records = got;
    out.total = total;
    out.chain_ok = rc == 0;
    out.head = (ProtobufCBinaryData){sizeof head, head};
    out.fault = fault;
    out.more = q.seen > q.limit;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_ACCESS_LOG;
    body.access_log = &out;
    if (grc == 0)
        grc = gr_reply_pack(req->reply, &body);
    for (size_t i = 0; i < got; i++)
        gridrelay__access_record__free_unpacked(recs[i], NULL);
    free(recs);
    free(q.seqs);
    return grc;
}
