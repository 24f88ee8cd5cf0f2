/* gridctl report | list | show | stats */
#include <stddef.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_id.h"
#include "gridctl.h"

#define MAX_TAGS 32
#define MAX_ATTACHMENTS 16

/* --attach SHA256HEX,URI[,MEDIA_TYPE] */
static int s_parse_attachment(char *text, Gridrelay__Attachment *att, uint8_t hash[32])
{
    char *uri = strchr(text, ',');
    if (!uri)
        return -1;
    *uri++ = '\0';
    char *type = strchr(uri, ',');
    if (type)
        *type++ = '\0';
    size_t got = 0;
    if (strlen(text) != 64 || sodium_hex2bin(hash, 32, text, 64, NULL, &got, NULL) != 0 || got != 32)
        return -1;
    gridrelay__attachment__init(att);
    att->sha256.data = hash;
    att->sha256.len = 32;
    att->uri = uri;
    att->media_type = type ? type : "";
    return 0;
}

/* --severity LEVEL into a Gridrelay__Severity. */
static int s_parse_severity(const char *arg, void *place)
{
    int sev = gridctl_parse_severity(arg);
    if (sev < 0)
        return -1;
    *(Gridrelay__Severity *)place = (Gridrelay__Severity)sev;
    return 0;
}

/* --status STATUS into a Gridrelay__Status. */
static int s_parse_status(const char *arg, void *place)
{
    int status = gridctl_parse_status(arg);
    if (status < 0)
        return -1;
    *(Gridrelay__Status *)place = (Gridrelay__Status)status;
    return 0;
}

static int s_parse_event_id(const char *arg, void *place)
{
    if (!gr_event_id_valid(arg))
        return -1;
    snprintf(place, GR_EVENT_ID_LEN + 1, "%s", arg);
    return 0;
}

typedef struct {
    Gridrelay__Event event;
    Gridrelay__Location location;
    bool have_lat, have_lon;
    gridctl_strings_t tags, attachments;
    char id[GR_EVENT_ID_LEN + 1];
} s_report_values_t;

#define S_REPORT_STRING(option, l, argument, field, what)                                   \
    { .kind = GRIDCTL_OPT_STRING, .name = option, .letter = l, .arg = argument,            \
      .offset = offsetof(s_report_values_t, field), .help = what }

static const gridctl_opt_t s_report_options[] = {
    { .kind = GRIDCTL_OPT_HEADING, .help = "Event options:" },
    S_REPORT_STRING("category", 'c', "CODE", event.category,
                    "category code from the node's catalogue (required)"),
    S_REPORT_STRING("title", 't', "TEXT", event.title, "short title (required)"),
    { .kind = GRIDCTL_OPT_CUSTOM, .name = "severity", .letter = 's', .arg = "LEVEL",
      .offset = offsetof(s_report_values_t, event.severity), .parse = s_parse_severity,
      .expect = "routine, urgent or extra-urgent",
      .help = "routine | urgent | extra-urgent (default: the\ncategory's default)" },
    S_REPORT_STRING("description", 'd', "TEXT", event.description, "what happened"),
    S_REPORT_STRING("reporter", 'r', "ID", event.reporter, "grid worker / information officer id"),
    S_REPORT_STRING("grid", 'g', "CODE", location.grid_code, "grid (网格) code"),
    S_REPORT_STRING("address", 'a', "TEXT", location.address, "where it is"),
    { .kind = GRIDCTL_OPT_DOUBLE, .name = "lat", .arg = "DEG",
      .offset = offsetof(s_report_values_t, location.lat),
      .seen = GRIDCTL_SEEN(s_report_values_t, have_lat), .help = "latitude (with --lon)" },
    { .kind = GRIDCTL_OPT_DOUBLE, .name = "lon", .arg = "DEG",
      .offset = offsetof(s_report_values_t, location.lon),
      .seen = GRIDCTL_SEEN(s_report_values_t, have_lon), .help = "longitude (with --lat)" },
    { .kind = GRIDCTL_OPT_LIST, .name = "tag", .arg = "TAG", .max = MAX_TAGS,
      .offset = offsetof(s_report_values_t, tags), .help = "a tag; repeatable" },
    { .kind = GRIDCTL_OPT_LIST, .name = "attach", .arg = "SHA256,URI[,TYPE]", .max = MAX_ATTACHMENTS,
      .offset = offsetof(s_report_values_t, attachments),
      .help = "reference to a photo or video, repeatable;\n"
              "the media itself never travels on the bus" },
    { .kind = GRIDCTL_OPT_CUSTOM, .name = "id", .arg = "ID",
      .offset = offsetof(s_report_values_t, id), .parse = s_parse_event_id,
      .expect = "1..64 characters of [A-Za-z0-9._-]",
      .help = "event id (default: a new ULID made here)" },
    { .kind = GRIDCTL_OPT_END },
};

