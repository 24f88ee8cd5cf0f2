/* Unit tests for node/config and node/catalogue: real files in a fresh temp
 * dir per test, real keys from libsodium. Bad configs are a table of file
 * contents with the message and line each must produce. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalogue.h"
#include "config.h"
#include "error.h"

#define EXAMPLE_CATALOGUE GR_SOURCE_ROOT "/examples/catalogue.ini"
#define EXAMPLE_VILLAGE GR_SOURCE_ROOT "/examples/village.ini"
#define EXAMPLE_TOWNSHIP GR_SOURCE_ROOT "/examples/township.ini"

/* A small catalogue exercising every key and every default. */
static const char s_good_catalogue[] =
    "; test catalogue\n"
    "[PS.FIRE]\n"
    "class = 公共安全 public safety\n"
    "subclass = 消防安全 fire safety\n"
    "name = 火灾 fire ; comment after a value\n"
    "severity = urgent\n"
    "authority = village\n"
    "authority.urgent = township\n"
    "authority.extra-urgent = district\n"
    "\n"
    "[SS.MASS]\n"
    "class = 社会稳定 social stability\n"
    "subclass = 群体性事件 mass incidents\n"
    "name = 群体性事件 mass incident\n"
    "severity = extra-urgent\n"
    "authority = 3\n"
    "direct = yes\n"
    "[DAILY.SAFE]\n"
    "class = 组织建设 organisation building\n"
    "subclass = 网格工作 grid work\n"
    "name = 日报告零报告 daily report\n"
    "[SV.REQUEST]\n"
    "class = 社会服务 social services\n"
    "subclass = 群众诉求 residents' requests\n"
    "name = 群众诉求 resident's request\n"
    "authority.urgent = street\n";

/* [node] on line 1, then id .. catalogue on lines 2-7: rows of the bad
 * config table append from line 8. */
#define NODE_HEAD                                                              \
    "[node]\n"                                                                 \
    "id = v1\n"                                                                \
    "tier = village\n"                                                         \
    "store = var/v1\n"                                                         \
    "listen = tcp://127.0.0.1:7001\n"                                          \
    "secret_key = keys/node.sec\n"                                             \
    "catalogue = cat.ini\n"

/* Public keys for rows that need several: real ones (made with libsodium),
 * since a config refuses 64 hex digits that are no Ed25519 point. */
#define HEX1 "fbdce6f9691df9a5fe0336089bc0683569850351a90626b43043e1d74020ce29"
#define HEX2 "60aaabc11472706ba193743210a16dc7b88c20fa5c9aa597d48d3f247fd18d53"
#define HEX3 "2beca3586c652a31842d7958093f409b152997e12580674cd65437f296df740e"
#define HEX4 "e5261ea26334c571d9a9e1482a78c123e20edfcb31a7879fbca448c734d7f9be"
#define HEX5 "2c3f30fb95f56706d479656531641719059a46c20bf6fd2bb71cb5ed7eea7fba"
#define HEX6 "52b7647b086e8b809dcf41f567d7b2488a9a4713413b8f44076e1ce4f7976e6e"

typedef struct {
    char dir[256];          /* realpath of the temp dir */
} fixture_t;

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    char tmpl[] = "/tmp/gr-test-config-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    /* Compare against the resolved form, as the config resolves its own dir. */
    char real[PATH_MAX];
    assert_non_null(realpath(tmpl, real));
    assert_true(strlen(real) < sizeof f->dir);
    strcpy(f->dir, real);
    assert_int_equal(gr_keys_init(), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(nftw(f->dir, s_rm, 16, FTW_DEPTH | FTW_PHYS), 0);
    free(f);
    return 0;
}

static void s_write(const char *path, const char *data, size_t len)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    assert_int_equal(fwrite(data, 1, len, file), len);
    assert_int_equal(fclose(file), 0);
}

static void s_write_at(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    s_write(path, text, strlen(text));
}

static void s_copy(const char *from, const char *to)
{
    FILE *in = fopen(from, "r");
    assert_non_null(in);
    FILE *out = fopen(to, "w");
    assert_non_null(out);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    assert_int_equal(fclose(in), 0);
    assert_int_equal(fclose(out), 0);
}

/* Creates dir/keys/NAME.sec and .pub; returns the key pair. */
static gr_keypair_t s_make_key(const char *dir, const char *name)
{
    char keys[PATH_MAX], sec[PATH_MAX + 64], pub[PATH_MAX + 64], err[512];
    snprintf(keys, sizeof keys, "%s/keys", dir);
    assert_true(mkdir(keys, 0700) == 0 || errno == EEXIST);
    snprintf(sec, sizeof sec, "%s/%s.sec", keys, name);
    snprintf(pub, sizeof pub, "%s/%s.pub", keys, name);
    gr_keypair_t kp;
    assert_int_equal(gr_keys_generate(&kp), 0);
    if (gr_keys_save(&kp, sec, pub, err, sizeof err) != 0)
        fail_msg("gr_keys_save: %s", err);
    return kp;
}

/* The 1-based line of the first line of path starting with prefix. */
static int s_line_of(const char *path, const char *prefix)
{
    FILE *file = fopen(path, "r");
    assert_non_null(file);
    char line[512];
    int n = 0, found = 0;
    while (!found && fgets(line, sizeof line, file)) {
        n++;
        if (strncmp(line, prefix, strlen(prefix)) == 0)
            found = n;
    }
    fclose(file);
    assert_true(found > 0);
    return found;
}

/* Asserts err reads "FILE:LINE: ...want..." (or "FILE: ..." when line is 0). */
static void s_assert_error(const char *err, const char *file, int line, const char *want,
                           const char *label)
{
    char prefix[PATH_MAX + 32];
    if (line > 0)
        snprintf(prefix, sizeof prefix, "%s:%d: ", file, line);
    else
        snprintf(prefix, sizeof prefix, "%s: ", file);
    if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, want))
        fail_msg("%s: got \"%s\", want prefix \"%s\" and \"%s\"", label, err, prefix, want);
}

/* ---- catalogue --------------------------------------------------------- */

static void test_tier_parse(void **state)
{
    (void)state;
    assert_int_equal(gr_tier_parse("village"), 1);
    assert_int_equal(gr_tier_parse("community"), 1);
    assert_int_equal(gr_tier_parse("Township"), 2);
    assert_int_equal(gr_tier_parse("street"), 2);
    assert_int_equal(gr_tier_parse("district"), 3);
    assert_int_equal(gr_tier_parse("county"), 3);
    assert_int_equal(gr_tier_parse("city"), 4);
    assert_int_equal(gr_tier_parse("1"), 1);
    assert_int_equal(gr_tier_parse("16"), 16);
    assert_int_equal(gr_tier_parse("17"), -1);
    assert_int_equal(gr_tier_parse("0"), -1);
    assert_int_equal(gr_tier_parse("-1"), -1);
    assert_int_equal(gr_tier_parse("2x"), -1);
    assert_int_equal(gr_tier_parse(""), -1);
    assert_int_equal(gr_tier_parse(NULL), -1);
    assert_int_equal(gr_tier_parse("hamlet"), -1);
}

static void test_catalogue_good(void **state)
{
    fixture_t *f = *state;
    char path[PATH_MAX + 16], err[512] = "";
    snprintf(path, sizeof path, "%s/cat.ini", f->dir);
    s_write(path, s_good_catalogue, strlen(s_good_catalogue));
    gr_catalogue_t *cat = gr_catalogue_load(path, err, sizeof err);
    if (!cat)
        fail_msg("%s", err);
    assert_int_equal(gr_catalogue_count(cat), 4);

    const gr_category_t *c = gr_catalogue_find(cat, "PS.FIRE");
    assert_non_null(c);
    assert_string_equal(c->class_name, "公共安全 public safety");
    assert_string_equal(c->subclass_name, "消防安全 fire safety");
    assert_string_equal(c->name, "火灾 fire");
    assert_int_equal(c->default_severity, 2);
    assert_int_equal(c->authority[1], 1);
    assert_int_equal(c->authority[2], 2);
    assert_int_equal(c->authority[3], 3);
    assert_false(c->direct);

    c = gr_catalogue_find(cat, "SS.MASS");
    assert_non_null(c);
    assert_int_equal(c->default_severity, 3);
    assert_int_equal(c->authority[1], 3);
    assert_int_equal(c->authority[2], 3);
    assert_int_equal(c->authority[3], 3);
    assert_true(c->direct);

    /* Every default: routine, village, and each tier inheriting the one below. */
    c = gr_catalogue_find(cat, "DAILY.SAFE");
    assert_non_null(c);
    assert_int_equal(c->default_severity, 1);
    assert_int_equal(c->authority[1], 1);
    assert_int_equal(c->authority[2], 1);
    assert_int_equal(c->authority[3], 1);
    c = gr_catalogue_find(cat, "SV.REQUEST");
    assert_non_null(c);
    assert_int_equal(c->authority[1], 1);
    assert_int_equal(c->authority[2], 2);
    assert_int_equal(c->authority[3], 2);

    assert_null(gr_catalogue_find(cat, "PS.FIR"));
    assert_null(gr_catalogue_find(cat, "ps.fire"));
    assert_null(gr_catalogue_find(cat, ""));
    assert_null(gr_catalogue_find(cat, NULL));
    assert_null(gr_catalogue_find(NULL, "PS.FIRE"));

    /* In code order, so that listings are stable. */
    assert_string_equal(gr_catalogue_at(cat, 0)->code, "DAILY.SAFE");
    assert_string_equal(gr_catalogue_at(cat, 1)->code, "PS.FIRE");
    assert_string_equal(gr_catalogue_at(cat, 2)->code, "SS.MASS");
    assert_string_equal(gr_catalogue_at(cat, 3)->code, "SV.REQUEST");
    assert_null(gr_catalogue_at(cat, 4));
    assert_null(gr_catalogue_at(NULL, 0));
    assert_int_equal(gr_catalogue_count(NULL), 0);

    gr_catalogue_destroy(&cat);
    assert_null(cat);
    gr_catalogue_destroy(&cat);
    gr_catalogue_destroy(NULL);
}

