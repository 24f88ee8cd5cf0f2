/* The people's sections ([reporters], [operators], [viewers], [auditors]),
 * [children] and [departments]: "name = key" lines, the trust they give
 * and the roles (access) each section grants. Contracts in
 * config_internal.h. */
#include "config_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* The sections that list people's keys, each granting its access role; a
 * key listed in several of them, under one name, holds all their roles. */
static bool s_person_section(int section)
{
    return section == S_REPORTERS || section == S_OPERATORS || section == S_VIEWERS ||
           section == S_AUDITORS;
}

static unsigned s_section_access(int section)
{
    switch (section) {
    case S_REPORTERS: return GR_ACCESS_REPORTER;
    case S_OPERATORS: return GR_ACCESS_OPERATOR;
    case S_VIEWERS: return GR_ACCESS_VIEWER;
    case S_AUDITORS: return GR_ACCESS_AUDITOR;
    case S_DEPARTMENTS: return GR_ACCESS_DEPARTMENT;
    default: return GR_ACCESS_NODE;
    }
}

/* gr_trust_add() would quietly rename a key already present: one key under
 * two names is a copy-paste slip worth stopping, and one key in two trust
 * classes (a reporter's terminal that is also a department) would let
 * whoever holds it act as either. A person's key listed again under the
 * same name in another person's section is the config giving it one more
 * role (access). */
int gr_cfg_trust(gr_cfg_load_t *load, const uint8_t pk[GR_PUBLIC_KEY_BYTES], const char *name,
                 gr_role_t role, unsigned access, int line, char *msg, size_t msglen)
{
    const gr_trusted_key_t *known = gr_trust_find(load->cfg->trust, pk);
    if (known && known->role == GR_ROLE_REPORTER && role == GR_ROLE_REPORTER) {
        if (strcmp(known->name, name) != 0)
            return gr_cfg_fail(msg, msglen,
                               "%s: same key as '%s': a key with several roles keeps "
                               "one name in every section that lists it",
                               name, known->name);
        return gr_trust_grant(load->cfg->trust, pk, access);
    }
    if (known)
        return gr_cfg_fail(msg, msglen,
                           "%s: same key as '%s', already trusted as a %s (one key, "
                           "one role)",
                           name, known->name,
                           known->role == GR_ROLE_REPORTER ? "person (reporter, operator, viewer "
                                                             "or auditor)"
                           : known->role == GR_ROLE_NODE   ? "node"
                                                           : "department");
    gr_cfg_trusted_t *list = realloc(load->trusted, (load->n_trusted + 1) * sizeof *list);
    if (!list)
        return gr_cfg_oom(msg, msglen);
    load->trusted = list;
    int rc = gr_trust_add(load->cfg->trust, pk, name, role);
    if (rc == 0)
        rc = gr_trust_grant(load->cfg->trust, pk, access);
    if (rc != 0) {
        snprintf(msg, msglen, "%s: cannot trust this key: %s", name, gr_strerror(rc));
        return rc;
    }
    gr_cfg_trusted_t *t = &list[load->n_trusted++];
    memset(t, 0, sizeof *t);
    memcpy(t->pk, pk, sizeof t->pk);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->line = line;
    return 0;
}

/* Appends a department; its key is already trusted. */
static int s_add_dept(gr_config_t *cfg, const char *code, const char *name,
                      const uint8_t pk[GR_PUBLIC_KEY_BYTES], char *msg, size_t msglen)
{
    gr_dept_config_t *depts = realloc(cfg->depts, (cfg->n_depts + 1) * sizeof *depts);
    if (!depts)
        return gr_cfg_oom(msg, msglen);
    cfg->depts = depts;
    gr_dept_config_t *dept = &depts[cfg->n_depts++];
    memset(dept, 0, sizeof *dept);
    strcpy(dept->code, code);
    strcpy(dept->name, name);
    memcpy(dept->pk, pk, sizeof dept->pk);
    return 0;
}

/* Splits a [departments] value "KEY[, display name]" at its first comma:
 * writes the trimmed key text into key (keylen bytes) and points *name at
 * the display name ("" when there is none). */
static int s_split_dept(const char *code, const char *value, char *key, size_t keylen,
                        const char **name, char *msg, size_t msglen)
{
    int rc = gr_cfg_split_key(code, value, key, keylen, name, msg, msglen);
    if (rc != 0 || !*name) {
        *name = "";
        return rc;
    }
    if (**name == '\0')
        return gr_cfg_fail(msg, msglen,
                           "%s = %s: empty display name after ',' (drop the "
                           "comma for none)",
                           code, value);
    if (strlen(*name) >= sizeof ((gr_dept_config_t *)0)->name)
        return gr_cfg_fail(msg, msglen, "%s: display name too long (at most %zu bytes)", code,
                           sizeof((gr_dept_config_t *)0)->name - 1);
    return 0;
}

/* Splits a [reporters] value "KEY[, grid CODE]": the key text into key
 * (keylen bytes), the grid code into grid (64 bytes; "" when none). */
