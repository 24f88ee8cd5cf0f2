/* gridctl: the operator's and reporter's command-line client.
 * One file per subcommand group; this header is what they share. */
#ifndef GR_GRIDCTL_H
#define GR_GRIDCTL_H

#include <stdbool.h>
#include <stdint.h>

#include "client.h"
#include "keys.h"

/* Exit codes (documented in `gridctl --help`). */
enum {
    GRIDCTL_OK = 0,
    GRIDCTL_REFUSED = 1,    /* the node answered with an error */
    GRIDCTL_USAGE = 2,
    GRIDCTL_NO_REPLY = 3,   /* node unreachable or silent: safe to retry */
    GRIDCTL_LOCAL = 4,      /* local trouble: key file, memory */
    GRIDCTL_BROKEN = 5,     /* audit: the trail or the bundle does not verify */
};

/* Longest page token kept between the pages of a listing. */
#define GRIDCTL_TOKEN_MAX 256

/* Options every subcommand that talks to a node accepts (their table is
 * gridctl_common_options, options.h). */
typedef struct gridctl_common {
    const char *node;       /* --node, or $GRIDRELAY_NODE */
    const char *key;        /* --key, or $GRIDRELAY_KEY */
    const char *node_key;   /* --node-key: hex or @file; replies must be signed by it */
    int timeout_ms;         /* --timeout */
    int attempts;           /* --attempts */
    bool json;              /* --json */
} gridctl_common_t;

#include "options.h"

/* A subcommand's exit code after gridctl_parse() returned rc != GRIDCTL_OK. */
#define GRIDCTL_PARSED_EXIT(rc) ((rc) == GRIDCTL_HELP ? GRIDCTL_OK : (rc))

/* Sends request to the node and waits for the reply (with resends).
 * Returns a GRIDCTL_* exit code; on GRIDCTL_OK *reply holds a non-Error
 * reply; Error replies are printed (text or JSON) and give GRIDCTL_REFUSED. */
int gridctl_call(const gridctl_common_t *common, const Gridrelay__Body *request,
                 gr_opened_t *reply);

/* gridctl_call() for a request answered with a reply of kind: any other
 * answer is said on stderr and is GRIDCTL_REFUSED (reply cleared). */
int gridctl_call_for(const gridctl_common_t *common, const Gridrelay__Body *request,
                     Gridrelay__Body__KindCase kind, gr_opened_t *reply);

/* What a paged listing does with one page: handles reply (of the kind
 * asked for, checked already), adds its item count to *count and returns
 * its next page token (NULL or "" at the end). */
typedef const char *(*gridctl_page_fn)(void *ctx, const Gridrelay__Body *reply, size_t *count);

/* A paged listing (ListEvents, ListView) to walk. */
typedef struct {
    const Gridrelay__Body *request;
    char **token_slot;              /* the request's page_token field */
    Gridrelay__Body__KindCase kind; /* the replies' kind */
    bool all;                       /* every page, not only the first */
    gridctl_page_fn page;           /* handles each reply */
    void *ctx;                      /* page's */
} gridctl_listing_t;

/* Walks a listing: sets *token_slot to token before each call (start it
 * at the page to begin with, or ""), hands each reply of kind `kind` to
 * page, and stops after one page unless all. On return token holds the
 * next page's token ("" at the end) and *total the items seen. A reply of
 * another kind gives GRIDCTL_REFUSED. Returns a GRIDCTL_* exit code. */
int gridctl_pages(const gridctl_common_t *common, const gridctl_listing_t *listing,
                  char token[GRIDCTL_TOKEN_MAX], size_t *total);

/* Who talks to which node: resolves the node's endpoint into *node and
 * loads the signer's key pair and the node's public key, from the common
 * options or $GRIDRELAY_NODE, $GRIDRELAY_KEY, $GRIDRELAY_NODE_KEY. Returns
 * GRIDCTL_OK, or GRIDCTL_USAGE / GRIDCTL_LOCAL with the reason printed.
 * *kp holds a secret key: the caller wipes it when done. */
int gridctl_identity(const gridctl_common_t *common, const char **node, gr_keypair_t *kp,
                     uint8_t node_pk[GR_PUBLIC_KEY_BYTES]);

/* Subcommands; each returns its exit code. */
int gridctl_keygen(int argc, char **argv);
int gridctl_datakey(int argc, char **argv);
int gridctl_report(int argc, char **argv);
int gridctl_list(int argc, char **argv);
int gridctl_show(int argc, char **argv);
int gridctl_stats(int argc, char **argv);
int gridctl_accept(int argc, char **argv);
int gridctl_resolve(int argc, char **argv);
int gridctl_escalate(int argc, char **argv);
int gridctl_assign(int argc, char **argv);
int gridctl_dispatch(int argc, char **argv);
int gridctl_dept(int argc, char **argv);
int gridctl_status(int argc, char **argv);
int gridctl_view(int argc, char **argv);
int gridctl_urge(int argc, char **argv);
int gridctl_supervise(int argc, char **argv);
int gridctl_audit(int argc, char **argv);
int gridctl_audit_reads(int argc, char **argv);
int gridctl_daily(int argc, char **argv);
int gridctl_merge(int argc, char **argv);
int gridctl_unmerge(int argc, char **argv);
int gridctl_rank(int argc, char **argv);
int gridctl_outbox(int argc, char **argv);
int gridctl_backup(int argc, char **argv);
int gridctl_restore(int argc, char **argv);
int gridctl_http_password(int argc, char **argv);
/* gridctl stats --by (gridctl_stats hands over when --by is given). */
int gridctl_case_stats(int argc, char **argv);

/* Names of protocol enums for output, and parsers for input. */
const char *gridctl_status_name(int status);
const char *gridctl_severity_name(int severity);
int gridctl_parse_status(const char *text);
int gridctl_parse_severity(const char *text);
const char *gridctl_action_name(int action);
const char *gridctl_error_name(int code);
/* Prints obj as one line of plain JSON on stdout and releases it. */
struct json_object;
void gridctl_print_json(struct json_object *obj);
/* The JSON object an acknowledged write starts its line with, {"id": the
 * Ack's event id}: the caller adds its own fields and prints it with
 * gridctl_print_json(). NULL when out of memory (json-c takes NULL). */
struct json_object *gridctl_ack_object(const Gridrelay__Ack *ack);
/* Formats ms since the epoch as UTC "YYYY-MM-DDTHH:MM:SS.mmmZ". */
void gridctl_format_time(char out[32], uint64_t ms);

#endif
