#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "wire.h"

enum {
    N_ID, N_TIER, N_STORE, N_LISTEN, N_ENDPOINT_FILE, N_SECRET_KEY, N_CATALOGUE,
    N_MAX_FRAME, N_MAP_SIZE, N_MAP_MAX, N_REPLAY_WINDOW, N_BATCH_MAX, N_STATUS_LISTEN,
    N_TASK_LISTEN, N_THREADS, N_COUNT
};

static const char *const s_node_keys[N_COUNT] = {
    "id", "tier", "store", "listen", "endpoint_file", "secret_key", "catalogue",
    "max_frame", "map_size_mb", "map_max_mb", "replay_window", "batch_max", "status_listen",
    "task_listen", "threads",
};

/* In the order an operator would write them, so the first one reported
 * missing is the first one to add. */
static const int s_required[] = { N_ID, N_TIER, N_STORE, N_LISTEN, N_SECRET_KEY, N_CATALOGUE };

enum {
    S_NODE, S_REPORTERS, S_PARENT, S_SKIP, S_CHILDREN, S_DEADLINES, S_DEPARTMENTS, S_DISPATCH,
    S_SUPERVISION, S_DAILY, S_MERGE, S_ASSESSMENT, S_OPERATORS, S_VIEWERS, S_AUDITORS, S_COUNT
};
static const char *const s_sections[S_COUNT] = {
    "node", "reporters", "parent", "skip", "children", "deadlines", "departments", "dispatch",
    "supervision", "daily", "merge", "assessment", "operators", "viewers", "auditors",
};

/* The sections that list people's keys, each granting its access role; a
 * key listed in several of them, under one name, holds all their roles. */
static bool s_person_section(int section)
{
    return section == S_REPORTERS || section == S_OPERATORS || section == S_VIEWERS ||
           section == S_AUDITORS;
}

static unsigned s_section_access(int section)
{
    switch (section) {
    case S_REPORTERS: return GR_ACCESS_REPORTER;
    case S_OPERATORS: return GR_ACCESS_OPERATOR;
    case S_VIEWERS: return GR_ACCESS_VIEWER;
    case S_AUDITORS: return GR_ACCESS_AUDITOR;
    case S_DEPARTMENTS: return GR_ACCESS_DEPARTMENT;
    default: return GR_ACCESS_NODE;
    }
}

/* Keys of [supervision]: what else the supervision list flags. */
enum { V_MAX_RETURNS, V_FEEDBACK_WITHIN, V_COUNT };
static const char *const s_supervision_keys[V_COUNT] = { "max_returns", "feedback_within" };

/* Keys of [merge]: when a new report is a candidate duplicate. */
enum { M_WINDOW, M_DISTANCE, M_COUNT };
static const char *const s_merge_keys[M_COUNT] = { "window", "distance" };
#define S_DEFAULT_MERGE_WINDOW_MS (2ull * 3600 * 1000)
#define S_DEFAULT_MERGE_DISTANCE_M 300.0
#define S_MAX_MERGE_DISTANCE_M 100000.0
/* Keys of [assessment]: the weights of the ranking score (router/assess.h). */
enum { W_ACCEPT, W_RESOLVE, W_FIRST_TIME, W_FEEDBACK, W_OVERDUE, W_COUNT };
static const char *const s_assessment_keys[W_COUNT] = { "accept", "resolve", "first_time",
                                                        "feedback", "overdue" };

/* [deadlines] keys are KIND.SEVERITY: the case limits (gr_deadlines_t),
 * then the department task limits (gr_task_deadlines_t). */
enum { D_ACCEPT, D_RESOLVE, D_CLAIM, D_COMPLETE, D_COUNT };
static const char *const s_deadline_kinds[D_COUNT] = { "accept", "resolve", "claim", "complete" };

/* Keys of [parent] and [skip]; the skip-level ancestor gets no status. */
enum { P_ID, P_ENDPOINT, P_KEY, P_STATUS_ENDPOINT, P_COUNT };
static const char *const s_peer_keys[P_COUNT] = { "id", "endpoint", "key", "status_endpoint" };

#define S_DEFAULT_MAX_FRAME 65536
#define S_MIN_MAX_FRAME 1024
#define S_MAX_MAX_FRAME 16777216
#define S_DEFAULT_MAP_SIZE_MB 64
#define S_DEFAULT_MAP_MAX_MB 4096
#define S_MAX_MAP_MB 1048576        /* 1 TiB: beyond that it is a typo */
#define S_DEFAULT_REPLAY_WINDOW 1000000000ULL
#define S_DEFAULT_BATCH_MAX 512
#define S_MAX_BATCH_MAX 65536

/* A name seen in a person's section, [children] or [departments], to
 * refuse duplicates. */
typedef struct {
    char name[64];
    int line;
    int section;
    uint8_t pk[GR_PUBLIC_KEY_BYTES];
} s_name_t;

/* A trusted key and the line that named it, for the checks that need the
 * whole file: the node's own key (known only once secret_key is read) and
 * two keys CURVE cannot tell apart. */
typedef struct {
    uint8_t pk[GR_PUBLIC_KEY_BYTES];
    uint8_t curve[32];          /* filled by s_check_curve_unique() */
    char name[64];
    int line;
} s_trusted_t;

typedef struct {
    gr_config_t *cfg;
    const char *path;
    char *dir;                      /* absolute directory of the config file */
    int key_line[N_COUNT];          /* 0 while the key has not been seen */
    int section_line[S_COUNT];
    int peer_line[2][P_COUNT];      /* [parent], [skip] */
    int deadline_line[D_COUNT][GR_ROUTE_SEV_SLOTS];
    int supervision_line[V_COUNT];
    int merge_line[M_COUNT];
    int assessment_line[W_COUNT];
    int *route_line;                /* of each cfg->routes entry, for later checks */
    s_name_t *names;
    size_t name_count;
    size_t name_cap;
    s_trusted_t *trusted;           /* every key s_trust() added, in file order */
    size_t n_trusted;
} s_load_t;

