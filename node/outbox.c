#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "error.h"
#include "event_id.h"
#include "log.h"

#define S_LIMIT_DEFAULT 100
#define S_LIMIT_MAX 1000

/* What an outbox entry is about, from its body: kind name and case id. */
typedef struct {
    char kind[32];
    char event_id[GR_EVENT_ID_MAX + 1];
    uint64_t sent_ms;
} s_about_t;

static void s_copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src && gr_event_id_valid(src) ? src : "");
}

/* Our own sealed frame: decoded without a second signature check. */
static void s_describe(const gr_config_t *cfg, const uint8_t *frame, size_t len, s_about_t *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->kind, sizeof out->kind, "unknown");
    gr_opened_t o;
    memset(&o, 0, sizeof o);
    if (gr_envelope_reopen(&o, frame, len, cfg->keys.pk, 0) != 0)
        return;
    out->sent_ms = o.envelope->sent_ms;
    const Gridrelay__Body *b = o.body;
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&gridrelay__body__descriptor, b->kind_case);
    if (f)
        snprintf(out->kind, sizeof out->kind, "%s", f->name);
    switch (b->kind_case) {
    case GRIDRELAY__BODY__KIND_ESCALATE:
        if (b->escalate && b->escalate->n_hops && b->escalate->hops[0]->resolved)
            s_copy(out->event_id, sizeof out->event_id,
                   b->escalate->hops[0]->resolved->event_id);
        break;
    case GRIDRELAY__BODY__KIND_ASSIGN:
        if (b->assign)
            s_copy(out->event_id, sizeof out->event_id, b->assign->event_id);
        break;
    case GRIDRELAY__BODY__KIND_FEEDBACK:
        if (b->feedback)
            s_copy(out->event_id, sizeof out->event_id, b->feedback->event_id);
        break;
    case GRIDRELAY__BODY__KIND_SUPERVISE:
        if (b->supervise)
            s_copy(out->event_id, sizeof out->event_id, b->supervise->event_id);
        break;
    case GRIDRELAY__BODY__KIND_URGE:
        if (b->urge)
            s_copy(out->event_id, sizeof out->event_id, b->urge->event_id);
        break;
    default:
        break;
    }
    gr_opened_clear(&o);
}

int gr_outbox_bury(gr_txn_t *txn, const char *peer, uint64_t seq, int code,
                   const char *message, uint64_t now_ms)
{
    int rc = gr_store_dead_bury(txn, peer, seq, code, message, now_ms);
    if (rc == GR_ENOTFOUND)
        return 0;   /* acknowledged or buried already: a resend's answer */
    if (rc == 0)
        rc = gr_store_counter_add(txn, "outbox.dead", 1);
    if (rc == 0) {
        const ProtobufCEnumValue *v =
            protobuf_c_enum_descriptor_get_value(&gridrelay__error_code__descriptor, code);
        gr_log(GR_LOG_WARN, NULL, "dead letter %s/%llu: the peer refused it for good (%s: %s); "
               "kept, no longer sent: gridctl outbox list, retry or drop", peer,
               (unsigned long long)seq, v ? v->name : "?", message);
    }
    return rc;
}

/* ---- list ---- */

typedef struct {
    const gr_config_t *cfg;
    const char *peer;
    Gridrelay__OutboxItem *items;
    Gridrelay__OutboxItem **ptrs;
    size_t n, cap;
    size_t limit, taken;    /* per peer and kind */
    int rc;
} s_list_t;

static Gridrelay__OutboxItem *s_item(s_list_t *l, uint64_t seq, const uint8_t *frame,
                                     size_t len)
{
    if (l->taken >= l->limit || l->n >= l->cap)
        return NULL;
    Gridrelay__OutboxItem *it = &l->items[l->n];
    l->ptrs[l->n++] = it;
    l->taken++;
    gridrelay__outbox_item__init(it);
    s_about_t *about = malloc(sizeof *about);
    if (!about) {
        l->rc = GR_ENOMEM;
        l->n--;
        return NULL;
    }
    s_describe(l->cfg, frame, len, about);
    /* The strings live in the about block, freed with the page. */
    it->peer = (char *)l->peer;
    it->seq = seq;
    it->kind = about->kind;
    it->event_id = about->event_id;
    it->queued_ms = about->sent_ms;
    return it;
}

static void s_visit_waiting(void *ctx, uint64_t seq, const uint8_t *data, size_t len)
{
    s_item(ctx, seq, data, len);
}

static void s_visit_dead(void *ctx, uint64_t seq, const Gridrelay__DeadLetter *dead)
{
    s_list_t *l = ctx;
    Gridrelay__OutboxItem *it = s_item(l, seq, dead->envelope.data, dead->envelope.len);
    if (!it)
        return;
    it->dead = true;
    it->code = dead->code;
    it->message = strdup(dead->message ? dead->message : "");
    it->dead_ms = dead->dead_ms;
    it->dropped = dead->dropped;
    it->dropped_ms = dead->dropped_ms;
    it->dropped_by = strdup(dead->dropped_by ? dead->dropped_by : "");
    if (!it->message || !it->dropped_by)
        l->rc = GR_ENOMEM;
}