static bool s_seen(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static void test_example_catalogue(void **state)
{
    (void)state;
    char err[512] = "";
    gr_catalogue_t *cat = gr_catalogue_load(EXAMPLE_CATALOGUE, err, sizeof err);
    if (!cat)
        fail_msg("%s", err);
    size_t n = gr_catalogue_count(cat);
    assert_int_equal(n, 49);

    const char *classes[49], *subclasses[49];
    size_t nclass = 0, nsub = 0;
    for (size_t i = 0; i < n; i++) {
        const gr_category_t *c = gr_catalogue_at(cat, i);
        assert_non_null(c);
        if (i > 0)
            assert_true(strcmp(gr_catalogue_at(cat, i - 1)->code, c->code) < 0);
        assert_ptr_equal(gr_catalogue_find(cat, c->code), c);
        if (!s_seen(classes, nclass, c->class_name))
            classes[nclass++] = c->class_name;
        if (!s_seen(subclasses, nsub, c->subclass_name))
            subclasses[nsub++] = c->subclass_name;
    }
    assert_int_equal(nclass, 5);
    assert_int_equal(nsub, 29);

    /* The items the rules of the grid depend on. */
    const gr_category_t *c = gr_catalogue_find(cat, "DAILY.SAFE");
    assert_non_null(c);
    assert_int_equal(c->default_severity, 1);
    assert_int_equal(c->authority[1], 1);
    c = gr_catalogue_find(cat, "SS.MASS");
    assert_non_null(c);
    assert_int_equal(c->default_severity, 3);
    assert_int_equal(c->authority[3], 3);
    assert_true(c->direct);
    c = gr_catalogue_find(cat, "PS.EPIDEMIC");
    assert_non_null(c);
    assert_true(c->direct);
    assert_int_equal(c->authority[1], 3);
    c = gr_catalogue_find(cat, "SS.DISPUTE");
    assert_non_null(c);
    assert_int_equal(c->authority[1], 1);
    assert_int_equal(c->authority[2], 2);
    assert_non_null(gr_catalogue_find(cat, "PS.FIRE"));
    assert_non_null(gr_catalogue_find(cat, "SV.REQUEST"));
    assert_non_null(gr_catalogue_find(cat, "OM.RENTAL"));
    assert_non_null(gr_catalogue_find(cat, "OB.PATROL"));
    assert_null(gr_catalogue_find(cat, "NO.SUCH"));
    gr_catalogue_destroy(&cat);
}

/* ---- good configs ------------------------------------------------------ */

static void test_config_good(void **state)
{
    fixture_t *f = *state;
    gr_keypair_t node = s_make_key(f->dir, "node");
    gr_keypair_t zhang = s_make_key(f->dir, "zhang");
    gr_keypair_t li = s_make_key(f->dir, "li");
    gr_keypair_t district = s_make_key(f->dir, "district");
    gr_keypair_t city = s_make_key(f->dir, "city");
    gr_keypair_t va = s_make_key(f->dir, "va");
    gr_keypair_t vb = s_make_key(f->dir, "vb");
    char zhang_hex[GR_PUBLIC_KEY_HEX], va_hex[GR_PUBLIC_KEY_HEX];
    gr_key_to_hex(zhang_hex, zhang.pk);
    gr_key_to_hex(va_hex, va.pk);
    s_write_at(f->dir, "cat.ini", s_good_catalogue);

    char text[4096];
    snprintf(text, sizeof text,
             "# a township node\n"
             "[node]\n"
             "id = town-02.east_1\n"
             "tier = township   ; a comment after a value\n"
             "store = var/town\n"
             "listen = tcp://*:*\n"
             "endpoint_file = %s/town.endpoint\n"
             "secret_key = keys/node.sec\n"
             "catalogue = cat.ini\n"
             "max_frame = 1024\n"
             "map_size_mb = 128\n"
             "map_max_mb = 128\n"
             "replay_window = 18446744073709551615\n"
             "batch_max = 65536\n"
             "status_listen = tcp://127.0.0.1:*\n"
             "\n"
             "[reporters]\n"
             "worker-zhang = %s\n"
             "张三 = @keys/li.pub\n"
             "[children]\n"
             "village-a = %s\n"
             "village-b = @keys/vb.pub\n"
             "[skip]\n"
             "key = @keys/city.pub\n"
             "endpoint = ipc:///run/city.sock\n"
             "id = city\n"
             "[parent]\n"
             "id = district-1\n"
             "endpoint = tcp://10.0.0.1:7001\n"
             "status_endpoint = tcp://10.0.0.1:7002\n"
             "key = @keys/district.pub\n"
             "[deadlines]\n"
             "accept.routine = 500ms\n"
             "accept.urgent = 90 s\n"
             "accept.extra-urgent = 0\n"
             "resolve.routine = 7d\n"
             "resolve.urgent = 2h\n"
             "resolve.extra-urgent = 30min\n", f->dir, zhang_hex, va_hex);
    char path[PATH_MAX + 16], err[512] = "";
    snprintf(path, sizeof path, "%s/town.ini", f->dir);
    s_write(path, text, strlen(text));

    gr_config_t *cfg = gr_config_load(path, err, sizeof err);
    if (!cfg)
        fail_msg("%s", err);
    char want[PATH_MAX + 64];
    assert_string_equal(cfg->node_id, "town-02.east_1");
    assert_string_equal(cfg->tier_name, "township");
    assert_int_equal(cfg->tier_level, 2);
    snprintf(want, sizeof want, "%s/var/town", f->dir);
    assert_string_equal(cfg->store_path, want);
    assert_string_equal(cfg->listen, "tcp://*:*");
    /* Absolute, so not resolved against the config's directory. */
    snprintf(want, sizeof want, "%s/town.endpoint", f->dir);
    assert_string_equal(cfg->endpoint_file, want);
    snprintf(want, sizeof want, "%s/keys/node.sec", f->dir);
    assert_string_equal(cfg->secret_key_path, want);
    snprintf(want, sizeof want, "%s/cat.ini", f->dir);
    assert_string_equal(cfg->catalogue_path, want);
    assert_int_equal(cfg->max_frame, 1024);
    assert_int_equal(cfg->map_size, (size_t)128 << 20);
    assert_int_equal(cfg->map_max, (size_t)128 << 20);
    assert_true(cfg->replay_window == UINT64_MAX);
    assert_int_equal(cfg->batch_max, 65536);
    assert_memory_equal(cfg->keys.pk, node.pk, sizeof node.pk);
    assert_memory_equal(cfg->keys.sk, node.sk, sizeof node.sk);

    assert_string_equal(cfg->status_listen, "tcp://127.0.0.1:*");
    assert_true(cfg->has_parent);
    assert_string_equal(cfg->parent.id, "district-1");
    assert_string_equal(cfg->parent.endpoint, "tcp://10.0.0.1:7001");
    assert_string_equal(cfg->parent.status_endpoint, "tcp://10.0.0.1:7002");
    assert_memory_equal(cfg->parent.pk, district.pk, sizeof district.pk);
    assert_true(cfg->has_skip);
    assert_string_equal(cfg->skip.id, "city");
    assert_string_equal(cfg->skip.endpoint, "ipc:///run/city.sock");
    assert_null(cfg->skip.status_endpoint);
    assert_memory_equal(cfg->skip.pk, city.pk, sizeof city.pk);
    assert_int_equal(cfg->n_children, 2);
    assert_string_equal(cfg->children[0].id, "village-a");
    assert_memory_equal(cfg->children[0].pk, va.pk, sizeof va.pk);
    assert_null(cfg->children[0].endpoint);
    assert_string_equal(cfg->children[1].id, "village-b");
    assert_memory_equal(cfg->children[1].pk, vb.pk, sizeof vb.pk);
    assert_true(cfg->deadlines.accept_within_ms[1] == 500);
    assert_true(cfg->deadlines.accept_within_ms[2] == 90000);
    assert_true(cfg->deadlines.accept_within_ms[3] == 0);
    assert_true(cfg->deadlines.resolve_within_ms[1] == 7ULL * 86400000);
    assert_true(cfg->deadlines.resolve_within_ms[2] == 2ULL * 3600000);
    assert_true(cfg->deadlines.resolve_within_ms[3] == 30ULL * 60000);

    /* Reporters, children, parent and skip target are all trusted. */
    assert_int_equal(gr_trust_count(cfg->trust), 6);
    const gr_trusted_key_t *t = gr_trust_find(cfg->trust, vb.pk);
    assert_non_null(t);
    assert_string_equal(t->name, "village-b");
    assert_int_equal(t->role, GR_ROLE_NODE);
    t = gr_trust_find(cfg->trust, district.pk);
    assert_non_null(t);
    assert_string_equal(t->name, "district-1");
    assert_int_equal(t->role, GR_ROLE_NODE);
    t = gr_trust_find(cfg->trust, city.pk);
    assert_non_null(t);
    assert_int_equal(t->role, GR_ROLE_NODE);
    t = gr_trust_find(cfg->trust, zhang.pk);
    assert_non_null(t);
    assert_string_equal(t->name, "worker-zhang");
    assert_int_equal(t->role, GR_ROLE_REPORTER);
    t = gr_trust_find(cfg->trust, li.pk);
    assert_non_null(t);
    assert_string_equal(t->name, "张三");
    assert_null(gr_trust_find(cfg->trust, node.pk));

    assert_int_equal(gr_catalogue_count(cfg->catalogue), 4);
    assert_non_null(gr_catalogue_find(cfg->catalogue, "PS.FIRE"));

    gr_config_destroy(&cfg);
    assert_null(cfg);
    gr_config_destroy(&cfg);
    gr_config_destroy(NULL);
}

/* ---- departments ------------------------------------------------------- */

/* A township with three departments (one key as hex, two as files, display
 * names with and without UTF-8, spaces around the comma), a [dispatch] table
 * written before the [departments] it names, and task deadlines. */
static void test_config_departments(void **state)
{
    fixture_t *f = *state;
    s_make_key(f->dir, "node");
    gr_keypair_t zhang = s_make_key(f->dir, "zhang");
    gr_keypair_t police = s_make_key(f->dir, "police");
    gr_keypair_t safety = s_make_key(f->dir, "safety");
    gr_keypair_t fire = s_make_key(f->dir, "fire");
    char safety_hex[GR_PUBLIC_KEY_HEX];
    gr_key_to_hex(safety_hex, safety.pk);
    s_write_at(f->dir, "cat.ini", s_good_catalogue);

    char text[4096];
    snprintf(text, sizeof text,
             NODE_HEAD
             "task_listen = tcp://127.0.0.1:*\n"
             "[dispatch]\n"
             "PS.FIRE = fire, safety + police\n"
             "PS.* = police\n"
             "SS.MASS = police,fire ,  safety\n"
             "* = safety + fire, police\n"
             "[reporters]\n"
             "zhang = @keys/zhang.pub\n"
             "[departments]\n"
             "police = @keys/police.pub, 派出所 police station\n"
             "safety = %s ,  安监站\n"
             "fire = @keys/fire.pub\n"
             "[deadlines]\n"
             "claim.routine = 4h\n"
             "claim.urgent = 15min\n"
             "claim.extra-urgent = 0\n"
             "complete.routine = 5d\n"
             "complete.urgent = 12 h\n"
             "complete.extra-urgent = 90s\n"
             "accept.urgent = 1h\n", safety_hex);
    char path[PATH_MAX + 16], err[512] = "";
    snprintf(path, sizeof path, "%s/town.ini", f->dir);
    s_write(path, text, strlen(text));
    gr_config_t *cfg = gr_config_load(path, err, sizeof err);
    if (!cfg)
        fail_msg("%s", err);

    assert_string_equal(cfg->task_listen, "tcp://127.0.0.1:*");
    assert_int_equal(cfg->n_depts, 3);
    assert_string_equal(cfg->depts[0].code, "police");
    assert_string_equal(cfg->depts[0].name, "派出所 police station");
    assert_memory_equal(cfg->depts[0].pk, police.pk, sizeof police.pk);
    assert_string_equal(cfg->depts[1].code, "safety");
    assert_string_equal(cfg->depts[1].name, "安监站");
    assert_memory_equal(cfg->depts[1].pk, safety.pk, sizeof safety.pk);
    assert_string_equal(cfg->depts[2].code, "fire");
    assert_string_equal(cfg->depts[2].name, "");
    assert_memory_equal(cfg->depts[2].pk, fire.pk, sizeof fire.pk);

    /* In file order, every list as written. */
    assert_int_equal(cfg->n_routes, 4);
    const gr_route_config_t *r = &cfg->routes[0];
    assert_string_equal(r->match, "PS.FIRE");
    assert_int_equal(r->n_candidates, 2);
    assert_string_equal(r->candidates[0], "fire");
    assert_string_equal(r->candidates[1], "safety");
    assert_int_equal(r->n_co, 1);
    assert_string_equal(r->co[0], "police");
    r = &cfg->routes[1];
    assert_string_equal(r->match, "PS.*");
    assert_int_equal(r->n_candidates, 1);
    assert_string_equal(r->candidates[0], "police");
    assert_int_equal(r->n_co, 0);
    r = &cfg->routes[2];
    assert_string_equal(r->match, "SS.MASS");
    assert_int_equal(r->n_candidates, 3);
    assert_string_equal(r->candidates[0], "police");
    assert_string_equal(r->candidates[1], "fire");
    assert_string_equal(r->candidates[2], "safety");
    assert_int_equal(r->n_co, 0);
    r = &cfg->routes[3];
    assert_string_equal(r->match, "*");
    assert_int_equal(r->n_candidates, 1);
    assert_string_equal(r->candidates[0], "safety");
    assert_int_equal(r->n_co, 2);
    assert_string_equal(r->co[0], "fire");
    assert_string_equal(r->co[1], "police");

    assert_true(cfg->task_deadlines.claim_within_ms[1] == 4ULL * 3600000);
    assert_true(cfg->task_deadlines.claim_within_ms[2] == 15ULL * 60000);
    assert_true(cfg->task_deadlines.claim_within_ms[3] == 0);
    assert_true(cfg->task_deadlines.complete_within_ms[1] == 5ULL * 86400000);
    assert_true(cfg->task_deadlines.complete_within_ms[2] == 12ULL * 3600000);
    assert_true(cfg->task_deadlines.complete_within_ms[3] == 90000);
    /* The case limits stay apart from the task limits. */
    assert_true(cfg->deadlines.accept_within_ms[2] == 3600000);
    assert_true(cfg->deadlines.accept_within_ms[1] == 0);
    assert_true(cfg->deadlines.resolve_within_ms[1] == 0);

    /* Departments are trusted under their code, as departments. */
    assert_int_equal(gr_trust_count(cfg->trust), 4);
    const gr_trusted_key_t *t = gr_trust_find(cfg->trust, police.pk);
    assert_non_null(t);
    assert_string_equal(t->name, "police");
    assert_int_equal(t->role, GR_ROLE_DEPARTMENT);
    t = gr_trust_find(cfg->trust, safety.pk);
    assert_non_null(t);
    assert_string_equal(t->name, "safety");
    assert_int_equal(t->role, GR_ROLE_DEPARTMENT);
    t = gr_trust_find(cfg->trust, zhang.pk);
    assert_non_null(t);
    assert_int_equal(t->role, GR_ROLE_REPORTER);

    assert_ptr_equal(gr_config_dept(cfg, "police"), &cfg->depts[0]);
    assert_ptr_equal(gr_config_dept(cfg, "fire"), &cfg->depts[2]);
    assert_null(gr_config_dept(cfg, "polic"));
    assert_null(gr_config_dept(cfg, "Police"));
    assert_null(gr_config_dept(cfg, "zhang"));
    assert_null(gr_config_dept(cfg, NULL));
    assert_null(gr_config_dept(NULL, "police"));
    assert_ptr_equal(gr_config_dept_by_key(cfg, police.pk), &cfg->depts[0]);
    assert_ptr_equal(gr_config_dept_by_key(cfg, safety.pk), &cfg->depts[1]);
    assert_ptr_equal(gr_config_dept_by_key(cfg, fire.pk), &cfg->depts[2]);
    assert_null(gr_config_dept_by_key(cfg, zhang.pk));
    assert_null(gr_config_dept_by_key(cfg, NULL));
    assert_null(gr_config_dept_by_key(NULL, police.pk));

    assert_ptr_equal(gr_config_route(cfg, "PS.FIRE"), &cfg->routes[0]);
    assert_ptr_equal(gr_config_route(cfg, "SS.MASS"), &cfg->routes[2]);
    assert_ptr_equal(gr_config_route(cfg, "DAILY.SAFE"), &cfg->routes[3]);
    gr_config_destroy(&cfg);
    assert_null(cfg);
}

/* A catalogue deep enough for prefixes of two lengths. */
static const char s_route_catalogue[] =
    "[PS.FIRE]\nclass = c\nsubclass = s\nname = n\n"
    "[PS.FIRE.FOREST]\nclass = c\nsubclass = s\nname = n\n"
    "[PS.CRIME]\nclass = c\nsubclass = s\nname = n\n"
    "[SS.MASS]\nclass = c\nsubclass = s\nname = n\n";

/* Loads node.ini made of NODE_HEAD, four departments and the given
 * [dispatch] lines; the caller made the node key and s_route_catalogue. */
static gr_config_t *s_load_routes(const fixture_t *f, const char *dispatch)
{
    char text[2048], path[PATH_MAX + 16], err[512] = "";
    snprintf(text, sizeof text, NODE_HEAD
             "[departments]\n"
             "a = " HEX1 "\n"
             "b = " HEX2 "\n"
             "c = " HEX3 "\n"
             "d = " HEX4 "\n"
             "[dispatch]\n%s", dispatch);
    snprintf(path, sizeof path, "%s/node.ini", f->dir);
    s_write(path, text, strlen(text));
    gr_config_t *cfg = gr_config_load(path, err, sizeof err);
    if (!cfg)
        fail_msg("%s", err);
    return cfg;
}

/* Loads NODE_HEAD and the given sections; the caller made the node key. */
static gr_config_t *s_load_sections(const fixture_t *f, const char *sections)
{
    char text[4096], path[PATH_MAX + 16], err[1024] = "";
    snprintf(text, sizeof text, NODE_HEAD "%s", sections);
    snprintf(path, sizeof path, "%s/node.ini", f->dir);
    s_write(path, text, strlen(text));
    gr_config_t *cfg = gr_config_load(path, err, sizeof err);
    if (!cfg)
        fail_msg("%s", err);
    return cfg;
}

static unsigned s_access_of(const gr_config_t *cfg, const char *hex)
{
    uint8_t pk[GR_PUBLIC_KEY_BYTES];
    assert_int_equal(gr_key_from_hex(pk, hex), 0);
    const gr_trusted_key_t *t = gr_trust_find(cfg->trust, pk);
    assert_non_null(t);
    return t->access;
}

/* Each person's section grants its role; a key listed under one name in
 * two sections holds both; departments and nodes get theirs; no warning. */
static void test_config_roles(void **state)
{
    fixture_t *f = *state;
    s_make_key(f->dir, "node");
    s_write_at(f->dir, "cat.ini", s_route_catalogue);
    gr_config_t *cfg = s_load_sections(f,
        "[reporters]\nli = " HEX1 "\nzhang = " HEX2 "\n"
        "[operators]\nchen = " HEX3 "\nli = " HEX1 "\n"
        "[viewers]\nleader = " HEX4 "\n"
        "[auditors]\naudit = " HEX5 "\n"
        "[departments]\npolice = " HEX6 "\n");
    assert_int_equal(s_access_of(cfg, HEX1), GR_ACCESS_REPORTER | GR_ACCESS_OPERATOR);
    assert_int_equal(s_access_of(cfg, HEX2), GR_ACCESS_REPORTER);
    assert_int_equal(s_access_of(cfg, HEX3), GR_ACCESS_OPERATOR);
    assert_int_equal(s_access_of(cfg, HEX4), GR_ACCESS_VIEWER);
    assert_int_equal(s_access_of(cfg, HEX5), GR_ACCESS_AUDITOR);
    assert_int_equal(s_access_of(cfg, HEX6), GR_ACCESS_DEPARTMENT);
    assert_int_equal(gr_trust_count(cfg->trust), 6);
    assert_string_equal(cfg->warning, "");
    gr_config_destroy(&cfg);

    /* A reporter given a grid reads that grid's cases too. */
    cfg = s_load_sections(f, "[operators]\n[reporters]\nwu = " HEX1 ", grid G-05\nli = " HEX2
                             "\n");
    uint8_t pk[GR_PUBLIC_KEY_BYTES];
    assert_int_equal(gr_key_from_hex(pk, HEX1), 0);
    assert_string_equal(gr_config_reporter_grid(cfg, pk), "G-05");
    assert_int_equal(gr_key_from_hex(pk, HEX2), 0);
    assert_null(gr_config_reporter_grid(cfg, pk));
    gr_config_destroy(&cfg);

    /* An empty [operators]: nobody acts here, and reporters stay reporters. */
    cfg = s_load_sections(f, "[operators]\n[reporters]\nli = " HEX1 "\n");
    assert_int_equal(s_access_of(cfg, HEX1), GR_ACCESS_REPORTER);
    assert_string_equal(cfg->warning, "");
    gr_config_destroy(&cfg);
}

/* A config from before roles: [reporters] alone keeps reporter+operator
 * and the warning says where and what to change. */
static void test_config_roles_legacy(void **state)
{
    fixture_t *f = *state;
    s_make_key(f->dir, "node");
    s_write_at(f->dir, "cat.ini", s_route_catalogue);
    gr_config_t *cfg = s_load_sections(f, "[reporters]\nli = " HEX1 "\nzhang = " HEX2 "\n"
                                          "[viewers]\nleader = " HEX4 "\n");
    assert_int_equal(s_access_of(cfg, HEX1), GR_ACCESS_REPORTER | GR_ACCESS_OPERATOR);
    assert_int_equal(s_access_of(cfg, HEX2), GR_ACCESS_REPORTER | GR_ACCESS_OPERATOR);
    assert_int_equal(s_access_of(cfg, HEX4), GR_ACCESS_VIEWER);
    assert_non_null(strstr(cfg->warning, "node.ini:8: [reporters] without an [operators] "
                                         "section: its keys (2) keep the old roles, reporter "
                                         "and operator"));
    assert_non_null(strstr(cfg->warning, "add an [operators] section"));
    gr_config_destroy(&cfg);
    /* No person at all: nothing to warn about. */
    cfg = s_load_sections(f, "");
    assert_string_equal(cfg->warning, "");
    gr_config_destroy(&cfg);
}

/* Exact beats the longest prefix beats "*", whatever the order of the lines:
 * each more specific line comes after the one it must beat. */
static void test_config_route_precedence(void **state)
{
    fixture_t *f = *state;
    s_make_key(f->dir, "node");
    s_write_at(f->dir, "cat.ini", s_route_catalogue);
    gr_config_t *cfg = s_load_routes(f, "* = d\nPS.* = b\nPS.FIRE.* = c\nPS.FIRE = a\n");
    assert_string_equal(gr_config_route(cfg, "PS.FIRE")->match, "PS.FIRE");
    assert_string_equal(gr_config_route(cfg, "PS.FIRE.FOREST")->match, "PS.FIRE.*");
    assert_string_equal(gr_config_route(cfg, "PS.FIRE.FOREST.X")->match, "PS.FIRE.*");
    assert_string_equal(gr_config_route(cfg, "PS.CRIME")->match, "PS.*");
    /* A prefix ends at its dot: "PS.*" is not "PS" + anything. */
    assert_string_equal(gr_config_route(cfg, "PSX.CRIME")->match, "*");
    assert_string_equal(gr_config_route(cfg, "PS")->match, "*");
    assert_string_equal(gr_config_route(cfg, "PS.FIREX")->match, "PS.*");
    assert_string_equal(gr_config_route(cfg, "SS.MASS")->match, "*");
    assert_null(gr_config_route(cfg, NULL));
    assert_null(gr_config_route(NULL, "PS.FIRE"));
    gr_config_destroy(&cfg);

    /* Without "*", a category no line matches has no route. */
    cfg = s_load_routes(f, "PS.FIRE.* = c\nPS.* = b\n");
    assert_string_equal(gr_config_route(cfg, "PS.FIRE.FOREST")->match, "PS.FIRE.*");
    assert_string_equal(gr_config_route(cfg, "PS.FIRE")->match, "PS.*");
    assert_null(gr_config_route(cfg, "SS.MASS"));
    assert_null(gr_config_route(cfg, ""));
    gr_config_destroy(&cfg);

    /* Exact lines only. */
    cfg = s_load_routes(f, "SS.MASS = a, b + c, d\n");
    assert_string_equal(gr_config_route(cfg, "SS.MASS")->match, "SS.MASS");
    assert_null(gr_config_route(cfg, "SS.MASS.X"));
    assert_null(gr_config_route(cfg, "PS.FIRE"));
    gr_config_destroy(&cfg);
}

/* task_listen needs no departments, and without them there are no routes. */
static void test_config_task_listen_alone(void **state)
{
    fixture_t *f = *state;
    s_make_key(f->dir, "node");
    s_write_at(f->dir, "cat.ini", s_good_catalogue);
    s_write_at(f->dir, "node.ini", NODE_HEAD "task_listen = ipc:///run/tasks.sock\n"
                                   "[departments]\n");
    char path[PATH_MAX + 16], err[512] = "";
    snprintf(path, sizeof path, "%s/node.ini", f->dir);
    gr_config_t *cfg = gr_config_load(path, err, sizeof err);
    if (!cfg)
        fail_msg("%s", err);
    assert_string_equal(cfg->task_listen, "ipc:///run/tasks.sock");
    assert_int_equal(cfg->n_depts, 0);
    assert_int_equal(cfg->n_routes, 0);
    assert_null(gr_config_route(cfg, "PS.FIRE"));
    assert_null(gr_config_dept(cfg, "police"));
    gr_config_destroy(&cfg);
}

/* ---- defaults ---------------------------------------------------------- */

/* Only the required keys, from a relative config path in a subdirectory:
 * the defaults apply and paths follow the config file, not the cwd. */
static void test_config_defaults_and_relative_paths(void **state)
{
    fixture_t *f = *state;
    char sub[512], cwd[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/etc", f->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    s_make_key(sub, "node");
    s_write_at(sub, "cat.ini", s_good_catalogue);
    s_write_at(sub, "v1.ini", NODE_HEAD);

    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(f->dir), 0);
    char err[512] = "";
    gr_config_t *cfg = gr_config_load("etc/v1.ini", err, sizeof err);
    assert_int_equal(chdir(cwd), 0);
    if (!cfg)
        fail_msg("%s", err);

    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "%s/var/v1", sub);
    assert_string_equal(cfg->store_path, want);
    snprintf(want, sizeof want, "%s/keys/node.sec", sub);
    assert_string_equal(cfg->secret_key_path, want);
    snprintf(want, sizeof want, "%s/cat.ini", sub);
    assert_string_equal(cfg->catalogue_path, want);
    assert_string_equal(cfg->node_id, "v1");
    assert_int_equal(cfg->tier_level, 1);
    assert_null(cfg->endpoint_file);
    assert_int_equal(cfg->max_frame, 65536);
    assert_int_equal(cfg->map_size, (size_t)64 << 20);
    assert_int_equal(cfg->map_max, (size_t)4096 << 20);
    assert_true(cfg->replay_window == 1000000000ULL);
    assert_int_equal(cfg->batch_max, 512);
    assert_int_equal(gr_trust_count(cfg->trust), 0);
    assert_null(cfg->status_listen);
    assert_false(cfg->has_parent);
    assert_false(cfg->has_skip);
    assert_int_equal(cfg->n_children, 0);
    assert_null(cfg->children);
    for (int sev = 1; sev <= 3; sev++) {
        assert_true(cfg->deadlines.accept_within_ms[sev] == 0);
        assert_true(cfg->deadlines.resolve_within_ms[sev] == 0);
        assert_true(cfg->task_deadlines.claim_within_ms[sev] == 0);
        assert_true(cfg->task_deadlines.complete_within_ms[sev] == 0);
    }
    assert_null(cfg->task_listen);
    assert_int_equal(cfg->n_depts, 0);
    assert_null(cfg->depts);
    assert_int_equal(cfg->n_routes, 0);
    assert_null(cfg->routes);
    assert_null(gr_config_route(cfg, "PS.FIRE"));
    assert_int_equal(cfg->supervision.max_returns, 2);
    assert_true(cfg->supervision.feedback_within_ms == 24ull * 3600 * 1000);
    assert_true(cfg->merge.window_ms == 0);  /* no [merge]: no candidates */
    assert_int_equal(cfg->assessment.accept, 20);
    assert_int_equal(cfg->assessment.resolve, 30);
    assert_int_equal(cfg->assessment.first_time, 15);
    assert_int_equal(cfg->assessment.feedback, 15);
    assert_int_equal(cfg->assessment.overdue, 20);
    gr_config_destroy(&cfg);
}

