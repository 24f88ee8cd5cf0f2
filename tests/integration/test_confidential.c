/* The audit of reads through real gridrelayd and gridctl processes (issue
 * 14 part 5): a node whose catalogue marks a category confidential
 * records every read of such a case and every refused request in its
 * access chain, and `gridctl audit reads` shows them to an auditor only,
 * filtered by case, key and time, with the chain verified; the records
 * outlive a restart. A read of an ordinary case leaves none. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"
#include "tiers_fixture.h"
#include "keys.h"

enum { W0, W1, OPERATOR, VIEWER, AUDITOR, OTHER_OP, N_KEYS };
static const char *const s_names[N_KEYS] = {"worker-0", "worker-1", "chen", "leader", "audit",
                                            "wu"};

typedef struct {
    harness_node_t node;
    gr_keypair_t keys[N_KEYS];
    char catalogue[320];
    char secret[32];        /* a confidential case */
    char open[32];          /* an ordinary one */
} fx_t;

static fx_t s_fx;

static int s_ctl(fx_t *fx, int who, const char *args, char *out, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "'%s' %s --node %s --key '%.300s/%s.sec' --node-key @%.300s/node.pub 2>&1",
             getenv("GRIDCTL"), args, fx->node.endpoint, fx->node.dir, s_names[who],
             fx->node.dir);
    int rc = harness_run(cmd, out, cap);
    if (getenv("GR_TEST_VERBOSE"))
        fprintf(stderr, "[%s] gridctl %s -> %d: %s\n", s_names[who], args, rc, out);
    return rc;
}

static int s_report(fx_t *fx, const char *category, char id[32])
{
    char args[256], out[1024];
    snprintf(args, sizeof args, "report --category %s --title 'about a key person'", category);
    if (s_ctl(fx, W0, args, out, sizeof out) != 0)
        return -1;
    out[strcspn(out, " \n")] = '\0';
    if (strlen(out) != 26)
        return -1;
    snprintf(id, 32, "%.26s", out);
    return 0;
}

static int s_setup(void **state)
{
    fx_t *fx = &s_fx;
    memset(fx, 0, sizeof *fx);
    harness_node_t *n = &fx->node;
    if (harness_node_init(n, "village-conf", 2) != 0)
        return -1;
    n->reporters_only = true;
    snprintf(fx->catalogue, sizeof fx->catalogue, "%.250s/../catalogue.ini", n->dir);
    FILE *f = fopen(fx->catalogue, "w");
    if (!f)
        return -1;
    fputs("[T.SECRET]\nclass = t\nsubclass = t\nname = key person\nauthority = village\n"
          "confidential = yes\n\n"
          "[T.OPEN]\nclass = t\nsubclass = t\nname = pothole\nauthority = village\n", f);
    if (fclose(f) != 0)
        return -1;
    memcpy(n->catalogue, fx->catalogue, sizeof fx->catalogue);
    fx->keys[W0] = n->reporters[0];
    fx->keys[W1] = n->reporters[1];
    char hex[N_KEYS][GR_PUBLIC_KEY_HEX];
    for (int i = 0; i < N_KEYS; i++) {
        char sec[400], pub[400], err[256];
        if (i > W1 && gr_keys_generate(&fx->keys[i]) != 0)
            return -1;
        snprintf(sec, sizeof sec, "%.300s/%s.sec", n->dir, s_names[i]);
        snprintf(pub, sizeof pub, "%.300s/%s.pub", n->dir, s_names[i]);
        if (gr_keys_save(&fx->keys[i], sec, pub, err, sizeof err) != 0)
            return -1;
        gr_key_to_hex(hex[i], fx->keys[i].pk);
    }
    snprintf(n->sections, sizeof n->sections,
             "[operators]\nchen = %s\nwu = %s\n\n[viewers]\nleader = %s\n\n"
             "[auditors]\naudit = %s\n\n[confidential]\nT.SECRET = chen\n\n",
             hex[OPERATOR], hex[OTHER_OP], hex[VIEWER], hex[AUDITOR]);
    if (harness_node_start(n) != 0)
        return -1;
    if (s_report(fx, "T.SECRET", fx->secret) != 0 || s_report(fx, "T.OPEN", fx->open) != 0)
        return -1;
    *state = fx;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    harness_node_cleanup(&s_fx.node);
    return 0;
}

static int s_lines_with(const char *out, const char *text)
{
    int n = 0;
    for (const char *p = out; (p = strstr(p, text)); p += strlen(text))
        n++;
    return n;
}

