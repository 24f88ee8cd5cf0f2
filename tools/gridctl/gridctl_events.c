/* gridctl report | list | show | stats */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_id.h"
#include "gridctl.h"

#define MAX_TAGS 32
#define MAX_ATTACHMENTS 16

static void s_init_common(gridctl_common_t *common)
{
    memset(common, 0, sizeof *common);
    common->timeout_ms = 3000;
    common->attempts = 3;
}

static int s_parse_u64(const char *text, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || !end || *end || text[0] == '-')
        return -1;
    *out = v;
    return 0;
}

static int s_parse_double(const char *text, double *out)
{
    char *end = NULL;
    errno = 0;
    *out = strtod(text, &end);
    return (errno || !end || *end) ? -1 : 0;
}

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

static void s_report_usage(FILE *out)
{
    fprintf(out,
"Usage: gridctl report --category CODE --title TEXT [OPTIONS]\n"
"\n"
"Submits one event report, signed with your key, and prints its id once the\n"
"node has stored it durably. Safe to repeat after a lost reply: the same\n"
"--id is stored once.\n"
"\n"
"Any report counts as your daily report (日报告) where the node's [daily]\n"
"names you; when nothing happened, send a zero report (零报告): --category\n"
"DAILY.SAFE (the node's [daily] category). It is stored and counted, and\n"
"makes no case: nobody has to accept or resolve it ('gridctl daily').\n"
"\n"
"Event options:\n"
"  -c, --category CODE    category code from the node's catalogue (required)\n"
"  -t, --title TEXT       short title (required)\n"
"  -s, --severity LEVEL   routine | urgent | extra-urgent (default: the\n"
"                         category's default)\n"
"  -d, --description TEXT\n"
"  -r, --reporter ID      grid worker / information officer id\n"
"  -g, --grid CODE        grid (网格) code\n"
"  -a, --address TEXT\n"
"      --lat DEG --lon DEG  coordinates (both or neither)\n"
"      --tag TAG          repeatable\n"
"      --attach SHA256,URI[,TYPE]  reference to a photo or video, repeatable;\n"
"                         the media itself never travels on the bus\n"
"      --id ID            event id (default: a new ULID made here)\n"
"\n%s", gridctl_common_help);
}