static void test_config_assessment(void **state)
{
    fixture_t *f = *state;
    s_make_key(f->dir, "node");
    s_write_at(f->dir, "cat.ini", s_good_catalogue);
    s_write_at(f->dir, "v1.ini", NODE_HEAD "[assessment]\naccept = 0\nfeedback = 100\n");
    char path[PATH_MAX + 16], err[512] = "";
    snprintf(path, sizeof path, "%s/v1.ini", f->dir);
    gr_config_t *cfg = gr_config_load(path, err, sizeof err);
    if (!cfg)
        fail_msg("%s", err);
    assert_int_equal(cfg->assessment.accept, 0);
    assert_int_equal(cfg->assessment.feedback, 100);
    assert_int_equal(cfg->assessment.resolve, 30);  /* the default, not given */
    gr_config_destroy(&cfg);
}

/* [confidential] and data_key: names per confidential category, a line
 * for a category the catalogue does not mark confidential, an unknown
 * one, a duplicate, none named, and a data key file others may read. */
static void test_config_confidential(void **state)
{
    fixture_t *f = *state;
    s_make_key(f->dir, "node");
    char cat[2048];
    snprintf(cat, sizeof cat, "%s[SS.KEY]\nclass = s\nsubclass = s\nname = key person\n"
             "confidential = yes\n", s_good_catalogue);
    s_write_at(f->dir, "cat.ini", cat);
    s_write_at(f->dir, "v1.ini", NODE_HEAD "[confidential]\nSS.KEY = chen, wu\n");
    char path[PATH_MAX + 16], err[1024] = "";
    snprintf(path, sizeof path, "%s/v1.ini", f->dir);
    gr_config_t *cfg = gr_config_load(path, err, sizeof err);
    if (!cfg)
        fail_msg("%s", err);
    assert_true(gr_confidential_config_names(&cfg->confidential, "SS.KEY", "wu"));
    assert_false(gr_confidential_config_names(&cfg->confidential, "SS.KEY", "li"));
    assert_false(gr_confidential_config_names(&cfg->confidential, "PS.FIRE", "chen"));
    assert_true(gr_catalogue_find(cfg->catalogue, "SS.KEY")->confidential);
    assert_false(gr_catalogue_find(cfg->catalogue, "PS.FIRE")->confidential);
    gr_config_destroy(&cfg);
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"[confidential]\nPS.FIRE = chen\n", "v1.ini:9: confidential: PS.FIRE: the catalogue "
                                               "does not mark it confidential = yes"},
        {"[confidential]\nXX.NONE = chen\n", "v1.ini:9: confidential: XX.NONE: not a category"},
        {"[confidential]\nSS.KEY = chen\nSS.KEY = wu\n", "duplicate key 'SS.KEY'"},
        {"[confidential]\nSS.KEY = ,\n", "name at least one operator"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text, NODE_HEAD "%s", bad[i].text);
        s_write_at(f->dir, "v1.ini", text);
        cfg = gr_config_load(path, err, sizeof err);
        assert_null(cfg);
        if (!strstr(err, bad[i].want))
            fail_msg("case %zu: want '%s', got '%s'", i, bad[i].want, err);
    }
    char dk[PATH_MAX + 16];
    snprintf(dk, sizeof dk, "%s/node.data", f->dir);
    assert_int_equal(gr_datakey_create_file(dk, err, sizeof err), 0);
    assert_int_equal(chmod(dk, 0640), 0);
    s_write_at(f->dir, "v1.ini", NODE_HEAD "data_key = node.data\n");
    cfg = gr_config_load(path, err, sizeof err);
    assert_null(cfg);
    if (!strstr(err, "v1.ini:8: ") || !strstr(err, "accessible by group or others (mode 640)"))
        fail_msg("data key 0640: %s", err);
    assert_int_equal(chmod(dk, 0600), 0);
    cfg = gr_config_load(path, err, sizeof err);
    if (!cfg)
        fail_msg("%s", err);
    assert_int_equal(gr_datakey_current(cfg->datakey), 1);
    gr_config_destroy(&cfg);
}

