/* gridctl dept watch | tasks | claim | note | return | complete: a
 * department's own tool, built on the department client library
 * (broker/dept_client.h) and signed with the department's key. */
#include <stddef.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dept_client.h"
#include "error.h"
#include "gridctl.h"

/* Options of every dept subcommand: the common ones plus what watch and
 * tasks need. */
typedef struct {
    gridctl_common_t common;
    const char *notice_endpoint;  /* --notice-endpoint */
    const char *note;             /* claim --note */
    uint64_t count;               /* watch --count; 0 = no limit */
    uint64_t watch_ms;            /* watch --timeout-ms; 0 = no limit */
} s_opts_t;

typedef struct s_sub s_sub_t;
struct s_sub {
    gridctl_cmd_t cmd;            /* name "dept NAME", its options into s_opts_t */
    Gridrelay__TaskAction__Kind kind;  /* actions; 0 for watch and tasks */
    const char *done;             /* what an action's output says happened */
    int (*run)(const s_sub_t *sub, s_opts_t *opts, char **args);
};

static int s_watch(const s_sub_t *sub, s_opts_t *opts, char **args);
static int s_tasks(const s_sub_t *sub, s_opts_t *opts, char **args);
static int s_act(const s_sub_t *sub, s_opts_t *opts, char **args);

#define K(x) GRIDRELAY__TASK_ACTION__KIND__##x

#define S_NOTICE_OPTION(what)                                                               \
    { .kind = GRIDCTL_OPT_STRING, .name = "notice-endpoint", .arg = "EP",                   \
      .offset = offsetof(s_opts_t, notice_endpoint), .help = what }

static const gridctl_opt_t s_watch_options[] = {
    { .kind = GRIDCTL_OPT_U64, .name = "count", .arg = "N", .min = 1, .max = 1000000000,
      .expect = "a positive number", .offset = offsetof(s_opts_t, count),
      .help = "stop after N printed changes (backlog lines count)" },
    { .kind = GRIDCTL_OPT_U64, .name = "timeout-ms", .arg = "MS", .min = 1, .max = 1000000000,
      .expect = "a positive number", .offset = offsetof(s_opts_t, watch_ms),
      .help = "stop after MS milliseconds in all" },
    S_NOTICE_OPTION("subscribe here instead of where the node says it\n"
                    "publishes (needed when it binds 0.0.0.0)"),
    { .kind = GRIDCTL_OPT_END },
};

static const gridctl_opt_t s_tasks_options[] = {
    S_NOTICE_OPTION("as for watch (the listing subscribes once)"),
    { .kind = GRIDCTL_OPT_END },
};

static const gridctl_opt_t s_claim_options[] = {
    { .kind = GRIDCTL_OPT_STRING, .name = "note", .arg = "TEXT", .offset = offsetof(s_opts_t, note),
      .help = "a note for the timeline" },
    { .kind = GRIDCTL_OPT_END },
};

#define S_CASE_ID "ID    the case's event id (the task is this department's for it)\n"

