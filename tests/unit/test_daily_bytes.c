/* What a district receives per day for 1,000 units (a printout, and a
 * bound): the signed envelopes of the daily summaries (DailySummary in an
 * Envelope, exactly as node/daily.c seals them for the tier link) of 100
 * villages of 10 grid workers each under 10 townships. Three days: all on
 * time; a usual day (5% missing when the due time passes, 3 in 5 of them
 * reporting late afterwards, each late report sending its village's
 * summary again); and all missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "envelope.h"
#include "keys.h"

#define VILLAGES 100
#define WORKERS 10
#define TOWNSHIPS 10

static gr_keypair_t s_kp;
static uint64_t s_seq = 1796778001313000ull;

/* The sealed size of one summary of village v listing `listed` units,
 * the first `late` of them late (with their report's event id). */
static size_t s_summary_bytes(int v, int tier, int listed, int late, int missing_total)
{
    char node[32], units[WORKERS][32];
    snprintf(node, sizeof node, tier == 1 ? "village-%03d" : "town-%02d", v);
    Gridrelay__DailyUnit u[WORKERS], *ptrs[WORKERS];
    for (int i = 0; i < listed; i++) {
        gridrelay__daily_unit__init(&u[i]);
        snprintf(units[i], sizeof units[i], "worker-%03d-%02d", v, i);
        u[i].unit = units[i];
        if (i < late) {
            u[i].state = GRIDRELAY__DAILY_UNIT__STATE__LATE;
            u[i].first_ms = 1796812201415ull + (uint64_t)i * 60000;
            u[i].late_ms = 1800000ull + (uint64_t)i * 60000;
            u[i].reports = 1;
        } else {
            u[i].state = GRIDRELAY__DAILY_UNIT__STATE__MISSING;
        }
        ptrs[i] = &u[i];
    }
    Gridrelay__DailySummary s = GRIDRELAY__DAILY_SUMMARY__INIT;
    s.node_id = node;
    s.date = (char *)"2026-12-09";
    s.tier_level = (uint32_t)tier;
    s.version = (uint32_t)(1 + late);
    s.closed = true;
    s.due_ms = 1796810400000ull;
    s.units = tier == 1 ? WORKERS : 0;
    s.late = (uint32_t)late;
    s.missing = (uint32_t)missing_total;
    s.on_time = s.units - s.late - s.missing;
    s.exceptions = ptrs;
    s.n_exceptions = (size_t)listed;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_DAILY_SUMMARY;
    body.daily_summary = &s;
    uint8_t *frame = NULL;
    size_t len = 0;
    assert_int_equal(gr_envelope_seal(&frame, &len, &s_kp, s_seq++, 1796812201415ull, &body), 0);
    free(frame);
    return len;
}

/* missing[v]: units missing at village v's due time; late[v]: of those,
 * how many report late afterwards (one resend each). Returns the bytes. */
static size_t s_day(const int *missing, const int *late, size_t *messages)
{
    size_t bytes = 0;
    *messages = 0;
    for (int t = 0; t < TOWNSHIPS; t++, (*messages)++)
        bytes += s_summary_bytes(t, 2, 0, 0, 0);
    for (int v = 0; v < VILLAGES; v++) {
        bytes += s_summary_bytes(v, 1, missing[v], 0, missing[v]);
        (*messages)++;
        for (int l = 1; l <= late[v]; l++, (*messages)++)
            bytes += s_summary_bytes(v, 1, missing[v], l, missing[v] - l);
    }
    return bytes;
}

static void test_bytes_a_district_receives_per_day(void **state)
{
    (void)state;
    assert_int_equal(gr_keys_init(), 0);
    assert_int_equal(gr_keys_generate(&s_kp), 0);
    int missing[VILLAGES] = {0}, late[VILLAGES] = {0};
    size_t messages = 0;
    size_t on_time = s_day(missing, late, &messages);
    printf("daily summaries for %d units (%d villages, %d townships), bytes a district "
           "receives per day:\n", VILLAGES * WORKERS, VILLAGES, TOWNSHIPS);
    printf("  all on time:             %6zu bytes in %3zu messages\n", on_time, messages);
    /* 50 units missing at the due time, 30 of them reporting late. */
    for (int v = 0; v < VILLAGES; v += 2)
        missing[v] = 1;
    for (int v = 0; v < 60; v += 2)
        late[v] = 1;
    size_t usual = s_day(missing, late, &messages);
    printf("  5%% missing, 3%% late:     %6zu bytes in %3zu messages\n", usual, messages);
    for (int v = 0; v < VILLAGES; v++) {
        missing[v] = WORKERS;
        late[v] = 0;
    }
    size_t none = s_day(missing, late, &messages);
    printf("  all missing:             %6zu bytes in %3zu messages\n", none, messages);
    /* One message per node per day and change, never per unit: a day when
     * everyone is on time costs under 200 bytes a node, most of it the
     * envelope's key, signature and seq. */
    assert_true(on_time < (VILLAGES + TOWNSHIPS) * 200);
    assert_true(usual < 32 * 1024);
    assert_true(none < 64 * 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_a_district_receives_per_day),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