/* The i-th peer this node has an outbox for, NULL past the last. */
static const char *s_peer(const gr_config_t *cfg, size_t i)
{
    if (cfg->has_parent && i-- == 0)
        return "parent";
    if (cfg->has_skip && i-- == 0)
        return "skip";
    return i < cfg->n_children ? cfg->children[i].id : NULL;
}

/* name when it is one of them (the config's copy), else NULL. */
static const char *s_known(const gr_config_t *cfg, const char *name)
{
    const char *p;
    for (size_t i = 0; name && (p = s_peer(cfg, i)) != NULL; i++)
        if (strcmp(p, name) == 0)
            return p;
    return NULL;
}

int gr_outbox_list(const gr_config_t *cfg, const gr_request_t *req)
{
    uint64_t ref = gr_request_seq(req);
    const Gridrelay__OutboxList *ask = req->opened->body->outbox_list;
    const char *want = ask && ask->peer && *ask->peer ? ask->peer : NULL;
    size_t limit = ask && ask->limit ? ask->limit : S_LIMIT_DEFAULT;
    if (limit > S_LIMIT_MAX)
        limit = S_LIMIT_MAX;
    if (want && !s_known(cfg, want))
        return gr_reply_error(req->reply, ref, GR_ENOTFOUND,
                              "no such peer: parent, skip or a child's id");
    size_t n_peers = 0;
    while (s_peer(cfg, n_peers))
        n_peers++;
    if (want)
        n_peers = 1;
    s_list_t l = {.cfg = cfg, .limit = limit};
    l.cap = 2 * limit * (n_peers ? n_peers : 1);
    if (l.cap > 2 * S_LIMIT_MAX)
        l.cap = 2 * S_LIMIT_MAX;
    l.items = calloc(l.cap, sizeof *l.items);
    l.ptrs = calloc(l.cap, sizeof *l.ptrs);
    Gridrelay__OutboxPage page = GRIDRELAY__OUTBOX_PAGE__INIT;
    int rc = l.items && l.ptrs ? 0 : GR_ENOMEM;
    for (size_t p = 0; rc == 0 && l.rc == 0 && p < n_peers; p++) {
        l.peer = want ? s_known(cfg, want) : s_peer(cfg, p);
        uint64_t count = 0;
        if (!(ask && ask->dead_only)) {
            rc = gr_store_outbox_depth(req->txn, l.peer, &count);
            page.waiting += count;
            l.taken = 0;
            if (rc == 0)
                rc = gr_store_outbox_scan(req->txn, l.peer, 0, limit, s_visit_waiting, &l);
            if (count > limit)
                page.truncated = true;
        }
        l.taken = 0;
        if (rc == 0)
            rc = gr_store_dead_scan(req->txn, l.peer, limit, s_visit_dead, &l, &count);
        if (count > limit)
            page.truncated = true;
        for (size_t i = 0; i < l.n; i++)
            if (l.items[i].dead && !l.items[i].dropped && l.items[i].peer == l.peer)
                page.dead++;
    }
    if (rc == 0)
        rc = l.rc;
    if (rc == 0) {
        page.ref_seq = ref;
        page.items = l.ptrs;
        page.n_items = l.n;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_OUTBOX_PAGE;
        body.outbox_page = &page;
        rc = gr_reply_pack(req->reply, &body);
    }
    for (size_t i = 0; l.items && i < l.n; i++) {
        /* kind is the start of the about block. */
        free(l.items[i].kind);
        if (l.items[i].dead) {
            free(l.items[i].message);
            free(l.items[i].dropped_by);
        }
    }
    free(l.items);
    free(l.ptrs);
    return rc;
}

/* ---- retry / drop ---- */

static int s_retry(gr_engine_t *engine, const gr_config_t *cfg, const gr_request_t *req,
                   const Gridrelay__OutboxAction *act, const Gridrelay__DeadLetter *dead,
                   const s_about_t *about)
{
    uint64_t ref = gr_request_seq(req);
    gr_opened_t o;
    memset(&o, 0, sizeof o);
    int rc = gr_envelope_reopen(&o, dead->envelope.data, dead->envelope.len, cfg->keys.pk, 0);
    if (rc != 0)
        return gr_reply_error(req->reply, ref, GR_ESTORE,
                              "the dead letter's envelope does not decode");
    /* The peer never committed the old seq, so the body goes again under
     * a new one, behind what is waiting: the same bytes would be refused
     * by the replay window once newer messages were accepted. */
    rc = gr_engine_enqueue(engine, req->txn, act->peer, o.body);
    gr_opened_clear(&o);
    if (rc == 0)
        rc = gr_store_dead_del(req->txn, act->peer, act->seq);
    if (rc == 0)
        rc = gr_store_counter_add(req->txn, "outbox.retried", 1);
    if (rc != 0)
        return rc;
    gr_log(GR_LOG_NOTICE, about->event_id[0] ? about->event_id : NULL,
           "dead letter %s/%llu (%s) queued again by %s", act->peer,
           (unsigned long long)act->seq, about->kind, req->opened->signer->name);
    return gr_reply_ack(req->reply, ref, about->event_id, false, 0);
}

