/* Unit tests for broker/envelope, broker/keys, broker/trust, broker/error.
 *
 * Every tamper test re-encodes a real sealed frame with one field changed, so
 * that each check in gr_envelope_open() is reached through the wire format a
 * peer would actually send, not through a hand-made struct.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "envelope.h"
#include "signing.h"
#include "error.h"
#include "keys.h"
#include "trust.h"

#define SEQ 0x0102030405060708ULL
#define SENT_MS 1718000000123ULL

typedef struct {
    gr_keypair_t alice;     /* trusted reporter, signs the fixture frame */
    gr_keypair_t bob;       /* trusted node */
    gr_keypair_t mallory;   /* not trusted */
    gr_trust_t *trust;
    uint8_t *frame;
    size_t len;
} fixture_t;

/* ---- helpers ---- */

static const uint8_t s_sha_a[32] = { 0xa1, 0xa2, 0xa3, [31] = 0xaf };
static const uint8_t s_sha_b[32] = { 0xb1, [15] = 0xbf, [31] = 0xb0 };

/* Fills ev with every field set, pointing into static storage; the caller
 * provides the sub-messages so nothing needs freeing. */
static void s_fill_event(Gridrelay__Event *ev, Gridrelay__Location *loc,
                         Gridrelay__Attachment *att, Gridrelay__Attachment **att_p,
                         const char *description)
{
    static char *tags[] = { "flood", "村社", "road-closed" };
    Gridrelay__Event e = GRIDRELAY__EVENT__INIT;
    Gridrelay__Location l = GRIDRELAY__LOCATION__INIT;
    Gridrelay__Attachment a0 = GRIDRELAY__ATTACHMENT__INIT;
    Gridrelay__Attachment a1 = GRIDRELAY__ATTACHMENT__INIT;

    l.grid_code = "510104-003-07";
    l.address = "东风村 3 组 12 号";
    l.lat = 30.657;
    l.lon = 104.081;
    l.has_coordinates = 1;
    *loc = l;

    a0.sha256.data = (uint8_t *)s_sha_a;
    a0.sha256.len = sizeof s_sha_a;
    a0.uri = "https://media.example/a.jpg";
    a0.media_type = "image/jpeg";
    a1.sha256.data = (uint8_t *)s_sha_b;
    a1.sha256.len = sizeof s_sha_b;
    a1.uri = "https://media.example/b.mp4";
    a1.media_type = "video/mp4";
    att[0] = a0;
    att[1] = a1;
    att_p[0] = &att[0];
    att_p[1] = &att[1];

    e.id = "01HZX3K9Q8W7E6R5T4Y3U2I1O0";
    e.origin_node = "village-dongfeng";
    e.reporter = "gw-0042";
    e.category = "public_safety.fire";
    e.severity = GRIDRELAY__SEVERITY__EXTRA_URGENT;
    e.title = "仓库起火";
    e.description = (char *)description;
    e.location = loc;
    e.n_attachments = 2;
    e.attachments = att_p;
    e.created_ms = SENT_MS - 5000;
    e.n_tags = 3;
    e.tags = tags;
    *ev = e;
}

/* Seals a Report whose description is `description`. */
static int s_seal_report(uint8_t **out, size_t *out_len, const gr_keypair_t *kp, uint64_t seq,
                         const char *description)
{
    Gridrelay__Event ev;
    Gridrelay__Location loc;
    Gridrelay__Attachment att[2];
    Gridrelay__Attachment *att_p[2];
    s_fill_event(&ev, &loc, att, att_p, description);
    Gridrelay__Report report = GRIDRELAY__REPORT__INIT;
    report.event = &ev;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_REPORT;
    body.report = &report;
    return gr_envelope_seal(out, out_len, kp, seq, SENT_MS, &body);
}

/* Packs env into a malloc'd frame. */
static uint8_t *s_pack(const Gridrelay__Envelope *env, size_t *len)
{
    *len = gridrelay__envelope__get_packed_size(env);
    uint8_t *buf = malloc(*len ? *len : 1);
    assert_non_null(buf);
    assert_int_equal(gridrelay__envelope__pack(env, buf), *len);
    return buf;
}

/* Opens frame and returns the code, checking the documented postconditions
 * of a failure: *out empty and ref_seq equal to the decoded seq or 0. */
static int s_open_check(const fixture_t *f, const uint8_t *frame, size_t len, size_t max)
{
    gr_opened_t out;
    memset(&out, 0xa5, sizeof out);
    uint64_t ref = 0xdeadbeefULL;
    int rc = gr_envelope_open(&out, &ref, frame, len, f->trust, max);
    if (rc == 0) {
        gr_opened_clear(&out);
        return 0;
    }
    assert_null(out.envelope);
    assert_null(out.body);
    assert_null(out.signer);
    uint64_t want = 0;
    if (len <= (max ? max : GR_DEFAULT_MAX_FRAME)) {
        Gridrelay__Envelope *env = gridrelay__envelope__unpack(NULL, len, frame);
        if (env) {
            want = env->seq;
            gridrelay__envelope__free_unpacked(env, NULL);
        }
    }
    assert_true(ref == want);
    return rc;
}

static int s_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void s_rmtree(const char *dir)
{
    assert_int_equal(nftw(dir, s_rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static void s_write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, mode), 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static void s_read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, cap - 1);
    assert_true(n >= 0);
    buf[n] = '\0';
    assert_int_equal(close(fd), 0);
}

/* ---- fixture ---- */

static int s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(gr_keys_init(), 0);
    assert_int_equal(gr_keys_generate(&f->alice), 0);
    assert_int_equal(gr_keys_generate(&f->bob), 0);
    assert_int_equal(gr_keys_generate(&f->mallory), 0);
    f->trust = gr_trust_new();
    assert_non_null(f->trust);
    assert_int_equal(gr_trust_add(f->trust, f->alice.pk, "gw-0042", GR_ROLE_REPORTER), 0);
    assert_int_equal(gr_trust_add(f->trust, f->bob.pk, "township-a", GR_ROLE_NODE), 0);
    assert_int_equal(s_seal_report(&f->frame, &f->len, &f->alice, SEQ, "smoke seen at 14:02"), 0);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture_t *f = *state;
    gr_trust_destroy(&f->trust);
    assert_null(f->trust);
    free(f->frame);
    free(f);
    return 0;
}

