/* gridctl merge | unmerge: duplicate reports of one incident (合并). */
#include <stddef.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gridctl.h"

typedef struct {
    const char *note;
} s_merge_values_t;

static const gridctl_opt_t s_merge_options[] = {
    { .kind = GRIDCTL_OPT_STRING, .name = "note", .arg = "TEXT",
      .offset = offsetof(s_merge_values_t, note), .help = "why, for both timelines" },
    { .kind = GRIDCTL_OPT_END },
};

static const gridctl_cmd_t s_merge_cmd = {
    .name = "merge",
    .synopsis = "ID INTO_ID [--note TEXT] [OPTIONS]",
    .about =
"Merges (合并) the report ID into the case INTO_ID: two grid workers told of\n"
"one fire or one dispute, and it is to be handled once. Both cases must be\n"
"held by this node, open and not escalated, and of one category; ID must not\n"
"be assigned to a child node (INTO_ID may be), nor have reports merged into\n"
"it itself. Departments working on ID are told their task is withdrawn.\n"
"\n"
"From then on ID has no lifecycle of its own: no deadlines, no timers, no\n"
"escalation, nothing in the supervision list, and 'gridctl show ID' says\n"
"\"merged into INTO_ID\". Its record, its reporter's signed envelope and its\n"
"timeline stay as they were; both timelines record the merge. When INTO_ID\n"
"is resolved (here, by a department or by the result from a higher tier),\n"
"ID is resolved with the same result, which goes back to ID's own origin\n"
"like any result (down the tier links when it came from below). When\n"
"INTO_ID is escalated, ID goes up with it inside the escalation, and the\n"
"tier above holds it merged too.\n"
"\n"
"New reports are flagged as candidate duplicates of an open case when the\n"
"node has a [merge] section (same category, within its window and distance,\n"
"or in the same grid): 'gridctl show' and 'gridctl list' name the case.\n"
"Nothing is merged without this command.\n"
"\n"
"Refused (nothing changes): into itself or across categories (invalid), an\n"
"unknown INTO_ID (not_found), a closed, escalated or already merged case\n"
"(forbidden).\n",
    .arguments = "ID         the duplicate report\n"
                 "INTO_ID    the case it is part of\n",
    .options = s_merge_options,
    .connect = true,
    .min_args = 2,
    .max_args = 2,
    .examples = "gridctl merge 01JDX4R2A6B8C0D2E4F6G8H0JK 01JDX4Q8V3M2K7P9R5T1W6Y0ZB \\\n"
                "    --note 'same fire'",
};

static const gridctl_cmd_t s_unmerge_cmd = {
    .name = "unmerge",
    .synopsis = "ID [--note TEXT] [OPTIONS]",
    .about =
"Undoes 'gridctl merge': ID is a case of its own again, and the node's rules\n"
"apply to it at once (a deadline that passed while it was merged sends it up\n"
"now). Both timelines record it. Only at the node that made the merge, and\n"
"not once the case it joined was escalated (its result comes back with that\n"
"case's) or resolved. A case whose department tasks the merge withdrew stays\n"
"dispatched with no department: dispatch it again ('gridctl dispatch'), or its\n"
"resolve deadline sends it up.\n",
    .arguments = "ID    the merged report\n",
    .options = s_merge_options,
    .connect = true,
    .min_args = 1,
    .max_args = 1,
    .examples = "gridctl unmerge 01JDX4R2A6B8C0D2E4F6G8H0JK --note 'a second fire'",
};

static int s_run(bool merge, int argc, char **argv)
{
    gridctl_common_t common;
    s_merge_values_t v = { "" };
    int first = 0;
    int rc = gridctl_parse(merge ? &s_merge_cmd : &s_unmerge_cmd, argc, argv, &v, &common, &first);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
    const char *note = v.note;
    Gridrelay__CaseAction ca = GRIDRELAY__CASE_ACTION__INIT;
    ca.event_id = argv[first];
    ca.kind = merge ? GRIDRELAY__CASE_ACTION__KIND__MERGE : GRIDRELAY__CASE_ACTION__KIND__UNMERGE;
    ca.text = (char *)note;
    ca.target = merge ? argv[first + 1] : (char *)"";
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_CASE_ACTION;
    body.case_action = &ca;
    gr_opened_t reply;
    rc = gridctl_call_for(&common, &body, GRIDRELAY__BODY__KIND_ACK, &reply);
    if (rc != GRIDCTL_OK)
        return rc;
    const Gridrelay__Ack *ack = reply.body->ack;
    if (common.json) {
        json_object *obj = gridctl_ack_object(ack);
        json_object_object_add(obj, "status", json_object_new_string(gridctl_status_name(ack->status)));
        json_object_object_add(obj, "merged_into", json_object_new_string(merge ? ca.target : ""));
        gridctl_print_json(obj);
    } else if (merge) {
        printf("%s merged into %s\n", ack->event_id, ca.target);
    } else {
        printf("%s %s, a case of its own again\n", ack->event_id, gridctl_status_name(ack->status));
    }
    gr_opened_clear(&reply);
    return GRIDCTL_OK;
}

int gridctl_merge(int argc, char **argv) { return s_run(true, argc, argv); }
int gridctl_unmerge(int argc, char **argv) { return s_run(false, argc, argv); }