static const gridctl_cmd_t s_report_cmd = {
    .name = "report",
    .synopsis = "--category CODE --title TEXT [OPTIONS]",
    .about =
"Submits one event report, signed with your key, and prints its id once the\n"
"node has stored it durably. Safe to repeat after a lost reply: the same\n"
"--id is stored once.\n"
"\n"
"Any report counts as your daily report (日报告) where the node's [daily]\n"
"names you; when nothing happened, send a zero report (零报告): --category\n"
"DAILY.SAFE (the node's [daily] category). It is stored and counted, and\n"
"makes no case: nobody has to accept or resolve it ('gridctl daily').\n",
    .options = s_report_options,
    .connect = true,
    .examples =
"gridctl report -c SAFETY.FIRE -t 'smoke behind the school' -s urgent \\\n"
"    --grid A1-03 --lat 30.27 --lon 120.15\n"
"gridctl report --category DAILY.SAFE --title 'all safe'",
};

int gridctl_report(int argc, char **argv)
{
    gridctl_common_t common;
    s_report_values_t v;
    memset(&v, 0, sizeof v);
    gridrelay__event__init(&v.event);
    gridrelay__location__init(&v.location);
    int rc = gridctl_parse(&s_report_cmd, argc, argv, &v, &common, NULL);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
    if (!v.event.category || !v.event.title || v.have_lat != v.have_lon)
        return gridctl_usage_error(&s_report_cmd, v.have_lat != v.have_lon
                                   ? "--lat and --lon go together"
                                   : "--category and --title are required");
    Gridrelay__Event event = v.event;
    Gridrelay__Location location = v.location;
    Gridrelay__Attachment atts[MAX_ATTACHMENTS];
    Gridrelay__Attachment *att_ptrs[MAX_ATTACHMENTS];
    uint8_t hashes[MAX_ATTACHMENTS][32];
    for (size_t i = 0; i < v.attachments.n; i++) {
        /* The items are argv's own words: splitting one in place is fine. */
        if (s_parse_attachment((char *)v.attachments.items[i], &atts[i], hashes[i]) != 0) {
            fprintf(stderr, "gridctl: --attach: expected SHA256HEX,URI[,TYPE] (at most %d)\n", MAX_ATTACHMENTS);
            return GRIDCTL_USAGE;
        }
        att_ptrs[i] = &atts[i];
    }
    event.n_attachments = v.attachments.n;
    event.n_tags = v.tags.n;
    char *id = v.id;
    int have_lat = v.have_lat;
    char **tags = (char **)v.tags.items;
    if (gr_keys_init() != 0)
        return GRIDCTL_LOCAL;
    if (!id[0])
        gr_event_id_new(id, gr_now_ms());
    event.id = id;
    event.created_ms = gr_now_ms();
    event.tags = tags;
    event.attachments = att_ptrs;
    location.has_coordinates = have_lat;
    event.location = &location;
    Gridrelay__Report report = GRIDRELAY__REPORT__INIT;
    report.event = &event;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_REPORT;
    body.report = &report;

    gr_opened_t reply;
    rc = gridctl_call_for(&common, &body, GRIDRELAY__BODY__KIND_ACK, &reply);
    if (rc != GRIDCTL_OK)
        return rc;
    const Gridrelay__Ack *ack = reply.body->ack;
    if (common.json) {
        json_object *obj = gridctl_ack_object(ack);
        json_object_object_add(obj, "duplicate", json_object_new_boolean(ack->duplicate));
        gridctl_print_json(obj);
    } else {
        printf("%s%s\n", ack->event_id, ack->duplicate ? " (already stored)" : "");
    }
    gr_opened_clear(&reply);
    return GRIDCTL_OK;
}

