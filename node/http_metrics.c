#include "http_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "error.h"

#define S_READY_TIMEOUT_MS 2000
#define S_CALL_TIMEOUT_MS 3000

static void s_healthz(gr_http_req_t *req, void *ctx)
{
    (void)ctx;
    gr_http_reply_bytes(req, 200, "text/plain; charset=utf-8", "ok\n", 3);
}

static void s_readyz(gr_http_req_t *req, void *ctx)
{
    const gr_gauges_t *g = ctx;
    Gridrelay__GetStats get = GRIDRELAY__GET_STATS__INIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_STATS;
    body.get_stats = &get;
    gr_opened_t reply = {0};
    int rc = gr_http_call(req, &body, "http", &reply, S_READY_TIMEOUT_MS);
    char text[200];
    if (rc != 0) {
        snprintf(text, sizeof text, "not ready: the main loop did not answer within %d ms\n",
                 S_READY_TIMEOUT_MS);
        gr_http_reply_bytes(req, 503, "text/plain; charset=utf-8", text, strlen(text));
    } else if (reply.body->kind_case != GRIDRELAY__BODY__KIND_STATS) {
        snprintf(text, sizeof text, "not ready: the store did not answer (%s)\n",
                 reply.body->error && reply.body->error->message ? reply.body->error->message
                                                                 : "no counters");
        gr_http_reply_bytes(req, 503, "text/plain; charset=utf-8", text, strlen(text));
    } else if (gr_gauges_get(&g->store_full)) {
        snprintf(text, sizeof text, "not ready: the store is full (map_max_mb): new work is "
                 "refused\n");
        gr_http_reply_bytes(req, 503, "text/plain; charset=utf-8", text, strlen(text));
    } else {
        gr_http_reply_bytes(req, 200, "text/plain; charset=utf-8", "ready\n", 6);
    }
    gr_opened_clear(&reply);
}

/* A counter name as a Prometheus metric name: [a-zA-Z0-9_]. */
static void s_metric_name(char *out, size_t outlen, const char *name)
{
    size_t i = 0;
    for (; name[i] && i + 1 < outlen; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        out[i] = ok ? c : '_';
    }
    out[i] = '\0';
}

/* A label value with \ " and newlines escaped, as the format asks. */
static void s_label(FILE *f, const char *value)
{
    for (const char *p = value ? value : ""; *p; p++) {
        if (*p == '\\' || *p == '"')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else
            fputc(*p, f);
    }
}

static bool s_ask(gr_http_req_t *req, Gridrelay__Body__KindCase kind, gr_opened_t *reply)
{
    Gridrelay__GetStats stats = GRIDRELAY__GET_STATS__INIT;
    Gridrelay__GetLinks links = GRIDRELAY__GET_LINKS__INIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = kind;
    if (kind == GRIDRELAY__BODY__KIND_GET_STATS)
        body.get_stats = &stats;
    else
        body.get_links = &links;
    Gridrelay__Body__KindCase want = kind == GRIDRELAY__BODY__KIND_GET_STATS
                                         ? GRIDRELAY__BODY__KIND_STATS
                                         : GRIDRELAY__BODY__KIND_LINKS;
    if (gr_http_call(req, &body, "http", reply, S_CALL_TIMEOUT_MS) != 0)
        return false;
    if (reply->body->kind_case == want)
        return true;
    gr_opened_clear(reply);
    return false;
}

static void s_node_counters(FILE *f, const Gridrelay__Stats *stats)
{
    for (size_t i = 0; i < stats->n_counters; i++) {
        char name[96];
        s_metric_name(name, sizeof name, stats->counters[i]->name);
        fprintf(f, "# TYPE gridrelay_%s_total counter\ngridrelay_%s_total %llu\n", name, name,
                (unsigned long long)stats->counters[i]->value);
    }
}

/* Every wire error code (the node lists each, 0 included), and each
 * department's queue, both read by the main loop in one read txn. */
