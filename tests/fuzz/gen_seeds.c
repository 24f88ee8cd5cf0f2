/* Writes the fuzz targets' seed corpus and dictionaries, at build time:
 *
 *   gen_seeds OUTDIR STAMP
 *
 * OUTDIR/<target>/ gets valid inputs for each target in tests/fuzz
 * (requests of every kind the node accepts, signed frames, boxed task
 * notices, a config, a catalogue, key files); OUTDIR/proto.dict the tag
 * bytes of every field of the schema (walked from protobuf-c's
 * descriptors, so it follows proto/ by itself) and the fixture's names;
 * OUTDIR/ini.dict the config and catalogue keys. STAMP is written last.
 * Nothing here is committed: it is all made from the schema and code. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "curve.h"
#include "envelope.h"
#include "fixture.h"
#include "seeds.h"

typedef struct {
    char dir[512];
    const char *target;
    unsigned count;
    gr_keypair_t keys[FX_KEYS];
    uint64_t now_ms;
} s_out_t;

static int s_mkdir(const char *path)
{
    return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* Writes one seed: the prefix bytes, then data. */
static int s_seed(s_out_t *out, const char *target, const uint8_t *prefix, size_t plen,
                  const uint8_t *data, size_t len)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", out->dir, target);
    if (s_mkdir(path) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/%s/seed-%03u", out->dir, target, out->count++);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = (!plen || fwrite(prefix, 1, plen, f) == plen) && (!len || fwrite(data, 1, len, f) == len);
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* A request seed, and the same body as a signed frame for the envelope
 * target (as it came, and to be signed again). */
static int s_request(void *ctx, fx_from_t from, const Gridrelay__Body *body)
{
    s_out_t *out = ctx;
    size_t len = 0;
    uint8_t *bytes = gr_body_pack(body, &len);
    if (!bytes)
        return -1;
    int rc = 0;
    /* Now, and at each later time fuzz_requests knows (deadlines fired). */
    for (uint8_t later = 0; rc == 0 && later < 4; later++) {
        uint8_t who = (uint8_t)(from + later * FX_FROM_COUNT);
        rc = s_seed(out, "requests", &who, 1, bytes, len);
    }
    /* And signed again inside (fuzz_requests' resign bit). */
    if (rc == 0 && (body->kind_case == GRIDRELAY__BODY__KIND_ESCALATE ||
                    body->kind_case == GRIDRELAY__BODY__KIND_ASSIGN)) {
        uint8_t who = (uint8_t)(from + 4 * FX_FROM_COUNT);
        rc = s_seed(out, "requests", &who, 1, bytes, len);
    }
    uint8_t *frame = NULL;
    size_t flen = 0;
    if (rc == 0)
        rc = gr_envelope_seal_bytes(&frame, &flen, &out->keys[fx_from_key(from)],
                                    out->now_ms * 1000, out->now_ms, bytes, len);
    for (uint8_t mode = 0; rc == 0 && mode < 4; mode++)
        rc = s_seed(out, "envelope", &mode, 1, frame, flen);
    free(frame);
    free(bytes);
    return rc;
}

/* Task notices as the node publishes them: NEW, URGED, WITHDRAWN, in
 * order, as Bodies (mode 0) and as boxes (mode 1). */
static int s_notices(s_out_t *out)
{
    uint8_t seq_buf[4096], box_buf[4096];
    size_t seq_len = 0, box_len = 0;
    uint8_t box_key[GR_BOX_KEY_BYTES];
    if (gr_box_key(box_key, out->keys[FX_DEPT].pk, &out->keys[FX_NODE]) != 0)
        return -1;
    Gridrelay__TaskNotice__Kind kinds[] = {GRIDRELAY__TASK_NOTICE__KIND__NEW,
                                           GRIDRELAY__TASK_NOTICE__KIND__URGED,
                                           GRIDRELAY__TASK_NOTICE__KIND__WITHDRAWN};
    for (unsigned i = 0; i < 3; i++) {
        Gridrelay__Event ev = GRIDRELAY__EVENT__INIT;
        ev.id = FX_EV_TOWN;
        ev.category = "PS.CRIME";
        ev.title = "a task";
        Gridrelay__Task task = GRIDRELAY__TASK__INIT;
        task.event_id = FX_EV_TOWN;
        task.dept = "police";
        task.lead = true;
        task.state = GRIDRELAY__TASK_STATE__TASK_OPEN;
        task.event = &ev;
        task.node_id = FX_NODE_ID;
        task.dispatched_ms = out->now_ms;
        Gridrelay__TaskNotice n = GRIDRELAY__TASK_NOTICE__INIT;
        n.kind = kinds[i];
        n.seq = i + 1;
        n.task = &task;
        n.reason = "dispatched by route";
        Gridrelay__Body body = GRIDRELAY__BODY__INIT;
        body.kind_case = GRIDRELAY__BODY__KIND_TASK_NOTICE;
        body.task_notice = &n;
        size_t len = 0;
        uint8_t *bytes = gr_body_pack(&body, &len);
        uint8_t *frame = NULL, *box = NULL;
        size_t flen = 0, blen = 0;
        int rc = bytes ? gr_envelope_seal_bytes(&frame, &flen, &out->keys[FX_NODE], i + 1, 1,
                                                bytes, len)
                       : -1;
        if (rc == 0)
            rc = gr_box_seal(&box, &blen, frame, flen, box_key);
        if (rc == 0 && seq_len + 2 + len <= sizeof seq_buf && box_len + 2 + blen <= sizeof box_buf) {
            seq_buf[seq_len++] = (uint8_t)len;
            seq_buf[seq_len++] = (uint8_t)(len >> 8);
            memcpy(seq_buf + seq_len, bytes, len);
            seq_len += len;
            box_buf[box_len++] = (uint8_t)blen;
            box_buf[box_len++] = (uint8_t)(blen >> 8);
            memcpy(box_buf + box_len, box, blen);
            box_len += blen;
        }
        free(bytes);
        free(frame);
        free(box);
        if (rc != 0)
            return -1;
    }
    uint8_t body_mode = 0, box_mode = 1;
    if (s_seed(out, "notice", &body_mode, 1, seq_buf, seq_len) != 0)
        return -1;
    return s_seed(out, "notice", &box_mode, 1, box_buf, box_len);
}

static int s_text(s_out_t *out, const char *target, const char *text)
{
    return s_seed(out, target, NULL, 0, (const uint8_t *)text, strlen(text));
}

static int s_file(s_out_t *out, const char *target, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    static uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return s_seed(out, target, NULL, 0, buf, n);
}

/* The config and catalogue seeds: the examples, and a config that names
 * the files fuzz_config puts beside it. */
static int s_ini(s_out_t *out)
{
    char a[GR_PUBLIC_KEY_HEX], b[GR_PUBLIC_KEY_HEX], text[2048];
    gr_key_to_hex(a, out->keys[FX_REPORTER].pk);
    gr_key_to_hex(b, out->keys[FX_DEPT].pk);
    snprintf(text, sizeof text,
             "[node]\nid = town-f\ntier = township\nstore = store\nlisten = tcp://127.0.0.1:*\n"
             "secret_key = node.sec\ncatalogue = cat.ini\nmax_frame = 65536\nthreads = 1\n"
             "[reporters]\nofficer = %s\n"
             "[parent]\nid = district-f\nendpoint = tcp://127.0.0.1:7001\nkey = @a.pub\n"
             "[children]\nvillage-f1 = @b.pub\n"
             "[deadlines]\naccept.routine = 24h\nresolve.urgent = 90s\nclaim.routine = 4h\n"
             "[departments]\npolice = %s, 派出所\n"
             "[dispatch]\nPS.CRIME = police\nPS.* = police\n* = police\n"
             "[supervision]\nmax_returns = 2\nfeedback_within = 24h\n",
             a, b);
    if (s_text(out, "config", text) != 0 ||
        s_file(out, "config", GR_SOURCE_ROOT "/examples/village.ini") != 0 ||
        s_file(out, "config", GR_SOURCE_ROOT "/examples/township.ini") != 0)
        return -1;
    if (s_file(out, "catalogue", GR_SOURCE_ROOT "/examples/catalogue.ini") != 0)
        return -1;
    return s_text(out, "catalogue",
                  "[PS.FIRE]\nclass = public safety\nsubclass = fire\nname = fire\n"
                  "severity = urgent\nauthority = village\nauthority.urgent = township\n"
                  "authority.extra-urgent = 3\ndirect = yes\n");
}

static int s_keyfiles(s_out_t *out)
{
    char hex[GR_SECRET_KEY_BYTES * 2 + 2];
    for (size_t i = 0; i < GR_SECRET_KEY_BYTES; i++)
        snprintf(hex + 2 * i, 3, "%02x", out->keys[FX_NODE].sk[i]);
    strcat(hex, "\n");
    if (s_text(out, "keyfile", hex) != 0)
        return -1;
    char pub[GR_PUBLIC_KEY_HEX + 1];
    gr_key_to_hex(pub, out->keys[FX_NODE].pk);
    strcat(pub, "\n");
    return s_text(out, "keyfile", pub);
}

/* ---- regressions ---- */

/* The inputs that once found a defect, made here rather than kept as
 * files; tools/fuzz.sh runs each target over its own before fuzzing, so
 * a defect that comes back fails at once. They seed the corpus too. */
static int s_regress(s_out_t *out)
{
    char path[700];
    snprintf(path, sizeof path, "%s/regress", out->dir);
    if (s_mkdir(path) != 0)
        return -1;
    /* An envelope with an empty body: protobuf-c gives it as NULL, and the
     * text check added 0 to NULL (UB) on every way in. */
    uint8_t *frame = NULL;
    size_t flen = 0;
    if (gr_envelope_seal_bytes(&frame, &flen, &out->keys[FX_REPORTER], 1, 1, NULL, 0) != 0)
        return -1;
    uint8_t modes[] = {0, 1, 2};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof modes; i++)
        rc = s_seed(out, "regress/envelope", &modes[i], 1, frame, flen);
    free(frame);
    uint8_t from = FX_FROM_REPORTER, empty_chunk[] = {0, 0, 0};
    if (rc == 0)
        rc = s_seed(out, "regress/requests", &from, 1, NULL, 0);
    if (rc == 0)
        rc = s_seed(out, "regress/notice", NULL, 0, empty_chunk, sizeof empty_chunk);
    /* A ranking over every day a store key can name: the daily figures
     * were read with one scan per calendar day (billions), which hung the
     * analyst; now one walk over what is stored. */
    Gridrelay__GetRanking ranking = GRIDRELAY__GET_RANKING__INIT;
    ranking.from_ms = 0;
    ranking.to_ms = UINT64_MAX;
    Gridrelay__Body body = GRIDRELAY__BODY__INIT;
    body.kind_case = GRIDRELAY__BODY__KIND_GET_RANKING;
    body.get_ranking = &ranking;
    size_t blen = 0;
    uint8_t *bytes = rc == 0 ? gr_body_pack(&body, &blen) : NULL;
    if (rc == 0 && !bytes)
        rc = -1;
    if (rc == 0)
        rc = s_seed(out, "regress/requests", &from, 1, bytes, blen);
    free(bytes);
    return rc;
}

