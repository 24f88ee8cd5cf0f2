#include "catalogue.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "wire.h"

/* ---- Strict INI reading ------------------------------------------------ */

/* libinih truncates section names to 49 bytes (its MAX_SECTION); refusing
 * longer ones beats matching the wrong section. */
#define S_INI_MAX_SECTION 49

typedef struct {
    const char *path;
    FILE *file;
    char *buf;          /* the current raw line, as read */
    size_t cap;
    int line;           /* number of the line libinih is working on */
    gr_ini_fn fn;
    void *user;
    int rc;             /* first error; 0 while there is none */
    char *err;
    size_t errlen;
} s_ini_t;

static void s_ini_fail(s_ini_t *p, int rc, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Only the first error is kept: later ones are usually its consequences. */
static void s_ini_fail(s_ini_t *p, int rc, int line, const char *fmt, ...)
{
    if (p->rc != 0)
        return;
    p->rc = rc;
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!p->err || p->errlen == 0)
        return;
    if (line > 0)
        snprintf(p->err, p->errlen, "%s:%d: %s", p->path, line, msg);
    else
        snprintf(p->err, p->errlen, "%s: %s", p->path, msg);
}

/* Returns why s is not UTF-8 text (control bytes other than tab and line
 * ends count as binary), or NULL when it is. Overlong forms and surrogates
 * are refused, as garbage is more likely than an exotic encoder. */
static const char *s_not_text(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            if (c == 0)
                return "NUL byte";
            if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
                return "control character";
            i++;
            continue;
        }
        size_t need = 0;
        unsigned lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            if (c == 0xe0)
                lo = 0xa0;
            else if (c == 0xed)
                hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            if (c == 0xf0)
                lo = 0x90;
            else if (c == 0xf4)
                hi = 0x8f;
        } else {
            return "invalid UTF-8";
        }
        if (len - i <= need || s[i + 1] < lo || s[i + 1] > hi)
            return "invalid UTF-8";
        for (size_t k = 2; k <= need; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return "invalid UTF-8";
        i += need + 1;
    }
    return NULL;
}

/* Reports a section header to the caller; libinih has no section callback
 * (INI_CALL_HANDLER_ON_NEW_SECTION is off in Debian's build), and a section's
 * own line is what duplicate and missing-key errors should point at. */
static int s_ini_section(s_ini_t *p, const char *open)
{
    const char *close = strchr(open, ']');
    if (!close) {
        s_ini_fail(p, GR_ECONFIG, p->line, "'[' without a closing ']'");
        return -1;
    }
    const char *rest = close + 1;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    if (*rest != '\0' && *rest != '\r' && *rest != '\n' && *rest != ';' && *rest != '#') {
        s_ini_fail(p, GR_ECONFIG, p->line, "text after ']' (only a comment may follow)");
        return -1;
    }
    size_t len = (size_t)(close - open - 1);
    if (len == 0) {
        s_ini_fail(p, GR_ECONFIG, p->line, "empty section name");
        return -1;
    }
    if (len > S_INI_MAX_SECTION) {
        s_ini_fail(p, GR_ECONFIG, p->line, "section name too long (at most %d bytes)",
                   S_INI_MAX_SECTION);
        return -1;
    }
    char name[S_INI_MAX_SECTION + 1];
    memcpy(name, open + 1, len);
    name[len] = '\0';
    char msg[512] = "";
    int rc = p->fn(p->user, name, NULL, NULL, p->line, msg, sizeof msg);
    if (rc != 0) {
        s_ini_fail(p, rc, p->line, "%s", msg);
        return -1;
    }
    return 0;
}

/* The fgets-like reader libinih calls once per line: counting here is how
 * keys get their line numbers (Debian's libinih lacks INI_HANDLER_LINENO),
 * and seeing the raw line lets us refuse what libinih would quietly accept. */
