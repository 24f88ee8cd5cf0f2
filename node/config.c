/* The config's front: the section table, the INI callback that dispatches
 * each line through it, load and reload, and the lookups of a loaded
 * config. The keys' parsing is in config_parse.c and the sections' files,
 * the checks after the parse in config_check.c (config_internal.h). */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "error.h"

static int s_daily_key(gr_cfg_load_t *load, int section, const char *key, const char *value,
                       int line, char *msg, size_t msglen)
{
    (void)section;
    return gr_daily_config_key(&load->cfg->daily, key, value, line, msg, msglen);
}

static void s_daily_open(gr_cfg_load_t *load)
{
    load->cfg->daily.enabled = true;
}

/* [http], [http_users], [open311_clients]: node/config_http.c. */
static int s_http_key(gr_cfg_load_t *load, int section, const char *key, const char *value,
                      int line, char *msg, size_t msglen)
{
    return gr_http_config_key(&load->cfg->http, (gr_http_section_t)(section - S_HTTP), key, value,
                              load->dir, line, msg, msglen);
}

static void s_http_open(gr_cfg_load_t *load, int section)
{
    /* With no key it only records the section (and [http] turns the
     * server on): it cannot fail. */
    (void)gr_http_config_key(&load->cfg->http, (gr_http_section_t)(section - S_HTTP), NULL, NULL,
                             NULL, load->section_line[section], NULL, 0);
}

static void s_http_open_http(gr_cfg_load_t *load) { s_http_open(load, S_HTTP); }
static void s_http_open_users(gr_cfg_load_t *load) { s_http_open(load, S_HTTP_USERS); }
static void s_http_open_clients(gr_cfg_load_t *load) { s_http_open(load, S_OPEN311_CLIENTS); }

/* [map]: node/config_map.c. */
static int s_map_key(gr_cfg_load_t *load, int section, const char *key, const char *value,
                     int line, char *msg, size_t msglen)
{
    (void)section;
    (void)line;
    return gr_map_config_key(&load->cfg->map, key, value, msg, msglen);
}

/* One row per section: its name, what its header does (NULL: nothing but
 * being remembered) and the handler of each of its keys. The dispatch is
 * this table; a new section is a row (and an S_ value in
 * config_internal.h). */
static const struct {
    const char *name;
    void (*open)(gr_cfg_load_t *load);
    gr_cfg_key_fn *key;
} s_table[S_COUNT] = {
    [S_NODE] = { "node", NULL, gr_cfg_node_key },
    [S_REPORTERS] = { "reporters", NULL, gr_cfg_named_key },
    [S_OPERATORS] = { "operators", NULL, gr_cfg_named_key },
    [S_VIEWERS] = { "viewers", NULL, gr_cfg_named_key },
    [S_AUDITORS] = { "auditors", NULL, gr_cfg_named_key },
    [S_PARENT] = { "parent", NULL, gr_cfg_peer_key },
    [S_SKIP] = { "skip", NULL, gr_cfg_peer_key },
    [S_CHILDREN] = { "children", NULL, gr_cfg_named_key },
    [S_DEADLINES] = { "deadlines", NULL, gr_cfg_deadline_key },
    [S_DEPARTMENTS] = { "departments", NULL, gr_cfg_named_key },
    [S_DISPATCH] = { "dispatch", NULL, gr_cfg_route_key },
    [S_SUPERVISION] = { "supervision", NULL, gr_cfg_supervision_key },
    [S_DAILY] = { "daily", s_daily_open, s_daily_key },
    /* The section turns candidates on; its keys only tune them. */
    [S_MERGE] = { "merge", gr_cfg_merge_open, gr_cfg_merge_key },
    [S_ASSESSMENT] = { "assessment", NULL, gr_cfg_assessment_key },
    [S_CONFIDENTIAL] = { "confidential", NULL, gr_cfg_confidential_key },
    [S_CONFIDENTIAL_SEAL] = { "confidential_seal", NULL, gr_cfg_confidential_key },
    [S_HTTP] = { "http", s_http_open_http, s_http_key },
    [S_HTTP_USERS] = { "http_users", s_http_open_users, s_http_key },
    [S_OPEN311_CLIENTS] = { "open311_clients", s_http_open_clients, s_http_key },
    [S_MAP] = { "map", NULL, s_map_key },
};

const char *gr_cfg_section_name(int s)
{
    return s >= 0 && s < S_COUNT ? s_table[s].name : "";
}

/* "unknown section [x] (expected [a], [b] ... or [z])", from the table. */
static int s_unknown_section(const char *section, char *msg, size_t msglen)
{
    char expected[512] = "";
    size_t len = 0;
    for (int i = 0; i < S_COUNT && len < sizeof expected; i++)
        len += (size_t)snprintf(expected + len, sizeof expected - len, "%s[%s]",
                                i == 0 ? "" : i == S_COUNT - 1 ? " or " : ", ", s_table[i].name);
    return gr_cfg_fail(msg, msglen, "unknown section [%s] (expected %s)", section, expected);
}

