/* gridctl audit: the tamper-evident trail (docs/PROTOCOL.md 4.8).
 *   verify   walk every case's chain and the node's ledger, offline on a
 *            data dir (read-only LMDB) or by asking a running node
 *   export   one case's evidence, in the node's signed envelope
 *   check    verify such a bundle anywhere, with no node */
#include <errno.h>
#include <stddef.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "datakey.h"
#include "error.h"
#include "gridctl.h"
#include "hop.h"
#include "store.h"
#include "trust.h"

#define S_BUNDLE_MAX (16u << 20)   /* what a client accepts as a reply */

static void s_usage(FILE *out)
{
    fprintf(out,
"Usage: gridctl audit verify (--store DIR | --node ENDPOINT ...) [--anchor N:HASH] [--json]\n"
"       gridctl audit export ID [--output FILE] [OPTIONS] > case.bundle\n"
"       gridctl audit check FILE... --trust KEYS [--trust KEYS...] [--json]\n"
"       gridctl audit reads [--case ID] [--actor KEY] [--since TIME] [OPTIONS]\n"
"\n"
"The tamper-evident trail: verify a node's whole trail, export one case's\n"
"signed evidence, check such evidence anywhere, list the audit of reads.\n"
"Run 'gridctl audit verify|export|check|reads --help' for each one's options.\n"
"\n"
"Exit status: 0 intact; 5 a break was found (verify) or the bundle failed\n"
"(check); 1 refused by the node; 2 usage; 3 no reply; 4 local error (the\n"
"store or the file cannot be read).\n");
}

static void s_hex32(char out[GR_CHAIN_HASH_HEX], const uint8_t *hash)
{
    sodium_bin2hex(out, GR_CHAIN_HASH_HEX, hash, GR_CHAIN_HASH_LEN);
}

/* ---- verify ---- */

static int s_print_verify(bool json, bool ok, uint64_t entries, uint64_t cases,
                          const uint8_t *head, const gr_chain_fault_t *fault)
{
    char hex[GR_CHAIN_HASH_HEX] = "";
    if (ok)
        s_hex32(hex, head);
    if (json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "ok", json_object_new_boolean(ok));
        json_object_object_add(o, "entries", json_object_new_int64((int64_t)entries));
        json_object_object_add(o, "cases", json_object_new_int64((int64_t)cases));
        if (ok) {
            json_object_object_add(o, "head", json_object_new_string(hex));
        } else {
            json_object *f = json_object_new_object();
            json_object_object_add(f, "kind",
                                   json_object_new_string(gr_chain_fault_kind_name(fault->kind)));
            json_object_object_add(f, "case", json_object_new_string(fault->event_id));
            json_object_object_add(f, fault->in_ledger ? "link" : "entry",
                                   json_object_new_int64((int64_t)fault->index));
            json_object_object_add(f, "message", json_object_new_string(fault->message));
            json_object_object_add(o, "break", f);
        }
        gridctl_print_json(o);
    } else if (ok) {
        printf("ok %llu entries, head %s\n", (unsigned long long)entries, hex);
    } else if (fault->in_ledger) {
        printf("%s: ledger link %llu%s%s: %s\n", gr_chain_fault_kind_name(fault->kind),
               (unsigned long long)fault->index, fault->event_id[0] ? ", case " : "",
               fault->event_id, fault->message);
    } else {
        printf("%s: case %s, entry %llu: %s\n", gr_chain_fault_kind_name(fault->kind),
               fault->event_id, (unsigned long long)fault->index, fault->message);
    }
    return ok ? GRIDCTL_OK : GRIDCTL_BROKEN;
}

/* --anchor N:HASH into a gr_store_anchor_t. */
static int s_parse_anchor(const char *text, void *place)
{
    gr_store_anchor_t *anchor = place;
    char *end = NULL;
    errno = 0;
    unsigned long long seq = strtoull(text, &end, 10);
    if (errno || end == text || *end != ':' || seq == 0 || strlen(end + 1) != 64
        || sodium_hex2bin(anchor->head, 32, end + 1, 64, NULL, NULL, NULL) != 0)
        return -1;
    anchor->seq = seq;
    return 0;
}

