/* The key handlers of [node], [parent], [skip], [deadlines],
 * [supervision], [merge], [assessment] and [dispatch], and the defaults of
 * what they set. Contracts in config_internal.h. */
#include "config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

const char *const gr_cfg_node_keys[N_COUNT] = {
    "id", "tier", "store", "listen", "endpoint_file", "secret_key", "catalogue",
    "max_frame", "map_size_mb", "map_max_mb", "replay_window", "batch_max", "status_listen",
    "task_listen", "threads", "data_key", "previous_secret_key",
};

/* Keys of [supervision]: what else the supervision list flags. */
static const char *const s_supervision_keys[V_COUNT] = { "max_returns", "feedback_within" };

/* Keys of [merge]: when a new report is a candidate duplicate. */
static const char *const s_merge_keys[M_COUNT] = { "window", "distance" };
#define S_DEFAULT_MERGE_WINDOW_MS (2ull * 3600 * 1000)
#define S_DEFAULT_MERGE_DISTANCE_M 300.0

/* Keys of [assessment]: the weights of the ranking score (router/assess.h). */
static const char *const s_assessment_keys[W_COUNT] = { "accept", "resolve", "first_time",
                                                        "feedback", "overdue" };

/* The KIND of [deadlines] keys KIND.SEVERITY. */
static const char *const s_deadline_kinds[D_COUNT] = { "accept", "resolve", "claim", "complete" };

const char *const gr_cfg_peer_keys[P_COUNT] = { "id", "endpoint", "key", "status_endpoint" };


#define S_DEFAULT_MAX_FRAME 65536
#define S_MIN_MAX_FRAME 1024
#define S_MAX_MAX_FRAME 16777216
#define S_DEFAULT_MAP_SIZE_MB 64
#define S_DEFAULT_MAP_MAX_MB 4096
#define S_MAX_MAP_MB 1048576        /* 1 TiB: beyond that it is a typo */
#define S_DEFAULT_REPLAY_WINDOW 1000000000ULL
#define S_DEFAULT_BATCH_MAX 512
#define S_MAX_BATCH_MAX 65536

static int s_node_key(gr_cfg_load_t *load, int k, const char *value, char *msg, size_t msglen)
{
    gr_config_t *cfg = load->cfg;
    const char *key = gr_cfg_node_keys[k];
    uint64_t n = 0;
    int rc = 0;
    switch (k) {
    case N_ID:
        rc = gr_cfg_check_id(key, value, msg, msglen);
        if (rc == 0)
            strcpy(cfg->node_id, value);
        return rc;
    case N_TIER:
        cfg->tier_level = gr_tier_parse(value);
        if (cfg->tier_level < 0 || strlen(value) >= sizeof cfg->tier_name)
            return gr_cfg_fail(msg, msglen,
                               "tier = %s: not a tier (a level number, or village, "
                               "community, township, street, district, county, city)",
                               value);
        strcpy(cfg->tier_name, value);
        return 0;
    case N_STORE:
        return gr_cfg_path(load, key, value, &cfg->store_path, msg, msglen);
    case N_LISTEN:
        return gr_cfg_endpoint(key, value, true, &cfg->listen, msg, msglen);
    case N_STATUS_LISTEN:
        return gr_cfg_endpoint(key, value, true, &cfg->status_listen, msg, msglen);
    case N_TASK_LISTEN:
        return gr_cfg_endpoint(key, value, true, &cfg->task_listen, msg, msglen);
    case N_ENDPOINT_FILE:
        return gr_cfg_path(load, key, value, &cfg->endpoint_file, msg, msglen);
    case N_SECRET_KEY:
        return gr_cfg_path(load, key, value, &cfg->secret_key_path, msg, msglen);
    case N_CATALOGUE:
        return gr_cfg_path(load, key, value, &cfg->catalogue_path, msg, msglen);
    case N_DATA_KEY:
        return gr_cfg_path(load, key, value, &cfg->data_key_path, msg, msglen);
    case N_PREVIOUS_SECRET_KEY:
        return gr_cfg_path(load, key, value, &cfg->previous_key_path, msg, msglen);
    case N_MAX_FRAME:
        rc = gr_cfg_number(key, value, S_MIN_MAX_FRAME, S_MAX_MAX_FRAME, &n, msg, msglen);
        cfg->max_frame = (size_t)n;
        return rc;
    case N_MAP_SIZE:
        rc = gr_cfg_number(key, value, 1, S_MAX_MAP_MB, &n, msg, msglen);
        cfg->map_size = (size_t)n << 20;
        return rc;
    case N_MAP_MAX:
        rc = gr_cfg_number(key, value, 1, S_MAX_MAP_MB, &n, msg, msglen);
        cfg->map_max = (size_t)n << 20;
        return rc;
    case N_REPLAY_WINDOW:
        rc = gr_cfg_number(key, value, 1, UINT64_MAX, &n, msg, msglen);
        cfg->replay_window = n;
        return rc;
    case N_BATCH_MAX:
        rc = gr_cfg_number(key, value, 1, S_MAX_BATCH_MAX, &n, msg, msglen);
        cfg->batch_max = (unsigned)n;
        return rc;
    case N_THREADS:
        rc = gr_cfg_number(key, value, 0, 8, &n, msg, msglen);
        cfg->threads = (unsigned)n;
        return rc;
    }
    return gr_cfg_fail(msg, msglen, "unknown key '%s' in [node]", key);
}

