/* gridctl's table-driven option parser and help writer (options.h). */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "gridctl.h"

/* The help's option column: rows are "  -x, --name ARG", help from here. */
#define S_HELP_COLUMN 24
/* getopt_long values of long-only options: past every letter. */
#define S_LONG_ONLY 256
/* Most rows of one command's tables together (its own, the connection
 * options and --help). */
#define S_ROWS_MAX 64

const gridctl_opt_t gridctl_common_options[] = {
    { .kind = GRIDCTL_OPT_HEADING, .help = "Connection options:" },
    { .kind = GRIDCTL_OPT_STRING, .name = "node", .letter = 'n', .arg = "ENDPOINT",
      .offset = offsetof(gridctl_common_t, node),
      .help = "the node's request endpoint (default $GRIDRELAY_NODE),\n"
              "e.g. tcp://127.0.0.1:7001" },
    { .kind = GRIDCTL_OPT_STRING, .name = "key", .letter = 'k', .arg = "FILE",
      .offset = offsetof(gridctl_common_t, key),
      .help = "your secret key file (default $GRIDRELAY_KEY); its\n"
              "public key must be in the node's config with a role that may\n"
              "send this: [reporters] to report and read your own\n"
              "reports, [operators] to act on cases, [viewers] or\n"
              "[auditors] to read (README, \"Roles and access\")" },
    { .kind = GRIDCTL_OPT_STRING, .name = "node-key", .arg = "KEY",
      .offset = offsetof(gridctl_common_t, node_key),
      .help = "the node's public key (64 hex digits, or @FILE; default\n"
              "$GRIDRELAY_NODE_KEY): the connection is encrypted to it\n"
              "(CURVE) and only replies signed by it are accepted" },
    { .kind = GRIDCTL_OPT_INT, .name = "timeout", .arg = "MS",
      .offset = offsetof(gridctl_common_t, timeout_ms), .min = 1, .max = 3600000,
      .expect = "a positive number", .help = "wait this long for each attempt (default 3000)" },
    { .kind = GRIDCTL_OPT_INT, .name = "attempts", .arg = "N",
      .offset = offsetof(gridctl_common_t, attempts), .min = 1, .max = 3600000,
      .expect = "a positive number",
      .help = "send at most N times (default 3); resends are safe: the\n"
              "node answers a resend with the original result" },
    { .kind = GRIDCTL_OPT_FLAG, .name = "json", .letter = 'j',
      .offset = offsetof(gridctl_common_t, json), .help = "machine-readable output on stdout" },
    { .kind = GRIDCTL_OPT_END },
};

/* --help, a table of its own (every subcommand has it). */
static const gridctl_opt_t s_help_rows[] = {
    { .kind = GRIDCTL_OPT_FLAG, .name = "help", .letter = 'h', .help = "this help" },
    { .kind = GRIDCTL_OPT_END },
};

/* One option row and the struct its value goes into. */
typedef struct {
    const gridctl_opt_t *opt;
    void *base;
} s_row_t;

static bool s_takes_arg(const gridctl_opt_t *o)
{
    return o->kind != GRIDCTL_OPT_FLAG;
}

/* Prints text with every line after the first indented to the help column. */
static void s_print_indented(FILE *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        fputc(*p, out);
        if (*p == '\n' && p[1])
            fprintf(out, "%*s", S_HELP_COLUMN, "");
    }
}

static void s_help_row_print(const gridctl_opt_t *o, FILE *out)
{
    if (o->kind == GRIDCTL_OPT_HEADING) {
        fprintf(out, "%s\n", o->help);
        return;
    }
    char lead[96];
    int n = snprintf(lead, sizeof lead, "  %c%c%s--%s%s%s", o->letter ? '-' : ' ',
                     o->letter ? o->letter : ' ', o->letter ? ", " : "  ", o->name,
                     o->arg ? " " : "", o->arg ? o->arg : "");
    if (n >= S_HELP_COLUMN - 1)
        fprintf(out, "%s\n%*s", lead, S_HELP_COLUMN, "");
    else
        fprintf(out, "%-*s", S_HELP_COLUMN, lead);
    s_print_indented(out, o->help ? o->help : "");
    fputc('\n', out);
}

void gridctl_help_options(const gridctl_opt_t *table, FILE *out)
{
    for (const gridctl_opt_t *o = table; o && o->kind != GRIDCTL_OPT_END; o++)
        s_help_row_print(o, out);
}