static const char s_exit_notes[] =
"Exit status: 0 intact; 5 a break was found (verify) or the bundle failed\n"
"(check); 1 refused by the node; 2 usage; 3 no reply; 4 local error (the\n"
"store or the file cannot be read).\n";

typedef struct {
    const char *store, *data_key;
    gr_store_anchor_t anchor;
    bool anchored;
} s_verify_values_t;

static const gridctl_opt_t s_verify_options[] = {
    { .kind = GRIDCTL_OPT_STRING, .name = "store", .letter = 's', .arg = "DIR",
      .offset = offsetof(s_verify_values_t, store), .help = "the data directory to open read-only" },
    { .kind = GRIDCTL_OPT_CUSTOM, .name = "anchor", .arg = "N:HASH", .parse = s_parse_anchor,
      .offset = offsetof(s_verify_values_t, anchor),
      .seen = GRIDCTL_SEEN(s_verify_values_t, anchored),
      .expect = "N:HASH (a link number, 64 hex digits)",
      .help = "a head recorded earlier (from a verify, or a bundle's\n"
              "'ledger then'): ledger link N must still have it, which\n"
              "shows a ledger rewritten as a whole (--store only)" },
    { .kind = GRIDCTL_OPT_STRING, .name = "data-key", .arg = "FILE",
      .offset = offsetof(s_verify_values_t, data_key),
      .help = "the node's data_key file, for a store that seals\npersonal data (--store only)" },
    { .kind = GRIDCTL_OPT_END },
};

static const gridctl_cmd_t s_verify_cmd = {
    .name = "audit verify",
    .synopsis = "--store DIR [--anchor N:HASH] [--data-key FILE] [--json]\n"
                "--node ENDPOINT --key FILE --node-key KEY [OPTIONS]",
    .about =
"Walks the whole audit trail of a node: every case's timeline, a hash\n"
"chain, against the case's record, and the node's ledger, a second chain that\n"
"links every entry of every case in the order the node wrote them, so that a\n"
"deleted newest entry or a whole deleted case is seen too. With --store it\n"
"opens the node's data directory (the [node] store path, or a copy of it)\n"
"read-only, with no node running or beside a running one; with --node it asks\n"
"that node, which walks its own store (the reply is signed by the node).\n"
"It prints 'ok N entries, head HASH', or the first break: what kind\n"
"(altered, inserted, deleted, reordered), which case and which entry (or\n"
"which ledger link), and what is wrong. Cases are walked in id order, then\n"
"the ledger in link order, then the case records. Asking a node waits up to\n"
"--timeout 60000 ms, once (--attempts 1), since the walk reads every entry.\n",
    .options = s_verify_options,
    .connect = true,
    .timeout_ms = 60000,
    .attempts = 1,
    .examples = "gridctl audit verify --store /var/lib/gridrelay/town-a\n"
                "gridctl audit verify --store copy/ --anchor 4711:<64 hex digits>",
    .notes = s_exit_notes,
};