int gr_cfg_node_key(gr_cfg_load_t *load, int section, const char *key, const char *value, int line,
                    char *msg, size_t msglen)
{
    (void)section;
    int k = 0;
    while (k < N_COUNT && strcmp(gr_cfg_node_keys[k], key) != 0)
        k++;
    if (k == N_COUNT)
        return gr_cfg_fail(msg, msglen, "unknown key '%s' in [node]", key);
    if (load->key_line[k] != 0)
        return gr_cfg_fail(msg, msglen, "duplicate key '%s' in [node] (first at line %d)", key,
                           load->key_line[k]);
    load->key_line[k] = line;
    return s_node_key(load, k, value, msg, msglen);
}

void gr_cfg_defaults(gr_config_t *cfg)
{
    cfg->max_frame = S_DEFAULT_MAX_FRAME;
    cfg->map_size = (size_t)S_DEFAULT_MAP_SIZE_MB << 20;
    cfg->map_max = (size_t)S_DEFAULT_MAP_MAX_MB << 20;
    cfg->replay_window = S_DEFAULT_REPLAY_WINDOW;
    /* Flagged for supervision: returned three times, or a result that has
     * not reached the case's origin a day after it was resolved. */
    cfg->supervision.max_returns = 2;
    cfg->supervision.feedback_within_ms = 24ull * 3600 * 1000;
    cfg->assessment = (gr_assess_weights_t)GR_ASSESS_WEIGHTS_DEFAULT;
    cfg->batch_max = S_DEFAULT_BATCH_MAX;
}

int gr_cfg_peer_key(gr_cfg_load_t *load, int section, const char *key, const char *value, int line,
                    char *msg, size_t msglen)
{
    int which = section == S_PARENT ? 0 : 1;
    gr_peer_config_t *peer = which == 0 ? &load->cfg->parent : &load->cfg->skip;
    int k = 0;
    while (k < P_COUNT && strcmp(gr_cfg_peer_keys[k], key) != 0)
        k++;
    if (k == P_COUNT || (k == P_STATUS_ENDPOINT && section == S_SKIP))
        return gr_cfg_fail(msg, msglen, "unknown key '%s' in [%s]", key,
                           gr_cfg_section_name(section));
    if (load->peer_line[which][k] != 0)
        return gr_cfg_fail(msg, msglen, "duplicate key '%s' in [%s] (first at line %d)", key,
                           gr_cfg_section_name(section), load->peer_line[which][k]);
    load->peer_line[which][k] = line;
    switch (k) {
    case P_ID:
        if (gr_cfg_check_id(key, value, msg, msglen) != 0)
            return GR_ECONFIG;
        strcpy(peer->id, value);
        return 0;
    case P_ENDPOINT:
        return gr_cfg_endpoint(key, value, false, &peer->endpoint, msg, msglen);
    case P_STATUS_ENDPOINT:
        return gr_cfg_endpoint(key, value, false, &peer->status_endpoint, msg, msglen);
    default:
        return gr_cfg_public_key(load, key, value, peer->pk, msg, msglen);
    }
}