static char *s_ini_reader(char *str, int num, void *stream)
{
    s_ini_t *p = stream;
    if (p->rc != 0)
        return NULL;
    errno = 0;
    ssize_t n = getline(&p->buf, &p->cap, p->file);
    if (n < 0) {
        if (ferror(p->file))
            s_ini_fail(p, GR_EIO, 0, "cannot read: %s", strerror(errno ? errno : EIO));
        return NULL;
    }
    p->line++;
    const char *why = s_not_text((const unsigned char *)p->buf, (size_t)n);
    if (why) {
        s_ini_fail(p, GR_ECONFIG, p->line, "not a text file (%s)", why);
        return NULL;
    }
    /* libinih would cut a longer line and parse the rest as a new line. */
    if (n > num - 1) {
        s_ini_fail(p, GR_ECONFIG, p->line, "line too long (at most %d bytes)", num - 2);
        return NULL;
    }
    const char *s = p->buf;
    if (p->line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3;
    const char *t = s;
    while (*t == ' ' || *t == '\t')
        t++;
    bool blank = *t == '\0' || *t == '\r' || *t == '\n' || *t == ';' || *t == '#';
    if (!blank && t != s) {
        s_ini_fail(p, GR_ECONFIG, p->line,
                   "indented line (an indented line would continue the previous value; "
                   "start keys and [sections] at the beginning of the line)");
        return NULL;
    }
    if (*t == '[' && s_ini_section(p, t) != 0)
        return NULL;
    memcpy(str, p->buf, (size_t)n + 1);
    return str;
}

static int s_ini_handler(void *user, const char *section, const char *name, const char *value)
{
    s_ini_t *p = user;
    if (p->rc != 0)
        return 0;
    if (*name == '\0') {
        s_ini_fail(p, GR_ECONFIG, p->line, "missing key name before '='");
        return 0;
    }
    /* libinih strips " ; comment" but keeps "value;comment" and "value # x":
     * a mistyped comment must not become part of a path or a name. */
    if (strchr(value, ';')) {
        s_ini_fail(p, GR_ECONFIG, p->line,
                   "%s = %s: ';' inside the value (a comment needs a space before ';')",
                   name, value);
        return 0;
    }
    for (const char *h = strchr(value, '#'); h; h = strchr(h + 1, '#')) {
        if (h > value && (h[-1] == ' ' || h[-1] == '\t')) {
            s_ini_fail(p, GR_ECONFIG, p->line,
                       "%s = %s: '#' comment after a value (use ' ; comment', or put "
                       "'#' comments on their own line)", name, value);
            return 0;
        }
    }
    char msg[512] = "";
    int rc = p->fn(p->user, section, name, value, p->line, msg, sizeof msg);
    if (rc != 0) {
        s_ini_fail(p, rc, p->line, "%s", msg);
        return 0;
    }
    return 1;
}

int gr_ini_parse(const char *path, gr_ini_fn fn, void *user, char *err, size_t errlen)
{
    if (!path || !fn) {
        if (err && errlen)
            snprintf(err, errlen, "gr_ini_parse: no path or handler");
        return GR_EINVAL;
    }
    s_ini_t p = { .path = path, .fn = fn, .user = user, .err = err, .errlen = errlen };
    /* O_NONBLOCK: fopen() of a FIFO would wait for a writer for ever, before
     * anything could say it is not a config file. Only a regular file is
     * read; for one, O_NONBLOCK changes nothing. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        s_ini_fail(&p, GR_EIO, 0, "cannot open: %s", strerror(errno));
        return p.rc;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        s_ini_fail(&p, GR_EIO, 0, "cannot read: %s", strerror(errno));
        close(fd);
        return p.rc;
    }
    if (!S_ISREG(st.st_mode)) {
        s_ini_fail(&p, GR_EIO, 0, "cannot read: not a regular file (%s)",
                   S_ISDIR(st.st_mode)    ? "a directory"
                   : S_ISFIFO(st.st_mode) ? "a FIFO"
                                          : "a device or socket");
        close(fd);
        return p.rc;
    }
    p.file = fdopen(fd, "r");
    if (!p.file) {
        s_ini_fail(&p, GR_ENOMEM, 0, "out of memory");
        close(fd);
        return p.rc;
    }
    int r = ini_parse_stream(s_ini_reader, &p, s_ini_handler, &p);
    fclose(p.file);
    free(p.buf);
    if (p.rc != 0)
        return p.rc;
    if (r > 0)
        s_ini_fail(&p, GR_ECONFIG, r, "expected '[section]' or 'key = value'");
    else if (r == -2)
        s_ini_fail(&p, GR_ENOMEM, 0, "out of memory");
    else if (r != 0)
        s_ini_fail(&p, GR_EIO, 0, "cannot read");
    return p.rc;
}

/* ---- Tiers ------------------------------------------------------------- */

/* Deeper hierarchies than this are not a grid platform any more; the bound
 * keeps a typo such as "300" from passing as a tier. */
#define S_TIER_MAX 16

static const struct {
    const char *name;
    int level;
} s_tiers[] = {
    { "village", 1 }, { "community", 1 }, { "township", 2 }, { "street", 2 },
    { "district", 3 }, { "county", 3 }, { "city", 4 },
};

int gr_tier_parse(const char *text)
{
    if (!text || !*text)
        return -1;
    if (*text >= '0' && *text <= '9') {
        int level = 0;
        for (const char *c = text; *c; c++) {
            if (*c < '0' || *c > '9')
                return -1;
            level = level * 10 + (*c - '0');
            if (level > S_TIER_MAX)
                return -1;
        }
        return level >= 1 ? level : -1;
    }
    for (size_t i = 0; i < sizeof s_tiers / sizeof s_tiers[0]; i++)
        if (strcasecmp(text, s_tiers[i].name) == 0)
            return s_tiers[i].level;
    return -1;
}

/* ---- The catalogue ----------------------------------------------------- */

struct gr_catalogue {
    gr_category_t *items;   /* sorted by code, for bsearch */
    size_t count;
};

enum {
    K_CLASS, K_SUBCLASS, K_NAME, K_SEVERITY, K_AUTHORITY, K_AUTH_URGENT, K_AUTH_EXTRA,
    K_DIRECT, K_CONFIDENTIAL, K_COUNT
};

static const char *const s_keys[K_COUNT] = {
    "class", "subclass", "name", "severity", "authority", "authority.urgent",
    "authority.extra-urgent", "direct", "confidential",
};

typedef struct {
    gr_category_t cat;
    int line;                   /* of the [CODE] header */
    int key_line[K_COUNT];      /* 0 while the key has not been seen */
} s_entry_t;

typedef struct {
    s_entry_t *entries;         /* in file order while loading */
    size_t count;
    size_t cap;
} s_load_t;

static bool s_code_valid(const char *code)
{
    for (const char *c = code; *c; c++)
        if (!gr_id_char(*c))
            return false;
    return *code != '\0';
}

static int s_catalogue_section(s_load_t *load, const char *code, int line, char *msg,
                               size_t msglen)
{
    if (!s_code_valid(code)) {
        snprintf(msg, msglen, "[%s]: a category code may hold only letters, digits, "
                 "'.', '-' and '_'", code);
        return GR_ECONFIG;
    }
    if (strlen(code) >= sizeof load->entries[0].cat.code) {
        snprintf(msg, msglen, "[%s]: category code too long (at most %zu bytes)", code,
                 sizeof load->entries[0].cat.code - 1);
        return GR_ECONFIG;
    }
    /* Linear, but only once per section at load time. */
    for (size_t i = 0; i < load->count; i++) {
        if (strcmp(load->entries[i].cat.code, code) == 0) {
            snprintf(msg, msglen, "duplicate category code [%s] (first at line %d)", code,
                     load->entries[i].line);
            return GR_ECONFIG;
        }
    }
    if (load->count == load->cap) {
        size_t cap = load->cap ? load->cap * 2 : 64;
        s_entry_t *entries = realloc(load->entries, cap * sizeof *entries);
        if (!entries) {
            snprintf(msg, msglen, "out of memory");
            return GR_ENOMEM;
        }
        load->entries = entries;
        load->cap = cap;
    }
    s_entry_t *e = &load->entries[load->count++];
    memset(e, 0, sizeof *e);
    strcpy(e->cat.code, code);
    e->line = line;
    return 0;
}

static int s_set_text(char *out, size_t outlen, const char *key, const char *value,
                      char *msg, size_t msglen)
{
    if (*value == '\0') {
        snprintf(msg, msglen, "%s: must not be empty", key);
        return GR_ECONFIG;
    }
    if (strlen(value) >= outlen) {
        snprintf(msg, msglen, "%s = %s: too long (at most %zu bytes)", key, value, outlen - 1);
        return GR_ECONFIG;
    }
    strcpy(out, value);
    return 0;
}

static int s_catalogue_key(s_entry_t *e, int k, const char *key, const char *value,
                           char *msg, size_t msglen)
{
    gr_category_t *c = &e->cat;
    switch (k) {
    case K_CLASS:
        return s_set_text(c->class_name, sizeof c->class_name, key, value, msg, msglen);
    case K_SUBCLASS:
        return s_set_text(c->subclass_name, sizeof c->subclass_name, key, value, msg, msglen);
    case K_NAME:
        return s_set_text(c->name, sizeof c->name, key, value, msg, msglen);
    case K_SEVERITY:
        if (strcmp(value, "routine") == 0)
            c->default_severity = 1;
        else if (strcmp(value, "urgent") == 0)
            c->default_severity = 2;
        else if (strcmp(value, "extra-urgent") == 0)
            c->default_severity = 3;
        else
            break;
        return 0;
    case K_AUTHORITY:
    case K_AUTH_URGENT:
    case K_AUTH_EXTRA: {
        int level = gr_tier_parse(value);
        if (level < 0) {
            snprintf(msg, msglen, "%s = %s: not a tier (a level 1-%d, or village, community, "
                     "township, street, district, county, city)", key, value, S_TIER_MAX);
            return GR_ECONFIG;
        }
        c->authority[1 + (k - K_AUTHORITY)] = level;
        return 0;
    }
    case K_DIRECT:
        if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0)
            c->direct = true;
        else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0)
            c->direct = false;
        else
            break;
        return 0;
    case K_CONFIDENTIAL:
        if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0)
            c->confidential = true;
        else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0)
            c->confidential = false;
        else
            break;
        return 0;
    }
    snprintf(msg, msglen, "%s = %s: must be %s", key, value,
             k == K_SEVERITY ? "routine, urgent or extra-urgent" : "yes or no");
    return GR_ECONFIG;
}

