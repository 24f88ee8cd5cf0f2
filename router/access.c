#include "access.h"

#include <stdio.h>
#include <string.h>

static bool s_is_reporter(const gr_access_who_t *who, const gr_access_case_t *c)
{
    /* A public key is no secret: memcmp's early exit gives nothing away. */
    return who->key && c->reporter_key &&
           memcmp(who->key, c->reporter_key, GR_ACCESS_KEY_BYTES) == 0;
}

static bool s_in_grid(const gr_access_who_t *who, const gr_access_case_t *c)
{
    return who->grid && *who->grid && c->grid && strcmp(who->grid, c->grid) == 0;
}

static bool s_has_task(const gr_access_who_t *who, const gr_access_case_t *c)
{
    if (!who->dept || !*who->dept)
        return false;
    if (c->lead_dept && strcmp(c->lead_dept, who->dept) == 0)
        return true;
    for (size_t i = 0; i < c->n_co_depts; i++)
        if (c->co_depts[i] && strcmp(c->co_depts[i], who->dept) == 0)
            return true;
    return false;
}

bool gr_access_in_scope(const gr_access_who_t *who, const gr_access_case_t *c)
{
    if (!who || !c)
        return false;
    return ((who->roles & GR_ACCESS_REPORTER) && (s_is_reporter(who, c) || s_in_grid(who, c))) ||
           ((who->roles & GR_ACCESS_DEPARTMENT) && s_has_task(who, c));
}

/* A confidential case: the roles the rule lets in, each narrowed. */
static gr_access_t s_confidential(const gr_access_rule_t *rule, const gr_access_who_t *who,
                                  const gr_access_case_t *c)
{
    unsigned allowed = who->roles & (rule->any | rule->own);
    if ((allowed & GR_ACCESS_NODE) || ((allowed & GR_ACCESS_OPERATOR) && c->named) ||
        ((allowed & GR_ACCESS_REPORTER) && s_is_reporter(who, c)) ||
        ((allowed & GR_ACCESS_DEPARTMENT) && s_has_task(who, c)))
        return GR_ACCESS_ALLOW;
    return GR_ACCESS_DENY;
}

gr_access_t gr_access_decide(const gr_access_rule_t *rule, const gr_access_who_t *who,
                             const gr_access_case_t *c)
{
    if (!rule || !who)
        return GR_ACCESS_DENY;
    if (c && c->confidential)
        return s_confidential(rule, who, c);
    if (who->roles & rule->any)
        return GR_ACCESS_ALLOW;
    unsigned scoped = who->roles & rule->own;
    if (!scoped)
        return GR_ACCESS_DENY;
    if (!c)
        return GR_ACCESS_SCOPED;
    /* Only the roles the rule scopes count: a reporter that is also a
     * department sees its tasks' cases only where the rule lets
     * departments in. */
    gr_access_who_t narrowed = *who;
    narrowed.roles = scoped;
    return gr_access_in_scope(&narrowed, c) ? GR_ACCESS_ALLOW : GR_ACCESS_DENY;
}

char *gr_access_roles_text(unsigned roles, char *out, size_t outlen)
{
    static const char *const names[] = { "reporter", "operator", "viewer", "department",
                                         "auditor", "node" };
    if (!out || outlen == 0)
        return out;
    out[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(roles & (1u << i)))
            continue;
        int n = snprintf(out + used, outlen - used, "%s%s", used ? "," : "", names[i]);
        if (n < 0 || (size_t)n >= outlen - used) {
            out[used] = '\0';     /* whole names only */
            break;
        }
        used += (size_t)n;
    }
    if (used == 0)
        snprintf(out, outlen, "none");
    return out;
}

unsigned gr_access_delegated(unsigned delegate_roles)
{
    return delegate_roles & (GR_ACCESS_REPORTER | GR_ACCESS_OPERATOR | GR_ACCESS_VIEWER);
}