static int s_fail(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Every validation error is a config error; this keeps the callers short. */
static int s_fail(char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
    return GR_ECONFIG;
}

static int s_oom(char *msg, size_t msglen)
{
    snprintf(msg, msglen, "out of memory");
    return GR_ENOMEM;
}

/* Parses a plain decimal number: strtoull alone would accept signs, spaces
 * and "-1" as a huge value. */
static bool s_parse_u64(const char *text, uint64_t *out)
{
    if (!*text)
        return false;
    uint64_t v = 0;
    for (const char *c = text; *c; c++) {
        if (*c < '0' || *c > '9')
            return false;
        unsigned d = (unsigned)(*c - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static int s_number(const char *key, const char *value, uint64_t min, uint64_t max,
                    uint64_t *out, char *msg, size_t msglen)
{
    if (!s_parse_u64(value, out))
        return s_fail(msg, msglen, "%s = %s: not a number (expected decimal digits)",
                      key, value);
    if (*out < min || *out > max)
        return s_fail(msg, msglen, "%s = %s: must be between %llu and %llu", key, value,
                      (unsigned long long)min, (unsigned long long)max);
    return 0;
}

/* A duration with its unit ("90s", "30min", "2h", "7d", "500ms"), or "0"
 * for no deadline: a bare number would leave the unit to guesswork. */
static int s_duration(const char *key, const char *value, uint64_t *ms, char *msg,
                      size_t msglen)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = { { "ms", 1 }, { "s", 1000 }, { "min", 60000 }, { "h", 3600000 },
                  { "d", 86400000 } };
    char digits[24];
    size_t n = strspn(value, "0123456789");
    const char *unit = value + n;
    while (*unit == ' ')
        unit++;
    uint64_t count = 0;
    bool ok = n > 0 && n < sizeof digits;
    if (ok) {
        memcpy(digits, value, n);
        digits[n] = '\0';
        ok = s_parse_u64(digits, &count);
    }
    if (ok && count == 0 && *unit == '\0') {
        *ms = 0;
        return 0;
    }
    for (size_t i = 0; ok && i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(unit, units[i].unit) == 0) {
            if (count > UINT64_MAX / units[i].ms)
                break;
            *ms = count * units[i].ms;
            return 0;
        }
    }
    return s_fail(msg, msglen, "%s = %s: not a duration (a number with a unit: ms, s, min, h "
                  "or d, e.g. 30min; 0 for none)", key, value);
}

static int s_path(s_load_t *load, const char *key, const char *value, char **out,
                  char *msg, size_t msglen)
{
    if (*value == '\0')
        return s_fail(msg, msglen, "%s: must not be empty", key);
    int n = value[0] == '/' ? asprintf(out, "%s", value)
                            : asprintf(out, "%s/%s", load->dir, value);
    if (n < 0) {
        *out = NULL;
        return s_oom(msg, msglen);
    }
    return 0;
}

/* Node ids name outboxes and appear in logs: keep them plain. The wire's
 * character set (broker/wire.h); 63 bytes rather than the wire's 64, as the
 * config holds each id in 64 bytes with its NUL. */
static int s_check_id(const char *key, const char *value, char *msg, size_t msglen)
{
    size_t len = strlen(value);
    bool ok = len >= 1 && len <= 63;
    for (const char *c = value; ok && *c; c++)
        ok = gr_id_char(*c);
    if (!ok)
        return s_fail(msg, msglen, "%s = %s: must be 1-63 characters from A-Z a-z 0-9 . _ -",
                      key, value);
    return 0;
}

/* A reporter's name is the actor of the timeline entries it makes, which
 * travel to other nodes, and appears in log lines: an id's characters, plus
 * any non-ASCII character so that a worker may be listed as 张三 (the INI
 * reader has already refused bytes that are not UTF-8). No spaces or
 * punctuation, which would make log lines ambiguous. */
static int s_check_reporter_name(const char *value, char *msg, size_t msglen)
{
    size_t len = strlen(value);
    bool ok = len >= 1 && len <= 63;
    for (const char *c = value; ok && *c; c++)
        ok = gr_id_char(*c) || (unsigned char)*c >= 0x80;
    if (!ok)
        return s_fail(msg, msglen, "reporter name = %s: must be 1-63 bytes of A-Z a-z 0-9 . _ - "
                      "or non-ASCII characters such as 张三 (no spaces or other punctuation)", value);
    return 0;
}

/* Catches what an operator gets wrong; ZeroMQ judges the rest. A bound
 * endpoint may ask for any free port (*), one to connect to may not. */
static int s_check_endpoint(const char *key, const char *value, bool bind, char *msg,
                            size_t msglen)
{
    static const char *const schemes[] = { "tcp://", "ipc://", "inproc://" };
    const char *rest = NULL;
    size_t s = 0;
    for (; s < sizeof schemes / sizeof schemes[0]; s++) {
        size_t len = strlen(schemes[s]);
        if (strncmp(value, schemes[s], len) == 0) {
            rest = value + len;
            break;
        }
    }
    if (!rest)
        return s_fail(msg, msglen, "%s = %s: must start with tcp://, ipc:// or inproc://",
                      key, value);
    if (*rest == '\0' || strpbrk(rest, " \t"))
        return s_fail(msg, msglen, "%s = %s: missing or malformed address after %s",
                      key, value, schemes[s]);
    if (s != 0)
        return 0;
    const char *colon = strrchr(rest, ':');
    uint64_t port = 0;
    if (!colon || colon == rest)
        return s_fail(msg, msglen, "%s = %s: expected tcp://HOST:PORT", key, value);
    if (bind && strcmp(colon + 1, "*") == 0)
        return 0;
    if (!s_parse_u64(colon + 1, &port) || port < 1 || port > 65535)
        return s_fail(msg, msglen, "%s = %s: port must be 1-65535%s", key, value,
                      bind ? ", or * for any free one" : "");
    return 0;
}

static int s_endpoint(const char *key, const char *value, bool bind, char **out, char *msg,
                      size_t msglen)
{
    int rc = s_check_endpoint(key, value, bind, msg, msglen);
    if (rc == 0 && !(*out = strdup(value)))
        rc = s_oom(msg, msglen);
    return rc;
}

static int s_node_key(s_load_t *load, int k, const char *value, char *msg, size_t msglen)
{
    gr_config_t *cfg = load->cfg;
    const char *key = s_node_keys[k];
    uint64_t n = 0;
    int rc = 0;
    switch (k) {
    case N_ID:
        rc = s_check_id(key, value, msg, msglen);
        if (rc == 0)
            strcpy(cfg->node_id, value);
        return rc;
    case N_TIER:
        cfg->tier_level = gr_tier_parse(value);
        if (cfg->tier_level < 0 || strlen(value) >= sizeof cfg->tier_name)
            return s_fail(msg, msglen, "tier = %s: not a tier (a level number, or village, "
                          "community, township, street, district, county, city)", value);
        strcpy(cfg->tier_name, value);
        return 0;
    case N_STORE:
        return s_path(load, key, value, &cfg->store_path, msg, msglen);
    case N_LISTEN:
        return s_endpoint(key, value, true, &cfg->listen, msg, msglen);
    case N_STATUS_LISTEN:
        return s_endpoint(key, value, true, &cfg->status_listen, msg, msglen);
    case N_TASK_LISTEN:
        return s_endpoint(key, value, true, &cfg->task_listen, msg, msglen);
    case N_ENDPOINT_FILE:
        return s_path(load, key, value, &cfg->endpoint_file, msg, msglen);
    case N_SECRET_KEY:
        return s_path(load, key, value, &cfg->secret_key_path, msg, msglen);
    case N_CATALOGUE:
        return s_path(load, key, value, &cfg->catalogue_path, msg, msglen);
    case N_MAX_FRAME:
        rc = s_number(key, value, S_MIN_MAX_FRAME, S_MAX_MAX_FRAME, &n, msg, msglen);
        cfg->max_frame = (size_t)n;
        return rc;
    case N_MAP_SIZE:
        rc = s_number(key, value, 1, S_MAX_MAP_MB, &n, msg, msglen);
        cfg->map_size = (size_t)n << 20;
        return rc;
    case N_MAP_MAX:
        rc = s_number(key, value, 1, S_MAX_MAP_MB, &n, msg, msglen);
        cfg->map_max = (size_t)n << 20;
        return rc;
    case N_REPLAY_WINDOW:
        rc = s_number(key, value, 1, UINT64_MAX, &n, msg, msglen);
        cfg->replay_window = n;
        return rc;
    case N_BATCH_MAX:
        rc = s_number(key, value, 1, S_MAX_BATCH_MAX, &n, msg, msglen);
        cfg->batch_max = (unsigned)n;
        return rc;
    case N_THREADS:
        rc = s_number(key, value, 0, 8, &n, msg, msglen);
        cfg->threads = (unsigned)n;
        return rc;
    }
    return s_fail(msg, msglen, "unknown key '%s' in [node]", key);
}

/* A public key as 64 hex digits or "@FILE". */
static int s_public_key(s_load_t *load, const char *key, const char *value,
                        uint8_t pk[GR_PUBLIC_KEY_BYTES], char *msg, size_t msglen)
{
    if (value[0] != '@') {
        if (gr_key_from_hex(pk, value) != 0) {
            snprintf(msg, msglen, "%s = %s: not a public key (expected 64 hex digits, or "
                     "@FILE)", key, value);
            return GR_EKEY;
        }
    } else {
        char *path = NULL;
        int rc = s_path(load, key, value + 1, &path, msg, msglen);
        if (rc != 0)
            return rc;
        char kerr[384] = "";
        rc = gr_key_load_public(pk, path, kerr, sizeof kerr);
        free(path);
        if (rc != 0) {
            snprintf(msg, msglen, "%s = %s: %s", key, value, kerr);
            return GR_EKEY;
        }
    }
    /* 64 hex digits are not yet a key: the daemon derives every trusted
     * key's Curve25519 form for CURVE, and would start without the one it
     * cannot convert (or verify no signature by it). */
    if (gr_key_check_public(pk) != 0) {
        snprintf(msg, msglen, "%s = %s: not a usable Ed25519 public key (libsodium cannot "
                 "convert it to Curve25519: all zeros, a small-order point or no point at "
                 "all); paste the key gridctl keygen printed", key, value);
        return GR_EKEY;
    }
    return 0;
}

/* gr_trust_add() would quietly rename a key already present: one key under
 * two names is a copy-paste slip worth stopping, and one key in two trust
 * classes (a reporter's terminal that is also a department) would let
 * whoever holds it act as either. A person's key listed again under the
 * same name in another person's section is the config giving it one more
 * role (access). */
static int s_trust(s_load_t *load, const uint8_t pk[GR_PUBLIC_KEY_BYTES], const char *name,
                   gr_role_t role, unsigned access, int line, char *msg, size_t msglen)
{
    const gr_trusted_key_t *known = gr_trust_find(load->cfg->trust, pk);
    if (known && known->role == GR_ROLE_REPORTER && role == GR_ROLE_REPORTER) {
        if (strcmp(known->name, name) != 0)
            return s_fail(msg, msglen, "%s: same key as '%s': a key with several roles keeps "
                          "one name in every section that lists it", name, known->name);
        return gr_trust_grant(load->cfg->trust, pk, access);
    }
    if (known)
        return s_fail(msg, msglen, "%s: same key as '%s', already trusted as a %s (one key, "
                      "one role)", name, known->name,
                      known->role == GR_ROLE_REPORTER ? "person (reporter, operator, viewer "
                                                        "or auditor)"
                      : known->role == GR_ROLE_NODE   ? "node"
                                                      : "department");
    s_trusted_t *list = realloc(load->trusted, (load->n_trusted + 1) * sizeof *list);
    if (!list)
        return s_oom(msg, msglen);
    load->trusted = list;
    int rc = gr_trust_add(load->cfg->trust, pk, name, role);
    if (rc == 0)
        rc = gr_trust_grant(load->cfg->trust, pk, access);
    if (rc != 0) {
        snprintf(msg, msglen, "%s: cannot trust this key: %s", name, gr_strerror(rc));
        return rc;
    }
    s_trusted_t *t = &list[load->n_trusted++];
    memset(t, 0, sizeof *t);
    memcpy(t->pk, pk, sizeof t->pk);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->line = line;
    return 0;
}

/* Appends a department; its key is already trusted. */
static int s_add_dept(gr_config_t *cfg, const char *code, const char *name,
                      const uint8_t pk[GR_PUBLIC_KEY_BYTES], char *msg, size_t msglen)
{
    gr_dept_config_t *depts = realloc(cfg->depts, (cfg->n_depts + 1) * sizeof *depts);
    if (!depts)
        return s_oom(msg, msglen);
    cfg->depts = depts;
    gr_dept_config_t *dept = &depts[cfg->n_depts++];
    memset(dept, 0, sizeof *dept);
    strcpy(dept->code, code);
    strcpy(dept->name, name);
    memcpy(dept->pk, pk, sizeof dept->pk);
    return 0;
}

/* Splits a [departments] value "KEY[, display name]" at its first comma:
 * writes the trimmed key text into key (keylen bytes) and points *name at
 * the display name ("" when there is none). A key file path therefore
 * cannot hold a comma; hex keys and ordinary paths never do. */
static int s_split_dept(const char *code, const char *value, char *key, size_t keylen,
                        const char **name, char *msg, size_t msglen)
{
    const char *comma = strchr(value, ',');
    size_t len = comma ? (size_t)(comma - value) : strlen(value);
    while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
        len--;
    if (len >= keylen)
        return s_fail(msg, msglen, "%s = %s: key too long (64 hex digits, or @FILE of at "
                      "most %zu bytes)", code, value, keylen - 2);
    memcpy(key, value, len);
    key[len] = '\0';
    *name = "";
    if (!comma)
        return 0;
    *name = comma + 1 + strspn(comma + 1, " \t");
    if (**name == '\0')
        return s_fail(msg, msglen, "%s = %s: empty display name after ',' (drop the comma "
                      "for none)", code, value);
    if (strlen(*name) >= sizeof ((gr_dept_config_t *)0)->name)
        return s_fail(msg, msglen, "%s: display name too long (at most %zu bytes)", code,
                      sizeof ((gr_dept_config_t *)0)->name - 1);
    return 0;
}

/* Splits a [reporters] value "KEY[, grid CODE]": the key text into key
 * (keylen bytes), the grid code into grid (64 bytes; "" when none). */
static int s_split_reporter(const char *name, const char *value, char *key, size_t keylen,
                            char grid[64], char *msg, size_t msglen)
{
    const char *comma = strchr(value, ',');
    size_t len = comma ? (size_t)(comma - value) : strlen(value);
    while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
        len--;
    if (len >= keylen)
        return s_fail(msg, msglen, "%s = %s: key too long (64 hex digits, or @FILE of at "
                      "most %zu bytes)", name, value, keylen - 2);
    memcpy(key, value, len);
    key[len] = '\0';
    grid[0] = '\0';
    if (!comma)
        return 0;
    const char *rest = comma + 1 + strspn(comma + 1, " \t");
    if (strncmp(rest, "grid", 4) != 0 || (rest[4] != ' ' && rest[4] != '\t'))
        return s_fail(msg, msglen, "%s = %s: after the key only 'grid CODE' may follow (the "
                      "grid, 网格, whose cases this reporter reads)", name, value);
    rest += 4 + strspn(rest + 4, " \t");
    if (s_check_id("grid", rest, msg, msglen) != 0)
        return GR_ECONFIG;
    snprintf(grid, 64, "%s", rest);
    return 0;
}

/* [children] id = KEY[, previous OLDKEY] (key rotation, README "Rotating a
 * node's key"). */
static int s_split_child(const char *name, const char *value, char *key, size_t keylen,
                         char *previous, size_t prevlen, char *msg, size_t msglen)
{
    const char *comma = strchr(value, ',');
    size_t len = comma ? (size_t)(comma - value) : strlen(value);
    while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
        len--;
    if (len >= keylen)
        return s_fail(msg, msglen, "%s = %s: key too long (64 hex digits, or @FILE of at "
                      "most %zu bytes)", name, value, keylen - 2);
    memcpy(key, value, len);
    key[len] = '\0';
    previous[0] = '\0';
    if (!comma)
        return 0;
    const char *rest = comma + 1 + strspn(comma + 1, " \t");
    if (strncmp(rest, "previous", 8) != 0 || (rest[8] != ' ' && rest[8] != '\t'))
        return s_fail(msg, msglen, "%s = %s: after the key only 'previous KEY' may follow (the "
                      "child's key before it rotated to this one)", name, value);
    rest += 8 + strspn(rest + 8, " \t");
    len = strlen(rest);
    while (len > 0 && (rest[len - 1] == ' ' || rest[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= prevlen)
        return s_fail(msg, msglen, "%s = %s: 'previous' needs a key (64 hex digits, or @FILE)",
                      name, value);
    memcpy(previous, rest, len);
    previous[len] = '\0';
    return 0;
}

bool gr_peer_has_key(const gr_peer_config_t *peer, const uint8_t pk[GR_PUBLIC_KEY_BYTES])
{
    return peer && (memcmp(peer->pk, pk, GR_PUBLIC_KEY_BYTES) == 0 ||
                    (peer->has_previous &&
                     memcmp(peer->previous_pk, pk, GR_PUBLIC_KEY_BYTES) == 0));
}

/* Records that the reporter with key pk reads the cases of grid. */
static int s_add_reporter_grid(gr_config_t *cfg, const uint8_t pk[GR_PUBLIC_KEY_BYTES],
                               const char *grid, char *msg, size_t msglen)
{
    gr_reporter_grid_t *grids = realloc(cfg->reporter_grids,
                                        (cfg->n_reporter_grids + 1) * sizeof *grids);
    if (!grids)
        return s_oom(msg, msglen);
    cfg->reporter_grids = grids;
    gr_reporter_grid_t *g = &grids[cfg->n_reporter_grids++];
    memcpy(g->pk, pk, sizeof g->pk);
    snprintf(g->grid, sizeof g->grid, "%s", grid);
    return 0;
}

/* One line of a person's section ([reporters], [operators], [viewers],
 * [auditors]), [children] or [departments]: name = key, the department's
 * key optionally followed by ", display name". */
static int s_named_key(s_load_t *load, int section, const char *name, const char *value,
                       int line, char *msg, size_t msglen)
{
    const char *what = section == S_DEPARTMENTS ? "code" : "name";
    if (strlen(name) >= sizeof load->names[0].name)
        return s_fail(msg, msglen, "%s '%s' too long (at most %zu bytes)", what, name,
                      sizeof load->names[0].name - 1);
    {
        int rc = section == S_CHILDREN      ? s_check_id("child name", name, msg, msglen)
                 : section == S_DEPARTMENTS ? s_check_id("department code", name, msg, msglen)
                                            : s_check_reporter_name(name, msg, msglen);
        if (rc != 0)
            return rc;
    }
    /* The store names outboxes and bookkeeping "parent", "skip" and
     * "self": a child by one of those names would share them. */
    if (section == S_CHILDREN &&
        (strcmp(name, "parent") == 0 || strcmp(name, "skip") == 0 || strcmp(name, "self") == 0))
        return s_fail(msg, msglen, "a child may not be called '%s' (reserved for this node's "
                      "own links)", name);
    for (size_t i = 0; i < load->name_count; i++)
        if (load->names[i].section == section && strcmp(load->names[i].name, name) == 0)
            return s_fail(msg, msglen, "duplicate %s '%s' in [%s] (first at line %d)", what,
                          name, s_sections[section], load->names[i].line);
    if (load->name_count == load->name_cap) {
        size_t cap = load->name_cap ? load->name_cap * 2 : 16;
        s_name_t *names = realloc(load->names, cap * sizeof *names);
        if (!names)
            return s_oom(msg, msglen);
        load->names = names;
        load->name_cap = cap;
    }
    /* A path is at most PATH_MAX; the '@' and the NUL take two more. */
    char key[PATH_MAX + 2];
    char grid[64] = "";
    const char *display = "";
    int rc = 0;
    if (section == S_DEPARTMENTS)
        rc = s_split_dept(name, value, key, sizeof key, &display, msg, msglen);
    else if (section == S_REPORTERS)
        rc = s_split_reporter(name, value, key, sizeof key, grid, msg, msglen);
    char previous[PATH_MAX + 2] = "";
    if (section == S_CHILDREN)
        rc = s_split_child(name, value, key, sizeof key, previous, sizeof previous, msg, msglen);
    bool split = section == S_DEPARTMENTS || section == S_REPORTERS || section == S_CHILDREN;
    uint8_t pk[GR_PUBLIC_KEY_BYTES];
    uint8_t previous_pk[GR_PUBLIC_KEY_BYTES];
    if (rc == 0)
        rc = s_public_key(load, name, split ? key : value, pk, msg, msglen);
    if (rc == 0 && previous[0])
        rc = s_public_key(load, name, previous, previous_pk, msg, msglen);
    if (rc == 0 && previous[0] && memcmp(pk, previous_pk, sizeof pk) == 0)
        rc = s_fail(msg, msglen, "%s: the previous key is the key itself", name);
    if (rc == 0 && previous[0])
        rc = s_trust(load, previous_pk, name, GR_ROLE_NODE, s_section_access(section), line, msg,
                     msglen);
    gr_role_t role = section == S_CHILDREN      ? GR_ROLE_NODE
                     : section == S_DEPARTMENTS ? GR_ROLE_DEPARTMENT
                                                : GR_ROLE_REPORTER;
    /* One name is one person in every timeline: in two person's sections
     * it must name the same key. */
    for (size_t i = 0; rc == 0 && s_person_section(section) && i < load->name_count; i++) {
        const s_name_t *other = &load->names[i];
        if (s_person_section(other->section) && strcmp(other->name, name) == 0 &&
            memcmp(other->pk, pk, sizeof pk) != 0)
            rc = s_fail(msg, msglen, "'%s' names another key in [%s] (line %d): one name, one "
                        "key (a key with several roles is listed with the same key in each "
                        "section)", name, s_sections[other->section], other->line);
    }
    if (rc == 0)
        rc = s_trust(load, pk, name, role, s_section_access(section), line, msg, msglen);
    if (rc == 0 && section == S_DEPARTMENTS)
        rc = s_add_dept(load->cfg, name, display, pk, msg, msglen);
    if (rc == 0 && grid[0])
        rc = s_add_reporter_grid(load->cfg, pk, grid, msg, msglen);
    if (rc != 0)
        return rc;
    if (section == S_CHILDREN) {
        gr_config_t *cfg = load->cfg;
        gr_peer_config_t *children = realloc(cfg->children,
                                             (cfg->n_children + 1) * sizeof *children);
        if (!children)
            return s_oom(msg, msglen);
        cfg->children = children;
        gr_peer_config_t *child = &children[cfg->n_children++];
        memset(child, 0, sizeof *child);
        strcpy(child->id, name);
        memcpy(child->pk, pk, sizeof child->pk);
        child->has_previous = previous[0] != '\0';
        if (child->has_previous)
            memcpy(child->previous_pk, previous_pk, sizeof child->previous_pk);
    }
    s_name_t *n = &load->names[load->name_count++];
    strcpy(n->name, name);
    n->line = line;
    n->section = section;
    memcpy(n->pk, pk, sizeof n->pk);
    return 0;
}

static int s_peer_key(s_load_t *load, int section, const char *key, const char *value,
                      int line, char *msg, size_t msglen)
{
    int which = section == S_PARENT ? 0 : 1;
    gr_peer_config_t *peer = which == 0 ? &load->cfg->parent : &load->cfg->skip;
    int k = 0;
    while (k < P_COUNT && strcmp(s_peer_keys[k], key) != 0)
        k++;
    if (k == P_COUNT || (k == P_STATUS_ENDPOINT && section == S_SKIP))
        return s_fail(msg, msglen, "unknown key '%s' in [%s]", key, s_sections[section]);
    if (load->peer_line[which][k] != 0)
        return s_fail(msg, msglen, "duplicate key '%s' in [%s] (first at line %d)", key,
                      s_sections[section], load->peer_line[which][k]);
    load->peer_line[which][k] = line;
    switch (k) {
    case P_ID:
        if (s_check_id(key, value, msg, msglen) != 0)
            return GR_ECONFIG;
        strcpy(peer->id, value);
        return 0;
    case P_ENDPOINT:
        return s_endpoint(key, value, false, &peer->endpoint, msg, msglen);
    case P_STATUS_ENDPOINT:
        return s_endpoint(key, value, false, &peer->status_endpoint, msg, msglen);
    default:
        return s_public_key(load, key, value, peer->pk, msg, msglen);
    }
}

/* [deadlines]: KIND.SEVERITY, KIND one of s_deadline_kinds. */
static int s_deadline_key(s_load_t *load, const char *key, const char *value, int line,
                          char *msg, size_t msglen)
{
    static const char *const severities[GR_ROUTE_SEV_SLOTS] = {
        NULL, "routine", "urgent", "extra-urgent",
    };
    const char *dot = strchr(key, '.');
    size_t len = dot ? (size_t)(dot - key) : 0;
    int kind = 0;
    while (kind < D_COUNT && !(strlen(s_deadline_kinds[kind]) == len &&
                               strncmp(key, s_deadline_kinds[kind], len) == 0))
        kind++;
    int sev = 1;
    while (dot && sev < GR_ROUTE_SEV_SLOTS && strcmp(severities[sev], dot + 1) != 0)
        sev++;
    if (kind == D_COUNT || !dot || sev == GR_ROUTE_SEV_SLOTS)
        return s_fail(msg, msglen, "unknown key '%s' in [deadlines] (expected KIND.SEVERITY, "
                      "KIND one of accept, resolve, claim, complete and SEVERITY one of "
                      "routine, urgent, extra-urgent)", key);
    if (load->deadline_line[kind][sev] != 0)
        return s_fail(msg, msglen, "duplicate key '%s' in [deadlines] (first at line %d)", key,
                      load->deadline_line[kind][sev]);
    load->deadline_line[kind][sev] = line;
    gr_deadlines_t *d = &load->cfg->deadlines;
    gr_task_deadlines_t *t = &load->cfg->task_deadlines;
    uint64_t *slot = kind == D_ACCEPT    ? &d->accept_within_ms[sev]
                     : kind == D_RESOLVE ? &d->resolve_within_ms[sev]
                     : kind == D_CLAIM   ? &t->claim_within_ms[sev]
                                         : &t->complete_within_ms[sev];
    return s_duration(key, value, slot, msg, msglen);
}

/* The index of key among a section's n keys, its line remembered in
 * lines[]; -1 with the error in msg when the section has no such key
 * (naming the ones it has) or it was given before. */
static int s_section_key(const char *section, const char *const *keys, int n, int *lines,
                         const char *key, int line, char *msg, size_t msglen)
{
    int k = 0;
    while (k < n && strcmp(keys[k], key) != 0)
        k++;
    if (k == n) {
        char expected[256] = "";
        size_t len = 0;
        for (int i = 0; i < n && len < sizeof expected; i++)
            len += (size_t)snprintf(expected + len, sizeof expected - len, "%s%s",
                                    i == 0 ? "" : i == n - 1 ? " or " : ", ", keys[i]);
        s_fail(msg, msglen, "unknown key '%s' in [%s] (expected %s)", key, section, expected);
        return -1;
    }
    if (lines[k] != 0) {
        s_fail(msg, msglen, "duplicate key '%s' in [%s] (first at line %d)", key, section, lines[k]);
        return -1;
    }
    lines[k] = line;
    return k;
}

/* [supervision]: max_returns (a count, 0 = never flagged) and
 * feedback_within (a duration, 0 = feedback not supervised). */
static int s_supervision_key(s_load_t *load, const char *key, const char *value, int line,
                             char *msg, size_t msglen)
{
    int k = s_section_key("supervision", s_supervision_keys, V_COUNT, load->supervision_line, key,
                          line, msg, msglen);
    if (k < 0)
        return GR_ECONFIG;
    gr_supervise_limits_t *limits = &load->cfg->supervision;
    if (k == V_FEEDBACK_WITHIN)
        return s_duration(key, value, &limits->feedback_within_ms, msg, msglen);
    uint64_t n = 0;
    int rc = s_number(key, value, 0, 1000, &n, msg, msglen);
    if (rc == 0)
        limits->max_returns = (uint32_t)n;
    return rc;
}

/* A distance with its unit ("300m", "1km"), whole numbers only: a bare
 * number would leave the unit to guesswork. */
static int s_distance(const char *key, const char *value, double *metres, char *msg,
                      size_t msglen)
{
    size_t n = strspn(value, "0123456789");
    const char *unit = value + n;
    while (*unit == ' ')
        unit++;
    char digits[16];
    uint64_t count = 0;
    bool ok = n > 0 && n < sizeof digits;
    if (ok) {
        memcpy(digits, value, n);
        digits[n] = '\0';
        ok = s_parse_u64(digits, &count);
    }
    double m = strcmp(unit, "m") == 0 ? (double)count : strcmp(unit, "km") == 0 ? count * 1000.0 : -1;
    if (!ok || m < 0)
        return s_fail(msg, msglen, "%s = %s: not a distance (a whole number with a unit: m or "
                      "km, e.g. 300m)", key, value);
    if (m > S_MAX_MERGE_DISTANCE_M)
        return s_fail(msg, msglen, "%s = %s: at most 100km (one incident, one place)", key, value);
    *metres = m;
    return 0;
}

/* [merge]: window (a duration, 0 = candidates off) and distance. */
static int s_merge_key(s_load_t *load, const char *key, const char *value, int line,
                       char *msg, size_t msglen)
{
    int k = s_section_key("merge", s_merge_keys, M_COUNT, load->merge_line, key, line, msg, msglen);
    if (k < 0)
        return GR_ECONFIG;
    gr_duplicate_limits_t *limits = &load->cfg->merge;
    if (k == M_WINDOW)
        return s_duration(key, value, &limits->window_ms, msg, msglen);
    return s_distance(key, value, &limits->distance_m, msg, msglen);
}

/* [assessment]: one weight 0..100 per rate of the score. */
static int s_assessment_key(s_load_t *load, const char *key, const char *value, int line,
                            char *msg, size_t msglen)
{
    int k = s_section_key("assessment", s_assessment_keys, W_COUNT, load->assessment_line, key,
                          line, msg, msglen);
    if (k < 0)
        return GR_ECONFIG;
    uint64_t n = 0;
    int rc = s_number(key, value, 0, 100, &n, msg, msglen);
    if (rc != 0)
        return rc;
    gr_assess_weights_t *w = &load->cfg->assessment;
    unsigned *slots[W_COUNT] = { &w->accept, &w->resolve, &w->first_time, &w->feedback,
                                 &w->overdue };
    *slots[k] = (unsigned)n;
    return 0;
}

/* Trims spaces and tabs on both sides, in place. */
static char *s_trim(char *text)
{
    text += strspn(text, " \t");
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
        text[--len] = '\0';
    return text;
}

/* A comma-separated list of department codes from a [dispatch] line, cut in
 * place: refuses empty items, malformed codes and more than
 * GR_ROUTE_MAX_DEPTS. Whether each code names a department is checked once
 * the whole file is read, since [departments] may come later. */
static int s_code_list(const char *match, const char *what, char *text,
                       char list[GR_ROUTE_MAX_DEPTS][64], size_t *n, char *msg, size_t msglen)
{
    *n = 0;
    for (char *item = text; item;) {
        char *comma = strchr(item, ',');
        if (comma)
            *comma = '\0';
        char *code = s_trim(item);
        if (*code == '\0')
            return s_fail(msg, msglen, "%s: empty %s department (a stray ','?)", match, what);
        if (s_check_id("department code", code, msg, msglen) != 0)
            return GR_ECONFIG;
        if (*n == GR_ROUTE_MAX_DEPTS)
            return s_fail(msg, msglen, "%s: more than %d %s departments", match,
                          GR_ROUTE_MAX_DEPTS, what);
        strcpy(list[(*n)++], code);
        item = comma ? comma + 1 : NULL;
    }
    return 0;
}

/* Refuses a code twice on one line: tried twice after a return, or both
 * leading and helping, would be a typo rather than a plan. */
static int s_route_unique(const gr_route_config_t *r, char *msg, size_t msglen)
{
    for (size_t i = 0; i < r->n_candidates; i++)
        for (size_t j = i + 1; j < r->n_candidates; j++)
            if (strcmp(r->candidates[i], r->candidates[j]) == 0)
                return s_fail(msg, msglen, "%s: department '%s' listed twice", r->match,
                              r->candidates[i]);
    for (size_t i = 0; i < r->n_co; i++) {
        for (size_t j = i + 1; j < r->n_co; j++)
            if (strcmp(r->co[i], r->co[j]) == 0)
                return s_fail(msg, msglen, "%s: department '%s' listed twice", r->match,
                              r->co[i]);
        for (size_t j = 0; j < r->n_candidates; j++)
            if (strcmp(r->co[i], r->candidates[j]) == 0)
                return s_fail(msg, msglen, "%s: department '%s' is both a candidate and a "
                              "co-handler", r->match, r->co[i]);
    }
    return 0;
}

/* Fills r from "LEAD[, NEXT...] [+ CO[, CO...]]". */
static int s_route_value(gr_route_config_t *r, const char *value, char *msg, size_t msglen)
{
    char *text = strdup(value);
    if (!text)
        return s_oom(msg, msglen);
    char *plus = strchr(text, '+');
    int rc = 0;
    if (plus) {
        *plus = '\0';
        if (strchr(plus + 1, '+'))
            rc = s_fail(msg, msglen, "%s = %s: more than one '+' (co-handlers follow the "
                        "only '+')", r->match, value);
        else if (*s_trim(plus + 1) == '\0')
            rc = s_fail(msg, msglen, "%s = %s: no co-handler after '+'", r->match, value);
    }
    if (rc == 0 && *s_trim(text) == '\0')
        rc = s_fail(msg, msglen, "%s = %s: no lead department (expected LEAD[, NEXT...] "
                    "[+ CO[, CO...]])", r->match, value);
    if (rc == 0)
        rc = s_code_list(r->match, "candidate", text, r->candidates, &r->n_candidates, msg,
                         msglen);
    if (rc == 0 && plus)
        rc = s_code_list(r->match, "co-handling", plus + 1, r->co, &r->n_co, msg, msglen);
    free(text);
    return rc == 0 ? s_route_unique(r, msg, msglen) : rc;
}

/* One line of [dispatch]: MATCH = LEAD[, NEXT...] [+ CO[, CO...]]. The
 * match's shape is checked here, its categories once the catalogue is
 * loaded. */
static int s_route_key(s_load_t *load, const char *match, const char *value, int line,
                       char *msg, size_t msglen)
{
    gr_config_t *cfg = load->cfg;
    size_t len = strlen(match);
    if (len >= sizeof cfg->routes[0].match)
        return s_fail(msg, msglen, "match '%s' too long (at most %zu bytes)", match,
                      sizeof cfg->routes[0].match - 1);
    const char *star = strchr(match, '*');
    if (star && strcmp(match, "*") != 0 &&
        !(star == match + len - 1 && len >= 3 && match[len - 2] == '.'))
        return s_fail(msg, msglen, "%s: '*' stands alone (any category) or ends a class "
                      "prefix, as in PS.*", match);
    for (size_t i = 0; i < cfg->n_routes; i++)
        if (strcmp(cfg->routes[i].match, match) == 0)
            return s_fail(msg, msglen, "duplicate match '%s' in [dispatch] (first at line %d)",
                          match, load->route_line[i]);
    gr_route_config_t route;
    memset(&route, 0, sizeof route);
    strcpy(route.match, match);
    int rc = s_route_value(&route, value, msg, msglen);
    if (rc != 0)
        return rc;
    int *lines = realloc(load->route_line, (cfg->n_routes + 1) * sizeof *lines);
    if (!lines)
        return s_oom(msg, msglen);
    load->route_line = lines;
    gr_route_config_t *routes = realloc(cfg->routes, (cfg->n_routes + 1) * sizeof *routes);
    if (!routes)
        return s_oom(msg, msglen);
    cfg->routes = routes;
    lines[cfg->n_routes] = line;
    routes[cfg->n_routes++] = route;
    return 0;
}

static int s_config_fn(void *user, const char *section, const char *key, const char *value,
                       int line, char *msg, size_t msglen)
{
    s_load_t *load = user;
    int s = 0;
    while (s < S_COUNT && strcmp(s_sections[s], section) != 0)
        s++;
    if (!key) {
        if (s == S_COUNT)
            return s_fail(msg, msglen, "unknown section [%s] (expected [node], [reporters], "
                          "[operators], [viewers], [auditors], [parent], [skip], [children], "
                          "[deadlines], [departments], [dispatch], [supervision], [daily], "
                          "[merge] or [assessment])", section);
        if (load->section_line[s] != 0)
            return s_fail(msg, msglen, "section [%s] appears twice (first at line %d)",
                          section, load->section_line[s]);
        load->section_line[s] = line;
        if (s == S_DAILY)
            load->cfg->daily.enabled = true;
        if (s == S_MERGE) {
            /* The section turns candidates on; its keys only tune them. */
            load->cfg->merge.window_ms = S_DEFAULT_MERGE_WINDOW_MS;
            load->cfg->merge.distance_m = S_DEFAULT_MERGE_DISTANCE_M;
        }
        return 0;
    }
    switch (s) {
    case S_REPORTERS:
    case S_OPERATORS:
    case S_VIEWERS:
    case S_AUDITORS:
    case S_CHILDREN:
    case S_DEPARTMENTS:
        return s_named_key(load, s, key, value, line, msg, msglen);
    case S_DISPATCH:
        return s_route_key(load, key, value, line, msg, msglen);
    case S_PARENT:
    case S_SKIP:
        return s_peer_key(load, s, key, value, line, msg, msglen);
    case S_DEADLINES:
        return s_deadline_key(load, key, value, line, msg, msglen);
    case S_SUPERVISION:
        return s_supervision_key(load, key, value, line, msg, msglen);
    case S_DAILY:
        return gr_daily_config_key(&load->cfg->daily, key, value, line, msg, msglen);
    case S_MERGE:
        return s_merge_key(load, key, value, line, msg, msglen);
    case S_ASSESSMENT:
        return s_assessment_key(load, key, value, line, msg, msglen);
    case S_NODE:
        break;
    default:
        return s_fail(msg, msglen, "%s: key outside any section (start with [node])", key);
    }
    int k = 0;
    while (k < N_COUNT && strcmp(s_node_keys[k], key) != 0)
        k++;
    if (k == N_COUNT)
        return s_fail(msg, msglen, "unknown key '%s' in [node]", key);
    if (load->key_line[k] != 0)
        return s_fail(msg, msglen, "duplicate key '%s' in [node] (first at line %d)", key,
                      load->key_line[k]);
    load->key_line[k] = line;
    return s_node_key(load, k, value, msg, msglen);
}

/* [parent] and [skip] need id, endpoint and key; their keys are trusted as
 * nodes once the whole section is known (the id may follow the key). */
static int s_finish_peer(s_load_t *load, int section, char *err, size_t errlen)
{
    int which = section == S_PARENT ? 0 : 1;
    if (load->section_line[section] == 0)
        return 0;
    gr_peer_config_t *peer = which == 0 ? &load->cfg->parent : &load->cfg->skip;
    static const int required[] = { P_ID, P_ENDPOINT, P_KEY };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (load->peer_line[which][required[i]] == 0) {
            snprintf(err, errlen, "%s:%d: [%s] missing required key '%s'", load->path,
                     load->section_line[section], s_sections[section],
                     s_peer_keys[required[i]]);
            return GR_ECONFIG;
        }
    }
    char msg[512] = "";
    int rc = s_trust(load, peer->pk, peer->id, GR_ROLE_NODE, GR_ACCESS_NODE,
                     load->peer_line[which][P_KEY], msg, sizeof msg);
    if (rc != 0) {
        snprintf(err, errlen, "%s:%d: %s", load->path, load->peer_line[which][P_KEY], msg);
        return rc;
    }
    if (which == 0)
        load->cfg->has_parent = true;
    else
        load->cfg->has_skip = true;
    return 0;
}

/* A config written before roles existed knows one kind of person: its
 * [reporters] both reported and acted on cases. As long as the file has no
 * [operators] section, that stays so, and the daemon says at start-up what
 * to change; with an [operators] section, [reporters] means grid workers
 * only. */
static int s_finish_legacy_roles(s_load_t *load, char *err, size_t errlen)
{
    if (load->section_line[S_REPORTERS] == 0 || load->section_line[S_OPERATORS] != 0)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < load->name_count; i++) {
        const s_name_t *name = &load->names[i];
        if (name->section != S_REPORTERS)
            continue;
        int rc = gr_trust_grant(load->cfg->trust, name->pk, GR_ACCESS_OPERATOR);
        if (rc != 0) {
            snprintf(err, errlen, "%s:%d: %s: %s", load->path, name->line, name->name,
                     gr_strerror(rc));
            return rc;
        }
        n++;
    }
    snprintf(load->cfg->warning, sizeof load->cfg->warning,
             "%s:%d: [reporters] without an [operators] section: its keys (%zu) keep the old "
             "roles, reporter and operator (accept, resolve, escalate, assign, dispatch, urge "
             "any case here). To end this, add an [operators] section listing the keys that "
             "act on cases (name = key, as in [reporters]); [reporters] then holds grid workers "
             "only, and a key listed under the same name in both holds both roles (README, "
             "\"Roles and access\")", load->path, load->section_line[S_REPORTERS], n);
    return 0;
}

/* Whether a [dispatch] match can ever apply: an exact code must be in the
 * catalogue, a class prefix "PS.*" must begin some code with "PS.". A line
 * that matches nothing is a typo that would silently route nothing. */
static bool s_match_known(const gr_catalogue_t *cat, const char *match)
{
    size_t len = strlen(match);
    if (strcmp(match, "*") == 0)
        return true;
    if (match[len - 1] != '*')
        return gr_catalogue_find(cat, match) != NULL;
    for (size_t i = 0; i < gr_catalogue_count(cat); i++)
        if (strncmp(gr_catalogue_at(cat, i)->code, match, len - 1) == 0)
            return true;
    return false;
}

/* The [dispatch] checks that need the whole file and the catalogue: every
 * code a configured department, every match some category. Reported at the
 * [dispatch] line concerned. */
static int s_finish_dispatch(s_load_t *load, char *err, size_t errlen)
{
    const gr_config_t *cfg = load->cfg;
    if (load->section_line[S_DISPATCH] != 0 && load->section_line[S_DEPARTMENTS] == 0) {
        snprintf(err, errlen, "%s:%d: [dispatch] without [departments]: routes name "
                 "departments, list them there", load->path, load->section_line[S_DISPATCH]);
        return GR_ECONFIG;
    }
    for (size_t i = 0; i < cfg->n_routes; i++) {
        const gr_route_config_t *r = &cfg->routes[i];
        if (!s_match_known(cfg->catalogue, r->match)) {
            size_t len = strlen(r->match);
            if (r->match[len - 1] == '*')
                snprintf(err, errlen, "%s:%d: %s: no category in the catalogue starts with "
                         "'%.*s'", load->path, load->route_line[i], r->match, (int)len - 1,
                         r->match);
            else
                snprintf(err, errlen, "%s:%d: unknown category '%s': not in the catalogue",
                         load->path, load->route_line[i], r->match);
            return GR_ECONFIG;
        }
        for (size_t j = 0; j < r->n_candidates + r->n_co; j++) {
            const char *code = j < r->n_candidates ? r->candidates[j]
                                                   : r->co[j - r->n_candidates];
            if (!gr_config_dept(cfg, code)) {
                snprintf(err, errlen, "%s:%d: %s: unknown department '%s' (not in "
                         "[departments])", load->path, load->route_line[i], r->match, code);
                return GR_ECONFIG;
            }
        }
    }
    return 0;
}

/* The name of a file's type, for refusing what is not a regular file or a
 * directory. */
static const char *s_kind(mode_t mode)
{
    return S_ISREG(mode)    ? "a regular file"
           : S_ISDIR(mode)  ? "a directory"
           : S_ISFIFO(mode) ? "a FIFO"
           : S_ISSOCK(mode) ? "a socket"
                            : "a device";
}

/* The node's own key in its trust list would make every message it signs
 * acceptable to itself as a reporter's, a child's or a department's; a node
 * never talks to itself, so the line is a copy-paste slip. Reported at that
 * line. */
static int s_check_own_key(s_load_t *load, char *err, size_t errlen)
{
    for (size_t i = 0; i < load->n_trusted; i++) {
        const s_trusted_t *t = &load->trusted[i];
        if (sodium_memcmp(t->pk, load->cfg->keys.pk, GR_PUBLIC_KEY_BYTES) != 0)
            continue;
        snprintf(err, errlen, "%s:%d: %s: this is the node's own public key (secret_key at "
                 "line %d); a node does not trust its own key, give this role its own key "
                 "pair (gridctl keygen)", load->path, t->line, t->name,
                 load->key_line[N_SECRET_KEY]);
        return GR_ECONFIG;
    }
    return 0;
}

static int s_curve_compare(const void *a, const void *b)
{
    const s_trusted_t *x = a, *y = b;
    int c = memcmp(x->curve, y->curve, sizeof x->curve);
    return c != 0 ? c : x->line - y->line;
}

/* An Ed25519 key and its negation (the same 64 hex digits but for the top
 * bit of the last byte) have one Curve25519 form: CURVE admits them as one
 * key, so the daemon's ZAP handler would keep only one of the two and the
 * other would be refused with no hint why. s_public_key() has checked that
 * each converts. */
static int s_check_curve_unique(s_load_t *load, char *err, size_t errlen)
{
    size_t n = load->n_trusted;
    s_trusted_t *sorted = malloc((n + 1) * sizeof *sorted);
    if (!sorted) {
        snprintf(err, errlen, "%s: out of memory", load->path);
        return GR_ENOMEM;
    }
    if (n > 0)
        memcpy(sorted, load->trusted, n * sizeof *sorted);    /* NULL when none */
    /* The node's own key as line 0: CURVE serves it on every socket. */
    memset(&sorted[n], 0, sizeof sorted[n]);
    memcpy(sorted[n].pk, load->cfg->keys.pk, GR_PUBLIC_KEY_BYTES);
    int rc = 0;
    for (size_t i = 0; i <= n && rc == 0; i++)
        if (crypto_sign_ed25519_pk_to_curve25519(sorted[i].curve, sorted[i].pk) != 0)
            rc = GR_ECONFIG;    /* s_public_key() and gr_keys_load_secret() prevent it */
    if (rc != 0) {
        snprintf(err, errlen, "%s: a key has no Curve25519 form", load->path);
        free(sorted);
        return rc;
    }
    qsort(sorted, n + 1, sizeof *sorted, s_curve_compare);
    for (size_t i = 1; i <= n; i++) {
        const s_trusted_t *first = &sorted[i - 1], *second = &sorted[i];
        if (memcmp(first->curve, second->curve, sizeof first->curve) != 0)
            continue;
        if (first->line == 0)
            snprintf(err, errlen, "%s:%d: %s: this key is the negation of the node's own key "
                     "(secret_key at line %d): CURVE cannot tell them apart", load->path,
                     second->line, second->name, load->key_line[N_SECRET_KEY]);
        else
            snprintf(err, errlen, "%s:%d: %s: this key is the negation of '%s' (line %d): "
                     "CURVE cannot tell them apart (a mistyped last digit?)", load->path,
                     second->line, second->name, first->name, first->line);
        rc = GR_ECONFIG;
        break;
    }
    free(sorted);
    return rc;
}

/* Node ids name the links, the outboxes and the views of a grid: this
 * node, its parent, its skip-level node and its children must all differ,
 * or a case meant for one would be addressed to another. */
static int s_check_node_ids(s_load_t *load, char *err, size_t errlen)
{
    const gr_config_t *cfg = load->cfg;
    typedef struct {
        const char *what;
        const char *id;
        int line;
    } s_id_t;
    s_id_t ids[3];
    size_t n = 0;
    ids[n++] = (s_id_t){ "this node", cfg->node_id, load->key_line[N_ID] };
    if (load->section_line[S_PARENT] != 0)
        ids[n++] = (s_id_t){ "the [parent]", cfg->parent.id, load->peer_line[0][P_ID] };
    if (load->section_line[S_SKIP] != 0)
        ids[n++] = (s_id_t){ "the [skip] node", cfg->skip.id, load->peer_line[1][P_ID] };
    for (size_t i = 1; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(ids[i].id, ids[j].id) != 0)
                continue;
            snprintf(err, errlen, "%s:%d: id = %s: %s has the same id as %s (line %d); "
                     "every node of a grid has its own id", load->path, ids[i].line,
                     ids[i].id, ids[i].what, ids[j].what, ids[j].line);
            return GR_ECONFIG;
        }
    }
    for (size_t c = 0; c < load->name_count; c++) {
        const s_name_t *child = &load->names[c];
        if (child->section != S_CHILDREN)
            continue;
        for (size_t j = 0; j < n; j++) {
            if (strcmp(child->name, ids[j].id) != 0)
                continue;
            snprintf(err, errlen, "%s:%d: child '%s' has the same id as %s (line %d); "
                     "every node of a grid has its own id", load->path, child->line,
                     child->name, ids[j].what, ids[j].line);
            return GR_ECONFIG;
        }
    }
    return 0;
}