static int s_catalogue_fn(void *user, const char *section, const char *key, const char *value,
                          int line, char *msg, size_t msglen)
{
    s_load_t *load = user;
    if (!key)
        return s_catalogue_section(load, section, line, msg, msglen);
    if (load->count == 0) {
        snprintf(msg, msglen, "%s: key outside any category (start one with [CODE])", key);
        return GR_ECONFIG;
    }
    /* Section headers are reported before their keys, so the current
     * section is always the last entry. */
    s_entry_t *e = &load->entries[load->count - 1];
    int k = 0;
    while (k < K_COUNT && strcmp(s_keys[k], key) != 0)
        k++;
    if (k == K_COUNT) {
        snprintf(msg, msglen, "unknown key '%s' in [%s]", key, section);
        return GR_ECONFIG;
    }
    if (e->key_line[k] != 0) {
        snprintf(msg, msglen, "duplicate key '%s' in [%s] (first at line %d)", key, section,
                 e->key_line[k]);
        return GR_ECONFIG;
    }
    e->key_line[k] = line;
    return s_catalogue_key(e, k, key, value, msg, msglen);
}

static int s_compare_codes(const void *a, const void *b)
{
    return strcmp(((const gr_category_t *)a)->code, ((const gr_category_t *)b)->code);
}