/* [merge]: the section alone turns candidates on with the defaults; its
 * keys tune them; window = 0 turns them off again. */
static void test_config_merge(void **state)
{
    fixture_t *f = *state;
    s_make_key(f->dir, "node");
    s_write_at(f->dir, "cat.ini", s_good_catalogue);
    const struct {
        const char *section;
        uint64_t window_ms;
        double distance_m;
    } cases[] = {
        {"[merge]\n", 2ull * 3600 * 1000, 300.0},
        {"[merge]\nwindow = 30min\ndistance = 1km\n", 30ull * 60 * 1000, 1000.0},
        {"[merge]\ndistance = 0m\n", 2ull * 3600 * 1000, 0.0},
        {"[merge]\nwindow = 0\n", 0, 300.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text, NODE_HEAD "%s", cases[i].section);
        s_write_at(f->dir, "v1.ini", text);
        char path[PATH_MAX + 16], err[512] = "";
        snprintf(path, sizeof path, "%s/v1.ini", f->dir);
        gr_config_t *cfg = gr_config_load(path, err, sizeof err);
        if (!cfg)
            fail_msg("%s: %s", cases[i].section, err);
        assert_true(cfg->merge.window_ms == cases[i].window_ms);
        assert_true(cfg->merge.distance_m == cases[i].distance_m);
        gr_config_destroy(&cfg);
    }
}

static void test_config_supervision(void **state)
{
    fixture_t *f = *state;
    s_make_key(f->dir, "node");
    s_write_at(f->dir, "cat.ini", s_good_catalogue);
    s_write_at(f->dir, "v1.ini", NODE_HEAD "[supervision]\nmax_returns = 0\nfeedback_within = 3h\n");
    char path[PATH_MAX + 16], err[512] = "";
    snprintf(path, sizeof path, "%s/v1.ini", f->dir);
    gr_config_t *cfg = gr_config_load(path, err, sizeof err);
    if (!cfg)
        fail_msg("%s", err);
    assert_int_equal(cfg->supervision.max_returns, 0);
    assert_true(cfg->supervision.feedback_within_ms == 3ull * 3600 * 1000);
    gr_config_destroy(&cfg);
}

/* In the source tree the example has no key: it must parse every line and
 * stop exactly at the secret key file it documents. */
static gr_config_t *s_load_daily(const fixture_t *f, const char *text)
{
    s_write_at(f->dir, "d1.ini", text);
    char path[PATH_MAX + 16], err[512] = "";
    snprintf(path, sizeof path, "%s/d1.ini", f->dir);
    gr_config_t *cfg = gr_config_load(path, err, sizeof err);
    if (!cfg)
        fail_msg("%s", err);
    return cfg;
}

static void test_config_daily(void **state)
{
    fixture_t *f = *state;
    s_make_key(f->dir, "node");
    s_write_at(f->dir, "cat.ini", s_good_catalogue);
    /* No [daily]: nothing owed, the defaults kept. */
    gr_config_t *cfg = s_load_daily(f, NODE_HEAD);
    assert_false(cfg->daily.enabled);
    assert_int_equal(cfg->daily.due_min, 18 * 60);
    assert_string_equal(cfg->daily.category, "DAILY.SAFE");
    assert_int_equal(cfg->daily.mode, GR_DAILY_UNITS_REPORTERS);
    gr_config_destroy(&cfg);
    /* A zone name, a unit list of [reporters] names. */
    cfg = s_load_daily(f, NODE_HEAD "[daily]\ndue = 17:30\ntimezone = Asia/Shanghai\n"
                          "units = zhang , li\n[reporters]\nzhang = " HEX1 "\nli = " HEX2 "\n"
                          "wang = " HEX3 "\n");
    assert_true(cfg->daily.enabled);
    assert_int_equal(cfg->daily.due_min, 17 * 60 + 30);
    assert_false(cfg->daily.fixed);
    assert_string_equal(cfg->daily.zone, "Asia/Shanghai");
    assert_int_equal(cfg->daily.mode, GR_DAILY_UNITS_LIST);
    assert_int_equal(cfg->daily.n_units, 2);
    assert_string_equal(cfg->daily.units[0], "zhang");
    assert_string_equal(cfg->daily.units[1], "li");
    gr_config_destroy(&cfg);
    /* A fixed offset; the node as one unit; another zero-report item. */
    cfg = s_load_daily(f, NODE_HEAD "[daily]\ntimezone = UTC+8\nunits = node\n"
                          "category = SV.REQUEST\n");
    assert_true(cfg->daily.fixed);
    assert_int_equal(cfg->daily.offset_min, 480);
    assert_int_equal(cfg->daily.mode, GR_DAILY_UNITS_NODE);
    assert_string_equal(cfg->daily.category, "SV.REQUEST");
    gr_config_destroy(&cfg);
    cfg = s_load_daily(f, NODE_HEAD "[daily]\nunits = none\n");
    assert_true(cfg->daily.enabled);
    assert_int_equal(cfg->daily.mode, GR_DAILY_UNITS_NONE);
    gr_config_destroy(&cfg);
}

static void test_example_village_in_tree(void **state)
{
    (void)state;
    char err[1024] = "";
    gr_config_t *cfg = gr_config_load(EXAMPLE_VILLAGE, err, sizeof err);
    if (cfg) {
        gr_config_destroy(&cfg);
        skip();     /* someone generated examples/keys/village-01.sec */
    }
    s_assert_error(err, EXAMPLE_VILLAGE, s_line_of(EXAMPLE_VILLAGE, "secret_key ="),
                   "keys/village-01.sec", "example");
}