static json_object *s_summary_json(const Gridrelay__EventSummary *s)
{
    json_object *obj = json_object_new_object();
    json_object_object_add(obj, "id", json_object_new_string(s->id));
    json_object_object_add(obj, "category", json_object_new_string(s->category));
    json_object_object_add(obj, "severity", json_object_new_string(gridctl_severity_name(s->severity)));
    json_object_object_add(obj, "status", json_object_new_string(gridctl_status_name(s->status)));
    json_object_object_add(obj, "title", json_object_new_string(s->title));
    json_object_object_add(obj, "origin_node", json_object_new_string(s->origin_node));
    json_object_object_add(obj, "received_ms", json_object_new_int64((int64_t)s->received_ms));
    json_object_object_add(obj, "updated_ms", json_object_new_int64((int64_t)s->updated_ms));
    json_object_object_add(obj, "merged_into", json_object_new_string(s->merged_into));
    json_object_object_add(obj, "candidate_of", json_object_new_string(s->candidate_of));
    json_object_object_add(obj, "merged", json_object_new_int64(s->merged));
    return obj;
}

typedef struct {
    Gridrelay__ListEvents list;
    uint64_t limit;
    const char *page;
    bool all;
} s_list_values_t;

static const gridctl_opt_t s_list_options[] = {
    { .kind = GRIDCTL_OPT_HEADING, .help = "Filters (all optional, combined with AND):" },
    { .kind = GRIDCTL_OPT_CUSTOM, .name = "status", .arg = "STATUS",
      .offset = offsetof(s_list_values_t, list.status), .parse = s_parse_status,
      .expect = "a known status",
      .help = "reported, accepted, dispatched, assigned, in_progress,\n"
              "resolved, fed_back, closed, escalated, returned" },
    { .kind = GRIDCTL_OPT_STRING, .name = "category", .arg = "CODE",
      .offset = offsetof(s_list_values_t, list.category), .help = "one category code" },
    { .kind = GRIDCTL_OPT_CUSTOM, .name = "severity", .arg = "LEVEL",
      .offset = offsetof(s_list_values_t, list.severity), .parse = s_parse_severity,
      .expect = "routine, urgent or extra-urgent", .help = "routine | urgent | extra-urgent" },
    { .kind = GRIDCTL_OPT_U64, .name = "since", .arg = "MS",
      .offset = offsetof(s_list_values_t, list.since_ms), .expect = "a time in ms since the epoch",
      .help = "received at or after (ms since the epoch)" },
    { .kind = GRIDCTL_OPT_U64, .name = "until", .arg = "MS",
      .offset = offsetof(s_list_values_t, list.until_ms), .expect = "a time in ms since the epoch",
      .help = "received before" },
    { .kind = GRIDCTL_OPT_HEADING, .help = "Paging:" },
    { .kind = GRIDCTL_OPT_U64, .name = "limit", .arg = "N", .min = 1, .max = 1000,
      .offset = offsetof(s_list_values_t, limit), .help = "events per page (default 100, at most 1000)" },
    { .kind = GRIDCTL_OPT_STRING, .name = "page", .arg = "TOKEN",
      .offset = offsetof(s_list_values_t, page), .help = "continue after a previous page" },
    { .kind = GRIDCTL_OPT_FLAG, .name = "all", .offset = offsetof(s_list_values_t, all),
      .help = "follow every page to the end" },
    { .kind = GRIDCTL_OPT_END },
};