static void s_node_errors_and_queues(FILE *f, const Gridrelay__Stats *stats)
{
    fputs("# HELP gridrelay_error_replies_total Error replies the node sent, by ErrorCode\n"
          "# TYPE gridrelay_error_replies_total counter\n", f);
    for (size_t i = 0; i < stats->n_error_replies; i++) {
        fputs("gridrelay_error_replies_total{code=\"", f);
        s_label(f, stats->error_replies[i]->name);
        fprintf(f, "\"} %llu\n", (unsigned long long)stats->error_replies[i]->value);
    }
    fputs("# HELP gridrelay_dept_queue_depth a department's open tasks, by state (open: "
          "not yet claimed; claimed: not yet completed)\n"
          "# TYPE gridrelay_dept_queue_depth gauge\n", f);
    for (size_t i = 0; i < stats->n_dept_queues; i++) {
        const Gridrelay__DeptQueue *q = stats->dept_queues[i];
        for (int claimed = 0; claimed < 2; claimed++) {
            fputs("gridrelay_dept_queue_depth{dept=\"", f);
            s_label(f, q->dept);
            fprintf(f, "\",state=\"%s\"} %llu\n", claimed ? "claimed" : "open",
                    (unsigned long long)(claimed ? q->claimed : q->open));
        }
    }
}

static void s_links(FILE *f, const Gridrelay__Links *links, uint64_t now_ms)
{
    static const struct {
        const char *name, *type, *help;
    } m[] = {
        {"gridrelay_link_up", "gauge", "1 while the link to the peer is up"},
        {"gridrelay_link_outbox_depth", "gauge", "messages waiting to be delivered to the peer"},
        {"gridrelay_link_in_flight", "gauge", "sent to the peer, not yet acknowledged"},
        {"gridrelay_link_resent_total", "counter", "resends to the peer"},
        {"gridrelay_link_refused_total", "counter", "items the peer refused (kept, retried)"},
        {"gridrelay_link_last_contact_age_seconds", "gauge", "seconds since the peer was last heard"},
        {"gridrelay_link_outbox_oldest_age_seconds", "gauge",
         "age of the oldest message waiting for the peer (0: none waiting)"},
    };
    for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", m[k].name, m[k].help, m[k].name, m[k].type);
        for (size_t i = 0; i < links->n_links; i++) {
            const Gridrelay__LinkInfo *l = links->links[i];
            double v = k == 0   ? l->up
                       : k == 1 ? (double)l->outbox_depth
                       : k == 2 ? (double)l->in_flight
                       : k == 3 ? (double)l->resent
                       : k == 4 ? (double)l->refused
                       : k == 5 ? (l->last_contact_ms && now_ms > l->last_contact_ms
                                       ? (double)(now_ms - l->last_contact_ms) / 1000.0
                                       : 0.0)
                       : l->outbox_oldest_ms && now_ms > l->outbox_oldest_ms
                           ? (double)(now_ms - l->outbox_oldest_ms) / 1000.0
                           : 0.0;
            if (k == 5 && !l->last_contact_ms)
                continue;   /* never heard: no age to tell */
            fprintf(f, "%s{peer=\"", m[k].name);
            s_label(f, l->peer);
            fprintf(f, "\",role=\"");
            s_label(f, l->role);
            fprintf(f, "\"} %.17g\n", v);
        }
    }
}

