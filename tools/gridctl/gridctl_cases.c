/* gridctl accept | resolve | escalate | assign | dispatch | status | view:
 * an operator's decisions on cases and the view of the tier links. */
#include <stddef.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gridctl.h"

/* Where the options of a case action go. */
typedef struct {
    const char *text;
    const char *target;
} s_action_values_t;

#define S_TEXT_OPTION(option, what)                                                         \
    { .kind = GRIDCTL_OPT_STRING, .name = option, .arg = "TEXT",                            \
      .offset = offsetof(s_action_values_t, text), .help = what }

static const gridctl_opt_t s_note_options[] = {
    S_TEXT_OPTION("note", "a note for the case's timeline"),
    { .kind = GRIDCTL_OPT_END },
};
static const gridctl_opt_t s_result_options[] = {
    S_TEXT_OPTION("result", "what was done (required); it goes into the timeline\n"
                            "and back to the node that reported the case"),
    { .kind = GRIDCTL_OPT_END },
};
static const gridctl_opt_t s_reason_options[] = {
    S_TEXT_OPTION("reason", "why, for the timeline"),
    { .kind = GRIDCTL_OPT_END },
};
static const gridctl_opt_t s_assign_options[] = {
    { .kind = GRIDCTL_OPT_STRING, .name = "to", .arg = "CHILD",
      .offset = offsetof(s_action_values_t, target),
      .help = "the child node (its id in [children]) that is to handle\nit (required)" },
    S_TEXT_OPTION("reason", "why, for the timeline"),
    { .kind = GRIDCTL_OPT_END },
};

typedef struct {
    gridctl_cmd_t cmd;
    Gridrelay__CaseAction__Kind kind;
    bool text_required;
    bool target;                /* --to CHILD */
} s_action_t;

#define S_ACTION_ARGS "  ID    the case's event id\n"

static const s_action_t s_actions[] = {
    { { .name = "accept", .synopsis = "ID [--note TEXT] [OPTIONS]", .connect = true,
        .min_args = 1, .max_args = 1, .arguments = S_ACTION_ARGS, .options = s_note_options,
        .about = "Accepts (受理) a case held by this node: its resolve deadline starts.",
        .examples = "gridctl accept 01JDX4Q8V3M2K7P9R5T1W6Y0ZB --note 'on my way'" },
      GRIDRELAY__CASE_ACTION__KIND__ACCEPT, false, false },
    { { .name = "resolve", .synopsis = "ID --result TEXT [OPTIONS]", .connect = true,
        .min_args = 1, .max_args = 1, .arguments = S_ACTION_ARGS, .options = s_result_options,
        .about = "Resolves (办结) a case; the result travels back down every hop to the node\n"
                 "where the case was reported (反馈), and up to a parent that assigned it.",
        .examples = "gridctl resolve 01JDX4Q8V3M2K7P9R5T1W6Y0ZB --result 'fire out, no injuries'" },
      GRIDRELAY__CASE_ACTION__KIND__RESOLVE, true, false },
    { { .name = "escalate", .synopsis = "ID [--reason TEXT] [OPTIONS]", .connect = true,
        .min_args = 1, .max_args = 1, .arguments = S_ACTION_ARGS, .options = s_reason_options,
        .about = "Hands a case to the parent tier (operator's decision), with this node's\n"
                 "signed hop added to its path.",
        .examples = "gridctl escalate 01JDX4Q8V3M2K7P9R5T1W6Y0ZB --reason 'needs the district'" },
      GRIDRELAY__CASE_ACTION__KIND__ESCALATE, false, false },
    { { .name = "assign", .synopsis = "ID --to CHILD [--reason TEXT] [OPTIONS]", .connect = true,
        .min_args = 1, .max_args = 1, .arguments = S_ACTION_ARGS, .options = s_assign_options,
        .about = "Hands a case down (交办) to a named child node, with a time limit; the child\n"
                 "acknowledges, handles it and reports the result up.",
        .examples = "gridctl assign 01JDX4Q8V3M2K7P9R5T1W6Y0ZB --to village-a1" },
      GRIDRELAY__CASE_ACTION__KIND__ASSIGN, false, true },
    { { .name = "urge", .synopsis = "ID [--note TEXT] [OPTIONS]", .connect = true,
        .min_args = 1, .max_args = 1, .arguments = S_ACTION_ARGS, .options = s_note_options,
        .about = "Sends a supervision notice (督办通知) to whoever holds the case: the department\n"
                 "it is dispatched to here, the child node it was assigned to, or (for a case\n"
                 "this node only sees in its view) the node below that holds it, passed down\n"
                 "the tier links. The holder sees it in its timeline, its supervision list and\n"
                 "(a department) in 'gridctl dept watch'; this node keeps it too. A case that\n"
                 "is closed, held above, or held here and not below is refused (forbidden).",
        .examples = "gridctl urge 01JDX4Q8V3M2K7P9R5T1W6Y0ZB --note 'two days late'" },
      GRIDRELAY__CASE_ACTION__KIND__URGE, false, false },
};

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
    gridctl_common_t common;
    s_action_values_t v = { NULL, NULL };
    int first = 0;
    int rc = gridctl_parse(&a->cmd, argc, argv, &v, &common, &first);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
    if (a->text_required && !v.text)
        return gridctl_usage_error(&a->cmd, "--result is required");
    if (a->target && !v.target)
        return gridctl_usage_error(&a->cmd, "--to is required");
    Gridrelay__CaseAction ca = GRIDRELAY__CASE_ACTION__INIT;
    ca.event_id = argv[first];
    ca.kind = a->kind;
    ca.text = (char *)(v.text ? v.text : "");
    ca.target = (char *)(v.target ? v.target : "");
    return s_send_action(&common, &ca);
}