/* ---- envelope ---- */

static void test_roundtrip(void **state)
{
    fixture_t *f = *state;
    gr_opened_t o;
    uint64_t ref = 77;
    assert_int_equal(gr_envelope_open(&o, &ref, f->frame, f->len, f->trust, 0), 0);

    assert_int_equal(o.envelope->version, GR_PROTOCOL_VERSION);
    assert_int_equal(o.envelope->signer.len, GR_PUBLIC_KEY_BYTES);
    assert_memory_equal(o.envelope->signer.data, f->alice.pk, GR_PUBLIC_KEY_BYTES);
    assert_true(o.envelope->seq == SEQ);
    assert_true(o.envelope->sent_ms == SENT_MS);
    assert_int_equal(o.envelope->signature.len, GR_SIGNATURE_BYTES);

    assert_non_null(o.signer);
    assert_ptr_equal(o.signer, gr_trust_find(f->trust, f->alice.pk));
    assert_string_equal(o.signer->name, "gw-0042");
    assert_int_equal(o.signer->role, GR_ROLE_REPORTER);

    /* Not hashed by the opening; gr_opened_hash() fills it from the frame. */
    uint8_t h[32], zero[32] = {0};
    assert_memory_equal(o.hash, zero, sizeof zero);
    gr_opened_hash(&o, f->frame, f->len);
    crypto_hash_sha256(h, f->frame, f->len);
    assert_memory_equal(o.hash, h, sizeof h);

    assert_int_equal(o.body->kind_case, GRIDRELAY__BODY__KIND_REPORT);
    const Gridrelay__Event *e = o.body->report->event;
    assert_non_null(e);
    assert_string_equal(e->id, "01HZX3K9Q8W7E6R5T4Y3U2I1O0");
    assert_string_equal(e->origin_node, "village-dongfeng");
    assert_string_equal(e->reporter, "gw-0042");
    assert_string_equal(e->category, "public_safety.fire");
    assert_int_equal(e->severity, GRIDRELAY__SEVERITY__EXTRA_URGENT);
    assert_string_equal(e->title, "仓库起火");
    assert_string_equal(e->description, "smoke seen at 14:02");
    assert_true(e->created_ms == SENT_MS - 5000);

    assert_non_null(e->location);
    assert_string_equal(e->location->grid_code, "510104-003-07");
    assert_string_equal(e->location->address, "东风村 3 组 12 号");
    assert_true(e->location->lat == 30.657);
    assert_true(e->location->lon == 104.081);
    assert_true(e->location->has_coordinates);

    assert_int_equal(e->n_attachments, 2);
    assert_int_equal(e->attachments[0]->sha256.len, 32);
    assert_memory_equal(e->attachments[0]->sha256.data, s_sha_a, 32);
    assert_string_equal(e->attachments[0]->uri, "https://media.example/a.jpg");
    assert_string_equal(e->attachments[0]->media_type, "image/jpeg");
    assert_int_equal(e->attachments[1]->sha256.len, 32);
    assert_memory_equal(e->attachments[1]->sha256.data, s_sha_b, 32);
    assert_string_equal(e->attachments[1]->uri, "https://media.example/b.mp4");
    assert_string_equal(e->attachments[1]->media_type, "video/mp4");

    assert_int_equal(e->n_tags, 3);
    assert_string_equal(e->tags[0], "flood");
    assert_string_equal(e->tags[1], "村社");
    assert_string_equal(e->tags[2], "road-closed");

    gr_opened_clear(&o);
    assert_null(o.envelope);
    assert_null(o.body);
    assert_null(o.signer);
    gr_opened_clear(&o); /* clearing twice is allowed */
    gr_opened_clear(NULL);
}

static void test_seal_bad_args(void **state)
{
    fixture_t *f = *state;
    uint8_t *out = NULL;
    size_t len = 0;
    uint8_t b = 0;
    assert_int_equal(gr_envelope_seal(&out, &len, &f->alice, 1, 1, NULL), GR_EINVAL);
    assert_int_equal(gr_envelope_seal_bytes(NULL, &len, &f->alice, 1, 1, &b, 1), GR_EINVAL);
    assert_int_equal(gr_envelope_seal_bytes(&out, NULL, &f->alice, 1, 1, &b, 1), GR_EINVAL);
    assert_int_equal(gr_envelope_seal_bytes(&out, &len, NULL, 1, 1, &b, 1), GR_EINVAL);
    assert_int_equal(gr_envelope_seal_bytes(&out, &len, &f->alice, 1, 1, NULL, 1), GR_EINVAL);
    assert_null(out);

    gr_opened_t o;
    assert_int_equal(gr_envelope_open(&o, NULL, f->frame, f->len, NULL, 0), GR_EINVAL);
    assert_int_equal(gr_envelope_open(NULL, NULL, f->frame, f->len, f->trust, 0), GR_EINVAL);
    assert_int_equal(gr_envelope_open(&o, NULL, NULL, 10, f->trust, 0), GR_EINVAL);
}

/* An empty Body (no kind set) is a valid, zero-length body. */
static void test_empty_body(void **state)
{
    fixture_t *f = *state;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    uint8_t *frame;
    size_t len;
    assert_int_equal(gr_envelope_seal(&frame, &len, &f->bob, 1, 2, &body), 0);
    gr_opened_t o;
    assert_int_equal(gr_envelope_open(&o, NULL, frame, len, f->trust, 0), 0);
    assert_int_equal(o.body->kind_case, GRIDRELAY__BODY__KIND__NOT_SET);
    assert_int_equal(o.signer->role, GR_ROLE_NODE);
    gr_opened_clear(&o);
    free(frame);
}

/* Decodes the fixture frame, lets the caller change a shallow copy, and
 * returns the code of opening the re-encoded frame. */
typedef void (*s_mutate_fn)(Gridrelay__Envelope *copy, const fixture_t *f, uint8_t *scratch);

