/* The config checks that need the whole file, run once the parse is done:
 * required keys, peers, ids and endpoints against each other, the files the
 * config names, the node's own key against the trusted ones, the routing
 * table against the catalogue. Each error names the config line concerned.
 * Contract in config_internal.h. */
#include "config_internal.h"

#include <errno.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

/* In the order an operator would write them, so the first one reported
 * missing is the first one to add. */
static const int s_required[] = { N_ID, N_TIER, N_STORE, N_LISTEN, N_SECRET_KEY, N_CATALOGUE };

/* [parent] and [skip] need id, endpoint and key; their keys are trusted as
 * nodes once the whole section is known (the id may follow the key). */
static int s_finish_peer(gr_cfg_load_t *load, int section, char *err, size_t errlen)
{
    int which = section == S_PARENT ? 0 : 1;
    if (load->section_line[section] == 0)
        return 0;
    gr_peer_config_t *peer = which == 0 ? &load->cfg->parent : &load->cfg->skip;
    static const int required[] = { P_ID, P_ENDPOINT, P_KEY };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (load->peer_line[which][required[i]] == 0) {
            snprintf(err, errlen, "%s:%d: [%s] missing required key '%s'", load->path,
                     load->section_line[section], gr_cfg_section_name(section),
                     gr_cfg_peer_keys[required[i]]);
            return GR_ECONFIG;
        }
    }
    char msg[512] = "";
    int rc = gr_cfg_trust(load, peer->pk, peer->id, GR_ROLE_NODE, GR_ACCESS_NODE,
                          load->peer_line[which][P_KEY], msg, sizeof msg);
    if (rc != 0) {
        snprintf(err, errlen, "%s:%d: %s", load->path, load->peer_line[which][P_KEY], msg);
        return rc;
    }
    if (which == 0)
        load->cfg->has_parent = true;
    else
        load->cfg->has_skip = true;
    return 0;
}

/* Whether a [dispatch] match can ever apply: an exact code must be in the
 * catalogue, a class prefix "PS.*" must begin some code with "PS.". A line
 * that matches nothing is a typo that would silently route nothing. */
static bool s_match_known(const gr_catalogue_t *cat, const char *match)
{
    size_t len = strlen(match);
    if (strcmp(match, "*") == 0)
        return true;
    if (match[len - 1] != '*')
        return gr_catalogue_find(cat, match) != NULL;
    for (size_t i = 0; i < gr_catalogue_count(cat); i++)
        if (strncmp(gr_catalogue_at(cat, i)->code, match, len - 1) == 0)
            return true;
    return false;
}

/* The [dispatch] checks that need the whole file and the catalogue: every
 * code a configured department, every match some category. Reported at the
 * [dispatch] line concerned. */
static int s_finish_dispatch(gr_cfg_load_t *load, char *err, size_t errlen)
{
    const gr_config_t *cfg = load->cfg;
    if (load->section_line[S_DISPATCH] != 0 && load->section_line[S_DEPARTMENTS] == 0) {
        snprintf(err, errlen, "%s:%d: [dispatch] without [departments]: routes name "
                 "departments, list them there", load->path, load->section_line[S_DISPATCH]);
        return GR_ECONFIG;
    }
    for (size_t i = 0; i < cfg->n_routes; i++) {
        const gr_route_config_t *r = &cfg->routes[i];
        if (!s_match_known(cfg->catalogue, r->match)) {
            size_t len = strlen(r->match);
            if (r->match[len - 1] == '*')
                snprintf(err, errlen, "%s:%d: %s: no category in the catalogue starts with "
                         "'%.*s'", load->path, load->route_line[i], r->match, (int)len - 1,
                         r->match);
            else
                snprintf(err, errlen, "%s:%d: unknown category '%s': not in the catalogue",
                         load->path, load->route_line[i], r->match);
            return GR_ECONFIG;
        }
        for (size_t j = 0; j < r->n_candidates + r->n_co; j++) {
            const char *code = j < r->n_candidates ? r->candidates[j]
                                                   : r->co[j - r->n_candidates];
            if (!gr_config_dept(cfg, code)) {
                snprintf(err, errlen, "%s:%d: %s: unknown department '%s' (not in "
                         "[departments])", load->path, load->route_line[i], r->match, code);
                return GR_ECONFIG;
            }
        }
    }
    return 0;
}