static const s_sub_t s_subs[] = {
    { { .name = "dept watch", .synopsis = "[--count N] [--timeout-ms MS] [--notice-endpoint EP] [OPTIONS]",
        .about =
      "Follows the department's tasks on the node. First lists every open task\n"
      "(the backlog, one 'added' line each), then prints each change as it\n"
      "happens, one line per change:\n"
      "  added     a task for this department (dispatched, redispatched to it,\n"
      "            or found on a re-list after a reconnect)\n"
      "  urged     督办: the node says the task is overdue (claim or complete)\n"
      "  removed   no longer this department's (withdrawn, redispatched, the\n"
      "            case resolved or went up, or returned/completed by it)\n"
      "Each line: time (UTC), change, event id, severity, category, title in\n"
      "quotes, due time ('-' for none) and the node's reason. Notices from the\n"
      "node are only a doorbell: on a gap in their sequence, a reconnect of the\n"
      "subscription and every 30 s the task list is fetched again, so a watch\n"
      "that was cut off misses nothing.\n"
      "\n"
      "With --json each change is one JSON object on a line of its own: the\n"
      "task's fields (event_id, dept, lead, state, severity, category, title,\n"
      "grid_code, due_ms, urged, co_depts, lead_dept...) plus time_ms, time,\n"
      "change and reason.\n"
      "\n"
      "Runs until SIGINT or SIGTERM (exit 0), or until --count changes were\n"
      "printed (exit 0), or until --timeout-ms passed first (exit 3 with\n"
      "--count; exit 0 without).",
        .options = s_watch_options, .connect = true,
        .examples = "gridctl dept watch --key fire.key --json\n"
                    "gridctl dept watch --count 1 --timeout-ms 10000" },
      0, NULL, s_watch },
    { { .name = "dept tasks", .synopsis = "[--notice-endpoint EP] [OPTIONS]",
        .about =
      "Lists the department's open tasks on the node once (claimed ones too):\n"
      "event id, state, lead or co-handler, severity, category, due time and\n"
      "title; with --json a JSON array of tasks.",
        .options = s_tasks_options, .connect = true,
        .examples = "gridctl dept tasks --key fire.key" },
      0, NULL, s_tasks },
    { { .name = "dept claim", .synopsis = "ID [--note TEXT] [OPTIONS]",
        .about =
      "Claims (签收) the department's task for case ID: the department takes it\n"
      "on. For the lead department the case becomes in_progress and its\n"
      "complete-by deadline ([deadlines] complete.*) starts; a co-handler's\n"
      "claim is recorded in the timeline. Claiming again is acknowledged and\n"
      "changes nothing.",
        .arguments = S_CASE_ID, .options = s_claim_options, .connect = true,
        .min_args = 1, .max_args = 1,
        .examples = "gridctl dept claim 01JDX4Q8V3M2K7P9R5T1W6Y0ZB --note 'crew 2 on the way'" },
      K(CLAIM), "claimed", s_act },
    { { .name = "dept note", .synopsis = "ID TEXT [OPTIONS]",
        .about =
      "Adds a progress note (TEXT, required) to the case's timeline from the\n"
      "department's task for case ID, lead or co-handler, claimed or not.",
        .arguments = S_CASE_ID "TEXT  the note\n", .connect = true, .min_args = 2, .max_args = 2,
        .examples = "gridctl dept note 01JDX4Q8V3M2K7P9R5T1W6Y0ZB 'hydrant at the gate is dry'" },
      K(NOTE), "noted", s_act },
    { { .name = "dept return", .synopsis = "ID REASON [OPTIONS]",
        .about =
      "Returns (退回) the task for case ID with a REASON (required): not this\n"
      "department's business. The node gives the case to the next department\n"
      "of its [dispatch] route or, when every one has returned it, escalates\n"
      "it to the parent tier. A co-handler's return ends only its own part.",
        .arguments = S_CASE_ID "REASON  why it is not this department's\n", .connect = true,
        .min_args = 2, .max_args = 2,
        .examples = "gridctl dept return 01JDX4Q8V3M2K7P9R5T1W6Y0ZB 'a water main: not ours'" },
      K(RETURN), "returned", s_act },
    { { .name = "dept complete", .synopsis = "ID RESULT [OPTIONS]",
        .about =
      "Completes (办结) the task for case ID with its RESULT. The lead's\n"
      "completion resolves the case: the co-handlers' tasks are withdrawn and\n"
      "the result travels back to where the case was reported (反馈). A\n"
      "co-handler's completion ends only its own part.",
        .arguments = S_CASE_ID "RESULT  what was done\n", .connect = true,
        .min_args = 2, .max_args = 2,
        .examples = "gridctl dept complete 01JDX4Q8V3M2K7P9R5T1W6Y0ZB 'fire out, no injuries'" },
      K(COMPLETE), "completed", s_act },
};

static void s_dept_usage(FILE *out)
{
    fprintf(out, "Usage: gridctl dept SUBCOMMAND [ARGS] [OPTIONS]\n\n"
                 "The department's side of dispatch (分流): a department's software or\n"
                 "its staff take the tasks a node gives them. Sign with the department's\n"
                 "key (--key or $GRIDRELAY_KEY), whose public key is in the node's\n"
                 "[departments]; the node knows the department by that key.\n\n"
                 "Subcommands:\n");
    for (size_t i = 0; i < sizeof s_subs / sizeof *s_subs; i++)
        fprintf(out, "  %-9s %s\n", s_subs[i].cmd.name + 5, s_subs[i].cmd.synopsis);
    fprintf(out, "\nRun 'gridctl dept SUBCOMMAND --help' for each one's options.\n\n"
                 "Exit status: 0 success; 1 refused by the node (its reason is printed);\n"
                 "2 usage error; 3 no reply from the node (safe to retry), or a watch's\n"
                 "--timeout-ms passed before --count; 4 local error (key file, memory,\n"
                 "no notice endpoint).\n");
}

