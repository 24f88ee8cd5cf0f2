/* gridctl accept | resolve | escalate | assign | dispatch | status | view:
 * an operator's decisions on cases and the view of the tier links. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gridctl.h"

static void s_init_common(gridctl_common_t *common)
{
    memset(common, 0, sizeof *common);
    common->timeout_ms = 3000;
    common->attempts = 3;
}

typedef struct {
    const char *name;
    Gridrelay__CaseAction__Kind kind;
    const char *text_option;    /* long option for the text, NULL = none */
    bool text_required;
    bool target;                /* --to CHILD */
    const char *summary;
} s_action_t;

static const s_action_t s_actions[] = {
    { "accept", GRIDRELAY__CASE_ACTION__KIND__ACCEPT, "note", false, false,
      "Accepts (受理) a case held by this node: its resolve deadline starts." },
    { "resolve", GRIDRELAY__CASE_ACTION__KIND__RESOLVE, "result", true, false,
      "Resolves (办结) a case; the result travels back down every hop to the node\n"
      "where the case was reported (反馈), and up to a parent that assigned it." },
    { "escalate", GRIDRELAY__CASE_ACTION__KIND__ESCALATE, "reason", false, false,
      "Hands a case to the parent tier (operator's decision), with this node's\n"
      "signed hop added to its path." },
    { "assign", GRIDRELAY__CASE_ACTION__KIND__ASSIGN, "reason", false, true,
      "Hands a case down (交办) to a named child node, with a time limit; the child\n"
      "acknowledges, handles it and reports the result up." },
    { "urge", GRIDRELAY__CASE_ACTION__KIND__URGE, "note", false, false,
      "Sends a supervision notice (督办通知) to whoever holds the case: the department\n"
      "it is dispatched to here, the child node it was assigned to, or (for a case\n"
      "this node only sees in its view) the node below that holds it, passed down\n"
      "the tier links. The holder sees it in its timeline, its supervision list and\n"
      "(a department) in 'gridctl dept watch'; this node keeps it too. A case that\n"
      "is closed, held above, or held here and not below is refused (forbidden)." },
};

static void s_usage(FILE *out, const s_action_t *a)
{
    fprintf(out, "Usage: gridctl %s ID%s%s%s%s [OPTIONS]\n\n%s\n\n", a->name,
            a->target ? " --to CHILD" : "", a->text_option ? (a->text_required ? " --" : " [--") : "",
            a->text_option ? a->text_option : "",
            a->text_option ? (a->text_required ? " TEXT" : " TEXT]") : "", a->summary);
    fprintf(out, "%s", gridctl_common_help);
}

/* Sends one CaseAction and prints the case's new status. Returns the exit
 * code. */
static int s_send_action(const gridctl_common_t *common, Gridrelay__CaseAction *ca)
{
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_CASE_ACTION;
    body.case_action = ca;
    gr_opened_t reply;
    int rc = gridctl_call_for(common, &body, GRIDRELAY__BODY__KIND_ACK, &reply);
    if (rc != GRIDCTL_OK)
        return rc;
    const Gridrelay__Ack *ack = reply.body->ack;
    if (common->json)
        printf("{\"id\":\"%s\",\"status\":\"%s\",\"duplicate\":%s}\n", ack->event_id,
               gridctl_status_name(ack->status), ack->duplicate ? "true" : "false");
    else
        printf("%s %s\n", ack->event_id, gridctl_status_name(ack->status));
    gr_opened_clear(&reply);
    return GRIDCTL_OK;
}

static int s_case_action(const s_action_t *a, int argc, char **argv)
{
    static const struct option options[] = {
        GRIDCTL_COMMON_LONG_OPTIONS,
        { "note", required_argument, NULL, 1 }, { "result", required_argument, NULL, 1 },
        { "reason", required_argument, NULL, 1 }, { "to", required_argument, NULL, 2 },
        { NULL, 0, NULL, 0 },
    };
    gridctl_common_t common;
    s_init_common(&common);
    const char *text = NULL, *target = NULL;
    int opt, index = 0;
    while ((opt = getopt_long(argc, argv, GRIDCTL_COMMON_SHORT, options, &index)) != -1) {
        int c = gridctl_common_option(&common, opt, optarg);
        if (c < 0)
            return GRIDCTL_USAGE;
        if (c > 0)
            continue;
        if (opt == 1 && a->text_option && strcmp(options[index].name, a->text_option) == 0) {
            text = optarg;
        } else if (opt == 2 && a->target) {
            target = optarg;
        } else if (opt == 'h') {
            s_usage(stdout, a);
            return GRIDCTL_OK;
        } else {
            s_usage(stderr, a);
            return GRIDCTL_USAGE;
        }
    }
    if (optind + 1 != argc || (a->text_required && !text) || (a->target && !target)) {
        s_usage(stderr, a);
        return GRIDCTL_USAGE;
    }
    Gridrelay__CaseAction ca = GRIDRELAY__CASE_ACTION__INIT;
    ca.event_id = argv[optind];
    ca.kind = a->kind;
    ca.text = (char *)(text ? text : "");
    ca.target = (char *)(target ? target : "");
    return s_send_action(&common, &ca);
}