/* The name of a file's type, for refusing what is not a regular file or a
 * directory. */
static const char *s_kind(mode_t mode)
{
    return S_ISREG(mode)    ? "a regular file"
           : S_ISDIR(mode)  ? "a directory"
           : S_ISFIFO(mode) ? "a FIFO"
           : S_ISSOCK(mode) ? "a socket"
                            : "a device";
}

/* The node's own key in its trust list would make every message it signs
 * acceptable to itself as a reporter's, a child's or a department's; a node
 * never talks to itself, so the line is a copy-paste slip. Reported at that
 * line. */
static int s_check_own_key(gr_cfg_load_t *load, char *err, size_t errlen)
{
    for (size_t i = 0; i < load->n_trusted; i++) {
        const gr_cfg_trusted_t *t = &load->trusted[i];
        if (sodium_memcmp(t->pk, load->cfg->keys.pk, GR_PUBLIC_KEY_BYTES) != 0)
            continue;
        snprintf(err, errlen, "%s:%d: %s: this is the node's own public key (secret_key at "
                 "line %d); a node does not trust its own key, give this role its own key "
                 "pair (gridctl keygen)", load->path, t->line, t->name,
                 load->key_line[N_SECRET_KEY]);
        return GR_ECONFIG;
    }
    return 0;
}

static int s_curve_compare(const void *a, const void *b)
{
    const gr_cfg_trusted_t *x = a, *y = b;
    int c = memcmp(x->curve, y->curve, sizeof x->curve);
    return c != 0 ? c : x->line - y->line;
}

/* An Ed25519 key and its negation (the same 64 hex digits but for the top
 * bit of the last byte) have one Curve25519 form: CURVE admits them as one
 * key, so the daemon's ZAP handler would keep only one of the two and the
 * other would be refused with no hint why. gr_cfg_public_key() has checked that
 * each converts. */
static int s_check_curve_unique(gr_cfg_load_t *load, char *err, size_t errlen)
{
    size_t n = load->n_trusted;
    gr_cfg_trusted_t *sorted = malloc((n + 1) * sizeof *sorted);
    if (!sorted) {
        snprintf(err, errlen, "%s: out of memory", load->path);
        return GR_ENOMEM;
    }
    if (n > 0)
        memcpy(sorted, load->trusted, n * sizeof *sorted);    /* NULL when none */
    /* The node's own key as line 0: CURVE serves it on every socket. */
    memset(&sorted[n], 0, sizeof sorted[n]);
    memcpy(sorted[n].pk, load->cfg->keys.pk, GR_PUBLIC_KEY_BYTES);
    int rc = 0;
    for (size_t i = 0; i <= n && rc == 0; i++)
        if (crypto_sign_ed25519_pk_to_curve25519(sorted[i].curve, sorted[i].pk) != 0)
            rc = GR_ECONFIG; /* gr_cfg_public_key() and gr_keys_load_secret() prevent it */
    if (rc != 0) {
        snprintf(err, errlen, "%s: a key has no Curve25519 form", load->path);
        free(sorted);
        return rc;
    }
    qsort(sorted, n + 1, sizeof *sorted, s_curve_compare);
    for (size_t i = 1; i <= n; i++) {
        const gr_cfg_trusted_t *first = &sorted[i - 1], *second = &sorted[i];
        if (memcmp(first->curve, second->curve, sizeof first->curve) != 0)
            continue;
        if (first->line == 0)
            snprintf(err, errlen, "%s:%d: %s: this key is the negation of the node's own key "
                     "(secret_key at line %d): CURVE cannot tell them apart", load->path,
                     second->line, second->name, load->key_line[N_SECRET_KEY]);
        else
            snprintf(err, errlen, "%s:%d: %s: this key is the negation of '%s' (line %d): "
                     "CURVE cannot tell them apart (a mistyped last digit?)", load->path,
                     second->line, second->name, first->name, first->line);
        rc = GR_ECONFIG;
        break;
    }
    free(sorted);
    return rc;
}