/* ---- talking to the node ---- */

/* A library result as the exit code, with its reason on stderr. */
static int s_exit_code(const s_opts_t *opts, int rc, const char *err)
{
    switch (rc) {
    case 0:
        return GRIDCTL_OK;
    case GR_ETIMEOUT:
        fprintf(stderr, "gridctl: %s after %d attempt(s) of %d ms\n", err, opts->common.attempts,
                opts->common.timeout_ms);
        return GRIDCTL_NO_REPLY;
    case GR_EREFUSED:
        /* The library passes on the node's text, not its error code. */
        if (opts->common.json) {
            json_object *obj = json_object_new_object();
            json_object_object_add(obj, "error", json_object_new_string("refused"));
            json_object_object_add(obj, "message", json_object_new_string(err));
            gridctl_print_json(obj);
        }
        fprintf(stderr, "gridctl: refused by the node: %s\n", err);
        return GRIDCTL_REFUSED;
    default:
        fprintf(stderr, "gridctl: %s\n", err && *err ? err : gr_strerror(rc));
        return GRIDCTL_LOCAL;
    }
}

/* Makes the department client; *client is NULL on failure. Returns the
 * exit code. */
static int s_open(const s_opts_t *opts, gr_dept_task_fn on_task, void *ctx,
                  gr_dept_client_t **client)
{
    *client = NULL;
    const char *node = NULL;
    gr_keypair_t kp;
    uint8_t node_pk[GR_PUBLIC_KEY_BYTES];
    int rc = gridctl_identity(&opts->common, &node, &kp, node_pk);
    if (rc != GRIDCTL_OK)
        return rc;
    gr_dept_client_options_t o = {
        .node_endpoint = node,
        .node_pk = node_pk,
        .keys = &kp,
        .notice_endpoint = opts->notice_endpoint,
        .timeout_ms = opts->common.timeout_ms,
        .attempts = opts->common.attempts,
        .on_task = on_task,
        .ctx = ctx,
    };
    char err[512];
    *client = gr_dept_client_new(&o, err, sizeof err);
    memset(&kp, 0, sizeof kp);  /* the client keeps its own copy */
    if (!*client) {
        fprintf(stderr, "gridctl: %s\n", err);
        return GRIDCTL_USAGE;  /* a bad endpoint, or memory */
    }
    return GRIDCTL_OK;
}

/* ---- output ---- */

static const char *s_change_name(gr_dept_change_t change)
{
    switch (change) {
    case GR_DEPT_TASK_ADDED: return "added";
    case GR_DEPT_TASK_URGED: return "urged";
    case GR_DEPT_TASK_REMOVED: return "removed";
    default: return "unknown";
    }
}

static const char *s_state_name(Gridrelay__TaskState state)
{
    switch (state) {
    case GRIDRELAY__TASK_STATE__TASK_OPEN: return "open";
    case GRIDRELAY__TASK_STATE__TASK_CLAIMED: return "claimed";
    default: return "unknown";
    }
}

static void s_due_text(char out[32], uint64_t due_ms)
{
    if (due_ms)
        gridctl_format_time(out, due_ms);
    else
        snprintf(out, 32, "-");
}

