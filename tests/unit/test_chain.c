/* broker/chain: a case's chain and the node's ledger checked from bytes,
 * each kind of tampering found and placed; the ledger link test vector of
 * docs/PROTOCOL.md 4.8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "chain.h"

#define N 4

typedef struct {
    uint8_t bytes[N][256];
    size_t len[N];
    uint8_t hash[N][32];
    gr_chain_item_t items[N];
} s_case_t;

/* Four chained entries, as the store writes them. */
static void s_build(s_case_t *c)
{
    static const char *const reasons[N] = {"reported", "accepted", "dispatched", "resolved"};
    uint8_t prev[32] = {0};
    for (int i = 0; i < N; i++) {
        Gridrelay__TimelineEntry e = GRIDRELAY__TIMELINE_ENTRY__INIT;
        e.seq = (uint32_t)i + 1;
        e.time_ms = 1700000000000 + (uint64_t)i * 1000;
        e.unit = "v1";
        e.action = (Gridrelay__Action)(i + 1);
        e.reason = (char *)reasons[i];
        e.prev_hash = (ProtobufCBinaryData){32, prev};
        assert_int_equal(gr_chain_entry_hash(c->hash[i], &e, prev), 0);
        e.hash = (ProtobufCBinaryData){32, c->hash[i]};
        c->len[i] = gridrelay__timeline_entry__pack(&e, c->bytes[i]);
        c->items[i] = (gr_chain_item_t){e.seq, c->bytes[i], c->len[i]};
        memcpy(prev, c->hash[i], 32);
    }
}

static int s_check(s_case_t *c, const gr_chain_item_t *items, size_t n, uint32_t record_len,
                   gr_chain_fault_t *fault)
{
    uint8_t head[32];
    memset(fault, 0, sizeof *fault);
    return gr_chain_check_case(head, fault, "case-1", items, n, true, record_len,
                               c->hash[N - 1]);
}

static void test_intact(void **state)
{
    (void)state;
    s_case_t c;
    s_build(&c);
    gr_chain_fault_t fault;
    uint8_t head[32];
    assert_int_equal(gr_chain_check_case(head, &fault, "case-1", c.items, N, true, N,
                                         c.hash[N - 1]), 0);
    assert_memory_equal(head, c.hash[N - 1], 32);
    /* Without a record (a bundle) only the chain itself is checked. */
    assert_int_equal(gr_chain_check_case(head, &fault, "case-1", c.items, 2, false, 0, NULL), 0);
    assert_memory_equal(head, c.hash[1], 32);
}

/* Every single flipped bit of every entry is found, at that entry. */
static void test_every_flipped_bit_is_altered(void **state)
{
    (void)state;
    s_case_t c;
    s_build(&c);
    for (int i = 0; i < N; i++) {
        for (size_t b = 0; b < c.len[i] * 8; b++) {
            c.bytes[i][b / 8] ^= (uint8_t)(1u << (b % 8));
            gr_chain_fault_t fault;
            assert_int_equal(s_check(&c, c.items, N, N, &fault), 1);
            /* A flip inside the seq varint makes it another entry's number. */
            if (fault.kind != GRIDRELAY__AUDIT_FAULT__KIND__REORDERED
                && fault.kind != GRIDRELAY__AUDIT_FAULT__KIND__INSERTED)
                assert_int_equal(fault.kind, GRIDRELAY__AUDIT_FAULT__KIND__ALTERED);
            /* A changed hash field shows at the next entry or the record. */
            assert_true(fault.index == (uint64_t)i + 1 || fault.index == (uint64_t)i + 2
                        || (i == N - 1 && fault.index == N));
            c.bytes[i][b / 8] ^= (uint8_t)(1u << (b % 8));
        }
    }
}

static void test_altered_text(void **state)
{
    (void)state;
    s_case_t c;
    s_build(&c);
    uint8_t *p = memmem(c.bytes[2], c.len[2], "dispatched", 10);
    assert_non_null(p);
    p[0] = 'D';
    gr_chain_fault_t fault;
    assert_int_equal(s_check(&c, c.items, N, N, &fault), 1);
    assert_int_equal(fault.kind, GRIDRELAY__AUDIT_FAULT__KIND__ALTERED);
    assert_int_equal(fault.index, 3);
    assert_string_equal(fault.event_id, "case-1");
    assert_non_null(strstr(fault.message, "not to the hash it carries"));
}