/* Two of this node's sockets cannot bind one address: the second bind would
 * fail at start-up. Port '*' picks a new port each time. */
static int s_check_binds_distinct(s_load_t *load, char *err, size_t errlen)
{
    const gr_config_t *cfg = load->cfg;
    const struct {
        const char *key;
        const char *ep;
        int line;
    } binds[] = {
        { "listen", cfg->listen, load->key_line[N_LISTEN] },
        { "status_listen", cfg->status_listen, load->key_line[N_STATUS_LISTEN] },
        { "task_listen", cfg->task_listen, load->key_line[N_TASK_LISTEN] },
    };
    size_t n = sizeof binds / sizeof binds[0];
    for (size_t i = 1; i < n; i++) {
        if (!binds[i].ep)
            continue;
        size_t len = strlen(binds[i].ep);
        if (len >= 2 && strcmp(binds[i].ep + len - 2, ":*") == 0)
            continue;
        for (size_t j = 0; j < i; j++) {
            if (!binds[j].ep || strcmp(binds[i].ep, binds[j].ep) != 0)
                continue;
            snprintf(err, errlen, "%s:%d: %s = %s: the same endpoint as %s (line %d); each "
                     "socket needs its own", load->path, binds[i].line, binds[i].key,
                     binds[i].ep, binds[j].key, binds[j].line);
            return GR_ECONFIG;
        }
    }
    return 0;
}