static void test_reads_and_refusals_are_audited(void **state)
{
    fx_t *fx = *state;
    char args[512], out[16384];

    /* The operator reads both cases: only the confidential read counts. */
    snprintf(args, sizeof args, "show %s", fx->secret);
    assert_int_equal(s_ctl(fx, OPERATOR, args, out, sizeof out), 0);
    snprintf(args, sizeof args, "show %s", fx->open);
    assert_int_equal(s_ctl(fx, OPERATOR, args, out, sizeof out), 0);
    /* Refusals: a viewer acts, the other worker reads the case. */
    snprintf(args, sizeof args, "accept %s", fx->secret);
    assert_int_equal(s_ctl(fx, VIEWER, args, out, sizeof out), 1);
    assert_non_null(strstr(out, "forbidden"));
    snprintf(args, sizeof args, "show %s", fx->secret);
    assert_int_equal(s_ctl(fx, W1, args, out, sizeof out), 1);
    assert_non_null(strstr(out, "forbidden"));

    assert_int_equal(s_ctl(fx, AUDITOR, "audit reads", out, sizeof out), 0);
    assert_int_equal(s_lines_with(out, "Z read "), 1);
    assert_int_equal(s_lines_with(out, "Z refused "), 2);
    char want[128];
    snprintf(want, sizeof want, "read    chen");
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "refused leader"));
    assert_non_null(strstr(out, "refused worker-1"));
    assert_non_null(strstr(out, "T.SECRET"));
    assert_null(strstr(out, fx->open));
    assert_non_null(strstr(out, "chain ok 3 records"));

    /* Filters: by case, by key, by time. */
    snprintf(args, sizeof args, "audit reads --actor @%.300s/leader.pub", fx->node.dir);
    assert_int_equal(s_ctl(fx, AUDITOR, args, out, sizeof out), 0);
    assert_int_equal(s_lines_with(out, "Z refused "), 1);
    assert_int_equal(s_lines_with(out, "Z read "), 0);
    snprintf(args, sizeof args, "audit reads --case %s --json", fx->secret);
    assert_int_equal(s_ctl(fx, AUDITOR, args, out, sizeof out), 0);
    assert_int_equal(s_lines_with(out, "\"seq\":"), 3);
    assert_int_equal(s_ctl(fx, AUDITOR, "audit reads --since 2999-01-01T00:00:00Z", out,
                           sizeof out), 0);
    assert_int_equal(s_lines_with(out, "\"seq\":") + s_lines_with(out, "Z read ")
                     + s_lines_with(out, "Z refused "), 0);
    assert_non_null(strstr(out, "chain ok 3 records"));

    /* Only an auditor may ask; the operator's try is itself a refusal. */
    assert_int_equal(s_ctl(fx, OPERATOR, "audit reads", out, sizeof out), 1);
    assert_non_null(strstr(out, "forbidden"));

    /* They outlive a restart, still one chain. */
    assert_int_equal(harness_node_stop(&fx->node, SIGTERM), 0);
    assert_int_equal(harness_node_start(&fx->node), 0);
    assert_int_equal(s_ctl(fx, AUDITOR, "audit reads", out, sizeof out), 0);
    assert_non_null(strstr(out, "chain ok 4 records"));
    assert_non_null(strstr(out, "refused chen"));
    assert_non_null(strstr(out, "audit_reads"));
}

static uint64_t s_counter(fx_t *fx, const char *name)
{
    char out[8192];
    if (s_ctl(fx, OPERATOR, "stats", out, sizeof out) != 0)
        return UINT64_MAX;
    const char *at = strstr(out, name);
    if (!at)
        return UINT64_MAX;
    at += strlen(name);
    at += strspn(at, " :=\t");
    return strtoull(at, NULL, 10);
}

/* Issue 14 part 3: only the operator [confidential] names reads or acts
 * on a confidential case; another operator and a viewer are refused
 * (ERR_FORBIDDEN, counted, audited) and do not see it in their lists;
 * its reporter still reads its own report. */
static void test_confidential_case_is_for_its_named_operators(void **state)
{
    fx_t *fx = *state;
    char args[512], out[16384];
    uint64_t before = s_counter(fx, "rejected_forbidden");
    assert_true(before != UINT64_MAX);

    snprintf(args, sizeof args, "show %s", fx->secret);
    assert_int_equal(s_ctl(fx, OPERATOR, args, out, sizeof out), 0);
    assert_non_null(strstr(out, "T.SECRET"));
    assert_int_equal(s_ctl(fx, W0, args, out, sizeof out), 0);
    assert_int_equal(s_ctl(fx, OTHER_OP, args, out, sizeof out), 1);
    assert_non_null(strstr(out, "forbidden"));
    assert_non_null(strstr(out, "confidential case"));
    assert_int_equal(s_ctl(fx, VIEWER, args, out, sizeof out), 1);
    assert_non_null(strstr(out, "forbidden"));

    /* Lists: the named operator sees both, the other one the open case only. */
    assert_int_equal(s_ctl(fx, OPERATOR, "list", out, sizeof out), 0);
    assert_non_null(strstr(out, fx->secret));
    assert_non_null(strstr(out, fx->open));
    assert_int_equal(s_ctl(fx, OTHER_OP, "list", out, sizeof out), 0);
    assert_null(strstr(out, fx->secret));
    assert_non_null(strstr(out, fx->open));
    assert_int_equal(s_ctl(fx, VIEWER, "list", out, sizeof out), 0);
    assert_null(strstr(out, fx->secret));

    /* Acting: refused for wu, done by chen; wu still handles the open case. */
    snprintf(args, sizeof args, "accept %s", fx->secret);
    assert_int_equal(s_ctl(fx, OTHER_OP, args, out, sizeof out), 1);
    assert_non_null(strstr(out, "forbidden"));
    assert_int_equal(s_ctl(fx, OPERATOR, args, out, sizeof out), 0);
    snprintf(args, sizeof args, "accept %s", fx->open);
    assert_int_equal(s_ctl(fx, OTHER_OP, args, out, sizeof out), 0);

    assert_int_equal(s_counter(fx, "rejected_forbidden"), before + 3);
    assert_int_equal(s_ctl(fx, AUDITOR, "audit reads", out, sizeof out), 0);
    /* chen's show and list (listing a confidential case is a read of it),
     * worker-0's show; wu's and leader's lists left it out: no read. */
    assert_int_equal(s_lines_with(out, "Z read "), 3);
    assert_non_null(strstr(out, "read    chen"));
    assert_non_null(strstr(out, "list_events"));
    assert_non_null(strstr(out, "read    worker-0"));
    assert_int_equal(s_lines_with(out, "refused wu"), 2);
    assert_int_equal(s_lines_with(out, "refused leader"), 1);
    assert_non_null(strstr(out, "chain ok 6 records"));
}