static int s_verify_store(const char *dir, const char *data_key,
                          const gr_store_anchor_t *anchor, bool json)
{
    gr_store_t *store = NULL;
    gr_datakey_t *dk = NULL;
    char err[1200];
    if (data_key && gr_datakey_load(&dk, data_key, err, sizeof err) != 0) {
        fprintf(stderr, "gridctl: --data-key %s\n", err);
        return GRIDCTL_LOCAL;
    }
    if (gr_store_open_readonly(&store, dir, err, sizeof err) != 0
        || gr_store_use_datakey(store, dk, dir, err, sizeof err) != 0) {
        fprintf(stderr, "gridctl: %s%s\n", err, dk ? "" : " (here: --data-key FILE)");
        gr_store_close(&store);
        gr_datakey_destroy(&dk);
        return GRIDCTL_LOCAL;
    }
    gr_txn_t *txn = NULL;
    gr_store_audit_t result;
    gr_chain_fault_t fault;
    int rc = gr_store_begin(store, false, &txn);
    if (rc == 0)
        rc = gr_store_audit_verify(txn, anchor, &result, &fault);
    gr_store_abort(&txn);
    gr_store_close(&store);
    gr_datakey_destroy(&dk);
    if (rc < 0) {
        fprintf(stderr, "gridctl: store %s: %s\n", dir, gr_strerror(rc));
        return GRIDCTL_LOCAL;
    }
    return s_print_verify(json, rc == 0, result.entries, result.cases, result.head, &fault);
}

static int s_verify_node(const gridctl_common_t *common)
{
    Gridrelay__AuditVerify av = GRIDRELAY__AUDIT_VERIFY__INIT;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_AUDIT_VERIFY;
    body.audit_verify = &av;
    gr_opened_t reply;
    int rc = gridctl_call_for(common, &body, GRIDRELAY__BODY__KIND_AUDIT_REPORT, &reply);
    if (rc != GRIDCTL_OK)
        return rc;
    const Gridrelay__AuditReport *r = reply.body->audit_report;
    if ((r->ok && r->head.len != GR_CHAIN_HASH_LEN) || (!r->ok && !r->fault)) {
        fprintf(stderr, "gridctl: the node sent no audit report\n");
        gr_opened_clear(&reply);
        return GRIDCTL_REFUSED;
    }
    gr_chain_fault_t fault = {0};
    if (!r->ok)
        gr_chain_fault_set(&fault, r->fault->kind, r->fault->event_id, r->fault->index,
                           r->fault->in_ledger, "%s", r->fault->message);
    rc = s_print_verify(common->json, r->ok, r->entries, r->cases, r->head.data, &fault);
    gr_opened_clear(&reply);
    return rc;
}

static int s_verify(int argc, char **argv)
{
    gridctl_common_t common;
    s_verify_values_t v;
    memset(&v, 0, sizeof v);
    int rc = gridctl_parse(&s_verify_cmd, argc, argv, &v, &common, NULL);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
    const char *store = v.store, *data_key = v.data_key;
    if ((store && common.node) || (!store && v.anchored))
        return gridctl_usage_error(&s_verify_cmd, "--store DIR [--anchor N:HASH], or a node");
    gr_store_anchor_t anchor = v.anchor;
    bool anchored = v.anchored;
    if (store)
        return s_verify_store(store, data_key, anchored ? &anchor : NULL, common.json);
    return s_verify_node(&common);
}

/* ---- export ---- */

typedef struct {
    const char *output;
} s_export_values_t;

static const gridctl_opt_t s_export_options[] = {
    { .kind = GRIDCTL_OPT_STRING, .name = "output", .letter = 'o', .arg = "FILE",
      .offset = offsetof(s_export_values_t, output), .help = "write the bundle there instead of stdout" },
    { .kind = GRIDCTL_OPT_END },
};

static const gridctl_cmd_t s_export_cmd = {
    .name = "audit export",
    .synopsis = "ID [--output FILE] [OPTIONS] > case.bundle",
    .about =
"Writes one case's evidence as held by the node: the reporter's signed\n"
"envelope, the signed hops it took to this node, this node's timeline entries\n"
"for it as stored with their ledger links, and the node's ledger head, all in\n"
"one AuditBundle in the node's signed reply envelope. It refuses to write the\n"
"binary bundle to a terminal.\n",
    .arguments = "ID    the case's event id\n",
    .options = s_export_options,
    .connect = true,
    .min_args = 1,
    .max_args = 1,
    .examples = "gridctl audit export 01JDX4Q8V3M2K7P9R5T1W6Y0ZB --output town-a.bundle",
    .notes = s_exit_notes,
};