int gridctl_accept(int argc, char **argv) { return s_case_action(&s_actions[0], argc, argv); }
int gridctl_resolve(int argc, char **argv) { return s_case_action(&s_actions[1], argc, argv); }
int gridctl_escalate(int argc, char **argv) { return s_case_action(&s_actions[2], argc, argv); }
int gridctl_assign(int argc, char **argv) { return s_case_action(&s_actions[3], argc, argv); }
int gridctl_urge(int argc, char **argv) { return s_case_action(&s_actions[4], argc, argv); }

static void s_dispatch_usage(FILE *out)
{
    fprintf(out,
"Usage: gridctl dispatch ID DEPT [--co DEPT]... [--reason TEXT] [OPTIONS]\n"
"\n"
"Dispatches (分流) a case held by this node to the department DEPT, or\n"
"redispatches it to another one. The department that held the task is told\n"
"it is withdrawn (its claim, if any, ends); DEPT gets a new task with a fresh\n"
"claim deadline ([deadlines] claim.*) and works it with 'gridctl dept'. The\n"
"case becomes dispatched and the operator's name and reason go into its\n"
"timeline. A node with a [dispatch] routing table dispatches new cases by\n"
"itself; this command is the operator overriding or completing that.\n"
"\n"
"Allowed while the case is reported, accepted, dispatched, in_progress or\n"
"returned here; otherwise the node refuses (forbidden).\n"
"\n"
"Arguments and options:\n"
"  ID                    the case's event id\n"
"  DEPT                  the lead department (主办): a code from the node's\n"
"                        [departments]\n"
"      --co DEPT         a co-handling department (协办); repeat for several\n"
"                        (the node takes at most 8, none of them the lead).\n"
"                        With --co the co-handlers are replaced by these;\n"
"                        without it those the case has keep their tasks\n"
"      --reason TEXT     why, for the timeline\n"
"\n");
    fprintf(out, "%s", gridctl_common_help);
}

int gridctl_dispatch(int argc, char **argv)
{
    static const struct option options[] = {
        GRIDCTL_COMMON_LONG_OPTIONS,
        { "co", required_argument, NULL, 1 }, { "reason", required_argument, NULL, 2 },
        { NULL, 0, NULL, 0 },
    };
    gridctl_common_t common;
    s_init_common(&common);
    /* Every --co takes two words of argv, so argc bounds their number; the
     * node, not gridctl, enforces its own limit and says so. */
    char **co = calloc((size_t)argc, sizeof *co);
    if (!co) {
        fprintf(stderr, "gridctl: out of memory\n");
        return GRIDCTL_LOCAL;
    }
    size_t nco = 0;
    const char *reason = NULL;
    int opt, rc = GRIDCTL_OK;
    while (rc == GRIDCTL_OK &&
           (opt = getopt_long(argc, argv, GRIDCTL_COMMON_SHORT, options, NULL)) != -1) {
        int c = gridctl_common_option(&common, opt, optarg);
        if (c < 0) {
            free(co);
            return GRIDCTL_USAGE;  /* the bad value was named */
        } else if (c > 0) {
            continue;
        } else if (opt == 1) {
            co[nco++] = optarg;
        } else if (opt == 2) {
            reason = optarg;
        } else if (opt == 'h') {
            s_dispatch_usage(stdout);
            free(co);
            return GRIDCTL_OK;
        } else {
            rc = GRIDCTL_USAGE;
        }
    }
    if (rc == GRIDCTL_OK && optind + 2 != argc)
        rc = GRIDCTL_USAGE;
    if (rc != GRIDCTL_OK) {
        s_dispatch_usage(stderr);
        free(co);
        return rc;
    }
    Gridrelay__CaseAction ca = GRIDRELAY__CASE_ACTION__INIT;
    ca.event_id = argv[optind];
    ca.kind = GRIDRELAY__CASE_ACTION__KIND__DISPATCH;
    ca.target = argv[optind + 1];
    ca.text = (char *)(reason ? reason : "");
    ca.co = co;
    ca.n_co = nco;
    rc = s_send_action(&common, &ca);
    free(co);
    return rc;
}