/* [deadlines]: KIND.SEVERITY, KIND one of s_deadline_kinds. */
int gr_cfg_deadline_key(gr_cfg_load_t *load, int section, const char *key, const char *value,
                        int line, char *msg, size_t msglen)
{
    (void)section;
    static const char *const severities[GR_ROUTE_SEV_SLOTS] = {
        NULL, "routine", "urgent", "extra-urgent",
    };
    const char *dot = strchr(key, '.');
    size_t len = dot ? (size_t)(dot - key) : 0;
    int kind = 0;
    while (kind < D_COUNT && !(strlen(s_deadline_kinds[kind]) == len &&
                               strncmp(key, s_deadline_kinds[kind], len) == 0))
        kind++;
    int sev = 1;
    while (dot && sev < GR_ROUTE_SEV_SLOTS && strcmp(severities[sev], dot + 1) != 0)
        sev++;
    if (kind == D_COUNT || !dot || sev == GR_ROUTE_SEV_SLOTS)
        return gr_cfg_fail(msg, msglen,
                           "unknown key '%s' in [deadlines] (expected KIND.SEVERITY, "
                           "KIND one of accept, resolve, claim, complete and SEVERITY one of "
                           "routine, urgent, extra-urgent)",
                           key);
    if (load->deadline_line[kind][sev] != 0)
        return gr_cfg_fail(msg, msglen, "duplicate key '%s' in [deadlines] (first at line %d)", key,
                           load->deadline_line[kind][sev]);
    load->deadline_line[kind][sev] = line;
    gr_deadlines_t *d = &load->cfg->deadlines;
    gr_task_deadlines_t *t = &load->cfg->task_deadlines;
    uint64_t *slot = kind == D_ACCEPT    ? &d->accept_within_ms[sev]
                     : kind == D_RESOLVE ? &d->resolve_within_ms[sev]
                     : kind == D_CLAIM   ? &t->claim_within_ms[sev]
                                         : &t->complete_within_ms[sev];
    return gr_cfg_duration(key, value, slot, msg, msglen);
}

/* [supervision]: max_returns (a count, 0 = never flagged) and
 * feedback_within (a duration, 0 = feedback not supervised). */
int gr_cfg_supervision_key(gr_cfg_load_t *load, int section, const char *key, const char *value,
                           int line, char *msg, size_t msglen)
{
    (void)section;
    int k = gr_cfg_section_key("supervision", s_supervision_keys, V_COUNT, load->supervision_line,
                               key, line, msg, msglen);
    if (k < 0)
        return GR_ECONFIG;
    gr_supervise_limits_t *limits = &load->cfg->supervision;
    if (k == V_FEEDBACK_WITHIN)
        return gr_cfg_duration(key, value, &limits->feedback_within_ms, msg, msglen);
    uint64_t n = 0;
    int rc = gr_cfg_number(key, value, 0, 1000, &n, msg, msglen);
    if (rc == 0)
        limits->max_returns = (uint32_t)n;
    return rc;
}

void gr_cfg_merge_open(gr_cfg_load_t *load)
{
    load->cfg->merge.window_ms = S_DEFAULT_MERGE_WINDOW_MS;
    load->cfg->merge.distance_m = S_DEFAULT_MERGE_DISTANCE_M;
}

/* [merge]: window (a duration, 0 = candidates off) and distance. */
int gr_cfg_merge_key(gr_cfg_load_t *load, int section, const char *key, const char *value, int line,
                     char *msg, size_t msglen)
{
    (void)section;
    int k = gr_cfg_section_key("merge", s_merge_keys, M_COUNT, load->merge_line, key, line, msg,
                               msglen);
    if (k < 0)
        return GR_ECONFIG;
    gr_duplicate_limits_t *limits = &load->cfg->merge;
    if (k == M_WINDOW)
        return gr_cfg_duration(key, value, &limits->window_ms, msg, msglen);
    return gr_cfg_distance(key, value, &limits->distance_m, msg, msglen);
}