static int s_export(int argc, char **argv)
{
    gridctl_common_t common;
    s_export_values_t v = { NULL };
    int first = 0;
    int rc = gridctl_parse(&s_export_cmd, argc, argv, &v, &common, &first);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
    const char *output = v.output;
    if (!output && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "gridctl: refusing to write a binary bundle to a terminal: "
                        "redirect it (> case.bundle) or use --output FILE\n");
        return GRIDCTL_USAGE;
    }
    Gridrelay__AuditExport ae = GRIDRELAY__AUDIT_EXPORT__INIT;
    ae.event_id = argv[first];
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_AUDIT_EXPORT;
    body.audit_export = &ae;
    gr_opened_t reply;
    rc = gridctl_call_for(&common, &body, GRIDRELAY__BODY__KIND_AUDIT_BUNDLE, &reply);
    if (rc != GRIDCTL_OK)
        return rc;
    /* The signature covers the envelope's fields, not its encoding, so
     * the envelope packed again verifies as the frame received did. */
    size_t len = gridrelay__envelope__get_packed_size(reply.envelope);
    uint8_t *frame = malloc(len ? len : 1);
    rc = frame ? GRIDCTL_OK : GRIDCTL_LOCAL;
    if (frame) {
        gridrelay__envelope__pack(reply.envelope, frame);
        FILE *f = output ? fopen(output, "wb") : stdout;
        if (!f || fwrite(frame, 1, len, f) != len || (output ? fclose(f) : fflush(f)) != 0) {
            fprintf(stderr, "gridctl: cannot write %s: %s\n", output ? output : "stdout",
                    strerror(errno));
            rc = GRIDCTL_LOCAL;
        }
        free(frame);
    }
    /* stdout holds the bundle: what was written is said on stderr. */
    if (rc == GRIDCTL_OK)
        fprintf(stderr, "gridctl: case %s: %zu timeline entries, %zu hops, %zu bytes\n",
                ae.event_id, reply.body->audit_bundle->n_entries,
                reply.body->audit_bundle->n_hops, len);
    gr_opened_clear(&reply);
    return rc;
}

/* ---- check ---- */

/* Adds each "HEX [name]" line of path to trust. Returns 0 or -1 (printed). */
static int s_load_trust(gr_trust_t *trust, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "gridctl: --trust %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[512];
    int lineno = 0, rc = 0, keys = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line + strspn(line, " \t");
        if (*p == '#' || *p == '\n' || *p == '\r' || !*p)
            continue;
        char hex[65];
        uint8_t pk[GR_PUBLIC_KEY_BYTES];
        size_t n = strspn(p, "0123456789abcdefABCDEF");
        if (n != 64) {
            fprintf(stderr, "gridctl: %s:%d: expected 64 hex digits of a public key\n", path,
                    lineno);
            rc = -1;
            break;
        }
        memcpy(hex, p, 64);
        hex[64] = '\0';
        char *name = p + 64;
        name += strspn(name, " \t");
        name[strcspn(name, " \t\r\n#")] = '\0';
        char fallback[20];
        if (!*name) {
            snprintf(fallback, sizeof fallback, "%.16s", hex);
            name = fallback;
        }
        if (gr_key_from_hex(pk, hex) != 0 || gr_trust_add(trust, pk, name, GR_ROLE_NODE) != 0) {
            fprintf(stderr, "gridctl: %s:%d: unusable key or name\n", path, lineno);
            rc = -1;
        }
        keys++;
    }
    fclose(f);
    if (rc == 0 && keys == 0) {
        fprintf(stderr, "gridctl: --trust %s holds no key\n", path);
        rc = -1;
    }
    return rc;
}

