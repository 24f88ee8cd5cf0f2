/* gridctl: talk to a gridrelayd node from the command line. */
#include "gridctl.h"

#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static void s_usage(FILE *out)
{
    fprintf(out,
"Usage: gridctl COMMAND [OPTIONS]\n"
"\n"
"Commands:\n"
"  keygen    make a new Ed25519 identity (secret and public key files)\n"
"  datakey   make, rotate, list a node's data key file (personal data at rest)\n"
"  report    submit an event report; prints the new event id\n"
"  list      list events, with filters and paging\n"
"  show ID   one event with its full timeline\n"
"  stats     the node's counters (--by KEY: case counts over time)\n"
"  accept ID            accept a case (受理)\n"
"  resolve ID --result  resolve a case (办结); the result goes back to its origin\n"
"  escalate ID          hand a case to the parent tier\n"
"  assign ID --to NODE  hand a case down to a child node (交办)\n"
"  dispatch ID DEPT     (re)dispatch a case to a department (分流)\n"
"  status    the node's tier links: up/down, last contact, outbox, lag\n"
"  view      the superior's view of every descendant's cases\n"
"  supervise            everything overdue here and below (督办), most late first\n"
"  urge ID [--note T]   send a supervision notice to whoever holds a case\n"
"  audit verify         walk the whole tamper-evident trail (or --store DIR)\n"
"  audit export ID      one case's signed evidence, to a file\n"
"  audit check FILE     verify such a file anywhere (--trust KEYS)\n"
"  daily     the day's daily reports (日报告): on time, late, missing, here and below\n"
"  merge ID INTO_ID     make a duplicate report part of another case (合并)\n"
"  unmerge ID           give a merged report its own lifecycle back\n"
"  rank                 rank this node, the nodes below and departments (考核)\n"
"  outbox list          what waits for the peers, and dead letters (refused for good)\n"
"  outbox retry|drop ID act on a dead letter (PEER/SEQ)\n"
"  backup --store DIR DEST  hot copy of a running node's store (on its machine)\n"
"  restore BACKUP DIR   restore a backup into a new data directory\n"
"  http-password        hash a web login's password for [http_users] (--api-key:\n"
"                       a new Open311 api_key)\n"
"\n"
"Department commands (signed with the department's own key):\n"
"  dept watch           follow the department's tasks: backlog, then changes\n"
"  dept tasks           list the department's open tasks\n"
"  dept claim ID        claim a task (签收)\n"
"  dept note ID TEXT    add a progress note to a task\n"
"  dept return ID REASON     give a task back (退回)\n"
"  dept complete ID RESULT   complete a task (办结)\n"
"\n"
"Run 'gridctl COMMAND --help' (or 'gridctl dept SUBCOMMAND --help') for the\n"
"options of each command.\n"
"\n"
"Exit status: 0 success; 1 refused by the node (its error is printed);\n"
"2 usage error; 3 no reply from the node (safe to retry); 4 local error\n"
"(key file, memory); 5 an audit found a break.\n");
}

static int s_print_error(const gridctl_common_t *common, const Gridrelay__Error *error)
{
    if (common->json) {
        json_object *obj = json_object_new_object();
        json_object_object_add(obj, "error", json_object_new_string(gridctl_error_name(error->code)));
        json_object_object_add(obj, "message", json_object_new_string(error->message ? error->message : ""));
        gridctl_print_json(obj);
    }
    fprintf(stderr, "gridctl: refused by the node: %s: %s\n", gridctl_error_name(error->code),
            error->message ? error->message : "");
    return GRIDCTL_REFUSED;
}

int gridctl_identity(const gridctl_common_t *common, const char **node, gr_keypair_t *kp,
                     uint8_t node_pk[GR_PUBLIC_KEY_BYTES])
{
    const char *endpoint = common->node ? common->node : getenv("GRIDRELAY_NODE");
    const char *key = common->key ? common->key : getenv("GRIDRELAY_KEY");
    const char *node_key = common->node_key ? common->node_key : getenv("GRIDRELAY_NODE_KEY");
    const char *missing = !endpoint || !*endpoint ? "--node (or GRIDRELAY_NODE)"
                          : !key || !*key ? "--key (or GRIDRELAY_KEY)"
                          : !node_key || !*node_key ? "--node-key (or GRIDRELAY_NODE_KEY)" : NULL;
    if (missing) {
        fprintf(stderr, "gridctl: %s is required\n", missing);
        return GRIDCTL_USAGE;
    }
    if (gr_keys_init() != 0)
        return GRIDCTL_LOCAL;
    char err[512];
    if (gr_keys_load_secret(kp, key, err, sizeof err) != 0) {
        fprintf(stderr, "gridctl: %s\n", err);
        return GRIDCTL_LOCAL;
    }
    int rc = node_key[0] == '@' ? gr_key_load_public(node_pk, node_key + 1, err, sizeof err)
                                : gr_key_from_hex(node_pk, node_key);
    if (rc != 0) {
        memset(kp, 0, sizeof *kp);
        fprintf(stderr, "gridctl: --node-key: %s\n",
                node_key[0] == '@' ? err : "expected 64 hex digits or @FILE");
        return GRIDCTL_USAGE;
    }
    *node = endpoint;
    return GRIDCTL_OK;
}

