/* gridctl audit reads: the node's audit of reads and refusals (PROTOCOL.md
 * 4.10), for auditors. */
#include <getopt.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gridctl.h"
#include "keys.h"

static void s_usage(FILE *out)
{
    fprintf(out,
"Usage: gridctl audit reads [--case ID] [--actor KEY] [--since TIME] [--limit N] [OPTIONS]\n"
"\n"
"Lists what the node recorded of who read a confidential case (catalogue:\n"
"confidential = yes) and of every refused request (forbidden), oldest first:\n"
"seq, time, read or refused, the key's name and roles, the request, the case,\n"
"its category, and the refusal's text. The records form a hash chain of their\n"
"own, which the node walks whole on each call: the last line says 'chain ok N\n"
"records, head HASH', or where it broke (exit 5). Only auditors may ask.\n"
"  -c, --case ID      only records about this case\n"
"      --actor KEY    only this key's (64 hex digits, or @FILE); not --key,\n"
"                     which is the key you sign with\n"
"      --since TIME   at or after TIME: ms since the epoch, or UTC\n"
"                     YYYY-MM-DDTHH:MM:SS[Z]\n"
"      --limit N      the newest N matches (1..1000, default 1000)\n"
"\n");
    fprintf(out, "%s", gridctl_common_help);
}

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
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
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
    static const struct option options[] = {
        GRIDCTL_COMMON_LONG_OPTIONS, { "case", required_argument, NULL, 'c' },
        { "actor", required_argument, NULL, 1 }, { "since", required_argument, NULL, 2 },
        { "limit", required_argument, NULL, 3 }, { NULL, 0, NULL, 0 },
    };
    gridctl_common_t common = {.timeout_ms = 30000, .attempts = 1};
    Gridrelay__AuditReads ask = GRIDRELAY__AUDIT_READS__INIT;
    uint8_t actor[GR_PUBLIC_KEY_BYTES];
    int opt;
    while ((opt = getopt_long(argc, argv, GRIDCTL_COMMON_SHORT "c:", options, NULL)) != -1) {
        int c = gridctl_common_option(&common, opt, optarg);
        if (c < 0)
            return GRIDCTL_USAGE;
        if (c > 0)
            continue;
        if (opt == 'c') {
            ask.event_id = optarg;
        } else if (opt == 1) {
            char err[512] = "";
            if ((optarg[0] == '@' ? gr_key_load_public(actor, optarg + 1, err, sizeof err)
                                  : gr_key_from_hex(actor, optarg)) != 0) {
                fprintf(stderr, "gridctl: --actor %s: %s\n", optarg,
                        err[0] ? err : "not a public key (64 hex digits, or @FILE)");
                return GRIDCTL_USAGE;
            }
            ask.actor = (ProtobufCBinaryData){sizeof actor, actor};
        } else if (opt == 2) {
            if (s_parse_since(optarg, &ask.since_ms) != 0) {
                fprintf(stderr, "gridctl: --since %s: ms since the epoch, or "
                        "YYYY-MM-DDTHH:MM:SSZ\n", optarg);
                return GRIDCTL_USAGE;
            }
        } else if (opt == 3) {
            char *end = NULL;
            unsigned long n = strtoul(optarg, &end, 10);
            if (!*optarg || *end || n == 0 || n > 1000) {
                fprintf(stderr, "gridctl: --limit %s: a number from 1 to 1000\n", optarg);
                return GRIDCTL_USAGE;
            }
            ask.limit = (uint32_t)n;
        } else {
            s_usage(opt == 'h' ? stdout : stderr);
            return opt == 'h' ? GRIDCTL_OK : GRIDCTL_USAGE;
        }
    }
    if (optind != argc) {
        s_usage(stderr);
        return GRIDCTL_USAGE;
    }
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_AUDIT_READS;
    body.audit_reads = &ask;
    gr_opened_t reply;
    int rc = gridctl_call_for(&common, &body, GRIDRELAY__BODY__KIND_ACCESS_LOG, &reply);
    if (rc != GRIDCTL_OK)
        return rc;
    const Gridrelay__AccessLog *log = reply.body->access_log;
    s_print(log, common.json);
    rc = log->chain_ok ? GRIDCTL_OK : 5;
    gr_opened_clear(&reply);
    return rc;
}
