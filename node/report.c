#include "report.h"

#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "confseal.h"
#include "error.h"
#include "event.h"
#include "merge.h"

int gr_report_handle(const gr_config_t *cfg, gr_engine_t *engine, gr_daily_t *daily,
                     gr_counters_t *counters, const gr_request_t *req)
{
    uint64_t seq = gr_request_seq(req);
    Gridrelay__Event *event = req->opened->body->report->event;
    char why[200];
    int rc = 0;
    if (event->origin_node && *event->origin_node && strcmp(event->origin_node, cfg->node_id) != 0) {
        snprintf(why, sizeof why, "origin_node must be empty or this node's id (%s): a report "
                 "is first stored where it is made", cfg->node_id);
        rc = GR_EINVAL;
    }
    if (rc == 0 && event->sealed) {
        snprintf(why, sizeof why, "event.sealed is set by the origin node only (PROTOCOL.md 12.1)");
        rc = GR_EINVAL;
    }
    /* Filled in the request itself, so that a redone batch (map grown)
     * keeps the same id. */
    if (rc == 0)
        rc = gr_event_resolve(event, NULL, cfg->catalogue, cfg->node_id, req->now_ms, why,
                              sizeof why);
    if (rc == GR_ENOMEM)
        return rc;
    if (rc != 0)
        return gr_reply_error(req->reply, seq, rc, why);
    rc = gr_store_event_exists(req->txn, event->id);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        /* The same event under a new (signer, seq): a reporter that lost
         * its ack and restarted. Stored once; this pair is remembered too. */
        counters->value[GR_COUNT_DUPLICATE]++;
        return gr_reply_ack(req->reply, seq, event->id, true, GRIDRELAY__STATUS__STATUS_UNSPECIFIED);
    }
    /* A zero report ("all safe") is signed, stored and counted like any
     * report, but is no case: no lifecycle, no status stream, no router,
     * no department, no timer, and no candidate duplicate. */
    bool zero = gr_daily_is_zero(cfg, event->category);
    char candidate[GR_EVENT_ID_MAX + 1] = "";
    if (!zero && (rc = gr_merge_find_candidate(cfg, req->txn, event, candidate, sizeof candidate)) != 0)
        return rc;
    Gridrelay__StoredEvent stored = GRIDRELAY__STORED_EVENT__INIT;
    stored.event = event;
    stored.candidate_of = candidate;
    stored.origin_envelope.data = (uint8_t *)req->frame;
    stored.origin_envelope.len = req->frame_len;
    /* A confidential category sealed here goes up as this envelope. */
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    if (!zero && (rc = gr_confseal_make(cfg, req->opened->envelope, req->frame, req->frame_len,
                                        event, &sealed, &sealed_len)) != 0)
        return rc;
    stored.sealed_origin.data = sealed;
    stored.sealed_origin.len = sealed_len;
    const char *who = req->opened->signer->name;
    if (zero)
        stored.status = GRIDRELAY__STATUS__CLOSED;
    char reason[200];
    if (zero)
        snprintf(reason, sizeof reason, "zero report (日报告零报告) by %s: recorded, no case", who);
    else
        snprintf(reason, sizeof reason, "reported by %s%s%s", who,
                 *candidate ? "; candidate duplicate of " : "", candidate);
    gr_actor_t actor = {who, req->opened->envelope->signer.data, req->opened->hash};
    Gridrelay__StoredEvent *rec = NULL;
    rc = gr_engine_create(engine, req->txn, &stored, &actor, GRIDRELAY__ACTION__ACTION_REPORT,
                          reason, req->now_ms, &rec);
    free(sealed);
    if (rc == 0 && !zero)
        rc = gr_engine_new_case(engine, req->txn, rec, req->now_ms);
    if (rc == 0)
        rc = gr_daily_report(daily, req->txn, who, event->id, req->now_ms);
    if (rc == 0) {
        counters->value[GR_COUNT_ACCEPTED]++;
        if (zero)
            counters->value[GR_COUNT_ZERO_REPORTS]++;
        rc = gr_reply_ack(req->reply, seq, event->id, false, rec->status);
    }
    if (rec)
        gridrelay__stored_event__free_unpacked(rec, NULL);
    return rc;
}