/* [assessment]: one weight 0..100 per rate of the score. */
int gr_cfg_assessment_key(gr_cfg_load_t *load, int section, const char *key, const char *value,
                          int line, char *msg, size_t msglen)
{
    (void)section;
    int k = gr_cfg_section_key("assessment", s_assessment_keys, W_COUNT, load->assessment_line, key,
                               line, msg, msglen);
    if (k < 0)
        return GR_ECONFIG;
    uint64_t n = 0;
    int rc = gr_cfg_number(key, value, 0, 100, &n, msg, msglen);
    if (rc != 0)
        return rc;
    gr_assess_weights_t *w = &load->cfg->assessment;
    unsigned *slots[W_COUNT] = { &w->accept, &w->resolve, &w->first_time, &w->feedback,
                                 &w->overdue };
    *slots[k] = (unsigned)n;
    return 0;
}

/* Trims spaces and tabs on both sides, in place. */
static char *s_trim(char *text)
{
    text += strspn(text, " \t");
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
        text[--len] = '\0';
    return text;
}

/* A comma-separated list of department codes from a [dispatch] line, cut in
 * place: refuses empty items, malformed codes and more than
 * GR_ROUTE_MAX_DEPTS. Whether each code names a department is checked once
 * the whole file is read, since [departments] may come later. */
static int s_code_list(const char *match, const char *what, char *text,
                       char list[GR_ROUTE_MAX_DEPTS][64], size_t *n, char *msg, size_t msglen)
{
    *n = 0;
    for (char *item = text; item;) {
        char *comma = strchr(item, ',');
        if (comma)
            *comma = '\0';
        char *code = s_trim(item);
        if (*code == '\0')
            return gr_cfg_fail(msg, msglen, "%s: empty %s department (a stray ','?)", match, what);
        if (gr_cfg_check_id("department code", code, msg, msglen) != 0)
            return GR_ECONFIG;
        if (*n == GR_ROUTE_MAX_DEPTS)
            return gr_cfg_fail(msg, msglen, "%s: more than %d %s departments", match,
                               GR_ROUTE_MAX_DEPTS, what);
        strcpy(list[(*n)++], code);
        item = comma ? comma + 1 : NULL;
    }
    return 0;
}

/* Refuses a code twice on one line: tried twice after a return, or both
 * leading and helping, would be a typo rather than a plan. */
static int s_route_unique(const gr_route_config_t *r, char *msg, size_t msglen)
{
    for (size_t i = 0; i < r->n_candidates; i++)
        for (size_t j = i + 1; j < r->n_candidates; j++)
            if (strcmp(r->candidates[i], r->candidates[j]) == 0)
                return gr_cfg_fail(msg, msglen, "%s: department '%s' listed twice", r->match,
                                   r->candidates[i]);
    for (size_t i = 0; i < r->n_co; i++) {
        for (size_t j = i + 1; j < r->n_co; j++)
            if (strcmp(r->co[i], r->co[j]) == 0)
                return gr_cfg_fail(msg, msglen, "%s: department '%s' listed twice", r->match,
                                   r->co[i]);
        for (size_t j = 0; j < r->n_candidates; j++)
            if (strcmp(r->co[i], r->candidates[j]) == 0)
                return gr_cfg_fail(msg, msglen,
                                   "%s: department '%s' is both a candidate and a "
                                   "co-handler",
                                   r->match, r->co[i]);
    }
    return 0;
}