/* Parses only the common options; prints help for a command without its own. */
static int s_common_only(gridctl_common_t *common, int argc, char **argv, const char *usage)
{
    static const struct option options[] = { GRIDCTL_COMMON_LONG_OPTIONS, { NULL, 0, NULL, 0 } };
    s_init_common(common);
    int opt;
    while ((opt = getopt_long(argc, argv, GRIDCTL_COMMON_SHORT, options, NULL)) != -1) {
        int c = gridctl_common_option(common, opt, optarg);
        if (c < 0)
            return GRIDCTL_USAGE;
        if (c > 0)
            continue;
        FILE *out = opt == 'h' ? stdout : stderr;
        fprintf(out, "%s\n%s", usage, gridctl_common_help);
        return opt == 'h' ? -1 : GRIDCTL_USAGE;
    }
    if (optind != argc) {
        fprintf(stderr, "%s\n%s", usage, gridctl_common_help);
        return GRIDCTL_USAGE;
    }
    return GRIDCTL_OK;
}

int gridctl_status(int argc, char **argv)
{
    gridctl_common_t common;
    int rc = s_common_only(&common, argc, argv,
        "Usage: gridctl status [OPTIONS]\n\n"
        "Shows the node's tier links: for the parent, the skip-level ancestor and\n"
        "each child, whether it is up, when it was last heard from, how many\n"
        "messages wait in the outbox for it or are in flight, and (children) the\n"
        "last status update stored from it.\n");
    if (rc != GRIDCTL_OK)
        return rc < 0 ? GRIDCTL_OK : rc;
    Gridrelay__GetLinks get = GRIDRELAY__GET_LINKS__INIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_LINKS;
    body.get_links = &get;
    gr_opened_t reply;
    rc = gridctl_call_for(&common, &body, GRIDRELAY__BODY__KIND_LINKS, &reply);
    if (rc != GRIDCTL_OK)
        return rc;
    const Gridrelay__Links *links = reply.body->links;
    uint64_t now = gr_now_ms();
    if (common.json) {
        json_object *obj = json_object_new_object();
        json_object_object_add(obj, "node_id", json_object_new_string(links->node_id));
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < links->n_links; i++) {
            const Gridrelay__LinkInfo *l = links->links[i];
            json_object *o = json_object_new_object();
            json_object_object_add(o, "peer", json_object_new_string(l->peer));
            json_object_object_add(o, "role", json_object_new_string(l->role));
            json_object_object_add(o, "up", json_object_new_boolean(l->up));
            json_object_object_add(o, "last_contact_ms", json_object_new_int64((int64_t)l->last_contact_ms));
            json_object_object_add(o, "outbox_depth", json_object_new_int64((int64_t)l->outbox_depth));
            json_object_object_add(o, "in_flight", json_object_new_int64((int64_t)l->in_flight));
            json_object_object_add(o, "status_seq", json_object_new_int64((int64_t)l->status_seq));
            json_object_object_add(o, "resent", json_object_new_int64((int64_t)l->resent));
            json_object_object_add(o, "refused", json_object_new_int64((int64_t)l->refused));
            json_object_object_add(o, "version", json_object_new_int64((int64_t)l->version));
            json_object_object_add(o, "sent", json_object_new_int64((int64_t)l->sent));
            json_object_object_add(o, "batches", json_object_new_int64((int64_t)l->batches));
            json_object_object_add(o, "batched", json_object_new_int64((int64_t)l->batched));
            json_object_array_add(arr, o);
        }
        json_object_object_add(obj, "links", arr);
        printf("%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
        json_object_put(obj);
    } else {
        printf("node %s\n%-20s %-7s %-5s %-14s %8s %9s %10s %7s %8s\n", links->node_id, "PEER", "ROLE",
               "LINK", "LAST CONTACT", "OUTBOX", "IN FLIGHT", "STATUS SEQ", "RESENT", "REFUSED");
        for (size_t i = 0; i < links->n_links; i++) {
            const Gridrelay__LinkInfo *l = links->links[i];
            char ago[32];
            if (l->last_contact_ms)
                snprintf(ago, sizeof ago, "%.1f s ago", (double)(now - l->last_contact_ms) / 1000.0);
            else
                snprintf(ago, sizeof ago, "never");
            printf("%-20s %-7s %-5s %-14s %8llu %9llu %10llu %7llu %8llu\n", l->peer, l->role,
                   l->up ? "up" : "DOWN", ago, (unsigned long long)l->outbox_depth,
                   (unsigned long long)l->in_flight, (unsigned long long)l->status_seq,
                   (unsigned long long)l->resent, (unsigned long long)l->refused);
        }
    }
    gr_opened_clear(&reply);
    return GRIDCTL_OK;
}