static int s_tamper(const fixture_t *f, s_mutate_fn mutate, uint64_t *ref_out)
{
    Gridrelay__Envelope *env = gridrelay__envelope__unpack(NULL, f->len, f->frame);
    assert_non_null(env);
    Gridrelay__Envelope copy = *env;
    uint8_t scratch[4096];
    mutate(&copy, f, scratch);
    size_t len;
    uint8_t *frame = s_pack(&copy, &len);
    gridrelay__envelope__free_unpacked(env, NULL);

    gr_opened_t o;
    uint64_t ref = 0xdeadbeefULL;
    int rc = gr_envelope_open(&o, &ref, frame, len, f->trust, 0);
    if (rc == 0)
        gr_opened_clear(&o);
    else
        assert_null(o.envelope);
    free(frame);
    *ref_out = ref;
    return rc;
}

/* Version 2 is spoken (receipt.h), and the version is signed: a v1
 * envelope relabelled 2 fails its signature. */
static void s_mut_version2(Gridrelay__Envelope *c, const fixture_t *f, uint8_t *s)
{
    (void)f; (void)s;
    c->version = 2;
}

static void s_mut_version3(Gridrelay__Envelope *c, const fixture_t *f, uint8_t *s)
{
    (void)f; (void)s;
    c->version = 3;
}

static void s_mut_version0(Gridrelay__Envelope *c, const fixture_t *f, uint8_t *s)
{
    (void)f; (void)s;
    c->version = 0;
}

static void s_mut_signer_bob(Gridrelay__Envelope *c, const fixture_t *f, uint8_t *s)
{
    (void)s;
    c->signer.data = (uint8_t *)f->bob.pk;
}

static void s_mut_signer_mallory(Gridrelay__Envelope *c, const fixture_t *f, uint8_t *s)
{
    (void)s;
    c->signer.data = (uint8_t *)f->mallory.pk;
}

static void s_mut_seq(Gridrelay__Envelope *c, const fixture_t *f, uint8_t *s)
{
    (void)f; (void)s;
    c->seq += 1;
}

static void s_mut_sent_ms(Gridrelay__Envelope *c, const fixture_t *f, uint8_t *s)
{
    (void)f; (void)s;
    c->sent_ms -= 1;
}

static void s_mut_body_flip(Gridrelay__Envelope *c, const fixture_t *f, uint8_t *s)
{
    (void)f;
    assert_true(c->body.len <= 4096);
    memcpy(s, c->body.data, c->body.len);
    /* A byte inside the description text keeps the Body decodable, so only
     * the signature can catch it. */
    uint8_t *at = memmem(s, c->body.len, "smoke", 5);
    assert_non_null(at);
    at[0] ^= 0x01;
    c->body.data = s;
}

static void s_mut_sig_flip(Gridrelay__Envelope *c, const fixture_t *f, uint8_t *s)
{
    (void)f;
    memcpy(s, c->signature.data, c->signature.len);
    s[17] ^= 0x80;
    c->signature.data = s;
}

static void s_mut_sig_short(Gridrelay__Envelope *c, const fixture_t *f, uint8_t *s)
{
    (void)f; (void)s;
    c->signature.len = GR_SIGNATURE_BYTES - 1;
}

static void s_mut_sig_long(Gridrelay__Envelope *c, const fixture_t *f, uint8_t *s)
{
    (void)f;
    memcpy(s, c->signature.data, c->signature.len);
    s[GR_SIGNATURE_BYTES] = 0;
    c->signature.data = s;
    c->signature.len = GR_SIGNATURE_BYTES + 1;
}

static void s_mut_sig_none(Gridrelay__Envelope *c, const fixture_t *f, uint8_t *s)
{
    (void)f; (void)s;
    c->signature.len = 0;
}

static void s_mut_signer_short(Gridrelay__Envelope *c, const fixture_t *f, uint8_t *s)
{
    (void)f; (void)s;
    c->signer.len = GR_PUBLIC_KEY_BYTES - 1;
}

static void s_mut_signer_long(Gridrelay__Envelope *c, const fixture_t *f, uint8_t *s)
{
    (void)f;
    memcpy(s, c->signer.data, GR_PUBLIC_KEY_BYTES);
    s[GR_PUBLIC_KEY_BYTES] = 1;
    c->signer.data = s;
    c->signer.len = GR_PUBLIC_KEY_BYTES + 1;
}

static void s_mut_none(Gridrelay__Envelope *c, const fixture_t *f, uint8_t *s)
{
    (void)c; (void)f; (void)s;
}