/* ---- dictionaries ---- */

static void s_dict_bytes(FILE *f, const uint8_t *b, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "\\x%02x", b[i]);
    fputs("\"\n", f);
}

/* The tag of field number with wire type, as a varint. */
static void s_dict_tag(FILE *f, uint32_t number, unsigned wire)
{
    uint8_t b[8];
    size_t n = 0;
    uint64_t v = (uint64_t)number << 3 | wire;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    s_dict_bytes(f, b, n);
}

static unsigned s_wire(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_DOUBLE:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return 1;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return 5;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return 2;
    default:
        return 0;
    }
}

static void s_dict_message(FILE *f, const ProtobufCMessageDescriptor *d,
                           const ProtobufCMessageDescriptor **seen, size_t *n_seen)
{
    for (size_t i = 0; i < *n_seen; i++)
        if (seen[i] == d)
            return;
    seen[(*n_seen)++] = d;
    fprintf(f, "# %s\n", d->name);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        s_dict_tag(f, fd->id, s_wire(fd->type));
        if (fd->label == PROTOBUF_C_LABEL_REPEATED && s_wire(fd->type) != 2)
            s_dict_tag(f, fd->id, 2);  /* packed */
    }
    for (unsigned i = 0; i < d->n_fields; i++)
        if (d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE && *n_seen < 128)
            s_dict_message(f, d->fields[i].descriptor, seen, n_seen);
}

