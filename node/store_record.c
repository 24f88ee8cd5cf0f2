/* A case record as it lies in the events database: what it leaves out of
 * its stored bytes because other bytes of the record hold it already, and
 * how a read puts it back (StoredEvent.in_link_proof, StoredEvent.filled).
 * A record is the largest thing a node writes per case; two fit a 4 KiB
 * leaf or one, so every byte left out here is pages not written. */
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "store_internal.h"

#define S_HOLDS_ORIGIN 1u   /* StoredEvent.in_link_proof bits */
#define S_HOLDS_HOPS 2u
#define S_HOLDS_EVENT 4u    /* schema 6: the event, from the origin envelope's Report */

/* ---- the child's Escalate inside a link_proof item (schema 5) ---- */

typedef struct {
    Gridrelay__Envelope *envelope;
    Gridrelay__Body *body;
} s_opened_t;

static void s_opened_close(s_opened_t *o)
{
    if (o->body)
        gridrelay__body__free_unpacked(o->body, NULL);
    if (o->envelope)
        gridrelay__envelope__free_unpacked(o->envelope, NULL);
    o->body = NULL;
    o->envelope = NULL;
}

/* The Body of the Envelope in bytes, when it is of kind; NULL otherwise
 * (what o holds is freed by s_opened_close() either way). */
static Gridrelay__Body *s_opened_body(const ProtobufCBinaryData *bytes,
                                      Gridrelay__Body__KindCase kind, s_opened_t *o)
{
    o->envelope = NULL;
    o->body = NULL;
    if (bytes->len == 0)
        return NULL;
    o->envelope = gridrelay__envelope__unpack(NULL, bytes->len, bytes->data);
    if (o->envelope)
        o->body = gridrelay__body__unpack(NULL, o->envelope->body.len, o->envelope->body.data);
    return o->body && o->body->kind_case == kind ? o->body : NULL;
}

static Gridrelay__Escalate *s_proof_open(const ProtobufCBinaryData *proof, s_opened_t *o)
{
    Gridrelay__Body *body = s_opened_body(proof, GRIDRELAY__BODY__KIND_ESCALATE, o);
    return body ? body->escalate : NULL;
}

/* The reporter's event in an origin envelope: NULL when it holds none
 * (sealed for a recipient, or not a report). */
static Gridrelay__Event *s_origin_event(const ProtobufCBinaryData *origin, s_opened_t *o)
{
    Gridrelay__Body *body = s_opened_body(origin, GRIDRELAY__BODY__KIND_REPORT, o);
    return body && body->report ? body->report->event : NULL;
}

/* ---- comparing what a reader would be given back ---- */