static void test_tamper_fields(void **state)
{
    const fixture_t *f = *state;
    static const struct {
        s_mutate_fn fn;
        int want;
        const char *what;
    } cases[] = {
        { s_mut_none, 0, "unchanged re-encode" },
        { s_mut_version2, GR_ESIGNATURE, "version 2" },
        { s_mut_version3, GR_EVERSION, "version 3" },
        { s_mut_version0, GR_EVERSION, "version 0" },
        { s_mut_signer_bob, GR_ESIGNATURE, "signer: other trusted key" },
        { s_mut_signer_mallory, GR_EUNTRUSTED, "signer: untrusted key" },
        { s_mut_seq, GR_ESIGNATURE, "seq" },
        { s_mut_sent_ms, GR_ESIGNATURE, "sent_ms" },
        { s_mut_body_flip, GR_ESIGNATURE, "body byte" },
        { s_mut_sig_flip, GR_ESIGNATURE, "signature byte" },
        { s_mut_sig_short, GR_EDECODE, "signature 63 bytes" },
        { s_mut_sig_long, GR_EDECODE, "signature 65 bytes" },
        { s_mut_sig_none, GR_EDECODE, "no signature" },
        { s_mut_signer_short, GR_EDECODE, "signer 31 bytes" },
        { s_mut_signer_long, GR_EDECODE, "signer 33 bytes" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t ref;
        int rc = s_tamper(f, cases[i].fn, &ref);
        if (rc != cases[i].want)
            fail_msg("%s: got %d (%s), want %d", cases[i].what, rc, gr_strerror(rc),
                     cases[i].want);
        /* Every case decoded as an Envelope, so the seq must come back for
         * the error reply; the seq case changed it by one. */
        uint64_t want_ref = cases[i].fn == s_mut_seq ? SEQ + 1 : SEQ;
        if (rc != 0 && ref != want_ref)
            fail_msg("%s: ref_seq %llu", cases[i].what, (unsigned long long)ref);
    }
}

/* A correctly signed frame from a key that is not in the trust list. */
static void test_untrusted_signer(void **state)
{
    fixture_t *f = *state;
    uint8_t *frame;
    size_t len;
    assert_int_equal(s_seal_report(&frame, &len, &f->mallory, 9, "x"), 0);
    assert_int_equal(s_open_check(f, frame, len, 0), GR_EUNTRUSTED);
    free(frame);
}

static void test_bitflip_every_bit(void **state)
{
    fixture_t *f = *state;
    uint8_t *copy = malloc(f->len);
    assert_non_null(copy);
    for (size_t i = 0; i < f->len * 8; i++) {
        memcpy(copy, f->frame, f->len);
        copy[i / 8] ^= (uint8_t)(1u << (i % 8));
        int rc = s_open_check(f, copy, f->len, 0);
        if (rc == 0)
            fail_msg("flipping bit %zu of %zu was accepted", i, f->len * 8);
        gr_opened_t o;
        assert_int_not_equal(gr_envelope_open_from(&o, copy, f->len, NULL, 0), 0);
    }
    free(copy);
}

static void test_truncated_every_length(void **state)
{
    fixture_t *f = *state;
    for (size_t n = 0; n < f->len; n++) {
        /* A fresh exact-size buffer so ASan sees any read past the end. */
        uint8_t *copy = malloc(n ? n : 1);
        assert_non_null(copy);
        memcpy(copy, f->frame, n);
        if (s_open_check(f, copy, n, 0) == 0)
            fail_msg("frame truncated to %zu of %zu bytes was accepted", n, f->len);
        free(copy);
    }
    /* An appended unknown field (15, varint) is skipped by protobuf and lies
     * outside the signed input, so the frame still opens; what changes is its
     * hash. Pinned here because a receiver must not treat the frame hash as
     * the identity of the signed content (replay is judged by seq). */
    uint8_t *longer = malloc(f->len + 2);
    assert_non_null(longer);
    memcpy(longer, f->frame, f->len);
    longer[f->len] = 0x78;
    longer[f->len + 1] = 0x01;
    gr_opened_t o;
    assert_int_equal(gr_envelope_open(&o, NULL, longer, f->len + 2, f->trust, 0), 0);
    uint8_t h[32];
    crypto_hash_sha256(h, f->frame, f->len);
    assert_memory_not_equal(o.hash, h, 32);
    gr_opened_clear(&o);
    free(longer);
}

static void test_random_bytes(void **state)
{
    fixture_t *f = *state;
    uint8_t seed[randombytes_SEEDBYTES] = { 42 };
    uint8_t pool[8192];
    randombytes_buf_deterministic(pool, sizeof pool, seed);
    for (size_t i = 0; i < 3000; i++) {
        size_t off = (i * 131) % (sizeof pool - 512);
        size_t n = (i * 7) % 512;
        uint8_t *buf = malloc(n ? n : 1);
        assert_non_null(buf);
        memcpy(buf, pool + off, n);
        /* Half the buffers start like a real envelope so the decoder gets
         * past the first tags. */
        if (i % 2 && n > 8)
            memcpy(buf, f->frame, 8);
        assert_int_not_equal(s_open_check(f, buf, n, 0), 0);
        gr_opened_t o;
        assert_int_not_equal(gr_envelope_open_from(&o, buf, n, NULL, 0), 0);
        free(buf);
    }
}

static void test_frame_size(void **state)
{
    fixture_t *f = *state;
    /* Random bytes over the limit: must be GR_ETOOBIG, not GR_EDECODE, so the
     * size check runs before any decoding. */
    size_t big = GR_DEFAULT_MAX_FRAME + 1;
    uint8_t *junk = malloc(big);
    assert_non_null(junk);
    randombytes_buf(junk, big);
    uint64_t ref = 5;
    gr_opened_t o;
    assert_int_equal(gr_envelope_open(&o, &ref, junk, big, f->trust, 0), GR_ETOOBIG);
    assert_true(ref == 0);
    assert_int_equal(gr_envelope_open(&o, &ref, junk, 100, f->trust, 99), GR_ETOOBIG);
    assert_int_equal(gr_envelope_open(&o, &ref, junk, 100, f->trust, 100), GR_EDECODE);
    assert_int_equal(gr_envelope_open_from(&o, junk, big, NULL, 0), GR_ETOOBIG);
    free(junk);

    /* A valid frame one byte over its max, then exactly at it. */
    assert_int_equal(s_open_check(f, f->frame, f->len, f->len - 1), GR_ETOOBIG);
    assert_int_equal(s_open_check(f, f->frame, f->len, f->len), 0);

    /* Valid frames of exactly 64 KiB and 64 KiB + 1 against max_frame 0.
     * Between 60000 and 64 KiB every length prefix is a 3-byte varint, so
     * the frame grows byte for byte with the description. */
    char *desc = malloc(GR_DEFAULT_MAX_FRAME + 1);
    assert_non_null(desc);
    memset(desc, 'd', GR_DEFAULT_MAX_FRAME);
    desc[60000] = '\0';
    uint8_t *probe;
    size_t probe_len;
    assert_int_equal(s_seal_report(&probe, &probe_len, &f->alice, 3, desc), 0);
    free(probe);
    size_t n = 60000 + GR_DEFAULT_MAX_FRAME - probe_len;
    uint8_t *at_max, *over;
    size_t at_len, over_len;
    desc[60000] = 'd';
    desc[n] = '\0';
    assert_int_equal(s_seal_report(&at_max, &at_len, &f->alice, 3, desc), 0);
    desc[n] = 'd';
    desc[n + 1] = '\0';
    assert_int_equal(s_seal_report(&over, &over_len, &f->alice, 3, desc), 0);
    free(desc);
    assert_int_equal(at_len, GR_DEFAULT_MAX_FRAME);
    assert_int_equal(over_len, GR_DEFAULT_MAX_FRAME + 1);
    assert_int_equal(s_open_check(f, at_max, at_len, 0), 0);
    assert_int_equal(s_open_check(f, over, over_len, 0), GR_ETOOBIG);
    assert_int_equal(s_open_check(f, over, over_len, 2 * GR_DEFAULT_MAX_FRAME), 0);
    gr_opened_t big_o;
    assert_int_equal(gr_envelope_open(&big_o, NULL, over, over_len, f->trust, over_len), 0);
    assert_int_equal(strlen(big_o.body->report->event->description),
                     strspn(big_o.body->report->event->description, "d"));
    gr_opened_clear(&big_o);
    free(at_max);
    free(over);
}

static void test_signed_garbage_body(void **state)
{
    fixture_t *f = *state;
    /* Field 1 (report), length 16, but only one byte follows. */
    static const uint8_t bad_body[] = { 0x0a, 0x10, 0x01 };
    uint8_t *frame;
    size_t len;
    assert_int_equal(gr_envelope_seal_bytes(&frame, &len, &f->bob, 12345, SENT_MS, bad_body,
                                            sizeof bad_body), 0);
    uint64_t ref = 0;
    gr_opened_t o;
    assert_int_equal(gr_envelope_open(&o, &ref, frame, len, f->trust, 0), GR_EDECODE);
    assert_true(ref == 12345);
    assert_null(o.body);
    assert_null(o.envelope);
    assert_null(o.signer);
    assert_int_equal(gr_envelope_open_from(&o, frame, len, NULL, 0), GR_EDECODE);
    free(frame);
}

static void test_open_from(void **state)
{
    fixture_t *f = *state;
    uint8_t *frame;
    size_t len;
    /* Mallory is in no trust list: open_from does not consult one. */
    assert_int_equal(s_seal_report(&frame, &len, &f->mallory, 4, "reply"), 0);
    gr_opened_t o;
    assert_int_equal(gr_envelope_open_from(&o, frame, len, NULL, 0), 0);
    assert_null(o.signer);
    assert_memory_equal(o.envelope->signer.data, f->mallory.pk, GR_PUBLIC_KEY_BYTES);
    assert_string_equal(o.body->report->event->description, "reply");
    gr_opened_clear(&o);

    assert_int_equal(gr_envelope_open_from(&o, frame, len, f->mallory.pk, 0), 0);
    gr_opened_clear(&o);
    assert_int_equal(gr_envelope_open_from(&o, frame, len, f->alice.pk, 0), GR_EUNTRUSTED);
    assert_null(o.envelope);
    assert_int_equal(gr_envelope_open_from(&o, frame, len, f->mallory.pk, len - 1), GR_ETOOBIG);

    /* With no expected key the signature is still checked. */
    frame[len - 5] ^= 0x04;
    assert_int_equal(gr_envelope_open_from(&o, frame, len, NULL, 0), GR_ESIGNATURE);
    free(frame);
}

/* Big-endian store written independently of the library's helpers. */
static void s_be(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)((v >> (8 * (bytes - 1 - i))) & 0xff);
}