/* Node ids name the links, the outboxes and the views of a grid: this
 * node, its parent, its skip-level node and its children must all differ,
 * or a case meant for one would be addressed to another. */
static int s_check_node_ids(gr_cfg_load_t *load, char *err, size_t errlen)
{
    const gr_config_t *cfg = load->cfg;
    typedef struct {
        const char *what;
        const char *id;
        int line;
    } s_id_t;
    s_id_t ids[3];
    size_t n = 0;
    ids[n++] = (s_id_t){ "this node", cfg->node_id, load->key_line[N_ID] };
    if (load->section_line[S_PARENT] != 0)
        ids[n++] = (s_id_t){ "the [parent]", cfg->parent.id, load->peer_line[0][P_ID] };
    if (load->section_line[S_SKIP] != 0)
        ids[n++] = (s_id_t){ "the [skip] node", cfg->skip.id, load->peer_line[1][P_ID] };
    for (size_t i = 1; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(ids[i].id, ids[j].id) != 0)
                continue;
            snprintf(err, errlen, "%s:%d: id = %s: %s has the same id as %s (line %d); "
                     "every node of a grid has its own id", load->path, ids[i].line,
                     ids[i].id, ids[i].what, ids[j].what, ids[j].line);
            return GR_ECONFIG;
        }
    }
    for (size_t c = 0; c < load->name_count; c++) {
        const gr_cfg_name_t *child = &load->names[c];
        if (child->section != S_CHILDREN)
            continue;
        for (size_t j = 0; j < n; j++) {
            if (strcmp(child->name, ids[j].id) != 0)
                continue;
            snprintf(err, errlen, "%s:%d: child '%s' has the same id as %s (line %d); "
                     "every node of a grid has its own id", load->path, child->line,
                     child->name, ids[j].what, ids[j].line);
            return GR_ECONFIG;
        }
    }
    return 0;
}

/* Two of this node's sockets cannot bind one address: the second bind would
 * fail at start-up. Port '*' picks a new port each time. */
static int s_check_binds_distinct(gr_cfg_load_t *load, char *err, size_t errlen)
{
    const gr_config_t *cfg = load->cfg;
    const struct {
        const char *key;
        const char *ep;
        int line;
    } binds[] = {
        { "listen", cfg->listen, load->key_line[N_LISTEN] },
        { "status_listen", cfg->status_listen, load->key_line[N_STATUS_LISTEN] },
        { "task_listen", cfg->task_listen, load->key_line[N_TASK_LISTEN] },
    };
    size_t n = sizeof binds / sizeof binds[0];
    for (size_t i = 1; i < n; i++) {
        if (!binds[i].ep)
            continue;
        size_t len = strlen(binds[i].ep);
        if (len >= 2 && strcmp(binds[i].ep + len - 2, ":*") == 0)
            continue;
        for (size_t j = 0; j < i; j++) {
            if (!binds[j].ep || strcmp(binds[i].ep, binds[j].ep) != 0)
                continue;
            snprintf(err, errlen, "%s:%d: %s = %s: the same endpoint as %s (line %d); each "
                     "socket needs its own", load->path, binds[i].line, binds[i].key,
                     binds[i].ep, binds[j].key, binds[j].line);
            return GR_ECONFIG;
        }
    }
    return 0;
}

/* The daemon writes the endpoint file as PATH.tmp, then renames it over
 * PATH, after binding: a directory that is missing or read-only would stop
 * it only then, so say it now. PATH itself may not exist yet; if it does,
 * it must be a regular file (rename() cannot replace a directory, and
 * anything else there is not ours to replace). */
