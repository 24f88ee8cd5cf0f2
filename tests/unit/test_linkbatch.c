/* Batched link frames (broker/linkbatch.c) and version-2 hops
 * (broker/hop.c): the PROTOCOL.md 8.3 and 8.9 test vectors (computed apart
 * with Python's hashlib.blake2b), a batch sealed and expanded, and what is
 * refused: a tampered item (the whole batch: its head no longer verifies),
 * a wrong inclusion proof, an item for another node, one bad item among
 * good ones (refused alone), and a hop moved onto another origin. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "envelope.h"
#include "error.h"
#include "hop.h"
#include "linkbatch.h"
#include "receipt.h"

#define HB GR_RECEIPT_HASH_BYTES

static void s_hex(char *out, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static void s_unhex(uint8_t *out, const char *hex, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static void s_keys(gr_keypair_t *kp)
{
    crypto_sign_keypair(kp->pk, kp->sk);
}

static void test_vectors(void **state)
{
    (void)state;
    uint8_t signer[32], recipient[32], request[HB];
    memset(signer, 0x11, sizeof signer);
    memset(recipient, 0x33, sizeof recipient);
    gr_linkbatch_request(request, recipient);
    char hex[2 * HB + 1];
    s_hex(hex, request, HB);
    assert_string_equal(hex, "23193dad87c0127e73188acc86b435e1f5f978653206de6bf727a7dd212e8d5e");
    const uint8_t body[3] = {0x0a, 0x01, 0x41};
    uint8_t leaves[3][HB];
    for (int i = 0; i < 3; i++)
        assert_int_equal(gr_receipt_leaf(leaves[i], signer, 7 + (uint64_t)i, 1700000000000ULL,
                                         request, body, sizeof body), 0);
    s_hex(hex, leaves[0], HB);
    assert_string_equal(hex, "a572cf18e5ddcc1a309857d619792c5dd19ea6b921c322f245f67e049cdf3047");
    s_hex(hex, leaves[2], HB);
    assert_string_equal(hex, "388295139f82be43c6849e354aae51b714e70a28f9c4a380c65dc1026650f030");
    gr_receipt_tree_t *t = gr_receipt_tree_new((const uint8_t (*)[HB])leaves, 3);
    s_hex(hex, gr_receipt_tree_root(t), HB);
    assert_string_equal(hex, "f00df4640eda5bcca3173d6d5aac9d2e04340b1577991304cdbd5f417fd83bd6");
    gr_receipt_tree_destroy(&t);
}

/* The version-2 hop input of PROTOCOL.md 8.3, byte for byte: signing it
 * directly gives the signature gr_hop_sign_bound() made. */
static void test_hop_v2_vector(void **state)
{
    (void)state;
    gr_keypair_t kp;
    s_keys(&kp);
    const char *want = "4752686f7032f1c0fec1c59e49939f67ec9e426a03ab924108fd7cfd665702a716c458"
                       "295dd9000000024531000000027631000000086f70657261746f7200000001000001"
                       "8bcfe5680000";
    uint8_t input[75];
    s_unhex(input, want, sizeof input);
    uint8_t expect[64];
    crypto_sign_detached(expect, NULL, input, sizeof input, kp.sk);
    const uint8_t origin[3] = {0x0a, 0x01, 0x41};
    Gridrelay__Hop hop = GRIDRELAY__HOP__INIT;
    hop.node_id = "v1";
    hop.reason = "operator";
    hop.tier_level = 1;
    hop.time_ms = 1700000000000ULL;
    uint8_t sig[64];
    assert_int_equal(gr_hop_sign_bound(&hop, "E1", origin, sizeof origin, &kp, sig), 0);
    assert_int_equal(hop.version, 2);
    assert_memory_equal(sig, expect, 64);
    assert_int_equal(gr_hop_verify_bound(&hop, "E1", origin, sizeof origin), 0);
    /* Moved onto another origin envelope with the same event id. */
    const uint8_t other[3] = {0x0a, 0x01, 0x42};
    assert_int_equal(gr_hop_verify_bound(&hop, "E1", other, sizeof other), GR_ESIGNATURE);
    /* A version-2 hop needs its origin; a version-1 hop still verifies. */
    assert_int_equal(gr_hop_verify(&hop, "E1"), GR_EDECODE);
    assert_int_equal(gr_hop_sign(&hop, "E1", &kp, sig), 0);
    assert_int_equal(hop.version, 0);
    assert_int_equal(gr_hop_verify_bound(&hop, "E1", other, sizeof other), 0);
}

typedef struct {
    int calls, good;
    int rc[8];
    uint8_t *frames[8];
    size_t lens[8];
} s_seen_t;