/* Copied next to a freshly made key, the example loads as it stands. */
static void test_example_village_copy(void **state)
{
    fixture_t *f = *state;
    char path[PATH_MAX + 32], err[1024] = "";
    snprintf(path, sizeof path, "%s/catalogue.ini", f->dir);
    s_copy(EXAMPLE_CATALOGUE, path);
    snprintf(path, sizeof path, "%s/village.ini", f->dir);
    s_copy(EXAMPLE_VILLAGE, path);
    gr_keypair_t kp = s_make_key(f->dir, "village-01");

    gr_config_t *cfg = gr_config_load(path, err, sizeof err);
    if (!cfg)
        fail_msg("%s", err);
    assert_string_equal(cfg->node_id, "village-01");
    assert_int_equal(cfg->tier_level, 1);
    assert_string_equal(cfg->listen, "tcp://127.0.0.1:7001");
    assert_null(cfg->endpoint_file);
    /* The example promises to show the defaults. */
    assert_int_equal(cfg->max_frame, 65536);
    assert_int_equal(cfg->map_size, (size_t)64 << 20);
    assert_int_equal(cfg->map_max, (size_t)4096 << 20);
    assert_true(cfg->replay_window == 1000000000ULL);
    assert_int_equal(cfg->batch_max, 512);
    assert_memory_equal(cfg->keys.pk, kp.pk, sizeof kp.pk);
    assert_int_equal(gr_trust_count(cfg->trust), 1);
    assert_int_equal(gr_catalogue_count(cfg->catalogue), 49);
    gr_config_destroy(&cfg);
}

/* In the source tree the township example has no keys: it must parse every
 * line before the first key file it names and stop exactly there. */
static void test_example_township_in_tree(void **state)
{
    (void)state;
    char err[1024] = "";
    gr_config_t *cfg = gr_config_load(EXAMPLE_TOWNSHIP, err, sizeof err);
    if (cfg) {
        gr_config_destroy(&cfg);
        skip();     /* someone generated the keys under examples/keys/ */
    }
    s_assert_error(err, EXAMPLE_TOWNSHIP, s_line_of(EXAMPLE_TOWNSHIP, "key = @keys/"),
                   "keys/district-01.pub", "example");
}

/* Copied next to the keys its header says to make, the township example
 * loads as it stands, departments and routing table included. */
static void test_example_township_copy(void **state)
{
    static const char *const names[] = {
        "district-01", "village-01", "village-02", "police", "safety", "traffic",
        "market", "justice", "governance", "civil", "urban", "office",
    };
    fixture_t *f = *state;
    char path[PATH_MAX + 32], err[1024] = "";
    snprintf(path, sizeof path, "%s/catalogue.ini", f->dir);
    s_copy(EXAMPLE_CATALOGUE, path);
    snprintf(path, sizeof path, "%s/township.ini", f->dir);
    s_copy(EXAMPLE_TOWNSHIP, path);
    gr_keypair_t kp = s_make_key(f->dir, "township-01");
    gr_keypair_t police = {0};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        gr_keypair_t k = s_make_key(f->dir, names[i]);
        if (strcmp(names[i], "police") == 0)
            police = k;
    }

    gr_config_t *cfg = gr_config_load(path, err, sizeof err);
    if (!cfg)
        fail_msg("%s", err);
    assert_string_equal(cfg->node_id, "township-01");
    assert_int_equal(cfg->tier_level, 2);
    assert_memory_equal(cfg->keys.pk, kp.pk, sizeof kp.pk);
    assert_non_null(cfg->status_listen);
    assert_non_null(cfg->task_listen);
    assert_true(cfg->has_parent);
    assert_false(cfg->has_skip);
    assert_int_equal(cfg->n_children, 2);
    assert_int_equal(cfg->n_depts, 9);
    /* One reporter, the parent, two villages, nine departments. */
    assert_int_equal(gr_trust_count(cfg->trust), 13);
    const gr_dept_config_t *d = gr_config_dept_by_key(cfg, police.pk);
    assert_non_null(d);
    assert_string_equal(d->code, "police");
    assert_string_equal(d->name, "派出所 police station");
    assert_int_equal(gr_trust_find(cfg->trust, police.pk)->role, GR_ROLE_DEPARTMENT);
    for (int sev = 1; sev <= 3; sev++) {
        assert_true(cfg->task_deadlines.claim_within_ms[sev] > 0);
        assert_true(cfg->task_deadlines.complete_within_ms[sev] >
                    cfg->task_deadlines.claim_within_ms[sev]);
    }

    /* Every category of the example catalogue reaches a department. */
    for (size_t i = 0; i < gr_catalogue_count(cfg->catalogue); i++)
        assert_non_null(gr_config_route(cfg, gr_catalogue_at(cfg->catalogue, i)->code));
    const gr_route_config_t *r = gr_config_route(cfg, "PS.FIRE");
    assert_string_equal(r->match, "PS.FIRE");
    assert_string_equal(r->candidates[0], "safety");
    assert_int_equal(r->n_co, 1);
    assert_string_equal(r->co[0], "police");
    assert_string_equal(gr_config_route(cfg, "PS.EPIDEMIC")->match, "PS.*");
    assert_string_equal(gr_config_route(cfg, "DAILY.SAFE")->match, "*");
    gr_config_destroy(&cfg);
}

/* ---- bad configs ------------------------------------------------------- */

/* BAD_FIFO replaces ROWDIR/extra (a key, the catalogue, node.ini itself)
 * with a FIFO nobody writes to: the load must refuse it, not wait. BAD_RO_DIR
 * makes ROWDIR/extra a directory nobody may write in (skipped as root). */
enum { BAD_FILE, BAD_MISSING, BAD_DIR, BAD_UNREADABLE, BAD_FIFO, BAD_RO_DIR };

typedef struct {
    const char *label;
    const char *config;     /* written to ROWDIR/node.ini */
    size_t config_len;      /* 0: strlen(config) */
    const char *catalogue;  /* written to ROWDIR/cat.ini; NULL: the good one */
    int kind;               /* how node.ini is broken beyond its content */
    mode_t key_mode;        /* of keys/node.sec; 0: as saved (0600) */
    bool error_in_catalogue;/* the message names cat.ini, not node.ini */
    int line;               /* expected line; 0: a message without a line */
    const char *want;       /* expected substring */
} bad_t;

/* A row that needs one more file in its directory. */
typedef struct {
    bad_t row;
    const char *extra;      /* BAD_FIFO, BAD_RO_DIR: the path; BAD_FILE: a file to write */
    const char *extra_text; /* BAD_FILE: the text of ROWDIR/extra */
} bad_file_t;

static const char s_garbage[] = "\x7f" "ELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                                "\x03\x00\x3e\x00\x01\x00\x00\x00\xff\xfe\n[node]\n";

#define S_NUL_CONFIG "[node]\nid = v\0x\n"


/* 64 hex digits that are no usable key: all zeros, the identity point
 * (small order), a point of order 8, and HEX1 negated (its last byte's top
 * bit flipped: a valid key, with HEX1's Curve25519 form). */
#define HEX_ZERO "0000000000000000000000000000000000000000000000000000000000000000"
#define HEX_IDENTITY "0100000000000000000000000000000000000000000000000000000000000000"
#define HEX_ORDER8 "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"
#define HEX1_NEGATED "fbdce6f9691df9a5fe0336089bc0683569850351a90626b43043e1d74020cea9"

/* NODE_HEAD without its store line: [node] on line 1, store on line 7. */
#define NODE_HEAD_NO_STORE                                                     \
    "[node]\n"                                                                 \
    "id = v1\n"                                                                \
    "tier = village\n"                                                         \
    "listen = tcp://127.0.0.1:7001\n"                                          \
    "secret_key = keys/node.sec\n"                                             \
    "catalogue = cat.ini\n"

/* NODE_HEAD, then [departments] on line 8 with police, safety and fire on
 * lines 9-11: rows append from line 12. */
#define DEPT_HEAD                                                              \
    NODE_HEAD                                                                  \
    "[departments]\n"                                                          \
    "police = " HEX1 ", 派出所\n"                                              \
    "safety = " HEX2 "\n"                                                      \
    "fire = " HEX3 "\n"

/* DEPT_HEAD, then [dispatch] on line 12: entries from line 13. */
#define DISPATCH_HEAD DEPT_HEAD "[dispatch]\n"

