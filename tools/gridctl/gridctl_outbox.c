/* gridctl outbox: what waits for this node's peers, and the dead letters
 * (messages a peer refused for good): list, retry, drop (node/outbox.h). */
#include <stddef.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gridctl.h"

typedef struct {
    const char *peer, *reason;
    bool dead;
    uint64_t limit;
} s_outbox_values_t;

static const gridctl_opt_t s_outbox_options[] = {
    { .kind = GRIDCTL_OPT_STRING, .name = "peer", .letter = 'p', .arg = "P",
      .offset = offsetof(s_outbox_values_t, peer), .help = "list: only this peer's outbox" },
    { .kind = GRIDCTL_OPT_FLAG, .name = "dead", .letter = 'd', .offset = offsetof(s_outbox_values_t, dead),
      .help = "list: only the dead letters" },
    { .kind = GRIDCTL_OPT_U64, .name = "limit", .letter = 'l', .arg = "N", .min = 1, .max = 1000,
      .offset = offsetof(s_outbox_values_t, limit),
      .help = "list: at most N waiting and N dead per peer (default 100)" },
    { .kind = GRIDCTL_OPT_STRING, .name = "reason", .letter = 'r', .arg = "TEXT",
      .offset = offsetof(s_outbox_values_t, reason), .help = "drop: why, for the timeline" },
    { .kind = GRIDCTL_OPT_END },
};

/* One table for the three verbs: the parse sees argv from the verb on. */
static const gridctl_cmd_t s_outbox_cmd = {
    .name = "outbox",
    .synopsis = "list [--peer P] [--dead] [--limit N] [OPTIONS]\n"
                "retry PEER/SEQ [OPTIONS]\n"
                "drop PEER/SEQ [--reason TEXT] [OPTIONS]",
    .about =
"list shows the messages waiting in the node's outbox for each peer\n"
"(parent, skip, or a child's id) and its dead letters: messages the peer\n"
"refused for good (forbidden, invalid, unknown_category...), which the node\n"
"keeps but no longer sends. One line each: PEER/SEQ, state (waiting, dead,\n"
"dropped), kind, case, time, and for a dead letter the peer's refusal.\n"
"retry queues a dead letter again (a new seq, at the end of the peer's\n"
"outbox) once what made the peer refuse it is fixed; drop gives it up: it\n"
"stays listed as dropped, and the case's timeline (and so the audit ledger)\n"
"records who dropped it. retry and drop need an [operators] key.\n",
    .options = s_outbox_options,
    .connect = true,
    .max_args = 1,
    .timeout_ms = 5000,
    .examples = "gridctl outbox list --dead\n"
                "gridctl outbox retry town-a/1764547200123456\n"
                "gridctl outbox drop town-a/1764547200123456 --reason 'category retired'",
};

static int s_list(gridctl_common_t *common, const char *peer, bool dead_only, unsigned limit)
{
    Gridrelay__OutboxList ask = GRIDRELAY__OUTBOX_LIST__INIT;
    ask.peer = (char *)(peer ? peer : "");
    ask.dead_only = dead_only;
    ask.limit = limit;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_OUTBOX_LIST;
    body.outbox_list = &ask;
    gr_opened_t reply;
    int rc = gridctl_call_for(common, &body, GRIDRELAY__BODY__KIND_OUTBOX_PAGE, &reply);
    if (rc != GRIDCTL_OK)
        return rc;
    const Gridrelay__OutboxPage *page = reply.body->outbox_page;
    json_object *arr = common->json ? json_object_new_array() : NULL;
    for (size_t i = 0; i < page->n_items; i++) {
        const Gridrelay__OutboxItem *it = page->items[i];
        const char *state = it->dropped ? "dropped" : it->dead ? "dead" : "waiting";
        char when[32];
        gridctl_format_time(when, it->dead ? it->dead_ms : it->queued_ms);
        if (arr) {
            json_object *o = json_object_new_object();
            char id[320];
            snprintf(id, sizeof id, "%s/%" PRIu64, it->peer, it->seq);
            json_object_object_add(o, "id", json_object_new_string(id));
            json_object_object_add(o, "peer", json_object_new_string(it->peer));
            json_object_object_add(o, "seq", json_object_new_uint64(it->seq));
            json_object_object_add(o, "state", json_object_new_string(state));
            json_object_object_add(o, "kind", json_object_new_string(it->kind));
            json_object_object_add(o, "event_id", json_object_new_string(it->event_id));
            json_object_object_add(o, "queued_ms", json_object_new_uint64(it->queued_ms));
            if (it->dead) {
                json_object_object_add(o, "error", json_object_new_string(
                    gridctl_error_name(it->code)));
                json_object_object_add(o, "message", json_object_new_string(it->message));
                json_object_object_add(o, "dead_ms", json_object_new_uint64(it->dead_ms));
            }
            if (it->dropped) {
                json_object_object_add(o, "dropped_by", json_object_new_string(it->dropped_by));
                json_object_object_add(o, "dropped_ms", json_object_new_uint64(it->dropped_ms));
            }
            json_object_array_add(arr, o);
            continue;
        }
        printf("%s/%" PRIu64 "  %-7s  %-10s  %-26s  %s", it->peer, it->seq, state, it->kind,
               *it->event_id ? it->event_id : "-", when);
        if (it->dead)
            printf("  %s: %s", gridctl_error_name(it->code), it->message);
        if (it->dropped)
            printf("  (dropped by %s)", it->dropped_by);
        printf("\n");
    }
    if (arr) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "items", arr);
        json_object_object_add(o, "waiting", json_object_new_uint64(page->waiting));
        json_object_object_add(o, "dead", json_object_new_uint64(page->dead));
        json_object_object_add(o, "truncated", json_object_new_boolean(page->truncated));
        gridctl_print_json(o);
    } else {
        printf("%" PRIu64 " waiting, %" PRIu64 " dead%s\n", page->waiting, page->dead,
               page->truncated ? " (more than shown: --limit, --peer)" : "");
    }
    gr_opened_clear(&reply);
    return GRIDCTL_OK;
}

