/* Names and parsers shared by gridctl's subcommands. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gridctl.h"

static const char *const s_status[] = {
    "unspecified", "reported", "accepted", "dispatched", "assigned", "in_progress",
    "resolved", "fed_back", "closed", "escalated", "returned",
};
static const char *const s_severity[] = { "unspecified", "routine", "urgent", "extra-urgent" };
static const char *const s_action[] = {
    "-", "report", "accept", "dispatch", "assign", "claim", "progress", "return",
    "resolve", "feedback", "close", "escalate", "deadline", "urge", "merge", "unmerge",
    "drop",
};
static const char *const s_error[] = {
    "none", "frame_too_large", "decode", "version", "untrusted", "signature", "replay",
    "unknown_category", "invalid", "not_found", "store_full", "internal", "unsupported",
    "forbidden",
};

#define NAME_OF(table, i) \
    ((i) >= 0 && (size_t)(i) < sizeof(table) / sizeof(table[0]) ? (table)[i] : "unknown")

const char *gridctl_status_name(int status) { return NAME_OF(s_status, status); }
const char *gridctl_severity_name(int severity) { return NAME_OF(s_severity, severity); }
const char *gridctl_action_name(int action) { return NAME_OF(s_action, action); }
const char *gridctl_error_name(int code) { return NAME_OF(s_error, code); }

static int s_parse(const char *const *table, size_t n, const char *text)
{
    for (size_t i = 1; i < n; i++)
        if (strcasecmp(table[i], text) == 0)
            return (int)i;
    return -1;
}

int gridctl_parse_status(const char *text)
{
    return s_parse(s_status, sizeof s_status / sizeof *s_status, text);
}

int gridctl_parse_severity(const char *text)
{
    if (strcasecmp(text, "extra_urgent") == 0)
        return 3;
    return s_parse(s_severity, sizeof s_severity / sizeof *s_severity, text);
}

void gridctl_format_time(char out[32], uint64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03uZ", (unsigned)(ms % 1000));
}

void gridctl_print_json(json_object *obj)
{
    printf("%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
    json_object_put(obj);
}

json_object *gridctl_ack_object(const Gridrelay__Ack *ack)
{
    json_object *obj = json_object_new_object();
    json_object_object_add(obj, "id", json_object_new_string(ack->event_id));
    return obj;
}