/* ---- across tiers: village -> township -> district ---- */

enum { TD, TT, TV, TN };

typedef struct {
    harness_node_t n[TN];
    char catalogue[320];
} tiers_t;

static tiers_t s_tiers;

static int s_tiers_setup(void **state)
{
    tiers_t *t = &s_tiers;
    memset(t, 0, sizeof *t);
    static const char *const names[TN] = {"district-c", "town-c", "village-c"};
    if (chain_init_with_key_files(t->n, names, 2,
                                  "[T.SECRET]\nclass = t\nsubclass = t\nname = key person\n"
                                  "authority = district\nconfidential = yes\n",
                                  t->catalogue, sizeof t->catalogue) != 0)
        return -1;
    /* At the district worker-0 is named for T.SECRET, worker-1 is not;
     * the township names nobody: it only forwards. */
    snprintf(t->n[TD].sections, sizeof t->n[TD].sections, "[confidential]\nT.SECRET = worker-0\n\n");
    static const int parent[TN] = {-1, TD, TT};
    if (nodes_start_tree(t->n, TN, parent) != 0)
        return -1;
    *state = t;
    return 0;
}

static int s_tiers_teardown(void **state)
{
    (void)state;
    return nodes_stop_checked(s_tiers.n, TN, s_tiers.catalogue);
}

static int s_tier_ctl(tiers_t *t, int n, int who, const char *args, char *out, size_t cap)
{
    return node_reporter_gridctl(&t->n[n], who, args, out, cap);
}

/* The brief's test: a confidential case goes up through the township,
 * which holds and counts it but whose operators cannot read it, to the
 * district, where the named operator reads it and another operator is
 * refused; each refusal is audited where it happened. */
static void test_confidential_case_across_tiers(void **state)
{
    tiers_t *t = *state;
    char out[16384], args[256], id[32];
    assert_int_equal(s_tier_ctl(t, TV, 0, "report --category T.SECRET --title 'key person seen' "
                                "--description 'Li Si, 13700001111'", out, sizeof out), 0);
    snprintf(id, sizeof id, "%.26s", out);
    snprintf(args, sizeof args, "show %s", id);
    /* Bounded: up to 30 s for two hops. */
    bool arrived = node_wait_gridctl_says(&t->n[TD], args, "13700001111", 30000);
    assert_true(arrived);

    /* The township holds it (escalated on), counted, unreadable there. */
    assert_int_equal(s_tier_ctl(t, TT, 0, "stats", out, sizeof out), 0);
    static const char *const held[] = {"events_stored", "cases_escalate"};
    for (int i = 0; i < 2; i++) {
        const char *at = strstr(out, held[i]);
        assert_non_null(at);
        at += strlen(held[i]);
        assert_int_equal(strtoull(at + strspn(at, " :=\t"), NULL, 10), 1);
    }
    assert_int_equal(s_tier_ctl(t, TT, 0, args, out, sizeof out), 1);
    assert_non_null(strstr(out, "confidential case"));
    assert_null(strstr(out, "13700001111"));
    assert_int_equal(s_tier_ctl(t, TT, 0, "list", out, sizeof out), 0);
    assert_null(strstr(out, id));

    /* The district's other operator: refused. */
    assert_int_equal(s_tier_ctl(t, TD, 1, args, out, sizeof out), 1);
    assert_non_null(strstr(out, "forbidden"));
    assert_null(strstr(out, "13700001111"));
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (gr_keys_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reads_and_refusals_are_audited, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_confidential_case_is_for_its_named_operators,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_confidential_case_across_tiers, s_tiers_setup,
                                        s_tiers_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