int gridctl_call(const gridctl_common_t *common, const Gridrelay__Body *request,
                 gr_opened_t *reply)
{
    const char *node = NULL;
    gr_keypair_t kp;
    uint8_t node_pk[GR_PUBLIC_KEY_BYTES];
    int rc = gridctl_identity(common, &node, &kp, node_pk);
    if (rc != GRIDCTL_OK)
        return rc;
    gr_client_t *client = gr_client_new(NULL, node, &kp, node_pk);
    memset(&kp, 0, sizeof kp);
    if (!client) {
        fprintf(stderr, "gridctl: cannot connect to %s: bad endpoint?\n", node);
        return GRIDCTL_USAGE;
    }
    rc = gr_client_call(client, request, reply, common->timeout_ms, common->attempts);
    gr_client_destroy(&client);
    if (rc == GR_ETIMEOUT) {
        fprintf(stderr, "gridctl: no reply from %s after %d attempt(s) of %d ms\n", node,
                common->attempts, common->timeout_ms);
        return GRIDCTL_NO_REPLY;
    }
    if (rc != 0) {
        fprintf(stderr, "gridctl: %s\n", gr_strerror(rc));
        return GRIDCTL_NO_REPLY;
    }
    if (reply->body->kind_case == GRIDRELAY__BODY__KIND_ERROR) {
        int code = s_print_error(common, reply->body->error);
        gr_opened_clear(reply);
        return code;
    }
    return GRIDCTL_OK;
}

/* The message name of a Body kind, for an error line. */
static const char *s_kind_name(Gridrelay__Body__KindCase kind)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&gridrelay__body__descriptor, (unsigned)kind);
    return f ? f->name : "nothing";
}

int gridctl_call_for(const gridctl_common_t *common, const Gridrelay__Body *request,
                     Gridrelay__Body__KindCase kind, gr_opened_t *reply)
{
    int rc = gridctl_call(common, request, reply);
    if (rc != GRIDCTL_OK)
        return rc;
    if (reply->body->kind_case != kind) {
        fprintf(stderr, "gridctl: the node answered with %s, not %s\n",
                s_kind_name(reply->body->kind_case), s_kind_name(kind));
        gr_opened_clear(reply);
        return GRIDCTL_REFUSED;
    }
    return GRIDCTL_OK;
}

int gridctl_pages(const gridctl_common_t *common, const gridctl_listing_t *listing,
                  char token[GRIDCTL_TOKEN_MAX], size_t *total)
{
    *total = 0;
    for (;;) {
        *listing->token_slot = token;
        gr_opened_t reply;
        int rc = gridctl_call_for(common, listing->request, listing->kind, &reply);
        if (rc != GRIDCTL_OK)
            return rc;
        const char *next = listing->page(listing->ctx, reply.body, total);
        snprintf(token, GRIDCTL_TOKEN_MAX, "%s", next ? next : "");
        gr_opened_clear(&reply);
        if (!listing->all || !token[0])
            return GRIDCTL_OK;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        s_usage(stderr);
        return GRIDCTL_USAGE;
    }
    const char *cmd = argv[1];
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } commands[] = {
        { "keygen", gridctl_keygen }, { "datakey", gridctl_datakey }, { "report", gridctl_report }, { "list", gridctl_list },
        { "show", gridctl_show },     { "stats", gridctl_stats },   { "accept", gridctl_accept },
        { "resolve", gridctl_resolve }, { "escalate", gridctl_escalate }, { "assign", gridctl_assign },
        { "dispatch", gridctl_dispatch }, { "dept", gridctl_dept },
        { "status", gridctl_status }, { "view", gridctl_view },
        { "supervise", gridctl_supervise }, { "urge", gridctl_urge },
        { "audit", gridctl_audit },
        { "daily", gridctl_daily },
        { "merge", gridctl_merge }, { "unmerge", gridctl_unmerge },
        { "rank", gridctl_rank },
        { "outbox", gridctl_outbox },
        { "backup", gridctl_backup }, { "restore", gridctl_restore },
        { "http-password", gridctl_http_password },
    };
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        s_usage(stdout);
        return GRIDCTL_OK;
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        printf("gridctl %s\n", GR_VERSION);
        return GRIDCTL_OK;
    }
    fprintf(stderr, "gridctl: unknown command '%s'\n", cmd);
    s_usage(stderr);
    return GRIDCTL_USAGE;
}
