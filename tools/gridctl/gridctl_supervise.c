/* gridctl supervise: the supervision list (督办), everything overdue at the
 * node and below it, most late first. */
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gridctl.h"
#include "supervise.h"

typedef struct {
    uint64_t limit;
} s_supervise_values_t;

static const gridctl_opt_t s_supervise_options[] = {
    { .kind = GRIDCTL_OPT_U64, .name = "limit", .arg = "N", .min = 1, .max = 1000,
      .offset = offsetof(s_supervise_values_t, limit),
      .help = "at most N items (default 100, at most 1000)" },
    { .kind = GRIDCTL_OPT_END },
};

static const gridctl_cmd_t s_supervise_cmd = {
    .name = "supervise",
    .synopsis = "[--limit N] [OPTIONS]",
    .about =
"Lists every overdue item at this node and everything below it, most late\n"
"first: a case not accepted in time, not resolved in time, not fed back in\n"
"time to the village it came from, a department task past its deadline, or a\n"
"case returned more often than [supervision] max_returns. The tiers below are\n"
"judged from this node's view: their status updates carry each case's\n"
"deadlines. Each line names the case, where it stands (node and holder:\n"
"a node or a department), how late it is and how many supervision notices\n"
"(督办) it has had there. Urge the holder with 'gridctl urge ID'.\n",
    .options = s_supervise_options,
    .connect = true,
    .examples = "gridctl supervise --limit 20\ngridctl supervise --json",
};

/* "3d 04:05" / "04:05:06": how late, for people. */
static void s_late(char *out, size_t cap, uint64_t ms)
{
    uint64_t s = ms / 1000, d = s / 86400;
    if (d)
        snprintf(out, cap, "%llud %02llu:%02llu", (unsigned long long)d,
                 (unsigned long long)(s % 86400 / 3600), (unsigned long long)(s % 3600 / 60));
    else
        snprintf(out, cap, "%02llu:%02llu:%02llu", (unsigned long long)(s / 3600),
                 (unsigned long long)(s % 3600 / 60), (unsigned long long)(s % 60));
}

static void s_print_json(const Gridrelay__SupervisionPage *page)
{
    json_object *root = json_object_new_object();
    json_object *items = json_object_new_array();
    for (size_t i = 0; i < page->n_items; i++) {
        const Gridrelay__SupervisionItem *it = page->items[i];
        json_object *o = json_object_new_object();
        /* The router's overdue kinds are the wire's (node/supervision.c
         * asserts it). */
        const char *kind = gr_overdue_name((gr_overdue_t)it->kind);
        json_object_object_add(o, "kind", json_object_new_string(kind));
        json_object_object_add(o, "id", json_object_new_string(it->event_id));
        json_object_object_add(o, "category", json_object_new_string(it->category));
        json_object_object_add(o, "title", json_object_new_string(it->title));
        json_object_object_add(o, "node", json_object_new_string(it->node_id));
        json_object_object_add(o, "holder", json_object_new_string(it->holder));
        json_object_object_add(o, "status", json_object_new_string(gridctl_status_name(it->status)));
        json_object_object_add(o, "severity", json_object_new_string(gridctl_severity_name(it->severity)));
        json_object_object_add(o, "late_ms", json_object_new_int64((int64_t)it->late_ms));
        json_object_object_add(o, "urges", json_object_new_int64(it->urges));
        json_object_object_add(o, "returns", json_object_new_int64(it->returns));
        json_object_array_add(items, o);
    }
    json_object_object_add(root, "items", items);
    json_object_object_add(root, "more", json_object_new_boolean(page->more));
    json_object_object_add(root, "now_ms", json_object_new_int64((int64_t)page->now_ms));
    gridctl_print_json(root);
}

static void s_print_text(const Gridrelay__SupervisionPage *page)
{
    if (page->n_items == 0) {
        printf("nothing overdue here or below\n");
        return;
    }
    printf("%-26s  %-21s  %-12s  %-16s  %-10s  %5s  %s\n", "CASE", "OVERDUE", "LATE", "AT",
           "HOLDER", "URGES", "CATEGORY / TITLE");
    for (size_t i = 0; i < page->n_items; i++) {
        const Gridrelay__SupervisionItem *it = page->items[i];
        char late[32];
        s_late(late, sizeof late, it->late_ms);
        bool returns = it->kind == GRIDRELAY__SUPERVISION_ITEM__KIND__RETURNED_TOO_OFTEN;
        printf("%-26s  %-21s  %-12s  %-16s  %-10s  %5u  %s %s\n", it->event_id,
               gr_overdue_name((gr_overdue_t)it->kind), returns ? "-" : late, it->node_id,
               it->holder, it->urges, it->category, it->title);
    }
    if (page->more)
        printf("(more overdue than listed: raise --limit)\n");
}

int gridctl_supervise(int argc, char **argv)
{
    gridctl_common_t common;
    s_supervise_values_t v = { 0 };
    int rc = gridctl_parse(&s_supervise_cmd, argc, argv, &v, &common, NULL);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
    uint64_t limit = v.limit;
    Gridrelay__ListSupervision ls = GRIDRELAY__LIST_SUPERVISION__INIT;
    ls.limit = (uint32_t)limit;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_LIST_SUPERVISION;
    body.list_supervision = &ls;
    gr_opened_t reply;
    rc = gridctl_call_for(&common, &body, GRIDRELAY__BODY__KIND_SUPERVISION_PAGE, &reply);
    if (rc != GRIDCTL_OK)
        return rc;
    if (common.json)
        s_print_json(reply.body->supervision_page);
    else
        s_print_text(reply.body->supervision_page);
    gr_opened_clear(&reply);
    return GRIDCTL_OK;
}
