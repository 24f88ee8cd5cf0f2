#include "audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "event_id.h"

int gr_audit_verify(const gr_request_t *req)
{
    uint64_t ref_seq = gr_request_seq(req);
    gr_store_audit_t result;
    gr_chain_fault_t fault;
    int rc = gr_store_audit_verify(req->txn, NULL, &result, &fault);
    if (rc < 0)
        return rc;
    Gridrelay__AuditReport report = GRIDRELAY__AUDIT_REPORT__INIT;
    Gridrelay__AuditFault f = GRIDRELAY__AUDIT_FAULT__INIT;
    report.ref_seq = ref_seq;
    report.ok = rc == 0;
    report.entries = result.entries;
    report.cases = result.cases;
    if (rc == 0) {
        report.head = (ProtobufCBinaryData){sizeof result.head, result.head};
    } else {
        f.kind = (Gridrelay__AuditFault__Kind)fault.kind;
        f.event_id = fault.event_id;
        f.index = fault.index;
        f.in_ledger = fault.in_ledger;
        f.message = fault.message;
        report.fault = &f;
    }
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_AUDIT_REPORT;
    body.audit_report = &report;
    return gr_reply_pack(req->reply, &body);
}

int gr_audit_export(const gr_config_t *cfg, const gr_request_t *req)
{
    uint64_t ref_seq = gr_request_seq(req);
    const Gridrelay__AuditExport *ask = req->opened->body->audit_export;
    if (!ask || !ask->event_id || !gr_event_id_valid(ask->event_id))
        return gr_reply_error(req->reply, ref_seq, GR_EINVAL,
                              "audit_export.event_id must be 1..64 characters of [A-Za-z0-9._-]");
    Gridrelay__StoredEvent *rec = NULL;
    int rc = gr_store_event_get(req->txn, ask->event_id, &rec);
    if (rc == GR_ENOTFOUND) {
        char why[128];
        snprintf(why, sizeof why, "no event %s on this node", ask->event_id);
        return gr_reply_error(req->reply, ref_seq, rc, why);
    }
    if (rc != 0)
        return rc;
    ProtobufCBinaryData *entries = NULL;
    Gridrelay__AuditLink **links = NULL;
    size_t n = 0;
    uint64_t ledger_seq = 0;
    uint8_t head[32];
    rc = gr_store_audit_case(req->txn, ask->event_id, &entries, &links, &n);
    if (rc == 0)
        rc = gr_store_audit_head(req->txn, &ledger_seq, head);
    bool linked = true;
    for (size_t i = 0; i < n; i++)
        linked = linked && links[i];
    if (rc == 0 && !linked)
        rc = gr_reply_error(req->reply, ref_seq, GR_ESTORE,
                            "the case's entries are not all in the node's ledger: "
                            "run gridctl audit verify");
    else if (rc == 0) {
        Gridrelay__AuditBundle bundle = GRIDRELAY__AUDIT_BUNDLE__INIT;
        bundle.ref_seq = ref_seq;
        bundle.event_id = ask->event_id;
        bundle.node_id = (char *)cfg->node_id;
        bundle.origin_envelope = rec->origin_envelope;
        bundle.hops = rec->hops;
        bundle.n_hops = rec->n_hops;
        bundle.entries = entries;
        bundle.n_entries = n;
        bundle.links = links;
        bundle.n_links = n;
        bundle.ledger_seq = ledger_seq;
        bundle.ledger_head = (ProtobufCBinaryData){sizeof head, head};
        bundle.exported_ms = req->now_ms;
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_AUDIT_BUNDLE;
        body.audit_bundle = &bundle;
        rc = gr_reply_pack(req->reply, &body);
    }
    free(entries);
    gr_store_audit_links_free(links, n);
    gridrelay__stored_event__free_unpacked(rec, NULL);
    return rc;
}