static void s_gauges(FILE *f, const gr_gauges_t *g)
{
    fputs("# HELP gridrelay_commit_seconds write transaction commit latency\n"
          "# TYPE gridrelay_commit_seconds histogram\n", f);
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= GR_GAUGES_BUCKETS; b++) {
        cumulative += gr_gauges_get(&g->commit_bucket[b]);
        if (b < GR_GAUGES_BUCKETS)
            fprintf(f, "gridrelay_commit_seconds_bucket{le=\"%g\"} %llu\n",
                    (double)gr_gauges_bucket_us[b] / 1e6, (unsigned long long)cumulative);
        else
            fprintf(f, "gridrelay_commit_seconds_bucket{le=\"+Inf\"} %llu\n",
                    (unsigned long long)cumulative);
    }
    fprintf(f, "gridrelay_commit_seconds_sum %.6f\ngridrelay_commit_seconds_count %llu\n",
            (double)gr_gauges_get(&g->commit_sum_us) / 1e6,
            (unsigned long long)gr_gauges_get(&g->commit_count));
    fprintf(f, "# HELP gridrelay_timer_lag_seconds how late the last due timers fired\n"
            "# TYPE gridrelay_timer_lag_seconds gauge\ngridrelay_timer_lag_seconds %.3f\n"
            "# TYPE gridrelay_timer_lag_max_seconds gauge\ngridrelay_timer_lag_max_seconds %.3f\n",
            (double)gr_gauges_get(&g->timer_lag_ms) / 1e3,
            (double)gr_gauges_get(&g->timer_lag_max_ms) / 1e3);
    uint64_t turn = gr_gauges_get(&g->turn_ms), now = gr_now_ms();
    fprintf(f, "# HELP gridrelay_loop_turn_age_seconds seconds since the main loop last "
            "finished a turn\n# TYPE gridrelay_loop_turn_age_seconds gauge\n"
            "gridrelay_loop_turn_age_seconds %.3f\n",
            turn && now > turn ? (double)(now - turn) / 1e3 : 0.0);
    fprintf(f, "# HELP gridrelay_store_map_bytes LMDB map size\n"
            "# TYPE gridrelay_store_map_bytes gauge\ngridrelay_store_map_bytes %llu\n"
            "# HELP gridrelay_store_used_bytes LMDB map in use\n"
            "# TYPE gridrelay_store_used_bytes gauge\ngridrelay_store_used_bytes %llu\n"
            "# HELP gridrelay_store_map_max_bytes the map grows up to this (map_max_mb)\n"
            "# TYPE gridrelay_store_map_max_bytes gauge\ngridrelay_store_map_max_bytes %llu\n"
            "# TYPE gridrelay_store_full gauge\ngridrelay_store_full %llu\n",
            (unsigned long long)gr_gauges_get(&g->map_size),
            (unsigned long long)gr_gauges_get(&g->map_used),
            (unsigned long long)gr_gauges_get(&g->map_max),
            (unsigned long long)gr_gauges_get(&g->store_full));
}

static void s_http(FILE *f, const gr_http_t *http)
{
    uint64_t refusals[GR_HTTP_E_COUNT];
    gr_http_refusals(http, refusals);
    fputs("# HELP gridrelay_http_refused_total HTTP requests refused, by code\n"
          "# TYPE gridrelay_http_refused_total counter\n", f);
    for (int e = 0; e < GR_HTTP_E_COUNT; e++)
        fprintf(f, "gridrelay_http_refused_total{code=\"%s\"} %llu\n",
                gr_http_error_name((gr_http_error_t)e), (unsigned long long)refusals[e]);
    fprintf(f, "# TYPE gridrelay_http_requests_total counter\ngridrelay_http_requests_total %llu\n"
            "# TYPE gridrelay_http_sessions gauge\ngridrelay_http_sessions %u\n",
            (unsigned long long)gr_http_requests(http), gr_http_sessions_live(http));
}

static void s_metrics(gr_http_req_t *req, void *ctx)
{
    const gr_gauges_t *g = ctx;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        gr_http_reply_error(req, GR_HTTP_E_UNAVAILABLE, "out of memory");
        return;
    }
    gr_opened_t stats = {0}, links = {0};
    bool have_stats = s_ask(req, GRIDRELAY__BODY__KIND_GET_STATS, &stats);
    bool have_links = s_ask(req, GRIDRELAY__BODY__KIND_GET_LINKS, &links);
    fprintf(f, "# HELP gridrelay_up 1 when the main loop answered this scrape\n"
            "# TYPE gridrelay_up gauge\ngridrelay_up %d\n", have_stats && have_links);
    if (have_stats) {
        s_node_counters(f, stats.body->stats);
        s_node_errors_and_queues(f, stats.body->stats);
    }
    if (have_links)
        s_links(f, links.body->links, gr_now_ms());
    s_gauges(f, g);
    s_http(f, gr_http_req_server(req));
    gr_opened_clear(&stats);
    gr_opened_clear(&links);
    if (fclose(f) != 0 || !text) {
        free(text);
        gr_http_reply_error(req, GR_HTTP_E_UNAVAILABLE, "out of memory");
        return;
    }
    gr_http_reply_bytes(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

int gr_http_metrics_register(gr_http_t *http, const gr_gauges_t *gauges)
{
    void *ctx = (void *)gauges;
    int rc = gr_http_route(http, "GET", "/healthz", GR_HTTP_PUBLIC, s_healthz, NULL);
    if (rc == 0)
        rc = gr_http_route(http, "GET", "/readyz", GR_HTTP_PUBLIC, s_readyz, ctx);
    if (rc == 0)
        rc = gr_http_route(http, "GET", "/metrics", GR_HTTP_PUBLIC, s_metrics, ctx);
    return rc;
}