static int s_dicts(s_out_t *out)
{
    char path[700];
    snprintf(path, sizeof path, "%s/proto.dict", out->dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("# libFuzzer dictionary: every field tag of proto/gridrelay.proto (generated)\n", f);
    const ProtobufCMessageDescriptor *seen[128];
    size_t n_seen = 0;
    s_dict_message(f, &gridrelay__envelope__descriptor, seen, &n_seen);
    s_dict_message(f, &gridrelay__body__descriptor, seen, &n_seen);
    const char *words[] = {FX_NODE_ID, FX_PARENT_ID, FX_CHILD_ID, FX_CHILD2_ID, FX_EV_TOWN,
                           FX_EV_UP, FX_EV_ESC, FX_EV_ASSIGN, "ev-village", "police", "safety",
                           "officer-f", "PS.CRIME", "PS.FIRE", "PS.EPIDEMIC", "outside_authority"};
    fputs("# the fixture's names\n", f);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        fprintf(f, "\"%s\"\n", words[i]);
    if (fclose(f) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/ini.dict", out->dir);
    if (!(f = fopen(path, "w")))
        return -1;
    const char *ini[] = {
        "[node]", "[reporters]", "[parent]", "[skip]", "[children]", "[deadlines]",
        "[departments]", "[dispatch]", "[supervision]", "id = ", "tier = ", "store = ",
        "listen = ", "endpoint_file = ", "secret_key = ", "catalogue = ", "max_frame = ",
        "map_size_mb = ", "map_max_mb = ", "replay_window = ", "batch_max = ", "threads = ",
        "status_listen = ", "task_listen = ", "endpoint = ", "status_endpoint = ", "key = ",
        "accept.", "resolve.", "claim.", "complete.", "routine", "urgent", "extra-urgent",
        "max_returns = ", "feedback_within = ", "class = ", "subclass = ", "name = ",
        "severity = ", "authority = ", "authority.urgent = ", "authority.extra-urgent = ",
        "direct = yes", "village", "township", "district", "city", "tcp://127.0.0.1:*",
        "@a.pub", "@b.pub", "node.sec", "cat.ini", "PS.*", " + ", ", ", "30min", "7d", "90s",
    };
    fputs("# libFuzzer dictionary: config and catalogue keys (generated)\n", f);
    for (size_t i = 0; i < sizeof ini / sizeof ini[0]; i++)
        fprintf(f, "\"%s\"\n", ini[i]);
    return fclose(f) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: gen_seeds OUTDIR STAMP\n");
        return 2;
    }
    static s_out_t out;
    snprintf(out.dir, sizeof out.dir, "%s", argv[1]);
    fx_remove_dir(out.dir);  /* nothing left from an older schema or seed list */
    if (s_mkdir(out.dir) != 0 || fx_keys(out.keys) != 0) {
        fprintf(stderr, "gen_seeds: cannot create %s: %s\n", out.dir, strerror(errno));
        return 1;
    }
    out.now_ms = (uint64_t)time(NULL) * 1000;
    if (fx_seed_setup(out.keys, out.now_ms, s_request, &out) != 0 ||
        fx_seed_requests(out.keys, out.now_ms, s_request, &out) != 0 || s_notices(&out) != 0 ||
        s_ini(&out) != 0 || s_keyfiles(&out) != 0 || s_regress(&out) != 0 || s_dicts(&out) != 0) {
        fprintf(stderr, "gen_seeds: cannot write the corpus in %s\n", out.dir);
        return 1;
    }
    FILE *stamp = fopen(argv[2], "w");
    if (!stamp || fprintf(stamp, "%u seeds\n", out.count) < 0 || fclose(stamp) != 0)
        return 1;
    return 0;
}
