/* Batched receipts (broker/receipt.c): the tree against a recursive
 * RFC 9162 reference for every size up to 70, the PROTOCOL.md 2.4 test
 * vector (computed apart with Python's hashlib.blake2b), and a receipt
 * envelope refused when one byte of its item, request, path, root, head or
 * signature is changed. */
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
#include "receipt.h"

#define HB GR_RECEIPT_HASH_BYTES

static void s_hex(char *out, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

/* RFC 9162 2.1.1 as written: split at the largest power of two below n. */
static void s_mth(uint8_t out[HB], const uint8_t (*d)[HB], size_t n)
{
    if (n == 1) {
        memcpy(out, d[0], HB);
        return;
    }
    size_t k = 1;
    while (k * 2 < n)
        k *= 2;
    uint8_t in[1 + 2 * HB];
    in[0] = 1;
    s_mth(in + 1, d, k);
    s_mth(in + 1 + HB, d + k, n - k);
    crypto_generichash(out, HB, in, sizeof in, NULL, 0);
}

static void test_tree_matches_rfc9162_and_every_path_verifies(void **state)
{
    (void)state;
    uint8_t leaves[70][HB];
    for (size_t i = 0; i < 70; i++)
        randombytes_buf(leaves[i], HB);
    for (size_t n = 1; n <= 70; n++) {
        gr_receipt_tree_t *t = gr_receipt_tree_new((const uint8_t (*)[HB])leaves, n);
        assert_non_null(t);
        uint8_t want[HB];
        s_mth(want, (const uint8_t (*)[HB])leaves, n);
        assert_memory_equal(gr_receipt_tree_root(t), want, HB);
        for (size_t i = 0; i < n; i++) {
            const uint8_t *path[GR_RECEIPT_MAX_PATH];
            size_t np = gr_receipt_tree_path(t, i, path);
            uint8_t root[HB];
            assert_int_equal(gr_receipt_root_from_path(root, leaves[i], i, n, path, np), 0);
            assert_memory_equal(root, want, HB);
            /* The same path claimed for another index or size fails or
             * leads elsewhere. */
            if (n > 1) {
                int rc = gr_receipt_root_from_path(root, leaves[i], (i + 1) % n, n, path, np);
                assert_true(rc != 0 || memcmp(root, want, HB) != 0);
            }
            assert_int_not_equal(gr_receipt_root_from_path(root, leaves[i], i, n + 1 + n, path,
                                                           np) == 0 &&
                                 memcmp(root, want, HB) == 0, 1);
            assert_int_not_equal(gr_receipt_root_from_path(root, leaves[i], n, n, path, np), 0);
        }
        gr_receipt_tree_destroy(&t);
        assert_null(t);
    }
}

static void test_vector_of_protocol_md(void **state)
{
    (void)state;
    uint8_t signer[32], request[32], leaves[3][HB];
    memset(signer, 0x11, sizeof signer);
    memset(request, 0x22, sizeof request);
    const uint8_t body[3] = { 0x0a, 0x01, 0x41 };
    for (int i = 0; i < 3; i++)
        assert_int_equal(gr_receipt_leaf(leaves[i], signer, 7 + (uint64_t)i, 1700000000000ull,
                                         request, body, sizeof body), 0);
    char hex[2 * GR_RECEIPT_HEAD_BYTES + 1];
    s_hex(hex, leaves[0], HB);
    assert_string_equal(hex, "08d41fd32855fa3bfad9eede8498f8e9f04bb7a417a6eeadb08e0c376ab6a461");
    s_hex(hex, leaves[2], HB);
    assert_string_equal(hex, "56e0596d2e5410c5f1666be70a95fb225f93a0f19694f00eb32ccd1f53ffae70");
    gr_receipt_tree_t *t = gr_receipt_tree_new((const uint8_t (*)[HB])leaves, 3);
    assert_non_null(t);
    s_hex(hex, gr_receipt_tree_root(t), HB);
    assert_string_equal(hex, "f5932c72b3f70a94974b6398abf135f89889ebe1744988b428ac8015860caa6a");
    const uint8_t *path[GR_RECEIPT_MAX_PATH];
    assert_int_equal(gr_receipt_tree_path(t, 1, path), 2);
    assert_memory_equal(path[0], leaves[0], HB);
    assert_memory_equal(path[1], leaves[2], HB);
    assert_int_equal(gr_receipt_tree_path(t, 2, path), 1);  /* promoted: one sibling */
    uint8_t head[GR_RECEIPT_HEAD_BYTES];
    gr_receipt_head_input(head, signer, 1700000000000ull, 3, gr_receipt_tree_root(t));
    s_hex(hex, head, sizeof head);
    assert_string_equal(hex, "4752683211111111111111111111111111111111111111111111111111111111"
                             "111111110000018bcfe568000000000000000003f5932c72b3f70a94974b6398"
                             "abf135f89889ebe1744988b428ac8015860caa6a");
    gr_receipt_tree_destroy(&t);
}

/* A batch of 5 signed replies; receipt 3's frame in *frame. */
typedef struct {
    gr_keypair_t kp;
    uint8_t *frame;
    size_t len;
} s_fix_t;

static void s_batch(s_fix_t *f, size_t pick)
{
    assert_int_equal(gr_keys_generate(&f->kp), 0);
    const uint8_t body[] = { 0x12, 0x05, 0x08, 0x07, 0x12, 0x01, 0x45 };
    uint8_t leaves[5][HB], req[5][HB];
    for (size_t i = 0; i < 5; i++) {
        randombytes_buf(req[i], HB);
        assert_int_equal(gr_receipt_leaf(leaves[i], f->kp.pk, 100 + i, 1700000000000ull, req[i],
                                         body, sizeof body), 0);
    }
    gr_receipt_tree_t *t = gr_receipt_tree_new((const uint8_t (*)[HB])leaves, 5);
    uint8_t head[GR_RECEIPT_HEAD_BYTES], sig[64];
    gr_receipt_head_input(head, f->kp.pk, 1700000000000ull, 5, gr_receipt_tree_root(t));
    assert_int_equal(crypto_sign_detached(sig, NULL, head, sizeof head, f->kp.sk), 0);
    const uint8_t *path[GR_RECEIPT_MAX_PATH];
    gr_receipt_proof_t p = {req[pick], pick, 5, 1700000000000ull, path, 0,
                            gr_receipt_tree_root(t), sig};
    p.n_path = gr_receipt_tree_path(t, pick, path);
    assert_int_equal(gr_receipt_pack(&f->frame, &f->len, f->kp.pk, 100 + pick, 1700000000000ull,
                                     body, sizeof body, &p), 0);
    gr_receipt_tree_destroy(&t);
}

static int s_open(const uint8_t *frame, size_t len, const uint8_t *pk, gr_receipt_cache_t *cache)
{
    gr_opened_t o;
    int rc = gr_envelope_open_reply(&o, frame, len, pk, 0, cache, true);
    gr_opened_clear(&o);
    return rc;
}

/* Re-packs the receipt after mutate() changed one byte of one part. */
static int s_tampered(const s_fix_t *f, void (*mutate)(Gridrelay__Envelope *))
{
    Gridrelay__Envelope *env = gridrelay__envelope__unpack(NULL, f->len, f->frame);
    assert_non_null(env);
    /* What a mutation may point elsewhere, put back before the free. */
    ProtobufCBinaryData sig = env->signature;
    size_t n_path = env->receipt->n_path;
    mutate(env);
    size_t len = gridrelay__envelope__get_packed_size(env);
    uint8_t *buf = malloc(len);
    gridrelay__envelope__pack(env, buf);
    env->signature = sig;
    env->receipt->n_path = n_path;
    gridrelay__envelope__free_unpacked(env, NULL);
    int rc = s_open(buf, len, f->kp.pk, NULL);
    free(buf);
    return rc;
}

static void m_body(Gridrelay__Envelope *e) { e->body.data[e->body.len - 1] ^= 1; }
static void m_seq(Gridrelay__Envelope *e) { e->seq++; }
static void m_sent(Gridrelay__Envelope *e) { e->sent_ms++; }
static void m_request(Gridrelay__Envelope *e) { e->receipt->request.data[0] ^= 1; }
static void m_path(Gridrelay__Envelope *e) { e->receipt->path[e->receipt->n_path - 1].data[31] ^= 1; }
static void m_path_short(Gridrelay__Envelope *e) { e->receipt->n_path--; }
static void m_root(Gridrelay__Envelope *e) { e->receipt->root.data[5] ^= 1; }
static void m_sig(Gridrelay__Envelope *e) { e->receipt->signature.data[10] ^= 1; }
static void m_time(Gridrelay__Envelope *e) { e->receipt->time_ms++; }
static void m_index(Gridrelay__Envelope *e) { e->receipt->index ^= 1; }
static void m_size(Gridrelay__Envelope *e) { e->receipt->size++; }
static void m_version(Gridrelay__Envelope *e) { e->version = 1; }
static void m_with_sig(Gridrelay__Envelope *e)
{
    static uint8_t sig[64];
    e->signature = (ProtobufCBinaryData){64, sig};
}

static void test_tampered_receipt_is_refused(void **state)
{
    (void)state;
    s_fix_t f;
    s_batch(&f, 3);
    gr_receipt_cache_t cache = {0};
    assert_int_equal(s_open(f.frame, f.len, f.kp.pk, &cache), 0);
    assert_int_equal(cache.verified, 1);
    /* The same head again: found in the cache, not verified again. */
    assert_int_equal(s_open(f.frame, f.len, f.kp.pk, &cache), 0);
    assert_int_equal(cache.verified, 1);
    assert_int_equal(cache.hits, 1);
    struct { void (*m)(Gridrelay__Envelope *); int want; const char *what; } cases[] = {
        { m_body, GR_ESIGNATURE, "body" }, { m_seq, GR_ESIGNATURE, "seq" },
        { m_sent, GR_ESIGNATURE, "sent_ms" }, { m_request, GR_ESIGNATURE, "request" },
        { m_path, GR_ESIGNATURE, "path" }, { m_path_short, GR_ESIGNATURE, "path cut" },
        { m_root, GR_ESIGNATURE, "root" }, { m_sig, GR_ESIGNATURE, "signature" },
        { m_time, GR_ESIGNATURE, "time_ms" }, { m_index, GR_ESIGNATURE, "index" },
        { m_size, GR_ESIGNATURE, "size" }, { m_version, GR_EDECODE, "version 1" },
        { m_with_sig, GR_EDECODE, "a signature beside it" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = s_tampered(&f, cases[i].m);
        if (rc != cases[i].want)
            fail_msg("%s: got %d, want %d", cases[i].what, rc, cases[i].want);
    }
    /* Another node's key. */
    gr_keypair_t other;
    assert_int_equal(gr_keys_generate(&other), 0);
    assert_int_equal(s_open(f.frame, f.len, other.pk, NULL), GR_EUNTRUSTED);
    /* A node never takes a receipt as a request: it must be signed. */
    gr_trust_t *trust = gr_trust_new();
    assert_non_null(trust);
    assert_int_equal(gr_trust_add(trust, f.kp.pk, "node", 0), 0);
    gr_opened_t o;
    assert_int_equal(gr_envelope_open(&o, NULL, f.frame, f.len, trust, 0), GR_EDECODE);
    assert_int_equal(gr_envelope_open_from(&o, f.frame, f.len, f.kp.pk, 0), GR_EDECODE);
    gr_trust_destroy(&trust);
    free(f.frame);
}

static void test_each_leaf_of_a_batch_opens(void **state)
{
    (void)state;
    for (size_t pick = 0; pick < 5; pick++) {
        s_fix_t f;
        s_batch(&f, pick);
        assert_int_equal(s_open(f.frame, f.len, f.kp.pk, NULL), 0);
        free(f.frame);
    }
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_matches_rfc9162_and_every_path_verifies),
        cmocka_unit_test(test_vector_of_protocol_md),
        cmocka_unit_test(test_tampered_receipt_is_refused),
        cmocka_unit_test(test_each_leaf_of_a_batch_opens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