static int s_check_endpoint_file(gr_cfg_load_t *load, char *err, size_t errlen)
{
    const char *path = load->cfg->endpoint_file;
    int line = load->key_line[N_ENDPOINT_FILE];
    if (!path)
        return 0;
    char *copy = strdup(path);
    if (!copy) {
        snprintf(err, errlen, "%s: out of memory", load->path);
        return GR_ENOMEM;
    }
    const char *dir = dirname(copy);
    struct stat st;
    int rc = 0;
    if (stat(dir, &st) != 0) {
        snprintf(err, errlen, "%s:%d: endpoint_file: directory %s: %s", load->path, line, dir,
                 strerror(errno));
        rc = GR_ECONFIG;
    } else if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s:%d: endpoint_file: %s is %s, not a directory", load->path,
                 line, dir, s_kind(st.st_mode));
        rc = GR_ECONFIG;
    } else if (access(dir, W_OK | X_OK) != 0) {
        snprintf(err, errlen, "%s:%d: endpoint_file: cannot write in directory %s: %s",
                 load->path, line, dir, strerror(errno));
        rc = GR_ECONFIG;
    } else if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s:%d: endpoint_file: %s is %s, not a regular file", load->path,
                 line, path, s_kind(st.st_mode));
        rc = GR_ECONFIG;
    }
    free(copy);
    return rc;
}

/* The store is created with mkdir -p at start-up: it must be a directory if
 * it exists, and otherwise its nearest existing ancestor must be one. */
static int s_check_store(gr_cfg_load_t *load, char *err, size_t errlen)
{
    char *path = strdup(load->cfg->store_path);
    if (!path) {
        snprintf(err, errlen, "%s: out of memory", load->path);
        return GR_ENOMEM;
    }
    int line = load->key_line[N_STORE];
    int rc = 0;
    struct stat st;
    for (;;) {
        if (stat(path, &st) == 0) {
            if (!S_ISDIR(st.st_mode)) {
                snprintf(err, errlen, "%s:%d: store: %s is %s, not a directory", load->path,
                         line, path, s_kind(st.st_mode));
                rc = GR_ECONFIG;
            }
            break;
        }
        if (errno != ENOENT) {
            snprintf(err, errlen, "%s:%d: store: %s: %s", load->path, line, path,
                     strerror(errno));
            rc = GR_ECONFIG;
            break;
        }
        char *slash = strrchr(path, '/');
        if (!slash || slash == path)
            break;              /* "/" exists: not reached in practice */
        *slash = '\0';
    }
    free(path);
    return rc;
}

/* A file the config names for reading (the catalogue): gr_ini_parse()
 * refuses anything but a regular file too, but this names the config line. */
static int s_check_readable(gr_cfg_load_t *load, const char *key, const char *path, int line,
                            char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0 || (S_ISREG(st.st_mode) && access(path, R_OK) != 0))
        snprintf(err, errlen, "%s:%d: %s: cannot read %s: %s", load->path, line, key, path,
                 strerror(errno));
    else if (!S_ISREG(st.st_mode))
        snprintf(err, errlen, "%s:%d: %s: %s is %s, not a regular file", load->path, line, key,
                 path, s_kind(st.st_mode));
    else
        return 0;
    return GR_ECONFIG;
}

/* The checks that need the whole file: required keys, the map size against
 * its maximum, the peers, the ids and endpoints against each other, then
 * the files the config points at (store, endpoint file, secret key,
 * catalogue), the node's own key against the trusted ones, then the
 * routing table against the catalogue. */