static size_t s_hand_input(uint8_t *buf, uint32_t version, const uint8_t *signer, uint64_t seq,
                           uint64_t sent_ms, const uint8_t *body, size_t body_len)
{
    size_t n = 0;
    memcpy(buf + n, "GRv1", 4);
    n += 4;
    s_be(buf + n, version, 4);
    n += 4;
    memcpy(buf + n, signer, 32);
    n += 32;
    s_be(buf + n, seq, 8);
    n += 8;
    s_be(buf + n, sent_ms, 8);
    n += 8;
    s_be(buf + n, body_len, 4);
    n += 4;
    if (body_len)
        memcpy(buf + n, body, body_len);
    return n + body_len;
}

static void test_signing_input_layout(void **state)
{
    fixture_t *f = *state;
    static const uint8_t body[] = { 0x42, 0x00, 0x17 };
    assert_int_equal(gr_signing_input_len(0), 60);
    assert_int_equal(gr_signing_input_len(sizeof body), 63);

    uint8_t mine[63], theirs[63];
    size_t n = s_hand_input(mine, 1, f->alice.pk, SEQ, SENT_MS, body, sizeof body);
    assert_int_equal(n, sizeof mine);
    gr_signing_input(theirs, 1, f->alice.pk, SEQ, SENT_MS, body, sizeof body);
    assert_memory_equal(mine, theirs, sizeof mine);
    /* Spot-check the documented bytes themselves, not just agreement. */
    static const uint8_t head[8] = { 'G', 'R', 'v', '1', 0, 0, 0, 1 };
    static const uint8_t seq_be[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    static const uint8_t len_be[4] = { 0, 0, 0, 3 };
    assert_memory_equal(mine, head, 8);
    assert_memory_equal(mine + 40, seq_be, 8);
    assert_memory_equal(mine + 56, len_be, 4);

    uint8_t empty_mine[60], empty_theirs[60];
    s_hand_input(empty_mine, 0xfffffffeu, f->bob.pk, 0, UINT64_MAX, NULL, 0);
    gr_signing_input(empty_theirs, 0xfffffffeu, f->bob.pk, 0, UINT64_MAX, NULL, 0);
    assert_memory_equal(empty_mine, empty_theirs, 60);
}

/* What a client in another language does: rebuild the input from the
 * decoded fields and verify with plain Ed25519. Run on a small body and on
 * one larger than the library's stack buffer. */
static void s_verify_by_hand(const uint8_t *frame, size_t len, const uint8_t *pk)
{
    Gridrelay__Envelope *env = gridrelay__envelope__unpack(NULL, len, frame);
    assert_non_null(env);
    assert_int_equal(env->signature.len, crypto_sign_BYTES);
    size_t in_len = 60 + env->body.len;
    uint8_t *input = malloc(in_len);
    assert_non_null(input);
    assert_int_equal(s_hand_input(input, env->version, env->signer.data, env->seq,
                                  env->sent_ms, env->body.data, env->body.len), in_len);
    assert_int_equal(crypto_sign_verify_detached(env->signature.data, input, in_len, pk), 0);
    input[in_len - 1] ^= 1;
    assert_int_not_equal(crypto_sign_verify_detached(env->signature.data, input, in_len, pk), 0);
    free(input);
    gridrelay__envelope__free_unpacked(env, NULL);
}

static void test_signature_verifies_by_hand(void **state)
{
    fixture_t *f = *state;
    s_verify_by_hand(f->frame, f->len, f->alice.pk);

    char desc[5000];
    memset(desc, 'x', sizeof desc - 1);
    desc[sizeof desc - 1] = '\0';
    uint8_t *frame;
    size_t len;
    assert_int_equal(s_seal_report(&frame, &len, &f->bob, 2, desc), 0);
    s_verify_by_hand(frame, len, f->bob.pk);
    free(frame);
}

/* ---- keys ---- */

typedef struct {
    char dir[64];
    char sk[128];
    char pk[128];
} paths_t;

static void s_paths(paths_t *p)
{
    strcpy(p->dir, "/tmp/gr-test-envelope-XXXXXX");
    assert_non_null(mkdtemp(p->dir));
    snprintf(p->sk, sizeof p->sk, "%s/node.key", p->dir);
    snprintf(p->pk, sizeof p->pk, "%s/node.pub", p->dir);
}

static void test_keys_save_load(void **state)
{
    (void)state;
    paths_t p;
    s_paths(&p);
    gr_keypair_t kp, loaded, other;
    char err[512] = "";
    assert_int_equal(gr_keys_generate(&kp), 0);
    /* The usual umask, so the public file's mode is known. */
    mode_t old_mask = umask(022);
    assert_int_equal(gr_keys_save(&kp, p.sk, p.pk, err, sizeof err), 0);
    umask(old_mask);

    struct stat st;
    assert_int_equal(stat(p.sk, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(p.pk, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);

    char sk_before[512], pk_before[512];
    s_read_file(p.sk, sk_before, sizeof sk_before);
    s_read_file(p.pk, pk_before, sizeof pk_before);
    assert_int_equal(strlen(sk_before), 129);
    assert_int_equal(strlen(pk_before), 65);

    memset(&loaded, 0, sizeof loaded);
    assert_int_equal(gr_keys_load_secret(&loaded, p.sk, err, sizeof err), 0);
    assert_memory_equal(&loaded, &kp, sizeof kp);
    uint8_t pub[GR_PUBLIC_KEY_BYTES];
    assert_int_equal(gr_key_load_public(pub, p.pk, err, sizeof err), 0);
    assert_memory_equal(pub, kp.pk, sizeof pub);

    /* A second identity must not replace the first. */
    assert_int_equal(gr_keys_generate(&other), 0);
    err[0] = '\0';
    assert_int_equal(gr_keys_save(&other, p.sk, p.pk, err, sizeof err), GR_EEXIST);
    assert_non_null(strstr(err, p.sk));
    char sk_after[512], pk_after[512];
    s_read_file(p.sk, sk_after, sizeof sk_after);
    s_read_file(p.pk, pk_after, sizeof pk_after);
    assert_string_equal(sk_after, sk_before);
    assert_string_equal(pk_after, pk_before);
    assert_int_equal(stat(p.sk, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* Only the public file present: still refused, and no secret created. */
    char lone_sk[160];
    snprintf(lone_sk, sizeof lone_sk, "%s/lone.key", p.dir);
    assert_int_equal(gr_keys_save(&other, lone_sk, p.pk, err, sizeof err), GR_EEXIST);
    assert_int_equal(access(lone_sk, F_OK), -1);

    /* A signature made with the loaded key opens against the saved pk. */
    gr_trust_t *trust = gr_trust_new();
    assert_non_null(trust);
    assert_int_equal(gr_trust_add(trust, pub, "self", GR_ROLE_NODE), 0);
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    uint8_t *frame;
    size_t len;
    assert_int_equal(gr_envelope_seal(&frame, &len, &loaded, 1, 1, &body), 0);
    gr_opened_t o;
    assert_int_equal(gr_envelope_open(&o, NULL, frame, len, trust, 0), 0);
    gr_opened_clear(&o);
    free(frame);
    gr_trust_destroy(&trust);
    gr_trust_destroy(&trust);
    gr_trust_destroy(NULL);

    s_rmtree(p.dir);
}

static void test_keys_unsafe_mode(void **state)
{
    (void)state;
    paths_t p;
    s_paths(&p);
    gr_keypair_t kp, loaded;
    char err[512];
    assert_int_equal(gr_keys_generate(&kp), 0);
    assert_int_equal(gr_keys_save(&kp, p.sk, p.pk, err, sizeof err), 0);

    static const mode_t bad[] = { 0644, 0640, 0604, 0660, 0602 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(chmod(p.sk, bad[i]), 0);
        err[0] = '\0';
        assert_int_equal(gr_keys_load_secret(&loaded, p.sk, err, sizeof err), GR_EKEY);
        char mode[16];
        snprintf(mode, sizeof mode, "%03o", (unsigned)bad[i]);
        assert_non_null(strstr(err, "mode"));
        assert_non_null(strstr(err, mode));
        assert_non_null(strstr(err, p.sk));
    }
    assert_int_equal(chmod(p.sk, 0400), 0);
    assert_int_equal(gr_keys_load_secret(&loaded, p.sk, err, sizeof err), 0);
    assert_memory_equal(&loaded, &kp, sizeof kp);

    /* NULL error buffer is fine. */
    assert_int_equal(chmod(p.sk, 0644), 0);
    assert_int_equal(gr_keys_load_secret(&loaded, p.sk, NULL, 0), GR_EKEY);
    s_rmtree(p.dir);
}

static void test_keys_malformed(void **state)
{
    (void)state;
    paths_t p;
    s_paths(&p);
    gr_keypair_t kp, loaded;
    char err[512];
    char good[GR_SECRET_KEY_BYTES * 2 + 1];
    assert_int_equal(gr_keys_generate(&kp), 0);
    sodium_bin2hex(good, sizeof good, kp.sk, sizeof kp.sk);

    char text[600];
    const char *variants[8];
    size_t nv = 0;
    variants[nv++] = "";
    variants[nv++] = "\n";
    variants[nv++] = "not a key\n";
    static char short_hex[200], bad_char[200], two_lines[400], with_pk[200];
    snprintf(short_hex, sizeof short_hex, "%.126s\n", good);
    variants[nv++] = short_hex;
    snprintf(bad_char, sizeof bad_char, "%s\n", good);
    bad_char[50] = 'g';
    variants[nv++] = bad_char;
    snprintf(two_lines, sizeof two_lines, "%s\n%s\n", good, good);
    variants[nv++] = two_lines;
    /* A public key file given where the secret one belongs. */
    snprintf(with_pk, sizeof with_pk, "%.64s\n", good + 64);
    variants[nv++] = with_pk;
    for (size_t i = 0; i < nv; i++) {
        snprintf(text, sizeof text, "%s", variants[i]);
        s_write_file(p.sk, text, 0600);
        err[0] = '\0';
        if (gr_keys_load_secret(&loaded, p.sk, err, sizeof err) != GR_EKEY)
            fail_msg("variant %zu accepted", i);
        assert_true(err[0] != '\0');
    }

    /* Well-formed but damaged: one digit of the public half changed, then
     * one digit of the seed (whose derived public key no longer matches). */
    for (int at = 0; at < 2; at++) {
        snprintf(text, sizeof text, "%s\n", good);
        size_t pos = at ? 10 : 64 + 10;
        text[pos] = text[pos] == '0' ? '1' : '0';
        s_write_file(p.sk, text, 0600);
        assert_int_equal(gr_keys_load_secret(&loaded, p.sk, err, sizeof err), GR_EKEY);
        assert_non_null(strstr(err, "damaged"));
    }

    /* Surrounding whitespace and CRLF are tolerated. */
    snprintf(text, sizeof text, "  %s\r\n", good);
    s_write_file(p.sk, text, 0600);
    assert_int_equal(gr_keys_load_secret(&loaded, p.sk, err, sizeof err), 0);
    assert_memory_equal(&loaded, &kp, sizeof kp);

    /* Missing files and a directory. */
    assert_int_equal(unlink(p.sk), 0);
    assert_int_equal(gr_keys_load_secret(&loaded, p.sk, err, sizeof err), GR_EKEY);
    assert_non_null(strstr(err, p.sk));
    uint8_t pub[GR_PUBLIC_KEY_BYTES];
    assert_int_equal(gr_key_load_public(pub, p.pk, err, sizeof err), GR_EKEY);
    assert_int_equal(gr_key_load_public(pub, p.dir, err, sizeof err), GR_EKEY);
    assert_int_equal(gr_keys_load_secret(&loaded, NULL, err, sizeof err), GR_EINVAL);

    /* Public key files. */
    char hex[GR_PUBLIC_KEY_HEX];
    gr_key_to_hex(hex, kp.pk);
    snprintf(text, sizeof text, "%s\n", hex);
    s_write_file(p.pk, text, 0644);
    assert_int_equal(gr_key_load_public(pub, p.pk, err, sizeof err), 0);
    assert_memory_equal(pub, kp.pk, sizeof pub);
    snprintf(text, sizeof text, "%s\n", good);
    s_write_file(p.pk, text, 0644);
    assert_int_equal(gr_key_load_public(pub, p.pk, err, sizeof err), GR_EKEY);
    assert_non_null(strstr(err, "public key"));
    s_write_file(p.pk, "", 0644);
    assert_int_equal(gr_key_load_public(pub, p.pk, err, sizeof err), GR_EKEY);

    s_rmtree(p.dir);
}

static void test_key_hex(void **state)
{
    (void)state;
    gr_keypair_t kp;
    assert_int_equal(gr_keys_generate(&kp), 0);
    char hex[GR_PUBLIC_KEY_HEX];
    gr_key_to_hex(hex, kp.pk);
    assert_int_equal(strlen(hex), 64);
    assert_int_equal(strspn(hex, "0123456789abcdef"), 64);
    uint8_t pk[GR_PUBLIC_KEY_BYTES];
    assert_int_equal(gr_key_from_hex(pk, hex), 0);
    assert_memory_equal(pk, kp.pk, sizeof pk);

    char buf[200];
    snprintf(buf, sizeof buf, "%s\n", hex);
    assert_int_equal(gr_key_from_hex(pk, buf), 0);

    assert_int_equal(gr_key_from_hex(pk, ""), GR_EKEY);
    snprintf(buf, sizeof buf, "%.63s", hex);
    assert_int_equal(gr_key_from_hex(pk, buf), GR_EKEY);
    snprintf(buf, sizeof buf, "%s0", hex);
    assert_int_equal(gr_key_from_hex(pk, buf), GR_EKEY);
    snprintf(buf, sizeof buf, "%s%s", hex, hex);
    assert_int_equal(gr_key_from_hex(pk, buf), GR_EKEY);
    static const char bad[] = { 'g', 'z', ' ', '-', ':', 'x', '\n' };
    for (size_t i = 0; i < sizeof bad; i++) {
        snprintf(buf, sizeof buf, "%s", hex);
        buf[20] = bad[i];
        if (gr_key_from_hex(pk, buf) != GR_EKEY)
            fail_msg("bad char 0x%02x accepted", (unsigned)bad[i]);
    }
    assert_int_equal(gr_key_from_hex(NULL, hex), GR_EINVAL);
    assert_int_equal(gr_key_from_hex(pk, NULL), GR_EINVAL);
}

/* ---- trust ---- */

static void test_trust_basic(void **state)
{
    fixture_t *f = *state;
    gr_trust_t *t = gr_trust_new();
    assert_non_null(t);
    assert_int_equal(gr_trust_count(t), 0);
    assert_null(gr_trust_find(t, f->alice.pk));
    assert_int_equal(gr_trust_count(NULL), 0);
    assert_null(gr_trust_find(NULL, f->alice.pk));

    assert_int_equal(gr_trust_add(t, f->alice.pk, "gw-1", GR_ROLE_REPORTER), 0);
    assert_int_equal(gr_trust_add(t, f->bob.pk, "town", GR_ROLE_NODE), 0);
    assert_int_equal(gr_trust_count(t), 2);
    const gr_trusted_key_t *k = gr_trust_find(t, f->bob.pk);
    assert_non_null(k);
    assert_memory_equal(k->pk, f->bob.pk, GR_PUBLIC_KEY_BYTES);
    assert_string_equal(k->name, "town");
    assert_int_equal(k->role, GR_ROLE_NODE);
    assert_null(gr_trust_find(t, f->mallory.pk));

    /* Replace: same key, new name and role, no new entry. */
    assert_int_equal(gr_trust_add(t, f->alice.pk, "police-dept", GR_ROLE_DEPARTMENT), 0);
    assert_int_equal(gr_trust_count(t), 2);
    k = gr_trust_find(t, f->alice.pk);
    assert_non_null(k);
    assert_string_equal(k->name, "police-dept");
    assert_int_equal(k->role, GR_ROLE_DEPARTMENT);

    char name[80];
    memset(name, 'n', 63);
    name[63] = '\0';
    assert_int_equal(gr_trust_add(t, f->mallory.pk, name, GR_ROLE_REPORTER), 0);
    assert_string_equal(gr_trust_find(t, f->mallory.pk)->name, name);
    name[63] = 'n';
    name[64] = '\0';
    assert_int_equal(gr_trust_add(t, f->mallory.pk, name, GR_ROLE_NODE), GR_EINVAL);
    assert_int_equal(gr_trust_find(t, f->mallory.pk)->role, GR_ROLE_REPORTER);
    assert_int_equal(gr_trust_add(t, f->mallory.pk, NULL, GR_ROLE_NODE), GR_EINVAL);
    assert_int_equal(gr_trust_add(NULL, f->mallory.pk, "x", GR_ROLE_NODE), GR_EINVAL);
    assert_int_equal(gr_trust_count(t), 3);

    gr_trust_destroy(&t);
    assert_null(t);
}

static void test_trust_many(void **state)
{
    (void)state;
    enum { N = 1000 };
    uint8_t (*keys)[GR_PUBLIC_KEY_BYTES] = malloc(N * sizeof *keys);
    assert_non_null(keys);
    for (uint32_t i = 0; i < N; i++) {
        uint8_t in[4] = { (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
        crypto_hash_sha256(keys[i], in, sizeof in);
    }
    /* Keys sharing a long prefix, so ordering looks past the first bytes. */
    for (uint32_t i = 0; i < 8; i++) {
        memset(keys[i], 0x33, GR_PUBLIC_KEY_BYTES);
        keys[i][GR_PUBLIC_KEY_BYTES - 1] = (uint8_t)(7 - i);
    }

    gr_trust_t *t = gr_trust_new();
    assert_non_null(t);
    char name[32];
    for (uint32_t i = 0; i < N; i++) {
        uint32_t j = (i * 617) % N; /* 617 is prime to 1000: a permutation */
        snprintf(name, sizeof name, "k%u", (unsigned)j);
        assert_int_equal(gr_trust_add(t, keys[j], name, (gr_role_t)(1 + j % 3)), 0);
    }
    assert_int_equal(gr_trust_count(t), N);
    for (uint32_t i = 0; i < N; i++) {
        const gr_trusted_key_t *k = gr_trust_find(t, keys[i]);
        if (!k)
            fail_msg("key %u not found", (unsigned)i);
        snprintf(name, sizeof name, "k%u", (unsigned)i);
        assert_string_equal(k->name, name);
        assert_int_equal(k->role, 1 + i % 3);
        assert_memory_equal(k->pk, keys[i], GR_PUBLIC_KEY_BYTES);
    }
    for (uint32_t i = 0; i < 200; i++) {
        uint8_t unknown[GR_PUBLIC_KEY_BYTES];
        memcpy(unknown, keys[i], sizeof unknown);
        unknown[i % GR_PUBLIC_KEY_BYTES] ^= 0x01;
        assert_null(gr_trust_find(t, unknown));
    }
    /* Re-adding every key replaces, never duplicates. */
    for (uint32_t i = 0; i < N; i++)
        assert_int_equal(gr_trust_add(t, keys[i], "again", GR_ROLE_NODE), 0);
    assert_int_equal(gr_trust_count(t), N);
    assert_string_equal(gr_trust_find(t, keys[N - 1])->name, "again");
    gr_trust_destroy(&t);
    free(keys);
}

/* ---- error ---- */

static void test_strerror(void **state)
{
    (void)state;
    for (int code = GR_ENOMEM; code >= GR_ELAST + 1; code--) {
        const char *msg = gr_strerror(code);
        assert_non_null(msg);
        assert_true(msg[0] != '\0');
        if (!strcmp(msg, "unknown error") || !strcmp(msg, "unknown gridrelay error"))
            fail_msg("code %d has no message", code);
        for (int other = GR_ENOMEM; other > code; other--)
            assert_string_not_equal(msg, gr_strerror(other));
    }
    static const int outside[] = { GR_EBASE, GR_ELAST, GR_ELAST - 1, -100000, 1, 1000 };
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        const char *msg = gr_strerror(outside[i]);
        assert_non_null(msg);
        assert_true(msg[0] != '\0');
    }
    assert_string_equal(gr_strerror(GR_OK), "success");
    static const int errs[] = { ENOENT, EACCES, ENOSPC, EINTR };
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        char want[256];
        snprintf(want, sizeof want, "%s", strerror(errs[i]));
        assert_string_equal(gr_strerror(-errs[i]), want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, s_setup, s_teardown)
        T(test_roundtrip),
        T(test_seal_bad_args),
        T(test_empty_body),
        T(test_tamper_fields),
        T(test_untrusted_signer),
        T(test_bitflip_every_bit),
        T(test_truncated_every_length),
        T(test_random_bytes),
        T(test_frame_size),
        T(test_signed_garbage_body),
        T(test_open_from),
        T(test_signing_input_layout),
        T(test_signature_verifies_by_hand),
        T(test_keys_save_load),
        T(test_keys_unsafe_mode),
        T(test_keys_malformed),
        T(test_key_hex),
        T(test_trust_basic),
        T(test_trust_many),
        T(test_strerror),
#undef T
    };
    return cmocka_run_group_tests_name("envelope", tests, NULL, NULL);
}
