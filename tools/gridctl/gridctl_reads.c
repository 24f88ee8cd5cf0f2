/* gridctl audit reads: the node's audit of reads and refusals (PROTOCOL.md
 * 4.10), for auditors. */
#include <stddef.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gridctl.h"
#include "keys.h"

static int s_parse_since(const char *text, uint64_t *ms)
{
    char *end = NULL;
    unsigned long long n = strtoull(text, &end, 10);
    if (*text && !*end) {
        *ms = n;
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    end = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end || (*end && strcmp(end, "Z") != 0))
        return -1;
    time_t t = timegm(&tm);
    if (t < 0)
        return -1;
    *ms = (uint64_t)t * 1000;
    return 0;
}

static int s_parse_since_option(const char *arg, void *place)
{
    return s_parse_since(arg, place);
}

/* --actor KEY: 64 hex digits or @FILE. */
static int s_parse_actor(const char *arg, void *place)
{
    char err[512] = "";
    if ((arg[0] == '@' ? gr_key_load_public(place, arg + 1, err, sizeof err)
                       : gr_key_from_hex(place, arg)) != 0) {
        if (err[0])
            fprintf(stderr, "gridctl: --actor %s: %s\n", arg, err);
        return -1;
    }
    return 0;
}

typedef struct {
    const char *event_id;
    uint8_t actor[GR_PUBLIC_KEY_BYTES];
    bool have_actor;
    uint64_t since_ms, limit;
} s_reads_values_t;

static const gridctl_opt_t s_reads_options[] = {
    { .kind = GRIDCTL_OPT_STRING, .name = "case", .letter = 'c', .arg = "ID",
      .offset = offsetof(s_reads_values_t, event_id), .help = "only records about this case" },
    { .kind = GRIDCTL_OPT_CUSTOM, .name = "actor", .arg = "KEY",
      .offset = offsetof(s_reads_values_t, actor), .parse = s_parse_actor,
      .seen = GRIDCTL_SEEN(s_reads_values_t, have_actor),
      .expect = "a public key (64 hex digits, or @FILE)",
      .help = "only this key's (64 hex digits, or @FILE); not --key,\n"
              "which is the key you sign with" },
    { .kind = GRIDCTL_OPT_CUSTOM, .name = "since", .arg = "TIME",
      .offset = offsetof(s_reads_values_t, since_ms), .parse = s_parse_since_option,
      .expect = "ms since the epoch, or YYYY-MM-DDTHH:MM:SSZ",
      .help = "at or after TIME: ms since the epoch, or UTC\nYYYY-MM-DDTHH:MM:SS[Z]" },
    { .kind = GRIDCTL_OPT_U64, .name = "limit", .arg = "N", .min = 1, .max = 1000,
      .offset = offsetof(s_reads_values_t, limit), .help = "the newest N matches (default 1000)" },
    { .kind = GRIDCTL_OPT_END },
};

static const gridctl_cmd_t s_reads_cmd = {
    .name = "audit reads",
    .synopsis = "[--case ID] [--actor KEY] [--since TIME] [--limit N] [OPTIONS]",
    .about =
"Lists what the node recorded of who read a confidential case (catalogue:\n"
"confidential = yes) and of every refused request (forbidden), oldest first:\n"
"seq, time, read or refused, the key's name and roles, the request, the case,\n"
"its category, and the refusal's text. The records form a hash chain of their\n"
"own, which the node walks whole on each call: the last line says 'chain ok N\n"
"records, head HASH', or where it broke (exit 5). Only auditors may ask.\n",
    .options = s_reads_options,
    .connect = true,
    .timeout_ms = 30000,
    .attempts = 1,
    .examples = "gridctl audit reads --case 01JDX4Q8V3M2K7P9R5T1W6Y0ZB\n"
                "gridctl audit reads --actor @viewer.pub --since 2026-12-01T00:00:00Z",
};

static const char *s_kind(int kind)
{
    return kind == GRIDRELAY__ACCESS_RECORD__KIND__READ      ? "read"
           : kind == GRIDRELAY__ACCESS_RECORD__KIND__REFUSED ? "refused"
                                                              : "?";
}