int gridctl_report(int argc, char **argv)
{
    static const struct option options[] = {
        GRIDCTL_COMMON_LONG_OPTIONS,
        { "category", required_argument, NULL, 'c' }, { "title", required_argument, NULL, 't' },
        { "severity", required_argument, NULL, 's' }, { "description", required_argument, NULL, 'd' },
        { "reporter", required_argument, NULL, 'r' }, { "grid", required_argument, NULL, 'g' },
        { "address", required_argument, NULL, 'a' },  { "lat", required_argument, NULL, 1 },
        { "lon", required_argument, NULL, 2 },        { "tag", required_argument, NULL, 3 },
        { "attach", required_argument, NULL, 4 },     { "id", required_argument, NULL, 5 },
        { NULL, 0, NULL, 0 },
    };
    gridctl_common_t common;
    s_init_common(&common);
    Gridrelay__Event event = GRIDRELAY__EVENT__INIT;
    Gridrelay__Location location = GRIDRELAY__LOCATION__INIT;
    char *tags[MAX_TAGS];
    Gridrelay__Attachment atts[MAX_ATTACHMENTS];
    Gridrelay__Attachment *att_ptrs[MAX_ATTACHMENTS];
    uint8_t hashes[MAX_ATTACHMENTS][32];
    int have_lat = 0, have_lon = 0;
    char id[GR_EVENT_ID_LEN + 1] = "";
    int opt;
    while ((opt = getopt_long(argc, argv, GRIDCTL_COMMON_SHORT "c:t:s:d:r:g:a:", options, NULL)) != -1) {
        int c = gridctl_common_option(&common, opt, optarg);
        if (c < 0)
            return GRIDCTL_USAGE;
        if (c > 0)
            continue;
        switch (opt) {
        case 'c': event.category = optarg; break;
        case 't': event.title = optarg; break;
        case 'd': event.description = optarg; break;
        case 'r': event.reporter = optarg; break;
        case 'g': location.grid_code = optarg; break;
        case 'a': location.address = optarg; break;
        case 's': {
            int sev = gridctl_parse_severity(optarg);
            if (sev < 0) {
                fprintf(stderr, "gridctl: --severity %s: expected routine, urgent or extra-urgent\n", optarg);
                return GRIDCTL_USAGE;
            }
            event.severity = (Gridrelay__Severity)sev;
            break;
        }
        case 1:
        case 2:
            if (s_parse_double(optarg, opt == 1 ? &location.lat : &location.lon) != 0) {
                fprintf(stderr, "gridctl: --%s %s: expected a number\n", opt == 1 ? "lat" : "lon", optarg);
                return GRIDCTL_USAGE;
            }
            *(opt == 1 ? &have_lat : &have_lon) = 1;
            break;
        case 3:
            if (event.n_tags == MAX_TAGS) {
                fprintf(stderr, "gridctl: at most %d tags\n", MAX_TAGS);
                return GRIDCTL_USAGE;
            }
            tags[event.n_tags++] = optarg;
            break;
        case 4:
            if (event.n_attachments == MAX_ATTACHMENTS ||
                s_parse_attachment(optarg, &atts[event.n_attachments], hashes[event.n_attachments]) != 0) {
                fprintf(stderr, "gridctl: --attach: expected SHA256HEX,URI[,TYPE] (at most %d)\n", MAX_ATTACHMENTS);
                return GRIDCTL_USAGE;
            }
            att_ptrs[event.n_attachments] = &atts[event.n_attachments];
            event.n_attachments++;
            break;
        case 5:
            if (!gr_event_id_valid(optarg)) {
                fprintf(stderr, "gridctl: --id: 1..64 characters of [A-Za-z0-9._-]\n");
                return GRIDCTL_USAGE;
            }
            snprintf(id, sizeof id, "%s", optarg);
            break;
        case 'h': s_report_usage(stdout); return GRIDCTL_OK;
        default: s_report_usage(stderr); return GRIDCTL_USAGE;
        }
    }
    if (optind != argc || !event.category || !event.title || have_lat != have_lon) {
        fprintf(stderr, "gridctl report: %s\n", optind != argc ? "unexpected argument"
                : have_lat != have_lon ? "--lat and --lon go together"
                : "--category and --title are required");
        return GRIDCTL_USAGE;
    }
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
    int rc = gridctl_call_for(&common, &body, GRIDRELAY__BODY__KIND_ACK, &reply);
    if (rc != GRIDCTL_OK)
        return rc;
    const Gridrelay__Ack *ack = reply.body->ack;
    if (common.json) {
        json_object *obj = json_object_new_object();
        json_object_object_add(obj, "id", json_object_new_string(ack->event_id));
        json_object_object_add(obj, "duplicate", json_object_new_boolean(ack->duplicate));
        printf("%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
        json_object_put(obj);
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

static void s_list_usage(FILE *out)
{
    fprintf(out,
"Usage: gridctl list [FILTERS] [--all | --page TOKEN] [OPTIONS]\n"
"\n"
"Lists the events a node holds, oldest first by the time it received them.\n"
"Duplicate reports (合并) are marked after the title: [merged into ID],\n"
"[candidate duplicate of ID] (see 'gridctl merge --help'), [N merged].\n"
"What you see depends on your key's role: an operator, viewer or auditor\n"
"lists every event; a reporter only the ones it reported (and, if the node\n"
"gives it a grid, that grid's); a department only the cases it has a task\n"
"for.\n"
"\n"
"Filters (all optional, combined with AND):\n"
"      --status STATUS     reported, accepted, dispatched, assigned, in_progress,\n"
"                          resolved, fed_back, closed, escalated, returned\n"
"      --category CODE\n"
"      --severity LEVEL    routine | urgent | extra-urgent\n"
"      --since MS          received at or after (ms since the epoch)\n"
"      --until MS          received before\n"
"Paging:\n"
"      --limit N           events per page (default 100, at most 1000)\n"
"      --page TOKEN        continue after a previous page\n"
"      --all               follow every page to the end\n"
"\n%s", gridctl_common_help);
}

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
    static const struct option options[] = {
        GRIDCTL_COMMON_LONG_OPTIONS,
        { "status", required_argument, NULL, 1 },   { "category", required_argument, NULL, 2 },
        { "severity", required_argument, NULL, 3 }, { "since", required_argument, NULL, 4 },
        { "until", required_argument, NULL, 5 },    { "limit", required_argument, NULL, 6 },
        { "page", required_argument, NULL, 7 },     { "all", no_argument, NULL, 8 },
        { NULL, 0, NULL, 0 },
    };
    gridctl_common_t common;
    s_init_common(&common);
    Gridrelay__ListEvents list = GRIDRELAY__LIST_EVENTS__INIT;
    bool all = false;
    char *page = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, GRIDCTL_COMMON_SHORT, options, NULL)) != -1) {
        int c = gridctl_common_option(&common, opt, optarg);
        if (c < 0)
            return GRIDCTL_USAGE;
        if (c > 0)
            continue;
        uint64_t n = 0;
        switch (opt) {
        case 1:
            if ((c = gridctl_parse_status(optarg)) < 0) {
                fprintf(stderr, "gridctl: --status %s: unknown status\n", optarg);
                return GRIDCTL_USAGE;
            }
            list.status = (Gridrelay__Status)c;
            break;
        case 2: list.category = optarg; break;
        case 3:
            if ((c = gridctl_parse_severity(optarg)) < 0) {
                fprintf(stderr, "gridctl: --severity %s: unknown severity\n", optarg);
                return GRIDCTL_USAGE;
            }
            list.severity = (Gridrelay__Severity)c;
            break;
        case 4:
        case 5:
        case 6:
            if (s_parse_u64(optarg, &n) != 0 || (opt == 6 && (n == 0 || n > 1000))) {
                fprintf(stderr, "gridctl: %s: expected a %s\n", optarg,
                        opt == 6 ? "number from 1 to 1000" : "time in ms since the epoch");
                return GRIDCTL_USAGE;
            }
            if (opt == 4) list.since_ms = n;
            else if (opt == 5) list.until_ms = n;
            else list.limit = (uint32_t)n;
            break;
        case 7: page = optarg; break;
        case 8: all = true; break;
        case 'h': s_list_usage(stdout); return GRIDCTL_OK;
        default: s_list_usage(stderr); return GRIDCTL_USAGE;
        }
    }
    if (optind != argc) {
        s_list_usage(stderr);
        return GRIDCTL_USAGE;
    }
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
    int rc = gridctl_pages(&common, &body, &list.page_token, GRIDRELAY__BODY__KIND_EVENT_PAGE, all,
                           s_list_page, array, token, &total);
    if (rc == GRIDCTL_OK) {
        if (array) {
            json_object *obj = json_object_new_object();
            json_object_object_add(obj, "events", array);
            json_object_object_add(obj, "next_page", json_object_new_string(token));
            printf("%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
            json_object_put(obj);
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

static void s_show_usage(FILE *out)
{
    fprintf(out,
"Usage: gridctl show ID [OPTIONS]\n"
"\n"
"Shows one event and its whole timeline: every state change with its time,\n"
"who caused it, where, and why. An operator, viewer or auditor may show any\n"
"event; a reporter only its own reports, a department only the cases it has\n"
"a task for (else the node refuses: forbidden).\n"
"\n"
"  -B, --below   when the case is not held at this node, show what this node\n"
"                knows of it from the tiers below (its status, holder, the tier\n"
"                that holds it, and the urges sent); without it such a case is\n"
"                \"no event ... on this node\"\n"
"\n%s", gridctl_common_help);
}

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
    static const struct option options[] = { GRIDCTL_COMMON_LONG_OPTIONS, { "below", no_argument, NULL, 'B' },
                                             { NULL, 0, NULL, 0 } };
    gridctl_common_t common;
    s_init_common(&common);
    bool below = false;
    int opt;
    while ((opt = getopt_long(argc, argv, GRIDCTL_COMMON_SHORT "B", options, NULL)) != -1) {
        int c = gridctl_common_option(&common, opt, optarg);
        if (c < 0)
            return GRIDCTL_USAGE;
        if (c > 0)
            continue;
        if (opt == 'B') {
            below = true;
            continue;
        }
        if (opt == 'h') {
            s_show_usage(stdout);
            return GRIDCTL_OK;
        }
        s_show_usage(stderr);
        return GRIDCTL_USAGE;
    }
    if (optind + 1 != argc) {
        s_show_usage(stderr);
        return GRIDCTL_USAGE;
    }
    Gridrelay__GetEvent get = GRIDRELAY__GET_EVENT__INIT;
    get.event_id = argv[optind];
    get.below = below;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_EVENT;
    body.get_event = &get;
    gr_opened_t reply;
    int rc = gridctl_call_for(&common, &body, GRIDRELAY__BODY__KIND_EVENT_DETAIL, &reply);
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

int gridctl_stats(int argc, char **argv)
{
    /* Counts over time from the stored cases are another request. */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--by") == 0 || strncmp(argv[i], "--by=", 5) == 0)
            return gridctl_case_stats(argc, argv);
    static const struct option options[] = { GRIDCTL_COMMON_LONG_OPTIONS, { NULL, 0, NULL, 0 } };
    gridctl_common_t common;
    s_init_common(&common);
    int opt;
    while ((opt = getopt_long(argc, argv, GRIDCTL_COMMON_SHORT, options, NULL)) != -1) {
        int c = gridctl_common_option(&common, opt, optarg);
        if (c < 0)
            return GRIDCTL_USAGE;
        if (c > 0)
            continue;
        FILE *out = opt == 'h' ? stdout : stderr;
        fprintf(out, "Usage: gridctl stats [OPTIONS]\n\nShows the node's counters: events "
                "stored, duplicates answered, and every kind of rejected request\n"
                "(rejected_forbidden: refused for the signer's role or scope). For\n"
                "operators, viewers and auditors.\n"
                "With --by KEY, counts of the stored cases over time instead: see\n"
                "'gridctl stats --by category --help'.\n\n%s",
                gridctl_common_help);
        return opt == 'h' ? GRIDCTL_OK : GRIDCTL_USAGE;
    }
    Gridrelay__GetStats get = GRIDRELAY__GET_STATS__INIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_STATS;
    body.get_stats = &get;
    gr_opened_t reply;
    int rc = gridctl_call_for(&common, &body, GRIDRELAY__BODY__KIND_STATS, &reply);
    if (rc != GRIDCTL_OK)
        return rc;
    const Gridrelay__Stats *stats = reply.body->stats;
    if (common.json) {
        json_object *obj = json_object_new_object();
        json_object_object_add(obj, "node_id", json_object_new_string(stats->node_id));
        for (size_t i = 0; i < stats->n_counters; i++)
            json_object_object_add(obj, stats->counters[i]->name,
                                   json_object_new_int64((int64_t)stats->counters[i]->value));
        printf("%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
        json_object_put(obj);
    } else {
        printf("node %s\n", stats->node_id);
        for (size_t i = 0; i < stats->n_counters; i++)
            printf("  %-22s %llu\n", stats->counters[i]->name,
                   (unsigned long long)stats->counters[i]->value);
    }
    gr_opened_clear(&reply);
    return GRIDCTL_OK;
}