static void test_deleted(void **state)
{
    (void)state;
    s_case_t c;
    s_build(&c);
    gr_chain_fault_t fault;
    gr_chain_item_t gap[N - 1] = {c.items[0], c.items[2], c.items[3]};
    assert_int_equal(s_check(&c, gap, N - 1, N, &fault), 1);
    assert_int_equal(fault.kind, GRIDRELAY__AUDIT_FAULT__KIND__DELETED);
    assert_int_equal(fault.index, 2);
    /* The newest entry gone: the record still counts it. */
    assert_int_equal(s_check(&c, c.items, N - 1, N, &fault), 1);
    assert_int_equal(fault.kind, GRIDRELAY__AUDIT_FAULT__KIND__DELETED);
    assert_int_equal(fault.index, N);
    /* The first one gone. */
    assert_int_equal(s_check(&c, c.items + 1, N - 1, N, &fault), 1);
    assert_int_equal(fault.kind, GRIDRELAY__AUDIT_FAULT__KIND__DELETED);
    assert_int_equal(fault.index, 1);
}

static void test_reordered(void **state)
{
    (void)state;
    s_case_t c;
    s_build(&c);
    /* Values of keys 2 and 3 swapped, keys kept. */
    gr_chain_item_t swapped[N] = {c.items[0], c.items[2], c.items[1], c.items[3]};
    swapped[1].key_seq = 2;
    swapped[2].key_seq = 3;
    gr_chain_fault_t fault;
    assert_int_equal(s_check(&c, swapped, N, N, &fault), 1);
    assert_int_equal(fault.kind, GRIDRELAY__AUDIT_FAULT__KIND__REORDERED);
    assert_int_equal(fault.index, 2);
    assert_non_null(strstr(fault.message, "holds entry 3"));
}

static void test_inserted(void **state)
{
    (void)state;
    s_case_t c;
    s_build(&c);
    /* A well-formed entry 3 with its own correct hash that names a made-up
     * predecessor: its bytes are fine, its place in the chain is not. */
    uint8_t fake_prev[32], hash[32], bytes[256];
    memset(fake_prev, 0x55, sizeof fake_prev);
    Gridrelay__TimelineEntry e = GRIDRELAY__TIMELINE_ENTRY__INIT;
    e.seq = 3;
    e.reason = "forged";
    e.prev_hash = (ProtobufCBinaryData){32, fake_prev};
    assert_int_equal(gr_chain_entry_hash(hash, &e, fake_prev), 0);
    e.hash = (ProtobufCBinaryData){32, hash};
    size_t len = gridrelay__timeline_entry__pack(&e, bytes);
    gr_chain_item_t forged[N] = {c.items[0], c.items[1], {3, bytes, len}, c.items[3]};
    gr_chain_fault_t fault;
    assert_int_equal(s_check(&c, forged, N, N, &fault), 1);
    assert_int_equal(fault.kind, GRIDRELAY__AUDIT_FAULT__KIND__INSERTED);
    assert_int_equal(fault.index, 3);
    /* One more entry than the record counts. */
    assert_int_equal(s_check(&c, c.items, N, N - 1, &fault), 1);
    assert_int_equal(fault.kind, GRIDRELAY__AUDIT_FAULT__KIND__INSERTED);
    assert_int_equal(fault.index, N);
}

/* ---- the ledger ---- */

typedef struct {
    uint8_t bytes[N][256];
    size_t len[N];
} s_ledger_t;

static void s_ledger_build(s_ledger_t *l, const s_case_t *c)
{
    uint8_t prev[32] = {0}, head[32];
    for (int i = 0; i < N; i++) {
        Gridrelay__AuditLink link = GRIDRELAY__AUDIT_LINK__INIT;
        link.seq = (uint64_t)i + 1;
        link.event_id = "case-1";
        link.entry_seq = (uint32_t)i + 1;
        link.entry_hash = (ProtobufCBinaryData){32, (uint8_t *)c->hash[i]};
        link.prev = (ProtobufCBinaryData){32, prev};
        assert_int_equal(gr_chain_link_hash(head, &link), 0);
        link.head = (ProtobufCBinaryData){32, head};
        l->len[i] = gridrelay__audit_link__pack(&link, l->bytes[i]);
        memcpy(prev, head, 32);
    }
}