static bool s_same_bytes(const ProtobufCBinaryData *a, const ProtobufCBinaryData *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* Whether two messages encode to the same bytes. */
static bool s_same_message(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t la = protobuf_c_message_get_packed_size(a);
    if (la != protobuf_c_message_get_packed_size(b))
        return false;
    uint8_t *buf = malloc(2 * la + 1);
    if (!buf)
        return false;  /* kept in the record: never wrong, only larger */
    protobuf_c_message_pack(a, buf);
    protobuf_c_message_pack(b, buf + la);
    bool same = memcmp(buf, buf + la, la) == 0;
    free(buf);
    return same;
}

static bool s_same_hops(Gridrelay__Hop *const *a, size_t na, Gridrelay__Hop *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (!s_same_message(&a[i]->base, &b[i]->base))
            return false;
    return true;
}

/* ---- the event, from the origin envelope (schema 6) ---- */

static bool s_set(const char *s)
{
    return s && s[0];
}

/* What the node filled in of the reporter's event when it stored the case
 * (gr_event_resolve: only fields the reporter left unset), from stored,
 * the event as the record holds it. False when stored differs from sent
 * in a field the reporter did set: the event was changed since, and the
 * record keeps it. The strings point into stored. */
static bool s_filled_of(Gridrelay__Resolved *filled, const Gridrelay__Event *sent,
                        const Gridrelay__Event *stored)
{
    gridrelay__resolved__init(filled);
    if (!s_set(sent->id))
        filled->event_id = stored->id;  /* the key, but a reader unpacks without it */
    else if (!s_set(stored->id) || strcmp(sent->id, stored->id) != 0)
        return false;
    if (!s_set(sent->origin_node))
        filled->origin_node = stored->origin_node;
    else if (!s_set(stored->origin_node) || strcmp(sent->origin_node, stored->origin_node) != 0)
        return false;
    if (sent->severity == GRIDRELAY__SEVERITY__SEVERITY_UNSPECIFIED)
        filled->severity = stored->severity;
    else if (sent->severity != stored->severity)
        return false;
    if (sent->created_ms == 0)
        filled->created_ms = stored->created_ms;
    else if (sent->created_ms != stored->created_ms)
        return false;
    return true;
}

/* The four fields filled may set, saved to be put back. */
typedef struct {
    char *id, *origin_node;
    Gridrelay__Severity severity;
    uint64_t created_ms;
} s_resolved_fields_t;

static s_resolved_fields_t s_fields_swap(Gridrelay__Event *ev, const s_resolved_fields_t *to)
{
    s_resolved_fields_t was = {ev->id, ev->origin_node, ev->severity, ev->created_ms};
    ev->id = to->id;
    ev->origin_node = to->origin_node;
    ev->severity = to->severity;
    ev->created_ms = to->created_ms;
    return was;
}

/* Whether the reporter's event in rec's origin, with filled applied, is
 * rec's event byte for byte: then the record need not hold it. */
static bool s_origin_holds_event(const Gridrelay__StoredEvent *rec, Gridrelay__Resolved *filled)
{
    if (!rec->event)
        return false;
    s_opened_t o;
    Gridrelay__Event *sent = s_origin_event(&rec->origin_envelope, &o);
    bool holds = false;
    if (sent && s_filled_of(filled, sent, rec->event)) {
        /* Where the reporter set one of the four, the record's equals it;
         * where not, filled takes the record's: so the reporter's event
         * with filled applied has exactly the record's four. */
        const Gridrelay__Event *stored = rec->event;
        s_resolved_fields_t fields = {stored->id, stored->origin_node, stored->severity,
                                      stored->created_ms};
        s_resolved_fields_t was = s_fields_swap(sent, &fields);
        holds = s_same_message(&sent->base, &rec->event->base);
        s_fields_swap(sent, &was);
    }
    s_opened_close(&o);
    return holds;
}

/* Moves an unpacked string from one message to another (both from
 * protobuf-c's default allocator, so each message's free_unpacked() frees
 * what it holds after), leaving from the empty default, which is never
 * freed. */
static void s_move_string(char **to, char **from)
{
    if (*to && *to != protobuf_c_empty_string)
        free(*to);
    *to = *from;
    *from = (char *)protobuf_c_empty_string;
}

/* rec->event from its origin envelope and rec->filled; false when the
 * origin holds no event. */
static bool s_event_restore(Gridrelay__StoredEvent *rec)
{
    s_opened_t o;
    Gridrelay__Event *sent = s_origin_event(&rec->origin_envelope, &o);
    bool ok = sent != NULL && rec->event == NULL;
    if (ok) {
        /* Both from protobuf-c's default allocator: the record's
         * free_unpacked() frees what it is given. */
        o.body->report->event = NULL;
        rec->event = sent;
        Gridrelay__Resolved *filled = rec->filled;
        if (filled && s_set(filled->event_id))
            s_move_string(&sent->id, &filled->event_id);
        if (filled && s_set(filled->origin_node))
            s_move_string(&sent->origin_node, &filled->origin_node);
        if (filled && filled->severity)
            sent->severity = filled->severity;
        if (filled && filled->created_ms)
            sent->created_ms = filled->created_ms;
    }
    s_opened_close(&o);
    if (rec->filled) {
        gridrelay__resolved__free_unpacked(rec->filled, NULL);
        rec->filled = NULL;
    }
    return ok;
}

/* ---- reading and writing a record ---- */

/* Before a put: what of rec its link proof (origin envelope, hops) or its
 * origin envelope (the event) holds byte for byte; *filled is set for
 * S_HOLDS_EVENT. */
static uint32_t s_held(const Gridrelay__StoredEvent *rec, Gridrelay__Resolved *filled)
{
    s_opened_t o;
    const Gridrelay__Escalate *esc = s_proof_open(&rec->link_proof, &o);
    uint32_t held = 0;
    if (esc && rec->origin_envelope.len > 0 &&
        s_same_bytes(&rec->origin_envelope, &esc->origin_envelope))
        held |= S_HOLDS_ORIGIN;
    if (esc && rec->n_hops > 0 && s_same_hops(rec->hops, rec->n_hops, esc->hops, esc->n_hops))
        held |= S_HOLDS_HOPS;
    s_opened_close(&o);
    if (s_origin_holds_event(rec, filled))
        held |= S_HOLDS_EVENT;
    return held;
}

/* Moves the origin envelope and hops the link proof holds into rec. */
static bool s_proof_restore(Gridrelay__StoredEvent *rec)
{
    s_opened_t o;
    Gridrelay__Escalate *esc = s_proof_open(&rec->link_proof, &o);
    bool ok = esc != NULL;
    if (ok && (rec->in_link_proof & S_HOLDS_ORIGIN)) {
        ok = rec->origin_envelope.len == 0 && esc->origin_envelope.len > 0;
        if (ok) {
            rec->origin_envelope = esc->origin_envelope;
            esc->origin_envelope = (ProtobufCBinaryData){0, NULL};
        }
    }
    if (ok && (rec->in_link_proof & S_HOLDS_HOPS)) {
        ok = rec->n_hops == 0 && esc->n_hops > 0;
        if (ok) {
            free(rec->hops);
            rec->hops = esc->hops;
            rec->n_hops = esc->n_hops;
            esc->hops = NULL;
            esc->n_hops = 0;
        }
    }
    s_opened_close(&o);
    return ok;
}

Gridrelay__StoredEvent *gr_store_record_unpack(const MDB_val *v)
{
    Gridrelay__StoredEvent *rec = gridrelay__stored_event__unpack(NULL, v->mv_size, v->mv_data);
    if (!rec || rec->in_link_proof == 0)
        return rec;
    bool ok = true;
    if (rec->in_link_proof & (S_HOLDS_ORIGIN | S_HOLDS_HOPS))
        ok = s_proof_restore(rec);
    if (ok && (rec->in_link_proof & S_HOLDS_EVENT))
        ok = s_event_restore(rec);
    rec->in_link_proof = 0;
    if (!ok) {
        gridrelay__stored_event__free_unpacked(rec, NULL);
        return NULL;
    }
    return rec;
}

int gr_store_record_put(gr_txn_t *txn, Gridrelay__StoredEvent *rec, const char *id, size_t idlen,
                        unsigned flags)
{
    Gridrelay__Resolved filled;
    uint32_t held = s_held(rec, &filled);
    Gridrelay__StoredEvent kept = *rec;
    if (held & S_HOLDS_ORIGIN)
        rec->origin_envelope = (ProtobufCBinaryData){0, NULL};
    if (held & S_HOLDS_HOPS) {
        rec->hops = NULL;
        rec->n_hops = 0;
    }
    if (held & S_HOLDS_EVENT) {
        rec->event = NULL;
        bool any = s_set(filled.event_id) || s_set(filled.origin_node) || filled.severity ||
                   filled.created_ms;
        rec->filled = any ? &filled : NULL;
    }
    rec->in_link_proof = held;
    int rc = s_put_msg(txn, S_DB_EVENTS, id, idlen, &rec->base, flags);
    *rec = kept;
    return rc;
}