/* "Usage: gridctl NAME FORM" for each form of the synopsis. */
static void s_synopsis(const gridctl_cmd_t *cmd, FILE *out)
{
    const char *form = cmd->synopsis ? cmd->synopsis : "";
    bool first = true;
    for (;;) {
        const char *end = strchr(form, '\n');
        size_t len = end ? (size_t)(end - form) : strlen(form);
        fprintf(out, "%s gridctl %s%s%.*s\n", first ? "Usage:" : "      ", cmd->name,
                len ? " " : "", (int)len, form);
        first = false;
        if (!end || !end[1])
            return;
        form = end + 1;
    }
}

/* Prints a titled block of lines, each indented by two spaces. */
static void s_block(FILE *out, const char *title, const char *lines)
{
    fprintf(out, "\n%s\n", title);
    for (const char *p = lines; *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        fprintf(out, "  %.*s\n", (int)len, p);
        p += len + (end ? 1 : 0);
    }
}

void gridctl_help(const gridctl_cmd_t *cmd, FILE *out)
{
    s_synopsis(cmd, out);
    if (cmd->about)
        fprintf(out, "\n%s%s", cmd->about, cmd->about[strlen(cmd->about) - 1] == '\n' ? "" : "\n");
    if (cmd->arguments)
        s_block(out, "Arguments:", cmd->arguments);
    fprintf(out, "\n");
    if (!cmd->options || cmd->options[0].kind != GRIDCTL_OPT_HEADING)
        fprintf(out, "Options:\n");
    gridctl_help_options(cmd->options, out);
    s_help_row_print(s_help_rows, out);
    if (cmd->connect) {
        fprintf(out, "\n");
        gridctl_help_options(gridctl_common_options, out);
        if (cmd->timeout_ms || cmd->attempts)
            fprintf(out, "  (gridctl %s: --timeout %d and --attempts %d unless given)\n", cmd->name,
                    cmd->timeout_ms ? cmd->timeout_ms : 3000, cmd->attempts ? cmd->attempts : 3);
    }
    if (cmd->examples)
        s_block(out, "Examples:", cmd->examples);
    if (cmd->notes)
        fprintf(out, "\n%s%s", cmd->notes, cmd->notes[strlen(cmd->notes) - 1] == '\n' ? "" : "\n");
}

int gridctl_usage_error(const gridctl_cmd_t *cmd, const char *reason)
{
    if (reason)
        fprintf(stderr, "gridctl %s: %s\n", cmd->name, reason);
    s_synopsis(cmd, stderr);
    fprintf(stderr, "Run 'gridctl %s --help' for its options.\n", cmd->name);
    return GRIDCTL_USAGE;
}