int gridctl_accept(int argc, char **argv) { return s_case_action(&s_actions[0], argc, argv); }
int gridctl_resolve(int argc, char **argv) { return s_case_action(&s_actions[1], argc, argv); }
int gridctl_escalate(int argc, char **argv) { return s_case_action(&s_actions[2], argc, argv); }
int gridctl_assign(int argc, char **argv) { return s_case_action(&s_actions[3], argc, argv); }
int gridctl_urge(int argc, char **argv) { return s_case_action(&s_actions[4], argc, argv); }

typedef struct {
    gridctl_strings_t co;
    const char *reason;
} s_dispatch_values_t;

static const gridctl_opt_t s_dispatch_options[] = {
    { .kind = GRIDCTL_OPT_LIST, .name = "co", .arg = "DEPT",
      .offset = offsetof(s_dispatch_values_t, co),
      .help = "a co-handling department (协办); repeat for several\n"
              "(the node takes at most 8, none of them the lead).\n"
              "With --co the co-handlers are replaced by these;\n"
              "without it those the case has keep their tasks" },
    { .kind = GRIDCTL_OPT_STRING, .name = "reason", .arg = "TEXT",
      .offset = offsetof(s_dispatch_values_t, reason), .help = "why, for the timeline" },
    { .kind = GRIDCTL_OPT_END },
};

static const gridctl_cmd_t s_dispatch_cmd = {
    .name = "dispatch",
    .synopsis = "ID DEPT [--co DEPT]... [--reason TEXT] [OPTIONS]",
    .about =
"Dispatches (分流) a case held by this node to the department DEPT, or\n"
"redispatches it to another one. The department that held the task is told\n"
"it is withdrawn (its claim, if any, ends); DEPT gets a new task with a fresh\n"
"claim deadline ([deadlines] claim.*) and works it with 'gridctl dept'. The\n"
"case becomes dispatched and the operator's name and reason go into its\n"
"timeline. A node with a [dispatch] routing table dispatches new cases by\n"
"itself; this command is the operator overriding or completing that.\n"
"\n"
"Allowed while the case is reported, accepted, dispatched, in_progress or\n"
"returned here; otherwise the node refuses (forbidden).\n",
    .arguments =
"ID      the case's event id\n"
"DEPT    the lead department (主办): a code from the node's [departments]\n",
    .options = s_dispatch_options,
    .connect = true,
    .min_args = 2,
    .max_args = 2,
    .examples = "gridctl dispatch 01JDX4Q8V3M2K7P9R5T1W6Y0ZB fire --co police --reason 'smoke'",
};