static const bad_t s_bad[] = {
    { "unknown key", NODE_HEAD "max_frmae = 2048\n", 0, NULL, BAD_FILE, 0, false, 8,
      "unknown key 'max_frmae' in [node]" },
    { "unknown section", NODE_HEAD "[reporter]\nli = 00\n", 0, NULL, BAD_FILE, 0, false, 8,
      "unknown section [reporter]" },
    { "key before any section", "id = v1\n" NODE_HEAD, 0, NULL, BAD_FILE, 0, false, 1,
      "outside any section" },
    { "missing required key",
      "[node]\nid = v1\ntier = village\nlisten = tcp://127.0.0.1:1\n"
      "secret_key = keys/node.sec\ncatalogue = cat.ini\n", 0, NULL, BAD_FILE, 0, false, 0,
      "missing required key 'store' in [node]" },
    { "no [node] at all", "; nothing\n", 0, NULL, BAD_FILE, 0, false, 0,
      "missing required key 'id' in [node]" },
    { "bad number", NODE_HEAD "max_frame = 64k\n", 0, NULL, BAD_FILE, 0, false, 8,
      "max_frame = 64k: not a number" },
    { "negative number", NODE_HEAD "replay_window = -1\n", 0, NULL, BAD_FILE, 0, false, 8,
      "replay_window = -1: not a number" },
    { "number too big for 64 bits", NODE_HEAD "replay_window = 18446744073709551616\n", 0,
      NULL, BAD_FILE, 0, false, 8, "not a number" },
    { "out of range", NODE_HEAD "max_frame = 12\n", 0, NULL, BAD_FILE, 0, false, 8,
      "max_frame = 12: must be between 1024 and 16777216" },
    { "batch_max zero", NODE_HEAD "batch_max = 0\n", 0, NULL, BAD_FILE, 0, false, 8,
      "batch_max = 0: must be between 1 and 65536" },
    { "map max below map size", NODE_HEAD "map_max_mb = 32\n", 0, NULL, BAD_FILE, 0, false, 8,
      "map_max_mb = 32: must be at least map_size_mb (64)" },
    { "map size above default max", NODE_HEAD "map_size_mb = 8192\n", 0, NULL, BAD_FILE, 0,
      false, 8, "map_size_mb = 8192: must not exceed map_max_mb (4096" },
    { "bad id", "[node]\nid = village 01\n", 0, NULL, BAD_FILE, 0, false, 2,
      "id = village 01: must be" },
    { "bad tier", "[node]\nid = v1\ntier = hamlet\n", 0, NULL, BAD_FILE, 0, false, 3,
      "tier = hamlet: not a tier" },
    { "bad listen scheme", "[node]\nlisten = http://127.0.0.1:80\n", 0, NULL, BAD_FILE, 0,
      false, 2, "must start with tcp://, ipc:// or inproc://" },
    { "listen without port", "[node]\nlisten = tcp://127.0.0.1\n", 0, NULL, BAD_FILE, 0,
      false, 2, "expected tcp://HOST:PORT" },
    { "listen bad port", "[node]\nlisten = tcp://127.0.0.1:70000\n", 0, NULL, BAD_FILE, 0,
      false, 2, "port must be 1-65535" },
    { "empty path", "[node]\nstore =\n", 0, NULL, BAD_FILE, 0, false, 2,
      "store: must not be empty" },
    { "bad hex key", NODE_HEAD "[reporters]\nzhang = 1234abcd\n", 0, NULL, BAD_FILE, 0,
      false, 9, "zhang = 1234abcd: not a public key" },
    { "missing @key file", NODE_HEAD "[reporters]\nli = @keys/li.pub\n", 0, NULL, BAD_FILE, 0,
      false, 9, "keys/li.pub: No such file" },
    { "same reporter twice", NODE_HEAD "[reporters]\nli = @keys/node.pub\nli = @keys/node.pub\n",
      0, NULL, BAD_FILE, 0, false, 10, "duplicate name 'li' in [reporters] (first at line 9)" },
    { "one key, two names", NODE_HEAD "[reporters]\nli = @keys/node.pub\nwang = @keys/node.pub\n",
      0, NULL, BAD_FILE, 0, false, 10, "wang: same key as 'li'" },
    { "status_listen bad", NODE_HEAD "status_listen = udp://x:1\n", 0, NULL, BAD_FILE, 0,
      false, 8, "status_listen = udp://x:1: must start with tcp://" },
    { "parent unknown key", NODE_HEAD "[parent]\nid = t1\nport = 7000\n", 0, NULL, BAD_FILE, 0,
      false, 10, "unknown key 'port' in [parent]" },
    { "parent missing key", NODE_HEAD "\n[parent]\nid = t1\nendpoint = tcp://127.0.0.1:7000\n",
      0, NULL, BAD_FILE, 0, false, 9, "[parent] missing required key 'key'" },
    { "parent endpoint with *", NODE_HEAD "[parent]\nendpoint = tcp://127.0.0.1:*\n", 0, NULL,
      BAD_FILE, 0, false, 9, "endpoint = tcp://127.0.0.1:*: port must be 1-65535" },
    { "parent bad id", NODE_HEAD "[parent]\nid = town/1\n", 0, NULL, BAD_FILE, 0, false, 9,
      "id = town/1: must be 1-63 characters" },
    { "status_endpoint in [skip]", NODE_HEAD "[skip]\nstatus_endpoint = tcp://h:1\n", 0, NULL,
      BAD_FILE, 0, false, 9, "unknown key 'status_endpoint' in [skip]" },
    { "parent same key as child",
      NODE_HEAD "[children]\nv-a = @keys/node.pub\n[parent]\nid = t1\n"
      "endpoint = ipc://t1\nkey = @keys/node.pub\n", 0, NULL, BAD_FILE, 0, false, 13,
      "t1: same key as 'v-a'" },
    { "child bad name", NODE_HEAD "[children]\nvillage a = @keys/node.pub\n", 0, NULL, BAD_FILE,
      0, false, 9, "child name = village a: must be 1-63 characters" },
    { "child duplicate", NODE_HEAD "[children]\nva = @keys/node.pub\nva = @keys/node.pub\n", 0,
      NULL, BAD_FILE, 0, false, 10, "duplicate name 'va' in [children] (first at line 9)" },
    { "child bad key", NODE_HEAD "[children]\nva = xyz\n", 0, NULL, BAD_FILE, 0, false, 9,
      "va = xyz: not a public key" },
    { "child named parent", NODE_HEAD "[children]\nparent = @keys/node.pub\n", 0, NULL, BAD_FILE,
      0, false, 9, "a child may not be called 'parent'" },
    { "child named skip", NODE_HEAD "[children]\nskip = @keys/node.pub\n", 0, NULL, BAD_FILE,
      0, false, 9, "a child may not be called 'skip'" },
    { "merge unknown key", NODE_HEAD "[merge]\nradius = 3m\n", 0, NULL, BAD_FILE, 0, false, 9,
      "unknown key 'radius' in [merge] (expected window or distance)" },
    { "merge distance without unit", NODE_HEAD "[merge]\ndistance = 300\n", 0, NULL, BAD_FILE,
      0, false, 9, "distance = 300: not a distance" },
    { "merge distance fraction", NODE_HEAD "[merge]\ndistance = 0.5km\n", 0, NULL, BAD_FILE,
      0, false, 9, "distance = 0.5km: not a distance" },
    { "merge distance too far", NODE_HEAD "[merge]\ndistance = 101km\n", 0, NULL, BAD_FILE,
      0, false, 9, "at most 100km" },
    { "merge window without unit", NODE_HEAD "[merge]\nwindow = 2\n", 0, NULL, BAD_FILE, 0,
      false, 9, "window = 2: not a duration" },
    { "merge duplicate", NODE_HEAD "[merge]\nwindow = 1h\nwindow = 2h\n", 0, NULL, BAD_FILE, 0,
      false, 10, "duplicate key 'window' in [merge] (first at line 9)" },
    { "assessment unknown key", NODE_HEAD "[assessment]\nspeed = 3\n", 0, NULL, BAD_FILE,
      0, false, 9, "unknown key 'speed' in [assessment]" },
    { "assessment weight too big", NODE_HEAD "[assessment]\naccept = 101\n", 0, NULL, BAD_FILE,
      0, false, 9, "must be between 0 and 100" },
    { "assessment duplicate", NODE_HEAD "[assessment]\noverdue = 1\noverdue = 2\n", 0, NULL,
      BAD_FILE, 0, false, 10, "duplicate key 'overdue' in [assessment]" },
    { "supervision unknown key", NODE_HEAD "[supervision]\nmax_urges = 3\n", 0, NULL, BAD_FILE,
      0, false, 9, "unknown key 'max_urges' in [supervision]" },
    { "supervision returns not a number", NODE_HEAD "[supervision]\nmax_returns = two\n", 0,
      NULL, BAD_FILE, 0, false, 9, "max_returns = two: not a number" },
    { "supervision returns too many", NODE_HEAD "[supervision]\nmax_returns = 1001\n", 0, NULL,
      BAD_FILE, 0, false, 9, "must be between 0 and 1000" },
    { "supervision feedback without unit", NODE_HEAD "[supervision]\nfeedback_within = 24\n",
      0, NULL, BAD_FILE, 0, false, 9, "feedback_within = 24: not a duration" },
    { "supervision duplicate", NODE_HEAD "[supervision]\nmax_returns = 1\nmax_returns = 2\n", 0,
      NULL, BAD_FILE, 0, false, 10, "duplicate key 'max_returns' in [supervision]" },
    { "daily unknown key", NODE_HEAD "[daily]\ndeadline = 18:00\n", 0, NULL, BAD_FILE, 0,
      false, 9, "unknown key 'deadline' in [daily]" },
    { "daily due past midnight", NODE_HEAD "[daily]\ndue = 24:00\n", 0, NULL, BAD_FILE, 0,
      false, 9, "due = 24:00: not a local time (expected HH:MM" },
    { "daily due in words", NODE_HEAD "[daily]\ndue = 6pm\n", 0, NULL, BAD_FILE, 0, false, 9,
      "due = 6pm: not a local time" },
    { "daily due duplicate", NODE_HEAD "[daily]\ndue = 18:00\ndue = 19:00\n", 0, NULL,
      BAD_FILE, 0, false, 10, "duplicate key 'due' in [daily] (first at line 9)" },
    { "daily unknown zone", NODE_HEAD "[daily]\ntimezone = Mars/Olympus_Mons\n", 0, NULL,
      BAD_FILE, 0, false, 9, "timezone = Mars/Olympus_Mons: neither a time zone" },
    { "daily zone path", NODE_HEAD "[daily]\ntimezone = ../../etc/passwd\n", 0, NULL, BAD_FILE,
      0, false, 9, "neither a time zone of the tz database" },
    { "daily offset too far", NODE_HEAD "[daily]\ntimezone = +15:00\n", 0, NULL, BAD_FILE, 0,
      false, 9, "timezone = +15:00: neither" },
    { "daily units trailing comma", NODE_HEAD "[daily]\nunits = zhang,\n", 0, NULL, BAD_FILE,
      0, false, 9, "units = zhang,: the list ends with ','" },
    { "daily units twice", NODE_HEAD "[daily]\nunits = zhang, zhang\n", 0, NULL, BAD_FILE, 0,
      false, 9, "a name is listed twice" },
    { "daily units empty name", NODE_HEAD "[daily]\nunits = zhang, , li\n", 0, NULL, BAD_FILE,
      0, false, 9, "an empty name in the list" },
    { "daily unit not a reporter", NODE_HEAD "[daily]\nunits = zhang, li\n[reporters]\n"
      "zhang = " HEX1 "\n", 0, NULL, BAD_FILE, 0, false, 9,
      "units: 'li' is not a key in [reporters]" },
    { "daily unknown category", NODE_HEAD "[daily]\ncategory = DAILY.NONE\n", 0, NULL,
      BAD_FILE, 0, false, 9, "category = DAILY.NONE: not in the catalogue" },
    { "daily default category missing", NODE_HEAD "[daily]\ndue = 18:00\n", 0,
      "[PS.FIRE]\nclass = a\nsubclass = b\nname = c\n", BAD_FILE, 0, false, 8,
      "category = DAILY.SAFE: not in the catalogue" },
    { "daily twice", NODE_HEAD "[daily]\n[daily]\n", 0, NULL, BAD_FILE, 0, false, 9,
      "section [daily] appears twice (first at line 8)" },
    { "deadline without unit", NODE_HEAD "[deadlines]\naccept.routine = 500\n", 0, NULL,
      BAD_FILE, 0, false, 9, "accept.routine = 500: not a duration" },
    { "deadline bad unit", NODE_HEAD "[deadlines]\nresolve.urgent = 2 weeks\n", 0, NULL,
      BAD_FILE, 0, false, 9, "resolve.urgent = 2 weeks: not a duration" },
    { "deadline overflow", NODE_HEAD "[deadlines]\nresolve.urgent = 18446744073709551615d\n", 0,
      NULL, BAD_FILE, 0, false, 9, "not a duration" },
    { "deadline unknown severity", NODE_HEAD "[deadlines]\naccept.critical = 1h\n", 0, NULL,
      BAD_FILE, 0, false, 9, "unknown key 'accept.critical' in [deadlines]" },
    { "deadline duplicate", NODE_HEAD "[deadlines]\naccept.urgent = 1h\naccept.urgent = 2h\n",
      0, NULL, BAD_FILE, 0, false, 10, "duplicate key 'accept.urgent' in [deadlines]" },
    { "duplicate key", NODE_HEAD "id = v2\n", 0, NULL, BAD_FILE, 0, false, 8,
      "duplicate key 'id' in [node] (first at line 2)" },
    { "duplicate section", NODE_HEAD "[node]\n", 0, NULL, BAD_FILE, 0, false, 8,
      "section [node] appears twice (first at line 1)" },
    { "secret key mode 0644", NODE_HEAD, 0, NULL, BAD_FILE, 0644, false, 6,
      "group or others (mode 644)" },
    { "missing secret key", "[node]\nid = v1\ntier = 1\nstore = s\nlisten = ipc://x\n"
      "secret_key = keys/none.sec\ncatalogue = cat.ini\n", 0, NULL, BAD_FILE, 0, false, 6,
      "keys/none.sec: No such file" },
    { "missing catalogue", "[node]\nid = v1\ntier = 1\nstore = s\nlisten = inproc://x\n"
      "secret_key = keys/node.sec\ncatalogue = nope.ini\n", 0, NULL, BAD_FILE, 0, false, 7,
      "nope.ini: No such file" },
    { "catalogue duplicate code", NODE_HEAD, 0,
      "[A]\nclass = c\nsubclass = s\nname = n\n\n[A]\n", BAD_FILE, 0, true, 6,
      "duplicate category code [A] (first at line 1)" },
    { "catalogue bad severity", NODE_HEAD, 0,
      "[A]\nclass = c\nsubclass = s\nname = n\nseverity = high\n", BAD_FILE, 0, true, 5,
      "severity = high: must be routine, urgent or extra-urgent" },
    { "catalogue bad tier", NODE_HEAD, 0,
      "[A]\nclass = c\nauthority.urgent = hamlet\n", BAD_FILE, 0, true, 3,
      "authority.urgent = hamlet: not a tier" },
    { "catalogue bad direct", NODE_HEAD, 0, "[A]\ndirect = maybe\n", BAD_FILE, 0, true, 2,
      "direct = maybe: must be yes or no" },
    { "catalogue item missing name", NODE_HEAD, 0,
      "[A]\nclass = c\nsubclass = s\nname = n\n[B]\nclass = c\nsubclass = s\n", BAD_FILE, 0,
      true, 5, "[B] missing required key 'name'" },
    { "catalogue unknown key", NODE_HEAD, 0, "[A]\nclass = c\nseverty = urgent\n", BAD_FILE, 0,
      true, 3, "unknown key 'severty' in [A]" },
    { "catalogue duplicate key", NODE_HEAD, 0, "[A]\nname = a\nname = b\n", BAD_FILE, 0,
      true, 3, "duplicate key 'name' in [A] (first at line 2)" },
    { "catalogue bad code", NODE_HEAD, 0, "[PS FIRE]\nname = a\n", BAD_FILE, 0, true, 1,
      "a category code may hold only" },
    { "catalogue key outside item", NODE_HEAD, 0, "name = a\n", BAD_FILE, 0, true, 1,
      "outside any category" },
    { "empty catalogue", NODE_HEAD, 0, "; nothing yet\n\n", BAD_FILE, 0, true, 0,
      "no categories" },
    { "task_listen bad", NODE_HEAD "task_listen = tcp://127.0.0.1\n", 0, NULL, BAD_FILE, 0,
      false, 8, "task_listen = tcp://127.0.0.1: expected tcp://HOST:PORT" },
    { "department bad hex key", NODE_HEAD "[departments]\npolice = 12ab, 派出所\n", 0, NULL,
      BAD_FILE, 0, false, 9, "police = 12ab: not a public key" },
    { "department missing key file", NODE_HEAD "[departments]\npolice = @keys/police.pub\n", 0,
      NULL, BAD_FILE, 0, false, 9, "keys/police.pub: No such file" },
    { "department key with text after it", NODE_HEAD "[departments]\npolice = " HEX1 " x\n", 0,
      NULL, BAD_FILE, 0, false, 9, "not a public key" },
    { "department empty display name", NODE_HEAD "[departments]\npolice = " HEX1 ",\n", 0,
      NULL, BAD_FILE, 0, false, 9, "empty display name after ','" },
    { "department display name too long", NODE_HEAD "[departments]\npolice = @keys/node.pub, "
      "0123456789012345678901234567890123456789012345678901234567890123456789"
      "0123456789012345678901234567890123456789012345678901234567890123456789\n", 0, NULL,
      BAD_FILE, 0, false, 9, "police: display name too long (at most 127 bytes)" },
    { "department bad code", NODE_HEAD "[departments]\npolice station = " HEX1 "\n", 0, NULL,
      BAD_FILE, 0, false, 9, "department code = police station: must be 1-63 characters" },
    { "department code too long", NODE_HEAD "[departments]\n"
      "p123456789012345678901234567890123456789012345678901234567890123 = " HEX1 "\n", 0, NULL,
      BAD_FILE, 0, false, 9, "code 'p1234567890123456789012345678901234567890123456789012345"
      "67890123' too long (at most 63 bytes)" },
    { "department duplicate code", DEPT_HEAD "police = " HEX4 "\n", 0, NULL, BAD_FILE, 0,
      false, 12, "duplicate code 'police' in [departments] (first at line 9)" },
    { "department key already a reporter",
      NODE_HEAD "[reporters]\nli = " HEX1 "\n[departments]\npolice = " HEX1 ", 派出所\n", 0, NULL,
      BAD_FILE, 0, false, 11,
      "police: same key as 'li', already trusted as a person (reporter, operator, viewer "
      "or auditor) (one key, one role)" },
    { "department key already a child",
      NODE_HEAD "[children]\nv-a = @keys/node.pub\n[departments]\npolice = @keys/node.pub\n", 0,
      NULL, BAD_FILE, 0, false, 11, "police: same key as 'v-a', already trusted as a node" },
    { "reporter key already a department",
      NODE_HEAD "[departments]\npolice = " HEX1 "\n[reporters]\nli = " HEX1 "\n", 0, NULL,
      BAD_FILE, 0, false, 11, "li: same key as 'police', already trusted as a department" },
    { "role: one name, two keys",
      NODE_HEAD "[reporters]\nli = " HEX1 "\n[operators]\nli = " HEX2 "\n", 0, NULL, BAD_FILE, 0,
      false, 11, "'li' names another key in [reporters] (line 9): one name, one key" },
    { "role: one key, two names",
      NODE_HEAD "[reporters]\nli = " HEX1 "\n[viewers]\nwang = " HEX1 "\n", 0, NULL, BAD_FILE, 0,
      false, 11, "wang: same key as 'li': a key with several roles keeps one name in every "
      "section that lists it" },
    { "role: twice in one section",
      NODE_HEAD "[operators]\nli = " HEX1 "\nli = " HEX1 "\n", 0, NULL, BAD_FILE, 0, false, 10,
      "duplicate name 'li' in [operators] (first at line 9)" },
    { "role: a department's key as an operator",
      NODE_HEAD "[departments]\npolice = " HEX1 "\n[operators]\nli = " HEX1 "\n", 0, NULL,
      BAD_FILE, 0, false, 11, "li: same key as 'police', already trusted as a department" },
    { "reporter: not a grid after the key",
      NODE_HEAD "[reporters]\nli = " HEX1 ", G-05\n", 0, NULL, BAD_FILE, 0, false, 9,
      "li = " HEX1 ", G-05: after the key only 'grid CODE' may follow" },
    { "reporter: a grid code with a space",
      NODE_HEAD "[reporters]\nli = " HEX1 ", grid G 05\n", 0, NULL, BAD_FILE, 0, false, 9,
      "grid" },
    { "role: auditors twice",
      NODE_HEAD "[auditors]\n[auditors]\n", 0, NULL, BAD_FILE, 0, false, 9,
      "section [auditors] appears twice (first at line 8)" },
    { "two departments, one key", DEPT_HEAD "traffic = " HEX2 "\n", 0, NULL, BAD_FILE, 0, false,
      12, "traffic: same key as 'safety'" },
    { "dispatch unknown department", DISPATCH_HEAD "PS.FIRE = fire + polcie\n", 0, NULL,
      BAD_FILE, 0, false, 13, "PS.FIRE: unknown department 'polcie' (not in [departments])" },
    { "dispatch unknown department, [departments] after it",
      NODE_HEAD "[dispatch]\nSS.MASS = police\nPS.* = police, traffic\n"
      "[departments]\npolice = " HEX1 "\n", 0, NULL, BAD_FILE, 0, false, 10,
      "PS.*: unknown department 'traffic'" },
    { "dispatch unknown category", DISPATCH_HEAD "PS.FIRE = fire\nPS.FIER = fire\n", 0, NULL,
      BAD_FILE, 0, false, 14, "unknown category 'PS.FIER': not in the catalogue" },
    { "dispatch unknown class prefix", DISPATCH_HEAD "XX.* = police\n", 0, NULL, BAD_FILE, 0,
      false, 13, "XX.*: no category in the catalogue starts with 'XX.'" },
    { "dispatch prefix not ending at a dot", DISPATCH_HEAD "PS.FI.* = fire\n", 0, NULL,
      BAD_FILE, 0, false, 13, "PS.FI.*: no category in the catalogue starts with 'PS.FI.'" },
    { "dispatch prefix without a dot", DISPATCH_HEAD "PS* = fire\n", 0, NULL, BAD_FILE, 0,
      false, 13, "PS*: '*' stands alone (any category) or ends a class prefix" },
    { "dispatch '*' inside a match", DISPATCH_HEAD "*.FIRE = fire\n", 0, NULL, BAD_FILE, 0,
      false, 13, "'*' stands alone" },
    { "dispatch duplicate match", DISPATCH_HEAD "PS.* = fire\nSS.MASS = police\nPS.* = safety\n",
      0, NULL, BAD_FILE, 0, false, 15, "duplicate match 'PS.*' in [dispatch] (first at line 13)" },
    { "dispatch candidate twice", DISPATCH_HEAD "PS.FIRE = fire, safety, fire\n", 0, NULL,
      BAD_FILE, 0, false, 13, "PS.FIRE: department 'fire' listed twice" },
    { "dispatch co-handler twice", DISPATCH_HEAD "PS.FIRE = fire + police, police\n", 0, NULL,
      BAD_FILE, 0, false, 13, "PS.FIRE: department 'police' listed twice" },
    { "dispatch co-handler also a candidate", DISPATCH_HEAD "PS.FIRE = fire, safety + safety\n",
      0, NULL, BAD_FILE, 0, false, 13,
      "PS.FIRE: department 'safety' is both a candidate and a co-handler" },
    { "dispatch too many candidates", DISPATCH_HEAD "* = a1, a2, a3, a4, a5, a6, a7, a8, a9\n",
      0, NULL, BAD_FILE, 0, false, 13, "*: more than 8 candidate departments" },
    { "dispatch too many co-handlers",
      DISPATCH_HEAD "* = fire + a1, a2, a3, a4, a5, a6, a7, a8, a9\n", 0, NULL, BAD_FILE, 0,
      false, 13, "*: more than 8 co-handling departments" },
    { "dispatch no lead", DISPATCH_HEAD "PS.FIRE = + police\n", 0, NULL, BAD_FILE, 0, false, 13,
      "PS.FIRE = + police: no lead department" },
    { "dispatch empty value", DISPATCH_HEAD "PS.FIRE =\n", 0, NULL, BAD_FILE, 0, false, 13,
      "no lead department" },
    { "dispatch empty candidate", DISPATCH_HEAD "PS.FIRE = fire,, safety\n", 0, NULL, BAD_FILE,
      0, false, 13, "PS.FIRE: empty candidate department" },
    { "dispatch nothing after '+'", DISPATCH_HEAD "PS.FIRE = fire +\n", 0, NULL, BAD_FILE, 0,
      false, 13, "no co-handler after '+'" },
    { "dispatch two '+'", DISPATCH_HEAD "PS.FIRE = fire + police + safety\n", 0, NULL, BAD_FILE,
      0, false, 13, "more than one '+'" },
    { "dispatch bad code", DISPATCH_HEAD "PS.FIRE = fire brigade\n", 0, NULL, BAD_FILE, 0, false,
      13, "department code = fire brigade: must be" },
    { "dispatch without departments", NODE_HEAD "\n[dispatch]\n* = police\n", 0, NULL, BAD_FILE,
      0, false, 9, "[dispatch] without [departments]" },
    { "claim deadline without unit", NODE_HEAD "[deadlines]\nclaim.urgent = 10\n", 0, NULL,
      BAD_FILE, 0, false, 9, "claim.urgent = 10: not a duration" },
    { "complete deadline unknown severity", NODE_HEAD "[deadlines]\ncomplete.critical = 1h\n", 0,
      NULL, BAD_FILE, 0, false, 9, "unknown key 'complete.critical' in [deadlines]" },
    { "deadline kind without severity", NODE_HEAD "[deadlines]\nclaim = 1h\n", 0, NULL,
      BAD_FILE, 0, false, 9, "unknown key 'claim' in [deadlines]" },
    { "deadline kind prefix", NODE_HEAD "[deadlines]\nclaims.urgent = 1h\n", 0, NULL, BAD_FILE,
      0, false, 9, "unknown key 'claims.urgent' in [deadlines]" },
    { "claim deadline duplicate",
      NODE_HEAD "[deadlines]\nclaim.routine = 1h\naccept.routine = 1h\nclaim.routine = 2h\n", 0,
      NULL, BAD_FILE, 0, false, 11, "duplicate key 'claim.routine' in [deadlines] (first at "
      "line 9)" },
    { "reporter key file a directory", NODE_HEAD "[reporters]\nli = @keys\n", 0, NULL, BAD_FILE,
      0, false, 9, "keys: not a regular file (a directory)" },
    { "own key as a reporter", NODE_HEAD "[reporters]\nzhang = " HEX1 "\nli = @keys/node.pub\n",
      0, NULL, BAD_FILE, 0, false, 10,
      "li: this is the node's own public key (secret_key at line 6)" },
    { "own key as a child", NODE_HEAD "[children]\nva = @keys/node.pub\n", 0, NULL, BAD_FILE, 0,
      false, 9, "va: this is the node's own public key" },
    { "own key as the parent",
      NODE_HEAD "[parent]\nkey = @keys/node.pub\nid = t1\nendpoint = ipc://t1\n", 0, NULL,
      BAD_FILE, 0, false, 9, "t1: this is the node's own public key" },
    { "own key as the skip node",
      NODE_HEAD "[skip]\nid = c1\nendpoint = ipc://c1\nkey = @keys/node.pub\n", 0, NULL,
      BAD_FILE, 0, false, 11, "c1: this is the node's own public key" },
    { "own key as a department", NODE_HEAD "[departments]\npolice = @keys/node.pub, 派出所\n", 0,
      NULL, BAD_FILE, 0, false, 9, "police: this is the node's own public key" },
    { "all-zero reporter key", NODE_HEAD "[reporters]\nli = " HEX_ZERO "\n", 0, NULL, BAD_FILE,
      0, false, 9, "li = " HEX_ZERO ": not a usable Ed25519 public key" },
    { "identity point as a child key", NODE_HEAD "[children]\nva = " HEX_IDENTITY "\n", 0, NULL,
      BAD_FILE, 0, false, 9, "not a usable Ed25519 public key" },
    { "order-8 point as the parent key",
      NODE_HEAD "[parent]\nid = t1\nendpoint = ipc://t1\nkey = " HEX_ORDER8 "\n", 0, NULL,
      BAD_FILE, 0, false, 11, "not a usable Ed25519 public key" },
    { "no point at all as a department key", NODE_HEAD "[departments]\npolice = "
      "1111111111111111111111111111111111111111111111111111111111111111\n", 0, NULL, BAD_FILE, 0,
      false, 9, "not a usable Ed25519 public key" },
    { "a key and its negation", NODE_HEAD "[reporters]\nli = " HEX1 "\n[children]\nva = "
      HEX1_NEGATED "\n", 0, NULL, BAD_FILE, 0, false, 11,
      "va: this key is the negation of 'li' (line 9): CURVE cannot tell them apart" },
    { "endpoint_file in a missing directory", NODE_HEAD "endpoint_file = nodir/v1.endpoint\n", 0,
      NULL, BAD_FILE, 0, false, 8, "nodir: No such file or directory" },
    { "endpoint_file under a file", NODE_HEAD "endpoint_file = cat.ini/v1.endpoint\n", 0, NULL,
      BAD_FILE, 0, false, 8, "cat.ini is a regular file, not a directory" },
    { "endpoint_file a directory", NODE_HEAD "endpoint_file = keys\n", 0, NULL, BAD_FILE, 0,
      false, 8, "keys is a directory, not a regular file" },
    { "store a file", NODE_HEAD_NO_STORE "store = cat.ini\n", 0, NULL, BAD_FILE, 0, false, 7,
      "store: " },
    { "store a file: the reason", NODE_HEAD_NO_STORE "store = cat.ini\n", 0, NULL, BAD_FILE, 0,
      false, 7, "cat.ini is a regular file, not a directory" },
    { "store under a file", NODE_HEAD_NO_STORE "store = cat.ini/db/v1\n", 0, NULL, BAD_FILE, 0,
      false, 7, "store: " },
    { "parent with this node's id",
      NODE_HEAD "[parent]\nid = v1\nendpoint = ipc://t1\nkey = " HEX1 "\n", 0, NULL, BAD_FILE, 0,
      false, 9, "id = v1: the [parent] has the same id as this node (line 2)" },
    { "skip node with the parent's id",
      NODE_HEAD "[parent]\nid = t1\nendpoint = ipc://t1\nkey = " HEX1 "\n"
      "[skip]\nid = t1\nendpoint = ipc://c1\nkey = " HEX2 "\n", 0, NULL, BAD_FILE, 0, false, 13,
      "the [skip] node has the same id as the [parent] (line 9)" },
    { "child with this node's id", NODE_HEAD "[children]\nva = " HEX2 "\nv1 = " HEX1 "\n", 0,
      NULL, BAD_FILE, 0, false, 10, "child 'v1' has the same id as this node (line 2)" },
    { "child with the parent's id",
      NODE_HEAD "[children]\nt1 = " HEX2 "\n[parent]\nid = t1\nendpoint = ipc://t1\nkey = " HEX1
      "\n", 0, NULL, BAD_FILE, 0, false, 9, "child 't1' has the same id as the [parent] (line 11)" },
    { "status_listen on the listen endpoint", NODE_HEAD "status_listen = tcp://127.0.0.1:7001\n",
      0, NULL, BAD_FILE, 0, false, 8,
      "status_listen = tcp://127.0.0.1:7001: the same endpoint as listen (line 5)" },
    { "task_listen on the status endpoint", NODE_HEAD "status_listen = ipc://s\n"
      "task_listen = ipc://s\n", 0, NULL, BAD_FILE, 0, false, 9,
      "task_listen = ipc://s: the same endpoint as status_listen (line 8)" },
    { "reporter name with a space", NODE_HEAD "[reporters]\nzhang san = " HEX1 "\n", 0, NULL,
      BAD_FILE, 0, false, 9, "reporter name = zhang san: must be 1-63 bytes" },
    { "reporter name with punctuation", NODE_HEAD "[reporters]\nli/ops = " HEX1 "\n", 0, NULL,
      BAD_FILE, 0, false, 9, "reporter name = li/ops: must be" },
    { "unreadable config: missing", NULL, 0, NULL, BAD_MISSING, 0, false, 0,
      "cannot open: No such file" },
    { "unreadable config: a directory", NULL, 0, NULL, BAD_DIR, 0, false, 0,
      "cannot read: not a regular file (a directory)" },
    { "unreadable config: mode 000", NODE_HEAD, 0, NULL, BAD_UNREADABLE, 0, false, 0,
      "cannot open: Permission denied" },
    { "binary garbage", s_garbage, sizeof s_garbage - 1, NULL, BAD_FILE, 0, false, 1,
      "not a text file (control character)" },
    { "NUL byte", S_NUL_CONFIG, sizeof S_NUL_CONFIG - 1, NULL, BAD_FILE, 0, false, 2,
      "not a text file (NUL byte)" },
    { "Latin-1, not UTF-8", "[node]\nid = caf\xe9\n", 0, NULL, BAD_FILE, 0, false, 2,
      "not a text file (invalid UTF-8)" },
    { "indented key", NODE_HEAD "  max_frame = 2048\n", 0, NULL, BAD_FILE, 0, false, 8,
      "indented line" },
    { "';' glued to a value", NODE_HEAD "max_frame = 2048;big\n", 0, NULL, BAD_FILE, 0, false,
      8, "';' inside the value" },
    { "'#' after a value", "[node]\nstore = var # data\n", 0, NULL, BAD_FILE, 0, false, 2,
      "'#' comment after a value" },
    { "line without '='", NODE_HEAD "max_frame\n", 0, NULL, BAD_FILE, 0, false, 8,
      "expected '[section]' or 'key = value'" },
    { "unclosed section", "[node\n", 0, NULL, BAD_FILE, 0, false, 1, "without a closing ']'" },
    { "text after section", "[node] x\n", 0, NULL, BAD_FILE, 0, false, 1, "text after ']'" },
    { "line too long", "[node]\nstore = "
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "\n", 0, NULL, BAD_FILE, 0, false, 2, "line too long" },
};

