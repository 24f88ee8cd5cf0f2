#include "tiers_fixture.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "store_check.h"
#include "wire.h"

static const char *const s_names[N_NODES] = {
    "district", "town-a", "town-b", "village-a1", "village-a2", "village-b1", "village-b2",
};
static const char *const s_tiers[N_NODES] = {
    "district", "township", "township", "village", "village", "village", "village",
};
static const int s_parent[N_NODES] = { -1, DISTRICT, DISTRICT, TOWN_A, TOWN_A, TOWN_B, TOWN_B };

static int s_write_catalogue(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "[T.VILLAGE]\nclass = test\nsubclass = test\nname = handled in the village\n"
            "authority = village\n\n"
            "[T.TOWNSHIP]\nclass = test\nsubclass = test\nname = needs the township\n"
            "authority = township\n\n"
            "[T.DISTRICT]\nclass = test\nsubclass = test\nname = needs the district\n"
            "authority = district\n\n"
            "[T.DIRECT]\nclass = test\nsubclass = test\nname = straight to the district\n"
            "authority = district\ndirect = yes\n\n"
            "[T.URGENT]\nclass = test\nsubclass = test\nname = urgent unless said otherwise\n"
            "severity = urgent\nauthority = village\nauthority.urgent = district\n");
    return fclose(f) == 0 ? 0 : -1;
}

int topology_start(topology_t *t, uint64_t village_accept_ms)
{
    memset(t, 0, sizeof *t);
    if (nodes_init_tiers(t->nodes, N_NODES, s_names, s_tiers, 2) != 0)
        return -1;
    snprintf(t->catalogue, sizeof t->catalogue, "%.250s/../catalogue.ini", t->nodes[DISTRICT].dir);
    if (s_write_catalogue(t->catalogue) != 0)
        return -1;
    for (int i = 0; i < N_NODES; i++) {
        snprintf(t->nodes[i].catalogue, sizeof t->nodes[i].catalogue, "%s", t->catalogue);
        if (i >= VILLAGE_A1 && village_accept_ms)
            snprintf(t->nodes[i].sections, sizeof t->nodes[i].sections,
                     "[deadlines]\naccept.routine = %llums\n\n", (unsigned long long)village_accept_ms);
    }
    for (int i = 1; i < N_NODES; i++)
        harness_add_child(&t->nodes[s_parent[i]], &t->nodes[i]);
    /* The district also admits the villages' skip-level reports (越级直报). */
    for (int i = VILLAGE_A1; i < N_NODES; i++)
        harness_add_child(&t->nodes[DISTRICT], &t->nodes[i]);
    /* Parents first: children need their endpoints. */
    for (int i = 0; i < N_NODES; i++) {
        if (s_parent[i] >= 0)
            harness_set_parent(&t->nodes[i], &t->nodes[s_parent[i]], "parent");
        /* Villages report direct categories straight to the district. */
        if (i >= VILLAGE_A1)
            harness_set_parent(&t->nodes[i], &t->nodes[DISTRICT], "skip");
        if (harness_node_start(&t->nodes[i]) != 0)
            return -1;
    }
    t->ctx = zmq_ctx_new();
    return t->ctx ? 0 : -1;
}

int nodes_stop_checked(harness_node_t *nodes, int n, const char *catalogue)
{
    int bad = 0;
    for (int i = n - 1; i >= 0; i--) {
        if (nodes[i].pid)
            harness_node_stop(&nodes[i], SIGTERM);
        if (nodes[i].dir[0] && store_check(&nodes[i], catalogue) != 0)
            bad++;
        harness_node_cleanup(&nodes[i]);
    }
    return bad ? -1 : 0;
}

int topology_stop(topology_t *t)
{
    int rc = nodes_stop_checked(t->nodes, N_NODES, t->catalogue);
    if (t->ctx)
        zmq_ctx_term(t->ctx);
    t->ctx = NULL;
    return rc;
}