static int s_split_reporter(const char *name, const char *value, char *key, size_t keylen,
                            char grid[64], char *msg, size_t msglen)
{
    const char *rest = NULL;
    grid[0] = '\0';
    int rc = gr_cfg_split_key(name, value, key, keylen, &rest, msg, msglen);
    if (rc != 0 || !rest)
        return rc;
    if (strncmp(rest, "grid", 4) != 0 || (rest[4] != ' ' && rest[4] != '\t'))
        return gr_cfg_fail(msg, msglen,
                           "%s = %s: after the key only 'grid CODE' may follow "
                           "(the grid, 网格, whose cases this reporter reads)",
                           name, value);
    rest += 4 + strspn(rest + 4, " \t");
    if (gr_cfg_check_id("grid", rest, msg, msglen) != 0)
        return GR_ECONFIG;
    snprintf(grid, 64, "%s", rest);
    return 0;
}

/* Records that the reporter with key pk reads the cases of grid. */
static int s_add_reporter_grid(gr_config_t *cfg, const uint8_t pk[GR_PUBLIC_KEY_BYTES],
                               const char *grid, char *msg, size_t msglen)
{
    gr_reporter_grid_t *grids = realloc(cfg->reporter_grids,
                                        (cfg->n_reporter_grids + 1) * sizeof *grids);
    if (!grids)
        return gr_cfg_oom(msg, msglen);
    cfg->reporter_grids = grids;
    gr_reporter_grid_t *g = &grids[cfg->n_reporter_grids++];
    memcpy(g->pk, pk, sizeof g->pk);
    snprintf(g->grid, sizeof g->grid, "%s", grid);
    return 0;
}

/* [children] id = KEY[, previous OLDKEY] (key rotation, README "Rotating a
 * node's key"). */