/* Rows with a FIFO, a read-only directory or one more file. A FIFO nobody
 * writes to must be refused at once: the unfixed loader waited on open(). */
static const bad_file_t s_bad_files[] = {
    { { "unreadable config: a FIFO", NULL, 0, NULL, BAD_FIFO, 0, false, 0,
        "cannot read: not a regular file (a FIFO)" }, "node.ini", NULL },
    { { "secret key a FIFO", NODE_HEAD, 0, NULL, BAD_FIFO, 0, false, 6,
        "keys/node.sec: not a regular file (a FIFO)" }, "keys/node.sec", NULL },
    { { "reporter key file a FIFO", NODE_HEAD "[reporters]\nli = @keys/li.pub\n", 0, NULL,
        BAD_FIFO, 0, false, 9, "li = @keys/li.pub: " }, "keys/li.pub", NULL },
    { { "reporter key file a FIFO: the reason", NODE_HEAD "[reporters]\nli = @keys/li.pub\n", 0,
        NULL, BAD_FIFO, 0, false, 9, "keys/li.pub: not a regular file (a FIFO)" },
      "keys/li.pub", NULL },
    { { "parent key file a FIFO",
        NODE_HEAD "[parent]\nid = t1\nendpoint = ipc://t1\nkey = @keys/t1.pub\n", 0, NULL,
        BAD_FIFO, 0, false, 11, "not a regular file (a FIFO)" }, "keys/t1.pub", NULL },
    { { "department key file a FIFO", NODE_HEAD "[departments]\npolice = @keys/p.pub, 派出所\n",
        0, NULL, BAD_FIFO, 0, false, 9, "not a regular file (a FIFO)" }, "keys/p.pub", NULL },
    { { "catalogue a FIFO", NODE_HEAD, 0, NULL, BAD_FIFO, 0, false, 7, "catalogue: " },
      "cat.ini", NULL },
    { { "catalogue a FIFO: the reason", NODE_HEAD, 0, NULL, BAD_FIFO, 0, false, 7,
        "cat.ini is a FIFO, not a regular file" }, "cat.ini", NULL },
    { { "all-zero key in a key file", NODE_HEAD "[reporters]\nli = @keys/li.pub\n", 0, NULL,
        BAD_FILE, 0, false, 9, "li = @keys/li.pub: not a usable Ed25519 public key" },
      "keys/li.pub", HEX_ZERO "\n" },
    { { "endpoint_file in a read-only directory", NODE_HEAD "endpoint_file = ro/v1.endpoint\n",
        0, NULL, BAD_RO_DIR, 0, false, 8, "endpoint_file: cannot write in directory" }, "ro",
      NULL },
};