/* The daemon writes the endpoint file as PATH.tmp, then renames it over
 * PATH, after binding: a directory that is missing or read-only would stop
 * it only then, so say it now. PATH itself may not exist yet; if it does,
 * it must be a regular file (rename() cannot replace a directory, and
 * anything else there is not ours to replace). */
static int s_check_endpoint_file(s_load_t *load, char *err, size_t errlen)
{
    const char *path = load->cfg->endpoint_file;
    int line = load->key_line[N_ENDPOINT_FILE];
    if (!path)
        return 0;
    char *copy = strdup(path);
    if (!copy) {
        snprintf(err, errlen, "%s: out of memory", load->path);
        return GR_ENOMEM;
    }
    const char *dir = dirname(copy);
    struct stat st;
    int rc = 0;
    if (stat(dir, &st) != 0) {
        snprintf(err, errlen, "%s:%d: endpoint_file: directory %s: %s", load->path, line, dir,
                 strerror(errno));
        rc = GR_ECONFIG;
    } else if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s:%d: endpoint_file: %s is %s, not a directory", load->path,
                 line, dir, s_kind(st.st_mode));
        rc = GR_ECONFIG;
    } else if (access(dir, W_OK | X_OK) != 0) {
        snprintf(err, errlen, "%s:%d: endpoint_file: cannot write in directory %s: %s",
                 load->path, line, dir, strerror(errno));
        rc = GR_ECONFIG;
    } else if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s:%d: endpoint_file: %s is %s, not a regular file", load->path,
                 line, path, s_kind(st.st_mode));
        rc = GR_ECONFIG;
    }
    free(copy);
    return rc;
}