static int s_number(const gridctl_opt_t *o, const char *arg, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    uint64_t max = o->max ? o->max : UINT64_MAX;
    if (errno || !end || end == arg || *end || arg[0] == '-' || v < o->min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Puts one option's argument in its place. Returns 0, or -1 with the
 * reason printed. */
static int s_store(const gridctl_cmd_t *cmd, const s_row_t *row, const char *arg)
{
    const gridctl_opt_t *o = row->opt;
    char *place = (char *)row->base + o->offset;
    int rc = 0;
    uint64_t n = 0;
    switch (o->kind) {
    case GRIDCTL_OPT_STRING: *(const char **)place = arg; break;
    case GRIDCTL_OPT_FLAG: *(bool *)place = true; break;
    case GRIDCTL_OPT_U64:
    case GRIDCTL_OPT_INT:
        rc = s_number(o, arg, &n);
        if (rc == 0 && o->kind == GRIDCTL_OPT_U64)
            *(uint64_t *)place = n;
        else if (rc == 0)
            *(int *)place = (int)n;
        break;
    case GRIDCTL_OPT_DOUBLE: {
        char *end = NULL;
        errno = 0;
        *(double *)place = strtod(arg, &end);
        rc = (errno || !end || end == arg || *end) ? -1 : 0;
        break;
    }
    case GRIDCTL_OPT_LIST: {
        gridctl_strings_t *list = (gridctl_strings_t *)place;
        size_t most = o->max ? (size_t)o->max : GRIDCTL_LIST_MAX;
        if (list->n >= most) {
            fprintf(stderr, "gridctl %s: --%s at most %zu times\n", cmd->name, o->name, most);
            return -1;
        }
        list->items[list->n++] = arg;
        break;
    }
    case GRIDCTL_OPT_CHOICE:
        rc = -1;
        for (int i = 0; o->choices[i]; i++)
            if (strcmp(arg, o->choices[i]) == 0) {
                *(int *)place = i;
                rc = 0;
            }
        break;
    case GRIDCTL_OPT_CUSTOM: rc = o->parse(arg, place); break;
    default: rc = -1; break;
    }
    if (rc != 0) {
        char range[160];
        if (o->kind == GRIDCTL_OPT_CHOICE) {
            size_t len = (size_t)snprintf(range, sizeof range, "one of");
            for (int i = 0; o->choices[i] && len < sizeof range; i++)
                len += (size_t)snprintf(range + len, sizeof range - len, "%s %s", i ? "," : "",
                                        o->choices[i]);
        } else {
            snprintf(range, sizeof range, "a number from %llu to %llu", (unsigned long long)o->min,
                     (unsigned long long)(o->max ? o->max : UINT64_MAX));
        }
        fprintf(stderr, "gridctl: --%s %s: expected %s\n", o->name, arg,
                o->expect ? o->expect
                : o->kind == GRIDCTL_OPT_DOUBLE ? "a number"
                : o->kind == GRIDCTL_OPT_CUSTOM ? "something else" : range);
        return -1;
    }
    if (o->seen)
        *(bool *)((char *)row->base + o->seen - 1) = true;
    return 0;
}

/* Adds the rows of table (values at base) to rows, its getopt entries to
 * longs and its letters to shorts. Returns -1 when the arrays are full. */
static int s_add_rows(const gridctl_opt_t *table, void *base, s_row_t *rows, size_t *n,
                      struct option *longs, char *shorts, size_t *ns)
{
    for (const gridctl_opt_t *o = table; o && o->kind != GRIDCTL_OPT_END; o++) {
        if (o->kind == GRIDCTL_OPT_HEADING)
            continue;
        if (*n + 1 >= S_ROWS_MAX)
            return -1;
        rows[*n] = (s_row_t){ .opt = o, .base = base };
        longs[*n] = (struct option){ o->name, s_takes_arg(o) ? required_argument : no_argument,
                                     NULL, o->letter ? o->letter : S_LONG_ONLY + (int)*n };
        if (o->letter) {
            shorts[(*ns)++] = o->letter;
            if (s_takes_arg(o))
                shorts[(*ns)++] = ':';
        }
        (*n)++;
    }
    return 0;
}

int gridctl_parse(const gridctl_cmd_t *cmd, int argc, char **argv, void *values,
                  struct gridctl_common *common, int *first)
{
    s_row_t rows[S_ROWS_MAX];
    struct option longs[S_ROWS_MAX + 1];
    char shorts[3 * S_ROWS_MAX + 2] = ":";   /* leading ':': we say what went wrong */
    size_t n = 0, ns = 1;
    if (common) {
        memset(common, 0, sizeof *common);
        common->timeout_ms = cmd->timeout_ms ? cmd->timeout_ms : 3000;
        common->attempts = cmd->attempts ? cmd->attempts : 3;
    }
    if (s_add_rows(cmd->options, values, rows, &n, longs, shorts, &ns) != 0 ||
        (cmd->connect && s_add_rows(gridctl_common_options, common, rows, &n, longs, shorts, &ns) != 0) ||
        s_add_rows(s_help_rows, NULL, rows, &n, longs, shorts, &ns) != 0) {
        fprintf(stderr, "gridctl %s: too many options in its table\n", cmd->name);
        return GRIDCTL_LOCAL;
    }
    longs[n] = (struct option){ NULL, 0, NULL, 0 };
    shorts[ns] = '\0';
    optind = 0;   /* glibc: start afresh, whatever an earlier parse left */
    int opt, index = -1;
    while ((opt = getopt_long(argc, argv, shorts, longs, &index)) != -1) {
        char reason[160];
        if (opt == '?' || opt == ':') {
            const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "";
            if (optopt && optopt < S_LONG_ONLY && !(word[0] == '-' && word[1] == '-'))
                snprintf(reason, sizeof reason, "-%c: %s", optopt,
                         opt == ':' ? "needs an argument" : "unknown option");
            else
                snprintf(reason, sizeof reason, "%s: %s", word,
                         opt == ':' ? "needs an argument" : "unknown option");
            return gridctl_usage_error(cmd, reason);
        }
        size_t r = n;
        if (index >= 0 && (size_t)index < n)
            r = (size_t)index;
        else
            for (size_t i = 0; i < n; i++)
                if (longs[i].val == opt)
                    r = i;
        index = -1;
        if (r == n)
            return gridctl_usage_error(cmd, NULL);
        if (rows[r].opt == s_help_rows) {
            gridctl_help(cmd, stdout);
            return GRIDCTL_HELP;
        }
        if (s_store(cmd, &rows[r], optarg) != 0)
            return GRIDCTL_USAGE;
    }
    int given = argc - optind;
    if (given < cmd->min_args || (cmd->max_args >= 0 && given > cmd->max_args))
        return gridctl_usage_error(cmd, given < cmd->min_args ? "missing argument"
                                                        : "unexpected argument");
    if (first)
        *first = optind;
    return GRIDCTL_OK;
}
