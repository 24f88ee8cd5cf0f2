/* Unit tests for broker/text: UTF-8 and NUL checks on serialized
 * messages, before protobuf-c unpacks them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gridrelay.pb-c.h"
#include "text.h"

static bool s_valid(const char *s)
{
    return gr_utf8_valid((const uint8_t *)s, strlen(s));
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(s_valid(""));
    assert_true(s_valid("ascii"));
    assert_true(s_valid("火灾 fire"));
    assert_true(s_valid("\xf0\x9f\x94\xa5"));          /* U+1F525 */
    assert_true(s_valid("\xf4\x8f\xbf\xbf"));          /* U+10FFFF */
    assert_false(s_valid("\xff"));
    assert_false(s_valid("\x80"));                     /* a lone continuation */
    assert_false(s_valid("\xc0\xaf"));                 /* overlong '/' */
    assert_false(s_valid("\xe0\x80\xaf"));             /* overlong */
    assert_false(s_valid("\xed\xa0\x80"));             /* a surrogate */
    assert_false(s_valid("\xf4\x90\x80\x80"));         /* above U+10FFFF */
    assert_false(s_valid("\xe7\x81"));                 /* cut short */
    assert_false(s_valid("ok\xe7"));
}

static void test_utf8_copy_cuts_at_a_boundary(void **state)
{
    (void)state;
    char out[5];
    gr_utf8_copy(out, sizeof out, "ab火灾");           /* 火 is 3 bytes */
    assert_string_equal(out, "ab");
    gr_utf8_copy(out, sizeof out, "abcd");
    assert_string_equal(out, "abcd");
    gr_utf8_copy(out, sizeof out, "abcdef");
    assert_string_equal(out, "abcd");
}

/* Packs a report body with the given title and category, then overwrites
 * the bytes of find with those of with. */
static size_t s_body(uint8_t *buf, const char *title, const char *category, const char *find,
                     const char *with, size_t n)
{
    Gridrelay__Event ev = GRIDRELAY__EVENT__INIT;
    ev.title = (char *)title;
    ev.category = (char *)category;
    Gridrelay__Location loc = GRIDRELAY__LOCATION__INIT;
    loc.address = "1 Main St";
    ev.location = &loc;
    Gridrelay__Report r = GRIDRELAY__REPORT__INIT;
    r.event = &ev;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_REPORT;
    body.report = &r;
    size_t len = gridrelay__body__pack(&body, buf);
    if (find) {
        uint8_t *at = memmem(buf, len, find, n);
        assert_non_null(at);
        memcpy(at, with, n);
    }
    return len;
}

static void test_check_names_the_bad_field(void **state)
{
    (void)state;
    uint8_t buf[512];
    char where[160];
    const ProtobufCMessageDescriptor *d = &gridrelay__body__descriptor;
    size_t len = s_body(buf, "smoke", "PS.FIRE", NULL, NULL, 0);
    assert_int_equal(gr_text_check(d, buf, len, where, sizeof where), 0);
    assert_string_equal(where, "");

    len = s_body(buf, "smoke \xff", "PS.FIRE", NULL, NULL, 0);
    assert_int_equal(gr_text_check(d, buf, len, where, sizeof where), GR_EBADTEXT);
    assert_string_equal(where, "report.event.title: not valid UTF-8");

    len = s_body(buf, "smoke", "PS.CRIMEZX", "PS.CRIMEZX", "PS.CRIME\0X", 10);
    assert_int_equal(gr_text_check(d, buf, len, where, sizeof where), GR_EBADTEXT);
    assert_string_equal(where, "report.event.category: holds a NUL byte");

    /* Nested two messages down. */
    len = s_body(buf, "smoke", "PS.FIRE", "Main", "M\xc0\xafn", 4);
    assert_int_equal(gr_text_check(d, buf, len, where, sizeof where), GR_EBADTEXT);
    assert_string_equal(where, "report.event.location.address: not valid UTF-8");

    /* Truncated or junk bytes are not a message. */
    len = s_body(buf, "smoke", "PS.FIRE", NULL, NULL, 0);
    assert_int_equal(gr_text_check(d, buf, len - 3, NULL, 0), GR_EDECODE);
    uint8_t junk[] = {0xff, 0xff, 0xff};
    assert_int_equal(gr_text_check(d, junk, sizeof junk, NULL, 0), GR_EDECODE);
}

/* A length that runs past the end of its message is not a message. */
static void test_check_refuses_bad_lengths(void **state)
{
    (void)state;
    uint8_t buf[8] = {0x0a, 0x7f, 0x0a, 0x02, 0x0a, 0x00, 0x00, 0x00};
    assert_int_equal(gr_text_check(&gridrelay__body__descriptor, buf, sizeof buf, NULL, 0),
                     GR_EDECODE);
}

/* An empty message (an envelope's empty body comes as NULL, 0 from
 * protobuf-c) has nothing to check; found by tests/fuzz/fuzz_envelope,
 * where clang's UBSan stopped at NULL + 0. */
static void test_check_empty(void **state)
{
    (void)state;
    char where[64] = "x";
    assert_int_equal(gr_text_check(&gridrelay__body__descriptor, NULL, 0, where, sizeof where), 0);
    assert_string_equal(where, "");
    assert_int_equal(gr_text_check(&gridrelay__body__descriptor, NULL, 1, NULL, 0), GR_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_utf8_copy_cuts_at_a_boundary),
        cmocka_unit_test(test_check_names_the_bad_field),
        cmocka_unit_test(test_check_refuses_bad_lengths),
        cmocka_unit_test(test_check_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