/* The INI reader's callback: a section header (key NULL) or one key. */
static int s_config_fn(void *user, const char *section, const char *key, const char *value,
                       int line, char *msg, size_t msglen)
{
    gr_cfg_load_t *load = user;
    int s = 0;
    while (s < S_COUNT && strcmp(s_table[s].name, section) != 0)
        s++;
    if (!key) {
        if (s == S_COUNT)
            return s_unknown_section(section, msg, msglen);
        if (load->section_line[s] != 0)
            return gr_cfg_fail(msg, msglen, "section [%s] appears twice (first at line %d)",
                               section, load->section_line[s]);
        load->section_line[s] = line;
        if (s_table[s].open)
            s_table[s].open(load);
        return 0;
    }
    if (s == S_COUNT)
        return gr_cfg_fail(msg, msglen, "%s: key outside any section (start with [node])", key);
    return s_table[s].key(load, s, key, value, line, msg, msglen);
}

/* The absolute directory of path, against which relative paths resolve:
 * absolute so that nothing changes if the daemon later changes directory. */
static char *s_config_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return NULL;
    char *dir = realpath(dirname(copy), NULL);
    int e = errno;
    free(copy);
    errno = e;
    return dir;
}

/* Frees what a load kept for its checks; the config stays. */
static void s_load_clear(gr_cfg_load_t *load)
{
    free(load->dir);
    free(load->names);
    free(load->route_line);
    free(load->trusted);
}

gr_config_t *gr_config_load(const char *path, char *err, size_t errlen)
{
    char dummy[1];
    if (!err || errlen == 0) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (!path) {
        snprintf(err, errlen, "gr_config_load: no path");
        return NULL;
    }
    gr_cfg_load_t load = { .path = path };
    load.cfg = calloc(1, sizeof *load.cfg);
    if (!load.cfg || !(load.cfg->trust = gr_trust_new())) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    load.dir = s_config_dir(path);
    if (!load.dir) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    gr_config_t *cfg = load.cfg;
    gr_cfg_defaults(cfg);
    gr_daily_config_init(&cfg->daily);
    gr_http_config_init(&cfg->http);
    gr_map_config_init(&cfg->map);

    if (!(cfg->path = strdup(path))) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    if (gr_ini_parse(path, s_config_fn, &load, err, errlen) != 0)
        goto fail;
    if (gr_cfg_finish(&load, err, errlen) != 0)
        goto fail;
    s_load_clear(&load);
    return cfg;
fail:
    s_load_clear(&load);
    gr_config_destroy(&load.cfg);
    return NULL;
}

/* Linear: a node has a handful of routes and is asked once per new case. */
const gr_route_config_t *gr_config_route(const gr_config_t *cfg, const char *category)
{
    if (!cfg || !category)
        return NULL;
    const gr_route_config_t *best = NULL, *any = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < cfg->n_routes; i++) {
        const gr_route_config_t *r = &cfg->routes[i];
        size_t len = strlen(r->match);
        if (strcmp(r->match, category) == 0)
            return r;
        if (strcmp(r->match, "*") == 0)
            any = r;
        else if (r->match[len - 1] == '*' && len - 1 > best_len &&
                 strncmp(category, r->match, len - 1) == 0) {
            /* len - 1 keeps the dot: "PS.*" matches "PS.FIRE", not "PSX". */
            best = r;
            best_len = len - 1;
        }
    }
    return best ? best : any;
}

/* Linear: departments are few, and looked up when a task is sent or a
 * department's message arrives, not in a tight loop. */
const gr_dept_config_t *gr_config_dept(const gr_config_t *cfg, const char *code)
{
    if (!cfg || !code)
        return NULL;
    for (size_t i = 0; i < cfg->n_depts; i++)
        if (strcmp(cfg->depts[i].code, code) == 0)
            return &cfg->depts[i];
    return NULL;
}

/* Linear, as gr_config_dept(); a public key is no secret, so memcmp's
 * early exit gives nothing away. */
const gr_dept_config_t *gr_config_dept_by_key(const gr_config_t *cfg,
                                              const uint8_t pk[GR_PUBLIC_KEY_BYTES])
{
    if (!cfg || !pk)
        return NULL;
    for (size_t i = 0; i < cfg->n_depts; i++)
        if (memcmp(cfg->depts[i].pk, pk, GR_PUBLIC_KEY_BYTES) == 0)
            return &cfg->depts[i];
    return NULL;
}

/* Whether every key of trust that is not a person's (nodes, departments)
 * is in other too, under the same name and role. */