int gr_cfg_finish(gr_cfg_load_t *load, char *err, size_t errlen)
{
    gr_config_t *cfg = load->cfg;
    const char *path = load->path;
    for (size_t i = 0; i < sizeof s_required / sizeof s_required[0]; i++) {
        if (load->key_line[s_required[i]] == 0) {
            snprintf(err, errlen, "%s: missing required key '%s' in [node]", path,
                     gr_cfg_node_keys[s_required[i]]);
            return GR_ECONFIG;
        }
    }
    if (cfg->map_size > cfg->map_max) {
        if (load->key_line[N_MAP_MAX] != 0)
            snprintf(err, errlen, "%s:%d: map_max_mb = %zu: must be at least map_size_mb (%zu)",
                     path, load->key_line[N_MAP_MAX], cfg->map_max >> 20, cfg->map_size >> 20);
        else
            snprintf(err, errlen, "%s:%d: map_size_mb = %zu: must not exceed map_max_mb "
                     "(%zu, the default)", path, load->key_line[N_MAP_SIZE],
                     cfg->map_size >> 20, cfg->map_max >> 20);
        return GR_ECONFIG;
    }
    int rc = s_finish_peer(load, S_PARENT, err, errlen);
    if (rc == 0)
        rc = s_finish_peer(load, S_SKIP, err, errlen);
    if (rc == 0)
        rc = gr_cfg_finish_legacy_roles(load, err, errlen);
    if (rc == 0)
        rc = s_check_node_ids(load, err, errlen);
    if (rc == 0)
        rc = s_check_binds_distinct(load, err, errlen);
    if (rc == 0)
        rc = s_check_store(load, err, errlen);
    if (rc == 0)
        rc = s_check_endpoint_file(load, err, errlen);
    if (rc != 0)
        return rc;

    rc = gr_keys_init();
    if (rc != 0) {
        snprintf(err, errlen, "%s: cannot start libsodium", path);
        return rc;
    }
    char kerr[512] = "";
    rc = gr_keys_load_secret(&cfg->keys, cfg->secret_key_path, kerr, sizeof kerr);
    if (rc != 0) {
        snprintf(err, errlen, "%s:%d: %s", path, load->key_line[N_SECRET_KEY], kerr);
        return rc;
    }
    if (cfg->previous_key_path) {
        rc = gr_keys_load_secret(&cfg->previous_keys, cfg->previous_key_path, kerr, sizeof kerr);
        if (rc == 0 && memcmp(cfg->previous_keys.pk, cfg->keys.pk, GR_PUBLIC_KEY_BYTES) == 0) {
            snprintf(kerr, sizeof kerr, "previous_secret_key is the same key as secret_key");
            rc = GR_ECONFIG;
        }
        if (rc != 0) {
            snprintf(err, errlen, "%s:%d: %s", path, load->key_line[N_PREVIOUS_SECRET_KEY], kerr);
            return rc;
        }
        cfg->has_previous_keys = true;
    }
    if (cfg->data_key_path) {
        rc = gr_datakey_load(&cfg->datakey, cfg->data_key_path, kerr, sizeof kerr);
        if (rc != 0) {
            snprintf(err, errlen, "%s:%d: %s", path, load->key_line[N_DATA_KEY], kerr);
            return rc;
        }
    }
    rc = s_check_own_key(load, err, errlen);
    if (rc == 0)
        rc = s_check_curve_unique(load, err, errlen);
    if (rc != 0)
        return rc;

    /* A catalogue's own errors name its file and line; only a missing file
     * needs pointing back at the config line that named it. */
    rc = s_check_readable(load, "catalogue", cfg->catalogue_path, load->key_line[N_CATALOGUE],
                          err, errlen);
    if (rc != 0)
        return rc;
    cfg->catalogue = gr_catalogue_load(cfg->catalogue_path, err, errlen);
    if (!cfg->catalogue)
        return GR_ECONFIG;
    char msg[512] = "";
    int line = 0;
    if (gr_daily_config_finish(&cfg->daily, cfg->trust, cfg->catalogue, msg, sizeof msg,
                               &line) != 0) {
        snprintf(err, errlen, "%s:%d: %s", path, line ? line : load->section_line[S_DAILY], msg);
        return GR_ECONFIG;
    }
    if (gr_confidential_config_finish(&cfg->confidential, cfg->catalogue, path, err, errlen))
        return GR_ECONFIG;
    if (gr_http_config_finish(&cfg->http, msg, sizeof msg, &line) != 0) {
        snprintf(err, errlen, "%s:%d: %s", path, line, msg);
        return GR_ECONFIG;
    }
    if ((rc = s_finish_dispatch(load, err, errlen)) != 0)
        return rc;
    /* The HTTP face talks to this node as a client does, signed by the
     * node's own key on behalf of its users (Body.on_behalf): the key is
     * trusted with no roles of its own, so only what it signs for someone
     * named in [http_users] or [open311_clients] gets anywhere
     * (node/requests.c). Added after s_check_own_key(), which is about the
     * lines of the file. */
    if (cfg->http.enabled) {
        rc = gr_trust_add(cfg->trust, cfg->keys.pk, cfg->node_id, GR_ROLE_REPORTER);
        if (rc != 0) {
            snprintf(err, errlen, "%s: cannot trust the node's own key for [http]: %s", path,
                     gr_strerror(rc));
            return rc;
        }
    }
    return 0;
}