static const gridctl_cmd_t s_list_cmd = {
    .name = "list",
    .synopsis = "[FILTERS] [--all | --page TOKEN] [OPTIONS]",
    .about =
"Lists the events a node holds, oldest first by the time it received them.\n"
"Duplicate reports (合并) are marked after the title: [merged into ID],\n"
"[candidate duplicate of ID] (see 'gridctl merge --help'), [N merged].\n"
"What you see depends on your key's role: an operator, viewer or auditor\n"
"lists every event; a reporter only the ones it reported (and, if the node\n"
"gives it a grid, that grid's); a department only the cases it has a task\n"
"for.\n",
    .options = s_list_options,
    .connect = true,
    .examples =
"gridctl list --status reported --severity urgent\n"
"gridctl list --since 1764547200000 --all --json",
};

/* One page of `gridctl list`: rows, or objects into the JSON array. */
static const char *s_list_page(void *ctx, const Gridrelay__Body *reply, size_t *count)
{
    json_object *array = ctx;
    const Gridrelay__EventPage *p = reply->event_page;
    for (size_t i = 0; p && i < p->n_events; i++) {
        const Gridrelay__EventSummary *s = p->events[i];
        if (array) {
            json_object_array_add(array, s_summary_json(s));
        } else {
            char when[32];
            gridctl_format_time(when, s->received_ms);
            printf("%-26s  %-8s  %-12s  %-11s  %-24s  %s", s->id, gridctl_status_name(s->status),
                   s->category, gridctl_severity_name(s->severity), when, s->title);
            /* 合并: where the report stands among duplicates. */
            if (*s->merged_into)
                printf("  [merged into %s]", s->merged_into);
            else if (*s->candidate_of)
                printf("  [candidate duplicate of %s]", s->candidate_of);
            if (s->merged)
                printf("  [%u merged]", s->merged);
            printf("\n");
        }
    }
    *count += p ? p->n_events : 0;
    return p ? p->next_page_token : NULL;
}

int gridctl_list(int argc, char **argv)
{
    gridctl_common_t common;
    s_list_values_t v;
    memset(&v, 0, sizeof v);
    gridrelay__list_events__init(&v.list);
    int rc = gridctl_parse(&s_list_cmd, argc, argv, &v, &common, NULL);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
    Gridrelay__ListEvents list = v.list;
    list.limit = (uint32_t)v.limit;
    bool all = v.all;
    const char *page = v.page;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_LIST_EVENTS;
    body.list_events = &list;
    json_object *array = common.json ? json_object_new_array() : NULL;
    char token[GRIDCTL_TOKEN_MAX] = "";
    if (page)
        snprintf(token, sizeof token, "%s", page);
    size_t total = 0;
    if (!common.json)
        printf("%-26s  %-8s  %-12s  %-11s  %-24s  %s\n", "ID", "STATUS", "CATEGORY", "SEVERITY",
               "RECEIVED", "TITLE");
    const gridctl_listing_t listing = { &body, &list.page_token, GRIDRELAY__BODY__KIND_EVENT_PAGE,
                                        all, s_list_page, array };
    rc = gridctl_pages(&common, &listing, token, &total);
    if (rc == GRIDCTL_OK) {
        if (array) {
            json_object *obj = json_object_new_object();
            json_object_object_add(obj, "events", array);
            json_object_object_add(obj, "next_page", json_object_new_string(token));
            gridctl_print_json(obj);
            array = NULL;
        } else {
            printf("(%zu event%s)%s%s\n", total, total == 1 ? "" : "s",
                   token[0] ? " more: --page " : "", token);
        }
    }
    if (array)
        json_object_put(array);
    return rc;
}

typedef struct {
    bool below;
} s_show_values_t;

static const gridctl_opt_t s_show_options[] = {
    { .kind = GRIDCTL_OPT_FLAG, .name = "below", .letter = 'B',
      .offset = offsetof(s_show_values_t, below),
      .help = "when the case is not held at this node, show what this\n"
              "node knows of it from the tiers below (its status,\n"
              "holder, the tier that holds it, and the urges sent);\n"
              "without it such a case is \"no event ... on this node\"" },
    { .kind = GRIDCTL_OPT_END },
};

