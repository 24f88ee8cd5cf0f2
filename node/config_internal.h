/* Private to node/config*.c: the state of one config load and the pieces
 * the config's files share. Not part of the public API; nothing outside
 * node/config*.c includes it.
 *
 *   config.c          the section table (name -> handler), the INI callback
 *                     that dispatches through it, load, lookups, reload
 *   config_parse.c    parsing primitives: numbers, durations, distances,
 *                     ids, endpoints, paths, public keys, a section's keys
 *   config_people.c   [reporters] [operators] [viewers] [auditors]
 *                     [children] [departments]: names, keys, trust
 *   config_sections.c [node] [parent] [skip] [deadlines] [supervision]
 *                     [merge] [assessment] [dispatch]
 *   config_check.c    the checks that need the whole file, run after the parse
 *
 * Errors: every function taking (msg, msglen) writes what is wrong there
 * without "FILE:LINE: ", which the INI reader adds; those taking (err,
 * errlen) run after the parse and write the whole "FILE:LINE: message".
 *
 * To add a section: an S_ value below (before S_COUNT), a row in
 * s_table in config.c, and its key handler in a file of its own.
 *
 * Thread safety: a load is one thread's; nothing here is shared.
 */
#ifndef GR_CONFIG_INTERNAL_H
#define GR_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Keys of [node]; their names are gr_cfg_node_keys[]. */
enum {
    N_ID, N_TIER, N_STORE, N_LISTEN, N_ENDPOINT_FILE, N_SECRET_KEY, N_CATALOGUE,
    N_MAX_FRAME, N_MAP_SIZE, N_MAP_MAX, N_REPLAY_WINDOW, N_BATCH_MAX, N_STATUS_LISTEN,
    N_TASK_LISTEN, N_THREADS, N_DATA_KEY, N_PREVIOUS_SECRET_KEY, N_COUNT
};

/* The sections, in the order the "unknown section" error lists them; their
 * names and handlers are s_table in config.c. */
enum {
    S_NODE, S_REPORTERS, S_OPERATORS, S_VIEWERS, S_AUDITORS, S_PARENT, S_SKIP, S_CHILDREN,
    S_DEADLINES, S_DEPARTMENTS, S_DISPATCH, S_SUPERVISION, S_DAILY, S_MERGE, S_ASSESSMENT,
    S_CONFIDENTIAL, S_CONFIDENTIAL_SEAL, S_HTTP, S_HTTP_USERS, S_OPEN311_CLIENTS, S_MAP, S_COUNT
};

/* Keys of [supervision], [merge], [assessment] (config_sections.c). */
enum { V_MAX_RETURNS, V_FEEDBACK_WITHIN, V_COUNT };
enum { M_WINDOW, M_DISTANCE, M_COUNT };
enum { W_ACCEPT, W_RESOLVE, W_FIRST_TIME, W_FEEDBACK, W_OVERDUE, W_COUNT };

/* [deadlines] keys are KIND.SEVERITY: the case limits (gr_deadlines_t),
 * then the department task limits (gr_task_deadlines_t). */
enum { D_ACCEPT, D_RESOLVE, D_CLAIM, D_COMPLETE, D_COUNT };

/* Keys of [parent] and [skip]; the skip-level ancestor gets no status.
 * Their names are gr_cfg_peer_keys[]. */
enum { P_ID, P_ENDPOINT, P_KEY, P_STATUS_ENDPOINT, P_COUNT };

/* A name seen in a person's section, [children] or [departments], to
 * refuse duplicates. */
typedef struct {
    char name[64];
    int line;
    int section;
    uint8_t pk[GR_PUBLIC_KEY_BYTES];
} gr_cfg_name_t;

/* A trusted key and the line that named it, for the checks that need the
 * whole file: the node's own key (known only once secret_key is read) and
 * two keys CURVE cannot tell apart. */
typedef struct {
    uint8_t pk[GR_PUBLIC_KEY_BYTES];
    uint8_t curve[32];          /* filled by the CURVE uniqueness check */
    char name[64];
    int line;
} gr_cfg_trusted_t;

/* One load: the config being filled and where each thing was seen. */
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
    gr_cfg_name_t *names;
    size_t name_count;
    size_t name_cap;
    gr_cfg_trusted_t *trusted;      /* every key gr_cfg_trust() added, in file order */
    size_t n_trusted;
} gr_cfg_load_t;

/* A section's handler for one "key = value" at line. */
typedef int gr_cfg_key_fn(gr_cfg_load_t *load, int section, const char *key,
                          const char *value, int line, char *msg, size_t msglen);