static bool s_others_within(const gr_trust_t *trust, const gr_trust_t *other)
{
    for (size_t i = 0; i < gr_trust_count(trust); i++) {
        const gr_trusted_key_t *t = gr_trust_at(trust, i);
        if (t->role == GR_ROLE_REPORTER)
            continue;
        const gr_trusted_key_t *o = gr_trust_find(other, t->pk);
        if (!o || o->role != t->role || strcmp(o->name, t->name) != 0)
            return false;
    }
    return true;
}

int gr_config_reload_people(gr_config_t *cfg, gr_config_reload_t *summary, char *err,
                            size_t errlen)
{
    if (!cfg || !cfg->path || !summary)
        return GR_EINVAL;
    memset(summary, 0, sizeof *summary);
    gr_config_t *fresh = gr_config_load(cfg->path, err, errlen);
    if (!fresh)
        return GR_ECONFIG;
    if (!s_others_within(cfg->trust, fresh->trust) || !s_others_within(fresh->trust, cfg->trust)) {
        snprintf(err, errlen, "%s: [parent], [skip], [children] or [departments] changed: a "
                 "reload takes only the people's keys ([reporters], [operators], [viewers], "
                 "[auditors]); restart the node to apply the others", cfg->path);
        gr_config_destroy(&fresh);
        return GR_ECONFIG;
    }
    for (size_t i = 0; i < gr_trust_count(fresh->trust); i++) {
        const gr_trusted_key_t *t = gr_trust_at(fresh->trust, i);
        const gr_trusted_key_t *old = gr_trust_find(cfg->trust, t->pk);
        if (t->role != GR_ROLE_REPORTER)
            continue;
        const char *old_grid = gr_config_reporter_grid(cfg, t->pk);
        const char *new_grid = gr_config_reporter_grid(fresh, t->pk);
        if (!old)
            summary->added++;
        else if (old->access != t->access || strcmp(old->name, t->name) != 0 ||
                 strcmp(old_grid ? old_grid : "", new_grid ? new_grid : "") != 0)
            summary->changed++;
    }
    for (size_t i = 0; i < gr_trust_count(cfg->trust); i++) {
        const gr_trusted_key_t *t = gr_trust_at(cfg->trust, i);
        if (t->role == GR_ROLE_REPORTER && !gr_trust_find(fresh->trust, t->pk))
            summary->removed++;
    }
    gr_trust_t *old = cfg->trust;
    cfg->trust = fresh->trust;
    fresh->trust = old;
    gr_reporter_grid_t *grids = cfg->reporter_grids;
    size_t n_grids = cfg->n_reporter_grids;
    cfg->reporter_grids = fresh->reporter_grids;
    cfg->n_reporter_grids = fresh->n_reporter_grids;
    fresh->reporter_grids = grids;
    fresh->n_reporter_grids = n_grids;
    memcpy(cfg->warning, fresh->warning, sizeof cfg->warning);
    gr_config_destroy(&fresh);
    return 0;
}

const char *gr_config_reporter_grid(const gr_config_t *cfg,
                                    const uint8_t pk[GR_PUBLIC_KEY_BYTES])
{
    if (!cfg || !pk)
        return NULL;
    for (size_t i = 0; i < cfg->n_reporter_grids; i++)
        if (memcmp(cfg->reporter_grids[i].pk, pk, GR_PUBLIC_KEY_BYTES) == 0)
            return cfg->reporter_grids[i].grid;
    return NULL;
}

static void s_peer_clear(gr_peer_config_t *peer)
{
    free(peer->endpoint);
    free(peer->status_endpoint);
}

void gr_config_destroy(gr_config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gr_config_t *self = *self_p;
    free(self->path);
    free(self->store_path);
    free(self->listen);
    free(self->endpoint_file);
    free(self->secret_key_path);
    free(self->previous_key_path);
    free(self->data_key_path);
    gr_datakey_destroy(&self->datakey);
    free(self->catalogue_path);
    free(self->status_listen);
    free(self->task_listen);
    free(self->depts);
    free(self->reporter_grids);
    free(self->routes);
    gr_daily_config_clear(&self->daily);
    gr_http_config_clear(&self->http);
    gr_map_config_clear(&self->map);
    gr_confidential_config_clear(&self->confidential);
    s_peer_clear(&self->parent);
    s_peer_clear(&self->skip);
    for (size_t i = 0; i < self->n_children; i++)
        s_peer_clear(&self->children[i]);
    free(self->children);
    gr_trust_destroy(&self->trust);
    gr_catalogue_destroy(&self->catalogue);
    sodium_memzero(&self->keys, sizeof self->keys);
    free(self);
    *self_p = NULL;
}

bool gr_peer_has_key(const gr_peer_config_t *peer, const uint8_t pk[GR_PUBLIC_KEY_BYTES])
{
    return peer && (memcmp(peer->pk, pk, GR_PUBLIC_KEY_BYTES) == 0 ||
                    (peer->has_previous &&
                     memcmp(peer->previous_pk, pk, GR_PUBLIC_KEY_BYTES) == 0));
}