int node_gridctl(const harness_node_t *node, const char *key_file, const char *args,
                 bool with_stderr, char *out, size_t cap)
{
    char key[400], cmd[2048];
    if (key_file)
        snprintf(key, sizeof key, "%.390s", key_file);
    else
        snprintf(key, sizeof key, "%.300s/reporter0.sec", node->dir);
    snprintf(cmd, sizeof cmd, "TZ=UTC '%s' %s --node %s --key '%s' --node-key @%.300s/node.pub%s",
             getenv("GRIDCTL"), args, node->endpoint, key, node->dir, with_stderr ? " 2>&1" : "");
    int rc = harness_run(cmd, out, cap);
    if (getenv("GR_TEST_VERBOSE"))
        fprintf(stderr, "gridctl %s -> %d:\n%s\n", args, rc, out ? out : "");
    return rc;
}

typedef struct {
    const harness_node_t *node;
    const char *args;
    const char *text;
} s_says_t;

static bool s_says(void *arg)
{
    s_says_t *w = arg;
    char out[16384];
    return node_gridctl(w->node, NULL, w->args, false, out, sizeof out) == 0 && strstr(out, w->text);
}

bool node_wait_gridctl_says(const harness_node_t *node, const char *args, const char *text,
                            int timeout_ms)
{
    s_says_t w = {node, args, text};
    return harness_wait_until(s_says, &w, timeout_ms);
}

static int s_call(harness_node_t *node, void *ctx, Gridrelay__Body *body, gr_opened_t *reply)
{
    gr_client_t *client = harness_client(node, ctx, 0);
    if (!client)
        return -1;
    int rc = gr_client_call(client, body, reply, 3000, 5);
    gr_client_destroy(&client);
    return rc;
}

int client_report(gr_client_t *client, const char *id, const char *category, int severity,
                  gr_opened_t *reply)
{
    Gridrelay__Event event = GRIDRELAY__EVENT__INIT;
    event.id = (char *)id;
    event.category = (char *)category;
    event.severity = (Gridrelay__Severity)severity;
    event.title = (char *)id;
    Gridrelay__Report report = GRIDRELAY__REPORT__INIT;
    report.event = &event;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_REPORT;
    body.report = &report;
    return gr_client_call(client, &body, reply, 3000, 5);
}

int node_report(harness_node_t *node, void *ctx, const char *id, const char *category, int severity)
{
    gr_client_t *client = harness_client(node, ctx, 0);
    if (!client)
        return -1;
    gr_opened_t reply;
    int rc = client_report(client, id, category, severity, &reply);
    gr_client_destroy(&client);
    if (rc != 0)
        return -1;
    rc = reply.body->kind_case == GRIDRELAY__BODY__KIND_ACK ? 0 : -1;
    gr_opened_clear(&reply);
    return rc;
}

int node_action(harness_node_t *node, void *ctx, const char *id, int kind, const char *text,
                const char *target)
{
    Gridrelay__CaseAction ca = GRIDRELAY__CASE_ACTION__INIT;
    ca.event_id = (char *)id;
    ca.kind = (Gridrelay__CaseAction__Kind)kind;
    ca.text = (char *)(text ? text : "");
    ca.target = (char *)(target ? target : "");
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_CASE_ACTION;
    body.case_action = &ca;
    gr_opened_t reply;
    if (s_call(node, ctx, &body, &reply) != 0)
        return -1000;
    int rc = reply.body->kind_case == GRIDRELAY__BODY__KIND_ACK ? (int)reply.body->ack->status
                                                                : -(int)reply.body->error->code;
    gr_opened_clear(&reply);
    return rc;
}

int node_status(harness_node_t *node, void *ctx, const char *id, char *timeline, size_t cap)
{
    Gridrelay__GetEvent get = GRIDRELAY__GET_EVENT__INIT;
    get.event_id = (char *)id;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_EVENT;
    body.get_event = &get;
    gr_opened_t reply;
    if (s_call(node, ctx, &body, &reply) != 0)
        return -1;
    int status = 0;
    if (reply.body->kind_case == GRIDRELAY__BODY__KIND_EVENT_DETAIL) {
        const Gridrelay__EventDetail *d = reply.body->event_detail;
        status = (int)d->status;
        if (timeline && cap) {
            timeline[0] = '\0';
            size_t len = 0;
            for (size_t i = 0; i < d->n_timeline && len < cap; i++)
                len += (size_t)snprintf(timeline + len, cap - len, "%s | ", d->timeline[i]->reason);
        }
    }
    gr_opened_clear(&reply);
    return status;
}