static json_object *s_task_json(const Gridrelay__Task *t)
{
    const Gridrelay__Event *e = t->event;
    json_object *obj = json_object_new_object();
    json_object_object_add(obj, "event_id", json_object_new_string(t->event_id));
    json_object_object_add(obj, "dept", json_object_new_string(t->dept));
    json_object_object_add(obj, "lead", json_object_new_boolean(t->lead));
    json_object_object_add(obj, "state", json_object_new_string(s_state_name(t->state)));
    json_object_object_add(obj, "severity",
                           json_object_new_string(gridctl_severity_name(e ? e->severity : 0)));
    json_object_object_add(obj, "category", json_object_new_string(e ? e->category : ""));
    json_object_object_add(obj, "title", json_object_new_string(e ? e->title : ""));
    json_object_object_add(obj, "grid_code",
                           json_object_new_string(e && e->location ? e->location->grid_code : ""));
    json_object_object_add(obj, "origin_node", json_object_new_string(e ? e->origin_node : ""));
    json_object_object_add(obj, "node_id", json_object_new_string(t->node_id));
    json_object_object_add(obj, "dispatched_ms", json_object_new_int64((int64_t)t->dispatched_ms));
    json_object_object_add(obj, "claimed_ms", json_object_new_int64((int64_t)t->claimed_ms));
    json_object_object_add(obj, "due_ms", json_object_new_int64((int64_t)t->due_ms));
    json_object_object_add(obj, "urged", json_object_new_int64(t->urged));
    json_object *co = json_object_new_array();
    for (size_t i = 0; i < t->n_co_depts; i++)
        json_object_array_add(co, json_object_new_string(t->co_depts[i]));
    json_object_object_add(obj, "co_depts", co);
    json_object_object_add(obj, "lead_dept", json_object_new_string(t->lead_dept));
    json_object_object_add(obj, "task_reason", json_object_new_string(t->reason));
    return obj;
}

/* The watch's state, shared with the change callback. */
typedef struct {
    bool json;
    long printed;
} s_watch_t;

/* Prints one change at once (flushed: a pipe reader sees it live). */
static void s_on_task(void *ctx, gr_dept_change_t change, const Gridrelay__Task *task,
                      const char *reason)
{
    s_watch_t *w = ctx;
    const Gridrelay__Event *e = task->event;
    uint64_t now = gr_now_ms();
    char when[32], due[32];
    gridctl_format_time(when, now);
    s_due_text(due, task->due_ms);
    if (w->json) {
        json_object *obj = s_task_json(task);
        json_object_object_add(obj, "time_ms", json_object_new_int64((int64_t)now));
        json_object_object_add(obj, "time", json_object_new_string(when));
        json_object_object_add(obj, "change", json_object_new_string(s_change_name(change)));
        json_object_object_add(obj, "reason", json_object_new_string(reason));
        gridctl_print_json(obj);
    } else {
        printf("%s %-7s %s %-12s %-16s \"%s\" due %s %s\n", when, s_change_name(change),
               task->event_id, gridctl_severity_name(e ? e->severity : 0), e ? e->category : "",
               e ? e->title : "", due, reason);
    }
    fflush(stdout);
    w->printed++;
}

/* ---- subcommands ---- */

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static int s_watch(const s_sub_t *sub, s_opts_t *opts, char **args)
{
    (void)sub;
    (void)args;
    /* No SA_RESTART: the signal must cut the client's zmq_poll() short. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0) {
        fprintf(stderr, "gridctl: cannot handle signals: %s\n", strerror(errno));
        return GRIDCTL_LOCAL;
    }
    s_watch_t w = {.json = opts->common.json};
    gr_dept_client_t *client = NULL;
    int rc = s_open(opts, s_on_task, &w, &client);
    if (rc != GRIDCTL_OK)
        return rc;
    uint64_t end = opts->watch_ms ? gr_now_ms() + (uint64_t)opts->watch_ms : 0;
    char err[512] = "";
    rc = s_exit_code(opts, gr_dept_client_sync(client, err, sizeof err), err);
    int last_failure = 0;
    while (rc == GRIDCTL_OK && !s_stop && !(opts->count && (uint64_t)w.printed >= opts->count)) {
        uint64_t now = gr_now_ms();
        if (end && now >= end) {
            if (opts->count) {
                fprintf(stderr, "gridctl: %ld of %llu change(s) within %llu ms\n", w.printed,
                        (unsigned long long)opts->count, (unsigned long long)opts->watch_ms);
                rc = GRIDCTL_NO_REPLY;
            }
            break;
        }
        /* Wake at least every second to see the clock and the stop flag. */
        int wait = 1000;
        if (end && end - now < (uint64_t)wait)
            wait = (int)(end - now);
        int got = gr_dept_client_process(client, wait);
        /* A failed re-list (the node away) is retried by the client; the
         * watch goes on and says so once per kind of failure. */
        if (got < 0 && got != last_failure)
            fprintf(stderr, "gridctl: cannot re-list the tasks (%s); retrying\n", gr_strerror(got));
        if (got >= 0 && last_failure)
            fprintf(stderr, "gridctl: task list fetched again\n");
        last_failure = got < 0 ? got : 0;
    }
    gr_dept_client_destroy(&client);
    return rc;
}