static void s_print(const Gridrelay__AccessLog *log, bool json)
{
    char head[65] = "";
    if (log->head.len == 32)
        sodium_bin2hex(head, sizeof head, log->head.data, 32);
    if (json) {
        json_object *o = json_object_new_object(), *a = json_object_new_array();
        for (size_t i = 0; i < log->n_records; i++) {
            const Gridrelay__AccessRecord *r = log->records[i];
            json_object *e = json_object_new_object();
            char key[GR_PUBLIC_KEY_HEX] = "", when[32];
            if (r->actor.len == 32)
                gr_key_to_hex(key, r->actor.data);
            gridctl_format_time(when, r->time_ms);
            json_object_object_add(e, "seq", json_object_new_int64((int64_t)r->seq));
            json_object_object_add(e, "time", json_object_new_string(when));
            json_object_object_add(e, "kind", json_object_new_string(s_kind(r->kind)));
            json_object_object_add(e, "actor", json_object_new_string(key));
            json_object_object_add(e, "actor_name", json_object_new_string(r->actor_name));
            json_object_object_add(e, "roles", json_object_new_string(r->roles));
            json_object_object_add(e, "request", json_object_new_string(r->request));
            json_object_object_add(e, "event_id", json_object_new_string(r->event_id));
            json_object_object_add(e, "category", json_object_new_string(r->category));
            json_object_object_add(e, "detail", json_object_new_string(r->detail));
            json_object_array_add(a, e);
        }
        json_object_object_add(o, "records", a);
        json_object_object_add(o, "more", json_object_new_boolean(log->more));
        json_object_object_add(o, "total", json_object_new_int64((int64_t)log->total));
        json_object_object_add(o, "chain_ok", json_object_new_boolean(log->chain_ok));
        json_object_object_add(o, "head", json_object_new_string(head));
        json_object_object_add(o, "fault", json_object_new_string(log->fault));
        gridctl_print_json(o);
        return;
    }
    for (size_t i = 0; i < log->n_records; i++) {
        const Gridrelay__AccessRecord *r = log->records[i];
        char key[GR_PUBLIC_KEY_HEX] = "", when[32];
        if (r->actor.len == 32)
            gr_key_to_hex(key, r->actor.data);
        gridctl_format_time(when, r->time_ms);
        printf("%llu %s %-7s %s (%.16s) [%s] %s %s %s%s%s\n", (unsigned long long)r->seq, when,
               s_kind(r->kind), *r->actor_name ? r->actor_name : "-", key, r->roles, r->request,
               *r->event_id ? r->event_id : "-", *r->category ? r->category : "",
               *r->detail ? ": " : "", r->detail);
    }
    if (log->more)
        printf("(more matched: the newest %zu shown)\n", log->n_records);
    if (log->chain_ok)
        printf("chain ok %llu records, head %s\n", (unsigned long long)log->total, head);
    else
        printf("chain BROKEN: %s\n", log->fault);
}

int gridctl_audit_reads(int argc, char **argv)
{
    gridctl_common_t common;
    s_reads_values_t v;
    memset(&v, 0, sizeof v);
    int rc = gridctl_parse(&s_reads_cmd, argc, argv, &v, &common, NULL);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
    Gridrelay__AuditReads ask = GRIDRELAY__AUDIT_READS__INIT;
    ask.event_id = (char *)(v.event_id ? v.event_id : "");
    if (v.have_actor)
        ask.actor = (ProtobufCBinaryData){ sizeof v.actor, v.actor };
    ask.since_ms = v.since_ms;
    ask.limit = (uint32_t)v.limit;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_AUDIT_READS;
    body.audit_reads = &ask;
    gr_opened_t reply;
    rc = gridctl_call_for(&common, &body, GRIDRELAY__BODY__KIND_ACCESS_LOG, &reply);
    if (rc != GRIDCTL_OK)
        return rc;
    const Gridrelay__AccessLog *log = reply.body->access_log;
    s_print(log, common.json);
    rc = log->chain_ok ? GRIDCTL_OK : 5;
    gr_opened_clear(&reply);
    return rc;
}
