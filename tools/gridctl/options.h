/* gridctl's option parser: every subcommand declares its options in a
 * table (name, argument, help text, where the value goes) and one parser
 * reads argv against it; the same table writes `gridctl CMD --help`.
 *
 * The tables are static const data: a value's place is an offset into the
 * subcommand's own values struct (offsetof), so one table serves every call.
 * Not thread-safe (getopt_long keeps global state), like all of gridctl. */
#ifndef GR_GRIDCTL_OPTIONS_H
#define GR_GRIDCTL_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What an option does with its argument. */
typedef enum {
    GRIDCTL_OPT_END = 0,    /* ends a table */
    GRIDCTL_OPT_HEADING,    /* no option: `help` is a heading line in the help text */
    GRIDCTL_OPT_STRING,     /* const char * := the argument */
    GRIDCTL_OPT_FLAG,       /* bool := true; takes no argument */
    GRIDCTL_OPT_U64,        /* uint64_t := the argument, a number in [min, max] */
    GRIDCTL_OPT_INT,        /* int := the argument, a number in [min, max] */
    GRIDCTL_OPT_DOUBLE,     /* double := the argument; the `seen` flag (if any) set */
    GRIDCTL_OPT_LIST,       /* gridctl_strings_t: each use adds the argument; at most max */
    GRIDCTL_OPT_CHOICE,     /* int := the argument's index in choices (NULL-ended) */
    GRIDCTL_OPT_CUSTOM,     /* parse(argument, place): 0 ok, -1 bad */
} gridctl_opt_kind_t;

/* Most uses of one repeatable option. */
#define GRIDCTL_LIST_MAX 64

/* A repeatable option's arguments, pointing into argv. */
typedef struct {
    const char *items[GRIDCTL_LIST_MAX];
    size_t n;
} gridctl_strings_t;

/* The `seen` of a row: the bool field of type set when the option is
 * given (stored as offset + 1, so that 0, a row's default, means none). */
#define GRIDCTL_SEEN(type, field) (offsetof(type, field) + 1)

/* One row of a subcommand's option table. */
typedef struct {
    gridctl_opt_kind_t kind;
    const char *name;       /* the long option, without "--" */
    char letter;            /* the short option, 0 for none */
    const char *arg;        /* the argument's name in the help ("CODE"); NULL for a flag */
    size_t offset;          /* where the value goes: offsetof(values struct, field) */
    const char *help;       /* help text; "\n" starts an indented new line */
    uint64_t min, max;      /* U64, INT: the accepted range; LIST: most uses (0: GRIDCTL_LIST_MAX) */
    const char *expect;     /* what a bad value should have been, for the error line
                             * (default for numbers: "a number from MIN to MAX") */
    int (*parse)(const char *arg, void *place);   /* CUSTOM only */
    const char *const *choices;                   /* CHOICE only: the words, NULL-ended */
    size_t seen;            /* any kind: GRIDCTL_SEEN() of a bool set when given, or 0 */
} gridctl_opt_t;

/* One subcommand: what its help says and what it accepts. */
typedef struct {
    const char *name;       /* "report", "dept claim" */
    const char *synopsis;   /* after "gridctl NAME "; lines separated by "\n" are
                             * alternative forms, each printed with the name */
    const char *about;      /* what it does: paragraphs, already wrapped */
    const char *arguments;  /* the positional arguments, already laid out, or NULL */
    const gridctl_opt_t *options;   /* ends with GRIDCTL_OPT_END; NULL = none */
    bool connect;           /* takes the connection options (--node, --key, ...) */
    int min_args, max_args; /* how many positional arguments; max_args -1: any */
    int timeout_ms;         /* this command's --timeout default; 0: 3000 */
    int attempts;           /* its --attempts default; 0: 3 */
    const char *examples;   /* one command a line, or NULL */
    const char *notes;      /* a last paragraph (exit status, see also), or NULL */
} gridctl_cmd_t;

/* Returned by gridctl_parse() after --help printed the help on stdout. */
#define GRIDCTL_HELP (-1)

struct gridctl_common;

/* Reads argv[1..argc) (argv[0] is the subcommand's name) against cmd's
 * table: each option's value goes to values + its offset, the connection
 * options to *common (defaults filled in first; NULL when !cmd->connect).
 * *first is set to the index in argv of the first positional argument.
 * Returns 0 (GRIDCTL_OK), GRIDCTL_HELP (help printed on stdout: the caller
 * exits 0), or GRIDCTL_USAGE with the reason and the synopsis on stderr. */
int gridctl_parse(const gridctl_cmd_t *cmd, int argc, char **argv, void *values,
                  struct gridctl_common *common, int *first);

/* For a check after the parse: says "gridctl NAME: reason" (reason may be
 * NULL), the synopsis and how to get help on stderr. Returns GRIDCTL_USAGE. */
int gridctl_usage_error(const gridctl_cmd_t *cmd, const char *reason);

/* Writes cmd's whole help (synopsis, description, arguments, options,
 * connection options, examples, notes) to out. */
void gridctl_help(const gridctl_cmd_t *cmd, FILE *out);

/* Writes the option rows of table to out, in the help's layout. */
void gridctl_help_options(const gridctl_opt_t *table, FILE *out);

/* The connection options' table (every connecting subcommand takes them). */
extern const gridctl_opt_t gridctl_common_options[];

#endif