/* The store is created with mkdir -p at start-up: it must be a directory if
 * it exists, and otherwise its nearest existing ancestor must be one. */
static int s_check_store(s_load_t *load, char *err, size_t errlen)
{
    char *path = strdup(load->cfg->store_path);
    if (!path) {
        snprintf(err, errlen, "%s: out of memory", load->path);
        return GR_ENOMEM;
    }
    int line = load->key_line[N_STORE];
    int rc = 0;
    struct stat st;
    for (;;) {
        if (stat(path, &st) == 0) {
            if (!S_ISDIR(st.st_mode)) {
                snprintf(err, errlen, "%s:%d: store: %s is %s, not a directory", load->path,
                         line, path, s_kind(st.st_mode));
                rc = GR_ECONFIG;
            }
            break;
        }
        if (errno != ENOENT) {
            snprintf(err, errlen, "%s:%d: store: %s: %s", load->path, line, path,
                     strerror(errno));
            rc = GR_ECONFIG;
            break;
        }
        char *slash = strrchr(path, '/');
        if (!slash || slash == path)
            break;              /* "/" exists: not reached in practice */
        *slash = '\0';
    }
    free(path);
    return rc;
}

/* A file the config names for reading (the catalogue): gr_ini_parse()
 * refuses anything but a regular file too, but this names the config line. */