/* Checks required keys and fills the defaults the format promises. */
static int s_catalogue_finish(s_load_t *load, const char *path, char *err, size_t errlen)
{
    static const int required[] = { K_CLASS, K_SUBCLASS, K_NAME };
    for (size_t i = 0; i < load->count; i++) {
        s_entry_t *e = &load->entries[i];
        for (size_t r = 0; r < sizeof required / sizeof required[0]; r++) {
            if (e->key_line[required[r]] == 0) {
                snprintf(err, errlen, "%s:%d: [%s] missing required key '%s'", path, e->line,
                         e->cat.code, s_keys[required[r]]);
                return GR_ECONFIG;
            }
        }
        gr_category_t *c = &e->cat;
        if (c->default_severity == 0)
            c->default_severity = 1;
        if (c->authority[1] == 0)
            c->authority[1] = 1;
        if (c->authority[2] == 0)
            c->authority[2] = c->authority[1];
        if (c->authority[3] == 0)
            c->authority[3] = c->authority[2];
    }
    return 0;
}

gr_catalogue_t *gr_catalogue_load(const char *path, char *err, size_t errlen)
{
    char dummy[1];
    if (!err || errlen == 0) {
        err = dummy;
        errlen = sizeof dummy;
    }
    s_load_t load = { 0 };
    gr_catalogue_t *self = NULL;
    int rc = gr_ini_parse(path, s_catalogue_fn, &load, err, errlen);
    if (rc != 0)
        goto done;
    if (load.count == 0) {
        snprintf(err, errlen, "%s: no categories (an empty catalogue is an error)", path);
        goto done;
    }
    if (s_catalogue_finish(&load, path, err, errlen) != 0)
        goto done;
    self = calloc(1, sizeof *self);
    if (self)
        self->items = calloc(load.count, sizeof *self->items);
    if (!self || !self->items) {
        snprintf(err, errlen, "%s: out of memory", path);
        gr_catalogue_destroy(&self);
        goto done;
    }
    for (size_t i = 0; i < load.count; i++)
        self->items[i] = load.entries[i].cat;
    self->count = load.count;
    qsort(self->items, self->count, sizeof *self->items, s_compare_codes);
done:
    free(load.entries);
    return self;
}

void gr_catalogue_destroy(gr_catalogue_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->items);
    free(*self_p);
    *self_p = NULL;
}

static int s_compare_key(const void *key, const void *item)
{
    return strcmp(key, ((const gr_category_t *)item)->code);
}

const gr_category_t *gr_catalogue_find(const gr_catalogue_t *self, const char *code)
{
    if (!self || !code)
        return NULL;
    return bsearch(code, self->items, self->count, sizeof *self->items, s_compare_key);
}

size_t gr_catalogue_count(const gr_catalogue_t *self)
{
    return self ? self->count : 0;
}

const gr_category_t *gr_catalogue_at(const gr_catalogue_t *self, size_t i)
{
    if (!self || i >= self->count)
        return NULL;
    return &self->items[i];
}
