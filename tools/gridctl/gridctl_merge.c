/* gridctl merge | unmerge: duplicate reports of one incident (合并). */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gridctl.h"

static void s_merge_usage(FILE *out)
{
    fprintf(out,
"Usage: gridctl merge ID INTO_ID [--note TEXT] [OPTIONS]\n"
"\n"
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
"(forbidden).\n"
"\n"
"Options:\n"
"      --note TEXT       why, for both timelines\n"
"\n%s", gridctl_common_help);
}

static void s_unmerge_usage(FILE *out)
{
    fprintf(out,
"Usage: gridctl unmerge ID [--note TEXT] [OPTIONS]\n"
"\n"
"Undoes 'gridctl merge': ID is a case of its own again, and the node's rules\n"
"apply to it at once (a deadline that passed while it was merged sends it up\n"
"now). Both timelines record it. Only at the node that made the merge, and\n"
"not once the case it joined was escalated (its result comes back with that\n"
"case's) or resolved. A case whose department tasks the merge withdrew stays\n"
"dispatched with no department: dispatch it again ('gridctl dispatch'), or its\n"
"resolve deadline sends it up.\n"
"\n"
"Options:\n"
"      --note TEXT       why, for both timelines\n"
"\n%s", gridctl_common_help);
}

static int s_run(bool merge, int argc, char **argv)
{
    static const struct option options[] = {
        GRIDCTL_COMMON_LONG_OPTIONS,
        { "note", required_argument, NULL, 1 },
        { NULL, 0, NULL, 0 },
    };
    void (*usage)(FILE *) = merge ? s_merge_usage : s_unmerge_usage;
    gridctl_common_t common;
    memset(&common, 0, sizeof common);
    common.timeout_ms = 3000;
    common.attempts = 3;
    const char *note = "";
    int opt;
    while ((opt = getopt_long(argc, argv, GRIDCTL_COMMON_SHORT, options, NULL)) != -1) {
        int c = gridctl_common_option(&common, opt, optarg);
        if (c < 0)
            return GRIDCTL_USAGE;
        if (c > 0)
            continue;
        if (opt == 1) {
            note = optarg;
        } else if (opt == 'h') {
            usage(stdout);
            return GRIDCTL_OK;
        } else {
            usage(stderr);
            return GRIDCTL_USAGE;
        }
    }
    if (argc - optind != (merge ? 2 : 1)) {
        usage(stderr);
        return GRIDCTL_USAGE;
    }
    Gridrelay__CaseAction ca = GRIDRELAY__CASE_ACTION__INIT;
    ca.event_id = argv[optind];
    ca.kind = merge ? GRIDRELAY__CASE_ACTION__KIND__MERGE : GRIDRELAY__CASE_ACTION__KIND__UNMERGE;
    ca.text = (char *)note;
    ca.target = merge ? argv[optind + 1] : (char *)"";
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_CASE_ACTION;
    body.case_action = &ca;
    gr_opened_t reply;
    int rc = gridctl_call_for(&common, &body, GRIDRELAY__BODY__KIND_ACK, &reply);
    if (rc != GRIDCTL_OK)
        return rc;
    const Gridrelay__Ack *ack = reply.body->ack;
    if (common.json) {
        json_object *obj = json_object_new_object();
        json_object_object_add(obj, "id", json_object_new_string(ack->event_id));
        json_object_object_add(obj, "status", json_object_new_string(gridctl_status_name(ack->status)));
        json_object_object_add(obj, "merged_into", json_object_new_string(merge ? ca.target : ""));
        printf("%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
        json_object_put(obj);
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