/* The name of section s ("node" for S_NODE), from config.c's table. */
const char *gr_cfg_section_name(int s);

extern const char *const gr_cfg_node_keys[N_COUNT];
extern const char *const gr_cfg_peer_keys[P_COUNT];

/* ---- config_parse.c: primitives. Each returns 0, or GR_ECONFIG (GR_EKEY
 * for a key, GR_ENOMEM) with the message in msg. ---- */

int gr_cfg_fail(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int gr_cfg_oom(char *msg, size_t msglen);
/* Plain decimal digits only (no sign, no space), without overflow. */
bool gr_cfg_parse_u64(const char *text, uint64_t *out);
/* A decimal number in [min, max]. */
int gr_cfg_number(const char *key, const char *value, uint64_t min, uint64_t max,
                  uint64_t *out, char *msg, size_t msglen);
/* "90s", "30min", "2h", "7d", "500ms", or "0" for none, into *ms. */
int gr_cfg_duration(const char *key, const char *value, uint64_t *ms, char *msg,
                    size_t msglen);
/* "300m", "1km" (whole numbers, at most 100km), into *metres. */
int gr_cfg_distance(const char *key, const char *value, double *metres, char *msg,
                    size_t msglen);
/* A path, relative ones against the config's directory; *out is malloc'd. */
int gr_cfg_path(gr_cfg_load_t *load, const char *key, const char *value, char **out,
                char *msg, size_t msglen);
/* A node id, department or grid code: 1-63 of the wire's id characters. */
int gr_cfg_check_id(const char *key, const char *value, char *msg, size_t msglen);
/* A person's name: an id's characters or non-ASCII ones. */
int gr_cfg_check_reporter_name(const char *value, char *msg, size_t msglen);
/* A ZeroMQ endpoint (port * only when bind), copied into *out. */
int gr_cfg_endpoint(const char *key, const char *value, bool bind, char **out, char *msg,
                    size_t msglen);
/* A usable Ed25519 public key: 64 hex digits or "@FILE". */
int gr_cfg_public_key(gr_cfg_load_t *load, const char *key, const char *value,
                      uint8_t pk[GR_PUBLIC_KEY_BYTES], char *msg, size_t msglen);
/* The index of key among a section's n keys, its line remembered in
 * lines[]; -1 with the error in msg when the section has no such key
 * (naming the ones it has) or it was given before. */
int gr_cfg_section_key(const char *section, const char *const *keys, int n, int *lines,
                       const char *key, int line, char *msg, size_t msglen);
/* Splits "KEY[, rest]" at the first comma: the key text, trimmed, into key
 * (keylen bytes); *rest at what follows the comma and its blanks, or NULL
 * when there is no comma. name is the line's key, for the error. */
int gr_cfg_split_key(const char *name, const char *value, char *key, size_t keylen,
                     const char **rest, char *msg, size_t msglen);

/* ---- config_people.c ---- */

/* Trusts pk as name with role and access, refusing one key under two names
 * or in two trust classes. */
int gr_cfg_trust(gr_cfg_load_t *load, const uint8_t pk[GR_PUBLIC_KEY_BYTES], const char *name,
                 gr_role_t role, unsigned access, int line, char *msg, size_t msglen);
gr_cfg_key_fn gr_cfg_named_key;     /* people's sections, [children], [departments] */
/* After the parse: [reporters] without [operators] keeps the old roles. */
int gr_cfg_finish_legacy_roles(gr_cfg_load_t *load, char *err, size_t errlen);

/* ---- config_sections.c ---- */

gr_cfg_key_fn gr_cfg_node_key;
gr_cfg_key_fn gr_cfg_peer_key;          /* [parent], [skip] */
gr_cfg_key_fn gr_cfg_deadline_key;
gr_cfg_key_fn gr_cfg_supervision_key;
gr_cfg_key_fn gr_cfg_merge_key;
gr_cfg_key_fn gr_cfg_assessment_key;
gr_cfg_key_fn gr_cfg_route_key;         /* [dispatch] */
gr_cfg_key_fn gr_cfg_confidential_key;
/* The defaults of [node], [supervision] and [assessment]. */
void gr_cfg_defaults(gr_config_t *cfg);
/* At the [merge] header: the section turns candidates on with defaults. */
void gr_cfg_merge_open(gr_cfg_load_t *load);

/* ---- config_check.c ---- */

/* The checks that need the whole file, then the files it names; loads the
 * secret key and the catalogue into load->cfg. */
int gr_cfg_finish(gr_cfg_load_t *load, char *err, size_t errlen);

#endif