static int s_drop(gr_engine_t *engine, const gr_request_t *req, const Gridrelay__OutboxAction *act,
                  Gridrelay__DeadLetter *dead, const s_about_t *about)
{
    uint64_t ref = gr_request_seq(req);
    const char *who = req->opened->signer->name;
    const char *why = act->reason && *act->reason ? act->reason : "";
    if (dead->dropped)
        return gr_reply_error(req->reply, ref, GR_EPERM, "that dead letter is dropped already");
    dead->dropped = true;
    dead->dropped_ms = req->now_ms;
    dead->dropped_by = (char *)who;
    dead->drop_reason = (char *)why;
    int rc = gr_store_dead_put(req->txn, act->peer, act->seq, dead);
    dead->dropped_by = NULL;    /* not ours to free */
    dead->drop_reason = NULL;
    if (rc == 0)
        rc = gr_store_counter_add(req->txn, "outbox.dropped", 1);
    int status = 0;
    if (rc == 0 && about->event_id[0]) {
        Gridrelay__StoredEvent *rec = NULL;
        rc = gr_store_event_get(req->txn, about->event_id, &rec);
        if (rc == 0) {
            const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
                &gridrelay__error_code__descriptor, dead->code);
            char reason[768];
            snprintf(reason, sizeof reason, "dead letter %s/%llu (%s to %s, refused: %s: %s) "
                     "dropped by %s%s%s", act->peer, (unsigned long long)act->seq, about->kind,
                     act->peer, v ? v->name : "?", dead->message ? dead->message : "", who,
                     *why ? ": " : "", why);
            gr_actor_t actor = {who, req->opened->envelope->signer.data, req->opened->hash};
            rc = gr_engine_change(engine, req->txn, rec, GRIDRELAY__ACTION__ACTION_DROP, &actor,
                                  reason, req->now_ms);
            status = rec->status;
            gridrelay__stored_event__free_unpacked(rec, NULL);
        } else if (rc == GR_ENOTFOUND) {
            rc = 0;   /* a case this node does not hold: the dead letter is the record */
        }
    }
    if (rc != 0)
        return rc;
    gr_log(GR_LOG_NOTICE, about->event_id[0] ? about->event_id : NULL,
           "dead letter %s/%llu (%s) dropped by %s%s%s", act->peer,
           (unsigned long long)act->seq, about->kind, who, *why ? ": " : "", why);
    return gr_reply_ack(req->reply, ref, about->event_id, false, status);
}

int gr_outbox_act(gr_engine_t *engine, const gr_config_t *cfg, const gr_request_t *req)
{
    uint64_t ref = gr_request_seq(req);
    const Gridrelay__OutboxAction *act = req->opened->body->outbox_action;
    if (!act || (act->kind != GRIDRELAY__OUTBOX_ACTION__KIND__RETRY &&
                 act->kind != GRIDRELAY__OUTBOX_ACTION__KIND__DROP))
        return gr_reply_error(req->reply, ref, GR_EINVAL, "outbox_action.kind must be RETRY or DROP");
    if (!s_known(cfg, act->peer))
        return gr_reply_error(req->reply, ref, GR_ENOTFOUND,
                              "no such peer: parent, skip or a child's id");
    if (act->reason && strlen(act->reason) > 500)
        return gr_reply_error(req->reply, ref, GR_EINVAL, "outbox_action.reason: at most 500 bytes");
    Gridrelay__DeadLetter *dead = NULL;
    int rc = gr_store_dead_get(req->txn, act->peer, act->seq, &dead);
    if (rc == GR_ENOTFOUND)
        return gr_reply_error(req->reply, ref, rc,
                              "no dead letter with that id (gridctl outbox list --dead)");
    if (rc != 0)
        return rc;
    s_about_t about;
    s_describe(cfg, dead->envelope.data, dead->envelope.len, &about);
    if (act->kind == GRIDRELAY__OUTBOX_ACTION__KIND__RETRY && dead->dropped)
        rc = gr_reply_error(req->reply, ref, GR_EPERM, "that dead letter was dropped");
    else if (act->kind == GRIDRELAY__OUTBOX_ACTION__KIND__RETRY)
        rc = s_retry(engine, cfg, req, act, dead, &about);
    else
        rc = s_drop(engine, req, act, dead, &about);
    gridrelay__dead_letter__free_unpacked(dead, NULL);
    return rc;
}
