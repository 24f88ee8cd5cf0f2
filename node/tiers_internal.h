/* Private to node/tiers.c and node/dispatch.c: the tier logic's state and
 * the steps department dispatch shares with it (one way to change a case,
 * one way to decide what comes next). Nothing else includes it. */
#ifndef GR_TIERS_INTERNAL_H
#define GR_TIERS_INTERNAL_H

#include "store.pb-c.h"
#include "tiers.h"

/* Timer kinds in the due index. */
enum { GR_DUE_DEADLINE = 1, GR_DUE_TASK = 2 };

struct gr_tiers {
    const gr_config_t *cfg;
    gr_intake_t *intake;
    uint64_t last_seq;
    gr_effects_t effects;
    char *notice_endpoint;    /* where department notices are published */
};

/* The one way a case changes: lifecycle table check (GR_EPERM when the
 * action is not allowed in the case's state), timeline entry, status
 * stream. actor_name / actor_pk default to this node. A case that leaves
 * the departments' hands (anything but dispatched, in progress or
 * returned) has their tasks withdrawn first. */
int gr_tiers_change(gr_tiers_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                    Gridrelay__Action action, const char *actor_name, const uint8_t *actor_pk,
                    const uint8_t *envelope_hash, const char *reason, uint64_t now_ms);

/* Replaces a string field of a record unpacked from the store. */
int gr_tiers_set(char **field, const char *value);

/* Asks the router what to do with rec now, and does it (escalate, dispatch
 * to a department, or keep with a timer). */
int gr_tiers_decide(gr_tiers_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                    bool operator_asked, const char *why, uint64_t now_ms);

/* Sends the result of a case resolved here (or learnt from from_peer,
 * which is not told again; NULL for none) back to where it came from. */
int gr_tiers_propagate_result(gr_tiers_t *self, gr_txn_t *txn, const Gridrelay__StoredEvent *rec,
                              const char *from_peer, uint64_t now_ms);

/* Escalates rec for reason with the supervision flag (task overdue again). */
int gr_tiers_escalate_overdue(gr_tiers_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                              gr_reason_t reason, const char *why, uint64_t now_ms);

/* Packs body and keeps it to publish after the commit: to departments on
 * topic (a notice) or, with topic NULL, in the status stream's list. */
int gr_tiers_effect(gr_tiers_t *self, const char *topic, const Gridrelay__Body *body);

/* ---- dispatch.c ---- */

/* Whether a department here could take rec now: the routing table has a
 * line for its category with a candidate it has not returned. */
bool gr_dispatch_untried(const gr_tiers_t *self, const Gridrelay__StoredEvent *rec);

/* Gives rec to the next untried department of its route (and the route's
 * co-handlers on a first dispatch). GR_ENOTFOUND when there is none. */
int gr_dispatch_next(gr_tiers_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                     uint64_t now_ms);

/* An operator's (re)dispatch to lead with co-handlers co[0..nco). Refuses
 * (GR_EINVAL) a code that is not a department here. */
int gr_dispatch_to(gr_tiers_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                   const char *lead, char *const *co, size_t nco, const char *actor_name,
                   const uint8_t *actor_pk, const uint8_t *envelope_hash, const char *why,
                   uint64_t now_ms, char *refusal, size_t refusal_len);

/* Withdraws every open task of rec (lead and co-handlers): deletes them,
 * tells each department, clears rec's department fields. */
int gr_dispatch_withdraw_all(gr_tiers_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                             const char *reason);

/* The lead task's timer came due. */
int gr_dispatch_fire(gr_tiers_t *self, gr_txn_t *txn, Gridrelay__StoredEvent *rec,
                     uint64_t now_ms);

#endif