/* One page of `gridctl view`: rows, or objects into the JSON array. */
static const char *s_view_page(void *ctx, const Gridrelay__Body *reply, size_t *count)
{
    json_object *arr = ctx;
    const Gridrelay__ViewPage *page = reply->view_page;
    for (size_t i = 0; page && i < page->n_updates; i++) {
        const Gridrelay__StatusUpdate *u = page->updates[i];
        if (arr) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "node_id", json_object_new_string(u->node_id));
            json_object_object_add(o, "event_id", json_object_new_string(u->event_id));
            json_object_object_add(o, "status", json_object_new_string(gridctl_status_name(u->status)));
            json_object_object_add(o, "holder", json_object_new_string(u->holder));
            json_object_object_add(o, "category", json_object_new_string(u->category));
            json_object_object_add(o, "title", json_object_new_string(u->title));
            json_object_object_add(o, "time_ms", json_object_new_int64((int64_t)u->time_ms));
            json_object_array_add(arr, o);
        } else {
            printf("%-16s %-26s %-12s %-12s %-12s %s\n", u->node_id, u->event_id,
                   gridctl_status_name(u->status), u->category, u->holder, u->title);
        }
    }
    *count += page ? page->n_updates : 0;
    return page ? page->next_page_token : NULL;
}

int gridctl_view(int argc, char **argv)
{
    static const struct option options[] = {
        GRIDCTL_COMMON_LONG_OPTIONS, { "of", required_argument, NULL, 1 },
        { "all", no_argument, NULL, 2 }, { NULL, 0, NULL, 0 },
    };
    gridctl_common_t common;
    s_init_common(&common);
    Gridrelay__ListView list = GRIDRELAY__LIST_VIEW__INIT;
    bool all = false;
    int opt;
    while ((opt = getopt_long(argc, argv, GRIDCTL_COMMON_SHORT, options, NULL)) != -1) {
        int c = gridctl_common_option(&common, opt, optarg);
        if (c < 0)
            return GRIDCTL_USAGE;
        if (c > 0)
            continue;
        if (opt == 1) {
            list.node_id = optarg;
        } else if (opt == 2) {
            all = true;
        } else {
            FILE *out = opt == 'h' ? stdout : stderr;
            fprintf(out, "Usage: gridctl view [--of NODE] [--all] [OPTIONS]\n\n"
                    "The superior's real-time view of lower tiers: the newest status of\n"
                    "every case held by a descendant node, as their status streams and\n"
                    "catch-up delivered it. --of limits it to one node.\n\n%s", gridctl_common_help);
            return opt == 'h' ? GRIDCTL_OK : GRIDCTL_USAGE;
        }
    }
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_LIST_VIEW;
    body.list_view = &list;
    char token[GRIDCTL_TOKEN_MAX] = "";
    json_object *arr = common.json ? json_object_new_array() : NULL;
    size_t total = 0;
    if (!arr)
        printf("%-16s %-26s %-12s %-12s %-12s %s\n", "NODE", "CASE", "STATUS", "CATEGORY", "HOLDER", "TITLE");
    int rc = gridctl_pages(&common, &body, &list.page_token, GRIDRELAY__BODY__KIND_VIEW_PAGE, all,
                           s_view_page, arr, token, &total);
    if (rc == GRIDCTL_OK && arr) {
        json_object *obj = json_object_new_object();
        json_object_object_add(obj, "cases", arr);
        json_object_object_add(obj, "next_page", json_object_new_string(token));
        printf("%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
        json_object_put(obj);
    } else {
        if (arr)
            json_object_put(arr);
        if (rc == GRIDCTL_OK)
            printf("(%zu case%s)\n", total, total == 1 ? "" : "s");
    }
    return rc;
}