int64_t node_counter(harness_node_t *node, void *ctx, const char *name)
{
    Gridrelay__GetStats get = GRIDRELAY__GET_STATS__INIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_STATS;
    body.get_stats = &get;
    gr_opened_t reply;
    if (s_call(node, ctx, &body, &reply) != 0)
        return -1;
    int64_t value = reply.body->kind_case == GRIDRELAY__BODY__KIND_STATS ? 0 : -1;
    for (size_t i = 0; value == 0 && i < reply.body->stats->n_counters; i++)
        if (strcmp(reply.body->stats->counters[i]->name, name) == 0)
            value = (int64_t)reply.body->stats->counters[i]->value;
    gr_opened_clear(&reply);
    return value;
}

typedef struct {
    harness_node_t *node;
    void *ctx;
    const char *id;
    int status;
    const char *text;
} s_wait_t;

static bool s_has_status(void *ctx)
{
    s_wait_t *w = ctx;
    return node_status(w->node, w->ctx, w->id, NULL, 0) == w->status;
}

bool node_wait_status(harness_node_t *node, void *ctx, const char *id, int status, int timeout_ms)
{
    s_wait_t w = { .node = node, .ctx = ctx, .id = id, .status = status };
    return harness_wait_until(s_has_status, &w, timeout_ms);
}

static bool s_has_text(void *ctx)
{
    s_wait_t *w = ctx;
    char timeline[8192];
    return node_status(w->node, w->ctx, w->id, timeline, sizeof timeline) > 0 &&
           strstr(timeline, w->text) != NULL;
}

bool node_wait_timeline(harness_node_t *node, void *ctx, const char *id, const char *text,
                        int timeout_ms)
{
    s_wait_t w = { .node = node, .ctx = ctx, .id = id, .text = text };
    return harness_wait_until(s_has_text, &w, timeout_ms);
}

int topology_report(topology_t *t, int n, const char *id, const char *category, int severity)
{
    return node_report(&t->nodes[n], t->ctx, id, category, severity);
}

int topology_action(topology_t *t, int n, const char *id, int kind, const char *text, const char *target)
{
    return node_action(&t->nodes[n], t->ctx, id, kind, text, target);
}

int topology_status(topology_t *t, int n, const char *id, char *timeline, size_t cap)
{
    return node_status(&t->nodes[n], t->ctx, id, timeline, cap);
}

bool topology_wait_status(topology_t *t, int n, const char *id, int status, int timeout_ms)
{
    return node_wait_status(&t->nodes[n], t->ctx, id, status, timeout_ms);
}

bool topology_wait_timeline(topology_t *t, int n, const char *id, const char *text, int timeout_ms)
{
    return node_wait_timeline(&t->nodes[n], t->ctx, id, text, timeout_ms);
}

char fixture_out[65536];

int fixture_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd)
        return -1;
    return harness_run(cmd, fixture_out, sizeof fixture_out);
}

const char *fixture_gridctl(void)
{
    const char *path = getenv("GRIDCTL");
    return path && *path ? path : "gridctl";
}