/* Writes row b into ROWDIR (index i), loads it, and checks the error. */
static void s_check_bad(const fixture_t *f, const char *group, size_t i, const bad_t *b,
                        const char *extra_name, const char *extra_text)
{
    if ((b->kind == BAD_UNREADABLE || b->kind == BAD_RO_DIR) && geteuid() == 0)
        return;     /* root reads mode 000 files and writes in 0500 dirs */
    char dir[512], cfg_path[768], cat_path[768], extra[768];
    snprintf(dir, sizeof dir, "%s/%s%zu", f->dir, group, i);
    assert_int_equal(mkdir(dir, 0700), 0);
    s_make_key(dir, "node");
    snprintf(cfg_path, sizeof cfg_path, "%s/node.ini", dir);
    snprintf(cat_path, sizeof cat_path, "%s/cat.ini", dir);
    s_write(cat_path, b->catalogue ? b->catalogue : s_good_catalogue,
            strlen(b->catalogue ? b->catalogue : s_good_catalogue));
    if (b->key_mode) {
        char key[1024];
        snprintf(key, sizeof key, "%s/keys/node.sec", dir);
        assert_int_equal(chmod(key, b->key_mode), 0);
    }
    if (b->kind == BAD_DIR)
        assert_int_equal(mkdir(cfg_path, 0700), 0);
    else if (b->config)
        s_write(cfg_path, b->config, b->config_len ? b->config_len : strlen(b->config));
    if (b->kind == BAD_UNREADABLE)
        assert_int_equal(chmod(cfg_path, 0), 0);
    snprintf(extra, sizeof extra, "%s/%s", dir, extra_name ? extra_name : "");
    if (b->kind == BAD_FIFO) {
        assert_true(unlink(extra) == 0 || errno == ENOENT);
        assert_int_equal(mkfifo(extra, 0600), 0);
    } else if (b->kind == BAD_RO_DIR) {
        assert_int_equal(mkdir(extra, 0500), 0);
    } else if (extra_name) {
        s_write(extra, extra_text, strlen(extra_text));
    }

    /* A load that waits on a FIFO would hang the whole run: the alarm ends
     * it instead, and the test fails. */
    alarm(10);
    char err[1024] = "";
    gr_config_t *cfg = gr_config_load(cfg_path, err, sizeof err);
    alarm(0);
    if (cfg) {
        gr_config_destroy(&cfg);
        fail_msg("%s: loaded, but should have failed", b->label);
    }
    s_assert_error(err, b->error_in_catalogue ? cat_path : cfg_path, b->line, b->want,
                   b->label);
}

static void test_config_bad_table(void **state)
{
    fixture_t *f = *state;
    for (size_t i = 0; i < sizeof s_bad / sizeof s_bad[0]; i++)
        s_check_bad(f, "row", i, &s_bad[i], NULL, NULL);
    for (size_t i = 0; i < sizeof s_bad_files / sizeof s_bad_files[0]; i++)
        s_check_bad(f, "file", i, &s_bad_files[i].row, s_bad_files[i].extra,
                    s_bad_files[i].extra_text);
}

/* Both loaders write errors into small buffers and tolerate none at all. */
static void test_error_buffers(void **state)
{
    fixture_t *f = *state;
    char path[PATH_MAX + 16], err[16];
    snprintf(path, sizeof path, "%s/none.ini", f->dir);
    assert_null(gr_config_load(path, err, sizeof err));
    assert_int_equal(strlen(err), sizeof err - 1);
    assert_null(gr_config_load(path, NULL, 0));
    assert_null(gr_catalogue_load(path, err, sizeof err));
    assert_null(gr_catalogue_load(path, NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tier_parse),
        cmocka_unit_test_setup_teardown(test_catalogue_good, setup, teardown),
        cmocka_unit_test(test_example_catalogue),
        cmocka_unit_test_setup_teardown(test_config_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_departments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_route_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_task_listen_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_assessment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_supervision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_daily, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_confidential, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_defaults_and_relative_paths, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_example_village_in_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_example_village_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_example_township_in_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_example_township_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_bad_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_roles_legacy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_buffers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