static void s_each(void *ctx, int rc, uint64_t seq, const gr_opened_t *opened,
                   const uint8_t *frame, size_t len)
{
    s_seen_t *s = ctx;
    assert_true(s->calls < 8);
    assert_int_equal(seq, 100 + (uint64_t)s->calls);
    assert_true((rc == 0) == (opened != NULL));
    s->rc[s->calls] = rc;
    s->frames[s->calls] = malloc(len);
    memcpy(s->frames[s->calls], frame, len);
    s->lens[s->calls] = len;
    s->calls++;
    s->good += rc == 0;
}

/* Without open_items: every item handed over as it came, none opened. */
static void s_each_unopened(void *ctx, int rc, uint64_t seq, const gr_opened_t *opened,
                            const uint8_t *frame, size_t len)
{
    assert_int_equal(rc, 0);
    assert_null(opened);
    s_seen_t *s = ctx;
    assert_true(s->calls < 8);
    assert_int_equal(seq, 100 + (uint64_t)s->calls);
    s->frames[s->calls] = malloc(len);
    memcpy(s->frames[s->calls], frame, len);
    s->lens[s->calls] = len;
    s->calls++;
}

static void s_seen_clear(s_seen_t *s)
{
    for (int i = 0; i < s->calls; i++)
        free(s->frames[i]);
    memset(s, 0, sizeof *s);
}

/* Seals n items of heartbeat bodies (item 'bad' gets bytes that are no
 * Body) and opens the batch's envelope; *env and *body to free. */
static Gridrelay__Body *s_batch(const gr_keypair_t *kp, const uint8_t *to, int n, int bad)
{
    Gridrelay__Heartbeat hb = GRIDRELAY__HEARTBEAT__INIT;
    hb.node_id = "v1";
    Gridrelay__Body b = GRIDRELAY__BODY__INIT;
    b.kind_case = GRIDRELAY__BODY__KIND_HEARTBEAT;
    b.heartbeat = &hb;
    size_t blen = 0;
    uint8_t *bytes = gr_body_pack(&b, &blen);
    static const uint8_t junk[2] = {0xff, 0xff};
    gr_linkbatch_item_t items[8];
    for (int i = 0; i < n; i++)
        items[i] = (gr_linkbatch_item_t){100 + (uint64_t)i, 5, i == bad ? junk : bytes,
                                         i == bad ? sizeof junk : blen};
    uint8_t *frame = NULL;
    size_t len = 0;
    assert_int_equal(gr_linkbatch_seal(&frame, &len, kp, to, 42, 1700000000000ULL, items,
                                       (size_t)n), 0);
    free(bytes);
    gr_opened_t o;
    assert_int_equal(gr_envelope_open_from(&o, frame, len, kp->pk, 0), 0);
    free(frame);
    assert_int_equal(o.envelope->version, 2);
    assert_int_equal(o.body->kind_case, GRIDRELAY__BODY__KIND_LINK_BATCH);
    Gridrelay__Body *body = o.body;
    o.body = NULL;
    gr_opened_clear(&o);
    return body;
}

