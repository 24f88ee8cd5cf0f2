/* Unit tests for node/confseal (issue 14, PROTOCOL.md 12.1): the envelope
 * an origin node sends up for a sealed confidential category, byte for
 * byte apart from the box (whose sealed-box key is random), and its
 * opening at the recipient only; a changed box, a box for another node
 * and a sealed report that is not the case it travels with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "confseal.h"
#include "error.h"
#include "event.h"

#define S_PHONE "13700001111"

/* The recipient's key: the Ed25519 key of seed 01 02 ... 20 (PROTOCOL.md
 * 12.1's vector). */
#define S_D1_PK "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664"
#define S_D1_X25519 "4a3807d064d077181cc070989e76891d20dca5559548dc2c77c1a50273882b38"

typedef struct {
    char dir[PATH_MAX];
    gr_keypair_t d1, v1, other, reporter;
    gr_config_t *origin, *recipient, *stranger;
} fixture_t;

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void s_write(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void s_save(const fixture_t *f, const gr_keypair_t *kp, const char *name)
{
    char sec[PATH_MAX + 64], pub[PATH_MAX + 64], err[256];
    snprintf(sec, sizeof sec, "%s/%s.sec", f->dir, name);
    snprintf(pub, sizeof pub, "%s/%s.pub", f->dir, name);
    assert_int_equal(gr_keys_save(kp, sec, pub, err, sizeof err), 0);
}

static gr_config_t *s_config(const fixture_t *f, const char *id, const char *tier,
                             const char *extra)
{
    char text[2048], name[64], err[512];
    snprintf(text, sizeof text,
             "[node]\nid = %s\ntier = %s\nstore = var/%s\nlisten = tcp://127.0.0.1:7001\n"
             "secret_key = %s.sec\ncatalogue = cat.ini\n\n%s",
             id, tier, id, id, extra);
    snprintf(name, sizeof name, "%s.ini", id);
    s_write(f->dir, name, text);
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    gr_config_t *cfg = gr_config_load(path, err, sizeof err);
    if (!cfg)
        fail_msg("%s", err);
    return cfg;
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    char tmpl[] = "/tmp/gr-test-confseal-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    assert_non_null(realpath(tmpl, f->dir));
    assert_int_equal(gr_keys_init(), 0);
    uint8_t seed[32];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(i + 1);
    assert_int_equal(crypto_sign_seed_keypair(f->d1.pk, f->d1.sk, seed), 0);
    assert_int_equal(gr_keys_generate(&f->v1), 0);
    assert_int_equal(gr_keys_generate(&f->other), 0);
    assert_int_equal(gr_keys_generate(&f->reporter), 0);
    s_save(f, &f->d1, "d1");
    s_save(f, &f->v1, "v1");
    s_save(f, &f->other, "t1");
    s_write(f->dir, "cat.ini", "[T.SECRET]\nclass = t\nsubclass = t\nname = key person\n"
                               "authority = district\nconfidential = yes\n\n"
                               "[T.OPEN]\nclass = t\nsubclass = t\nname = pothole\n"
                               "authority = village\n");
    f->origin = s_config(f, "v1", "village", "[confidential_seal]\nT.SECRET = @d1.pub, d1\n");
    f->recipient = s_config(f, "d1", "district", "");
    f->stranger = s_config(f, "t1", "township", "");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    gr_config_destroy(&f->origin);
    gr_config_destroy(&f->recipient);
    gr_config_destroy(&f->stranger);
    assert_int_equal(nftw(f->dir, s_rm, 16, FTW_DEPTH | FTW_PHYS), 0);
    free(f);
    return 0;
}

/* The reporter's envelope for the vector's event, opened and resolved as
 * the origin node does. */
static void s_report(const fixture_t *f, const char *category, uint8_t **frame, size_t *len,
                     gr_opened_t *opened)
{
    Gridrelay__Location loc = GRIDRELAY__LOCATION__INIT;
    loc.grid_code = "G-7";
    loc.address = "Courtyard 12 Willow Street";
    Gridrelay__Event ev = GRIDRELAY__EVENT__INIT;
    ev.id = "01M97RSEA1ED0000000000000A";
    ev.category = (char *)category;
    ev.severity = GRIDRELAY__SEVERITY__URGENT;
    ev.title = "watch on Li Sifang";
    ev.description = "neighbour Li Sifang, phone " S_PHONE;
    ev.reporter = "wang-xiaoli";
    ev.created_ms = 1700000000000ull;
    ev.location = &loc;
    Gridrelay__Report rep = GRIDRELAY__REPORT__INIT;
    rep.event = &ev;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_REPORT;
    body.report = &rep;
    assert_int_equal(gr_envelope_seal(frame, len, &f->reporter, 7, 1700000000500ull, &body), 0);
    memset(opened, 0, sizeof *opened);
    assert_int_equal(gr_envelope_open_from(opened, *frame, *len, NULL, 0), 0);
    char why[200];
    assert_int_equal(gr_event_resolve(opened->body->report->event, NULL, f->origin->catalogue,
                                      "v1", 1700000001000ull, why, sizeof why), 0);
}

static void s_hex(char *out, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

/* What the origin's first hop says it filled in (tierlink.c). */
static Gridrelay__Resolved s_resolved;

/* Opens an envelope that came up from a tier link as tierlink.c does. */
static void s_open_up(const uint8_t *frame, size_t len, const gr_config_t *cfg, gr_opened_t *out)
{
    gridrelay__resolved__init(&s_resolved);
    s_resolved.severity = GRIDRELAY__SEVERITY__URGENT;
    s_resolved.origin_node = "v1";
    s_resolved.created_ms = 1700000000000ull;
    memset(out, 0, sizeof *out);
    assert_int_equal(gr_envelope_open_from(out, frame, len, NULL, 0), 0);
    s_resolved.event_id = out->body->report->event->id;  /* the id the hops sign */
    char why[200];
    assert_int_equal(gr_event_check(out->body->report->event, 1700000001000ull, why, sizeof why), 0);
    assert_int_equal(gr_event_resolve(out->body->report->event, &s_resolved, cfg->catalogue, cfg->node_id,
                                      1700000001000ull, why, sizeof why), 0);
}

static void test_the_vector_key(void **state)
{
    fixture_t *f = *state;
    char hex[65];
    s_hex(hex, f->d1.pk, 32);
    assert_string_equal(hex, S_D1_PK);
    uint8_t x[32];
    assert_int_equal(crypto_sign_ed25519_pk_to_curve25519(x, f->d1.pk), 0);
    s_hex(hex, x, 32);
    assert_string_equal(hex, S_D1_X25519);
}

static void test_sealed_envelope_bytes(void **state)
{
    fixture_t *f = *state;
    uint8_t *frame = NULL, *up = NULL;
    size_t len = 0, up_len = 0;
    gr_opened_t rep;
    s_report(f, "T.SECRET", &frame, &len, &rep);
    assert_int_equal(gr_confseal_make(f->origin, rep.envelope, frame, len,
                                      rep.body->report->event, &up, &up_len), 0);
    assert_non_null(up);
    assert_null(memmem(up, up_len, S_PHONE, strlen(S_PHONE)));
    assert_null(memmem(up, up_len, "Willow", 6));
    gr_opened_t o;
    memset(&o, 0, sizeof o);
    /* Signed by the origin node, with the reporter's seq and time. */
    assert_int_equal(gr_envelope_open_from(&o, up, up_len, f->v1.pk, 0), 0);
    assert_int_equal(o.envelope->seq, 7);
    assert_int_equal(o.envelope->sent_ms, 1700000000500ull);
    Gridrelay__Event *ev = o.body->report->event;
    Gridrelay__SealedPersonal *sp = ev->sealed;
    assert_non_null(sp);
    assert_int_equal(sp->box.len, len + crypto_box_SEALBYTES);
    /* The box holds the reporter's envelope byte for byte. */
    uint8_t xpk[32], xsk[32];
    assert_int_equal(crypto_sign_ed25519_pk_to_curve25519(xpk, f->d1.pk), 0);
    assert_int_equal(crypto_sign_ed25519_sk_to_curve25519(xsk, f->d1.sk), 0);
    uint8_t *plain = malloc(len);
    assert_non_null(plain);
    assert_int_equal(crypto_box_seal_open(plain, sp->box.data, sp->box.len, xpk, xsk), 0);
    assert_memory_equal(plain, frame, len);
    free(plain);
    /* The event without its box: PROTOCOL.md 12.1's vector. */
    sp->box.len = 0;
    size_t n = gridrelay__event__get_packed_size(ev);
    uint8_t *bytes = malloc(n);
    assert_non_null(bytes);
    gridrelay__event__pack(ev, bytes);
    char *hex = malloc(2 * n + 1);
    assert_non_null(hex);
    s_hex(hex, bytes, n);
    if (getenv("GR_TEST_VERBOSE"))
        fprintf(stderr, "redacted event: %s\n", hex);
    assert_string_equal(hex,
        "0a1a30314d393752534541314544303030303030303030303030304112027631"
        "2208542e534543524554280232"
        "0c636f6e666964656e7469616c"
        "42050a03472d37"
        "5080d095ffbc31"
        "c207260a0264311220" S_D1_PK);
    free(hex);
    free(bytes);
    gr_opened_clear(&o);
    gr_opened_clear(&rep);
    free(frame);
    free(up);
}

static void test_opened_at_the_recipient_only(void **state)
{
    fixture_t *f = *state;
    uint8_t *frame = NULL, *up = NULL;
    size_t len = 0, up_len = 0;
    gr_opened_t rep, o;
    s_report(f, "T.SECRET", &frame, &len, &rep);
    assert_int_equal(gr_confseal_make(f->origin, rep.envelope, frame, len,
                                      rep.body->report->event, &up, &up_len), 0);
    char why[200] = "";
    /* Another node: it stays as it came. */
    s_open_up(up, up_len, f->stranger, &o);
    assert_int_equal(gr_confseal_open(f->stranger, &o, &s_resolved, 1700000001000ull, why, sizeof why), 0);
    assert_string_equal(o.body->report->event->title, GR_CONFSEAL_TITLE);
    assert_string_equal(o.body->report->event->description, "");
    gr_opened_clear(&o);
    /* The recipient: the reporter's event. */
    s_open_up(up, up_len, f->recipient, &o);
    assert_int_equal(gr_confseal_open(f->recipient, &o, &s_resolved, 1700000001000ull, why, sizeof why), 0);
    assert_non_null(strstr(o.body->report->event->description, S_PHONE));
    assert_string_equal(o.body->report->event->reporter, "wang-xiaoli");
    assert_string_equal(o.body->report->event->id, "01M97RSEA1ED0000000000000A");
    gr_opened_clear(&o);
    /* A changed box does not open. */
    Gridrelay__Envelope *env = gridrelay__envelope__unpack(NULL, up_len, up);
    assert_non_null(env);
    Gridrelay__Body *body = gridrelay__body__unpack(NULL, env->body.len, env->body.data);
    assert_non_null(body);
    body->report->event->sealed->box.data[40] ^= 1;
    uint8_t *bad = NULL;
    size_t bad_len = 0;
    assert_int_equal(gr_envelope_seal(&bad, &bad_len, &f->v1, 7, 1700000000500ull, body), 0);
    s_open_up(bad, bad_len, f->recipient, &o);
    assert_int_equal(gr_confseal_open(f->recipient, &o, &s_resolved, 1700000001000ull, why, sizeof why),
                     GR_EINVAL);
    assert_non_null(strstr(why, "do not open"));
    gr_opened_clear(&o);
    free(bad);
    /* The right box under another case's id: refused. */
    body->report->event->sealed->box.data[40] ^= 1;
    body->report->event->id[25] = 'B';
    assert_int_equal(gr_envelope_seal(&bad, &bad_len, &f->v1, 7, 1700000000500ull, body), 0);
    s_open_up(bad, bad_len, f->recipient, &o);
    assert_int_equal(gr_confseal_open(f->recipient, &o, &s_resolved, 1700000001000ull, why, sizeof why),
                     GR_EINVAL);
    assert_non_null(strstr(why, "not the case"));
    gr_opened_clear(&o);
    free(bad);
    gridrelay__body__free_unpacked(body, NULL);
    gridrelay__envelope__free_unpacked(env, NULL);
    gr_opened_clear(&rep);
    free(frame);
    free(up);
}

static void test_other_categories_go_as_they_are(void **state)
{
    fixture_t *f = *state;
    uint8_t *frame = NULL, *up = (uint8_t *)"x";
    size_t len = 0, up_len = 1;
    gr_opened_t rep;
    s_report(f, "T.OPEN", &frame, &len, &rep);
    assert_int_equal(gr_confseal_make(f->origin, rep.envelope, frame, len,
                                      rep.body->report->event, &up, &up_len), 0);
    assert_null(up);
    assert_int_equal(up_len, 0);
    gr_opened_clear(&rep);
    free(frame);
}

/* A config line that does not hold: refused with file, line and why. */
static void s_refused(const fixture_t *f, const char *extra, const char *node_extra,
                      const char *expect)
{
    char text[2048], err[512], path[PATH_MAX + 64];
    snprintf(text, sizeof text,
             "[node]\nid = v2\ntier = village\nstore = var/v2\nlisten = tcp://127.0.0.1:7001\n"
             "secret_key = v1.sec\ncatalogue = cat.ini\n%s\n%s", node_extra, extra);
    s_write(f->dir, "bad.ini", text);
    snprintf(path, sizeof path, "%s/bad.ini", f->dir);
    gr_config_t *cfg = gr_config_load(path, err, sizeof err);
    if (cfg) {
        gr_config_destroy(&cfg);
        fail_msg("accepted: %s", extra);
    }
    if (!strstr(err, expect) || !strstr(err, "bad.ini:"))
        fail_msg("for \"%s\": %s", extra, err);
}

static void test_config_refusals(void **state)
{
    fixture_t *f = *state;
    s_refused(f, "[confidential_seal]\nT.OPEN = @d1.pub, d1\n", "",
              "does not mark it confidential");
    s_refused(f, "[confidential_seal]\nT.NONE = @d1.pub, d1\n", "", "not a category");
    s_refused(f, "[confidential_seal]\nT.SECRET = @d1.pub\n", "", "expected KEY, NODE-ID");
    s_refused(f, "[confidential_seal]\nT.SECRET = 1234, d1\n", "", "not a public key");
    s_refused(f, "[confidential_seal]\nT.SECRET = @d1.pub, d1\nT.SECRET = @d1.pub, d1\n", "",
              "duplicate key");
    s_refused(f, "", "previous_secret_key = v1.sec\n", "same key as secret_key");
    s_refused(f, "", "previous_secret_key = nowhere.sec\n", "nowhere.sec");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_the_vector_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sealed_envelope_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_opened_at_the_recipient_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_categories_go_as_they_are, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
