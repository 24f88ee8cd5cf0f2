/* Access: who may send which request, and about which cases (issue 14).
 *
 * Pure, like decide.h: the signer's roles and scope, the request's rule and
 * the case's facts in, allow or deny out; no I/O, no allocation. The rules
 * themselves are data in the node's request table (node/requests.c): each
 * row names the roles that may use it on any case, and the roles that may
 * use it only on the cases in their own scope:
 *  - a reporter's scope is the cases it reported itself (the case's origin
 *    envelope is signed with its key) and, when the config gives it a grid
 *    (网格), every case reported in that grid;
 *  - a department's scope is the cases it holds a task for (it leads the
 *    case, or co-handles it with an open task).
 *
 * Thread safety: no state; safe from any thread.
 */
#ifndef GR_ACCESS_H
#define GR_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ed25519 public keys, as broker/keys.h has them. */
#define GR_ACCESS_KEY_BYTES 32

/* The roles a key may hold, as a bit set. A person's key holds any
 * combination the node config gives it; a department's key only
 * GR_ACCESS_DEPARTMENT; a tier link's node key only GR_ACCESS_NODE. */
enum {
    GR_ACCESS_REPORTER = 1u << 0,   /* grid worker: reports, reads its own */
    GR_ACCESS_OPERATOR = 1u << 1,   /* acts on the cases at this node */
    GR_ACCESS_VIEWER = 1u << 2,     /* reads everything here, acts on nothing */
    GR_ACCESS_DEPARTMENT = 1u << 3, /* its tasks and the cases behind them */
    GR_ACCESS_AUDITOR = 1u << 4,    /* reads the trail: cases, timelines, counters */
    GR_ACCESS_NODE = 1u << 5,       /* a parent, skip-level or child node */
    GR_ACCESS_ALL = (1u << 6) - 1,
};

/* One request kind's rule. */
typedef struct {
    unsigned any;   /* roles that may use it on any case (or with no case) */
    unsigned own;   /* roles that may use it on the cases in their scope only */
} gr_access_rule_t;

/* Who signed the request. */
typedef struct {
    unsigned roles;
    const uint8_t *key;     /* GR_ACCESS_KEY_BYTES */
    const char *dept;       /* its department code; NULL unless a department */
    const char *grid;       /* a reporter's grid, whose cases it reads; NULL = none */
    const char *name;       /* its name in the config (for [confidential]); may be NULL */
} gr_access_who_t;

/* What decides whether a case is in a signer's scope. */
typedef struct {
    const uint8_t *reporter_key;    /* who reported it here; NULL = reported elsewhere */
    const char *lead_dept;          /* NULL or "" = none */
    char *const *co_depts;          /* co-handlers with an open task */
    size_t n_co_depts;
    const char *grid;               /* the grid it was reported in; NULL or "" = none */
    /* Its category is confidential (catalogue confidential = yes): then
     * only a node, its own reporter (not a grid leader), a department with
     * a task for it, and an operator named for the category ([confidential]
     * in the node config: named) pass, and only where the rule lets their
     * role in; a viewer, an auditor or another operator is denied. */
    bool confidential;
    bool named;
} gr_access_case_t;

typedef enum {
    GR_ACCESS_DENY = 0,
    GR_ACCESS_ALLOW = 1,
    /* Without a case: allowed only on the cases in the signer's scope, so
     * ask again with each case's facts (a GetEvent's case, every case a
     * list would show). Never returned when a case is given. */
    GR_ACCESS_SCOPED = 2,
} gr_access_t;

/* The decision for who sending a request under rule about the case c, or
 * about no particular case when c is NULL. A NULL rule or who denies. */
gr_access_t gr_access_decide(const gr_access_rule_t *rule, const gr_access_who_t *who,
                             const gr_access_case_t *c);

/* Whether the case is in who's scope under its reporter or department
 * role (the roles it holds, whatever the request). */
bool gr_access_in_scope(const gr_access_who_t *who, const gr_access_case_t *c);

/* The roles' names, comma-separated ("reporter,operator"), into out
 * (outlen bytes): for log lines and refusals. Returns out. */
char *gr_access_roles_text(unsigned roles, char *out, size_t outlen);

/* The roles a request is checked with when the node's own key signed it
 * on behalf of someone (its HTTP face: a web user, an Open311 client,
 * node/http.h): the delegate's, of those a person on the web can hold
 * (reporter, operator, viewer), never a node's, a department's or an
 * auditor's, so that nothing the face forwards passes for a tier link or
 * a department whatever the config says. */
unsigned gr_access_delegated(unsigned delegate_roles);

#endif