static int s_tasks(const s_sub_t *sub, s_opts_t *opts, char **args)
{
    (void)sub;
    (void)args;
    gr_dept_client_t *client = NULL;
    int rc = s_open(opts, NULL, NULL, &client);
    if (rc != GRIDCTL_OK)
        return rc;
    char err[512] = "";
    rc = s_exit_code(opts, gr_dept_client_sync(client, err, sizeof err), err);
    size_t n = gr_dept_client_task_count(client);
    if (rc == GRIDCTL_OK && opts->common.json) {
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < n; i++)
            json_object_array_add(arr, s_task_json(gr_dept_client_task_at(client, i)));
        gridctl_print_json(arr);
    } else if (rc == GRIDCTL_OK) {
        printf("department %s\n%-26s %-7s %-4s %-12s %-16s %-24s %s\n", gr_dept_client_code(client),
               "EVENT", "STATE", "ROLE", "SEVERITY", "CATEGORY", "DUE", "TITLE");
        for (size_t i = 0; i < n; i++) {
            const Gridrelay__Task *t = gr_dept_client_task_at(client, i);
            const Gridrelay__Event *e = t->event;
            char due[32];
            s_due_text(due, t->due_ms);
            printf("%-26s %-7s %-4s %-12s %-16s %-24s %s\n", t->event_id, s_state_name(t->state),
                   t->lead ? "lead" : "co", gridctl_severity_name(e ? e->severity : 0),
                   e ? e->category : "", due, e ? e->title : "");
        }
        printf("(%zu task%s)\n", n, n == 1 ? "" : "s");
    }
    gr_dept_client_destroy(&client);
    return rc;
}

static int s_act(const s_sub_t *sub, s_opts_t *opts, char **args)
{
    const char *event_id = args[0];
    const char *text = sub->cmd.min_args > 1 ? args[1] : opts->note;
    gr_dept_client_t *client = NULL;
    int rc = s_open(opts, NULL, NULL, &client);
    if (rc != GRIDCTL_OK)
        return rc;
    char err[512] = "";
    rc = s_exit_code(opts, gr_dept_client_act(client, sub->kind, event_id, text, err, sizeof err),
                     err);
    gr_dept_client_destroy(&client);
    if (rc != GRIDCTL_OK)
        return rc;
    if (opts->common.json)
        printf("{\"id\":\"%s\",\"action\":\"%s\",\"ok\":true}\n", event_id, sub->cmd.name + 5);
    else
        printf("%s %s\n", event_id, sub->done);
    return GRIDCTL_OK;
}

int gridctl_dept(int argc, char **argv)
{
    if (argc < 2) {
        s_dept_usage(stderr);
        return GRIDCTL_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        s_dept_usage(stdout);
        return GRIDCTL_OK;
    }
    const s_sub_t *sub = NULL;
    for (size_t i = 0; i < sizeof s_subs / sizeof *s_subs; i++)
        if (strcmp(argv[1], s_subs[i].cmd.name + 5) == 0)
            sub = &s_subs[i];
    if (!sub) {
        fprintf(stderr, "gridctl: unknown dept subcommand '%s'\n", argv[1]);
        s_dept_usage(stderr);
        return GRIDCTL_USAGE;
    }
    s_opts_t opts;
    memset(&opts, 0, sizeof opts);
    int first = 0;
    /* The subcommand's name is its argv[0]. */
    int rc = gridctl_parse(&sub->cmd, argc - 1, argv + 1, &opts, &opts.common, &first);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
    argc--;
    argv++;
    for (int i = first; i < argc; i++)
        if (!*argv[i])
            return gridctl_usage_error(&sub->cmd, "empty argument");
    return sub->run(sub, &opts, argv + first);
}