static int s_act(gridctl_common_t *common, Gridrelay__OutboxAction__Kind kind, const char *id,
                 const char *reason)
{
    char peer[300];
    const char *slash = strrchr(id, '/');
    char *end = NULL;
    unsigned long long seq = slash ? strtoull(slash + 1, &end, 10) : 0;
    if (!slash || slash == id || (size_t)(slash - id) >= sizeof peer || !end || *end ||
        slash[1] == '\0') {
        fprintf(stderr, "gridctl: outbox: an item is named PEER/SEQ, as outbox list shows it\n");
        return GRIDCTL_USAGE;
    }
    memcpy(peer, id, (size_t)(slash - id));
    peer[slash - id] = '\0';
    Gridrelay__OutboxAction act = GRIDRELAY__OUTBOX_ACTION__INIT;
    act.kind = kind;
    act.peer = peer;
    act.seq = seq;
    act.reason = (char *)(reason ? reason : "");
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_OUTBOX_ACTION;
    body.outbox_action = &act;
    gr_opened_t reply;
    int rc = gridctl_call_for(common, &body, GRIDRELAY__BODY__KIND_ACK, &reply);
    if (rc != GRIDCTL_OK)
        return rc;
    const char *case_id = reply.body->ack->event_id;
    const char *done = kind == GRIDRELAY__OUTBOX_ACTION__KIND__RETRY ? "queued again" : "dropped";
    if (common->json)
        printf("{\"id\":\"%s\",\"done\":\"%s\",\"event_id\":\"%s\"}\n", id, done,
               case_id ? case_id : "");
    else
        printf("%s %s%s%s\n", id, done, case_id && *case_id ? ", case " : "",
               case_id ? case_id : "");
    gr_opened_clear(&reply);
    return GRIDCTL_OK;
}

int gridctl_outbox(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        gridctl_help(&s_outbox_cmd, argc < 2 ? stderr : stdout);
        return argc < 2 ? GRIDCTL_USAGE : GRIDCTL_OK;
    }
    const char *sub = argv[1];
    gridctl_common_t common;
    s_outbox_values_t v;
    memset(&v, 0, sizeof v);
    int first = 0;
    int rc = gridctl_parse(&s_outbox_cmd, argc - 1, argv + 1, &v, &common, &first);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
    const char *peer = v.peer, *reason = v.reason;
    bool dead_only = v.dead;
    uint64_t limit = v.limit;
    int rest = argc - 1 - first;
    char **args = argv + 1 + first;
    if (strcmp(sub, "list") == 0 && rest == 0)
        return s_list(&common, peer, dead_only, (unsigned)limit);
    if (strcmp(sub, "retry") == 0 && rest == 1)
        return s_act(&common, GRIDRELAY__OUTBOX_ACTION__KIND__RETRY, args[0], NULL);
    if (strcmp(sub, "drop") == 0 && rest == 1)
        return s_act(&common, GRIDRELAY__OUTBOX_ACTION__KIND__DROP, args[0], reason);
    return gridctl_usage_error(&s_outbox_cmd, "list, retry PEER/SEQ or drop PEER/SEQ");
}