static int s_split_child(const char *name, const char *value, char *key, size_t keylen,
                         char *previous, size_t prevlen, char *msg, size_t msglen)
{
    const char *comma = strchr(value, ',');
    size_t len = comma ? (size_t)(comma - value) : strlen(value);
    while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
        len--;
    if (len >= keylen)
        return gr_cfg_fail(msg, msglen, "%s = %s: key too long (64 hex digits, or @FILE of at "
                           "most %zu bytes)", name, value, keylen - 2);
    memcpy(key, value, len);
    key[len] = '\0';
    previous[0] = '\0';
    if (!comma)
        return 0;
    const char *rest = comma + 1 + strspn(comma + 1, " \t");
    if (strncmp(rest, "previous", 8) != 0 || (rest[8] != ' ' && rest[8] != '\t'))
        return gr_cfg_fail(msg, msglen, "%s = %s: after the key only 'previous KEY' may follow "
                           "(the child's key before it rotated to this one)", name, value);
    rest += 8 + strspn(rest + 8, " \t");
    len = strlen(rest);
    while (len > 0 && (rest[len - 1] == ' ' || rest[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= prevlen)
        return gr_cfg_fail(msg, msglen, "%s = %s: 'previous' needs a key (64 hex digits, or @FILE)",
                           name, value);
    memcpy(previous, rest, len);
    previous[len] = '\0';
    return 0;
}

/* One line of a person's section ([reporters], [operators], [viewers],
 * [auditors]), [children] or [departments]: name = key, the department's
 * key optionally followed by ", display name". */
int gr_cfg_named_key(gr_cfg_load_t *load, int section, const char *name, const char *value,
                     int line, char *msg, size_t msglen)
{
    const char *what = section == S_DEPARTMENTS ? "code" : "name";
    if (strlen(name) >= sizeof load->names[0].name)
        return gr_cfg_fail(msg, msglen, "%s '%s' too long (at most %zu bytes)", what, name,
                           sizeof load->names[0].name - 1);
    {
        int rc = section == S_CHILDREN      ? gr_cfg_check_id("child name", name, msg, msglen)
                 : section == S_DEPARTMENTS ? gr_cfg_check_id("department code", name, msg, msglen)
                                            : gr_cfg_check_reporter_name(name, msg, msglen);
        if (rc != 0)
            return rc;
    }
    /* The store names outboxes and bookkeeping "parent", "skip" and
     * "self": a child by one of those names would share them. */
    if (section == S_CHILDREN &&
        (strcmp(name, "parent") == 0 || strcmp(name, "skip") == 0 || strcmp(name, "self") == 0))
        return gr_cfg_fail(msg, msglen,
                           "a child may not be called '%s' (reserved for this node's "
                           "own links)",
                           name);
    for (size_t i = 0; i < load->name_count; i++)
        if (load->names[i].section == section && strcmp(load->names[i].name, name) == 0)
            return gr_cfg_fail(msg, msglen, "duplicate %s '%s' in [%s] (first at line %d)", what,
                               name, gr_cfg_section_name(section), load->names[i].line);
    if (load->name_count == load->name_cap) {
        size_t cap = load->name_cap ? load->name_cap * 2 : 16;
        gr_cfg_name_t *names = realloc(load->names, cap * sizeof *names);
        if (!names)
            return gr_cfg_oom(msg, msglen);
        load->names = names;
        load->name_cap = cap;
    }
    /* A path is at most PATH_MAX; the '@' and the NUL take two more. */
    char key[PATH_MAX + 2];
    char grid[64] = "";
    const char *display = "";
    int rc = 0;
    if (section == S_DEPARTMENTS)
        rc = s_split_dept(name, value, key, sizeof key, &display, msg, msglen);
    else if (section == S_REPORTERS)
        rc = s_split_reporter(name, value, key, sizeof key, grid, msg, msglen);
    char previous[PATH_MAX + 2] = "";
    if (section == S_CHILDREN)
        rc = s_split_child(name, value, key, sizeof key, previous, sizeof previous, msg, msglen);
    bool split = section == S_DEPARTMENTS || section == S_REPORTERS || section == S_CHILDREN;
    uint8_t pk[GR_PUBLIC_KEY_BYTES];
    uint8_t previous_pk[GR_PUBLIC_KEY_BYTES];
    if (rc == 0)
        rc = gr_cfg_public_key(load, name, split ? key : value, pk, msg, msglen);
    if (rc == 0 && previous[0])
        rc = gr_cfg_public_key(load, name, previous, previous_pk, msg, msglen);
    if (rc == 0 && previous[0] && memcmp(pk, previous_pk, sizeof pk) == 0)
        rc = gr_cfg_fail(msg, msglen, "%s: the previous key is the key itself", name);
    if (rc == 0 && previous[0])
        rc = gr_cfg_trust(load, previous_pk, name, GR_ROLE_NODE, s_section_access(section), line,
                          msg, msglen);
    gr_role_t role = section == S_CHILDREN      ? GR_ROLE_NODE
                     : section == S_DEPARTMENTS ? GR_ROLE_DEPARTMENT
                                                : GR_ROLE_REPORTER;
    /* One name is one person in every timeline: in two person's sections
     * it must name the same key. */
    for (size_t i = 0; rc == 0 && s_person_section(section) && i < load->name_count; i++) {
        const gr_cfg_name_t *other = &load->names[i];
        if (s_person_section(other->section) && strcmp(other->name, name) == 0 &&
            memcmp(other->pk, pk, sizeof pk) != 0)
            rc = gr_cfg_fail(msg, msglen,
                             "'%s' names another key in [%s] (line %d): one name, one "
                             "key (a key with several roles is listed with the same key in each "
                             "section)",
                             name, gr_cfg_section_name(other->section), other->line);
    }
    if (rc == 0)
        rc = gr_cfg_trust(load, pk, name, role, s_section_access(section), line, msg, msglen);
    if (rc == 0 && section == S_DEPARTMENTS)
        rc = s_add_dept(load->cfg, name, display, pk, msg, msglen);
    if (rc == 0 && grid[0])
        rc = s_add_reporter_grid(load->cfg, pk, grid, msg, msglen);
    if (rc != 0)
        return rc;
    if (section == S_CHILDREN) {
        gr_config_t *cfg = load->cfg;
        gr_peer_config_t *children = realloc(cfg->children,
                                             (cfg->n_children + 1) * sizeof *children);
        if (!children)
            return gr_cfg_oom(msg, msglen);
        cfg->children = children;
        gr_peer_config_t *child = &children[cfg->n_children++];
        memset(child, 0, sizeof *child);
        strcpy(child->id, name);
        memcpy(child->pk, pk, sizeof child->pk);
        child->has_previous = previous[0] != '\0';
        if (child->has_previous)
            memcpy(child->previous_pk, previous_pk, sizeof child->previous_pk);
    }
    gr_cfg_name_t *n = &load->names[load->name_count++];
    strcpy(n->name, name);
    n->line = line;
    n->section = section;
    memcpy(n->pk, pk, sizeof n->pk);
    return 0;
}

/* A config written before roles existed knows one kind of person: its
 * [reporters] both reported and acted on cases. As long as the file has no
 * [operators] section, that stays so, and the daemon says at start-up what
 * to change; with an [operators] section, [reporters] means grid workers
 * only. */
int gr_cfg_finish_legacy_roles(gr_cfg_load_t *load, char *err, size_t errlen)
{
    if (load->section_line[S_REPORTERS] == 0 || load->section_line[S_OPERATORS] != 0)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < load->name_count; i++) {
        const gr_cfg_name_t *name = &load->names[i];
        if (name->section != S_REPORTERS)
            continue;
        int rc = gr_trust_grant(load->cfg->trust, name->pk, GR_ACCESS_OPERATOR);
        if (rc != 0) {
            snprintf(err, errlen, "%s:%d: %s: %s", load->path, name->line, name->name,
                     gr_strerror(rc));
            return rc;
        }
        n++;
    }
    snprintf(load->cfg->warning, sizeof load->cfg->warning,
             "%s:%d: [reporters] without an [operators] section: its keys (%zu) keep the old "
             "roles, reporter and operator (accept, resolve, escalate, assign, dispatch, urge "
             "any case here). To end this, add an [operators] section listing the keys that "
             "act on cases (name = key, as in [reporters]); [reporters] then holds grid workers "
             "only, and a key listed under the same name in both holds both roles (README, "
             "\"Roles and access\")", load->path, load->section_line[S_REPORTERS], n);
    return 0;
}