int node_key_args(const harness_node_t *node, char *out, size_t cap)
{
    char sec[400], pub[400], err[256];
    snprintf(sec, sizeof sec, "%s/operator.sec", node->dir);
    snprintf(pub, sizeof pub, "%s/operator.pub", node->dir);
    if (gr_keys_save(&node->reporters[0], sec, pub, err, sizeof err) != 0)
        return -1;
    int n = snprintf(out, cap, "--node %s --key %s --node-key @%s/node.pub", node->endpoint, sec,
                     node->dir);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int node_init_with_key_files(harness_node_t *node, const char *name, const char *tier,
                             int reporters)
{
    if (harness_node_init(node, name, reporters) != 0)
        return -1;
    snprintf(node->tier, sizeof node->tier, "%s", tier);
    for (int r = 0; r < reporters; r++) {
        char sec[400], pub[400], err[256];
        snprintf(sec, sizeof sec, "%.300s/reporter%d.sec", node->dir, r);
        snprintf(pub, sizeof pub, "%.300s/reporter%d.pub", node->dir, r);
        if (gr_keys_save(&node->reporters[r], sec, pub, err, sizeof err) != 0)
            return -1;
    }
    return 0;
}

int node_reporter_gridctl(const harness_node_t *node, int r, const char *args, char *out,
                          size_t cap)
{
    char key[400];
    snprintf(key, sizeof key, "%.300s/reporter%d.sec", node->dir, r);
    return node_gridctl(node, key, args, true, out, cap);
}

int nodes_share_catalogue(harness_node_t *nodes, int n, const char *text, char *path,
                          size_t cap)
{
    if (cap > sizeof nodes[0].catalogue)
        cap = sizeof nodes[0].catalogue;
    int len = snprintf(path, cap, "%.250s/../catalogue.ini", nodes[0].dir);
    if (len < 0 || (size_t)len >= cap)
        return -1;
    if (fixture_write_file(path, text) != 0)
        return -1;
    for (int i = 0; i < n; i++)
        snprintf(nodes[i].catalogue, sizeof nodes[i].catalogue, "%s", path);
    return 0;
}

int client_service_report(gr_client_t *client, const char *id, const char *description)
{
    Gridrelay__Event event = GRIDRELAY__EVENT__INIT;
    event.id = (char *)id;
    event.category = "SV.REQUEST";
    event.title = "resident asks for help with a pension application";
    event.description = (char *)description;
    Gridrelay__Report report = GRIDRELAY__REPORT__INIT;
    report.event = &event;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_REPORT;
    body.report = &report;
    gr_opened_t reply;
    if (gr_client_call(client, &body, &reply, 5000, 3) != 0)
        return -1;
    int code = reply.body->kind_case == GRIDRELAY__BODY__KIND_ACK ? 0 : (int)reply.body->error->code;
    gr_opened_clear(&reply);
    return code;
}

int client_get_kind(gr_client_t *client, const char *id)
{
    Gridrelay__GetEvent get = GRIDRELAY__GET_EVENT__INIT;
    get.event_id = (char *)id;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_EVENT;
    body.get_event = &get;
    gr_opened_t reply;
    if (gr_client_call(client, &body, &reply, 5000, 3) != 0)
        return -1;
    int kind = reply.body->kind_case;
    gr_opened_clear(&reply);
    return kind;
}

int client_fill_store(gr_client_t *client, const char *prefix, int max, int *code,
                      char last_id[32])
{
    char description[2048];
    memset(description, 'x', sizeof description - 1);
    description[sizeof description - 1] = '\0';
    int acked = 0;
    *code = 0;
    while (acked < max) {
        snprintf(last_id, 32, "%s-%05d", prefix, acked);
        if ((*code = client_service_report(client, last_id, description)) != 0)
            break;
        acked++;
    }
    return acked;
}

int fixture_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int rc = fputs(text, f) < 0 ? -1 : 0;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

int nodes_teardown(void *ctx, harness_node_t *nodes, int n, const char *catalogue)
{
    int rc = nodes_stop_checked(nodes, n, catalogue);
    if (ctx)
        zmq_ctx_term(ctx);
    return rc;
}

static bool s_never(void *ctx)
{
    (void)ctx;
    return false;
}

int fixture_fault(harness_node_t *node, int *kills, int *hangs)
{
    if (rand() % 4 != 0) {
        if (harness_node_stop(node, SIGKILL) == -1 || harness_node_start(node) != 0)
            return -1;
        ++*kills;
        return 0;
    }
    if (kill(node->pid, SIGSTOP) != 0)
        return -1;
    harness_wait_until(s_never, NULL, 300 + rand() % 1700);  /* the hang's length */
    if (kill(node->pid, SIGCONT) != 0)
        return -1;
    ++*hangs;
    return 0;
}

int64_t client_counter(gr_client_t *client, const char *name)
{
    Gridrelay__GetStats get = GRIDRELAY__GET_STATS__INIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_STATS;
    body.get_stats = &get;
    gr_opened_t reply;
    if (gr_client_call(client, &body, &reply, 5000, 3) != 0)
        return -1;
    int64_t value = -1;
    if (reply.body->kind_case == GRIDRELAY__BODY__KIND_STATS)
        for (size_t i = 0; i < reply.body->stats->n_counters; i++)
            if (strcmp(reply.body->stats->counters[i]->name, name) == 0)
                value = (int64_t)reply.body->stats->counters[i]->value;
    gr_opened_clear(&reply);
    return value;
}

int nodes_share_clock_and_catalogue(harness_node_t *nodes, int n, int64_t offset_ms,
                                    const char *catalogue_text, char *clock, char *catalogue)
{
    int len = snprintf(clock, sizeof nodes[0].clock, "%.250s/../clock", nodes[0].dir);
    if (len < 0 || (size_t)len >= sizeof nodes[0].clock || harness_clock_set(clock, offset_ms) != 0)
        return -1;
    for (int i = 0; i < n; i++)
        memcpy(nodes[i].clock, clock, sizeof nodes[i].clock);
    return nodes_share_catalogue(nodes, n, catalogue_text, catalogue, sizeof nodes[0].catalogue);
}

int fixture_save_key(const gr_keypair_t *kp, const char *dir, const char *name)
{
    char sec[400], pub[400], err[256];
    snprintf(sec, sizeof sec, "%.300s/%.60s.sec", dir, name);
    snprintf(pub, sizeof pub, "%.300s/%.60s.pub", dir, name);
    return gr_keys_save(kp, sec, pub, err, sizeof err);
}

int nodes_start_tree(harness_node_t *nodes, int n, const int parent[])
{
    for (int i = 0; i < n; i++)
        if (parent[i] >= 0)
            harness_add_child(&nodes[parent[i]], &nodes[i]);
    for (int i = 0; i < n; i++) {
        if (parent[i] >= 0)
            harness_set_parent(&nodes[i], &nodes[parent[i]], "parent");
        if (harness_node_start(&nodes[i]) != 0)
            return -1;
    }
    return 0;
}

int chain_init_with_key_files(harness_node_t nodes[3], const char *const names[3], int reporters,
                              const char *catalogue_text, char *catalogue, size_t cap)
{
    static const char *const tiers[3] = {"district", "township", "village"};
    for (int i = 0; i < 3; i++) {
        if (node_init_with_key_files(&nodes[i], names[i], tiers[i], reporters) != 0)
            return -1;
        nodes[i].status_listen = i != 2;
    }
    return nodes_share_catalogue(nodes, 3, catalogue_text, catalogue, cap);
}

int node_count_view(harness_node_t *node, void *ctx, const char *child_id, const char *prefix,
                    int status)
{
    gr_client_t *client = harness_client(node, ctx, 0);
    if (!client)
        return -1;
    Gridrelay__ListView list = GRIDRELAY__LIST_VIEW__INIT;
    list.node_id = (char *)child_id;
    list.limit = 1000;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_LIST_VIEW;
    body.list_view = &list;
    int found = 0;
    size_t plen = strlen(prefix);
    char token[GR_PAGE_TOKEN_MAX] = "";
    do {
        list.page_token = token;
        gr_opened_t reply;
        if (gr_client_call(client, &body, &reply, 2000, 2) != 0)
            break;
        token[0] = '\0';
        if (reply.body->kind_case == GRIDRELAY__BODY__KIND_VIEW_PAGE) {
            const Gridrelay__ViewPage *page = reply.body->view_page;
            for (size_t i = 0; i < page->n_updates; i++) {
                const Gridrelay__StatusUpdate *u = page->updates[i];
                found += strncmp(u->event_id, prefix, plen) == 0 &&
                         (status < 0 || (int)u->status == status);
            }
            snprintf(token, sizeof token, "%s", page->next_page_token);
        }
        gr_opened_clear(&reply);
    } while (token[0]);
    gr_client_destroy(&client);
    return found;
}

int nodes_init_tiers(harness_node_t *nodes, int n, const char *const names[],
                     const char *const tiers[], int reporters)
{
    for (int i = 0; i < n; i++) {
        if (harness_node_init(&nodes[i], names[i], (size_t)reporters) != 0)
            return -1;
        snprintf(nodes[i].tier, sizeof nodes[i].tier, "%s", tiers[i]);
        nodes[i].status_listen = strcmp(tiers[i], "village") != 0;
    }
    return 0;
}

int node_start_with_client(harness_node_t *node, void **ctx, gr_client_t **client)
{
    if (harness_node_start(node) != 0 || !(*ctx = zmq_ctx_new()))
        return -1;
    *client = harness_client(node, *ctx, 0);
    return *client ? 0 : -1;
}

int node_stop_with_client(harness_node_t *node, void **ctx, gr_client_t **client)
{
    if (*client)
        gr_client_destroy(client);
    if (*ctx)
        zmq_ctx_term(*ctx);
    *ctx = NULL;
    return harness_node_stop(node, SIGTERM);
}