static int s_check_readable(s_load_t *load, const char *key, const char *path, int line,
                            char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0 || (S_ISREG(st.st_mode) && access(path, R_OK) != 0))
        snprintf(err, errlen, "%s:%d: %s: cannot read %s: %s", load->path, line, key, path,
                 strerror(errno));
    else if (!S_ISREG(st.st_mode))
        snprintf(err, errlen, "%s:%d: %s: %s is %s, not a regular file", load->path, line, key,
                 path, s_kind(st.st_mode));
    else
        return 0;
    return GR_ECONFIG;
}

/* The checks that need the whole file: required keys, the map size against
 * its maximum, the peers, the ids and endpoints against each other, then
 * the files the config points at (store, endpoint file, secret key,
 * catalogue), the node's own key against the trusted ones, then the
 * routing table against the catalogue. */
static int s_finish(s_load_t *load, char *err, size_t errlen)
{
    gr_config_t *cfg = load->cfg;
    const char *path = load->path;
    for (size_t i = 0; i < sizeof s_required / sizeof s_required[0]; i++) {
        if (load->key_line[s_required[i]] == 0) {
            snprintf(err, errlen, "%s: missing required key '%s' in [node]", path,
                     s_node_keys[s_required[i]]);
            return GR_ECONFIG;
        }
    }
    if (cfg->map_size > cfg->map_max) {
        if (load->key_line[N_MAP_MAX] != 0)
            snprintf(err, errlen, "%s:%d: map_max_mb = %zu: must be at least map_size_mb (%zu)",
                     path, load->key_line[N_MAP_MAX], cfg->map_max >> 20, cfg->map_size >> 20);
        else
            snprintf(err, errlen, "%s:%d: map_size_mb = %zu: must not exceed map_max_mb "
                     "(%zu, the default)", path, load->key_line[N_MAP_SIZE],
                     cfg->map_size >> 20, cfg->map_max >> 20);
        return GR_ECONFIG;
    }
    int rc = s_finish_peer(load, S_PARENT, err, errlen);
    if (rc == 0)
        rc = s_finish_peer(load, S_SKIP, err, errlen);
    if (rc == 0)
        rc = s_finish_legacy_roles(load, err, errlen);
    if (rc == 0)
        rc = s_check_node_ids(load, err, errlen);
    if (rc == 0)
        rc = s_check_binds_distinct(load, err, errlen);
    if (rc == 0)
        rc = s_check_store(load, err, errlen);
    if (rc == 0)
        rc = s_check_endpoint_file(load, err, errlen);
    if (rc != 0)
        return rc;

    rc = gr_keys_init();
    if (rc != 0) {
        snprintf(err, errlen, "%s: cannot start libsodium", path);
        return rc;
    }
    char kerr[512] = "";
    rc = gr_keys_load_secret(&cfg->keys, cfg->secret_key_path, kerr, sizeof kerr);
    if (rc != 0) {
        snprintf(err, errlen, "%s:%d: %s", path, load->key_line[N_SECRET_KEY], kerr);
        return rc;
    }
    rc = s_check_own_key(load, err, errlen);
    if (rc == 0)
        rc = s_check_curve_unique(load, err, errlen);
    if (rc != 0)
        return rc;

    /* A catalogue's own errors name its file and line; only a missing file
     * needs pointing back at the config line that named it. */
    rc = s_check_readable(load, "catalogue", cfg->catalogue_path, load->key_line[N_CATALOGUE],
                          err, errlen);
    if (rc != 0)
        return rc;
    cfg->catalogue = gr_catalogue_load(cfg->catalogue_path, err, errlen);
    if (!cfg->catalogue)
        return GR_ECONFIG;
    char msg[512] = "";
    int line = 0;
    if (gr_daily_config_finish(&cfg->daily, cfg->trust, cfg->catalogue, msg, sizeof msg,
                               &line) != 0) {
        snprintf(err, errlen, "%s:%d: %s", path, line ? line : load->section_line[S_DAILY], msg);
        return GR_ECONFIG;
    }
    return s_finish_dispatch(load, err, errlen);
}