int gridctl_dispatch(int argc, char **argv)
{
    gridctl_common_t common;
    s_dispatch_values_t v = { .reason = NULL };
    int first = 0;
    int rc = gridctl_parse(&s_dispatch_cmd, argc, argv, &v, &common, &first);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
    Gridrelay__CaseAction ca = GRIDRELAY__CASE_ACTION__INIT;
    ca.event_id = argv[first];
    ca.kind = GRIDRELAY__CASE_ACTION__KIND__DISPATCH;
    ca.target = argv[first + 1];
    ca.text = (char *)(v.reason ? v.reason : "");
    ca.co = (char **)v.co.items;
    ca.n_co = v.co.n;
    return s_send_action(&common, &ca);
}

static const gridctl_cmd_t s_status_cmd = {
    .name = "status",
    .synopsis = "[OPTIONS]",
    .about =
"Shows the node's tier links: for the parent, the skip-level ancestor and\n"
"each child, whether it is up, when it was last heard from, how many\n"
"messages wait in the outbox for it or are in flight, and (children) the\n"
"last status update stored from it.\n",
    .connect = true,
    .examples = "gridctl status --node tcp://127.0.0.1:7001 --key op.key --node-key @node.pub",
};

int gridctl_status(int argc, char **argv)
{
    gridctl_common_t common;
    int rc = gridctl_parse(&s_status_cmd, argc, argv, NULL, &common, NULL);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
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
            json_object_object_add(o, "held", json_object_new_int64((int64_t)l->held));
            json_object_array_add(arr, o);
        }
        json_object_object_add(obj, "links", arr);
        gridctl_print_json(obj);
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

typedef struct {
    const char *of;
    bool all;
} s_view_values_t;

static const gridctl_opt_t s_view_options[] = {
    { .kind = GRIDCTL_OPT_STRING, .name = "of", .arg = "NODE",
      .offset = offsetof(s_view_values_t, of), .help = "only the cases held by this node" },
    { .kind = GRIDCTL_OPT_FLAG, .name = "all", .offset = offsetof(s_view_values_t, all),
      .help = "follow every page to the end" },
    { .kind = GRIDCTL_OPT_END },
};

static const gridctl_cmd_t s_view_cmd = {
    .name = "view",
    .synopsis = "[--of NODE] [--all] [OPTIONS]",
    .about =
"The superior's real-time view of lower tiers: the newest status of\n"
"every case held by a descendant node, as their status streams and\n"
"catch-up delivered it. --of limits it to one node.\n",
    .options = s_view_options,
    .connect = true,
    .max_args = -1,
    .examples = "gridctl view --of town-a --all --json",
};

int gridctl_view(int argc, char **argv)
{
    gridctl_common_t common;
    s_view_values_t v = { NULL, false };
    int rc = gridctl_parse(&s_view_cmd, argc, argv, &v, &common, NULL);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
    Gridrelay__ListView list = GRIDRELAY__LIST_VIEW__INIT;
    list.node_id = (char *)v.of;
    bool all = v.all;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_LIST_VIEW;
    body.list_view = &list;
    char token[GRIDCTL_TOKEN_MAX] = "";
    json_object *arr = common.json ? json_object_new_array() : NULL;
    size_t total = 0;
    if (!arr)
        printf("%-16s %-26s %-12s %-12s %-12s %s\n", "NODE", "CASE", "STATUS", "CATEGORY", "HOLDER", "TITLE");
    const gridctl_listing_t listing = { &body, &list.page_token, GRIDRELAY__BODY__KIND_VIEW_PAGE,
                                        all, s_view_page, arr };
    rc = gridctl_pages(&common, &listing, token, &total);
    if (rc == GRIDCTL_OK && arr) {
        json_object *obj = json_object_new_object();
        json_object_object_add(obj, "cases", arr);
        json_object_object_add(obj, "next_page", json_object_new_string(token));
        gridctl_print_json(obj);
    } else {
        if (arr)
            json_object_put(arr);
        if (rc == GRIDCTL_OK)
            printf("(%zu case%s)\n", total, total == 1 ? "" : "s");
    }
    return rc;
}