/* Fills r from "LEAD[, NEXT...] [+ CO[, CO...]]". */
static int s_route_value(gr_route_config_t *r, const char *value, char *msg, size_t msglen)
{
    char *text = strdup(value);
    if (!text)
        return gr_cfg_oom(msg, msglen);
    char *plus = strchr(text, '+');
    int rc = 0;
    if (plus) {
        *plus = '\0';
        if (strchr(plus + 1, '+'))
            rc = gr_cfg_fail(msg, msglen,
                             "%s = %s: more than one '+' (co-handlers follow the "
                             "only '+')",
                             r->match, value);
        else if (*s_trim(plus + 1) == '\0')
            rc = gr_cfg_fail(msg, msglen, "%s = %s: no co-handler after '+'", r->match, value);
    }
    if (rc == 0 && *s_trim(text) == '\0')
        rc = gr_cfg_fail(msg, msglen,
                         "%s = %s: no lead department (expected LEAD[, NEXT...] "
                         "[+ CO[, CO...]])",
                         r->match, value);
    if (rc == 0)
        rc = s_code_list(r->match, "candidate", text, r->candidates, &r->n_candidates, msg,
                         msglen);
    if (rc == 0 && plus)
        rc = s_code_list(r->match, "co-handling", plus + 1, r->co, &r->n_co, msg, msglen);
    free(text);
    return rc == 0 ? s_route_unique(r, msg, msglen) : rc;
}

/* One line of [dispatch]: MATCH = LEAD[, NEXT...] [+ CO[, CO...]]. The
 * match's shape is checked here, its categories once the catalogue is
 * loaded. */
int gr_cfg_route_key(gr_cfg_load_t *load, int section, const char *match, const char *value,
                     int line, char *msg, size_t msglen)
{
    (void)section;
    gr_config_t *cfg = load->cfg;
    size_t len = strlen(match);
    if (len >= sizeof cfg->routes[0].match)
        return gr_cfg_fail(msg, msglen, "match '%s' too long (at most %zu bytes)", match,
                           sizeof cfg->routes[0].match - 1);
    const char *star = strchr(match, '*');
    if (star && strcmp(match, "*") != 0 &&
        !(star == match + len - 1 && len >= 3 && match[len - 2] == '.'))
        return gr_cfg_fail(msg, msglen,
                           "%s: '*' stands alone (any category) or ends a class "
                           "prefix, as in PS.*",
                           match);
    for (size_t i = 0; i < cfg->n_routes; i++)
        if (strcmp(cfg->routes[i].match, match) == 0)
            return gr_cfg_fail(msg, msglen, "duplicate match '%s' in [dispatch] (first at line %d)",
                               match, load->route_line[i]);
    gr_route_config_t route;
    memset(&route, 0, sizeof route);
    strcpy(route.match, match);
    int rc = s_route_value(&route, value, msg, msglen);
    if (rc != 0)
        return rc;
    int *lines = realloc(load->route_line, (cfg->n_routes + 1) * sizeof *lines);
    if (!lines)
        return gr_cfg_oom(msg, msglen);
    load->route_line = lines;
    gr_route_config_t *routes = realloc(cfg->routes, (cfg->n_routes + 1) * sizeof *routes);
    if (!routes)
        return gr_cfg_oom(msg, msglen);
    cfg->routes = routes;
    lines[cfg->n_routes] = line;
    routes[cfg->n_routes++] = route;
    return 0;
}

int gr_cfg_confidential_key(gr_cfg_load_t *load, int section, const char *key,
                            const char *value, int line, char *msg, size_t msglen)
{
    if (section != S_CONFIDENTIAL_SEAL)
        return gr_confidential_config_key(&load->cfg->confidential, key, value, line, msg, msglen);
    /* CATEGORY = KEY, NODE-ID: the recipient tier's key first, as in
     * [children] (config_confidential.h). */
    char pk_text[320];
    const char *node = NULL;
    uint8_t pk[GR_PUBLIC_KEY_BYTES];
    int rc = gr_cfg_split_key(key, value, pk_text, sizeof pk_text, &node, msg, msglen);
    if (rc == 0 && (!node || !*node))
        rc = gr_cfg_fail(msg, msglen, "confidential_seal: %s = %s: expected KEY, NODE-ID (the "
                         "node whose key seals this category's personal fields)", key, value);
    if (rc == 0)
        rc = gr_cfg_check_id(key, node, msg, msglen);
    if (rc == 0)
        rc = gr_cfg_public_key(load, key, pk_text, pk, msg, msglen);
    if (rc == 0)
        rc = gr_confidential_config_seal(&load->cfg->confidential, key, node, pk, line, msg,
                                         msglen);
    return rc;
}