/* The absolute directory of path, against which relative paths resolve:
 * absolute so that nothing changes if the daemon later changes directory. */
static char *s_config_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return NULL;
    char *dir = realpath(dirname(copy), NULL);
    int e = errno;
    free(copy);
    errno = e;
    return dir;
}

gr_config_t *gr_config_load(const char *path, char *err, size_t errlen)
{
    char dummy[1];
    if (!err || errlen == 0) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (!path) {
        snprintf(err, errlen, "gr_config_load: no path");
        return NULL;
    }
    s_load_t load = { .path = path };
    load.cfg = calloc(1, sizeof *load.cfg);
    if (!load.cfg || !(load.cfg->trust = gr_trust_new())) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    load.dir = s_config_dir(path);
    if (!load.dir) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    gr_config_t *cfg = load.cfg;
    cfg->max_frame = S_DEFAULT_MAX_FRAME;
    cfg->map_size = (size_t)S_DEFAULT_MAP_SIZE_MB << 20;
    cfg->map_max = (size_t)S_DEFAULT_MAP_MAX_MB << 20;
    cfg->replay_window = S_DEFAULT_REPLAY_WINDOW;
    /* Flagged for supervision: returned three times, or a result that has
     * not reached the case's origin a day after it was resolved. */
    cfg->supervision.max_returns = 2;
    cfg->supervision.feedback_within_ms = 24ull * 3600 * 1000;
    cfg->assessment = (gr_assess_weights_t)GR_ASSESS_WEIGHTS_DEFAULT;
    cfg->batch_max = S_DEFAULT_BATCH_MAX;
    gr_daily_config_init(&cfg->daily);

    if (!(cfg->path = strdup(path))) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    if (gr_ini_parse(path, s_config_fn, &load, err, errlen) != 0)
        goto fail;
    if (s_finish(&load, err, errlen) != 0)
        goto fail;
    free(load.dir);
    free(load.names);
    free(load.route_line);
    free(load.trusted);
    return cfg;
fail:
    free(load.dir);
    free(load.names);
    free(load.route_line);
    free(load.trusted);
    gr_config_destroy(&load.cfg);
    return NULL;
}

