/* gridbench, gridrankbench, gridrecoverybench: the requests to a node that
 * more than one benchmark makes (a report, the event listing), where the
 * daemon is found, and how an option loop exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "wire.h"

/* One place that knows how a Report body is put together (bench.h). */
void bench_report_wrap(Gridrelay__Body *body, Gridrelay__Report *report, Gridrelay__Event *event)
{
    gridrelay__report__init(report);
    report->event = event;
    gridrelay__body__init(body);
    body->kind_case = GRIDRELAY__BODY__KIND_REPORT;
    body->report = report;
}

/* A report and its verdict, for the benchmarks that only need to know
 * whether it was acknowledged (bench.h). */
int bench_report_call(gr_client_t *client, Gridrelay__Event *event, int timeout_ms, int tries)
{
    Gridrelay__Report report;
    Gridrelay__Body body;
    bench_report_wrap(&body, &report, event);
    gr_opened_t reply;
    if (gr_client_call(client, &body, &reply, timeout_ms, tries) != 0)
        return -1;
    int acked = reply.body->kind_case == GRIDRELAY__BODY__KIND_ACK;
    gr_opened_clear(&reply);
    return acked;
}

/* Pages on while the node hands out a next_page_token (bench.h). */
int bench_list_events(gr_client_t *client, int (*on_id)(void *arg, const char *id), void *arg)
{
    Gridrelay__ListEvents list = GRIDRELAY__LIST_EVENTS__INIT;
    list.limit = 1000;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_LIST_EVENTS;
    body.list_events = &list;
    char token[GR_PAGE_TOKEN_MAX] = "";
    do {
        list.page_token = token;
        gr_opened_t reply;
        if (gr_client_call(client, &body, &reply, 5000, 3) != 0)
            return -1;
        const Gridrelay__EventPage *page = reply.body->event_page;
        int rc = reply.body->kind_case == GRIDRELAY__BODY__KIND_EVENT_PAGE && page ? 0 : -1;
        for (size_t i = 0; rc == 0 && i < page->n_events; i++)
            rc = on_id(arg, page->events[i]->id);
        token[0] = '\0';
        if (rc == 0 && page->next_page_token)
            snprintf(token, sizeof token, "%s", page->next_page_token);
        gr_opened_clear(&reply);
        if (rc != 0)
            return -1;
    } while (token[0]);
    return 0;
}

/* gridrankbench's and gridrecoverybench's exit codes for their options
 * (bench.h). */
int bench_usage_exit(void (*usage)(FILE *out), bool help)
{
    usage(help ? stdout : stderr);
    return help ? 0 : 2;
}

/* As a build tree lays out: build/tools/<us>, build/node/gridrelayd
 * (bench.h). */
void bench_default_daemon(void)
{
    if (getenv("GRIDRELAYD"))
        return;
    char self[4096], path[4200];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return;
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    snprintf(path, sizeof path, "%s/../node/gridrelayd", self);
    setenv("GRIDRELAYD", path, 1);
}