/* Feeds links (key seq, index into l) to a fresh walk; returns the first
 * nonzero result, or 0 with all accepted. */
static int s_walk(const s_ledger_t *l, const uint64_t *keys, const int *which, int n,
                  gr_chain_fault_t *fault, gr_chain_ledger_t *walk)
{
    gr_chain_ledger_init(walk);
    for (int i = 0; i < n; i++) {
        Gridrelay__AuditLink *link;
        int rc = gr_chain_ledger_next(walk, &link, fault, keys[i], l->bytes[which[i]],
                                      l->len[which[i]]);
        if (rc != 0)
            return rc;
        gridrelay__audit_link__free_unpacked(link, NULL);
    }
    return 0;
}

static void test_ledger(void **state)
{
    (void)state;
    s_case_t c;
    s_build(&c);
    s_ledger_t l;
    s_ledger_build(&l, &c);
    gr_chain_fault_t fault;
    gr_chain_ledger_t walk;
    const uint64_t keys[N] = {1, 2, 3, 4};
    const int all[N] = {0, 1, 2, 3};
    assert_int_equal(s_walk(&l, keys, all, N, &fault, &walk), 0);
    assert_int_equal(walk.seq, N);

    const uint64_t gap_keys[3] = {1, 3, 4};
    const int gap[3] = {0, 2, 3};
    assert_int_equal(s_walk(&l, gap_keys, gap, 3, &fault, &walk), 1);
    assert_int_equal(fault.kind, GRIDRELAY__AUDIT_FAULT__KIND__DELETED);
    assert_true(fault.in_ledger);
    assert_int_equal(fault.index, 2);

    const int swap[N] = {0, 2, 1, 3};
    assert_int_equal(s_walk(&l, keys, swap, N, &fault, &walk), 1);
    assert_int_equal(fault.kind, GRIDRELAY__AUDIT_FAULT__KIND__REORDERED);
    assert_int_equal(fault.index, 2);

    l.bytes[1][l.len[1] - 1] ^= 1;
    assert_int_equal(s_walk(&l, keys, all, N, &fault, &walk), 1);
    assert_int_equal(fault.kind, GRIDRELAY__AUDIT_FAULT__KIND__ALTERED);
    assert_int_equal(fault.index, 2);
}

/* docs/PROTOCOL.md 4.8: the first link of a ledger whose first entry is
 * the 4.2 test vector's. */
static const char s_link_input_hex[] =
    "0801"
    "12056361736531"
    "1801"
    "222014e9398f7b2305f13849e5df7a6291dfb809ef89f9758e7d836ecb7db43eb05c"
    "2a200000000000000000000000000000000000000000000000000000000000000000";

static void test_link_vector(void **state)
{
    (void)state;
    uint8_t entry_hash[32], zero[32] = {0}, head[32], buf[256];
    assert_int_equal(sodium_hex2bin(entry_hash, 32,
                                    "14e9398f7b2305f13849e5df7a6291dfb809ef89f9758e7d836ecb7db43eb05c",
                                    64, NULL, NULL, NULL), 0);
    Gridrelay__AuditLink link = GRIDRELAY__AUDIT_LINK__INIT;
    link.seq = 1;
    link.event_id = "case1";
    link.entry_seq = 1;
    link.entry_hash = (ProtobufCBinaryData){32, entry_hash};
    link.prev = (ProtobufCBinaryData){32, zero};
    size_t len = gridrelay__audit_link__pack(&link, buf);
    char hex[2 * sizeof buf + 1];
    sodium_bin2hex(hex, sizeof hex, buf, len);
    assert_string_equal(hex, s_link_input_hex);
    assert_int_equal(gr_chain_link_hash(head, &link), 0);
    uint8_t direct[32];
    crypto_hash_sha256(direct, buf, len);
    assert_memory_equal(head, direct, 32);
    sodium_bin2hex(hex, sizeof hex, head, 32);
    assert_string_equal(hex, "d24fd2471c4d704a43da2af18d304320b55b8e212b0763a5b6f557299db56204");
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intact),
        cmocka_unit_test(test_every_flipped_bit_is_altered),
        cmocka_unit_test(test_altered_text),
        cmocka_unit_test(test_deleted),
        cmocka_unit_test(test_reordered),
        cmocka_unit_test(test_inserted),
        cmocka_unit_test(test_ledger),
        cmocka_unit_test(test_link_vector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