/* Linear: a node has a handful of routes and is asked once per new case. */
const gr_route_config_t *gr_config_route(const gr_config_t *cfg, const char *category)
{
    if (!cfg || !category)
        return NULL;
    const gr_route_config_t *best = NULL, *any = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < cfg->n_routes; i++) {
        const gr_route_config_t *r = &cfg->routes[i];
        size_t len = strlen(r->match);
        if (strcmp(r->match, category) == 0)
            return r;
        if (strcmp(r->match, "*") == 0)
            any = r;
        else if (r->match[len - 1] == '*' && len - 1 > best_len &&
                 strncmp(category, r->match, len - 1) == 0) {
            /* len - 1 keeps the dot: "PS.*" matches "PS.FIRE", not "PSX". */
            best = r;
            best_len = len - 1;
        }
    }
    return best ? best : any;
}

/* Linear: departments are few, and looked up when a task is sent or a
 * department's message arrives, not in a tight loop. */
const gr_dept_config_t *gr_config_dept(const gr_config_t *cfg, const char *code)
{
    if (!cfg || !code)
        return NULL;
    for (size_t i = 0; i < cfg->n_depts; i++)
        if (strcmp(cfg->depts[i].code, code) == 0)
            return &cfg->depts[i];
    return NULL;
}

/* Linear, as gr_config_dept(); a public key is no secret, so memcmp's
 * early exit gives nothing away. */
const gr_dept_config_t *gr_config_dept_by_key(const gr_config_t *cfg,
                                              const uint8_t pk[GR_PUBLIC_KEY_BYTES])
{
    if (!cfg || !pk)
        return NULL;
    for (size_t i = 0; i < cfg->n_depts; i++)
        if (memcmp(cfg->depts[i].pk, pk, GR_PUBLIC_KEY_BYTES) == 0)
            return &cfg->depts[i];
    return NULL;
}

/* Whether every key of trust that is not a person's (nodes, departments)
 * is in other too, under the same name and role. */
static bool s_others_within(const gr_trust_t *trust, const gr_trust_t *other)
{
    for (size_t i = 0; i < gr_trust_count(trust); i++) {
        const gr_trusted_key_t *t = gr_trust_at(trust, i);
        if (t->role == GR_ROLE_REPORTER)
            continue;
        const gr_trusted_key_t *o = gr_trust_find(other, t->pk);
        if (!o || o->role != t->role || strcmp(o->name, t->name) != 0)
            return false;
    }
    return true;
}

int gr_config_reload_people(gr_config_t *cfg, gr_config_reload_t *summary, char *err,
                            size_t errlen)
{
    if (!cfg || !cfg->path || !summary)
        return GR_EINVAL;
    memset(summary, 0, sizeof *summary);
    gr_config_t *fresh = gr_config_load(cfg->path, err, errlen);
    if (!fresh)
        return GR_ECONFIG;
    if (!s_others_within(cfg->trust, fresh->trust) || !s_others_within(fresh->trust, cfg->trust)) {
        snprintf(err, errlen, "%s: [parent], [skip], [children] or [departments] changed: a "
                 "reload takes only the people's keys ([reporters], [operators], [viewers], "
                 "[auditors]); restart the node to apply the others", cfg->path);
        gr_config_destroy(&fresh);
        return GR_ECONFIG;
    }
    for (size_t i = 0; i < gr_trust_count(fresh->trust); i++) {
        const gr_trusted_key_t *t = gr_trust_at(fresh->trust, i);
        const gr_trusted_key_t *old = gr_trust_find(cfg->trust, t->pk);
        if (t->role != GR_ROLE_REPORTER)
            continue;
        const char *old_grid = gr_config_reporter_grid(cfg, t->pk);
        const char *new_grid = gr_config_reporter_grid(fresh, t->pk);
        if (!old)
            summary->added++;
        else if (old->access != t->access || strcmp(old->name, t->name) != 0 ||
                 strcmp(old_grid ? old_grid : "", new_grid ? new_grid : "") != 0)
            summary->changed++;
    }
    for (size_t i = 0; i < gr_trust_count(cfg->trust); i++) {
        const gr_trusted_key_t *t = gr_trust_at(cfg->trust, i);
        if (t->role == GR_ROLE_REPORTER && !gr_trust_find(fresh->trust, t->pk))
            summary->removed++;
    }
    gr_trust_t *old = cfg->trust;
    cfg->trust = fresh->trust;
    fresh->trust = old;
    gr_reporter_grid_t *grids = cfg->reporter_grids;
    size_t n_grids = cfg->n_reporter_grids;
    cfg->reporter_grids = fresh->reporter_grids;
    cfg->n_reporter_grids = fresh->n_reporter_grids;
    fresh->reporter_grids = grids;
    fresh->n_reporter_grids = n_grids;
    memcpy(cfg->warning, fresh->warning, sizeof cfg->warning);
    gr_config_destroy(&fresh);
    return 0;
}

const char *gr_config_reporter_grid(const gr_config_t *cfg,
                                    const uint8_t pk[GR_PUBLIC_KEY_BYTES])
{
    if (!cfg || !pk)
        return NULL;
    for (size_t i = 0; i < cfg->n_reporter_grids; i++)
        if (memcmp(cfg->reporter_grids[i].pk, pk, GR_PUBLIC_KEY_BYTES) == 0)
            return cfg->reporter_grids[i].grid;
    return NULL;
}

static void s_peer_clear(gr_peer_config_t *peer)
{
    free(peer->endpoint);
    free(peer->status_endpoint);
}

void gr_config_destroy(gr_config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gr_config_t *self = *self_p;
    free(self->path);
    free(self->store_path);
    free(self->listen);
    free(self->endpoint_file);
    free(self->secret_key_path);
    free(self->catalogue_path);
    free(self->status_listen);
    free(self->task_listen);
    free(self->depts);
    free(self->reporter_grids);
    free(self->routes);
    gr_daily_config_clear(&self->daily);
    s_peer_clear(&self->parent);
    s_peer_clear(&self->skip);
    for (size_t i = 0; i < self->n_children; i++)
        s_peer_clear(&self->children[i]);
    free(self->children);
    gr_trust_destroy(&self->trust);
    gr_catalogue_destroy(&self->catalogue);
    sodium_memzero(&self->keys, sizeof self->keys);
    free(self);
    *self_p = NULL;
}