static uint8_t *s_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "gridctl: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    uint8_t *buf = malloc(S_BUNDLE_MAX + 1);
    size_t n = buf ? fread(buf, 1, S_BUNDLE_MAX + 1, f) : 0;
    int bad = !buf || ferror(f) || n > S_BUNDLE_MAX;
    fclose(f);
    if (bad) {
        fprintf(stderr, "gridctl: %s: cannot read it, or it is larger than %u bytes\n", path,
                S_BUNDLE_MAX);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

typedef struct {
    const gr_trust_t *trust;
    json_object *steps;   /* --json: what was checked, in order */
    bool json;
} s_report_t;

static void s_step(s_report_t *r, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void s_step(s_report_t *r, bool ok, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (r->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "ok", json_object_new_boolean(ok));
        json_object_object_add(o, "step", json_object_new_string(text));
        json_object_array_add(r->steps, o);
    } else {
        printf("%s%s\n", ok ? "" : "FAIL: ", text);
    }
}

static const char *s_signer_name(const s_report_t *r, const ProtobufCBinaryData *pk)
{
    const gr_trusted_key_t *k = pk->len == GR_PUBLIC_KEY_BYTES ? gr_trust_find(r->trust, pk->data)
                                                               : NULL;
    return k ? k->name : NULL;
}

static bool s_check_origin(s_report_t *r, const Gridrelay__AuditBundle *b)
{
    if (b->origin_envelope.len == 0) {
        s_step(r, true, "origin envelope: none (the case was made at this node)");
        return true;
    }
    gr_opened_t origin;
    int rc = gr_envelope_open(&origin, NULL, b->origin_envelope.data, b->origin_envelope.len,
                              r->trust, S_BUNDLE_MAX);
    if (rc != 0) {
        s_step(r, false, "origin envelope: %s", gr_strerror(rc));
        return false;
    }
    s_step(r, true, "origin envelope: signature ok, signed by %s", origin.signer->name);
    gr_opened_clear(&origin);
    return true;
}

static bool s_check_hops(s_report_t *r, const Gridrelay__AuditBundle *b)
{
    for (size_t i = 0; i < b->n_hops; i++) {
        const Gridrelay__Hop *h = b->hops[i];
        const char *name = s_signer_name(r, &h->signer);
        if (gr_hop_verify_bound(h, b->event_id, b->origin_envelope.data, b->origin_envelope.len) != 0) {
            s_step(r, false, "hop %zu (from %s): its signature does not verify", i + 1,
                   h->node_id);
            return false;
        }
        if (!name) {
            s_step(r, false, "hop %zu (from %s): signed by a key not in --trust", i + 1,
                   h->node_id);
            return false;
        }
        s_step(r, true, "hop %zu: %s passed it on (%s), signature ok, signed by %s", i + 1,
               h->node_id, h->reason, name);
    }
    return true;
}

/* What is wrong with entry i's ledger link (after a link with seq last),
 * or NULL. The links of one case are not adjacent in the ledger, so each
 * is checked on its own and against the entry it names. */
static const char *s_link_fault(const Gridrelay__AuditBundle *b, size_t i, uint64_t last,
                                gr_chain_fault_t *fault)
{
    const Gridrelay__AuditLink *l = b->links[i];
    const ProtobufCBinaryData *e = &b->entries[i];
    if (gr_chain_link_check(fault, l) != 0)
        return fault->message;
    if (strcmp(l->event_id, b->event_id) != 0 || l->entry_seq != i + 1
        || memcmp(l->entry_hash.data, e->data + e->len - GR_CHAIN_HASH_LEN, GR_CHAIN_HASH_LEN))
        return "it does not name this entry of this case";
    if (l->seq <= last || l->seq > b->ledger_seq)
        return "it is out of order, or past the ledger's head";
    if (l->seq == b->ledger_seq && (b->ledger_head.len != GR_CHAIN_HASH_LEN
                                    || memcmp(l->head.data, b->ledger_head.data,
                                              GR_CHAIN_HASH_LEN) != 0))
        return "it is the newest link, but its head is not the ledger's";
    return NULL;
}

static bool s_check_timeline(s_report_t *r, const Gridrelay__AuditBundle *b)
{
    size_t n = b->n_entries;
    if (n == 0 || b->n_links != n) {
        s_step(r, false, "timeline: %zu entries and %zu ledger links", n, b->n_links);
        return false;
    }
    gr_chain_item_t *items = calloc(n, sizeof *items);
    if (!items) {
        s_step(r, false, "out of memory");
        return false;
    }
    for (size_t i = 0; i < n; i++)
        items[i] = (gr_chain_item_t){(uint32_t)i + 1, b->entries[i].data, b->entries[i].len};
    uint8_t head[GR_CHAIN_HASH_LEN];
    gr_chain_fault_t fault;
    int rc = gr_chain_check_case(head, &fault, b->event_id, items, n, false, 0, NULL);
    free(items);
    if (rc != 0) {
        s_step(r, false, "timeline: %s: entry %llu: %s", gr_chain_fault_kind_name(fault.kind),
               (unsigned long long)fault.index, fault.message);
        return false;
    }
    char hex[GR_CHAIN_HASH_HEX];
    s_hex32(hex, head);
    s_step(r, true, "timeline: %zu entries, chain ok, newest hash %s", n, hex);
    uint64_t last = 0;
    for (size_t i = 0; i < n; i++) {
        const char *why = s_link_fault(b, i, last, &fault);
        if (why) {
            s_step(r, false, "ledger link %llu: %s", (unsigned long long)b->links[i]->seq, why);
            return false;
        }
        last = b->links[i]->seq;
    }
    s_hex32(hex, b->ledger_head.len == GR_CHAIN_HASH_LEN ? b->ledger_head.data : head);
    s_step(r, true, "ledger: %zu links ok (link %llu to %llu); the node's ledger then: %llu links, "
                    "head %s", n, (unsigned long long)b->links[0]->seq, (unsigned long long)last,
           (unsigned long long)b->ledger_seq, hex);
    return true;
}

static int s_check_bundle(s_report_t *r, const char *path, const uint8_t *frame, size_t len)
{
    gr_opened_t opened;
    /* Exported by a version-2 client, the bundle is a batched receipt:
     * its path and its head's signature stand for the node's signature. */
    int rc = gr_envelope_open_reply(&opened, frame, len, NULL, S_BUNDLE_MAX, NULL, true);
    if (rc == 0 && !(opened.signer = gr_trust_find(r->trust, opened.envelope->signer.data))) {
        gr_opened_clear(&opened);
        rc = GR_EUNTRUSTED;
    }
    if (rc != 0) {
        s_step(r, false, "bundle %s (%zu bytes): the node's envelope around it: %s", path, len,
               gr_strerror(rc));
        return GRIDCTL_BROKEN;
    }
    if (opened.body->kind_case != GRIDRELAY__BODY__KIND_AUDIT_BUNDLE
        || !opened.body->audit_bundle->event_id || !*opened.body->audit_bundle->event_id) {
        s_step(r, false, "bundle %s: the envelope carries no AuditBundle", path);
        gr_opened_clear(&opened);
        return GRIDCTL_BROKEN;
    }
    const Gridrelay__AuditBundle *b = opened.body->audit_bundle;
    char when[32];
    gridctl_format_time(when, b->exported_ms);
    s_step(r, true, "bundle %s: case %s at node %s, exported %s; node signature ok, signed by %s",
           path, b->event_id, b->node_id, when, opened.signer->name);
    bool ok = s_check_origin(r, b) && s_check_hops(r, b) && s_check_timeline(r, b);
    if (ok)
        s_step(r, true, "ok: the bundle is intact and every signature is by a trusted key");
    gr_opened_clear(&opened);
    return ok ? GRIDCTL_OK : GRIDCTL_BROKEN;
}

typedef struct {
    gridctl_strings_t trust;
    bool json;
} s_check_values_t;

static const gridctl_opt_t s_check_options[] = {
    { .kind = GRIDCTL_OPT_LIST, .name = "trust", .letter = 't', .arg = "KEYS",
      .offset = offsetof(s_check_values_t, trust),
      .help = "a file of trusted public keys, one per line: 64 hex\n"
              "digits, optionally a name after a space ('#' starts a\n"
              "comment); a .pub file from gridctl keygen is one.\n"
              "Repeat for several files (at least one)." },
    { .kind = GRIDCTL_OPT_FLAG, .name = "json", .letter = 'j', .offset = offsetof(s_check_values_t, json),
      .help = "each step as JSON on stdout" },
    { .kind = GRIDCTL_OPT_END },
};

static const gridctl_cmd_t s_check_cmd = {
    .name = "audit check",
    .synopsis = "FILE... --trust KEYS [--trust KEYS...] [--json]",
    .about =
"Verifies bundles with no node: the node's signature over each, the\n"
"origin envelope's and each hop's signature, each by a key of KEYS, the\n"
"timeline's chain and every ledger link. Give it the bundles of one case from\n"
"every node that held it (each node keeps its own timeline) to see who knew\n"
"what, when. It prints each step and stops at the first failure.\n",
    .arguments = "FILE    a bundle from 'gridctl audit export'\n",
    .options = s_check_options,
    .min_args = 1,
    .max_args = -1,
    .examples = "gridctl audit check village.bundle town-a.bundle \\\n"
                "    --trust nodes.keys --trust reporters.keys",
    .notes = s_exit_notes,
};

static int s_check(int argc, char **argv)
{
    s_check_values_t v;
    memset(&v, 0, sizeof v);
    int first = 0;
    int rc = gridctl_parse(&s_check_cmd, argc, argv, &v, NULL, &first);
    if (rc != GRIDCTL_OK)
        return GRIDCTL_PARSED_EXIT(rc);
    if (v.trust.n == 0)
        return gridctl_usage_error(&s_check_cmd, "--trust KEYS is required");
    gr_trust_t *trust = gr_trust_new();
    if (!trust || gr_keys_init() != 0) {
        gr_trust_destroy(&trust);
        return GRIDCTL_LOCAL;
    }
    s_report_t r = {.trust = trust, .json = v.json};
    for (size_t i = 0; rc == GRIDCTL_OK && i < v.trust.n; i++)
        rc = s_load_trust(trust, v.trust.items[i]) == 0 ? GRIDCTL_OK : GRIDCTL_USAGE;
    r.steps = rc == GRIDCTL_OK && r.json ? json_object_new_array() : NULL;
    /* One case's bundles from several nodes (the village's, the
     * township's...) are checked in turn; the first failure ends it. */
    for (int i = first; rc == GRIDCTL_OK && i < argc; i++) {
        size_t len = 0;
        uint8_t *frame = s_read_file(argv[i], &len);
        rc = frame ? s_check_bundle(&r, argv[i], frame, len) : GRIDCTL_LOCAL;
        free(frame);
    }
    if (r.steps) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "ok", json_object_new_boolean(rc == GRIDCTL_OK));
        json_object_object_add(o, "steps", r.steps);
        gridctl_print_json(o);
    }
    gr_trust_destroy(&trust);
    return rc;
}

int gridctl_audit(int argc, char **argv)
{
    if (argc < 2) {
        s_usage(stderr);
        return GRIDCTL_USAGE;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "verify") == 0)
        return s_verify(argc - 1, argv + 1);
    if (strcmp(sub, "export") == 0)
        return s_export(argc - 1, argv + 1);
    if (strcmp(sub, "check") == 0)
        return s_check(argc - 1, argv + 1);
    if (strcmp(sub, "reads") == 0)
        return gridctl_audit_reads(argc - 1, argv + 1);
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
        s_usage(stdout);
        return GRIDCTL_OK;
    }
    fprintf(stderr, "gridctl: unknown audit command '%s'\n", sub);
    s_usage(stderr);
    return GRIDCTL_USAGE;
}