static void test_seal_expand_and_each_item_is_a_proof(void **state)
{
    (void)state;
    gr_keypair_t kp, node, other;
    s_keys(&kp);
    s_keys(&node);
    s_keys(&other);
    Gridrelay__Body *body = s_batch(&kp, node.pk, 5, -1);
    s_seen_t seen = {0};
    assert_int_equal(gr_linkbatch_expand(body->link_batch, kp.pk, node.pk, 0, true, s_each, &seen),
                     5);
    assert_int_equal(seen.good, 5);
    for (int i = 0; i < 5; i++) {
        /* Any later reader: path, root and the signed head, by the key. */
        gr_opened_t o;
        gr_receipt_cache_t cache = {0};
        assert_int_equal(gr_linkbatch_open_item(&o, seen.frames[i], seen.lens[i], kp.pk, node.pk,
                                                0, &cache, true), 0);
        assert_int_equal(o.envelope->seq, 100 + (uint64_t)i);
        assert_int_equal(o.body->kind_case, GRIDRELAY__BODY__KIND_HEARTBEAT);
        gr_opened_clear(&o);
        /* Addressed to another node, or claimed by another signer. */
        assert_int_equal(gr_linkbatch_open_item(&o, seen.frames[i], seen.lens[i], kp.pk,
                                                other.pk, 0, NULL, true), GR_EUNTRUSTED);
        assert_int_equal(gr_linkbatch_open_item(&o, seen.frames[i], seen.lens[i], other.pk,
                                                node.pk, 0, NULL, true), GR_EUNTRUSTED);
    }
    /* A wrong proof: one byte of the path, or the index. */
    Gridrelay__Envelope *env = gridrelay__envelope__unpack(NULL, seen.lens[1], seen.frames[1]);
    assert_non_null(env);
    assert_true(env->receipt->n_path > 0);
    env->receipt->path[0].data[0] ^= 1;
    uint8_t buf[4096];
    size_t n = gridrelay__envelope__pack(env, buf);
    gr_opened_t o;
    assert_int_equal(gr_linkbatch_open_item(&o, buf, n, kp.pk, node.pk, 0, NULL, true),
                     GR_ESIGNATURE);
    env->receipt->path[0].data[0] ^= 1;
    env->receipt->index = 2;
    n = gridrelay__envelope__pack(env, buf);
    assert_int_equal(gr_linkbatch_open_item(&o, buf, n, kp.pk, node.pk, 0, NULL, true),
                     GR_ESIGNATURE);
    gridrelay__envelope__free_unpacked(env, NULL);
    s_seen_clear(&seen);

    /* A tampered item: the head does not verify, no item is handed over. */
    body->link_batch->items[3]->sent_ms++;
    assert_int_equal(gr_linkbatch_expand(body->link_batch, kp.pk, node.pk, 0, true, s_each, &seen),
                     GR_ESIGNATURE);
    assert_int_equal(seen.calls, 0);
    body->link_batch->items[3]->sent_ms--;
    /* Expanded for another node: its request differs, so does every leaf. */
    assert_int_equal(gr_linkbatch_expand(body->link_batch, kp.pk, other.pk, 0, true, s_each,
                                         &seen),
                     GR_ESIGNATURE);
    gridrelay__body__free_unpacked(body, NULL);

    /* One bad item (its body is no Body): refused alone. */
    body = s_batch(&kp, node.pk, 4, 2);
    assert_int_equal(gr_linkbatch_expand(body->link_batch, kp.pk, node.pk, 0, true, s_each, &seen),
                     4);
    assert_int_equal(seen.calls, 4);
    assert_int_equal(seen.good, 3);
    assert_int_equal(seen.rc[2], GR_EDECODE);
    /* Not opened by expand (a node opens them on its pool): the same
     * frames, the bad one among them, refused when it is opened. */
    s_seen_t raw = {0};
    assert_int_equal(gr_linkbatch_expand(body->link_batch, kp.pk, node.pk, 0, false,
                                         s_each_unopened, &raw), 4);
    assert_int_equal(raw.calls, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(raw.lens[i], seen.lens[i]);
        assert_memory_equal(raw.frames[i], seen.frames[i], raw.lens[i]);
        gr_opened_t o;
        assert_int_equal(gr_linkbatch_open_item(&o, raw.frames[i], raw.lens[i], kp.pk, node.pk,
                                                0, NULL, true), i == 2 ? GR_EDECODE : 0);
        if (i != 2)
            gr_opened_clear(&o);
    }
    s_seen_clear(&raw);
    s_seen_clear(&seen);
    gridrelay__body__free_unpacked(body, NULL);
}

static void test_unsigned_entry(void **state)
{
    (void)state;
    gr_keypair_t kp;
    s_keys(&kp);
    /* A Body holding Heartbeat { node_id "v1" } (kind 24). */
    const uint8_t body[7] = {0xc2, 0x01, 0x04, 0x0a, 0x02, 'v', '1'};
    uint8_t *e = NULL;
    size_t n = 0;
    assert_int_equal(gr_linkbatch_entry_pack(&e, &n, kp.pk, 9, 10, body, sizeof body), 0);
    assert_true(gr_linkbatch_entry_is_unsigned(e, n));
    gr_opened_t o;
    /* Our own entry decodes again without a signature; nothing from outside does. */
    assert_int_equal(gr_envelope_reopen(&o, e, n, kp.pk, 0), 0);
    gr_opened_clear(&o);
    assert_int_equal(gr_envelope_open_from(&o, e, n, kp.pk, 0), GR_EDECODE);
    assert_int_equal(gr_envelope_open_vouched(&o, e, n, 0), GR_EDECODE);
    free(e);
    uint8_t *s = NULL;
    assert_int_equal(gr_envelope_seal_bytes(&s, &n, &kp, 9, 10, body, sizeof body), 0);
    assert_false(gr_linkbatch_entry_is_unsigned(s, n));
    free(s);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_hop_v2_vector),
        cmocka_unit_test(test_seal_expand_and_each_item_is_a_proof),
        cmocka_unit_test(test_unsigned_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
