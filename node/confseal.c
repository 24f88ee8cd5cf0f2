/* Confidential categories in transit; the contract is in confseal.h. */
#include "confseal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "event.h"

bool gr_confseal_is_sealed(const Gridrelay__Event *event)
{
    return event && event->sealed && event->sealed->box.len > 0;
}

int gr_confseal_make(const gr_config_t *cfg, const Gridrelay__Envelope *req_env,
                     const uint8_t *frame, size_t frame_len, const Gridrelay__Event *event,
                     uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    const gr_confidential_seal_t *seal =
        gr_confidential_config_seal_of(&cfg->confidential, event->category);
    if (!seal)
        return 0;
    uint8_t x_pk[crypto_box_PUBLICKEYBYTES];
    if (crypto_sign_ed25519_pk_to_curve25519(x_pk, seal->pk) != 0)
        return GR_EKEY;  /* the config loader refused such keys already */
    size_t box_len = frame_len + crypto_box_SEALBYTES;
    uint8_t *box = malloc(box_len);
    if (!box)
        return GR_ENOMEM;
    if (crypto_box_seal(box, frame, frame_len, x_pk) != 0) {
        free(box);
        return GR_ENOMEM;
    }
    /* What the tiers in between need to route, time and count the case,
     * and nothing that names or places a person (PROTOCOL.md 12.1). */
    Gridrelay__SealedPersonal sp = GRIDRELAY__SEALED_PERSONAL__INIT;
    sp.to_node = (char *)seal->node;
    sp.to_key = (ProtobufCBinaryData){sizeof seal->pk, (uint8_t *)seal->pk};
    sp.box = (ProtobufCBinaryData){box_len, box};
    Gridrelay__Location loc = GRIDRELAY__LOCATION__INIT;
    Gridrelay__Event red = GRIDRELAY__EVENT__INIT;
    red.id = event->id;
    red.origin_node = event->origin_node;
    red.category = event->category;
    red.severity = event->severity;
    red.created_ms = event->created_ms;
    red.title = GR_CONFSEAL_TITLE;
    if (event->location && event->location->grid_code && *event->location->grid_code) {
        loc.grid_code = event->location->grid_code;
        red.location = &loc;
    }
    red.sealed = &sp;
    Gridrelay__Report report = GRIDRELAY__REPORT__INIT;
    report.event = &red;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_REPORT;
    body.report = &report;
    /* The reporter's seq and time: the envelope stands for that report. */
    int rc = gr_envelope_seal(out, out_len, &cfg->keys, req_env->seq, req_env->sent_ms, &body);
    free(box);
    return rc;
}

static int s_fail(char *why, size_t why_len, const char *text)
{
    snprintf(why, why_len, "%s", text);
    return GR_EINVAL;
}

static bool s_same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

int gr_confseal_open(const gr_config_t *cfg, gr_opened_t *outer,
                     const Gridrelay__Resolved *resolved, uint64_t now_ms, char *why,
                     size_t why_len)
{
    Gridrelay__Event *ev = outer->body->report->event;
    const Gridrelay__SealedPersonal *sp = ev->sealed;
    if (!sp || sp->to_key.len != GR_PUBLIC_KEY_BYTES)
        return 0;
    /* This node's key, or the one it had before it rotated it (origin
     * nodes learn the new key one by one; cases sealed before wait in
     * outboxes on the way). */
    const gr_keypair_t *mine = &cfg->keys;
    if (memcmp(sp->to_key.data, mine->pk, GR_PUBLIC_KEY_BYTES) != 0)
        mine = cfg->has_previous_keys ? &cfg->previous_keys : NULL;
    if (!mine || memcmp(sp->to_key.data, mine->pk, GR_PUBLIC_KEY_BYTES) != 0) {
        /* Sealed to this node's id under a key it no longer has: stored
         * as it came, its people would be lost here; refused, it waits in
         * the sender's outbox until the old key is given back. */
        if (sp->to_node && strcmp(sp->to_node, cfg->node_id) == 0) {
            /* A key problem the config cures: ERR_SIGNATURE, which the
             * sender retries (broker/link.h), not a dead letter. */
            snprintf(why, why_len, "the personal fields are sealed to a key of this node it no "
                     "longer holds: set [node] previous_secret_key to the old key");
            return GR_ESIGNATURE;
        }
        return 0;  /* sealed to another node: it stays as it came */
    }
    if (sp->box.len <= crypto_box_SEALBYTES)
        return s_fail(why, why_len, "the sealed personal fields are empty");
    uint8_t x_pk[crypto_box_PUBLICKEYBYTES], x_sk[crypto_box_SECRETKEYBYTES];
    if (crypto_sign_ed25519_pk_to_curve25519(x_pk, mine->pk) != 0 ||
        crypto_sign_ed25519_sk_to_curve25519(x_sk, mine->sk) != 0)
        return s_fail(why, why_len, "this node's key has no X25519 form");
    size_t len = sp->box.len - crypto_box_SEALBYTES;
    uint8_t *plain = malloc(len);
    if (!plain) {
        sodium_memzero(x_sk, sizeof x_sk);
        return GR_ENOMEM;
    }
    int rc = crypto_box_seal_open(plain, sp->box.data, sp->box.len, x_pk, x_sk);
    sodium_memzero(x_sk, sizeof x_sk);
    if (rc != 0) {
        free(plain);
        return s_fail(why, why_len, "the sealed personal fields do not open with this node's key");
    }
    /* The reporter's own signature, checked here whatever the tier: this
     * node is the first to see that envelope since the origin. */
    gr_opened_t inner;
    memset(&inner, 0, sizeof inner);
    rc = gr_envelope_open_from(&inner, plain, len, NULL, cfg->max_frame);
    sodium_memzero(plain, len);
    free(plain);
    if (rc != 0)
        return rc == GR_ENOMEM ? rc
                               : s_fail(why, why_len, "the sealed report's signature does not "
                                        "verify");
    if (inner.body->kind_case != GRIDRELAY__BODY__KIND_REPORT || !inner.body->report->event) {
        gr_opened_clear(&inner);
        return s_fail(why, why_len, "the sealed envelope is not a report");
    }
    Gridrelay__Event *full = inner.body->report->event;
    char check[160];
    rc = gr_event_check(full, now_ms, check, sizeof check);
    if (rc == 0)
        rc = gr_event_resolve(full, resolved, cfg->catalogue, cfg->node_id, now_ms, check,
                              sizeof check);
    if (rc == 0 && full->sealed)
        rc = GR_EINVAL;
    if (rc == 0 && (!s_same(full->id, ev->id) || !s_same(full->category, ev->category) ||
                    full->severity != ev->severity || !s_same(full->origin_node, ev->origin_node) ||
                    full->created_ms != ev->created_ms))
        rc = GR_EINVAL;
    if (rc != 0) {
        gr_opened_clear(&inner);
        return rc == GR_ENOMEM ? rc
                               : s_fail(why, why_len, "the sealed report is not the case it "
                                        "travels with");
    }
    /* Swap: outer owns the reporter's event from now on, inner the
     * redacted one, freed with it. Both trees come from protobuf-c's
     * unpack with the default allocator. */
    inner.body->report->event = ev;
    outer->body->report->event = full;
    gr_opened_clear(&inner);
    return 0;
}