static const gridctl_cmd_t s_show_cmd = {
    .name = "show",
    .synopsis = "ID [OPTIONS]",
    .about =
"Shows one event and its whole timeline: every state change with its time,\n"
"who caused it, where, and why. An operator, viewer or auditor may show any\n"
"event; a reporter only its own reports, a department only the cases it has\n"
"a task for (else the node refuses: forbidden).\n",
    .arguments = "ID    the event's id\n",
    .options = s_show_options,
    .connect = true,
    .min_args = 1,
    .max_args = 1,
    .examples = "gridctl show 01JDX4Q8V3M2K7P9R5T1W6Y0ZB\n"
                "gridctl show 01JDX4Q8V3M2K7P9R5T1W6Y0ZB --below --json",
};

static json_object *s_hex(const ProtobufCBinaryData *bin)
{
    char hex[129];
    size_t n = bin->len > 64 ? 64 : bin->len;
    sodium_bin2hex(hex, sizeof hex, bin->data, n);
    return json_object_new_string(hex);
}

static void s_show_json(const Gridrelay__EventDetail *d)
{
    const Gridrelay__Event *e = d->event;
    json_object *obj = json_object_new_object();
    json_object_object_add(obj, "id", json_object_new_string(e->id));
    json_object_object_add(obj, "status", json_object_new_string(gridctl_status_name(d->status)));
    json_object_object_add(obj, "category", json_object_new_string(e->category));
    json_object_object_add(obj, "severity", json_object_new_string(gridctl_severity_name(e->severity)));
    json_object_object_add(obj, "title", json_object_new_string(e->title));
    json_object_object_add(obj, "description", json_object_new_string(e->description));
    json_object_object_add(obj, "reporter", json_object_new_string(e->reporter));
    json_object_object_add(obj, "origin_node", json_object_new_string(e->origin_node));
    json_object_object_add(obj, "created_ms", json_object_new_int64((int64_t)e->created_ms));
    json_object_object_add(obj, "received_ms", json_object_new_int64((int64_t)d->received_ms));
    json_object_object_add(obj, "holder", json_object_new_string(d->holder ? d->holder : ""));
    json_object_object_add(obj, "dept", json_object_new_string(d->dept ? d->dept : ""));
    json_object *co = json_object_new_array();
    for (size_t i = 0; i < d->n_co_depts; i++)
        json_object_array_add(co, json_object_new_string(d->co_depts[i]));
    json_object_object_add(obj, "co_depts", co);
    json_object_object_add(obj, "dept_urged", json_object_new_int64(d->dept_urged));
    json_object_object_add(obj, "below", json_object_new_boolean(d->below));
    json_object_object_add(obj, "held_at", json_object_new_string(d->held_at ? d->held_at : ""));
    json_object_object_add(obj, "result", json_object_new_string(d->result ? d->result : ""));
    json_object_object_add(obj, "merged_into", json_object_new_string(d->merged_into));
    json_object_object_add(obj, "merged_at", json_object_new_string(d->merged_at));
    json_object_object_add(obj, "candidate_of", json_object_new_string(d->candidate_of));
    json_object *merged = json_object_new_array();
    for (size_t i = 0; i < d->n_merged; i++)
        json_object_array_add(merged, json_object_new_string(d->merged[i]));
    json_object_object_add(obj, "merged", merged);
    if (e->location) {
        json_object *loc = json_object_new_object();
        json_object_object_add(loc, "grid_code", json_object_new_string(e->location->grid_code));
        json_object_object_add(loc, "address", json_object_new_string(e->location->address));
        if (e->location->has_coordinates) {
            json_object_object_add(loc, "lat", json_object_new_double(e->location->lat));
            json_object_object_add(loc, "lon", json_object_new_double(e->location->lon));
        }
        json_object_object_add(obj, "location", loc);
    }
    json_object *tags = json_object_new_array();
    for (size_t i = 0; i < e->n_tags; i++)
        json_object_array_add(tags, json_object_new_string(e->tags[i]));
    json_object_object_add(obj, "tags", tags);
    json_object *atts = json_object_new_array();
    for (size_t i = 0; i < e->n_attachments; i++) {
        json_object *a = json_object_new_object();
        json_object_object_add(a, "sha256", s_hex(&e->attachments[i]->sha256));
        json_object_object_add(a, "uri", json_object_new_string(e->attachments[i]->uri));
        json_object_object_add(a, "media_type", json_object_new_string(e->attachments[i]->media_type));
        json_object_array_add(atts, a);
    }
    json_object_object_add(obj, "attachments", atts);
    json_object *timeline = json_object_new_array();
    for (size_t i = 0; i < d->n_timeline; i++) {
        const Gridrelay__TimelineEntry *t = d->timeline[i];
        json_object *entry = json_object_new_object();
        json_object_object_add(entry, "seq", json_object_new_int64(t->seq));
        json_object_object_add(entry, "time_ms", json_object_new_int64((int64_t)t->time_ms));
        json_object_object_add(entry, "action", json_object_new_string(gridctl_action_name(t->action)));
        json_object_object_add(entry, "from", json_object_new_string(gridctl_status_name(t->from_status)));
        json_object_object_add(entry, "to", json_object_new_string(gridctl_status_name(t->to_status)));
        json_object_object_add(entry, "actor", json_object_new_string(t->actor_name));
        json_object_object_add(entry, "actor_key", s_hex(&t->actor));
        json_object_object_add(entry, "unit", json_object_new_string(t->unit));
        json_object_object_add(entry, "reason", json_object_new_string(t->reason));
        json_object_object_add(entry, "hash", s_hex(&t->hash));
        json_object_array_add(timeline, entry);
    }
    json_object_object_add(obj, "timeline", timeline);
    printf("%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY));
    json_object_put(obj);
}

static void s_show_text(const Gridrelay__EventDetail *d)
{
    const Gridrelay__Event *e = d->event;
    char when[32];
    printf("Event     %s\n", e->id);
    if (d->below)
        printf("Below     held at %s: as that tier last told this node; timeline: the\n"
               "          supervision notices sent from here\n", d->held_at);
    printf("Status    %s", gridctl_status_name(d->status));
    if (*d->merged_into)
        printf(", merged into %s (at %s): that case's lifecycle is this one's",
               d->merged_into, d->merged_at);
    printf("\n");
    if (d->n_merged) {
        printf("Merged   ");
        for (size_t i = 0; i < d->n_merged; i++)
            printf(" %s", d->merged[i]);
        printf(" (合并: resolved with this case)\n");
    }
    if (*d->candidate_of && !*d->merged_into)
        printf("Candidate duplicate of %s (to merge: gridctl merge %s %s)\n", d->candidate_of,
               e->id, d->candidate_of);
    printf("Category  %s (%s)\n", e->category, gridctl_severity_name(e->severity));
    printf("Title     %s\n", e->title);
    if (e->sealed && e->sealed->to_node && *e->sealed->to_node)
        printf("Sealed    its personal fields are sealed to %s and read there only\n",
               e->sealed->to_node);
    if (e->description && *e->description)
        printf("Details   %s\n", e->description);
    printf("Origin    node %s, reporter %s\n", e->origin_node, *e->reporter ? e->reporter : "-");
    if (e->location && (*e->location->grid_code || *e->location->address || e->location->has_coordinates)) {
        printf("Location  grid %s, %s", *e->location->grid_code ? e->location->grid_code : "-",
               *e->location->address ? e->location->address : "-");
        if (e->location->has_coordinates)
            printf(" (%.6f, %.6f)", e->location->lat, e->location->lon);
        printf("\n");
    }
    for (size_t i = 0; i < e->n_tags; i++)
        printf("Tag       %s\n", e->tags[i]);
    for (size_t i = 0; i < e->n_attachments; i++)
        printf("Media     %s %s\n", e->attachments[i]->uri, e->attachments[i]->media_type);
    if (d->holder && *d->holder)
        printf("Holder    %s\n", d->holder);
    if (d->dept && *d->dept) {
        printf("Dept      %s (lead)", d->dept);
        for (size_t i = 0; i < d->n_co_depts; i++)
            printf(", %s", d->co_depts[i]);
        printf("\n");
    }
    if (d->dept_urged)
        printf("Urged     %u supervision notice(s) to departments (督办)\n", d->dept_urged);
    if (d->result && *d->result)
        printf("Result    %s\n", d->result);
    gridctl_format_time(when, d->received_ms);
    printf("Received  %s\n\nTimeline\n", when);
    for (size_t i = 0; i < d->n_timeline; i++) {
        const Gridrelay__TimelineEntry *t = d->timeline[i];
        gridctl_format_time(when, t->time_ms);
        printf("  %2u  %s  %-9s %s -> %s  by %s at %s: %s\n", t->seq, when,
               gridctl_action_name(t->action), gridctl_status_name(t->from_status),
               gridctl_status_name(t->to_status), t->actor_name, t->unit, t->reason);
    }
}

int gridctl_show(int argc, char **argv)
{
    gridctl_common_t common;
    s_show_values_t v = { false };
    int first = 0;
    int rc = gridctl_parse(&s_show_cmd, argc, argv, &v, &common, &first);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
    bool below = v.below;
    Gridrelay__GetEvent get = GRIDRELAY__GET_EVENT__INIT;
    get.event_id = argv[first];
    get.below = below;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_EVENT;
    body.get_event = &get;
    gr_opened_t reply;
    rc = gridctl_call_for(&common, &body, GRIDRELAY__BODY__KIND_EVENT_DETAIL, &reply);
    if (rc != GRIDCTL_OK)
        return rc;
    if (!reply.body->event_detail->event) {
        gr_opened_clear(&reply);
        return GRIDCTL_REFUSED;
    }
    if (common.json)
        s_show_json(reply.body->event_detail);
    else
        s_show_text(reply.body->event_detail);
    gr_opened_clear(&reply);
    return GRIDCTL_OK;
}

static const gridctl_cmd_t s_stats_cmd = {
    .name = "stats",
    .synopsis = "[OPTIONS]\n--by KEY [OPTIONS]",
    .about =
"Shows the node's counters: events stored, duplicates answered, and every\n"
"kind of rejected request (rejected_forbidden: refused for the signer's role\n"
"or scope). For operators, viewers and auditors.\n"
"With --by KEY, counts of the stored cases over time instead: see\n"
"'gridctl stats --by category --help'.\n",
    .connect = true,
    .max_args = -1,
    .examples = "gridctl stats --json",
};

int gridctl_stats(int argc, char **argv)
{
    /* Counts over time from the stored cases are another request. */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--by") == 0 || strncmp(argv[i], "--by=", 5) == 0)
            return gridctl_case_stats(argc, argv);
    gridctl_common_t common;
    int rc = gridctl_parse(&s_stats_cmd, argc, argv, NULL, &common, NULL);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
    Gridrelay__GetStats get = GRIDRELAY__GET_STATS__INIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_STATS;
    body.get_stats = &get;
    gr_opened_t reply;
    rc = gridctl_call_for(&common, &body, GRIDRELAY__BODY__KIND_STATS, &reply);
    if (rc != GRIDCTL_OK)
        return rc;
    const Gridrelay__Stats *stats = reply.body->stats;
    if (common.json) {
        json_object *obj = json_object_new_object();
        json_object_object_add(obj, "node_id", json_object_new_string(stats->node_id));
        for (size_t i = 0; i < stats->n_counters; i++)
            json_object_object_add(obj, stats->counters[i]->name,
                                   json_object_new_int64((int64_t)stats->counters[i]->value));
        gridctl_print_json(obj);
    } else {
        printf("node %s\n", stats->node_id);
        for (size_t i = 0; i < stats->n_counters; i++)
            printf("  %-22s %llu\n", stats->counters[i]->name,
                   (unsigned long long)stats->counters[i]->value);
    }
    gr_opened_clear(&reply);
    return GRIDCTL_OK;
}
